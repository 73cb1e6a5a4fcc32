"""Every registered env: Gymnasium's and SB3's checkers, determinism, and batch-of-one parity.

The single env is a batch of one of the plant's simulator (``envs/vector.py`` holds the only
step loop), so a single env and ``make_vec(num_envs=1)`` must agree bit for bit, and a seeded
rollout must repeat exactly.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from ecocontrol.envs import ENV_IDS
from ecocontrol.envs.base import EcoEnv
from ecocontrol.envs.vector import BatchedEcoEnv
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

#: Short episodes so that each test crosses an episode end quickly.
SHORT: dict[str, dict[str, Any]] = {
    "ecocontrol/WindSolarStorage-v1": {"episode_days": 1},
    "ecocontrol/HotStove-v1": {"episode_h": 0.5},
    "ecocontrol/CementKiln-v1": {"episode_h": 1.0},
}


def test_every_registered_id_is_covered() -> None:
    assert set(ENV_IDS) == set(SHORT)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_checkers_pass(env_id: str) -> None:
    env = gym.make(env_id, **SHORT[env_id])
    gym_check_env(env.unwrapped, skip_render_check=True)
    sb3_check_env(env.unwrapped, warn=True)


def _rollout(env: gym.Env[Any, Any], seed: int, n: int) -> tuple[list[np.ndarray], list[float]]:
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    observations, rewards = [obs], []
    for _ in range(n):
        action = rng.uniform(-1.2, 1.2, env.action_space.shape).astype(np.float32)
        obs, reward, _, truncated, _ = env.step(action)
        observations.append(obs)
        rewards.append(float(reward))
        if truncated:
            obs, _ = env.reset()
            observations.append(obs)
    return observations, rewards


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_seeded_rollouts_repeat_exactly(env_id: str) -> None:
    n = gym.make(env_id, **SHORT[env_id]).unwrapped.episode_steps + 3  # type: ignore[attr-defined]
    a = _rollout(gym.make(env_id, **SHORT[env_id]), 7, n)
    b = _rollout(gym.make(env_id, **SHORT[env_id]), 7, n)
    assert a[1] == b[1]
    for x, y in zip(a[0], b[0], strict=True):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_single_env_is_a_batch_of_one(env_id: str) -> None:
    kwargs = SHORT[env_id]
    single = gym.make(env_id, **kwargs).unwrapped
    assert isinstance(single, EcoEnv)
    assert isinstance(single.sim, BatchedEcoEnv) and single.sim.num_envs == 1
    batch = gym.make_vec(env_id, num_envs=1, vectorization_mode="vector_entry_point", **kwargs)
    assert type(batch.unwrapped) is type(single.sim)
    o1, info = single.reset(seed=3)
    o2, _ = batch.reset(seed=3)
    np.testing.assert_array_equal(o1, o2[0])
    rng = np.random.default_rng(3)
    for _ in range(single.episode_steps):  # type: ignore[attr-defined]
        a = rng.uniform(-1, 1, single.action_space.shape).astype(np.float32)
        o1, r1, _, t1, info = single.step(a)
        o2, r2, _, t2, binfo = batch.step(a[None])
        np.testing.assert_array_equal(o1, o2[0])
        assert r1 == r2[0] and t1 == t2[0]
        for part in ("costs", "emissions", "constraint_violations"):
            for k, v in info[part].items():
                assert v == np.broadcast_to(binfo[part][k], (1,))[0], (part, k)
    assert t1  # the episode ended


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_info_holds_accounts_state_and_violations(env_id: str) -> None:
    env = gym.make(env_id, **SHORT[env_id])
    _, info = env.reset(seed=0)
    _, reward, _, _, info = env.step(np.zeros(env.action_space.shape, dtype=np.float32))
    assert set(info) >= {"costs", "emissions", "constraint_violations", "state", "step"}
    scale = env.unwrapped.reward_scale_cny  # type: ignore[attr-defined]
    assert reward == pytest.approx(-info["costs"]["total"] / scale, rel=1e-12)
    assert info["costs"]["total"] == pytest.approx(
        sum(v for k, v in info["costs"].items() if k != "total"), rel=1e-12
    )


PLANT_OF_ID = {
    "ecocontrol/WindSolarStorage-v1": "park",
    "ecocontrol/HotStove-v1": "hot_stove",
    "ecocontrol/CementKiln-v1": "cement_kiln",
}
BASELINES = [(i, c) for i in ENV_IDS for c in ("rule", "mpc", "mpc_perfect", "oracle")]


@pytest.mark.parametrize(("env_id", "label"), BASELINES)
def test_baselines_run_on_the_declared_view_only(
    env_id: str, label: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every baseline acts with the env's read-through attributes switched off.

    With ``EcoEnv.__getattr__`` refusing everything, a controller can only learn about the
    plant through its :class:`PlantView` (and ``obs``/``info``); what it declares it reads is
    what the benchmark table shows.
    """
    from ecocontrol.controllers import make_controller
    from ecocontrol.controllers.base import information_of

    def refuse(self: EcoEnv, name: str) -> Any:
        raise AttributeError(f"{name}: controllers read the plant through PlantView")

    kwargs = {"perfect_forecast": True} if label == "mpc_perfect" else {}
    env = gym.make(env_id, split="test", **SHORT[env_id])
    monkeypatch.setattr(EcoEnv, "__getattr__", refuse)
    obs, info = env.reset(seed=0, options={"window": 0})
    controller = make_controller(label.replace("_perfect", ""), env, **kwargs)
    controller.reset(env, 0)
    state, exogenous, model = information_of(controller)
    assert state in ("measured", "full") and exogenous in ("forecast", "true")
    assert model == ("true" if label == "oracle" else "nominal")
    if label in ("oracle", "mpc_perfect"):
        assert exogenous == "true"
    for _ in range(3):
        action = controller.act(obs, info)
        assert env.action_space.contains(np.asarray(action, dtype=np.float32))
        obs, _, _, _, info = env.step(action)


CONTROLLER_FILES = sorted(
    (Path(__file__).resolve().parents[1] / "ecocontrol" / "controllers").rglob("*.py")
)


@pytest.mark.parametrize("path", CONTROLLER_FILES, ids=lambda p: p.name)
def test_controllers_read_no_private_env_attribute(path: Path) -> None:
    """No controller reads ``env._x``, the simulator, or ``unwrapped`` (the PlantView does)."""
    if path.name == "base.py" and path.parent.name == "controllers":
        return  # the PlantView itself
    tree = ast.parse(path.read_text())
    offending = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("sim", "unwrapped", "_member_info"):
            offending.append(f"line {node.lineno}: .{node.attr}")
        if (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and isinstance(node.value, ast.Name)
            and node.value.id in ("env", "plant", "park", "kiln", "stove")
        ):
            offending.append(f"line {node.lineno}: {node.value.id}.{node.attr}")
    assert not offending, offending
