"""Hot-stove observation: the float32 vector of the env card, over a batch."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

from ..scenario import FloatArray
from .params import HotStoveParams
from .physics import StoveState

OBS_LOW, OBS_HIGH = -1.0, 10.0
#: Forecast leads shown in the observation [min].
OBS_LEADS_MIN: tuple[int, ...] = (10, 20, 30, 40, 50, 60)


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
    b = len(temp)
    per_stove = np.concatenate(
        [
            temp[:, :, :1] / 1000.0,
            temp.mean(axis=2)[:, :, None] / 1000.0,
            temp[:, :, -1:] / 1000.0,
            np.eye(4)[state.mode],
            state.time_in_mode_min[:, :, None] / 60.0,
        ],
        axis=2,
    ).reshape(b, -1)
    flow, setpoint = forecast["flow_nm3_min"], forecast["setpoint_c"]
    prices = np.array(
        [
            p.lean_price_cny_per_gj / 100.0,
            p.rich_price_cny_per_gj / 100.0,
            carbon_price_cny_per_t / 100.0,
        ]
    )
    obs = np.concatenate(
        [
            per_stove,
            (flow[:, 0] / p.blast_flow_nm3_min)[:, None],
            (setpoint[:, 0] / 1000.0)[:, None],
            (last_hot_blast_c / 1000.0)[:, None],
            state.stove_fraction[:, None],
            flow[:, leads] / p.blast_flow_nm3_min,
            setpoint[:, leads] / 1000.0,
            np.broadcast_to(prices, (b, 3)),
            progress[:, None],
        ],
        axis=1,
    ).astype(np.float32)
    return np.clip(obs, OBS_LOW, OBS_HIGH, out=obs)
