"""The Hydra benchmark entry point: composes from the packaged configs, validates, resumes."""

import subprocess
import sys

import pandas as pd
import pytest
from hydra import compose, initialize_config_module
from hydra.errors import ConfigCompositionException, HydraException

from ecocontrol.config import ConfigError
from ecocontrol.runner import run


def _cfg(*overrides):
    with initialize_config_module("ecocontrol.configs", version_base=None):
        return compose("benchmark", overrides=list(overrides))


def test_benchmark_writes_documented_files_and_resumes(tmp_path):
    out = run(_cfg("env=park", "controllers=[rule]", "windows=2", f"out_dir={tmp_path}"))
    table = pd.read_csv(out / "benchmark_park.csv", keep_default_na=False)
    assert list(table["controller"]) == ["rule", "rule"]
    for col in (
        "cost_total",
        "co2_total",
        "decision_ms_median",
        "decision_ms_p95",
        "solver_failures",
        "seed",
        "config_hash",
        "state_access",
        "exogenous_access",
        "error",
    ):
        assert col in table
    assert pd.read_parquet(out / "benchmark_park.parquet").shape == table.shape
    for name in (
        "summary_park.md",
        "summary_park.csv",
        "benchmark_park.png",
        "trajectories_park.png",
        "config.yaml",
    ):
        assert (out / name).stat().st_size > 0
    # Resume: the finished rule rows are kept as they are, only the oracle runs.
    before = table.copy()
    run(_cfg("env=park", "controllers=[rule,oracle]", "windows=2", f"out_dir={tmp_path}"))
    table = pd.read_csv(out / "benchmark_park.csv", keep_default_na=False)
    assert list(table["controller"]) == ["rule", "rule", "oracle", "oracle"]
    # A third run resumes a table with empty solver columns in the rule rows.
    run(_cfg("env=park", "controllers=[rule,mpc,oracle]", "windows=1", f"out_dir={tmp_path}"))
    summary = pd.read_csv(out / "summary_park.csv")
    assert list(summary["controller"]) == ["oracle", "mpc", "rule"]  # the gap ladder
    assert list(summary.columns[1:3]) == ["state_access", "exogenous_access"]
    assert summary["state_access"].notna().all()
    pd.testing.assert_series_equal(
        table["decision_ms_median"][:2], before["decision_ms_median"], check_names=False
    )
    # A changed config (carbon price) changes the hash: the rule row is recomputed.
    run(
        _cfg(
            "env=park",
            "controllers=[rule]",
            "windows=1",
            "env.carbon_price_cny_per_t=300",
            f"out_dir={tmp_path}",
        )
    )
    again = pd.read_parquet(out / "benchmark_park.parquet")  # this run's selection
    assert len(again) == 1 and again["cost_total"][0] > before["cost_total"][0]
    assert again["config_hash"][0] != before["config_hash"][0]
    # The table keeps every earlier row (other configs, controllers, windows) ...
    kept = pd.read_csv(out / "benchmark_park.csv", keep_default_na=False)
    assert len(kept) == 6 and set(kept["controller"]) == {"rule", "oracle", "mpc"}
    # ... while the summary covers only this run's selection.
    summary = pd.read_csv(out / "summary_park.csv")
    assert list(summary["controller"]) == ["rule"] and summary["episodes"][0] == 1
    # Another seed is another selection: nothing is reused.
    run(_cfg("env=park", "controllers=[rule]", "windows=1", "seed=5", f"out_dir={tmp_path}"))
    assert pd.read_parquet(out / "benchmark_park.parquet")["seed"].tolist() == [5]


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
    (("env=park", "controllers=[rule,ppo]", "controller_defs.ppo.path=/no/such/run"), "path"),
    (("env=park", "controllers=[ppo]", "controller_defs.ppo.train.n_envs=0"), "n_envs"),
    (("env=park", "controllers=[ppo]", "controller_defs.ppo.train.total_timesteps=-1"), "total"),
    (
        (
            "env=park",
            "controllers=[ppo]",
            "controller_defs.ppo.train.agent._target_=stable_baselines3.DQN",
        ),
        "DQN",
    ),
    (("env=park", "controllers=[mpc]", "+controller_defs.mpc.horizon_h=-2"), "controller_defs.mpc"),
    (("env=park", "controllers=[mine]", "+controller_defs.mine._target_=no.such.Thing"), "mine"),
    (("env=park", "controllers=[constant]", "controller_defs.constant.action=3"), "constant"),
    (("env=park", "controllers=[mpc_af_rule]"), "controller_defs.mpc_af_rule"),
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
            "ecocontrol.cli",
            "benchmark",
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
        [sys.executable, "-m", "ecocontrol.cli", "benchmark", "env=park", "windows=0"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert bad.returncode == 2 and "windows" in bad.stderr


TINY_PPO = (
    "controller_defs.ppo.train.total_timesteps=512",
    "controller_defs.ppo.train.agent.n_steps=128",
    "controller_defs.ppo.train.agent.batch_size=64",
    "controller_defs.ppo.train.agent.n_epochs=2",
    "controller_defs.ppo.train.eval_every=256",
    "controller_defs.ppo.train.eval_episodes=1",
)


def test_benchmark_trains_an_agent_first_and_reuses_it_on_resume(tmp_path):
    args = ("env=park", "controllers=[rule,ppo,constant]", "windows=1", *TINY_PPO)
    out = run(_cfg(*args, f"out_dir={tmp_path}"))
    (agent_dir,) = (out / "agents").glob("ppo-*")  # by label and config hash
    model = agent_dir / "model.zip"
    assert model.exists() and (agent_dir / "best" / "best_model.zip").exists()
    table = pd.read_csv(out / "benchmark_park.csv", keep_default_na=False)
    assert list(table["controller"]) == ["rule", "ppo", "constant"]
    assert (table["error"] == "").all()
    # The agent's row carries its training's compute (from its run's train_summary.json).
    trained = table.set_index("controller")["train_kgco2"]
    assert float(trained["ppo"]) > 0 and trained["rule"] == ""
    assert "training payback" in (out / "summary_park.md").read_text()
    # The naive constant policy (battery idle, no curtailment) is beaten by the rule.
    cost = table.set_index("controller")["cost_total"]
    assert cost["rule"] < cost["constant"]
    stamp = model.stat().st_mtime_ns
    run(_cfg(*args, f"out_dir={tmp_path}"))
    assert model.stat().st_mtime_ns == stamp  # not retrained
    # A changed training config trains a new agent (nothing stale is benchmarked).
    run(_cfg(*args, "controller_defs.ppo.train.seed=1", f"out_dir={tmp_path}"))
    assert len(list((out / "agents").glob("ppo-*"))) == 2
    # An agent from a run directory, by path.
    run(
        _cfg(
            "env=park",
            "controllers=[ppo]",
            "windows=1",
            f"controller_defs.ppo.path={agent_dir}",
            "controller_defs.ppo.which=final",
            f"out_dir={tmp_path / 'by_path'}",
        )
    )
    assert (tmp_path / "by_path" / "benchmark_park.parquet").exists()


@pytest.mark.parametrize("launcher", ["joblib", "submitit_local"])
def test_multirun_carbon_sweep_with_launchers_writes_the_pareto_plot(launcher, tmp_path):
    sweep = tmp_path / "sweep"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "ecocontrol.cli",
            "benchmark",
            "--multirun",
            f"hydra/launcher={launcher}",
            "env=park",
            "controllers=[rule,oracle]",
            "windows=1",
            "plots=false",
            "env.carbon_price_cny_per_t=0,500",
            f"hydra.sweep.dir={sweep}",
            *(["hydra.launcher.timeout_min=10"] if launcher == "submitit_local" else []),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    table = pd.read_csv(sweep / "sweep_summary.csv")
    assert sorted(table["carbon_price_cny_per_t"].unique()) == [0, 500]
    assert len(table) == 4
    assert (sweep / "pareto_park.png").stat().st_size > 10_000
    # A carbon price makes the oracle emit less (it shifts load and storage to clean hours).
    oracle = table[table.controller == "oracle"].set_index("carbon_price_cny_per_t")
    assert oracle.loc[500, "co2_mean_t"] < oracle.loc[0, "co2_mean_t"]
