"""ecocontrol environments (importable as ``ecocontrol.envs``); all registrations in one place."""

from gymnasium.envs.registration import register, registry

from .base import ActionScaler, EcoEnv, ForecastErrorModel, ScenarioWindows
from .cement_kiln import CementKilnEnv, CementKilnParams
from .hot_stove import HotStoveEnv, HotStoveParams
from .park import ParkParams, WindSolarStorageEnv

_ENTRY_POINTS: dict[str, str] = {
    "ecocontrol/WindSolarStorage-v0": "ecocontrol.envs.park:WindSolarStorageEnv",
    "ecocontrol/HotStove-v0": "ecocontrol.envs.hot_stove:HotStoveEnv",
    "ecocontrol/CementKiln-v0": "ecocontrol.envs.cement_kiln:CementKilnEnv",
}
ENV_IDS: tuple[str, ...] = tuple(_ENTRY_POINTS)

for _id, _entry in _ENTRY_POINTS.items():
    if _id not in registry:
        register(id=_id, entry_point=_entry, disable_env_checker=False)

__all__ = [
    "ENV_IDS",
    "ActionScaler",
    "CementKilnEnv",
    "CementKilnParams",
    "EcoEnv",
    "ForecastErrorModel",
    "HotStoveEnv",
    "HotStoveParams",
    "ParkParams",
    "ScenarioWindows",
    "WindSolarStorageEnv",
]
