"""The park's observation (see the env card), over a leading batch axis.

:func:`observe_state` and :func:`observe_series` are the one implementation (compiled); the
simulator's observation kernel and :func:`park_observation` loop over members with them.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

from ..jit import kernel
from ..scenario import FloatArray
from .params import ParkParams
from .physics import maximum, minimum

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


# Entries of the constants vector :func:`observe_state` reads (:func:`observation_constants`):
# the state's scales, the flat tariff, then one scale per forecast series (FORECAST_OBS).
O_BATTERY_MWH, O_STORE_MWH, O_IMPORT_LIMIT, O_FLAT = range(4)
O_SCALES = 4
_PRICE = FORECAST_OBS.index("price_import")


def observation_constants(p: ParkParams) -> FloatArray:
    """The parameters the observation kernels read, as one float64 vector."""
    scales = {
        "wind_mw": max(p.wind_capacity_mw, 1e-6),
        "pv_mw": max(p.pv_ac_mw, 1e-6),
        "load_mw": max(p.base_load_mean_mw, 1e-6),
        "heat_demand_mw": max(p.heat_demand_mean_mw, 1e-6),
        "price_import": max(p.tariff_flat_cny_per_mwh, 1e-6),
        "intensity": max(p.grid_mean_t_per_mwh, 1e-6),
    }
    head = [
        p.battery_energy_mwh,
        p.heat_store_capacity_mwh,
        p.grid_import_limit_mw,
        p.tariff_flat_cny_per_mwh,
    ]
    return np.array(head + [scales[k] for k in FORECAST_OBS], dtype=np.float64)


def hour_features(hour: FloatArray) -> tuple[FloatArray, FloatArray]:
    """``sin`` and ``cos`` of the hour of day [h] on the daily circle."""
    hod = 2 * np.pi * hour / 24.0
    return np.sin(hod), np.cos(hod)


def year_features(t: NDArray[np.int64], dt_h: float) -> tuple[FloatArray, FloatArray]:
    """``sin`` and ``cos`` of the step of the year ``t`` on the yearly circle (365 days)."""
    doy = 2 * np.pi * (t * dt_h / 24.0) / 365.0
    return np.sin(doy), np.cos(doy)


@kernel
def _bounded(x: float) -> float:
    """``x`` clipped to [OBS_LOW, OBS_HIGH] (as ``np.clip``; the bounds are exact in float32)."""
    return minimum(maximum(x, OBS_LOW), OBS_HIGH)


@kernel
def observe_state(
    out: NDArray[np.float32],
    episode_left: float,
    energy_mwh: float,
    heat_mwh: float,
    peak_mw: float,
    hour: float,
    hour_sin: float,
    hour_cos: float,
    year_sin: float,
    year_cos: float,
    price_import: float,
    c: FloatArray,
) -> None:
    """The first :data:`N_STATE_OBS` entries of one park's observation, into ``out``.

    See the env card and the arguments of :func:`park_observation` (``price_import``: the
    coming step's); ``c`` is :func:`observation_constants`. Each entry is computed in float64,
    clipped to [OBS_LOW, OBS_HIGH] and rounded to float32 (which equals clipping the rounded
    value, as the bounds are exact in float32).
    """
    cap = c[O_BATTERY_MWH]
    out[0] = _bounded(energy_mwh / cap if cap else 0.0)
    cap = c[O_STORE_MWH]
    out[1] = _bounded(heat_mwh / cap if cap else 0.0)
    cap = c[O_IMPORT_LIMIT]
    out[2] = _bounded(peak_mw / cap if cap else 0.0)
    out[3] = _bounded(1.0 - hour / 24.0)
    out[4] = _bounded(episode_left)
    out[5] = _bounded(hour_sin)
    out[6] = _bounded(hour_cos)
    out[7] = _bounded(year_sin)
    out[8] = _bounded(year_cos)
    out[9] = _bounded(price_import / c[O_FLAT])


@kernel
def observe_series(values: FloatArray, scale: float, out: NDArray[np.float32]) -> None:
    """One forecast series' entries of an observation: ``values / scale``, clipped, float32."""
    for k in range(out.shape[0]):
        out[k] = _bounded(values[k] / scale)


@kernel
def _observe_batch(
    out: NDArray[np.float32],
    state: FloatArray,
    features: FloatArray,
    forecast: FloatArray,
    c: FloatArray,
) -> None:
    """:func:`observe_state` and :func:`observe_series` over a batch.

    ``state``: energy, heat, peak, episode left; ``features``: hour, its sin and cos, the
    year's sin and cos; ``forecast``: shape ``(n, len(FORECAST_OBS), horizon)``.
    """
    h = forecast.shape[2]
    for i in range(out.shape[0]):
        row = out[i]
        observe_state(
            row,
            state[3, i],
            state[0, i],
            state[1, i],
            state[2, i],
            features[0, i],
            features[1, i],
            features[2, i],
            features[3, i],
            features[4, i],
            forecast[i, _PRICE, 0],
            c,
        )
        for j in range(forecast.shape[1]):
            start = N_STATE_OBS + j * h
            observe_series(forecast[i, j], c[O_SCALES + j], row[start : start + h])


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

    The observation is :func:`observe_state` and :func:`observe_series`, compiled; this
    wrapper stacks their inputs.
    """
    n = len(energy_mwh)
    hour = np.asarray(forecast["hour_of_day"], dtype=np.float64)[:, 0]
    state = np.array(
        np.broadcast_arrays(energy_mwh, heat_mwh, peak_mw, episode_left), dtype=np.float64
    )
    features = np.array(
        [hour, *hour_features(hour), *year_features(np.asarray(t), dt_h)], dtype=np.float64
    )
    series = np.ascontiguousarray(
        np.stack([np.asarray(forecast[k], dtype=np.float64) for k in FORECAST_OBS], axis=1)
    )
    h = series.shape[2]
    obs = np.empty((n, N_STATE_OBS + len(FORECAST_OBS) * h), dtype=np.float32)
    _observe_batch(obs, state.reshape(4, n), features, series, observation_constants(p))
    return obs
