"""Rolling-horizon MPC machinery shared by every plant's Pyomo model.

One Pyomo model is built once per controller; each decision pushes the changed mutable
parameters (state, forecasts, prices) and solves it with HiGHS. Two backends:

* ``direct`` (default): the Pyomo model is compiled once into a highspy model whose
  parameter-dependent coefficients, bounds and costs are re-evaluated and changed in place at
  every solve (:mod:`ecocontrol.controllers.mpc.direct`); HiGHS keeps its basis. It gives
  the same episodes as a fresh build (tested) at a fraction of the time (park MPC 1.75 ms
  against 20.5 ms median per solve).
* ``appsi``: Pyomo's APPSI interface; the HiGHS model is rebuilt from the Pyomo model at
  every solve, because APPSI's incremental (persistent) updates were measured to corrupt the
  HiGHS model over an episode (the park MPC's 11-window mean cost was 1.818 MCNY and
  differed between identical runs, against a reproducible 1.732 MCNY with a fresh
  interface). ``persistent=True`` keeps that incremental path for experiments.

``warm_start=True`` hands HiGHS the previous solution, moved ahead by the plant's own
:meth:`_shift_solution`, as a MIP start (HiGHS completes it by an LP over the continuous
variables).

Results never depend on wall time: a MILP's search is bounded by deterministic work (the
relative gap and HiGHS's ``mip_max_nodes``/``mip_max_leaves``/``mip_max_improving_sols``,
passed as ``highs_options``); a search stopped by such a limit with a feasible incumbent is
used and counted in ``n_work_limited``. The time limit is only a safety net: a solve it stops
is a failure (counted in ``n_time_limited`` and ``n_failures``), whatever incumbent HiGHS
holds, because that incumbent depends on the machine's speed and load. On a failure the
controller plays the previous plan shifted by the steps since it was made, and if none is
left it asks its fallback (the plant's rule controller). Every failure is counted and logged;
a failure never stops an episode.

The perfect-foresight optimum ("oracle") is the same machinery with the true series over the
whole episode, solved once at the first step (``replan_every = episode_steps``).

With ``explain=True`` (``direct`` backend) each decision leaves an
:class:`~ecocontrol.controllers.mpc.duals.Explanation` of the plan being played in
``last_explanation``: the dual prices of the plant's balances, the values of its stores and
the binding constraints (:mod:`ecocontrol.controllers.mpc.duals`). It is off by default: it
reads the whole solution after every solve (and, for a MILP, solves the LP with its integers
fixed).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
import pyomo.environ as pyo
from pyomo.contrib.appsi.base import TerminationCondition
from pyomo.contrib.appsi.solvers import Highs

from ecocontrol.controllers.base import (
    Controller,
    ExogenousAccess,
    ModelAccess,
    PlantView,
    StateAccess,
)
from ecocontrol.controllers.mpc.direct import DirectHighs, fixed_integer_lp
from ecocontrol.controllers.mpc.duals import DualsKind, Explanation, SolvedModel
from ecocontrol.emissions import require_finite_range

log = logging.getLogger(__name__)

_OK = (TerminationCondition.optimal,)


class RollingHorizonMPC:
    """Base class: persistent solve, plan bookkeeping, fallback and counters.

    Subclasses implement :meth:`_update` (push parameters for the coming decision) and
    :meth:`_read_plan` (the solved physical actions, shape ``(horizon, n_actions)``).

    Attributes:
        n_solves: solver calls this episode.
        n_failures: failed or timed-out solves this episode (each one fell back).
        n_fallback_rule: decisions handed to the fallback controller this episode.
        n_time_limited: solves stopped by the time limit (failures: never used).
        n_work_limited: solves stopped by a deterministic work limit with a feasible
            incumbent (used).
        solve_times_s: wall time of each solver call this episode [s].
        last_explanation: with ``explain=True``, the :class:`Explanation` of the plan played
            at the last decision (``None`` before the first solve and after a decision
            handed to the fallback controller).
    """

    #: What the controller reads beyond the observation (see :class:`PlantView`); a
    #: subclass or instance that needs more declares it before ``__init__`` builds the view.
    state_access: StateAccess = "measured"
    exogenous_access: ExogenousAccess = "forecast"
    #: ``"true"`` for a model built on the true parameters of a drifted plant (the oracle, or
    #: an MPC with ``true_model=True``: re-identified); a subclass sets it before the view.
    model_access: ModelAccess = "nominal"
    #: ``direct`` backend: pass the whole updated model to HiGHS at each solve instead of
    #: changing it in place (see :class:`DirectHighs`); for LPs with many changing coefficients.
    direct_pass_model: bool = False
    #: Explanations: where a component's index holds the horizon step (0: first, -1: last),
    #: and the variables whose zero lower bound is reported when it binds (an empty store).
    explain_time_axis: int = 0
    explain_zero_bounds: tuple[str, ...] = ()

    def __init__(
        self,
        env: gym.Env[Any, Any],
        model: pyo.ConcreteModel,
        *,
        fallback: Controller,
        time_limit_s: float = 5.0,
        mip_gap: float | None = None,
        replan_every: int = 1,
        persistent: bool = False,
        warm_start: bool = False,
        first_time_limit_s: float | None = None,
        backend: str = "direct",
        highs_options: Mapping[str, Any] | None = None,
        explain: bool = False,
    ) -> None:
        if explain and backend != "direct":
            raise ValueError(f"explain=True needs backend='direct', not {backend!r}")
        require_finite_range("time_limit_s", time_limit_s, 0.0, 3600.0, low_inclusive=False)
        require_finite_range("replan_every", replan_every, 1, 10**9)
        if first_time_limit_s is not None:
            require_finite_range("first_time_limit_s", first_time_limit_s, 0.0, 3600.0)
        if mip_gap is not None:
            require_finite_range("mip_gap", mip_gap, 0.0, 1.0)
        self.view = self._view(env)
        self.model = model
        self.fallback = fallback
        self.replan_every = int(replan_every)
        if backend not in ("direct", "appsi"):
            raise ValueError(f"backend={backend!r}; allowed: 'direct' or 'appsi'")
        self.backend = backend
        self.persistent = persistent
        self._direct: DirectHighs | None = None
        self.warm_start = warm_start
        self.mip_gap = mip_gap
        self.highs_options = dict(highs_options or {})
        self.solver = self._new_solver()
        self.time_limit_s = float(time_limit_s)
        self.first_time_limit_s = first_time_limit_s
        self._plan: np.ndarray | None = None
        self._plan_age = 0
        self._since_attempt = 10**9
        self.objective_value: float | None = None
        self.n_solves = 0
        self.n_failures = 0
        self.n_fallback_rule = 0
        self.n_time_limited = 0
        self.n_work_limited = 0
        self.solve_times_s: list[float] = []
        self.explain = bool(explain)
        self.last_explanation: Explanation | None = None

    def _view(self, env: gym.Env[Any, Any]) -> PlantView:
        return PlantView(
            env,
            state_access=self.state_access,
            exogenous_access=self.exogenous_access,
            model_access=self.model_access,
        )

    # -- to implement -----------------------------------------------------------------------
    def _update(self, obs: np.ndarray, info: dict[str, Any]) -> None:
        raise NotImplementedError

    def _read_plan(self) -> np.ndarray:
        raise NotImplementedError

    def _shift_solution(self, steps: int) -> None:
        """Move the last solution's variable values ``steps`` env steps ahead (MIP start).

        Called before a warm-started solve; the default leaves the values as they are.
        """

    def _to_action(self, row: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        """Physical action for one plan row (identity; a plan of set points overrides it)."""
        return row

    def _explain_step_h(self) -> float:
        """Length of one horizon step [h] (for the explanation's prices)."""
        raise NotImplementedError

    def _explain_prices(
        self, solved: SolvedModel
    ) -> tuple[dict[str, np.ndarray], dict[str, str], dict[str, Any]]:
        """The plant's balance prices per horizon step, their units, and its state values.

        See :class:`~ecocontrol.controllers.mpc.duals.Explanation`; the default has none.
        """
        return {}, {}, {}

    def _new_solver(self) -> Highs:
        solver = Highs()
        solver.config.load_solution = False
        if self.mip_gap is not None:
            solver.config.mip_gap = self.mip_gap
        solver.config.warmstart = self.warm_start
        if self.highs_options:
            solver.highs_options = dict(self.highs_options)
        return solver

    # -- shared ------------------------------------------------------------------------------
    def reset(self, env: gym.Env[Any, Any], seed: int | None = None) -> None:
        """Forget the plan and the counters; reset the fallback."""
        self.view = self._view(env)
        self.fallback.reset(env, seed)
        self._plan = None
        self._plan_age = 0
        self._since_attempt = 10**9  # solve at the first decision
        self.objective_value = None
        self.n_solves = self.n_failures = self.n_fallback_rule = 0
        self.n_time_limited = self.n_work_limited = 0
        self.solve_times_s = []
        self.last_explanation = None
        if self._direct is not None and self._direct.is_mip:
            # A MILP's branch and bound carries state between runs of one HiGHS object
            # (measured: a 4-h window's cost moved by 0.6 % after another window ran first),
            # so each episode starts from a fresh model: an episode's result depends on its
            # window and seed only, whatever ran before (a resumed benchmark included).
            self._direct = None

    def solve(self) -> bool:
        """Solve the model as it stands; load the solution and return True if it is usable.

        Usable: optimal within the gap, or a feasible incumbent when a deterministic work
        limit stopped the search (counted in ``n_work_limited``). A solve stopped by the time
        limit is a failure (counted in ``n_time_limited``). Unless ``persistent``, the HiGHS
        interface is rebuilt from the (re-used) Pyomo model at every solve. HiGHS applies
        ``time_limit`` to each ``run()`` (measured with highspy 1.15: a 1 s limit stops three
        successive runs at 1 s each, while ``getRunTime`` accumulates).
        """
        self.n_solves += 1
        first = self.n_solves == 1 and self.first_time_limit_s is not None
        limit = self.first_time_limit_s if first else self.time_limit_s
        assert limit is not None
        if self.backend == "direct":
            return self._solve_direct(limit)
        if not self.persistent:
            self.solver = self._new_solver()
        self.solver.config.time_limit = limit
        t0 = time.perf_counter()
        try:
            res = self.solver.solve(self.model)
            tc = res.termination_condition
            ok = tc in _OK
            if tc == TerminationCondition.maxTimeLimit:
                self.n_time_limited += 1
            elif tc == TerminationCondition.maxIterations:  # HiGHS kSolutionLimit
                ok = res.best_feasible_objective is not None
                self.n_work_limited += int(ok)
            if ok:
                res.solution_loader.load_vars()
                self.objective_value = float(res.best_feasible_objective)
            else:
                log.warning("%s: solver ended with %s", type(self).__name__, tc)
        except Exception as exc:  # a solver crash must not end the benchmark
            log.warning("%s: solver raised %r", type(self).__name__, exc)
            ok = False
        self.solve_times_s.append(time.perf_counter() - t0)
        return ok

    def _solve_direct(self, limit: float) -> bool:
        t0 = time.perf_counter()
        try:
            if self._direct is None:
                self._direct = DirectHighs(self.model, pass_model=self.direct_pass_model)
            warm = self.warm_start and self._plan is not None
            res = self._direct.solve(
                limit, self.mip_gap, warm_start=warm, options=self.highs_options
            )
            self.n_time_limited += int(res.time_limited)
            self.n_work_limited += int(res.ok and res.work_limited)
            ok = res.ok
            if ok:
                self.objective_value = res.objective
            else:
                log.warning("%s: HiGHS ended with %s", type(self).__name__, res.status)
        except Exception as exc:  # a solver crash must not end the benchmark
            log.warning("%s: solver raised %r", type(self).__name__, exc)
            ok = False
        self.solve_times_s.append(time.perf_counter() - t0)
        return ok

    def act(self, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        """Re-plan when due; play the plan's first (or shifted) step; fall back on failure.

        A solve is due every ``replan_every`` decisions (and whenever no plan is left); after
        a failed solve the next attempt also waits ``replan_every`` decisions, so a model that
        keeps failing costs one time limit per period, not per step.
        """
        self._since_attempt += 1
        no_plan = self._plan is None or self._plan_age + 1 >= len(self._plan)
        if self._since_attempt >= self.replan_every or (no_plan and self._since_attempt > 1):
            self._since_attempt = 0
            self._update(obs, info)
            if self.warm_start and self._plan is not None:
                self._shift_solution(self._plan_age + 1)
            if self.solve():
                self._plan = self._read_plan()
                self._plan_age = 0
                if self.explain:
                    try:
                        self.last_explanation = self._explanation()
                    except Exception as exc:  # a diagnostic must not end the episode
                        log.warning("%s: no explanation: %r", type(self).__name__, exc)
                        self.last_explanation = None
                return self.view.scaler.to_normalized(self._to_action(self._plan[0], info))
            self.n_failures += 1
        if self._plan is not None and self._plan_age + 1 < len(self._plan):
            self._plan_age += 1
            if self.last_explanation is not None:
                self.last_explanation = dataclasses.replace(
                    self.last_explanation, plan_age=self._plan_age
                )
            return self.view.scaler.to_normalized(self._to_action(self._plan[self._plan_age], info))
        self.n_fallback_rule += 1
        self.last_explanation = None
        return self.fallback.act(obs, info)

    def _explanation(self) -> Explanation:
        """The explanation of the solve just loaded (the ``direct`` backend's solution)."""
        direct = self._direct
        assert direct is not None and self.objective_value is not None
        highs = direct.h
        kind: DualsKind = "lp"
        if direct.is_mip:
            fixed = fixed_integer_lp(direct.h)
            kind = "none" if fixed is None else "fixed_integers"
            highs = direct.h if fixed is None else fixed
        solved = SolvedModel(direct, highs)
        prices, units, values = self._explain_prices(solved) if kind != "none" else ({}, {}, {})
        return Explanation(
            controller=type(self).__name__,
            solved_at=self.view.step_index,
            plan_age=0,
            objective=float(self.objective_value),
            step_h=self._explain_step_h(),
            prices=prices,
            units=units,
            state_values=values,
            binding=solved.binding(self.explain_time_axis, self.explain_zero_bounds),
            duals=kind,
            steps_per_period=int(getattr(self, "steps_per_period", 1)),
        )
