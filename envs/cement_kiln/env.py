"""The kiln's simulator (a batch of kilns stepped together) and its single env (the env card)."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from numpy.typing import NDArray

from ecocontrol.emissions import DEFAULT_CARBON_PRICE_CNY_PER_T, require_finite_range

from ..base import EcoEnv
from ..scenario import ActionScaler, FloatArray, IntArray, ScenarioWindows, horizon_view
from ..vector import BatchedEcoEnv
from .observation import OBS_DIM, OBS_LEADS_MIN, kiln_observation, kiln_readings
from .params import CementKilnParams
from .physics import kiln_design, kiln_step
from .scenario import EXO_KEYS, KilnDisturbances, initial_state, synthetic_disturbances
from .scoring import kiln_accounts
from .state import KilnFlows, KilnState


class CementKilnVectorEnv(BatchedEcoEnv):
    """``num_envs`` kilns stepped together by :func:`kiln_step` over the batch axis.

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
        state: the batch's plant state (privileged; controllers read :meth:`full_state`).
        flows: what happened during the last step (``None`` before the first).
    """

    plant_name: ClassVar[str] = "cement_kiln"
    violation_names: ClassVar[tuple[str, ...]] = (
        "free_lime_out_min",
        "free_lime_out_pct_min",
        "bz_limit_k_min",
        "calciner_limit_k_min",
        "co_excess_ppm_min",
        "nox_excess_mg_min",
        "co_trip_min",
        "feed_cut_min",
        "lost_clinker_t",
    )
    settings: ClassVar[tuple[str, ...]] = ("dt_min", "forecast_steps", "lab_interval_steps")

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
    ) -> None:
        super().__init__(
            num_envs,
            autoreset_mode=autoreset_mode,
            split=split,
            carbon_price_cny_per_t=carbon_price_cny_per_t,
            reward_scale_cny=reward_scale_cny,
            cost_terms=("fuel", "energy", "penalty"),
        )
        self.params: CementKilnParams = self._params_or_default(params, CementKilnParams)
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
        self._leads = np.array([round(m / dt_min) for m in OBS_LEADS_MIN])
        one = initial_state(p, self.dt_min, 1.0, p.lsf_ref)
        self.state = KilnState(
            **{f.name: np.repeat(getattr(one, f.name), num_envs, axis=0) for f in fields(one)}
        )
        self.readings = kiln_readings(self.state, None, p)
        self.flows: KilnFlows | None = None
        self._feed: FloatArray = np.ones(num_envs)  # the last step's feed
        self._stepped = np.zeros(num_envs, dtype=bool)  # a step since the member's reset
        feed = self.series["feed"]
        h = self.forecast_steps + 1  # the plan repeats the last value past the year
        self._plan = horizon_view(np.concatenate([feed, np.full(h, feed[-1])]), h)

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
        for k, v in nominal.items():
            self.readings[k][idx] = v[idx]
        self._stepped[idx] = False

    def _prepare(self, idx: IntArray) -> None:
        """Nothing: the feed plan is read at observation time."""

    def _step_members(
        self, physical: FloatArray
    ) -> tuple[dict[str, FloatArray], dict[str, FloatArray], dict[str, FloatArray]]:
        t = self.t
        rows = np.minimum(t, self.n_steps - 1)
        exo = {k: self.series[k][rows] for k in EXO_KEYS}
        sample = t % self.lab_interval_steps == 0
        self.state, flows = kiln_step(self.state, physical, exo, self.params, self.dt_min, sample)
        self.flows, self._feed = flows, exo["feed"]
        self._stepped[:] = True
        self.readings = {
            k: v.copy() for k, v in kiln_readings(self.state, flows, self.params).items()
        }
        return kiln_accounts(flows, self.state, self.params, self.dt_min)

    def _feed_plan(self) -> FloatArray:
        """Each member's production plan from its coming step, 60 min ahead, ``(n, h + 1)``."""
        return self._plan[np.minimum(self.t, self.n_steps)]

    def _observe_batch(self) -> NDArray[np.float32]:
        return kiln_observation(
            self.state,
            self.readings,
            self._feed_plan(),
            self._leads,
            self.step_index / self.episode_steps,
            self.params,
            self.ledger.carbon_price_cny_per_t,
        )

    def _member_info(self, i: int) -> dict[str, Any]:
        """Member ``i``'s measured state, the last step's flows and the feed plan."""
        s, f = self.state, self.flows
        state: dict[str, Any] = {
            "bz_c": float(s.bz_c[i]),
            "calciner_c": float(s.calciner_c[i]),
            "free_lime_pct": float(s.free_lime_pct[i]),
            "lab_free_lime_pct": float(s.lab_last_pct[i]),
            "lab_age_min": float(s.lab_age_min[i]),
            "last_action": s.last_action[i].copy(),
            # Reconstructible from the measured calciner temperature and feed history:
            "pipe_solids": s.pipe_solids[i].copy(),
            "pipe_caco3": s.pipe_caco3[i].copy(),
            "pipe_temp": s.pipe_temp[i].copy(),
            "pipe_clinker": s.pipe_clinker[i].copy(),
        }
        if f is not None and self._stepped[i]:
            state.update(
                kiln_gas_c=float(f.kiln_gas_c[i]),
                kiln_o2_pct=float(f.kiln.o2_pct[i]),
                calciner_o2_pct=float(f.calciner.o2_pct[i]),
                co_ppm=float(f.kiln.co_ppm[i]),
                preheater_co_ppm=float(f.calciner.co_ppm[i]),
                preheater_exit_c=float(f.preheater_exit_c[i]),
                secondary_air_c=float(f.cooler.secondary_c[i]),
                tertiary_air_c=float(f.cooler.tertiary_c[i]),
                feed_on=bool(f.feed_on[i] > 0.5),
                nox_mg_nm3=float(f.nox_mg_nm3[i]),
                flame_c=float(f.kiln.flame_c[i]),
                calcination=float(f.calciner.degree[i]),
                clinker_t=float(f.clinker_kg_s[i]) * 0.06 * self.dt_min,
                fuel_heat_mw=float(
                    f.heats.kiln[i] + f.heats.calciner_main[i] + f.heats.calciner_af[i]
                ),
                caco3_fed_t=float(f.caco3_fed_kg_s[i]) * 0.06 * self.dt_min,
                feed=float(self._feed[i]),
            )
        plan = self._plan[min(int(self.t[i]), self.n_steps)].copy()
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

    ## Version History
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
