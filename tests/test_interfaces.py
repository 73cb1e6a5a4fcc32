"""Agent interfaces: residual and supervisory agents train, load and replay exactly."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from ecocontrol.agents import AgentController
from ecocontrol.config import ConfigError
from ecocontrol.controllers import make_controller
from ecocontrol.evaluation import run_episode
from ecocontrol.interfaces import interface_spec, make_interface
from ecocontrol.interfaces.env import AgentEnv
from ecocontrol.train import EpisodeKpis, train

TARGETS = {
    "park": "ecocontrol.envs.park.WindSolarStorageEnv",
    "cement_kiln": "ecocontrol.envs.cement_kiln.CementKilnEnv",
    "hot_stove": "ecocontrol.envs.hot_stove.HotStoveEnv",
}
PLANTS = {
    "park": "ecocontrol/WindSolarStorage-v1",
    "cement_kiln": "ecocontrol/CementKiln-v1",
    "hot_stove": "ecocontrol/HotStove-v1",
}


def _agent_env(plant: str, spec: dict, **kw) -> AgentEnv:
    env = EpisodeKpis(gym.make(PLANTS[plant], split="val"))
    return AgentEnv(
        env,
        make_interface(env, spec),
        make_shadow=lambda: gym.make(PLANTS[plant], split="val"),
        **kw,
    )


@pytest.mark.parametrize("plant", list(PLANTS))
def test_zero_residual_is_the_rule(plant: str) -> None:
    """u = 0: the residual agent's plant is the rule's, step for step (return 0 vs the rule)."""
    ae = _agent_env(plant, {"name": "residual"}, reward_baseline="rule")
    ae.reset(seed=3)
    ret, done = 0.0, False
    while not done:
        _, r, term, trunc, info = ae.step(np.zeros(ae.action_space.shape))
        ret += r
        done = term or trunc
    assert term and not trunc  # the window's end is a termination (end_as_terminal)
    assert ret == 0.0
    cost = info["episode_kpis"]["cost_total"]
    env = gym.make(PLANTS[plant], split="val")
    w = ae.unwrapped.window_index  # type: ignore[attr-defined]
    seed = int(np.random.default_rng(3).integers(2**31 - 1))
    rule = run_episode(env, make_controller("rule", env), seed=seed)  # the same window choice
    assert rule.window == w
    assert rule.cost["total"] == cost


def test_interfaces_rebuild_from_settings_and_refuse_bad_ones() -> None:
    env = gym.make(PLANTS["cement_kiln"])
    sup = make_interface(env, {"name": "supervisory", "decision_interval_min": 30})
    again = make_interface(env, interface_spec(sup))
    assert interface_spec(again) == interface_spec(sup) and again.hold_steps == 30
    with pytest.raises(ValueError, match=r"interface\.name='supervisory' is unknown.*residual"):
        make_interface(gym.make(PLANTS["hot_stove"]), {"name": "supervisory"})
    with pytest.raises(ValueError, match=r"decision_interval_min=7\.5"):
        make_interface(env, {"name": "supervisory", "decision_interval_min": 7.5})
    with pytest.raises(ValueError, match=r"interface\.scale"):
        make_interface(env, {"name": "residual", "scale": 3.0})
    with pytest.raises(ValueError, match=r"interface\.dims"):
        make_interface(env, {"name": "residual", "dims": ["boiler"]})


def test_park_supervisory_targets_move_the_stores() -> None:
    """A day at a full battery target ends with more stored than a day at an empty one."""
    ends = []
    for target in (1.0, -1.0):
        ae = _agent_env("park", {"name": "supervisory"})
        ae.reset(seed=0)
        for _ in range(24):
            _, _, _, _, info = ae.step(np.array([target, target, target]))
        ends.append((info["state"]["energy_mwh"], info["state"]["heat_mwh"]))
    (e_full, h_full), (e_empty, h_empty) = ends
    assert e_full > e_empty + 5.0 and h_full > h_empty


TRAIN = {
    "total_timesteps": 256,
    "n_envs": 2,
    "vec_env": "native",
    "seed": 0,
    "normalize_obs": True,
    "normalize_reward": False,
    "eval_every": 128,
    "eval_episodes": 1,
    "checkpoint_every": 128,
    "resume": False,
    "progress_bar": False,
    "device": "cpu",
    "agent": {
        "_target_": "stable_baselines3.PPO",
        "policy": "MlpPolicy",
        "n_steps": 64,
        "batch_size": 64,
        "n_epochs": 1,
        "gamma": 0.995,
        "policy_kwargs": {"net_arch": [16]},
    },
}


@pytest.mark.parametrize(
    ("plant", "spec", "baseline"),
    [
        ("park", {"name": "supervisory"}, "rule"),
        ("cement_kiln", {"name": "supervisory", "decision_interval_min": 30}, "none"),
        ("hot_stove", {"name": "residual", "scale": 0.3}, "rule"),
    ],
)
def test_agent_trains_loads_and_replays_exactly(
    tmp_path: Path, plant: str, spec: dict, baseline: str
) -> None:
    run = tmp_path / "run"
    cfg = {
        **TRAIN,
        "env": {"_target_": TARGETS[plant], "split": "train"},
        "interface": spec,
        "reward_baseline": baseline,
        "run_dir": str(run),
    }
    train(cfg)
    env = gym.make(PLANTS[plant], split="val")
    agent = AgentController(env, run, which="final")
    assert agent.interface.name == spec["name"]
    first = run_episode(env, agent, seed=5, window=0)
    again = run_episode(env, AgentController(env, run, which="final"), seed=5, window=0)
    assert first.cost == again.cost and first.emissions == again.emissions
    # The controller replays what the training env does with the same model.
    ae = _agent_env(plant, spec)
    obs, _ = ae.reset(seed=11, options={"window": 0})
    seed = int(np.random.default_rng(11).integers(2**31 - 1))
    done = False
    while not done:
        action, _ = agent.model.predict(agent.norm.normalize_obs(obs), deterministic=True)
        obs, _, term, trunc, info = ae.step(action)
        done = term or trunc
    replay = run_episode(env, agent, seed=seed, window=0)
    assert replay.cost["total"] == info["episode_kpis"]["cost_total"]


def test_validation_schedule_continues_across_resume(tmp_path: Path) -> None:
    run = tmp_path / "run"
    cfg = {
        **TRAIN,
        "env": {"_target_": TARGETS["park"], "split": "train"},
        "run_dir": str(run),
        "total_timesteps": 256,
    }
    train(cfg)
    steps_once = list(np.load(run / "eval" / "evaluations.npz")["timesteps"])
    run2 = tmp_path / "run2"
    train({**cfg, "run_dir": str(run2), "total_timesteps": 192})
    (run2 / "model.zip").unlink()  # as if killed after its last checkpoint (128 steps)
    for p in (run2 / "checkpoints").glob("*192*"):
        p.unlink()
    train({**cfg, "run_dir": str(run2), "resume": True})
    assert list(np.load(run2 / "eval" / "evaluations.npz")["timesteps"]) == steps_once


def test_bad_interface_keys_are_refused_before_work(tmp_path: Path) -> None:
    base = {**TRAIN, "env": {"_target_": TARGETS["park"], "split": "train"}}
    with pytest.raises(ConfigError, match="reward_baseline"):
        train({**base, "reward_baseline": "mpc", "run_dir": str(tmp_path / "a")})
    with pytest.raises(ConfigError, match=r"interface\.name"):
        train({**base, "interface": {"name": "decision"}, "run_dir": str(tmp_path / "b")})
    with pytest.raises(ConfigError, match="init_from"):
        train({**base, "init_from": "/nonexistent", "run_dir": str(tmp_path / "c")})
    assert not (tmp_path / "b" / "config.yaml").exists()
