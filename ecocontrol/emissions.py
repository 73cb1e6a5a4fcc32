"""Fuels, grid intensity, carbon price and the emission ledger shared by every plant.

Units: energy in GJ or MWh as named, emissions in tCO2, money in CNY.

Every plant reports, per step, tCO2 by source and CNY by cost term through one
:class:`EmissionLedger`. The ledger adds the carbon cost itself (carbon price times the
*priced* sources), so no plant computes carbon cost on its own. Biogenic CO2 is reported
under ``"biogenic"`` and never priced (IPCC 2006 Vol.2 Ch.2: biomass CO2 is reported as a
memo item, not in the energy-sector total).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ecocontrol.envs.jit import kernel
from ecocontrol.validation import require_finite_range as require_finite_range

#: Sources whose CO2 is priced. ``inventory``: the CO2 of the fuel that would restore (or
#: that was spent adding) heat a plant holds in storage at an episode's end against its start,
#: booked with the cost term of the same name, so a controller cannot look cleaner by emptying
#: a store (the hot stoves' checkers, issue 17).
PRICED_SOURCES: tuple[str, ...] = ("fuel", "process", "grid", "inventory")
#: Every emission source the ledger knows; ``biogenic`` is reported apart and not priced.
EMISSION_SOURCES: tuple[str, ...] = (*PRICED_SOURCES, "biogenic")
_SOURCE_SET = frozenset(EMISSION_SOURCES)
# _price_kernel spells them out (rows 0-3 of EMISSION_SOURCES; biogenic is row 4):
assert PRICED_SOURCES == ("fuel", "process", "grid", "inventory")
_ALL_SOURCES = np.arange(len(EMISSION_SOURCES), dtype=np.int64)
FloatArray = NDArray[np.float64]


@kernel
def _price_kernel(
    em_rows: FloatArray,
    sources: NDArray[np.int64],
    co_rows: FloatArray,
    carbon_price: float,
    em: FloatArray,
    co: FloatArray,
) -> bool:
    """Fill ``em`` (sources, then total) and ``co`` (terms, carbon, total); all finite?"""
    n = co.shape[1]
    m = co.shape[0] - 2
    em[:] = 0.0
    ok = True
    for k in range(len(sources)):
        em[sources[k]] = em_rows[k]
    for i in range(n):
        priced = 0.0 + em[0, i] + em[1, i] + em[2, i] + em[3, i]
        em[5, i] = priced
        carbon = carbon_price * priced
        total = 0.0
        for k in range(m):
            co[k, i] = co_rows[k, i]
            total += co_rows[k, i]
        co[m, i] = carbon
        total += carbon
        co[m + 1, i] = total
        ok = ok and np.isfinite(total + em[4, i])
    return ok


#: China national ETS, default carbon price [CNY/tCO2]; 2024 average 95.96, Sep 2025 62.94 (ICAP).
DEFAULT_CARBON_PRICE_CNY_PER_T = 80.0
#: China national average grid emission factor 2023 [kgCO2/kWh] = [tCO2/MWh] (MEE/NBS, 2024).
DEFAULT_GRID_FACTOR_T_PER_MWH = 0.5306

GJ_PER_MWH = 3.6


def _require(cond: bool, field_name: str, value: object, allowed: str) -> None:
    """Raise a ValueError naming the field, its value and the allowed range."""
    if not cond:
        raise ValueError(f"{field_name}={value!r} is out of range; allowed: {allowed}")


@dataclass(frozen=True)
class Fuel:
    """A fuel with its net calorific value and CO2 factor.

    Attributes:
        name: short name.
        lhv_mj_per_unit: net calorific value [MJ per ``unit``].
        unit: ``"kg"`` or ``"Nm3"``.
        co2_kg_per_tj: CO2 emission factor on net calorific value of the fossil part
            [kgCO2/TJ] (the whole fuel when ``biogenic_share`` is 0).
        biogenic_share: share of the energy from biomass (its CO2 is biogenic: reported,
            not priced) [-].
        source: where the numbers come from.
        biogenic_co2_kg_per_tj: CO2 factor of the biomass part [kgCO2/TJ]; ``None``: the
            same as ``co2_kg_per_tj``. A mixed fuel (RDF) has a fossil part and a biomass
            part, each at its own IPCC factor.
    """

    name: str
    lhv_mj_per_unit: float
    unit: str
    co2_kg_per_tj: float
    biogenic_share: float = 0.0
    source: str = ""
    biogenic_co2_kg_per_tj: float | None = None

    def __post_init__(self) -> None:
        require_finite_range(
            f"Fuel({self.name}).lhv_mj_per_unit", self.lhv_mj_per_unit, 0.0, low_inclusive=False
        )
        require_finite_range(f"Fuel({self.name}).co2_kg_per_tj", self.co2_kg_per_tj, 0.0)
        require_finite_range(f"Fuel({self.name}).biogenic_share", self.biogenic_share, 0.0, 1.0)
        if self.biogenic_co2_kg_per_tj is not None:
            require_finite_range(
                f"Fuel({self.name}).biogenic_co2_kg_per_tj", self.biogenic_co2_kg_per_tj, 0.0
            )
        _require(self.unit in ("kg", "Nm3"), f"Fuel({self.name}).unit", self.unit, "'kg' or 'Nm3'")

    def co2_parts_t_per_gj(self, biogenic_share: float | None = None) -> tuple[float, float]:
        """(fossil, biogenic) CO2 per GJ [tCO2/GJ] at ``biogenic_share`` (default: own)."""
        share = self.biogenic_share if biogenic_share is None else float(biogenic_share)
        bio = (
            self.co2_kg_per_tj
            if self.biogenic_co2_kg_per_tj is None
            else (self.biogenic_co2_kg_per_tj)
        )
        return (1.0 - share) * self.co2_kg_per_tj * 1e-6, share * bio * 1e-6

    @property
    def co2_t_per_gj(self) -> float:
        """Total (fossil + biogenic) CO2 per GJ of net calorific value [tCO2/GJ]."""
        fossil, bio = self.co2_parts_t_per_gj()
        return fossil + bio

    def energy_gj(self, quantity: ArrayLike) -> NDArray[np.float64]:
        """Net calorific energy [GJ] of ``quantity`` units of fuel."""
        return np.asarray(quantity, dtype=np.float64) * self.lhv_mj_per_unit * 1e-3

    def co2_t(self, energy_gj: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Split the CO2 of burning ``energy_gj`` into (fossil, biogenic) tCO2."""
        e = np.asarray(energy_gj, dtype=np.float64)
        fossil, bio = self.co2_parts_t_per_gj()
        return e * fossil, e * bio


_IPCC = "IPCC 2006 Vol.2 Ch.2 Table 2.2 (CO2 factor)"

#: Standard fuels. CO2 factors from IPCC 2006 (default, on net calorific value).
FUELS: dict[str, Fuel] = {
    f.name: f
    for f in (
        Fuel(
            "bfg",
            3.3,
            "Nm3",
            260_000.0,
            0.0,
            f"{_IPCC}; LHV 3.0-4.6 MJ/Nm3 typical blast-furnace gas",
        ),
        Fuel(
            "cog",
            17.9,
            "Nm3",
            44_400.0,
            0.0,
            f"{_IPCC}; LHV: China steel GHG accounting guideline default",
        ),
        Fuel("bofg", 7.5, "Nm3", 182_000.0, 0.0, f"{_IPCC}; LHV typical converter gas"),
        Fuel(
            "natural_gas",
            38.9,
            "Nm3",
            56_100.0,
            0.0,
            f"{_IPCC}; LHV: China GHG accounting guideline default 389.31 GJ/10^4 Nm3",
        ),
        Fuel("coal", 26.0, "kg", 94_600.0, 0.0, f"{_IPCC} (other bituminous coal)"),
        Fuel("petcoke", 32.5, "kg", 97_500.0, 0.0, f"{_IPCC}; LHV IPCC default 32.5 TJ/Gg"),
        Fuel(
            "rdf",
            15.0,
            "kg",
            91_700.0,
            0.5,
            f"{_IPCC}: municipal waste, non-biomass part 91,700 and biomass part 100,000 "
            "kg/TJ; biogenic energy share assumed 0.5",
            100_000.0,
        ),
        Fuel("biomass", 15.6, "kg", 112_000.0, 1.0, f"{_IPCC} (wood/wood waste)"),
    )
}


def get_fuel(name: str) -> Fuel:
    """Look up a standard fuel by name, with a clear error for unknown names."""
    if name not in FUELS:
        raise ValueError(f"fuel={name!r} is unknown; allowed: {sorted(FUELS)}")
    return FUELS[name]


@dataclass(frozen=True)
class GridIntensity:
    """Grid CO2 intensity: a constant or an hourly profile around a mean.

    Attributes:
        mean_t_per_mwh: annual average emission factor [tCO2/MWh] (= kgCO2/kWh).
            Default 0.5306, China national average 2023 (MEE/NBS).
        daily_shape: optional 24 multipliers by hour of day (normalised to mean 1 on use).
            No official hourly series exists for China: any shape is synthetic.
    """

    mean_t_per_mwh: float = DEFAULT_GRID_FACTOR_T_PER_MWH
    daily_shape: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        require_finite_range("GridIntensity.mean_t_per_mwh", self.mean_t_per_mwh, 0.0, 2.0)
        if self.daily_shape is not None:
            _require(
                len(self.daily_shape) == 24,
                "GridIntensity.daily_shape",
                len(self.daily_shape),
                "24 hourly multipliers",
            )
            for i, v in enumerate(self.daily_shape):
                require_finite_range(f"GridIntensity.daily_shape[{i}]", v, 0.0)
            _require(
                sum(self.daily_shape) > 0,
                "GridIntensity.daily_shape",
                self.daily_shape,
                "multipliers with a positive sum",
            )

    def at_hours(self, hour_of_day: ArrayLike) -> NDArray[np.float64]:
        """Intensity [tCO2/MWh] at each (fractional) hour of day."""
        h = np.asarray(hour_of_day, dtype=np.float64)
        if self.daily_shape is None:
            return np.full(h.shape, self.mean_t_per_mwh)
        shape = np.asarray(self.daily_shape, dtype=np.float64)
        shape = shape / shape.mean()
        idx = np.floor(h).astype(np.int64) % 24
        return self.mean_t_per_mwh * shape[idx]


def synthetic_china_grid_shape(amplitude: float = 0.12) -> tuple[float, ...]:
    """SYNTHETIC hourly intensity shape: higher at night (coal at the margin), lower at noon (PV).

    A cosine with its minimum at 13:00; mean 1. Not an official series (none exists for China).
    """
    require_finite_range("amplitude", amplitude, 0.0, 0.9)
    h = np.arange(24, dtype=np.float64)
    return tuple(float(x) for x in 1.0 - amplitude * np.cos(2 * np.pi * (h - 13.0) / 24.0))


@dataclass
class StepAccount:
    """One step's emissions [tCO2 by source] and costs [CNY by term], each with a ``total``."""

    emissions: dict[str, float]
    costs: dict[str, float]


@dataclass
class EmissionLedger:
    """Accumulates emissions and costs step by step; adds the carbon cost term.

    ``record`` takes the plant's physical emissions by source and its non-carbon cost terms,
    prices the priced sources at ``carbon_price_cny_per_t``, and returns the step's account
    with totals. ``totals()`` returns the sums over all recorded steps.
    """

    carbon_price_cny_per_t: float = DEFAULT_CARBON_PRICE_CNY_PER_T
    cost_terms: tuple[str, ...] = ("energy", "fuel", "degradation", "penalty")
    _emissions: dict[str, float] = field(default_factory=dict, repr=False)
    _costs: dict[str, float] = field(default_factory=dict, repr=False)
    n_steps: int = 0

    def __post_init__(self) -> None:
        require_finite_range("carbon_price_cny_per_t", self.carbon_price_cny_per_t, 0.0, 10_000.0)
        self._cost_set = frozenset(self.cost_terms)
        _require(
            "carbon" not in self.cost_terms and "total" not in self.cost_terms,
            "EmissionLedger.cost_terms",
            self.cost_terms,
            "names other than 'carbon' and 'total' (the ledger adds those)",
        )
        self.reset()

    def reset(self) -> None:
        """Forget all recorded steps."""
        self._emissions = dict.fromkeys(EMISSION_SOURCES, 0.0)
        self._costs = dict.fromkeys((*self.cost_terms, "carbon"), 0.0)
        self.n_steps = 0

    def carbon_cost(self, emissions: Mapping[str, float]) -> float:
        """Carbon cost [CNY] of the priced sources in ``emissions``."""
        return self.carbon_price_cny_per_t * sum(
            float(emissions.get(s, 0.0)) for s in PRICED_SOURCES
        )

    def record(self, emissions: Mapping[str, float], costs: Mapping[str, float]) -> StepAccount:
        """Record one step.

        Args:
            emissions: tCO2 by source; keys from :data:`EMISSION_SOURCES`, missing ones are 0.
            costs: CNY by term; keys from ``cost_terms``, missing ones are 0. Must not contain
                ``carbon`` (the ledger computes it).

        Returns:
            The step's account, each dict with a ``total`` (emissions total excludes biogenic).
        """
        em, co = self.price(
            {s: float(v) for s, v in emissions.items()}, {t: float(v) for t, v in costs.items()}
        )
        for s in EMISSION_SOURCES:
            self._emissions[s] += em[s]
        for t in (*self.cost_terms, "carbon"):
            self._costs[t] += co[t]
        self.n_steps += 1
        return StepAccount(emissions=em, costs=co)

    def price(
        self, emissions: Mapping[str, Any], costs: Mapping[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """One step's complete accounts, for floats or for arrays over a batch of plants.

        Missing sources and terms are 0; adds the ``carbon`` cost and both ``total`` entries
        (the emissions total excludes biogenic CO2). Records nothing. Floats in give floats
        out, arrays give arrays. Prices through :meth:`price_rows`, the one pricing path of
        :meth:`record` and of every env.

        Raises:
            ValueError: for an unknown source or term (``carbon`` and ``total`` included).
            FloatingPointError: for a NaN or inf entry, naming it (and the batch member).
        """
        if not _SOURCE_SET.issuperset(emissions):
            unknown = sorted(set(emissions) - _SOURCE_SET)
            _require(False, "emissions", unknown, f"sources in {EMISSION_SOURCES}")
        if not self._cost_set.issuperset(costs):
            unknown = sorted(set(costs) - set(self.cost_terms))
            _require(False, "costs", unknown, f"terms in {self.cost_terms}")
        values = [*emissions.values(), *costs.values()]
        batch = max((np.ndim(v) for v in values), default=0) > 0
        shape = np.broadcast_shapes(*(np.shape(v) for v in values)) if batch else (1,)
        em_rows = np.zeros((len(EMISSION_SOURCES), *shape))
        for k, s in enumerate(EMISSION_SOURCES):
            if s in emissions:
                em_rows[k] = emissions[s]
        co_rows = np.zeros((len(self.cost_terms), *shape))
        for k, t in enumerate(self.cost_terms):
            if t in costs:
                co_rows[k] = costs[t]
        em_rows, co_rows = em_rows.reshape(len(em_rows), -1), co_rows.reshape(len(co_rows), -1)
        em, co = self.price_rows(em_rows, _ALL_SOURCES, co_rows, {**emissions, **costs})
        if batch:
            return (
                dict(zip(self.emission_names, em.reshape(len(em), *shape), strict=True)),
                dict(zip(self.cost_names, co.reshape(len(co), *shape), strict=True)),
            )
        return (
            dict(zip(self.emission_names, em[:, 0].tolist(), strict=True)),
            dict(zip(self.cost_names, co[:, 0].tolist(), strict=True)),
        )

    @property
    def emission_names(self) -> tuple[str, ...]:
        """Rows of :meth:`price_rows`'s emissions: :data:`EMISSION_SOURCES` and ``total``."""
        return (*EMISSION_SOURCES, "total")

    @property
    def cost_names(self) -> tuple[str, ...]:
        """Rows of :meth:`price_rows`'s costs: ``cost_terms``, ``carbon`` and ``total``."""
        return (*self.cost_terms, "carbon", "total")

    def price_rows(
        self,
        emissions: FloatArray,
        sources: NDArray[np.int64],
        costs: FloatArray,
        names: Mapping[str, Any] | None = None,
        out: tuple[FloatArray, FloatArray] | None = None,
    ) -> tuple[FloatArray, FloatArray]:
        """One step's accounts over a batch, as matrices (the envs' fast path).

        Args:
            emissions: tCO2, shape ``(len(sources), n)``: row ``k`` is source
                ``EMISSION_SOURCES[sources[k]]`` (each source at most once; missing ones 0).
            sources: indices into :data:`EMISSION_SOURCES`.
            costs: CNY, shape ``(len(cost_terms), n)`` in ``cost_terms`` order.
            names: the entries by name, only to name a non-finite one in the error.
            out: arrays to write the result into (shapes ``(6, n)`` and
                ``(len(cost_terms) + 2, n)``), else new ones.

        Returns:
            ``(emissions, costs)``: rows :attr:`emission_names` (the total excludes biogenic)
            and :attr:`cost_names` (``carbon`` = price x priced sources; ``total`` = the terms
            then carbon, added in that order).

        Raises:
            FloatingPointError: for a NaN or inf entry, naming it (and the batch member).
        """
        if out is None:
            n = costs.shape[1]
            out = np.empty((len(EMISSION_SOURCES) + 1, n)), np.empty((len(self.cost_terms) + 2, n))
        em, co = out
        if not _price_kernel(emissions, sources, costs, self.carbon_price_cny_per_t, em, co):
            entries = names or {
                **{EMISSION_SOURCES[j]: emissions[k] for k, j in enumerate(sources)},
                **dict(zip(self.cost_terms, costs, strict=True)),
            }
            for k, v in entries.items():
                finite = np.isfinite(v)
                if not np.all(finite):
                    where = "" if np.size(v) <= 1 else f" (member {int(np.argmin(finite))})"
                    raise FloatingPointError(f"ledger entry {k}={v} is not finite{where}")
            raise FloatingPointError("ledger: a priced total is not finite")
        return em, co

    def empty_account(self) -> StepAccount:
        """An account of zeros with every key a recorded step has."""
        return StepAccount(
            emissions=dict.fromkeys((*EMISSION_SOURCES, "total"), 0.0),
            costs=dict.fromkeys((*self.cost_terms, "carbon", "total"), 0.0),
        )

    def totals(self) -> StepAccount:
        """Sums over all recorded steps, each dict with a ``total``."""
        em = dict(self._emissions)
        co = dict(self._costs)
        em["total"] = sum(em[s] for s in PRICED_SOURCES)
        co["total"] = sum(co.values())
        return StepAccount(emissions=em, costs=co)
