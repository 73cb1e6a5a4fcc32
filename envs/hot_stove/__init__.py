"""Blast-furnace hot stoves (Cowper regenerators): ``ecocontrol/HotStove-v1``.

Modules: :mod:`.params` (:class:`HotStoveParams`, every default with its source),
:mod:`.physics` (the batched regenerator step, the safety layer, the usual practice),
:mod:`.scenario` (the year of blast demand, the episodes' starting states), :mod:`.scoring`
(a step's emissions and costs, the value of the checkers' heat), :mod:`.observation` and
:mod:`.env` (the simulator :class:`HotStoveVectorEnv` and the single env :class:`HotStoveEnv`,
whose docstring is the env card).
"""

from .env import HotStoveEnv, HotStoveVectorEnv
from .observation import OBS_LEADS_MIN, hot_stove_observation
from .params import FUEL_GASES, GAS_ACCOUNTING, HotStoveParams
from .physics import (
    BLAST,
    GAS,
    MODE_NAMES,
    TO_BLAST,
    TO_GAS,
    StoveFlows,
    StoveState,
    apply_changeovers,
    blowoff,
    hot_stove_step,
    staggered_cycle_command,
)
from .scenario import (
    BlastDemand,
    cached_demand,
    cyclic_states,
    initial_state,
    start_state,
    synthetic_blast_demand,
)
from .scoring import (
    GasValue,
    changeover_cost,
    gas_values,
    hot_stove_accounts,
    inventory_account,
    inventory_factors,
    inventory_value_cny_per_mj,
)

__all__ = [
    "BLAST",
    "FUEL_GASES",
    "GAS",
    "GAS_ACCOUNTING",
    "MODE_NAMES",
    "OBS_LEADS_MIN",
    "TO_BLAST",
    "TO_GAS",
    "BlastDemand",
    "GasValue",
    "HotStoveEnv",
    "HotStoveParams",
    "HotStoveVectorEnv",
    "StoveFlows",
    "StoveState",
    "apply_changeovers",
    "blowoff",
    "cached_demand",
    "changeover_cost",
    "cyclic_states",
    "gas_values",
    "hot_stove_accounts",
    "hot_stove_observation",
    "hot_stove_step",
    "initial_state",
    "inventory_account",
    "inventory_factors",
    "inventory_value_cny_per_mj",
    "staggered_cycle_command",
    "start_state",
    "synthetic_blast_demand",
]
