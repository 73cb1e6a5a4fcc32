"""What the operator sees: the instruments, the lab's free lime and the observation vector.

* **Instruments**: burning-zone, calciner-outlet and kiln exit gas temperatures, kiln-inlet and
  calciner-exit O2, kiln-inlet CO and stack NOx, read every step.
* **Lab**: a spot sample of the clinker every ``lab_interval_min``; its free lime (with the
  lab's error) is published ``lab_delay_min`` later.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ..scenario import FloatArray
from .combustion import kiln_gas_temp
from .params import CementKilnParams
from .state import KilnFlows, KilnState


def lab_slots(p: CementKilnParams) -> int:
    """Lab samples that can be pending at once."""
    return int(p.lab_delay_min // p.lab_interval_min) + 2


def lab_update(
    state: KilnState,
    free_lime: FloatArray,
    noise: FloatArray,
    sample: bool | NDArray[np.bool_],
    p: CementKilnParams,
    dt_min: float,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """The lab over one step: (pending results, minutes left, last result, its age).

    A spot sample is taken where ``sample`` (one flag, or one per row) and its result
    (``free_lime`` plus the lab error ``noise``) is published ``lab_delay_min`` later. Samples
    wait in slots (several are pending when the delay exceeds the interval).
    """
    pending, left = state.lab_pending_pct.copy(), state.lab_pending_left_min - dt_min
    last, age = state.lab_last_pct.copy(), state.lab_age_min + dt_min
    taken = np.broadcast_to(np.asarray(sample, dtype=bool), left.shape[:1])
    if taken.any():
        rows = np.flatnonzero(taken)
        slot = np.argmax(np.isinf(left[rows]), axis=1)  # a free slot (there are enough)
        pending[rows, slot] = np.maximum(free_lime + noise, 0.0)[rows]
        left[rows, slot] = p.lab_delay_min
    arrived = left <= 1e-9
    got = arrived.any(axis=1)
    newest = np.argmax(np.where(arrived, left, -np.inf), axis=1)
    last = np.where(got, pending[np.arange(len(newest)), newest], last)
    age = np.where(got, 0.0, age)
    left = np.where(arrived, np.inf, left)
    return pending, left, last, age


OBS_DIM = 22
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
    prices = dict(p.fuel_price_cny_per_t)
    a = state.last_action
    b = len(a)
    const = np.array(
        [
            prices[p.calciner_fuel] / 1000.0,
            prices[p.alternative_fuel] / 1000.0,
            carbon_price_cny_per_t / 100.0,
        ]
    )
    obs = np.concatenate(
        [
            np.stack(
                [
                    state.bz_c / 1000.0,
                    state.calciner_c / 1000.0,
                    readings["kiln_gas_c"] / 1000.0,
                    readings["kiln_o2_pct"] / 10.0,
                    readings["calciner_o2_pct"] / 10.0,
                    readings["co_ppm"] / 1000.0,
                    readings["nox_mg_nm3"] / 1000.0,
                    state.lab_last_pct / 2.0,
                    state.lab_age_min / 120.0,
                    feed_plan[:, 0] * state.feed_on,  # 0 while the interlock cuts it
                ],
                axis=1,
            ),
            feed_plan[:, leads],
            a[:, :2] / 100.0,
            a[:, 2:4],
            np.broadcast_to(const, (b, 3)),
            progress[:, None],
        ],
        axis=1,
    )
    return np.clip(obs, -1.0, 10.0).astype(np.float32)
