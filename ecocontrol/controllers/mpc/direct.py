"""A HiGHS model compiled once from a Pyomo model, updated in place at every solve.

The Pyomo model stays the single source of the formulation. :class:`DirectHighs` walks it
once: every variable becomes a HiGHS column, every constraint a row, with the linear
coefficients kept *symbolic* (``generate_standard_repn(compute_values=False)``), so a
coefficient, bound or cost that depends on a mutable parameter is recorded with its Pyomo
expression. Each solve re-evaluates only those expressions and pushes the values with
``changeCoeff``/``changeRowBounds``/``changeColBounds``/``changeColCost``; fixed variables and
deactivated constraints are honoured. HiGHS keeps its basis between solves (an LP warm
start), and a MIP start can be passed. This replaces APPSI's incremental updates, which were
measured to corrupt the model over an episode (``core`` module docstring): here nothing is
dropped because a coefficient happened to be zero when the model was built.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

import highspy
import numpy as np
import pyomo.environ as pyo
from pyomo.core.expr.numvalue import is_constant
from pyomo.repn import generate_standard_repn

INF = highspy.kHighsInf
_RETRY = (
    highspy.HighsModelStatus.kNotset,
    highspy.HighsModelStatus.kSolveError,
    highspy.HighsModelStatus.kUnknown,
)


_ACTIVE = attrgetter("active")
_FIXED = attrgetter("fixed")

_SUM = {"SumExpression", "LinearExpression", "NPV_SumExpression"}
_PROD = {"ProductExpression", "NPV_ProductExpression", "MonomialTermExpression"}
_DIV = {"DivisionExpression", "NPV_DivisionExpression"}
_NEG = {"NegationExpression", "NPV_NegationExpression"}
_POW = {"PowExpression", "NPV_PowExpression"}


class _Uncompilable(Exception):
    """An expression node the code generator does not translate (evaluated by Pyomo)."""


class _Compiled:
    """Evaluates many parameter expressions at once: one generated Python function.

    Pyomo's expression visitor costs tens of microseconds per expression; the generated
    function reads each mutable parameter once and evaluates the arithmetic directly.
    Expressions of other kinds fall back to ``pyo.value``.
    """

    def __init__(self, exprs: list[Any]) -> None:
        self.params: list[Any] = []
        self._slot: dict[int, int] = {}
        self.slow: list[tuple[int, Any]] = []
        parts = []
        for k, e in enumerate(exprs):
            try:
                parts.append(self._code(e))
            except (_Uncompilable, RecursionError):
                parts.append("0.0")
                self.slow.append((k, e))
        src = "def f(p):\n    return [\n" + ",\n".join(parts) + "]\n"
        ns: dict[str, Any] = {"inf": math.inf, "nan": math.nan}
        try:
            exec(compile(src, "<direct-highs>", "exec"), ns)
            self.fn = ns["f"]
        except (RecursionError, MemoryError, SyntaxError):  # too deep: evaluate one by one
            self.fn = lambda p: [0.0] * len(exprs)
            self.slow = list(enumerate(exprs))

    def _code(self, e: Any) -> str:
        if e is None:
            return "nan"
        if isinstance(e, numbers.Real):
            return f"({float(e)!r})"  # parenthesised: (-2.0)**p is not -2.0**p
        if e.is_expression_type():
            name = type(e).__name__
            args = [self._code(a) for a in e.args]
            if name in _SUM:
                return "(" + "+".join(args) + ")"
            if name in _PROD:
                return "(" + "*".join(args) + ")"
            if name in _DIV:
                return f"({args[0]}/{args[1]})"
            if name in _NEG:
                return f"(-{args[0]})"
            if name in _POW:
                return f"({args[0]}**{args[1]})"
            raise _Uncompilable(name)
        if e.is_parameter_type() and e.parent_component().mutable:
            slot = self._slot.setdefault(id(e), len(self.params))
            if slot == len(self.params):
                self.params.append(e)
            return f"p[{slot}]"
        if is_constant(e):
            return f"({float(pyo.value(e))!r})"
        raise _Uncompilable(type(e).__name__)

    def __call__(self) -> np.ndarray:
        out = np.array(self.fn([q.value for q in self.params]), dtype=float)
        for k, e in self.slow:
            out[k] = _num(e)
        return out


def _num(x: Any) -> float:
    """A bound or coefficient's value (None: unbounded)."""
    if x is None:
        return math.nan
    return float(pyo.value(x))


@dataclass
class DirectResult:
    """Outcome of one :meth:`DirectHighs.solve`.

    Attributes:
        ok: a usable solution was loaded into the Pyomo variables: optimal within the gap,
            or the incumbent of a search stopped by a deterministic work limit.
        time_limited: the wall-clock time limit stopped the search (never ``ok``: a plan
            that depends on the machine's speed is not used).
        objective: objective value of the loaded solution (None if not ok).
        status: HiGHS model status text.
        work_limited: a deterministic work limit (``mip_max_nodes``, ``mip_max_leaves``,
            ``mip_max_improving_sols``: HiGHS status ``kSolutionLimit``) stopped the search;
            with ``ok`` the incumbent was loaded.
    """

    ok: bool
    time_limited: bool
    objective: float | None
    status: str
    work_limited: bool = False


class DirectHighs:
    """Compile ``model`` (linear, minimised) into a highspy model kept for every solve."""

    def __init__(
        self, model: pyo.ConcreteModel, warm_basis: bool = True, pass_model: bool = False
    ) -> None:
        self.model = model
        self.warm_basis = warm_basis
        self.pass_model = pass_model
        self.vars = list(model.component_data_objects(pyo.Var, descend_into=True))
        col = {id(v): j for j, v in enumerate(self.vars)}
        self.h = highspy.Highs()
        self.h.setOptionValue("output_flag", False)
        n = len(self.vars)
        # Column bounds: constant ones once, mutable ones re-evaluated per solve.
        self.col_lb = np.full(n, -INF)
        self.col_ub = np.full(n, INF)
        self.mut_col: list[tuple[int, Any, Any]] = []
        integer = []
        for j, v in enumerate(self.vars):
            lo, up = v.lower, v.upper
            if (lo is not None and not is_constant(lo)) or (up is not None and not is_constant(up)):
                self.mut_col.append((j, lo, up))
            self.col_lb[j] = -INF if lo is None else _num(lo)
            self.col_ub[j] = INF if up is None else _num(up)
            if v.is_integer() or v.is_binary():
                integer.append(j)
        self.h.addVars(n, self.col_lb, self.col_ub)
        self.is_mip = bool(integer)
        if integer:
            idx = np.array(integer, dtype=np.int32)
            self.h.changeColsIntegrality(
                len(idx), idx, np.full(len(idx), highspy.HighsVarType.kInteger)
            )
        fixed = [v for v in self.vars if v.fixed]
        for v in fixed:  # fixed variables must stay columns, not constants
            v.unfix()
        try:
            self._add_rows(col)
            self._set_objective(col)
        finally:
            for v in fixed:
                v.fix()
        self._active = np.ones(len(self.cons), dtype=bool)
        # Each row's block and that block's ancestors, to read which rows are active without
        # walking the model every solve.
        where: dict[int, int] = {}
        self._chains: list[list[Any]] = []
        con_block = []
        for c in self.cons:
            b = c.parent_block()
            if id(b) not in where:
                where[id(b)] = len(self._chains)
                chain = []
                while b is not None:
                    chain.append(b)
                    b = b.parent_block()
                self._chains.append(chain)
            con_block.append(where[id(c.parent_block())])
        self._con_block = np.array(con_block, dtype=np.intp)
        self._fixed = np.zeros(n, dtype=bool)
        self._compile()
        self._lp = self._column_wise() if pass_model else None
        self.n_cold_retries = 0
        #: Row and column bounds HiGHS held at the last solve (inactive rows free, fixed
        #: columns at their value), for reading which constraints bind.
        self.row_bounds_now = (self.row_lb.copy(), self.row_ub.copy())
        self.col_bounds_now = (self.col_lb.copy(), self.col_ub.copy())

    def _add_rows(self, col: dict[int, int]) -> None:
        self.cons = list(self.model.component_data_objects(pyo.Constraint, descend_into=True))
        self.mut_coef: list[tuple[int, int, Any]] = []
        self.mut_row: list[tuple[int, Any, Any, Any]] = []
        self.row_lb = np.empty(len(self.cons))
        self.row_ub = np.empty(len(self.cons))
        self._entries: list[tuple[int, list[int], list[float]]] = []
        for i, con in enumerate(self.cons):
            repn = generate_standard_repn(con.body, compute_values=False, quadratic=False)
            if repn.nonlinear_expr is not None or repn.quadratic_vars:
                raise ValueError(f"constraint {con.name} is not linear")
            cols, vals = [], []
            for v, c in zip(repn.linear_vars, repn.linear_coefs, strict=True):
                j = col[id(v)]
                cols.append(j)
                vals.append(_num(c))
                if not is_constant(c):
                    self.mut_coef.append((i, j, c))
            const = repn.constant
            lo, up = con.lower, con.upper
            if not all(x is None or is_constant(x) for x in (lo, up, const)):
                self.mut_row.append((i, lo, up, const))
            self.row_lb[i], self.row_ub[i] = self._row_bounds(lo, up, const)
            self._entries.append((i, cols, vals))
            self.h.addRow(
                self.row_lb[i],
                self.row_ub[i],
                len(cols),
                np.array(cols, dtype=np.int32),
                np.array(vals, dtype=float),
            )

    def _set_objective(self, col: dict[int, int]) -> None:
        n = len(self.vars)
        (obj,) = list(self.model.component_data_objects(pyo.Objective, active=True))
        if obj.sense != pyo.minimize:
            raise ValueError("DirectHighs minimises; the objective must be minimised")
        repn = generate_standard_repn(obj.expr, compute_values=False, quadratic=False)
        if repn.nonlinear_expr is not None or repn.quadratic_vars:
            raise ValueError("the objective is not linear")
        self.cost = np.zeros(n)
        self.mut_cost: list[tuple[int, list[Any]]] = []
        terms: dict[int, list[Any]] = {}
        for v, c in zip(repn.linear_vars, repn.linear_coefs, strict=True):
            terms.setdefault(col[id(v)], []).append(c)
        for j, cs in terms.items():
            self.cost[j] = sum(_num(c) for c in cs)
            if not all(is_constant(c) for c in cs):
                self.mut_cost.append((j, cs))
        self.obj_const = repn.constant
        self.h.changeColsCost(n, np.arange(n, dtype=np.int32), self.cost)

    @staticmethod
    def _row_bounds(lo: Any, up: Any, const: Any) -> tuple[float, float]:
        c = _num(const) if const is not None else 0.0
        return (
            -INF if lo is None else _num(lo) - c,
            INF if up is None else _num(up) - c,
        )

    def _compile(self) -> None:
        """One evaluator for every parameter-dependent coefficient, bound and cost."""
        exprs: list[Any] = [c for _, _, c in self.mut_coef]
        for _, lo, up, const in self.mut_row:
            exprs += [lo, up, 0.0 if const is None else const]
        for _, lo, up in self.mut_col:
            exprs += [lo, up]
        for _, cs in self.mut_cost:
            exprs.append(sum(cs))
        exprs.append(0.0 if self.obj_const is None else self.obj_const)
        self._values = _Compiled(exprs)
        # Index arrays of what changes, built once.
        self._coef_rows = [i for i, _, _ in self.mut_coef]
        self._coef_cols = [j for _, j, _ in self.mut_coef]
        self._mut_rows = np.array([i for i, _, _, _ in self.mut_row], dtype=np.intp)
        self._mut_cols = np.array([j for j, _, _ in self.mut_col], dtype=np.intp)
        self._cost_cols = np.array([j for j, _ in self.mut_cost], dtype=np.int32)
        self._all_rows = np.arange(len(self.cons), dtype=np.int32)
        self._all_cols = np.arange(len(self.vars), dtype=np.int32)

    def _column_wise(self) -> highspy.HighsLp:
        """The model as HiGHS holds it, its matrix column-wise, for :meth:`_pass`.

        Also sets where each parameter-dependent coefficient sits in the matrix's values.
        """
        rows = np.concatenate([np.full(len(c), i) for i, c, _ in self._entries] + [[]])
        cols = np.concatenate([c for _, c, _ in self._entries] + [[]]).astype(np.intp)
        vals = np.concatenate([v for _, _, v in self._entries] + [[]])
        order = np.lexsort((rows, cols))  # by column, then row
        where = {(int(rows[p]), int(cols[p])): n for n, p in enumerate(order)}
        self._coef_pos = np.array(
            [where[i, j] for i, j in zip(self._coef_rows, self._coef_cols, strict=True)],
            dtype=np.intp,
        )
        self._a_value = vals[order]
        lp = self.h.getLp()
        a = lp.a_matrix_
        a.format_ = highspy.MatrixFormat.kColwise
        a.start_ = np.searchsorted(cols[order], np.arange(len(self.vars) + 1)).astype(np.int32)
        a.index_ = rows[order].astype(np.int32)
        a.value_ = self._a_value
        return lp

    def _pass(
        self,
        row_lb: np.ndarray,
        row_ub: np.ndarray,
        col_lb: np.ndarray,
        col_ub: np.ndarray,
        offset: float,
    ) -> None:
        """Hand HiGHS the whole updated model, then the basis it held (``pass_model``)."""
        lp, h = self._lp, self.h
        assert lp is not None
        lp.a_matrix_.value_ = self._a_value
        lp.col_cost_ = self.cost
        lp.col_lower_ = col_lb
        lp.col_upper_ = col_ub
        lp.row_lower_ = row_lb
        lp.row_upper_ = row_ub
        lp.offset_ = offset
        basis = h.getBasis()
        h.passModel(lp)
        if basis.valid:
            h.setBasis(basis)

    def update(self) -> None:
        """Push every value that may have changed since the last solve.

        Changed in place (``changeCoeff`` per coefficient, bounds and costs in one call each),
        or with ``pass_model`` as a whole new model plus the basis HiGHS held: cheaper when
        many coefficients change (HiGHS has no call for many coefficients; ~0.6 us per
        ``changeCoeff``), and the warm start is the same basis.
        """
        h = self.h
        lp = self._lp
        v = self._values()
        k = len(self._coef_rows)
        if lp is None:
            change = h.changeCoeff
            for i, j, val in zip(self._coef_rows, self._coef_cols, v[:k].tolist(), strict=True):
                change(i, j, val)
        else:
            self._a_value[self._coef_pos] = v[:k]
        if self.mut_row:
            rv = v[k : k + 3 * len(self.mut_row)].reshape(-1, 3)
            rows = self._mut_rows
            self.row_lb[rows] = np.where(np.isnan(rv[:, 0]), -INF, rv[:, 0] - rv[:, 2])
            self.row_ub[rows] = np.where(np.isnan(rv[:, 1]), INF, rv[:, 1] - rv[:, 2])
            k += 3 * len(self.mut_row)
        if self.mut_col:
            cv = v[k : k + 2 * len(self.mut_col)].reshape(-1, 2)
            cols = self._mut_cols
            self.col_lb[cols] = np.where(np.isnan(cv[:, 0]), -INF, cv[:, 0])
            self.col_ub[cols] = np.where(np.isnan(cv[:, 1]), INF, cv[:, 1])
            k += 2 * len(self.mut_col)
        if self.mut_cost:
            idx = self._cost_cols
            self.cost[idx] = v[k : k + len(idx)]
            if lp is None:
                h.changeColsCost(len(idx), idx, self.cost[idx])
            k += len(idx)
        offset = float(v[k])
        if lp is None:
            h.changeObjectiveOffset(offset)
        # Rows: deactivated constraints are free rows.
        # Active: the constraint and every block above it (a deactivated block's rows go too).
        on_block = np.array([all(b.active for b in chain) for chain in self._chains], dtype=bool)
        active = np.fromiter(map(_ACTIVE, self.cons), bool, len(self.cons))
        active &= on_block[self._con_block]
        lb = np.where(active, self.row_lb, -INF)
        ub = np.where(active, self.row_ub, INF)
        self.row_bounds_now = (lb, ub)
        if lp is None and (self.mut_row or not np.array_equal(active, self._active)):
            every = self._all_rows
            h.changeRowsBounds(len(every), every, lb, ub)  # type: ignore[attr-defined]
        self._active = active
        # Columns: fixed variables sit at their value.
        fixed = np.fromiter(map(_FIXED, self.vars), bool, len(self.vars))
        clb, cub = self.col_lb, self.col_ub
        if self.mut_col or fixed.any() or self._fixed.any():
            val = np.zeros(len(self.vars))
            on = np.flatnonzero(fixed)
            val[on] = np.array([self.vars[j].value for j in on], dtype=float)
            clb = np.where(fixed, val, self.col_lb)
            cub = np.where(fixed, val, self.col_ub)
            if lp is None:
                h.changeColsBounds(len(self._all_cols), self._all_cols, clb, cub)
        self._fixed = fixed
        self.col_bounds_now = (clb, cub)
        if lp is not None:
            self._pass(lb, ub, clb, cub, offset)

    def set_start(self) -> None:
        """Hand HiGHS the variables' current values as a MIP start."""
        sol = highspy.HighsSolution()
        sol.col_value = [0.0 if v.value is None else float(v.value) for v in self.vars]
        sol.value_valid = True
        self.h.setSolution(sol)

    def solve(
        self,
        time_limit_s: float,
        mip_gap: float | None = None,
        warm_start: bool = False,
        options: Mapping[str, Any] | None = None,
    ) -> DirectResult:
        """Update, solve, and load a usable solution into the Pyomo variables.

        ``options`` are further HiGHS options set before the run (the deterministic work
        limits). A run stopped by the time limit is not usable; one stopped by a work limit
        (``kSolutionLimit``) is, if HiGHS holds a feasible solution.
        """
        h = self.h
        self.update()
        for key, val in (options or {}).items():
            h.setOptionValue(key, val)
        # Measured with highspy 1.15: an LP's time limit is checked against the run time
        # accumulated over every run of this Highs object, a MIP's against the current run
        # only. Without the offset a re-used LP model "times out" at once after enough solves.
        offset = 0.0 if self.is_mip else h.getRunTime()
        h.setOptionValue("time_limit", offset + float(time_limit_s))
        if mip_gap is not None:
            h.setOptionValue("mip_rel_gap", float(mip_gap))
        if self.is_mip or not self.warm_basis:
            # A MIP starts afresh from the updated model (and the MIP start); an LP keeps its
            # basis unless told not to (with ties, another basis can pick another optimum).
            h.clearSolver()
        if warm_start:
            self.set_start()
        run_status = h.run()
        status = h.getModelStatus()
        if run_status == highspy.HighsStatus.kError or status in _RETRY:
            # Seen on the kiln's whole-day LP: a warm (re-used basis) run ends in an error
            # that a cold run of the same model does not. Retry once without the old basis.
            self.n_cold_retries += 1
            h.clearSolver()
            h.setOptionValue("time_limit", (0.0 if self.is_mip else h.getRunTime()) + time_limit_s)
            if warm_start:
                self.set_start()
            run_status = h.run()
            status = h.getModelStatus()
        text = h.modelStatusToString(status)
        limited = status == highspy.HighsModelStatus.kTimeLimit
        work = status == highspy.HighsModelStatus.kSolutionLimit
        has_solution = h.getInfo().primal_solution_status == 2  # kSolutionStatusFeasible
        ok = status == highspy.HighsModelStatus.kOptimal or (work and has_solution)
        if not ok:
            return DirectResult(
                False, limited, None, f"{text} (run returned {run_status})", work_limited=work
            )
        x = h.getSolution().col_value
        for v, val in zip(self.vars, x, strict=True):
            v.set_value(val, skip_validation=True)
        objective = float(h.getInfo().objective_function_value)
        return DirectResult(True, False, objective, text, work_limited=work)


def fixed_integer_lp(h: highspy.Highs) -> highspy.Highs | None:
    """The solved MIP ``h`` as an LP with its integer columns fixed at their values, solved.

    A MILP has no dual prices; with the integer decisions (the schedule) fixed, the LP over
    the continuous ones has, and its duals are the marginal costs *given that schedule*.
    Returns ``None`` if that LP does not solve to optimality.
    """
    lp = h.getLp()
    x = np.asarray(h.getSolution().col_value, dtype=float)
    integer = np.flatnonzero(
        np.asarray([v == highspy.HighsVarType.kInteger for v in lp.integrality_], dtype=bool)
    )
    lower = np.asarray(lp.col_lower_, dtype=float)
    upper = np.asarray(lp.col_upper_, dtype=float)
    lower[integer] = upper[integer] = np.round(x[integer])
    lp.col_lower_, lp.col_upper_ = lower, upper
    lp.integrality_ = []
    fixed = highspy.Highs()
    fixed.setOptionValue("output_flag", False)
    fixed.passModel(lp)
    fixed.run()
    if fixed.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    return fixed
