"""The park's observation (see the env card), over a leading batch axis."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..scenario import FloatArray, clip
from .params import ParkParams

#: Observation bounds: every entry is a normalised quantity (see the env card).
OBS_LOW, OBS_HIGH = -1.0, 10.0


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
    return clip(obs, OBS_LOW, OBS_HIGH, out=obs)
