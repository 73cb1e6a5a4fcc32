"""Cement kiln firing: a precalciner and a rotary kiln with its burning zone.

Physics, over a leading batch axis (one implementation for the env, the vector env and the
MPC's linearisation):

* **Raw meal**: CaCO3 and inert oxides. Its CaCO3 share follows the lime saturation factor
  (LSF = CaO / (2.8 SiO2 + 1.18 Al2O3 + 0.65 Fe2O3), so CaCO3 / rest is proportional to LSF).
* **Precalciner** (quasi-steady, gas residence of seconds): the outlet temperature solves the
  energy balance of fuel heat + tertiary air + kiln exit gas + hot meal against the endothermic
  calcination (178 kJ/mol), the sensible heat of gas and solids leaving, and wall loss. The
  calcination degree is first order with an Arrhenius rate, ``1 - exp(-k(T) tau)``, so it
  rises steeply through 850-900 degC.
* **Rotary kiln**: the burning-zone temperature is a lumped heat balance (bed, coating and
  refractory) of kiln fuel + secondary air against the kiln exit gas, residual calcination,
  clinker formation (net exothermic), clinker sensible heat and shell loss. The material load
  reaches the burning zone after a transport dead time (30 min), so uncalcined meal from the
  calciner cools the burning zone half an hour later.
* **Combustion**: coal, petcoke and RDF by ultimate analysis (:class:`thermo.SolidFuel`);
  kiln-inlet and calciner-exit O2 from the air drawn by the ID fan; CO rising exponentially as
  O2 falls; thermal NOx from the Zeldovich activation energy at the main-burner flame
  temperature and the square root of O2.
* **Quality**: free lime falls exponentially with burning-zone temperature and rises with LSF
  (Fundal's burnability), with a 10-min lag; the lab result of an hourly sample arrives 60 min
  later.

Energy flows are in MW (kJ/ms), mass flows in kg/s, gas flows in Nm3/s, temperatures in degC.
Nominal plant: 5,000 t/d of clinker. The kiln shell and calciner wall losses and the air
flows at full fan speed are *derived* (:func:`kiln_design`) so that the literature nominal
point closes: 3.3 GJ/t with 65 % of the fuel in the calciner, burning zone 1,450 degC,
calciner outlet 870 degC, kiln-inlet O2 3 %, calciner-exit O2 2.5 %.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, fields, replace
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray

from ecocontrol.emissions import (
    DEFAULT_CARBON_PRICE_CNY_PER_T,
    DEFAULT_GRID_FACTOR_T_PER_MWH,
    require_finite_range,
)

from .base import ActionScaler, EcoEnv, PlantStep, ScenarioWindows
from .thermo import AIR, KELVIN, NM3_PER_KMOL, SolidFuel, gas_enthalpy_kw, gas_temperature
from .vector import BatchedEcoEnv, horizon_view

FloatArray = NDArray[np.float64]

R_KJ_PER_MOL_K = 8.314462618e-3
M_CACO3 = 100.087  # kg/kmol
M_CO2 = 44.009
#: kg CO2 per kg CaCO3 calcined (stoichiometry).
CO2_PER_CACO3 = M_CO2 / M_CACO3
#: LHV of CO [MJ/Nm3]: 283.0 kJ/mol / 22.414 Nm3/kmol.
CO_LHV_MJ_PER_NM3 = 283.0 / NM3_PER_KMOL
#: Free lime cannot exceed what an underburnt clinker holds [%].
FREE_LIME_MAX_PCT = 8.0

#: Typical as-fired ultimate analyses (H, O, N, moisture mass fractions). Carbon follows from the
#: ledger's LHV and CO2 factor. Coal: bituminous kiln coal (Speight, Handbook of Coal Analysis,
#: 2015, typical ranges); petcoke: fuel-grade delayed coke; RDF: refuse-derived fuel (ECN
#: Phyllis2 database, typical RDF records).
SOLID_FUELS: dict[str, SolidFuel] = {
    f.name: f
    for f in (
        SolidFuel("coal", 0.045, 0.07, 0.013, 0.08, "typical bituminous kiln coal"),
        SolidFuel("petcoke", 0.035, 0.01, 0.015, 0.01, "typical fuel-grade petroleum coke"),
        SolidFuel("rdf", 0.055, 0.25, 0.008, 0.20, "typical RDF (Phyllis2)"),
    )
}


@dataclass(frozen=True)
class CementKilnParams:
    """Plant parameters, SI units in names; every default with its source.

    Attributes:
        clinker_t_per_day: nominal clinker output [t/d]; a large modern line.
        caco3_fraction: CaCO3 mass share of the raw meal at ``lsf_ref`` [-]; typical 0.76-0.80.
            0.78 gives 0.5225 tCO2/t clinker of process CO2 (CSI/GCCA default 0.525).
        lsf_ref: design lime saturation factor [-]; typical 92-98.
        meal_cp_kj_per_kg_k: raw meal and hot meal heat capacity [kJ/(kg K)]; 0.9-1.1.
        clinker_cp_kj_per_kg_k: clinker heat capacity at 1,000-1,400 degC [kJ/(kg K)].
        meal_inlet_c: meal entering the calciner from the lowest cyclone [degC]; 720-780.
        calcination_mj_per_kg: CaCO3 -> CaO + CO2 at 25 degC [MJ/kg CaCO3]: 178 kJ/mol.
        calcination_activation_kj_per_mol: apparent activation energy [kJ/mol]; 150-200
            reported for limestone in flash calciners.
        calciner_residence_s: solids residence time in the calciner [s]; 2-6.
        calcination_ref: calcination degree at the calciner outlet at ``calcination_ref_c``
            [-]; 0.90-0.95 (REFERENCES: 90-95 % at the kiln inlet). Sets the Arrhenius
            pre-exponential factor.
        calcination_ref_c: temperature of ``calcination_ref`` [degC].
        tertiary_air_c: tertiary air from the cooler [degC]; 850-950.
        secondary_air_c: secondary air from the cooler [degC]; 950-1,150.
        kiln_gas_ref_c: kiln exit (inlet-end) gas at the nominal burning zone [degC]; 1,100-1,200.
        kiln_gas_slope: change of kiln exit gas temperature per K of burning zone [-].
        clinker_discharge_below_bz_k: clinker leaves the kiln this much below the burning
            zone [K] (about 1,350 degC).
        clinkering_mj_per_kg: net heat of clinker mineral formation after calcination, per
            kg clinker [MJ/kg]; exothermic (Taylor, Cement Chemistry, 1997: theoretical heat
            1.75 MJ/kg of which calcination about 2.1).
        bz_heat_capacity_mj_per_k: lumped heat capacity of the burning zone (bed, coating,
            refractory) [MJ/K]; gives a time constant of about 20 min.
        dead_time_min: material transport time from the kiln inlet to the burning zone [min];
            20-45 (REFERENCES, vendor figures).
        nominal_ste_gj_per_t: specific thermal energy at the nominal point [GJ/t]; world
            average 3.4-3.6, BAT 2.9-3.3 (GCCA GNR, IEA).
        calciner_fuel_share: share of the fuel heat fired in the calciner at the nominal point
            (fuel split) [-]; 0.55-0.65 in precalciner kilns (REFERENCES: about 60/40).
        bz_nominal_c: burning zone at the nominal point [degC]; about 1,450.
        calciner_nominal_c: calciner outlet at the nominal point [degC]; 850-900.
        kiln_o2_nominal_pct: kiln-inlet O2 (dry) at the nominal point [%]; 2-4.
        calciner_o2_nominal_pct: calciner-exit O2 (dry) at the nominal point [%].
        free_lime_ref_pct: free lime at ``bz_nominal_c`` and ``lsf_ref`` [%]; target 0.5-1.5.
        free_lime_temp_scale_k: e-folding of free lime with burning-zone temperature [K].
        free_lime_lsf_coeff: relative free-lime rise per LSF point [-] (Fundal 1979: about
            +0.33 %-points per LSF point at 1,400 degC on a base of a few %).
        free_lime_lag_min: lag of the clinker's free lime behind the burning zone [min].
        lab_interval_min: spot-sample interval [min].
        lab_delay_min: lab result delay [min]; 60-120 (REFERENCES).
        lab_error_pct: lab measurement standard deviation [%-points].
        free_lime_band_pct: quality band (low, high) [%]; REFERENCES: target < 1.5, good 0.5-1.
        bz_limits_c: burning-zone limits (low, high) [degC]: below, the clinker is underburnt
            and the coating falls; above, rings, coating and refractory suffer.
        calciner_limits_c: calciner outlet limits (low, high) [degC]; above 900 build-ups.
        co_limit_ppm: kiln-inlet CO above which a penalty applies [ppm] (precipitator trips
            near 5,000 ppm; operators keep it below about 1,000).
        co_floor_ppm, co_scale_ppm, co_o2_decay_pct: CO = floor + scale x exp(-O2 / decay).
        nox_limit_mg_nm3: stack NOx limit [mg/Nm3 at 10 % O2]; GB 4915-2013 (China) 400; EU
            BAT-AEL 200-450.
        nox_ref_mg_nm3: stack NOx at the nominal point after SNCR [mg/Nm3].
        zeldovich_e_over_r_k: activation temperature of N2 + O -> NO [K] (Zeldovich,
            319 kJ/mol: 38,370 K).
        nox_o2_exponent: NOx proportional to O2 to this power [-]. Zeldovich kinetics give 0.5
            (O atoms in equilibrium with O2); kilns show NOx falling about in proportion to
            O2 when excess air is cut (the flame-temperature rise is partly offset), so 1.
        flame_heat_retained: share of the burner's heat in the flame gas at its peak [-].
        fan_power_mw: ID fan power at speed 1 [MW]; about 10 kWh/t clinker. Cube law.
        kiln_fuel, calciner_fuel, alternative_fuel: names in :data:`SOLID_FUELS`.
        af_biogenic_share: biogenic share of the alternative fuel's CO2 [-] (reported apart,
            not priced); RDF up to about 0.6 (REFERENCES), IPCC default basis 0.5.
        fuel_price_cny_per_t: price per tonne of each fuel [CNY/t]; coal 1,000 (China
            delivered thermal coal 2024-25), petcoke 1,200, RDF 200.
        electricity_cny_per_mwh: industrial tariff [CNY/MWh].
        grid_factor_t_per_mwh: grid CO2 factor [tCO2/MWh]; China 2023 average.
        kiln_heat_range_mw, calciner_heat_range_mw: actuator ranges of fuel heat at nominal
            LHV [MW].
        af_share_max: largest alternative-fuel share of the calciner's heat [-]: the RDF
            feeder and calciner burnout limit (about 20 % of the total heat; European plants
            reach 60-80 % thermal substitution with dedicated combustion chambers).
        fan_speed_range: ID fan speed range [-] (1 = design).
        af_share_rule: the rule controller's fixed alternative-fuel share [-].
        penalty_free_lime_cny_per_t_pct: per tonne of clinker and %-point outside the band.
        penalty_temp_cny_per_k_min: per K and minute outside a temperature limit.
        penalty_co_cny_per_min: per minute with CO above its limit (x excess / limit).
        penalty_nox_cny_per_mg_min: per mg/Nm3 above the NOx limit and minute.
    """

    clinker_t_per_day: float = 5000.0
    caco3_fraction: float = 0.78
    lsf_ref: float = 96.0
    meal_cp_kj_per_kg_k: float = 1.0
    clinker_cp_kj_per_kg_k: float = 1.05
    meal_inlet_c: float = 760.0
    calcination_mj_per_kg: float = 1.78
    calcination_activation_kj_per_mol: float = 180.0
    calciner_residence_s: float = 4.0
    calcination_ref: float = 0.93
    calcination_ref_c: float = 870.0
    tertiary_air_c: float = 900.0
    secondary_air_c: float = 1000.0
    kiln_gas_ref_c: float = 1150.0
    kiln_gas_slope: float = 0.5
    clinker_discharge_below_bz_k: float = 100.0
    clinkering_mj_per_kg: float = -0.30
    bz_heat_capacity_mj_per_k: float = 120.0
    dead_time_min: float = 30.0
    nominal_ste_gj_per_t: float = 3.3
    calciner_fuel_share: float = 0.65
    bz_nominal_c: float = 1450.0
    calciner_nominal_c: float = 870.0
    kiln_o2_nominal_pct: float = 3.0
    calciner_o2_nominal_pct: float = 2.5
    free_lime_ref_pct: float = 1.0
    free_lime_temp_scale_k: float = 50.0
    free_lime_lsf_coeff: float = 0.12
    free_lime_lag_min: float = 10.0
    lab_interval_min: float = 60.0
    lab_delay_min: float = 60.0
    lab_error_pct: float = 0.05
    free_lime_band_pct: tuple[float, float] = (0.5, 1.5)
    bz_limits_c: tuple[float, float] = (1380.0, 1500.0)
    calciner_limits_c: tuple[float, float] = (840.0, 900.0)
    co_limit_ppm: float = 1000.0
    co_floor_ppm: float = 100.0
    co_scale_ppm: float = 20000.0
    co_o2_decay_pct: float = 0.4
    nox_limit_mg_nm3: float = 400.0
    nox_ref_mg_nm3: float = 320.0
    zeldovich_e_over_r_k: float = 38370.0
    nox_o2_exponent: float = 1.0
    flame_heat_retained: float = 0.8
    fan_power_mw: float = 2.1
    kiln_fuel: str = "coal"
    calciner_fuel: str = "coal"
    alternative_fuel: str = "rdf"
    af_biogenic_share: float = 0.5
    fuel_price_cny_per_t: tuple[tuple[str, float], ...] = (
        ("coal", 1000.0),
        ("petcoke", 1200.0),
        ("rdf", 200.0),
    )
    electricity_cny_per_mwh: float = 650.0
    grid_factor_t_per_mwh: float = DEFAULT_GRID_FACTOR_T_PER_MWH
    kiln_heat_range_mw: tuple[float, float] = (30.0, 110.0)
    calciner_heat_range_mw: tuple[float, float] = (40.0, 180.0)
    af_share_max: float = 0.5
    fan_speed_range: tuple[float, float] = (0.7, 1.15)
    af_share_rule: float = 0.3
    penalty_free_lime_cny_per_t_pct: float = 30.0
    penalty_temp_cny_per_k_min: float = 5.0
    penalty_co_cny_per_min: float = 50.0
    penalty_nox_cny_per_mg_min: float = 1.0

    def __post_init__(self) -> None:
        c = "CementKilnParams."
        # Configs hand over lists; keep the dataclass hashable (the design is cached on it).
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, list | tuple):
                value = tuple(tuple(v) if isinstance(v, list | tuple) else v for v in value)
                object.__setattr__(self, f.name, value)
        checks: tuple[tuple[str, float, float, float], ...] = (
            ("clinker_t_per_day", self.clinker_t_per_day, 1.0, 20000.0),
            ("caco3_fraction", self.caco3_fraction, 0.5, 0.9),
            ("lsf_ref", self.lsf_ref, 80.0, 105.0),
            ("meal_cp_kj_per_kg_k", self.meal_cp_kj_per_kg_k, 0.5, 2.0),
            ("clinker_cp_kj_per_kg_k", self.clinker_cp_kj_per_kg_k, 0.5, 2.0),
            ("meal_inlet_c", self.meal_inlet_c, 500.0, 850.0),
            ("calcination_mj_per_kg", self.calcination_mj_per_kg, 1.0, 2.5),
            ("calcination_activation_kj_per_mol", self.calcination_activation_kj_per_mol, 50, 400),
            ("calciner_residence_s", self.calciner_residence_s, 0.5, 30.0),
            ("calcination_ref", self.calcination_ref, 0.5, 0.999),
            ("calcination_ref_c", self.calcination_ref_c, 750.0, 1000.0),
            ("tertiary_air_c", self.tertiary_air_c, 500.0, 1200.0),
            ("secondary_air_c", self.secondary_air_c, 600.0, 1300.0),
            ("kiln_gas_ref_c", self.kiln_gas_ref_c, 900.0, 1300.0),
            ("kiln_gas_slope", self.kiln_gas_slope, 0.0, 2.0),
            ("clinker_discharge_below_bz_k", self.clinker_discharge_below_bz_k, 0.0, 400.0),
            ("clinkering_mj_per_kg", self.clinkering_mj_per_kg, -1.0, 0.5),
            ("bz_heat_capacity_mj_per_k", self.bz_heat_capacity_mj_per_k, 1.0, 10000.0),
            ("dead_time_min", self.dead_time_min, 1.0, 120.0),
            ("nominal_ste_gj_per_t", self.nominal_ste_gj_per_t, 2.5, 5.0),
            ("bz_nominal_c", self.bz_nominal_c, 1300.0, 1550.0),
            ("kiln_o2_nominal_pct", self.kiln_o2_nominal_pct, 0.5, 8.0),
            ("calciner_o2_nominal_pct", self.calciner_o2_nominal_pct, 0.5, 8.0),
            ("free_lime_ref_pct", self.free_lime_ref_pct, 0.05, 5.0),
            ("free_lime_temp_scale_k", self.free_lime_temp_scale_k, 5.0, 500.0),
            ("free_lime_lsf_coeff", self.free_lime_lsf_coeff, 0.0, 1.0),
            ("free_lime_lag_min", self.free_lime_lag_min, 0.1, 120.0),
            ("lab_interval_min", self.lab_interval_min, 1.0, 1440.0),
            ("lab_delay_min", self.lab_delay_min, 0.0, 1440.0),
            ("lab_error_pct", self.lab_error_pct, 0.0, 1.0),
            ("co_limit_ppm", self.co_limit_ppm, 1.0, 1e5),
            ("co_floor_ppm", self.co_floor_ppm, 0.0, 1e4),
            ("co_scale_ppm", self.co_scale_ppm, 0.0, 1e6),
            ("co_o2_decay_pct", self.co_o2_decay_pct, 0.01, 10.0),
            ("nox_limit_mg_nm3", self.nox_limit_mg_nm3, 1.0, 1e4),
            ("nox_ref_mg_nm3", self.nox_ref_mg_nm3, 1.0, 1e4),
            ("zeldovich_e_over_r_k", self.zeldovich_e_over_r_k, 0.0, 1e5),
            ("nox_o2_exponent", self.nox_o2_exponent, 0.0, 3.0),
            ("flame_heat_retained", self.flame_heat_retained, 0.3, 1.0),
            ("fan_power_mw", self.fan_power_mw, 0.0, 50.0),
            ("electricity_cny_per_mwh", self.electricity_cny_per_mwh, 0.0, 1e4),
            ("grid_factor_t_per_mwh", self.grid_factor_t_per_mwh, 0.0, 2.0),
            ("af_share_max", self.af_share_max, 0.0, 1.0),
            ("af_share_rule", self.af_share_rule, 0.0, self.af_share_max),
            ("penalty_free_lime_cny_per_t_pct", self.penalty_free_lime_cny_per_t_pct, 0, 1e6),
            ("penalty_temp_cny_per_k_min", self.penalty_temp_cny_per_k_min, 0.0, 1e6),
            ("penalty_co_cny_per_min", self.penalty_co_cny_per_min, 0.0, 1e6),
            ("penalty_nox_cny_per_mg_min", self.penalty_nox_cny_per_mg_min, 0.0, 1e6),
        )
        for name, value, lo, hi in checks:
            require_finite_range(c + name, value, lo, hi)
        require_finite_range(
            c + "calciner_fuel_share",
            self.calciner_fuel_share,
            0.0,
            1.0,
            low_inclusive=False,
            high_inclusive=False,
        )
        require_finite_range(c + "af_biogenic_share", self.af_biogenic_share, 0.0, 1.0)
        if self.calcination_ref_c >= self.bz_nominal_c:
            raise ValueError(f"{c}calcination_ref_c must be below bz_nominal_c")
        pairs = (
            ("free_lime_band_pct", self.free_lime_band_pct, 0.0, 10.0),
            ("bz_limits_c", self.bz_limits_c, 1000.0, 1700.0),
            ("calciner_limits_c", self.calciner_limits_c, 600.0, 1100.0),
            ("kiln_heat_range_mw", self.kiln_heat_range_mw, 0.0, 1000.0),
            ("calciner_heat_range_mw", self.calciner_heat_range_mw, 0.0, 1000.0),
            ("fan_speed_range", self.fan_speed_range, 0.1, 2.0),
        )
        for name, (lo, hi), low, high in pairs:
            require_finite_range(f"{c}{name}[0]", lo, low, high)
            require_finite_range(f"{c}{name}[1]", hi, low, high)
            if not lo < hi:
                raise ValueError(
                    f"{c}{name}=({lo}, {hi}) is reversed or empty; allowed: low < high "
                    f"within [{low}, {high}]"
                )
        if not self.bz_limits_c[0] < self.bz_nominal_c < self.bz_limits_c[1]:
            raise ValueError(
                f"{c}bz_nominal_c={self.bz_nominal_c}; allowed: inside bz_limits_c "
                f"{self.bz_limits_c}"
            )
        if not self.calciner_limits_c[0] < self.calciner_nominal_c < self.calciner_limits_c[1]:
            raise ValueError(
                f"{c}calciner_nominal_c={self.calciner_nominal_c}; allowed: inside "
                f"calciner_limits_c {self.calciner_limits_c}"
            )
        prices = dict(self.fuel_price_cny_per_t)
        for role in ("kiln_fuel", "calciner_fuel", "alternative_fuel"):
            name = getattr(self, role)
            if name not in SOLID_FUELS:
                raise ValueError(f"{c}{role}={name!r}; allowed: {sorted(SOLID_FUELS)}")
            if name not in prices:
                raise ValueError(f"{c}fuel_price_cny_per_t has no price for {name!r}")
            require_finite_range(f"{c}fuel_price_cny_per_t[{name}]", prices[name], -1e4, 1e5)

    # -- derived quantities -----------------------------------------------------------------
    @property
    def clinker_kg_s(self) -> float:
        """Nominal clinker output [kg/s]."""
        return self.clinker_t_per_day / 86.4

    def caco3_share(self, lsf: FloatArray | float) -> FloatArray:
        """CaCO3 mass share of the raw meal at ``lsf`` (CaCO3/rest proportional to LSF)."""
        r = self.caco3_fraction / (1.0 - self.caco3_fraction) * np.asarray(lsf) / self.lsf_ref
        return np.asarray(r / (1.0 + r), dtype=np.float64)

    @property
    def meal_kg_s(self) -> float:
        """Nominal raw-meal feed [kg/s] (gives the nominal clinker at ``lsf_ref``)."""
        return self.clinker_kg_s / (1.0 - CO2_PER_CACO3 * self.caco3_fraction)

    def fuel(self, role: str) -> SolidFuel:
        """The solid fuel of ``role`` (``kiln_fuel``, ``calciner_fuel``, ``alternative_fuel``)."""
        return SOLID_FUELS[getattr(self, role)]

    def price_cny_per_mj(self, role: str) -> float:
        """Fuel price per MJ at nominal LHV [CNY/MJ]."""
        name = getattr(self, role)
        return (
            dict(self.fuel_price_cny_per_t)[name] / 1000.0 / SOLID_FUELS[name].fuel.lhv_mj_per_unit
        )

    def arrhenius(self, temp_c: FloatArray | float) -> FloatArray:
        """Calcination rate constant [1/s] at ``temp_c``."""
        e = self.calcination_activation_kj_per_mol / R_KJ_PER_MOL_K
        k_ref = -math.log(1.0 - self.calcination_ref) / self.calciner_residence_s
        t = np.asarray(temp_c, dtype=np.float64) + KELVIN
        return np.asarray(k_ref * np.exp(-e * (1.0 / t - 1.0 / (self.calcination_ref_c + KELVIN))))

    def calcination(self, temp_c: FloatArray | float) -> tuple[FloatArray, FloatArray]:
        """Calcination degree at the calciner outlet and its derivative [1/K]."""
        k = self.arrhenius(temp_c)
        e = self.calcination_activation_kj_per_mol / R_KJ_PER_MOL_K
        t = np.asarray(temp_c, dtype=np.float64) + KELVIN
        tau = self.calciner_residence_s
        rest = np.exp(-k * tau)
        return 1.0 - rest, rest * tau * k * e / t**2

    def free_lime_eq(self, bz_c: FloatArray | float, lsf: FloatArray | float) -> FloatArray:
        """Free lime [%] the burning zone tends to at ``bz_c`` for meal of ``lsf``."""
        return np.minimum(
            FREE_LIME_MAX_PCT,
            self.free_lime_ref_pct
            * np.exp(
                -(np.asarray(bz_c) - self.bz_nominal_c) / self.free_lime_temp_scale_k
                + self.free_lime_lsf_coeff * (np.asarray(lsf) - self.lsf_ref)
            ),
        )

    def bz_for_free_lime(self, free_lime_pct: float, lsf: FloatArray | float) -> FloatArray:
        """Burning-zone temperature [degC] whose equilibrium free lime is ``free_lime_pct``."""
        return np.asarray(
            self.bz_nominal_c
            + self.free_lime_temp_scale_k
            * (
                math.log(self.free_lime_ref_pct / free_lime_pct)
                + self.free_lime_lsf_coeff * (np.asarray(lsf) - self.lsf_ref)
            )
        )


# --------------------------------------------------------------------------------------------
# Physics
# --------------------------------------------------------------------------------------------
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
    iterations: int = 8,
) -> CalcinerBalance:
    """Solve the calciner's outlet temperature from its energy balance (Newton).

    With ``iterations=0`` the balance is evaluated at ``guess_c`` (its residual is then the
    imbalance at that temperature).
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

    t = np.asarray(guess_c, dtype=np.float64).copy()
    for _ in range(iterations):
        a, da, gas, terms = outlet(t)
        solids = meal_kg_s - a * caco3_kg_s * CO2_PER_CACO3
        cp_gas = (gas_enthalpy_kw(gas, t + 0.5) - gas_enthalpy_kw(gas, t - 0.5)) / 1000.0
        dout = (
            da * caco3_kg_s * (p.calcination_mj_per_kg - CO2_PER_CACO3 * cp_s * (t - 25.0))
            + cp_gas
            + solids * cp_s
            + ua
        )
        t = np.clip(t - (sum(terms.values()) - q_in) / dout, 500.0, 1400.0)
    a, _, gas, heat_out = outlet(t)
    return CalcinerBalance(t, a, gas, _o2_dry_pct(gas), heat_in, heat_out)


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
) -> tuple[dict[str, FloatArray], dict[str, FloatArray]]:
    """Heat flows into and out of the burning zone [MW]."""
    air = d.kiln_air_nm3_s * fan
    cp_s = p.meal_cp_kj_per_kg_k / 1000.0
    heat_in = {
        "fuel": kiln.heat_mw,
        "secondary_air": air * AIR.enthalpy(p.secondary_air_c) / 1000.0,
        "solids": solids_kg_s * cp_s * (solids_c - 25.0),
    }
    heat_out = {
        "gas": gas_enthalpy_kw(kiln.gas, kiln_gas_temp(bz_c, p)) / 1000.0,
        "calcination": caco3_left_kg_s * p.calcination_mj_per_kg,
        "clinkering": clinker_kg_s * p.clinkering_mj_per_kg,
        "clinker": clinker_kg_s
        * p.clinker_cp_kj_per_kg_k
        / 1000.0
        * (bz_c - p.clinker_discharge_below_bz_k - 25.0),
        "shell": d.kiln_ua_mw_per_k * (bz_c - 25.0),
    }
    return heat_in, heat_out


@dataclass(frozen=True)
class KilnDesign:
    """Quantities derived from :class:`CementKilnParams` so the nominal point closes."""

    kiln_air_nm3_s: float
    tertiary_air_nm3_s: float
    kiln_ua_mw_per_k: float
    calciner_ua_mw_per_k: float
    flame_nominal_c: float
    kiln_heat_mw: float
    calciner_heat_mw: float


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
    # Placeholder design (losses zero) to evaluate the gas with the real functions.
    zero = KilnDesign(float(kiln_air), 0.0, 0.0, 0.0, 1800.0, q_kiln, q_calc)
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
    heats = Heats(q_kiln * one, q_calc * one, 0.0 * one)
    bal = calciner_balance(
        p.meal_kg_s * one,
        caco3 * one,
        heats,
        one,
        kiln,
        kiln_gas_temp(p.bz_nominal_c * one, p),
        p.calciner_nominal_c * one,
        p,
        zero,
        iterations=0,
    )
    calc_loss = float(bal.residual_mw[0])
    solids = p.meal_kg_s - a * caco3 * CO2_PER_CACO3
    clinker = p.meal_kg_s - caco3 * CO2_PER_CACO3
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
    )
    kiln_loss = float(
        np.sum(list(hin.values()), axis=0)[0] - np.sum(list(hout.values()), axis=0)[0]
    )
    if calc_loss <= 0.0 or kiln_loss <= 0.0:
        raise ValueError(
            f"CementKilnParams: the nominal point needs negative wall losses (calciner "
            f"{calc_loss:.1f} MW, kiln shell {kiln_loss:.1f} MW); allowed: parameters whose "
            "nominal heat balance leaves a positive loss (check nominal_ste_gj_per_t, "
            "calciner_fuel_share and the air temperatures)"
        )
    return KilnDesign(
        kiln_air_nm3_s=float(kiln_air),
        tertiary_air_nm3_s=float(ta),
        kiln_ua_mw_per_k=kiln_loss / (p.bz_nominal_c - 25.0),
        calciner_ua_mw_per_k=calc_loss / (p.calciner_nominal_c - 25.0),
        flame_nominal_c=float(kiln.flame_c[0]),
        kiln_heat_mw=q_kiln,
        calciner_heat_mw=q_calc,
    )


# --------------------------------------------------------------------------------------------
# State and step
# --------------------------------------------------------------------------------------------
#: Exogenous series, one value per step.
EXO_KEYS: tuple[str, ...] = ("feed", "lsf", "coal_lhv", "af_lhv", "lab_noise")


@dataclass
class KilnState:
    """Physical state over a batch axis ``B``; the pipeline axis ``D`` is the dead time.

    The pipeline holds the material on its way from the kiln inlet to the burning zone,
    oldest first: solids [kg/s], CaCO3 still to calcine [kg/s], its temperature [degC], the
    clinker it will make [kg/s] and its LSF.
    """

    bz_c: FloatArray
    calciner_c: FloatArray
    free_lime_pct: FloatArray
    pipe_solids: FloatArray
    pipe_caco3: FloatArray
    pipe_temp: FloatArray
    pipe_clinker: FloatArray
    pipe_lsf: FloatArray
    lab_pending_pct: FloatArray  # (B, slots)
    lab_pending_left_min: FloatArray  # (B, slots); inf = free slot
    lab_last_pct: FloatArray
    lab_age_min: FloatArray
    last_action: FloatArray  # (B, 4) physical

    def copy(self) -> KilnState:
        """A deep copy."""
        return KilnState(**{f.name: getattr(self, f.name).copy() for f in fields(self)})


@dataclass
class KilnFlows:
    """What happened during one step (each entry shape ``(B,)``)."""

    heats: Heats
    fuel_kg_s: dict[str, FloatArray]
    kiln: KilnGas
    calciner: CalcinerBalance
    bz_in: dict[str, FloatArray]
    bz_out: dict[str, FloatArray]
    kiln_gas_c: FloatArray
    nox_mg_nm3: FloatArray
    clinker_kg_s: FloatArray
    caco3_fed_kg_s: FloatArray
    process_co2_kg_s: FloatArray
    fan_mw: FloatArray
    free_lime_eq_pct: FloatArray


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
    kiln = kiln_combustion(heats.kiln, fan, residual_co2, p, d)
    bz_in, bz_out = burning_zone_terms(
        state.bz_c, kiln, fan, solids, caco3_left, solids_c, clinker, p, d
    )
    net = sum(bz_in.values()) - sum(bz_out.values())
    kiln_gas_c = kiln_gas_temp(state.bz_c, p)
    meal = exo["feed"] * p.meal_kg_s
    caco3 = meal * p.caco3_share(exo["lsf"])
    cal = calciner_balance(meal, caco3, heats, fan, kiln, kiln_gas_c, state.calciner_c, p, d)
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
    # Lab: a spot sample every interval; its result is published lab_delay_min later. Samples
    # wait in slots (several are pending when the delay exceeds the interval).
    pending, left = state.lab_pending_pct.copy(), state.lab_pending_left_min - dt_min
    last, age = state.lab_last_pct.copy(), state.lab_age_min + dt_min
    sample = np.broadcast_to(np.asarray(lab_sample, dtype=bool), left.shape[:1])
    if sample.any():
        rows = np.flatnonzero(sample)
        slot = np.argmax(np.isinf(left[rows]), axis=1)  # a free slot (there are enough)
        pending[rows, slot] = np.maximum(free_lime + exo["lab_noise"], 0.0)[rows]
        left[rows, slot] = p.lab_delay_min
    arrived = left <= 1e-9
    got = arrived.any(axis=1)
    newest = np.argmax(np.where(arrived, left, -np.inf), axis=1)
    last = np.where(got, pending[np.arange(len(newest)), newest], last)
    age = np.where(got, 0.0, age)
    left = np.where(arrived, np.inf, left)
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
    )
    return new_state, flows


def kiln_accounts(
    flows: KilnFlows, state: KilnState, p: CementKilnParams, dt_min: float
) -> tuple[dict[str, FloatArray], dict[str, FloatArray], dict[str, FloatArray]]:
    """(tCO2 by source, CNY by term except carbon, violations) of one step, each ``(B,)``."""
    dt_s = 60.0 * dt_min
    h = flows.heats
    fossil = np.zeros_like(h.kiln)
    biogenic = np.zeros_like(h.kiln)
    for role, q in (
        ("kiln_fuel", h.kiln),
        ("calciner_fuel", h.calciner_main),
        ("alternative_fuel", h.calciner_af),
    ):
        total = p.fuel(role).fuel.co2_t_per_gj * q * dt_s / 1000.0
        share = p.af_biogenic_share if role == "alternative_fuel" else 0.0
        fossil, biogenic = fossil + total * (1.0 - share), biogenic + total * share
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
    co_excess = np.maximum(flows.kiln.co_ppm - p.co_limit_ppm, 0.0)
    nox_excess = np.maximum(flows.nox_mg_nm3 - p.nox_limit_mg_nm3, 0.0)
    clinker_t = flows.clinker_kg_s * dt_s / 1000.0
    penalty = (
        p.penalty_free_lime_cny_per_t_pct * fl_out * clinker_t
        + p.penalty_temp_cny_per_k_min * (bz_out + tc_out) * dt_min
        + p.penalty_co_cny_per_min * co_excess / p.co_limit_ppm * dt_min
        + p.penalty_nox_cny_per_mg_min * nox_excess * dt_min
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
    }
    return emissions, costs, violations


def lab_slots(p: CementKilnParams) -> int:
    """Lab samples that can be pending at once."""
    return int(p.lab_delay_min // p.lab_interval_min) + 2


def nominal_action(p: CementKilnParams, feed: float = 1.0, af_share: float = 0.0) -> FloatArray:
    """Physical action of the nominal point scaled to ``feed`` (kiln, calciner, AF, fan)."""
    d = kiln_design(p)
    return np.array([d.kiln_heat_mw * feed, d.calciner_heat_mw * feed, af_share, 1.0])


def initial_state(p: CementKilnParams, dt_min: float, feed: float, lsf: float) -> KilnState:
    """The nominal point at ``feed`` and ``lsf``: pipeline full of nominal material."""
    n = max(1, round(p.dead_time_min / dt_min))
    meal = feed * p.meal_kg_s
    caco3 = meal * float(p.caco3_share(lsf))
    a = float(p.calcination(p.calciner_nominal_c)[0])
    solids, caco3_left, temp, clinker = calciner_discharge(meal, caco3, a, p.calciner_nominal_c)
    row = lambda v: np.full((1, n), float(v))  # noqa: E731
    fl = float(p.free_lime_eq(p.bz_nominal_c, lsf))
    return KilnState(
        bz_c=np.array([p.bz_nominal_c]),
        calciner_c=np.array([p.calciner_nominal_c]),
        free_lime_pct=np.array([fl]),
        pipe_solids=row(solids),
        pipe_caco3=row(caco3_left),
        pipe_temp=row(temp),
        pipe_clinker=row(clinker),
        pipe_lsf=row(lsf),
        lab_pending_pct=np.full((1, lab_slots(p)), fl),
        lab_pending_left_min=np.full((1, lab_slots(p)), np.inf),
        lab_last_pct=np.array([fl]),
        lab_age_min=np.array([0.0]),
        last_action=nominal_action(p, feed)[None, :],
    )


# --------------------------------------------------------------------------------------------
# Disturbances (SYNTHETIC)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class KilnDisturbances:
    """A year of exogenous series at the env step, SYNTHETIC (documented in the env card).

    * ``feed``: the production plan, raw-meal feed / nominal: levels held 3-10 h, drawn from
      0.90-1.04, with 20-min ramps between them; operators know it 60 min ahead.
    * ``lsf``: lime saturation factor, Ornstein-Uhlenbeck around ``lsf_ref`` (sd 2 points,
      correlation time 4 h): raw-mix drift a homogenising silo leaves (kiln-feed LSF sd of
      1-3 points is common).
    * ``coal_lhv``: coal heating value / nominal, OU (sd 2 %, 12 h).
    * ``af_lhv``: alternative-fuel heating value / nominal, OU (sd 8 %, 2 h): RDF moisture.
    * ``lab_noise``: lab free-lime error, normal (sd ``lab_error_pct``).
    """

    series: dict[str, FloatArray]

    def __post_init__(self) -> None:
        missing = set(EXO_KEYS) - set(self.series)
        if missing:
            raise ValueError(
                f"KilnDisturbances.series lacks {sorted(missing)}; allowed: {EXO_KEYS}"
            )
        limits = {
            "feed": (0.0, 2.0),
            "lsf": (70.0, 120.0),
            "coal_lhv": (0.0, 2.0),
            "af_lhv": (0.0, 2.0),
        }
        for key, (lo, hi) in limits.items():
            v = np.asarray(self.series[key], dtype=float)
            bad = ~np.isfinite(v) | (v <= lo) | (v > hi)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ValueError(
                    f"KilnDisturbances.series[{key!r}][{i}]={v[i]!r} is out of range; allowed: "
                    f"finite values in ({lo}, {hi}]"
                    + (
                        " (raw-meal feed / nominal; zero or negative feed is no kiln)"
                        if key == "feed"
                        else ""
                    )
                )

    @property
    def n_steps(self) -> int:
        """Steps of data."""
        return len(self.series["feed"])

    def window(self, start: int, n: int) -> dict[str, FloatArray]:
        """Series from ``start`` for ``n`` steps (the last value repeats past the year)."""
        idx = np.minimum(np.arange(start, start + n), self.n_steps - 1)
        return {k: v[idx] for k, v in self.series.items()}


def _ou(rng: np.random.Generator, n: int, mean: float, sd: float, tau_steps: float) -> FloatArray:
    a = math.exp(-1.0 / tau_steps)
    eps = rng.normal(0.0, sd * math.sqrt(1.0 - a * a), n)
    x = np.empty(n)
    x[0] = mean + rng.normal(0.0, sd)
    dev = x[0] - mean
    for i in range(1, n):
        dev = a * dev + eps[i]
        x[i] = mean + dev
    return x


@functools.lru_cache(maxsize=8)
def synthetic_disturbances(p: CementKilnParams, dt_min: float, seed: int) -> KilnDisturbances:
    """A year of SYNTHETIC disturbances at ``dt_min`` (see :class:`KilnDisturbances`)."""
    n = round(365 * 1440 / dt_min)
    rng = np.random.default_rng(seed)
    per_h = 60.0 / dt_min
    feed = np.empty(n)
    i, level = 0, 1.0
    ramp = max(1, round(20.0 / dt_min))
    while i < n:
        hold = round(rng.uniform(3.0, 10.0) * per_h)
        new = float(rng.uniform(0.90, 1.04))
        r = np.linspace(level, new, ramp + 1)[1:]
        seg = np.concatenate([r, np.full(max(hold - ramp, 0), new)])[: n - i]
        feed[i : i + len(seg)] = seg
        i += len(seg)
        level = new
    lsf = _ou(rng, n, p.lsf_ref, 2.0, 4.0 * per_h)
    coal = _ou(rng, n, 1.0, 0.02, 12.0 * per_h)
    af = np.clip(_ou(rng, n, 1.0, 0.08, 2.0 * per_h), 0.6, 1.4)
    noise = rng.normal(0.0, p.lab_error_pct, n)
    return KilnDisturbances(
        {"feed": feed, "lsf": lsf, "coal_lhv": coal, "af_lhv": af, "lab_noise": noise}
    )


# --------------------------------------------------------------------------------------------
# Gymnasium env
# --------------------------------------------------------------------------------------------
OBS_DIM = 22
#: Feed-forecast leads in the observation [min].
OBS_LEADS_MIN = (15.0, 30.0, 45.0, 60.0)


def kiln_readings(
    state: KilnState, flows: KilnFlows | None, p: CementKilnParams
) -> dict[str, FloatArray]:
    """The instruments the observation shows, per batch row.

    At reset (no step yet): the nominal point's readings.
    """
    if flows is None:
        ones = np.ones_like(state.bz_c)
        return {
            "kiln_gas_c": kiln_gas_temp(state.bz_c, p),
            "kiln_o2_pct": ones * p.kiln_o2_nominal_pct,
            "calciner_o2_pct": ones * p.calciner_o2_nominal_pct,
            "co_ppm": ones * p.co_floor_ppm,
            "nox_mg_nm3": ones * p.nox_ref_mg_nm3,
        }
    return {
        "kiln_gas_c": flows.kiln_gas_c,
        "kiln_o2_pct": flows.kiln.o2_pct,
        "calciner_o2_pct": flows.calciner.o2_pct,
        "co_ppm": flows.kiln.co_ppm,
        "nox_mg_nm3": flows.nox_mg_nm3,
    }


def kiln_observation(
    state: KilnState,
    readings: dict[str, FloatArray],
    feed_plan: FloatArray,
    leads: NDArray[np.int64],
    progress: FloatArray,
    p: CementKilnParams,
    carbon_price_cny_per_t: float,
) -> NDArray[np.float32]:
    """Observations over a batch, shape ``(n, OBS_DIM)`` float32 (see the env card).

    Args:
        state: the plant at the coming step.
        readings: :func:`kiln_readings`.
        feed_plan: ``(n, horizon + 1)`` planned feed, lead 0 = the coming step.
        leads: plan leads shown (indices into ``feed_plan``).
        progress: share of the episode done, shape ``(n,)``.
        p: parameters.
        carbon_price_cny_per_t: the carbon price.
    """
    prices = dict(p.fuel_price_cny_per_t)
    a = state.last_action
    b = len(a)
    const = np.array(
        [
            prices[p.calciner_fuel] / 1000.0,
            prices[p.alternative_fuel] / 1000.0,
            carbon_price_cny_per_t / 100.0,
        ]
    )
    obs = np.concatenate(
        [
            np.stack(
                [
                    state.bz_c / 1000.0,
                    state.calciner_c / 1000.0,
                    readings["kiln_gas_c"] / 1000.0,
                    readings["kiln_o2_pct"] / 10.0,
                    readings["calciner_o2_pct"] / 10.0,
                    readings["co_ppm"] / 1000.0,
                    readings["nox_mg_nm3"] / 1000.0,
                    state.lab_last_pct / 2.0,
                    state.lab_age_min / 120.0,
                    feed_plan[:, 0],
                ],
                axis=1,
            ),
            feed_plan[:, leads],
            a[:, :2] / 100.0,
            a[:, 2:4],
            np.broadcast_to(const, (b, 3)),
            progress[:, None],
        ],
        axis=1,
    )
    return np.clip(obs, -1.0, 10.0).astype(np.float32)


class CementKilnEnv(EcoEnv):
    """Cement kiln firing: precalciner + rotary kiln, 1-min steps, 24-h episodes.

    ## Description
    A 5,000 t/d precalciner kiln (see the module docstring for the physics). The operator
    sets the kiln (main burner) and calciner fuel rates, the alternative-fuel (RDF) share of
    the calciner's fuel and the ID fan speed (excess air). Raw-mix LSF drift, production-plan
    feed changes and fuel heating-value swings disturb it; all are SYNTHETIC
    (:class:`KilnDisturbances`). The episode starts at the nominal point scaled to the
    window's first feed rate.

    ## Action Space
    ``Box(-1, 1, (4,))`` mapped linearly to: kiln fuel heat ``kiln_heat_range_mw`` and
    calciner fuel heat ``calciner_heat_range_mw`` [MW at nominal heating value; the
    gravimetric feeders deliver mass, so the actual heat follows the fuel's true heating
    value], the alternative-fuel share of the calciner heat ``[0, af_share_max]`` and the ID
    fan speed ``fan_speed_range``. Finite actions outside [-1, 1] are clipped
    (``action_clipped``); NaN/inf raise ``ValueError``. The feed rate follows the production
    plan (not an action).

    ## Observation Space
    ``Box(float32, (22,))``: burning zone, calciner outlet and kiln exit gas temperatures
    / 1000 degC; kiln-inlet and calciner-exit O2 / 10 %; kiln-inlet CO / 1000 ppm; stack NOx
    / 1000 mg/Nm3; last lab free lime / 2 % and its age / 120 min; raw-meal feed / nominal,
    now and planned 15, 30, 45 and 60 min ahead; the last action (kiln and calciner heat / 100
    MW, AF share, fan speed); calciner-fuel and AF prices / 1000 CNY/t; carbon price / 100; fraction
    of the episode elapsed.

    ## Rewards
    ``-(fuel + energy + penalty + carbon) / reward_scale_cny`` per step, CNY: fuel at its
    price per tonne; ID fan electricity; penalties for free lime outside its band (per tonne
    of clinker and %-point), burning zone and calciner outside their limits (per K min), CO
    above its limit and NOx above its limit; carbon = price x (fossil fuel + process + grid
    CO2). Biogenic CO2 of the alternative fuel is reported and not priced.

    ## Starting State
    The nominal point (:func:`kiln_design`) scaled to the window's first feed rate, with the
    window's LSF in the kiln.

    ## Episode End
    Truncation after ``episode_h`` hours; no termination.

    ## Arguments
    ``split``, ``params`` (:class:`CementKilnParams`), ``dt_min`` (1), ``episode_h`` (24),
    ``disturbance_seed`` (2024), ``disturbances`` (your own :class:`KilnDisturbances`, e.g.
    plant data at the env step; default synthetic), ``carbon_price_cny_per_t`` (80),
    ``reward_scale_cny`` (1e3), ``split_seed`` (0).

    ## Version History
    * v0: initial release.
    """

    plant_name: ClassVar[str] = "cement_kiln"
    violation_names: ClassVar[tuple[str, ...]] = (
        "free_lime_out_min",
        "free_lime_out_pct_min",
        "bz_limit_k_min",
        "calciner_limit_k_min",
        "co_excess_ppm_min",
        "nox_excess_mg_min",
    )

    def __init__(
        self,
        *,
        split: str = "train",
        params: CementKilnParams | None = None,
        dt_min: float = 1.0,
        episode_h: float = 24.0,
        disturbance_seed: int = 2024,
        disturbances: KilnDisturbances | None = None,
        carbon_price_cny_per_t: float = DEFAULT_CARBON_PRICE_CNY_PER_T,
        reward_scale_cny: float = 1.0e3,
        split_seed: int = 0,
    ) -> None:
        super().__init__(
            split=split,
            carbon_price_cny_per_t=carbon_price_cny_per_t,
            reward_scale_cny=reward_scale_cny,
            cost_terms=("fuel", "energy", "penalty"),
        )
        self.params: CementKilnParams = self._params_or_default(params, CementKilnParams)
        p = self.params
        require_finite_range("dt_min", dt_min, 0.25, 10.0)
        if p.dead_time_min < dt_min:
            raise ValueError(
                f"dt_min={dt_min} exceeds CementKilnParams.dead_time_min={p.dead_time_min}; "
                "allowed: a step no longer than the dead time"
            )
        require_finite_range("episode_h", episode_h, dt_min / 60.0, 24.0 * 14)
        self.dt_min = float(dt_min)
        kiln_design(p)  # raises early if the nominal point cannot close
        if disturbances is None:
            disturbances = synthetic_disturbances(p, self.dt_min, int(disturbance_seed))
        if not isinstance(disturbances, KilnDisturbances):
            raise ValueError(f"disturbances={disturbances!r}; allowed: a KilnDisturbances")
        self.disturbances = disturbances
        self.windows = ScenarioWindows(
            self.disturbances.n_steps, round(episode_h * 60.0 / dt_min), split_seed=split_seed
        )
        self.forecast_steps = round(max(OBS_LEADS_MIN) / dt_min)
        self.lab_interval_steps = max(1, round(p.lab_interval_min / dt_min))
        self.scaler = ActionScaler(
            [p.kiln_heat_range_mw[0], p.calciner_heat_range_mw[0], 0.0, p.fan_speed_range[0]],
            [
                p.kiln_heat_range_mw[1],
                p.calciner_heat_range_mw[1],
                p.af_share_max,
                p.fan_speed_range[1],
            ],
            ("kiln_heat_mw", "calciner_heat_mw", "af_share", "fan_speed"),
        )
        self.action_space = self.scaler.space  # type: ignore[assignment]
        self.observation_space = gym.spaces.Box(-1.0, 10.0, (OBS_DIM,), np.float32)
        self._leads = np.array([round(m / dt_min) for m in OBS_LEADS_MIN])
        self.state = initial_state(p, self.dt_min, 1.0, p.lsf_ref)
        self._flows: KilnFlows | None = None
        self._plan_key: tuple[int, int] | None = None
        self._plan: FloatArray = np.ones(self.forecast_steps + 1)

    @property
    def t(self) -> int:
        """Step of the year of the coming step."""
        return self.window_start + self.step_index

    def true_window(self, start_step: int, n: int) -> dict[str, FloatArray]:
        """True disturbances (privileged: for the oracle and perfect-forecast MPC)."""
        return self.disturbances.window(start_step, n)

    def _reset_plant(self) -> dict[str, Any]:
        exo = self.disturbances.window(self.t, 1)
        self.state = initial_state(
            self.params, self.dt_min, float(exo["feed"][0]), float(exo["lsf"][0])
        )
        self._flows = None
        return self._state_info()

    def _state_info(self) -> dict[str, Any]:
        s, f = self.state, self._flows
        info: dict[str, Any] = {
            "bz_c": float(s.bz_c[0]),
            "calciner_c": float(s.calciner_c[0]),
            "free_lime_pct": float(s.free_lime_pct[0]),
            "lab_free_lime_pct": float(s.lab_last_pct[0]),
            "lab_age_min": float(s.lab_age_min[0]),
            "last_action": s.last_action[0].copy(),
            # Reconstructible from the measured calciner temperature and feed history:
            "pipe_solids": s.pipe_solids[0].copy(),
            "pipe_caco3": s.pipe_caco3[0].copy(),
            "pipe_temp": s.pipe_temp[0].copy(),
            "pipe_clinker": s.pipe_clinker[0].copy(),
        }
        if f is not None:
            info.update(
                kiln_gas_c=float(f.kiln_gas_c[0]),
                kiln_o2_pct=float(f.kiln.o2_pct[0]),
                calciner_o2_pct=float(f.calciner.o2_pct[0]),
                co_ppm=float(f.kiln.co_ppm[0]),
                nox_mg_nm3=float(f.nox_mg_nm3[0]),
                flame_c=float(f.kiln.flame_c[0]),
                calcination=float(f.calciner.degree[0]),
                clinker_t=float(f.clinker_kg_s[0]) * 0.06 * self.dt_min,
                fuel_heat_mw=float(
                    f.heats.kiln[0] + f.heats.calciner_main[0] + f.heats.calciner_af[0]
                ),
                caco3_fed_t=float(f.caco3_fed_kg_s[0]) * 0.06 * self.dt_min,
            )
        return info

    def _step_plant(self, physical_action: FloatArray) -> PlantStep:
        p = self.params
        exo = self.disturbances.window(self.t, 1)
        sample = self.t % self.lab_interval_steps == 0
        self.state, flows = kiln_step(
            self.state, physical_action[None, :], exo, p, self.dt_min, bool(sample)
        )
        self._flows = flows
        emissions, costs, violations = kiln_accounts(flows, self.state, p, self.dt_min)
        state = self._state_info()
        state["feed"] = float(exo["feed"][0])
        return PlantStep(
            emissions={k: float(v[0]) for k, v in emissions.items()},
            costs={k: float(v[0]) for k, v in costs.items()},
            violations={k: float(v[0]) for k, v in violations.items()},
            state=state,
        )

    def _observe(self) -> NDArray[np.float32]:
        return kiln_observation(
            self.state,
            kiln_readings(self.state, self._flows, self.params),
            self._feed_plan()[None, :],
            self._leads,
            np.array([self.step_index / self.episode_steps]),
            self.params,
            self.carbon_price_cny_per_t,
        )[0]

    def _feed_plan(self) -> FloatArray:
        """The production plan from the coming step, 60 min ahead (cut once per step)."""
        key = (self.window_start, self.step_index)
        if self._plan_key != key:
            self._plan_key = key
            self._plan = self.disturbances.window(self.t, self.forecast_steps + 1)["feed"]
        return self._plan

    def _extra_info(self) -> dict[str, Any]:
        # The production plan is known ahead (lead 0 = the coming step).
        return {"forecast": {"feed": self._feed_plan().copy()}}


class CementKilnVectorEnv(BatchedEcoEnv):
    """``num_envs`` kilns stepped together by :func:`kiln_step` over the batch axis.

    ``gymnasium.make_vec("ecocontrol/CementKiln-v0", num_envs=n,
    vectorization_mode="vector_entry_point", **kwargs)``; ``kwargs`` as for
    :class:`CementKilnEnv`, plus ``autoreset_mode``. Member ``i`` reproduces a single env
    seeded with ``seed + i`` under the same actions (tested); ``info`` carries per-member
    arrays of the ledger's costs and emissions and the violations.
    """

    single_env_class = CementKilnEnv
    template: CementKilnEnv

    def __init__(self, num_envs: int = 1, **kwargs: Any) -> None:
        super().__init__(num_envs, **kwargs)
        env = self.template
        self.params, self.dt_min = env.params, env.dt_min
        self.series = env.disturbances.series
        self.n_steps = env.disturbances.n_steps
        one = env.state
        self.state = KilnState(
            **{f.name: np.repeat(getattr(one, f.name), num_envs, axis=0) for f in fields(one)}
        )
        self.readings = kiln_readings(self.state, None, self.params)
        feed = self.series["feed"]
        h = env.forecast_steps + 1  # the plan repeats the last value past the year, as window()
        self._plan = horizon_view(np.concatenate([feed, np.full(h, feed[-1])]), h)

    def _reset_members(self, idx: np.ndarray) -> None:
        t = np.minimum(self.t[idx], self.n_steps - 1)
        for i, ti in zip(idx, t, strict=True):
            start = initial_state(
                self.params,
                self.dt_min,
                float(self.series["feed"][ti]),
                float(self.series["lsf"][ti]),
            )
            for f in fields(start):
                getattr(self.state, f.name)[i] = getattr(start, f.name)[0]
        nominal = kiln_readings(self.state, None, self.params)
        for k, v in nominal.items():
            self.readings[k][idx] = v[idx]

    def _prepare(self, idx: np.ndarray) -> None:
        """Nothing: the feed plan is read at observation time."""

    def _step_members(
        self, physical: FloatArray
    ) -> tuple[dict[str, FloatArray], dict[str, FloatArray], dict[str, FloatArray]]:
        t = self.t
        rows = np.minimum(t, self.n_steps - 1)
        exo = {k: self.series[k][rows] for k in EXO_KEYS}
        sample = t % self.template.lab_interval_steps == 0
        self.state, flows = kiln_step(self.state, physical, exo, self.params, self.dt_min, sample)
        self.readings = {
            k: v.copy() for k, v in kiln_readings(self.state, flows, self.params).items()
        }
        return kiln_accounts(flows, self.state, self.params, self.dt_min)

    def _observe_batch(self) -> NDArray[np.float32]:
        return kiln_observation(
            self.state,
            self.readings,
            self._plan[np.minimum(self.t, self.n_steps)],
            self.template._leads,
            self.step_index / self.episode_steps,
            self.params,
            self.ledger.carbon_price_cny_per_t,
        )
