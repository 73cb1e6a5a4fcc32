"""No path of an episode draws from OS entropy unless asked to."""

from __future__ import annotations

from ecocontrol.envs.park import WindSolarStorageEnv

from ecocontrol.controllers import make_controller
from ecocontrol.evaluation import run_episode


def test_run_episode_on_fresh_envs_is_reproducible_by_default():
    results = []
    for _ in range(2):
        env = WindSolarStorageEnv(episode_days=1)  # never seeded: the default seed applies;
        # the MPC reads the noisy forecasts, so its cost shows the noise drawn
        r = run_episode(env, make_controller("mpc", env), window=0, record=True)
        results.append([row["cost_total"] for row in r.trajectory])
    assert results[0] == results[1]
