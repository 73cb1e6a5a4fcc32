"""ecocontrol environments (importable as ``ecocontrol.envs``); all registrations in one place."""

from gymnasium.envs.registration import register, registry

from .base import ActionScaler, EcoEnv, ForecastErrorModel, ScenarioWindows
from .cement_kiln import CementKilnEnv, CementKilnParams, CementKilnVectorEnv
from .hot_stove import HotStoveEnv, HotStoveParams, HotStoveVectorEnv
from .park import ParkParams, ParkVectorEnv, WindSolarStorageEnv
from .vector import BatchedEcoEnv

_ENTRY_POINTS: dict[str, str] = {
    "ecocontrol/WindSolarStorage-v1": "ecocontrol.envs.park:WindSolarStorageEnv",
    "ecocontrol/HotStove-v1": "ecocontrol.envs.hot_stove:HotStoveEnv",
    "ecocontrol/CementKiln-v1": "ecocontrol.envs.cement_kiln:CementKilnEnv",
}
ENV_IDS: tuple[str, ...] = tuple(_ENTRY_POINTS)

#: Native batched envs (``gymnasium.make_vec(..., vectorization_mode="vector_entry_point")``).
_VECTOR_ENTRY_POINTS: dict[str, str] = {
    "ecocontrol/WindSolarStorage-v1": "ecocontrol.envs.park:ParkVectorEnv",
    "ecocontrol/HotStove-v1": "ecocontrol.envs.hot_stove:HotStoveVectorEnv",
    "ecocontrol/CementKiln-v1": "ecocontrol.envs.cement_kiln:CementKilnVectorEnv",
}

for _id, _entry in _ENTRY_POINTS.items():
    if _id not in registry:
        register(
            id=_id,
            entry_point=_entry,
            vector_entry_point=_VECTOR_ENTRY_POINTS.get(_id),
            disable_env_checker=False,
        )

__all__ = [
    "ENV_IDS",
    "ActionScaler",
    "BatchedEcoEnv",
    "CementKilnEnv",
    "CementKilnParams",
    "CementKilnVectorEnv",
    "EcoEnv",
    "ForecastErrorModel",
    "HotStoveEnv",
    "HotStoveParams",
    "HotStoveVectorEnv",
    "ParkParams",
    "ParkVectorEnv",
    "ScenarioWindows",
    "WindSolarStorageEnv",
]
