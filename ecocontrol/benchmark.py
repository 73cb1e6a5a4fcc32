"""Benchmark controllers on an env's test windows: a tidy table and a summary.

``python -m ecocontrol.benchmark env=park`` (or ``ecocontrol-benchmark``, Hydra overrides)
runs a plant's rule, MPC, MPC with perfect forecasts and the oracle on its test windows,
writes the table (CSV and Parquet), a Markdown summary, plots and the resolved config, and
prints the summary. See ``configs/benchmark.yaml``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import gymnasium as gym
import hydra
import numpy as np
import pandas as pd
from hydra.utils import get_method
from omegaconf import DictConfig, OmegaConf
from tqdm import tqdm

import ecocontrol  # noqa: F401  (registers the envs)
from ecocontrol.config import ConfigError, benchmark_config, build_env, run_or_exit
from ecocontrol.controllers import available_controllers, make_controller
from ecocontrol.controllers.base import Controller, plant_of
from ecocontrol.evaluation import run_episode
from ecocontrol.io import write_atomic

log = logging.getLogger(__name__)

ENV_IDS = {
    "park": "ecocontrol/WindSolarStorage-v0",
    "hot_stove": "ecocontrol/HotStove-v0",
    "cement_kiln": "ecocontrol/CementKiln-v0",
}


@dataclass(frozen=True)
class ControllerSpec:
    """A controller to benchmark: its label in the table and how to build it.

    Attributes:
        label: the controller's name in the table.
        name: registry name for ``make_controller`` (used when ``factory`` is None).
        kwargs: keyword arguments for the factory.
        factory: builds the controller as ``factory(env=env, **kwargs)`` (a config's
            ``_target_``); None: the registry's ``name``.
        config_hash: short hash of the env and controller configs (resume matches on it).
        train: for an agent without a ``path``: the training config to run first.
    """

    label: str
    name: str = ""
    kwargs: dict[str, Any] = field(default_factory=dict)
    factory: Callable[..., Controller] | None = None
    config_hash: str = ""
    train: dict[str, Any] | None = None

    def build(self, env: gym.Env[Any, Any]) -> Controller:
        """The controller for ``env``."""
        if self.factory is not None:
            return self.factory(env=env, **self.kwargs)
        return make_controller(self.name or self.label, env, **self.kwargs)


#: Labels benchmarked when ``controllers`` is empty, in the gap-ladder order.
DEFAULT_LABELS: tuple[str, ...] = ("oracle", "mpc_perfect", "mpc", "ppo", "rule")
#: Extra default labels per plant.
EXTRA_LABELS: dict[str, tuple[str, ...]] = {
    # The kiln MPC at the rule's alternative-fuel share: what control alone saves.
    "cement_kiln": ("mpc_af_rule",),
}
#: Specs of the default controllers without a config (library use of :func:`benchmark`).
DEFAULT_CONTROLLERS: tuple[ControllerSpec, ...] = (
    ControllerSpec("rule", "rule"),
    ControllerSpec("mpc", "mpc"),
    ControllerSpec("mpc_perfect", "mpc", {"perfect_forecast": True}),
    ControllerSpec("oracle", "oracle"),
)


def default_labels(env_name: str) -> tuple[str, ...]:
    """The controller labels benchmarked on ``env_name`` by default."""
    return DEFAULT_LABELS + EXTRA_LABELS.get(env_name, ())


def build_controllers(
    env: gym.Env[Any, Any], specs: Sequence[ControllerSpec]
) -> dict[str, Controller]:
    """Build every controller before any episode runs.

    Raises:
        ConfigError: naming ``controller_defs.<label>`` if one cannot be built.
    """
    built = {}
    for spec in specs:
        try:
            built[spec.label] = spec.build(env)
        except ConfigError:
            raise
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"config key controller_defs.{spec.label}: {exc}") from exc
    return built


def benchmark(
    env: gym.Env[Any, Any],
    controllers: Sequence[ControllerSpec] = DEFAULT_CONTROLLERS,
    *,
    windows: Sequence[int] | None = None,
    seed: int = 0,
    progress: bool = True,
    skip: set[tuple[str, int]] | None = None,
    on_row: Callable[[dict[str, Any]], None] | None = None,
    built: Mapping[str, Controller] | None = None,
    trajectories: dict[str, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """Run every controller on every window; one row per (controller, window).

    Columns: ``controller``, ``window``, ``seed``, ``cost_<term>``, ``co2_<source>``,
    ``viol_<name>``, ``n_steps``, ``decision_ms_median``, ``decision_ms_p95``,
    ``solver_failures``, ``error``; for MPCs also ``solves``, ``solves_time_limited``,
    ``solve_ms_median`` and ``solve_ms_p95`` (latency of the decisions that solved). A
    controller that raises on a window gets a row with the error and the benchmark goes on.
    ``skip`` lists (label, window) pairs already done (resume); ``on_row`` sees each new row
    as soon as it is finished (to write it out); ``built`` holds controllers already built
    (by label), the others are built from their specs first. If ``trajectories`` is given,
    each controller's per-step record of the first window run is put there by label.
    """
    plant = plant_of(env)
    if windows is None:
        windows = range(plant.n_windows)
    rows: list[dict[str, Any]] = []
    missing = [s for s in controllers if built is None or s.label not in built]
    built = {**(built or {}), **build_controllers(env, missing)}
    done = skip or set()
    jobs = [(spec, w) for w in windows for spec in controllers if (spec.label, int(w)) not in done]
    for spec, w in tqdm(jobs, desc="benchmark", disable=not progress, unit="episode"):
        row: dict[str, Any] = {
            "controller": spec.label,
            "window": int(w),
            "seed": seed + int(w),
            "config_hash": spec.config_hash,
        }
        try:
            record = trajectories is not None and spec.label not in trajectories
            r = run_episode(
                env, built[spec.label], seed=seed + int(w), window=int(w), record=record
            )
            if record and trajectories is not None:
                trajectories[spec.label] = pd.DataFrame(r.trajectory)
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


def ladder_order(labels: Sequence[str]) -> list[str]:
    """The gap ladder: oracle, MPC with perfect forecasts, MPC, the others (agents), rule."""
    head = [x for x in ("oracle", "mpc_perfect", "mpc") if x in labels]
    tail = ["rule"] if "rule" in labels else []
    return head + [x for x in labels if x not in head and x not in tail] + tail


def summarize(table: pd.DataFrame, reference: str = "oracle") -> pd.DataFrame:
    """Mean cost and tCO2 per controller, gap to ``reference`` and saving against ``rule``.

    Also the median solve latency of MPCs, the mean of every violation that occurred, and,
    when the oracle, ``mpc_perfect`` and ``mpc`` were all run, each controller's gap to the
    oracle split into parts that sum to it [% of the oracle's cost]:

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
    if "cost_carbon" in ok:
        out["cost_ex_carbon_mean_cny"] = g["cost_total"].mean() - g["cost_carbon"].mean()
    for col in ("solve_ms_median", "solve_ms_p95"):
        if col in ok:
            out[col] = g[col].median()
    for col in ok.columns:
        if col.startswith("viol_") and ok[col].abs().sum() > 0:
            out[col + "_mean"] = g[col].mean()
    cost = out["cost_mean_cny"]
    if reference in out.index:
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
    if "rule" in out.index:
        base = float(cost["rule"])
        out["saving_vs_rule_pct"] = 100.0 * (base - cost) / base
    first = [
        c
        for c in (
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


def plot_trajectories(paths: Mapping[str, pd.DataFrame], path: Path) -> None:
    """PNG: cumulative cost and tCO2 over one window, one line per controller."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4), constrained_layout=True)
    for label, df in paths.items():
        if len(df) == 0:
            continue
        axes[0].plot(df["step"], df["cost_total"].cumsum() / 1e3, label=label)
        axes[1].plot(df["step"], df["co2_total"].cumsum(), label=label)
    axes[0].set_ylabel("cumulative cost [k CNY]")
    axes[1].set_ylabel("cumulative CO2 [t]")
    for ax in axes:
        ax.set_xlabel("step")
        ax.legend()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _config_hash(*parts: Any) -> str:
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def resolve_controllers(
    plant: str,
    labels: Sequence[str],
    defs: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    env_cfg: Any = None,
) -> list[ControllerSpec]:
    """Controller specs for ``labels`` on ``plant`` (empty: the plant's defaults).

    A label is a key of ``defs`` (controller configs: ``_target_`` plus keyword arguments,
    a ``train`` block for agents to train first) or a controller name registered for the
    plant. The default labels missing from both are left out.

    Raises:
        ConfigError: naming ``controllers`` (unknown label) or ``controller_defs.<label>``.
    """
    defs = dict(defs or {})
    known = set(defs) | set(available_controllers(plant))
    if not labels:
        labels = [x for x in default_labels(plant) if x in known]
    unknown = [x for x in labels if x not in known]
    if unknown:
        raise ConfigError(
            f"config key controllers={list(labels)!r} has unknown {unknown} for plant "
            f"{plant!r}; allowed: {sorted(known)}"
        )
    specs = []
    for label in labels:
        if label not in defs:
            specs.append(ControllerSpec(label, label, config_hash=_config_hash(env_cfg, label)))
            continue
        d = {k: v for k, v in defs[label].items() if k not in ("_target_", "_partial_", "train")}
        try:
            factory = get_method(str(defs[label]["_target_"]))
        except Exception as exc:
            raise ConfigError(
                f"config key controller_defs.{label}._target_="
                f"{defs[label]['_target_']!r} cannot be imported; allowed: a class or "
                "function taking env= and returning a controller"
            ) from exc
        train = defs[label].get("train")
        if train is not None:
            train = dict(train)
        specs.append(
            ControllerSpec(
                label,
                str(d.get("name", label)),
                d,
                factory=factory,
                config_hash=_config_hash(env_cfg, defs[label]),
                train=train,
            )
        )
    return specs


def _needs_training(spec: ControllerSpec) -> bool:
    return spec.train is not None and spec.kwargs.get("path") is None


def _agent_dir(out: Path, spec: ControllerSpec) -> Path:
    """Where an agent trained for the benchmark lives: by label and config hash.

    A changed training config trains a new agent instead of reusing the old one.
    """
    return out / "agents" / f"{spec.label}-{spec.config_hash}"


def _train_settings(spec: ControllerSpec, env_cfg: Any, run_dir: Path) -> dict[str, Any]:
    """The training config of an agent to train first (validated, nothing run)."""
    assert spec.train is not None
    return {"env": env_cfg, **spec.train, "run_dir": str(run_dir), "resume": True}


def _selection(
    df: pd.DataFrame, hashes: Mapping[str, str], windows: range, seed: int
) -> np.ndarray:
    """Rows of a run's selection: its controllers (same config hash), windows and seeds."""
    if df.empty:
        return np.zeros(0, dtype=bool)
    return np.array(
        [
            hashes.get(str(c)) == str(h) and int(w) in windows and int(sd) == seed + int(w)
            for c, h, w, sd in zip(
                df["controller"], df["config_hash"], df["window"], df["seed"], strict=True
            )
        ],
        dtype=bool,
    )


def _earlier_rows(
    table_path: Path, current: Callable[[pd.DataFrame], np.ndarray], resume: bool
) -> tuple[pd.DataFrame, set[tuple[str, int]]]:
    """The table's earlier rows to keep, and the (label, window) pairs already finished.

    Every earlier row stays (other controllers, windows, configs); finished rows of this
    selection are skipped with ``resume``, its failed rows (or all of it without) recomputed.
    """
    if not table_path.exists():
        return pd.DataFrame(), set()
    previous = pd.read_csv(table_path, dtype={"error": str, "config_hash": str})
    for col in ("error", "config_hash"):
        previous[col] = previous.get(col, pd.Series("", index=previous.index)).fillna("")
    mine = current(previous)
    failed = (previous["error"].astype(str) != "").to_numpy()
    previous = previous[~mine | (~failed & resume)]
    kept = previous[current(previous)]
    done = {(str(c), int(w)) for c, w in zip(kept["controller"], kept["window"], strict=True)}
    log.info("resuming: %d finished rows in %s", len(done), table_path)
    return previous, done


def run(cfg: DictConfig) -> Path:
    """Validate ``cfg``, run the benchmark, write table, summary, plots; return ``out_dir``.

    Files in ``out_dir``: ``benchmark_<plant>.csv`` and ``.parquet`` (one row per controller
    and window), ``summary_<plant>.md`` and ``.csv``, ``benchmark_<plant>.png`` and the
    resolved ``config.yaml``; ``agents/<label>/`` holds agents trained for the benchmark.
    With ``resume`` the rows already in the CSV with the same config hash are kept.
    Every key is checked and every controller built before anything is written.
    """
    from ecocontrol.config import agent_spec, train_config

    settings = benchmark_config(cfg)
    logging.getLogger("pyomo").setLevel(logging.WARNING)  # HiGHS logs every solve at INFO
    env = build_env(cfg["env"])
    plant = plant_of(env)
    env_cfg = OmegaConf.to_container(cfg["env"], resolve=True)
    specs = resolve_controllers(
        plant.plant_name, settings.controllers, settings.controller_defs, env_cfg=env_cfg
    )
    n = plant.n_windows
    if settings.windows is not None and settings.windows > n:
        raise ConfigError(
            f"config key windows={settings.windows} exceeds the {n} test windows of "
            f"{plant.plant_name!r}; allowed: 1..{n} or null"
        )
    out = Path(settings.out_dir)
    to_train = [s for s in specs if _needs_training(s)]
    for spec in to_train:
        try:
            train_config(_train_settings(spec, env_cfg, _agent_dir(out, spec)))
            agent_spec((spec.train or {}).get("agent", {}), env.action_space)
        except ConfigError as exc:
            raise ConfigError(f"in controller_defs.{spec.label}.train: {exc}") from exc
    built = build_controllers(env, [s for s in specs if not _needs_training(s)])
    name = plant.plant_name
    table_path = out / f"benchmark_{name}.csv"
    write_atomic(OmegaConf.to_yaml(cfg, resolve=True), out / "config.yaml")
    for spec in to_train:
        from ecocontrol.train import train

        log.warning("training agent %r for the benchmark (%s)", spec.label, _agent_dir(out, spec))
        path = train(_train_settings(spec, env_cfg, _agent_dir(out, spec)))
        trained = replace(spec, kwargs={**spec.kwargs, "path": str(path)})
        built.update(build_controllers(env, [trained]))
    windows = range(n if settings.windows is None else settings.windows)
    hashes = {s.label: s.config_hash for s in specs}

    def current(df: pd.DataFrame) -> np.ndarray:
        return _selection(df, hashes, windows, settings.seed)

    previous, done = _earlier_rows(table_path, current, settings.resume)
    rows = [previous] if len(previous) else []

    def save(row: dict[str, Any]) -> None:
        rows.append(pd.DataFrame([row]))
        write_atomic(pd.concat(rows, ignore_index=True), table_path)

    paths: dict[str, pd.DataFrame] = {}
    benchmark(
        env,
        specs,
        windows=windows,
        seed=settings.seed,
        skip=done,
        on_row=save,
        built=built,
        trajectories=paths,
    )
    full = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    full["error"] = full["error"].fillna("").astype(str)
    full["config_hash"] = full["config_hash"].fillna("").astype(str)
    write_atomic(full, table_path)  # everything, earlier selections included
    order = {s.label: i for i, s in enumerate(specs)}
    table = full[current(full)]
    table = table.sort_values(
        ["controller", "window"], key=lambda c: c.map(order) if c.name == "controller" else c
    ).reset_index(drop=True)
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
        if paths:
            plot_trajectories(paths, out / f"trajectories_{name}.png")
    print(f"\nresults: {out.resolve()} (table, summary, plots, config.yaml)")
    return out


@hydra.main(config_path="pkg://ecocontrol.configs", config_name="benchmark", version_base=None)
def _hydra_main(cfg: DictConfig) -> None:
    run_or_exit(run, cfg)


def main() -> None:
    """Console entry point ``ecocontrol-benchmark`` (Hydra overrides on the command line)."""
    logging.basicConfig(level=logging.WARNING)
    _hydra_main()


if __name__ == "__main__":
    main()
