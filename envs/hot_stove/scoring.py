"""Hot-stove accounts: a step's emissions and costs, and the value of the checkers' heat.

Both the simulator and the MPC price with these functions, so the controller's model and the
plant it is scored on cannot drift apart.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ecocontrol.emissions import GJ_PER_MWH, get_fuel

from ..scenario import FloatArray
from .params import HotStoveParams
from .physics import StoveFlows


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


def changeover_cost(p: HotStoveParams, blowoff_nm3: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Blower electricity [MWh] and its cost [CNY] for re-supplying ``blowoff_nm3`` of blast."""
    mwh = np.asarray(blowoff_nm3) * p.blower_kwh_per_nm3 / 1e3
    return mwh, mwh * p.electricity_price_cny_per_mwh


def hot_stove_accounts(
    flows: StoveFlows, exo: Mapping[str, FloatArray], p: HotStoveParams, dt_min: float
) -> tuple[dict[str, FloatArray], dict[str, FloatArray]]:
    """Emissions [tCO2 by source] and non-carbon costs [CNY by term] of a step, per batch row.

    Fuel gas at :func:`gas_values` (the accounting's price and CO2). A hot-blast shortfall
    costs coke: ``coke_rate_kg_per_thm_k`` per K and tonne of hot metal, bought at
    ``coke_price`` and emitting ``coke_co2_t_per_t`` (booked as ``process`` CO2), plus the
    policy penalties. A blow-off costs the blower electricity that re-supplies the vented
    blast (``energy``, grid CO2); the vented heat is the plant's (it leaves the checker).
    """
    rich_gj = (flows.released_mj * flows.share).sum(axis=1) / 1e3
    lean_gj = flows.released_mj.sum(axis=1) / 1e3 - rich_gj
    lean, rich = gas_values(p)
    hot_metal_t = np.asarray(exo["flow_nm3_min"]) * dt_min / p.blast_per_thm_nm3
    coke_t = flows.shortfall_k * p.coke_rate_kg_per_thm_k * hot_metal_t / 1e3
    blower_mwh, blower_cny = changeover_cost(p, flows.blowoff_nm3.sum(axis=1))
    emissions: dict[str, FloatArray] = {
        "fuel": np.zeros_like(lean_gj),
        "grid": blower_mwh * p.grid_factor_t_per_mwh,
        "process": coke_t * p.coke_co2_t_per_t,
    }
    emissions[lean.source] = emissions[lean.source] + lean_gj * lean.co2_t_per_gj
    emissions[rich.source] = emissions[rich.source] + rich_gj * rich.co2_t_per_gj
    costs = {
        "fuel": lean_gj * lean.price_cny_per_gj + rich_gj * rich.price_cny_per_gj,
        "energy": blower_cny,
        "penalty": coke_t * p.coke_price_cny_per_t
        + p.shortfall_penalty_cny_per_k_min * flows.shortfall_k * dt_min
        + p.refused_request_penalty_cny * flows.refused_requests
        + p.waste_gas_penalty_cny_per_k_min * flows.waste_gas_excess_k * dt_min,
    }
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


def inventory_account(
    stored0_mj: FloatArray, stored_mj: FloatArray, p: HotStoveParams
) -> tuple[FloatArray, FloatArray]:
    """Cost term and CO2 source ``inventory`` per batch row: checker heat missing at the end.

    ``stored0_mj`` and ``stored_mj`` are each row's total checker heat at the episode's start
    and now. Heat missing is charged the lean gas (money [CNY] and CO2 [t]) that would
    restore it at the deficit efficiency; heat added is credited at the surplus efficiency
    (:func:`inventory_factors`). The ledger prices the CO2, so the carbon cost of the
    inventory lands in ``carbon`` and CO2 comparisons are like for like. The env books it
    at an episode's last step.
    """
    missing = stored0_mj - stored_mj
    (cd, cs), (ed, es) = inventory_factors(p)
    deficit = missing > 0
    return np.where(deficit, cd, cs) * missing, np.where(deficit, ed, es) * missing
