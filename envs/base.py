"""Shared Gymnasium mechanics for every ecocontrol plant.

What lives here, once, for all plants:

* :class:`ScenarioWindows`: episodes are windows of a year of exogenous data, split into
  disjoint ``train`` / ``val`` / ``test`` sets fixed by a seed.
* :class:`ForecastErrorModel`: forecast error that grows with lead time (a random walk in the
  relative error, so its standard deviation grows with the square root of the lead time),
  with an optional bias; zero error is available.
* :class:`ActionScaler`: actions in [-1, 1] mapped to physical ranges; NaN or inf is refused,
  finite values outside [-1, 1] are clipped.
* :class:`EcoEnv`: the Gymnasium skeleton (seeding, window choice, the emission ledger, the
  reward, ``info``). A plant subclass supplies its physics and observation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from numpy.typing import ArrayLike, NDArray

from ecocontrol.emissions import (
    DEFAULT_CARBON_PRICE_CNY_PER_T,
    EmissionLedger,
    StepAccount,
    require_finite_range,
)

SPLITS: tuple[str, ...] = ("train", "val", "test")

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class ScenarioWindows:
    """Non-overlapping episode windows of a year, split into disjoint train/val/test sets.

    Window ``i`` starts at step ``i * episode_steps``. The windows are shuffled once with
    ``split_seed`` and cut by ``fractions``, so every split samples all seasons and the
    assignment never changes between runs.

    Attributes:
        n_steps_total: steps of exogenous data available (one year).
        episode_steps: steps per episode.
        fractions: shares of windows in train, val and test.
        split_seed: seed of the one shuffle that assigns windows to splits.
    """

    n_steps_total: int
    episode_steps: int
    fractions: tuple[float, float, float] = (0.6, 0.2, 0.2)
    split_seed: int = 0

    def __post_init__(self) -> None:
        require_finite_range("episode_steps", self.episode_steps, 1, self.n_steps_total)
        if len(self.fractions) != 3 or any(f < 0 for f in self.fractions):
            raise ValueError(f"fractions={self.fractions!r}; allowed: three shares >= 0")
        if not math.isclose(sum(self.fractions), 1.0, abs_tol=1e-9):
            raise ValueError(f"fractions={self.fractions!r}; allowed: shares summing to 1")
        if self.n_windows < 3:
            raise ValueError(
                f"episode_steps={self.episode_steps} leaves {self.n_windows} windows in "
                f"{self.n_steps_total} steps; allowed: at most {self.n_steps_total // 3} "
                "so that train, val and test each get a window"
            )

    @property
    def n_windows(self) -> int:
        """Number of whole windows in the year."""
        return self.n_steps_total // self.episode_steps

    def starts(self, split: str) -> NDArray[np.int64]:
        """Start steps of the windows in ``split``, in calendar order."""
        if split not in SPLITS:
            raise ValueError(f"split={split!r} is unknown; allowed: {SPLITS}")
        order = np.random.default_rng(self.split_seed).permutation(self.n_windows)
        n_train = max(1, round(self.fractions[0] * self.n_windows))
        n_val = max(1, round(self.fractions[1] * self.n_windows))
        parts = {
            "train": order[:n_train],
            "val": order[n_train : n_train + n_val],
            "test": order[n_train + n_val :],
        }
        return np.sort(parts[split]).astype(np.int64) * self.episode_steps


@dataclass(frozen=True)
class ForecastErrorModel:
    """Relative forecast error: a random walk in lead time plus a bias.

    The forecast of a non-negative series ``x`` at lead ``k`` steps is
    ``max(0, x[k] * (1 + bias + e_k))`` with ``e_k = sum_{j<=k} w_j``,
    ``w_j ~ N(0, std_per_sqrt_h**2 * dt_h)``: the error's standard deviation at lead ``L`` hours
    is ``std_per_sqrt_h * sqrt(L)`` and errors are correlated across the horizon, as in
    real numerical-weather-prediction based forecasts. ``std_per_sqrt_h = bias = 0`` is a
    perfect forecast.

    Attributes:
        std_per_sqrt_h: relative error standard deviation growth [1/sqrt(h)].
        bias: relative bias [-] (e.g. 0.05 = forecasts 5 % too high).
    """

    std_per_sqrt_h: float = 0.0
    bias: float = 0.0

    def __post_init__(self) -> None:
        require_finite_range("ForecastErrorModel.std_per_sqrt_h", self.std_per_sqrt_h, 0.0, 1.0)
        require_finite_range("ForecastErrorModel.bias", self.bias, -0.9, 0.9)

    @property
    def is_perfect(self) -> bool:
        """True when forecasts equal the true series."""
        return self.std_per_sqrt_h == 0.0 and self.bias == 0.0

    def apply(self, truth: FloatArray, dt_h: float, rng: np.random.Generator) -> FloatArray:
        """Forecast of ``truth`` (leads 1..len(truth)); draws from ``rng`` only if noisy."""
        if self.is_perfect:
            return truth.copy()
        w = rng.normal(0.0, self.std_per_sqrt_h * math.sqrt(dt_h), size=truth.shape)
        return self.perturb(truth, np.cumsum(w, axis=-1))

    def perturb(self, truth: FloatArray, error: FloatArray) -> FloatArray:
        """``max(0, truth * (1 + bias + error))`` for a cumulative relative ``error``."""
        return np.maximum(truth * (1.0 + self.bias + error), 0.0)


def episode_forecast_errors(
    models: tuple[ForecastErrorModel, ...],
    n_steps: int,
    n_leads: int,
    dt_h: float,
    rng: np.random.Generator,
) -> FloatArray:
    """Cumulative relative errors ``e[step, series, lead]`` of a whole episode's forecasts.

    Draws the same normal variates, in the same order, as calling :meth:`ForecastErrorModel.
    apply` for each noisy series at each step (perfect series draw nothing and get zeros), so
    an env that draws its episode's errors at reset reproduces one that draws step by step,
    and a batch of envs draws each member's errors from that member's own generator.
    """
    out = np.zeros((n_steps, len(models), n_leads))
    noisy = [i for i, m in enumerate(models) if not m.is_perfect]
    if n_leads == 0 or not noisy:
        return out
    z = rng.standard_normal((n_steps, len(noisy), n_leads))
    scale = np.array([models[i].std_per_sqrt_h * math.sqrt(dt_h) for i in noisy])
    out[:, noisy, :] = np.cumsum(z * scale[None, :, None], axis=-1)
    return out


class ActionScaler:
    """Maps actions in [-1, 1] to physical ranges ``[low, high]`` and back.

    NaN or inf in an action raises ``ValueError``; finite values outside [-1, 1] are clipped
    to [-1, 1] (documented in every env card) and the clipped amount is reported.
    """

    def __init__(self, low: ArrayLike, high: ArrayLike, names: tuple[str, ...]) -> None:
        self.low = np.asarray(low, dtype=np.float64)
        self.high = np.asarray(high, dtype=np.float64)
        self.names = names
        if self.low.shape != self.high.shape or self.low.shape != (len(names),):
            raise ValueError("ActionScaler: low, high and names must have the same length")
        if np.any(self.high < self.low):
            raise ValueError(f"ActionScaler: high {self.high} below low {self.low}")

    @property
    def space(self) -> gym.spaces.Box:
        """The normalised action space Box(-1, 1)."""
        return gym.spaces.Box(-1.0, 1.0, shape=self.low.shape, dtype=np.float32)

    def to_physical(self, action: ArrayLike) -> tuple[FloatArray, float]:
        """Physical action and the amount clipped (sum of |excess| in normalised units).

        Raises:
            ValueError: if the action has the wrong shape or is not finite.
        """
        a = np.asarray(action, dtype=np.float64).reshape(-1)
        if a.shape != self.low.shape:
            raise ValueError(
                f"action has shape {np.shape(action)}; allowed: {self.low.shape} "
                f"({', '.join(self.names)})"
            )
        physical, excess = self.to_physical_batch(a[None, :])
        return physical[0], float(excess[0])

    def to_physical_batch(self, actions: ArrayLike) -> tuple[FloatArray, FloatArray]:
        """:meth:`to_physical` over a batch: ``actions`` of shape ``(n, n_actions)``.

        Raises:
            ValueError: if the shape is wrong or an entry is not finite (naming the member).
        """
        a = np.asarray(actions, dtype=np.float64)
        if a.ndim != 2 or a.shape[1:] != self.low.shape:
            raise ValueError(
                f"actions have shape {a.shape}; allowed: (n_envs, {len(self.names)}) "
                f"({', '.join(self.names)})"
            )
        bad = ~np.isfinite(a)
        if bad.any():
            member = int(np.argwhere(bad)[0][0])
            where = f"action[{member}]" if len(a) > 1 else "action"
            which = [self.names[i] for i in np.flatnonzero(bad[member])]
            raise ValueError(
                f"{where} {which} = {a[member][bad[member]].tolist()} is not finite; allowed: "
                "numbers in [-1, 1] (values outside are clipped)"
            )
        clipped = np.clip(a, -1.0, 1.0)
        excess = np.abs(a - clipped).sum(axis=1)
        return self.low + (clipped + 1.0) * 0.5 * (self.high - self.low), excess

    def to_normalized(self, physical: ArrayLike) -> NDArray[np.float32]:
        """Normalised action in [-1, 1] for a physical one (clipped to the range)."""
        p = np.asarray(physical, dtype=np.float64)
        span = np.where(self.high > self.low, self.high - self.low, 1.0)
        a = 2.0 * (p - self.low) / span - 1.0
        return np.clip(a, -1.0, 1.0).astype(np.float32)


@dataclass
class PlantStep:
    """What a plant's physics returns for one env step."""

    emissions: dict[str, float]
    costs: dict[str, float]
    violations: dict[str, float]
    state: dict[str, Any]


class EcoEnv(gym.Env[NDArray[np.float32], NDArray[np.float32]]):
    """Gymnasium skeleton shared by the plants.

    Subclasses set :attr:`plant_name`, build ``self.windows``, ``self.scaler``,
    ``self.observation_space`` and implement ``_reset_plant``, ``_step_plant`` and
    ``_observe``. Episodes end by truncation after ``episode_steps`` steps.

    Reward: ``-(sum of the step's cost terms, carbon included) / reward_scale_cny``.
    """

    plant_name: ClassVar[str] = ""
    #: Names of the plant's constraint violations (besides ``action_clipped``).
    violation_names: ClassVar[tuple[str, ...]] = ()
    metadata = {"render_modes": []}  # noqa: RUF012  (Gymnasium declares it per instance)

    windows: ScenarioWindows
    scaler: ActionScaler

    def __init__(
        self,
        *,
        split: str = "train",
        carbon_price_cny_per_t: float = DEFAULT_CARBON_PRICE_CNY_PER_T,
        reward_scale_cny: float = 1.0e4,
        cost_terms: tuple[str, ...] = ("energy", "fuel", "degradation", "penalty"),
    ) -> None:
        if split not in SPLITS:
            raise ValueError(f"split={split!r} is unknown; allowed: {SPLITS}")
        require_finite_range("reward_scale_cny", reward_scale_cny, 0.0, low_inclusive=False)
        self.split = split
        self.reward_scale_cny = float(reward_scale_cny)
        self.ledger = EmissionLedger(carbon_price_cny_per_t, cost_terms)
        self.step_index = 0
        self.window_index = 0
        self.window_start = 0

    @staticmethod
    def _params_or_default(params: Any, cls: type[Any]) -> Any:
        """``params``, or ``cls()`` when ``None``; anything else is refused naming ``params``."""
        value = cls() if params is None else params
        if not isinstance(value, cls):
            raise ValueError(f"params={params!r}; allowed: a {cls.__name__}")
        return value

    # -- to implement in a plant ------------------------------------------------------------
    def _reset_plant(self) -> dict[str, Any]:
        """Set the initial physical state; return the state part of ``info``."""
        raise NotImplementedError

    def _step_plant(self, physical_action: FloatArray) -> PlantStep:
        """Advance the physics one step with a physical action."""
        raise NotImplementedError

    def _observe(self) -> NDArray[np.float32]:
        """Observation for the current step."""
        raise NotImplementedError

    def _prepare_step(self) -> None:
        """Prepare what is known before the coming step (e.g. draw forecasts).

        Called after ``reset`` and after every non-final step, once ``step_index`` points at
        the coming step.
        """

    def _extra_info(self) -> dict[str, Any]:
        """Plant-specific info (forecasts for controllers, exogenous values)."""
        return {}

    # -- shared mechanics ----------------------------------------------------------------------
    @property
    def carbon_price_cny_per_t(self) -> float:
        """Carbon price applied by the ledger [CNY/tCO2]."""
        return self.ledger.carbon_price_cny_per_t

    @property
    def episode_steps(self) -> int:
        """Steps per episode."""
        return self.windows.episode_steps

    @property
    def window_starts(self) -> NDArray[np.int64]:
        """Start steps of this env's split's windows."""
        return self.windows.starts(self.split)

    @property
    def n_windows(self) -> int:
        """Number of windows in this env's split."""
        return len(self.window_starts)

    def reset(
        self, *, seed: int | None = None, options: Mapping[str, Any] | None = None
    ) -> tuple[NDArray[np.float32], dict[str, Any]]:
        """Start an episode on one window of the split.

        ``options={"window": i}`` picks window ``i`` of the split (0-based); otherwise the
        seeded ``np_random`` picks one.
        """
        super().reset(seed=seed)
        starts = self.window_starts
        window = None if options is None else options.get("window")
        if window is None:
            self.window_index = int(self.np_random.integers(len(starts)))
        else:
            if isinstance(window, bool) or not isinstance(window, int | np.integer):
                raise ValueError(f"options['window']={window!r}; allowed: an int")
            if not 0 <= int(window) < len(starts):
                raise ValueError(
                    f"options['window']={window} is out of range for split {self.split!r}; "
                    f"allowed: 0..{len(starts) - 1}"
                )
            self.window_index = int(window)
        self.window_start = int(starts[self.window_index])
        self.step_index = 0
        self.ledger.reset()
        state = self._reset_plant()
        self._prepare_step()
        no_violations = dict.fromkeys(("action_clipped", *self.violation_names), 0.0)
        return self._observe(), self._info(self.ledger.empty_account(), no_violations, state)

    def step(
        self, action: NDArray[np.float32]
    ) -> tuple[NDArray[np.float32], float, bool, bool, dict[str, Any]]:
        """Apply ``action`` (normalised, [-1, 1]) for one step."""
        physical, clipped = self.scaler.to_physical(action)
        result = self._step_plant(physical)
        account = self.ledger.record(result.emissions, result.costs)
        violations = {"action_clipped": clipped, **result.violations}
        self.step_index += 1
        reward = -account.costs["total"] / self.reward_scale_cny
        truncated = self.step_index >= self.episode_steps
        if not truncated:
            self._prepare_step()
        return (
            self._observe(),
            float(reward),
            False,
            truncated,
            self._info(account, violations, result.state),
        )

    def _info(
        self, account: StepAccount, violations: dict[str, float], state: dict[str, Any]
    ) -> dict[str, Any]:
        return {
            "costs": account.costs,
            "emissions": account.emissions,
            "constraint_violations": violations,
            "state": state,
            "step": self.step_index,
            "window": self.window_index,
            "window_start": self.window_start,
            **self._extra_info(),
        }
