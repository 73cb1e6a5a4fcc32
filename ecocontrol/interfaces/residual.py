"""The residual interface: the agent adds a bounded offset to a baseline controller's action."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from ecocontrol.controllers.base import plant_of
from ecocontrol.interfaces.base import AgentInterface

#: Action dimensions an agent may offset by default, per plant (names of the action scaler).
#: The hot stove's changeover requests stay the rule's: an offset on them would only add
#: refused requests.
DEFAULT_DIMS: dict[str, tuple[str, ...] | None] = {
    "park": None,
    "cement_kiln": None,
    "hot_stove": ("firing", "share"),
}


class ResidualInterface(AgentInterface):
    """Residual RL (Johannink et al. 2019; Silver et al. 2018): ``a = clip(a_base + scale * u)``.

    The agent's action ``u`` in [-1, 1] per offset dimension is scaled by ``scale`` (in the
    plant's normalised action units, where the full range is 2) and added to the baseline's
    action, then clipped to [-1, 1]. With ``u = 0`` the agent is the baseline exactly, so
    training starts from the baseline's cost rather than from a random policy's. The agent
    observes the plant's observation and the baseline's action.

    Args:
        env: the plant env.
        baseline: the registered controller the offsets apply to (default the rule).
        scale: the largest offset per dimension [normalised units], in (0, 2].
        dims: the action dimensions offset, by name or name prefix (default per plant,
            :data:`DEFAULT_DIMS`; ``None``: all).
    """

    name: ClassVar[str] = "residual"

    def __init__(
        self,
        env: gym.Env[Any, Any],
        *,
        baseline: str = "rule",
        scale: float = 0.5,
        dims: Sequence[str] | None = None,
    ) -> None:
        super().__init__(env)
        from ecocontrol.controllers import make_controller

        plant = plant_of(env)
        if not (0.0 < float(scale) <= 2.0):
            raise ValueError(f"interface.scale={scale}; allowed: 0 < scale <= 2")
        names = tuple(plant.sim.scaler.names)
        chosen = DEFAULT_DIMS.get(plant.sim.plant_name) if dims is None else tuple(dims)
        if chosen is None:
            index = list(range(len(names)))
        else:
            index = [i for i, n in enumerate(names) if any(n.startswith(d) for d in chosen)]
            unknown = [d for d in chosen if not any(n.startswith(d) for n in names)]
            if unknown or not index:
                raise ValueError(
                    f"interface.dims={list(chosen)}: {unknown or 'none'} match no action; "
                    f"allowed: names or prefixes of {list(names)}"
                )
        self.baseline_name = baseline
        self.scale = float(scale)
        self.dims = None if dims is None else list(dims)
        self._index = np.asarray(index)
        self.base = make_controller(baseline, env)
        self._plant = plant
        space = env.observation_space
        assert isinstance(space, gym.spaces.Box)
        n_obs = int(np.prod(space.shape or (0,)))
        n_act = len(names)
        low = np.concatenate([np.asarray(space.low).ravel(), -np.ones(n_act)])
        high = np.concatenate([np.asarray(space.high).ravel(), np.ones(n_act)])
        self.observation_space = gym.spaces.Box(
            low.astype(np.float32), high.astype(np.float32), (n_obs + n_act,), np.float32
        )
        self.action_space = gym.spaces.Box(-1.0, 1.0, (len(index),), np.float32)
        self._base_action = np.zeros(n_act)

    def settings(self) -> dict[str, Any]:
        """``baseline``, ``scale`` and ``dims``."""
        return {"baseline": self.baseline_name, "scale": self.scale, "dims": self.dims}

    def reset(self, env: gym.Env[Any, Any], seed: int | None = None) -> None:
        """Reset the baseline controller."""
        self.base.reset(env, seed)
        self._plant = plant_of(env)
        self._stamp: int | None = None

    def _base(self, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        # The baseline acts once per plant step (it may keep state, e.g. PI integrators):
        # observe() and plant_action() of the same step share its action.
        stamp = int(info.get("step", 0))
        if stamp >= self._plant.sim.episode_steps:  # the episode is over: nothing to act on
            return np.zeros_like(self._base_action)
        if stamp != self._stamp:
            self._base_action = np.asarray(self.base.act(obs, info), dtype=np.float64)
            self._stamp = stamp
        return self._base_action

    def observe(self, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        """The plant's observation and the baseline's action for the coming step."""
        base = self._base(obs, info).astype(np.float32)
        return np.concatenate([np.asarray(obs, dtype=np.float32).ravel(), base])

    def plant_action(self, action: Any, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        """The baseline's action plus the scaled offset, clipped to [-1, 1]."""
        a = self._base(obs, info).copy()
        u = np.clip(np.asarray(action, dtype=np.float64).ravel(), -1.0, 1.0)
        a[self._index] += self.scale * u
        return np.clip(a, -1.0, 1.0)
