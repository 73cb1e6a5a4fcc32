"""The controllers' own compute: the meter, the benchmark's columns, training, net carbon."""

import json
import socket
import time

import numpy as np
import pandas as pd
import pytest
import torch
from hydra import compose, initialize_config_module
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from ecocontrol.compute_carbon import (
    FALLBACK_METHOD,
    ComputeMeter,
    episode_hours,
    grid_factor,
    training_compute,
)
from ecocontrol.results import net_carbon_table, summarize
from ecocontrol.runner import ControllerSpec, benchmark
from ecocontrol.train import train


def _busy(seconds: float) -> None:
    end = time.perf_counter() + seconds
    x = 0
    while time.perf_counter() < end:
        x += 1


@pytest.fixture
def no_network(monkeypatch):
    """Any socket connection fails: the meter must never need one."""

    def refuse(*args, **kwargs):
        raise AssertionError("the compute meter tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.parametrize("method", ["auto", "cpu_time"])
def test_meter_reports_energy_and_co2_at_the_grid_factor(no_network, method, tmp_path):
    with ComputeMeter(0.5306, "busy", method=method) as m:
        _busy(0.3)
    assert m.kwh > 0
    assert m.kwh == pytest.approx(m.cpu_kwh + m.ram_kwh)
    assert m.kgco2 == pytest.approx(m.kwh * 0.5306, rel=1e-12)
    assert m.wall_s >= 0.3
    assert m.cpu_s > 0
    if method == "auto":
        assert m.method.startswith("codecarbon-"), m.method
        assert m.fallbacks == 0
    else:
        assert m.method == FALLBACK_METHOD
    # codecarbon wrote nothing (no emissions.csv in the working directory)
    assert not list(tmp_path.glob("*.csv"))
    # the share of a part is between 0 and the whole
    assert 0 < m.share(m.cpu_s / 2, m.wall_s / 2) < m.kwh
    assert m.share(m.cpu_s, m.wall_s) == pytest.approx(m.kwh)


def test_meter_falls_back_when_codecarbon_fails(monkeypatch):
    import codecarbon

    class Broken:
        def __init__(self, *args, **kwargs):
            raise RuntimeError("no codecarbon here")

    monkeypatch.setattr(codecarbon, "OfflineEmissionsTracker", Broken)
    with ComputeMeter(0.9, "broken") as m:
        _busy(0.05)
    assert m.method == FALLBACK_METHOD
    assert m.fallbacks == 1
    assert m.kwh > 0
    assert m.kgco2 == pytest.approx(0.9 * m.kwh)


def test_meter_refuses_a_bad_factor():
    with pytest.raises(ValueError, match="grid_kgco2_per_kwh"):
        ComputeMeter(-1.0)


def test_ledger_adds_sessions(tmp_path):
    ledger = tmp_path / "compute.json"
    with ComputeMeter(0.5, "a", method="cpu_time", ledger=ledger) as a:
        _busy(0.05)
    with ComputeMeter(0.5, "b", method="cpu_time", ledger=ledger) as b:
        _busy(0.05)
    total = json.loads(ledger.read_text())
    assert total["sessions"] == 2
    assert total["kwh"] == pytest.approx(a.kwh + b.kwh)
    assert b.summary()["compute_kgco2"] == pytest.approx(0.5 * (a.kwh + b.kwh))
    with ComputeMeter(0.5, "c", method="cpu_time", ledger=ledger, carry=False) as c:
        _busy(0.01)
    assert json.loads(ledger.read_text())["kwh"] == pytest.approx(c.kwh)


def test_grid_factor_of_each_plant(park_env):
    assert grid_factor(park_env) == (0.5306, "ParkParams.grid_mean_t_per_mwh")
    cfg = {
        "_target_": "ecocontrol.envs.cement_kiln.CementKilnEnv",
        "params": {
            "_target_": "ecocontrol.envs.cement_kiln.CementKilnParams",
            "grid_factor_t_per_mwh": 0.7,
        },
    }
    assert grid_factor(cfg) == (0.7, "env.params.grid_factor_t_per_mwh")
    assert episode_hours(park_env) == 168.0


def test_benchmark_rows_carry_compute(park_env, no_network):
    specs = [ControllerSpec("rule", "rule"), ControllerSpec("mpc", "mpc")]
    table = benchmark(park_env, specs, windows=[0], progress=False)
    assert (table["error"] == "").all()
    for col in ("compute_kwh", "compute_kgco2", "compute_episode_kwh"):
        assert (table[col] > 0).all(), col
    assert (table["compute_kwh"] <= table["compute_episode_kwh"]).all()
    np.testing.assert_allclose(table["compute_kgco2"], table["compute_kwh"] * 0.5306)
    assert (table["grid_kgco2_per_kwh"] == 0.5306).all()
    assert (table["episode_h"] == 168.0).all()
    assert table["compute_method"].str.startswith("codecarbon-").all()
    net = net_carbon_table(table)
    assert set(net.index) == {"rule", "mpc"}
    assert (net["decisions_t_per_year"] > 0).all()


def test_training_run_writes_its_compute(tmp_path, no_network):
    torch.set_num_threads(1)
    overrides = [
        "total_timesteps=512",
        "n_envs=2",
        "agent.n_steps=128",
        "agent.batch_size=64",
        "agent.n_epochs=2",
        "eval_every=0",
        "checkpoint_every=256",
        "progress_bar=false",
        f"run_dir={tmp_path / 'run'}",
    ]
    with initialize_config_module("ecocontrol.configs", version_base=None):
        cfg = compose("train", overrides=overrides)
    run = train(cfg)
    summary = json.loads((run / "train_summary.json").read_text())
    assert summary["compute_kwh"] > 0
    assert summary["compute_kgco2"] == pytest.approx(summary["compute_kwh"] * 0.5306)
    assert summary["grid_kgco2_per_kwh"] == 0.5306
    assert summary["grid_source"] == "env.params.grid_mean_t_per_mwh"
    assert summary["compute_method"].startswith("codecarbon-")
    assert summary["compute_sessions"] == 1
    assert training_compute(run) == {
        "train_kwh": summary["compute_kwh"],
        "train_kgco2": summary["compute_kgco2"],
    }
    assert training_compute(run / "model.zip") == training_compute(run)
    (event,) = (run / "tb").glob("PPO_1/events.out.tfevents.*")
    acc = EventAccumulator(str(event))
    acc.Reload()
    # the last scalar is the total at the end of training, the summary's a moment later
    kwh = acc.Scalars("compute/kwh")[-1].value
    assert 0 < kwh <= summary["compute_kwh"] * (1 + 1e-6)
    assert kwh == pytest.approx(summary["compute_kwh"], rel=0.2)
    assert "compute/kgco2" in acc.Tags()["scalars"]
    # A resumed run (256 steps more from its last checkpoint) adds to the first session's.
    with initialize_config_module("ecocontrol.configs", version_base=None):
        more = compose("train", overrides=[*overrides, "total_timesteps=768", "resume=true"])
    train(more)
    resumed = json.loads((run / "train_summary.json").read_text())
    assert resumed["num_timesteps"] == 768
    assert resumed["compute_sessions"] == 2
    assert resumed["compute_kwh"] > summary["compute_kwh"]
    assert resumed["compute_wall_s"] > summary["compute_wall_s"]


def test_net_carbon_arithmetic_on_a_hand_example():
    # 24-h episodes: 365 a year. The rule emits 10 t an episode, the MPC 9 t, the agent 9.5 t.
    summary = pd.DataFrame(
        {
            "controller": ["mpc", "agent", "rule"],
            "co2_mean_t": [9.0, 9.5, 10.0],
            "compute_kgco2_mean": [2.0, 0.1, 0.001],  # kg per episode
            "train_kgco2": [np.nan, 365.0, np.nan],  # kg, one-off
            "episode_h": [24.0, 24.0, 24.0],
            "grid_kgco2_per_kwh": [0.5, 0.5, 0.5],
        }
    )
    net = net_carbon_table(summary)
    assert net.loc["mpc", "co2_saved_t_per_year"] == pytest.approx(365.0)
    assert net.loc["mpc", "decisions_t_per_year"] == pytest.approx(0.73)
    assert net.loc["mpc", "net_saved_t_per_year"] == pytest.approx(364.27)
    assert net.loc["agent", "co2_saved_t_per_year"] == pytest.approx(182.5)
    assert net.loc["agent", "training_t"] == pytest.approx(0.365)
    # saving net of decisions: 182.5 - 0.0365 t a year; training repaid after 0.365 t of it
    gross = 182.5 - 0.0365
    assert net.loc["agent", "training_payback_h"] == pytest.approx(0.365 / gross * 8760)
    assert net.loc["agent", "net_saved_t_per_year"] == pytest.approx(gross - 0.365)
    assert net.loc["rule", "net_saved_t_per_year"] == pytest.approx(-0.000365)
    assert net.loc["mpc", "training_payback_h"] == 0.0
    # over two years the training weighs half; a 50 W host costs 0.219 t a year at 0.5 kg/kWh
    two = net_carbon_table(summary, amortise_years=2.0, host_power_w=50.0)
    assert two.loc["agent", "training_t_per_year"] == pytest.approx(0.1825)
    assert two.loc["mpc", "host_t_per_year"] == pytest.approx(0.219)
    assert two.loc["mpc", "net_saved_t_per_year"] == pytest.approx(365.0 - 0.73 - 0.219)
    # an agent that emits more than the rule never repays its training
    worse = summary.assign(co2_mean_t=[9.0, 10.5, 10.0])
    assert np.isinf(net_carbon_table(worse).loc["agent", "training_payback_h"])


def test_net_carbon_table_from_a_table_and_its_errors():
    table = pd.DataFrame(
        {
            "controller": ["rule", "rule", "mpc", "mpc"],
            "window": [0, 1, 0, 1],
            "cost_total": [1.0, 1.0, 1.0, 1.0],
            "co2_total": [10.0, 12.0, 9.0, 11.0],
            "compute_kwh": [1e-6, 1e-6, 1e-3, 3e-3],
            "compute_kgco2": [5e-7, 5e-7, 5e-4, 1.5e-3],
            "episode_h": [168.0] * 4,
            "grid_kgco2_per_kwh": [0.5] * 4,
        }
    )
    net = net_carbon_table(table)
    assert net.loc["mpc", "co2_saved_t_per_year"] == pytest.approx(8760 / 168)
    assert net.loc["mpc", "decisions_t_per_year"] == pytest.approx(1e-6 * 8760 / 168)
    assert summarize(table).loc["mpc", "compute_kgco2_mean"] == pytest.approx(1e-3)
    with pytest.raises(ValueError, match="baseline"):
        net_carbon_table(table, baseline="oracle")
    with pytest.raises(ValueError, match="episode_h"):
        net_carbon_table(table.drop(columns="episode_h"))
    assert net_carbon_table(table.drop(columns="episode_h"), episode_h=24.0).loc[
        "mpc", "episodes_per_year"
    ] == pytest.approx(365.0)
