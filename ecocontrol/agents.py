"""Trained stable-baselines3 agents as controllers: load a run's model and its normalisation."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

from ecocontrol.config import ConfigError


def load_agent(
    path: str | Path, *, which: str = "best", algo: str | None = None
) -> tuple[BaseAlgorithm, VecNormalize | None]:
    """Load a trained model (and its normalisation statistics) from a run dir or ``.zip``.

    ``which``: ``best`` (the best validation model, falling back to the final one) or
    ``final``. ``algo``: the SB3 class path (default: the one the run recorded, else PPO).
    Raises ``ConfigError`` naming ``path`` if there is no model.
    """
    p = Path(path)
    if which not in ("best", "final"):
        raise ConfigError(f"config key which={which!r} is invalid; allowed: best or final")
    if p.is_dir():
        best = p / "best" / "best_model.zip"
        model_path = best if which == "best" and best.exists() else p / "model.zip"
    else:
        model_path = p
    if not model_path.is_file():
        raise ConfigError(
            f"config key path={str(path)!r}: no model there; allowed: a training run "
            "directory (with model.zip) or a model .zip"
        )
    model = _algo_of(model_path, algo).load(str(model_path), device="cpu")
    steps = re.search(r"model_(\d+)_steps\.zip$", model_path.name)
    if steps:  # a checkpoint: its statistics sit beside it
        stats = model_path.with_name(f"model_vecnormalize_{steps.group(1)}_steps.pkl")
    else:
        stats = model_path.parent / "vecnormalize.pkl"
    norm = None
    if stats.is_file():
        norm = VecNormalize.load(str(stats), DummyVecEnv([_dummy_env(model)]))
        norm.training = False
    return model, norm


def _dummy_env(model: BaseAlgorithm) -> Callable[[], gym.Env[Any, Any]]:
    class _Spaces(gym.Env[Any, Any]):
        observation_space = model.observation_space
        action_space = model.action_space

    return _Spaces


def _algo_of(model_path: Path, algo: str | None) -> type[BaseAlgorithm]:
    """The SB3 class: ``algo`` if given, else the run's ``train_summary.json``, else PPO."""
    from hydra.utils import get_class

    if algo is None:
        for d in (model_path.parent, model_path.parent.parent):
            summary = d / "train_summary.json"
            if summary.is_file():
                algo = json.loads(summary.read_text()).get("algo_target")
                break
    cls = get_class(algo or "stable_baselines3.PPO")
    if not (isinstance(cls, type) and issubclass(cls, BaseAlgorithm)):
        raise ConfigError(f"config key algo={algo!r}; allowed: a stable-baselines3 class")
    return cls


class AgentController:
    """A trained SB3 model as a controller (``reset``/``act``).

    Observations are normalised with the statistics saved with the model, as in training.
    """

    def __init__(
        self,
        env: gym.Env[Any, Any],
        path: str | Path,
        which: str = "best",
        deterministic: bool = True,
    ) -> None:
        self.model, self.norm = load_agent(path, which=which)
        if self.model.observation_space.shape != env.observation_space.shape:
            raise ConfigError(
                f"config key path={str(path)!r}: the model observes shape "
                f"{self.model.observation_space.shape}, the env "
                f"{env.observation_space.shape}; allowed: a model trained on this plant"
            )
        self.deterministic = deterministic

    def reset(self, env: gym.Env[Any, Any], seed: int | None = None) -> None:
        """A stochastic policy's sampling restarts from ``seed``; a deterministic one has no state.

        Seeding per episode makes each episode's actions depend on its own seed only, not on
        which episodes ran before it in the process (a resumed benchmark runs fewer).
        """
        if not self.deterministic and seed is not None:
            import torch

            torch.manual_seed(seed)

    def act(self, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        """The policy's action for the (normalised) observation."""
        x = self.norm.normalize_obs(obs) if self.norm is not None else obs
        action, _ = self.model.predict(x, deterministic=self.deterministic)
        return np.asarray(action, dtype=np.float32)
