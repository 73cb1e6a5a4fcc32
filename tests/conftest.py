import gymnasium as gym
import pytest

import ecocontrol  # noqa: F401

PARK = "ecocontrol/WindSolarStorage-v1"


@pytest.fixture
def park_env():
    env = gym.make(PARK, split="test")
    yield env
    env.close()
