"""Combustion and calcination: the main burner, the kiln exit gas and the precalciner.

* **Combustion**: coal, petcoke and RDF by ultimate analysis (:class:`~ecocontrol.envs.thermo.
  SolidFuel`); kiln-inlet and calciner-exit O2 from the air drawn by the ID fan; CO rising
  exponentially as O2 falls; thermal NOx from the Zeldovich activation energy at the
  main-burner flame temperature and a power of O2.
* **Precalciner** (quasi-steady, gas residence of seconds): the outlet temperature solves the
  energy balance of fuel heat + tertiary air + kiln exit gas + hot meal against the
  endothermic calcination (178 kJ/mol), the sensible heat of gas and solids leaving, and wall
  loss. The calcination degree is first order with an Arrhenius rate, ``1 - exp(-k(T) tau)``,
  so it rises steeply through 850-900 degC.

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
    return np.stack([0.79 * volume_nm3_s, 0.21 * volume_nm3_s, 0 * volume_nm3_s, 0 * volume_nm3_s])


def _o2_dry_pct(gas: FloatArray) -> FloatArray:
    return np.asarray(100.0 * gas[1] / np.maximum(gas[0] + gas[1] + gas[2], 1e-9))


@dataclass
class KilnGas:
    """The kiln's combustion and its exit gas."""

    gas: FloatArray  # (4, B) Nm3/s at the kiln inlet (exit end), before the calciner
    o2_pct: FloatArray
    co_ppm: FloatArray
    heat_mw: FloatArray  # heat released (burnt, less CO loss)
    flame_c: FloatArray


def kiln_combustion(
    kiln_heat_mw: FloatArray,
    fan: FloatArray,
    residual_co2_nm3_s: FloatArray,
    p: CementKilnParams,
    d: KilnDesign,
) -> KilnGas:
    """Main-burner combustion with the secondary air the fan draws through the kiln."""
    air = d.kiln_air_nm3_s * fan
    fuel = p.fuel("kiln_fuel")
    burnt, o2_used, products = _combust(kiln_heat_mw, fuel, 0.21 * air)
    gas = _air(air) + products
    gas[1] = np.maximum(gas[1] - o2_used, 0.0)  # round-off when all O2 is used
    gas[2] += residual_co2_nm3_s
    o2 = _o2_dry_pct(gas)
    co = p.co_floor_ppm + p.co_scale_ppm * np.exp(-o2 / p.co_o2_decay_pct)
    co_loss = co * 1e-6 * (gas[0] + gas[1] + gas[2]) * CO_LHV_MJ_PER_NM3
    heat = kiln_heat_mw * burnt - co_loss
    # Peak flame: the burner's products and its share of the secondary air.
    h_air = air * AIR.enthalpy(p.secondary_air_c) / 1000.0
    flame_gas = products + _air(air)
    flame_gas[1] = np.maximum(flame_gas[1] - o2_used, 0.0)
    flame = gas_temperature(flame_gas, 1000.0 * (p.flame_heat_retained * heat + h_air), 2000.0)
    return KilnGas(gas=gas, o2_pct=o2, co_ppm=co, heat_mw=heat, flame_c=flame)


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
    cp_s = p.meal_cp_kj_per_kg_k / 1000.0
    heat_in = {
        "fuel": heats.calciner_main * burnt_main + heats.calciner_af * burnt_af,
        "kiln_gas": gas_enthalpy_kw(kiln.gas, kiln_gas_c) / 1000.0,
        "tertiary_air": ta * AIR.enthalpy(p.tertiary_air_c) / 1000.0,
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
    bal = CalcinerBalance(t, a, gas, _o2_dry_pct(gas), heat_in, heat_out)
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


def kiln_gas_temp(bz_c: FloatArray, p: CementKilnParams) -> FloatArray:
    """Kiln exit gas temperature [degC] (linear in the burning zone)."""
    return np.asarray(p.kiln_gas_ref_c + p.kiln_gas_slope * (np.asarray(bz_c) - p.bz_nominal_c))
