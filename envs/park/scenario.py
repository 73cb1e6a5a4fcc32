"""The park's exogenous series: weather, wind and PV power, the base load, tariff and intensity.

One typical year at the env's step: wind power from a windpowerlib power curve at hub height,
PV from pvlib's PVWatts, a SYNTHETIC three-shift base load and process-heat demand, the
time-of-use import price, the feed-in price and the hourly grid intensity
(:class:`ParkSeries`, built by :func:`build_series`).
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ecocontrol.emissions import GridIntensity, require_finite_range, synthetic_china_grid_shape

from ..scenario import FloatArray, ForecastErrorModel
from .params import TOU_CODES, TOU_MULTIPLIERS, ParkParams, turbine_power_curve

HOURS_PER_YEAR = 8760
#: Weather files that pvlib ships (NREL TMY3; BSD-3 package), by site name.
BUNDLED_SITES: dict[str, str] = {
    "greensboro": "723170TYA.CSV",  # 36.1 N, like the Yangtze/Huai industrial belt
    "sand_point": "703165TY.csv",  # 55.3 N, windy maritime site
}
WEATHER_COLUMNS: tuple[str, ...] = ("ghi", "dni", "dhi", "temp_air", "wind_speed")


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

    curve, _ = turbine_power_curve(p.turbine_type, p.hub_height_m)
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


def synthetic_heat_demand(p: ParkParams, n_hours: int = HOURS_PER_YEAR) -> FloatArray:
    """SYNTHETIC hourly process-heat demand [MW heat] of a three-shift plant.

    Follows the shifts of :func:`synthetic_base_load`, with a deeper swing (heat follows
    production more closely than the electric base load, which carries lighting, compressed
    air and auxiliaries): day shift 08-16 at 1.2, evening 16-24 at 1.0, night 00-08 at 0.8 of
    the mean, weekends at 0.7, and an AR(1) fluctuation (phi 0.8, 5 %) drawn with
    ``load_seed + 1``; normalised to ``heat_demand_mean_mw``. Not a measured profile.
    """
    h = np.arange(n_hours)
    hod = h % 24
    shift = np.where(hod < 8, 0.8, np.where(hod < 16, 1.2, 1.0))
    weekend = np.where((h // 24) % 7 >= 5, 0.7, 1.0)
    rng = np.random.default_rng(p.load_seed + 1)
    eps = rng.normal(0.0, 0.05 * math.sqrt(1 - 0.8**2), n_hours)
    ar = np.zeros(n_hours)
    for i in range(1, n_hours):
        ar[i] = 0.8 * ar[i - 1] + eps[i]
    shape = shift * weekend * (1.0 + ar)
    return p.heat_demand_mean_mw * shape / shape.mean()


@dataclass(frozen=True)
class ParkSeries:
    """Exogenous series at the env step, one year long (index = step of the year)."""

    dt_h: float
    wind_mw: FloatArray
    pv_mw: FloatArray
    load_mw: FloatArray
    heat_demand_mw: FloatArray
    price_import: FloatArray
    price_export: FloatArray
    intensity: FloatArray
    tou_code: np.ndarray
    hour_of_day: FloatArray

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
    "heat_demand_mw",
    "price_import",
    "price_export",
    "intensity",
    "tou_code",
    "hour_of_day",
)
#: Series a forecast carries an error on (leads >= 1). Heat demand follows the production
#: schedule and is forecast exactly.
NOISY_SERIES: tuple[str, ...] = ("wind_mw", "pv_mw", "load_mw")
#: Default forecast errors, relative std growth per sqrt(hour): at 24 h lead wind about
#: 25 %, PV about 20 %, load about 5 % (day-ahead errors of that order are typical).
DEFAULT_FORECAST_ERRORS: dict[str, ForecastErrorModel] = {
    "wind_mw": ForecastErrorModel(0.05),
    "pv_mw": ForecastErrorModel(0.04),
    "load_mw": ForecastErrorModel(0.01),
}


def build_series(weather: pd.DataFrame, site: Site, p: ParkParams, dt_h: float) -> ParkSeries:
    """Compute the year's exogenous series at step ``dt_h`` (linear interpolation of power)."""
    hourly_wind = wind_power_mw(weather, p)
    hourly_pv = pv_power_mw(weather, site, p)
    hourly_load = synthetic_base_load(p)
    hourly_heat = synthetic_heat_demand(p)
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
    return ParkSeries(
        dt_h=dt_h,
        wind_mw=interp(hourly_wind) if dt_h != 1.0 else hourly_wind,
        pv_mw=interp(hourly_pv) if dt_h != 1.0 else hourly_pv,
        load_mw=interp(hourly_load) if dt_h != 1.0 else hourly_load,
        heat_demand_mw=interp(hourly_heat) if dt_h != 1.0 else hourly_heat,
        price_import=p.tariff_flat_cny_per_mwh * mult,
        price_export=np.full(n, p.feed_in_cny_per_mwh),
        intensity=grid.at_hours(hod),
        tou_code=tou,
        hour_of_day=hod.astype(np.float64),
    )


@functools.lru_cache(maxsize=16)
def cached_series(weather_key: str, p: ParkParams, dt_h: float) -> tuple[ParkSeries, Site]:
    """The year's series and site of a bundled site or weather file (cached)."""
    weather, site = load_weather(weather_key)
    return build_series(weather, site, p, dt_h), site
