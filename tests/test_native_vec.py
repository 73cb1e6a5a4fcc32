"""The SB3 adapter of the batched env: its episode statistics equal single-env episodes."""

import ecocontrol.envs  # noqa: F401
import gymnasium as gym
import numpy as np
import pytest

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


@pytest.mark.parametrize("plant", ["cement_kiln", "park"])
def test_training_venvs_native_equals_dummy(plant: str) -> None:
    """``vec_env=native`` (the default) gives the data ``vec_env=dummy`` gives, bit for bit."""
    from pathlib import Path

    from omegaconf import OmegaConf

    from ecocontrol.train import _make_venv

    root = Path(__file__).parent.parent
    cfg = OmegaConf.to_container(OmegaConf.load(root / "configs" / "env" / f"{plant}.yaml"))
    out = {}
    for kind in ("dummy", "native"):
        venv = _make_venv(cfg, "train", 2, 3, kind)
        rec = [venv.reset()]
        rng = np.random.default_rng(0)
        for _ in range(200 if plant == "park" else 500):
            obs, reward, done, infos = venv.step(
                rng.uniform(-1, 1, (2, *venv.action_space.shape)).astype(np.float32)
            )
            rec += [obs, reward, done]
            rec += [
                np.array(sorted(infos[i]["episode_kpis"].items())) for i in np.flatnonzero(done)
            ]
        out[kind] = rec
    assert len(out["dummy"]) == len(out["native"])
    for a, b in zip(out["dummy"], out["native"], strict=True):
        np.testing.assert_array_equal(a, b)
