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

from ..jit import kernel
from ..scenario import FloatArray
from .params import HOURS_PER_MONTH, TOU_MULTIPLIERS, ParkParams
from .physics import (
    F_BATTERY_LIMITED,
    F_BOILER_LIMITED,
    F_CHARGE,
    F_DISCHARGE,
    F_EXPORT,
    F_GAS,
    F_IMPORT,
    F_IMPORT_LIMITED,
    F_PEAK_RISE,
    F_SHED,
    F_UNSERVED,
    FLOW_NAMES,
    ParkFlows,
)

#: Rows of an accounts matrix: the emissions [tCO2], the costs without carbon [CNY] and the
#: violations of a step (besides ``action_clipped``), in the order the simulator returns them.
EMISSION_NAMES: tuple[str, ...] = ("grid", "fuel")
COST_NAMES: tuple[str, ...] = ("energy", "demand", "fuel", "degradation", "penalty", "inventory")
VIOLATION_NAMES: tuple[str, ...] = (
    "battery_limited_mw",
    "boiler_limited_mw",
    "import_limited_mw",
    "unserved_load_mwh",
    "unserved_heat_mwh",
)
N_ACCOUNTS = len(EMISSION_NAMES) + len(COST_NAMES) + len(VIOLATION_NAMES)
A_COSTS = len(EMISSION_NAMES)  # first cost row
A_VIOLATIONS = A_COSTS + len(COST_NAMES)  # first violation row
A_INVENTORY = A_COSTS + COST_NAMES.index("inventory")

# Entries of the constants vector the accounts kernels read (:func:`scoring_constants`).
(
    S_DT,
    S_GAS_CO2,
    S_GAS_CNY,
    S_DEGRADATION,
    S_LOST_LOAD,
    S_UNSERVED_HEAT,
    S_DEMAND,
) = range(7)


def demand_charge_cny_per_mw(p: ParkParams, episode_h: float) -> float:
    """The demand charge of one episode per MW of its highest import [CNY/MW].

    ``demand_charge_cny_per_kw_month`` x 1000 kW/MW, pro-rated to the episode (the billing
    period) by ``episode_h / HOURS_PER_MONTH``.
    """
    return p.demand_charge_cny_per_kw_month * 1e3 * episode_h / HOURS_PER_MONTH


def scoring_constants(p: ParkParams, dt_h: float, demand_cny_per_mw: float) -> FloatArray:
    """The parameters :func:`accounts_member` reads, as one float64 vector."""
    return np.array(
        [
            dt_h,
            p.gas_t_co2_per_mwh_heat,
            p.gas_cny_per_mwh_heat,
            p.battery_degradation_cny_per_mwh,
            p.value_of_lost_load_cny_per_mwh,
            p.value_of_unserved_heat_cny_per_mwh,
            demand_cny_per_mw,
        ],
        dtype=np.float64,
    )


@kernel
def accounts_member(
    flows: FloatArray,
    i: int,
    intensity: float,
    price_import: float,
    price_export: float,
    c: FloatArray,
    out: FloatArray,
) -> None:
    """Emissions, non-carbon costs but ``inventory`` and violations of member ``i``'s flows.

    Writes column ``i`` of ``out`` (rows: :data:`EMISSION_NAMES`, :data:`COST_NAMES`,
    :data:`VIOLATION_NAMES`), all but the ``inventory`` row (:func:`inventory_member`).
    ``demand``: the demand charge booked as the billing-period peak rises (the demand charge
    per MW x the step's rise of the peak), so an episode's ``demand`` sums to the charge on
    its highest import.
    """
    dt = c[S_DT]
    imports = flows[F_IMPORT, i]
    gas_mwh = flows[F_GAS, i] * dt
    shed = flows[F_SHED, i]
    unserved = flows[F_UNSERVED, i]
    out[0, i] = imports * dt * intensity
    out[1, i] = gas_mwh * c[S_GAS_CO2]
    out[A_COSTS, i] = dt * (imports * price_import - flows[F_EXPORT, i] * price_export)
    out[A_COSTS + 1, i] = c[S_DEMAND] * flows[F_PEAK_RISE, i]
    out[A_COSTS + 2, i] = gas_mwh * c[S_GAS_CNY]
    out[A_COSTS + 3, i] = c[S_DEGRADATION] * dt * (flows[F_CHARGE, i] + flows[F_DISCHARGE, i])
    out[A_COSTS + 4, i] = dt * (c[S_LOST_LOAD] * shed + c[S_UNSERVED_HEAT] * unserved)
    out[A_VIOLATIONS, i] = flows[F_BATTERY_LIMITED, i]
    out[A_VIOLATIONS + 1, i] = flows[F_BOILER_LIMITED, i]
    out[A_VIOLATIONS + 2, i] = flows[F_IMPORT_LIMITED, i]
    out[A_VIOLATIONS + 3, i] = shed * dt
    out[A_VIOLATIONS + 4, i] = unserved * dt


@kernel
def inventory_member(
    energy0_mwh: float, energy_mwh: float, heat0_mwh: float, heat_mwh: float, v: FloatArray
) -> float:
    """Cost term ``inventory`` [CNY] of one park (see :func:`inventory_cost`).

    ``v``: the :class:`StoreValues` as a vector (:meth:`StoreValues.vector`).
    """
    db = energy0_mwh - energy_mwh
    dh = heat0_mwh - heat_mwh
    return (v[0] if db > 0 else v[1]) * db + (v[2] if dh > 0 else v[3]) * dh


@kernel
def _accounts_batch(flows: FloatArray, exo: FloatArray, c: FloatArray, out: FloatArray) -> None:
    """:func:`accounts_member` over a batch; ``exo`` rows intensity, import and export price."""
    for i in range(flows.shape[1]):
        accounts_member(flows, i, exo[0, i], exo[1, i], exo[2, i], c, out)


@kernel
def _inventory_batch(stores: FloatArray, c: FloatArray, out: FloatArray) -> None:
    """:func:`inventory_member` over a batch; ``stores`` rows energy0, energy, heat0, heat."""
    for i in range(stores.shape[1]):
        out[i] = inventory_member(stores[0, i], stores[1, i], stores[2, i], stores[3, i], c)


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
    the charge on its highest import. The accounts are :func:`accounts_member`, compiled
    (the ``inventory`` term is :func:`inventory_cost`).
    """
    matrix = np.array([getattr(flows, k) for k in FLOW_NAMES], dtype=np.float64, ndmin=2)
    keys = ("intensity", "price_import", "price_export")
    series = np.array([np.broadcast_to(exo[k], matrix.shape[1:]) for k in keys], dtype=np.float64)
    out = np.zeros((N_ACCOUNTS, matrix.shape[1]))
    _accounts_batch(matrix, series, scoring_constants(p, dt_h, demand_cny_per_mw), out)
    emissions = dict(zip(EMISSION_NAMES, out[:A_COSTS], strict=True))
    costs = dict(zip(COST_NAMES[:-1], out[A_COSTS:A_INVENTORY], strict=True))
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

    def vector(self) -> FloatArray:
        """The four values in the order of the fields (as :func:`inventory_member` reads them)."""
        return np.array(
            [self.battery_deficit, self.battery_surplus, self.heat_deficit, self.heat_surplus]
        )


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
    episode's last step (:func:`inventory_member`, compiled).
    """
    stores = np.array(
        np.broadcast_arrays(energy0_mwh, energy_mwh, heat0_mwh, heat_mwh), dtype=np.float64
    )
    shape = stores.shape[1:]
    stores = stores.reshape(4, -1)
    out = np.empty(stores.shape[1])
    _inventory_batch(stores, values.vector(), out)
    return out.reshape(shape)
