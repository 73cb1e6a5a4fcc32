"""The hot-stove simulator (:class:`HotStoveVectorEnv`) and its single env (:class:`HotStoveEnv`).

The simulator steps any number of stove systems over a leading batch axis: physics
(:mod:`.physics`), accounts (:mod:`.scoring`) and observation (:mod:`.observation`) are
written once, as compiled kernels over the batch, and one kernel call per hook does a
step's work for every member (:func:`_step_env`: physics, accounts, furnace floor,
inventory, violations); the step loop is the shared one of
:class:`~ecocontrol.envs.vector.BatchedEcoEnv`. The single env is a batch of one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from numpy.typing import NDArray

from ecocontrol.emissions import DEFAULT_CARBON_PRICE_CNY_PER_T, require_finite_range

from ..base import EcoEnv
from ..jit import kernel
from ..scenario import (
    ActionScaler,
    BatchForecastNoise,
    FloatArray,
    ForecastErrorModel,
    IntArray,
    ScenarioWindows,
    noisy_series,
)
from ..vector import BatchedEcoEnv
from .observation import (
    OBS_HIGH,
    OBS_LEADS_MIN,
    OBS_LOW,
    observation_constants,
    observe_member,
)
from .params import HOT_STOVE_DRIFTS, HotStoveParams
from .physics import (
    F_BLOWOFF,
    F_RELEASED,
    F_SHARE,
    FLOW_ROW_FIELDS,
    FLOW_STOVE_FIELDS,
    R_FIRING_CUT,
    R_HOT_BLAST,
    R_REFUSED,
    R_SHARE_CUT,
    R_SHORTFALL,
    R_WASTE_EXCESS,
    StoveFlows,
    StoveState,
    checker_heat,
    furnace_floor,
    physics_constants,
    physics_tables,
    step_member,
    step_workspace,
)
from .scenario import cached_demand, initial_state, start_state
from .scoring import (
    C_INVENTORY,
    COST_ROWS,
    E_INVENTORY,
    EMISSION_ROWS,
    account_constants,
    accounts_member,
    inventory_member,
)

#: ``info["state"]`` entries per stove from the state, after ``mode``, in this order.
_STATE_ARRAYS: tuple[str, ...] = (
    "time_in_mode_min",
    "top_c",
    "bottom_c",
    "waste_gas_c",
    "outlet_c",
    "stored_mj",
)
#: ``info["state"]`` entries taken per stove from the last step's flows (arrays).
_FLOW_ARRAYS: tuple[str, ...] = FLOW_STOVE_FIELDS
#: ``info["state"]`` scalars after a step, in this order.
_STEP_SCALARS: tuple[str, ...] = ("hot_blast_c", "shortfall_k", "setpoint_c", "flow_nm3_min")

# Rows of the members' own scalars (``HotStoveVectorEnv._members``).
_M_STORED0, _M_BELOW, _M_LAST_HOT_BLAST, _M_SETPOINT, _M_FLOW = range(5)
# Rows of a step's output matrix: emissions, costs, then the plant's violations.
_N_ACCOUNTS = len(EMISSION_ROWS) + len(COST_ROWS)


@kernel
def _step_env(
    act: FloatArray,
    flow_year: FloatArray,
    setpoint_year: FloatArray,
    window_start: IntArray,
    step_index: IntArray,
    episode_steps: int,
    dt_min: float,
    temp: FloatArray,
    mode: NDArray[np.int64],
    tim: FloatArray,
    waste: FloatArray,
    outlet: FloatArray,
    fraction: FloatArray,
    members: FloatArray,
    upset: NDArray[np.bool_],
    stepped: NDArray[np.bool_],
    c: FloatArray,
    tab: FloatArray,
    flame: FloatArray,
    a: FloatArray,
    fs: FloatArray,
    fr: FloatArray,
    out: FloatArray,
) -> None:
    """One step of every member: physics, accounts, furnace floor, inventory, violations.

    The state arrays, ``members`` (rows ``_M_*``), ``upset``, ``stepped`` (set), the flows
    ``fs``/``fr`` are updated in place; ``out`` gets the emissions and costs (:data:`EMISSION_ROWS`,
    :data:`COST_ROWS`) and the violations (:attr:`HotStoveVectorEnv.violation_names`).
    """
    work, rows, iwork = step_workspace(temp.shape[1], temp.shape[2])
    n_steps = flow_year.shape[0]
    for i in range(temp.shape[0]):
        t = (window_start[i] + step_index[i]) % n_steps
        flow, setpoint = flow_year[t], setpoint_year[t]
        members[_M_SETPOINT, i], members[_M_FLOW, i] = setpoint, flow
        step_member(
            i,
            act,
            flow,
            setpoint,
            dt_min,
            temp,
            mode,
            tim,
            waste,
            outlet,
            fraction,
            c,
            tab,
            flame,
            fs,
            fr,
            work,
            rows,
            iwork,
        )
        hot_blast = fr[R_HOT_BLAST, i]
        members[_M_LAST_HOT_BLAST, i] = hot_blast
        below, failed = furnace_floor(hot_blast, members[_M_BELOW, i], dt_min, c)
        members[_M_BELOW, i] = below
        upset[i] = failed
        shortfall, refused, excess = fr[R_SHORTFALL, i], fr[R_REFUSED, i], fr[R_WASTE_EXCESS, i]
        accounts_member(
            i,
            fs[F_RELEASED],
            fs[F_SHARE],
            fs[F_BLOWOFF],
            shortfall,
            refused,
            excess,
            flow,
            failed,
            dt_min,
            a,
            out,
        )
        cny = co2 = 0.0
        if step_index[i] + 1 >= episode_steps or failed:  # booked at an episode's last step
            stored = checker_heat(temp[i], c, rows[0])
            cny, co2 = inventory_member(members[_M_STORED0, i], stored, a)
        out[C_INVENTORY, i], out[E_INVENTORY, i] = cny, co2
        v = _N_ACCOUNTS
        out[v, i] = shortfall * dt_min
        out[v + 1, i] = refused
        out[v + 2, i] = excess * dt_min
        out[v + 3, i] = fr[R_FIRING_CUT, i]
        out[v + 4, i] = fr[R_SHARE_CUT, i]
        out[v + 5, i] = 1.0 if failed else 0.0
        stepped[i] = True


@kernel
def forecast_member(
    i: int,
    window_start: IntArray,
    step_index: IntArray,
    flow_year: FloatArray,
    setpoint_year: FloatArray,
    z: FloatArray,
    row: IntArray,
    scale: FloatArray,
    bias: FloatArray,
    flow: FloatArray,
    setpoint: FloatArray,
) -> None:
    """Member ``i``'s demand forecast over leads ``0 .. len(flow) - 1`` into ``flow``, ``setpoint``.

    The true series of the coming steps (wrapping around the year); the flow at leads >= 1
    carries the forecast error of the member's episode step
    (:func:`~ecocontrol.envs.scenario.noisy_series` on the variates ``z[i, row[i], 0]`` of
    the env's :class:`~ecocontrol.envs.scenario.BatchForecastNoise`, if it has a noisy
    model: ``scale`` not empty). The set point is exact.
    """
    n_steps = flow_year.shape[0]
    t = (window_start[i] + step_index[i]) % n_steps
    for j in range(flow.shape[0]):
        y = t + j
        if y >= n_steps:
            y -= n_steps
        setpoint[j] = setpoint_year[y]
        flow[j] = flow_year[y]
    if scale.shape[0] > 0:
        noisy_series(flow, z[i, row[i], 0], scale[0], bias[0], flow)


@kernel
def _observe_env(
    temp: FloatArray,
    mode: NDArray[np.int64],
    tim: FloatArray,
    fraction: FloatArray,
    last_hot_blast_c: FloatArray,
    step_index: IntArray,
    episode_steps: int,
    window_start: IntArray,
    forecast_step: IntArray,
    flow_year: FloatArray,
    setpoint_year: FloatArray,
    z: FloatArray,
    row: IntArray,
    scale: FloatArray,
    bias: FloatArray,
    leads: NDArray[np.int64],
    consts: FloatArray,
    obs: NDArray[np.float32],
) -> None:
    """Every member's observation, its forecast computed up to the last lead shown.

    The forecast is for episode step ``forecast_step`` (:func:`forecast_member`), the share
    of the episode elapsed ``step_index / episode_steps``.
    """
    fc = np.empty((2, leads.max() + 1))
    for i in range(temp.shape[0]):
        forecast_member(
            i,
            window_start,
            forecast_step,
            flow_year,
            setpoint_year,
            z,
            row,
            scale,
            bias,
            fc[0],
            fc[1],
        )
        observe_member(
            i,
            temp,
            mode,
            tim,
            fraction,
            fc[0],
            fc[1],
            last_hot_blast_c,
            step_index[i] / episode_steps,
            leads,
            consts,
            obs,
        )


@kernel
def _member_rows(
    i: int,
    temp: FloatArray,
    tim: FloatArray,
    waste: FloatArray,
    outlet: FloatArray,
    fraction: FloatArray,
    members: FloatArray,
    fs: FloatArray,
    fr: FloatArray,
    c: FloatArray,
    window_start: IntArray,
    step_index: IntArray,
    flow_year: FloatArray,
    setpoint_year: FloatArray,
    z: FloatArray,
    row: IntArray,
    scale: FloatArray,
    bias: FloatArray,
    out: FloatArray,
) -> None:
    """Member ``i``'s ``info`` values, one after the other into ``out``.

    The arrays per stove (``_STATE_ARRAYS``, then the flows ``_FLOW_ARRAYS``), the scalars
    (stove fraction, stored heat at the start, minutes below the floor, then
    :data:`_STEP_SCALARS`), the forecast of the flow and of the set point.
    """
    n, nc = temp.shape[1], temp.shape[2]
    rows = out[: (len(_STATE_ARRAYS) + fs.shape[0]) * n].reshape((-1, n))
    above = np.empty(nc)
    for s in range(n):
        rows[0, s] = tim[i, s]
        rows[1, s] = temp[i, s, 0]
        rows[2, s] = temp[i, s, nc - 1]
        rows[3, s] = waste[i, s]
        rows[4, s] = outlet[i, s]
        rows[5, s] = checker_heat(temp[i, s : s + 1], c, above)
        for f in range(fs.shape[0]):
            rows[6 + f, s] = fs[f, i, s]
    k = rows.size
    out[k] = fraction[i]
    out[k + 1] = members[_M_STORED0, i]
    out[k + 2] = members[_M_BELOW, i]
    out[k + 3] = fr[R_HOT_BLAST, i]
    out[k + 4] = fr[R_SHORTFALL, i]
    out[k + 5] = members[_M_SETPOINT, i]
    out[k + 6] = members[_M_FLOW, i]
    k += 7
    h = (out.shape[0] - k) // 2
    flow, setpoint = out[k : k + h], out[k + h :]
    forecast_member(
        i, window_start, step_index, flow_year, setpoint_year, z, row, scale, bias, flow, setpoint
    )


class HotStoveVectorEnv(BatchedEcoEnv):
    """``num_envs`` stove systems stepped together by the compiled :func:`.physics.step_member`.

    The one stepping implementation of the hot stoves (the env card is
    :class:`HotStoveEnv`'s). ``gymnasium.make_vec("ecocontrol/HotStove-v1", num_envs=n,
    vectorization_mode="vector_entry_point", **kwargs)``; ``kwargs`` as for
    :class:`HotStoveEnv`, plus ``autoreset_mode``. Member ``i`` reproduces a single env seeded
    with ``seed + i`` under the same actions (tested); ``info`` carries per-member arrays of
    the ledger's costs and emissions and the violations.

    Attributes:
        state: the batch's :class:`~.physics.StoveState`, arrays ``(num_envs, stove[, cell])``,
            stepped in place.
        stored0_mj: each member's checker heat at its episode's start [MJ].
        below_floor_min: minutes each member's hot blast has been below ``min_hot_blast_c``.
        last_hot_blast_c: each member's last hot-blast temperature [degC].
        flows: the last step's :class:`~.physics.StoveFlows` (``None`` before the first;
            views of buffers that the next step overwrites).
    """

    plant_name: ClassVar[str] = "hot_stove"
    emission_sources: ClassVar[tuple[str, ...]] = EMISSION_ROWS
    violation_names: ClassVar[tuple[str, ...]] = (
        "blast_shortfall_k_min",
        "refused_requests",
        "waste_gas_excess_k_min",
        "firing_cut_mw",
        "enrichment_cut",
        "furnace_upset",
    )
    settings: ClassVar[tuple[str, ...]] = ("dt_min", "forecast_steps", "forecast_error")
    drifts = HOT_STOVE_DRIFTS

    def __init__(
        self,
        num_envs: int = 1,
        *,
        autoreset_mode: str | AutoresetMode = "NextStep",
        split: str = "train",
        params: HotStoveParams | None = None,
        dt_min: float = 1.0,
        episode_h: float = 8.0,
        forecast_horizon_min: float = 180.0,
        forecast_error: ForecastErrorModel | None = None,
        demand_seed: int = 2024,
        carbon_price_cny_per_t: float = DEFAULT_CARBON_PRICE_CNY_PER_T,
        reward_scale_cny: float = 1.0e3,
        split_seed: int = 0,
        drift: float | Mapping[str, float] = 0.0,
        drift_randomise: bool = False,
    ) -> None:
        super().__init__(
            num_envs,
            autoreset_mode=autoreset_mode,
            split=split,
            carbon_price_cny_per_t=carbon_price_cny_per_t,
            reward_scale_cny=reward_scale_cny,
            cost_terms=("fuel", "energy", "penalty", "inventory"),
        )
        self.params: HotStoveParams = self._drifted(
            self._params_or_default(params, HotStoveParams), drift, drift_randomise
        )
        p = self.params
        self._check_timing(p, dt_min, episode_h, forecast_horizon_min)
        self.dt_min = float(dt_min)
        self.forecast_error = (
            forecast_error if forecast_error is not None else ForecastErrorModel(0.02)
        )
        if not isinstance(self.forecast_error, ForecastErrorModel):
            raise ValueError(f"forecast_error={forecast_error!r}; allowed: a ForecastErrorModel")
        self.demand = cached_demand(p, self.dt_min, int(demand_seed))
        self.windows = ScenarioWindows(
            self.demand.n_steps, round(episode_h * 60.0 / dt_min), split_seed=split_seed
        )
        self.forecast_steps = round(forecast_horizon_min / dt_min)
        h = self.forecast_steps
        n = p.n_stoves
        self.scaler = ActionScaler(
            [-1.0] * n + [0.0] * n + [0.0] * n,
            [1.0] * n + [p.firing_max_mw] * n + [p.share_max] * n,
            tuple(f"{k}_{i}" for k in ("switch", "firing", "share") for i in range(n)),
        )
        self.single_observation_space = gym.spaces.Box(OBS_LOW, OBS_HIGH, (8 * n + 20,), np.float32)
        self._setup_batch()
        self._obs_leads = np.minimum(np.array([round(m / dt_min) for m in OBS_LEADS_MIN]), h)
        self._obs_leads = np.ascontiguousarray(self._obs_leads, dtype=np.int64)
        self.state = initial_state(p, num_envs)
        # The members' own scalars, one row each (the attributes below are views of it).
        self._members = np.zeros((5, num_envs))
        self.stored0_mj = self._members[_M_STORED0]
        self.below_floor_min = self._members[_M_BELOW]
        self.last_hot_blast_c = self._members[_M_LAST_HOT_BLAST]
        self.last_hot_blast_c[:] = p.hot_blast_setpoint_c
        self._upset = np.zeros(num_envs, dtype=bool)
        # The last step's flows: kernel buffers, and StoveFlows views of them.
        self._flows_stove = np.zeros((len(FLOW_STOVE_FIELDS), num_envs, n))
        self._flows_row = np.zeros((len(FLOW_ROW_FIELDS), num_envs))
        self._flows = StoveFlows.of_buffers(self._flows_stove, self._flows_row)
        self.flows: StoveFlows | None = None
        self._stepped = np.zeros(num_envs, dtype=bool)  # flows in info (not just reset)
        self._fc_step = np.zeros(num_envs, dtype=np.int64)  # episode step of the forecasts
        self._noise = BatchForecastNoise(
            (self.forecast_error,), self.episode_steps, h, self.dt_min / 60.0, num_envs
        )
        self._flow_year = np.ascontiguousarray(self.demand.flow_nm3_min, dtype=np.float64)
        self._setpoint_year = np.ascontiguousarray(self.demand.setpoint_c, dtype=np.float64)
        self._info_rows = (len(_STATE_ARRAYS) + len(_FLOW_ARRAYS)) * n
        self._info_size = self._info_rows + 3 + len(_STEP_SCALARS) + 2 * (h + 1)
        self._consts = physics_constants(p)
        self._tables = physics_tables(p)
        self._accounts = account_constants(p)
        self._obs_carbon = np.nan  # the carbon price _obs_consts holds
        self._obs_consts = np.zeros(4)

    @staticmethod
    def _check_timing(
        p: HotStoveParams, dt_min: float, episode_h: float, forecast_horizon_min: float
    ) -> None:
        require_finite_range("dt_min", dt_min, 0.5, 10.0)
        for name, value in (
            ("changeover_min", p.changeover_min),
            ("min_blast_min", p.min_blast_min),
            ("min_gas_min", p.min_gas_min),
        ):
            k = value / dt_min
            if abs(k - round(k)) > 1e-9:
                raise ValueError(
                    f"dt_min={dt_min} does not divide HotStoveParams.{name}={value}; allowed: "
                    "a step that divides the changeover and dwell times"
                )
        if abs(60.0 / dt_min - round(60.0 / dt_min)) > 1e-9:
            raise ValueError(f"dt_min={dt_min}; allowed: a divisor of 60 minutes")
        require_finite_range("episode_h", episode_h, dt_min / 60.0, 24.0 * 14)
        require_finite_range("forecast_horizon_min", forecast_horizon_min, 60.0, 24.0 * 60)

    # -- hooks of the shared step loop ------------------------------------------------------
    def _reset_members(self, idx: IntArray) -> None:
        p = self.params
        for i in idx:
            rng = self.rngs[i]
            assert rng is not None
            start = start_state(p, self.dt_min, rng)
            for f in StoveState.__dataclass_fields__:
                getattr(self.state, f)[i] = getattr(start, f)[0]
            self.stored0_mj[i] = float(start.stored_mj(p).sum())
            self._noise.start(int(i), rng, bool(self.reseeded[i]))
        self.last_hot_blast_c[idx] = p.hot_blast_setpoint_c
        self.below_floor_min[idx] = 0.0
        self._upset[idx] = False
        self._stepped[idx] = False

    def _prepare(self, idx: IntArray) -> None:
        # The forecasts are computed where they are read (observation, info), for the step
        # each member was last prepared for (an ended member keeps its last forecast).
        if len(idx) == self.num_envs:
            self._fc_step[:] = self.step_index
        else:
            self._fc_step[idx] = self.step_index[idx]
        self._noise.prepare(idx, self.step_index, self.rngs)

    def _step_members(self, physical: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        s = self.state
        # fresh each step: its rows are returned and the env does not write them again
        out = np.empty((_N_ACCOUNTS + len(self.violation_names), self.num_envs))
        props, flame = self._tables
        _step_env(
            physical,
            self._flow_year,
            self._setpoint_year,
            self.window_start,
            self.step_index,
            self.windows.episode_steps,
            self.dt_min,
            s.temp_c,
            s.mode,
            s.time_in_mode_min,
            s.waste_gas_c,
            s.outlet_c,
            s.stove_fraction,
            self._members,
            self._upset,
            self._stepped,
            self._consts,
            props,
            flame,
            self._accounts,
            self._flows_stove,
            self._flows_row,
            out,
        )
        self.flows = self._flows
        e = len(EMISSION_ROWS)
        return out[:e], out[e:_N_ACCOUNTS], out[_N_ACCOUNTS:]

    def _terminated(self) -> NDArray[np.bool_]:
        return self._upset

    def _observe_batch(self) -> NDArray[np.float32]:
        carbon = self.carbon_price_cny_per_t
        if carbon != self._obs_carbon:
            self._obs_consts = observation_constants(self.params, carbon)
            self._obs_carbon = carbon
        s, noise = self.state, self._noise
        obs = np.empty((self.num_envs, self.single_observation_space.shape[0]), np.float32)
        _observe_env(
            s.temp_c,
            s.mode,
            s.time_in_mode_min,
            s.stove_fraction,
            self.last_hot_blast_c,
            self.step_index,
            self.windows.episode_steps,
            self.window_start,
            self._fc_step,
            self._flow_year,
            self._setpoint_year,
            noise.z,
            noise.row,
            noise.scale,
            noise.bias,
            self._obs_leads,
            self._obs_consts,
            obs,
        )
        return obs

    def _member_info(self, i: int) -> dict[str, Any]:
        """Member ``i``'s measured state, last step's flows and demand forecast.

        ``state``: modes, clocks, top/bottom checker, waste-gas and outlet temperatures, stored
        heat (now and at the episode's start), the valve and the minutes the hot blast has
        been below ``min_hot_blast_c``; after a step also the step's
        flows per stove, the hot blast and shortfall, and the step's set point and blast flow.
        ``forecast``: ``flow_nm3_min`` (with forecast error) and ``setpoint_c`` over leads
        ``0 .. forecast_steps``, lead 0 = the coming step (exact).
        """
        s, noise = self.state, self._noise
        out = np.empty(self._info_size)
        _member_rows(
            i,
            s.temp_c,
            s.time_in_mode_min,
            s.waste_gas_c,
            s.outlet_c,
            s.stove_fraction,
            self._members,
            self._flows_stove,
            self._flows_row,
            self._consts,
            self.window_start,
            self._fc_step,
            self._flow_year,
            self._setpoint_year,
            noise.z,
            noise.row,
            noise.scale,
            noise.bias,
            out,
        )
        k, h = self._info_rows, self.forecast_steps + 1
        rows = iter(out[:k].reshape(-1, self.params.n_stoves))
        values = out[k : k + 7].tolist()
        state: dict[str, Any] = {"mode": s.mode[i].copy()}
        # rows: one iterator, the state's arrays then the flows'
        state.update(zip(_STATE_ARRAYS, rows, strict=False))
        state["stove_fraction"], state["stored0_mj"], state["below_floor_min"] = values[:3]
        if self._stepped[i] and self.flows is not None:
            state.update(zip(_FLOW_ARRAYS, rows, strict=False))
            state.update(zip(_STEP_SCALARS, values[3:], strict=True))
        k += 7
        return {
            "state": state,
            "forecast": {"flow_nm3_min": out[k : k + h], "setpoint_c": out[k + h :]},
        }

    # -- privileged reads ---------------------------------------------------------------------
    def true_window(self, start_step: int, n: int) -> dict[str, FloatArray]:
        """True demand over ``n`` steps from ``start_step`` (privileged: oracle, perfect MPC)."""
        return self.demand.window(start_step, n)

    def full_state(self, i: int) -> StoveState:
        """Member ``i``'s whole state (every checker cell), a batch of one (a copy).

        Privileged: for controllers that declare ``state_access="full"``.
        """
        s = self.state
        return StoveState(*(np.array(getattr(s, f)[i : i + 1]) for f in s.__dataclass_fields__))


class HotStoveEnv(EcoEnv):
    """Hot-stove scheduling of one blast furnace.

    Which stove changes over when, how hard each stove on gas fires, and how much coke-oven
    (or natural) gas enriches its fuel.

    ## Description
    ``n_stoves`` Cowper stoves (default 4) heat the blast of one furnace. Each checker is a 1-D
    regenerator of ``n_cells`` cells (transient solid, quasi-steady gas, flow reversing
    between periods), fired with blast-furnace gas enriched by a share of rich gas at a fixed
    air ratio; the dome temperature is the flame temperature from the flue-gas enthalpy (NIST
    Shomate data) after a chamber loss. Stoves are on gas, on blast, or changing over
    (``changeover_min`` each way, no flow). A stove leaving blast is blown off: the blast
    compressed in its gas volume is vented with the heat it took from the checker, and the
    blower re-supplies that volume at the re-pressurisation (its electricity is charged). A
    cold-blast mixing valve holds the hot blast at its set point while the on-blast stoves
    are hotter; when they are not, the shortfall costs coke (and its CO2) plus a penalty,
    and a hot blast below ``min_hot_blast_c`` for ``upset_after_min`` is a furnace upset that
    ends the episode. Demand (flow, set point) is SYNTHETIC (see
    :func:`.scenario.synthetic_blast_demand`). Episodes start from the usual practice's
    cyclic steady state at a random phase.

    ## Action Space
    ``Box(-1, 1, (3 * n_stoves,))``: ``[switch_0..n-1, firing_0..n-1, share_0..n-1]``.
    ``switch_i > 0`` requests a changeover of stove ``i`` (on gas -> on blast, or on blast ->
    on gas); ``firing_i`` maps to ``[0, firing_max_mw]`` of fuel heat and ``share_i`` to
    ``[0, share_max]`` of that heat from the rich gas, used while stove ``i`` is on gas.
    Safety layer: a changeover before the minimum dwell, or one that would leave no stove
    on blast, is refused and counted (``refused_requests``, penalised); enrichment beyond the
    dome limit is cut (``enrichment_cut``); a stove whose waste gas reached its limit cannot
    fire (``firing_cut_mw``). Finite actions outside [-1, 1] are clipped
    (``action_clipped``); NaN/inf raises ``ValueError``.

    ## Observation Space
    ``Box(float32)`` of ``8 * n_stoves + 20``: per stove the top, mean and bottom checker
    temperature / 1000 degC, its mode one-hot (on gas, on blast, to blast, to gas) and time in
    mode / 60 min; then blast flow / nominal, set point / 1000, last hot blast / 1000, the
    valve's stove share; the flow / nominal and set point / 1000 forecast at 10, 20, ... 60 min
    (flow with forecast error); lean and rich gas prices / 100 CNY/GJ (under the gas
    accounting), carbon price / 100, and the fraction of the episode elapsed.

    ## Rewards
    ``-(fuel + energy + penalty + inventory + carbon) / reward_scale_cny`` per step, CNY:
    ``fuel``, the gases at the accounting's prices; ``energy``, the blower electricity of
    blow-offs; ``penalty``, coke for a hot-blast shortfall + the shortfall, refused-request
    and waste-gas penalties + ``upset_cost_cny`` at a furnace upset; ``carbon``, the carbon
    price x the priced CO2 (fuel, grid, coke as ``process``, and ``inventory``). At the last
    step (or the upset) ``inventory`` values the change in checker heat against the start: the
    lean gas that would restore it, over ``deficit_efficiency`` for heat missing and
    ``surplus_efficiency`` for heat added, in money (cost term ``inventory``) and in CO2
    (emission source ``inventory``, priced by the ledger), so no controller gains, in cost or
    in reported CO2, by emptying the stoves (:mod:`.scoring`, which the MPC shares).

    Gas accounting (``params.gas_accounting``): ``gate`` (default) charges each gas its
    transfer price and its own combustion CO2 (BFG 260 t/TJ). ``site`` charges each
    by-product gas the value and emission of its marginal alternative use on the site: BFG
    the electricity its power plant would have made (``site_power_efficiency``; the site then
    buys it from the grid: price and grid CO2, booked as ``grid``), COG the natural gas it
    would have displaced in the mills. Under ``gate`` a high carbon price makes COG look
    cleaner than BFG; under ``site`` BFG is the cleaner gas (see the README's carbon-price
    sweep).

    ## Info
    Besides the step's ``costs``, ``emissions`` and ``constraint_violations`` (among them
    ``furnace_upset``): ``state``, the measured stoves (modes, clocks, top/bottom checker,
    waste-gas and outlet temperatures, stored heat now and at the start, the valve, minutes
    below the hot-blast floor; after a step also the step's flows per stove, among them the
    blow-off's vented blast and heat, hot blast, shortfall, set point and blast flow), and
    ``forecast``, the demand over the forecast horizon in physical units (lead 0 = the coming
    step, exact).

    ## Starting State
    A state of the usual practice's cyclic steady state at nominal demand (phase drawn by the
    seed).

    ## Episode End
    Truncation after ``episode_h`` hours; termination at a furnace upset (hot blast below
    ``min_hot_blast_c`` for ``upset_after_min``).

    ## Arguments
    ``split``, ``params`` (:class:`HotStoveParams`), ``dt_min`` (1), ``episode_h`` (8),
    ``forecast_horizon_min`` (180), ``forecast_error`` (flow, :class:`ForecastErrorModel`,
    default 2 %/sqrt(h)), ``demand_seed`` (2024), ``carbon_price_cny_per_t`` (80),
    ``reward_scale_cny`` (1e3), ``split_seed`` (0).

    ## Parameters and sources
    See :class:`HotStoveParams`; every default carries its source in its docstring.

    ## Drift (``drift``, ``drift_randomise``; :mod:`ecocontrol.envs.drift`)
    ``checker_fouling`` (checker heat transfer x0.85 on blast and x0.89 on gas: a fouling
    resistance of about 1 mm of dust) and ``refractory_ageing`` (shell loss x2); severity 1 is a
    stove late in its campaign (sources in REFERENCES.md, "Plant drift"). Controllers see the
    nominal parameters unless they declare ``model_access="true"``.

    ## Version History
    * v1, issue 22: the keys ``drift`` and ``drift_randomise`` (and, on the kiln, the field
      ``shell_loss_factor``, 1 by default). At their defaults the plant is bit-identical to v1
      before them (tested), so the version is unchanged.
    * v1: CO2 of the checker heat drawn (or added) over an episode booked with the inventory
      cost as the priced source ``inventory`` (v0 priced it in money only, so a policy that
      drained the stoves reported a quarter of the rule's CO2); ``gas_accounting`` (``gate``
      as v0, or ``site``); changeovers cost a blow-off (vented heat and blower electricity,
      cost term ``energy``); a furnace upset below the hot-blast floor ends the episode (v0
      ran on with a hot blast of a few hundred degC); the checker mass's derivation. Physics
      otherwise as v0.
    * v0: initial release.
    """

    simulator = HotStoveVectorEnv
