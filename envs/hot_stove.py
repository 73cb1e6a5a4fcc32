"""Blast-furnace hot stoves (Cowper regenerators): parameters, physics, demand, env.

Three layers, as every ecocontrol plant:

1. :class:`HotStoveParams` (frozen, validated, every default with its source) and the pure,
   batched physics :func:`hot_stove_step` over arrays ``(batch, stove, cell)``.
2. Emissions and costs of a step (:func:`hot_stove_accounts`) for the shared ledger.
3. :class:`HotStoveEnv`, the Gymnasium env (``ecocontrol/HotStove-v0``).

Physics of one stove
--------------------
The checker is a 1-D regenerator of ``n_cells`` axial cells (cell 0 at the dome, the last
at the waste-gas/cold-blast end). The solid is transient (one temperature per cell, explicit
update); the gas is quasi-steady: within a cell it approaches the solid temperature as
``T_out = T_s + (T_in - T_s) exp(-NTU)`` with ``NTU = UA_cell / (V cp)`` (Hausen/Willmott
single-blow cell), and the heat the solid takes is the gas enthalpy drop, so every cell's
energy balance closes exactly. The flow reverses between periods: on gas the flue gas enters
at the dome and leaves at the bottom as waste gas; on blast the cold blast enters at the
bottom and leaves at the dome. Heat-transfer coefficients scale with flow^0.8 (turbulent
convection, Dittus-Boelter). Shell losses leave every cell in proportion to its temperature
above ambient.

Combustion: lean blast-furnace gas enriched with coke-oven gas (or natural gas), with
``share`` = the rich gas's share of the fuel heat, at a fixed air ratio; the dome (flame)
temperature follows from the flue-gas enthalpy (:mod:`ecocontrol.envs.thermo`), after a
combustion-chamber loss. Modes: on gas, on blast, changeover to blast, changeover to gas
(``changeover_min`` each, no flow). A cold-blast mixing valve bypasses part of the blast so
that the hot blast meets its set point while the stoves' outlet is hotter than it.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray

from ecocontrol.emissions import (
    DEFAULT_CARBON_PRICE_CNY_PER_T,
    get_fuel,
    require_finite_range,
)

from .base import (
    ActionScaler,
    EcoEnv,
    FloatArray,
    ForecastErrorModel,
    PlantStep,
    ScenarioWindows,
    episode_forecast_errors,
)
from .thermo import AIR, FlueGas, FuelGas, lookup
from .vector import BatchedEcoEnv, BatchForecastErrors, horizon_view

#: Stove modes.
GAS, BLAST, TO_BLAST, TO_GAS = 0, 1, 2, 3
MODE_NAMES: tuple[str, ...] = ("on_gas", "on_blast", "to_blast", "to_gas")

MINUTES_PER_YEAR = 365 * 24 * 60

#: Fuel gases by composition [vol %].
FUEL_GASES: dict[str, FuelGas] = {
    g.name: g
    for g in (
        FuelGas(
            "bfg",
            (("CO", 23.0), ("CO2", 21.0), ("H2", 3.5), ("N2", 52.5)),
            "typical blast-furnace gas (REFERENCES.md: LHV 3.0-4.6 MJ/Nm3; 22 % CO, 22 % CO2 "
            "at 3.1 MJ/Nm3); gives 3.28 MJ/Nm3",
        ),
        FuelGas(
            "cog",
            (("H2", 56.0), ("CH4", 26.0), ("CO", 7.0), ("C2H4", 3.0), ("CO2", 2.0), ("N2", 6.0)),
            "typical coke-oven gas; gives 18.0 MJ/Nm3 (China steel GHG guideline 17.9)",
        ),
        FuelGas(
            "natural_gas",
            (("CH4", 96.0), ("C2H6", 2.0), ("N2", 1.0), ("CO2", 1.0)),
            "pipeline natural gas, 35.6 MJ/Nm3",
        ),
    )
}


@dataclass(frozen=True)
class HotStoveParams:
    """Hot-stove system parameters (per stove unless named otherwise).

    Raises ``ValueError`` naming the field and the allowed range on construction.
    """

    # --- stoves and checker -------------------------------------------------------------
    n_stoves: int = 4
    """3-4 stoves per blast furnace (REFERENCES.md)."""
    n_cells: int = 12
    """Axial cells of the 1-D regenerator (REFERENCES.md: 10-30; Hausen/Willmott 2002)."""
    checker_mass_t: float = 2000.0
    """Checker mass per stove [t]; about 1,000 t per large stove (REFERENCES.md), sized here
    for a 3,500 Nm3/min furnace with 60-min blast periods."""
    checker_cp_kj_per_kg_k: float = 1.1
    """Refractory specific heat (REFERENCES.md: 1.0-1.2 kJ/kg K)."""
    ua_blast_mw_per_k: float = 2.0
    """Checker heat-transfer conductance on blast at full blast flow [MW/K]: about
    55,000 m2 of heating surface x 36 W/m2 K (assumed; pressurised blast, convection plus
    gas radiation in the upper checker)."""
    ua_gas_mw_per_k: float = 1.35
    """Conductance on gas at ``firing_max_mw`` [MW/K]: same surface, about 25 W/m2 K at the
    lower flue-gas mass flow (assumed)."""
    ua_flow_exponent: float = 0.8
    """Convective conductance ~ flow^0.8 (Dittus-Boelter)."""
    shell_loss_kw_per_k: float = 1.2
    """Shell and foundation losses per K of mean checker temperature above ambient [kW/K];
    about 1 MW per stove, 1-2 % of the heat input (assumed)."""
    ambient_c: float = 25.0

    # --- combustion ---------------------------------------------------------------------
    rich_fuel: str = "cog"
    """Enrichment gas: ``"cog"`` or ``"natural_gas"``."""
    air_ratio: float = 1.05
    """Combustion air ratio lambda (typical stove burner setting, assumed)."""
    chamber_loss: float = 0.03
    """Share of the fuel heat lost by the combustion chamber and dome walls (assumed); sets
    the dome 30-40 K below the adiabatic flame."""
    firing_max_mw: float = 60.0
    """Largest fuel heat input per stove [MW, LHV]: about 65,000 Nm3/h of BFG (assumed)."""
    share_max: float = 1.0
    """Largest enrichment share the burner accepts [-]; the dome limit usually binds first."""

    # --- limits and set point -----------------------------------------------------------
    dome_temp_max_c: float = 1420.0
    """Silica dome limit (REFERENCES.md: 1,350-1,420 degC)."""
    waste_gas_max_c: float = 400.0
    """Waste-gas limit protecting the checker supports (REFERENCES.md: 350-450 degC)."""
    hot_blast_setpoint_c: float = 1200.0
    """Nominal hot-blast set point (ArcelorMittal best practice CTO-BF-BP-018)."""
    cold_blast_c: float = 150.0
    """Cold blast after the turbo-blower (compression heat; assumed)."""
    blast_flow_nm3_min: float = 3500.0
    """Nominal blast [Nm3/min]: about 4,600 tHM/d at 1,100 Nm3/tHM (a ~2,500 m3 furnace)."""
    blast_per_thm_nm3: float = 1100.0
    """Blast volume per tonne hot metal (REFERENCES.md: 1,000-1,200 Nm3/tHM)."""

    # --- modes --------------------------------------------------------------------------
    changeover_min: float = 10.0
    """Valve time of a changeover, each way (REFERENCES.md: about 10 min)."""
    min_blast_min: float = 30.0
    """Minimum time on blast before a changeover is accepted (operating practice, assumed)."""
    min_gas_min: float = 30.0
    """Minimum time on gas before a changeover is accepted (operating practice, assumed)."""

    # --- prices and penalties -----------------------------------------------------------
    lean_price_cny_per_gj: float = 15.0
    """BFG internal transfer price (assumed, about 0.05 CNY/Nm3: a by-product gas)."""
    rich_price_cny_per_gj: float = 45.0
    """COG internal transfer price (assumed, about 0.8 CNY/Nm3, its value in other uses)."""
    coke_rate_kg_per_thm_k: float = 0.15
    """Coke saved per K of hot blast: rule of thumb 15 kg/tHM per 100 K (assumed)."""
    coke_price_cny_per_t: float = 2000.0
    """Metallurgical coke, China 2024 (assumed)."""
    coke_co2_t_per_t: float = 3.017
    """IPCC 2006 coke-oven coke: 107,000 kgCO2/TJ x 28.2 GJ/t."""
    shortfall_penalty_cny_per_k_min: float = 2.0
    """Extra penalty per K below the set point per minute (policy, not physics)."""
    refused_request_penalty_cny: float = 10.0
    """Penalty per changeover request the safety layer refuses (policy)."""
    waste_gas_penalty_cny_per_k_min: float = 10.0
    """Penalty per K above the waste-gas limit per minute (policy)."""
    deficit_efficiency: float = 0.70
    """Storage efficiency that prices checker heat missing at the end of an episode against
    the start (cost term ``inventory``): the marginal share of lean-gas heat stored when
    topping a stove up near its waste-gas limit (0.70 measured on this model over the last
    20 min of a full-rate lean charge), i.e. what refilling would cost the next shift."""
    surplus_efficiency: float = 0.80
    """Storage efficiency that credits checker heat added over the episode: the share stored
    at the start of a charge (0.80 measured on the first quarter of a lean charge). Deficit
    and surplus are priced apart so that no controller gains by emptying (or filling) the
    stoves at the episode's end."""

    def __post_init__(self) -> None:
        r = require_finite_range
        n = "HotStoveParams."
        for f in ("n_stoves", "n_cells"):
            v = getattr(self, f)
            if isinstance(v, bool) or not isinstance(v, int | np.integer):
                raise ValueError(f"{n}{f}={v!r}; allowed: an int")
        r(n + "n_stoves", self.n_stoves, 2, 6)
        r(n + "n_cells", self.n_cells, 10, 100)
        r(n + "checker_mass_t", self.checker_mass_t, 10.0, 10_000.0)
        r(n + "checker_cp_kj_per_kg_k", self.checker_cp_kj_per_kg_k, 0.5, 2.0)
        r(n + "ua_blast_mw_per_k", self.ua_blast_mw_per_k, 0.0, 100.0, low_inclusive=False)
        r(n + "ua_gas_mw_per_k", self.ua_gas_mw_per_k, 0.0, 100.0, low_inclusive=False)
        r(n + "ua_flow_exponent", self.ua_flow_exponent, 0.0, 1.0)
        r(n + "shell_loss_kw_per_k", self.shell_loss_kw_per_k, 0.0, 100.0)
        r(n + "ambient_c", self.ambient_c, -40.0, 50.0)
        if self.rich_fuel not in ("cog", "natural_gas"):
            raise ValueError(f"{n}rich_fuel={self.rich_fuel!r}; allowed: 'cog' or 'natural_gas'")
        r(n + "air_ratio", self.air_ratio, 1.0, 2.0)
        r(n + "chamber_loss", self.chamber_loss, 0.0, 0.3)
        r(n + "firing_max_mw", self.firing_max_mw, 0.0, 1000.0, low_inclusive=False)
        r(n + "share_max", self.share_max, 0.0, 1.0)
        r(n + "cold_blast_c", self.cold_blast_c, 0.0, 400.0)
        r(
            n + "hot_blast_setpoint_c",
            self.hot_blast_setpoint_c,
            self.cold_blast_c,
            1400.0,
            low_inclusive=False,
        )
        r(
            n + "waste_gas_max_c",
            self.waste_gas_max_c,
            self.cold_blast_c,
            600.0,
            low_inclusive=False,
        )
        r(
            n + "dome_temp_max_c",
            self.dome_temp_max_c,
            self.hot_blast_setpoint_c,
            1600.0,
            low_inclusive=False,
        )
        r(n + "blast_flow_nm3_min", self.blast_flow_nm3_min, 1.0, 20_000.0)
        r(n + "blast_per_thm_nm3", self.blast_per_thm_nm3, 500.0, 2000.0)
        r(n + "changeover_min", self.changeover_min, 1.0, 60.0)
        r(n + "min_blast_min", self.min_blast_min, 0.0, 600.0)
        r(n + "min_gas_min", self.min_gas_min, 0.0, 600.0)
        for f in (
            "lean_price_cny_per_gj",
            "rich_price_cny_per_gj",
            "coke_rate_kg_per_thm_k",
            "coke_price_cny_per_t",
            "coke_co2_t_per_t",
            "shortfall_penalty_cny_per_k_min",
            "refused_request_penalty_cny",
            "waste_gas_penalty_cny_per_k_min",
        ):
            r(n + f, getattr(self, f), 0.0, 1e6)
        r(n + "deficit_efficiency", self.deficit_efficiency, 0.1, 1.0)
        r(n + "surplus_efficiency", self.surplus_efficiency, self.deficit_efficiency, 1.0)
        if self.flue.flame_temperature(0.0, 1.0 - self.chamber_loss) >= self.dome_temp_max_c:
            raise ValueError(
                f"{n}dome_temp_max_c={self.dome_temp_max_c} is below the lean-gas flame "
                f"({float(self.flue.flame_temperature(0.0, 1 - self.chamber_loss)):.0f} degC); "
                "allowed: above it"
            )

    # --- derived ------------------------------------------------------------------------
    @property
    def lean(self) -> FuelGas:
        """The lean fuel gas (blast-furnace gas)."""
        return FUEL_GASES["bfg"]

    @property
    def rich(self) -> FuelGas:
        """The enrichment gas."""
        return FUEL_GASES[self.rich_fuel]

    @property
    def flue(self) -> FlueGas:
        """Flue gas of the lean/rich blend at ``air_ratio``."""
        return _flue(self.rich_fuel, self.air_ratio)

    @property
    def heat_retained(self) -> float:
        """Share of the fuel heat that reaches the dome in the flue gas."""
        return 1.0 - self.chamber_loss

    @property
    def share_dome_max(self) -> float:
        """Largest enrichment share whose dome stays within ``dome_temp_max_c``."""
        return min(self.share_max, _share_for(self, self.dome_temp_max_c))

    def share_for_dome(self, dome_c: float) -> float:
        """Enrichment share that gives a dome temperature ``dome_c`` (within the limits)."""
        return min(self.share_dome_max, _share_for(self, dome_c))

    @property
    def cell_capacity_mj_per_k(self) -> float:
        """Heat capacity of one checker cell [MJ/K]."""
        return self.checker_mass_t * self.checker_cp_kj_per_kg_k / self.n_cells

    @property
    def lean_co2_t_per_gj(self) -> float:
        """CO2 of the lean gas [t/GJ] (IPCC factor through the shared fuel table)."""
        return get_fuel("bfg").co2_t_per_gj

    @property
    def rich_co2_t_per_gj(self) -> float:
        """CO2 of the enrichment gas [t/GJ]."""
        return get_fuel(self.rich_fuel).co2_t_per_gj


@functools.cache
def _flue(rich_fuel: str, air_ratio: float) -> FlueGas:
    return FlueGas(FUEL_GASES["bfg"], FUEL_GASES[rich_fuel], air_ratio)


def _share_for(p: HotStoveParams, dome_c: float) -> float:
    return p.flue.max_share(dome_c, p.heat_retained)


# ----------------------------------------------------------------------------- demand
@dataclass(frozen=True)
class BlastDemand:
    """Hot-blast demand at the env step over a year: flow [Nm3/min] and set point [degC]."""

    dt_min: float
    flow_nm3_min: FloatArray
    setpoint_c: FloatArray

    @property
    def n_steps(self) -> int:
        """Steps in the year."""
        return len(self.flow_nm3_min)

    def window(self, start: int, n: int) -> dict[str, FloatArray]:
        """Series for steps ``start .. start+n-1`` (wrapping around the year)."""
        idx = (start + np.arange(n)) % self.n_steps
        return {"flow_nm3_min": self.flow_nm3_min[idx], "setpoint_c": self.setpoint_c[idx]}


def synthetic_blast_demand(p: HotStoveParams, dt_min: float, seed: int = 2024) -> BlastDemand:
    """SYNTHETIC hot-blast demand of one year, reproducible from ``seed``.

    * Flow: nominal x (1 + AR(1) fluctuation, 30-min correlation time, 1.5 % std), with blast
      reductions (casthouse or tuyere work, burden problems) arriving as a Poisson process,
      one per 48 h on average, lasting 30-120 min at 60-85 % of nominal.
    * Set point: the furnace operator moves it for the furnace's thermal state; segments of
      1-12 h (exponential, mean 6 h) at nominal + one of -30, -20, -10, 0, 0, +10, +20 K.
    """
    rng = np.random.default_rng(seed)
    n = MINUTES_PER_YEAR
    phi = math.exp(-1.0 / 30.0)
    eps = rng.normal(0.0, 0.015 * math.sqrt(1.0 - phi**2), n)
    ar = np.empty(n)
    acc = 0.0
    for i in range(n):  # a plain loop once per year and seed (cached)
        acc = phi * acc + eps[i]
        ar[i] = acc
    level = np.ones(n)
    t = 0.0
    while True:
        t += rng.exponential(48 * 60.0)
        if t >= n:
            break
        dur = rng.uniform(30.0, 120.0)
        level[int(t) : int(t + dur)] = rng.uniform(0.60, 0.85)
    flow = p.blast_flow_nm3_min * level * (1.0 + ar)
    setpoint = np.empty(n)
    t0 = 0
    offsets = np.array([-30.0, -20.0, -10.0, 0.0, 0.0, 10.0, 20.0])
    while t0 < n:
        dur = int(np.clip(rng.exponential(6 * 60.0), 60.0, 12 * 60.0))
        setpoint[t0 : t0 + dur] = p.hot_blast_setpoint_c + rng.choice(offsets)
        t0 += dur
    k = round(dt_min)
    m = n // k
    return BlastDemand(
        dt_min=float(dt_min),
        flow_nm3_min=flow[: m * k].reshape(m, k).mean(axis=1),
        setpoint_c=setpoint[: m * k].reshape(m, k).mean(axis=1),
    )


@functools.lru_cache(maxsize=8)
def _cached_demand(p: HotStoveParams, dt_min: float, seed: int) -> BlastDemand:
    return synthetic_blast_demand(p, dt_min, seed)


# ----------------------------------------------------------------------------- physics
@dataclass
class StoveState:
    """State of a batch of stove systems: arrays ``(batch, stove[, cell])``.

    Attributes:
        temp_c: checker temperatures [degC], cell 0 at the dome.
        mode: :data:`GAS`, :data:`BLAST`, :data:`TO_BLAST` or :data:`TO_GAS`.
        time_in_mode_min: minutes since the stove entered its mode.
        waste_gas_c: last waste-gas temperature [degC] (bottom cell when not firing).
        outlet_c: last outlet (dome-end) blast temperature [degC] (top cell when idle).
        stove_fraction: last mixing-valve setting, the blast share through the stoves.
    """

    temp_c: FloatArray
    mode: NDArray[np.int64]
    time_in_mode_min: FloatArray
    waste_gas_c: FloatArray
    outlet_c: FloatArray
    stove_fraction: FloatArray

    def copy(self) -> StoveState:
        """A deep copy."""
        return StoveState(*(np.array(getattr(self, f)) for f in self.__dataclass_fields__))

    def stored_mj(self, p: HotStoveParams) -> FloatArray:
        """Heat in each stove's checker above ambient [MJ], shape ``(batch, stove)``."""
        return p.cell_capacity_mj_per_k * (self.temp_c - p.ambient_c).sum(axis=-1)


@dataclass
class StoveFlows:
    """What happened in one step; per stove ``(batch, stove)`` unless noted. Energies in MJ."""

    firing_mw: FloatArray
    share: FloatArray
    dome_c: FloatArray
    released_mj: FloatArray
    chamber_loss_mj: FloatArray
    waste_gas_loss_mj: FloatArray
    delivered_mj: FloatArray
    shell_loss_mj: FloatArray
    stored_change_mj: FloatArray
    blast_nm3: FloatArray
    hot_blast_c: FloatArray  # (batch,)
    shortfall_k: FloatArray  # (batch,)
    stove_fraction: FloatArray  # (batch,) blast share through the stoves (rest bypassed)
    refused_requests: FloatArray  # (batch,)
    firing_cut_mw: FloatArray  # (batch,) firing the waste-gas interlock removed
    share_cut: FloatArray  # (batch,) enrichment share the dome limit removed (sum)
    waste_gas_excess_k: FloatArray  # (batch,) K above the waste-gas limit (sum over stoves)


def apply_changeovers(
    state: StoveState, request: NDArray[np.bool_], p: HotStoveParams
) -> tuple[NDArray[np.int64], FloatArray, FloatArray]:
    """The safety layer: accept or refuse changeover requests.

    A request is accepted for a stove on gas after ``min_gas_min``, and for a stove on blast
    after ``min_blast_min`` if another stove stays on blast (requests are taken in stove
    order, so two stoves cannot leave blast together). Requests for stoves already changing
    over are ignored. Every other request is refused and counted.

    Returns:
        New modes, new times in mode, refused requests per batch row.
    """
    mode = state.mode.copy()
    tim = state.time_in_mode_min.copy()
    refused = np.zeros(mode.shape[0])
    eps = 1e-9
    for s in range(mode.shape[1]):
        req = request[:, s]
        on_gas = mode[:, s] == GAS
        on_blast = mode[:, s] == BLAST
        others = (mode == BLAST).sum(axis=1) - on_blast >= 1
        go_blast = req & on_gas & (tim[:, s] >= p.min_gas_min - eps)
        go_gas = req & on_blast & (tim[:, s] >= p.min_blast_min - eps) & others
        refused += (req & (on_gas | on_blast) & ~go_blast & ~go_gas).astype(np.float64)
        mode[:, s] = np.where(go_blast, TO_BLAST, np.where(go_gas, TO_GAS, mode[:, s]))
        tim[:, s] = np.where(go_blast | go_gas, 0.0, tim[:, s])
    return mode, tim, refused


def _sweep(
    temp: FloatArray,
    t_in: FloatArray,
    flow: FloatArray,
    ua_cell_kw_per_k: FloatArray,
    props: Callable[[FloatArray], tuple[FloatArray, FloatArray]],
    reverse: bool,
) -> tuple[FloatArray, FloatArray]:
    """Gas through the cells (quasi-steady): heat into each cell [kW] and the exit temperature.

    ``props(T)`` returns (enthalpy, cp) per unit of ``flow`` (Nm3 of air, or MJ of fuel), so
    that ``flow * enthalpy`` is kW. Where ``flow`` is 0 the gas passes unchanged and no heat
    moves.
    """
    q = np.empty_like(temp)
    t_gas = t_in
    h_in, cp_in = props(t_gas)
    cells = range(temp.shape[-1] - 1, -1, -1) if reverse else range(temp.shape[-1])
    for k in cells:
        ts = temp[..., k]
        ntu = ua_cell_kw_per_k / np.maximum(flow * cp_in, 1e-12)
        t_out = ts + (t_gas - ts) * np.exp(-ntu)
        h_out, cp_out = props(t_out)
        q[..., k] = flow * (h_in - h_out)
        t_gas, h_in, cp_in = t_out, h_out, cp_out
    return q, t_gas


def _air_props(t: FloatArray) -> tuple[FloatArray, FloatArray]:
    v = lookup(_AIR_TABLE, t)
    return v[0], v[1]


_AIR_TABLE = np.stack([AIR.h_table, AIR.cp_table])


def hot_stove_step(
    state: StoveState,
    request: NDArray[np.bool_],
    firing_mw: FloatArray,
    share: FloatArray,
    exo: Mapping[str, FloatArray],
    p: HotStoveParams,
    dt_min: float,
) -> tuple[StoveState, StoveFlows]:
    """One step of a batch of stove systems.

    Args:
        state: state at step start.
        request: changeover requests ``(batch, stove)``.
        firing_mw: requested fuel heat input [MW] per stove (used by stoves on gas).
        share: requested enrichment share of the fuel heat [-] per stove.
        exo: ``flow_nm3_min`` and ``setpoint_c`` of the step, shape ``(batch,)``.
        p: parameters.
        dt_min: step [min].

    Returns:
        The state after the step and the step's flows. Per stove,
        ``released = stored_change + delivered + waste_gas_loss + chamber_loss + shell_loss``
        holds to rounding.
    """
    dt_s = 60.0 * dt_min
    mode, tim, refused = apply_changeovers(state, request, p)
    temp = state.temp_c

    # Firing: stoves on gas only; interlocks on the waste gas and the dome.
    on_gas = mode == GAS
    req_fire = np.clip(firing_mw, 0.0, p.firing_max_mw) * on_gas
    interlock = state.waste_gas_c >= p.waste_gas_max_c
    fire = np.where(interlock, 0.0, req_fire)
    share_req = np.clip(share, 0.0, 1.0)
    share_ok = np.minimum(share_req, p.share_dome_max)
    flue = p.flue
    dome = flue.flame_temperature(share_ok, p.heat_retained)
    ua_gas = (
        1e3 * p.ua_gas_mw_per_k / p.n_cells * np.power(fire / p.firing_max_mw, p.ua_flow_exponent)
    )
    table = flue.props_table

    def flue_props(t: FloatArray) -> tuple[FloatArray, FloatArray]:
        v = lookup(table, t)
        return v[0] + share_ok * (v[1] - v[0]), v[2] + share_ok * (v[3] - v[2])

    q_gas, waste = _sweep(temp, dome, fire, ua_gas, flue_props, reverse=False)
    waste = np.where(fire > 0.0, waste, temp[..., -1])
    waste_loss_kw = fire * flue.enthalpy_per_mj(share_ok, waste)

    # Blast: equal split among the stoves on blast; the mixing valve sets the stove share.
    on_blast = mode == BLAST
    n_blast = on_blast.sum(axis=1)
    flow = np.asarray(exo["flow_nm3_min"], dtype=np.float64) / 60.0  # Nm3/s
    setpoint = np.asarray(exo["setpoint_c"], dtype=np.float64)
    nom = p.blast_flow_nm3_min / 60.0
    h_cb = float(AIR.enthalpy(p.cold_blast_c))
    h_sp = AIR.enthalpy(setpoint)
    t_cb = np.full(temp.shape[:2], p.cold_blast_c)
    x = np.clip(state.stove_fraction, 0.05, 1.0)
    # Fixed-point iteration of the valve, per batch row: a row keeps the sweep of the
    # iteration at which it converged, so every row evolves as it would alone.
    done = np.zeros(len(x), dtype=bool)
    per_stove = q_blast = outlet = np.empty(0)
    for it in range(5):
        per_i = np.where(on_blast, (x * flow / np.maximum(n_blast, 1))[:, None], 0.0)
        ua_blast = (1e3 * p.ua_blast_mw_per_k / p.n_cells) * np.power(
            per_i / nom, p.ua_flow_exponent
        )
        q_i, out_i = _sweep(temp, t_cb, per_i, ua_blast, _air_props, True)
        if it == 0:
            per_stove, q_blast, outlet = per_i, q_i, out_i
        else:
            per_stove = np.where(done[:, None], per_stove, per_i)
            q_blast = np.where(done[:, None, None], q_blast, q_i)
            outlet = np.where(done[:, None], outlet, out_i)
        if it == 4:
            break
        h_out = np.where(on_blast, AIR.enthalpy(out_i), 0.0).sum(axis=1) / np.maximum(n_blast, 1)
        x_new = np.where(
            (n_blast > 0) & (h_out > h_cb), (h_sp - h_cb) / np.maximum(h_out - h_cb, 1e-9), 1.0
        )
        x_new = np.clip(x_new, 0.0, 1.0)
        done |= np.abs(x_new - x) < 1e-4
        if done.all():
            break
        x = np.where(done, x, x_new)
    outlet = np.where(on_blast, outlet, temp[..., 0])
    delivered_kw = per_stove * (AIR.enthalpy(outlet) - h_cb)
    h_mix = h_cb + delivered_kw.sum(axis=1) / np.maximum(flow, 1e-12)
    hot_blast = AIR.temperature(h_mix)
    # While the valve still bypasses blast it holds the set point (to its convergence
    # tolerance); a shortfall exists only with the valve fully open.
    shortfall = np.where(x < 1.0 - 1e-9, 0.0, np.maximum(setpoint - hot_blast, 0.0))

    shell_kw = (p.shell_loss_kw_per_k / p.n_cells) * (temp - p.ambient_c)
    dq_kw = q_gas + q_blast - shell_kw  # into each cell (q_blast < 0)
    temp_next = temp + dq_kw * dt_s / (1e3 * p.cell_capacity_mj_per_k)

    # Mode clocks: changeovers complete after changeover_min.
    tim = tim + dt_min
    done = (mode >= TO_BLAST) & (tim >= p.changeover_min - 1e-9)
    mode = np.where(done & (mode == TO_BLAST), BLAST, np.where(done, GAS, mode))
    tim = np.where(done, tim - p.changeover_min, tim)

    released = fire * dt_s  # MW * s = MJ
    flows = StoveFlows(
        firing_mw=fire,
        share=np.where(fire > 0, share_ok, 0.0),
        dome_c=np.where(fire > 0, dome, temp[..., 0]),
        released_mj=released,
        chamber_loss_mj=released * p.chamber_loss,
        waste_gas_loss_mj=waste_loss_kw * dt_s / 1e3,
        delivered_mj=delivered_kw * dt_s / 1e3,
        shell_loss_mj=shell_kw.sum(axis=-1) * dt_s / 1e3,
        stored_change_mj=dq_kw.sum(axis=-1) * dt_s / 1e3,
        blast_nm3=per_stove * dt_s,
        hot_blast_c=hot_blast,
        shortfall_k=shortfall,
        stove_fraction=x,
        refused_requests=refused,
        firing_cut_mw=(req_fire - fire).sum(axis=1),
        share_cut=((share_req - share_ok) * (fire > 0)).sum(axis=1),
        waste_gas_excess_k=(np.maximum(waste - p.waste_gas_max_c, 0.0) * (fire > 0)).sum(axis=1),
    )
    new_state = StoveState(
        temp_c=temp_next,
        mode=mode,
        time_in_mode_min=tim,
        waste_gas_c=waste,
        outlet_c=outlet,
        stove_fraction=x,
    )
    return new_state, flows


def hot_stove_accounts(
    flows: StoveFlows, exo: Mapping[str, FloatArray], p: HotStoveParams, dt_min: float
) -> tuple[dict[str, FloatArray], dict[str, FloatArray]]:
    """Emissions [tCO2 by source] and non-carbon costs [CNY by term] of a step, per batch row.

    Fuel CO2 is the IPCC factor of each gas times its heat. A hot-blast shortfall costs coke:
    ``coke_rate_kg_per_thm_k`` per K and tonne of hot metal, bought at ``coke_price`` and
    emitting ``coke_co2_t_per_t`` (booked as ``process`` CO2), plus the policy penalties.
    """
    rich_gj = (flows.released_mj * flows.share).sum(axis=1) / 1e3
    lean_gj = flows.released_mj.sum(axis=1) / 1e3 - rich_gj
    hot_metal_t = np.asarray(exo["flow_nm3_min"]) * dt_min / p.blast_per_thm_nm3
    coke_t = flows.shortfall_k * p.coke_rate_kg_per_thm_k * hot_metal_t / 1e3
    emissions = {
        "fuel": lean_gj * p.lean_co2_t_per_gj + rich_gj * p.rich_co2_t_per_gj,
        "process": coke_t * p.coke_co2_t_per_t,
    }
    costs = {
        "fuel": lean_gj * p.lean_price_cny_per_gj + rich_gj * p.rich_price_cny_per_gj,
        "penalty": coke_t * p.coke_price_cny_per_t
        + p.shortfall_penalty_cny_per_k_min * flows.shortfall_k * dt_min
        + p.refused_request_penalty_cny * flows.refused_requests
        + p.waste_gas_penalty_cny_per_k_min * flows.waste_gas_excess_k * dt_min,
    }
    return emissions, costs


# ----------------------------------------------------------------------------- practice
def staggered_cycle_command(
    state: StoveState,
    p: HotStoveParams,
    *,
    blast_period_min: float = 60.0,
    dome_target_c: float = 1380.0,
    waste_gas_margin_k: float = 5.0,
    waste_gas_band_k: float = 25.0,
) -> tuple[NDArray[np.bool_], FloatArray, FloatArray]:
    """The usual practice: a fixed staggered cycle, full firing, fixed enrichment.

    * Cycle: one stove on blast for ``blast_period_min``; ``changeover_min`` before its
      period ends, the stove that has been on gas longest changes over to blast; once it is
      on blast, the stove that has been on blast longest changes over to gas.
    * Firing: every stove on gas fires at ``firing_max_mw`` with the fixed enrichment share
      that gives ``dome_target_c``; as the waste gas nears its limit the firing is throttled
      linearly over ``waste_gas_band_k`` (ending ``waste_gas_margin_k`` below the limit), which
      holds the stove ("fire at maximum, then hold").

    This is the rule controller's logic; the env also uses it to warm stoves up to a cyclic
    state for its initial conditions. Returns (requests, firing [MW], share), batched.
    """
    mode, tim = state.mode, state.time_in_mode_min
    b, n = mode.shape
    rows = np.arange(b)
    request = np.zeros((b, n), dtype=bool)
    on_blast = mode == BLAST
    on_gas = mode == GAS
    n_blast = on_blast.sum(axis=1)
    incoming = (mode == TO_BLAST).any(axis=1)
    blast_time = np.where(on_blast, tim, -np.inf)
    lead = np.argmax(blast_time, axis=1)
    lead_time = blast_time[rows, lead]
    gas_time = np.where(on_gas, tim, -np.inf)
    nxt = np.argmax(gas_time, axis=1)
    start_next = (
        (n_blast == 1)
        & ~incoming
        & (lead_time >= blast_period_min - p.changeover_min - 1e-9)
        & on_gas[rows, nxt]
    )
    request[rows[start_next], nxt[start_next]] = True
    release = n_blast >= 2
    request[rows[release], lead[release]] = True
    throttle = np.clip(
        (p.waste_gas_max_c - waste_gas_margin_k - state.waste_gas_c) / waste_gas_band_k, 0.0, 1.0
    )
    firing = np.where(on_gas, p.firing_max_mw * throttle, 0.0)
    share = np.full((b, n), p.share_for_dome(dome_target_c))
    return request, firing, share


def initial_state(p: HotStoveParams, batch: int = 1) -> StoveState:
    """A cold-ish start: linear checker profiles, stove 0 on blast, the others on gas."""
    n, c = p.n_stoves, p.n_cells
    profile = np.linspace(1250.0, 250.0, c)
    temp = np.broadcast_to(profile, (batch, n, c)).copy()
    mode = np.full((batch, n), GAS, dtype=np.int64)
    mode[:, 0] = BLAST
    tim = np.broadcast_to(np.arange(n, dtype=np.float64)[::-1] * 30.0, (batch, n)).copy()
    tim[:, 0] = 0.0
    return StoveState(temp, mode, tim, temp[..., -1].copy(), temp[..., 0].copy(), np.ones(batch))


@functools.lru_cache(maxsize=8)
def cyclic_states(p: HotStoveParams, dt_min: float, n_cycles: int = 8) -> tuple[StoveState, ...]:
    """States over one cycle of the usual practice at nominal demand, after ``n_cycles``.

    The env starts episodes from one of these (a plant in cyclic steady operation).
    """
    cycle = round(p.n_stoves * 60.0 / dt_min)
    state = initial_state(p)
    exo = {
        "flow_nm3_min": np.array([p.blast_flow_nm3_min]),
        "setpoint_c": np.array([p.hot_blast_setpoint_c]),
    }
    out: list[StoveState] = []
    for i in range(cycle * n_cycles):
        req, fire, share = staggered_cycle_command(state, p)
        state, _ = hot_stove_step(state, req, fire, share, exo, p, dt_min)
        if i >= cycle * (n_cycles - 1):
            out.append(state.copy())
    return tuple(out)


# ----------------------------------------------------------------------------- env
OBS_LOW, OBS_HIGH = -1.0, 10.0
#: Forecast leads shown in the observation [min].
OBS_LEADS_MIN: tuple[int, ...] = (10, 20, 30, 40, 50, 60)


def hot_stove_observation(
    state: StoveState,
    forecast: Mapping[str, FloatArray],
    last_hot_blast_c: FloatArray,
    progress: FloatArray,
    leads: NDArray[np.int64],
    p: HotStoveParams,
    carbon_price_cny_per_t: float,
) -> NDArray[np.float32]:
    """Observations over a batch, shape ``(n, 8 * n_stoves + 20)`` float32 (see the env card).

    Args:
        state: the stoves at the coming step.
        forecast: ``(n, horizon + 1)`` arrays ``flow_nm3_min`` and ``setpoint_c``, lead 0 =
            the coming step (exact).
        last_hot_blast_c: last hot-blast temperature [degC], shape ``(n,)``.
        progress: share of the episode done, shape ``(n,)``.
        leads: forecast leads shown (indices into the forecast).
        p: parameters.
        carbon_price_cny_per_t: the carbon price.
    """
    temp = state.temp_c
    b = len(temp)
    per_stove = np.concatenate(
        [
            temp[:, :, :1] / 1000.0,
            temp.mean(axis=2)[:, :, None] / 1000.0,
            temp[:, :, -1:] / 1000.0,
            np.eye(4)[state.mode],
            state.time_in_mode_min[:, :, None] / 60.0,
        ],
        axis=2,
    ).reshape(b, -1)
    flow, setpoint = forecast["flow_nm3_min"], forecast["setpoint_c"]
    prices = np.array(
        [
            p.lean_price_cny_per_gj / 100.0,
            p.rich_price_cny_per_gj / 100.0,
            carbon_price_cny_per_t / 100.0,
        ]
    )
    obs = np.concatenate(
        [
            per_stove,
            (flow[:, 0] / p.blast_flow_nm3_min)[:, None],
            (setpoint[:, 0] / 1000.0)[:, None],
            (last_hot_blast_c / 1000.0)[:, None],
            state.stove_fraction[:, None],
            flow[:, leads] / p.blast_flow_nm3_min,
            setpoint[:, leads] / 1000.0,
            np.broadcast_to(prices, (b, 3)),
            progress[:, None],
        ],
        axis=1,
    ).astype(np.float32)
    return np.clip(obs, OBS_LOW, OBS_HIGH, out=obs)


class HotStoveEnv(EcoEnv):
    """Hot-stove scheduling of one blast furnace.

    Which stove changes over when, how hard each stove on gas fires, and how much coke-oven
    (or natural) gas enriches its fuel.

    ## Description
    ``n_stoves`` Cowper stoves (default 4) heat the blast of one furnace. Each checker is a 1-D
    regenerator of ``n_cells`` cells (transient solid, quasi-steady gas, flow reversing
    between periods), fired with blast-furnace gas enriched by a share of rich gas at a fixed
    air ratio; the dome temperature is the flame temperature from the flue-gas enthalpy (NIST
    Shomate data) after a chamber loss. Stoves are on gas, on blast, or changing over
    (``changeover_min`` each way, no flow). A cold-blast mixing valve holds the hot blast at
    its set point while the on-blast stoves are hotter; when they are not, the shortfall costs
    coke (and its CO2) plus a penalty. Demand (flow, set point) is SYNTHETIC (see
    :func:`synthetic_blast_demand`). Episodes start from the usual practice's cyclic steady
    state at a random phase.

    ## Action Space
    ``Box(-1, 1, (3 * n_stoves,))``: ``[switch_0..n-1, firing_0..n-1, share_0..n-1]``.
    ``switch_i > 0`` requests a changeover of stove ``i`` (on gas -> on blast, or on blast ->
    on gas); ``firing_i`` maps to ``[0, firing_max_mw]`` of fuel heat and ``share_i`` to
    ``[0, share_max]`` of that heat from the rich gas, used while stove ``i`` is on gas.
    Safety layer: a changeover before the minimum dwell, or one that would leave no stove
    on blast, is refused and counted (``refused_requests``, penalised); enrichment beyond the
    dome limit is cut (``enrichment_cut``); a stove whose waste gas reached its limit cannot
    fire (``firing_cut_mw``). Finite actions outside [-1, 1] are clipped
    (``action_clipped``); NaN/inf raises ``ValueError``.

    ## Observation Space
    ``Box(float32)`` of ``8 * n_stoves + 20``: per stove the top, mean and bottom checker
    temperature / 1000 degC, its mode one-hot (on gas, on blast, to blast, to gas) and time in
    mode / 60 min; then blast flow / nominal, set point / 1000, last hot blast / 1000, the
    valve's stove share; the flow / nominal and set point / 1000 forecast at 10, 20, ... 60 min
    (flow with forecast error); lean and rich gas prices / 100 CNY/GJ, carbon price / 100, and
    the fraction of the episode elapsed.

    ## Rewards
    ``-(fuel + penalty + inventory + carbon) / reward_scale_cny`` per step, CNY: fuel gas
    at its price; penalty = coke for the shortfall + shortfall, refused-request and waste-gas
    penalties; carbon = carbon price x (fuel CO2 + coke CO2); at the last step ``inventory``
    values the change in checker heat against the start (lean gas + carbon over
    ``deficit_efficiency`` for heat missing, over ``surplus_efficiency`` for heat added), so
    no controller gains by emptying the stoves.

    ## Starting State
    A state of the usual practice's cyclic steady state at nominal demand (phase drawn by the
    seed).

    ## Episode End
    Truncation after ``episode_h`` hours; no termination.

    ## Arguments
    ``split``, ``params`` (:class:`HotStoveParams`), ``dt_min`` (1), ``episode_h`` (8),
    ``forecast_horizon_min`` (180), ``forecast_error`` (flow, :class:`ForecastErrorModel`,
    default 2 %/sqrt(h)), ``demand_seed`` (2024), ``carbon_price_cny_per_t`` (80),
    ``reward_scale_cny`` (1e3), ``split_seed`` (0).

    ## Parameters and sources
    See :class:`HotStoveParams`; every default carries its source in its docstring.

    ## Version History
    * v0: initial release.
    """

    plant_name: ClassVar[str] = "hot_stove"
    violation_names: ClassVar[tuple[str, ...]] = (
        "blast_shortfall_k_min",
        "refused_requests",
        "waste_gas_excess_k_min",
        "firing_cut_mw",
        "enrichment_cut",
    )

    def __init__(
        self,
        *,
        split: str = "train",
        params: HotStoveParams | None = None,
        dt_min: float = 1.0,
        episode_h: float = 8.0,
        forecast_horizon_min: float = 180.0,
        forecast_error: ForecastErrorModel | None = None,
        demand_seed: int = 2024,
        carbon_price_cny_per_t: float = DEFAULT_CARBON_PRICE_CNY_PER_T,
        reward_scale_cny: float = 1.0e3,
        split_seed: int = 0,
    ) -> None:
        super().__init__(
            split=split,
            carbon_price_cny_per_t=carbon_price_cny_per_t,
            reward_scale_cny=reward_scale_cny,
            cost_terms=("fuel", "penalty", "inventory"),
        )
        self.params: HotStoveParams = self._params_or_default(params, HotStoveParams)
        p = self.params
        require_finite_range("dt_min", dt_min, 0.5, 10.0)
        for name, value in (
            ("changeover_min", p.changeover_min),
            ("min_blast_min", p.min_blast_min),
            ("min_gas_min", p.min_gas_min),
        ):
            k = value / dt_min
            if abs(k - round(k)) > 1e-9:
                raise ValueError(
                    f"dt_min={dt_min} does not divide HotStoveParams.{name}={value}; allowed: "
                    "a step that divides the changeover and dwell times"
                )
        if abs(60.0 / dt_min - round(60.0 / dt_min)) > 1e-9:
            raise ValueError(f"dt_min={dt_min}; allowed: a divisor of 60 minutes")
        require_finite_range("episode_h", episode_h, dt_min / 60.0, 24.0 * 14)
        require_finite_range("forecast_horizon_min", forecast_horizon_min, 60.0, 24.0 * 60)
        self.dt_min = float(dt_min)
        self.forecast_error = (
            forecast_error if forecast_error is not None else ForecastErrorModel(0.02)
        )
        if not isinstance(self.forecast_error, ForecastErrorModel):
            raise ValueError(f"forecast_error={forecast_error!r}; allowed: a ForecastErrorModel")
        self.demand = _cached_demand(p, self.dt_min, int(demand_seed))
        self.windows = ScenarioWindows(
            self.demand.n_steps, round(episode_h * 60.0 / dt_min), split_seed=split_seed
        )
        self.forecast_steps = round(forecast_horizon_min / dt_min)
        n = p.n_stoves
        self.scaler = ActionScaler(
            [-1.0] * n + [0.0] * n + [0.0] * n,
            [1.0] * n + [p.firing_max_mw] * n + [p.share_max] * n,
            tuple(f"{k}_{i}" for k in ("switch", "firing", "share") for i in range(n)),
        )
        self.action_space = self.scaler.space  # type: ignore[assignment]
        self.observation_space = gym.spaces.Box(OBS_LOW, OBS_HIGH, (8 * n + 20,), np.float32)
        self._obs_leads_idx = np.minimum(
            np.array([round(m / dt_min) for m in OBS_LEADS_MIN]), self.forecast_steps
        )
        self._errors = np.zeros((self.episode_steps, 1, self.forecast_steps))
        self.state = initial_state(p)
        self._stored0 = 0.0
        self._last_hot_blast = p.hot_blast_setpoint_c
        self._forecast: dict[str, FloatArray] = {}

    # -- plant hooks ------------------------------------------------------------------------
    @property
    def t(self) -> int:
        """Step of the year of the coming step."""
        return self.window_start + self.step_index

    def true_window(self, start_step: int, n: int) -> dict[str, FloatArray]:
        """True demand (privileged: for the oracle and perfect-forecast MPC)."""
        return self.demand.window(start_step, n)

    def _prepare_step(self) -> None:
        fc = self.demand.window(self.t, self.forecast_steps + 1)
        if not self.forecast_error.is_perfect:
            fc["flow_nm3_min"][1:] = self.forecast_error.perturb(
                fc["flow_nm3_min"][1:], self._errors[self.step_index, 0]
            )
        self._forecast = fc

    def _reset_plant(self) -> dict[str, Any]:
        self.state = self._initial_state(self.np_random)
        self._stored0 = float(self.state.stored_mj(self.params).sum())
        self._last_hot_blast = self.params.hot_blast_setpoint_c
        self._errors = self._episode_errors(self.np_random)
        return self._state_info(None)

    def _initial_state(self, rng: np.random.Generator) -> StoveState:
        """One of the cyclic steady states, drawn with ``rng`` (a copy)."""
        states = cyclic_states(self.params, self.dt_min)
        return states[int(rng.integers(len(states)))].copy()

    def _episode_errors(self, rng: np.random.Generator) -> FloatArray:
        """The episode's blast-flow forecast errors ``[step, 1, lead]`` (drawn at reset)."""
        return episode_forecast_errors(
            (self.forecast_error,),
            self.episode_steps,
            self.forecast_steps,
            self.dt_min / 60.0,
            rng,
        )

    def _state_info(self, flows: StoveFlows | None) -> dict[str, Any]:
        s = self.state
        info: dict[str, Any] = {
            "mode": s.mode[0].copy(),
            "time_in_mode_min": s.time_in_mode_min[0].copy(),
            "top_c": s.temp_c[0, :, 0].copy(),
            "bottom_c": s.temp_c[0, :, -1].copy(),
            "waste_gas_c": s.waste_gas_c[0].copy(),
            "outlet_c": s.outlet_c[0].copy(),
            "stored_mj": s.stored_mj(self.params)[0],
            "stove_fraction": float(s.stove_fraction[0]),
            "stored0_mj": self._stored0,
        }
        if flows is not None:
            for k in (
                "firing_mw",
                "share",
                "dome_c",
                "released_mj",
                "chamber_loss_mj",
                "waste_gas_loss_mj",
                "delivered_mj",
                "shell_loss_mj",
                "stored_change_mj",
                "blast_nm3",
            ):
                info[k] = getattr(flows, k)[0].copy()
            info["hot_blast_c"] = float(flows.hot_blast_c[0])
            info["shortfall_k"] = float(flows.shortfall_k[0])
        return info

    def _step_plant(self, physical_action: FloatArray) -> PlantStep:
        p, n = self.params, self.params.n_stoves
        exo = self.demand.window(self.t, 1)
        request = (physical_action[:n] > 0.0)[None, :]
        self.state, flows = hot_stove_step(
            self.state,
            request,
            physical_action[None, n : 2 * n],
            physical_action[None, 2 * n :],
            exo,
            p,
            self.dt_min,
        )
        emissions, costs = hot_stove_accounts(flows, exo, p, self.dt_min)
        self._last_hot_blast = float(flows.hot_blast_c[0])
        cost = {k: float(v[0]) for k, v in costs.items()}
        if self.step_index + 1 >= self.episode_steps:
            missing = self._stored0 - float(self.state.stored_mj(p).sum())
            deficit, surplus = self.inventory_value_cny_per_mj
            cost["inventory"] = (deficit if missing > 0 else surplus) * missing
        state = self._state_info(flows)
        state["setpoint_c"] = float(exo["setpoint_c"][0])
        state["flow_nm3_min"] = float(exo["flow_nm3_min"][0])
        return PlantStep(
            emissions={k: float(v[0]) for k, v in emissions.items()},
            costs=cost,
            violations={
                "blast_shortfall_k_min": float(flows.shortfall_k[0]) * self.dt_min,
                "refused_requests": float(flows.refused_requests[0]),
                "waste_gas_excess_k_min": float(flows.waste_gas_excess_k[0]) * self.dt_min,
                "firing_cut_mw": float(flows.firing_cut_mw[0]),
                "enrichment_cut": float(flows.share_cut[0]),
            },
            state=state,
        )

    @property
    def inventory_value_cny_per_mj(self) -> tuple[float, float]:
        """Value of checker heat missing and added [CNY/MJ].

        Lean gas + its carbon, over the deficit and surplus storage efficiencies.
        """
        p = self.params
        per_gj = p.lean_price_cny_per_gj + self.carbon_price_cny_per_t * p.lean_co2_t_per_gj
        return per_gj / p.deficit_efficiency / 1e3, per_gj / p.surplus_efficiency / 1e3

    def _observe(self) -> NDArray[np.float32]:
        return hot_stove_observation(
            self.state,
            {k: v[None, :] for k, v in self._forecast.items()},
            np.array([self._last_hot_blast]),
            np.array([self.step_index / self.episode_steps]),
            self._obs_leads_idx,
            self.params,
            self.carbon_price_cny_per_t,
        )[0]

    def _extra_info(self) -> dict[str, Any]:
        # Demand forecast in physical units, lead 0 = the coming step (exact).
        return {"forecast": {k: v.copy() for k, v in self._forecast.items()}}


class HotStoveVectorEnv(BatchedEcoEnv):
    """``num_envs`` stove systems stepped together by :func:`hot_stove_step` over the batch.

    ``gymnasium.make_vec("ecocontrol/HotStove-v0", num_envs=n,
    vectorization_mode="vector_entry_point", **kwargs)``; ``kwargs`` as for
    :class:`HotStoveEnv`, plus ``autoreset_mode``. Member ``i`` reproduces a single env seeded
    with ``seed + i`` under the same actions (tested); ``info`` carries per-member arrays of
    the ledger's costs and emissions and the violations.
    """

    single_env_class = HotStoveEnv
    template: HotStoveEnv

    def __init__(self, num_envs: int = 1, **kwargs: Any) -> None:
        super().__init__(num_envs, **kwargs)
        env = self.template
        self.params, self.demand, self.dt_min = env.params, env.demand, env.dt_min
        p = self.params
        self.state = initial_state(p, num_envs)
        self.stored0_mj = np.zeros(num_envs)
        self.last_hot_blast_c = np.full(num_envs, p.hot_blast_setpoint_c)
        h = env.forecast_steps
        self._errors = BatchForecastErrors(
            (env.forecast_error,), env.episode_steps, h, env.dt_min / 60.0, num_envs
        )
        keys = ("flow_nm3_min", "setpoint_c")
        self._horizons = {k: horizon_view(getattr(self.demand, k), h + 1) for k in keys}
        self._fc = {k: np.zeros((num_envs, h + 1)) for k in keys}

    def _reset_members(self, idx: np.ndarray) -> None:
        p = self.params
        for i in idx:
            rng = self.rngs[i]
            assert rng is not None
            start = self.template._initial_state(rng)
            for f in StoveState.__dataclass_fields__:
                getattr(self.state, f)[i] = getattr(start, f)[0]
            self.stored0_mj[i] = float(start.stored_mj(p).sum())
            self._errors.start(int(i), rng)
        self.last_hot_blast_c[idx] = p.hot_blast_setpoint_c

    def _prepare(self, idx: np.ndarray) -> None:
        sel: slice | np.ndarray = slice(None) if len(idx) == self.num_envs else idx
        rows = self.t[sel] % self.demand.n_steps
        for k, view in self._horizons.items():
            self._fc[k][sel] = view[rows]
        model = self.template.forecast_error
        if not model.is_perfect:
            errors = self._errors.rows(idx, self.step_index[idx], self.rngs)[:, 0]
            flow = self._fc["flow_nm3_min"]
            flow[sel, 1:] = model.perturb(flow[sel, 1:], errors)

    def _step_members(
        self, physical: FloatArray
    ) -> tuple[dict[str, FloatArray], dict[str, FloatArray], dict[str, FloatArray]]:
        p, n, dt = self.params, self.params.n_stoves, self.dt_min
        t = self.t % self.demand.n_steps
        exo = {"flow_nm3_min": self.demand.flow_nm3_min[t], "setpoint_c": self.demand.setpoint_c[t]}
        self.state, flows = hot_stove_step(
            self.state,
            physical[:, :n] > 0.0,
            physical[:, n : 2 * n],
            physical[:, 2 * n :],
            exo,
            p,
            dt,
        )
        emissions, costs = hot_stove_accounts(flows, exo, p, dt)
        self.last_hot_blast_c = flows.hot_blast_c.copy()
        last = self.step_index + 1 >= self.episode_steps
        missing = self.stored0_mj - self.state.stored_mj(p).sum(axis=1)
        deficit, surplus = self.template.inventory_value_cny_per_mj
        costs["inventory"] = np.where(last, np.where(missing > 0, deficit, surplus) * missing, 0.0)
        violations = {
            "blast_shortfall_k_min": flows.shortfall_k * dt,
            "refused_requests": flows.refused_requests,
            "waste_gas_excess_k_min": flows.waste_gas_excess_k * dt,
            "firing_cut_mw": flows.firing_cut_mw,
            "enrichment_cut": flows.share_cut,
        }
        return emissions, costs, violations

    def _observe_batch(self) -> NDArray[np.float32]:
        return hot_stove_observation(
            self.state,
            self._fc,
            self.last_hot_blast_c,
            self.step_index / self.episode_steps,
            self.template._obs_leads_idx,
            self.params,
            self.ledger.carbon_price_cny_per_t,
        )
