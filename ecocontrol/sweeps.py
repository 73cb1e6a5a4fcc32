"""After a ``--multirun`` benchmark sweep: one table of every job's summary, and plots.

:func:`summarize_sweep` runs in the launching process once every job has finished, whatever
the launcher (basic, joblib, submitit), through the Hydra callback
:class:`ecocontrol.cli.SweepSummary` that ``configs/benchmark.yaml`` registers. It reads each
job's ``summary_<plant>.csv`` and its overrides, writes
``sweep_summary.csv`` and ``.md`` in the sweep directory, and, when the sweep varied the
carbon price, ``pareto_<plant>.png``: each controller's mean operating cost (without the
carbon charge) against its mean tCO2, one point per carbon price. ``collect`` and
``plot_pareto`` also work on a finished sweep directory from Python.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
from omegaconf import OmegaConf

from ecocontrol.io import write_atomic
from ecocontrol.plots import plot_pareto

__all__ = ["CARBON_KEY", "collect", "plot_pareto", "summarize_sweep"]

log = logging.getLogger(__name__)

CARBON_KEY = "env.carbon_price_cny_per_t"
CARBON_COLUMN = "carbon_price_cny_per_t"


def collect(sweep_dir: str | Path) -> pd.DataFrame:
    """Every job's summary rows under ``sweep_dir``.

    Added columns: ``job``, ``plant``, the job's overrides (``override:<key>``) and its
    carbon price.
    """
    frames = []
    for summary in sorted(Path(sweep_dir).glob("*/summary_*.csv")):
        job = summary.parent
        df = pd.read_csv(summary, dtype={"failed_windows": str})
        df.insert(0, "plant", summary.stem.removeprefix("summary_"))
        df.insert(0, "job", job.name)
        overrides = job / ".hydra" / "overrides.yaml"
        if overrides.exists():
            items = OmegaConf.to_container(OmegaConf.load(overrides))
            for item in items if isinstance(items, list) else []:
                key, _, value = str(item).partition("=")
                df[f"override:{key}"] = value
        config = job / "config.yaml"
        if config.exists():
            loaded = OmegaConf.to_container(OmegaConf.load(config))
            env = loaded.get("env", {}) if isinstance(loaded, dict) else {}
            df["carbon_price_cny_per_t"] = env.get("carbon_price_cny_per_t")
        frames.append(df)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _failed_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Summary rows of controllers that failed on some window (or had no finished episode)."""
    failed = pd.Series(False, index=table.index)
    if "failed_episodes" in table:
        failed |= table["failed_episodes"].fillna(0) > 0
    if "episodes" in table:
        failed |= table["episodes"].fillna(0) == 0
    cols = [
        c
        for c in ("job", "plant", "controller", "episodes", "failed_episodes", "failed_windows")
        if c in table
    ]
    return table.loc[failed, cols]


def _jobs_without_summary(sweep_dir: Path) -> list[str]:
    """The sweep's job folders (those Hydra wrote ``.hydra`` in) that hold no summary."""
    return sorted(
        d.name
        for d in sweep_dir.iterdir()
        if d.is_dir() and (d / ".hydra").is_dir() and not any(d.glob("summary_*.csv"))
    )


def _failures_section(failed: pd.DataFrame, missing: list[str]) -> str:
    lines = []
    if len(failed):
        lines += ["", "## Failed controllers (failed windows left out of the means)", ""]
        lines.append(failed.to_markdown(index=False))
    if missing:
        lines += ["", "## Jobs without a summary (the job failed)", ""]
        lines.append(", ".join(missing))
    return "\n".join(lines) + "\n" if lines else ""


def summarize_sweep(sweep_dir: str | Path) -> pd.DataFrame:
    """Write ``sweep_summary.csv``/``.md`` (and Pareto plots) in ``sweep_dir``; return the table.

    Controllers that failed on some window (or on all) and jobs that wrote no summary are
    logged as warnings and listed in a section of ``sweep_summary.md``.
    """
    sweep_dir = Path(sweep_dir)
    table = collect(sweep_dir)
    missing = _jobs_without_summary(sweep_dir) if sweep_dir.is_dir() else []
    for job in missing:
        log.warning("sweep job %s wrote no summary (it failed; see its log)", job)
    if table.empty:
        log.warning("no job summaries under %s", sweep_dir)
        return table
    write_atomic(table, sweep_dir / "sweep_summary.csv")
    cols = [
        c
        for c in (
            "job",
            "plant",
            "controller",
            "carbon_price_cny_per_t",
            "episodes",
            "failed_episodes",
            "cost_mean_cny",
            "co2_mean_t",
            "gap_to_oracle_pct",
            "saving_vs_rule_pct",
        )
        if c in table and (c not in ("episodes", "failed_episodes") or "failed_episodes" in table)
    ]
    failed = _failed_rows(table)
    for _, r in failed.iterrows():
        windows = r.get("failed_windows")
        log.warning(
            "sweep job %s (%s): controller %s failed on window(s) %s",
            r["job"],
            r["plant"],
            r["controller"],
            windows if isinstance(windows, str) and windows else "all",
        )
    text = table[cols].to_markdown(index=False, floatfmt=".2f") + "\n"
    write_atomic(text + _failures_section(failed, missing), sweep_dir / "sweep_summary.md")
    print(f"\nsweep: {len(table)} rows from {table['job'].nunique()} jobs")
    if table.groupby("plant")["job"].nunique().max() == 1:  # one job per plant: compact
        from ecocontrol.results import compact_table

        for key, rows in table.groupby(["job", "plant"], sort=True):
            job_id, plant_id = (str(k) for k in key)
            print(f"\njob {job_id}: {plant_id}")
            print(compact_table(rows.drop(columns=["job", "plant"]), plant_id))
    else:
        print(table[cols].to_markdown(index=False, floatfmt=".2f"))
    print(_failures_section(failed, missing), end="")
    for plant, g in table.groupby("plant"):
        if CARBON_COLUMN in g and g[CARBON_COLUMN].nunique() > 1 and "cost_ex_carbon_mean_cny" in g:
            plot_pareto(table, sweep_dir / f"pareto_{plant}.png", str(plant))
            print(f"Pareto plot: {(sweep_dir / f'pareto_{plant}.png').resolve()}")
    print(f"sweep summary: {(sweep_dir / 'sweep_summary.csv').resolve()}")
    return table
