"""Malformed configs and API calls are refused before any work (issue 21).

Each case is refused with a message that names the key (or field) and says what is allowed,
and nothing is written to the output directory. The configs are composed and run in-process
(:func:`ecocontrol.runner.run`, :func:`ecocontrol.train.train`), which is what the console
entry points call; a handful of real CLI runs check the exit status and stderr as well.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ecocontrol.envs import CementKilnParams, ForecastErrorModel, ParkParams, ScenarioWindows
from hydra import compose, initialize_config_module

from ecocontrol.config import ConfigError, agent_spec
from ecocontrol.emissions import EmissionLedger, Fuel
from ecocontrol.runner import run
from ecocontrol.train import train
from ecocontrol.validation import require_seed, require_writable_dir

BENCH = ("env=park", "controllers=[rule]", "windows=1", "plots=false")
TRAIN = (
    "env=park",
    "total_timesteps=128",
    "n_envs=1",
    "eval_every=0",
    "checkpoint_every=0",
    "progress_bar=false",
    "agent.n_steps=64",
    "agent.batch_size=32",
)
#: A path under a file, and a path this process cannot create (procfs refuses even root).
FILE, UNDER_FILE, UNWRITABLE = "<file>", "<file>/sub", "/proc/ecocontrol-malformed"

#: (overrides after BENCH, key named in the message)
MALFORMED_BENCHMARK: list[tuple[tuple[str, ...], str]] = [
    (("env.carbon_price_cny_per_t=abc",), "carbon_price_cny_per_t"),
    (("env.carbon_price_cny_per_t='80'",), "carbon_price_cny_per_t"),
    (("env.carbon_price_cny_per_t=true",), "carbon_price_cny_per_t"),
    (("env=hot_stove", "env.carbon_price_cny_per_t='80'"), "carbon_price_cny_per_t"),
    (("seed=4294967296",), "seed"),
    (("seed=99999999999999999999",), "seed"),
    (("seed=4294967295", "windows=2"), "seed"),  # window 1 would run with seed 2**32
    (("seed=true",), "seed"),
    (("seed=1.5",), "seed"),
    (("env.split_seed=-1",), "split_seed"),
    (("env.split_seed=4294967296",), "split_seed"),
    (("env.split_seed=0.5",), "split_seed"),
    (("env.params.load_seed=null",), "load_seed"),
    (("env.params.load_seed=-3",), "load_seed"),
    (("env.params.load_seed=4294967295",), "load_seed"),  # heat demand uses load_seed + 1
    (("env.params.load_seed=nan",), "load_seed"),
    (("env.params.battery_energy_mwh=true",), "battery_energy_mwh"),
    (("env.params.battery_energy_mwh='3'",), "battery_energy_mwh"),
    (("env.params.pv_ac_mw=0",), "pv_ac_mw"),
    (
        ("env.params.tariff_flat_cny_per_mwh=0", "env.params.feed_in_cny_per_mwh=0"),
        "tariff_flat_cny_per_mwh",
    ),
    (("env.params.n_turbines=2.5",), "n_turbines"),
    (("env.params.tou_schedule=null",), "tou_schedule"),
    (("env.params.soc_init=nan",), "soc_init"),
    (("env.params.hub_height_m=inf",), "hub_height_m"),
    (("env.reward_scale_cny=0",), "reward_scale_cny"),
    (("env.episode_days=true",), "episode_days"),
    (("env.forecast_noise_scale='1'",), "forecast_noise_scale"),
    (("env=cement_kiln", "env.params.bz_limits_c=null"), "bz_limits_c"),
    (("env=cement_kiln", "env.params.bz_limits_c=[1400]"), "bz_limits_c"),
    (("env=cement_kiln", "env.params.bz_limits_c=[1400,abc]"), "bz_limits_c"),
    (("windows=true",), "windows"),
    ((f"out_dir={FILE}",), "out_dir"),
    ((f"out_dir={UNDER_FILE}",), "out_dir"),
    ((f"out_dir={UNWRITABLE}",), "out_dir"),
]

#: (overrides after TRAIN, key named in the message)
MALFORMED_TRAIN: list[tuple[tuple[str, ...], str]] = [
    (("agent.n_steps=1",), "agent.n_steps"),  # n_steps * n_envs <= 1
    (("agent.batch_size=1",), "agent.batch_size"),
    (("agent.n_steps=64.0",), "agent.n_steps"),
    (("agent.n_epochs=2.5",), "agent.n_epochs"),
    (("agent.policy=CnnPolicy",), "agent.policy"),
    (("agent.policy=NoSuchPolicy",), "agent.policy"),
    (("agent.policy_kwargs.net_arch=[-1,64]",), "agent.policy_kwargs.net_arch"),
    (("agent.policy_kwargs.net_arch=[64.5]",), "agent.policy_kwargs.net_arch"),
    (("agent.policy_kwargs.net_arch=[true]",), "agent.policy_kwargs.net_arch"),
    (
        ("~agent.policy_kwargs", "+agent.policy_kwargs={net_arch:{pi:[64],qf:[64]}}"),
        "agent.policy_kwargs.net_arch",
    ),
    (("+agent.policy_kwargs.activation_fn=sigmoidal",), "agent.policy_kwargs.activation_fn"),
    (("+agent.policy_kwargs.activation_fn=42",), "agent.policy_kwargs.activation_fn"),
    (("+agent.policy_kwargs.optimizer_class=lion",), "agent.policy_kwargs.optimizer_class"),
    (("+agent.policy_kwargs.warp=1",), "agent.policy_kwargs.warp"),
    (("+agent.clip_range_vf=-1",), "agent.clip_range_vf"),
    (("+agent.clip_range_vf=0",), "agent.clip_range_vf"),
    (("agent.learning_rate='0.001'",), "agent.learning_rate"),
    (("agent.learning_rate=abc",), "agent.learning_rate"),
    (("agent.max_grad_norm=nan",), "agent.max_grad_norm"),
    (("agent.max_grad_norm=0",), "agent.max_grad_norm"),
    (("+agent.target_kl=-0.1",), "agent.target_kl"),
    (("agent.gamma=true",), "agent.gamma"),
    (("agent.ent_coef=auto",), "agent.ent_coef"),  # PPO has no automatic coefficient
    (("+agent.seed=1",), "agent.seed"),
    (("+agent.device=cpu",), "agent.device"),
    (("agent=sac", "agent.ent_coef=auto_x"), "agent.ent_coef"),
    (("agent=sac", "agent.ent_coef=-0.5"), "agent.ent_coef"),
    (("agent=sac", "agent.ent_coef=auto_-1"), "agent.ent_coef"),
    (("agent=sac", "agent.train_freq=0"), "agent.train_freq"),
    (("agent=sac", "agent.gradient_steps=-2"), "agent.gradient_steps"),
    (("agent=sac", "+agent.target_entropy=high"), "agent.target_entropy"),
    (("agent=td3", "agent.policy_delay=0"), "agent.policy_delay"),
    (("seed=4294967296",), "seed"),
    (("seed=4294960000",), "seed"),  # the validation env runs with seed + 10000
    (("n_envs=true",), "n_envs"),
    (("normalize_obs=1",), "normalize_obs"),
    (("env.split=test",), "env.split"),
    (("env.split=val",), "env.split"),
    (("env.split_seed=-1",), "split_seed"),
    (("env.carbon_price_cny_per_t='80'",), "carbon_price_cny_per_t"),
    (
        ("env.params.tariff_flat_cny_per_mwh=0", "env.params.feed_in_cny_per_mwh=0"),
        "tariff_flat_cny_per_mwh",
    ),
    ((f"run_dir={FILE}",), "run_dir"),
    ((f"run_dir={UNDER_FILE}",), "run_dir"),
    ((f"run_dir={UNWRITABLE}",), "run_dir"),
]


def _no_cuda() -> bool:
    import torch

    return not torch.cuda.is_available()


if _no_cuda():
    MALFORMED_TRAIN.append((("device=cuda",), "device"))


def _api_park_env_split_seed() -> None:
    from ecocontrol.envs import WindSolarStorageEnv

    WindSolarStorageEnv(split_seed=-1)


def _api_net_arch_head() -> None:
    import gymnasium as gym
    import numpy as np

    box = gym.spaces.Box(-1, 1, (2,), np.float32)
    cfg = {
        "_target_": "stable_baselines3.PPO",
        "policy": "MlpPolicy",
        "policy_kwargs": {"net_arch": {"pi": [64], "critic": [64]}},
    }
    agent_spec(cfg, box, observation_space=box)


def _fuel(**kw: Any) -> Callable[[], Any]:
    base: dict[str, Any] = {"name": "x", "lhv_mj_per_unit": 50.0, "unit": "kg"}
    base["co2_kg_per_tj"] = 56_100.0
    return lambda: Fuel(**{**base, **kw})


#: (call, field named in the message)
MALFORMED_API: list[tuple[Callable[[], Any], str]] = [
    (lambda: ParkParams(pv_ac_mw=0), "pv_ac_mw"),
    (lambda: ParkParams(load_seed=math.nan), "load_seed"),  # type: ignore[arg-type]
    (lambda: ParkParams(load_seed=None), "load_seed"),  # type: ignore[arg-type]
    (lambda: ParkParams(load_seed=2**40), "load_seed"),
    (lambda: ParkParams(battery_energy_mwh=True), "battery_energy_mwh"),
    (lambda: ParkParams(battery_energy_mwh="3"), "battery_energy_mwh"),  # type: ignore[arg-type]
    (lambda: ParkParams(soc_init=1 + 2j), "soc_init"),  # type: ignore[arg-type]
    (lambda: ParkParams(tariff_flat_cny_per_mwh=0, feed_in_cny_per_mwh=0), "tariff_flat"),
    (lambda: CementKilnParams(bz_limits_c=None), "bz_limits_c"),  # type: ignore[arg-type]
    (lambda: CementKilnParams(bz_limits_c=(1400.0, "1500")), "bz_limits_c"),  # type: ignore[arg-type]
    (lambda: ForecastErrorModel(bias="0.1"), "bias"),  # type: ignore[arg-type]
    (lambda: ScenarioWindows(8760, 168, split_seed=2**32), "split_seed"),
    (lambda: ScenarioWindows(8760, 168, split_seed=None), "split_seed"),  # type: ignore[arg-type]
    (lambda: EmissionLedger(carbon_price_cny_per_t="80"), "carbon_price_cny_per_t"),  # type: ignore[arg-type]
    (_fuel(lhv_mj_per_unit=True), "lhv_mj_per_unit"),
    (lambda: require_seed("seed", -1), "seed"),
    (lambda: require_writable_dir("out_dir", "/proc/ecocontrol-x"), "out_dir"),
    (_api_park_env_split_seed, "split_seed"),
    (_api_net_arch_head, "agent.policy_kwargs.net_arch"),
]


def test_at_least_sixty_cases() -> None:
    n = len(MALFORMED_BENCHMARK) + len(MALFORMED_TRAIN) + len(MALFORMED_API)
    assert n >= 60, n


def _cfg(name: str, *overrides: str) -> Any:
    with initialize_config_module("ecocontrol.configs", version_base=None):
        return compose(name, overrides=list(overrides))


def _paths(overrides: tuple[str, ...], tmp_path: Path) -> tuple[str, ...]:
    """The overrides with <file> made a real file in tmp_path."""
    file = tmp_path / "a_file"
    file.write_text("not a directory\n")
    return tuple(o.replace(FILE, str(file)) for o in overrides)


def _files(root: Path) -> set[Path]:
    return set(root.rglob("*"))


def _refused(exc: BaseException, key: str) -> None:
    message = str(exc)
    assert key in message, message
    assert "allowed" in message, message


@pytest.mark.parametrize(("overrides", "key"), MALFORMED_BENCHMARK)
def test_malformed_benchmark_configs_are_refused_before_work(
    overrides: tuple[str, ...], key: str, tmp_path: Path
) -> None:
    overrides = _paths(overrides, tmp_path)
    has_out = any(o.startswith("out_dir=") for o in overrides)
    out = () if has_out else (f"out_dir={tmp_path / 'out'}",)
    before = _files(tmp_path)
    with pytest.raises(ConfigError) as info:
        run(_cfg("benchmark", *BENCH, *out, *overrides))
    _refused(info.value, key)
    assert _files(tmp_path) == before  # nothing was written


@pytest.mark.parametrize(("overrides", "key"), MALFORMED_TRAIN)
def test_malformed_training_configs_are_refused_before_work(
    overrides: tuple[str, ...], key: str, tmp_path: Path
) -> None:
    overrides = _paths(overrides, tmp_path)
    has_run = any(o.startswith("run_dir=") for o in overrides)
    run_dir = () if has_run else (f"run_dir={tmp_path / 'run'}",)
    # the PPO sizes of TRAIN are no keys of the off-policy agents
    base = TRAIN if not any(o.startswith("agent=") for o in overrides) else TRAIN[:6]
    before = _files(tmp_path)
    with pytest.raises(ConfigError) as info:
        train(_cfg("train", *base, *run_dir, *overrides))
    _refused(info.value, key)
    assert _files(tmp_path) == before


@pytest.mark.parametrize(("call", "key"), MALFORMED_API)
def test_malformed_api_calls_are_refused_naming_the_field(
    call: Callable[[], Any], key: str
) -> None:
    with pytest.raises(ValueError) as info:
        call()
    _refused(info.value, key)


def test_a_valid_activation_name_becomes_the_torch_class() -> None:
    import gymnasium as gym
    import numpy as np
    import torch

    box = gym.spaces.Box(-1, 1, (2,), np.float32)
    cfg = {
        "_target_": "stable_baselines3.SAC",
        "policy": "MlpPolicy",
        "ent_coef": "auto_0.1",
        "policy_kwargs": {"activation_fn": "leaky_relu", "net_arch": {"pi": [8], "qf": [8]}},
    }
    _, kwargs = agent_spec(cfg, box, observation_space=box)
    assert kwargs["policy_kwargs"]["activation_fn"] is torch.nn.LeakyReLU


CLI = [
    ("benchmark", (*BENCH, "env.carbon_price_cny_per_t='80'"), "carbon_price_cny_per_t"),
    ("benchmark", (*BENCH, "seed=4294967296"), "seed"),
    ("train", (*TRAIN, "agent.n_steps=1"), "agent.n_steps"),
    ("train", (*TRAIN, "env.split=test"), "env.split"),
]


@pytest.mark.parametrize(("main", "overrides", "key"), CLI)
def test_the_cli_exits_with_status_2_and_the_key(
    main: str, overrides: tuple[str, ...], key: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    where = f"out_dir={out}" if main == "benchmark" else f"run_dir={out}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "ecocontrol.cli", main, *overrides, where),
            f"hydra.run.dir={tmp_path / 'hydra'}",  # Hydra's own log and .hydra/, not ours
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    _refused(RuntimeError(proc.stderr), key)
    assert not out.exists()
