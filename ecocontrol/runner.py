"""Run controllers on an env's test windows: the benchmark loop, with resume.

:func:`benchmark` runs every controller on every window through the one evaluation loop
(:func:`ecocontrol.evaluation.run_episode`) and returns one row per (controller, window);
:func:`run` validates a whole benchmark config, trains the agents it needs through the training
API (:mod:`ecocontrol.train`), runs what its table does not hold yet and writes the table, the
summary (:mod:`ecocontrol.results`) and the plots (:mod:`ecocontrol.plots`). The entry point
is ``ecocontrol-benchmark`` (:mod:`ecocontrol.cli`); see ``configs/benchmark.yaml``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np
import pandas as pd
from hydra.utils import get_method
from tqdm import tqdm

from ecocontrol.compute_carbon import ComputeMeter, episode_hours, grid_factor, training_compute
from ecocontrol.config import (
    ConfigError,
    benchmark_config,
    build_env,
    hashed_env_config,
    plain_config,
    resolved_env_config,
    to_yaml,
)
from ecocontrol.controllers import available_controllers, make_controller
from ecocontrol.controllers.base import Controller, information_of, plant_of
from ecocontrol.evaluation import EpisodeResult, run_episode
from ecocontrol.io import clean_temp_files, write_atomic
from ecocontrol.results import INFORMATION_COLUMNS, errors_of, write_results
from ecocontrol.validation import require_seed

if TYPE_CHECKING:
    from ecocontrol.train import TrainPlan

log = logging.getLogger(__name__)


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

    Columns: ``controller``, ``window``, ``seed``, ``config_hash``, ``state_access`` and
    ``exogenous_access`` (what the controller knew: ``controllers.base.information_of``),
    ``cost_<term>``, ``co2_<source>``, ``viol_<name>``, ``n_steps``, ``decision_ms_median``,
    ``decision_ms_p95``, ``solver_failures``, ``error``; for MPCs also ``solves``,
    ``solves_time_limited`` (stopped by the time-limit safety net: failures),
    ``solves_work_limited`` (stopped by a deterministic work limit: used), ``solve_ms_median``
    and ``solve_ms_p95`` (latency of the decisions that solved). A controller that raises on
    a window gets a row with the error and the benchmark goes on. ``skip`` lists (label,
    window) pairs already done (resume); ``on_row`` sees each new row as soon as it is
    finished (to write it out); ``built`` holds controllers already built (by label), the
    others are built from their specs first. If
    ``trajectories`` is given, each controller's per-step record of the first window run is
    put there by label.
    """
    plant = plant_of(env)
    if windows is None:
        windows = range(plant.n_windows)
    factor, _ = grid_factor(env)
    hours = episode_hours(env)
    rows: list[dict[str, Any]] = []
    missing = [s for s in controllers if built is None or s.label not in built]
    built = {**(built or {}), **build_controllers(env, missing)}
    done = skip or set()
    jobs = [(spec, w) for w in windows for spec in controllers if (spec.label, int(w)) not in done]
    for spec, w in tqdm(jobs, desc="benchmark", disable=not progress, unit="episode"):
        controller = built[spec.label]
        row: dict[str, Any] = {
            "controller": spec.label,
            "window": int(w),
            "seed": seed + int(w),
            "config_hash": spec.config_hash,
            **dict(zip(INFORMATION_COLUMNS, information_of(controller), strict=True)),
            "episode_h": hours,
        }
        try:
            record = trajectories is not None and spec.label not in trajectories
            with ComputeMeter(factor, f"{spec.label}/window{int(w)}") as meter:
                r = run_episode(env, controller, seed=seed + int(w), window=int(w), record=record)
            if record and trajectories is not None:
                trajectories[spec.label] = pd.DataFrame(r.trajectory)
        except Exception as exc:
            log.exception("controller %s failed on window %s", spec.label, w)
            row["error"] = repr(exc)
        else:
            row.update(
                **r.kpis,
                n_steps=r.n_steps,
                decision_ms_median=1e3 * r.decision_time_median_s,
                decision_ms_p95=1e3 * r.decision_time_p95_s,
                solver_failures=r.solver_failures,
                **_solve_stats(controller),
                **_compute_columns(meter, r),
                **training_compute(spec.kwargs.get("path")),
                error="",
            )
        rows.append(row)
        if on_row is not None:
            on_row(row)
    return pd.DataFrame(rows)


def _solve_stats(controller: Any) -> dict[str, float]:
    """Solver calls, time- and work-limited solves and solve latency of an MPC's episode."""
    times = np.asarray(getattr(controller, "solve_times_s", []), dtype=float)
    if times.size == 0:
        return {}
    return {
        "solves": int(times.size),
        "solves_time_limited": int(getattr(controller, "n_time_limited", 0)),
        "solves_work_limited": int(getattr(controller, "n_work_limited", 0)),
        "solve_ms_median": 1e3 * float(np.median(times)),
        "solve_ms_p95": 1e3 * float(np.percentile(times, 95)),
    }


def _compute_columns(meter: ComputeMeter, r: EpisodeResult) -> dict[str, Any]:
    """The energy and CO2 of an episode's decisions and of the whole episode."""
    decision_s = float(np.sum(r.decision_times_s))
    kwh = meter.share(r.decision_cpu_s, decision_s)
    return {
        "decision_s": decision_s,
        "compute_kwh": kwh,
        "compute_kgco2": kwh * meter.grid_kgco2_per_kwh,
        "compute_episode_kwh": meter.kwh,
        "compute_method": meter.method,
        "grid_kgco2_per_kwh": meter.grid_kgco2_per_kwh,
    }


def config_hash(*parts: Any) -> str:
    """Short hash of configs (JSON, sorted keys): what resume matches rows on."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def resolve_controllers(
    plant: str,
    labels: Sequence[str],
    defs: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    env_cfg: Mapping[str, Any] | None = None,
) -> list[ControllerSpec]:
    """Controller specs for ``labels`` on ``plant`` (empty: the plant's defaults).

    A label is a key of ``defs`` (controller configs: ``_target_`` plus keyword arguments,
    a ``train`` block for agents to train first) or a controller name registered for the
    plant. The default labels missing from both are left out. ``env_cfg`` (the fully
    resolved env config, :func:`ecocontrol.config.resolved_env_config`) enters the hashes.

    Raises:
        ConfigError: naming ``controllers`` (unknown label) or ``controller_defs.<label>``.
    """
    defs = dict(defs or {})
    if env_cfg is not None:
        env_cfg = hashed_env_config(env_cfg)
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
            specs.append(ControllerSpec(label, label, config_hash=config_hash(env_cfg, label)))
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
        specs.append(
            ControllerSpec(
                label,
                str(d.get("name", label)),
                d,
                factory=factory,
                config_hash=config_hash(env_cfg, defs[label]),
                train=None if train is None else dict(train),
            )
        )
    return specs


def _needs_training(spec: ControllerSpec) -> bool:
    return spec.train is not None and spec.kwargs.get("path") is None


def agent_dir(out: Path, spec: ControllerSpec) -> Path:
    """Where an agent trained for the benchmark lives: by label and config hash.

    A changed training config trains a new agent instead of reusing the old one.
    """
    return out / "agents" / f"{spec.label}-{spec.config_hash}"


def plan_agents(
    specs: Sequence[ControllerSpec], env_cfg: Mapping[str, Any], out: Path
) -> dict[str, TrainPlan]:
    """The validated training plan of each agent to train first, by label (nothing run).

    Raises:
        ConfigError: naming ``controller_defs.<label>.train`` and the bad key.
    """
    plans = {}
    for spec in specs:
        if not _needs_training(spec):
            continue
        from ecocontrol.train import plan_training

        settings = {
            "env": {**env_cfg, "split": "train"},  # training picks its own splits
            **(spec.train or {}),
            "run_dir": str(agent_dir(out, spec)),
            "resume": True,
        }
        try:
            plans[spec.label] = plan_training(settings)
        except ConfigError as exc:
            raise ConfigError(f"in controller_defs.{spec.label}.train: {exc}") from exc
    return plans


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
    # Text columns stay text: "true" (exogenous_access of the oracle) would parse as a bool.
    text = {c: str for c in ("error", "config_hash", "controller", *INFORMATION_COLUMNS)}
    previous = pd.read_csv(table_path, dtype=text)
    for col in ("error", "config_hash"):
        previous[col] = previous.get(col, pd.Series("", index=previous.index)).fillna("")
    mine = current(previous)
    failed = (previous["error"].astype(str) != "").to_numpy()
    previous = previous[~mine | (~failed & resume)]
    kept = previous[current(previous)]
    done = {(str(c), int(w)) for c, w in zip(kept["controller"], kept["window"], strict=True)}
    log.info("resuming: %d finished rows in %s", len(done), table_path)
    return previous, done


def _with_information(
    full: pd.DataFrame, mine: np.ndarray, built: Mapping[str, Controller]
) -> pd.DataFrame:
    """Fill the information columns of this selection's rows from an older table."""
    for i, col in enumerate(INFORMATION_COLUMNS):
        known = full["controller"].map({k: information_of(c)[i] for k, c in built.items()})
        if col not in full:
            full[col] = np.nan
        full[col] = full[col].where(~(full[col].isna() & mine), known)
    return full


def _complete_trajectories(
    env: gym.Env[Any, Any],
    specs: Sequence[ControllerSpec],
    built: Mapping[str, Controller],
    table: pd.DataFrame,
    seed: int,
    paths: dict[str, pd.DataFrame],
) -> None:
    """Record the trajectory plot's episode of each controller that ran none in this call.

    On a resume the rows come from the table, not from episodes run now, so a controller's
    first finished window is run again (same seed, same result) for its trajectory only.
    """
    finished = table[errors_of(table) == ""]
    for spec in specs:
        if spec.label in paths:
            continue
        windows = finished.loc[finished["controller"] == spec.label, "window"]
        if windows.empty:
            continue
        w = int(windows.min())
        log.info("re-running %s on window %d for the trajectory plot", spec.label, w)
        try:
            r = run_episode(env, built[spec.label], seed=seed + w, window=w, record=True)
        except Exception:
            log.exception("trajectory of %s on window %d failed", spec.label, w)
            continue
        paths[spec.label] = pd.DataFrame(r.trajectory)


def run(cfg: Mapping[str, Any]) -> Path:
    """Validate ``cfg``, run the benchmark, write table, summary, plots; return ``out_dir``.

    ``cfg``: the keys of ``configs/benchmark.yaml`` (plain containers or a composed config).
    Files in ``out_dir``: ``benchmark_<plant>.csv`` and ``.parquet`` (one row per controller
    and window), ``summary_<plant>.md`` and ``.csv``, ``benchmark_<plant>.png`` and the
    resolved ``config.yaml``; ``agents/<label>-<hash>/`` holds agents trained for the
    benchmark. With ``resume`` the rows already in the CSV with the same config hash are kept.
    Every key is checked and every controller built (or its training planned) before
    anything is written.
    """
    config = plain_config(cfg)
    settings = benchmark_config(config)
    env = build_env(config["env"])
    plant = plant_of(env)
    env_cfg = resolved_env_config(config["env"])
    specs = resolve_controllers(
        plant.plant_name, settings.controllers, settings.controller_defs, env_cfg=env_cfg
    )
    n = plant.n_windows
    if settings.windows is not None and settings.windows > n:
        raise ConfigError(
            f"config key windows={settings.windows} exceeds the {n} test windows of "
            f"{plant.plant_name!r}; allowed: 1..{n} or null"
        )
    n_run = n if settings.windows is None else settings.windows
    try:
        require_seed("seed", settings.seed, span=n_run)  # window w runs with seed + w
    except ValueError as exc:
        raise ConfigError(f"config key {exc}") from None
    out = Path(settings.out_dir)
    plans = plan_agents(specs, env_cfg, out)
    built = build_controllers(env, [s for s in specs if s.label not in plans])
    name = plant.plant_name
    table_path = out / f"benchmark_{name}.csv"
    clean_temp_files(out)  # of a run killed mid-write in this out_dir
    write_atomic(to_yaml(config), out / "config.yaml")
    for i, spec in enumerate(specs):
        if spec.label in plans:
            from ecocontrol.train import train

            log.warning(
                "training agent %r for the benchmark (%s)", spec.label, agent_dir(out, spec)
            )
            path = train(plans[spec.label])
            # Same label and hash; the path lets its rows report the training's compute.
            specs[i] = replace(spec, kwargs={**spec.kwargs, "path": str(path)})
            built.update(build_controllers(env, [specs[i]]))
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
    full["error"] = errors_of(full)
    full["config_hash"] = full.get("config_hash", pd.Series("", index=full.index))
    full["config_hash"] = full["config_hash"].fillna("").astype(str)
    full = _with_information(full, current(full), built)
    write_atomic(full, table_path)  # everything, earlier selections included
    order = {s.label: i for i, s in enumerate(specs)}
    table = full[current(full)]
    table = table.sort_values(
        ["controller", "window"], key=lambda c: c.map(order) if c.name == "controller" else c
    ).reset_index(drop=True)
    write_results(table, out, name, len(windows))
    if settings.plots:
        from ecocontrol.plots import plot_summary, plot_trajectories

        plot_summary(table, out / f"benchmark_{name}.png", plant=name)
        _complete_trajectories(env, specs, built, table, settings.seed, paths)
        if paths:
            plot_trajectories(paths, out / f"trajectories_{name}.png", plant=name)
    print(f"\nresults: {out.resolve()} (table, summary, plots, config.yaml)")
    return out
