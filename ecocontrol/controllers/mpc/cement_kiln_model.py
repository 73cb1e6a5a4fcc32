"""The kiln MPC's model: the plant's functions linearised, and the Pyomo LP built on them.

:class:`KilnModel` evaluates the plant's own functions (:mod:`ecocontrol.envs.cement_kiln`)
on batches of operating points, so the MPC differentiates the one physics implementation
numerically; :func:`build_kiln_model` builds the LP once, with mutable parameters that
:class:`~ecocontrol.controllers.mpc.cement_kiln.KilnMPC` updates before every solve.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

import numpy as np
import pyomo.environ as pyo

from ecocontrol.envs.cement_kiln import (
    M_CACO3,
    NM3_PER_KMOL,
    CementKilnParams,
    Heats,
    KilnDesign,
    burning_zone_terms,
    calciner_balance,
    calciner_discharge,
    grate_cooler,
    kiln_combustion,
    kiln_design,
    kiln_gas_temp,
    nox_mg_nm3,
)

_D = TypeVar("_D")


def _head(rows: _D, b: int) -> _D:
    """A dataclass of per-row arrays (row axis last) cut to its first ``b`` rows."""
    fields = dataclasses.fields(rows)  # type: ignore[arg-type]
    return dataclasses.replace(
        rows,  # type: ignore[type-var]
        **{f.name: getattr(rows, f.name)[..., :b] for f in fields},
    )


def nonzero(x: float, tiny: float = 1e-6) -> float:
    """``x`` kept at least ``tiny`` away from 0 (HiGHS drops near-zero matrix entries)."""
    return float(x) if abs(x) >= tiny else (tiny if x >= 0 else -tiny)


class KilnModel:
    """The plant's functions at one operating point, for numerical linearisation.

    Every method evaluates rows of points at once through the plant's batched physics (one
    call per linearisation instead of one per perturbed point); the physics is elementwise
    in the batch, so a row gives the same numbers as a batch of one.
    """

    def __init__(self, p: CementKilnParams) -> None:
        self.p = p
        self.d: KilnDesign = kiln_design(p)

    @staticmethod
    def _rows(u: np.ndarray, n: int) -> np.ndarray:
        """LP inputs as (4, n): a single (4,) point is repeated, rows (n, 4) are transposed."""
        u = np.asarray(u, dtype=float)
        return np.broadcast_to(u[:, None], (4, n)) if u.ndim == 1 else u.T

    def _kiln(
        self, u: np.ndarray, bz: np.ndarray, pipe0: tuple[np.ndarray, ...], lhv: float
    ) -> tuple[Any, np.ndarray]:
        """Kiln combustion and the burning zone's heat rate [MW], inputs ``u`` (4, B)."""
        p, d = self.p, self.d
        fan = u[3]
        solids, caco3_left, temp, clinker = pipe0
        cooler = grate_cooler(bz, clinker, fan, p, d)
        kiln = kiln_combustion(
            u[0] * lhv, fan, caco3_left * NM3_PER_KMOL / M_CACO3, p, d, cooler.secondary_c
        )
        bz_in, bz_out = burning_zone_terms(
            bz, kiln, fan, solids, caco3_left, temp, clinker, p, d, cooler
        )
        self._cooler = cooler
        return kiln, np.asarray(sum(bz_in.values()) - sum(bz_out.values()))

    def bz_rates(
        self,
        u: np.ndarray,
        bz: Any,
        pipe0: tuple[Any, Any, Any, Any],
        lhv: tuple[float, float] = (1.0, 1.0),
    ) -> np.ndarray:
        """The burning zone's heat rate [MW] only (no calciner solve), per row.

        ``u`` is one point (4,) or rows (B, 4); ``bz`` and the pipeline entry ``pipe0``
        (solids, CaCO3 left, temperature, clinker) are scalars or (B,) arrays.
        """
        b = max(np.size(x) for x in (bz, *pipe0)) if np.ndim(u) == 1 else len(u)
        rows = tuple(np.broadcast_to(np.asarray(x, dtype=float), (b,)) for x in pipe0)
        bz_b = np.broadcast_to(np.asarray(bz, dtype=float), (b,))
        return self._kiln(self._rows(u, b), bz_b, rows, lhv[0])[1]

    def bz_rate(
        self,
        u: np.ndarray,
        bz: float,
        pipe0: tuple[float, float, float, float],
        lhv: tuple[float, float] = (1.0, 1.0),
    ) -> float:
        """The burning zone's heat rate [MW] at one point."""
        return float(self.bz_rates(u, bz, pipe0, lhv)[0])

    def outputs_rows(
        self,
        u: np.ndarray,
        feed: np.ndarray,
        lsf: float,
        bz: np.ndarray,
        pipe0: tuple[float, float, float, float],
        tc_guess: float,
        lhv: tuple[float, float] = (1.0, 1.0),
        rate_rows: tuple[np.ndarray, float, tuple[np.ndarray, ...]] | None = None,
    ) -> dict[str, np.ndarray]:
        """Calciner temperature, BZ heat rate [MW], O2s and NOx for rows ``u`` (B, 4).

        ``feed`` and ``bz`` are per row; the rest is shared by all rows. ``rate_rows``:
        further points ``(u (4,), bz, pipeline entries (4 arrays of B2))`` whose BZ heat rate
        alone is wanted (:meth:`bz_rates`), evaluated in the same kiln batch (the physics is
        elementwise) and returned as ``"rates"`` (B2,).
        """
        p, d = self.p, self.d
        b = len(u)
        ut = self._rows(u, b)
        heats = Heats(kiln=ut[0] * lhv[0], calciner_main=ut[1] * lhv[0], calciner_af=ut[2] * lhv[1])
        bz = np.asarray(bz, dtype=float)
        pipes = tuple(np.full(b, float(x)) for x in pipe0)
        more: dict[str, np.ndarray] = {}
        if rate_rows is None:
            kiln, rhs = self._kiln(ut, bz, pipes, lhv[0])
        else:
            u2, bz2, pipes2 = rate_rows
            b2 = len(pipes2[0])
            kiln, rhs = self._kiln(
                np.concatenate([ut, self._rows(u2, b2)], axis=1),
                np.concatenate([bz, np.full(b2, float(bz2))]),
                tuple(
                    np.concatenate([x, np.asarray(y, dtype=float)])
                    for x, y in zip(pipes, pipes2, strict=True)
                ),
                lhv[0],
            )
            more["rates"] = rhs[b:]
            kiln, rhs, self._cooler = _head(kiln, b), rhs[:b], _head(self._cooler, b)
        meal = np.asarray(feed, dtype=float) * p.meal_kg_s
        caco3 = meal * float(p.caco3_share(lsf))
        cal = calciner_balance(
            meal,
            caco3,
            heats,
            ut[3],
            kiln,
            kiln_gas_temp(bz, p),
            self._cooler,
            np.full(b, tc_guess),
            p,
            d,
        )
        return {
            "tc": cal.temp_c,
            "alpha": cal.degree,
            "rhs": rhs,
            "o2k": kiln.o2_pct,
            "o2c": cal.o2_pct,
            "nox": nox_mg_nm3(kiln.flame_c, kiln.o2_pct, p, d),
            **more,
        }

    def materials(self, tc: Any, feed: Any, lsf: float) -> tuple[Any, Any, Any, Any]:
        """Pipeline entries (solids, CaCO3 left, temperature, clinker) leaving the calciner.

        Elementwise in ``tc`` and ``feed`` (arrays of one shape).
        """
        p = self.p
        meal = np.asarray(feed, dtype=float) * p.meal_kg_s
        caco3 = meal * float(p.caco3_share(lsf))
        a = p.calcination(np.asarray(tc, dtype=float))[0]
        return calciner_discharge(meal, caco3, a, np.asarray(tc, dtype=float))


def build_kiln_model(
    p: CementKilnParams, n: int, dp: int, period_min: float, cfg: dict[str, Any]
) -> pyo.ConcreteModel:
    """The LP over ``n`` periods, the burning zone over ``n + dp`` (``dp`` = dead time).

    Decisions per period: kiln fuel heat ``qk``, calciner outlet set point ``tc`` and kiln-inlet
    O2 set point ``o2``. The calciner fuel and the fan speed that hold those set points are
    linear expressions (the plant's local inverse), priced in the objective.

    Written for the dual simplex's speed, with the same optimum as the plain formulation:
    single-variable limits (trust region, rate limits, the initial burning zone) are column
    bounds, not rows; a move is split into its up and down parts (one equality row instead of
    two inequalities on an absolute value); each soft range is one ranged row with a slack on
    either side; slacks exist only where a constraint uses them.
    """
    m = pyo.ConcreteModel(name="cement_kiln")
    m.K = pyo.RangeSet(0, n - 1)
    m.B = pyo.RangeSet(0, n + dp - 1)
    m.B1 = pyo.RangeSet(0, n + dp)
    mut = {"mutable": True, "initialize": 1.0}
    names = (
        "qk0",
        "tc0",
        "o20",
        "bz0",
        "feed0",
        "qc0",
        "fan0",
        "r0",
        "nox0",
        "c_tc",
        "c_qk",
        "c_o2",
        "c_f",
        "c_bz",
        "f_o2",
        "f_qk",
        "a_qk",
        "a_fan",
        "a_t",
        "m0",
        "m_t",
        "m_f",
        "n_qk",
        "n_fan",
        "p_qk",
        "p_qc",
        "p_fan",
        "qk_prev",
        "tc_prev",
        "o2_prev",
        "o2c0",
        "g_qk",
        "g_fan",
        "g_qc",
        "qk_lo",
        "qk_hi",
    )
    for name in names:
        setattr(m, name, pyo.Param(**mut))
    m.feed = pyo.Param(m.K, **mut)
    m.known = pyo.Param(m.B, **mut)
    m.bz_lo = pyo.Param(m.B1, **mut)
    m.bz_hi = pyo.Param(m.B1, **mut)

    tc_lo, tc_hi = cfg["tc_band"]
    o2_lo, o2_hi = cfg["o2_band"]
    m.qk = pyo.Var(m.K, bounds=(m.qk_lo, m.qk_hi))
    m.tc = pyo.Var(m.K, bounds=(tc_lo, tc_hi))
    m.o2 = pyo.Var(m.K, bounds=(o2_lo, o2_hi))
    m.bz = pyo.Var(m.B1, bounds=lambda m, b: (m.bz0, m.bz0) if b == 0 else (None, None))
    rate = cfg["rate"]
    m.up = pyo.Var(m.K, [0, 1, 2], bounds=lambda m, k, j: (0.0, rate[j]))
    m.dn = pyo.Var(m.K, [0, 1, 2], bounds=lambda m, k, j: (0.0, rate[j]))
    # Slack name -> its weight's name; the burning-zone band's slacks over the BZ horizon,
    # the others over the decisions'.
    slacks = {
        "lo": "lo",
        "hi": "hi",
        "nox": "nox",
        "qc_lo": "qc",
        "qc_hi": "qc",
        "fan_lo": "fan",
        "fan_hi": "fan",
        "o2c": "o2c",
    }
    m.S = pyo.Set(
        initialize=[(b, x) for b in m.B1 for x in slacks if x in ("lo", "hi") or b < n],
        dimen=2,
        ordered=True,
    )
    m.s = pyo.Var(m.S, within=pyo.NonNegativeReals)

    def dqk(m: Any, k: int) -> Any:
        return m.qk[min(k, n - 1)] - m.qk0

    def fan(m: Any, k: int) -> Any:
        k = min(k, n - 1)
        return m.fan0 + m.f_o2 * (m.o2[k] - m.o20) + m.f_qk * (m.qk[k] - m.qk0)

    def qc(m: Any, k: int) -> Any:
        return (
            m.qc0
            + m.c_tc * (m.tc[k] - m.tc0)
            + m.c_qk * (m.qk[k] - m.qk0)
            + m.c_o2 * (m.o2[k] - m.o20)
            + m.c_f * (m.feed[k] - m.feed0)
            + m.c_bz * (m.bz[k] - m.bz0)
        )

    # Soft ranges as one ranged row each: a slack below and one above (one of them is 0 at
    # the optimum, so the penalty is the distance outside the range, as with one slack).
    m.qc_range = pyo.Constraint(
        m.K,
        rule=lambda m, k: (
            p.calciner_heat_range_mw[0],
            qc(m, k) + m.s[k, "qc_lo"] - m.s[k, "qc_hi"],
            p.calciner_heat_range_mw[1],
        ),
    )
    m.fan_range = pyo.Constraint(
        m.K,
        rule=lambda m, k: (
            p.fan_speed_range[0],
            fan(m, k) + m.s[k, "fan_lo"] - m.s[k, "fan_hi"],
            p.fan_speed_range[1],
        ),
    )
    m.o2c = pyo.Constraint(
        m.K,
        rule=lambda m, k: (
            m.o2c0
            + m.g_qk * (m.qk[k] - m.qk0)
            + m.g_fan * (fan(m, k) - m.fan0)
            + m.g_qc * (qc(m, k) - m.qc0)
            >= cfg["o2c_min"] - m.s[k, "o2c"]
        ),
    )
    step = 60.0 * period_min / p.bz_heat_capacity_mj_per_k

    @m.Constraint(m.B)
    def burning_zone(m: Any, b: int) -> Any:
        if b < dp:
            material = m.known[b]
        else:
            material = m.m0 + m.m_t * (m.tc[b - dp] - m.tc0) + m.m_f * (m.feed[b - dp] - m.feed0)
        rate = (
            m.r0
            + m.a_qk * dqk(m, b)
            + m.a_fan * (fan(m, b) - m.fan0)
            + m.a_t * (m.bz[b] - m.bz0)
            + material
        )
        return m.bz[b + 1] == m.bz[b] + step * rate

    m.bz_band = pyo.Constraint(
        m.B1, rule=lambda m, b: (m.bz_lo[b], m.bz[b] + m.s[b, "lo"] - m.s[b, "hi"], m.bz_hi[b])
    )
    m.nox = pyo.Constraint(
        m.K,
        rule=lambda m, k: (
            m.nox0 + m.n_qk * dqk(m, k) + m.n_fan * (fan(m, k) - m.fan0)
            <= cfg["nox_max"] + m.s[k, "nox"]
        ),
    )
    prev = {0: (m.qk, "qk_prev"), 1: (m.tc, "tc_prev"), 2: (m.o2, "o2_prev")}

    @m.Constraint(m.K, [0, 1, 2])
    def move(m: Any, k: int, j: int) -> Any:
        var, p0 = prev[j]
        return var[k] - (getattr(m, p0) if k == 0 else var[k - 1]) == m.up[k, j] - m.dn[k, j]

    w, move_w = cfg["weights"], cfg["move"]
    m.cost = pyo.Objective(
        expr=sum(m.p_qk * m.qk[k] + m.p_qc * qc(m, k) + m.p_fan * fan(m, k) for k in m.K)
        + sum(move_w[j] * (m.up[k, j] + m.dn[k, j]) for k in m.K for j in (0, 1, 2))
        + sum(w[slacks[name]] * m.s[b, name] for b, name in m.S),
        sense=pyo.minimize,
    )
    return m
