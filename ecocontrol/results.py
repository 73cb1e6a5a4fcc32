"""Benchmark results: the per-controller summary, the gap ladder and the gap decomposition.

:func:`summarize` turns a benchmark table (one row per controller and window, see
:func:`ecocontrol.runner.benchmark`) into one row per controller, in the order of
:func:`ladder_order`; :func:`compact_table` keeps the few columns a reader compares first;
:func:`net_carbon_table` sets each controller's plant CO2 saving against the CO2 of its own
computing; :func:`write_results` writes a run's table and summary files and prints the compact
table. Paired savings with intervals and seeds aggregated are in :mod:`ecocontrol.comparison`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ecocontrol.io import write_atomic

#: The information columns: what each controller knew (``controllers.base.information_of``).
INFORMATION_COLUMNS: tuple[str, ...] = ("state_access", "exogenous_access", "model_access")
#: Hours of plant operation per year (every plant runs around the clock).
HOURS_PER_YEAR = 8760.0
#: Summary columns of the controllers' own compute (see :func:`summarize`); the Markdown
#: summary shows them in its net-carbon section instead of the main table.
COMPUTE_SUMMARY_COLUMNS: tuple[str, ...] = (
    "compute_kwh_mean",
    "compute_kgco2_mean",
    "compute_episode_kwh_mean",
    "train_kwh",
    "train_kgco2",
    "episode_h",
    "grid_kgco2_per_kwh",
)

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


def _compute_summary(out: pd.DataFrame, g: Any, ok: pd.DataFrame, table: pd.DataFrame) -> None:
    """The compute columns of :func:`summarize` (those the table has)."""
    for col in ("compute_kwh", "compute_kgco2", "compute_episode_kwh"):
        if col in ok:
            out[col + "_mean"] = g[col].mean()
    for col in ("train_kwh", "train_kgco2"):
        if col in ok:
            out[col] = g[col].max()
    for col in ("episode_h", "grid_kgco2_per_kwh"):  # failed rows have them too
        if col in table:
            out[col] = table.groupby("controller", sort=False)[col].first()


def summarize(table: pd.DataFrame, reference: str = "oracle") -> pd.DataFrame:
    """Mean cost and tCO2 per controller, gap to ``reference`` and saving against ``rule``.

    Beside each controller what it knew (``state_access``, ``exogenous_access``, when the
    table has them); also the median solve latency of MPCs, the mean of every violation that
    occurred, and, when the oracle, ``mpc_perfect`` and ``mpc`` were all run, each
    controller's gap to the oracle split into parts that sum to it [% of the oracle's cost]:

    * ``gap_horizon_pct``: perfect-forecast MPC minus oracle (the finite horizon);
    * ``gap_forecast_pct``: MPC minus perfect-forecast MPC (forecast errors);
    * ``gap_policy_pct``: the controller minus the MPC (its policy against the MPC's).

    When the table has the compute columns (:func:`ecocontrol.runner.benchmark`): the mean
    energy and CO2 of an episode's decisions (``compute_kwh_mean``, ``compute_kgco2_mean``)
    and of the whole episode (``compute_episode_kwh_mean``), an agent's training compute
    (``train_kwh``, ``train_kgco2``), ``episode_h`` and ``grid_kgco2_per_kwh``.

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
    _compute_summary(out, g, ok, table)
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


def net_carbon_table(
    data: pd.DataFrame,
    *,
    baseline: str = "rule",
    episode_h: float | None = None,
    amortise_years: float = 1.0,
    host_power_w: float = 0.0,
    grid_kgco2_per_kwh: float | None = None,
) -> pd.DataFrame:
    """Per controller: plant CO2 saved against ``baseline`` per year, net of its own compute.

    ``data``: a benchmark table (one row per controller and window, with the compute columns
    of :func:`ecocontrol.runner.benchmark`) or its :func:`summarize` summary (indexed by
    controller, or with a ``controller`` column); it needs ``co2_mean_t`` (per episode),
    ``compute_kgco2_mean`` (the decisions of an episode), optionally ``train_kgco2`` (an
    agent's training, one-off), and ``episode_h`` and ``grid_kgco2_per_kwh`` (used for the
    host) unless given as arguments. A year is 8,760 h of operation:
    ``episodes_per_year = 8760 / episode_h``.

    Columns [tCO2]:

    * ``co2_saved_t_per_year``: (baseline's mean episode CO2 - the controller's) x episodes
      per year; the plant's CO2, every source the env books;
    * ``decisions_t_per_year``: the compute of its decisions (MPC solves, agent inference),
      mean per episode x episodes per year;
    * ``training_t``: the one-off CO2 of training it, and ``training_t_per_year`` that amortised
      over ``amortise_years`` of operation;
    * ``host_t_per_year``: a computer of ``host_power_w`` [W] kept on all year to run the
      controller (0 by default: the figures are the marginal compute only);
    * ``net_saved_t_per_year``: saved - decisions - amortised training - host;
    * ``training_payback_h``: hours of operation whose saving (net of decisions and host)
      repays the training (0 without training; ``inf`` if the saving never does).

    Raises:
        ValueError: naming ``baseline`` if it is not in ``data``, or ``episode_h`` if neither
            the argument nor the data give it.
    """
    if not (math.isfinite(amortise_years) and amortise_years > 0):
        raise ValueError(f"amortise_years={amortise_years!r} is invalid; allowed: > 0")
    s = summarize(data) if "window" in data.columns else data
    if "controller" in s.columns:
        s = s.set_index("controller")
    if baseline not in s.index:
        raise ValueError(f"baseline={baseline!r} is not among {list(s.index)}; allowed: those")

    def column(name: str, given: float | None, default: float) -> pd.Series:
        if given is not None:
            return pd.Series(float(given), index=s.index)
        if name in s:
            return s[name].astype(float)
        return pd.Series(default, index=s.index)

    hours = column("episode_h", episode_h, np.nan)
    if episode_h is None and hours.notna().any():  # a plant's episodes have one length
        hours = hours.fillna(hours.dropna().iloc[0])
    if not (np.isfinite(hours) & (hours > 0)).all():
        raise ValueError(f"episode_h={episode_h!r} and the data's are missing; allowed: > 0")
    per_year = HOURS_PER_YEAR / hours
    co2 = s["co2_mean_t"].astype(float)
    out = pd.DataFrame(index=s.index)
    out["episode_h"] = hours
    out["episodes_per_year"] = per_year
    out["grid_kgco2_per_kwh"] = column("grid_kgco2_per_kwh", grid_kgco2_per_kwh, np.nan)
    out["co2_saved_t_per_year"] = (float(co2[baseline]) - co2) * per_year
    out["decisions_t_per_year"] = column("compute_kgco2_mean", None, np.nan) / 1e3 * per_year
    out["training_t"] = column("train_kgco2", None, 0.0).fillna(0.0) / 1e3
    out["training_t_per_year"] = out["training_t"] / amortise_years
    host_kwh = host_power_w * HOURS_PER_YEAR / 1e3
    out["host_t_per_year"] = host_kwh * out["grid_kgco2_per_kwh"] / 1e3 if host_power_w else 0.0
    gross = out["co2_saved_t_per_year"] - out["decisions_t_per_year"] - out["host_t_per_year"]
    out["net_saved_t_per_year"] = gross - out["training_t_per_year"]
    with np.errstate(divide="ignore", invalid="ignore"):
        payback = np.where(gross > 0, out["training_t"] / gross * HOURS_PER_YEAR, np.inf)
    payback = np.where(gross.isna(), np.nan, payback)
    out["training_payback_h"] = np.where(out["training_t"] > 0, payback, 0.0)
    return out


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


def _net_carbon_section(summary: pd.DataFrame, out: Path, plant: str) -> str:
    """Write ``net_carbon_<plant>.csv``; its Markdown section ("" without compute or rule)."""
    if "compute_kgco2_mean" not in summary or "rule" not in summary.index:
        return ""
    net = net_carbon_table(summary)
    write_atomic(net.reset_index(), out / f"net_carbon_{plant}.csv")
    trained = net["training_t"] > 0
    shown = pd.DataFrame(index=net.index.map(lambda c: display_label(plant, c)))
    shown["plant CO2 saved vs rule [t/yr]"] = [
        f"{round(x, 1) + 0.0:,.1f}" for x in net["co2_saved_t_per_year"]
    ]
    shown["decisions [gCO2/yr]"] = [f"{1e6 * x:.3g}" for x in net["decisions_t_per_year"]]
    shown["training [gCO2]"] = [
        f"{1e6 * x:.3g}" if t else "-" for x, t in zip(net["training_t"], trained, strict=True)
    ]
    shown["training payback [h]"] = [
        f"{x:.3g}" if t else "-" for x, t in zip(net["training_payback_h"], trained, strict=True)
    ]
    shown["net saved [t/yr]"] = [f"{round(x, 1) + 0.0:,.1f}" for x in net["net_saved_t_per_year"]]
    grid = float(net["grid_kgco2_per_kwh"].iloc[0])
    return (
        f"## Net carbon: plant CO2 saved against the controllers' own compute\n\n"
        f"A year = 8,760 h of operation ({HOURS_PER_YEAR / float(net['episode_h'].iloc[0]):.4g} "
        f"episodes). Decisions: their share of each episode's measured compute (method in the "
        f"table's compute_method), at the plant's grid factor {grid:.4g} kgCO2/kWh; training "
        f"amortised over one year; no host computer counted.\n\n"
        + shown.to_markdown(
            colalign=["left"] + ["right"] * len(shown.columns), disable_numparse=True
        )
        + "\n"
    )


def write_results(table: pd.DataFrame, out: Path, plant: str, n_windows: int) -> pd.DataFrame:
    """Write a run's table (Parquet), summary (CSV, Markdown); print it compact; return it.

    Files: ``benchmark_<plant>.parquet``, ``summary_<plant>.csv`` and ``summary_<plant>.md``
    (every summary column); with the compute columns and a ``rule`` row also
    ``net_carbon_<plant>.csv`` (:func:`net_carbon_table`), shown in a "Net carbon" section of
    the Markdown. Printed: :func:`compact_table` and where the full summary is.
    Failed rows are kept in the table, left out of the means, counted in the summary's
    ``failed_episodes`` and ``failed_windows`` columns, listed in a "Failed" section of the
    Markdown and logged as warnings. The Markdown and printed summaries show each controller
    by :func:`display_label` (the CSV keeps the ``controller`` key and adds ``shown_as``).
    """
    write_atomic(table, out / f"benchmark_{plant}.parquet")
    summary = summarize(table)
    shown = summary.drop(columns=[c for c in COMPUTE_SUMMARY_COLUMNS if c in summary])
    shown = shown.rename(index=lambda c: display_label(plant, c))
    if shown.index.tolist() != summary.index.tolist():
        shown = shown.rename(columns={"gap_to_oracle_pct": "gap_to_reference_pct"})
    csv = summary.reset_index()
    csv["shown_as"] = [display_label(plant, c) for c in summary.index]
    write_atomic(csv, out / f"summary_{plant}.csv")
    text = shown.to_markdown(floatfmt=".2f") if len(summary.columns) else "(no rows)"
    title = f"{plant}: {n_windows} test windows, mean over windows"
    failed = failures_markdown(table)
    net = _net_carbon_section(summary, out, plant)
    write_atomic(
        f"# {title}\n\n{text}\n" + (f"\n{net}" if net else "") + (f"\n{failed}" if failed else ""),
        out / f"summary_{plant}.md",
    )
    warn_failures(table, plant)
    print(f"\n{title}\n")
    print(compact_table(summary, plant) if len(summary.columns) else text)
    print(f"\nall {len(summary.columns)} summary columns: {out / f'summary_{plant}.md'}")
    if net:
        print(f"\n{net}")
    if failed:
        print(f"\n{failed}")
    return summary
