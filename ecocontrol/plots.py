"""Benchmark plots, drawn on ``matplotlib.figure.Figure`` objects.

No ``pyplot`` and no backend switch: the figures are saved straight to PNG, so plotting works
headless and leaves matplotlib's global state alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from ecocontrol.results import display_label, summarize


def _save(fig: Figure, path: Path, dpi: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)


def plot_summary(table: pd.DataFrame, path: Path, plant: str | None = None) -> None:
    """PNG: mean cost and tCO2 per controller, and each controller's saving per window.

    ``plant`` names the plant, so its controllers are shown by :func:`display_label`.
    """
    ok = table[table["error"].fillna("") == ""]
    summary = summarize(ok)
    fig = Figure(figsize=(14, 4), constrained_layout=True)
    axes = fig.subplots(1, 3)
    labels = list(summary.index)
    shown = [display_label(plant, c) for c in labels]
    axes[0].bar(shown, summary["cost_mean_cny"] / 1e6, yerr=summary["cost_ci95_cny"] / 1e6)
    axes[0].set_ylabel("mean episode cost [M CNY]")
    axes[1].bar(shown, summary["co2_mean_t"], color="tab:green")
    axes[1].set_ylabel("mean episode CO2 [t]")
    if "rule" in labels:
        cost = ok.pivot(index="window", columns="controller", values="cost_total")
        for c in labels:
            if c != "rule":
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

    ``table``: a sweep's summary rows (:func:`ecocontrol.sweeps.collect`).
    """
    df = table[table["plant"] == plant].sort_values("carbon_price_cny_per_t")
    fig = Figure(figsize=(7, 5), constrained_layout=True)
    ax = fig.subplots()
    for label, g in df.groupby("controller", sort=False):
        ax.plot(g["co2_mean_t"], g["cost_ex_carbon_mean_cny"] / 1e3, marker="o", label=label)
        for _, r in g.iterrows():
            ax.annotate(
                f"{r['carbon_price_cny_per_t']:g}",
                (r["co2_mean_t"], r["cost_ex_carbon_mean_cny"] / 1e3),
                textcoords="offset points",
                xytext=(4, 4),
                fontsize=7,
            )
    ax.set_xlabel("mean tCO2 per episode")
    ax.set_ylabel("mean operating cost without carbon [k CNY / episode]")
    ax.set_title(f"{plant}: cost against emissions as the carbon price rises (CNY/t labels)")
    ax.legend()
    _save(fig, path, 120)
