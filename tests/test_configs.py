from pathlib import Path

import pandas as pd
import pytest
from ecocontrol.envs.park import WindSolarStorageEnv
from hydra import compose, initialize_config_module
from omegaconf import OmegaConf

from ecocontrol.config import ConfigError, build_env, plain_config, resolved_env_config

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
RESULTS = Path(__file__).resolve().parents[1] / "experiments" / "results"


def _env_cfg(plant, *overrides):
    with initialize_config_module("ecocontrol.configs", version_base=None):
        cfg = compose("benchmark", overrides=[f"env={plant}", *overrides])
    return plain_config(cfg.env)


def test_park_config_instantiates_with_overrides():
    # A key of the YAML, one it leaves to the dataclass, and an env keyword: no '+' needed.
    env_cfg = _env_cfg(
        "park", "env.params.battery_energy_mwh=80", "env.params.soc_init=0.3", "env.dt_h=0.25"
    )
    env = build_env(env_cfg)
    assert isinstance(env, WindSolarStorageEnv)
    assert env.params.battery_energy_mwh == 80 and env.dt_h == 0.25
    assert env.params.soc_init == 0.3


def test_bad_config_value_names_the_field():
    with pytest.raises(ConfigError, match="soc_min"):
        build_env(_env_cfg("park", "env.params.soc_min=0.95"))


def test_hot_stove_config_instantiates_with_overrides():
    from ecocontrol.envs.hot_stove import HotStoveEnv

    env = build_env(
        _env_cfg("hot_stove", "env.params.n_stoves=3", "env.params.rich_fuel=natural_gas")
    )
    assert isinstance(env, HotStoveEnv)
    assert env.params.n_stoves == 3 and env.action_space.shape == (9,)
    with pytest.raises(ConfigError, match="share_max"):
        build_env(_env_cfg("hot_stove", "env.params.share_max=1.5"))


def test_cement_kiln_config_instantiates_with_overrides():
    from ecocontrol.envs.cement_kiln import CementKilnEnv, CementKilnParams

    env = build_env(_env_cfg("cement_kiln", "env.params.dead_time_min=40", "env.episode_h=12"))
    assert isinstance(env, CementKilnEnv)
    assert env.params.dead_time_min == 40 and env.episode_steps == 720
    assert env.params == CementKilnParams(dead_time_min=40)  # defaults: the dataclass's
    with pytest.raises(ConfigError, match="af_biogenic_share"):
        build_env(_env_cfg("cement_kiln", "env.params.af_biogenic_share=1.5"))


@pytest.mark.parametrize("plant", ["park", "hot_stove", "cement_kiln"])
def test_env_yaml_holds_few_keys_and_the_code_the_defaults(plant):
    """configs/env/*.yaml copy no defaults: the composed config gets them from the code."""
    from dataclasses import fields

    from hydra.utils import get_class

    yaml = OmegaConf.to_container(OmegaConf.load(CONFIGS / "env" / f"{plant}.yaml"))
    assert set(yaml["params"]) == {"_target_"}  # every parameter from the dataclass
    assert len(yaml) <= 5
    composed = _env_cfg(plant)
    params_cls = get_class(composed["params"]["_target_"])
    assert {f.name for f in fields(params_cls)} <= set(composed["params"])
    assert composed == resolved_env_config(composed)
    # A hand-written config resolves to the same as the composed one (the hash's input).
    assert resolved_env_config(yaml) == composed
    # The YAML's values (when it holds one the code has too) are the code's defaults.
    assert build_env(yaml).params == params_cls()


def test_hot_stove_yaml_forecast_error_is_the_envs_default():
    from ecocontrol.envs.hot_stove import HotStoveEnv

    yaml = OmegaConf.load(CONFIGS / "env" / "hot_stove.yaml")
    assert build_env(yaml).forecast_error == HotStoveEnv(split="test").forecast_error


@pytest.mark.parametrize("plant", ["hot_stove", "cement_kiln"])
def test_config_hash_of_committed_rows_is_unchanged(plant):
    """Resume reuses the committed rows: their hash is the one the default config gets."""
    from ecocontrol.runner import resolve_controllers

    with initialize_config_module("ecocontrol.configs", version_base=None):
        cfg = compose("benchmark", overrides=[f"env={plant}"])
    committed = pd.read_csv(RESULTS / f"{plant}_benchmark.csv", dtype={"config_hash": str})
    labels = sorted(set(committed["controller"]))
    specs = resolve_controllers(
        plant,
        labels,
        plain_config(cfg.controller_defs),
        env_cfg=resolved_env_config(plain_config(cfg.env)),
    )
    want = committed.groupby("controller")["config_hash"].first()
    assert {s.label: s.config_hash for s in specs} == want.to_dict()


def _groups(name):
    return sorted(p.stem for p in (CONFIGS / name).glob("*.yaml"))


def test_every_config_group_composes_and_instantiates():
    """Every env x agent composes into train.yaml, every controller builds on every plant
    it applies to, every experiment overlay and launcher/sweeper preset composes."""
    import gymnasium as gym
    from hydra import initialize_config_module
    from stable_baselines3.common.base_class import BaseAlgorithm

    from ecocontrol.config import agent_spec
    from ecocontrol.controllers.base import plant_of
    from ecocontrol.runner import build_controllers, resolve_controllers

    assert set(_groups("env")) == {"park", "hot_stove", "cement_kiln"}
    assert set(_groups("agent")) >= {"ppo", "sac", "td3", "a2c", "dqn"}
    assert set(_groups("controller")) >= {"rule", "mpc", "oracle", "agent"}
    with initialize_config_module("ecocontrol.configs", version_base=None):
        for env_name in _groups("env"):
            env = build_env(plain_config(compose("benchmark", overrides=[f"env={env_name}"]).env))
            plant = plant_of(env).plant_name
            for agent in _groups("agent"):
                cfg = compose("train", overrides=[f"env={env_name}", f"agent={agent}"])
                agent_cfg = plain_config(cfg.agent)
                if agent in ("dqn", "maskable_ppo"):  # discrete only; the plants are continuous
                    with pytest.raises(ConfigError, match="agent"):
                        agent_spec(agent_cfg, env.action_space)
                    continue
                cls, kwargs = agent_spec(agent_cfg, env.action_space)
                assert issubclass(cls, BaseAlgorithm)
                model = cls(env=env, **kwargs, device="cpu")
                assert isinstance(env.action_space, gym.spaces.Box)
                assert model.action_space == env.action_space
            cfg = compose("benchmark", overrides=[f"env={env_name}"])
            labels = [
                c
                for c in cfg.controller_defs
                if c != "ppo" and (c != "mpc_af_rule" or plant == "cement_kiln")
            ]
            defs = plain_config(cfg.controller_defs)
            built = build_controllers(env, resolve_controllers(plant, labels, defs))
            assert set(built) == set(labels)
            for c in built.values():
                assert callable(c.act) and callable(c.reset)
        train_keys = set(compose("train"))
        for experiment in _groups("experiment"):
            cfg = compose("benchmark", overrides=[f"experiment={experiment}"])
            if experiment.endswith("_train"):  # a training overlay: every key it sets is
                overlay = compose("train", overrides=[f"experiment={experiment}"])
                assert set(overlay) == train_keys  # one train.yaml already has (no typos)
                assert overlay.n_envs >= 1 and overlay.eval_every > 0
            else:
                assert cfg.controllers
        for launcher in _groups("hydra/launcher"):
            cfg = compose(
                "benchmark", overrides=[f"hydra/launcher={launcher}"], return_hydra_config=True
            )
            assert "_target_" in cfg.hydra.launcher
        cfg = compose("train", overrides=["hydra/sweeper=ppo_optuna"], return_hydra_config=True)
        assert "agent.learning_rate" in cfg.hydra.sweeper.params
