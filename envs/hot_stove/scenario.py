"""Hot-stove scenario: the year of blast demand and the states episodes start from."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from ..jit import kernel
from ..scenario import FloatArray
from .params import HotStoveParams
from .physics import BLAST, GAS, StoveState, hot_stove_step, staggered_cycle_command

MINUTES_PER_YEAR = 365 * 24 * 60


@dataclass(frozen=True)
class BlastDemand:
    """Hot-blast demand at the env step over a year: flow [Nm3/min] and set point [degC]."""

    dt_min: float
    flow_nm3_min: FloatArray
    setpoint_c: FloatArray

    @property
    def n_steps(self) -> int:
        """Steps in the year."""
        return len(self.flow_nm3_min)

    def window(self, start: int, n: int) -> dict[str, FloatArray]:
        """Series for steps ``start .. start+n-1`` (wrapping around the year)."""
        idx = (start + np.arange(n)) % self.n_steps
        return {"flow_nm3_min": self.flow_nm3_min[idx], "setpoint_c": self.setpoint_c[idx]}


def synthetic_blast_demand(p: HotStoveParams, dt_min: float, seed: int = 2024) -> BlastDemand:
    """SYNTHETIC hot-blast demand of one year, reproducible from ``seed``.

    * Flow: nominal x (1 + AR(1) fluctuation, 30-min correlation time, 1.5 % std), with blast
      reductions (casthouse or tuyere work, burden problems) arriving as a Poisson process,
      one per 48 h on average, lasting 30-120 min at 60-85 % of nominal.
    * Set point: the furnace operator moves it for the furnace's thermal state; segments of
      1-12 h (exponential, mean 6 h) at nominal + one of -30, -20, -10, 0, 0, +10, +20 K.
    """
    rng = np.random.default_rng(seed)
    n = MINUTES_PER_YEAR
    phi = math.exp(-1.0 / 30.0)
    eps = rng.normal(0.0, 0.015 * math.sqrt(1.0 - phi**2), n)
    ar = _ar1(phi, eps)
    level = np.ones(n)
    t = 0.0
    while True:
        t += rng.exponential(48 * 60.0)
        if t >= n:
            break
        dur = rng.uniform(30.0, 120.0)
        level[int(t) : int(t + dur)] = rng.uniform(0.60, 0.85)
    flow = p.blast_flow_nm3_min * level * (1.0 + ar)
    setpoint = np.empty(n)
    t0 = 0
    offsets = np.array([-30.0, -20.0, -10.0, 0.0, 0.0, 10.0, 20.0])
    while t0 < n:
        dur = int(np.clip(rng.exponential(6 * 60.0), 60.0, 12 * 60.0))
        setpoint[t0 : t0 + dur] = p.hot_blast_setpoint_c + rng.choice(offsets)
        t0 += dur
    k = round(dt_min)
    m = n // k
    return BlastDemand(
        dt_min=float(dt_min),
        flow_nm3_min=flow[: m * k].reshape(m, k).mean(axis=1),
        setpoint_c=setpoint[: m * k].reshape(m, k).mean(axis=1),
    )


@kernel
def _ar1(phi: float, eps: FloatArray) -> FloatArray:
    """The AR(1) series ``x[i] = phi * x[i - 1] + eps[i]`` from ``x[-1] = 0``."""
    out = np.empty(eps.shape[0])
    acc = 0.0
    for i in range(eps.shape[0]):
        acc = phi * acc + eps[i]
        out[i] = acc
    return out


@functools.lru_cache(maxsize=8)
def cached_demand(p: HotStoveParams, dt_min: float, seed: int) -> BlastDemand:
    """:func:`synthetic_blast_demand`, built once per parameters, step and seed."""
    return synthetic_blast_demand(p, dt_min, seed)


def initial_state(p: HotStoveParams, batch: int = 1) -> StoveState:
    """A cold-ish start: linear checker profiles, stove 0 on blast, the others on gas."""
    n, c = p.n_stoves, p.n_cells
    profile = np.linspace(1250.0, 250.0, c)
    temp = np.broadcast_to(profile, (batch, n, c)).copy()
    mode = np.full((batch, n), GAS, dtype=np.int64)
    mode[:, 0] = BLAST
    tim = np.broadcast_to(np.arange(n, dtype=np.float64)[::-1] * 30.0, (batch, n)).copy()
    tim[:, 0] = 0.0
    return StoveState(temp, mode, tim, temp[..., -1].copy(), temp[..., 0].copy(), np.ones(batch))


@functools.lru_cache(maxsize=8)
def cyclic_states(p: HotStoveParams, dt_min: float, n_cycles: int = 8) -> tuple[StoveState, ...]:
    """States over one cycle of the usual practice at nominal demand, after ``n_cycles``.

    The env starts episodes from one of these (a plant in cyclic steady operation).
    """
    cycle = round(p.n_stoves * 60.0 / dt_min)
    state = initial_state(p)
    exo = {
        "flow_nm3_min": np.array([p.blast_flow_nm3_min]),
        "setpoint_c": np.array([p.hot_blast_setpoint_c]),
    }
    out: list[StoveState] = []
    for i in range(cycle * n_cycles):
        req, fire, share = staggered_cycle_command(
            state.mode, state.time_in_mode_min, state.waste_gas_c, p
        )
        state, _ = hot_stove_step(state, req, fire, share, exo, p, dt_min)
        if i >= cycle * (n_cycles - 1):
            out.append(state.copy())
    return tuple(out)


def start_state(p: HotStoveParams, dt_min: float, rng: np.random.Generator) -> StoveState:
    """An episode's starting state: one of :func:`cyclic_states`, drawn with ``rng`` (a copy)."""
    states = cyclic_states(p, dt_min)
    return states[int(rng.integers(len(states)))].copy()
