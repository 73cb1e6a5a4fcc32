"""The kiln's accounts of a step: CO2 by source, costs (carbon priced by the ledger), violations."""

from __future__ import annotations

import numpy as np

from ..jit import kernel
from ..scenario import FloatArray
from .params import (
    C_BZ_HI,
    C_BZ_LO,
    C_CO_LIMIT,
    C_CO_TRIP,
    C_ELEC,
    C_FL_HI,
    C_FL_LO,
    C_FUEL,
    C_GRID,
    C_N_SLOTS,
    C_NOX_LIMIT,
    C_PEN_CO,
    C_PEN_FL,
    C_PEN_LOST,
    C_PEN_NOX,
    C_PEN_TEMP,
    C_PEN_TRIP,
    C_SLOT_PRICE,
    C_TC_HI,
    C_TC_LO,
    FU_BIO,
    FU_FOSSIL,
    FUEL_BLOCK,
    CementKilnParams,
    fuel_slots,
    kiln_constants,
)
from .state import (
    A_LEN,
    COST_KEYS,
    EMISSION_KEYS,
    F_CALC_CO,
    F_CLINKER,
    F_FAN_MW,
    F_FEED_ON,
    F_FUEL_KG,
    F_HEATS,
    F_KILN_CO,
    F_LEN,
    F_LOST_CLINKER,
    F_NOX,
    F_PROCESS_CO2,
    VIOLATION_KEYS,
    KilnFlows,
    KilnState,
)


@kernel
def accounts_1(
    f: FloatArray,
    free_lime_pct: float,
    bz_c: float,
    calciner_c: float,
    c: FloatArray,
    dt_min: float,
    out: FloatArray,
    i: int,
) -> None:
    """Member ``i``'s accounts into column ``i`` of ``out`` ``(A_LEN, B)``.

    ``f``: the member's flows (:data:`~.state.F_LEN` columns); the state after the step.
    Rows: tCO2 by source (:data:`~.state.EMISSION_KEYS`), CNY by term
    (:data:`~.state.COST_KEYS`), violations (:data:`~.state.VIOLATION_KEYS`).
    """
    dt_s = 60.0 * dt_min
    # Each part of a mixed fuel at its own factor (RDF: fossil 91.7, biomass 100 t/TJ).
    fossil = 0.0
    biogenic = 0.0
    for r in range(3):
        gj = f[F_HEATS + r] * dt_s / 1000.0
        b = C_FUEL + FUEL_BLOCK * r
        fossil, biogenic = fossil + c[b + FU_FOSSIL] * gj, biogenic + c[b + FU_BIO] * gj
    fan_mwh = f[F_FAN_MW] * dt_min / 60.0
    out[0, i] = fossil
    out[1, i] = f[F_PROCESS_CO2] * dt_s / 1000.0
    out[2, i] = fan_mwh * c[C_GRID]
    out[3, i] = biogenic
    fuel_cost = 0.0
    for s in range(int(c[C_N_SLOTS])):
        fuel_cost = fuel_cost + c[C_SLOT_PRICE + s] * f[F_FUEL_KG + s] * dt_s / 1000.0
    fl_out = max(free_lime_pct - c[C_FL_HI], 0.0) + max(c[C_FL_LO] - free_lime_pct, 0.0)
    bz_out = max(bz_c - c[C_BZ_HI], 0.0) + max(c[C_BZ_LO] - bz_c, 0.0)
    tc_out = max(calciner_c - c[C_TC_HI], 0.0) + max(c[C_TC_LO] - calciner_c, 0.0)
    # CO at the kiln inlet and at the preheater exit (the precipitator's analyser).
    co_excess = max(max(f[F_KILN_CO], f[F_CALC_CO]) - c[C_CO_LIMIT], 0.0)
    co_trip = dt_min if f[F_CALC_CO] >= c[C_CO_TRIP] else 0.0
    lost_t = f[F_LOST_CLINKER] * dt_s / 1000.0
    nox_excess = max(f[F_NOX] - c[C_NOX_LIMIT], 0.0)
    clinker_t = f[F_CLINKER] * dt_s / 1000.0
    out[4, i] = fuel_cost
    out[5, i] = fan_mwh * c[C_ELEC]
    out[6, i] = (
        c[C_PEN_FL] * fl_out * clinker_t
        + c[C_PEN_TEMP] * (bz_out + tc_out) * dt_min
        + c[C_PEN_CO] * co_excess / c[C_CO_LIMIT] * dt_min
        + c[C_PEN_NOX] * nox_excess * dt_min
        + c[C_PEN_TRIP] * co_trip
        + c[C_PEN_LOST] * lost_t
    )
    out[7, i] = dt_min if fl_out > 0.0 else 0.0
    out[8, i] = fl_out * dt_min
    out[9, i] = bz_out * dt_min
    out[10, i] = tc_out * dt_min
    out[11, i] = co_excess * dt_min
    out[12, i] = nox_excess * dt_min
    out[13, i] = co_trip
    out[14, i] = dt_min if f[F_FEED_ON] < 0.5 else 0.0
    out[15, i] = lost_t


@kernel
def _accounts_many(
    f: FloatArray, s: FloatArray, c: FloatArray, dt_min: float, out: FloatArray
) -> None:
    for i in range(f.shape[0]):
        accounts_1(f[i], s[0, i], s[1, i], s[2, i], c, dt_min, out, i)


def split_accounts(
    acc: FloatArray,
) -> tuple[dict[str, FloatArray], dict[str, FloatArray], dict[str, FloatArray]]:
    """(tCO2 by source, CNY by term, violations) of the accounts ``acc`` ``(A_LEN, B)``."""
    rows = list(acc)
    return (
        dict(zip(EMISSION_KEYS, rows[0:4], strict=True)),
        dict(zip(COST_KEYS, rows[4:7], strict=True)),
        dict(zip(VIOLATION_KEYS, rows[7:A_LEN], strict=True)),
    )


def kiln_accounts(
    flows: KilnFlows, state: KilnState, p: CementKilnParams, dt_min: float
) -> tuple[dict[str, FloatArray], dict[str, FloatArray], dict[str, FloatArray]]:
    """(tCO2 by source, CNY by term except carbon, violations) of one step, each ``(B,)``.

    Penalties: free lime outside its band, burning zone and calciner outside their limits,
    CO above ``co_limit_ppm`` at the kiln inlet or the preheater exit, minutes of
    precipitator CO trip (preheater-exit CO at or above ``co_trip_ppm``), NOx above its
    limit, and the clinker a feed cut (interlock) does not make. Computed by
    :func:`accounts_1` (the step computes them with the flows; this is for flows at hand).
    """
    from .physics import kiln_design

    b = len(state.bz_c)
    f = np.zeros((b, F_LEN))
    h = flows.heats
    for r, q in enumerate((h.kiln, h.calciner_main, h.calciner_af)):
        f[:, F_HEATS + r] = q
    for s, name in enumerate(fuel_slots(p)):
        f[:, F_FUEL_KG + s] = flows.fuel_kg_s[name]
    for col, v in (
        (F_PROCESS_CO2, flows.process_co2_kg_s),
        (F_FAN_MW, flows.fan_mw),
        (F_KILN_CO, flows.kiln.co_ppm),
        (F_CALC_CO, flows.calciner.co_ppm),
        (F_LOST_CLINKER, flows.lost_clinker_kg_s),
        (F_NOX, flows.nox_mg_nm3),
        (F_CLINKER, flows.clinker_kg_s),
        (F_FEED_ON, flows.feed_on),
    ):
        f[:, col] = v
    after = np.stack([state.free_lime_pct, state.bz_c, state.calciner_c]).astype(np.float64)
    out = np.empty((A_LEN, b))
    _accounts_many(f, after, kiln_constants(p, kiln_design(p)), float(dt_min), out)
    return split_accounts(out)
