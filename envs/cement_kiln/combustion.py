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

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..scenario import FloatArray
from ..thermo import (
    AIR,
    KELVIN,
    NM3_PER_KMOL,
    T_MAX_C,
    SolidFuel,
    gas_enthalpy_kw,
    gas_temperature,
)
from .params import CO2_PER_CACO3, CO_LHV_MJ_PER_NM3, M_CACO3, CementKilnParams, KilnDesign


@dataclass
class Heats:
    """Actual fuel heat [MW] by burner and fuel, after the heating-value disturbances."""

    kiln: FloatArray
    calciner_main: FloatArray
    calciner_af: FloatArray


def _combust(
    heat_mw: FloatArray,
    fuel: SolidFuel,
    air_o2_nm3_s: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(share burnt, O2 used [Nm3/s], products N2/O2/CO2/H2O [Nm3/s]) of ``heat_mw`` of fuel.

    When the O2 on offer is short, only that share of the fuel burns (the rest leaves as CO
    and char and is lost).
    """
    demand = heat_mw * fuel.o2_nm3_per_mj
    burnt = np.where(demand > 0.0, np.minimum(1.0, air_o2_nm3_s / np.maximum(demand, 1e-12)), 1.0)
    products = fuel.products_nm3_per_mj[:, None] * (heat_mw * burnt)[None, :]
    return burnt, demand * burnt, products


def _air(volume_nm3_s: FloatArray) -> FloatArray:
    """Air as N2/O2/CO2/H2O [Nm3/s]."""
    return np.stack([0.79 * volume_nm3_s, 0.21 * volume_nm3_s, 0 * volume_nm3_s, 0 * volume_nm3_s])


def _o2_dry_pct(gas: FloatArray) -> FloatArray:
    return np.asarray(100.0 * gas[1] / np.maximum(gas[0] + gas[1] + gas[2], 1e-9))


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
    bz_c: FloatArray, clinker_kg_s: FloatArray, fan: FloatArray, p: CementKilnParams, d: KilnDesign
) -> Cooler:
    """Secondary and tertiary air from the clinker's heat and the air flow.

    The clinker leaves the kiln ``clinker_discharge_below_bz_k`` below the burning zone; the
    cooler returns ``cooler_recovery x (air / design)^cooler_air_exponent`` of its heat to the
    combustion air (the rest leaves with the cooler's exhaust air and the cold clinker), split
    so that a Nm3 of secondary air carries ``h(secondary_air_c) / h(tertiary_air_c)`` times
    a Nm3 of tertiary air. More excess air therefore means cooler secondary and tertiary air
    (almost the same recovered heat spread over more gas), which is what makes excess air
    cost fuel.
    """
    t_cl = np.asarray(bz_c) - p.clinker_discharge_below_bz_k
    q_cl = np.maximum(clinker_kg_s * p.clinker_cp_kj_per_kg_k / 1000.0 * (t_cl - 25.0), 0.0)
    eta = np.minimum(p.cooler_recovery * np.asarray(fan) ** p.cooler_air_exponent, 0.95)
    q = eta * q_cl
    v_sa = secondary_air_nm3_s(fan, d)
    v_ta = d.tertiary_air_nm3_s * fan
    ratio = float(AIR.enthalpy(p.secondary_air_c) / AIR.enthalpy(p.tertiary_air_c))
    h_ta = 1000.0 * q / np.maximum(ratio * v_sa + v_ta, 1e-9)  # kJ/Nm3
    sec, ter = v_sa * ratio * h_ta / 1000.0, v_ta * h_ta / 1000.0
    return Cooler(
        clinker_heat_mw=q_cl,
        recovered_mw=sec + ter,
        secondary_mw=sec,
        tertiary_mw=ter,
        secondary_c=AIR.temperature(ratio * h_ta),
        tertiary_c=AIR.temperature(h_ta),
    )


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
    kiln_heat_mw: FloatArray,
    fan: FloatArray,
    residual_co2_nm3_s: FloatArray,
    p: CementKilnParams,
    d: KilnDesign,
    secondary_air_c: FloatArray | float | None = None,
) -> KilnGas:
    """Main-burner combustion with the air the fan draws through the kiln.

    The peak flame holds the fuel's products and its stoichiometric air: the cold primary air
    and near-burner secondary air at ``secondary_air_c`` (default: ``p.secondary_air_c``).
    Excess air mixes in downstream of the flame, so it raises O2 (and NOx) without cooling
    the flame; it cools the flame only through the cooler (cooler secondary air).
    """
    air = d.kiln_air_nm3_s * fan
    fuel = p.fuel("kiln_fuel")
    burnt, o2_used, products = _combust(kiln_heat_mw, fuel, 0.21 * air)
    gas = _air(air) + products
    gas[1] = np.maximum(gas[1] - o2_used, 0.0)  # round-off when all O2 is used
    gas[2] += residual_co2_nm3_s
    o2 = _o2_dry_pct(gas)
    dry = gas[0] + gas[1] + gas[2]
    co_kin = (p.co_floor_ppm + p.co_scale_ppm * np.exp(-o2 / p.co_o2_decay_pct)) * 1e-6 * dry
    unburnt = kiln_heat_mw * (1.0 - burnt)
    co_nm3 = co_kin + unburnt * _co_nm3_per_mj(fuel)
    co = 1e6 * co_nm3 / np.maximum(dry, 1e-9)
    co_loss = co_kin * CO_LHV_MJ_PER_NM3
    heat = kiln_heat_mw * burnt - co_loss
    # Peak flame: the burner's products and the fuel's stoichiometric air (primary cold).
    t_sa = p.secondary_air_c if secondary_air_c is None else secondary_air_c
    stoich_air = kiln_heat_mw * burnt * fuel.o2_nm3_per_mj / 0.21
    hot_air = np.maximum(stoich_air - d.primary_air_nm3_s, 0.0)
    h_air = hot_air * AIR.enthalpy(t_sa) / 1000.0
    flame_gas = products + _air(stoich_air)
    flame_gas[1] = np.maximum(flame_gas[1] - o2_used, 0.0)
    flame = gas_temperature(flame_gas, 1000.0 * (p.flame_heat_retained * heat + h_air), 2000.0)
    return KilnGas(
        gas=gas,
        o2_pct=o2,
        co_ppm=co,
        heat_mw=heat,
        flame_c=flame,
        co_nm3_s=co_nm3,
        lost_mw=unburnt + co_loss,
    )


def _co_nm3_per_mj(fuel: SolidFuel) -> float:
    """CO [Nm3] from the carbon of a MJ of unburnt fuel (it leaves as CO)."""
    return fuel.carbon / 12.0 * NM3_PER_KMOL / fuel.fuel.lhv_mj_per_unit


def nox_mg_nm3(
    flame_c: FloatArray, o2_pct: FloatArray, p: CementKilnParams, d: KilnDesign
) -> FloatArray:
    """Stack NOx [mg/Nm3]: thermal (Zeldovich) with the flame temperature, times O2^n."""
    ref = d.flame_nominal_c + KELVIN
    return np.asarray(
        p.nox_ref_mg_nm3
        * np.exp(p.zeldovich_e_over_r_k * (1.0 / ref - 1.0 / (flame_c + KELVIN)))
        * (np.maximum(o2_pct, 0.05) / p.kiln_o2_nominal_pct) ** p.nox_o2_exponent
    )


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


def calciner_balance(
    meal_kg_s: FloatArray,
    caco3_kg_s: FloatArray,
    heats: Heats,
    fan: FloatArray,
    kiln: KilnGas,
    kiln_gas_c: FloatArray,
    cooler: Cooler,
    guess_c: FloatArray,
    p: CementKilnParams,
    d: KilnDesign,
    solve: bool = True,
) -> CalcinerBalance:
    """Solve the calciner's outlet temperature from its energy balance.

    Heat out minus heat in rises monotonically with the outlet temperature (calcination,
    gas, solids and wall all take more heat when hotter), so the root is unique; it is found
    by a bracketed, batch-vectorised safeguarded Newton (:func:`_bracketed_root`) started
    at ``guess_c``, and the residual is checked (:meth:`CalcinerBalance.check`) every call.
    With ``solve=False`` the balance is evaluated at ``guess_c`` (its residual is then the
    imbalance at that temperature).

    Raises:
        RuntimeError: if a solved balance misses by more than :data:`CALCINER_TOLERANCE`.
    """
    ta = d.tertiary_air_nm3_s * fan
    o2_on_offer = kiln.gas[1] + 0.21 * ta
    burnt_main, used_main, prod_main = _combust(
        heats.calciner_main, p.fuel("calciner_fuel"), o2_on_offer
    )
    burnt_af, used_af, prod_af = _combust(
        heats.calciner_af, p.fuel("alternative_fuel"), o2_on_offer - used_main
    )
    gas0 = kiln.gas + _air(ta) + prod_main + prod_af
    gas0[1] = np.maximum(gas0[1] - (used_main + used_af), 0.0)
    # CO: incomplete combustion (as at the kiln, from the O2 left), the unburnt fuel's carbon
    # and the kiln's CO passing through; its heat is not released.
    dry0 = gas0[0] + gas0[1] + gas0[2]
    o2_0 = 100.0 * gas0[1] / np.maximum(dry0, 1e-9)
    co_kin = (p.co_floor_ppm + p.co_scale_ppm * np.exp(-o2_0 / p.co_o2_decay_pct)) * 1e-6 * dry0
    unburnt_main = heats.calciner_main * (1.0 - burnt_main)
    unburnt_af = heats.calciner_af * (1.0 - burnt_af)
    co_nm3 = (
        kiln.co_nm3_s
        + co_kin
        + unburnt_main * _co_nm3_per_mj(p.fuel("calciner_fuel"))
        + unburnt_af * _co_nm3_per_mj(p.fuel("alternative_fuel"))
    )
    co_loss = co_kin * CO_LHV_MJ_PER_NM3
    cp_s = p.meal_cp_kj_per_kg_k / 1000.0
    heat_in = {
        "fuel": heats.calciner_main * burnt_main + heats.calciner_af * burnt_af - co_loss,
        "kiln_gas": gas_enthalpy_kw(kiln.gas, kiln_gas_c) / 1000.0,
        "tertiary_air": cooler.tertiary_mw,
        "meal": meal_kg_s * cp_s * (p.meal_inlet_c - 25.0),
    }
    q_in = sum(heat_in.values())
    co2_per_kg = NM3_PER_KMOL / M_CACO3  # Nm3 CO2 per kg CaCO3
    ua = d.calciner_ua_mw_per_k

    def outlet(t: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray, dict[str, FloatArray]]:
        """(degree, its derivative, outlet gas, heat flows out) at outlet temperature ``t``."""
        a, da = p.calcination(t)
        gas = gas0.copy()
        gas[2] += a * caco3_kg_s * co2_per_kg
        solids = meal_kg_s - a * caco3_kg_s * CO2_PER_CACO3
        heat_out = {
            "calcination": a * caco3_kg_s * p.calcination_mj_per_kg,
            "gas": gas_enthalpy_kw(gas, t) / 1000.0,
            "solids": solids * cp_s * (t - 25.0),
            "wall": ua * (t - 25.0),
        }
        return a, da, gas, heat_out

    def excess(t: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Heat out minus heat in [MW] at ``t`` and its slope [MW/K] (both rise with ``t``)."""
        a, da, gas, terms = outlet(t)
        solids = meal_kg_s - a * caco3_kg_s * CO2_PER_CACO3
        cp_gas = (gas_enthalpy_kw(gas, t + 0.5) - gas_enthalpy_kw(gas, t - 0.5)) / 1000.0
        slope = (
            da * caco3_kg_s * (p.calcination_mj_per_kg - CO2_PER_CACO3 * cp_s * (t - 25.0))
            + cp_gas
            + solids * cp_s
            + ua
        )
        return np.asarray(sum(terms.values()) - q_in), np.asarray(slope)

    t = np.asarray(guess_c, dtype=np.float64).copy()
    if solve:
        t = _bracketed_root(excess, t, q_in)
    a, _, gas, heat_out = outlet(t)
    dry = gas[0] + gas[1] + gas[2]
    bal = CalcinerBalance(
        t,
        a,
        gas,
        _o2_dry_pct(gas),
        heat_in,
        heat_out,
        co_ppm=np.asarray(1e6 * co_nm3 / np.maximum(dry, 1e-9)),
        lost_mw=np.asarray(unburnt_main + unburnt_af + co_loss),
    )
    if solve:
        bal.check(CALCINER_TOLERANCE)
    return bal


#: Largest calciner imbalance a solve may leave, as a share of the heat in [-].
CALCINER_TOLERANCE = 1e-6
#: The physical bracket of the calciner outlet [degC]: ambient to the gas tables' end (heat
#: out minus heat in is negative at ambient, where nothing leaves hot, and positive long
#: before the end of the tables).
CALCINER_BRACKET_C = (25.0, T_MAX_C - 1.0)


def _bracketed_root(
    excess: Any, guess: FloatArray, q_in: FloatArray, max_iter: int = 100
) -> FloatArray:
    """Root of a rising ``excess(t) -> (f, slope)`` in :data:`CALCINER_BRACKET_C`, per row.

    Safeguarded Newton (Newton inside the bracket, bisection when a Newton step leaves it
    or the bracket stops halving),
    vectorised over the batch: every row keeps a bracket ``[lo, hi]`` with ``f(lo) <= 0 <=
    f(hi)``, so it cannot settle on a spurious root as plain Newton from the previous
    temperature did (v0). Stops when every row's imbalance is below
    :data:`CALCINER_TOLERANCE` of its heat in (or its bracket is below 1e-9 K).
    """
    lo = np.full_like(guess, CALCINER_BRACKET_C[0])
    hi = np.full_like(guess, CALCINER_BRACKET_C[1])
    t = np.clip(guess, lo, hi)
    tol = CALCINER_TOLERANCE * 0.1 * np.maximum(np.abs(q_in), 1.0)
    width = hi - lo
    for _ in range(max_iter):
        f, slope = excess(t)
        done = (np.abs(f) <= tol) | (hi - lo <= 1e-9)
        if done.all():
            break
        lo = np.where(f < 0.0, t, lo)
        hi = np.where(f > 0.0, t, hi)
        newton = t - f / np.maximum(slope, 1e-9)
        # Newton only inside the bracket and while the bracket at least halves per step;
        # otherwise bisect (so at worst the bracket halves every other step).
        use = (newton > lo) & (newton < hi) & (hi - lo <= 0.5 * width)
        width = hi - lo
        t = np.where(done, t, np.where(use, newton, 0.5 * (lo + hi)))
    return t


def calciner_discharge(
    meal_kg_s: Any, caco3_kg_s: Any, degree: Any, temp_c: Any
) -> tuple[Any, Any, Any, Any]:
    """Material leaving the calciner for the kiln, floats or arrays.

    Returns (solids [kg/s], CaCO3 still to calcine [kg/s], temperature [degC], clinker it will
    make [kg/s]).
    """
    return (
        meal_kg_s - degree * caco3_kg_s * CO2_PER_CACO3,
        (1.0 - degree) * caco3_kg_s,
        temp_c,
        meal_kg_s - caco3_kg_s * CO2_PER_CACO3,
    )


def preheater_exit(
    cal: CalcinerBalance, meal_kg_s: FloatArray, p: CementKilnParams
) -> tuple[FloatArray, FloatArray]:
    """(preheater exit gas [degC], its sensible heat above 25 degC [MW]).

    The cyclones heat the raw meal from ``raw_meal_c`` to ``meal_inlet_c`` with the calciner's
    exit gas (shell loss of the cyclones neglected), so the exit loss grows with the gas
    volume: the heat the meal takes is fixed, the gas heat is not. Reported, not fed back
    (the meal's inlet temperature is a parameter).
    """
    cp_s = p.meal_cp_kj_per_kg_k / 1000.0
    h_gas = gas_enthalpy_kw(cal.gas, cal.temp_c) / 1000.0
    h_exit = np.maximum(h_gas - meal_kg_s * cp_s * (p.meal_inlet_c - p.raw_meal_c), 0.0)
    return gas_temperature(cal.gas, 1000.0 * h_exit, 350.0), np.asarray(h_exit)


def kiln_gas_temp(bz_c: FloatArray, p: CementKilnParams) -> FloatArray:
    """Kiln exit gas temperature [degC] (linear in the burning zone)."""
    return np.asarray(p.kiln_gas_ref_c + p.kiln_gas_slope * (np.asarray(bz_c) - p.bz_nominal_c))
