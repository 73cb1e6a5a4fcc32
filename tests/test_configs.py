from pathlib import Path

import pytest
from ecocontrol.envs.park import WindSolarStorageEnv
from hydra import compose, initialize_config_dir
from hydra.errors import InstantiationException
from hydra.utils import instantiate

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def test_park_config_instantiates_with_overrides():
    with initialize_config_dir(str(CONFIGS / "env"), version_base=None):
        cfg = compose("park", overrides=["params.battery_energy_mwh=80", "dt_h=0.25"])
    env = instantiate(cfg)
    assert isinstance(env, WindSolarStorageEnv)
    assert env.params.battery_energy_mwh == 80 and env.dt_h == 0.25


def test_bad_config_value_names_the_field():
    with initialize_config_dir(str(CONFIGS / "env"), version_base=None):
        cfg = compose("park", overrides=["params.soc_min=0.95"])
    with pytest.raises(InstantiationException, match="soc_min"):
        instantiate(cfg)


def test_hot_stove_config_instantiates_with_overrides():
    from ecocontrol.envs.hot_stove import HotStoveEnv

    with initialize_config_dir(str(CONFIGS / "env"), version_base=None):
        cfg = compose("hot_stove", overrides=["params.n_stoves=3", "params.rich_fuel=natural_gas"])
    env = instantiate(cfg)
    assert isinstance(env, HotStoveEnv)
    assert env.params.n_stoves == 3 and env.action_space.shape == (9,)
    with initialize_config_dir(str(CONFIGS / "env"), version_base=None):
        cfg = compose("hot_stove", overrides=["params.share_max=1.5"])
    with pytest.raises(InstantiationException, match="share_max"):
        instantiate(cfg)


def test_cement_kiln_config_instantiates_with_overrides():
    from ecocontrol.envs.cement_kiln import CementKilnEnv, CementKilnParams

    with initialize_config_dir(str(CONFIGS / "env"), version_base=None):
        cfg = compose("cement_kiln", overrides=["params.dead_time_min=40", "episode_h=12"])
    env = instantiate(cfg)
    assert isinstance(env, CementKilnEnv)
    assert env.params.dead_time_min == 40 and env.episode_steps == 720
    assert env.params == CementKilnParams(dead_time_min=40)  # the YAML holds the defaults
    with initialize_config_dir(str(CONFIGS / "env"), version_base=None):
        cfg = compose("cement_kiln", overrides=["params.af_biogenic_share=1.5"])
    with pytest.raises(InstantiationException, match="af_biogenic_share"):
        instantiate(cfg)


def _groups(name):
    return sorted(p.stem for p in (CONFIGS / name).glob("*.yaml"))


def test_every_config_group_composes_and_instantiates():
    """Every env x agent composes into train.yaml, every controller builds on every plant
    it applies to, every experiment overlay and launcher/sweeper preset composes."""
    import gymnasium as gym
    from hydra import initialize_config_module
    from stable_baselines3.common.base_class import BaseAlgorithm

    from ecocontrol.benchmark import build_controllers, resolve_controllers
    from ecocontrol.config import ConfigError, agent_spec, build_env
    from ecocontrol.controllers.base import plant_of

    assert set(_groups("env")) == {"park", "hot_stove", "cement_kiln"}
    assert set(_groups("agent")) >= {"ppo", "sac", "td3", "a2c", "dqn"}
    assert set(_groups("controller")) >= {"rule", "mpc", "oracle", "agent"}
    with initialize_config_module("ecocontrol.configs", version_base=None):
        for env_name in _groups("env"):
            env = build_env(compose("benchmark", overrides=[f"env={env_name}"]).env)
            plant = plant_of(env).plant_name
            for agent in _groups("agent"):
                cfg = compose("train", overrides=[f"env={env_name}", f"agent={agent}"])
                if agent == "dqn":  # discrete only; every plant acts continuously
                    with pytest.raises(ConfigError, match="agent"):
                        agent_spec(cfg.agent, env.action_space)
                    continue
                cls, kwargs = agent_spec(cfg.agent, env.action_space)
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
            from omegaconf import OmegaConf

            defs = OmegaConf.to_container(cfg.controller_defs, resolve=True)
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
