"""Plant drift (envs/drift.py): validation, severity 0 bit-identical, what controllers see."""

from __future__ import annotations

import dataclasses
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from ecocontrol.envs.drift import DRIFT_LEVELS, drift_severities, drifted_params
from ecocontrol.envs.park import ParkParams, ParkVectorEnv, WindSolarStorageEnv

from ecocontrol.config import ConfigError, build_env
from ecocontrol.controllers import make_controller
from ecocontrol.controllers.base import PlantView, information_of
from ecocontrol.evaluation import run_episode

PLANTS: dict[str, dict[str, Any]] = {
    "ecocontrol/WindSolarStorage-v1": {"episode_days": 2},
    "ecocontrol/HotStove-v1": {"episode_h": 1.0},
    "ecocontrol/CementKiln-v1": {"episode_h": 2.0},
}


def _rule_run(env_id: str, **kwargs: Any) -> tuple[np.ndarray, dict[str, float]]:
    env = gym.make(env_id, split="test", **PLANTS[env_id], **kwargs)
    result = run_episode(env, make_controller("rule", env), seed=3, window=1, record=True)
    rewards = np.array([r["reward"] for r in result.trajectory])
    return rewards, result.cost


@pytest.mark.parametrize("env_id", list(PLANTS))
def test_severity_zero_is_bit_identical(env_id: str) -> None:
    base_r, base_c = _rule_run(env_id)
    names = [d.name for d in gym.make(env_id).unwrapped.drifts]
    for drift in (0.0, 0, dict.fromkeys(names, 0.0)):
        r, c = _rule_run(env_id, drift=drift)
        assert np.array_equal(r, base_r)  # bit for bit, not approximately
        assert c == base_c
    env = gym.make(env_id, drift=0.0)
    assert env.unwrapped.params is env.unwrapped.nominal_params


@pytest.mark.parametrize("env_id", list(PLANTS))
def test_full_drift_changes_the_plant_and_not_the_nominal_model(env_id: str) -> None:
    env = gym.make(env_id, split="test", drift=1.0, **PLANTS[env_id])
    sim = env.unwrapped.sim
    assert sim.params != sim.nominal_params
    assert set(sim.drift) == {d.name for d in sim.drifts} and set(sim.drift.values()) == {1.0}
    assert PlantView(env).params is sim.nominal_params
    assert PlantView(env, model_access="true").params is sim.params
    base_r, _ = _rule_run(env_id)
    r, _ = _rule_run(env_id, drift=1.0)
    assert not np.array_equal(r, base_r)
    # the spaces stay those of the nominal plant
    nominal = gym.make(env_id, split="test", **PLANTS[env_id])
    assert env.observation_space == nominal.observation_space
    assert env.action_space == nominal.action_space


def test_drifted_values_follow_the_mechanisms() -> None:
    p = ParkParams()
    drifts = ParkVectorEnv.drifts
    half = drifted_params(p, drift_severities({"capacity_fade": 0.5}, drifts), drifts)
    assert half.battery_energy_mwh == pytest.approx(36.0)
    assert half.battery_eta_charge == p.battery_eta_charge
    full = drifted_params(p, drift_severities(1.0, drifts), drifts)
    assert full.battery_energy_mwh == pytest.approx(32.0)
    assert full.battery_eta_charge * full.battery_eta_discharge == pytest.approx(0.81, abs=2e-3)
    assert full.pv_losses_pct == pytest.approx(19.34, abs=0.01)
    assert full.heat_store_loss_per_h == pytest.approx(1.5 * p.heat_store_loss_per_h)
    assert drifted_params(p, drift_severities(0.0, drifts), drifts) is p


@pytest.mark.parametrize(
    ("drift", "match"),
    [
        (1.5, r"drift=1.5; allowed: a severity in \[0, 1\]"),
        (-0.1, r"drift=-0.1; allowed"),
        ("high", r"drift='high'; allowed"),
        (float("nan"), r"drift=nan; allowed"),
        (True, r"drift=True; allowed"),
        ({"capacity_fad": 1.0}, r"unknown mechanisms \['capacity_fad'\].*capacity_fade"),
        ({"capacity_fade": 2.0}, r"drift.capacity_fade=2.0; allowed"),
    ],
)
def test_bad_drift_is_refused_naming_the_key(drift: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        WindSolarStorageEnv(drift=drift)


def test_drift_that_leaves_a_parameter_range_is_refused() -> None:
    tight = dataclasses.replace(ParkParams(), pv_losses_pct=97.0)
    with pytest.raises(ValueError, match=r"drift=.*out of range.*pv_losses_pct"):
        WindSolarStorageEnv(params=tight, drift={"pv_soiling": 1.0})


def test_drift_keys_are_validated_in_configs_before_work() -> None:
    cfg = {"_target_": "ecocontrol.envs.park.WindSolarStorageEnv", "drift": 3}
    with pytest.raises(ConfigError, match=r"config key env: drift=3; allowed"):
        build_env(cfg)
    cfg = {"_target_": "ecocontrol.envs.park.WindSolarStorageEnv", "drift_randomise": "yes"}
    with pytest.raises(ConfigError, match=r"drift_randomise='yes'; allowed: true or false"):
        build_env(cfg)
    for n in (1, 2):  # a batch never randomises (it would ignore the flag)
        with pytest.raises(ValueError, match=r"drift_randomise=True on the batched.*single envs"):
            ParkVectorEnv(n, drift=0.5, drift_randomise=True)
    env = build_env(
        {"_target_": "ecocontrol.envs.park.WindSolarStorageEnv", "drift": {"capacity_fade": 1}}
    )
    assert env.unwrapped.params.battery_energy_mwh == pytest.approx(32.0)


def test_batched_equals_single_under_drift() -> None:
    kw = {"split": "test", "episode_days": 1, "drift": 0.7}
    batch = ParkVectorEnv(2, **kw)
    singles = [WindSolarStorageEnv(**kw) for _ in range(2)]
    obs_b, _ = batch.reset(seed=5, options={"window": [0, 3]})
    outs = [
        s.reset(seed=5 + i, options={"window": w})
        for i, (s, w) in enumerate(zip(singles, [0, 3], strict=True))
    ]
    for i in range(2):
        assert np.array_equal(obs_b[i], outs[i][0])
    rng = np.random.default_rng(0)
    for _ in range(24):
        a = rng.uniform(-1, 1, (2, 2)).astype(np.float32)
        ob, rb, *_ = batch.step(a)
        for i, s in enumerate(singles):
            o, r, *_ = s.step(a[i])
            assert np.array_equal(ob[i], o) and rb[i] == r


def test_soiled_pv_forecast_overpredicts_by_the_clean_panel_factor() -> None:
    kw = {"split": "test", "forecast_noise_scale": 0.0, "drift": {"pv_soiling": 1.0}}
    env = WindSolarStorageEnv(**kw)
    _, info = env.reset(seed=0, options={"window": 2})
    t0 = env.t
    truth = env.true_window(t0, env.sim.forecast_steps)["pv_mw"]
    forecast = info["forecast"]["pv_mw"]
    assert forecast[0] == pytest.approx(truth[0])  # lead 0: measured
    day = truth[1:] > 1.0
    assert day.any()
    ratio = forecast[1:][day] / truth[1:][day]
    assert ratio == pytest.approx(np.full(day.sum(), (1 - 0.1408) / (1 - 0.1934)), rel=1e-3)


def test_randomised_levels_are_seeded_and_span_the_drift() -> None:
    env = WindSolarStorageEnv(split="train", episode_days=1, drift=1.0, drift_randomise=True)
    seen = []
    for seed in range(12):
        env.reset(seed=seed)
        seen.append(env.unwrapped.sim.drift["capacity_fade"])
    again = []
    for seed in range(12):
        env.reset(seed=seed)
        again.append(env.unwrapped.sim.drift["capacity_fade"])
    assert seen == again  # the level comes from the reset's seed
    assert len(set(seen)) >= 3
    assert set(seen) <= {k / (DRIFT_LEVELS - 1) for k in range(DRIFT_LEVELS)}
    # unseeded resets continue the seeded stream, deterministically
    env.reset(seed=100)
    a = [env.reset()[1]["window"] for _ in range(3)]
    env.reset(seed=100)
    b = [env.reset()[1]["window"] for _ in range(3)]
    assert a == b
    # the view's nominal parameters are the same at every level
    view = PlantView(env)
    assert view.params == ParkParams()


@pytest.mark.parametrize("env_id", list(PLANTS))
def test_oracle_knows_the_true_plant_and_the_mpc_does_not(env_id: str) -> None:
    env = gym.make(env_id, split="test", drift=1.0, **PLANTS[env_id])
    env.reset(seed=0, options={"window": 0})
    oracle = make_controller("oracle", env)
    mpc = make_controller("mpc", env)
    assert information_of(oracle)[2] == "true" and oracle.view.params is env.unwrapped.params
    assert information_of(mpc)[2] == "nominal"
    assert mpc.view.params is env.unwrapped.nominal_params
    identified = make_controller("mpc", env, true_model=True)
    assert information_of(identified)[2] == "true"


def test_park_oracle_is_a_bound_on_the_drifted_plant() -> None:
    env = WindSolarStorageEnv(split="test", episode_days=2, drift=1.0)
    oracle = run_episode(env, make_controller("oracle", env), seed=0, window=0)
    rule = run_episode(env, make_controller("rule", env), seed=0, window=0)
    mpc = run_episode(env, make_controller("mpc", env), seed=0, window=0)
    assert oracle.cost["total"] <= min(rule.cost["total"], mpc.cost["total"]) + 1e-6


def test_randomised_training_env_keeps_the_reward_baseline_exact() -> None:
    """Under drift_randomise the rule's shadow plant draws the same levels: a zero residual
    scores exactly 0 against it, episode after episode (seeded once, as SB3 does)."""
    from ecocontrol.interfaces import make_interface
    from ecocontrol.interfaces.env import AgentEnv

    kw = {"split": "train", "episode_days": 1, "drift": 1.0, "drift_randomise": True}
    env = WindSolarStorageEnv(**kw)
    ae = AgentEnv(
        env,
        make_interface(env, {"name": "residual"}),
        reward_baseline="rule",
        make_shadow=lambda: WindSolarStorageEnv(**kw),
    )
    levels = set()
    ae.reset(seed=11)
    for _ in range(6):
        levels.add(env.sim.drift["capacity_fade"])
        ret, done = 0.0, False
        while not done:
            _, r, term, trunc, _ = ae.step(np.zeros(ae.action_space.shape))
            ret += r
            done = term or trunc
        assert ret == 0.0
        ae.reset()
    assert len(levels) > 1


def test_config_hashes_ignore_neutral_drift_and_see_any_other() -> None:
    from ecocontrol.config import hashed_env_config, resolved_env_config
    from ecocontrol.runner import config_hash

    base = {"_target_": "ecocontrol.envs.cement_kiln.CementKilnEnv"}
    plain = config_hash(hashed_env_config(resolved_env_config(base)), "rule")
    for neutral in ({"drift": 0.0}, {"drift": {"burnability": 0}}, {"drift_randomise": False}):
        cfg = resolved_env_config({**base, **neutral})
        assert config_hash(hashed_env_config(cfg), "rule") == plain
    params = {"shell_loss_factor": 1.0}
    cfg = resolved_env_config({**base, "params": params})
    assert config_hash(hashed_env_config(cfg), "rule") == plain
    for changed in ({"drift": 0.5}, {"drift": {"burnability": 1}}, {"drift_randomise": True}):
        cfg = resolved_env_config({**base, **changed})
        assert config_hash(hashed_env_config(cfg), "rule") != plain


def test_a_randomised_episode_at_level_zero_is_the_nominal_plant() -> None:
    kw = {"split": "test", "episode_days": 2}
    env = WindSolarStorageEnv(**kw, drift=1.0, drift_randomise=True)
    nominal = WindSolarStorageEnv(**kw)
    seed = next(s for s in range(100) if env.reset(seed=s)[1]["drift"]["capacity_fade"] == 0.0)
    assert env.drift_randomise and env.drift == dict.fromkeys(env.drift, 0.0)
    a = run_episode(env, make_controller("rule", env), seed=seed, window=1, record=True)
    b = run_episode(nominal, make_controller("rule", nominal), seed=seed, window=1, record=True)
    assert [r["reward"] for r in a.trajectory] == [r["reward"] for r in b.trajectory]
    # the configured flag survives the level switches; info names the episode's level
    for s in range(6):
        _, info = env.reset(seed=s)
        assert env.drift_randomise and info["drift"] == env.drift


@pytest.mark.parametrize("env_id", list(PLANTS))
def test_the_documented_mechanism_tables_are_the_codes(env_id: str) -> None:
    """docs/drift.md and envs/README.md show each plant's mechanisms as drift_table prints them."""
    from pathlib import Path

    from ecocontrol.envs.drift import drift_table

    root = Path(__file__).resolve().parents[1]
    table = drift_table(gym.make(env_id).unwrapped.drifts)
    for doc in ("docs/drift.md", "envs/README.md"):
        assert table in (root / doc).read_text(encoding="utf-8"), doc
