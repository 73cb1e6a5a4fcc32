"""Hot-stove observation: the float32 vector of the env card, over a batch."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

from ..jit import kernel
from ..scenario import FloatArray
from .params import HotStoveParams
from .physics import StoveState, pairwise_sum
from .scoring import gas_values

OBS_LOW, OBS_HIGH = -1.0, 10.0
#: Forecast leads shown in the observation [min].
OBS_LEADS_MIN: tuple[int, ...] = (10, 20, 30, 40, 50, 60)


@kernel
def _put(obs: NDArray[np.float32], i: int, j: int, value: float) -> None:
    """``obs[i, j]`` = ``value`` cast to float32 and clipped to ``[OBS_LOW, OBS_HIGH]``."""
    v = np.float32(value)
    obs[i, j] = min(max(v, np.float32(OBS_LOW)), np.float32(OBS_HIGH))


@kernel
def observe_member(
    i: int,
    temp: FloatArray,
    mode: NDArray[np.int64],
    tim: FloatArray,
    fraction: FloatArray,
    flow: FloatArray,
    setpoint: FloatArray,
    last_hot_blast_c: FloatArray,
    progress: float,
    leads: NDArray[np.int64],
    consts: FloatArray,
    obs: NDArray[np.float32],
) -> None:
    """Member ``i``'s observation into ``obs[i]`` (see :func:`hot_stove_observation`).

    ``temp`` .. ``fraction`` and ``last_hot_blast_c`` are the batch's arrays; ``flow`` and
    ``setpoint`` the member's forecast (lead 0 = the coming step, at least to the last of
    ``leads``); ``progress`` the share of the episode elapsed. ``consts``: nominal blast
    flow [Nm3/min], then the lean gas, rich gas and carbon prices as shown (already divided
    by 100).
    """
    n, nc = temp.shape[1], temp.shape[2]
    k = leads.shape[0]
    nominal = consts[0]
    for s in range(n):
        j = 8 * s
        _put(obs, i, j, temp[i, s, 0] / 1000.0)
        _put(obs, i, j + 1, pairwise_sum(temp[i, s]) / nc / 1000.0)
        _put(obs, i, j + 2, temp[i, s, nc - 1] / 1000.0)
        for m in range(4):
            _put(obs, i, j + 3 + m, 1.0 if mode[i, s] == m else 0.0)
        _put(obs, i, j + 7, tim[i, s] / 60.0)
    j = 8 * n
    _put(obs, i, j, flow[0] / nominal)
    _put(obs, i, j + 1, setpoint[0] / 1000.0)
    _put(obs, i, j + 2, last_hot_blast_c[i] / 1000.0)
    _put(obs, i, j + 3, fraction[i])
    for q in range(k):
        _put(obs, i, j + 4 + q, flow[leads[q]] / nominal)
        _put(obs, i, j + 4 + k + q, setpoint[leads[q]] / 1000.0)
    for q in range(3):
        _put(obs, i, j + 4 + 2 * k + q, consts[1 + q])
    _put(obs, i, j + 7 + 2 * k, progress)


@kernel
def _observe_forecasts(
    temp: FloatArray,
    mode: NDArray[np.int64],
    tim: FloatArray,
    fraction: FloatArray,
    flow: FloatArray,
    setpoint: FloatArray,
    last_hot_blast_c: FloatArray,
    progress: FloatArray,
    leads: NDArray[np.int64],
    consts: FloatArray,
    obs: NDArray[np.float32],
) -> None:
    for i in range(temp.shape[0]):
        observe_member(
            i,
            temp,
            mode,
            tim,
            fraction,
            flow[i],
            setpoint[i],
            last_hot_blast_c,
            progress[i],
            leads,
            consts,
            obs,
        )


def observation_constants(p: HotStoveParams, carbon_price_cny_per_t: float) -> FloatArray:
    """``consts`` of :func:`observe_member`: nominal blast, gas and carbon prices / 100."""
    lean, rich = gas_values(p)  # the prices of the gas accounting
    return np.array(
        [
            p.blast_flow_nm3_min,
            lean.price_cny_per_gj / 100.0,
            rich.price_cny_per_gj / 100.0,
            carbon_price_cny_per_t / 100.0,
        ]
    )


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
    b, n = np.shape(state.mode)
    leads = np.ascontiguousarray(leads, dtype=np.int64)
    obs = np.empty((b, 8 * n + 8 + 2 * len(leads)), dtype=np.float32)

    def f64(v: object, shape: tuple[int, ...]) -> FloatArray:
        return np.ascontiguousarray(np.broadcast_to(np.asarray(v, dtype=np.float64), shape))

    _observe_forecasts(
        f64(state.temp_c, np.shape(state.temp_c)),
        np.ascontiguousarray(state.mode, dtype=np.int64),
        f64(state.time_in_mode_min, (b, n)),
        f64(state.stove_fraction, (b,)),
        f64(forecast["flow_nm3_min"], np.shape(forecast["flow_nm3_min"])),
        f64(forecast["setpoint_c"], np.shape(forecast["setpoint_c"])),
        f64(last_hot_blast_c, (b,)),
        f64(progress, (b,)),
        leads,
        observation_constants(p, carbon_price_cny_per_t),
        obs,
    )
    return obs
