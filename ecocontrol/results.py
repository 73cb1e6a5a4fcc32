"""Benchmark results: the per-controller summary, the gap ladder and the gap decomposition.

:func:`summarize` turns a benchmark table (one row per controller and window, see
:func:`ecocontrol.runner.benchmark`) into one row per controller, in the order of
:func:`ladder_order`; :func:`compact_table` keeps the few columns a reader compares first;
:func:`write_results` writes a run's table and summary files and prints the compact table.
Paired savings with intervals and seeds aggregated are in :mod:`ecocontrol.comparison`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ecocontrol.io import write_atomic

#: The information columns: what each controller knew (``controllers.base.information_of``).
INFORMATION_COLUMNS: tuple[str, ...] = ("state_access", "exogenous_access")

log = logging.getLogger(__name__)

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
    if reference not in out.index or not np.isfinite(cost[reference]):
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


def errors_of(table: pd.DataFrame) -> pd.Series:
    """Each row's error text ("" for a finished episode; a table without the column: all "")."""
    if "error" not in table:
        return pd.Series("", index=table.index, dtype=str)
    return table["error"].fillna("").astype(str)


def failures(table: pd.DataFrame) -> pd.DataFrame:
    """The failed rows of a benchmark table: ``controller``, ``window`` and ``error``."""
    failed = table[errors_of(table) != ""]
    return failed.reindex(columns=["controller", "window", "error"]).reset_index(drop=True)


def _mean_of(g: Any, ok: pd.DataFrame, col: str, how: str = "mean") -> pd.Series:
    """``g[col].<how>()``, or an empty Series (NaN once aligned) if no row has ``col``."""
    if col not in ok:
        return pd.Series(dtype=float)
    return getattr(g[col], how)()


def summarize(table: pd.DataFrame, reference: str = "oracle") -> pd.DataFrame:
    """Mean cost and tCO2 per controller, gap to ``reference`` and saving against ``rule``.

    Beside each controller what it knew (``state_access``, ``exogenous_access``, when the
    table has them); also the median solve latency of MPCs, the mean of every violation that
    occurred, and, when the oracle, ``mpc_perfect`` and ``mpc`` were all run, each
    controller's gap to the oracle split into parts that sum to it [% of the oracle's cost]:

    * ``gap_horizon_pct``: perfect-forecast MPC minus oracle (the finite horizon);
    * ``gap_forecast_pct``: MPC minus perfect-forecast MPC (forecast errors);
    * ``gap_policy_pct``: the controller minus the MPC (its policy against the MPC's).

    Failed rows (``error`` set) are left out of every mean; when there are any, the columns
    ``failed_episodes`` and ``failed_windows`` say which, and a controller that failed on every
    window keeps its row (0 episodes, NaN means). Rows are in the ladder order of
    :func:`ladder_order`.
    """
    if table.empty or "controller" not in table:
        return pd.DataFrame(index=pd.Index([], name="controller"))
    err = errors_of(table)
    ok = table[err == ""]
    labels = list(dict.fromkeys(table["controller"]))
    g = ok.groupby("controller", sort=False)
    out = pd.DataFrame(index=pd.Index(labels, name="controller"))
    n = g.size().reindex(labels, fill_value=0)
    out["episodes"] = n
    out["cost_mean_cny"] = _mean_of(g, ok, "cost_total")
    out["cost_ci95_cny"] = _mean_of(g, ok, "cost_total", "std") * 1.96 / np.sqrt(n)
    out["co2_mean_t"] = _mean_of(g, ok, "co2_total")
    out["co2_ci95_t"] = _mean_of(g, ok, "co2_total", "std") * 1.96 / np.sqrt(n)
    out["decision_ms_median"] = _mean_of(g, ok, "decision_ms_median", "median")
    out["decision_ms_p95"] = _mean_of(g, ok, "decision_ms_p95", "median")
    out["solver_failures"] = _mean_of(g, ok, "solver_failures", "sum").reindex(labels).fillna(0)
    if (err != "").any():
        failed = table[err != ""].groupby("controller", sort=False)["window"]
        out["failed_episodes"] = failed.size().reindex(labels, fill_value=0)
        out["failed_windows"] = failed.agg(
            lambda w: ",".join(str(int(x)) for x in sorted(w))
        ).reindex(labels, fill_value="")
    for col in INFORMATION_COLUMNS:
        if col in table:
            out[col] = table.groupby("controller", sort=False)[col].first()
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
            "failed_episodes",
            "failed_windows",
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


#: The violations shown in a plant's compact table: heading -> the violations summed.
#: Park: energy not served (load shed and heat undelivered, priced at their penalties) and
#: battery requests the SOC window cut (the safety layer's work; unpriced, but an agent that
#: leans on it is asking for the impossible); hot stoves: hot-blast shortfall and refused
#: changeover requests; kiln: minutes of free lime outside its band (the quality that sells).
COMPACT_VIOLATIONS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "park": (
        ("unserved [MWh]", ("unserved_load_mwh", "unserved_heat_mwh")),
        ("battery cut [MW·step]", ("battery_limited_mw",)),
    ),
    "hot_stove": (
        ("blast shortfall [K·min]", ("blast_shortfall_k_min",)),
        ("refused requests", ("refused_requests",)),
    ),
    "cement_kiln": (("free lime out of band [min]", ("free_lime_out_min",)),),
}


def compact_frame(summary: pd.DataFrame, plant: str | None) -> pd.DataFrame:
    """The compact table's rows: one per controller, the columns a reader compares first.

    Columns: ``controller`` (its :func:`display_label`), ``cost [CNY]``, ``CO2 [t]``, ``gap to
    oracle [%]`` (``gap to reference [%]`` where the oracle is shown as a reference), ``saving
    vs rule [%]`` (each left out when the summary lacks it: no oracle or no rule run), then
    the plant's violations of :data:`COMPACT_VIOLATIONS` (mean per episode; every
    ``viol_*_mean`` column for another plant). A violation without a column in the summary
    never occurred (:func:`summarize` keeps those that did) and reads 0; a controller without
    a finished episode reads NaN throughout.

    Args:
        summary: :func:`summarize`'s output, or its CSV (a ``controller`` column).
        plant: the plant's name (``park``, ``hot_stove``, ``cement_kiln``).
    """
    s = summary.set_index("controller") if "controller" in summary.columns else summary
    labels = [str(c) for c in s.index]
    out = pd.DataFrame({"controller": [display_label(plant, c) for c in labels]})
    reference = display_label(plant, "oracle") != "oracle"
    columns = {
        "cost_mean_cny": "cost [CNY]",
        "co2_mean_t": "CO2 [t]",
        "gap_to_oracle_pct": "gap to reference [%]" if reference else "gap to oracle [%]",
        "saving_vs_rule_pct": "saving vs rule [%]",
    }
    for col, heading in columns.items():
        if col in s:
            out[heading] = s[col].to_numpy(dtype=float)
    spec = COMPACT_VIOLATIONS.get(plant or "")
    if spec is None:
        found = [c for c in s.columns if str(c).startswith("viol_") and str(c).endswith("_mean")]
        spec = tuple((c.removeprefix("viol_").removesuffix("_mean"), (c[5:-5],)) for c in found)
    for heading, names in spec:
        total = np.zeros(len(s))
        for name in names:
            if f"viol_{name}_mean" in s:
                total += s[f"viol_{name}_mean"].fillna(0.0).to_numpy(dtype=float)
        if "episodes" in s:  # a controller that finished no episode has no violations either
            total[s["episodes"].to_numpy() == 0] = np.nan
        out[heading] = total
    return out


def compact_table(summary: pd.DataFrame, plant: str | None) -> str:
    """The compact table of :func:`compact_frame` as Markdown (costs in whole CNY)."""
    frame = compact_frame(summary, plant)
    if frame.empty:
        return "(no rows)"
    fmt = {
        "cost [CNY]": ",.0f",
        "CO2 [t]": ",.1f",
        "gap to oracle [%]": ".2f",
        "gap to reference [%]": ".2f",
        "saving vs rule [%]": ".2f",
    }
    floatfmt = tuple(fmt.get(str(c), "" if c == "controller" else ",.1f") for c in frame)
    return frame.to_markdown(index=False, floatfmt=floatfmt)


def failures_markdown(table: pd.DataFrame) -> str:
    """A Markdown section listing the failed (controller, window) rows; "" if none failed."""
    failed = failures(table)
    if failed.empty:
        return ""
    failed["error"] = failed["error"].str.slice(0, 200)
    lines = [
        f"## Failed: {len(failed)} episode(s), left out of the means above",
        "",
        failed.to_markdown(index=False),
    ]
    return "\n".join(lines) + "\n"


def warn_failures(table: pd.DataFrame, where: str) -> None:
    """Log a warning naming each controller that failed and on which windows."""
    failed = failures(table)
    for label, g in failed.groupby("controller", sort=False):
        windows = ",".join(str(int(w)) for w in sorted(g["window"]))
        log.warning("%s: controller %s failed on window(s) %s", where, label, windows)


def write_results(table: pd.DataFrame, out: Path, plant: str, n_windows: int) -> pd.DataFrame:
    """Write a run's table (Parquet), summary (CSV, Markdown); print it compact; return it.

    Files: ``benchmark_<plant>.parquet``, ``summary_<plant>.csv`` and ``summary_<plant>.md``
    (every summary column); printed: :func:`compact_table` and where the full summary is.
    Failed rows are kept in the table, left out of the means, counted in the summary's
    ``failed_episodes`` and ``failed_windows`` columns, listed in a "Failed" section of the
    Markdown and logged as warnings. The Markdown and printed summaries show each controller
    by :func:`display_label` (the CSV keeps the ``controller`` key and adds ``shown_as``).
    """
    write_atomic(table, out / f"benchmark_{plant}.parquet")
    summary = summarize(table)
    shown = summary.rename(index=lambda c: display_label(plant, c))
    if shown.index.tolist() != summary.index.tolist():
        shown = shown.rename(columns={"gap_to_oracle_pct": "gap_to_reference_pct"})
    csv = summary.reset_index()
    csv["shown_as"] = [display_label(plant, c) for c in summary.index]
    write_atomic(csv, out / f"summary_{plant}.csv")
    text = shown.to_markdown(floatfmt=".2f") if len(summary.columns) else "(no rows)"
    title = f"{plant}: {n_windows} test windows, mean over windows"
    failed = failures_markdown(table)
    write_atomic(
        f"# {title}\n\n{text}\n" + (f"\n{failed}" if failed else ""), out / f"summary_{plant}.md"
    )
    warn_failures(table, plant)
    print(f"\n{title}\n")
    print(compact_table(summary, plant) if len(summary.columns) else text)
    print(f"\nall {len(summary.columns)} summary columns: {out / f'summary_{plant}.md'}")
    if failed:
        print(f"\n{failed}")
    return summary
