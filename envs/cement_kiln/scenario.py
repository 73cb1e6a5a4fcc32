"""The kiln's exogenous series (SYNTHETIC by default) and its starting point.

* **Raw meal**: CaCO3 and inert oxides. Its CaCO3 share follows the lime saturation factor
  (LSF = CaO / (2.8 SiO2 + 1.18 Al2O3 + 0.65 Fe2O3), so CaCO3 / rest is proportional to LSF).
* Disturbances: the production plan (feed), raw-mix LSF drift, fuel heating values and the
  lab's error (:class:`KilnDisturbances`).
* The starting point: the nominal point scaled to the window's first feed rate
  (:func:`initial_state`).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from ..scenario import FloatArray
from .combustion import calciner_discharge
from .observation import lab_slots
from .params import CementKilnParams
from .physics import kiln_design
from .state import KilnState

#: Exogenous series, one value per step.
EXO_KEYS: tuple[str, ...] = ("feed", "lsf", "coal_lhv", "af_lhv", "lab_noise")


@dataclass(frozen=True)
class KilnDisturbances:
    """A year of exogenous series at the env step, SYNTHETIC (documented in the env card).

    * ``feed``: the production plan, raw-meal feed / nominal: levels held 3-10 h, drawn from
      0.90-1.04, with 20-min ramps between them; operators know it 60 min ahead.
    * ``lsf``: lime saturation factor, Ornstein-Uhlenbeck around ``lsf_ref`` (sd 2 points,
      correlation time 4 h): raw-mix drift a homogenising silo leaves (kiln-feed LSF sd of
      1-3 points is common).
    * ``coal_lhv``: coal heating value / nominal, OU (sd 2 %, 12 h).
    * ``af_lhv``: alternative-fuel heating value / nominal, OU (sd 8 %, 2 h): RDF moisture.
    * ``lab_noise``: lab free-lime error, normal (sd ``lab_error_pct``).
    """

    series: dict[str, FloatArray]

    def __post_init__(self) -> None:
        missing = set(EXO_KEYS) - set(self.series)
        if missing:
            raise ValueError(
                f"KilnDisturbances.series lacks {sorted(missing)}; allowed: {EXO_KEYS}"
            )
        limits = {
            "feed": (0.0, 2.0),
            "lsf": (70.0, 120.0),
            "coal_lhv": (0.0, 2.0),
            "af_lhv": (0.0, 2.0),
        }
        for key, (lo, hi) in limits.items():
            v = np.asarray(self.series[key], dtype=float)
            bad = ~np.isfinite(v) | (v <= lo) | (v > hi)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ValueError(
                    f"KilnDisturbances.series[{key!r}][{i}]={v[i]!r} is out of range; allowed: "
                    f"finite values in ({lo}, {hi}]"
                    + (
                        " (raw-meal feed / nominal; zero or negative feed is no kiln)"
                        if key == "feed"
                        else ""
                    )
                )

    @property
    def n_steps(self) -> int:
        """Steps of data."""
        return len(self.series["feed"])

    def window(self, start: int, n: int) -> dict[str, FloatArray]:
        """Series from ``start`` for ``n`` steps (the last value repeats past the year)."""
        idx = np.minimum(np.arange(start, start + n), self.n_steps - 1)
        return {k: v[idx] for k, v in self.series.items()}


def _ou(rng: np.random.Generator, n: int, mean: float, sd: float, tau_steps: float) -> FloatArray:
    a = math.exp(-1.0 / tau_steps)
    eps = rng.normal(0.0, sd * math.sqrt(1.0 - a * a), n)
    x = np.empty(n)
    x[0] = mean + rng.normal(0.0, sd)
    dev = x[0] - mean
    for i in range(1, n):
        dev = a * dev + eps[i]
        x[i] = mean + dev
    return x


@functools.lru_cache(maxsize=8)
def synthetic_disturbances(p: CementKilnParams, dt_min: float, seed: int) -> KilnDisturbances:
    """A year of SYNTHETIC disturbances at ``dt_min`` (see :class:`KilnDisturbances`)."""
    n = round(365 * 1440 / dt_min)
    rng = np.random.default_rng(seed)
    per_h = 60.0 / dt_min
    feed = np.empty(n)
    i, level = 0, 1.0
    ramp = max(1, round(20.0 / dt_min))
    while i < n:
        hold = round(rng.uniform(3.0, 10.0) * per_h)
        new = float(rng.uniform(0.90, 1.04))
        r = np.linspace(level, new, ramp + 1)[1:]
        seg = np.concatenate([r, np.full(max(hold - ramp, 0), new)])[: n - i]
        feed[i : i + len(seg)] = seg
        i += len(seg)
        level = new
    lsf = _ou(rng, n, p.lsf_ref, 2.0, 4.0 * per_h)
    coal = _ou(rng, n, 1.0, 0.02, 12.0 * per_h)
    af = np.clip(_ou(rng, n, 1.0, 0.08, 2.0 * per_h), 0.6, 1.4)
    noise = rng.normal(0.0, p.lab_error_pct, n)
    return KilnDisturbances(
        {"feed": feed, "lsf": lsf, "coal_lhv": coal, "af_lhv": af, "lab_noise": noise}
    )


def nominal_action(p: CementKilnParams, feed: float = 1.0, af_share: float = 0.0) -> FloatArray:
    """Physical action of the nominal point scaled to ``feed`` (kiln, calciner, AF, fan)."""
    d = kiln_design(p)
    return np.array([d.kiln_heat_mw * feed, d.calciner_heat_mw * feed, af_share, 1.0])


def initial_state(p: CementKilnParams, dt_min: float, feed: float, lsf: float) -> KilnState:
    """The nominal point at ``feed`` and ``lsf``: pipeline full of nominal material."""
    n = max(1, round(p.dead_time_min / dt_min))
    meal = feed * p.meal_kg_s
    caco3 = meal * float(p.caco3_share(lsf))
    a = float(p.calcination(p.calciner_nominal_c)[0])
    solids, caco3_left, temp, clinker = calciner_discharge(meal, caco3, a, p.calciner_nominal_c)
    row = lambda v: np.full((1, n), float(v))  # noqa: E731
    fl = float(p.free_lime_eq(p.bz_nominal_c, lsf))
    return KilnState(
        bz_c=np.array([p.bz_nominal_c]),
        calciner_c=np.array([p.calciner_nominal_c]),
        free_lime_pct=np.array([fl]),
        pipe_solids=row(solids),
        pipe_caco3=row(caco3_left),
        pipe_temp=row(temp),
        pipe_clinker=row(clinker),
        pipe_lsf=row(lsf),
        lab_pending_pct=np.full((1, lab_slots(p)), fl),
        lab_pending_left_min=np.full((1, lab_slots(p)), np.inf),
        lab_last_pct=np.array([fl]),
        lab_age_min=np.array([0.0]),
        last_action=nominal_action(p, feed)[None, :],
        feed_on=np.ones(1),
    )
