"""Native batched envs: member i of a batch reproduces a single env seeded with seed + i."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import ecocontrol  # noqa: F401  (registers the envs)

BATCHED = {
    "ecocontrol/WindSolarStorage-v1": {"split": "train", "dt_h": 1.0, "episode_days": 2},
    "ecocontrol/HotStove-v1": {"split": "train", "episode_h": 1.0},
    "ecocontrol/CementKiln-v1": {"split": "train", "episode_h": 1.0},
}


def _parity(env_id: str, kwargs: dict[str, Any], mode: str, n: int, steps: int) -> None:
    vec = gym.make_vec(
        env_id, num_envs=n, vectorization_mode="vector_entry_point", autoreset_mode=mode, **kwargs
    )
    singles = [gym.make(env_id, **kwargs) for _ in range(n)]
    rng = np.random.default_rng(0)
    obs, _ = vec.reset(seed=10)
    np.testing.assert_array_equal(
        obs, np.stack([e.reset(seed=10 + i)[0] for i, e in enumerate(singles)])
    )
    pending = [False] * n
    ends = 0
    for _ in range(steps):
        # actions beyond [-1, 1] exercise the clipping of both
        actions = rng.uniform(-1.3, 1.3, vec.action_space.shape).astype(np.float32)
        obs, reward, terminated, truncated, info = vec.step(actions)
        assert not terminated.any()
        for i, env in enumerate(singles):
            if pending[i]:  # NextStep: this step resets member i and ignores its action
                o, _ = env.reset()
                r, tr, cost = 0.0, False, 0.0
                pending[i] = False
            else:
                o, r, _, tr, inf = env.step(actions[i])
                cost = inf["costs"]["total"]
                if tr:
                    ends += 1
                    if mode == "SameStep":
                        assert info["_final_obs"][i]
                        np.testing.assert_array_equal(info["final_obs"][i], o)
                        o, _ = env.reset()
                    else:
                        pending[i] = True
            np.testing.assert_array_equal(obs[i], o)
            assert reward[i] == r
            assert truncated[i] == tr
            assert info["costs"]["total"][i] == cost
    assert ends >= n  # every member went through an autoreset


@pytest.mark.parametrize("env_id", list(BATCHED))
@pytest.mark.parametrize("mode", ["NextStep", "SameStep"])
def test_batched_members_reproduce_single_envs(env_id: str, mode: str) -> None:
    kwargs = BATCHED[env_id]
    steps = gym.make(env_id, **kwargs).unwrapped.episode_steps  # type: ignore[attr-defined]
    _parity(env_id, kwargs, mode, n=3, steps=steps + 5)


@pytest.mark.parametrize("env_id", list(BATCHED))
def test_batched_env_refuses_bad_input(env_id: str) -> None:
    kwargs = BATCHED[env_id]
    with pytest.raises(ValueError, match="num_envs"):
        gym.make_vec(env_id, num_envs=0, vectorization_mode="vector_entry_point", **kwargs)
    vec = gym.make_vec(env_id, num_envs=2, vectorization_mode="vector_entry_point", **kwargs)
    vec.reset(seed=0)
    bad = np.zeros(vec.action_space.shape)
    bad[1, 0] = np.nan
    with pytest.raises(ValueError, match=r"action\[1\].*not finite"):
        vec.step(bad)
    with pytest.raises(ValueError, match="allowed: \\(n_envs"):
        vec.step(np.zeros((3, 1)))
    with pytest.raises(ValueError, match="window"):
        vec.reset(options={"window": 10_000})
    with pytest.raises(ValueError, match="split"):
        gym.make_vec(env_id, num_envs=2, vectorization_mode="vector_entry_point", split="nope")


def test_batched_park_keeps_every_member_in_its_store_bounds() -> None:
    vec = gym.make_vec(
        "ecocontrol/WindSolarStorage-v1", num_envs=64, vectorization_mode="vector_entry_point"
    )
    vec.reset(seed=3)
    park = vec.unwrapped
    p = park.params  # type: ignore[attr-defined]
    rng = np.random.default_rng(1)
    for _ in range(200):
        vec.step(rng.uniform(-1, 1, vec.action_space.shape))
        e = park.energy_mwh  # type: ignore[attr-defined]
        assert (e >= p.e_min_mwh - 1e-9).all() and (e <= p.e_max_mwh + 1e-9).all()
        h = park.heat_mwh  # type: ignore[attr-defined]
        assert (h >= 0.0).all() and (h <= p.heat_store_capacity_mwh + 1e-9).all()


@pytest.mark.parametrize("env_id", list(BATCHED))
def test_reset_mid_episode_keeps_members_in_step_with_single_envs(env_id: str) -> None:
    kwargs = BATCHED[env_id]
    vec = gym.make_vec(env_id, num_envs=2, vectorization_mode="vector_entry_point", **kwargs)
    singles = [gym.make(env_id, **kwargs) for _ in range(2)]
    vec.reset(seed=4)
    for i, env in enumerate(singles):
        env.reset(seed=4 + i)
    rng = np.random.default_rng(2)
    for k in range(50):
        if k == 40:  # abandon the episodes (past the first chunk of forecast errors)
            obs, _ = vec.reset()
            np.testing.assert_array_equal(obs, np.stack([e.reset()[0] for e in singles]))
        actions = rng.uniform(-1, 1, vec.action_space.shape).astype(np.float32)
        obs, reward, *_ = vec.step(actions)
        for i, env in enumerate(singles):
            o, r, *_ = env.step(actions[i])
            np.testing.assert_array_equal(obs[i], o)
            assert reward[i] == r


@pytest.mark.parametrize("env_id", list(BATCHED))
def test_a_seeded_reset_does_not_depend_on_an_abandoned_episode(env_id: str) -> None:
    """reset(seed=s) after an episode cut short gives what it gives on a fresh env."""
    # long enough episodes that the forecast errors come in several chunks
    kwargs = {**BATCHED[env_id], **({"episode_days": 7} if "Storage" in env_id else {})}
    fresh, used = gym.make(env_id, **kwargs), gym.make(env_id, **kwargs)
    used.reset(seed=1)
    rng = np.random.default_rng(0)
    for _ in range(10):  # abandoned within its first chunk of forecast errors
        used.step(rng.uniform(-1, 1, used.action_space.shape).astype(np.float32))
    a, _ = fresh.reset(seed=9)
    b, _ = used.reset(seed=9)
    np.testing.assert_array_equal(a, b)
    for _ in range(60):
        action = rng.uniform(-1, 1, fresh.action_space.shape).astype(np.float32)
        oa, ra, *_ = fresh.step(action)
        ob, rb, *_ = used.step(action)
        np.testing.assert_array_equal(oa, ob)
        assert ra == rb
