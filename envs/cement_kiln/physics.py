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
from numpy.typing import ArrayLike, NDArray

from ..jit import kernel
from ..scenario import FloatArray
from ..thermo import NM3_PER_KMOL, broadcast_flat, gas_enthalpy_1k, kernel_tables
from .combustion import (
    Cooler,
    Heats,
    KilnGas,
    calciner_1,
    calciner_balance,
    cooler_1,
    discharge_1,
    grate_cooler,
    kiln_combustion,
    kiln_gas_1,
    kiln_gas_temp,
    kiln_gas_temp_1,
    nox_1,
    preheater_1,
)
from .observation import lab_1
from .params import (
    C_BZ_CAP,
    C_BZ_NOM,
    C_CACO3_RATIO,
    C_CALC_MJ,
    C_CLINKERING,
    C_CP_S,
    C_FAN_POWER,
    C_FL_COEFF,
    C_FL_REF,
    C_FL_SCALE,
    C_FUEL,
    C_GAS_REF,
    C_GAS_SLOPE,
    C_INTERLOCK,
    C_KILN_UA,
    C_LAB_DELAY,
    C_LSF_REF,
    C_MEAL_INLET,
    C_MEAL_KG_S,
    C_RAW_MEAL,
    C_RESTART,
    CO2_PER_CACO3,
    FU_LHV,
    FU_SLOT,
    FUEL_BLOCK,
    M_CACO3,
    CementKilnParams,
    KilnDesign,
    caco3_share_1,
    free_lime_eq_1,
    fuel_slots,
    kiln_constants,
)
from .scoring import accounts_1
from .state import (
    A_LEN,
    BZ_HEAT_IN,
    BZ_HEAT_OUT,
    F_BZ_IN,
    F_BZ_OUT,
    F_CACO3_FED,
    F_CACO3_T,
    F_CALC_CO,
    F_CALC_GAS,
    F_CALC_IN,
    F_CALC_LOST,
    F_CALC_O2,
    F_CALC_OUT,
    F_CALC_T,
    F_CLINKER,
    F_CLINKER_T,
    F_COOLER_HEAT,
    F_COOLER_RECOVERED,
    F_DEGREE,
    F_FAN_MW,
    F_FEED,
    F_FEED_ON,
    F_FL_EQ,
    F_FLAME,
    F_FUEL_HEAT,
    F_FUEL_KG,
    F_HEATS,
    F_KILN_CO,
    F_KILN_CO_NM3,
    F_KILN_GAS,
    F_KILN_GAS_C,
    F_KILN_HEAT,
    F_KILN_LOST,
    F_KILN_O2,
    F_LEN,
    F_LOST_CLINKER,
    F_NOX,
    F_PH_C,
    F_PH_LOSS,
    F_PROCESS_CO2,
    F_SEC_C,
    F_SEC_MW,
    F_TER_C,
    F_TER_MW,
    S_ACTION,
    S_BZ,
    S_FEED_ON,
    S_FL,
    S_LAB_AGE,
    S_LAB_LAST,
    S_READ,
    S_TC,
    KilnFlows,
    KilnState,
    flows_from_matrix,
    pack_state,
)

#: Exogenous rows of the series matrix the step reads, in order.
SERIES_KEYS: tuple[str, ...] = ("feed", "lsf", "coal_lhv", "af_lhv", "lab_noise")


@kernel
def bz_terms_1(
    bz_c: float,
    kiln_heat_mw: float,
    k0: float,
    k1: float,
    k2: float,
    k3: float,
    solids_kg_s: float,
    caco3_left_kg_s: float,
    solids_c: float,
    clinker_kg_s: float,
    secondary_mw: float,
    clinker_heat_mw: float,
    c: FloatArray,
    tables: FloatArray,
) -> tuple[float, float, float, float, float, float, float, float, float]:
    """The burning zone's heat flows [MW] for one member (:func:`burning_zone_terms`).

    In (:data:`~.state.BZ_HEAT_IN`), then out (:data:`~.state.BZ_HEAT_OUT`).
    """
    cp_s = c[C_CP_S]
    clinkering = clinker_kg_s * c[C_CLINKERING]  # negative: exothermic
    gas_c = kiln_gas_temp_1(bz_c, c[C_GAS_REF], c[C_GAS_SLOPE], c[C_BZ_NOM])
    return (
        kiln_heat_mw,
        secondary_mw,
        solids_kg_s * cp_s * (solids_c - 25.0),
        max(-clinkering, 0.0),
        gas_enthalpy_1k(tables[0:4], k0, k1, k2, k3, gas_c) / 1000.0,
        caco3_left_kg_s * c[C_CALC_MJ],
        max(clinkering, 0.0),
        clinker_heat_mw,
        c[C_KILN_UA] * (bz_c - 25.0),
    )


@kernel
def _bz_terms_many(x: FloatArray, c: FloatArray, tables: FloatArray, out: FloatArray) -> None:
    for j in range(x.shape[1]):
        r = bz_terms_1(
            x[0, j],
            x[1, j],
            x[2, j],
            x[3, j],
            x[4, j],
            x[5, j],
            x[6, j],
            x[7, j],
            x[8, j],
            x[9, j],
            x[10, j],
            x[11, j],
            c,
            tables,
        )
        for k in range(9):
            out[k, j] = r[k]


def burning_zone_terms(
    bz_c: ArrayLike,
    kiln: KilnGas,
    fan: ArrayLike,
    solids_kg_s: ArrayLike,
    caco3_left_kg_s: ArrayLike,
    solids_c: ArrayLike,
    clinker_kg_s: ArrayLike,
    p: CementKilnParams,
    d: KilnDesign,
    cooler: Cooler | None = None,
) -> tuple[dict[str, FloatArray], dict[str, FloatArray]]:
    """Heat flows into and out of the burning zone [MW].

    The clinker carries its heat to the cooler; the secondary air brings the cooler's
    recuperated share back (``cooler``, default :func:`grate_cooler` at ``bz_c``). The
    clinker-formation heat is booked while clinker is made (net exothermic). Computed by
    :func:`bz_terms_1`.
    """
    if cooler is None:
        cooler = grate_cooler(bz_c, clinker_kg_s, fan, p, d)
    shape, flat = broadcast_flat(
        bz_c,
        kiln.heat_mw,
        *np.asarray(kiln.gas, dtype=np.float64),
        solids_kg_s,
        caco3_left_kg_s,
        solids_c,
        clinker_kg_s,
        cooler.secondary_mw,
        cooler.clinker_heat_mw,
    )
    out = np.empty((9, len(flat[0])))
    _bz_terms_many(np.stack(flat), kiln_constants(p, d), kernel_tables(), out)
    rows = [row.reshape(shape) for row in out]
    return (
        dict(zip(BZ_HEAT_IN, rows[:4], strict=True)),
        dict(zip(BZ_HEAT_OUT, rows[4:], strict=True)),
    )


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


@kernel
def step_members(
    st: FloatArray,
    pipe: FloatArray,
    lab: FloatArray,
    action: FloatArray,
    series: FloatArray,
    window_start: NDArray[np.int64],
    step_index: NDArray[np.int64],
    n_steps: int,
    lab_every: int,
    sample: NDArray[np.bool_],
    c: FloatArray,
    tables: FloatArray,
    dt_min: float,
    lag: float,
    flows: FloatArray,
    acc: FloatArray,
) -> int:
    """Advance every member one step in place (the plant's one step; see :func:`kiln_step`).

    State: ``st`` ``(B, S_LEN)``, ``pipe`` ``(5, B, D)``, ``lab`` ``(2, B, slots)``
    (:mod:`~.state`); ``action`` ``(B, 4)`` physical. Member ``i`` reads column
    ``min(window_start + step_index, n_steps - 1)`` of ``series`` (rows
    :data:`SERIES_KEYS`) and takes a lab sample at steps of the year divisible by
    ``lab_every`` (or, with ``lab_every = 0``, where ``sample``). ``lag``: the free lime's
    ``exp(-dt / lag)``. Writes the step's flows into ``flows`` ``(B, F_LEN)`` and its
    accounts into ``acc`` ``(A_LEN, B)``. Returns the first member whose calciner balance
    missed its tolerance, or -1.
    """
    depth = pipe.shape[2]
    dt_s = 60.0 * dt_min
    bad = -1
    kb, cb, ab = C_FUEL, C_FUEL + FUEL_BLOCK, C_FUEL + 2 * FUEL_BLOCK
    for i in range(st.shape[0]):
        t = window_start[i] + step_index[i]
        row = min(t, n_steps - 1)
        feed, lsf = series[0, row], series[1, row]
        coal_lhv, af_lhv, noise = series[2, row], series[3, row], series[4, row]
        take = t % lab_every == 0 if lab_every > 0 else sample[i]
        q_kiln, q_calc, af, fan = action[i, 0], action[i, 1], action[i, 2], action[i, 3]
        f = flows[i]
        h_kiln = q_kiln * coal_lhv
        h_main = q_calc * (1.0 - af) * coal_lhv
        h_af = q_calc * af * af_lhv
        f[F_HEATS], f[F_HEATS + 1], f[F_HEATS + 2] = h_kiln, h_main, h_af
        # Fuel mass by fuel (the gravimetric feeders deliver nominal-LHV mass).
        for s in range(3):
            f[F_FUEL_KG + s] = 0.0
        for b, q in ((kb, q_kiln), (cb, q_calc * (1.0 - af)), (ab, q_calc * af)):
            s = F_FUEL_KG + int(c[b + FU_SLOT])
            f[s] = f[s] + q / c[b + FU_LHV]
        # Material now reaching the burning zone: the pipeline's oldest entry.
        bz, feed_on = st[i, S_BZ], st[i, S_FEED_ON]
        solids, caco3_left = pipe[0, i, 0], pipe[1, i, 0]
        solids_c, clinker, lsf_bz = pipe[2, i, 0], pipe[3, i, 0], pipe[4, i, 0]
        residual_co2 = caco3_left * NM3_PER_KMOL / M_CACO3
        cooler = cooler_1(bz, clinker, fan, c, tables)
        kiln = kiln_gas_1(h_kiln, fan, residual_co2, cooler[4], c, tables)
        k0, k1, k2, k3 = kiln[0], kiln[1], kiln[2], kiln[3]
        terms = bz_terms_1(
            bz,
            kiln[6],
            k0,
            k1,
            k2,
            k3,
            solids,
            caco3_left,
            solids_c,
            clinker,
            cooler[2],
            cooler[0],
            c,
            tables,
        )
        net = (
            terms[0]
            + terms[1]
            + terms[2]
            + terms[3]
            - (terms[4] + terms[5] + terms[6] + terms[7] + terms[8])
        )
        kiln_gas_c = kiln_gas_temp_1(bz, c[C_GAS_REF], c[C_GAS_SLOPE], c[C_BZ_NOM])
        # The feed interlock: cut below interlock_bz_c, back above interlock_restart_bz_c.
        if feed_on > 0.5:
            feed_on = 0.0 if bz < c[C_INTERLOCK] else 1.0
        else:
            feed_on = 1.0 if bz >= c[C_RESTART] else 0.0
        planned = feed * c[C_MEAL_KG_S]
        share = caco3_share_1(lsf, c[C_CACO3_RATIO], c[C_LSF_REF])
        meal = planned * feed_on
        caco3 = meal * share
        lost_clinker = planned * (1.0 - feed_on) * (1.0 - CO2_PER_CACO3 * share)
        cal = calciner_1(
            meal,
            caco3,
            h_main,
            h_af,
            fan,
            k0,
            k1,
            k2,
            k3,
            kiln[8],
            kiln_gas_c,
            cooler[3],
            st[i, S_TC],
            True,
            c,
            tables,
        )
        if cal[17] < 0.5 and bad < 0:
            bad = i
        ph_c, ph_loss = preheater_1(
            cal[2],
            cal[3],
            cal[4],
            cal[5],
            cal[12],
            meal,
            c[C_CP_S],
            c[C_MEAL_INLET] - c[C_RAW_MEAL],
            tables,
        )
        # Free lime lags the burning zone.
        f_eq = free_lime_eq_1(
            bz, lsf_bz, c[C_FL_REF], c[C_BZ_NOM], c[C_FL_SCALE], c[C_FL_COEFF], c[C_LSF_REF]
        )
        free_lime = f_eq + (st[i, S_FL] - f_eq) * lag
        # Pipeline: drop the oldest, append what leaves the calciner now.
        new_solids, new_caco3, new_clinker = discharge_1(meal, caco3, cal[1])
        for k in range(5):
            for j in range(depth - 1):
                pipe[k, i, j] = pipe[k, i, j + 1]
        pipe[0, i, depth - 1] = new_solids
        pipe[1, i, depth - 1] = new_caco3
        pipe[2, i, depth - 1] = cal[0]
        pipe[3, i, depth - 1] = new_clinker
        pipe[4, i, depth - 1] = lsf
        # The lab samples the clinker leaving now (its free lime) and publishes results late.
        last, age = lab_1(
            lab[0, i],
            lab[1, i],
            st[i, S_LAB_LAST],
            st[i, S_LAB_AGE],
            free_lime,
            noise,
            take,
            c[C_LAB_DELAY],
            dt_min,
        )
        nox = nox_1(kiln[7], kiln[4], c)
        # Burning zone: explicit Euler (time constant about 20 min >> 1 min).
        st[i, S_BZ] = bz + net * dt_s / c[C_BZ_CAP]
        st[i, S_TC] = cal[0]
        st[i, S_FL] = free_lime
        st[i, S_LAB_LAST], st[i, S_LAB_AGE] = last, age
        st[i, S_FEED_ON] = feed_on
        for k in range(4):
            st[i, S_ACTION + k] = action[i, k]
        st[i, S_READ], st[i, S_READ + 1], st[i, S_READ + 2] = kiln_gas_c, kiln[4], cal[6]
        st[i, S_READ + 3], st[i, S_READ + 4] = kiln[5], nox
        # The step's flows.
        f[F_KILN_GAS_C], f[F_KILN_O2], f[F_CALC_O2] = kiln_gas_c, kiln[4], cal[6]
        f[F_KILN_CO], f[F_CALC_CO], f[F_PH_C] = kiln[5], cal[15], ph_c
        f[F_SEC_C], f[F_TER_C], f[F_FEED_ON] = cooler[4], cooler[5], feed_on
        f[F_NOX], f[F_FLAME], f[F_DEGREE] = nox, kiln[7], cal[1]
        f[F_CLINKER_T] = clinker * 0.06 * dt_min
        f[F_FUEL_HEAT] = h_kiln + h_main + h_af
        f[F_CACO3_T] = caco3 * 0.06 * dt_min
        f[F_FEED] = feed
        for k in range(4):
            f[F_KILN_GAS + k] = kiln[k]
            f[F_CALC_GAS + k] = cal[2 + k]
            f[F_CALC_IN + k] = cal[7 + k]
            f[F_CALC_OUT + k] = cal[11 + k]
            f[F_BZ_IN + k] = terms[k]
        for k in range(5):
            f[F_BZ_OUT + k] = terms[4 + k]
        f[F_KILN_HEAT], f[F_KILN_CO_NM3], f[F_KILN_LOST] = kiln[6], kiln[8], kiln[9]
        f[F_CALC_T], f[F_CALC_LOST] = cal[0], cal[16]
        f[F_CLINKER], f[F_CACO3_FED] = clinker, caco3
        f[F_PROCESS_CO2] = (cal[1] * caco3 + caco3_left) * CO2_PER_CACO3
        f[F_FAN_MW] = c[C_FAN_POWER] * fan**3.0
        f[F_FL_EQ] = f_eq
        f[F_COOLER_HEAT], f[F_COOLER_RECOVERED] = cooler[0], cooler[1]
        f[F_SEC_MW], f[F_TER_MW] = cooler[2], cooler[3]
        f[F_PH_LOSS], f[F_LOST_CLINKER] = ph_loss, lost_clinker
        accounts_1(f, free_lime, st[i, S_BZ], cal[0], c, dt_min, acc, i)
    return bad


def calciner_failure(flows: FloatArray, i: int) -> RuntimeError:
    """The error of member ``i``'s calciner balance missing its tolerance (flows of the step)."""
    f = flows[i]
    heat_in = float(f[F_CALC_IN : F_CALC_IN + 4].sum())
    residual = heat_in - float(f[F_CALC_OUT : F_CALC_OUT + 4].sum())
    return RuntimeError(
        f"calciner energy balance misses by {residual:.3g} MW of {heat_in:.3g} MW in (row {i}, "
        f"outlet {float(f[F_CALC_T]):.1f} degC); allowed: within CALCINER_TOLERANCE"
    )


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
    flag, or one per row) takes a spot sample for the lab at this step. ``state`` is not
    changed; the new state is returned. Computed by :func:`step_members` (the simulator
    steps its own packed state with it).

    Raises:
        RuntimeError: if a calciner balance misses by more than its tolerance.
    """
    st, pipe, lab = pack_state(state)
    b = len(st)
    series = np.ascontiguousarray(
        np.stack([np.broadcast_to(exo[k], (b,)) for k in SERIES_KEYS]), dtype=np.float64
    )
    sample = np.ascontiguousarray(np.broadcast_to(np.asarray(lab_sample, dtype=bool), (b,)))
    flows = np.empty((b, F_LEN))
    acc = np.empty((A_LEN, b))
    bad = step_members(
        st,
        pipe,
        lab,
        np.ascontiguousarray(action, dtype=np.float64),
        series,
        np.arange(b, dtype=np.int64),
        np.zeros(b, dtype=np.int64),
        b,
        0,
        sample,
        kiln_constants(p, kiln_design(p)),
        kernel_tables(),
        float(dt_min),
        math.exp(-dt_min / p.free_lime_lag_min),
        flows,
        acc,
    )
    if bad >= 0:
        raise calciner_failure(flows, bad)
    new = KilnState(
        bz_c=st[:, S_BZ].copy(),
        calciner_c=st[:, S_TC].copy(),
        free_lime_pct=st[:, S_FL].copy(),
        pipe_solids=pipe[0],
        pipe_caco3=pipe[1],
        pipe_temp=pipe[2],
        pipe_clinker=pipe[3],
        pipe_lsf=pipe[4],
        lab_pending_pct=lab[0],
        lab_pending_left_min=lab[1],
        lab_last_pct=st[:, S_LAB_LAST].copy(),
        lab_age_min=st[:, S_LAB_AGE].copy(),
        last_action=st[:, S_ACTION : S_ACTION + 4].copy(),
        feed_on=st[:, S_FEED_ON].copy(),
    )
    return new, flows_from_matrix(flows, fuel_slots(p))
