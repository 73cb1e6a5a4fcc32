"""Benchmark results: the per-controller summary, the gap ladder and the gap decomposition.

:func:`summarize` turns a benchmark table (one row per controller and window, see
:func:`ecocontrol.runner.benchmark`) into one row per controller, in the order of
:func:`ladder_order`; :func:`write_results` writes a run's table and summary files.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ecocontrol.io import write_atomic

#: The information columns: what each controller knew (``controllers.base.information_of``).
INFORMATION_COLUMNS: tuple[str, ...] = ("state_access", "exogenous_access")

#: How a controller label reads in a plant's tables and plots where the label alone would
#: mislead. The hot stoves' "oracle" is the MILP over the whole episode on a lumped model,
#: stopped at a gap: a reference, not a bound on the MPC's cost.
DISPLAY_LABELS: dict[tuple[str, str], str] = {
    ("hot_stove", "oracle"): "whole-episode plan (reference)",
}


def display_label(plant: str | None, label: str) -> str:
    """The label shown for ``label`` in ``plant``'s tables and plots."""
    return DISPLAY_LABELS.get((plant or "", label), label)


def ladder_order(labels: Sequence[str]) -> list[str]:
    """The gap ladder: oracle, MPC with perfect forecasts, MPC, the others (agents), rule."""
    head = [x for x in ("oracle", "mpc_perfect", "mpc") if x in labels]
    tail = ["rule"] if "rule" in labels else []
    return head + [x for x in labels if x not in head and x not in tail] + tail


def _gap_split(out: pd.DataFrame, reference: str) -> None:
    """Add each controller's gap to ``reference`` and, with both MPCs run, its three parts."""
    cost = out["cost_mean_cny"]
    if reference not in out.index:
        return
    ref = float(cost[reference])
    out["gap_to_oracle_pct"] = 100.0 * (cost - ref) / ref
    if {"mpc_perfect", "mpc"} <= set(out.index):
        horizon = 100.0 * (float(cost["mpc_perfect"]) - ref) / ref
        forecast = 100.0 * (float(cost["mpc"]) - float(cost["mpc_perfect"])) / ref
        part = {reference: (0.0, 0.0), "mpc_perfect": (horizon, 0.0)}
        out["gap_horizon_pct"] = [part.get(c, (horizon, forecast))[0] for c in out.index]
        out["gap_forecast_pct"] = [part.get(c, (horizon, forecast))[1] for c in out.index]
        out["gap_policy_pct"] = (
            out["gap_to_oracle_pct"] - out["gap_horizon_pct"] - out["gap_forecast_pct"]
        )


def summarize(table: pd.DataFrame, reference: str = "oracle") -> pd.DataFrame:
    """Mean cost and tCO2 per controller, gap to ``reference`` and saving against ``rule``.

    Beside each controller what it knew (``state_access``, ``exogenous_access``, when the
    table has them); also the median solve latency of MPCs, the mean of every violation that
    occurred, and, when the oracle, ``mpc_perfect`` and ``mpc`` were all run, each
    controller's gap to the oracle split into parts that sum to it [% of the oracle's cost]:

    * ``gap_horizon_pct``: perfect-forecast MPC minus oracle (the finite horizon);
    * ``gap_forecast_pct``: MPC minus perfect-forecast MPC (forecast errors);
    * ``gap_policy_pct``: the controller minus the MPC (its policy against the MPC's).

    Rows are in the ladder order of :func:`ladder_order`.
    """
    ok = table[table["error"].fillna("") == ""]
    g = ok.groupby("controller", sort=False)
    out = pd.DataFrame(
        {
            "episodes": g.size(),
            "cost_mean_cny": g["cost_total"].mean(),
            "cost_ci95_cny": g["cost_total"].std(ddof=1) * 1.96 / np.sqrt(g.size()),
            "co2_mean_t": g["co2_total"].mean(),
            "co2_ci95_t": g["co2_total"].std(ddof=1) * 1.96 / np.sqrt(g.size()),
            "decision_ms_median": g["decision_ms_median"].median(),
            "decision_ms_p95": g["decision_ms_p95"].median(),
            "solver_failures": g["solver_failures"].sum(),
        }
    )
    for col in INFORMATION_COLUMNS:
        if col in ok:
            out[col] = g[col].first()
    if "cost_carbon" in ok:
        out["cost_ex_carbon_mean_cny"] = g["cost_total"].mean() - g["cost_carbon"].mean()
    for col in ("solve_ms_median", "solve_ms_p95"):
        if col in ok:
            out[col] = g[col].median()
    for col in ok.columns:
        if col.startswith("viol_") and ok[col].abs().sum() > 0:
            out[col + "_mean"] = g[col].mean()
    _gap_split(out, reference)
    if "rule" in out.index:
        base = float(out["cost_mean_cny"]["rule"])
        out["saving_vs_rule_pct"] = 100.0 * (base - out["cost_mean_cny"]) / base
    first = [
        c
        for c in (
            *INFORMATION_COLUMNS,
            "episodes",
            "cost_mean_cny",
            "cost_ci95_cny",
            "co2_mean_t",
            "co2_ci95_t",
            "gap_to_oracle_pct",
            "gap_horizon_pct",
            "gap_forecast_pct",
            "gap_policy_pct",
            "saving_vs_rule_pct",
        )
        if c in out
    ]
    columns = first + [c for c in out.columns if c not in first]
    return out.loc[ladder_order(list(out.index)), columns]


def write_results(table: pd.DataFrame, out: Path, plant: str, n_windows: int) -> pd.DataFrame:
    """Write a run's table (Parquet), summary (CSV, Markdown); print the summary; return it.

    Files: ``benchmark_<plant>.parquet``, ``summary_<plant>.csv`` and ``summary_<plant>.md``.
    The Markdown and printed summaries show each controller by :func:`display_label` (the
    CSV keeps the ``controller`` key and adds ``shown_as``).
    """
    write_atomic(table, out / f"benchmark_{plant}.parquet")
    summary = summarize(table)
    shown = summary.rename(index=lambda c: display_label(plant, c))
    if shown.index.tolist() != summary.index.tolist():
        shown = shown.rename(columns={"gap_to_oracle_pct": "gap_to_reference_pct"})
    csv = summary.reset_index()
    csv.insert(1, "shown_as", [display_label(plant, c) for c in summary.index])
    write_atomic(csv, out / f"summary_{plant}.csv")
    text = shown.to_markdown(floatfmt=".2f")
    title = f"{plant}: {n_windows} test windows, mean over windows"
    write_atomic(f"# {title}\n\n{text}\n", out / f"summary_{plant}.md")
    print(f"\n{title}\n")
    print(text)
    return summary
