"""Benchmark plots, drawn on ``matplotlib.figure.Figure`` objects.

No ``pyplot`` and no backend switch: the figures are saved straight to PNG, so plotting works
headless and leaves matplotlib's global state alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ecocontrol.io import atomic_path
from ecocontrol.results import display_label, errors_of, summarize


def _save(fig: Figure, path: Path, dpi: int) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")


def plot_summary(table: pd.DataFrame, path: Path, plant: str | None = None) -> None:
    """PNG: mean cost and tCO2 per controller, and each controller's saving per window.

    ``plant`` names the plant, so its controllers are shown by :func:`display_label`.
    """
    ok = table[errors_of(table) == ""]
    fig = Figure(figsize=(14, 4), constrained_layout=True)
    axes = fig.subplots(1, 3)
    if ok.empty or "cost_total" not in ok:
        fig.suptitle("no finished episode: every row of the table failed")
        _save(fig, path, 120)
        return
    summary = summarize(ok)
    labels = list(summary.index)
    shown = [display_label(plant, c) for c in labels]
    axes[0].bar(shown, summary["cost_mean_cny"] / 1e6, yerr=summary["cost_ci95_cny"] / 1e6)
    axes[0].set_ylabel("mean episode cost [M CNY]")
    axes[1].bar(shown, summary["co2_mean_t"], color="tab:green")
    axes[1].set_ylabel("mean episode CO2 [t]")
    cost = ok.pivot(index="window", columns="controller", values="cost_total")
    if "rule" in cost:
        for c in labels:
            if c != "rule" and c in cost:
                saving = 100 * (cost["rule"] - cost[c]) / cost["rule"]
                axes[2].plot(cost.index, saving, marker="o", label=display_label(plant, c))
        axes[2].axhline(0, color="k", lw=0.8)
        axes[2].set_xlabel("test window")
        axes[2].set_ylabel("saving vs rule [%]")
        if len(labels) > 1:
            axes[2].legend()
    for ax in axes[:2]:
        ax.tick_params(axis="x", rotation=30)
    _save(fig, path, 120)


def plot_trajectories(
    paths: Mapping[str, pd.DataFrame], path: Path, plant: str | None = None
) -> None:
    """PNG: cumulative cost and tCO2 over one window, one line per controller."""
    fig = Figure(figsize=(12, 4), constrained_layout=True)
    axes = fig.subplots(1, 2)
    for label, df in paths.items():
        if len(df) == 0:
            continue
        shown = display_label(plant, label)
        axes[0].plot(df["step"], df["cost_total"].cumsum() / 1e3, label=shown)
        axes[1].plot(df["step"], df["co2_total"].cumsum(), label=shown)
    axes[0].set_ylabel("cumulative cost [k CNY]")
    axes[1].set_ylabel("cumulative CO2 [t]")
    for ax in axes:
        ax.set_xlabel("step")
        ax.legend()
    _save(fig, path, 110)


def plot_pareto(table: pd.DataFrame, path: Path, plant: str) -> None:
    """PNG: operating cost without carbon against tCO2, per controller across carbon prices.

    ``table``: a sweep's summary rows (:func:`ecocontrol.sweeps.collect`). When the sweep
    also varied another key (e.g. ``env.params.gas_accounting=gate,site``), one panel per
    value of that key, side by side.
    """
    df = table[table["plant"] == plant].sort_values("carbon_price_cny_per_t")
    df = df.dropna(subset=["co2_mean_t", "cost_ex_carbon_mean_cny"])  # failed everywhere
    skip = {"override:env.carbon_price_cny_per_t", "override:env", "override:experiment"}
    varied = [
        c
        for c in df.columns
        if c.startswith("override:") and c not in skip and df[c].nunique(dropna=False) > 1
    ]
    panels = list(df.groupby(varied, sort=True)) if varied else [((), df)]
    fig = Figure(figsize=(7 * len(panels), 5), constrained_layout=True)
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    colour = {c: f"C{i}" for i, c in enumerate(dict.fromkeys(df["controller"]))}
    for ax, (key, part) in zip(axes, panels, strict=True):
        for label, g in part.groupby("controller", sort=False):
            x, y = g["co2_mean_t"], g["cost_ex_carbon_mean_cny"] / 1e3
            ax.plot(x, y, marker="o", label=label, color=colour[str(label)])
            for _, r in g.iterrows():
                ax.annotate(
                    f"{r['carbon_price_cny_per_t']:g}",
                    (r["co2_mean_t"], r["cost_ex_carbon_mean_cny"] / 1e3),
                    textcoords="offset points",
                    xytext=(4, 4),
                    fontsize=7,
                )
        keys = key if isinstance(key, tuple) else (key,)
        which = ", ".join(
            f"{c.removeprefix('override:')}={v}" for c, v in zip(varied, keys, strict=True)
        )
        ax.set_xlabel("mean tCO2 per episode")
        ax.set_ylabel("mean operating cost without carbon [k CNY / episode]")
        ax.set_title(f"{plant} {which}".strip() + "\n(labels: carbon price, CNY/t)")
        ax.legend()
    _save(fig, path, 120)
