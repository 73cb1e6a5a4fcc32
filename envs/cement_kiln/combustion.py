"""Combustion and calcination: the main burner, the kiln exit gas and the precalciner.

* **Combustion**: coal, petcoke and RDF by ultimate analysis (:class:`~ecocontrol.envs.thermo.
  SolidFuel`); kiln-inlet and calciner-exit O2 from the air drawn by the ID fan; CO rising
  exponentially as O2 falls; thermal NOx from the Zeldovich activation energy at the
  main-burner flame temperature and a power of O2.
* **Grate cooler** (:func:`grate_cooler`): recuperates ``cooler_recovery`` (about 0.75) of
  the clinker's heat into the secondary and tertiary air; their temperatures follow from
  that heat and the air flow.
* **Precalciner** (quasi-steady, gas residence of seconds): the outlet temperature solves the
  energy balance of fuel heat + tertiary air + kiln exit gas + hot meal against the
  endothermic calcination (178 kJ/mol), the sensible heat of gas and solids leaving, and wall
  loss. The calcination degree is first order with an Arrhenius rate, ``1 - exp(-k(T) tau)``,
  so it rises steeply through 850-900 degC. Over-calcination is bounded by the law itself
  (the degree tends to 1; with the CaCO3 gone the calcination heat sink vanishes and the
  outlet temperature climbs), so the calciner temperature limit (build-ups above 900 degC,
  penalised) is what bounds it in operation. CO is booked at the outlet (preheater exit) with
  its lost heat.
* **Preheater** (:func:`preheater_exit`): the exit gas temperature and loss (reported).

Every function works over a leading batch axis ``B`` (gas arrays are ``(4, B)``: N2, O2, CO2,
H2O in Nm3/s); energy flows in MW, mass flows in kg/s, temperatures in degC.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from ..jit import kernel
from ..scenario import FloatArray
from ..thermo import (
    KELVIN,
    NM3_PER_KMOL,
    T_MAX_C,
    broadcast_flat,
    gas_enthalpy_1k,
    gas_temperature_1k,
    interp_1k,
    interp_table,
    kernel_tables,
)
from .params import (
    C_AIR_EXP,
    C_CALC_E,
    C_CALC_INV_TREF,
    C_CALC_KREF,
    C_CALC_MJ,
    C_CALC_TAU,
    C_CALC_UA,
    C_CLINKER_CP,
    C_CO_DECAY,
    C_CO_FLOOR,
    C_CO_SCALE,
    C_CP_S,
    C_DISCHARGE,
    C_FHR,
    C_FUEL,
    C_INV_FLAME_REF,
    C_KILN_AIR,
    C_MEAL_INLET,
    C_NOX_EXP,
    C_NOX_REF,
    C_O2_NOM,
    C_PRIMARY,
    C_RECOVERY,
    C_SA_RATIO,
    C_TERT_AIR,
    C_ZELD,
    CO2_PER_CACO3,
    CO_LHV_MJ_PER_NM3,
    FU_CO,
    FU_O2,
    FU_P,
    FUEL_BLOCK,
    M_CACO3,
    CementKilnParams,
    KilnDesign,
    calcination_1,
    kiln_constants,
)

#: Constants-vector offsets of the three fuel roles' blocks.
_KILN_FUEL, _CALCINER_FUEL, _ALTERNATIVE_FUEL = (C_FUEL + FUEL_BLOCK * r for r in range(3))
#: Nm3 CO2 per kg CaCO3 calcined.
_CO2_NM3_PER_KG = NM3_PER_KMOL / M_CACO3


@dataclass
class Heats:
    """Actual fuel heat [MW] by burner and fuel, after the heating-value disturbances."""

    kiln: FloatArray
    calciner_main: FloatArray
    calciner_af: FloatArray


# --------------------------------------------------------------------------------------------
# Compiled laws (scalar, one member; the batch loops and the public functions below call them)
# --------------------------------------------------------------------------------------------
@kernel
def combust_1(heat_mw: float, o2_nm3_per_mj: float, air_o2_nm3_s: float) -> tuple[float, float]:
    """(share burnt, O2 used [Nm3/s]) of ``heat_mw`` of a fuel with ``air_o2_nm3_s`` on offer.

    When the O2 on offer is short, only that share of the fuel burns (the rest leaves as CO
    and char and is lost). Its products are ``products_nm3_per_mj x heat_mw x burnt``.
    """
    demand = heat_mw * o2_nm3_per_mj
    burnt = min(1.0, air_o2_nm3_s / max(demand, 1e-12)) if demand > 0.0 else 1.0
    return burnt, demand * burnt


@kernel
def co_kinetic_1(o2_pct: float, dry_nm3_s: float, c: FloatArray) -> float:
    """CO of incomplete combustion [Nm3/s]: ``floor + scale exp(-O2 / decay)`` ppm of dry gas."""
    return (c[C_CO_FLOOR] + c[C_CO_SCALE] * math.exp(-o2_pct / c[C_CO_DECAY])) * 1e-6 * dry_nm3_s


@kernel
def cooler_1(
    bz_c: float, clinker_kg_s: float, fan: float, c: FloatArray, tables: FloatArray
) -> tuple[float, float, float, float, float, float]:
    """The grate cooler (:func:`grate_cooler`) for one member: the fields of :class:`Cooler`."""
    t_cl = bz_c - c[C_DISCHARGE]
    q_cl = max(clinker_kg_s * c[C_CLINKER_CP] / 1000.0 * (t_cl - 25.0), 0.0)
    eta = min(c[C_RECOVERY] * fan ** c[C_AIR_EXP], 0.95)
    q = eta * q_cl
    v_sa = max(c[C_KILN_AIR] * fan - c[C_PRIMARY], 0.0)
    v_ta = c[C_TERT_AIR] * fan
    ratio = c[C_SA_RATIO]
    h_ta = 1000.0 * q / max(ratio * v_sa + v_ta, 1e-9)  # kJ/Nm3
    sec, ter = v_sa * ratio * h_ta / 1000.0, v_ta * h_ta / 1000.0
    air_h, grid = tables[8], tables[9]
    return (
        q_cl,
        sec + ter,
        sec,
        ter,
        interp_table(ratio * h_ta, air_h, grid),
        interp_table(h_ta, air_h, grid),
    )


@kernel
def kiln_gas_1(
    kiln_heat_mw: float,
    fan: float,
    residual_co2_nm3_s: float,
    secondary_air_c: float,
    c: FloatArray,
    tables: FloatArray,
) -> tuple[float, float, float, float, float, float, float, float, float, float]:
    """The main burner (:func:`kiln_combustion`) for one member.

    Returns the kiln exit gas N2, O2, CO2, H2O [Nm3/s], then O2 [%], CO [ppm], heat released
    [MW], flame [degC], CO [Nm3/s] and heat lost [MW] (the fields of :class:`KilnGas`).
    """
    f = _KILN_FUEL
    air = c[C_KILN_AIR] * fan
    burnt, o2_used = combust_1(kiln_heat_mw, c[f + FU_O2], 0.21 * air)
    hb = kiln_heat_mw * burnt
    p0, p1, p2, p3 = (
        c[f + FU_P] * hb,
        c[f + FU_P + 1] * hb,
        c[f + FU_P + 2] * hb,
        c[f + FU_P + 3] * hb,
    )
    g0 = 0.79 * air + p0
    g1 = max(0.21 * air + p1 - o2_used, 0.0)  # round-off when all O2 is used
    g2 = 0.0 * air + p2 + residual_co2_nm3_s
    g3 = 0.0 * air + p3
    o2 = 100.0 * g1 / max(g0 + g1 + g2, 1e-9)
    dry = g0 + g1 + g2
    co_kin = co_kinetic_1(o2, dry, c)
    unburnt = kiln_heat_mw * (1.0 - burnt)
    co_nm3 = co_kin + unburnt * c[f + FU_CO]
    co = 1e6 * co_nm3 / max(dry, 1e-9)
    co_loss = co_kin * CO_LHV_MJ_PER_NM3
    heat = hb - co_loss
    # Peak flame: the burner's products and the fuel's stoichiometric air (primary cold).
    stoich_air = hb * c[f + FU_O2] / 0.21
    hot_air = max(stoich_air - c[C_PRIMARY], 0.0)
    h_air = hot_air * interp_1k(tables[8], secondary_air_c) / 1000.0
    flame = gas_temperature_1k(
        tables,
        p0 + 0.79 * stoich_air,
        max(p1 + 0.21 * stoich_air - o2_used, 0.0),
        p2 + 0.0 * stoich_air,
        p3 + 0.0 * stoich_air,
        1000.0 * (c[C_FHR] * heat + h_air),
        2000.0,
    )
    return g0, g1, g2, g3, o2, co, heat, flame, co_nm3, unburnt + co_loss


@kernel
def nox_1(flame_c: float, o2_pct: float, c: FloatArray) -> float:
    """Stack NOx [mg/Nm3] (:func:`nox_mg_nm3`) for one member."""
    return (
        c[C_NOX_REF]
        * math.exp(c[C_ZELD] * (c[C_INV_FLAME_REF] - 1.0 / (flame_c + KELVIN)))
        * (max(o2_pct, 0.05) / c[C_O2_NOM]) ** c[C_NOX_EXP]
    )


@kernel
def kiln_gas_temp_1(bz_c: float, ref_c: float, slope: float, bz_nominal_c: float) -> float:
    """Kiln exit gas temperature [degC] (linear in the burning zone)."""
    return ref_c + slope * (bz_c - bz_nominal_c)


@kernel
def calciner_1(
    meal_kg_s: float,
    caco3_kg_s: float,
    heat_main_mw: float,
    heat_af_mw: float,
    fan: float,
    k0: float,
    k1: float,
    k2: float,
    k3: float,
    kiln_co_nm3_s: float,
    kiln_gas_c: float,
    tertiary_mw: float,
    guess_c: float,
    solve: bool,
    c: FloatArray,
    tables: FloatArray,
) -> tuple[
    float,
    float,
    float,
    float,
    float,
    float,
    float,
    float,
    float,
    float,
    float,
    float,
    float,
    float,
    float,
    float,
    float,
    float,
]:
    """The calciner's balance (:func:`calciner_balance`) for one member.

    ``k0..k3`` is the kiln exit gas [Nm3/s]. Returns the outlet temperature [degC], the
    calcination degree, the outlet gas N2, O2, CO2, H2O [Nm3/s], its O2 [%], heat in (fuel,
    kiln gas, tertiary air, meal) and heat out (calcination, gas, solids, wall) [MW], CO at
    the outlet [ppm], heat lost [MW] and 1.0 if the balance closes within
    :data:`CALCINER_TOLERANCE` (always with ``solve=False``), else 0.0.
    """
    ta = c[C_TERT_AIR] * fan
    o2_on_offer = k1 + 0.21 * ta
    fm, fa = _CALCINER_FUEL, _ALTERNATIVE_FUEL
    burnt_main, used_main = combust_1(heat_main_mw, c[fm + FU_O2], o2_on_offer)
    burnt_af, used_af = combust_1(heat_af_mw, c[fa + FU_O2], o2_on_offer - used_main)
    hm, ha = heat_main_mw * burnt_main, heat_af_mw * burnt_af
    g0 = k0 + 0.79 * ta + c[fm + FU_P] * hm + c[fa + FU_P] * ha
    g1 = k1 + 0.21 * ta + c[fm + FU_P + 1] * hm + c[fa + FU_P + 1] * ha
    g2 = k2 + 0.0 * ta + c[fm + FU_P + 2] * hm + c[fa + FU_P + 2] * ha
    g3 = k3 + 0.0 * ta + c[fm + FU_P + 3] * hm + c[fa + FU_P + 3] * ha
    g1 = max(g1 - (used_main + used_af), 0.0)
    # CO: incomplete combustion (as at the kiln, from the O2 left), the unburnt fuel's carbon
    # and the kiln's CO passing through; its heat is not released.
    dry0 = g0 + g1 + g2
    co_kin = co_kinetic_1(100.0 * g1 / max(dry0, 1e-9), dry0, c)
    unburnt_main = heat_main_mw * (1.0 - burnt_main)
    unburnt_af = heat_af_mw * (1.0 - burnt_af)
    co_nm3 = kiln_co_nm3_s + co_kin + unburnt_main * c[fm + FU_CO] + unburnt_af * c[fa + FU_CO]
    co_loss = co_kin * CO_LHV_MJ_PER_NM3
    cp_s = c[C_CP_S]
    h_rows = tables[0:4]
    in_fuel = hm + ha - co_loss
    in_kiln = gas_enthalpy_1k(h_rows, k0, k1, k2, k3, kiln_gas_c) / 1000.0
    in_meal = meal_kg_s * cp_s * (c[C_MEAL_INLET] - 25.0)
    q_in = in_fuel + in_kiln + tertiary_mw + in_meal
    ua, calc_mj = c[C_CALC_UA], c[C_CALC_MJ]
    e, k_ref, inv_t_ref, tau = c[C_CALC_E], c[C_CALC_KREF], c[C_CALC_INV_TREF], c[C_CALC_TAU]
    t = guess_c
    if solve:
        # Safeguarded Newton in the physical bracket (see _bracketed_root).
        lo, hi = CALCINER_BRACKET_C
        t = min(max(t, lo), hi)
        tol = CALCINER_TOLERANCE * 0.1 * max(abs(q_in), 1.0)
        width = hi - lo
        for _ in range(CALCINER_MAX_ITER):
            a, da, _k = calcination_1(t, e, k_ref, inv_t_ref, tau)
            gas2 = g2 + a * caco3_kg_s * _CO2_NM3_PER_KG
            solids = meal_kg_s - a * caco3_kg_s * CO2_PER_CACO3
            out = (
                a * caco3_kg_s * calc_mj
                + gas_enthalpy_1k(h_rows, g0, g1, gas2, g3, t) / 1000.0
                + solids * cp_s * (t - 25.0)
                + ua * (t - 25.0)
            )
            f = out - q_in
            if abs(f) <= tol or hi - lo <= 1e-9:
                break
            cp_gas = (
                gas_enthalpy_1k(h_rows, g0, g1, gas2, g3, t + 0.5)
                - gas_enthalpy_1k(h_rows, g0, g1, gas2, g3, t - 0.5)
            ) / 1000.0
            slope = (
                da * caco3_kg_s * (calc_mj - CO2_PER_CACO3 * cp_s * (t - 25.0))
                + cp_gas
                + solids * cp_s
                + ua
            )
            if f < 0.0:
                lo = t
            if f > 0.0:
                hi = t
            newton = t - f / max(slope, 1e-9)
            # Newton only inside the bracket and while the bracket at least halves per step;
            # otherwise bisect (so at worst the bracket halves every other step).
            use = newton > lo and newton < hi and hi - lo <= 0.5 * width
            width = hi - lo
            t = newton if use else 0.5 * (lo + hi)
    a, _da, _k = calcination_1(t, e, k_ref, inv_t_ref, tau)
    g2 = g2 + a * caco3_kg_s * _CO2_NM3_PER_KG
    solids = meal_kg_s - a * caco3_kg_s * CO2_PER_CACO3
    out_calc = a * caco3_kg_s * calc_mj
    out_gas = gas_enthalpy_1k(h_rows, g0, g1, g2, g3, t) / 1000.0
    out_solids = solids * cp_s * (t - 25.0)
    out_wall = ua * (t - 25.0)
    dry = g0 + g1 + g2
    heat_in = in_fuel + in_kiln + tertiary_mw + in_meal
    residual = heat_in - (out_calc + out_gas + out_solids + out_wall)
    miss = solve and abs(residual) > CALCINER_TOLERANCE * max(abs(heat_in), 1.0)
    return (
        t,
        a,
        g0,
        g1,
        g2,
        g3,
        100.0 * g1 / max(dry, 1e-9),
        in_fuel,
        in_kiln,
        tertiary_mw,
        in_meal,
        out_calc,
        out_gas,
        out_solids,
        out_wall,
        1e6 * co_nm3 / max(dry, 1e-9),
        unburnt_main + unburnt_af + co_loss,
        0.0 if miss else 1.0,
    )


@kernel
def preheater_1(
    g0: float,
    g1: float,
    g2: float,
    g3: float,
    gas_mw: float,
    meal_kg_s: float,
    cp_s: float,
    meal_rise_k: float,
    tables: FloatArray,
) -> tuple[float, float]:
    """(preheater exit gas [degC], its loss [MW]) (:func:`preheater_exit`) for one member.

    ``g0..g3`` and ``gas_mw``: the calciner outlet gas [Nm3/s] and its sensible heat [MW];
    ``cp_s`` the meal's heat capacity [MJ/(kg K)], ``meal_rise_k`` its rise in the cyclones.
    """
    h_exit = max(gas_mw - meal_kg_s * cp_s * meal_rise_k, 0.0)
    return gas_temperature_1k(tables, g0, g1, g2, g3, 1000.0 * h_exit, 350.0), h_exit


@kernel
def _cooler_many(
    bz: FloatArray,
    clinker: FloatArray,
    fan: FloatArray,
    c: FloatArray,
    tables: FloatArray,
    out: FloatArray,
) -> None:
    for j in range(len(bz)):
        r = cooler_1(bz[j], clinker[j], fan[j], c, tables)
        for k in range(6):
            out[k, j] = r[k]


@kernel
def _kiln_gas_many(
    heat: FloatArray,
    fan: FloatArray,
    co2: FloatArray,
    t_sa: FloatArray,
    c: FloatArray,
    tables: FloatArray,
    out: FloatArray,
) -> None:
    for j in range(len(heat)):
        r = kiln_gas_1(heat[j], fan[j], co2[j], t_sa[j], c, tables)
        for k in range(10):
            out[k, j] = r[k]


@kernel
def _nox_many(flame: FloatArray, o2: FloatArray, c: FloatArray, out: FloatArray) -> None:
    for j in range(len(flame)):
        out[j] = nox_1(flame[j], o2[j], c)


@kernel
def _kiln_gas_temp_many(
    bz: FloatArray, ref_c: float, slope: float, nominal_c: float, out: FloatArray
) -> None:
    for j in range(len(bz)):
        out[j] = kiln_gas_temp_1(bz[j], ref_c, slope, nominal_c)


@kernel
def _calciner_many(
    x: FloatArray, solve: bool, c: FloatArray, tables: FloatArray, out: FloatArray
) -> int:
    """:func:`calciner_1` over the columns of ``x``; the first that misses, or -1.

    Rows of ``x``: meal, CaCO3, main and AF heat, fan, kiln gas (4), kiln CO, kiln gas
    temperature, tertiary air heat, guess.
    """
    bad = -1
    for j in range(x.shape[1]):
        r = calciner_1(
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
            x[12, j],
            solve,
            c,
            tables,
        )
        for k in range(17):
            out[k, j] = r[k]
        if r[17] < 0.5 and bad < 0:
            bad = j
    return bad


@kernel
def _preheater_many(
    gas: FloatArray,
    gas_mw: FloatArray,
    meal: FloatArray,
    cp_s: float,
    rise: float,
    tables: FloatArray,
    out: FloatArray,
) -> None:
    for j in range(len(meal)):
        out[0, j], out[1, j] = preheater_1(
            gas[0, j], gas[1, j], gas[2, j], gas[3, j], gas_mw[j], meal[j], cp_s, rise, tables
        )


@kernel
def discharge_1(meal_kg_s: float, caco3_kg_s: float, degree: float) -> tuple[float, float, float]:
    """(solids, CaCO3 still to calcine, clinker it will make) [kg/s] leaving the calciner."""
    return (
        meal_kg_s - degree * caco3_kg_s * CO2_PER_CACO3,
        (1.0 - degree) * caco3_kg_s,
        meal_kg_s - caco3_kg_s * CO2_PER_CACO3,
    )


@kernel
def _discharge_many(
    meal: FloatArray, caco3: FloatArray, degree: FloatArray, out: FloatArray
) -> None:
    for j in range(len(meal)):
        out[0, j], out[1, j], out[2, j] = discharge_1(meal[j], caco3[j], degree[j])


# --------------------------------------------------------------------------------------------
# The public functions: arrays (any broadcastable shapes) through the compiled laws
# --------------------------------------------------------------------------------------------
@dataclass
class Cooler:
    """The grate cooler's recuperation over a step [MW, degC]."""

    clinker_heat_mw: FloatArray  # clinker entering, above 25 degC
    recovered_mw: FloatArray  # returned as secondary + tertiary air
    secondary_mw: FloatArray
    tertiary_mw: FloatArray
    secondary_c: FloatArray
    tertiary_c: FloatArray


def secondary_air_nm3_s(fan: FloatArray, d: KilnDesign) -> FloatArray:
    """Secondary air [Nm3/s]: the kiln air the fan draws less the (fixed) primary air."""
    return np.asarray(np.maximum(d.kiln_air_nm3_s * fan - d.primary_air_nm3_s, 0.0))


def grate_cooler(
    bz_c: ArrayLike, clinker_kg_s: ArrayLike, fan: ArrayLike, p: CementKilnParams, d: KilnDesign
) -> Cooler:
    """Secondary and tertiary air from the clinker's heat and the air flow.

    The clinker leaves the kiln ``clinker_discharge_below_bz_k`` below the burning zone; the
    cooler returns ``cooler_recovery x (air / design)^cooler_air_exponent`` of its heat to the
    combustion air (the rest leaves with the cooler's exhaust air and the cold clinker), split
    so that a Nm3 of secondary air carries ``h(secondary_air_c) / h(tertiary_air_c)`` times
    a Nm3 of tertiary air. More excess air therefore means cooler secondary and tertiary air
    (almost the same recovered heat spread over more gas), which is what makes excess air
    cost fuel. Computed by :func:`cooler_1`.
    """
    shape, (bz, clinker, f) = broadcast_flat(bz_c, clinker_kg_s, fan)
    out = np.empty((6, len(bz)))
    _cooler_many(bz, clinker, f, kiln_constants(p, d), kernel_tables(), out)
    return Cooler(*(row.reshape(shape) for row in out))


@dataclass
class KilnGas:
    """The kiln's combustion and its exit gas."""

    gas: FloatArray  # (4, B) Nm3/s at the kiln inlet (exit end), before the calciner
    o2_pct: FloatArray
    co_ppm: FloatArray
    heat_mw: FloatArray  # heat released (burnt, less CO loss)
    flame_c: FloatArray
    co_nm3_s: FloatArray  # CO leaving the kiln (incomplete combustion and unburnt fuel)
    lost_mw: FloatArray  # fuel heat not released: unburnt fuel and CO


def kiln_combustion(
    kiln_heat_mw: ArrayLike,
    fan: ArrayLike,
    residual_co2_nm3_s: ArrayLike,
    p: CementKilnParams,
    d: KilnDesign,
    secondary_air_c: ArrayLike | None = None,
) -> KilnGas:
    """Main-burner combustion with the air the fan draws through the kiln.

    The peak flame holds the fuel's products and its stoichiometric air: the cold primary air
    and near-burner secondary air at ``secondary_air_c`` (default: ``p.secondary_air_c``).
    Excess air mixes in downstream of the flame, so it raises O2 (and NOx) without cooling
    the flame; it cools the flame only through the cooler (cooler secondary air). Computed
    by :func:`kiln_gas_1`.
    """
    t_sa = p.secondary_air_c if secondary_air_c is None else secondary_air_c
    shape, (q, f, co2, t) = broadcast_flat(kiln_heat_mw, fan, residual_co2_nm3_s, t_sa)
    out = np.empty((10, len(q)))
    _kiln_gas_many(q, f, co2, t, kiln_constants(p, d), kernel_tables(), out)
    rows = [row.reshape(shape) for row in out]
    return KilnGas(np.stack(rows[:4]), *rows[4:])


def nox_mg_nm3(
    flame_c: ArrayLike, o2_pct: ArrayLike, p: CementKilnParams, d: KilnDesign
) -> FloatArray:
    """Stack NOx [mg/Nm3]: thermal (Zeldovich) with the flame temperature, times O2^n."""
    shape, (flame, o2) = broadcast_flat(flame_c, o2_pct)
    out = np.empty(len(flame))
    _nox_many(flame, o2, kiln_constants(p, d), out)
    return out.reshape(shape)


@dataclass
class CalcinerBalance:
    """The calciner's solution and every term of its energy balance [MW]."""

    temp_c: FloatArray
    degree: FloatArray
    gas: FloatArray  # (4, B) at the outlet
    o2_pct: FloatArray
    heat_in: dict[str, FloatArray] = field(default_factory=dict)
    heat_out: dict[str, FloatArray] = field(default_factory=dict)
    co_ppm: FloatArray = field(default_factory=lambda: np.zeros(0))  # at the outlet (dry)
    lost_mw: FloatArray = field(default_factory=lambda: np.zeros(0))  # unburnt fuel and CO

    @property
    def residual_mw(self) -> FloatArray:
        """In minus out [MW] (0 when the balance closes)."""
        return np.asarray(sum(self.heat_in.values()) - sum(self.heat_out.values()))

    def check(self, tolerance: float) -> None:
        """Raise if any row misses its balance by more than ``tolerance`` of its heat in."""
        heat_in = np.asarray(sum(self.heat_in.values()))
        miss = np.abs(self.residual_mw) > tolerance * np.maximum(np.abs(heat_in), 1.0)
        if miss.any():
            i = int(np.flatnonzero(miss)[0])
            raise RuntimeError(
                f"calciner energy balance misses by {float(self.residual_mw[i]):.3g} MW of "
                f"{float(heat_in[i]):.3g} MW in (row {i}, outlet {float(self.temp_c[i]):.1f} "
                "degC); allowed: within CALCINER_TOLERANCE"
            )


#: Names of the calciner's heat flows in and out, in the order of :func:`calciner_1`.
CALCINER_HEAT_IN: tuple[str, ...] = ("fuel", "kiln_gas", "tertiary_air", "meal")
CALCINER_HEAT_OUT: tuple[str, ...] = ("calcination", "gas", "solids", "wall")


def calciner_from_rows(rows: Sequence[FloatArray]) -> CalcinerBalance:
    """A :class:`CalcinerBalance` from the 17 outputs of :func:`calciner_1` (rows)."""
    return CalcinerBalance(
        rows[0],
        rows[1],
        np.stack(rows[2:6]),
        rows[6],
        dict(zip(CALCINER_HEAT_IN, rows[7:11], strict=True)),
        dict(zip(CALCINER_HEAT_OUT, rows[11:15], strict=True)),
        co_ppm=rows[15],
        lost_mw=rows[16],
    )


def calciner_balance(
    meal_kg_s: ArrayLike,
    caco3_kg_s: ArrayLike,
    heats: Heats,
    fan: ArrayLike,
    kiln: KilnGas,
    kiln_gas_c: ArrayLike,
    cooler: Cooler,
    guess_c: ArrayLike,
    p: CementKilnParams,
    d: KilnDesign,
    solve: bool = True,
) -> CalcinerBalance:
    """Solve the calciner's outlet temperature from its energy balance.

    Heat out minus heat in rises monotonically with the outlet temperature (calcination,
    gas, solids and wall all take more heat when hotter), so the root is unique; it is found
    per row by a safeguarded Newton (Newton inside the bracket :data:`CALCINER_BRACKET_C`,
    bisection when a Newton step leaves it or the bracket stops halving) started at
    ``guess_c``: every row keeps a bracket ``[lo, hi]`` with ``f(lo) <= 0 <= f(hi)``, so it
    cannot settle on a spurious root as plain Newton from the previous temperature did (v0).
    A row stops when its imbalance is below a tenth of :data:`CALCINER_TOLERANCE` of its heat
    in (or its bracket is below 1e-9 K), after at most :data:`CALCINER_MAX_ITER` steps, and
    its residual is checked every call. With ``solve=False`` the balance is evaluated at
    ``guess_c`` (its residual is then the imbalance at that temperature). Computed by
    :func:`calciner_1`.

    Raises:
        RuntimeError: if a solved balance misses by more than :data:`CALCINER_TOLERANCE`.
    """
    shape, flat = broadcast_flat(
        meal_kg_s,
        caco3_kg_s,
        heats.calciner_main,
        heats.calciner_af,
        fan,
        *np.asarray(kiln.gas, dtype=np.float64),
        kiln.co_nm3_s,
        kiln_gas_c,
        cooler.tertiary_mw,
        guess_c,
    )
    out = np.empty((17, len(flat[0])))
    bad = _calciner_many(np.stack(flat), solve, kiln_constants(p, d), kernel_tables(), out)
    bal = calciner_from_rows([row.reshape(shape) for row in out])
    if bad >= 0:
        bal.check(CALCINER_TOLERANCE)
    return bal


#: Largest calciner imbalance a solve may leave, as a share of the heat in [-].
CALCINER_TOLERANCE = 1e-6
#: The physical bracket of the calciner outlet [degC]: ambient to the gas tables' end (heat
#: out minus heat in is negative at ambient, where nothing leaves hot, and positive long
#: before the end of the tables).
CALCINER_BRACKET_C = (25.0, T_MAX_C - 1.0)
#: Most safeguarded-Newton steps of a calciner solve.
CALCINER_MAX_ITER = 100


def calciner_discharge(
    meal_kg_s: ArrayLike, caco3_kg_s: ArrayLike, degree: ArrayLike, temp_c: ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Material leaving the calciner for the kiln (:func:`discharge_1`), floats or arrays.

    Returns (solids [kg/s], CaCO3 still to calcine [kg/s], temperature [degC], clinker it will
    make [kg/s]).
    """
    shape, (meal, caco3, a, t) = broadcast_flat(meal_kg_s, caco3_kg_s, degree, temp_c)
    out = np.empty((3, len(meal)))
    _discharge_many(meal, caco3, a, out)
    return out[0].reshape(shape), out[1].reshape(shape), t.reshape(shape), out[2].reshape(shape)


def preheater_exit(
    cal: CalcinerBalance, meal_kg_s: ArrayLike, p: CementKilnParams
) -> tuple[FloatArray, FloatArray]:
    """(preheater exit gas [degC], its sensible heat above 25 degC [MW]).

    The cyclones heat the raw meal from ``raw_meal_c`` to ``meal_inlet_c`` with the calciner's
    exit gas (shell loss of the cyclones neglected), so the exit loss grows with the gas
    volume: the heat the meal takes is fixed, the gas heat is not. Reported, not fed back
    (the meal's inlet temperature is a parameter). Computed by :func:`preheater_1`.
    """
    shape, (gas_mw, meal, *gas) = broadcast_flat(cal.heat_out["gas"], meal_kg_s, *cal.gas)
    out = np.empty((2, len(meal)))
    cp_s, rise = p.meal_cp_kj_per_kg_k / 1000.0, p.meal_inlet_c - p.raw_meal_c
    _preheater_many(np.stack(gas), gas_mw, meal, cp_s, rise, kernel_tables(), out)
    return out[0].reshape(shape), out[1].reshape(shape)


def kiln_gas_temp(bz_c: ArrayLike, p: CementKilnParams) -> FloatArray:
    """Kiln exit gas temperature [degC] (linear in the burning zone; :func:`kiln_gas_temp_1`)."""
    shape, (bz,) = broadcast_flat(bz_c)
    out = np.empty(len(bz))
    _kiln_gas_temp_many(bz, p.kiln_gas_ref_c, p.kiln_gas_slope, p.bz_nominal_c, out)
    return out.reshape(shape)
