"""The park's parameters and its time-of-use tariff: every default with its source."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from ecocontrol.emissions import GJ_PER_MWH, get_fuel
from ecocontrol.validation import require_finite_range, require_int, require_seed

from ..drift import Drift

#: Time-of-use periods and their multipliers of the flat tariff. Zhejiang large-industry
#: multipliers (REFERENCES.md): peak 2.05, high 1.85, flat 1, valley 0.4; peak/valley = 5.1,
#: which meets the NDRC 2021 notice (发改价格〔2021〕1093号) floor of 4:1.
TOU_MULTIPLIERS: dict[str, float] = {"valley": 0.4, "flat": 1.0, "high": 1.85, "peak": 2.05}
#: Illustrative daily schedule after the Zhejiang pattern (valley at night and at noon, when PV
#: floods the grid; peaks mid-morning and mid-afternoon). Hour of day -> period.
DEFAULT_TOU_SCHEDULE: tuple[str, ...] = (
    *("valley",) * 8,  # 00-08
    "flat",  # 08-09
    *("peak",) * 2,  # 09-11
    *("valley",) * 2,  # 11-13
    *("high",) * 2,  # 13-15
    *("peak",) * 2,  # 15-17
    *("high",) * 5,  # 17-22
    *("flat",) * 2,  # 22-24
)
TOU_CODES: dict[str, int] = {name: i for i, name in enumerate(TOU_MULTIPLIERS)}
#: Hours in a billing month (8760 / 12): the demand charge is pro-rated by episode hours / this.
HOURS_PER_MONTH = 730.0


@dataclass(frozen=True)
class ParkParams:
    """Park parameters, SI-style units in the names, each default with its source.

    Raises ``ValueError`` naming the field and the allowed range on construction.
    """

    # --- wind farm -------------------------------------------------------------------------
    turbine_type: str = "E-101/3050"
    """windpowerlib OEDB turbine type (power curve shipped with windpowerlib)."""
    n_turbines: int = 12
    hub_height_m: float = 99.0
    """Enercon E-101 standard hub height 99 m (windpowerlib turbine_data)."""
    roughness_length_m: float = 0.1
    """Farmland with hedges (Wieringa 1992 class, 0.1 m); log-law from the anemometer height."""
    wind_measurement_height_m: float = 10.0
    """TMY3 wind speed is measured at 10 m (NREL TMY3 user manual)."""
    wind_farm_efficiency: float = 0.92
    """Constant wake + availability loss factor (windpowerlib WindFarm 'efficiency'; assumed)."""

    # --- PV (PVWatts v5 through pvlib) ------------------------------------------------------
    pv_dc_mw: float = 40.0
    pv_ac_mw: float = 33.3
    """DC/AC ratio 1.2, the PVWatts v5 default (Dobos 2014, NREL/TP-6A20-62641)."""
    pv_gamma_per_k: float = -0.0037
    """Power temperature coefficient of a PVWatts 'standard' module (Dobos 2014)."""
    pv_inverter_eff: float = 0.96
    """PVWatts nominal inverter efficiency (Dobos 2014)."""
    pv_losses_pct: float = 14.08
    """PVWatts v5 default system losses (pvlib.pvsystem.pvwatts_losses defaults)."""
    pv_tilt_deg: float = 30.0
    pv_azimuth_deg: float = 180.0

    # --- battery -----------------------------------------------------------------------------
    battery_energy_mwh: float = 40.0
    battery_power_mw: float = 10.0
    """0.25 C (REFERENCES.md: C-rate 0.25-0.5)."""
    battery_eta_charge: float = 0.922
    battery_eta_discharge: float = 0.922
    """One-way efficiencies: sqrt(0.85), NREL ATB round-trip 85 %."""
    battery_self_discharge_per_h: float = 4.0e-5
    """About 3 %/month, Li-ion (assumed). Applied to the energy above the SOC floor, so the
    floor is never crossed (the difference to a whole-content model is < 0.01 %/day)."""
    soc_min: float = 0.1
    soc_max: float = 0.9
    soc_init: float = 0.5
    battery_degradation_cny_per_mwh: float = 111.0
    """Throughput cost capex/(2 N DoD) = 150 USD/kWh / (2*6000*0.8) = 15.6 USD/MWh at 7.1 CNY/USD
    (REFERENCES.md; Foggo & Yu), charged on charge + discharge energy."""

    # --- grid --------------------------------------------------------------------------------
    grid_import_limit_mw: float = 60.0
    grid_export_limit_mw: float = 20.0
    tariff_flat_cny_per_mwh: float = 620.0
    """Assumed 1-10 kV large-industry flat energy price, 0.62 CNY/kWh."""
    tou_schedule: tuple[str, ...] = DEFAULT_TOU_SCHEDULE
    feed_in_cny_per_mwh: float = 200.0
    """Assumed surplus feed-in price; must not exceed the lowest import price."""
    grid_mean_t_per_mwh: float = 0.5306
    """China national average 2023, tCO2/MWh (MEE/NBS)."""
    grid_shape_amplitude: float = 0.12
    """Amplitude of the SYNTHETIC daily intensity shape (no official hourly series exists)."""

    # --- two-part tariff: demand (capacity) charge --------------------------------------------
    demand_charge_cny_per_kw_month: float = 44.0
    """Demand charge on the billing period's highest import [CNY per kW-month] (two-part
    large-industry tariff, 两部制电价, 需量电价): 44 CNY per kVA-month of maximum demand in the
    Shenzhen large-industry schedule (SZINVEST2005), taken per kW (unity power factor).
    Provincial schedules range about 25-45 CNY/kW-month (team notes, unconfirmed). The billing
    period is the episode: the monthly rate is pro-rated by episode hours / 730 h
    (:data:`HOURS_PER_MONTH`), and the maximum demand is the highest step-average import."""

    # --- loads -------------------------------------------------------------------------------
    base_load_mean_mw: float = 25.0
    """SYNTHETIC three-shift industrial load (see :func:`synthetic_base_load`)."""
    load_seed: int = 2024
    flex_power_mw: float = 12.0
    """Electric (electrode) boiler rating [MW electric]; its power is the flexible action."""
    flex_efficiency: float = 0.99
    """Electrode boilers convert 99 %+ of electricity to heat (manufacturers' data)."""
    heat_demand_mean_mw: float = 5.0
    """Mean process-heat demand [MW heat], SYNTHETIC three-shift profile
    (:func:`~ecocontrol.envs.park.scenario.synthetic_heat_demand`); 120 MWh/day, the v0
    daily quota."""

    # --- heat store (pressurised hot-water / steam accumulator) -------------------------------
    heat_store_capacity_mwh: float = 30.0
    """Usable heat of the store [MWh heat] (assumed): about 450 m3 of pressurised water cycled
    over 60 K (4.2 kJ/kg K, 0.95 t/m3), six hours of mean demand."""
    heat_store_charge_mw: float = 12.0
    """Highest charging rate [MW heat] (assumed: the boiler's full output can be stored)."""
    heat_store_discharge_mw: float = 8.0
    """Highest discharge rate [MW heat] (assumed: above the highest heat demand)."""
    heat_store_loss_per_h: float = 0.01 / 24
    """Standing loss, a fraction of the content per hour: 1 %/day for a large insulated
    accumulator (team notes, order of magnitude, unconfirmed: assumed)."""
    heat_store_init: float = 0.5
    """Content at the episode start, a fraction of the capacity."""
    gas_boiler_heat_mw: float = 10.0
    """Natural-gas backup boiler rating [MW heat] (assumed; above the highest heat demand, so
    heat goes undelivered only if a user shrinks it)."""
    backup_boiler_efficiency: float = 0.92
    """Natural-gas backup boiler, LHV basis (typical condensing-free industrial boiler)."""
    gas_price_cny_per_nm3: float = 3.5
    """Assumed industrial natural-gas price, CNY per Nm3."""
    value_of_unserved_heat_cny_per_mwh: float = 3_000.0
    """Penalty for process heat not delivered [CNY/MWh heat] (assumed: lost production, about
    7x the gas boiler's heat cost)."""
    value_of_lost_load_cny_per_mwh: float = 20_000.0
    """Penalty for unserved base load (assumed, about 30x the flat tariff)."""

    def __post_init__(self) -> None:
        r = require_finite_range
        name = "ParkParams."
        require_int(name + "n_turbines", self.n_turbines, 0, 10_000)
        # the base load draws with load_seed, the heat demand with load_seed + 1
        require_seed(name + "load_seed", self.load_seed, span=2)
        r(name + "hub_height_m", self.hub_height_m, 1.0, 300.0)
        r(name + "roughness_length_m", self.roughness_length_m, 1e-5, 2.0)
        r(name + "wind_measurement_height_m", self.wind_measurement_height_m, 1.0, 300.0)
        r(name + "wind_farm_efficiency", self.wind_farm_efficiency, 0.0, 1.0)
        for f in (
            "pv_dc_mw",
            "battery_energy_mwh",
            "battery_power_mw",
            "grid_import_limit_mw",
            "grid_export_limit_mw",
            "base_load_mean_mw",
            "flex_power_mw",
            "heat_demand_mean_mw",
            "heat_store_capacity_mwh",
            "heat_store_charge_mw",
            "heat_store_discharge_mw",
            "gas_boiler_heat_mw",
            "demand_charge_cny_per_kw_month",
            "value_of_unserved_heat_cny_per_mwh",
            "gas_price_cny_per_nm3",
            "battery_degradation_cny_per_mwh",
            "value_of_lost_load_cny_per_mwh",
            "feed_in_cny_per_mwh",
        ):
            r(name + f, getattr(self, f), 0.0, 1e6)
        # PVWatts divides by the inverter rating; the observation divides prices by the tariff
        for f in ("pv_ac_mw", "tariff_flat_cny_per_mwh"):
            r(name + f, getattr(self, f), 0.0, 1e6, low_inclusive=False)
        r(name + "pv_gamma_per_k", self.pv_gamma_per_k, -0.02, 0.0)
        for f in (
            "pv_inverter_eff",
            "battery_eta_charge",
            "battery_eta_discharge",
            "flex_efficiency",
            "backup_boiler_efficiency",
        ):
            r(name + f, getattr(self, f), 0.0, 1.0, low_inclusive=False)
        r(name + "pv_losses_pct", self.pv_losses_pct, 0.0, 100.0, high_inclusive=False)
        r(name + "pv_tilt_deg", self.pv_tilt_deg, 0.0, 90.0)
        r(name + "pv_azimuth_deg", self.pv_azimuth_deg, 0.0, 360.0)
        r(name + "battery_self_discharge_per_h", self.battery_self_discharge_per_h, 0.0, 0.1)
        r(
            name + "heat_store_loss_per_h",
            self.heat_store_loss_per_h,
            0.0,
            1.0,
            high_inclusive=False,
        )
        r(name + "heat_store_init", self.heat_store_init, 0.0, 1.0)
        r(name + "soc_min", self.soc_min, 0.0, 1.0)
        r(name + "soc_max", self.soc_max, 0.0, 1.0)
        if self.soc_max < self.soc_min:
            raise ValueError(
                f"ParkParams.soc_min={self.soc_min} > soc_max={self.soc_max}; allowed: "
                "0 <= soc_min <= soc_max <= 1"
            )
        r(name + "soc_init", self.soc_init, self.soc_min, self.soc_max)
        r(name + "grid_mean_t_per_mwh", self.grid_mean_t_per_mwh, 0.0, 2.0)
        r(name + "grid_shape_amplitude", self.grid_shape_amplitude, 0.0, 0.9)
        schedule = self.tou_schedule
        if (
            isinstance(schedule, str)
            or not isinstance(schedule, Sequence)
            or len(schedule) != 24
            or not all(isinstance(x, str) and x in TOU_MULTIPLIERS for x in schedule)
        ):
            raise ValueError(
                f"ParkParams.tou_schedule={self.tou_schedule!r}; allowed: 24 hourly entries "
                f"from {sorted(TOU_MULTIPLIERS)}"
            )
        lowest = self.tariff_flat_cny_per_mwh * min(TOU_MULTIPLIERS[p] for p in self.tou_schedule)
        if self.feed_in_cny_per_mwh > lowest:
            raise ValueError(
                f"ParkParams.feed_in_cny_per_mwh={self.feed_in_cny_per_mwh} exceeds the lowest "
                f"import price {lowest:.1f}; allowed: [0, {lowest:.1f}] (otherwise buying to "
                "sell back would pay)"
            )

    # derived quantities ------------------------------------------------------------------
    @property
    def e_min_mwh(self) -> float:
        """Lowest allowed stored energy [MWh]."""
        return self.soc_min * self.battery_energy_mwh

    @property
    def e_max_mwh(self) -> float:
        """Highest allowed stored energy [MWh]."""
        return self.soc_max * self.battery_energy_mwh

    @property
    def heat_store_init_mwh(self) -> float:
        """Heat in the store at the episode start [MWh heat]."""
        return self.heat_store_init * self.heat_store_capacity_mwh

    @property
    def wind_capacity_mw(self) -> float:
        """Installed wind capacity [MW]."""
        return self.n_turbines * turbine_power_curve(self.turbine_type, self.hub_height_m)[1] / 1e6

    @property
    def gas_cny_per_mwh_heat(self) -> float:
        """Fuel cost of one MWh of backup-boiler heat [CNY/MWh heat]."""
        ng = get_fuel("natural_gas")
        nm3 = GJ_PER_MWH / (ng.lhv_mj_per_unit * 1e-3) / self.backup_boiler_efficiency
        return nm3 * self.gas_price_cny_per_nm3

    @property
    def gas_t_co2_per_mwh_heat(self) -> float:
        """Fossil CO2 of one MWh of backup-boiler heat [tCO2/MWh heat]."""
        ng = get_fuel("natural_gas")
        return GJ_PER_MWH / self.backup_boiler_efficiency * ng.co2_t_per_gj


#: The park's drift mechanisms (:mod:`ecocontrol.envs.drift`); severity 1 is a battery at the
#: end of its life and panels at the end of a dry spell. Sources in REFERENCES.md.
PARK_DRIFTS: tuple[Drift, ...] = (
    Drift(
        "capacity_fade",
        (("battery_energy_mwh", "scale", -0.20),),
        "the battery holds 80 % of its rated energy (end of life)",
        "[Xu2018]",
    ),
    Drift(
        "resistance_growth",
        (("battery_eta_charge", "scale", -0.02386), ("battery_eta_discharge", "scale", -0.02386)),
        "internal resistance doubled with age: 0.900 each way, round trip 0.81 instead of 0.85",
        "derived ([NREL-ATB], [Schmalstieg2014])",
    ),
    Drift(
        "pv_soiling",
        (("pv_losses_pct", "add", 5.26),),
        "dust after a 40-day dry spell at 0.15 %/day: soiling loss 8 % instead of PVWatts' 2 % "
        "(harsh for the humid default site); the PV forecast, a clean-panel model, "
        "over-predicts by 6.5 %",
        "[Kimber2006], [Ilse2019], [Dobos2014]",
    ),
    Drift(
        "heat_store_insulation",
        (("heat_store_loss_per_h", "scale", 0.5),),
        "damp or damaged insulation: the heat store loses 1.5 %/day instead of 1 %/day",
        "assumed",
    ),
)


@functools.lru_cache(maxsize=32)
def turbine_power_curve(turbine_type: str, hub_height_m: float) -> tuple[pd.DataFrame, float]:
    """The turbine type's power curve and nominal power [W] from windpowerlib's library.

    Raises:
        ValueError: naming ``ParkParams.turbine_type`` if windpowerlib has no curve for it.
    """
    from windpowerlib import WindTurbine

    # path="oedb" reads the OEDB turbine library shipped inside the windpowerlib wheel.
    turbine = WindTurbine(hub_height=hub_height_m, turbine_type=turbine_type, path="oedb")
    if turbine.power_curve is None or turbine.nominal_power is None:
        raise ValueError(
            f"ParkParams.turbine_type={turbine_type!r} has no power curve in windpowerlib's "
            "turbine library; allowed: a type listed by windpowerlib.get_turbine_types()"
        )
    return turbine.power_curve, float(turbine.nominal_power)
