"""Offline-RL datasets: recorded as local Minari datasets, loaded back, replayed exactly."""

import minari
import numpy as np
import pytest
from hydra import compose, initialize_config_module

from ecocontrol.config import ConfigError, plain_config
from ecocontrol.datasets import (
    dataset_config,
    dataset_metadata,
    noisy_operator,
    record_dataset,
    record_from_config,
    replay_rewards,
)


def _cfg(*overrides):
    with initialize_config_module("ecocontrol.configs", version_base=None):
        return plain_config(compose("dataset", overrides=list(overrides)))


@pytest.fixture
def datasets_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))
    return tmp_path


#: Shorter episodes than the defaults (24 h, 8 h) keep the test fast; the format is the same.
SHORT = {"park": [], "cement_kiln": ["env.episode_h=6"], "hot_stove": ["env.episode_h=2"]}


@pytest.mark.parametrize(
    ("plant", "policy"),
    [("park", "rule"), ("park", "noisy"), ("cement_kiln", "rule"), ("hot_stove", "rule")],
)
def test_a_recorded_dataset_loads_with_minari_and_replays_to_the_same_rewards(
    plant, policy, datasets_dir
):
    controller = noisy_operator if policy == "noisy" else policy
    env_cfg = _cfg(f"env={plant}", *SHORT[plant])["env"]
    rec = record_dataset(env_cfg, controller, episodes=1, tier_name=policy)
    assert rec.dataset_id == f"ecocontrol/{plant}/{policy}-v0"
    assert rec.path.is_relative_to(datasets_dir)
    ds = minari.load_dataset(rec.dataset_id)
    assert ds.total_episodes == 1 and ds.total_steps == rec.demonstrations.n_steps
    ep = next(ds.iterate_episodes())
    demo = next(rec.demonstrations.episodes())
    np.testing.assert_array_equal(ep.observations, demo["observations"])
    np.testing.assert_array_equal(ep.actions, demo["actions"])
    np.testing.assert_array_equal(ep.rewards, demo["rewards"])
    assert ep.truncations[-1] and not ep.terminations.any()
    meta = dataset_metadata(ds)
    assert meta["tier"] == policy and meta["split"] == "train" and meta["plant"] == plant
    assert meta["env_id"].startswith("ecocontrol/") and meta["config_hash"]
    assert meta["seeds"] == [int(s) for s in rec.demonstrations.episode_seeds]
    assert "cost_total" in meta["episode_kpis"][0]
    for recorded, replayed in replay_rewards(ds):
        np.testing.assert_array_equal(recorded, replayed)  # exactly, not approximately
    with pytest.raises(FileExistsError, match="overwrite"):
        record_dataset(env_cfg, controller, episodes=1, tier_name=policy)


def test_the_noisy_operator_perturbs_the_mpc_reproducibly_per_episode(datasets_dir):
    from ecocontrol.imitation import record_demonstrations

    env_cfg = _cfg("env=park")["env"]
    a = record_demonstrations(env_cfg, noisy_operator, 1, "train", 0, {"sigma": 0.2})
    b = record_demonstrations(env_cfg, noisy_operator, 1, "train", 0, {"sigma": 0.2})
    mpc = record_demonstrations(env_cfg, "mpc", 1, "train", 0)
    np.testing.assert_array_equal(a.actions, b.actions)
    assert np.abs(a.actions - mpc.actions).mean() > 0.05
    assert a.info["config_hash"] != mpc.info["config_hash"]


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("policy=foo", "policy"),
        ("split=tst", "split"),
        ("episodes=0", "episodes"),
        ("dataset_id=no_version", "dataset_id"),
        ("+bogus=1", "bogus"),
    ],
)
def test_a_bad_dataset_config_names_the_key(override, key):
    with pytest.raises(ConfigError, match=key):
        dataset_config(_cfg(override))


def test_the_command_records_into_datasets_path_and_refuses_to_overwrite(tmp_path, monkeypatch):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "unused"))
    cfg = _cfg("env=park", "policy=mpc", "episodes=1", "split=val", f"datasets_path={tmp_path}")
    rec = record_from_config(cfg)
    assert rec.dataset_id == "ecocontrol/park/mpc-v0" and rec.path.is_relative_to(tmp_path)
    assert dataset_metadata(minari.load_dataset(rec.dataset_id))["split"] == "val"
    with pytest.raises(ConfigError, match="overwrite=true"):
        record_from_config(cfg)


def test_a_loaded_dataset_becomes_demonstrations_an_offline_learner_fits(datasets_dir):
    """demonstrations_from_dataset gives back what was recorded; a clone fits on it alone."""
    from ecocontrol.datasets import demonstrations_from_dataset
    from ecocontrol.imitation import action_error, behaviour_clone

    env_cfg = _cfg("env=park")["env"]
    rec = record_dataset(env_cfg, "rule", episodes=2, tier_name="rule")
    demos = demonstrations_from_dataset(minari.load_dataset(rec.dataset_id))
    want = rec.demonstrations
    for name in ("observations", "actions", "rewards", "truncations", "episode_lengths"):
        np.testing.assert_array_equal(getattr(demos, name), getattr(want, name))
    np.testing.assert_array_equal(demos.final_observations, want.final_observations)
    np.testing.assert_array_equal(demos.episode_windows, want.episode_windows)
    np.testing.assert_array_equal(demos.episode_seeds, want.episode_seeds)
    assert demos.kpi_names == want.kpi_names
    np.testing.assert_allclose(demos.episode_kpis, want.episode_kpis)
    assert demos.info["env_config"] == want.info["env_config"]
    model, norm = behaviour_clone(demos, "ppo", seed=0)
    assert action_error(model, norm, demos)["mae"] < 0.1


def test_a_trained_agent_records_as_a_tier_and_a_bad_path_fails_first(datasets_dir):
    rec = record_from_config(_cfg("env=park", "policy=agent", "episodes=1"))
    assert rec.dataset_id == "ecocontrol/park/agent-v0"
    ds = minari.load_dataset(rec.dataset_id)
    assert dataset_metadata(ds)["tier"] == "agent"
    for recorded, replayed in replay_rewards(ds):
        np.testing.assert_array_equal(recorded, replayed)
    with pytest.raises(ConfigError, match="policy_kwargs"):
        dataset_config(_cfg("env=park", "policy=agent", "+policy_kwargs.path=/nonexistent"))


def test_per_step_infos_are_stored_and_sum_to_the_episode_kpis(datasets_dir):
    env_cfg = _cfg("env=cement_kiln", *SHORT["cement_kiln"])["env"]
    rec = record_dataset(env_cfg, "rule", episodes=1, tier_name="rule")
    ep = next(minari.load_dataset(rec.dataset_id).iterate_episodes())
    infos = ep.infos
    assert {"cost_total", "cost_fuel", "co2_total", "co2_process", "viol_action_clipped"} <= set(
        infos
    )
    n = len(ep.actions)
    total = np.asarray(infos["cost_total"]).reshape(-1)
    assert total.shape == (n + 1,) and total[0] == 0.0
    kpis = rec.demonstrations.kpis[0]
    assert total.sum() == pytest.approx(kpis["cost_total"], rel=1e-12)
    co2 = np.asarray(infos["co2_total"]).reshape(-1)
    assert co2.sum() == pytest.approx(kpis["co2_total"], rel=1e-12)
    np.testing.assert_allclose(-total[1:] / 1e3, ep.rewards, rtol=1e-12)
