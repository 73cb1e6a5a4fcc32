"""The single Gymnasium env of every plant: a batch of one of the plant's simulator.

Each plant has one simulator, a :class:`~ecocontrol.envs.vector.BatchedEcoEnv` subclass that
steps any number of members over a leading batch axis. :class:`EcoEnv` wraps one member of it
in the ordinary ``gymnasium.Env`` interface: ``step`` steps the batch of one and returns its
member's observation, reward and ``info`` (accounts as floats, plus the member's state and
forecasts). There is no second step loop and no second accounts function.

The simulator's public attributes (``params``, ``windows``, ``scaler``, ``dt_h``, ...) read
through the single env, so ``env.unwrapped.params`` works as it does on any env.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from numpy.typing import NDArray

from .drift import DRIFT_LEVELS, scaled_drift
from .scenario import (
    SPLITS,
    ActionScaler,
    FloatArray,
    ForecastErrorModel,
    ScenarioWindows,
    episode_forecast_errors,
    real_array,
)
from .vector import BatchedEcoEnv

__all__ = [
    "SPLITS",
    "ActionScaler",
    "EcoEnv",
    "FloatArray",
    "ForecastErrorModel",
    "ScenarioWindows",
    "episode_forecast_errors",
]


#: Second word of the drift generator's seed (``[seed, _DRIFT_STREAM]``): its own stream.
_DRIFT_STREAM = 0xD21F7


class EcoEnv(gym.Env[NDArray[np.float32], NDArray[np.float32]]):
    """A single plant env: one member of the plant's batched simulator.

    Subclasses set :attr:`simulator` (the plant's :class:`BatchedEcoEnv` class) and carry the
    env card in their docstring; every keyword argument goes to the simulator, which validates
    it. Episodes end by truncation after ``episode_steps`` steps.

    Reward: ``-(sum of the step's cost terms, carbon included) / reward_scale_cny``.
    """

    simulator: ClassVar[type[BatchedEcoEnv]]
    metadata = {"render_modes": []}  # noqa: RUF012  (Gymnasium declares it per instance)

    def __init__(self, **kwargs: Any) -> None:
        # Domain randomisation over the drift (envs/drift.py) is the single env's: one
        # simulator per severity level, built when first drawn; reset picks a level and steps
        # its simulator. The simulators themselves refuse the flag.
        randomise = kwargs.pop("drift_randomise", False)
        if not isinstance(randomise, bool | np.bool_):
            raise ValueError(f"drift_randomise={randomise!r}; allowed: true or false")
        self.sim = self.simulator(1, autoreset_mode=AutoresetMode.NEXT_STEP, **kwargs)
        self.action_space = self.sim.single_action_space
        self.observation_space = self.sim.single_observation_space  # type: ignore[assignment]
        self._kwargs = kwargs
        self._levels: dict[int, BatchedEcoEnv] | None = None
        self._drift_rng: np.random.Generator | None = None  # seeded at the first reset
        if randomise:
            self._levels = {DRIFT_LEVELS - 1: self.sim}

    @property
    def drift_randomise(self) -> bool:
        """Whether each episode draws its drift level (``drift_randomise``)."""
        return self._levels is not None

    @property
    def drift(self) -> dict[str, float]:
        """This episode's severity of each drift mechanism (a drawn level when randomised)."""
        return dict(self.sim.drift)

    def _level_sim(self, level: int) -> BatchedEcoEnv:
        """The simulator of drift level ``level`` (``level / (DRIFT_LEVELS - 1)`` of the drift)."""
        assert self._levels is not None
        sim = self._levels.get(level)
        if sim is None:
            full = self._levels[DRIFT_LEVELS - 1]
            drift = scaled_drift(full.drift, level / (DRIFT_LEVELS - 1))
            sim = self.simulator(
                1, autoreset_mode=AutoresetMode.NEXT_STEP, **{**self._kwargs, "drift": drift}
            )
            if sim.single_observation_space != full.single_observation_space or (
                sim.single_action_space != full.single_action_space
            ):
                raise ValueError(
                    f"drift level {level} changes the spaces of {self.plant_name}; allowed: "
                    "drift_randomise only over drifts that keep them"
                )
            self._levels[level] = sim
        return sim

    # -- the simulator's public attributes, read through -----------------------------------
    def __getattr__(self, name: str) -> Any:
        # Only called for attributes the env itself lacks; private ones stay private.
        if name.startswith("_") or name == "sim":
            raise AttributeError(name)
        return getattr(self.sim, name)

    @property
    def plant_name(self) -> str:
        """The plant's short name (``park``, ``hot_stove``, ``cement_kiln``)."""
        return self.sim.plant_name

    @property
    def np_random(self) -> np.random.Generator:
        """The member's generator (seeded by ``reset(seed=...)``)."""
        rng = self.sim.rngs[0]
        if rng is None:
            rng, _ = gym.utils.seeding.np_random(None)
            self.sim.rngs[0] = rng
        return rng

    @np_random.setter
    def np_random(self, value: np.random.Generator) -> None:
        self.sim.rngs[0] = value

    @property
    def _np_random(self) -> np.random.Generator | None:
        # Gymnasium's checker reads the private generator; it is the member's.
        return self.sim.rngs[0] if "sim" in self.__dict__ else None

    @_np_random.setter
    def _np_random(self, value: np.random.Generator | None) -> None:
        if "sim" in self.__dict__:
            self.sim.rngs[0] = value

    @property
    def step_index(self) -> int:
        """Steps taken in this episode."""
        return int(self.sim.step_index[0])

    @property
    def window_index(self) -> int:
        """Index of this episode's window in the split."""
        return int(self.sim.window_index[0])

    @property
    def window_start(self) -> int:
        """Step of the year at which this episode's window starts."""
        return int(self.sim.window_start[0])

    @property
    def t(self) -> int:
        """Step of the year of the coming step."""
        return self.window_start + self.step_index

    @property
    def window_starts(self) -> NDArray[np.int64]:
        """Start steps of this env's split's windows."""
        return self.sim.starts

    # -- Gymnasium ---------------------------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: Mapping[str, Any] | None = None
    ) -> tuple[NDArray[np.float32], dict[str, Any]]:
        """Start an episode on one window of the split.

        ``options={"window": i}`` picks window ``i`` of the split (0-based); otherwise the
        seeded ``np_random`` picks one. With ``drift_randomise`` the episode's drift level is
        drawn first, from a generator of its own seeded by ``seed`` (an env never seeded seeds
        it from ``np_random``, as Gymnasium's rule for unseeded envs), and ``info["drift"]``
        holds the episode's severities.
        """
        if self._levels is not None:
            if seed is not None:
                self._drift_rng = np.random.default_rng([int(seed), _DRIFT_STREAM])
            elif self._drift_rng is None:
                self._drift_rng = np.random.default_rng(int(self.np_random.integers(2**63)))
            sim = self._level_sim(int(self._drift_rng.integers(DRIFT_LEVELS)))
            if sim is not self.sim:
                # the member's generator goes on in the new simulator, which must not draw
                # the rest of an episode it abandoned earlier from it
                sim.rngs[0] = self.sim.rngs[0]
                sim.reseeded[0] = True
                self.sim = sim
        obs, _ = self.sim.reset(seed=seed, options=options)
        sim = self.sim
        zeros = [0.0] * max(len(sim.emission_names), len(sim.cost_names), len(sim.violation_keys))
        return obs[0], self._info(
            zeros[: len(sim.emission_names)],
            zeros[: len(sim.cost_names)],
            zeros[: len(sim.violation_keys)],
        )

    def step(
        self, action: NDArray[np.float32]
    ) -> tuple[NDArray[np.float32], float, bool, bool, dict[str, Any]]:
        """Apply ``action`` (normalised, [-1, 1]) for one step.

        Raises:
            ValueError: if the action is not a real array of the action space's shape, or
                holds NaN or inf (the state is left untouched).
            gymnasium.error.ResetNeeded: if the episode has ended (terminated or truncated)
                and ``reset`` has not been called since (as Gymnasium's order enforcing).
        """
        if self.sim._n_pending:
            raise gym.error.ResetNeeded(
                f"step() called after the episode ended (at step {self.step_index} of window "
                f"{self.window_index}); call reset() first"
            )
        a: Any = action
        if type(a) is not np.ndarray:  # a list: bools, strings, ragged rows refused
            a = real_array(a, "action")
        shape = np.shape(a)
        if shape != self.action_space.shape:
            raise ValueError(
                f"action {action!r} has shape {shape}; allowed: {self.action_space.shape} "
                f"({', '.join(self.sim.scaler.names)})"
            )
        sim = self.sim
        obs, reward, terminated, truncated, em, co, viol, _ = sim._step(a.reshape(1, -1))
        return (
            obs[0],
            reward.item(0),
            terminated.item(0),
            truncated.item(0),
            self._info(em[:, 0].tolist(), co[:, 0].tolist(), viol[:, 0].tolist()),
        )

    def _info(
        self, emissions: list[float], costs: list[float], violations: list[float]
    ) -> dict[str, Any]:
        sim = self.sim
        member = sim._member_info(0)
        if self._levels is not None:
            member["drift"] = dict(sim.drift)
        return {
            "costs": dict(zip(sim.cost_names, costs, strict=True)),
            "emissions": dict(zip(sim.emission_names, emissions, strict=True)),
            "constraint_violations": dict(zip(sim.violation_keys, violations, strict=True)),
            "state": member.pop("state"),
            "step": sim.step_index.item(0),
            "window": sim.window_index.item(0),
            "window_start": sim.window_start.item(0),
            **member,
        }

    def true_window(self, start_step: int, n: int) -> dict[str, FloatArray]:
        """True exogenous series (privileged: for the oracle and perfect-forecast MPC)."""
        return self.sim.true_window(start_step, n)
