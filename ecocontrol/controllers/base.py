"""The controller protocol and the registry behind ``make_controller``.

Every controller (rule, MPC, oracle, trained agent, a user's own) implements
``reset(env, seed)`` and ``act(obs, info) -> action``; ``evaluation.run_episode`` runs them all
through one loop. ``act`` returns the env's normalised action.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np

from ecocontrol.envs.base import EcoEnv


@runtime_checkable
class Controller(Protocol):
    """What ``run_episode`` needs of a controller."""

    def reset(self, env: gym.Env[Any, Any], seed: int | None = None) -> None:
        """Prepare for a new episode of ``env`` (already reset)."""
        ...

    def act(self, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        """Action for the coming step, from the latest observation and info."""
        ...


ControllerFactory = Callable[..., Controller]
_REGISTRY: dict[tuple[str, str], ControllerFactory] = {}


def register_controller(plant: str, name: str) -> Callable[[ControllerFactory], ControllerFactory]:
    """Register a controller factory ``factory(env, **kwargs)`` for ``plant`` under ``name``."""

    def deco(factory: ControllerFactory) -> ControllerFactory:
        _REGISTRY[(plant, name)] = factory
        return factory

    return deco


def plant_of(env: gym.Env[Any, Any]) -> EcoEnv:
    """The ecocontrol plant env under any wrappers, with a clear error for other envs."""
    base = env.unwrapped
    if not isinstance(base, EcoEnv):
        raise TypeError(f"env {base!r} is not an ecocontrol env (EcoEnv)")
    return base


def available_controllers(plant: str | None = None) -> list[str]:
    """Registered controller names (for one plant, or ``plant:name`` for all)."""
    if plant is None:
        return sorted(f"{p}:{n}" for p, n in _REGISTRY)
    return sorted(n for p, n in _REGISTRY if p == plant)


def make_controller(name: str, env: gym.Env[Any, Any], **kwargs: Any) -> Controller:
    """Build the controller registered as ``name`` for ``env``'s plant.

    Raises:
        ValueError: if no controller of that name exists for the plant.
    """
    plant = plant_of(env).plant_name
    factory = _REGISTRY.get((plant, name))
    if factory is None:
        raise ValueError(
            f"controller={name!r} is unknown for plant {plant!r}; allowed: "
            f"{available_controllers(plant)}"
        )
    return factory(env, **kwargs)


class ConstantController:
    """A naive baseline: the same normalised action every step (default: mid-range).

    Args:
        env: the env (its action space sets the action's shape).
        action: the normalised action in [-1, 1], one value for all or one per dimension.
    """

    def __init__(self, env: gym.Env[Any, Any], action: float | list[float] = 0.0) -> None:
        space = env.action_space
        shape = space.shape or ()
        a = np.broadcast_to(np.asarray(action, dtype=np.float32), shape).copy()
        if not np.all(np.isfinite(a)) or np.any(np.abs(a) > 1.0):
            raise ValueError(f"action={action!r}; allowed: finite values in [-1, 1]")
        self.action = a

    def reset(self, env: gym.Env[Any, Any], seed: int | None = None) -> None:
        """Nothing to reset."""

    def act(self, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        """The constant action."""
        return self.action.copy()
