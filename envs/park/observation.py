"""The park's observation (see the env card), over a leading batch axis."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..scenario import FloatArray, clip
from .params import ParkParams

#: Observation bounds: every entry is a normalised quantity (see the env card).
OBS_LOW, OBS_HIGH = -1.0, 10.0
#: Entries before the forecasts, and the forecast series in their order (see the env card).
N_STATE_OBS = 10
FORECAST_OBS: tuple[str, ...] = (
    "wind_mw",
    "pv_mw",
    "load_mw",
    "heat_demand_mw",
    "price_import",
    "intensity",
)


def park_observation(
    energy_mwh: FloatArray,
    heat_mwh: FloatArray,
    peak_mw: FloatArray,
    forecast: Mapping[str, FloatArray],
    t: np.ndarray,
    episode_left: FloatArray,
    p: ParkParams,
    dt_h: float,
) -> np.ndarray:
    """Observations over a batch, shape ``(n, 10 + 6 * horizon)`` float32 (see the env card).

    Args:
        energy_mwh: battery energy at the coming step [MWh], shape ``(n,)``.
        heat_mwh: heat in the store at the coming step [MWh heat], shape ``(n,)``.
        peak_mw: highest import of the episode so far [MW], shape ``(n,)``.
        forecast: ``(n, horizon)`` arrays of ``wind_mw``, ``pv_mw``, ``load_mw``,
            ``heat_demand_mw``, ``price_import``, ``intensity`` and ``hour_of_day`` (lead 0 =
            the coming step).
        t: step of the year of the coming step, shape ``(n,)``.
        episode_left: fraction of the episode still to come, shape ``(n,)``.
        p: parameters.
        dt_h: step [h].
    """
    hour = forecast["hour_of_day"][:, 0]
    hod = 2 * np.pi * hour / 24.0
    doy = 2 * np.pi * (t * dt_h / 24.0) / 365.0
    h = forecast["wind_mw"].shape[1]
    n0 = N_STATE_OBS
    obs = np.empty((len(energy_mwh), n0 + len(FORECAST_OBS) * h), dtype=np.float32)
    obs[:, 0] = energy_mwh / p.battery_energy_mwh if p.battery_energy_mwh else 0.0
    obs[:, 1] = heat_mwh / p.heat_store_capacity_mwh if p.heat_store_capacity_mwh else 0.0
    obs[:, 2] = peak_mw / p.grid_import_limit_mw if p.grid_import_limit_mw else 0.0
    obs[:, 3] = 1.0 - hour / 24.0
    obs[:, 4] = episode_left
    obs[:, 5] = np.sin(hod)
    obs[:, 6] = np.cos(hod)
    obs[:, 7] = np.sin(doy)
    obs[:, 8] = np.cos(doy)
    obs[:, 9] = forecast["price_import"][:, 0] / p.tariff_flat_cny_per_mwh
    scales = {
        "wind_mw": max(p.wind_capacity_mw, 1e-6),
        "pv_mw": max(p.pv_ac_mw, 1e-6),
        "load_mw": max(p.base_load_mean_mw, 1e-6),
        "heat_demand_mw": max(p.heat_demand_mean_mw, 1e-6),
        "price_import": max(p.tariff_flat_cny_per_mwh, 1e-6),
        "intensity": max(p.grid_mean_t_per_mwh, 1e-6),
    }
    for j, key in enumerate(FORECAST_OBS):
        obs[:, n0 + j * h : n0 + (j + 1) * h] = forecast[key] / scales[key]
    return clip(obs, OBS_LOW, OBS_HIGH, out=obs)
