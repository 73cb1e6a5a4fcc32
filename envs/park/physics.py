"""The park's physics, written once over a leading batch axis."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..scenario import FloatArray, clip
from .params import ParkParams


@dataclass
class ParkFlows:
    """Power and heat flows of one step [MW], each an array over the batch axis."""

    charge_mw: FloatArray
    discharge_mw: FloatArray
    flex_mw: FloatArray
    import_mw: FloatArray
    export_mw: FloatArray
    curtail_mw: FloatArray
    shed_mw: FloatArray
    boiler_heat_mw: FloatArray
    store_charge_mw: FloatArray
    store_discharge_mw: FloatArray
    gas_heat_mw: FloatArray
    unserved_heat_mw: FloatArray
    peak_increase_mw: FloatArray
    battery_limited_mw: FloatArray
    boiler_limited_mw: FloatArray
    import_limited_mw: FloatArray
    residual_mw: FloatArray
    heat_residual_mw: FloatArray


def park_step(
    energy_mwh: FloatArray,
    heat_mwh: FloatArray,
    peak_mw: FloatArray,
    battery_mw: FloatArray,
    flex_mw: FloatArray,
    exo: Mapping[str, FloatArray],
    p: ParkParams,
    dt_h: float,
) -> tuple[FloatArray, FloatArray, FloatArray, ParkFlows]:
    """One step of the park's physics over a batch (leading axis).

    Args:
        energy_mwh: battery energy at step start [MWh].
        heat_mwh: heat in the store at step start [MWh heat].
        peak_mw: highest import of the billing period (the episode) so far [MW].
        battery_mw: requested battery power [MW], > 0 discharge, < 0 charge.
        flex_mw: requested electric-boiler power [MW electric].
        exo: this step's ``wind_mw``, ``pv_mw``, ``load_mw`` and ``heat_demand_mw``.
        p: parameters.
        dt_h: step [h].

    Returns:
        Battery energy, stored heat and peak import after the step, and the step's flows.

    Electricity: requests are limited, in this order, by the SOC window (including
    self-discharge), the boiler's rating and what its heat can go to (the demand plus what
    the store can take), and the grid import limit (battery charging is cut first, then the
    boiler, and only then is base load shed). Surplus beyond the export limit is curtailed.
    ``wind + pv - curtail + import + discharge = load - shed + flex + charge + export``.

    Heat: the boiler's heat serves the demand first and charges the store with the rest; what
    the boiler does not cover comes from the store (up to its discharge limit and content),
    then from the gas backup boiler (up to its rating); the remainder is undelivered. The
    store loses ``heat_store_loss_per_h`` of its content per hour.
    ``boiler + store discharge + gas + undelivered = demand + store charge``.
    """
    decayed = energy_mwh - p.battery_self_discharge_per_h * dt_h * (energy_mwh - p.e_min_mwh)
    pd_max = clip((decayed - p.e_min_mwh) * p.battery_eta_discharge / dt_h, 0.0, p.battery_power_mw)
    pc_max = clip((p.e_max_mwh - decayed) / (p.battery_eta_charge * dt_h), 0.0, p.battery_power_mw)
    discharge = clip(battery_mw, 0.0, pd_max)
    charge = clip(-battery_mw, 0.0, pc_max)
    battery_limited = np.abs(battery_mw) - discharge - charge

    demand = exo["heat_demand_mw"]
    held = heat_mwh * (1.0 - p.heat_store_loss_per_h * dt_h)
    room = np.minimum(
        np.maximum(p.heat_store_capacity_mwh - held, 0.0) / dt_h, p.heat_store_charge_mw
    )
    flex_req = clip(flex_mw, 0.0, p.flex_power_mw)
    flex = np.minimum(flex_req, (demand + room) / p.flex_efficiency)

    wind, pv, load = exo["wind_mw"], exo["pv_mw"], exo["load_mw"]
    net = load + flex + charge - discharge - wind - pv
    excess = np.maximum(net - p.grid_import_limit_mw, 0.0)
    cut_charge = np.minimum(excess, charge)
    charge = charge - cut_charge
    excess = excess - cut_charge
    cut_flex = np.minimum(excess, flex)
    flex = flex - cut_flex
    shed = np.minimum(excess - cut_flex, load)
    net = load - shed + flex + charge - discharge - wind - pv
    imports = np.maximum(net, 0.0)
    surplus = np.maximum(-net, 0.0)
    exports = np.minimum(surplus, p.grid_export_limit_mw)
    curtail = surplus - exports

    boiler = p.flex_efficiency * flex
    direct = np.minimum(boiler, demand)
    store_in = boiler - direct
    need = demand - direct
    store_out = np.minimum(np.minimum(need, p.heat_store_discharge_mw), held / dt_h)
    gas = np.minimum(need - store_out, p.gas_boiler_heat_mw)
    unserved = need - store_out - gas

    energy_next = (
        decayed + p.battery_eta_charge * charge * dt_h - discharge * dt_h / p.battery_eta_discharge
    )
    heat_next = np.maximum(held + (store_in - store_out) * dt_h, 0.0)
    peak_next = np.maximum(peak_mw, imports)
    residual = (wind + pv - curtail + imports + discharge) - (load - shed + flex + charge + exports)
    heat_residual = (boiler + store_out + gas + unserved) - (demand + store_in)
    flows = ParkFlows(
        charge_mw=charge,
        discharge_mw=discharge,
        flex_mw=flex,
        import_mw=imports,
        export_mw=exports,
        curtail_mw=curtail,
        shed_mw=shed,
        boiler_heat_mw=boiler,
        store_charge_mw=store_in,
        store_discharge_mw=store_out,
        gas_heat_mw=gas,
        unserved_heat_mw=unserved,
        peak_increase_mw=peak_next - peak_mw,
        battery_limited_mw=battery_limited,
        boiler_limited_mw=flex_req - flex - cut_flex,
        import_limited_mw=cut_charge + cut_flex + shed,
        residual_mw=residual,
        heat_residual_mw=heat_residual,
    )
    return energy_next, heat_next, peak_next, flows
