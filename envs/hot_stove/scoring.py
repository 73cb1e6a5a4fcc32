"""Hot-stove accounts: a step's emissions and costs, and the value of the checkers' heat.

Both the simulator and the MPC price with these functions, so the controller's model and the
plant it is scored on cannot drift apart. A step's accounts are a compiled kernel
(:func:`accounts_member`, :func:`inventory_member`) that the simulator's step kernel calls per
member; :func:`hot_stove_accounts` and :func:`inventory_account` wrap the same kernels.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ecocontrol.emissions import GJ_PER_MWH, get_fuel

from ..jit import kernel
from ..scenario import FloatArray
from .params import HotStoveParams
from .physics import StoveFlows

#: Rows of a step's accounts as the kernels write them: emissions (tCO2 by source), costs
#: (CNY by term, without carbon), in the order the env's ``info`` lists them.
EMISSION_ROWS: tuple[str, ...] = ("fuel", "grid", "process", "inventory")
COST_ROWS: tuple[str, ...] = ("fuel", "energy", "penalty", "inventory")
E_FUEL, E_GRID, E_PROCESS, E_INVENTORY = range(4)
C_FUEL, C_ENERGY, C_PENALTY, C_INVENTORY = range(4, 8)
_SOURCE_ROW = {"fuel": E_FUEL, "grid": E_GRID}

# Entries of the accounting constants (:func:`account_constants`).
(
    _LEAN_PRICE,
    _RICH_PRICE,
    _LEAN_CO2,
    _RICH_CO2,
    _LEAN_ROW,
    _RICH_ROW,
    _BLAST_PER_THM,
    _COKE_RATE,
    _COKE_PRICE,
    _COKE_CO2,
    _BLOWER_KWH,
    _ELECTRICITY_PRICE,
    _GRID_FACTOR,
    _SHORTFALL_PENALTY,
    _REFUSED_PENALTY,
    _WASTE_PENALTY,
    _UPSET_COST,
    _INV_CNY_DEFICIT,
    _INV_CNY_SURPLUS,
    _INV_CO2_DEFICIT,
    _INV_CO2_SURPLUS,
) = range(21)


@dataclass(frozen=True)
class GasValue:
    """What burning 1 GJ of a gas in the stoves costs under an accounting.

    Attributes:
        price_cny_per_gj: money [CNY/GJ] (without carbon).
        co2_t_per_gj: CO2 [t/GJ] charged to the stoves.
        source: the ledger source the CO2 is booked under (``fuel`` or ``grid``).
    """

    price_cny_per_gj: float
    co2_t_per_gj: float
    source: str

    def with_carbon(self, carbon_price_cny_per_t: float) -> float:
        """Price with carbon [CNY/GJ]."""
        return self.price_cny_per_gj + carbon_price_cny_per_t * self.co2_t_per_gj


@functools.cache
def gas_values(p: HotStoveParams) -> tuple[GasValue, GasValue]:
    """(lean, rich) gas values under ``p.gas_accounting``.

    * ``gate``: each gas at its transfer price and its own combustion CO2 (IPCC factors).
    * ``site``: each by-product gas at its marginal alternative use on the site. Blast-furnace
      gas not burnt in the stoves is burnt in the works' power plant (its combustion CO2 is
      emitted there or here alike), so 1 GJ burnt in the stoves costs the
      ``site_power_efficiency / 3.6`` MWh the site then buys from the grid: that
      electricity's price and grid CO2 (booked as ``grid``). Coke-oven gas displaces natural
      gas in the rolling-mill furnaces, heat for heat: natural gas's price and IPCC CO2.
      Natural gas bought for enrichment is charged as bought.
    """
    lean_gate = GasValue(p.lean_price_cny_per_gj, p.lean_co2_t_per_gj, "fuel")
    rich_gate = GasValue(p.rich_price_cny_per_gj, p.rich_co2_t_per_gj, "fuel")
    if p.gas_accounting == "gate":
        return lean_gate, rich_gate
    mwh = p.site_power_efficiency / GJ_PER_MWH
    lean = GasValue(mwh * p.electricity_price_cny_per_mwh, mwh * p.grid_factor_t_per_mwh, "grid")
    if p.rich_fuel == "natural_gas":
        return lean, rich_gate
    rich = GasValue(p.natural_gas_price_cny_per_gj, get_fuel("natural_gas").co2_t_per_gj, "fuel")
    return lean, rich


@functools.cache
def account_constants(p: HotStoveParams) -> FloatArray:
    """The prices, factors and penalties the accounting kernels read, as one vector."""
    lean, rich = gas_values(p)
    (cd, cs), (ed, es) = inventory_factors(p)
    a = np.zeros(21)
    a[_LEAN_PRICE], a[_RICH_PRICE] = lean.price_cny_per_gj, rich.price_cny_per_gj
    a[_LEAN_CO2], a[_RICH_CO2] = lean.co2_t_per_gj, rich.co2_t_per_gj
    a[_LEAN_ROW], a[_RICH_ROW] = _SOURCE_ROW[lean.source], _SOURCE_ROW[rich.source]
    a[_BLAST_PER_THM] = p.blast_per_thm_nm3
    a[_COKE_RATE] = p.coke_rate_kg_per_thm_k
    a[_COKE_PRICE] = p.coke_price_cny_per_t
    a[_COKE_CO2] = p.coke_co2_t_per_t
    a[_BLOWER_KWH] = p.blower_kwh_per_nm3
    a[_ELECTRICITY_PRICE] = p.electricity_price_cny_per_mwh
    a[_GRID_FACTOR] = p.grid_factor_t_per_mwh
    a[_SHORTFALL_PENALTY] = p.shortfall_penalty_cny_per_k_min
    a[_REFUSED_PENALTY] = p.refused_request_penalty_cny
    a[_WASTE_PENALTY] = p.waste_gas_penalty_cny_per_k_min
    a[_UPSET_COST] = p.upset_cost_cny
    a[_INV_CNY_DEFICIT], a[_INV_CNY_SURPLUS] = cd, cs
    a[_INV_CO2_DEFICIT], a[_INV_CO2_SURPLUS] = ed, es
    a.flags.writeable = False
    return a


def changeover_cost(p: HotStoveParams, blowoff_nm3: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Blower electricity [MWh] and its cost [CNY] for re-supplying ``blowoff_nm3`` of blast."""
    mwh = np.asarray(blowoff_nm3) * p.blower_kwh_per_nm3 / 1e3
    return mwh, mwh * p.electricity_price_cny_per_mwh


@kernel
def accounts_member(
    i: int,
    released_mj: FloatArray,
    share: FloatArray,
    blowoff_nm3: FloatArray,
    shortfall_k: float,
    refused: float,
    waste_excess_k: float,
    flow_nm3_min: float,
    upset: bool,
    dt_min: float,
    a: FloatArray,
    out: FloatArray,
) -> None:
    """Emissions and non-carbon costs of member ``i``'s step into ``out[:, i]``.

    See :func:`hot_stove_accounts`; a furnace ``upset`` adds ``upset_cost_cny`` to the
    penalty. ``released_mj``, ``share`` and ``blowoff_nm3`` are the step's flows ``(batch,
    stove)``; ``a`` is :func:`account_constants`; ``out`` has the rows
    :data:`EMISSION_ROWS` then :data:`COST_ROWS` (the ``inventory`` rows are not written).
    """
    released = rich = blown = 0.0
    for s in range(released_mj.shape[1]):
        released += released_mj[i, s]
        rich += released_mj[i, s] * share[i, s]
        blown += blowoff_nm3[i, s]
    rich_gj = rich / 1e3
    lean_gj = released / 1e3 - rich_gj
    hot_metal_t = flow_nm3_min * dt_min / a[_BLAST_PER_THM]
    coke_t = shortfall_k * a[_COKE_RATE] * hot_metal_t / 1e3
    # the blower electricity that re-supplies the vented blast (changeover_cost)
    blower_mwh = blown * a[_BLOWER_KWH] / 1e3
    out[E_FUEL, i] = 0.0
    out[E_GRID, i] = blower_mwh * a[_GRID_FACTOR]
    out[E_PROCESS, i] = coke_t * a[_COKE_CO2]
    lean_row, rich_row = int(a[_LEAN_ROW]), int(a[_RICH_ROW])
    out[lean_row, i] = out[lean_row, i] + lean_gj * a[_LEAN_CO2]
    out[rich_row, i] = out[rich_row, i] + rich_gj * a[_RICH_CO2]
    out[C_FUEL, i] = lean_gj * a[_LEAN_PRICE] + rich_gj * a[_RICH_PRICE]
    out[C_ENERGY, i] = blower_mwh * a[_ELECTRICITY_PRICE]
    out[C_PENALTY, i] = (
        coke_t * a[_COKE_PRICE]
        + a[_SHORTFALL_PENALTY] * shortfall_k * dt_min
        + a[_REFUSED_PENALTY] * refused
        + a[_WASTE_PENALTY] * waste_excess_k * dt_min
    )
    if upset:
        out[C_PENALTY, i] = out[C_PENALTY, i] + a[_UPSET_COST]


@kernel
def _accounts_batch(
    released_mj: FloatArray,
    share: FloatArray,
    blowoff_nm3: FloatArray,
    shortfall_k: FloatArray,
    refused: FloatArray,
    waste_excess_k: FloatArray,
    flow_nm3_min: FloatArray,
    dt_min: float,
    a: FloatArray,
    out: FloatArray,
) -> None:
    for i in range(out.shape[1]):
        accounts_member(
            i,
            released_mj,
            share,
            blowoff_nm3,
            shortfall_k[i],
            refused[i],
            waste_excess_k[i],
            flow_nm3_min[i],
            False,
            dt_min,
            a,
            out,
        )


def hot_stove_accounts(
    flows: StoveFlows, exo: Mapping[str, FloatArray], p: HotStoveParams, dt_min: float
) -> tuple[dict[str, FloatArray], dict[str, FloatArray]]:
    """Emissions [tCO2 by source] and non-carbon costs [CNY by term] of a step, per batch row.

    Fuel gas at :func:`gas_values` (the accounting's price and CO2). A hot-blast shortfall
    costs coke: ``coke_rate_kg_per_thm_k`` per K and tonne of hot metal, bought at
    ``coke_price`` and emitting ``coke_co2_t_per_t`` (booked as ``process`` CO2), plus the
    policy penalties. A blow-off costs the blower electricity that re-supplies the vented
    blast (``energy``, grid CO2); the vented heat is the plant's (it leaves the checker).
    The env books the same kernel (:func:`accounts_member`) at every step.
    """
    released = np.ascontiguousarray(flows.released_mj, dtype=np.float64)
    b = released.shape[0]

    def rows(v: FloatArray) -> FloatArray:
        return np.ascontiguousarray(np.broadcast_to(v, (b,)), dtype=np.float64)

    out = np.zeros((len(EMISSION_ROWS) + len(COST_ROWS), b))
    _accounts_batch(
        released,
        np.ascontiguousarray(flows.share, dtype=np.float64),
        np.ascontiguousarray(flows.blowoff_nm3, dtype=np.float64),
        rows(flows.shortfall_k),
        rows(flows.refused_requests),
        rows(flows.waste_gas_excess_k),
        rows(np.asarray(exo["flow_nm3_min"])),
        float(dt_min),
        account_constants(p),
        out,
    )
    emissions = {k: out[E_FUEL + j] for j, k in enumerate(("fuel", "grid", "process"))}
    costs = {k: out[C_FUEL + j] for j, k in enumerate(("fuel", "energy", "penalty"))}
    return emissions, costs


def inventory_factors(p: HotStoveParams) -> tuple[tuple[float, float], tuple[float, float]]:
    """Money [CNY/MJ] and CO2 [t/MJ] of checker heat (missing, added) at an episode's end.

    The lean gas that would restore it (its price and CO2 under ``gas_accounting``), over
    the deficit and surplus storage efficiencies (``HotStoveParams.deficit_efficiency`` /
    ``surplus_efficiency``). Returns ``((cny_deficit, cny_surplus), (co2_deficit,
    co2_surplus))``.
    """
    lean, _ = gas_values(p)
    eff = (p.deficit_efficiency, p.surplus_efficiency)
    return (
        (lean.price_cny_per_gj / eff[0] / 1e3, lean.price_cny_per_gj / eff[1] / 1e3),
        (lean.co2_t_per_gj / eff[0] / 1e3, lean.co2_t_per_gj / eff[1] / 1e3),
    )


def inventory_value_cny_per_mj(
    p: HotStoveParams, carbon_price_cny_per_t: float
) -> tuple[float, float]:
    """Value of checker heat missing and added at an episode's end, with carbon [CNY/MJ]."""
    (cd, cs), (ed, es) = inventory_factors(p)
    return cd + carbon_price_cny_per_t * ed, cs + carbon_price_cny_per_t * es


@kernel
def inventory_member(stored0_mj: float, stored_mj: float, a: FloatArray) -> tuple[float, float]:
    """Cost [CNY] and CO2 [t] of checker heat missing at the end (see :func:`inventory_account`)."""
    missing = stored0_mj - stored_mj
    if missing > 0:
        return a[_INV_CNY_DEFICIT] * missing, a[_INV_CO2_DEFICIT] * missing
    return a[_INV_CNY_SURPLUS] * missing, a[_INV_CO2_SURPLUS] * missing


@kernel
def _inventory_batch(
    stored0: FloatArray, stored: FloatArray, a: FloatArray, out: FloatArray
) -> None:
    for i in range(stored0.shape[0]):
        out[0, i], out[1, i] = inventory_member(stored0[i], stored[i], a)


def inventory_account(
    stored0_mj: FloatArray, stored_mj: FloatArray, p: HotStoveParams
) -> tuple[FloatArray, FloatArray]:
    """Cost term and CO2 source ``inventory`` per batch row: checker heat missing at the end.

    ``stored0_mj`` and ``stored_mj`` are each row's total checker heat at the episode's start
    and now. Heat missing is charged the lean gas (money [CNY] and CO2 [t]) that would
    restore it at the deficit efficiency; heat added is credited at the surplus efficiency
    (:func:`inventory_factors`). The ledger prices the CO2, so the carbon cost of the
    inventory lands in ``carbon`` and CO2 comparisons are like for like. The env books it
    at an episode's last step (the same kernel, :func:`inventory_member`).
    """
    s0, s1 = np.broadcast_arrays(
        np.asarray(stored0_mj, dtype=np.float64), np.asarray(stored_mj, dtype=np.float64)
    )
    out = np.zeros((2, s0.size))
    _inventory_batch(
        np.ascontiguousarray(s0).reshape(-1),
        np.ascontiguousarray(s1).reshape(-1),
        account_constants(p),
        out,
    )
    return out[0].reshape(s0.shape), out[1].reshape(s0.shape)
