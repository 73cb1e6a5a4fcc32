"""How an agent acts on a plant: its observation, its action space and the plant action.

An :class:`AgentInterface` sits between a trained agent and the plant's own per-step env, so
that the agent can decide in a space that suits learning while every controller still runs
through the same per-step loop (:func:`ecocontrol.evaluation.run_episode`) on the same env:

* ``direct``: the agent's action is the plant's normalised action (the plain SB3 agent);
* ``residual``: the agent adds a bounded offset to a baseline's action;
* ``supervisory``: the agent sets what an operator sets (targets, set points, shares) and the
  baseline's logic executes them safely;
* ``decision`` (hot stove): discrete decisions every few minutes, with action masks.

An interface may hold one agent action for ``hold_steps`` plant steps (the agent decides every
``hold_steps`` steps). The training env :class:`~ecocontrol.interfaces.env.AgentEnv` and the
benchmark's :class:`~ecocontrol.agents.AgentController` both drive the interface through the
same methods, so an agent replays in the benchmark exactly as it was trained.
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np


class AgentInterface:
    """The base: the ``direct`` interface (the agent acts on the plant's own action space).

    Subclasses override what they change. Every interface is rebuilt from
    ``cls(env, **interface.settings())``: the settings are saved with the agent.

    Attributes:
        name: the interface's name in configs and tables.
        hold_steps: plant steps per agent decision.
        observation_space: what the agent observes.
        action_space: what the agent chooses.
    """

    name: ClassVar[str] = "direct"

    def __init__(self, env: gym.Env[Any, Any]) -> None:
        self.hold_steps = 1
        self.observation_space: gym.spaces.Space[Any] = env.observation_space
        self.action_space: gym.spaces.Space[Any] = env.action_space

    def settings(self) -> dict[str, Any]:
        """Keyword arguments that rebuild this interface (plain values, saved with the agent)."""
        return {}

    def reset(self, env: gym.Env[Any, Any], seed: int | None = None) -> None:
        """Prepare for a new episode of ``env`` (already reset)."""

    def observe(self, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        """The agent's observation at a decision, from the plant's observation and info."""
        return obs

    def plant_action(self, action: Any, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        """The plant's normalised action for the coming plant step.

        Called at every plant step of a hold with the agent's latest action and the plant's
        latest observation and info.
        """
        return np.asarray(action, dtype=np.float32)

    def action_masks(self, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray | None:
        """Which discrete choices are allowed now (sb3-contrib's convention), or ``None``."""
        return None

    def potential(self, info: dict[str, Any]) -> float:
        """A shaping potential [reward units] of the state in ``info`` (0: no shaping)."""
        return 0.0
