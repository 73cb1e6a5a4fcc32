"""What the operator sees: the instruments, the lab's free lime and the observation vector.

* **Instruments**: burning-zone, calciner-outlet and kiln exit gas temperatures, kiln-inlet and
  calciner-exit O2, kiln-inlet CO and stack NOx, read every step.
* **Lab**: a spot sample of the clinker every ``lab_interval_min``; its free lime (with the
  lab's error) is published ``lab_delay_min`` later.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from ..jit import kernel
from ..scenario import FloatArray
from .combustion import kiln_gas_temp
from .params import CementKilnParams
from .state import (
    S_ACTION,
    S_BZ,
    S_FEED_ON,
    S_LAB_AGE,
    S_LAB_LAST,
    S_READ,
    S_TC,
    KilnFlows,
    KilnState,
    pack_state,
)


def lab_slots(p: CementKilnParams) -> int:
    """Lab samples that can be pending at once."""
    return int(p.lab_delay_min // p.lab_interval_min) + 2


@kernel
def lab_1(
    pending: FloatArray,
    left: FloatArray,
    last: float,
    age: float,
    free_lime: float,
    noise: float,
    sample: bool,
    delay_min: float,
    dt_min: float,
) -> tuple[float, float]:
    """The lab over one step for one member: (last result [%], its age [min]).

    A spot sample is taken if ``sample`` and its result (``free_lime`` plus the lab error
    ``noise``, at least 0) is published ``delay_min`` later. Samples wait in slots
    (``pending`` results, ``left`` minutes to publication, inf = free; updated in place;
    several are pending when the delay exceeds the interval). When results arrive, the
    newest sample's is published.
    """
    n = len(left)
    for k in range(n):
        left[k] = left[k] - dt_min
    age = age + dt_min
    if sample:
        slot = 0  # a free slot (there are enough)
        for k in range(n):
            if math.isinf(left[k]):
                slot = k
                break
        pending[slot] = max(free_lime + noise, 0.0)
        left[slot] = delay_min
    newest = -1
    for k in range(n):
        if left[k] <= 1e-9:
            if newest < 0 or left[k] > left[newest]:
                newest = k
    if newest >= 0:
        last, age = pending[newest], 0.0
        for k in range(n):
            if left[k] <= 1e-9:
                left[k] = math.inf
    return last, age


OBS_DIM = 22
#: The instruments' readings, in the order of the packed state's reading columns.
READING_KEYS: tuple[str, ...] = (
    "kiln_gas_c",
    "kiln_o2_pct",
    "calciner_o2_pct",
    "co_ppm",
    "nox_mg_nm3",
)
#: Feed-forecast leads in the observation [min].
OBS_LEADS_MIN = (15.0, 30.0, 45.0, 60.0)


def kiln_readings(
    state: KilnState, flows: KilnFlows | None, p: CementKilnParams
) -> dict[str, FloatArray]:
    """The instruments the observation shows, per batch row.

    At reset (no step yet): the nominal point's readings.
    """
    if flows is None:
        ones = np.ones_like(state.bz_c)
        return {
            "kiln_gas_c": kiln_gas_temp(state.bz_c, p),
            "kiln_o2_pct": ones * p.kiln_o2_nominal_pct,
            "calciner_o2_pct": ones * p.calciner_o2_nominal_pct,
            "co_ppm": ones * p.co_floor_ppm,
            "nox_mg_nm3": ones * p.nox_ref_mg_nm3,
        }
    return {
        "kiln_gas_c": flows.kiln_gas_c,
        "kiln_o2_pct": flows.kiln.o2_pct,
        "calciner_o2_pct": flows.calciner.o2_pct,
        "co_ppm": flows.kiln.co_ppm,
        "nox_mg_nm3": flows.nox_mg_nm3,
    }


@kernel
def obs_row_1(
    st: FloatArray,
    plan: FloatArray,
    base: int,
    leads: NDArray[np.int64],
    progress: float,
    prices: FloatArray,
    out: NDArray[np.float32],
) -> None:
    """One member's observation (see the env card) into ``out``, clipped to [-1, 10].

    ``st``: the member's packed scalars (:data:`~.state.S_LEN`); ``plan[base + k]`` the feed
    planned ``k`` steps ahead; ``prices``: calciner fuel and AF price / 1000, carbon / 100.
    """
    out[0] = _shown(st[S_BZ] / 1000.0)
    out[1] = _shown(st[S_TC] / 1000.0)
    out[2] = _shown(st[S_READ] / 1000.0)  # kiln exit gas
    out[3] = _shown(st[S_READ + 1] / 10.0)  # kiln-inlet O2
    out[4] = _shown(st[S_READ + 2] / 10.0)  # calciner O2
    out[5] = _shown(st[S_READ + 3] / 1000.0)  # CO
    out[6] = _shown(st[S_READ + 4] / 1000.0)  # NOx
    out[7] = _shown(st[S_LAB_LAST] / 2.0)
    out[8] = _shown(st[S_LAB_AGE] / 120.0)
    out[9] = _shown(plan[base] * st[S_FEED_ON])  # 0 while the interlock cuts it
    for k in range(len(leads)):
        out[10 + k] = _shown(plan[base + leads[k]])
    j = 10 + len(leads)
    out[j] = _shown(st[S_ACTION] / 100.0)
    out[j + 1] = _shown(st[S_ACTION + 1] / 100.0)
    out[j + 2] = _shown(st[S_ACTION + 2])
    out[j + 3] = _shown(st[S_ACTION + 3])
    for k in range(3):
        out[j + 4 + k] = _shown(prices[k])
    out[j + 7] = _shown(progress)


@kernel
def _shown(x: float) -> np.float32:
    """An observation entry: clipped to the observation space's [-1, 10], as float32."""
    return np.float32(min(max(x, -1.0), 10.0))


@kernel
def observe_batch(
    st: FloatArray,
    plan: FloatArray,
    window_start: NDArray[np.int64],
    step_index: NDArray[np.int64],
    last_row: int,
    episode_steps: int,
    leads: NDArray[np.int64],
    prices: FloatArray,
    out: NDArray[np.float32],
) -> None:
    """The batch's observations into ``out`` ``(B, OBS_DIM)``.

    ``plan``: the production plan of the year, padded past its end; a member reads it from
    its coming step (at most ``last_row``).
    """
    for i in range(st.shape[0]):
        base = min(window_start[i] + step_index[i], last_row)
        obs_row_1(st[i], plan, base, leads, step_index[i] / episode_steps, prices, out[i])


@kernel
def _observe_rows(
    st: FloatArray,
    plan: FloatArray,
    leads: NDArray[np.int64],
    progress: FloatArray,
    prices: FloatArray,
    out: NDArray[np.float32],
) -> None:
    h = plan.shape[1]
    flat = plan.reshape(-1)
    for i in range(st.shape[0]):
        obs_row_1(st[i], flat, i * h, leads, progress[i], prices, out[i])


def observation_prices(p: CementKilnParams, carbon_price_cny_per_t: float) -> FloatArray:
    """(calciner fuel price / 1000, AF price / 1000, carbon price / 100) the observation shows."""
    prices = dict(p.fuel_price_cny_per_t)
    return np.array(
        [
            prices[p.calciner_fuel] / 1000.0,
            prices[p.alternative_fuel] / 1000.0,
            carbon_price_cny_per_t / 100.0,
        ]
    )


def kiln_observation(
    state: KilnState,
    readings: dict[str, FloatArray],
    feed_plan: FloatArray,
    leads: NDArray[np.int64],
    progress: FloatArray,
    p: CementKilnParams,
    carbon_price_cny_per_t: float,
) -> NDArray[np.float32]:
    """Observations over a batch, shape ``(n, OBS_DIM)`` float32 (see the env card).

    Args:
        state: the plant at the coming step.
        readings: :func:`kiln_readings`.
        feed_plan: ``(n, horizon + 1)`` planned feed, lead 0 = the coming step.
        leads: plan leads shown (indices into ``feed_plan``).
        progress: share of the episode done, shape ``(n,)``.
        p: parameters.
        carbon_price_cny_per_t: the carbon price.
    """
    st, _, _ = pack_state(state)
    for k, name in enumerate(READING_KEYS):
        st[:, S_READ + k] = readings[name]
    out = np.empty((len(st), OBS_DIM), dtype=np.float32)
    plan = np.ascontiguousarray(feed_plan, dtype=np.float64)
    _observe_rows(
        st,
        plan,
        np.asarray(leads, dtype=np.int64),
        np.ascontiguousarray(progress, dtype=np.float64),
        observation_prices(p, carbon_price_cny_per_t),
        out,
    )
    return out
