"""The park's accounts, over the batch axis.

A step's emissions [tCO2 by source] and its costs [CNY by term]; the carbon cost is left to
the :class:`~ecocontrol.emissions.EmissionLedger`, which prices the priced sources.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..scenario import FloatArray
from .params import ParkParams
from .physics import ParkFlows


def park_accounts(
    flows: ParkFlows, exo: Mapping[str, FloatArray], p: ParkParams, dt_h: float
) -> tuple[dict[str, FloatArray], dict[str, FloatArray]]:
    """Emissions [tCO2 by source] and non-carbon costs [CNY by term] of one step's flows."""
    emissions = {
        "grid": flows.import_mw * dt_h * exo["intensity"],
        "fuel": flows.backup_heat_mwh * p.gas_t_co2_per_mwh_heat,
    }
    costs = {
        "energy": dt_h
        * (flows.import_mw * exo["price_import"] - flows.export_mw * exo["price_export"]),
        "fuel": flows.backup_heat_mwh * p.gas_cny_per_mwh_heat,
        "degradation": p.battery_degradation_cny_per_mwh
        * dt_h
        * (flows.charge_mw + flows.discharge_mw),
        "penalty": p.value_of_lost_load_cny_per_mwh * flows.shed_mw * dt_h,
    }
    return emissions, costs
