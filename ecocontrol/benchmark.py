"""Benchmark controllers on an env's test windows: a tidy table and a summary.

``python -m ecocontrol.benchmark --env park`` (or ``ecocontrol-benchmark``) runs a plant's rule,
MPC, MPC with perfect forecasts and the oracle on its test windows and prints the summary.
The Hydra pipeline will grow this entry point; the functions below are what it calls.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pandas as pd
from tqdm import tqdm

import ecocontrol  # noqa: F401  (registers the envs)
from ecocontrol.controllers import make_controller
from ecocontrol.controllers.base import plant_of
from ecocontrol.evaluation import run_episode

log = logging.getLogger(__name__)

ENV_IDS = {
    "park": "ecocontrol/WindSolarStorage-v0",
    "hot_stove": "ecocontrol/HotStove-v0",
    "cement_kiln": "ecocontrol/CementKiln-v0",
}


@dataclass(frozen=True)
class ControllerSpec:
    """A controller to benchmark: its label in the table, registry name and keyword args."""

    label: str
    name: str
    kwargs: dict[str, Any] = field(default_factory=dict)


DEFAULT_CONTROLLERS: tuple[ControllerSpec, ...] = (
    ControllerSpec("rule", "rule"),
    ControllerSpec("mpc", "mpc"),
    ControllerSpec("mpc_perfect", "mpc", {"perfect_forecast": True}),
    ControllerSpec("oracle", "oracle"),
)
#: Extra default controllers per plant.
EXTRA_CONTROLLERS: dict[str, tuple[ControllerSpec, ...]] = {
    # The kiln MPC at the rule's alternative-fuel share: what control alone saves.
    "cement_kiln": (ControllerSpec("mpc_af_rule", "mpc", {"af_share": "rule"}),),
}


def default_controllers(env_name: str) -> tuple[ControllerSpec, ...]:
    """The default controllers benchmarked on ``env_name``."""
    return DEFAULT_CONTROLLERS + EXTRA_CONTROLLERS.get(env_name, ())


def benchmark(
    env: gym.Env[Any, Any],
    controllers: Sequence[ControllerSpec] = DEFAULT_CONTROLLERS,
    *,
    windows: Sequence[int] | None = None,
    seed: int = 0,
    progress: bool = True,
) -> pd.DataFrame:
    """Run every controller on every window; one row per (controller, window).

    Columns: ``controller``, ``window``, ``seed``, ``cost_<term>``, ``co2_<source>``,
    ``viol_<name>``, ``n_steps``, ``decision_ms_median``, ``decision_ms_p95``,
    ``solver_failures``, ``error``; for MPCs also ``solves``, ``solves_time_limited``,
    ``solve_ms_median`` and ``solve_ms_p95`` (latency of the decisions that solved). A
    controller that raises on a window gets a row with the error and the benchmark goes on.
    """
    plant = plant_of(env)
    if windows is None:
        windows = range(plant.n_windows)
    rows: list[dict[str, Any]] = []
    built = {spec.label: make_controller(spec.name, env, **spec.kwargs) for spec in controllers}
    jobs = [(spec, w) for w in windows for spec in controllers]
    for spec, w in tqdm(jobs, desc="benchmark", disable=not progress, unit="episode"):
        row: dict[str, Any] = {"controller": spec.label, "window": int(w), "seed": seed + int(w)}
        try:
            r = run_episode(env, built[spec.label], seed=seed + int(w), window=int(w))
        except Exception as exc:
            log.exception("controller %s failed on window %s", spec.label, w)
            row["error"] = repr(exc)
            rows.append(row)
            continue
        row.update({f"cost_{k}": v for k, v in r.cost.items()})
        row.update({f"co2_{k}": v for k, v in r.emissions.items()})
        row.update({f"viol_{k}": v for k, v in r.violations.items()})
        row.update(
            n_steps=r.n_steps,
            decision_ms_median=1e3 * r.decision_time_median_s,
            decision_ms_p95=1e3 * r.decision_time_p95_s,
            solver_failures=r.solver_failures,
            **_solve_stats(built[spec.label]),
            error="",
        )
        rows.append(row)
    return pd.DataFrame(rows)


def _solve_stats(controller: Any) -> dict[str, float]:
    """Solver calls, time-limited solves and solve latency of an MPC's last episode."""
    times = np.asarray(getattr(controller, "solve_times_s", []), dtype=float)
    if times.size == 0:
        return {}
    return {
        "solves": int(times.size),
        "solves_time_limited": int(getattr(controller, "n_time_limited", 0)),
        "solve_ms_median": 1e3 * float(np.median(times)),
        "solve_ms_p95": 1e3 * float(np.percentile(times, 95)),
    }


def summarize(table: pd.DataFrame, reference: str = "oracle") -> pd.DataFrame:
    """Mean cost and tCO2 per controller, gap to ``reference`` and saving against ``rule``.

    Also the median solve latency of MPCs and the mean of every violation that occurred.
    """
    ok = table[table["error"].fillna("") == ""]
    g = ok.groupby("controller", sort=False)
    out = pd.DataFrame(
        {
            "episodes": g.size(),
            "cost_mean_cny": g["cost_total"].mean(),
            "cost_ci95_cny": g["cost_total"].std(ddof=1) * 1.96 / np.sqrt(g.size()),
            "co2_mean_t": g["co2_total"].mean(),
            "decision_ms_median": g["decision_ms_median"].median(),
            "solver_failures": g["solver_failures"].sum(),
        }
    )
    for col in ("solve_ms_median", "solve_ms_p95"):
        if col in ok:
            out[col] = g[col].median()
    for col in ok.columns:
        if col.startswith("viol_") and ok[col].abs().sum() > 0:
            out[col + "_mean"] = g[col].mean()
    if reference in out.index:
        ref = float(out["cost_mean_cny"][reference])
        out["gap_to_oracle_pct"] = 100.0 * (out["cost_mean_cny"] - ref) / ref
    if "rule" in out.index:
        base = float(out["cost_mean_cny"]["rule"])
        out["saving_vs_rule_pct"] = 100.0 * (base - out["cost_mean_cny"]) / base
    return out


def plot_summary(table: pd.DataFrame, path: Path) -> None:
    """PNG: mean cost and tCO2 per controller, and each controller's saving per window."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = table[table["error"].fillna("") == ""]
    summary = summarize(ok)
    fig, axes = plt.subplots(1, 3, figsize=(14, 4), constrained_layout=True)
    labels = list(summary.index)
    axes[0].bar(labels, summary["cost_mean_cny"] / 1e6, yerr=summary["cost_ci95_cny"] / 1e6)
    axes[0].set_ylabel("mean episode cost [M CNY]")
    axes[1].bar(labels, summary["co2_mean_t"], color="tab:green")
    axes[1].set_ylabel("mean episode CO2 [t]")
    if "rule" in labels:
        cost = ok.pivot(index="window", columns="controller", values="cost_total")
        for c in labels:
            if c != "rule":
                saving = 100 * (cost["rule"] - cost[c]) / cost["rule"]
                axes[2].plot(cost.index, saving, marker="o", label=c)
        axes[2].axhline(0, color="k", lw=0.8)
        axes[2].set_xlabel("test window")
        axes[2].set_ylabel("saving vs rule [%]")
        axes[2].legend()
    for ax in axes[:2]:
        ax.tick_params(axis="x", rotation=30)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_atomic(df: pd.DataFrame, path: Path) -> None:
    """Write a CSV atomically (temp file, then rename), so a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        df.to_csv(tmp, index=False)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; results are meant to be shared
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point: benchmark the park's controllers on its test windows."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--env", default="park", choices=sorted(ENV_IDS))
    ap.add_argument(
        "--windows", type=int, default=None, help="number of test windows (default: all)"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--controllers",
        default=None,
        help="comma-separated labels out of the plant's defaults (default: all of them)",
    )
    ap.add_argument("--out", type=Path, default=Path("outputs"))
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    env = gym.make(ENV_IDS[args.env], split="test")
    n = plant_of(env).n_windows
    if args.windows is not None and not 1 <= args.windows <= n:
        ap.error(f"--windows={args.windows}; allowed: 1..{n}")
    windows = range(n if args.windows is None else args.windows)
    specs = default_controllers(args.env)
    by_label = {c.label: c for c in specs}
    chosen = args.controllers or ",".join(by_label)
    labels = [x.strip() for x in chosen.split(",") if x.strip()]
    unknown = [x for x in labels if x not in by_label]
    if unknown or not labels:
        ap.error(f"--controllers={args.controllers!r}; allowed: a subset of {sorted(by_label)}")
    table = benchmark(env, [by_label[x] for x in labels], windows=windows, seed=args.seed)
    summary = summarize(table)
    out_csv = args.out / f"benchmark_{args.env}.csv"
    write_atomic(table, out_csv)
    write_atomic(summary.reset_index(), args.out / f"summary_{args.env}.csv")
    print(f"\n{args.env}: {len(windows)} test windows, mean over windows\n")
    print(summary.to_markdown(floatfmt=".2f"))
    plot_summary(table, args.out / f"benchmark_{args.env}.png")
    print(f"\nper-window table: {out_csv}\nplot: {args.out / f'benchmark_{args.env}.png'}")


if __name__ == "__main__":
    main()
