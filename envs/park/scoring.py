"""The park's accounts, over the batch axis, and the value of stored energy.

A step's emissions [tCO2 by source] and its costs [CNY by term]; the carbon cost is left to
the :class:`~ecocontrol.emissions.EmissionLedger`, which prices the priced sources. The
simulator and the park MPC price the demand charge and the stores' terminal value with the
functions here, so the controller's model and the plant it is scored on cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ecocontrol.emissions import GridIntensity, synthetic_china_grid_shape

from ..scenario import FloatArray
from .params import HOURS_PER_MONTH, TOU_MULTIPLIERS, ParkParams
from .physics import ParkFlows


def demand_charge_cny_per_mw(p: ParkParams, episode_h: float) -> float:
    """The demand charge of one episode per MW of its highest import [CNY/MW].

    ``demand_charge_cny_per_kw_month`` x 1000 kW/MW, pro-rated to the episode (the billing
    period) by ``episode_h / HOURS_PER_MONTH``.
    """
    return p.demand_charge_cny_per_kw_month * 1e3 * episode_h / HOURS_PER_MONTH


def park_accounts(
    flows: ParkFlows,
    exo: Mapping[str, FloatArray],
    p: ParkParams,
    dt_h: float,
    demand_cny_per_mw: float,
) -> tuple[dict[str, FloatArray], dict[str, FloatArray]]:
    """Emissions [tCO2 by source] and non-carbon costs [CNY by term] of one step's flows.

    ``demand``: the demand charge booked as the billing-period peak rises
    (``demand_cny_per_mw`` x the step's rise of the peak), so an episode's ``demand`` sums to
    the charge on its highest import.
    """
    gas_mwh = flows.gas_heat_mw * dt_h
    emissions = {
        "grid": flows.import_mw * dt_h * exo["intensity"],
        "fuel": gas_mwh * p.gas_t_co2_per_mwh_heat,
    }
    costs = {
        "energy": dt_h
        * (flows.import_mw * exo["price_import"] - flows.export_mw * exo["price_export"]),
        "demand": demand_cny_per_mw * flows.peak_increase_mw,
        "fuel": gas_mwh * p.gas_cny_per_mwh_heat,
        "degradation": p.battery_degradation_cny_per_mwh
        * dt_h
        * (flows.charge_mw + flows.discharge_mw),
        "penalty": dt_h
        * (
            p.value_of_lost_load_cny_per_mwh * flows.shed_mw
            + p.value_of_unserved_heat_cny_per_mwh * flows.unserved_heat_mw
        ),
    }
    return emissions, costs


@dataclass(frozen=True)
class StoreValues:
    """Terminal value of stored energy [CNY per MWh stored], deficit and surplus per store.

    Energy missing at the episode's end against its start costs ``*_deficit`` per MWh;
    energy added earns ``*_surplus`` per MWh (``surplus <= deficit``: the value is convex, so
    it is exact in the LP).
    """

    battery_deficit: float
    battery_surplus: float
    heat_deficit: float
    heat_surplus: float


def store_values(p: ParkParams, carbon_price_cny_per_t: float) -> StoreValues:
    """The terminal values of the battery's and the heat store's energy [CNY/MWh stored].

    Grid electricity over a day of the tariff costs ``price + carbon x intensity`` (quarter-
    hour grid of the time-of-use schedule and the synthetic intensity shape).

    * Battery, energy missing: the dearest grid energy of the day (peak price with carbon at
      the highest intensity). A MWh drawn from the battery replaces at most that much grid
      energy (after its discharge loss and degradation), so ending below the start never
      pays (short of avoiding load shedding).
    * Battery, energy added: its replacement value, the cheapest grid energy of the day plus
      the degradation of charging, over the charge efficiency (what the next day's valley
      charge saves); ending above the start pays only for energy that came cheaper
      (renewable surplus).
    * Heat store, energy missing: gas heat with its carbon (the backup boiler is the marginal
      heat source). A MWh of stored heat displaces at most that much gas heat.
    * Heat store, energy added: the electric boiler's heat at the cheapest grid energy.

    The values are money only: the carbon price is in them, but no CO2 is booked for stored
    energy (the emissions are the window's physical emissions).
    """
    hours = np.arange(0.0, 24.0, 0.25)
    mult = np.array([TOU_MULTIPLIERS[p.tou_schedule[int(h)]] for h in hours])
    grid = GridIntensity(p.grid_mean_t_per_mwh, synthetic_china_grid_shape(p.grid_shape_amplitude))
    grid_cost = p.tariff_flat_cny_per_mwh * mult + carbon_price_cny_per_t * grid.at_hours(hours)
    dearest, cheapest = float(grid_cost.max()), float(grid_cost.min())
    gas = p.gas_cny_per_mwh_heat + carbon_price_cny_per_t * p.gas_t_co2_per_mwh_heat
    b_surplus = (cheapest + p.battery_degradation_cny_per_mwh) / p.battery_eta_charge
    return StoreValues(
        battery_deficit=dearest,
        battery_surplus=min(b_surplus, dearest),
        heat_deficit=gas,
        heat_surplus=min(cheapest / p.flex_efficiency, gas),
    )


def inventory_cost(
    energy0_mwh: FloatArray,
    energy_mwh: FloatArray,
    heat0_mwh: FloatArray,
    heat_mwh: FloatArray,
    values: StoreValues,
) -> FloatArray:
    """Cost term ``inventory`` [CNY] per batch row: stored energy missing against the start.

    Missing energy costs the deficit value, added energy earns the surplus value
    (:func:`store_values`), for the battery and the heat store. The env books it at an
    episode's last step.
    """
    db = energy0_mwh - energy_mwh
    dh = heat0_mwh - heat_mwh
    return (
        np.where(db > 0, values.battery_deficit, values.battery_surplus) * db
        + np.where(dh > 0, values.heat_deficit, values.heat_surplus) * dh
    )
