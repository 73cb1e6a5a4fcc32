"""The park's physics and accounts, written once over a leading batch axis."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..scenario import FloatArray, clip
from .params import ParkParams


@dataclass
class ParkFlows:
    """Power flows of one step [MW], each an array over the batch axis."""

    charge_mw: FloatArray
    discharge_mw: FloatArray
    flex_mw: FloatArray
    import_mw: FloatArray
    export_mw: FloatArray
    curtail_mw: FloatArray
    shed_mw: FloatArray
    backup_heat_mwh: FloatArray
    battery_limited_mw: FloatArray
    import_limited_mw: FloatArray
    residual_mw: FloatArray


def park_step(
    energy_mwh: FloatArray,
    heat_left_mwh: FloatArray,
    battery_mw: FloatArray,
    flex_mw: FloatArray,
    exo: Mapping[str, FloatArray],
    p: ParkParams,
    dt_h: float,
) -> tuple[FloatArray, FloatArray, ParkFlows]:
    """One step of the park's physics over a batch (leading axis).

    Args:
        energy_mwh: stored energy at step start [MWh].
        heat_left_mwh: process heat still due today [MWh heat].
        battery_mw: requested battery power [MW], > 0 discharge, < 0 charge.
        flex_mw: requested electric-boiler power [MW].
        exo: this step's ``wind_mw``, ``pv_mw``, ``load_mw`` and ``day_end`` (bool).
        p: parameters.
        dt_h: step [h].

    Returns:
        Stored energy and heat left after the step, and the step's flows.

    Requests are limited, in this order, by the SOC window (including self-discharge), the
    boiler's rating and the heat still due, and the grid import limit (battery charging is
    cut first, then the boiler, and only then is base load shed). Surplus beyond the export
    limit is curtailed. The balance
    ``wind + pv - curtail + import + discharge = load - shed + flex + charge + export`` holds.
    """
    decayed = energy_mwh - p.battery_self_discharge_per_h * dt_h * (energy_mwh - p.e_min_mwh)
    pd_max = clip((decayed - p.e_min_mwh) * p.battery_eta_discharge / dt_h, 0.0, p.battery_power_mw)
    pc_max = clip((p.e_max_mwh - decayed) / (p.battery_eta_charge * dt_h), 0.0, p.battery_power_mw)
    discharge = clip(battery_mw, 0.0, pd_max)
    charge = clip(-battery_mw, 0.0, pc_max)
    battery_limited = np.abs(battery_mw) - discharge - charge
    flex_cap = np.minimum(p.flex_power_mw, heat_left_mwh / (p.flex_efficiency * dt_h))
    flex = clip(flex_mw, 0.0, np.maximum(flex_cap, 0.0))

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

    energy_next = (
        decayed + p.battery_eta_charge * charge * dt_h - discharge * dt_h / p.battery_eta_discharge
    )
    heat_next = heat_left_mwh - p.flex_efficiency * flex * dt_h
    day_end = np.asarray(exo["day_end"], dtype=bool)
    backup = np.where(day_end, np.maximum(heat_next, 0.0), 0.0)
    heat_next = np.where(day_end, p.flex_daily_heat_mwh, heat_next)
    residual = (wind + pv - curtail + imports + discharge) - (load - shed + flex + charge + exports)
    flows = ParkFlows(
        charge_mw=charge,
        discharge_mw=discharge,
        flex_mw=flex,
        import_mw=imports,
        export_mw=exports,
        curtail_mw=curtail,
        shed_mw=shed,
        backup_heat_mwh=backup,
        battery_limited_mw=battery_limited,
        import_limited_mw=cut_charge + cut_flex + shed,
        residual_mw=residual,
    )
    return energy_next, heat_next, flows
