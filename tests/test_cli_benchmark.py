"""The Hydra benchmark entry point: composes from the packaged configs, validates, resumes."""

import subprocess
import sys

import pandas as pd
import pytest
from hydra import compose, initialize_config_module
from hydra.errors import ConfigCompositionException, HydraException

from ecocontrol.benchmark import run
from ecocontrol.config import ConfigError


def _cfg(*overrides):
    with initialize_config_module("ecocontrol.configs", version_base=None):
        return compose("benchmark", overrides=list(overrides))


def test_benchmark_writes_documented_files_and_resumes(tmp_path):
    out = run(_cfg("env=park", "controllers=[rule]", "windows=2", f"out_dir={tmp_path}"))
    table = pd.read_csv(out / "benchmark_park.csv", keep_default_na=False)
    assert list(table["controller"]) == ["rule", "rule"]
    for col in ("cost_total", "co2_total", "decision_ms_median", "decision_ms_p95", "error"):
        assert col in table
    assert pd.read_parquet(out / "benchmark_park.parquet").shape == table.shape
    for name in ("summary_park.md", "summary_park.csv", "benchmark_park.png", "config.yaml"):
        assert (out / name).stat().st_size > 0
    # Resume: the finished rule rows are kept as they are, only the oracle runs.
    before = table.copy()
    run(_cfg("env=park", "controllers=[rule,oracle]", "windows=2", f"out_dir={tmp_path}"))
    table = pd.read_csv(out / "benchmark_park.csv", keep_default_na=False)
    assert list(table["controller"]) == ["rule", "rule", "oracle", "oracle"]
    # A third run resumes a table with empty solver columns in the rule rows.
    run(_cfg("env=park", "controllers=[rule,mpc,oracle]", "windows=1", f"out_dir={tmp_path}"))
    summary = pd.read_csv(out / "summary_park.csv")
    assert list(summary["controller"]) == ["rule", "mpc", "oracle"]
    pd.testing.assert_series_equal(
        table["decision_ms_median"][:2], before["decision_ms_median"], check_names=False
    )


MALFORMED = [
    (("env=park", "controllers=[rule,nonsense]"), "controllers"),
    (("env=park", "controllers=rule"), "controllers"),
    (("env=park", "controllers=[rule,rule]"), "controllers"),
    (("env=park", "windows=0"), "windows"),
    (("env=park", "windows=-3"), "windows"),
    (("env=park", "windows=1000"), "windows"),
    (("env=park", "windows=two"), "windows"),
    (("env=park", "seed=-1"), "seed"),
    (("env=park", "resume=maybe"), "resume"),
    (("env=park", "plots=yes"), "plots"),
    (("env=park", "+speed=fast"), "speed"),
    (("env=park", "env.carbon_price_cny_per_t=-5"), "carbon_price_cny_per_t"),
    (("env=park", "env.params.battery_energy_mwh=-1"), "battery_energy_mwh"),
    (("env=hot_stove", "env.params.n_stoves=1"), "n_stoves"),
    (("env=cement_kiln", "env.params.af_biogenic_share=1.5"), "af_biogenic_share"),
    (("env=cement_kiln", "env.episode_h=0"), "episode_h"),
    (("env=park", "env.split=holdout"), "split"),
]


@pytest.mark.parametrize(("overrides", "key"), MALFORMED)
def test_malformed_configs_are_refused_before_work_naming_the_key(overrides, key, tmp_path):
    with pytest.raises(ConfigError, match=key):
        run(_cfg(*overrides, f"out_dir={tmp_path / 'x'}"))
    assert not (tmp_path / "x").exists()  # nothing was written


def test_unknown_env_is_refused_by_composition():
    with pytest.raises((ConfigCompositionException, HydraException), match="env"):
        _cfg("env=steel_mill")


def test_console_entry_point_runs_outside_the_repo(tmp_path):
    out = tmp_path / "o"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "ecocontrol.benchmark",
            "env=park",
            "controllers=[rule]",
            "windows=1",
            f"out_dir={out}",
            "plots=false",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert (out / "benchmark_park.csv").exists()
    bad = subprocess.run(
        [sys.executable, "-m", "ecocontrol.benchmark", "env=park", "windows=0"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert bad.returncode == 2 and "windows" in bad.stderr
