"""Trained stable-baselines3 agents as controllers: load a run's model and its normalisation.

An agent acts through the interface it was trained in (:mod:`ecocontrol.interfaces`: direct,
residual, supervisory, the hot stove's decisions), saved in its run's ``config.yaml``; the
controller drives that interface exactly as the training env
(:class:`~ecocontrol.interfaces.env.AgentEnv`) did, so the agent replays as it was trained.
"""

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

#: Where the pretrained agents live (``experiments/agents/<plant>/<label>/``, a run directory
#: without its checkpoints) and ``index.json``, each plant's best agent.
PRETRAINED_DIR = Path(__file__).resolve().parents[1] / "experiments" / "agents"


def pretrained_path(plant: str, name: str = "pretrained") -> Path:
    """A pretrained agent's folder: ``pretrained`` (the plant's best) or ``pretrained:<label>``.

    Raises:
        ConfigError: naming ``path`` and the agents available.
    """
    index_file = PRETRAINED_DIR / "index.json"
    index = json.loads(index_file.read_text()) if index_file.is_file() else {}
    label = name.partition(":")[2] or index.get(plant, {}).get("label", "")
    folder = PRETRAINED_DIR / plant / label
    if not label or not (folder / "model.zip").is_file():
        have = sorted(p.name for p in (PRETRAINED_DIR / plant).glob("*") if p.is_dir())
        raise ConfigError(
            f"config key path={name!r}: no pretrained agent {label or '(none listed)'!r} for "
            f"{plant} in {PRETRAINED_DIR}; allowed: pretrained, or pretrained:<label> with "
            f"<label> in {have}"
        )
    return folder


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
        spaces = spaces_env(model.observation_space, model.action_space)
        norm = VecNormalize.load(str(stats), DummyVecEnv([spaces]))
        norm.training = False
    return model, norm


def spaces_env(
    observation_space: gym.Space[Any], action_space: gym.Space[Any]
) -> Callable[[], gym.Env[Any, Any]]:
    """A factory of an env that has only these spaces.

    What ``VecNormalize`` needs to load or hold statistics without a plant.
    """

    class _Spaces(gym.Env[Any, Any]):
        def __init__(self) -> None:
            self.observation_space = observation_space
            self.action_space = action_space

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


def saved_interface(path: str | Path) -> dict[str, Any] | None:
    """The interface spec a run was trained with (its ``config.yaml``), or ``None``.

    ``path``: the run directory, or a model file in it (``model.zip``, ``best/``,
    ``checkpoints/``).
    """
    import yaml

    p = Path(path)
    for d in (p, p.parent, p.parent.parent) if p.is_dir() else (p.parent, p.parent.parent):
        cfg = d / "config.yaml"
        if cfg.is_file():
            spec = (yaml.safe_load(cfg.read_text()) or {}).get("interface")
            return dict(spec) if spec else None
    return None


class AgentController:
    """A trained SB3 model as a controller (``reset``/``act``), through its interface.

    Observations are normalised with the statistics saved with the model, as in training.

    Args:
        env: the plant env.
        path: a training run directory, a model ``.zip``, or ``pretrained`` (the plant's
            best agent of the reference study, :data:`PRETRAINED_DIR`) or
            ``pretrained:<label>``.
        which: ``best`` (validation) or ``final``.
        deterministic: act on the policy's mode.
        interface: the interface spec; ``None``: the one saved with the run (else direct).
    """

    def __init__(
        self,
        env: gym.Env[Any, Any],
        path: str | Path,
        which: str = "best",
        deterministic: bool = True,
        interface: dict[str, Any] | None = None,
    ) -> None:
        from ecocontrol.controllers.base import plant_of
        from ecocontrol.interfaces import make_interface

        if str(path).split(":")[0] == "pretrained":
            path = pretrained_path(plant_of(env).sim.plant_name, str(path))
        self.path = Path(path)
        self.model, self.norm = load_agent(path, which=which)
        spec = interface if interface is not None else saved_interface(path)
        try:
            self.interface = make_interface(env, spec)
        except ValueError as e:
            raise ConfigError(str(e)) from None
        shape = self.interface.observation_space.shape
        if self.model.observation_space.shape != shape:
            raise ConfigError(
                f"config key path={str(path)!r}: the model observes shape "
                f"{self.model.observation_space.shape}, the env (interface "
                f"{self.interface.name}) {shape}; allowed: a model trained on this plant"
            )
        self.deterministic = deterministic
        self._k = 0
        self._action: Any = None

    def reset(self, env: gym.Env[Any, Any], seed: int | None = None) -> None:
        """A stochastic policy's sampling restarts from ``seed``; a deterministic one has no state.

        Seeding per episode makes each episode's actions depend on its own seed only, not on
        which episodes ran before it in the process (a resumed benchmark runs fewer).
        """
        if not self.deterministic and seed is not None:
            import torch

            torch.manual_seed(seed)
        self.interface.reset(env, seed)
        self._k = 0

    def act(self, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        """The plant action for the coming step.

        The policy decides every ``hold_steps`` steps on the (normalised) interface
        observation; the interface turns its decision into the plant's action.
        """
        iface = self.interface
        if self._k % iface.hold_steps == 0:
            x: Any = iface.observe(obs, info)
            if self.norm is not None:
                x = self.norm.normalize_obs(x)
            masks = iface.action_masks(obs, info)
            if masks is not None:
                action, _ = self.model.predict(  # type: ignore[call-arg]
                    x, deterministic=self.deterministic, action_masks=masks
                )
            else:
                action, _ = self.model.predict(x, deterministic=self.deterministic)
            self._action = action
        self._k += 1
        return iface.plant_action(self._action, obs, info)
