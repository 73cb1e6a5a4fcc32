"""Wind-solar-storage industrial park: parameters, exogenous series, physics and the env.

The plant: a wind farm, a PV plant, a battery, an industrial base load, a process-heat system
(a three-shift heat demand, an electric boiler that serves it and charges a heat store, and a
natural-gas backup boiler) and a grid connection with import/export limits, a two-part tariff
(time-of-use energy prices and a demand charge on the episode's highest import), a feed-in
price and an hourly grid-intensity profile. Stored energy left at an episode's end is valued
against the start (:func:`.scoring.store_values`).

Modules: :mod:`.params` (:class:`ParkParams`, the tariff), :mod:`.scenario` (weather and the
year's series), :mod:`.physics` (:func:`park_step`) and :mod:`.scoring`
(:func:`park_accounts`), both written once over a batch axis, :mod:`.observation` and
:mod:`.env` (the simulator :class:`ParkVectorEnv` and the single env
:class:`WindSolarStorageEnv`, a batch of one, whose docstring is the env card).
"""

from .env import ParkVectorEnv, WindSolarStorageEnv
from .observation import OBS_HIGH, OBS_LOW, park_observation
from .params import (
    DEFAULT_TOU_SCHEDULE,
    TOU_CODES,
    TOU_MULTIPLIERS,
    ParkParams,
    turbine_power_curve,
)
from .physics import ParkFlows, park_step
from .scenario import (
    BUNDLED_SITES,
    DEFAULT_FORECAST_ERRORS,
    HOURS_PER_YEAR,
    NOISY_SERIES,
    SERIES_KEYS,
    WEATHER_COLUMNS,
    ParkSeries,
    Site,
    build_series,
    load_weather,
    pv_power_mw,
    synthetic_base_load,
    synthetic_heat_demand,
    wind_power_mw,
)
from .scoring import (
    StoreValues,
    demand_charge_cny_per_mw,
    inventory_cost,
    park_accounts,
    store_values,
)

__all__ = [
    "BUNDLED_SITES",
    "DEFAULT_FORECAST_ERRORS",
    "DEFAULT_TOU_SCHEDULE",
    "HOURS_PER_YEAR",
    "NOISY_SERIES",
    "OBS_HIGH",
    "OBS_LOW",
    "SERIES_KEYS",
    "TOU_CODES",
    "TOU_MULTIPLIERS",
    "WEATHER_COLUMNS",
    "ParkFlows",
    "ParkParams",
    "ParkSeries",
    "ParkVectorEnv",
    "Site",
    "StoreValues",
    "WindSolarStorageEnv",
    "build_series",
    "demand_charge_cny_per_mw",
    "inventory_cost",
    "load_weather",
    "park_accounts",
    "park_observation",
    "park_step",
    "pv_power_mw",
    "store_values",
    "synthetic_base_load",
    "synthetic_heat_demand",
    "turbine_power_curve",
    "wind_power_mw",
]
