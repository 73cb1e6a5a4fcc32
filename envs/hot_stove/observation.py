"""Hot-stove observation: the float32 vector of the env card, over a batch."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

from ..scenario import FloatArray, clip
from .params import HotStoveParams
from .physics import StoveState
from .scoring import gas_values

OBS_LOW, OBS_HIGH = -1.0, 10.0
#: Forecast leads shown in the observation [min].
OBS_LEADS_MIN: tuple[int, ...] = (10, 20, 30, 40, 50, 60)
_MODE_ONE_HOT = np.eye(4)  # row m: the one-hot of mode m


def hot_stove_observation(
    state: StoveState,
    forecast: Mapping[str, FloatArray],
    last_hot_blast_c: FloatArray,
    progress: FloatArray,
    leads: NDArray[np.int64],
    p: HotStoveParams,
    carbon_price_cny_per_t: float,
) -> NDArray[np.float32]:
    """Observations over a batch, shape ``(n, 8 * n_stoves + 20)`` float32 (see the env card).

    Args:
        state: the stoves at the coming step.
        forecast: ``(n, horizon + 1)`` arrays ``flow_nm3_min`` and ``setpoint_c``, lead 0 =
            the coming step (exact).
        last_hot_blast_c: last hot-blast temperature [degC], shape ``(n,)``.
        progress: share of the episode done, shape ``(n,)``.
        leads: forecast leads shown (indices into the forecast).
        p: parameters.
        carbon_price_cny_per_t: the carbon price.
    """
    temp = state.temp_c
    b, n = state.mode.shape
    k = len(leads)
    flow, setpoint = forecast["flow_nm3_min"], forecast["setpoint_c"]
    # Filled in place (a float64 buffer, cast once): the same values as concatenating the
    # parts, without the temporaries.
    per = np.empty((b, n, 8))
    np.divide(temp[:, :, 0], 1000.0, out=per[:, :, 0])
    np.divide(temp.mean(axis=2), 1000.0, out=per[:, :, 1])
    np.divide(temp[:, :, -1], 1000.0, out=per[:, :, 2])
    per[:, :, 3:7] = _MODE_ONE_HOT[state.mode]
    np.divide(state.time_in_mode_min, 60.0, out=per[:, :, 7])
    obs = np.empty((b, 8 * n + 8 + 2 * k), dtype=np.float32)
    j = 8 * n
    obs[:, :j] = per.reshape(b, j)
    rest = np.empty((b, 8 + 2 * k))
    np.divide(flow[:, 0], p.blast_flow_nm3_min, out=rest[:, 0])
    np.divide(setpoint[:, 0], 1000.0, out=rest[:, 1])
    np.divide(last_hot_blast_c, 1000.0, out=rest[:, 2])
    rest[:, 3] = state.stove_fraction
    np.divide(flow[:, leads], p.blast_flow_nm3_min, out=rest[:, 4 : 4 + k])
    np.divide(setpoint[:, leads], 1000.0, out=rest[:, 4 + k : 4 + 2 * k])
    lean, rich = gas_values(p)  # the prices of the gas accounting
    rest[:, 4 + 2 * k] = lean.price_cny_per_gj / 100.0
    rest[:, 5 + 2 * k] = rich.price_cny_per_gj / 100.0
    rest[:, 6 + 2 * k] = carbon_price_cny_per_t / 100.0
    rest[:, 7 + 2 * k] = progress
    obs[:, j:] = rest
    return clip(obs, OBS_LOW, OBS_HIGH, out=obs)
