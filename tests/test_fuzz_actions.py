"""A bounded fuzz over the action space of every plant, single and batched (issue 21).

Each step either works, with every number in ``info`` finite, or raises a ``ValueError``
naming the action and leaves the plant's state untouched. The draws cover the documented
range, extreme finite values, denormals, alternating signs, bools, strings, complex numbers,
NaN/inf and wrong shapes. Each (plant, single/batched) pair runs for about half a second.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Mapping
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from ecocontrol.envs import ENV_IDS
from ecocontrol.envs.vector import make_batched

DRAWS = 300  # per env: a fixed count, so the fuzz is the same on any machine
MAX = np.finfo(np.float64).max
TINY = 5e-324  # the smallest denormal
N_BATCH = 3


def _finite(value: Any, where: str = "info") -> None:
    """Every number in a nested info is finite (strings and other objects are skipped)."""
    if isinstance(value, Mapping):
        for k, v in value.items():
            _finite(v, f"{where}[{k!r}]")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _finite(v, f"{where}[{i}]")
    elif isinstance(value, np.ndarray) and value.dtype.kind in "fc":
        assert np.isfinite(value).all(), where
    elif isinstance(value, float | np.floating):
        assert np.isfinite(value), (where, value)


def _valid(rng: np.random.Generator, shape: tuple[int, ...]) -> list[Any]:
    """Actions that must step: in range, out of range, extreme finite, denormal, odd dtypes."""
    u = rng.uniform(-1, 1, shape)
    alternating = np.where(np.indices(shape).sum(axis=0) % 2 == 0, MAX, -MAX)
    return [
        u.astype(np.float32),
        u,
        rng.uniform(-1e6, 1e6, shape),
        np.full(shape, MAX),
        np.full(shape, -MAX),
        alternating,
        np.full(shape, 1e300) * rng.choice([-1, 1], shape),
        np.full(shape, TINY),
        np.full(shape, -TINY),
        rng.integers(-3, 4, shape),
        rng.integers(0, 2, shape).astype(np.uint8),
        u.astype(np.float16),
        u.tolist(),
    ]


def _invalid(rng: np.random.Generator, shape: tuple[int, ...], batched: bool) -> list[Any]:
    """Actions that must be refused with a ValueError."""
    u = rng.uniform(-1, 1, shape)
    nan = u.copy()
    nan.flat[rng.integers(u.size)] = np.nan
    inf = u.copy()
    inf.flat[rng.integers(u.size)] = rng.choice([np.inf, -np.inf])
    mixed_bool = u.tolist()
    if batched:
        mixed_bool[0][0] = True
    else:
        mixed_bool[0] = True
    n = shape[-1]
    wrong = [np.zeros((*shape[:-1], n + 1)), np.zeros((*shape[:-1], n - 1)), np.zeros(())]
    if batched:
        wrong += [np.zeros((1, n)), np.zeros((N_BATCH + 1, n)), np.zeros(n)]
    else:
        wrong += [np.zeros((1, n)), np.zeros((n, 1))]
    return [
        nan,
        inf,
        u > 0,
        mixed_bool,
        u.astype(str),
        u.astype(str).tolist(),
        u.astype(np.complex128),
        (u + 0.5j).tolist(),
        u.astype(object),
        "0.5",
        None,
        [[0.1], [0.2, 0.3]],  # ragged
        *wrong,
    ]


def _snapshot(sim: Any) -> bytes:
    """The whole state of a batch: members' plant states, clocks and generators."""
    members = [sim.full_state(i) for i in range(sim.num_envs)]
    rngs = [None if r is None else r.bit_generator.state for r in sim.rngs]
    return pickle.dumps((members, sim.step_index, sim.window_start, sim._needs_reset, rngs))


def _fuzz(
    step: Callable[[Any], tuple[Any, ...]],
    reset: Callable[[], Any],
    sim: Any,
    shape: tuple[int, ...],
    batched: bool,
    seed: int,
) -> tuple[int, int]:
    rng = np.random.default_rng(seed)
    reset()
    stepped = refused = 0
    for _ in range(DRAWS):
        if rng.random() < 0.6:
            pool = _valid(rng, shape)
            action = pool[rng.integers(len(pool))]
            obs, reward, terminated, truncated, info = step(action)
            assert np.isfinite(obs).all() and np.isfinite(reward).all()
            _finite(info)
            stepped += 1
            if not batched and (terminated or truncated):
                reset()
        else:
            pool = _invalid(rng, shape, batched)
            action = pool[rng.integers(len(pool))]
            before = _snapshot(sim)
            with pytest.raises(ValueError, match="action"):
                step(action)
            assert _snapshot(sim) == before, f"refused action {action!r} changed the state"
            refused += 1
    return stepped, refused


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_single_env_fuzz(env_id: str) -> None:
    env = gym.make(env_id, split="train").unwrapped
    stepped, refused = _fuzz(
        env.step,
        lambda: env.reset(seed=1),
        env.sim,  # type: ignore[attr-defined]
        env.action_space.shape,  # type: ignore[arg-type]
        batched=False,
        seed=1,
    )
    assert stepped > 5 and refused > 5


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_batched_env_fuzz(env_id: str) -> None:
    vec = make_batched(env_id, N_BATCH, split="train")
    sim = vec.unwrapped if hasattr(vec, "unwrapped") else vec
    stepped, refused = _fuzz(
        vec.step,
        lambda: vec.reset(seed=2),
        sim,
        vec.action_space.shape,  # type: ignore[arg-type]
        batched=True,
        seed=2,
    )
    assert stepped > 5 and refused > 5


def test_action_clipped_does_not_overflow() -> None:
    env = gym.make(ENV_IDS[0]).unwrapped
    env.reset(seed=0)
    _, _, _, _, info = env.step(np.array([MAX, -MAX]))
    clipped = info["constraint_violations"]["action_clipped"]
    assert np.isfinite(clipped) and clipped > 1e307


def test_one_row_is_not_broadcast_to_a_batch() -> None:
    vec = make_batched(ENV_IDS[0], 2)
    vec.reset(seed=0)
    with pytest.raises(ValueError, match=r"allowed: \(n_envs=2, 2\)"):
        vec.step(np.zeros((1, 2)))


def test_step_after_the_episode_ended_needs_a_reset() -> None:
    env = gym.make(ENV_IDS[0], episode_days=1).unwrapped
    env.reset(seed=0)
    truncated = False
    while not truncated:
        *_, truncated, _ = env.step(np.zeros(2))
    before = _snapshot(env.sim)  # type: ignore[attr-defined]
    with pytest.raises(gym.error.ResetNeeded, match="reset"):
        env.step(np.zeros(2))
    assert _snapshot(env.sim) == before  # type: ignore[attr-defined]
    env.reset(seed=1)
    env.step(np.zeros(2))
