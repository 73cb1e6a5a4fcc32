"""The kiln's simulator (a batch of kilns stepped together) and its single env (the env card)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import fields
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from numpy.typing import NDArray

from ecocontrol.emissions import DEFAULT_CARBON_PRICE_CNY_PER_T, require_finite_range

from ..base import EcoEnv
from ..scenario import ActionScaler, FloatArray, IntArray, ScenarioWindows, horizon_view
from ..thermo import kernel_tables
from ..vector import BatchedEcoEnv
from .observation import (
    OBS_DIM,
    OBS_LEADS_MIN,
    READING_KEYS,
    kiln_readings,
    observation_prices,
    observe_batch,
)
from .params import KILN_DRIFTS, CementKilnParams, fuel_slots, kiln_constants
from .physics import SERIES_KEYS, calciner_failure, kiln_design, step_members
from .scenario import KilnDisturbances, initial_state, synthetic_disturbances
from .state import (
    A_LEN,
    COST_KEYS,
    EMISSION_KEYS,
    F_LEN,
    INFO_KEYS,
    S_ACTION,
    S_READ,
    VIOLATION_KEYS,
    KilnFlows,
    KilnState,
    flows_from_matrix,
    pack_state,
    state_views,
)

_FEED_ON = INFO_KEYS.index("feed_on")


class CementKilnVectorEnv(BatchedEcoEnv):
    """``num_envs`` kilns stepped together by the compiled :func:`step_members`.

    :func:`step_members` is the plant's one step (:func:`kiln_step` runs it on a state at hand).

    The kiln's one simulator: :class:`CementKilnEnv` is a batch of one of it.
    ``gymnasium.make_vec("ecocontrol/CementKiln-v1", num_envs=n,
    vectorization_mode="vector_entry_point", **kwargs)``; ``kwargs`` as for
    :class:`CementKilnEnv` (see its env card), plus ``autoreset_mode``. Member ``i`` reproduces
    a single env seeded with ``seed + i`` under the same actions (tested); ``info`` carries
    per-member arrays of the ledger's costs and emissions and the violations.

    Attributes:
        params: the plant's parameters.
        dt_min: env step [min].
        disturbances: the year of exogenous series the windows are cut from.
        forecast_steps: steps of the published production plan (60 min).
        lab_interval_steps: steps between two lab samples.
        state: the batch's plant state (privileged; controllers read :meth:`full_state`):
            views into the packed arrays the compiled step advances in place (write into
            them, e.g. ``state.bz_c[:] = ...``; do not rebind them).
        flows: what happened during the last step (``None`` before the first; built on
            access).
    """

    plant_name: ClassVar[str] = "cement_kiln"
    violation_names: ClassVar[tuple[str, ...]] = VIOLATION_KEYS
    emission_sources: ClassVar[tuple[str, ...]] = EMISSION_KEYS
    settings: ClassVar[tuple[str, ...]] = ("dt_min", "forecast_steps", "lab_interval_steps")
    drifts = KILN_DRIFTS

    def __init__(
        self,
        num_envs: int = 1,
        *,
        autoreset_mode: str | AutoresetMode = "NextStep",
        split: str = "train",
        params: CementKilnParams | None = None,
        dt_min: float = 1.0,
        episode_h: float = 24.0,
        disturbance_seed: int = 2024,
        disturbances: KilnDisturbances | None = None,
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
            cost_terms=COST_KEYS,
        )
        self.params: CementKilnParams = self._drifted(
            self._params_or_default(params, CementKilnParams), drift, drift_randomise
        )
        p = self.params
        require_finite_range("dt_min", dt_min, 0.25, 10.0)
        if p.dead_time_min < dt_min:
            raise ValueError(
                f"dt_min={dt_min} exceeds CementKilnParams.dead_time_min={p.dead_time_min}; "
                "allowed: a step no longer than the dead time"
            )
        require_finite_range("episode_h", episode_h, dt_min / 60.0, 24.0 * 14)
        self.dt_min = float(dt_min)
        kiln_design(p)  # raises early if the nominal point cannot close
        if disturbances is None:
            disturbances = synthetic_disturbances(p, self.dt_min, int(disturbance_seed))
        if not isinstance(disturbances, KilnDisturbances):
            raise ValueError(f"disturbances={disturbances!r}; allowed: a KilnDisturbances")
        self.disturbances = disturbances
        self.series = disturbances.series
        self.n_steps = disturbances.n_steps
        self.windows = ScenarioWindows(
            self.n_steps, round(episode_h * 60.0 / dt_min), split_seed=split_seed
        )
        self.forecast_steps = round(max(OBS_LEADS_MIN) / dt_min)
        self.lab_interval_steps = max(1, round(p.lab_interval_min / dt_min))
        self.scaler = ActionScaler(
            [p.kiln_heat_range_mw[0], p.calciner_heat_range_mw[0], 0.0, p.fan_speed_range[0]],
            [
                p.kiln_heat_range_mw[1],
                p.calciner_heat_range_mw[1],
                p.af_share_max,
                p.fan_speed_range[1],
            ],
            ("kiln_heat_mw", "calciner_heat_mw", "af_share", "fan_speed"),
        )
        self.single_observation_space = gym.spaces.Box(-1.0, 10.0, (OBS_DIM,), np.float32)
        self._setup_batch()
        self._leads = np.array([round(m / dt_min) for m in OBS_LEADS_MIN], dtype=np.int64)
        one = initial_state(p, self.dt_min, 1.0, p.lsf_ref)
        batch = KilnState(
            **{f.name: np.repeat(getattr(one, f.name), num_envs, axis=0) for f in fields(one)}
        )
        # The packed state the compiled step advances in place; ``state`` is views into it.
        self._st, self._pipe, self._lab = pack_state(batch)
        self.state = state_views(self._st, self._pipe, self._lab)
        self._st[:, S_READ : S_READ + len(READING_KEYS)] = np.stack(
            [kiln_readings(batch, None, p)[k] for k in READING_KEYS], axis=1
        )
        self._flows = np.zeros((num_envs, F_LEN))  # the last step's flows
        self._stepped = np.zeros(num_envs, dtype=bool)  # a step since the member's reset
        self._any_stepped = False
        self._series = np.ascontiguousarray(
            np.stack([self.series[k] for k in SERIES_KEYS]), dtype=np.float64
        )
        self._constants = kiln_constants(p, kiln_design(p))
        self._tables = kernel_tables()
        self._lag = math.exp(-self.dt_min / p.free_lime_lag_min)
        self._no_sample = np.zeros(num_envs, dtype=bool)
        self._slots = fuel_slots(p)
        self._obs_prices = (math.nan, np.zeros(3))
        feed = self.series["feed"]
        h = self.forecast_steps + 1  # the plan repeats the last value past the year
        self._plan_flat = np.ascontiguousarray(np.concatenate([feed, np.full(h, feed[-1])]))
        self._plan = horizon_view(self._plan_flat, h)

    @property
    def readings(self) -> dict[str, FloatArray]:
        """The instruments the observation shows, per member (copies)."""
        r = self._st[:, S_READ : S_READ + len(READING_KEYS)]
        return {k: r[:, j].copy() for j, k in enumerate(READING_KEYS)}

    @property
    def flows(self) -> KilnFlows | None:
        """What happened during the last step (``None`` before the first); a copy."""
        if not self._any_stepped:
            return None
        return flows_from_matrix(self._flows.copy(), self._slots)

    @property
    def _feed(self) -> FloatArray:
        """The last step's feed (raw meal / nominal) of each member."""
        return self._flows[:, INFO_KEYS.index("feed")].copy()

    # -- privileged ----------------------------------------------------------------------------
    def true_window(self, start_step: int, n: int) -> dict[str, FloatArray]:
        """True disturbances (privileged: for the oracle and perfect-forecast MPC)."""
        return self.disturbances.window(start_step, n)

    def full_state(self, i: int) -> KilnState:
        """A copy of member ``i``'s plant state, as a batch of one (privileged)."""
        s = self.state
        return KilnState(**{f.name: getattr(s, f.name)[i : i + 1].copy() for f in fields(s)})

    # -- the simulator's hooks -------------------------------------------------------------------
    def _reset_members(self, idx: IntArray) -> None:
        t = np.minimum(self.t[idx], self.n_steps - 1)
        for i, ti in zip(idx, t, strict=True):
            start = initial_state(
                self.params,
                self.dt_min,
                float(self.series["feed"][ti]),
                float(self.series["lsf"][ti]),
            )
            for f in fields(start):
                getattr(self.state, f.name)[i] = getattr(start, f.name)[0]
        nominal = kiln_readings(self.state, None, self.params)
        for j, k in enumerate(READING_KEYS):
            self._st[idx, S_READ + j] = nominal[k][idx]
        self._stepped[idx] = False

    def _prepare(self, idx: IntArray) -> None:
        """Nothing: the feed plan is read at observation time."""

    def _step_members(self, physical: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        acc = np.empty((A_LEN, self.num_envs))
        bad = step_members(
            self._st,
            self._pipe,
            self._lab,
            physical,
            self._series,
            self.window_start,
            self.step_index,
            self.n_steps,
            self.lab_interval_steps,
            self._no_sample,
            self._constants,
            self._tables,
            self.dt_min,
            self._lag,
            self._flows,
            acc,
        )
        if bad >= 0:
            raise calciner_failure(self._flows, bad)
        self._stepped[:] = True
        self._any_stepped = True
        # rows: EMISSION_KEYS (= emission_sources), COST_KEYS (= the ledger's cost_terms),
        # VIOLATION_KEYS (= violation_names)
        return acc[0:4], acc[4:7], acc[7:A_LEN]

    def _feed_plan(self) -> FloatArray:
        """Each member's production plan from its coming step, 60 min ahead, ``(n, h + 1)``."""
        return self._plan[np.minimum(self.t, self.n_steps)]

    def _observe_batch(self) -> NDArray[np.float32]:
        out = np.empty((self.num_envs, OBS_DIM), dtype=np.float32)
        observe_batch(
            self._st,
            self._plan_flat,
            self.window_start,
            self.step_index,
            self.n_steps,
            self.episode_steps,
            self._leads,
            self._prices(),
            out,
        )
        return out

    def _prices(self) -> FloatArray:
        """The prices the observation shows (rebuilt if the carbon price changed)."""
        carbon = self.ledger.carbon_price_cny_per_t
        if self._obs_prices[0] != carbon:
            self._obs_prices = (carbon, observation_prices(self.params, carbon))
        return self._obs_prices[1]

    def _member_info(self, i: int) -> dict[str, Any]:
        """Member ``i``'s measured state, the last step's flows and the feed plan."""
        bz, tc, fl, lab, age = self._st[i, :5].tolist()
        pipes = self._pipe[:4, i].copy()
        state: dict[str, Any] = {
            "bz_c": bz,
            "calciner_c": tc,
            "free_lime_pct": fl,
            "lab_free_lime_pct": lab,
            "lab_age_min": age,
            "last_action": self._st[i, S_ACTION : S_ACTION + 4].copy(),
            # Reconstructible from the measured calciner temperature and feed history:
            "pipe_solids": pipes[0],
            "pipe_caco3": pipes[1],
            "pipe_temp": pipes[2],
            "pipe_clinker": pipes[3],
        }
        if self._stepped[i]:
            values = self._flows[i, : len(INFO_KEYS)].tolist()
            values[_FEED_ON] = values[_FEED_ON] > 0.5
            state.update(zip(INFO_KEYS, values, strict=True))
        row = min(int(self.window_start[i]) + int(self.step_index[i]), self.n_steps)
        plan = self._plan_flat[row : row + self.forecast_steps + 1].copy()
        # The production plan is known ahead (lead 0 = the coming step).
        return {"state": state, "forecast": {"feed": plan}}


class CementKilnEnv(EcoEnv):
    """Cement kiln firing: precalciner + rotary kiln, 1-min steps, 24-h episodes.

    ## Description
    A 5,000 t/d precalciner kiln (physics in :mod:`ecocontrol.envs.cement_kiln`). The operator
    sets the kiln (main burner) and calciner fuel rates, the alternative-fuel (RDF) share of
    the calciner's fuel and the ID fan speed (excess air). Raw-mix LSF drift, production-plan
    feed changes and fuel heating-value swings disturb it; all are SYNTHETIC
    (:class:`KilnDisturbances`). The episode starts at the nominal point scaled to the
    window's first feed rate.

    ## Action Space
    ``Box(-1, 1, (4,))`` mapped linearly to: kiln fuel heat ``kiln_heat_range_mw`` and
    calciner fuel heat ``calciner_heat_range_mw`` [MW at nominal heating value; the
    gravimetric feeders deliver mass, so the actual heat follows the fuel's true heating
    value], the alternative-fuel share of the calciner heat ``[0, af_share_max]`` and the ID
    fan speed ``fan_speed_range``. Finite actions outside [-1, 1] are clipped
    (``action_clipped``); NaN/inf raise ``ValueError``. The feed rate follows the production
    plan (not an action).

    ## Observation Space
    ``Box(float32, (22,))``: burning zone, calciner outlet and kiln exit gas temperatures
    / 1000 degC; kiln-inlet and calciner-exit O2 / 10 %; kiln-inlet CO / 1000 ppm; stack NOx
    / 1000 mg/Nm3; last lab free lime / 2 % and its age / 120 min; raw-meal feed / nominal,
    now (0 while the interlock cuts it) and planned 15, 30, 45 and 60 min ahead; the last
    action (kiln and calciner heat / 100 MW, AF share, fan speed); calciner-fuel and AF
    prices / 1000 CNY/t; carbon price / 100; fraction
    of the episode elapsed.

    ## Rewards
    ``-(fuel + energy + penalty + carbon) / reward_scale_cny`` per step, CNY: fuel at its
    price per tonne; ID fan electricity; penalties for free lime outside its band (per tonne
    of clinker and %-point), burning zone and calciner outside their limits (per K min), CO
    above its limit at the kiln inlet or the preheater exit, minutes of precipitator CO trip
    (preheater-exit CO at or above ``co_trip_ppm``), NOx above its limit and the clinker a
    feed cut does not make (``lost_production_cny_per_t``); carbon = price x (fossil fuel +
    process + grid CO2). The alternative fuel's energy splits into a fossil part (IPCC
    91.7 t/TJ, priced) and a biomass part (100 t/TJ, biogenic: reported, not priced).

    ## Starting State
    The nominal point (:func:`kiln_design`) scaled to the window's first feed rate, with the
    window's LSF in the kiln.

    ## Episode End
    Truncation after ``episode_h`` hours; no termination. The kiln's feed interlock does not
    end the episode: below a burning zone of ``interlock_bz_c`` (1,280 degC, where the
    clinker's liquid phase forms) the feed is cut (no meal, calcination or process CO2; the
    lost clinker is priced) until the burning zone is back above ``interlock_restart_bz_c``
    (1,350 degC), as a plant's interlock does while the kiln keeps firing to recover.

    ## Arguments
    ``split``, ``params`` (:class:`CementKilnParams`), ``dt_min`` (1), ``episode_h`` (24),
    ``disturbance_seed`` (2024), ``disturbances`` (your own :class:`KilnDisturbances`, e.g.
    plant data at the env step; default synthetic), ``carbon_price_cny_per_t`` (80),
    ``reward_scale_cny`` (1e3), ``split_seed`` (0).

    ## Drift (``drift``, ``drift_randomise``; :mod:`ecocontrol.envs.drift`)
    ``refractory_wear`` (``shell_loss_factor`` 1.12: the rotary shell's loss up by half),
    ``burnability`` (free lime 1.5 % instead of 1.0 % at the nominal burning zone, [Fundal1979]),
    ``calciner_reactivity`` (calcination rate x0.7, [Borgwardt1985]) and ``ring_buildup``
    (transport dead time 36 min instead of 30, assumed); severity 1 is the end of a campaign.
    Controllers see the nominal parameters unless they declare ``model_access="true"``.

    ## Version History
    * v1, issue 22: the keys ``drift`` and ``drift_randomise`` (and, on the kiln, the field
      ``shell_loss_factor``, 1 by default). At their defaults the plant is bit-identical to v1
      before them (tested), so the version is unchanged.
    * v0: initial release.
    * v1 (issue 16): the calciner's balance is solved by a bracketed method with a residual
      check every step (v0's Newton could settle on a spurious hot root, up to about 130 MW
      off); the flame zone holds the fuel's stoichiometric air, so NOx rises with O2 (v0: it
      fell); a grate cooler (recovery 0.79, Farag 2013) sets the secondary and tertiary air,
      so excess air costs fuel (v0: fixed 1,000 / 900 degC air, an implied 95 % recovery);
      the preheater exit gas is reported; the feed interlock (v0 booked clinker from a kiln
      at 250 degC); CO booked at the preheater exit with the precipitator's trip; RDF's fossil
      and biomass parts at their own factors (v0 under-reported biogenic CO2 by about 8 %);
      nominal point recalibrated (3.4 GJ/t, meal inlet 780 degC). Results of v0 (the
      committed PPO/SAC study agents) are not comparable.
    """

    simulator: ClassVar[type[BatchedEcoEnv]] = CementKilnVectorEnv
