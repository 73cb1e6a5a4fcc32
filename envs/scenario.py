"""Scenario mechanics shared by every plant: windows, forecasts and action scaling.

What lives here, once, for all plants:

* :class:`ScenarioWindows`: episodes are windows of a year of exogenous data, split into
  disjoint ``train`` / ``val`` / ``test`` sets fixed by a seed.
* :class:`ForecastErrorModel`: forecast error that grows with lead time (a random walk in the
  relative error, so its standard deviation grows with the square root of the lead time),
  with an optional bias; zero error is available.
* :class:`ActionScaler`: actions in [-1, 1] mapped to physical ranges; NaN or inf is refused,
  finite values outside [-1, 1] are clipped.
* :class:`BatchForecastErrors` and :func:`horizon_view`: each member's forecast errors and
  the exogenous series over the forecast horizon, for a batch of plants.
* :class:`BatchForecastNoise` and :func:`perturb_rows`: the same errors for compiled plants,
  kept as the drawn standard normals (numpy draws them from each member's generator, in the
  same order) and applied inside a kernel.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from numpy.typing import ArrayLike, NDArray

from ecocontrol.validation import is_real, require_finite_range, require_seed

from .jit import kernel

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
        require_seed("split_seed", self.split_seed)
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


@kernel
def _scale_kernel(
    a: FloatArray, low: FloatArray, span: FloatArray, physical: FloatArray, excess: FloatArray
) -> int:
    """Clip ``a`` to [-1, 1] and map it to ``low + (a + 1) / 2 * span`` into ``physical``.

    ``excess``: per member, the sum of ``|a - clipped|`` over the entries, each capped so the
    sum cannot overflow. Returns the first member holding NaN or inf (then stops), else -1.
    """
    n, m = a.shape
    cap = np.finfo(np.float64).max / (2 * max(m, 1))
    for i in range(n):
        total = 0.0
        for j in range(m):
            x = a[i, j]
            if not np.isfinite(x):
                return i
            c = min(max(x, -1.0), 1.0)
            total += min(abs(x - c), cap)
            physical[i, j] = low[j] + (c + 1.0) * 0.5 * span[j]
        excess[i] = total
    return -1


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
        self._span = self.high - self.low

    @property
    def space(self) -> gym.spaces.Box:
        """The normalised action space Box(-1, 1)."""
        return gym.spaces.Box(-1.0, 1.0, shape=self.low.shape, dtype=np.float32)

    def to_physical(self, action: ArrayLike) -> tuple[FloatArray, float]:
        """Physical action and the amount clipped (sum of |excess| in normalised units).

        Raises:
            ValueError: if the action has the wrong shape or type or is not finite.
        """
        a = real_array(action, "action").reshape(-1)
        if a.shape != self.low.shape:
            raise ValueError(
                f"action has shape {np.shape(action)}; allowed: {self.low.shape} "
                f"({', '.join(self.names)})"
            )
        physical, excess = self.to_physical_batch(a[None, :])
        return physical[0], float(excess[0])

    def to_physical_batch(
        self, actions: ArrayLike, n: int | None = None
    ) -> tuple[FloatArray, FloatArray]:
        """:meth:`to_physical` over a batch: ``actions`` of shape ``(n, n_actions)``.

        ``n``: the batch size the actions must have (``None``: any). One row is never
        broadcast to a batch.

        Raises:
            ValueError: if the shape or type is wrong or an entry is not finite (naming the
                member).
        """
        a = real_array(actions, "actions")
        if a.ndim != 2 or a.shape[1:] != self.low.shape or (n is not None and len(a) != n):
            rows = "n_envs" if n is None else f"n_envs={n}"
            raise ValueError(
                f"actions have shape {a.shape}; allowed: ({rows}, {len(self.names)}) "
                f"({', '.join(self.names)})"
            )
        physical = np.empty(a.shape)
        excess = np.empty(len(a))
        if _scale_kernel(a, self.low, self._span, physical, excess) >= 0:
            self._check_finite(a)
        return physical, excess

    def _check_finite(self, a: FloatArray) -> None:
        """Refuse NaN or inf, naming the first member and the action entries."""
        bad = ~np.isfinite(a)
        if not bad.any():
            return
        member = int(np.argwhere(bad)[0][0])
        where = f"action[{member}]" if len(a) > 1 else "action"
        which = [self.names[i] for i in np.flatnonzero(bad[member])]
        raise ValueError(
            f"{where} {which} = {a[member][bad[member]].tolist()} is not finite; allowed: "
            "numbers in [-1, 1] (values outside are clipped)"
        )

    def to_normalized(self, physical: ArrayLike) -> NDArray[np.float32]:
        """Normalised action in [-1, 1] for a physical one (clipped to the range)."""
        p = np.asarray(physical, dtype=np.float64)
        span = np.where(self.high > self.low, self.high - self.low, 1.0)
        a = 2.0 * (p - self.low) / span - 1.0
        return np.clip(a, -1.0, 1.0).astype(np.float32)


IntArray = NDArray[np.int64]


class BatchForecastErrors:
    """Each member's episode forecast errors, drawn ``chunk`` steps at a time.

    A single env draws its whole episode's errors at reset
    (:func:`~ecocontrol.envs.base.episode_forecast_errors`); a batch draws the same variates
    from each member's generator in chunks, which bounds memory at ``num_envs * chunk`` steps
    (a whole 8-h hot-stove episode with a 3-h horizon is 0.7 MB per member). A member reset
    mid-episode first draws the rest of its episode, as the single env would have.
    """

    def __init__(
        self,
        models: tuple[ForecastErrorModel, ...],
        episode_steps: int,
        n_leads: int,
        dt_h: float,
        num_envs: int,
        chunk: int = 32,
    ) -> None:
        self.models, self.episode_steps, self.n_leads, self.dt_h = (
            models,
            episode_steps,
            n_leads,
            dt_h,
        )
        self.chunk = min(chunk, episode_steps)
        self.buffer = np.zeros((num_envs, self.chunk, len(models), n_leads))
        self.first = np.zeros(num_envs, dtype=np.int64)  # episode step of buffer[:, 0]
        self.drawn = np.full(num_envs, episode_steps, dtype=np.int64)  # steps drawn so far

    def _draw(self, rng: np.random.Generator, steps: int) -> FloatArray:
        return episode_forecast_errors(self.models, steps, self.n_leads, self.dt_h, rng)

    def start(self, i: int, rng: np.random.Generator) -> None:
        """Member ``i`` starts an episode (after its reset's other draws)."""
        left = self.episode_steps - int(self.drawn[i])
        if left > 0:
            self._draw(rng, left)  # the rest of the abandoned episode
        self.drawn[i] = 0
        self._fill(i, rng)

    def _fill(self, i: int, rng: np.random.Generator) -> None:
        steps = min(self.chunk, self.episode_steps - int(self.drawn[i]))
        self.buffer[i, :steps] = self._draw(rng, steps)
        self.first[i] = self.drawn[i]
        self.drawn[i] += steps

    def rows(
        self, idx: IntArray, step: IntArray, rngs: Sequence[np.random.Generator | None]
    ) -> FloatArray:
        """Errors ``(len(idx), series, lead)`` of members ``idx`` at their episode ``step``."""
        for j in np.flatnonzero(step >= self.first[idx] + self.chunk):
            rng = rngs[idx[j]]
            assert rng is not None
            self._fill(int(idx[j]), rng)
        return self.buffer[idx, step - self.first[idx]]


#: Variates a member's chunk of :class:`BatchForecastNoise` holds (8 bytes each).
_CHUNK_NORMALS = 8192


@kernel
def _standard_normals(rng: np.random.Generator, out: FloatArray) -> None:
    """Fill ``out`` (C order) with ``rng``'s standard normals.

    The numbers numpy's ``rng.standard_normal(out=out)`` gives, and the generator is left in
    the same state (numba runs numpy's ziggurat on the same bit generator); about three
    times faster here, which is most of a noisy batched park step.
    """
    flat = out.reshape(-1)
    for k in range(flat.size):
        flat[k] = rng.standard_normal()


class BatchForecastNoise:
    """Each member's forecast-error variates, drawn ``chunk`` steps at a time, for kernels.

    The same standard normals, from the same generator in the same order, as
    :class:`BatchForecastErrors` (and so as :func:`episode_forecast_errors` and
    :meth:`ForecastErrorModel.apply`): ``n_noisy x n_leads`` per step for the models that are
    not perfect, drawn into :attr:`z` by :func:`_standard_normals` (numpy's numbers, from the
    member's numpy generator, in a kernel). They are kept as drawn; :func:`perturb_rows` scales
    and accumulates them into the errors inside a kernel. A member reset mid-episode without a
    new seed first draws the rest of its episode, as the single env would have; one reset with
    a new seed starts from that seed's generator as it is, so ``reset(seed=s)`` gives the same
    forecasts whatever the previous episode did.

    Attributes:
        z: the variates, shape ``(num_envs, chunk, n_noisy, n_leads)``.
        row: each member's row of ``z`` for its coming step (set by :meth:`prepare`).
        cols: index of each noisy model among ``models`` (its series), shape ``(n_noisy,)``.
        scale: each noisy model's std per step, ``std_per_sqrt_h * sqrt(dt_h)``.
        bias: each noisy model's bias.
        active: whether anything is drawn (a noisy model and a lead >= 1).
    """

    def __init__(
        self,
        models: tuple[ForecastErrorModel, ...],
        episode_steps: int,
        n_leads: int,
        dt_h: float,
        num_envs: int,
        chunk: int | None = None,
    ) -> None:
        noisy = [j for j, m in enumerate(models) if not m.is_perfect]
        if chunk is None:  # about 64 kB of variates per member
            chunk = max(8, _CHUNK_NORMALS // max(len(noisy) * n_leads, 1))
        self.episode_steps, self.n_leads = episode_steps, n_leads
        self.cols = np.array(noisy, dtype=np.int64)
        self.scale = np.array([models[j].std_per_sqrt_h * math.sqrt(dt_h) for j in noisy])
        self.bias = np.array([models[j].bias for j in noisy], dtype=np.float64)
        self.active = bool(noisy) and n_leads > 0
        self.chunk = min(chunk, episode_steps)
        self.z = np.zeros((num_envs, self.chunk if self.active else 1, len(noisy), n_leads))
        self.row = np.zeros(num_envs, dtype=np.int64)
        self.first = np.zeros(num_envs, dtype=np.int64)  # episode step of z[:, 0]
        self.drawn = np.full(num_envs, episode_steps, dtype=np.int64)  # steps drawn so far
        self._due = np.zeros(num_envs, dtype=np.int64)

    def start(self, i: int, rng: np.random.Generator, reseeded: bool = False) -> None:
        """Member ``i`` starts an episode (after its reset's other draws).

        ``reseeded``: its generator was just seeded anew, so an abandoned episode's rest is not
        drawn from it.
        """
        if not self.active:
            return
        left = self.episode_steps - int(self.drawn[i])
        if left > 0 and not reseeded:  # the rest of the abandoned episode
            rng.standard_normal(left * self.z[0, 0].size)
        self.drawn[i] = 0
        self._fill(i, rng)

    def _fill(self, i: int, rng: np.random.Generator) -> None:
        steps = min(self.chunk, self.episode_steps - int(self.drawn[i]))
        _standard_normals(rng, self.z[i, :steps])
        self.first[i] = self.drawn[i]
        self.drawn[i] += steps

    def prepare(
        self,
        idx: NDArray[np.int64],
        step: NDArray[np.int64],
        rngs: Sequence[np.random.Generator | None],
    ) -> None:
        """Point members ``idx`` at the variates of their coming episode step.

        ``step`` is indexed by member (the simulator's ``step_index``); members whose chunk
        is used up draw the next one from their generator in ``rngs``.
        """
        if not self.active:
            return
        n_due = _rows_due(idx, step, self.first, self.chunk, self.row, self._due)
        for i in self._due[:n_due].tolist():
            rng = rngs[i]
            assert rng is not None
            self._fill(i, rng)
            self.row[i] = step[i] - self.first[i]


@kernel
def _rows_due(
    idx: NDArray[np.int64],
    step: NDArray[np.int64],
    first: NDArray[np.int64],
    chunk: int,
    row: NDArray[np.int64],
    due: NDArray[np.int64],
) -> int:
    """Set ``row`` of members ``idx`` for their ``step``.

    Members whose chunk is used up are listed in ``due`` (their row is set after the refill);
    returns how many.
    """
    n_due = 0
    for j in range(idx.shape[0]):
        i = idx[j]
        r = step[i] - first[i]
        if r >= chunk:
            due[n_due] = i
            n_due += 1
        else:
            row[i] = r
    return n_due


@kernel
def noisy_series(
    truth: FloatArray, z: FloatArray, scale: float, bias: float, out: FloatArray
) -> None:
    """One series' forecast: :meth:`ForecastErrorModel.perturb`, compiled.

    ``truth``: the true series over the horizon (lead 0 first); ``z``: its standard normals
    of this step (one per lead >= 1, :class:`BatchForecastNoise`). ``out`` (which may be
    ``truth``) gets ``truth[0]`` at lead 0 and ``max(0, truth[k] * (1 + bias + e_k))`` at
    lead ``k >= 1``, ``e_k = scale * z[0] + ... + scale * z[k - 1]`` summed in the order of
    ``np.cumsum``, so the numbers equal the numpy model's.
    """
    out[0] = truth[0]
    b1 = 1.0 + bias
    e = 0.0
    for k in range(min(z.shape[0], truth.shape[0] - 1)):
        e = z[k] * scale if k == 0 else e + z[k] * scale
        x = truth[k + 1] * (b1 + e)
        out[k + 1] = x if (x >= 0.0 or x != x) else 0.0  # np.maximum(x, 0.0)


@kernel
def perturb_rows(
    rows: FloatArray,
    z: FloatArray,
    cols: NDArray[np.int64],
    scale: FloatArray,
    bias: FloatArray,
) -> None:
    """One member's forecasts, in place: :func:`noisy_series` for each noisy model.

    ``rows``: the true series over the horizon (lead 0 first), one per row; ``z``: the
    member's standard normals of this step, shape ``(n_noisy, n_leads)``
    (:class:`BatchForecastNoise`); row ``cols[s]`` gets noisy model ``s``'s error.
    """
    for s in range(cols.shape[0]):
        row = rows[cols[s]]
        noisy_series(row, z[s], scale[s], bias[s], row)


def clip(a: ArrayLike, low: ArrayLike, high: ArrayLike, out: NDArray[Any] | None = None) -> Any:
    """``np.clip``, which numpy defines as ``minimum(maximum(a, low), high)``.

    Written out, it skips ``np.clip``'s Python-level overhead (about 2 us a call), which
    dominates on a batch of one.
    """
    if out is None:
        return np.minimum(np.maximum(a, low), high)
    np.maximum(a, low, out=out)
    return np.minimum(out, high, out=out)


def real_array(actions: Any, what: str) -> FloatArray:
    """``actions`` as a float64 array; bools, strings, complex and other objects refused.

    An ndarray is judged by its dtype (cheap); a list or tuple entry by entry, since numpy
    would turn ``[True, 0.5]`` into floats and ``["1", "0"]`` into strings silently.
    """
    if type(actions) is not np.ndarray:
        bad = _first_non_real(actions)
        if bad is not None:
            raise ValueError(
                f"{what} {actions!r} holds {bad!r} ({type(bad).__name__}); allowed: real "
                "numbers in [-1, 1] (not bools, strings or complex numbers)"
            )
    try:
        a = np.asarray(actions)
    except ValueError:  # ragged rows
        raise ValueError(
            f"{what} {actions!r} is not an array of one shape; allowed: real numbers in [-1, 1]"
        ) from None
    if a.dtype.kind not in "fiu":
        raise ValueError(
            f"{what} {actions!r} has dtype {a.dtype}; allowed: real numbers in [-1, 1] "
            "(not bools, strings or complex numbers)"
        )
    return a.astype(np.float64, copy=False)


def _first_non_real(value: Any) -> Any:
    """The first entry of a nested list/tuple (or the value) that is not a real number."""
    if isinstance(value, list | tuple):
        for v in value:
            bad = _first_non_real(v)
            if bad is not None:
                return bad
        return None
    if isinstance(value, np.ndarray):
        return None if value.dtype.kind in "fiu" else value
    return None if is_real(value) else value


def horizon_view(series: FloatArray, h: int) -> FloatArray:
    """Row ``t``: ``series[t], ..., series[t + h - 1]`` wrapping around the year (a view).

    ``series`` may be a table with one column per series, shape ``(steps, k)``; row ``t`` is
    then ``(k, h)``.
    """
    padded = np.concatenate([series, series[:h]])
    return np.lib.stride_tricks.sliding_window_view(padded, h, axis=0)
