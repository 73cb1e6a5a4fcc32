"""Benchmark controllers on an env's test windows: a tidy table and a summary.

``python -m ecocontrol.benchmark env=park`` (or ``ecocontrol-benchmark``, Hydra overrides)
runs a plant's rule, MPC, MPC with perfect forecasts and the oracle on its test windows,
writes the table (CSV and Parquet), a Markdown summary, plots and the resolved config, and
prints the summary. See ``configs/benchmark.yaml``.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import hydra
import numpy as np
import pandas as pd
from omegaconf import DictConfig, OmegaConf
from tqdm import tqdm

import ecocontrol  # noqa: F401  (registers the envs)
from ecocontrol.config import ConfigError, benchmark_config, build_env
from ecocontrol.controllers import available_controllers, make_controller
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
    skip: set[tuple[str, int]] | None = None,
    on_row: Callable[[dict[str, Any]], None] | None = None,
) -> pd.DataFrame:
    """Run every controller on every window; one row per (controller, window).

    Columns: ``controller``, ``window``, ``seed``, ``cost_<term>``, ``co2_<source>``,
    ``viol_<name>``, ``n_steps``, ``decision_ms_median``, ``decision_ms_p95``,
    ``solver_failures``, ``error``; for MPCs also ``solves``, ``solves_time_limited``,
    ``solve_ms_median`` and ``solve_ms_p95`` (latency of the decisions that solved). A
    controller that raises on a window gets a row with the error and the benchmark goes on.
    ``skip`` lists (label, window) pairs already done (resume); ``on_row`` sees each new row
    as soon as it is finished (to write it out).
    """
    plant = plant_of(env)
    if windows is None:
        windows = range(plant.n_windows)
    rows: list[dict[str, Any]] = []
    built = {spec.label: make_controller(spec.name, env, **spec.kwargs) for spec in controllers}
    done = skip or set()
    jobs = [(spec, w) for w in windows for spec in controllers if (spec.label, int(w)) not in done]
    for spec, w in tqdm(jobs, desc="benchmark", disable=not progress, unit="episode"):
        row: dict[str, Any] = {"controller": spec.label, "window": int(w), "seed": seed + int(w)}
        try:
            r = run_episode(env, built[spec.label], seed=seed + int(w), window=int(w))
        except Exception as exc:
            log.exception("controller %s failed on window %s", spec.label, w)
            row["error"] = repr(exc)
            rows.append(row)
            if on_row is not None:
                on_row(row)
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
        if on_row is not None:
            on_row(row)
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
        if len(labels) > 1:
            axes[2].legend()
    for ax in axes[:2]:
        ax.tick_params(axis="x", rotation=30)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_atomic(df: pd.DataFrame | str, path: Path) -> None:
    """Write a CSV, Parquet (by suffix) or text atomically: temp file, then rename.

    A crash never leaves half a file, and an earlier version stays intact until replaced.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        if isinstance(df, str):
            Path(tmp).write_text(df)
        elif path.suffix == ".parquet":
            df.to_parquet(tmp, index=False)
        else:
            df.to_csv(tmp, index=False)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; results are meant to be shared
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def resolve_controllers(plant: str, labels: Sequence[str]) -> list[ControllerSpec]:
    """Controller specs for ``labels`` on ``plant`` (empty: the plant's defaults).

    A label is one of the plant's default labels or any controller name registered for it.

    Raises:
        ConfigError: naming ``controllers`` and the allowed labels.
    """
    specs = {c.label: c for c in default_controllers(plant)}
    for name in available_controllers(plant):
        specs.setdefault(name, ControllerSpec(name, name))
    if not labels:
        return list(default_controllers(plant))
    unknown = [x for x in labels if x not in specs]
    if unknown:
        raise ConfigError(
            f"config key controllers={list(labels)!r} has unknown {unknown} for plant "
            f"{plant!r}; allowed: {sorted(specs)}"
        )
    return [specs[x] for x in labels]


def run(cfg: DictConfig) -> Path:
    """Validate ``cfg``, run the benchmark, write table, summary, plots; return ``out_dir``.

    Files in ``out_dir``: ``benchmark_<plant>.csv`` and ``.parquet`` (one row per controller
    and window), ``summary_<plant>.md`` and ``.csv``, ``benchmark_<plant>.png`` and the
    resolved ``config.yaml``. With ``resume`` the rows already in the CSV are kept.
    """
    settings = benchmark_config(cfg)
    logging.getLogger("pyomo").setLevel(logging.WARNING)  # HiGHS logs every solve at INFO
    env = build_env(cfg["env"])
    plant = plant_of(env)
    specs = resolve_controllers(plant.plant_name, settings.controllers)
    n = plant.n_windows
    if settings.windows is not None and settings.windows > n:
        raise ConfigError(
            f"config key windows={settings.windows} exceeds the {n} test windows of "
            f"{plant.plant_name!r}; allowed: 1..{n} or null"
        )
    out = Path(settings.out_dir)
    name = plant.plant_name
    table_path = out / f"benchmark_{name}.csv"
    write_atomic(OmegaConf.to_yaml(cfg, resolve=True), out / "config.yaml")
    previous = pd.DataFrame()
    if settings.resume and table_path.exists():
        previous = pd.read_csv(table_path)
        previous["error"] = previous["error"].fillna("").astype(str)
        previous = previous[previous["error"] == ""]
        log.info("resuming: %d finished rows in %s", len(previous), table_path)
    done = {
        (str(c), int(w))
        for c, w in zip(previous.get("controller", []), previous.get("window", []), strict=True)
    }
    rows = [previous] if len(previous) else []

    def save(row: dict[str, Any]) -> None:
        rows.append(pd.DataFrame([row]))
        write_atomic(pd.concat(rows, ignore_index=True), table_path)

    windows = range(n if settings.windows is None else settings.windows)
    benchmark(env, specs, windows=windows, seed=settings.seed, skip=done, on_row=save)
    table = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    order = {s.label: i for i, s in enumerate(specs)}
    table = table[table["controller"].isin(order)]
    table = table.sort_values(
        ["controller", "window"], key=lambda c: c.map(order) if c.name == "controller" else c
    ).reset_index(drop=True)
    table["error"] = table["error"].fillna("").astype(str)
    write_atomic(table, table_path)
    write_atomic(table, out / f"benchmark_{name}.parquet")
    summary = summarize(table)
    write_atomic(summary.reset_index(), out / f"summary_{name}.csv")
    text = summary.to_markdown(floatfmt=".2f")
    write_atomic(
        f"# {name}: {len(windows)} test windows, mean over windows\n\n{text}\n",
        out / f"summary_{name}.md",
    )
    print(f"\n{name}: {len(windows)} test windows, mean over windows\n")
    print(text)
    if settings.plots:
        plot_summary(table, out / f"benchmark_{name}.png")
    print(f"\nresults: {out.resolve()} (table, summary, plots, config.yaml)")
    return out


@hydra.main(config_path="pkg://ecocontrol.configs", config_name="benchmark", version_base=None)
def _hydra_main(cfg: DictConfig) -> None:
    try:
        run(cfg)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)


def main() -> None:
    """Console entry point ``ecocontrol-benchmark`` (Hydra overrides on the command line)."""
    logging.basicConfig(level=logging.WARNING)
    _hydra_main()


if __name__ == "__main__":
    main()
