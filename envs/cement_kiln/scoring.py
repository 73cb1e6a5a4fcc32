"""The kiln's accounts of a step: CO2 by source, costs (carbon priced by the ledger), violations."""

from __future__ import annotations

import numpy as np

from ..scenario import FloatArray
from .params import CementKilnParams
from .state import KilnFlows, KilnState


def kiln_accounts(
    flows: KilnFlows, state: KilnState, p: CementKilnParams, dt_min: float
) -> tuple[dict[str, FloatArray], dict[str, FloatArray], dict[str, FloatArray]]:
    """(tCO2 by source, CNY by term except carbon, violations) of one step, each ``(B,)``.

    Penalties: free lime outside its band, burning zone and calciner outside their limits,
    CO above ``co_limit_ppm`` at the kiln inlet or the preheater exit, minutes of
    precipitator CO trip (preheater-exit CO at or above ``co_trip_ppm``), NOx above its
    limit, and the clinker a feed cut (interlock) does not make.
    """
    dt_s = 60.0 * dt_min
    h = flows.heats
    fossil = np.zeros_like(h.kiln)
    biogenic = np.zeros_like(h.kiln)
    for role, q in (
        ("kiln_fuel", h.kiln),
        ("calciner_fuel", h.calciner_main),
        ("alternative_fuel", h.calciner_af),
    ):
        # Each part of a mixed fuel at its own factor (RDF: fossil 91.7, biomass 100 t/TJ).
        f_fossil, f_bio = p.co2_t_per_gj_parts(role)
        gj = q * dt_s / 1000.0
        fossil, biogenic = fossil + f_fossil * gj, biogenic + f_bio * gj
    fan_mwh = flows.fan_mw * dt_min / 60.0
    emissions = {
        "fuel": fossil,
        "process": flows.process_co2_kg_s * dt_s / 1000.0,
        "grid": fan_mwh * p.grid_factor_t_per_mwh,
        "biogenic": biogenic,
    }
    prices = dict(p.fuel_price_cny_per_t)
    fuel_cost = np.zeros_like(fossil)
    for name, kg in flows.fuel_kg_s.items():
        fuel_cost = fuel_cost + prices[name] * kg * dt_s / 1000.0
    fl_lo, fl_hi = p.free_lime_band_pct
    fl = state.free_lime_pct
    fl_out = np.maximum(fl - fl_hi, 0.0) + np.maximum(fl_lo - fl, 0.0)
    bz, tc = state.bz_c, state.calciner_c
    bz_out = np.maximum(bz - p.bz_limits_c[1], 0.0) + np.maximum(p.bz_limits_c[0] - bz, 0.0)
    tc_out = np.maximum(tc - p.calciner_limits_c[1], 0.0) + np.maximum(
        p.calciner_limits_c[0] - tc, 0.0
    )
    # CO at the kiln inlet and at the preheater exit (the precipitator's analyser).
    co = np.maximum(flows.kiln.co_ppm, flows.calciner.co_ppm)
    co_excess = np.maximum(co - p.co_limit_ppm, 0.0)
    co_trip = np.where(flows.calciner.co_ppm >= p.co_trip_ppm, dt_min, 0.0)
    lost_t = flows.lost_clinker_kg_s * dt_s / 1000.0
    nox_excess = np.maximum(flows.nox_mg_nm3 - p.nox_limit_mg_nm3, 0.0)
    clinker_t = flows.clinker_kg_s * dt_s / 1000.0
    penalty = (
        p.penalty_free_lime_cny_per_t_pct * fl_out * clinker_t
        + p.penalty_temp_cny_per_k_min * (bz_out + tc_out) * dt_min
        + p.penalty_co_cny_per_min * co_excess / p.co_limit_ppm * dt_min
        + p.penalty_nox_cny_per_mg_min * nox_excess * dt_min
        + p.penalty_co_trip_cny_per_min * co_trip
        + p.lost_production_cny_per_t * lost_t
    )
    costs = {
        "fuel": fuel_cost,
        "energy": fan_mwh * p.electricity_cny_per_mwh,
        "penalty": penalty,
    }
    violations = {
        "free_lime_out_min": np.where(fl_out > 0.0, dt_min, 0.0),
        "free_lime_out_pct_min": fl_out * dt_min,
        "bz_limit_k_min": bz_out * dt_min,
        "calciner_limit_k_min": tc_out * dt_min,
        "co_excess_ppm_min": co_excess * dt_min,
        "nox_excess_mg_min": nox_excess * dt_min,
        "co_trip_min": co_trip,
        "feed_cut_min": np.where(flows.feed_on < 0.5, dt_min, 0.0),
        "lost_clinker_t": lost_t,
    }
    return emissions, costs, violations
