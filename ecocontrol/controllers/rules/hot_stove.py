"""The hot stoves' rule: the fixed staggered cycle an operator runs today."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from ecocontrol.controllers.base import ExogenousAccess, PlantView, StateAccess, plant_of
from ecocontrol.emissions import require_finite_range
from ecocontrol.envs.hot_stove import HotStoveEnv, staggered_cycle_command


class HotStoveRuleController:
    """The usual hot-stove practice (:func:`~ecocontrol.envs.hot_stove.staggered_cycle_command`).

    A fixed staggered cycle with ``blast_period_min`` on blast per stove (the next stove
    changes over ``changeover_min`` before the period ends, so the blast never stops); every
    stove on gas fires at maximum with the fixed enrichment share that gives
    ``dome_target_c``, throttled as its waste gas nears the limit (hold).

    Information: ``state_access="measured"``, ``exogenous_access="forecast"``. It reads the
    measured stove state in ``info["state"]`` (modes, clocks, waste-gas temperatures) and
    ignores the demand.
    """

    state_access: StateAccess = "measured"
    exogenous_access: ExogenousAccess = "forecast"

    def __init__(
        self,
        env: gym.Env[Any, Any],
        *,
        blast_period_min: float = 60.0,
        dome_target_c: float = 1380.0,
    ) -> None:
        self.view = self._view(env)
        p = self.view.params
        require_finite_range(
            "blast_period_min", blast_period_min, p.min_blast_min + p.changeover_min, 600.0
        )
        require_finite_range(
            "dome_target_c", dome_target_c, p.hot_blast_setpoint_c, p.dome_temp_max_c
        )
        self.blast_period_min = float(blast_period_min)
        self.dome_target_c = float(dome_target_c)

    def _view(self, env: gym.Env[Any, Any]) -> PlantView:
        if not isinstance(plant_of(env), HotStoveEnv):
            raise TypeError("HotStoveRuleController needs a HotStoveEnv")
        return PlantView(
            env, state_access=self.state_access, exogenous_access=self.exogenous_access
        )

    def reset(self, env: gym.Env[Any, Any], seed: int | None = None) -> None:
        """Nothing to reset: the rule reads the plant's clocks."""
        self.view = self._view(env)

    def physical_action(self, info: dict[str, Any]) -> np.ndarray:
        """Switch requests (+1/-1), firing [MW] and enrichment share per stove.

        Reads ``info["state"]``'s ``mode``, ``time_in_mode_min`` and ``waste_gas_c``.
        """
        st = info["state"]
        req, fire, share = staggered_cycle_command(
            np.asarray(st["mode"])[None, :],
            np.asarray(st["time_in_mode_min"])[None, :],
            np.asarray(st["waste_gas_c"])[None, :],
            self.view.params,
            blast_period_min=self.blast_period_min,
            dome_target_c=self.dome_target_c,
        )
        return np.concatenate([np.where(req[0], 1.0, -1.0), fire[0], share[0]])

    def act(self, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        """Normalised action for the coming step."""
        return self.view.scaler.to_normalized(self.physical_action(info))
