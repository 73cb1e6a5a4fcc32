"""Hot-stove MPC: a Pyomo MILP over a coarse grid, with a lumped energy model per stove.

The MILP's stove model is identified from the plant's own physics
(:mod:`~ecocontrol.controllers.mpc.hot_stove_lumped` runs the plant's step), so the two
cannot drift apart when parameters change:

* stored heat ``E`` [GJ] per stove: ``E' = (1 - loss) E + dt (eta_lean (q - r) + eta_rich r - d)``
  with ``q`` the fuel heat [MW], ``r`` its rich-gas part and ``d`` the heat given to the blast;
* a ceiling on ``E`` reached when firing until the waste-gas limit, which rises with the
  enrichment share (a hotter dome charges the checker to a higher level):
  ``E' <= E_max - (E_max - E_lean) (q - r / s_max) / q_max`` (exact at full firing);
* a linearised outlet temperature ``T_out = a + b E`` that must reach the set point while the
  stove is on blast (else a penalised shortfall).

Modes are binaries per stove and period (on blast, on gas; neither = changeover), with
changeover periods before and after every blast period, minimum dwell times, and at least one
stove on blast in every period. HiGHS solves it under a relative gap and a time limit.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
import pyomo.environ as pyo

from ecocontrol.controllers.base import ExogenousAccess, PlantView, StateAccess, plant_of
from ecocontrol.controllers.mpc.core import RollingHorizonMPC
from ecocontrol.controllers.mpc.duals import SolvedModel
from ecocontrol.controllers.mpc.hot_stove_lumped import (
    E_REQ_MAX_GJ,
    LumpedStove,
    identify_lumped_model,
    usable_heat_gj,
)
from ecocontrol.controllers.rules.hot_stove import HotStoveRuleController
from ecocontrol.emissions import require_finite_range
from ecocontrol.envs.hot_stove import (
    BLAST,
    GAS,
    GAS_ACCOUNTING,
    TO_BLAST,
    HotStoveEnv,
    HotStoveParams,
    blowoff,
    changeover_cost,
    gas_values,
    inventory_value_cny_per_mj,
    staggered_cycle_command,
)
from ecocontrol.envs.thermo import AIR

#: HiGHS's deterministic work settings per MILP solve (besides the relative gap). The root node
#: is bounded by HiGHS's own iteration-counted effort limits, the tree by the node count;
#: ``mip_pscost_minreliable=1`` cuts strong branching, which took two thirds of the LP
#: iterations of the slowest solves. Measured on test window 0 (8 h, idle machine): gap
#: 0.02 and 50 nodes cost 128,324 CNY at a 1.5 s median solve, against 128,290 at 2.5 s for
#: gap 0.01 and 200 nodes (the plans differ within the gap).
WORK_LIMITS: dict[str, int] = {"mip_max_nodes": 50, "mip_pscost_minreliable": 1}
#: The oracle's (whole-episode) work settings.
ORACLE_WORK_LIMITS: dict[str, int] = {"mip_max_nodes": 100, "mip_pscost_minreliable": 1}


def build_hot_stove_model(
    p: HotStoveParams, lump: LumpedStove, n_periods: int, period_min: float
) -> pyo.ConcreteModel:
    """The hot-stove MILP over ``n_periods`` periods of ``period_min`` minutes.

    Mutable parameters: initial stored heat ``e0`` and rich heat of the current gas period
    ``r0`` per stove, the modes before the horizon (``b_prev``, ``g_prev``), forced/forbidden
    modes (``force_b``, ``forbid_b``, ``force_g``, ``forbid_g``) that carry the plant's dwell
    clocks and changeovers in progress, the demand heat ``dem`` [MW] and its sensitivity to
    the hot-blast temperature ``dem_per_k`` [MW/K], the set point offset from nominal
    ``sp_off`` [K], the shortfall price ``pen`` [CNY/K per period], the fuel prices with
    carbon ``c_lean``/``c_rich`` [CNY/GJ], ``live`` (1 inside the episode) and ``end_w``
    (1 at the period boundary where the stored heat is compared with ``e_ref`` [GJ], the
    episode's starting heat: a deficit costs ``p_deficit``, a surplus earns ``p_surplus`` [CNY/GJ]).
    """
    m = pyo.ConcreteModel(name="hot_stove")
    m.S = pyo.RangeSet(0, p.n_stoves - 1)
    m.T = pyo.RangeSet(0, n_periods - 1)
    m.T1 = pyo.RangeSet(0, n_periods)
    dt_s = 60.0 * period_min
    lb = max(1, math.ceil(p.min_blast_min / period_min - 1e-9))
    lg = max(1, math.ceil(p.min_gas_min / period_min - 1e-9))
    s_max = max(p.share_dome_max, 1e-6)
    q_max = p.firing_max_mw
    d_max = (
        1.5
        * p.blast_flow_nm3_min
        / 60.0
        * float(AIR.enthalpy(p.dome_temp_max_c) - AIR.enthalpy(p.cold_blast_c))
        / 1e3
    )

    mut = {"mutable": True, "initialize": 0.0}
    m.e0 = pyo.Param(m.S, **mut)
    m.r0 = pyo.Param(m.S, **mut)
    m.ereq = pyo.Param(m.S, mutable=True, initialize=lump.e_req)
    m.b_prev = pyo.Param(m.S, **mut)
    m.g_prev = pyo.Param(m.S, **mut)
    for name in ("force_b", "forbid_b", "force_g", "forbid_g"):
        setattr(m, name, pyo.Param(m.S, m.T, **mut))
    for name in ("dem", "dem_per_k", "sp_off", "pen", "live"):
        setattr(m, name, pyo.Param(m.T, **mut))
    m.end_w = pyo.Param(m.T1, **mut)
    m.c_lean = pyo.Param(**mut)
    m.c_rich = pyo.Param(**mut)
    m.p_deficit = pyo.Param(**mut)
    m.p_surplus = pyo.Param(**mut)
    m.e_ref = pyo.Param(**mut)
    # A floor on each stove's stored heat (no stove gives the blast more than the demand)
    # and the outlet constraint's big-M derived from it, both set per solve.
    m.elb = pyo.Param(m.S, m.T1, **mut)
    m.big_out = pyo.Param(m.S, m.T, **mut)
    m.dem_max = pyo.Param(m.T, **mut)
    # The changeover cost: each blow-off costs co_cost [CNY] and vents e_vent [GJ].
    m.co_cost = pyo.Param(**mut)
    m.e_vent = pyo.Param(m.S, **mut)

    m.b = pyo.Var(m.S, m.T, within=pyo.Binary)
    m.g = pyo.Var(m.S, m.T, within=pyo.Binary)
    m.u = pyo.Var(m.S, m.T, bounds=(0.0, 1.0))  # blast start
    m.v = pyo.Var(m.S, m.T, bounds=(0.0, 1.0))  # blast end
    m.w = pyo.Var(m.S, m.T, bounds=(0.0, 1.0))  # gas start
    m.q = pyo.Var(m.S, m.T, bounds=(0.0, q_max))
    m.r = pyo.Var(m.S, m.T, bounds=(0.0, q_max))
    m.d = pyo.Var(m.S, m.T, bounds=(0.0, d_max))
    m.short = pyo.Var(m.T, bounds=(0.0, 600.0))
    m.E = pyo.Var(m.S, m.T1, bounds=lambda m, s, t: (m.elb[s, t], None))
    r_big = q_max * s_max * dt_s / 1e3 * n_periods
    m.R = pyo.Var(m.S, m.T1, bounds=(0.0, r_big))
    m.deficit = pyo.Var(within=pyo.NonNegativeReals)
    m.surplus = pyo.Var(within=pyo.NonNegativeReals)
    m.terminal = pyo.Constraint(
        expr=m.deficit - m.surplus
        == m.e_ref - sum(m.end_w[t] * m.E[s, t] for s in m.S for t in m.T1)
    )

    def prev(var: Any, init: Any, s: int, t: int) -> Any:
        return init[s] if t == 0 else var[s, t - 1]

    m.one_mode = pyo.Constraint(m.S, m.T, rule=lambda m, s, t: m.b[s, t] + m.g[s, t] <= 1)
    m.u_def = pyo.Constraint(
        m.S, m.T, rule=lambda m, s, t: m.u[s, t] >= m.b[s, t] - prev(m.b, m.b_prev, s, t)
    )
    m.v_def = pyo.Constraint(
        m.S, m.T, rule=lambda m, s, t: m.v[s, t] >= prev(m.b, m.b_prev, s, t) - m.b[s, t]
    )
    m.w_def = pyo.Constraint(
        m.S, m.T, rule=lambda m, s, t: m.w[s, t] >= m.g[s, t] - prev(m.g, m.g_prev, s, t)
    )
    # A blast period is preceded by a changeover period and followed by one.
    m.co_before = pyo.Constraint(
        m.S, m.T, rule=lambda m, s, t: prev(m.g, m.g_prev, s, t) <= 1 - m.u[s, t]
    )
    m.co_after = pyo.Constraint(
        m.S, m.T, rule=lambda m, s, t: m.b[s, t] + m.g[s, t] <= 1 - m.v[s, t]
    )

    def co_purpose(m: Any, s: int, t: int) -> Any:
        # A changeover period belongs to a transition (no idling in changeover).
        nxt = m.u[s, t + 1] if t + 1 < n_periods else 1.0
        return 1 - m.b[s, t] - m.g[s, t] <= nxt + m.v[s, t]

    m.co_purpose = pyo.Constraint(m.S, m.T, rule=co_purpose)
    m.no_reblast = pyo.Constraint(
        m.S,
        pyo.RangeSet(0, n_periods - 2),
        rule=lambda m, s, t: m.u[s, t + 1] + m.v[s, t] <= 1,
    )
    m.min_blast = pyo.Constraint(
        m.S,
        m.T,
        rule=lambda m, s, t: sum(m.u[s, k] for k in range(max(0, t - lb + 1), t + 1)) <= m.b[s, t],
    )
    m.min_gas = pyo.Constraint(
        m.S,
        m.T,
        rule=lambda m, s, t: sum(m.w[s, k] for k in range(max(0, t - lg + 1), t + 1)) <= m.g[s, t],
    )
    m.fb1 = pyo.Constraint(m.S, m.T, rule=lambda m, s, t: m.b[s, t] >= m.force_b[s, t])
    m.fb2 = pyo.Constraint(m.S, m.T, rule=lambda m, s, t: m.b[s, t] <= 1 - m.forbid_b[s, t])
    m.fg1 = pyo.Constraint(m.S, m.T, rule=lambda m, s, t: m.g[s, t] >= m.force_g[s, t])
    m.fg2 = pyo.Constraint(m.S, m.T, rule=lambda m, s, t: m.g[s, t] <= 1 - m.forbid_g[s, t])
    m.cover = pyo.Constraint(m.T, rule=lambda m, t: sum(m.b[s, t] for s in m.S) >= 1)

    m.fire_on_gas = pyo.Constraint(m.S, m.T, rule=lambda m, s, t: m.q[s, t] <= q_max * m.g[s, t])
    m.dome = pyo.Constraint(m.S, m.T, rule=lambda m, s, t: m.r[s, t] <= s_max * m.q[s, t])
    m.blast_only = pyo.Constraint(
        m.S, m.T, rule=lambda m, s, t: m.d[s, t] <= m.dem_max[t] * m.b[s, t]
    )
    m.demand = pyo.Constraint(
        m.T,
        rule=lambda m, t: sum(m.d[s, t] for s in m.S) + m.dem_per_k[t] * m.short[t] == m.dem[t],
    )
    keep = 1.0 - lump.loss_per_s * dt_s
    m.e_init = pyo.Constraint(m.S, rule=lambda m, s: m.E[s, 0] == m.e0[s])
    m.r_init = pyo.Constraint(m.S, rule=lambda m, s: m.R[s, 0] == m.r0[s])
    m.energy = pyo.Constraint(
        m.S,
        m.T,
        rule=lambda m, s, t: (
            m.E[s, t + 1]
            == keep * m.E[s, t]
            + dt_s
            / 1e3
            * (lump.eta_lean * (m.q[s, t] - m.r[s, t]) + lump.eta_rich * m.r[s, t] - m.d[s, t])
            - m.e_vent[s] * m.v[s, t]
        ),
    )
    m.ceiling = pyo.Constraint(
        m.S,
        m.T,
        rule=lambda m, s, t: (
            m.E[s, t + 1]
            <= lump.e_cap_rich
            - (lump.e_cap_rich - lump.e_cap_lean) * (m.q[s, t] - m.r[s, t] / s_max) / q_max
        ),
    )
    m.r_acc = pyo.Constraint(
        m.S, m.T, rule=lambda m, s, t: m.R[s, t + 1] <= m.R[s, t] + dt_s / 1e3 * m.r[s, t]
    )
    m.r_reset = pyo.Constraint(
        m.S,
        m.T,
        rule=lambda m, s, t: m.R[s, t + 1] <= r_big * (1 - m.w[s, t]) + dt_s / 1e3 * m.r[s, t],
    )
    m.outlet = pyo.Constraint(
        m.S,
        m.T,
        rule=lambda m, s, t: (
            m.E[s, t + 1] + lump.e_req_per_rich_gj * m.R[s, t + 1]
            >= m.ereq[s]
            + lump.e_req_per_k * (m.sp_off[t] - m.short[t])
            - m.big_out[s, t] * (1 - m.b[s, t])
        ),
    )
    m.cost = pyo.Objective(
        expr=sum(
            m.live[t] * dt_s / 1e3 * (m.c_lean * (m.q[s, t] - m.r[s, t]) + m.c_rich * m.r[s, t])
            for s in m.S
            for t in m.T
        )
        + sum(m.pen[t] * m.short[t] for t in m.T)
        + m.co_cost * sum(m.v[s, t] for s in m.S for t in m.T)
        + 1e-3 * sum(m.u[s, t] + m.v[s, t] for s in m.S for t in m.T)
        + m.p_deficit * m.deficit
        - m.p_surplus * m.surplus,
        sense=pyo.minimize,
    )
    return m


class HotStoveMPC(RollingHorizonMPC):
    """Rolling-horizon MILP MPC of the hot stoves.

    Each decision sets the MILP's initial state from the measured stoves (stored heat, modes,
    dwell clocks, changeovers in progress, rich gas fired this gas period), the demand from
    the env's forecast (or the true series with ``perfect_forecast``), solves, and plays the
    first step of the plan: changeover requests where the plan changes a stove's mode in its
    first period, each stove's firing and enrichment.

    Information: ``state_access="full"``: the outlet threshold is anchored on every checker
    cell's temperature (:meth:`PlantView.full_state`), which the measured ``info["state"]``
    (top and bottom cells only) does not hold; reading it keeps the controller's decisions
    exactly as before the plant view existed. ``exogenous_access="forecast"`` (the env's
    demand forecast), or ``"true"`` with ``perfect_forecast`` (the oracle).

    Args:
        env: the hot-stove env (possibly wrapped).
        horizon_h: look-ahead [h] (at most the env's forecast horizon unless
            ``perfect_forecast``); ``horizon_periods`` overrides it.
        period_min: MILP grid [min]; must be a multiple of the env step and divide the
            changeover time (default: the changeover time).
        perfect_forecast: plan on the true demand.
        mip_gap: HiGHS relative gap.
        time_limit_s: HiGHS time limit per decision: a safety net only; a solve it stops is
            a failure (the plan never depends on wall time).
        work_limits: HiGHS's deterministic work limits (``mip_max_nodes``,
            ``mip_max_leaves``, ``mip_max_improving_sols``); default :data:`WORK_LIMITS`. A
            solve stopped by one plays its incumbent (counted in ``n_work_limited``).
        plan_accounting: the gas accounting the MILP prices fuel with (``"gate"`` or
            ``"site"``; default ``None``: the plant's ``params.gas_accounting``). Planning on
            one accounting and being scored on the other shows what a schedule optimised
            for the wrong carbon account does (``configs/controller/mpc_gate_plan.yaml``).
        waste_gas_throttle: cap each stove's planned firing by the rule's throttle on the
            measured waste-gas temperature (``staggered_cycle_command``), an inner loop that
            keeps the plan from firing into the waste-gas interlock, which the lumped
            model's charge ceiling only approximates.
        replan_every: env steps between solves (default: one MILP period).
        shortfall_weight: multiplier on the plant's shortfall price in the MILP objective;
            above 1 the set point acts as a near-hard constraint (the operators' priority).
        outlet_margin_k: back-off [K] on the linearised outlet constraint, covering the
            lumped model's fit error.
        warm_start: start each solve from the previous plan moved ahead (a MIP start).
        first_time_limit_s: HiGHS time limit of the episode's first solve (default:
            ``time_limit_s``).
        backend: ``direct`` (default: one HiGHS model updated in place, see
            ``mpc/direct.py``; deterministic for a given sequence of solves) or ``appsi``
            (HiGHS rebuilt from the Pyomo model per solve). The branch and bound takes other
            paths in the two (column order), so the plans differ within the gap.
        explain: keep an :class:`~ecocontrol.controllers.mpc.duals.Explanation` of each
            decision in ``last_explanation`` (``direct`` backend). A MILP has no duals: the
            prices are those of the LP with the plan's schedule (the binaries) fixed
            (``duals="fixed_integers"``), i.e. marginal costs given that schedule:
            ``blast_heat`` per MILP period, the marginal cost of one more MWh of hot-blast
            heat [CNY/MWh], and ``stored_heat`` (stoves x periods), the value of one more MJ
            in a stove's checker at the period's end [CNY/MJ]; state value ``stored_mj`` (per
            stove, the first period's end). The binding constraints are read at the same
            solution (the fixed binaries are left out).
        true_model: build the model on the plant's true parameters (``model_access="true"``):
            an MPC re-identified on a drifted plant (:mod:`ecocontrol.envs.drift`). By default
            it keeps the nominal parameters the plant was designed with.
    """

    explain_time_axis = -1  # components are indexed (stove, period) or (period,)

    state_access: StateAccess = "full"
    exogenous_access: ExogenousAccess = "forecast"

    def __init__(
        self,
        env: gym.Env[Any, Any],
        *,
        horizon_h: float = 2.5,
        horizon_periods: int | None = None,
        period_min: float | None = None,
        perfect_forecast: bool = False,
        mip_gap: float = 0.02,
        time_limit_s: float = 60.0,
        replan_every: int | None = None,
        shortfall_weight: float = 30.0,
        outlet_margin_k: float = 35.0,
        warm_start: bool = False,
        first_time_limit_s: float | None = None,
        backend: str = "direct",
        work_limits: Mapping[str, int] | None = None,
        waste_gas_throttle: bool = True,
        plan_accounting: str | None = None,
        explain: bool = False,
        true_model: bool = False,
    ) -> None:
        if plan_accounting is not None and plan_accounting not in GAS_ACCOUNTING:
            raise ValueError(
                f"plan_accounting={plan_accounting!r}; allowed: None (the plant's) or one of "
                f"{GAS_ACCOUNTING}"
            )
        self.plan_accounting = plan_accounting
        require_finite_range("shortfall_weight", shortfall_weight, 0.0, 1e6)
        require_finite_range("outlet_margin_k", outlet_margin_k, 0.0, 200.0)
        self.shortfall_weight = float(shortfall_weight)
        self.outlet_margin_k = float(outlet_margin_k)
        if not isinstance(plant_of(env), HotStoveEnv):
            raise TypeError("HotStoveMPC needs a HotStoveEnv")
        # Declared before the base class builds the view (see the class docstring).
        self.exogenous_access: ExogenousAccess = "true" if perfect_forecast else "forecast"
        if true_model:  # re-identified: the true parameters of a drifted plant
            self.model_access = "true"
        view = self._view(env)
        p, dt_min = view.params, view.dt_min
        period = float(p.changeover_min if period_min is None else period_min)
        require_finite_range("period_min", period, dt_min, 120.0)
        k = period / dt_min
        if abs(k - round(k)) > 1e-9 or abs(p.changeover_min / period - 1.0) > 1e-9:
            raise ValueError(
                f"period_min={period}; allowed: a multiple of the env step {dt_min} min "
                f"equal to the changeover time {p.changeover_min} min"
            )
        if horizon_periods is None:
            require_finite_range("horizon_h", horizon_h, period / 60.0, 48.0)
            horizon_periods = round(horizon_h * 60.0 / period)
        require_finite_range("horizon_periods", horizon_periods, 2, 10_000)
        self.steps_per_period = round(k)
        self._lb = max(1, math.ceil(p.min_blast_min / period - 1e-9))
        self._lg = max(1, math.ceil(p.min_gas_min / period - 1e-9))
        self.period_min = period
        self.horizon_periods = int(horizon_periods)
        n_steps = self.horizon_periods * self.steps_per_period
        if not perfect_forecast and n_steps > view.forecast_steps:
            raise ValueError(
                f"horizon of {n_steps * dt_min} min exceeds the env's forecast horizon "
                f"{view.forecast_steps * dt_min} min; allowed: at most that, or "
                "perfect_forecast=True"
            )
        self.perfect_forecast = perfect_forecast
        self.lump = identify_lumped_model(p, dt_min)
        model = build_hot_stove_model(p, self.lump, self.horizon_periods, period)
        super().__init__(
            env,
            model,
            fallback=HotStoveRuleController(env),
            time_limit_s=time_limit_s,
            mip_gap=mip_gap,
            replan_every=self.steps_per_period if replan_every is None else replan_every,
            warm_start=warm_start,
            first_time_limit_s=first_time_limit_s,
            backend=backend,
            highs_options=dict(WORK_LIMITS if work_limits is None else work_limits),
            explain=explain,
        )
        self.waste_gas_throttle = waste_gas_throttle
        # The parameters the MILP prices fuel with (the plant's, under plan_accounting), built
        # once: the model, like its lumped fit, is the plant's at construction.
        self._plan_p = (
            p
            if plan_accounting is None or plan_accounting == p.gas_accounting
            else dataclasses.replace(p, gas_accounting=plan_accounting)
        )
        self._plant_mode = np.zeros(p.n_stoves, dtype=np.int64)
        self._masked_from = self.horizon_periods

    def _explain_step_h(self) -> float:
        return self.period_min / 60.0

    def _explain_prices(
        self, solved: SolvedModel
    ) -> tuple[dict[str, np.ndarray], dict[str, str], dict[str, Any]]:
        """Marginal cost of blast heat per period and values of the stoves' stored heat."""
        m, n_t = self.model, self.horizon_periods
        period_h = self.period_min / 60.0
        # demand[t]: sum of the stoves' blast heat d [MW] (+ shortfall) = the demand [MW].
        blast = np.array([solved.marginal(m.demand[t], m.d[0, t]) for t in range(n_t)])
        # energy[s, t]: E[s, t+1] = ... [GJ]; per MJ is per GJ / 1000.
        stored = -np.array(
            [[solved.marginal(m.energy[s, t], m.E[s, t + 1]) for t in range(n_t)] for s in m.S]
        )
        prices = {"blast_heat": blast / period_h, "stored_heat": stored / 1e3}
        units = {"blast_heat": "CNY/MWh", "stored_heat": "CNY/MJ"}
        return prices, units, {"stored_mj": stored[:, 0] / 1e3}

    def _to_action(self, row: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        """The plan row, its firing capped by the rule's waste-gas throttle (measured)."""
        if not self.waste_gas_throttle:
            return row
        st = info["state"]
        _, cap, _ = staggered_cycle_command(
            np.asarray(st["mode"])[None, :],
            np.asarray(st["time_in_mode_min"])[None, :],
            np.asarray(st["waste_gas_c"])[None, :],
            self.view.params,
        )
        n = self.view.params.n_stoves
        out = row.copy()
        out[n : 2 * n] = np.minimum(row[n : 2 * n], cap[0])
        return out

    def reset(self, env: gym.Env[Any, Any], seed: int | None = None) -> None:
        """Forget the plan, counters and the rich-gas tally."""
        if not isinstance(plant_of(env), HotStoveEnv):
            raise TypeError("HotStoveMPC needs a HotStoveEnv")
        super().reset(env, seed)

    def act(self, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        """Note the plant's modes, then re-plan or play the plan (see the base class)."""
        self._plant_mode = np.asarray(info["state"]["mode"]).copy()
        return super().act(obs, info)

    def _demand(self, info: dict[str, Any]) -> dict[str, np.ndarray]:
        n = self.horizon_periods * self.steps_per_period
        if self.perfect_forecast:
            series = self.view.true_window(self.view.t, n)
        else:
            series = {k: v[:n] for k, v in info["forecast"].items()}
        k = self.steps_per_period
        out = {}
        for name, v in series.items():
            v = np.resize(v, n) if len(v) < n else v  # wrap if the forecast is short
            out[name] = v.reshape(self.horizon_periods, k).mean(axis=1)
        return out

    def _update(self, obs: np.ndarray, info: dict[str, Any]) -> None:
        m, view, p = self.model, self.view, self.view.params
        st = info["state"]
        mode = np.asarray(st["mode"])
        tim = np.asarray(st["time_in_mode_min"])
        period = self.period_min
        n_t = self.horizon_periods
        stored = np.asarray(st["stored_mj"]) / 1e3
        # Outlet threshold anchored on each checker's measured profile: the stored heat at
        # which the outlet would fall to the nominal set point if blown from now on.
        temps = view.full_state().temp_c[0]
        usable = usable_heat_gj(p, temps, p.hot_blast_setpoint_c, view.dt_min)
        # A blow-off at the current profile: vented blast [Nm3] and heat [GJ] per stove.
        h_cb = float(AIR.enthalpy(p.cold_blast_c))
        vent_nm3, vent_kj = blowoff(temps, np.ones(p.n_stoves, dtype=bool), p, h_cb)
        vent_gj = vent_kj.sum(axis=-1) / 1e6
        short_k = np.maximum(p.hot_blast_setpoint_c - np.asarray(st["top_c"]), 0.0)
        ereq = np.where(usable > 0.0, stored - usable, stored + self.lump.e_req_per_k * short_k)
        ereq = np.clip(ereq, 0.0, E_REQ_MAX_GJ)
        for s in range(p.n_stoves):
            m.e0[s] = float(stored[s])
            m.r0[s] = 0.0  # rich gas already fired is in the measured profile
            m.ereq[s] = float(ereq[s])
            m.b_prev[s] = float(mode[s] == BLAST)
            m.g_prev[s] = float(mode[s] == GAS)
            m.e_vent[s] = float(vent_gj[s])
            fb = np.zeros(n_t)
            nb = np.zeros(n_t)
            fg = np.zeros(n_t)
            ng = np.zeros(n_t)
            if mode[s] == BLAST:
                keep = math.ceil((p.min_blast_min - tim[s]) / period - 1e-9)
                fb[: max(keep, 0)] = 1.0
            elif mode[s] == GAS:
                keep = math.ceil((p.min_gas_min - tim[s]) / period - 1e-9)
                fg[: max(keep, 0)] = 1.0
            else:  # changing over: period 0 is the changeover, then the target mode
                nb[0] = ng[0] = 1.0
                if mode[s] == TO_BLAST:
                    fb[1 : 1 + math.ceil(p.min_blast_min / period - 1e-9)] = 1.0
                else:
                    fg[1 : 1 + math.ceil(p.min_gas_min / period - 1e-9)] = 1.0
            for t in range(n_t):
                m.force_b[s, t] = fb[t]
                m.forbid_b[s, t] = nb[t]
                m.force_g[s, t] = fg[t]
                m.forbid_g[s, t] = ng[t]
        dem = self._demand(info)
        flow = dem["flow_nm3_min"] / 60.0
        sp = dem["setpoint_c"]
        heat = flow * (AIR.enthalpy(sp) - h_cb) / 1e3
        per_k = flow * AIR.cp(sp) / 1e3
        carbon = view.carbon_price_cny_per_t
        coke_per_k = p.coke_rate_kg_per_thm_k / 1e3 * dem["flow_nm3_min"] / p.blast_per_thm_nm3
        pen = period * (
            coke_per_k * (p.coke_price_cny_per_t + carbon * p.coke_co2_t_per_t)
            + p.shortfall_penalty_cny_per_k_min
        )
        left = (view.episode_steps - view.step_index) / self.steps_per_period
        end = min(n_t, max(1, round(left)))
        for t in range(n_t):
            live = float(t < end)
            m.dem[t] = float(heat[t]) * live
            m.dem_per_k[t] = float(per_k[t])
            m.sp_off[t] = float(sp[t] - p.hot_blast_setpoint_c) + self.outlet_margin_k
            m.pen[t] = float(pen[t]) * live * self.shortfall_weight
            m.live[t] = live
        for t in range(n_t + 1):
            m.end_w[t] = float(t == end)
        self._mask_tail(end)
        self._set_bounds(heat * np.array([float(t < end) for t in range(n_t)]), stored)
        # Prices with carbon from the plant's scoring (under the planning accounting).
        plan_p = self._plan_p
        lean, rich = gas_values(plan_p)
        m.c_lean = lean.with_carbon(carbon)
        m.c_rich = rich.with_carbon(carbon)
        m.p_deficit, m.p_surplus = (v * 1e3 for v in inventory_value_cny_per_mj(plan_p, carbon))
        m.e_ref = float(st["stored0_mj"]) / 1e3
        # A blow-off's blower electricity with its grid CO2 (its vented heat is e_vent).
        mwh, cny = changeover_cost(p, vent_nm3.sum(axis=-1).mean())
        m.co_cost = float(cny + carbon * mwh * p.grid_factor_t_per_mwh)

    def _set_bounds(self, dem_mw: np.ndarray, stored_gj: np.ndarray) -> None:
        """Per-solve bounds: stored-heat floors, the outlet big-M and per-stove blast heat.

        No stove gives the blast more than the demand (``sum d + per_k short = dem``), so
        ``E[s, t+1] >= keep E[s, t] - dt dem[t]`` (less a vent per possible blow-off) from
        the measured ``E[s, 0]``; the outlet constraint's big-M is the most its right side can
        exceed that floor (the old constant, about 6,700 GJ, was 3-4 times the stored heat).
        """
        m, lump = self.model, self.lump
        dt_s = 60.0 * self.period_min
        keep = 1.0 - lump.loss_per_s * dt_s
        per_k = lump.e_req_per_k
        spacing = self._lb + self._lg + 2  # blow-offs are a blast and a gas stint apart
        for s in m.S:
            floor = max(float(stored_gj[s]), 0.0)
            m.elb[s, 0] = floor
            ereq = float(pyo.value(m.ereq[s]))
            vent = float(pyo.value(m.e_vent[s]))
            for t in range(self.horizon_periods):
                vent_t = vent if t % spacing == 0 else 0.0
                floor = max(keep * floor - dt_s / 1e3 * float(dem_mw[t]) - vent_t, 0.0)
                m.elb[s, t + 1] = floor
                rhs = ereq + per_k * max(float(pyo.value(m.sp_off[t])), 0.0)
                m.big_out[s, t] = max(rhs - floor, 0.0)
        for t in range(self.horizon_periods):
            m.dem_max[t] = float(dem_mw[t])

    def _mask_tail(self, end: int) -> None:
        """Drop the periods past the episode's end from the MILP.

        Their constraints are deactivated and their variables fixed at 0, so HiGHS sees
        only the live periods (the oracle's model shrinks as the episode runs out).
        """
        if end == self._masked_from:
            return
        m = self.model
        for con in m.component_objects(pyo.Constraint, active=None):
            if not con.is_indexed():
                continue
            for idx in con:
                t = idx[-1] if isinstance(idx, tuple) else idx
                # These two look one period ahead: at the last live period they would tie
                # the plan to the (dropped) next one, so they go with it, as at the horizon.
                nxt = t + 1 if con.local_name in ("no_reblast", "co_purpose") else t
                con[idx].activate() if nxt < end else con[idx].deactivate()
        for var in (m.b, m.g, m.u, m.v, m.w, m.q, m.r, m.d, m.E, m.R):
            for idx in var:
                t = idx[-1]
                live = t <= end if var.local_name in ("E", "R") else t < end
                if live:
                    var[idx].unfix()
                else:
                    var[idx].fix(0.0, skip_validation=True)
        for t in m.T:
            m.short[t].unfix() if t < end else m.short[t].fix(0.0)
        self._masked_from = end

    def _shift_solution(self, steps: int) -> None:
        """Move the last plan ``steps // steps_per_period`` periods ahead, holding its end."""
        shift = steps // self.steps_per_period
        if shift <= 0:
            return
        m, n_t = self.model, self.horizon_periods
        for var in (m.b, m.g, m.u, m.v, m.w, m.q, m.r, m.d, m.E, m.R):
            last = max(t for _, t in var.index_set())
            for s in m.S:
                vals = [var[s, t].value for t in range(last + 1)]
                for t in range(last + 1):
                    if not var[s, t].fixed:
                        var[s, t].set_value(vals[min(t + shift, last)], skip_validation=True)
        vals = [m.short[t].value for t in range(n_t)]
        for t in range(n_t):
            if not m.short[t].fixed:
                m.short[t].set_value(vals[min(t + shift, n_t - 1)], skip_validation=True)

    def _read_plan(self) -> np.ndarray:
        m, p = self.model, self.view.params
        n, k, n_t = p.n_stoves, self.steps_per_period, self.horizon_periods
        b = np.array([[round(m.b[s, t].value) for t in range(n_t)] for s in range(n)])
        g = np.array([[round(m.g[s, t].value) for t in range(n_t)] for s in range(n)])
        q = np.array([[m.q[s, t].value for t in range(n_t)] for s in range(n)])
        r = np.array([[m.r[s, t].value for t in range(n_t)] for s in range(n)])
        plan = np.zeros((n_t * k, 3 * n))
        plan[:, :n] = -1.0
        for s in range(n):
            for t in range(n_t):
                was_blast = b[s, t - 1] if t > 0 else int(self._plant_mode[s] == BLAST)
                was_gas = g[s, t - 1] if t > 0 else int(self._plant_mode[s] == GAS)
                changing = b[s, t] == 0 and g[s, t] == 0
                to_blast = changing and was_gas and t + 1 < n_t and b[s, t + 1] == 1
                if (was_blast and b[s, t] == 0) or to_blast:
                    plan[t * k, s] = 1.0
                share = r[s, t] / q[s, t] if q[s, t] > 1e-6 else 0.0
                plan[t * k : (t + 1) * k, n + s] = q[s, t]
                plan[t * k : (t + 1) * k, 2 * n + s] = min(share, p.share_max)
        return plan


def make_hot_stove_mpc(env: gym.Env[Any, Any], **kwargs: Any) -> HotStoveMPC:
    """The hot-stove MILP MPC (see :class:`HotStoveMPC` for keyword arguments)."""
    return HotStoveMPC(env, **kwargs)


def make_hot_stove_oracle(
    env: gym.Env[Any, Any],
    time_limit_s: float = 600.0,
    first_time_limit_s: float | None = None,
    mip_gap: float = 0.01,
    replan_every: int | None = 30,
    work_limits: Mapping[str, int] | None = None,
    explain: bool = False,
) -> HotStoveMPC:
    """Whole-episode plan (reference): the same MILP over the whole episode on the true demand.

    It re-plans every 30 steps (three MILP periods; ``replan_every``) with the horizon reaching
    the episode's end (the periods past it are dropped), so the lumped model's mismatch is
    corrected by feedback as in the MPC. Every solve after the first starts from the previous
    plan (a MIP start). Like the MPC, its search is bounded by the gap and deterministic work
    limits; the time limit is only a safety net (a solve it stops is a counted failure). The
    MILP approximates the nonlinear plant and the search stops at a gap, so this is a
    reference, not a bound: the MPC can cost less on a window.
    """
    if not isinstance(plant_of(env), HotStoveEnv):
        raise TypeError("the hot-stove oracle needs a HotStoveEnv")
    view = PlantView(env)
    period = view.params.changeover_min
    periods = math.ceil(view.episode_steps * view.dt_min / period)
    return HotStoveMPC(
        env,
        horizon_periods=periods,
        perfect_forecast=True,
        time_limit_s=time_limit_s,
        first_time_limit_s=first_time_limit_s,
        warm_start=True,
        mip_gap=mip_gap,
        replan_every=replan_every,
        work_limits=ORACLE_WORK_LIMITS if work_limits is None else work_limits,
        explain=explain,
        true_model=True,
    )
