"""ecocontrol environments (importable as ``ecocontrol.envs``); all registrations in one place."""

from gymnasium.envs.registration import register, registry

from .base import ActionScaler, EcoEnv, ForecastErrorModel, ScenarioWindows
from .park import ParkParams, WindSolarStorageEnv

ENV_IDS: tuple[str, ...] = ("ecocontrol/WindSolarStorage-v0",)

if "ecocontrol/WindSolarStorage-v0" not in registry:
    register(
        id="ecocontrol/WindSolarStorage-v0",
        entry_point="ecocontrol.envs.park:WindSolarStorageEnv",
        disable_env_checker=False,
    )

__all__ = [
    "ENV_IDS",
    "ActionScaler",
    "EcoEnv",
    "ForecastErrorModel",
    "ParkParams",
    "ScenarioWindows",
    "WindSolarStorageEnv",
]
