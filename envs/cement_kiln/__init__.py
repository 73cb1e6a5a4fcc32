"""Cement kiln firing: a precalciner and a rotary kiln with its burning zone.

Physics, over a leading batch axis (one implementation for the env, the vector env and the
MPC's linearisation), one module per part:

* :mod:`.params`: :class:`CementKilnParams` (every default with its source) and the fuels.
* :mod:`.combustion`: the main burner (O2, CO, thermal NOx, flame temperature), the kiln exit
  gas and the precalciner's energy balance and Arrhenius calcination.
* :mod:`.physics`: the burning zone's heat balance, the transport dead time of the material
  (30 min), free lime, the design point that closes the literature nominal point
  (:func:`kiln_design`) and the step (:func:`kiln_step`).
* :mod:`.observation`: the instruments, the lab (hourly free-lime sample, result 60 min
  later) and the observation vector.
* :mod:`.scoring`: CO2 by source, costs and violations of a step (:func:`kiln_accounts`).
* :mod:`.scenario`: the SYNTHETIC disturbances (:class:`KilnDisturbances`) and the starting
  point (:func:`initial_state`).
* :mod:`.env`: the simulator :class:`CementKilnVectorEnv` and the single env
  :class:`CementKilnEnv` (its docstring is the env card).

Energy flows are in MW (kJ/ms), mass flows in kg/s, gas flows in Nm3/s, temperatures in degC.
Nominal plant: 5,000 t/d of clinker.
"""

from ..thermo import NM3_PER_KMOL
from .combustion import (
    CalcinerBalance,
    Cooler,
    Heats,
    KilnGas,
    calciner_balance,
    calciner_discharge,
    grate_cooler,
    kiln_combustion,
    kiln_gas_temp,
    nox_mg_nm3,
    preheater_exit,
)
from .env import CementKilnEnv, CementKilnVectorEnv
from .observation import OBS_DIM, OBS_LEADS_MIN, kiln_observation, kiln_readings, lab_slots
from .params import (
    CO2_PER_CACO3,
    M_CACO3,
    SOLID_FUELS,
    CementKilnParams,
    KilnDesign,
)
from .physics import burning_zone_terms, kiln_design, kiln_step
from .scenario import (
    EXO_KEYS,
    KilnDisturbances,
    initial_state,
    nominal_action,
    synthetic_disturbances,
)
from .scoring import kiln_accounts
from .state import KilnFlows, KilnState

__all__ = [
    "CO2_PER_CACO3",
    "EXO_KEYS",
    "M_CACO3",
    "NM3_PER_KMOL",
    "OBS_DIM",
    "OBS_LEADS_MIN",
    "SOLID_FUELS",
    "CalcinerBalance",
    "CementKilnEnv",
    "CementKilnParams",
    "CementKilnVectorEnv",
    "Cooler",
    "Heats",
    "KilnDesign",
    "KilnDisturbances",
    "KilnFlows",
    "KilnGas",
    "KilnState",
    "burning_zone_terms",
    "calciner_balance",
    "calciner_discharge",
    "grate_cooler",
    "initial_state",
    "kiln_accounts",
    "kiln_combustion",
    "kiln_design",
    "kiln_gas_temp",
    "kiln_observation",
    "kiln_readings",
    "kiln_step",
    "lab_slots",
    "nominal_action",
    "nox_mg_nm3",
    "preheater_exit",
    "synthetic_disturbances",
]
