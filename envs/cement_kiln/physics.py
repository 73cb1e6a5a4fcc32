"""The rotary kiln's burning zone, the design point and the plant's step.

* **Rotary kiln**: the burning-zone temperature is a lumped heat balance (bed, coating and
  refractory) of kiln fuel + secondary air against the kiln exit gas, residual calcination,
  clinker formation (net exothermic), clinker sensible heat and shell loss. The material load
  reaches the burning zone after a transport dead time (30 min), so uncalcined meal from the
  calciner cools the burning zone half an hour later.
* **Quality**: free lime falls exponentially with burning-zone temperature and rises with LSF
  (Fundal's burnability), with a 10-min lag (the lab that measures it:
  :mod:`~ecocontrol.envs.cement_kiln.observation`).
* **Design**: the kiln shell and calciner wall losses and the air flows at full fan speed are
  *derived* (:func:`kiln_design`) so that the literature nominal point closes: 3.3 GJ/t with
  65 % of the fuel in the calciner, burning zone 1,450 degC, calciner outlet 870 degC,
  kiln-inlet O2 3 %, calciner-exit O2 2.5 %.
"""

from __future__ import annotations

import functools
import math
from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from ..scenario import FloatArray
from ..thermo import NM3_PER_KMOL, gas_enthalpy_kw
from .combustion import (
    Cooler,
    Heats,
    KilnGas,
    calciner_balance,
    calciner_discharge,
    grate_cooler,
    kiln_combustion,
    kiln_gas_temp,
    nox_mg_nm3,
    preheater_exit,
)
from .observation import lab_update
from .params import CO2_PER_CACO3, M_CACO3, SOLID_FUELS, CementKilnParams, KilnDesign
from .state import KilnFlows, KilnState


def burning_zone_terms(
    bz_c: FloatArray,
    kiln: KilnGas,
    fan: FloatArray,
    solids_kg_s: FloatArray,
    caco3_left_kg_s: FloatArray,
    solids_c: FloatArray,
    clinker_kg_s: FloatArray,
    p: CementKilnParams,
    d: KilnDesign,
    cooler: Cooler | None = None,
) -> tuple[dict[str, FloatArray], dict[str, FloatArray]]:
    """Heat flows into and out of the burning zone [MW].

    The clinker carries its heat to the cooler; the secondary air brings the cooler's
    recuperated share back (``cooler``, default :func:`grate_cooler` at ``bz_c``). The
    clinker-formation heat is booked while clinker is made (net exothermic).
    """
    if cooler is None:
        cooler = grate_cooler(bz_c, clinker_kg_s, fan, p, d)
    cp_s = p.meal_cp_kj_per_kg_k / 1000.0
    clinkering = clinker_kg_s * p.clinkering_mj_per_kg  # negative: exothermic
    heat_in = {
        "fuel": kiln.heat_mw,
        "secondary_air": cooler.secondary_mw,
        "solids": solids_kg_s * cp_s * (solids_c - 25.0),
        "clinkering": np.maximum(-clinkering, 0.0),
    }
    heat_out = {
        "gas": gas_enthalpy_kw(kiln.gas, kiln_gas_temp(bz_c, p)) / 1000.0,
        "calcination": caco3_left_kg_s * p.calcination_mj_per_kg,
        "clinkering": np.maximum(clinkering, 0.0),
        "clinker": cooler.clinker_heat_mw,
        "shell": d.kiln_ua_mw_per_k * (bz_c - 25.0),
    }
    return heat_in, heat_out


@functools.lru_cache(maxsize=16)
def kiln_design(p: CementKilnParams) -> KilnDesign:
    """Air flows at fan speed 1 and wall losses that close the nominal point.

    Nominal: ``nominal_ste_gj_per_t`` at the nominal clinker rate with ``calciner_fuel_share``
    in the calciner (no alternative fuel, design LHVs), burning zone ``bz_nominal_c``,
    calciner outlet ``calciner_nominal_c``, O2 at their nominal values.

    Raises:
        ValueError: if the nominal point needs a negative loss (parameters inconsistent).
    """
    one = np.ones(1)
    q = p.nominal_ste_gj_per_t * p.clinker_kg_s  # MW
    q_kiln, q_calc = (1.0 - p.calciner_fuel_share) * q, p.calciner_fuel_share * q
    caco3 = p.meal_kg_s * p.caco3_fraction
    a, _ = p.calcination(p.calciner_nominal_c)
    residual_co2 = (1.0 - a) * caco3 * NM3_PER_KMOL / M_CACO3
    # Kiln air for the nominal kiln-inlet O2 (linear in the air volume).
    fk = p.fuel("kiln_fuel")
    dem = q_kiln * fk.o2_nm3_per_mj
    prod = fk.products_nm3_per_mj * q_kiln
    x = p.kiln_o2_nominal_pct / 100.0
    kiln_air = (dem + x * (prod[0] + prod[2] + residual_co2 - dem)) / (0.21 - x)
    primary = p.primary_air_share * dem / 0.21
    # Placeholder design (losses zero) to evaluate the gas with the real functions.
    zero = KilnDesign(float(kiln_air), 0.0, float(primary), 0.0, 0.0, 1800.0, q_kiln, q_calc)
    kiln = kiln_combustion(q_kiln * one, one, residual_co2 * one, p, zero)
    fc = p.fuel("calciner_fuel")
    dem_c = q_calc * fc.o2_nm3_per_mj
    prod_c = fc.products_nm3_per_mj * q_calc
    co2_calc = a * caco3 * NM3_PER_KMOL / M_CACO3
    g = kiln.gas[:, 0]
    xc = p.calciner_o2_nominal_pct / 100.0
    # O2 out = g_O2 + 0.21 ta - dem_c ; dry = g_N2 + g_O2 + g_CO2 + ta - dem_c + prod N2, CO2
    dry_rest = g[0] + g[1] + g[2] - dem_c + prod_c[0] + prod_c[2] + co2_calc
    ta = (dem_c - g[1] + xc * dry_rest) / (0.21 - xc)
    zero = replace(zero, tertiary_air_nm3_s=float(ta))
    clinker = p.meal_kg_s - caco3 * CO2_PER_CACO3
    cooler = grate_cooler(p.bz_nominal_c * one, clinker * one, one, p, zero)
    kiln = kiln_combustion(q_kiln * one, one, residual_co2 * one, p, zero, cooler.secondary_c)
    heats = Heats(q_kiln * one, q_calc * one, 0.0 * one)
    bal = calciner_balance(
        p.meal_kg_s * one,
        caco3 * one,
        heats,
        one,
        kiln,
        kiln_gas_temp(p.bz_nominal_c * one, p),
        cooler,
        p.calciner_nominal_c * one,
        p,
        zero,
        solve=False,
    )
    calc_loss = float(bal.residual_mw[0])
    solids = p.meal_kg_s - a * caco3 * CO2_PER_CACO3
    hin, hout = burning_zone_terms(
        p.bz_nominal_c * one,
        kiln,
        one,
        solids * one,
        (1.0 - a) * caco3 * one,
        p.calciner_nominal_c * one,
        clinker * one,
        p,
        zero,
        cooler,
    )
    kiln_loss = float(
        np.sum(list(hin.values()), axis=0)[0] - np.sum(list(hout.values()), axis=0)[0]
    )
    if calc_loss <= 0.0 or kiln_loss <= 0.0:
        raise ValueError(
            f"CementKilnParams: the nominal point needs negative wall losses (calciner "
            f"{calc_loss:.1f} MW, kiln shell {kiln_loss:.1f} MW); allowed: parameters whose "
            "nominal heat balance leaves a positive loss (check nominal_ste_gj_per_t, "
            "calciner_fuel_share and cooler_recovery)"
        )
    return KilnDesign(
        kiln_air_nm3_s=float(kiln_air),
        tertiary_air_nm3_s=float(ta),
        primary_air_nm3_s=float(primary),
        kiln_ua_mw_per_k=kiln_loss / (p.bz_nominal_c - 25.0),
        calciner_ua_mw_per_k=calc_loss / (p.calciner_nominal_c - 25.0),
        flame_nominal_c=float(kiln.flame_c[0]),
        kiln_heat_mw=q_kiln,
        calciner_heat_mw=q_calc,
    )


def split_action(action: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """(kiln heat [MW], calciner heat [MW], AF share [-], fan speed [-]) from ``(B, 4)``."""
    return action[:, 0], action[:, 1], action[:, 2], action[:, 3]


def kiln_step(
    state: KilnState,
    action: FloatArray,
    exo: dict[str, FloatArray],
    p: CementKilnParams,
    dt_min: float,
    lab_sample: bool | NDArray[np.bool_],
) -> tuple[KilnState, KilnFlows]:
    """Advance the plant by ``dt_min`` with physical ``action`` ``(B, 4)``.

    The feed interlock acts on the burning zone at the start of the step: below
    ``interlock_bz_c`` the kiln feed is cut (no meal, so no calcination and no process CO2
    from new meal; the kiln's pipeline still drains into the burning zone for a dead time)
    until the burning zone is back above ``interlock_restart_bz_c``; the clinker not made
    is priced (``lost_production_cny_per_t``, :func:`kiln_accounts`).

    ``exo`` holds this step's ``feed`` (raw meal / nominal), ``lsf``, ``coal_lhv`` and
    ``af_lhv`` (actual / nominal heating value of the kiln-and-calciner fuel and of the
    alternative fuel) and ``lab_noise`` [%-points], each shape ``(B,)``. ``lab_sample`` (one
    flag, or one per row) takes a spot sample for the lab at this step.
    """
    d = kiln_design(p)
    dt_s = 60.0 * dt_min
    q_kiln, q_calc, af, fan = split_action(action)
    heats = Heats(
        kiln=q_kiln * exo["coal_lhv"],
        calciner_main=q_calc * (1.0 - af) * exo["coal_lhv"],
        calciner_af=q_calc * af * exo["af_lhv"],
    )
    fuel_kg_s: dict[str, FloatArray] = {}
    for role, q in (
        ("kiln_fuel", q_kiln),
        ("calciner_fuel", q_calc * (1.0 - af)),
        ("alternative_fuel", q_calc * af),
    ):
        name = getattr(p, role)
        lhv = SOLID_FUELS[name].fuel.lhv_mj_per_unit
        fuel_kg_s[name] = fuel_kg_s.get(name, np.zeros_like(q)) + q / lhv
    # Material now reaching the burning zone: the pipeline's oldest entry.
    solids, caco3_left = state.pipe_solids[:, 0], state.pipe_caco3[:, 0]
    solids_c, clinker, lsf_bz = (
        state.pipe_temp[:, 0],
        state.pipe_clinker[:, 0],
        state.pipe_lsf[:, 0],
    )
    residual_co2 = caco3_left * NM3_PER_KMOL / M_CACO3
    cooler = grate_cooler(state.bz_c, clinker, fan, p, d)
    kiln = kiln_combustion(heats.kiln, fan, residual_co2, p, d, cooler.secondary_c)
    bz_in, bz_out = burning_zone_terms(
        state.bz_c, kiln, fan, solids, caco3_left, solids_c, clinker, p, d, cooler
    )
    net = sum(bz_in.values()) - sum(bz_out.values())
    kiln_gas_c = kiln_gas_temp(state.bz_c, p)
    # The feed interlock: cut below interlock_bz_c, back above interlock_restart_bz_c.
    feed_on = np.where(
        state.feed_on > 0.5,
        np.where(state.bz_c < p.interlock_bz_c, 0.0, 1.0),
        np.where(state.bz_c >= p.interlock_restart_bz_c, 1.0, 0.0),
    )
    planned = exo["feed"] * p.meal_kg_s
    share = p.caco3_share(exo["lsf"])
    meal = planned * feed_on
    caco3 = meal * share
    lost_clinker = planned * (1.0 - feed_on) * (1.0 - CO2_PER_CACO3 * share)
    cal = calciner_balance(
        meal, caco3, heats, fan, kiln, kiln_gas_c, cooler, state.calciner_c, p, d
    )
    ph_c, ph_loss = preheater_exit(cal, meal, p)
    # Burning zone: explicit Euler (time constant about 20 min >> 1 min).
    bz = state.bz_c + net * dt_s / p.bz_heat_capacity_mj_per_k
    # Free lime lags the burning zone.
    f_eq = p.free_lime_eq(state.bz_c, lsf_bz)
    lag = math.exp(-dt_min / p.free_lime_lag_min)
    free_lime = f_eq + (state.free_lime_pct - f_eq) * lag
    # Pipeline: drop the oldest, append what leaves the calciner now.
    keys = ("pipe_solids", "pipe_caco3", "pipe_temp", "pipe_clinker")
    new = dict(zip(keys, calciner_discharge(meal, caco3, cal.degree, cal.temp_c), strict=True))
    new["pipe_lsf"] = exo["lsf"]
    pipes = {
        k: np.concatenate([getattr(state, k)[:, 1:], v[:, None]], axis=1) for k, v in new.items()
    }
    # The lab samples the clinker leaving now (its free lime) and publishes results late.
    pending, left, last, age = lab_update(state, free_lime, exo["lab_noise"], lab_sample, p, dt_min)
    nox = nox_mg_nm3(kiln.flame_c, kiln.o2_pct, p, d)
    new_state = KilnState(
        bz_c=bz,
        calciner_c=cal.temp_c,
        free_lime_pct=free_lime,
        lab_pending_pct=pending,
        lab_pending_left_min=left,
        lab_last_pct=last,
        lab_age_min=age,
        last_action=action.copy(),
        feed_on=feed_on,
        **pipes,
    )
    flows = KilnFlows(
        heats=heats,
        fuel_kg_s=fuel_kg_s,
        kiln=kiln,
        calciner=cal,
        bz_in=bz_in,
        bz_out=bz_out,
        kiln_gas_c=kiln_gas_c,
        nox_mg_nm3=nox,
        clinker_kg_s=clinker,
        caco3_fed_kg_s=caco3,
        process_co2_kg_s=(cal.degree * caco3 + caco3_left) * CO2_PER_CACO3,
        fan_mw=p.fan_power_mw * fan**3,
        free_lime_eq_pct=f_eq,
        cooler=cooler,
        preheater_exit_c=ph_c,
        preheater_loss_mw=ph_loss,
        feed_on=feed_on,
        lost_clinker_kg_s=lost_clinker,
    )
    return new_state, flows
