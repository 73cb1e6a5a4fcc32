"""The kiln's parameters (every default with its source) and the fuels it burns."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import ArrayLike

from ecocontrol.emissions import DEFAULT_GRID_FACTOR_T_PER_MWH, require_finite_range

from ..drift import Drift
from ..jit import kernel
from ..scenario import FloatArray
from ..thermo import AIR, KELVIN, NM3_PER_KMOL, SolidFuel, broadcast_flat

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
        meal_inlet_c: meal entering the calciner from the lowest cyclone [degC]; 720-780
            (v1: 780; v0: 760).
        calcination_mj_per_kg: CaCO3 -> CaO + CO2 at 25 degC [MJ/kg CaCO3]: 178 kJ/mol.
        calcination_activation_kj_per_mol: apparent activation energy [kJ/mol]; 150-200
            reported for limestone in flash calciners.
        calciner_residence_s: solids residence time in the calciner [s]; 2-6.
        calcination_ref: calcination degree at the calciner outlet at ``calcination_ref_c``
            [-]; 0.90-0.95 (REFERENCES: 90-95 % at the kiln inlet). Sets the Arrhenius
            pre-exponential factor.
        calcination_ref_c: temperature of ``calcination_ref`` [degC].
        tertiary_air_c, secondary_air_c: typical tertiary (850-950) and secondary (900-1,050)
            air temperatures [degC] [GF]. v1 computes both from the grate cooler
            (``cooler_recovery``); these two only set how the recuperated heat is split: per
            Nm3 the secondary air (the hot inlet end of the grate) carries
            ``h(secondary_air_c) / h(tertiary_air_c)`` times the tertiary air's enthalpy.
        cooler_recovery: share of the clinker's heat (kiln discharge to 25 degC) the grate
            cooler returns as secondary + tertiary air at design air flow [-]; 0.79, the
            grate cooler's thermal efficiency audited on a 6,300 t/d line [Farag2013]
            (modern grate coolers "up to 75 %" [GF]).
        cooler_air_exponent: recovery proportional to (combustion air / design)^n [-]
            ([Ahamed2012]: recovery efficiency +1.9 % per +5 % cooling air, read as relative).
        primary_air_share: cold primary air of the main burner, share of its fuel's
            stoichiometric air at the nominal kiln fuel [-]; ASSUMED 0.08 (multi-channel
            burners run about 6-10 %). Part of the kiln air, not heated by the cooler.
        raw_meal_c: raw meal entering the top cyclone [degC]; ASSUMED 50 (after the raw mill
            and silo). Sets the preheater exit gas (reported, :func:`preheater_exit`).
        kiln_gas_ref_c: kiln exit (inlet-end) gas at the nominal burning zone [degC]; 1,100-1,200.
        kiln_gas_slope: change of kiln exit gas temperature per K of burning zone [-].
        clinker_discharge_below_bz_k: clinker leaves the kiln this much below the burning
            zone [K] (about 1,350 degC; 1,350-1,450 [GF]).
        clinkering_mj_per_kg: net heat of clinker mineral formation after calcination, per
            kg clinker [MJ/kg]; exothermic (Taylor, Cement Chemistry, 1997: theoretical heat
            1.75 MJ/kg of which calcination about 2.1).
        bz_heat_capacity_mj_per_k: lumped heat capacity of the burning zone (bed, coating,
            refractory) [MJ/K]; gives a time constant of about 20 min.
        dead_time_min: material transport time from the kiln inlet to the burning zone [min];
            20-45 (REFERENCES, vendor figures).
        shell_loss_factor: the kiln shell's heat loss relative to the design's (1: the loss
            that closes the nominal point); above 1 where refractory wears or coating falls
            off (drift ``refractory_wear``).
        nominal_ste_gj_per_t: specific thermal energy at the nominal point [GJ/t]; world
            average 3.4-3.6, BAT 2.9-3.3 (GCCA GNR, IEA). v1: 3.4 (v0: 3.3, which closed only
            with a cooler recovering 95 % of the clinker's heat).
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
        co_limit_ppm: CO (kiln inlet or preheater exit) above which a penalty applies [ppm];
            ASSUMED 1,000 (operators keep CO well below the precipitator's trip).
        co_trip_ppm: preheater-exit CO at which the precipitator (ESP) trips [ppm]; ASSUMED
            5,000 (0.5 %): the ESP's CO trip protects it from ignition by its own sparks
            [ESEGas]; plant trip levels vary.
        penalty_co_trip_cny_per_min: per minute of ESP trip [CNY/min]; ASSUMED 500 (dust
            emission and the precipitator's restart).
        interlock_bz_c: the feed interlock: below this burning-zone temperature the kiln
            feed is cut [degC]; 1,280, where the clinker's liquid phase starts to form
            ([ICR2005] after Lea): below it no clinker forms and raw meal would flush through.
        interlock_restart_bz_c: the feed comes back once the burning zone is above this
            [degC]; ASSUMED 1,350 (hysteresis: the operator restarts on a recovered kiln).
        lost_production_cny_per_t: priced per tonne of clinker the feed cut does not make
            [CNY/t]; ASSUMED 300 (of the order of China's 2024 clinker price; unsourced).
        co_floor_ppm, co_scale_ppm, co_o2_decay_pct: CO = floor + scale x exp(-O2 / decay).
        nox_limit_mg_nm3: stack NOx limit [mg/Nm3 at 10 % O2]; GB 4915-2013 (China) 400; EU
            BAT-AEL 200-450.
        nox_ref_mg_nm3: stack NOx at the nominal point after SNCR [mg/Nm3].
        zeldovich_e_over_r_k: activation temperature of N2 + O -> NO [K] (Zeldovich,
            319 kJ/mol: 38,370 K).
        nox_o2_exponent: NOx proportional to kiln-inlet O2 to this power [-]. Zeldovich
            kinetics give 0.5 (O atoms in equilibrium with O2); kilns show NOx falling about
            in proportion to O2 when excess air is cut ([EPA1994]: low excess air is the
            standard combustion measure), so 1.
        flame_heat_retained: share of the burner's heat in the flame gas at its peak [-].
            v1: the flame zone holds the fuel's stoichiometric air (primary air cold, the rest
            near-burner secondary air at the cooler's temperature), not all the kiln air, so
            excess air no longer cools the flame (v0 computed it with all the secondary air,
            and NOx fell as excess air rose).
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
    meal_inlet_c: float = 780.0
    calcination_mj_per_kg: float = 1.78
    calcination_activation_kj_per_mol: float = 180.0
    calciner_residence_s: float = 4.0
    calcination_ref: float = 0.93
    calcination_ref_c: float = 870.0
    tertiary_air_c: float = 900.0
    secondary_air_c: float = 1000.0
    cooler_recovery: float = 0.79
    cooler_air_exponent: float = 0.38
    primary_air_share: float = 0.08
    raw_meal_c: float = 50.0
    kiln_gas_ref_c: float = 1150.0
    kiln_gas_slope: float = 0.5
    clinker_discharge_below_bz_k: float = 100.0
    clinkering_mj_per_kg: float = -0.30
    bz_heat_capacity_mj_per_k: float = 120.0
    dead_time_min: float = 30.0
    shell_loss_factor: float = 1.0
    nominal_ste_gj_per_t: float = 3.4
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
    co_trip_ppm: float = 5000.0
    penalty_co_trip_cny_per_min: float = 500.0
    interlock_bz_c: float = 1280.0
    interlock_restart_bz_c: float = 1350.0
    lost_production_cny_per_t: float = 300.0
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
        # Configs hand over lists; keep the dataclass hashable (the design is cached on it).
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, list | tuple):
                value = tuple(tuple(v) if isinstance(v, list | tuple) else v for v in value)
                object.__setattr__(self, f.name, value)
        for name, _, _ in _PAIRS:
            pair = getattr(self, name)
            if not (isinstance(pair, tuple) and len(pair) == 2):
                raise ValueError(
                    f"{_C}{name}={pair!r} is not a (low, high) pair; allowed: two numbers"
                )
        _check_ranges(self)
        _check_pairs(self)
        _check_fuels(self)

    # -- derived quantities -----------------------------------------------------------------
    @property
    def clinker_kg_s(self) -> float:
        """Nominal clinker output [kg/s]."""
        return self.clinker_t_per_day / 86.4

    def caco3_share(self, lsf: FloatArray | float) -> FloatArray:
        """CaCO3 mass share of the raw meal at ``lsf`` (CaCO3/rest proportional to LSF)."""
        shape, (x,) = broadcast_flat(lsf)
        out = np.empty(len(x))
        _caco3_share_many(x, self.caco3_ratio, self.lsf_ref, out)
        return out.reshape(shape)

    @property
    def caco3_ratio(self) -> float:
        """CaCO3 / rest of the raw meal at ``lsf_ref`` [-]."""
        return self.caco3_fraction / (1.0 - self.caco3_fraction)

    @property
    def meal_kg_s(self) -> float:
        """Nominal raw-meal feed [kg/s] (gives the nominal clinker at ``lsf_ref``)."""
        return self.clinker_kg_s / (1.0 - CO2_PER_CACO3 * self.caco3_fraction)

    def fuel(self, role: str) -> SolidFuel:
        """The solid fuel of ``role`` (``kiln_fuel``, ``calciner_fuel``, ``alternative_fuel``)."""
        return SOLID_FUELS[getattr(self, role)]

    def co2_t_per_gj_parts(self, role: str) -> tuple[float, float]:
        """(fossil, biogenic) CO2 per GJ fired of ``role``'s fuel [tCO2/GJ].

        The alternative fuel's energy splits by ``af_biogenic_share`` into a fossil part at
        its fuel's fossil factor and a biomass part at its biomass factor
        (:meth:`ecocontrol.emissions.Fuel.co2_parts_t_per_gj`); the other roles are fossil.
        """
        fuel = self.fuel(role).fuel
        share = self.af_biogenic_share if role == "alternative_fuel" else 0.0
        return fuel.co2_parts_t_per_gj(share)

    def price_cny_per_mj(self, role: str) -> float:
        """Fuel price per MJ at nominal LHV [CNY/MJ]."""
        name = getattr(self, role)
        return (
            dict(self.fuel_price_cny_per_t)[name] / 1000.0 / SOLID_FUELS[name].fuel.lhv_mj_per_unit
        )

    @property
    def calcination_constants(self) -> tuple[float, float, float, float]:
        """(E/R [K], rate at ``calcination_ref_c`` [1/s], 1 / that temperature [1/K], tau [s]).

        The Arrhenius law's constants, as the compiled :func:`calcination_1` takes them.
        """
        e = self.calcination_activation_kj_per_mol / R_KJ_PER_MOL_K
        k_ref = -math.log(1.0 - self.calcination_ref) / self.calciner_residence_s
        return e, k_ref, 1.0 / (self.calcination_ref_c + KELVIN), self.calciner_residence_s

    def arrhenius(self, temp_c: FloatArray | float) -> FloatArray:
        """Calcination rate constant [1/s] at ``temp_c``."""
        return self._calcination(temp_c)[2]

    def calcination(self, temp_c: FloatArray | float) -> tuple[FloatArray, FloatArray]:
        """Calcination degree at the calciner outlet and its derivative [1/K]."""
        a, da, _ = self._calcination(temp_c)
        return a, da

    def _calcination(self, temp_c: ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
        shape, (t,) = broadcast_flat(temp_c)
        out = np.empty((3, len(t)))
        _calcination_many(t, *self.calcination_constants, out)
        return out[0].reshape(shape), out[1].reshape(shape), out[2].reshape(shape)

    def free_lime_eq(self, bz_c: FloatArray | float, lsf: FloatArray | float) -> FloatArray:
        """Free lime [%] the burning zone tends to at ``bz_c`` for meal of ``lsf``."""
        shape, (bz, x) = broadcast_flat(bz_c, lsf)
        out = np.empty(len(bz))
        _free_lime_eq_many(bz, x, *self.free_lime_constants, out)
        return out.reshape(shape)

    @property
    def free_lime_constants(self) -> tuple[float, float, float, float, float]:
        """The free-lime law's constants, as :func:`free_lime_eq_1` takes them.

        (ref [%], bz_nominal_c, temperature scale [K], LSF coefficient, lsf_ref).
        """
        return (
            self.free_lime_ref_pct,
            self.bz_nominal_c,
            self.free_lime_temp_scale_k,
            self.free_lime_lsf_coeff,
            self.lsf_ref,
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


#: The kiln's drift mechanisms (:mod:`ecocontrol.envs.drift`); severity 1 is the end of a
#: campaign between refractory relinings. Sources in REFERENCES.md.
KILN_DRIFTS: tuple[Drift, ...] = (
    Drift(
        "refractory_wear",
        (("shell_loss_factor", "scale", 0.12),),
        "thinner refractory and lost coating raise the rotary shell's loss by half, 3.5 MW "
        "of the 28 MW the design's lumped wall loss holds",
        "[EnginAri2005], [Farag2013], [Peray1986]",
    ),
    Drift(
        "burnability",
        (("free_lime_ref_pct", "scale", 0.5),),
        "a harder-burning raw meal (coarser quartz and calcite) leaves 1.5 % free lime "
        "instead of 1.0 % at the nominal burning-zone temperature",
        "[Fundal1979] via [Taylor1997]",
    ),
    Drift(
        "calciner_reactivity",
        (("calcination_ref", "scale", -0.0918),),
        "a coarser, less reactive meal calcines 30 % slower in the calciner (degree 0.845 "
        "instead of 0.93 at the reference temperature)",
        "[Borgwardt1985], [StanmoreGilot2005]",
    ),
    Drift(
        "ring_buildup",
        (("dead_time_min", "scale", 0.2),),
        "a ring holds the bed back: material takes 36 min instead of 30 to the burning zone",
        "assumed ([ICR2005], [LiuSpecht2006] on rings)",
    ),
)


@dataclass(frozen=True)
class KilnDesign:
    """Quantities derived from :class:`CementKilnParams` so the nominal point closes."""

    kiln_air_nm3_s: float
    tertiary_air_nm3_s: float
    primary_air_nm3_s: float
    kiln_ua_mw_per_k: float
    calciner_ua_mw_per_k: float
    flame_nominal_c: float
    kiln_heat_mw: float
    calciner_heat_mw: float


# --------------------------------------------------------------------------------------------
# The constants the compiled kernels read: one float64 vector built from params and design
# --------------------------------------------------------------------------------------------
C_CP_S = 0  # meal heat capacity / 1000 [MJ/(kg K)]
C_CLINKER_CP = 1  # clinker heat capacity [kJ/(kg K)]
C_MEAL_INLET = 2  # meal into the calciner [degC]
C_RAW_MEAL = 3  # raw meal into the preheater [degC]
C_CALC_MJ = 4  # calcination heat [MJ/kg CaCO3]
C_CALC_E = 5  # E/R of calcination [K]
C_CALC_KREF = 6  # calcination rate at its reference temperature [1/s]
C_CALC_INV_TREF = 7  # 1 / calcination reference temperature [1/K]
C_CALC_TAU = 8  # calciner residence time [s]
C_RECOVERY = 9  # cooler recovery at design air [-]
C_AIR_EXP = 10  # cooler recovery exponent on the air flow [-]
C_DISCHARGE = 11  # clinker discharge below the burning zone [K]
C_SA_RATIO = 12  # enthalpy of a Nm3 of secondary / of tertiary air [-]
C_SA_C = 13  # default secondary air at the flame [degC]
C_GAS_REF = 14  # kiln exit gas at the nominal burning zone [degC]
C_GAS_SLOPE = 15  # kiln exit gas per K of burning zone [-]
C_BZ_NOM = 16  # nominal burning zone [degC]
C_CLINKERING = 17  # clinker formation heat [MJ/kg]
C_BZ_CAP = 18  # burning-zone heat capacity [MJ/K]
C_INTERLOCK = 19  # feed cut below [degC]
C_RESTART = 20  # feed back above [degC]
C_CACO3_RATIO = 21  # CaCO3 / rest of the meal at lsf_ref [-]
C_LSF_REF = 22  # design LSF [-]
C_MEAL_KG_S = 23  # nominal meal [kg/s]
C_FL_REF = 24  # free lime at the nominal point [%]
C_FL_SCALE = 25  # free-lime temperature scale [K]
C_FL_COEFF = 26  # free-lime LSF coefficient [-]
C_LAB_DELAY = 27  # lab delay [min]
C_CO_FLOOR = 28  # CO floor [ppm]
C_CO_SCALE = 29  # CO scale [ppm]
C_CO_DECAY = 30  # CO decay with O2 [%]
C_CO_LIMIT = 31  # CO limit [ppm]
C_CO_TRIP = 32  # ESP CO trip [ppm]
C_NOX_REF = 33  # nominal NOx [mg/Nm3]
C_ZELD = 34  # Zeldovich activation temperature [K]
C_NOX_EXP = 35  # NOx O2 exponent [-]
C_O2_NOM = 36  # nominal kiln-inlet O2 [%]
C_INV_FLAME_REF = 37  # 1 / nominal flame temperature [1/K]
C_NOX_LIMIT = 38  # NOx limit [mg/Nm3]
C_FHR = 39  # flame heat retained [-]
C_FAN_POWER = 40  # ID fan power at speed 1 [MW]
C_ELEC = 41  # electricity price [CNY/MWh]
C_GRID = 42  # grid CO2 factor [t/MWh]
C_PEN_FL = 43  # free-lime penalty [CNY/(t %)]
C_PEN_TEMP = 44  # temperature penalty [CNY/(K min)]
C_PEN_CO = 45  # CO penalty [CNY/min]
C_PEN_NOX = 46  # NOx penalty [CNY/(mg min)]
C_PEN_TRIP = 47  # ESP trip penalty [CNY/min]
C_PEN_LOST = 48  # lost clinker [CNY/t]
C_FL_LO = 49  # free-lime band low [%]
C_FL_HI = 50  # free-lime band high [%]
C_BZ_LO = 51  # burning-zone limit low [degC]
C_BZ_HI = 52  # burning-zone limit high [degC]
C_TC_LO = 53  # calciner limit low [degC]
C_TC_HI = 54  # calciner limit high [degC]
C_KILN_AIR = 55  # kiln air at fan speed 1 [Nm3/s]
C_TERT_AIR = 56  # tertiary air at fan speed 1 [Nm3/s]
C_PRIMARY = 57  # primary air [Nm3/s]
C_KILN_UA = 58  # kiln shell loss [MW/K]
C_CALC_UA = 59  # calciner wall loss [MW/K]
C_OBS_PRICE_CALC = 60  # calciner fuel price / 1000 (observation) [-]
C_OBS_PRICE_AF = 61  # alternative fuel price / 1000 (observation) [-]
C_N_SLOTS = 62  # distinct fuels of the three roles
C_SLOT_PRICE = 63  # price of each distinct fuel, three entries [CNY/t]
C_FUEL = 66  # three blocks of FUEL_BLOCK entries: kiln, calciner, alternative fuel
C_LEN = 96
# Entries of a fuel block (per role): stoichiometric O2 [Nm3/MJ], products N2, O2, CO2, H2O
# [Nm3/MJ], CO from unburnt fuel [Nm3/MJ], LHV [MJ/kg], fuel slot, fossil and biogenic CO2
# [t/GJ].
FU_O2, FU_P, FU_CO, FU_LHV, FU_SLOT, FU_FOSSIL, FU_BIO = 0, 1, 5, 6, 7, 8, 9
FUEL_BLOCK = 10
#: Fuel roles in the order of their blocks.
ROLES: tuple[str, ...] = ("kiln_fuel", "calciner_fuel", "alternative_fuel")


def fuel_slots(p: CementKilnParams) -> tuple[str, ...]:
    """The distinct fuels of the three roles, in order of first use (the kernels' slots)."""
    return tuple(dict.fromkeys(getattr(p, role) for role in ROLES))


def co_nm3_per_mj(fuel: SolidFuel) -> float:
    """CO [Nm3] from the carbon of a MJ of unburnt fuel (it leaves as CO)."""
    return fuel.carbon / 12.0 * NM3_PER_KMOL / fuel.fuel.lhv_mj_per_unit


@functools.lru_cache(maxsize=32)
def kiln_constants(p: CementKilnParams, d: KilnDesign) -> FloatArray:
    """The kernels' constants (indices ``C_*``) of ``p`` and its design ``d``; read-only.

    Derived values are computed here once, with the arithmetic the laws had in numpy (so the
    compiled kernels give the same numbers).
    """
    c = np.zeros(C_LEN)
    prices = dict(p.fuel_price_cny_per_t)
    e, k_ref, inv_t_ref, tau = p.calcination_constants
    values = {
        C_CP_S: p.meal_cp_kj_per_kg_k / 1000.0,
        C_CLINKER_CP: p.clinker_cp_kj_per_kg_k,
        C_MEAL_INLET: p.meal_inlet_c,
        C_RAW_MEAL: p.raw_meal_c,
        C_CALC_MJ: p.calcination_mj_per_kg,
        C_CALC_E: e,
        C_CALC_KREF: k_ref,
        C_CALC_INV_TREF: inv_t_ref,
        C_CALC_TAU: tau,
        C_RECOVERY: p.cooler_recovery,
        C_AIR_EXP: p.cooler_air_exponent,
        C_DISCHARGE: p.clinker_discharge_below_bz_k,
        C_SA_RATIO: float(AIR.enthalpy(p.secondary_air_c) / AIR.enthalpy(p.tertiary_air_c)),
        C_SA_C: p.secondary_air_c,
        C_GAS_REF: p.kiln_gas_ref_c,
        C_GAS_SLOPE: p.kiln_gas_slope,
        C_BZ_NOM: p.bz_nominal_c,
        C_CLINKERING: p.clinkering_mj_per_kg,
        C_BZ_CAP: p.bz_heat_capacity_mj_per_k,
        C_INTERLOCK: p.interlock_bz_c,
        C_RESTART: p.interlock_restart_bz_c,
        C_CACO3_RATIO: p.caco3_ratio,
        C_LSF_REF: p.lsf_ref,
        C_MEAL_KG_S: p.meal_kg_s,
        C_FL_REF: p.free_lime_ref_pct,
        C_FL_SCALE: p.free_lime_temp_scale_k,
        C_FL_COEFF: p.free_lime_lsf_coeff,
        C_LAB_DELAY: p.lab_delay_min,
        C_CO_FLOOR: p.co_floor_ppm,
        C_CO_SCALE: p.co_scale_ppm,
        C_CO_DECAY: p.co_o2_decay_pct,
        C_CO_LIMIT: p.co_limit_ppm,
        C_CO_TRIP: p.co_trip_ppm,
        C_NOX_REF: p.nox_ref_mg_nm3,
        C_ZELD: p.zeldovich_e_over_r_k,
        C_NOX_EXP: p.nox_o2_exponent,
        C_O2_NOM: p.kiln_o2_nominal_pct,
        C_INV_FLAME_REF: 1.0 / (d.flame_nominal_c + KELVIN),
        C_NOX_LIMIT: p.nox_limit_mg_nm3,
        C_FHR: p.flame_heat_retained,
        C_FAN_POWER: p.fan_power_mw,
        C_ELEC: p.electricity_cny_per_mwh,
        C_GRID: p.grid_factor_t_per_mwh,
        C_PEN_FL: p.penalty_free_lime_cny_per_t_pct,
        C_PEN_TEMP: p.penalty_temp_cny_per_k_min,
        C_PEN_CO: p.penalty_co_cny_per_min,
        C_PEN_NOX: p.penalty_nox_cny_per_mg_min,
        C_PEN_TRIP: p.penalty_co_trip_cny_per_min,
        C_PEN_LOST: p.lost_production_cny_per_t,
        C_FL_LO: p.free_lime_band_pct[0],
        C_FL_HI: p.free_lime_band_pct[1],
        C_BZ_LO: p.bz_limits_c[0],
        C_BZ_HI: p.bz_limits_c[1],
        C_TC_LO: p.calciner_limits_c[0],
        C_TC_HI: p.calciner_limits_c[1],
        C_KILN_AIR: d.kiln_air_nm3_s,
        C_TERT_AIR: d.tertiary_air_nm3_s,
        C_PRIMARY: d.primary_air_nm3_s,
        C_KILN_UA: d.kiln_ua_mw_per_k * p.shell_loss_factor,
        C_CALC_UA: d.calciner_ua_mw_per_k,
        C_OBS_PRICE_CALC: prices[p.calciner_fuel] / 1000.0,
        C_OBS_PRICE_AF: prices[p.alternative_fuel] / 1000.0,
    }
    for i, v in values.items():
        c[i] = v
    slots = fuel_slots(p)
    c[C_N_SLOTS] = len(slots)
    for s, name in enumerate(slots):
        c[C_SLOT_PRICE + s] = prices[name]
    for r, role in enumerate(ROLES):
        fuel = p.fuel(role)
        b = C_FUEL + FUEL_BLOCK * r
        c[b + FU_O2] = fuel.o2_nm3_per_mj
        c[b + FU_P : b + FU_P + 4] = fuel.products_nm3_per_mj
        c[b + FU_CO] = co_nm3_per_mj(fuel)
        c[b + FU_LHV] = fuel.fuel.lhv_mj_per_unit
        c[b + FU_SLOT] = slots.index(getattr(p, role))
        c[b + FU_FOSSIL], c[b + FU_BIO] = p.co2_t_per_gj_parts(role)
    c.flags.writeable = False
    return c


# --------------------------------------------------------------------------------------------
# Compiled laws of the parameters (scalar; the methods above loop them over arrays)
# --------------------------------------------------------------------------------------------
@kernel
def calcination_1(
    temp_c: float, e_over_r: float, k_ref: float, inv_t_ref: float, tau: float
) -> tuple[float, float, float]:
    """(degree, its derivative [1/K], Arrhenius rate [1/s]) at the calciner outlet ``temp_c``.

    First order with an Arrhenius rate: ``k = k_ref exp(-E/R (1/T - 1/T_ref))``, degree
    ``1 - exp(-k tau)`` (constants: :attr:`CementKilnParams.calcination_constants`).
    """
    t = temp_c + KELVIN
    k = k_ref * math.exp(-e_over_r * (1.0 / t - inv_t_ref))
    rest = math.exp(-k * tau)
    return 1.0 - rest, rest * tau * k * e_over_r / t**2, k


@kernel
def free_lime_eq_1(
    bz_c: float,
    lsf: float,
    ref: float,
    bz_nominal: float,
    scale: float,
    coeff: float,
    lsf_ref: float,
) -> float:
    """Free lime [%] the burning zone tends to (Fundal).

    It falls e-fold per ``scale`` K of burning zone and rises with LSF; at most
    :data:`FREE_LIME_MAX_PCT`.
    """
    return min(
        FREE_LIME_MAX_PCT, ref * math.exp(-(bz_c - bz_nominal) / scale + coeff * (lsf - lsf_ref))
    )


@kernel
def caco3_share_1(lsf: float, ratio: float, lsf_ref: float) -> float:
    """CaCO3 mass share of the raw meal at ``lsf`` (CaCO3 / rest = ``ratio`` x LSF / ref)."""
    r = ratio * lsf / lsf_ref
    return r / (1.0 + r)


@kernel
def _calcination_many(
    t: FloatArray, e: float, k_ref: float, inv_t_ref: float, tau: float, out: FloatArray
) -> None:
    for j in range(len(t)):
        out[0, j], out[1, j], out[2, j] = calcination_1(t[j], e, k_ref, inv_t_ref, tau)


@kernel
def _free_lime_eq_many(
    bz: FloatArray,
    lsf: FloatArray,
    ref: float,
    nominal: float,
    scale: float,
    coeff: float,
    lsf_ref: float,
    out: FloatArray,
) -> None:
    for j in range(len(bz)):
        out[j] = free_lime_eq_1(bz[j], lsf[j], ref, nominal, scale, coeff, lsf_ref)


@kernel
def _caco3_share_many(lsf: FloatArray, ratio: float, lsf_ref: float, out: FloatArray) -> None:
    for j in range(len(lsf)):
        out[j] = caco3_share_1(lsf[j], ratio, lsf_ref)


# --------------------------------------------------------------------------------------------
# Validation (each message names the field)
# --------------------------------------------------------------------------------------------
_C = "CementKilnParams."

#: (field, low, high) of every scalar field checked by range; a ``str`` bound names the field
#: that bounds it.
_RANGES: tuple[tuple[str, float | str, float | str], ...] = (
    ("clinker_t_per_day", 1.0, 20000.0),
    ("caco3_fraction", 0.5, 0.9),
    ("lsf_ref", 80.0, 105.0),
    ("meal_cp_kj_per_kg_k", 0.5, 2.0),
    ("clinker_cp_kj_per_kg_k", 0.5, 2.0),
    ("meal_inlet_c", 500.0, 850.0),
    ("calcination_mj_per_kg", 1.0, 2.5),
    ("calcination_activation_kj_per_mol", 50, 400),
    ("calciner_residence_s", 0.5, 30.0),
    ("calcination_ref", 0.5, 0.999),
    ("calcination_ref_c", 750.0, 1000.0),
    ("tertiary_air_c", 500.0, 1200.0),
    ("secondary_air_c", 600.0, 1300.0),
    ("kiln_gas_ref_c", 900.0, 1300.0),
    ("kiln_gas_slope", 0.0, 2.0),
    ("clinker_discharge_below_bz_k", 0.0, 400.0),
    ("clinkering_mj_per_kg", -1.0, 0.5),
    ("bz_heat_capacity_mj_per_k", 1.0, 10000.0),
    ("dead_time_min", 1.0, 120.0),
    ("shell_loss_factor", 0.2, 5.0),
    ("nominal_ste_gj_per_t", 2.5, 5.0),
    ("bz_nominal_c", 1300.0, 1550.0),
    ("kiln_o2_nominal_pct", 0.5, 8.0),
    ("calciner_o2_nominal_pct", 0.5, 8.0),
    ("free_lime_ref_pct", 0.05, 5.0),
    ("free_lime_temp_scale_k", 5.0, 500.0),
    ("free_lime_lsf_coeff", 0.0, 1.0),
    ("free_lime_lag_min", 0.1, 120.0),
    ("lab_interval_min", 1.0, 1440.0),
    ("lab_delay_min", 0.0, 1440.0),
    ("lab_error_pct", 0.0, 1.0),
    ("co_limit_ppm", 1.0, 1e5),
    ("co_trip_ppm", "co_limit_ppm", 1e6),
    ("penalty_co_trip_cny_per_min", 0.0, 1e6),
    ("interlock_bz_c", 500.0, "interlock_restart_bz_c"),
    ("interlock_restart_bz_c", 500.0, "bz_nominal_c"),
    ("lost_production_cny_per_t", 0.0, 1e5),
    ("cooler_recovery", 0.1, 0.95),
    ("cooler_air_exponent", 0.0, 2.0),
    ("primary_air_share", 0.0, 0.5),
    ("raw_meal_c", 0.0, 300.0),
    ("co_floor_ppm", 0.0, 1e4),
    ("co_scale_ppm", 0.0, 1e6),
    ("co_o2_decay_pct", 0.01, 10.0),
    ("nox_limit_mg_nm3", 1.0, 1e4),
    ("nox_ref_mg_nm3", 1.0, 1e4),
    ("zeldovich_e_over_r_k", 0.0, 1e5),
    ("nox_o2_exponent", 0.0, 3.0),
    ("flame_heat_retained", 0.3, 1.0),
    ("fan_power_mw", 0.0, 50.0),
    ("electricity_cny_per_mwh", 0.0, 1e4),
    ("grid_factor_t_per_mwh", 0.0, 2.0),
    ("af_share_max", 0.0, 1.0),
    ("af_share_rule", 0.0, "af_share_max"),
    ("penalty_free_lime_cny_per_t_pct", 0, 1e6),
    ("penalty_temp_cny_per_k_min", 0.0, 1e6),
    ("penalty_co_cny_per_min", 0.0, 1e6),
    ("penalty_nox_cny_per_mg_min", 0.0, 1e6),
)

#: (field, low, high): (low, high) pairs that must lie within [low, high] and not be reversed.
_PAIRS: tuple[tuple[str, float, float], ...] = (
    ("free_lime_band_pct", 0.0, 10.0),
    ("bz_limits_c", 1000.0, 1700.0),
    ("calciner_limits_c", 600.0, 1100.0),
    ("kiln_heat_range_mw", 0.0, 1000.0),
    ("calciner_heat_range_mw", 0.0, 1000.0),
    ("fan_speed_range", 0.1, 2.0),
)


def _check_ranges(p: CementKilnParams) -> None:
    """Every scalar field within its range."""
    for name, lo, hi in _RANGES:
        low = getattr(p, lo) if isinstance(lo, str) else lo
        high = getattr(p, hi) if isinstance(hi, str) else hi
        require_finite_range(_C + name, getattr(p, name), low, high)
    require_finite_range(
        _C + "calciner_fuel_share",
        p.calciner_fuel_share,
        0.0,
        1.0,
        low_inclusive=False,
        high_inclusive=False,
    )
    require_finite_range(_C + "af_biogenic_share", p.af_biogenic_share, 0.0, 1.0)
    if p.calcination_ref_c >= p.bz_nominal_c:
        raise ValueError(f"{_C}calcination_ref_c must be below bz_nominal_c")


def _check_pairs(p: CementKilnParams) -> None:
    """Bands and ranges ordered and within bounds; the nominal point inside its limits."""
    for name, low, high in _PAIRS:
        lo, hi = getattr(p, name)
        require_finite_range(f"{_C}{name}[0]", lo, low, high)
        require_finite_range(f"{_C}{name}[1]", hi, low, high)
        if not lo < hi:
            raise ValueError(
                f"{_C}{name}=({lo}, {hi}) is reversed or empty; allowed: low < high "
                f"within [{low}, {high}]"
            )
    if not p.bz_limits_c[0] < p.bz_nominal_c < p.bz_limits_c[1]:
        raise ValueError(
            f"{_C}bz_nominal_c={p.bz_nominal_c}; allowed: inside bz_limits_c {p.bz_limits_c}"
        )
    if not p.calciner_limits_c[0] < p.calciner_nominal_c < p.calciner_limits_c[1]:
        raise ValueError(
            f"{_C}calciner_nominal_c={p.calciner_nominal_c}; allowed: inside "
            f"calciner_limits_c {p.calciner_limits_c}"
        )


def _check_fuels(p: CementKilnParams) -> None:
    """Every fuel role names a known fuel with a finite price."""
    prices = dict(p.fuel_price_cny_per_t)
    for role in ("kiln_fuel", "calciner_fuel", "alternative_fuel"):
        name = getattr(p, role)
        if name not in SOLID_FUELS:
            raise ValueError(f"{_C}{role}={name!r}; allowed: {sorted(SOLID_FUELS)}")
        if name not in prices:
            raise ValueError(f"{_C}fuel_price_cny_per_t has no price for {name!r}")
        require_finite_range(f"{_C}fuel_price_cny_per_t[{name}]", prices[name], -1e4, 1e5)
