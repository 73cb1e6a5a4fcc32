"""What an MPC's solve says about its decision: dual prices and binding constraints.

An MPC built with ``explain=True`` keeps, after each decision, an :class:`Explanation` of the
plan it plays (``controller.last_explanation``): the dual prices of the plant's balances per
horizon step, in physical units, the value of what it stores, and the constraints that bind.

Signs (HiGHS's convention, checked against finite differences in ``tests/test_explain.py``):

* a **price** of a balance is the change in the optimal planned cost per unit of *demand*
  added to that balance at that step, which is also the value of one more unit *supplied*
  there (the park's marginal cost of power: CNY per MWh of extra load in that hour);
* a **value** of a state (stored energy, burning-zone heat) is the fall in the optimal
  planned cost per unit added to that state for free, i.e. minus the derivative;
* a binding constraint's ``dual`` is the derivative of the optimal cost with respect to the
  bound that binds: <= 0 for a binding upper bound of a minimisation (relaxing it cannot
  cost more), >= 0 for a binding lower bound.

A dual is a derivative of the LP's optimal value, which is piecewise linear in a right-hand
side: where a perturbation crosses a breakpoint (a degenerate optimum) the left and right
derivatives differ and the dual is one of the values between them. The prices are those of
the MPC's model (forecasts, penalties and terminal values included), not of the plant.

A MILP (the hot stoves) has no duals: its explanation gives the duals of the LP left when its
integer decisions (the schedule) are fixed at the solution, i.e. the marginal costs *given
that schedule* (``duals="fixed_integers"``); its binding constraints are read at the same
solution.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:
    import highspy
    import pandas as pd

    from ecocontrol.controllers.mpc.direct import DirectHighs

#: Relative tolerance at which a row or bound counts as binding: ``|value - bound| <= tol *
#: (1 + |bound|)``.
BINDING_TOL = 1e-7

DualsKind = Literal["lp", "fixed_integers", "none"]


@dataclass(frozen=True)
class BindingConstraint:
    """A constraint (row) or variable bound at its limit in the solved plan.

    Attributes:
        name: the Pyomo name, e.g. ``balance[3]`` or ``energy[24]``.
        component: the Pyomo component, e.g. ``balance``.
        step: the horizon step (the component's time index), ``None`` for a scalar one.
        kind: ``"row"`` (a constraint) or ``"bound"`` (a variable's bound).
        side: ``"lower"`` or ``"upper"``.
        value: the row's activity (its variable part, constants moved to the bound) or the
            variable's value.
        bound: the bound it sits at (the same convention as ``value``).
        slack: ``|value - bound|`` (about 0).
        dual: d(optimal cost) / d(bound) [CNY per unit of the bound].
    """

    name: str
    component: str
    step: int | None
    kind: str
    side: str
    value: float
    bound: float
    slack: float
    dual: float


@dataclass
class Explanation:
    """What one solve of an MPC says about the plan it plays (see the module docstring).

    Attributes:
        controller: the MPC's class name.
        solved_at: the episode step of the solve.
        plan_age: decisions since that solve (0: solved for this decision).
        objective: the optimal planned cost [CNY, with the model's penalties].
        step_h: length of one horizon step [h] (the park's hour, the kiln's LP period, the
            hot stoves' MILP period).
        prices: per balance, one value per horizon step (see :attr:`units`); the horizon is
            the last axis (the hot stoves' stored heat is stoves x periods).
        units: the unit of each price.
        state_values: value of one more unit of a measured state (an ``info['state']`` key)
            at the end of the first horizon step [CNY per the state's unit]; a per-stove
            array for per-stove states.
        binding: constraints and bounds at their limits (nonnegativity at 0 is left out,
            except for the components an MPC declares in ``explain_zero_bounds``; so are
            fixed variables and rows of fixed variables only, e.g. a MILP's rows over its
            binaries once the schedule is fixed).
        duals: ``"lp"``, ``"fixed_integers"`` (a MILP's LP with its schedule fixed) or
            ``"none"`` (no duals could be read: prices and values are empty).
        steps_per_period: env steps per horizon step (1 for the park; the kiln's and the
            hot stoves' plans hold a period for several steps).
    """

    controller: str
    solved_at: int
    plan_age: int
    objective: float
    step_h: float
    prices: dict[str, np.ndarray]
    units: dict[str, str]
    state_values: dict[str, Any]
    binding: list[BindingConstraint] = field(repr=False)
    duals: DualsKind = "lp"
    steps_per_period: int = 1

    def now(self) -> dict[str, Any]:
        """Each price at the step being played (the horizon step holding ``plan_age``)."""
        k = self.plan_age // self.steps_per_period
        out: dict[str, Any] = {}
        for name, v in self.prices.items():
            if k >= v.shape[-1]:
                out[name] = float("nan")
            else:
                out[name] = float(v[k]) if v.ndim == 1 else v[..., k].copy()
        return out

    def binding_frame(self, min_abs_dual: float = 0.0) -> pd.DataFrame:
        """The binding constraints as a table (one row each).

        ``min_abs_dual`` > 0 keeps only those whose dual is at least that large: the limits
        that cost something at the margin (a limit met with a zero dual binds only weakly).
        """
        import pandas as pd

        cols = [f.name for f in dataclasses.fields(BindingConstraint)]
        rows = [dataclasses.astuple(b) for b in self.binding if abs(b.dual) >= min_abs_dual]
        return pd.DataFrame(rows, columns=cols)

    def binding_counts(
        self, steps: Iterable[int] | None = None, min_abs_dual: float = 0.0
    ) -> dict[str, int]:
        """How many rows and bounds bind per component (optionally only at ``steps``).

        Bounds count as ``"<variable> (<side> bound)"``; ``min_abs_dual`` as in
        :meth:`binding_frame`.
        """
        keep = None if steps is None else set(steps)
        out: dict[str, int] = {}
        for b in self.binding:
            if abs(b.dual) < min_abs_dual:
                continue
            if keep is None or b.step in keep:
                key = b.component if b.kind == "row" else f"{b.component} ({b.side} bound)"
                out[key] = out.get(key, 0) + 1
        return out


class SolvedModel:
    """The last solve of a :class:`DirectHighs` model, addressed by Pyomo component data.

    Args:
        direct: the compiled model (its rows and columns are the Pyomo model's).
        highs: the solved HiGHS object whose solution is read (``direct.h``, or the LP with a
            MILP's integers fixed).
    """

    def __init__(self, direct: DirectHighs, highs: highspy.Highs) -> None:
        self.direct = direct
        sol = highs.getSolution()
        self.row_dual = np.asarray(sol.row_dual, dtype=float)
        self.row_value = np.asarray(sol.row_value, dtype=float)
        self.col_value = np.asarray(sol.col_value, dtype=float)
        self.col_dual = np.asarray(sol.col_dual, dtype=float)
        if not sol.dual_valid:
            self.row_dual = np.full_like(self.row_value, np.nan)
            self.col_dual = np.full_like(self.col_value, np.nan)
        lp = highs.getLp()
        self.col_lb = np.asarray(lp.col_lower_, dtype=float)
        self.col_ub = np.asarray(lp.col_upper_, dtype=float)
        self.row_lb, self.row_ub = direct.row_bounds_now
        self._index = _ModelIndex.of(direct)

    def marginal(self, con: Any, var: Any) -> float:
        """d(optimal cost) / d(``var`` forced up by one unit, the row's other terms unchanged).

        ``var`` must enter the row ``con`` with a coefficient of +-1 that does not depend on
        a parameter. For a balance ``supply == demand`` with ``var`` a supply, this is the
        marginal cost of one more unit of demand; for a state equation ``x[t+1] == ...`` with
        ``var = x[t+1]``, the cost change per unit of ``x`` added for free (minus its value).
        """
        ix = self._index
        i = ix.row[id(con)]
        a = ix.coef(i, ix.col[id(var)])
        return float(self.row_dual[i] * a)

    def reduced_cost(self, var: Any) -> float:
        """d(optimal cost) / d(the bound ``var`` sits at) (0 if it sits at none)."""
        return float(self.col_dual[self._index.col[id(var)]])

    def binding(
        self, time_axis: int = 0, zero_bounds: tuple[str, ...] = (), tol: float = BINDING_TOL
    ) -> list[BindingConstraint]:
        """Inequality rows and variable bounds at their limits (equalities always bind).

        Variables' zero lower bounds are left out (nonnegativity: a flow that is off) except
        for the components named in ``zero_bounds`` (e.g. an empty store); fixed variables
        are left out.
        """
        ix = self._index
        out: list[BindingConstraint] = []
        lb, ub, x = self.row_lb, self.row_ub, self.row_value
        clb, cub, v = self.col_lb, self.col_ub, self.col_value
        free = clb != cub
        ranged = (lb != ub) & ix.rows_with(free)
        for side, bound in (("lower", lb), ("upper", ub)):
            on = np.flatnonzero(
                ranged & np.isfinite(bound) & (np.abs(x - bound) <= tol * (1.0 + np.abs(bound)))
            )
            for i in on.tolist():
                name, comp, step = ix.row_names(i, time_axis)
                out.append(
                    BindingConstraint(
                        name,
                        comp,
                        step,
                        "row",
                        side,
                        float(x[i]),
                        float(bound[i]),
                        float(abs(x[i] - bound[i])),
                        float(self.row_dual[i]),
                    )
                )
        for side, bound in (("lower", clb), ("upper", cub)):
            at = free & np.isfinite(bound) & (np.abs(v - bound) <= tol * (1.0 + np.abs(bound)))
            if side == "lower":
                at &= (bound != 0.0) | ix.zero_bound_mask(zero_bounds)
            for j in np.flatnonzero(at).tolist():
                name, comp, step = ix.col_names(j, time_axis)
                out.append(
                    BindingConstraint(
                        name,
                        comp,
                        step,
                        "bound",
                        side,
                        float(v[j]),
                        float(bound[j]),
                        float(abs(v[j] - bound[j])),
                        float(self.col_dual[j]),
                    )
                )
        return out


class _ModelIndex:
    """Row and column lookups of one compiled model, built once and kept on it."""

    def __init__(self, direct: DirectHighs) -> None:
        self.direct = direct
        self.row = {id(c): i for i, c in enumerate(direct.cons)}
        self.col = {id(v): j for j, v in enumerate(direct.vars)}
        self._coefs: dict[int, dict[int, float]] = {}
        self._param_coef = {(i, j) for i, j, _ in direct.mut_coef}
        self._zero: dict[tuple[str, ...], np.ndarray] = {}
        self.col_component = np.array([v.parent_component().local_name for v in direct.vars])
        # The matrix's pattern: the row of each entry and its column.
        self._entry_row = np.concatenate(
            [np.full(len(cols), i, dtype=np.intp) for i, cols, _ in direct._entries] + [[]]
        ).astype(np.intp)
        self._entry_col = np.concatenate(
            [np.asarray(cols, dtype=np.intp) for _, cols, _ in direct._entries] + [[]]
        ).astype(np.intp)

    @classmethod
    def of(cls, direct: DirectHighs) -> _ModelIndex:
        found: _ModelIndex | None = getattr(direct, "_explain_index", None)
        if found is None:
            found = cls(direct)
            direct._explain_index = found  # type: ignore[attr-defined]
        return found

    def coef(self, i: int, j: int) -> float:
        if (i, j) in self._param_coef:
            raise ValueError(
                f"{self.direct.vars[j].name} enters {self.direct.cons[i].name} with a "
                "parameter-dependent coefficient; a marginal needs a constant +-1"
            )
        if i not in self._coefs:
            _, cols, vals = self.direct._entries[i]
            self._coefs[i] = dict(zip(cols, vals, strict=True))
        a = self._coefs[i].get(j)
        if a is None or abs(abs(a) - 1.0) > 1e-12:
            raise ValueError(
                f"{self.direct.vars[j].name} enters {self.direct.cons[i].name} with "
                f"coefficient {a}; a marginal needs +-1"
            )
        return float(a)

    def rows_with(self, columns: np.ndarray) -> np.ndarray:
        """Rows holding at least one of the marked columns."""
        hits = np.bincount(
            self._entry_row,
            weights=columns[self._entry_col].astype(float),
            minlength=len(self.direct.cons),
        )
        return hits > 0

    def zero_bound_mask(self, names: tuple[str, ...]) -> np.ndarray:
        if names not in self._zero:
            self._zero[names] = np.isin(self.col_component, list(names))
        return self._zero[names]

    @staticmethod
    def _names(data: Any, time_axis: int) -> tuple[str, str, int | None]:
        idx = data.index()
        if isinstance(idx, tuple):
            t = idx[time_axis]
        else:
            t = idx
        step = int(t) if isinstance(t, int | np.integer) else None
        return str(data.name), str(data.parent_component().local_name), step

    def row_names(self, i: int, time_axis: int) -> tuple[str, str, int | None]:
        return self._names(self.direct.cons[i], time_axis)

    def col_names(self, j: int, time_axis: int) -> tuple[str, str, int | None]:
        return self._names(self.direct.vars[j], time_axis)
