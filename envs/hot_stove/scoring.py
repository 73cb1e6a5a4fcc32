"""Hot-stove accounts: a step's emissions and costs, and the value of the checkers' heat.

Both the simulator and the MPC price with these functions, so the controller's model and the
plant it is scored on cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..scenario import FloatArray
from .params import HotStoveParams
from .physics import StoveFlows


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


def inventory_value_cny_per_mj(
    p: HotStoveParams, carbon_price_cny_per_t: float
) -> tuple[float, float]:
    """Value of checker heat missing and added at an episode's end [CNY/MJ].

    Lean gas + its carbon, over the deficit and surplus storage efficiencies
    (``HotStoveParams.deficit_efficiency`` / ``surplus_efficiency``).
    """
    per_gj = p.lean_price_cny_per_gj + carbon_price_cny_per_t * p.lean_co2_t_per_gj
    return per_gj / p.deficit_efficiency / 1e3, per_gj / p.surplus_efficiency / 1e3


def inventory_cost(
    stored0_mj: FloatArray,
    stored_mj: FloatArray,
    p: HotStoveParams,
    carbon_price_cny_per_t: float,
) -> FloatArray:
    """Cost term ``inventory`` [CNY] per batch row: checker heat missing against the start.

    ``stored0_mj`` and ``stored_mj`` are each row's total checker heat at the episode's start
    and now; heat missing is priced at the deficit value, heat added credited at the surplus
    value (:func:`inventory_value_cny_per_mj`). The env books it at an episode's last step.
    """
    missing = stored0_mj - stored_mj
    deficit, surplus = inventory_value_cny_per_mj(p, carbon_price_cny_per_t)
    return np.where(missing > 0, deficit, surplus) * missing
