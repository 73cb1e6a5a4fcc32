"""The SB3 adapter of the batched env: its episode statistics equal single-env episodes."""

import gymnasium as gym
import numpy as np
import pytest

import ecocontrol.envs  # noqa: F401
from ecocontrol.vec import NativeVecEnv

IDS = ["ecocontrol/CementKiln-v1", "ecocontrol/HotStove-v1"]


@pytest.mark.parametrize("env_id", IDS)
def test_native_episode_kpis_equal_single_env_sums(env_id: str) -> None:
    kwargs = {"split": "train", "episode_h": 1.0}
    venv = NativeVecEnv(
        gym.make_vec(
            env_id,
            num_envs=2,
            vectorization_mode="vector_entry_point",
            autoreset_mode="SameStep",
            **kwargs,
        ).unwrapped
    )
    venv.seed(11)
    venv.reset()
    steps = venv.venv.episode_steps
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1, 1, (steps, 2, *venv.action_space.shape)).astype(np.float32)
    for t in range(steps):
        venv.step_async(actions[t])
        _, _, done, infos = venv.step_wait()
    assert done.all()
    for i in range(2):
        env = gym.make(env_id, **kwargs)
        env.reset(seed=11 + i)
        sums: dict[str, float] = {}
        total_reward = 0.0
        for t in range(steps):
            _, r, _, _, info = env.step(actions[t, i])
            total_reward += r
            for prefix, part in (("cost_", "costs"), ("co2_", "emissions")):
                for k, v in info[part].items():
                    sums[prefix + k] = sums.get(prefix + k, 0.0) + v
            for k, v in info["constraint_violations"].items():
                sums["viol_" + k] = sums.get("viol_" + k, 0.0) + v
        kpis = infos[i]["episode_kpis"]
        assert kpis == sums
        assert infos[i]["episode"]["l"] == steps
        assert infos[i]["episode"]["r"] == pytest.approx(total_reward, rel=1e-12)
        np.testing.assert_array_equal(
            infos[i]["terminal_observation"], env.unwrapped.sim._observe_batch()[0]
        )
