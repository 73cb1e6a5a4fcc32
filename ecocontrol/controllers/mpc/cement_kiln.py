"""Kiln MPC: a Pyomo LP of the kiln, successively linearised around the measured point.

At each solve the plant's own functions (:mod:`ecocontrol.envs.cement_kiln`) are
differentiated numerically at the current operating point (measured temperatures and O2, the
action being applied), so there is one physics implementation and the LP is its local
linearisation. Like industrial kiln optimisers, the LP decides the kiln fuel and the set
points of the calciner outlet temperature and the kiln-inlet O2; every step, PI loops (the
rule controller's) turn the set points into calciner fuel and fan speed.

* Calciner fuel for a calciner set point and fan speed for an O2 set point: linear (the
  plant's local inverse), so both are priced and bounded in the LP.
* Burning zone: ``C dTbz/dt = R0 + b + a_qk dqk + a_fan dfan + a_t dTbz + M``. The material
  term ``M`` is known from the kiln's pipeline for the first dead time and afterwards linear
  in the calciner temperature and feed one dead time earlier (the dead time is exact); ``b``
  is an offset estimated every step from the measured burning-zone change (the fuels' true
  heating values are unknown to the controller). Predicted one dead time past the horizon.
* Calciner-exit O2 and stack NOx: linear constraints with penalised slack.
* Free lime: a burning-zone band, the temperatures where the free-lime model gives
  ``free_lime_targets`` for the meal's LSF. The noisy controller estimates LSF from the last
  lab result and the burning-zone history; the perfect-forecast MPC and the oracle read the
  true LSF and heating values.

Objective: fuel + carbon + fan electricity, slack penalties, move penalties; a trust region
and rate limits keep the plan where the linearisation holds.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import gymnasium as gym
import numpy as np
import pyomo.environ as pyo

from ecocontrol.controllers.base import PlantView
from ecocontrol.controllers.mpc.cement_kiln_model import KilnModel, build_kiln_model, nonzero
from ecocontrol.controllers.mpc.core import RollingHorizonMPC
from ecocontrol.controllers.mpc.duals import SolvedModel
from ecocontrol.controllers.rules.cement_kiln import KilnRuleController
from ecocontrol.emissions import require_finite_range

#: The kiln pipeline's per-cell arrays in the env's ``info["state"]``, in the order of a
#: pipeline entry (solids, CaCO3 left, temperature, clinker).
PIPE_KEYS = ("pipe_solids", "pipe_caco3", "pipe_temp", "pipe_clinker")


def _store(params: list[Any], values: list[float]) -> None:
    """Write values into mutable Pyomo parameters (their data objects) without validation.

    ``set_value`` checks each value against the parameter's domain and index (~3 us apiece,
    ~280 values per solve); the kiln LP's parameters are unitless floats in the default
    domain, for which the stored value is the same.
    """
    if len(params) != len(values):
        raise ValueError(f"{len(values)} values for {len(params)} parameters")
    for q, v in zip(params, values, strict=True):
        q._value = v


class KilnMPC(RollingHorizonMPC):
    """Rolling-horizon LP MPC of the kiln, re-linearised at every solve.

    It decides the kiln fuel and the set points of the calciner outlet temperature and the
    kiln-inlet O2 (as industrial kiln optimisers do); every step, model-based feed-forward plus
    PI trim (the rule's loops) turns the set points into calciner fuel and fan speed.

    Args:
        env: the kiln env (possibly wrapped).
        horizon_min: look-ahead [min] (the burning zone is predicted one dead time further).
        period_min: LP period [min], a multiple of the env step; one solve per period.
        perfect_forecast: plan on the true disturbances (LSF, heating values) instead of the
            lab-based LSF estimate and nominal heating values.
        af_share: alternative-fuel share of the calciner heat; ``None``: the plant's
            ``af_share_max`` (cheaper per GJ at default prices); ``"rule"``: the rule
            controller's share, which isolates what control alone saves.
        free_lime_targets: free lime (low, high) [%] the burning-zone band aims inside.
        time_limit_s: HiGHS time limit per solve.
        explain: keep an :class:`~ecocontrol.controllers.mpc.duals.Explanation` of each
            decision in ``last_explanation``. Prices per LP period of the burning-zone
            horizon (``horizon + dead time`` periods): ``bz_heat``, the value of one more MWh
            of heat into the burning zone in that period [CNY/MWh], from the burning zone's
            heat balance (the LP's objective: fuel, carbon and fan electricity, plus its
            slack and move penalties, so a value above the fuel's price is the free-lime band
            or a limit speaking); state value ``bz_c``, the value of one more kelvin of
            burning zone at the first period's end [CNY/K]. Binding constraints include the
            LP's limits (trust region and rate limits on the decisions, set-point bands).
        true_model: build the model on the plant's true parameters (``model_access="true"``):
            an MPC re-identified on a drifted plant (:mod:`ecocontrol.envs.drift`). By default
            it keeps the nominal parameters the plant was designed with.

    What it reads: on the env's forecasts, the measured state (``info["state"]``: temperatures,
    O2, NOx, the lab, the action applied, the kiln pipeline's material, which the measured
    calciner temperature and feed history determine) and the published feed plan:
    ``state_access="measured"``, ``exogenous_access="forecast"``. With ``perfect_forecast``
    it also reads the true disturbances (``exogenous_access="true"``) and the LSF of the
    material already in the kiln from the simulator's state (``state_access="full"``).
    """

    #: Every linearisation coefficient changes at every solve (~830 at 50 periods): passing the
    #: whole model to HiGHS costs less than one ``changeCoeff`` call each, with the same basis.
    direct_pass_model = True

    def __init__(
        self,
        env: gym.Env[Any, Any],
        *,
        horizon_min: float = 90.0,
        period_min: float = 3.0,
        perfect_forecast: bool = False,
        af_share: float | str | None = None,
        free_lime_targets: tuple[float, float] = (0.6, 1.05),
        time_limit_s: float = 5.0,
        horizon_periods: int | None = None,
        explain: bool = False,
        true_model: bool = False,
    ) -> None:
        if perfect_forecast:  # declared before the view is built
            self.state_access = "full"
            self.exogenous_access = "true"
        if true_model:  # re-identified: the true parameters of a drifted plant
            self.model_access = "true"
        view = self._view(env)
        p = view.params
        self.dt_min = float(view.dt_min)
        require_finite_range("period_min", period_min, self.dt_min, p.dead_time_min)
        spp = round(period_min / self.dt_min)
        if abs(spp * self.dt_min - period_min) > 1e-9:
            raise ValueError(
                f"period_min={period_min}; allowed: a multiple of dt_min={self.dt_min}"
            )
        if horizon_periods is None:
            require_finite_range("horizon_min", horizon_min, period_min, 24.0 * 60 * 14)
            horizon_periods = round(horizon_min / period_min)
        if af_share == "rule":
            af: float = p.af_share_rule
        elif af_share is None:
            af = p.af_share_max
        elif isinstance(af_share, str):
            raise ValueError(f"af_share={af_share!r}; allowed: None, 'rule' or a number")
        else:
            af = float(af_share)
        require_finite_range("af_share", af, 0.0, p.af_share_max)
        lo, hi = free_lime_targets
        require_finite_range("free_lime_targets[0]", lo, *p.free_lime_band_pct)
        require_finite_range("free_lime_targets[1]", hi, lo, p.free_lime_band_pct[1])
        self.p = p
        self.period_min = float(period_min)
        self.steps_per_period = spp
        self.horizon_periods = int(horizon_periods)
        self.dead_periods = max(1, round(p.dead_time_min / period_min))
        self.perfect_forecast = perfect_forecast
        self.af_share = float(af)
        self.free_lime_targets = (float(lo), float(hi))
        self.lin = KilnModel(p)
        self.cfg = self._settings()
        model = build_kiln_model(
            p, self.horizon_periods, self.dead_periods, self.period_min, self.cfg
        )
        self.loops = KilnRuleController(env)
        # The mutable parameters' data objects (scalars, and indexed ones in index order) and
        # the plan's variables, looked up once instead of by name and index at every solve.
        self._params: dict[str, Any] = {
            c.local_name: c if not c.is_indexed() else list(c.values())
            for c in model.component_objects(pyo.Param)
        }
        self._plan_vars = [list(v.values()) for v in (model.qk, model.tc, model.o2)]
        # A fresh HiGHS interface per solve (the core's default; see its docstring): with
        # APPSI's incremental updates a benchmark window went from 0.82 to 2.9 MCNY.
        super().__init__(
            env,
            model,
            fallback=self.loops,
            time_limit_s=time_limit_s,
            replan_every=spp,
            persistent=False,
            explain=explain,
        )
        self._reset_estimates()

    def _explain_step_h(self) -> float:
        return self.period_min / 60.0

    def _explain_prices(
        self, solved: SolvedModel
    ) -> tuple[dict[str, np.ndarray], dict[str, str], dict[str, Any]]:
        """The value of burning-zone heat per period and of burning-zone temperature."""
        m = self.model
        # burning_zone[b]: bz[b+1] = bz[b] + step * rate; Q MJ of heat added in period b
        # raise bz[b+1] by Q / C kelvin.
        per_k = -np.array([solved.marginal(m.burning_zone[b], m.bz[b + 1]) for b in m.B])
        per_mwh = per_k / self.p.bz_heat_capacity_mj_per_k * 3600.0
        return {"bz_heat": per_mwh}, {"bz_heat": "CNY/MWh"}, {"bz_c": float(per_k[0])}

    def _settings(self) -> dict[str, Any]:
        p, per = self.p, self.period_min
        return {
            "tc_band": (p.calciner_limits_c[0] + 15.0, p.calciner_limits_c[1] - 15.0),
            "o2_band": (2.0, 4.5),
            "o2c_min": 1.5,
            "nox_max": 0.95 * p.nox_limit_mg_nm3,
            # CNY per unit slack and period, above the plant's own penalties.
            "weights": {
                "lo": 30.0 * per,
                "hi": 30.0 * per,
                "nox": 3.0 * per,
                "qc": 100.0,
                "o2c": 300.0 * per,
                "fan": 1000.0,
            },
            "move": (1.0, 2.0, 20.0),  # per MW, K and %-point moved
            "trust": 8.0,  # MW of kiln fuel around the linearisation point
            "rate": (1.0 * per, 2.0 * per, 0.1 * per),  # per period: MW, K, %-point
        }

    def _reset_estimates(self) -> None:
        self.lsf_est = self.p.lsf_ref
        self.bias_mw = 0.0
        p, dt = self.p, self.dt_min
        self._lab_back = round((p.lab_delay_min + p.free_lime_lag_min) / dt)
        self._lab_avg = max(1, round(10.0 / dt))  # average the BZ over 10 min before the sample
        self._bz_hist: deque[float] = deque(maxlen=self._lab_back + self._lab_avg + 2)
        self._last_lab_age = np.inf
        self._pred: tuple[float, float] | None = None  # (bz before, model rate) last step
        # The model rate's inputs (u, bz, pipeline entry, LHVs) while its evaluation waits.
        self._pred_args: tuple[np.ndarray, float, tuple[float, ...], tuple[float, float]] | None
        self._pred_args = None

    def _view(self, env: gym.Env[Any, Any]) -> PlantView:
        view = super()._view(env)
        if view.plant_name != "cement_kiln":
            raise TypeError("KilnMPC needs a CementKilnEnv")
        return view

    def reset(self, env: gym.Env[Any, Any], seed: int | None = None) -> None:
        """Forget plan, counters and estimates."""
        super().reset(env, seed)
        self._reset_estimates()

    # -- estimation (every step) -------------------------------------------------------------
    @staticmethod
    def _pipe0(st: dict[str, Any]) -> tuple[float, float, float, float]:
        solids, caco3, temp, clinker = (float(st[key][0]) for key in PIPE_KEYS)
        return solids, caco3, temp, clinker

    @staticmethod
    def _u(action: np.ndarray) -> np.ndarray:
        a = np.asarray(action, dtype=float)
        return np.array([a[0], a[1] * (1.0 - a[2]), a[1] * a[2], a[3]])

    def _estimate(self, info: dict[str, Any]) -> None:
        p, st = self.p, info["state"]
        bz = float(st["bz_c"])
        if self._pred is not None:
            bz_before, rate = self._pred
            measured = (bz - bz_before) * p.bz_heat_capacity_mj_per_k / (60.0 * self.dt_min)
            self.bias_mw += 0.2 * (measured - rate - self.bias_mw)
        self._bz_hist.append(bz)
        age = float(st["lab_age_min"])
        back = self._lab_back
        if age < self._last_lab_age and len(self._bz_hist) > back:
            hist = list(self._bz_hist)
            lo = max(0, len(hist) - back - self._lab_avg)
            bz_then = float(np.mean(hist[lo : len(hist) - back]))
            lab = max(float(st["lab_free_lime_pct"]), 0.05)
            lsf = p.lsf_ref + (
                np.log(lab / p.free_lime_ref_pct)
                + (bz_then - p.bz_nominal_c) / p.free_lime_temp_scale_k
            ) / max(p.free_lime_lsf_coeff, 1e-9)
            self.lsf_est += 0.6 * (float(np.clip(lsf, 80.0, 110.0)) - self.lsf_est)
        self._last_lab_age = age

    def act(self, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        """Update the estimates, then re-plan / replay / fall back (shared logic).

        The burning-zone rate the model predicts for the action (the bias estimate's
        reference at the next measurement) is evaluated after the action is chosen; after a
        solve, whose latency counts, it waits for the next call (same inputs, same number).
        """
        self._predict()
        self._estimate(info)
        solves = self.n_solves
        action = super().act(obs, info)
        st = info["state"]
        physical, _ = self.view.scaler.to_physical(action)
        lhv, _ = self._assumed_fuels()
        self._pred_args = (self._u(physical), float(st["bz_c"]), self._pipe0(st), lhv)
        if self.n_solves == solves:
            self._predict()
        return action

    def track(self, info: dict[str, Any]) -> None:
        """Align the PI loops with the action applied (see :meth:`KilnRuleController.track`)."""
        self.loops.track(info)

    def _predict(self) -> None:
        """Evaluate the model rate of the last action, if it is still waiting."""
        if self._pred_args is not None:
            u, bz, pipe0, lhv = self._pred_args
            self._pred = (bz, self.lin.bz_rate(u, bz, pipe0, lhv))  # type: ignore[arg-type]
            self._pred_args = None

    def _to_action(self, row: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        """Kiln fuel from the plan; calciner fuel and fan from the set points (PI loops)."""
        loops = self.loops
        loops.calciner_sp = float(row[1])
        loops.o2_sp = float(row[3])
        # The fan follows a kiln-fuel move at once (the LP's own fan-per-MW, ``f_qk``): the O2
        # loop alone is too slow for the plan's kiln-fuel steps, and v1's kiln starves of O2
        # (CO, precipitator trip) when the fan lags.
        applied = float(np.asarray(info["state"]["last_action"], dtype=float)[0])
        loops.fan_feedforward = float(pyo.value(self.model.f_qk)) * (float(row[0]) - applied)
        a = loops.physical_action(info)
        loops.kiln.reset(float(row[0]))  # a fallback to the rule starts from the plan (bumpless)
        return np.array([row[0], a[1], self.af_share, a[3]])

    def _assumed_fuels(self) -> tuple[tuple[float, float], float]:
        """(coal, AF heating value factors) and the LSF the model assumes now."""
        if self.perfect_forecast:
            exo = self.view.true_window(self.view.t, 1)
            return (float(exo["coal_lhv"][0]), float(exo["af_lhv"][0])), float(exo["lsf"][0])
        return (1.0, 1.0), self.lsf_est

    # -- the LP ---------------------------------------------------------------------------------
    def _lsf_profile(self, n_b: int) -> np.ndarray:
        """LSF of the material in the burning zone at each BZ period."""
        if not self.perfect_forecast:
            return np.full(n_b, self.lsf_est)
        view = self.view
        spp, dp = self.steps_per_period, self.dead_periods
        pipe = view.full_state().pipe_lsf[0][::spp][:dp]
        future = view.true_window(view.t, max(1, n_b - dp) * spp)["lsf"][::spp]
        return np.concatenate([pipe, future])[:n_b]

    def _update(self, obs: np.ndarray, info: dict[str, Any]) -> None:
        p, view = self.p, self.view
        st = info["state"]
        n, dp, spp = self.horizon_periods, self.dead_periods, self.steps_per_period
        a0 = np.asarray(st["last_action"], dtype=float).copy()
        a0[2] = self.af_share
        u0 = self._u(a0)
        bz0, tc0 = float(st["bz_c"]), float(st["calciner_c"])
        o20 = float(st.get("kiln_o2_pct", p.kiln_o2_nominal_pct))
        plan = np.asarray(info["forecast"]["feed"], dtype=float)
        if self.perfect_forecast:
            plan = view.true_window(view.t, n * spp)["feed"]
        # Beyond the published plan (60 min) the last planned rate is assumed to hold.
        feed = plan[: n * spp : spp]
        if len(feed) < n:
            feed = np.concatenate([feed, np.full(n - len(feed), feed[-1])])
        lhv, lsf_now = self._assumed_fuels()
        pipe0 = self._pipe0(st)
        f0 = float(feed[0])

        # The operating point and one perturbation per partial derivative, in one batch:
        # base, kiln fuel, fan, calciner fuel, feed, burning zone.
        dq, dfan, df, db = 2.0, 0.01, 0.01, 5.0
        rows = np.tile(u0, (6, 1))
        rows[1, 0] += dq
        rows[2, 3] += dfan
        rows[3, 1:3] += dq * np.array([1.0 - self.af_share, self.af_share])
        feeds = np.full(6, f0)
        feeds[4] += df
        bzs = np.full(6, bz0)
        bzs[5] += db
        # Material: the pipeline's known entries, then linear in (Tc, feed) a dead time on;
        # the BZ rates of all of them at the operating point, in the same batch.
        pipes = [np.asarray(st[x], dtype=float) for x in PIPE_KEYS]
        at = [min(b * spp + spp // 2, len(pipes[0]) - 1) for b in range(dp)]
        mats = self.lin.materials(
            np.array([tc0, tc0 + 2.0, tc0]), np.array([f0, f0, f0 + df]), lsf_now
        )
        entries = tuple(
            np.concatenate([pipe[at], mat]) for pipe, mat in zip(pipes, mats, strict=True)
        )
        outs = self.lin.outputs_rows(
            rows, feeds, lsf_now, bzs, pipe0, tc0, lhv, rate_rows=(u0, bz0, entries)
        )
        rates = outs.pop("rates")
        base, o_qk, o_fan, o_qc, o_feed, o_bz = (
            {key: float(v[i]) for key, v in outs.items()} for i in range(6)
        )
        tc_qc = (o_qc["tc"] - base["tc"]) / dq
        tc_qc = max(tc_qc, 0.2)
        # Fan needed for an O2 set point (O2 linear in fan and kiln fuel).
        o2_fan = max((o_fan["o2k"] - base["o2k"]) / dfan, 1.0)
        o2_qk = (o_qk["o2k"] - base["o2k"]) / dq
        f_o2 = 1.0 / o2_fan
        f_qk = -o2_qk / o2_fan
        # Calciner heat for a calciner temperature, given the kiln fuel, fan, feed, BZ.
        tc_qk = (o_qk["tc"] - base["tc"]) / dq
        tc_fan = (o_fan["tc"] - base["tc"]) / dfan
        c_tc = 1.0 / tc_qc
        c_qk = -(tc_qk + tc_fan * f_qk) / tc_qc
        c_o2 = -(tc_fan * f_o2) / tc_qc
        c_f = -((o_feed["tc"] - base["tc"]) / df) / tc_qc
        c_bz = -((o_bz["tc"] - base["tc"]) / db) / tc_qc
        known = np.zeros(n + dp)
        known[:dp] = rates[:dp] - base["rhs"]
        r_mat0, r_t, r_f = (float(r) for r in rates[dp:])

        values = {
            "qk0": u0[0],
            "tc0": tc0,
            "o20": o20,
            "bz0": bz0,
            "feed0": f0,
            "qc0": u0[1] + u0[2],
            "fan0": u0[3],
            "r0": base["rhs"] + self.bias_mw,
            "nox0": float(st.get("nox_mg_nm3", base["nox"])),
            "c_tc": c_tc,
            "c_qk": c_qk,
            "c_o2": c_o2,
            "c_f": c_f,
            "c_bz": c_bz,
            "f_o2": f_o2,
            "f_qk": f_qk,
            "a_qk": (o_qk["rhs"] - base["rhs"]) / dq,
            "a_fan": (o_fan["rhs"] - base["rhs"]) / dfan,
            "a_t": (o_bz["rhs"] - base["rhs"]) / db,
            "m0": r_mat0 - base["rhs"],
            "m_t": (r_t - r_mat0) / 2.0,
            "m_f": (r_f - r_mat0) / df,
            "o2c0": float(st.get("calciner_o2_pct", base["o2c"])),
            "g_qk": (o_qk["o2c"] - base["o2c"]) / dq,
            "g_fan": (o_fan["o2c"] - base["o2c"]) / dfan,
            "g_qc": (o_qc["o2c"] - base["o2c"]) / dq,
            "n_qk": (o_qk["nox"] - base["nox"]) / dq,
            "n_fan": (o_fan["nox"] - base["nox"]) / dfan,
            "qk_prev": u0[0],
            "qk_lo": max(p.kiln_heat_range_mw[0], u0[0] - self.cfg["trust"]),
            "qk_hi": min(p.kiln_heat_range_mw[1], u0[0] + self.cfg["trust"]),
            "tc_prev": float(np.clip(tc0, *self.cfg["tc_band"])),
            "o2_prev": float(np.clip(o20, *self.cfg["o2_band"])),
        }
        # Prices per period: fuel + carbon at the assumed LHV; fan per unit speed.
        sec = 60.0 * self.period_min
        carbon = view.carbon_price_cny_per_t

        def per_mw(role: str, lhv_j: float) -> float:
            co2 = p.co2_t_per_gj_parts(role)[0]  # fossil part (biogenic is not priced)
            return sec * (p.price_cny_per_mj(role) + carbon * co2 * lhv_j / 1000.0)

        values["p_qk"] = per_mw("kiln_fuel", lhv[0])
        values["p_qc"] = (1.0 - self.af_share) * per_mw("calciner_fuel", lhv[0]) + (
            self.af_share * per_mw("alternative_fuel", lhv[1])
        )
        values["p_fan"] = (
            sec
            / 3600.0
            * 3.0
            * p.fan_power_mw
            * u0[3] ** 2
            * (p.electricity_cny_per_mwh + carbon * p.grid_factor_t_per_mwh)
        )
        pm = self._params
        _store([pm[name] for name in values], [nonzero(float(v)) for v in values.values()])
        _store(pm["feed"], feed[:n].tolist())
        _store(pm["known"], [nonzero(float(x)) for x in known[:dp]] + [0.0] * n)
        lsf = self._lsf_profile(n + dp + 1)
        fl_lo, fl_hi = self.free_lime_targets
        lim = (p.bz_limits_c[0] + 5.0, p.bz_limits_c[1] - 5.0)
        t_lo = np.clip(p.bz_for_free_lime(fl_hi, lsf), *lim)
        t_hi = np.clip(p.bz_for_free_lime(fl_lo, lsf), *lim)
        _store(pm["bz_lo"], t_lo.tolist())
        _store(pm["bz_hi"], np.maximum(t_hi, t_lo + 1.0).tolist())

    def _read_plan(self) -> np.ndarray:
        """Rows of (kiln heat [MW], calciner set point [degC], AF share, O2 set point [%])."""
        qk, tc, o2 = ([x.value for x in v] for v in self._plan_vars)
        rows = np.array([qk, tc, [self.af_share] * len(qk), o2], dtype=float).T
        return np.repeat(rows, self.steps_per_period, axis=0)


def make_kiln_mpc(env: gym.Env[Any, Any], **kwargs: Any) -> KilnMPC:
    """The kiln MPC (see :class:`KilnMPC` for keyword arguments)."""
    return KilnMPC(env, **kwargs)


def make_kiln_oracle(
    env: gym.Env[Any, Any],
    replan_min: float = 30.0,
    time_limit_s: float = 30.0,
    explain: bool = False,
) -> KilnMPC:
    """Reference with perfect foresight: the same LP to the episode's end on true disturbances.

    The LP linearises a nonlinear plant, so it re-plans every ``replan_min`` with a horizon of
    one episode (reaching past its end, where the last disturbance values are held); it is a
    reference, not a bound. It reads what the perfect-forecast MPC reads
    (``state_access="full"``, ``exogenous_access="true"``) and the true parameters of a
    drifted plant (``model_access="true"``).
    """
    kiln = PlantView(env)
    if kiln.plant_name != "cement_kiln":
        raise TypeError("the kiln oracle needs a CementKilnEnv")
    ctrl = KilnMPC(
        env,
        horizon_periods=round(kiln.episode_steps * kiln.dt_min / 3.0),
        perfect_forecast=True,
        time_limit_s=time_limit_s,
        explain=explain,
        true_model=True,
    )
    ctrl.replan_every = max(1, round(replan_min / kiln.dt_min))
    return ctrl
