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
