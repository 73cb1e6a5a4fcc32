"""Wind-solar-storage industrial park: parameters, exogenous series, physics and the env.

The plant: a wind farm, a PV plant, a battery, an industrial base load, a flexible process
load (an electric boiler with a daily process-heat quota; heat it does not deliver by the end
of the day comes from a natural-gas backup boiler) and a grid connection with import/export
limits, a time-of-use tariff, a feed-in price and an hourly grid-intensity profile.

Physics is written once, in :func:`park_step`, over arrays with a leading batch axis; the
env, the MPC parity test and batched use all call it.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import pandas as pd

from ecocontrol.emissions import (
    DEFAULT_CARBON_PRICE_CNY_PER_T,
    GJ_PER_MWH,
    GridIntensity,
    get_fuel,
    require_finite_range,
    synthetic_china_grid_shape,
)

from .base import (
    ActionScaler,
    EcoEnv,
    FloatArray,
    ForecastErrorModel,
    PlantStep,
    ScenarioWindows,
    episode_forecast_errors,
)
from .vector import BatchedEcoEnv, BatchForecastErrors, horizon_view

HOURS_PER_YEAR = 8760

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

#: Weather files that pvlib ships (NREL TMY3; BSD-3 package), by site name.
BUNDLED_SITES: dict[str, str] = {
    "greensboro": "723170TYA.CSV",  # 36.1 N, like the Yangtze/Huai industrial belt
    "sand_point": "703165TY.csv",  # 55.3 N, windy maritime site
}
#: Observation bounds: every entry is a normalised quantity (see the env card).
OBS_LOW, OBS_HIGH = -1.0, 10.0
WEATHER_COLUMNS: tuple[str, ...] = ("ghi", "dni", "dhi", "temp_air", "wind_speed")


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

    # --- loads -------------------------------------------------------------------------------
    base_load_mean_mw: float = 25.0
    """SYNTHETIC three-shift industrial load (see :func:`synthetic_base_load`)."""
    load_seed: int = 2024
    flex_power_mw: float = 12.0
    """Electric boiler rating [MW electric]."""
    flex_efficiency: float = 0.99
    """Electrode boilers convert 99 %+ of electricity to heat (manufacturers' data)."""
    flex_daily_heat_mwh: float = 120.0
    """Daily process-heat quota the boiler may deliver at any time of the day [MWh heat]."""
    backup_boiler_efficiency: float = 0.92
    """Natural-gas backup boiler, LHV basis (typical condensing-free industrial boiler)."""
    gas_price_cny_per_nm3: float = 3.5
    """Assumed industrial natural-gas price, CNY per Nm3."""
    value_of_lost_load_cny_per_mwh: float = 20_000.0
    """Penalty for unserved base load (assumed, about 30x the flat tariff)."""

    def __post_init__(self) -> None:
        r = require_finite_range
        name = "ParkParams."
        r(name + "n_turbines", self.n_turbines, 0, 10_000)
        r(name + "hub_height_m", self.hub_height_m, 1.0, 300.0)
        r(name + "roughness_length_m", self.roughness_length_m, 1e-5, 2.0)
        r(name + "wind_measurement_height_m", self.wind_measurement_height_m, 1.0, 300.0)
        r(name + "wind_farm_efficiency", self.wind_farm_efficiency, 0.0, 1.0)
        for f in (
            "pv_dc_mw",
            "pv_ac_mw",
            "battery_energy_mwh",
            "battery_power_mw",
            "grid_import_limit_mw",
            "grid_export_limit_mw",
            "base_load_mean_mw",
            "flex_power_mw",
            "flex_daily_heat_mwh",
            "gas_price_cny_per_nm3",
            "battery_degradation_cny_per_mwh",
            "value_of_lost_load_cny_per_mwh",
            "tariff_flat_cny_per_mwh",
            "feed_in_cny_per_mwh",
        ):
            r(name + f, getattr(self, f), 0.0, 1e6)
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
        if len(self.tou_schedule) != 24 or not set(self.tou_schedule) <= set(TOU_MULTIPLIERS):
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
    def wind_capacity_mw(self) -> float:
        """Installed wind capacity [MW]."""
        return self.n_turbines * _turbine(self.turbine_type, self.hub_height_m)[1] / 1e6

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


# ----------------------------------------------------------------------------- weather
@functools.lru_cache(maxsize=32)
def _turbine(turbine_type: str, hub_height_m: float) -> tuple[pd.DataFrame, float]:
    from windpowerlib import WindTurbine

    # path="oedb" reads the OEDB turbine library shipped inside the windpowerlib wheel.
    turbine = WindTurbine(hub_height=hub_height_m, turbine_type=turbine_type, path="oedb")
    if turbine.power_curve is None or turbine.nominal_power is None:
        raise ValueError(
            f"ParkParams.turbine_type={turbine_type!r} has no power curve in windpowerlib's "
            "turbine library; allowed: a type listed by windpowerlib.get_turbine_types()"
        )
    return turbine.power_curve, float(turbine.nominal_power)


@dataclass(frozen=True)
class Site:
    """Where the weather was measured."""

    name: str
    latitude: float
    longitude: float
    altitude_m: float = 0.0
    utc_offset_h: float = 0.0


def _read_weather_file(weather: str | os.PathLike[str]) -> tuple[pd.DataFrame, Site]:
    """Read a bundled site or a TMY3/EPW file with pvlib (columns mapped to pvlib names)."""
    import pvlib

    if isinstance(weather, str) and weather in BUNDLED_SITES:
        path = Path(pvlib.__file__).parent / "data" / BUNDLED_SITES[weather]
    elif isinstance(weather, str) and not any(c in weather for c in "/\\."):
        raise ValueError(
            f"weather={weather!r} is not a bundled site; allowed: {sorted(BUNDLED_SITES)}, "
            "a TMY3 .csv or .epw file path, or a DataFrame"
        )
    else:
        path = Path(weather)
    if not path.is_file():
        raise FileNotFoundError(
            f"weather={str(path)!r}: file does not exist; allowed: a bundled site "
            f"{sorted(BUNDLED_SITES)}, an existing TMY3/EPW file, or a DataFrame"
        )
    try:
        if path.suffix.lower() == ".epw":
            df, meta = pvlib.iotools.read_epw(path)
        else:
            df, meta = pvlib.iotools.read_tmy3(path, map_variables=True)
    except Exception as exc:
        raise ValueError(f"weather={str(path)!r} is not a readable TMY3/EPW file: {exc}") from exc
    site = Site(
        str(meta.get("Name", meta.get("city", path.stem))).strip('"'),
        float(meta["latitude"]),
        float(meta["longitude"]),
        float(meta.get("altitude", 0.0)),
        float(meta["TZ"]),
    )
    return df, site


def load_weather(
    weather: str | os.PathLike[str] | pd.DataFrame = "greensboro",
    *,
    latitude: float | None = None,
    longitude: float | None = None,
    altitude_m: float = 0.0,
) -> tuple[pd.DataFrame, Site]:
    """Hourly typical-year weather: a bundled site name, a TMY3/EPW file path or a DataFrame.

    A DataFrame needs 8760 hourly rows with columns ``ghi``, ``dni``, ``dhi`` [W/m2],
    ``temp_air`` [degC] and ``wind_speed`` [m/s at ``wind_measurement_height_m``], plus
    ``latitude`` and ``longitude``. A tz-naive index is taken as local standard time at
    ``round(longitude / 15)`` hours from UTC.

    Returns:
        The weather with the documented columns and a tz-aware hourly index, and its site.
    """
    if isinstance(weather, pd.DataFrame):
        if latitude is None or longitude is None:
            raise ValueError("weather is a DataFrame: latitude and longitude are required")
        require_finite_range("latitude", latitude, -90.0, 90.0)
        require_finite_range("longitude", longitude, -180.0, 180.0)
        df = weather
        offset = round(longitude / 15.0)
        site = Site("dataframe", latitude, longitude, altitude_m, offset)
    else:
        df, site = _read_weather_file(weather)
    missing = [c for c in WEATHER_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"weather is missing columns {missing}; required: {list(WEATHER_COLUMNS)}")
    if len(df) != HOURS_PER_YEAR:
        raise ValueError(f"weather has {len(df)} rows; required: {HOURS_PER_YEAR} hourly rows")
    out = df.loc[:, list(WEATHER_COLUMNS)].astype(np.float64)
    if not np.isfinite(out.to_numpy()).all():
        raise ValueError("weather contains NaN or inf values")
    if (out[["ghi", "dni", "dhi", "wind_speed"]] < 0).to_numpy().any():
        raise ValueError("weather has negative irradiance or wind speed; allowed: >= 0")
    if not isinstance(out.index, pd.DatetimeIndex):
        out.index = pd.date_range("2023-01-01 01:00", periods=HOURS_PER_YEAR, freq="h")
    if out.index.tz is None:
        out.index = out.index.tz_localize(f"Etc/GMT{-int(site.utc_offset_h):+d}")
    return out, site


# ----------------------------------------------------------------------------- series
def wind_power_mw(weather: pd.DataFrame, p: ParkParams) -> FloatArray:
    """Wind-farm AC output [MW] from the turbine power curve at hub height (windpowerlib)."""
    from windpowerlib import power_output, wind_speed

    curve, _ = _turbine(p.turbine_type, p.hub_height_m)
    v_hub = wind_speed.logarithmic_profile(
        weather["wind_speed"], p.wind_measurement_height_m, p.hub_height_m, p.roughness_length_m
    )
    watts = power_output.power_curve(
        v_hub, curve["wind_speed"], curve["value"], density_correction=False
    )
    return np.asarray(watts, dtype=np.float64) * p.n_turbines * p.wind_farm_efficiency / 1e6


def pv_power_mw(weather: pd.DataFrame, site: Site, p: ParkParams) -> FloatArray:
    """PV AC output [MW]: PVWatts DC with SAPM cell temperature, system losses, inverter."""
    import pvlib

    # TMY timestamps close the hour they describe: take the sun at mid-hour.
    times = pd.DatetimeIndex(weather.index) - pd.Timedelta(minutes=30)
    solpos = pvlib.solarposition.get_solarposition(
        times, site.latitude, site.longitude, altitude=site.altitude_m
    )
    poa = pvlib.irradiance.get_total_irradiance(
        p.pv_tilt_deg,
        p.pv_azimuth_deg,
        solpos["apparent_zenith"].to_numpy(),
        solpos["azimuth"].to_numpy(),
        weather["dni"].to_numpy(),
        weather["ghi"].to_numpy(),
        weather["dhi"].to_numpy(),
        model="isotropic",
    )
    poa_global = np.nan_to_num(np.asarray(poa["poa_global"], dtype=np.float64)).clip(min=0.0)
    tparams = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"]["open_rack_glass_glass"]
    t_cell = pvlib.temperature.sapm_cell(
        poa_global, weather["temp_air"].to_numpy(), weather["wind_speed"].to_numpy(), **tparams
    )
    pdc = pvlib.pvsystem.pvwatts_dc(poa_global, t_cell, p.pv_dc_mw * 1e6, p.pv_gamma_per_k)
    pdc = np.asarray(pdc, dtype=np.float64) * (1.0 - p.pv_losses_pct / 100.0)
    pac = pvlib.inverter.pvwatts(pdc, p.pv_ac_mw * 1e6 / p.pv_inverter_eff, p.pv_inverter_eff)
    return np.asarray(pac, dtype=np.float64).clip(min=0.0) / 1e6


def synthetic_base_load(p: ParkParams, n_hours: int = HOURS_PER_YEAR) -> FloatArray:
    """SYNTHETIC hourly base load [MW] of a three-shift plant.

    Shape: day shift 08-16 at 1.08, evening 16-24 at 1.0, night 00-08 at 0.92 of the mean,
    weekends (days 6 and 7 of each week) at 0.85, and an AR(1) fluctuation (phi 0.9, 3 %)
    drawn with ``load_seed``; normalised to ``base_load_mean_mw``.
    """
    h = np.arange(n_hours)
    hod = h % 24
    shift = np.where(hod < 8, 0.92, np.where(hod < 16, 1.08, 1.0))
    weekend = np.where((h // 24) % 7 >= 5, 0.85, 1.0)
    rng = np.random.default_rng(p.load_seed)
    eps = rng.normal(0.0, 0.03 * math.sqrt(1 - 0.9**2), n_hours)
    ar = np.zeros(n_hours)
    for i in range(1, n_hours):
        ar[i] = 0.9 * ar[i - 1] + eps[i]
    shape = shift * weekend * (1.0 + ar)
    return p.base_load_mean_mw * shape / shape.mean()


@dataclass(frozen=True)
class ParkSeries:
    """Exogenous series at the env step, one year long (index = step of the year)."""

    dt_h: float
    wind_mw: FloatArray
    pv_mw: FloatArray
    load_mw: FloatArray
    price_import: FloatArray
    price_export: FloatArray
    intensity: FloatArray
    tou_code: np.ndarray
    hour_of_day: FloatArray
    day_end: np.ndarray = field(repr=False)

    @property
    def n_steps(self) -> int:
        """Steps in the year."""
        return len(self.wind_mw)

    def window(self, start: int, n: int) -> dict[str, np.ndarray]:
        """True series for steps ``start .. start+n-1`` (wrapping around the year)."""
        idx = (start + np.arange(n)) % self.n_steps
        return {k: getattr(self, k)[idx] for k in SERIES_KEYS}


SERIES_KEYS: tuple[str, ...] = (
    "wind_mw",
    "pv_mw",
    "load_mw",
    "price_import",
    "price_export",
    "intensity",
    "tou_code",
    "hour_of_day",
    "day_end",
)
NOISY_SERIES: tuple[str, ...] = ("wind_mw", "pv_mw", "load_mw")


def build_series(weather: pd.DataFrame, site: Site, p: ParkParams, dt_h: float) -> ParkSeries:
    """Compute the year's exogenous series at step ``dt_h`` (linear interpolation of power)."""
    hourly_wind = wind_power_mw(weather, p)
    hourly_pv = pv_power_mw(weather, site, p)
    hourly_load = synthetic_base_load(p)
    n = round(HOURS_PER_YEAR / dt_h)
    t = np.arange(n) * dt_h  # step start [h of year]
    hours = np.arange(HOURS_PER_YEAR, dtype=np.float64)

    def interp(x: FloatArray) -> FloatArray:
        # Hourly values describe the hour [h, h+1); sub-hourly steps interpolate between
        # hour midpoints, periodically over the year.
        return np.interp(t + dt_h / 2, hours + 0.5, x, period=HOURS_PER_YEAR)

    hod = t % 24.0
    hour_idx = np.floor(hod).astype(np.int64)
    tou = np.array([TOU_CODES[s] for s in p.tou_schedule])[hour_idx]
    mult = np.array(list(TOU_MULTIPLIERS.values()))[tou]
    grid = GridIntensity(p.grid_mean_t_per_mwh, synthetic_china_grid_shape(p.grid_shape_amplitude))
    steps_per_day = round(24 / dt_h)
    return ParkSeries(
        dt_h=dt_h,
        wind_mw=interp(hourly_wind) if dt_h != 1.0 else hourly_wind,
        pv_mw=interp(hourly_pv) if dt_h != 1.0 else hourly_pv,
        load_mw=interp(hourly_load) if dt_h != 1.0 else hourly_load,
        price_import=p.tariff_flat_cny_per_mwh * mult,
        price_export=np.full(n, p.feed_in_cny_per_mwh),
        intensity=grid.at_hours(hod),
        tou_code=tou,
        hour_of_day=hod.astype(np.float64),
        day_end=(np.arange(n) % steps_per_day) == steps_per_day - 1,
    )


@functools.lru_cache(maxsize=16)
def _cached_series(weather_key: str, p: ParkParams, dt_h: float) -> tuple[ParkSeries, Site]:
    weather, site = load_weather(weather_key)
    return build_series(weather, site, p, dt_h), site


# ----------------------------------------------------------------------------- physics
@dataclass
class ParkFlows:
    """Power flows of one step [MW], each an array over the batch axis."""

    charge_mw: FloatArray
    discharge_mw: FloatArray
    flex_mw: FloatArray
    import_mw: FloatArray
    export_mw: FloatArray
    curtail_mw: FloatArray
    shed_mw: FloatArray
    backup_heat_mwh: FloatArray
    battery_limited_mw: FloatArray
    import_limited_mw: FloatArray
    residual_mw: FloatArray


def park_step(
    energy_mwh: FloatArray,
    heat_left_mwh: FloatArray,
    battery_mw: FloatArray,
    flex_mw: FloatArray,
    exo: Mapping[str, FloatArray],
    p: ParkParams,
    dt_h: float,
) -> tuple[FloatArray, FloatArray, ParkFlows]:
    """One step of the park's physics over a batch (leading axis).

    Args:
        energy_mwh: stored energy at step start [MWh].
        heat_left_mwh: process heat still due today [MWh heat].
        battery_mw: requested battery power [MW], > 0 discharge, < 0 charge.
        flex_mw: requested electric-boiler power [MW].
        exo: this step's ``wind_mw``, ``pv_mw``, ``load_mw`` and ``day_end`` (bool).
        p: parameters.
        dt_h: step [h].

    Returns:
        Stored energy and heat left after the step, and the step's flows.

    Requests are limited, in this order, by the SOC window (including self-discharge), the
    boiler's rating and the heat still due, and the grid import limit (battery charging is
    cut first, then the boiler, and only then is base load shed). Surplus beyond the export
    limit is curtailed. The balance
    ``wind + pv - curtail + import + discharge = load - shed + flex + charge + export`` holds.
    """
    decayed = energy_mwh - p.battery_self_discharge_per_h * dt_h * (energy_mwh - p.e_min_mwh)
    pd_max = np.clip(
        (decayed - p.e_min_mwh) * p.battery_eta_discharge / dt_h, 0.0, p.battery_power_mw
    )
    pc_max = np.clip(
        (p.e_max_mwh - decayed) / (p.battery_eta_charge * dt_h), 0.0, p.battery_power_mw
    )
    discharge = np.clip(battery_mw, 0.0, pd_max)
    charge = np.clip(-battery_mw, 0.0, pc_max)
    battery_limited = np.abs(battery_mw) - discharge - charge
    flex_cap = np.minimum(p.flex_power_mw, heat_left_mwh / (p.flex_efficiency * dt_h))
    flex = np.clip(flex_mw, 0.0, np.maximum(flex_cap, 0.0))

    wind, pv, load = exo["wind_mw"], exo["pv_mw"], exo["load_mw"]
    net = load + flex + charge - discharge - wind - pv
    excess = np.maximum(net - p.grid_import_limit_mw, 0.0)
    cut_charge = np.minimum(excess, charge)
    charge = charge - cut_charge
    excess = excess - cut_charge
    cut_flex = np.minimum(excess, flex)
    flex = flex - cut_flex
    shed = np.minimum(excess - cut_flex, load)
    net = load - shed + flex + charge - discharge - wind - pv
    imports = np.maximum(net, 0.0)
    surplus = np.maximum(-net, 0.0)
    exports = np.minimum(surplus, p.grid_export_limit_mw)
    curtail = surplus - exports

    energy_next = (
        decayed + p.battery_eta_charge * charge * dt_h - discharge * dt_h / p.battery_eta_discharge
    )
    heat_next = heat_left_mwh - p.flex_efficiency * flex * dt_h
    day_end = np.asarray(exo["day_end"], dtype=bool)
    backup = np.where(day_end, np.maximum(heat_next, 0.0), 0.0)
    heat_next = np.where(day_end, p.flex_daily_heat_mwh, heat_next)
    residual = (wind + pv - curtail + imports + discharge) - (load - shed + flex + charge + exports)
    flows = ParkFlows(
        charge_mw=charge,
        discharge_mw=discharge,
        flex_mw=flex,
        import_mw=imports,
        export_mw=exports,
        curtail_mw=curtail,
        shed_mw=shed,
        backup_heat_mwh=backup,
        battery_limited_mw=battery_limited,
        import_limited_mw=cut_charge + cut_flex + shed,
        residual_mw=residual,
    )
    return energy_next, heat_next, flows


def park_accounts(
    flows: ParkFlows, exo: Mapping[str, FloatArray], p: ParkParams, dt_h: float
) -> tuple[dict[str, FloatArray], dict[str, FloatArray]]:
    """Emissions [tCO2 by source] and non-carbon costs [CNY by term] of one step's flows."""
    emissions = {
        "grid": flows.import_mw * dt_h * exo["intensity"],
        "fuel": flows.backup_heat_mwh * p.gas_t_co2_per_mwh_heat,
    }
    costs = {
        "energy": dt_h
        * (flows.import_mw * exo["price_import"] - flows.export_mw * exo["price_export"]),
        "fuel": flows.backup_heat_mwh * p.gas_cny_per_mwh_heat,
        "degradation": p.battery_degradation_cny_per_mwh
        * dt_h
        * (flows.charge_mw + flows.discharge_mw),
        "penalty": p.value_of_lost_load_cny_per_mwh * flows.shed_mw * dt_h,
    }
    return emissions, costs


def park_observation(
    energy_mwh: FloatArray,
    heat_left_mwh: FloatArray,
    forecast: Mapping[str, FloatArray],
    t: np.ndarray,
    p: ParkParams,
    dt_h: float,
) -> np.ndarray:
    """Observations over a batch, shape ``(n, 8 + 5 * horizon)`` float32 (see the env card).

    Args:
        energy_mwh: stored energy at the coming step [MWh], shape ``(n,)``.
        heat_left_mwh: process heat still due today [MWh heat], shape ``(n,)``.
        forecast: ``(n, horizon)`` arrays of ``wind_mw``, ``pv_mw``, ``load_mw``,
            ``price_import``, ``intensity`` and ``hour_of_day`` (lead 0 = the coming step).
        t: step of the year of the coming step, shape ``(n,)``.
        p: parameters.
        dt_h: step [h].
    """
    hour = forecast["hour_of_day"][:, 0]
    hod = 2 * np.pi * hour / 24.0
    doy = 2 * np.pi * (t * dt_h / 24.0) / 365.0
    h = forecast["wind_mw"].shape[1]
    obs = np.empty((len(energy_mwh), 8 + 5 * h), dtype=np.float32)
    obs[:, 0] = energy_mwh / p.battery_energy_mwh if p.battery_energy_mwh else 0.0
    obs[:, 1] = heat_left_mwh / p.flex_daily_heat_mwh if p.flex_daily_heat_mwh else 0.0
    obs[:, 2] = 1.0 - hour / 24.0
    obs[:, 3] = np.sin(hod)
    obs[:, 4] = np.cos(hod)
    obs[:, 5] = np.sin(doy)
    obs[:, 6] = np.cos(doy)
    obs[:, 7] = forecast["price_import"][:, 0] / p.tariff_flat_cny_per_mwh
    scales = (
        ("wind_mw", max(p.wind_capacity_mw, 1e-6)),
        ("pv_mw", max(p.pv_ac_mw, 1e-6)),
        ("load_mw", max(p.base_load_mean_mw, 1e-6)),
        ("price_import", max(p.tariff_flat_cny_per_mwh, 1e-6)),
        ("intensity", max(p.grid_mean_t_per_mwh, 1e-6)),
    )
    for j, (key, scale) in enumerate(scales):
        obs[:, 8 + j * h : 8 + (j + 1) * h] = forecast[key] / scale
    return np.clip(obs, OBS_LOW, OBS_HIGH, out=obs)


# ----------------------------------------------------------------------------- env
class WindSolarStorageEnv(EcoEnv):
    """Industrial park with wind, PV, a battery, a flexible boiler load and a grid connection.

    ## Description
    An industrial park buys power under a time-of-use tariff, sells surplus at a feed-in
    price, and owns a wind farm (windpowerlib power curve, log-law hub-height correction), a
    PV plant (pvlib PVWatts with SAPM cell temperature), a battery, a three-shift base load
    (SYNTHETIC) and an electric boiler that must deliver a daily process-heat quota; heat not
    delivered by midnight is raised by a natural-gas backup boiler (fuel cost and CO2).
    Weather: pvlib's bundled NREL TMY3 files (default Greensboro, 36.1 N), any TMY3/EPW file,
    or a DataFrame (see :func:`load_weather`).

    ## Action Space
    ``Box(-1, 1, (2,))``: ``[battery, boiler]``. ``battery`` maps linearly to
    ``[-battery_power_mw, +battery_power_mw]`` (positive = discharge); ``boiler`` to
    ``[0, flex_power_mw]``. Finite values outside [-1, 1] are clipped (reported as
    ``constraint_violations['action_clipped']``); NaN/inf raises ``ValueError``. Requests the
    SOC window or the heat still due cannot take are cut (``battery_limited_mw``); if the
    import limit binds, battery charging is cut, then the boiler, then base load is shed.

    ## Observation Space
    ``Box(float32)`` of ``8 + 5 * forecast_steps``: SOC; heat left / daily quota; fraction of
    the day left; sin/cos hour of day; sin/cos day of year; current period's
    price / flat tariff; then for leads 0..forecast_steps-1 (lead 0 = the coming step, known
    exactly): wind / wind capacity, PV / PV AC rating, load / mean load, import price / flat
    tariff, grid intensity / mean. Leads >= 1 of wind, PV and load carry the forecast error.

    ## Rewards
    ``-(energy + fuel + degradation + penalty + carbon) / reward_scale_cny`` per step, CNY:
    import cost minus feed-in revenue; backup-boiler gas; battery throughput degradation;
    unserved load at the value of lost load; carbon price x (grid + fuel CO2). Grid CO2 is
    imports x hourly intensity (exports earn no credit). Every term is in ``info['costs']``.

    ## Starting State
    SOC ``soc_init``, full daily heat quota, at midnight of the window's first day.

    ## Episode End
    Truncation after ``episode_days`` days; no termination.

    ## Arguments
    ``split`` (train/val/test), ``params`` (:class:`ParkParams`), ``weather``, ``latitude``,
    ``longitude``, ``dt_h`` (0.25 or 1), ``episode_days`` (7), ``forecast_horizon_h`` (24),
    ``forecast_errors`` (per series :class:`ForecastErrorModel`; ``forecast_noise_scale``
    multiplies the defaults, 0 = perfect), ``carbon_price_cny_per_t`` (80),
    ``reward_scale_cny`` (1e4), ``split_seed`` (0).

    ## Parameters and sources
    See :class:`ParkParams`: every default carries its source in its docstring.

    ## Version History
    * v0: initial release.
    """

    plant_name: ClassVar[str] = "park"
    violation_names: ClassVar[tuple[str, ...]] = (
        "battery_limited_mw",
        "import_limited_mw",
        "unserved_load_mwh",
    )
    #: Default forecast errors, relative std growth per sqrt(hour): at 24 h lead wind about
    #: 25 %, PV about 20 %, load about 5 % (day-ahead errors of that order are typical).
    DEFAULT_FORECAST_ERRORS: ClassVar[dict[str, ForecastErrorModel]] = {
        "wind_mw": ForecastErrorModel(0.05),
        "pv_mw": ForecastErrorModel(0.04),
        "load_mw": ForecastErrorModel(0.01),
    }

    def __init__(
        self,
        *,
        split: str = "train",
        params: ParkParams | None = None,
        weather: str | os.PathLike[str] | pd.DataFrame = "greensboro",
        latitude: float | None = None,
        longitude: float | None = None,
        dt_h: float = 1.0,
        episode_days: int = 7,
        forecast_horizon_h: float = 24.0,
        forecast_errors: Mapping[str, ForecastErrorModel] | None = None,
        forecast_noise_scale: float = 1.0,
        carbon_price_cny_per_t: float = DEFAULT_CARBON_PRICE_CNY_PER_T,
        reward_scale_cny: float = 1.0e4,
        split_seed: int = 0,
    ) -> None:
        super().__init__(
            split=split,
            carbon_price_cny_per_t=carbon_price_cny_per_t,
            reward_scale_cny=reward_scale_cny,
        )
        if dt_h not in (0.25, 1.0):
            raise ValueError(f"dt_h={dt_h!r}; allowed: 0.25 or 1.0 hours")
        if isinstance(episode_days, bool) or not isinstance(episode_days, int):
            raise ValueError(f"episode_days={episode_days!r}; allowed: an int in [1, 121]")
        require_finite_range("episode_days", episode_days, 1, 121)
        require_finite_range("forecast_horizon_h", forecast_horizon_h, dt_h, 24.0 * 7)
        require_finite_range("forecast_noise_scale", forecast_noise_scale, 0.0, 10.0)
        self.params: ParkParams = self._params_or_default(params, ParkParams)
        self.dt_h = float(dt_h)
        if isinstance(weather, pd.DataFrame):
            w, self.site = load_weather(weather, latitude=latitude, longitude=longitude)
            self.series = build_series(w, self.site, self.params, self.dt_h)
        else:
            key = str(weather)
            self.series, self.site = _cached_series(key, self.params, self.dt_h)
        base = dict(self.DEFAULT_FORECAST_ERRORS if forecast_errors is None else forecast_errors)
        unknown = set(base) - set(NOISY_SERIES)
        if unknown:
            raise ValueError(
                f"forecast_errors has unknown series {sorted(unknown)}; allowed: "
                f"{list(NOISY_SERIES)}"
            )
        self.forecast_errors = {
            k: ForecastErrorModel(m.std_per_sqrt_h * forecast_noise_scale, m.bias)
            for k, m in base.items()
        }
        self.steps_per_day = round(24 / self.dt_h)
        self.forecast_steps = round(forecast_horizon_h / self.dt_h)
        self.windows = ScenarioWindows(
            self.series.n_steps, episode_days * self.steps_per_day, split_seed=split_seed
        )
        p = self.params
        self.scaler = ActionScaler(
            [-p.battery_power_mw, 0.0], [p.battery_power_mw, p.flex_power_mw], ("battery", "boiler")
        )
        self.action_space = self.scaler.space  # type: ignore[assignment]
        n_obs = 8 + 5 * self.forecast_steps
        self.observation_space = gym.spaces.Box(OBS_LOW, OBS_HIGH, (n_obs,), np.float32)
        self.energy_mwh = p.soc_init * p.battery_energy_mwh
        self.heat_left_mwh = p.flex_daily_heat_mwh
        self._forecast: dict[str, np.ndarray] = {}
        self._errors = np.zeros((self.episode_steps, len(self.forecast_errors), 0))

    # -- plant hooks ------------------------------------------------------------------------
    @property
    def t(self) -> int:
        """Step of the year of the coming step."""
        return self.window_start + self.step_index

    def true_window(self, start_step: int, n: int) -> dict[str, np.ndarray]:
        """True exogenous series (privileged: for the oracle and perfect-forecast MPC)."""
        return self.series.window(start_step, n)

    def _prepare_step(self) -> None:
        fc = self.series.window(self.t, self.forecast_steps)
        for j, (k, model) in enumerate(self.forecast_errors.items()):
            if self.forecast_steps > 1 and not model.is_perfect:
                fc[k][1:] = model.perturb(fc[k][1:], self._errors[self.step_index, j])
        self._forecast = fc

    def _reset_plant(self) -> dict[str, Any]:
        p = self.params
        self.energy_mwh = p.soc_init * p.battery_energy_mwh
        self.heat_left_mwh = p.flex_daily_heat_mwh
        self._errors = self._episode_errors(self.np_random)
        return self._state({})

    def _episode_errors(self, rng: np.random.Generator) -> np.ndarray:
        """The episode's forecast errors ``[step, series, lead]`` (drawn at reset)."""
        return episode_forecast_errors(
            tuple(self.forecast_errors.values()),
            self.episode_steps,
            self.forecast_steps - 1,
            self.dt_h,
            rng,
        )

    def _state(self, flows: dict[str, float]) -> dict[str, Any]:
        p = self.params
        return {
            "energy_mwh": self.energy_mwh,
            "soc": self.energy_mwh / p.battery_energy_mwh if p.battery_energy_mwh else 0.0,
            "heat_left_mwh": self.heat_left_mwh,
            **flows,
        }

    def _step_plant(self, physical_action: FloatArray) -> PlantStep:
        exo = self.series.window(self.t, 1)
        e, h, flows = park_step(
            np.array([self.energy_mwh]),
            np.array([self.heat_left_mwh]),
            physical_action[:1],
            physical_action[1:],
            exo,
            self.params,
            self.dt_h,
        )
        emissions, costs = park_accounts(flows, exo, self.params, self.dt_h)
        self.energy_mwh = float(e[0])
        self.heat_left_mwh = float(h[0])
        f = {k: float(v[0]) for k, v in vars(flows).items()}
        f.update(
            {
                k: float(exo[k][0])
                for k in ("wind_mw", "pv_mw", "load_mw", "price_import", "intensity")
            }
        )
        violations = {
            "battery_limited_mw": f["battery_limited_mw"],
            "import_limited_mw": f["import_limited_mw"],
            "unserved_load_mwh": f["shed_mw"] * self.dt_h,
        }
        return PlantStep(
            emissions={k: float(v[0]) for k, v in emissions.items()},
            costs={k: float(v[0]) for k, v in costs.items()},
            violations=violations,
            state=self._state(f),
        )

    def _observe(self) -> np.ndarray:
        fc = {k: v[None, :] for k, v in self._forecast.items()}
        energy, heat = np.array([self.energy_mwh]), np.array([self.heat_left_mwh])
        t = np.array([self.t])
        return park_observation(energy, heat, fc, t, self.params, self.dt_h)[0]

    def _extra_info(self) -> dict[str, Any]:
        # Forecasts in physical units, lead 0 = the coming step (exact); what the agent sees.
        return {"forecast": {k: v.copy() for k, v in self._forecast.items()}}


class ParkVectorEnv(BatchedEcoEnv):
    """``num_envs`` parks stepped together by :func:`park_step` over the batch axis.

    ``gymnasium.make_vec("ecocontrol/WindSolarStorage-v0", num_envs=n,
    vectorization_mode="vector_entry_point", **kwargs)``; ``kwargs`` as for
    :class:`WindSolarStorageEnv`, plus ``autoreset_mode``. Member ``i`` reproduces a single env
    seeded with ``seed + i`` under the same actions (tested); ``info`` carries per-member
    arrays of the ledger's costs and emissions and the violations, not the forecasts.
    """

    single_env_class = WindSolarStorageEnv
    template: WindSolarStorageEnv

    def __init__(self, num_envs: int = 1, **kwargs: Any) -> None:
        super().__init__(num_envs, **kwargs)
        env = self.template
        p = env.params
        self.params, self.series, self.dt_h = p, env.series, env.dt_h
        self.energy_mwh = np.full(num_envs, p.soc_init * p.battery_energy_mwh)
        self.heat_left_mwh = np.full(num_envs, p.flex_daily_heat_mwh)
        self._models = tuple(env.forecast_errors.items())
        h = env.forecast_steps
        self._leads = np.arange(h)
        self._errors = BatchForecastErrors(
            tuple(env.forecast_errors.values()),
            env.episode_steps,
            max(h - 1, 0),
            env.dt_h,
            num_envs,
        )
        self._fc = {k: np.zeros((num_envs, h)) for k in _OBSERVED}
        # row t of _horizons[k]: the series over steps t .. t+h-1, wrapping around the year
        self._horizons = {k: horizon_view(getattr(env.series, k), h) for k in _OBSERVED}

    def _reset_members(self, idx: np.ndarray) -> None:
        p = self.params
        self.energy_mwh[idx] = p.soc_init * p.battery_energy_mwh
        self.heat_left_mwh[idx] = p.flex_daily_heat_mwh
        for i in idx:
            rng = self.rngs[i]
            assert rng is not None
            self._errors.start(int(i), rng)

    def _prepare(self, idx: np.ndarray) -> None:
        sel: slice | np.ndarray = slice(None) if len(idx) == self.num_envs else idx
        rows = self.t[sel] % self.series.n_steps
        for k in _OBSERVED:
            self._fc[k][sel] = self._horizons[k][rows]
        if len(self._leads) > 1:
            errors = self._errors.rows(idx, self.step_index[idx], self.rngs)
            for j, (k, model) in enumerate(self._models):
                if not model.is_perfect:
                    self._fc[k][sel, 1:] = model.perturb(self._fc[k][sel, 1:], errors[:, j])

    def _step_members(
        self, physical: FloatArray
    ) -> tuple[dict[str, FloatArray], dict[str, FloatArray], dict[str, FloatArray]]:
        t = self.t % self.series.n_steps
        exo = {k: getattr(self.series, k)[t] for k in _STEP_SERIES}
        e, h, flows = park_step(
            self.energy_mwh,
            self.heat_left_mwh,
            physical[:, 0],
            physical[:, 1],
            exo,
            self.params,
            self.dt_h,
        )
        self.energy_mwh, self.heat_left_mwh = e, h
        emissions, costs = park_accounts(flows, exo, self.params, self.dt_h)
        violations = {
            "battery_limited_mw": flows.battery_limited_mw,
            "import_limited_mw": flows.import_limited_mw,
            "unserved_load_mwh": flows.shed_mw * self.dt_h,
        }
        return emissions, costs, violations

    def _observe_batch(self) -> np.ndarray:
        return park_observation(
            self.energy_mwh, self.heat_left_mwh, self._fc, self.t, self.params, self.dt_h
        )


#: Series the observation reads over the horizon, and those a step reads at lead 0.
_OBSERVED: tuple[str, ...] = (
    "wind_mw",
    "pv_mw",
    "load_mw",
    "price_import",
    "intensity",
    "hour_of_day",
)
_STEP_SERIES: tuple[str, ...] = (
    "wind_mw",
    "pv_mw",
    "load_mw",
    "price_import",
    "price_export",
    "intensity",
    "day_end",
)
