"""Summaries survive failed rows and say which controllers failed on which windows."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from hydra import compose, initialize_config_module

from ecocontrol.results import summarize
from ecocontrol.runner import run
from ecocontrol.sweeps import summarize_sweep


class Boom:
    """Fails every episode."""

    state_access = "measured"
    exogenous_access = "forecast"

    def __init__(self, env: Any) -> None:
        self.seed: int | None = None
        self.shape = env.action_space.shape

    def reset(self, env: Any, seed: int | None = None) -> None:
        self.seed = seed

    def act(self, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        raise RuntimeError("boom")


class Flaky(Boom):
    """Fails on window 1 only (the benchmark's seed is the window with seed=0)."""

    def act(self, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        if self.seed == 1:
            raise RuntimeError("flaky")
        return np.zeros(self.shape, dtype=np.float32)


def _cfg(*overrides: str) -> Any:
    with initialize_config_module("ecocontrol.configs", version_base=None):
        return compose("benchmark", overrides=list(overrides))


def _bench(tmp_path, labels: str) -> Any:
    return _cfg(
        "env=park",
        "env.episode_days=1",
        f"controllers=[{labels}]",
        "windows=2",
        f"out_dir={tmp_path}",
        f"+controller_defs.boom._target_={__name__}.Boom",
        f"+controller_defs.flaky._target_={__name__}.Flaky",
    )


def test_benchmark_names_failed_controllers_and_windows(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        out = run(_bench(tmp_path, "rule,boom,flaky"))
    summary = pd.read_csv(out / "summary_park.csv", dtype={"failed_windows": str})
    s = summary.set_index("controller")
    assert list(s.index) == ["boom", "flaky", "rule"]
    assert s.loc["boom", "episodes"] == 0 and s.loc["boom", "failed_episodes"] == 2
    assert s.loc["boom", "failed_windows"] == "0,1" and np.isnan(s.loc["boom", "cost_mean_cny"])
    assert s.loc["flaky", "episodes"] == 1 and s.loc["flaky", "failed_windows"] == "1"
    assert s.loc["rule", "failed_episodes"] == 0 and np.isfinite(s.loc["rule", "cost_mean_cny"])
    md = (out / "summary_park.md").read_text()
    assert "## Failed: 3 episode(s)" in md and "RuntimeError('flaky')" in md
    assert "controller boom failed on window(s) 0,1" in caplog.text
    assert "controller flaky failed on window(s) 1" in caplog.text
    assert (out / "benchmark_park.png").stat().st_size > 0


def test_benchmark_where_every_episode_fails_still_writes_its_summary(tmp_path):
    out = run(_bench(tmp_path, "boom"))
    summary = pd.read_csv(out / "summary_park.csv")
    assert summary["episodes"].tolist() == [0] and summary["failed_episodes"].tolist() == [2]
    assert "## Failed: 2 episode(s)" in (out / "summary_park.md").read_text()
    assert (out / "benchmark_park.png").stat().st_size > 0
    assert len(pd.read_parquet(out / "benchmark_park.parquet")) == 2


def test_summarize_without_failures_has_no_failure_columns():
    table = pd.DataFrame(
        {
            "controller": ["rule", "rule"],
            "window": [0, 1],
            "error": ["", ""],
            "cost_total": [1.0, 3.0],
            "co2_total": [1.0, 1.0],
            "decision_ms_median": [1.0, 1.0],
            "decision_ms_p95": [1.0, 1.0],
            "solver_failures": [0, 0],
        }
    )
    s = summarize(table)
    assert "failed_episodes" not in s and s.loc["rule", "cost_mean_cny"] == 2.0
    assert summarize(table.iloc[:0]).empty


def test_sweep_summary_lists_failed_controllers_and_jobs(tmp_path, caplog):
    job = tmp_path / "0"
    job.mkdir()
    pd.DataFrame(
        {
            "controller": ["rule", "boom"],
            "episodes": [2, 0],
            "failed_episodes": [0, 2],
            "failed_windows": ["", "0,1"],
            "cost_mean_cny": [10.0, np.nan],
            "co2_mean_t": [1.0, np.nan],
        }
    ).to_csv(job / "summary_park.csv", index=False)
    (tmp_path / "1" / ".hydra").mkdir(parents=True)  # a job that died before its summary
    with caplog.at_level(logging.WARNING):
        table = summarize_sweep(tmp_path)
    assert len(table) == 2
    md = (tmp_path / "sweep_summary.md").read_text()
    assert "## Failed controllers" in md and "0,1" in md
    assert "## Jobs without a summary" in md
    assert "controller boom failed on window(s) 0,1" in caplog.text
    assert "sweep job 1 wrote no summary" in caplog.text
