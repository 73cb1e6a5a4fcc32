"""Agents started from an expert: demonstrations, behaviour cloning, DAgger, saved clones."""

import json

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_module

from ecocontrol.agents import AgentController
from ecocontrol.config import ConfigError, build_env, plain_config
from ecocontrol.evaluation import run_episode
from ecocontrol.imitation import (
    Demonstrations,
    action_error,
    behaviour_clone,
    build_model,
    dagger,
    episode_plan,
    imitate,
    imitate_config,
    load_policy_weights,
    plan_imitation,
    record_demonstrations,
    save_clone,
)

#: The clone's stated accuracy on its own demonstrations: mean absolute error of the
#: deterministic action, in normalised action units (the action space is [-1, 1]).
BC_MAE = 0.05
FIT = {"epochs": 100, "batch_size": 64, "lr": 1e-3, "seed": 0}


def _cfg(*overrides, run_dir="unused"):
    with initialize_config_module("ecocontrol.configs", version_base=None):
        return plain_config(compose("imitate", overrides=[*overrides, f"run_dir={run_dir}"]))


@pytest.fixture(scope="module")
def park_cfg():
    torch.set_num_threads(1)
    return _cfg("env=park")["env"]


@pytest.fixture(scope="module")
def rule_demos(park_cfg):
    return record_demonstrations(park_cfg, "rule", episodes=2, seed=0)


@pytest.fixture(scope="module")
def rule_clone(rule_demos):
    return behaviour_clone(rule_demos, "ppo", **FIT)


def test_demonstrations_hold_the_expert_episodes_in_the_offline_rl_layout(rule_demos, park_cfg):
    d = rule_demos
    assert d.n_episodes == 2 and d.n_steps == 2 * 168
    assert d.observations.shape == (336, 154) and d.expert_actions.shape == (336, 2)
    np.testing.assert_array_equal(d.actions, d.expert_actions)  # the expert acted alone
    assert d.truncations.sum() == 2 and d.truncations[[167, 335]].all()
    assert not d.terminations.any()
    windows, seeds = episode_plan(31, 2, 0)  # the train split's 31 windows, from the seed
    np.testing.assert_array_equal(d.episode_windows, windows)
    np.testing.assert_array_equal(d.episode_seeds, seeds)
    assert len(set(windows)) == 2
    assert d.info["env_id"] == "ecocontrol/WindSolarStorage-v1" and d.info["env_version"] == 1
    assert d.info["expert"] == "rule" and d.info["split"] == "train"
    # The KPIs are the evaluation loop's: the same episode run again gives the same cost.
    env = build_env(park_cfg, split="train")
    from ecocontrol.controllers import make_controller

    again = run_episode(
        env, make_controller("rule", env), seed=int(seeds[0]), window=int(windows[0])
    )
    assert d.kpis[0]["cost_total"] == pytest.approx(again.cost["total"])
    assert d.rewards[:168].sum() == pytest.approx(again.total_reward)
    first = next(d.episodes())
    assert first["observations"].shape == (169, 154) and first["actions"].shape == (168, 2)
    np.testing.assert_array_equal(first["observations"][1:168], d.observations[1:168])


def test_demonstrations_save_and_load_roundtrip(rule_demos, tmp_path):
    path = rule_demos.save(tmp_path / "demos.npz")
    back = Demonstrations.load(path)
    for k in ("observations", "actions", "expert_actions", "rewards", "terminations"):
        np.testing.assert_array_equal(getattr(back, k), getattr(rule_demos, k))
    np.testing.assert_array_equal(back.episode_kpis, rule_demos.episode_kpis)
    np.testing.assert_array_equal(back.final_observations, rule_demos.final_observations)
    assert back.kpi_names == rule_demos.kpi_names and back.info == rule_demos.info
    with np.load(path, allow_pickle=False) as raw:  # the metadata is plain JSON
        meta = json.loads(str(raw["metadata"]))
    assert meta["windows"] == rule_demos.episode_windows.tolist()
    assert meta["seeds"] == rule_demos.episode_seeds.tolist()
    assert meta["config_hash"] == rule_demos.info["config_hash"] and meta["total_steps"] == 336
    both = Demonstrations.concatenate([rule_demos, back])
    assert both.n_episodes == 4 and both.n_steps == 672


def test_behaviour_cloning_reproduces_the_rule(rule_demos, rule_clone):
    model, norm = rule_clone
    assert action_error(model, norm, rule_demos)["mae"] < BC_MAE
    assert model.policy.log_std.detach().numpy() == pytest.approx([-1.0, -1.0])
    assert model.policy.log_std.requires_grad  # fine-tuning may widen it
    assert [64, 64] == model.policy.net_arch  # configs/agent/ppo.yaml
    sac, sac_norm = behaviour_clone(rule_demos, "sac", **FIT)
    assert action_error(sac, sac_norm, rule_demos)["mae"] < BC_MAE


def test_behaviour_cloning_reproduces_a_short_mpc_run(park_cfg):
    demos = record_demonstrations(park_cfg, "mpc", episodes=1, seed=1)
    assert demos.info["expert_information"] == {
        "state_access": "measured",
        "exogenous_access": "forecast",
        "model_access": "nominal",
    }
    model, norm = behaviour_clone(demos, "ppo", **{**FIT, "epochs": 200})
    assert action_error(model, norm, demos)["mae"] < BC_MAE


def test_a_dagger_round_labels_the_learners_states_with_the_expert(rule_demos, park_cfg):
    model, norm = behaviour_clone(rule_demos, "ppo", **{**FIT, "epochs": 5})
    result = dagger(
        park_cfg, "rule", model, norm, rounds=1, episodes_per_round=1, beta=[0.0],
        demos=rule_demos, epochs=20, batch_size=64,
    )  # fmt: skip
    (r,) = result.rounds
    new = result.demos
    assert new.n_episodes == 3 and new.episode_rounds.tolist() == [0, 0, 1]
    assert new.episode_betas.tolist() == [1.0, 1.0, 0.0]
    tail = slice(336, None)
    # beta = 0: every applied action was the learner's, every label the expert's, so their
    # difference is the learner's disagreement measured before the re-fit.
    diff = np.abs(new.actions[tail] - np.clip(new.expert_actions[tail], -1, 1)).mean()
    assert diff == pytest.approx(r.disagreement_mae, rel=1e-5) and diff > 0
    assert r.fit.samples == 3 * 168 and np.isfinite(r.cost_total).all()


def test_a_saved_clone_runs_as_an_agent_and_starts_a_fine_tune(rule_demos, rule_clone, tmp_path):
    model, norm = rule_clone
    run_dir = save_clone(tmp_path / "clone", model, norm, rule_demos, {"expert": "rule"})
    for name in ("model.zip", "vecnormalize.pkl", "config.yaml", "demonstrations.npz"):
        assert (run_dir / name).stat().st_size > 0, name
    summary = json.loads((run_dir / "train_summary.json").read_text())
    assert summary["algo_target"] == "stable_baselines3.ppo.ppo.PPO"
    env = build_env(rule_demos.info["env_config"], split="test")
    agent = AgentController(env, path=run_dir)
    obs, info = env.reset(seed=0, options={"window": 0})
    for _ in range(5):
        expected, _ = model.predict(norm.normalize_obs(obs), deterministic=True)
        action = agent.act(obs, info)
        np.testing.assert_array_equal(action, expected)
        obs, *_, info = env.step(action)
    res = run_episode(env, agent, seed=0, window=0)
    assert res.n_steps == 168 and np.isfinite(res.cost["total"])
    # A fresh model of the same algorithm and net takes the clone's weights.
    fresh, _ = build_model("ppo", env, rule_demos.observations, seed=5)
    stats = load_policy_weights(fresh, run_dir)
    assert stats == run_dir / "vecnormalize.pkl"
    x = norm.normalize_obs(rule_demos.observations[:50])
    np.testing.assert_array_equal(
        fresh.predict(x, deterministic=True)[0], model.predict(x, deterministic=True)[0]
    )
    sac, _ = build_model("sac", env, rule_demos.observations)
    with pytest.raises(ConfigError, match=r"init_from.*PPO model"):
        load_policy_weights(sac, run_dir)
    with pytest.raises(ConfigError, match="run_dir"):
        save_clone(run_dir, model, norm, rule_demos, {})


def test_the_imitate_pipeline_writes_a_run_the_benchmark_reads(tmp_path, park_cfg):
    cfg = _cfg(
        "expert=rule", "episodes=1", "dagger_rounds=1", "dagger_episodes=1", "epochs=5",
        run_dir=tmp_path / "run",
    )  # fmt: skip
    run_dir = imitate(cfg)
    summary = json.loads((run_dir / "train_summary.json").read_text())
    assert summary["init"] == "imitation" and summary["expert"] == "rule"
    assert summary["behaviour_cloning"]["samples"] == 168
    assert [r["round"] for r in summary["dagger"]] == [1]
    demos = Demonstrations.load(run_dir / "demonstrations.npz")
    assert demos.episode_rounds.tolist() == [0, 1]
    env = build_env(park_cfg, split="test")
    assert AgentController(env, path=run_dir).act(*env.reset(seed=0)).shape == (2,)


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("episodes=0", "episodes"),
        ("dagger_rounds=-1", "dagger_rounds"),
        ("dagger_beta=1.5", "dagger_beta"),
        ("algo=td3", "algo"),
        ("learning_rate=0", "learning_rate"),
        ("epochs=2.5", "epochs"),
        ("env.split=test", "env.split"),
        ("+extra=1", "extra"),
    ],
)
def test_malformed_imitation_configs_name_the_key(override, key):
    with pytest.raises(ConfigError, match=key):
        imitate_config(_cfg(override))


def test_an_unknown_expert_is_refused_before_work(tmp_path):
    with pytest.raises(ConfigError, match=r"expert='pid'.*\['mpc', 'oracle', 'rule'\]"):
        plan_imitation(_cfg("expert=pid", run_dir=tmp_path / "run"))
    assert not (tmp_path / "run").exists()
    plan = plan_imitation(_cfg("algo=sac", run_dir=tmp_path / "run"))
    assert plan.agent["policy_kwargs"] == {"net_arch": [256, 256]}
