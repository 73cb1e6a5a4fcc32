"""The park's physics, written once over a leading batch axis and compiled.

:func:`step_member` is the one implementation of a park's step (scalar code for member ``i``
of a batch, compiled with :func:`~ecocontrol.envs.jit.kernel`); the simulator's step kernel
and :func:`park_step` (the batched step for any caller) loop over members with it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, fields

import numpy as np

from ..jit import kernel
from ..scenario import FloatArray
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


#: Names of the flows, in the order of :class:`ParkFlows` and of the rows of a flow matrix.
FLOW_NAMES: tuple[str, ...] = tuple(f.name for f in fields(ParkFlows))
N_FLOWS = len(FLOW_NAMES)
# Rows of a flow matrix (the order of FLOW_NAMES), as the kernels index them.
(
    F_CHARGE,
    F_DISCHARGE,
    F_FLEX,
    F_IMPORT,
    F_EXPORT,
    F_CURTAIL,
    F_SHED,
    F_BOILER,
    F_STORE_IN,
    F_STORE_OUT,
    F_GAS,
    F_UNSERVED,
    F_PEAK_RISE,
    F_BATTERY_LIMITED,
    F_BOILER_LIMITED,
    F_IMPORT_LIMITED,
    F_RESIDUAL,
    F_HEAT_RESIDUAL,
) = range(N_FLOWS)

# Entries of the parameter vector the kernels read (:func:`physics_constants`).
(
    P_DT,
    P_SELF_DISCHARGE,
    P_E_MIN,
    P_E_MAX,
    P_ETA_CHARGE,
    P_ETA_DISCHARGE,
    P_BATTERY_MW,
    P_STORE_LOSS,
    P_STORE_MWH,
    P_STORE_CHARGE_MW,
    P_STORE_DISCHARGE_MW,
    P_FLEX_MW,
    P_FLEX_EFFICIENCY,
    P_IMPORT_LIMIT,
    P_EXPORT_LIMIT,
    P_GAS_MW,
) = range(16)


@functools.lru_cache(maxsize=32)
def physics_constants(p: ParkParams, dt_h: float) -> FloatArray:
    """The parameters :func:`step_member` reads, as one float64 vector (read-only)."""
    values = np.array(
        [
            dt_h,
            p.battery_self_discharge_per_h,
            p.e_min_mwh,
            p.e_max_mwh,
            p.battery_eta_charge,
            p.battery_eta_discharge,
            p.battery_power_mw,
            p.heat_store_loss_per_h,
            p.heat_store_capacity_mwh,
            p.heat_store_charge_mw,
            p.heat_store_discharge_mw,
            p.flex_power_mw,
            p.flex_efficiency,
            p.grid_import_limit_mw,
            p.grid_export_limit_mw,
            p.gas_boiler_heat_mw,
        ],
        dtype=np.float64,
    )
    values.flags.writeable = False
    return values


@kernel
def maximum(a: float, b: float) -> float:
    """``np.maximum`` of two floats (NaN propagates; ``a`` on a tie, as numpy's loop)."""
    return a if (a >= b or a != a) else b


@kernel
def minimum(a: float, b: float) -> float:
    """``np.minimum`` of two floats (NaN propagates; ``a`` on a tie, as numpy's loop)."""
    return a if (a <= b or a != a) else b


@kernel
def step_member(
    energy_mwh: float,
    heat_mwh: float,
    peak_mw: float,
    battery_mw: float,
    flex_mw: float,
    wind: float,
    pv: float,
    load: float,
    demand: float,
    c: FloatArray,
    flows: FloatArray,
    i: int,
) -> tuple[float, float, float]:
    """One park's step (member ``i`` of a batch); the flows go to column ``i`` of ``flows``.

    Args:
        energy_mwh: battery energy at step start [MWh].
        heat_mwh: heat in the store at step start [MWh heat].
        peak_mw: highest import of the billing period (the episode) so far [MW].
        battery_mw: requested battery power [MW], > 0 discharge, < 0 charge.
        flex_mw: requested electric-boiler power [MW electric].
        wind: wind power [MW].
        pv: PV power [MW].
        load: base load [MW].
        demand: heat demand [MW heat].
        c: :func:`physics_constants`.
        flows: the flow matrix, shape ``(N_FLOWS, n)`` (rows as :data:`FLOW_NAMES`).
        i: the member's column.

    Returns:
        Battery energy, stored heat and peak import after the step.

    The arithmetic and its order are those of the numpy expressions of the model (see
    :func:`park_step`), so results do not depend on the batch size.
    """
    dt = c[P_DT]
    e_min = c[P_E_MIN]
    p_max = c[P_BATTERY_MW]
    decayed = energy_mwh - c[P_SELF_DISCHARGE] * dt * (energy_mwh - e_min)
    pd_max = minimum(maximum((decayed - e_min) * c[P_ETA_DISCHARGE] / dt, 0.0), p_max)
    pc_max = minimum(maximum((c[P_E_MAX] - decayed) / (c[P_ETA_CHARGE] * dt), 0.0), p_max)
    discharge = minimum(maximum(battery_mw, 0.0), pd_max)
    charge = minimum(maximum(-battery_mw, 0.0), pc_max)
    battery_limited = abs(battery_mw) - discharge - charge

    held = heat_mwh * (1.0 - c[P_STORE_LOSS] * dt)
    room = minimum(maximum(c[P_STORE_MWH] - held, 0.0) / dt, c[P_STORE_CHARGE_MW])
    flex_req = minimum(maximum(flex_mw, 0.0), c[P_FLEX_MW])
    flex = minimum(flex_req, (demand + room) / c[P_FLEX_EFFICIENCY])

    net = load + flex + charge - discharge - wind - pv
    excess = maximum(net - c[P_IMPORT_LIMIT], 0.0)
    cut_charge = minimum(excess, charge)
    charge = charge - cut_charge
    excess = excess - cut_charge
    cut_flex = minimum(excess, flex)
    flex = flex - cut_flex
    shed = minimum(excess - cut_flex, load)
    net = load - shed + flex + charge - discharge - wind - pv
    imports = maximum(net, 0.0)
    surplus = maximum(-net, 0.0)
    exports = minimum(surplus, c[P_EXPORT_LIMIT])
    curtail = surplus - exports

    boiler = c[P_FLEX_EFFICIENCY] * flex
    direct = minimum(boiler, demand)
    store_in = boiler - direct
    need = demand - direct
    store_out = minimum(minimum(need, c[P_STORE_DISCHARGE_MW]), held / dt)
    gas = minimum(need - store_out, c[P_GAS_MW])
    unserved = need - store_out - gas

    energy_next = decayed + c[P_ETA_CHARGE] * charge * dt - discharge * dt / c[P_ETA_DISCHARGE]
    heat_next = maximum(held + (store_in - store_out) * dt, 0.0)
    peak_next = maximum(peak_mw, imports)

    flows[F_CHARGE, i] = charge
    flows[F_DISCHARGE, i] = discharge
    flows[F_FLEX, i] = flex
    flows[F_IMPORT, i] = imports
    flows[F_EXPORT, i] = exports
    flows[F_CURTAIL, i] = curtail
    flows[F_SHED, i] = shed
    flows[F_BOILER, i] = boiler
    flows[F_STORE_IN, i] = store_in
    flows[F_STORE_OUT, i] = store_out
    flows[F_GAS, i] = gas
    flows[F_UNSERVED, i] = unserved
    flows[F_PEAK_RISE, i] = peak_next - peak_mw
    flows[F_BATTERY_LIMITED, i] = battery_limited
    flows[F_BOILER_LIMITED, i] = flex_req - flex - cut_flex
    flows[F_IMPORT_LIMITED, i] = cut_charge + cut_flex + shed
    flows[F_RESIDUAL, i] = (wind + pv - curtail + imports + discharge) - (
        load - shed + flex + charge + exports
    )
    flows[F_HEAT_RESIDUAL, i] = (boiler + store_out + gas + unserved) - (demand + store_in)
    return energy_next, heat_next, peak_next


@kernel
def _step_batch(
    state: FloatArray, actions: FloatArray, exo: FloatArray, c: FloatArray, flows: FloatArray
) -> None:
    """:func:`step_member` over a batch: ``state`` rows energy, heat, peak (updated in place)."""
    for i in range(state.shape[1]):
        e, h, pk = step_member(
            state[0, i],
            state[1, i],
            state[2, i],
            actions[0, i],
            actions[1, i],
            exo[0, i],
            exo[1, i],
            exo[2, i],
            exo[3, i],
            c,
            flows,
            i,
        )
        state[0, i] = e
        state[1, i] = h
        state[2, i] = pk


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

    The step is :func:`step_member`, compiled; this wrapper stacks the inputs for it.
    """
    state = np.array([energy_mwh, heat_mwh, peak_mw], dtype=np.float64, ndmin=2)
    n = state.shape[1]
    actions = np.array([battery_mw, flex_mw], dtype=np.float64, ndmin=2)
    keys = ("wind_mw", "pv_mw", "load_mw", "heat_demand_mw")
    series = np.array([exo[k] for k in keys], dtype=np.float64, ndmin=2)
    flows = np.empty((N_FLOWS, n))
    _step_batch(state, actions, series, physics_constants(p, float(dt_h)), flows)
    return state[0], state[1], state[2], ParkFlows(*flows)
