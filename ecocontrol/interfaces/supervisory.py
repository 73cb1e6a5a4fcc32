"""Supervisory interfaces: the agent sets what an operator sets; a rule's logic executes it.

* Park (:class:`ParkSupervisory`): every hour the agent sets a target state of charge of the
  battery (within ``soc_min``-``soc_max``), a target fill of the heat store and how far grid
  charging and the boiler may raise the month's import peak; the rule's logic moves the
  stores toward the targets within their power limits, under the rule's demand-charge guard
  (:meth:`~ecocontrol.controllers.rules.park.ParkRuleController.limit_peak`) raised by that
  allowance (the rule's own allowance is 0).
* Kiln (:class:`KilnSupervisory`): every ``decision_interval_min`` the agent sets the
  alternative-fuel share and the set points of the rule's three PI loops (burning-zone offset,
  calciner outlet, kiln-inlet O2); the rule's loops, lab trim and feed-forward run every
  minute as on a DCS.

The agent observes the plant's observation and its own last targets (normalised).
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from ecocontrol.emissions import require_finite_range
from ecocontrol.interfaces.base import AgentInterface


def _with_targets(env: gym.Env[Any, Any], n: int) -> gym.spaces.Box:
    space = env.observation_space
    assert isinstance(space, gym.spaces.Box)
    low = np.concatenate([np.asarray(space.low).ravel(), -np.ones(n)]).astype(np.float32)
    high = np.concatenate([np.asarray(space.high).ravel(), np.ones(n)]).astype(np.float32)
    return gym.spaces.Box(low, high, (low.size,), np.float32)


def _unit(u: Any, n: int) -> np.ndarray:
    """The agent's action clipped to [-1, 1] and mapped to [0, 1]."""
    a = np.clip(np.asarray(u, dtype=np.float64).ravel()[:n], -1.0, 1.0)
    return 0.5 * (a + 1.0)


class _Supervisory(AgentInterface):
    """Shared: hold, observation with the last targets."""

    n_targets: ClassVar[int] = 0

    def _setup(self, env: gym.Env[Any, Any], hold_min: float, dt_min: float) -> None:
        steps = hold_min / dt_min
        if hold_min < dt_min or abs(steps - round(steps)) > 1e-9:
            raise ValueError(
                f"interface.decision_interval_min={hold_min}; allowed: a multiple of the "
                f"plant's step, {dt_min} min"
            )
        self.hold_steps = round(steps)
        self.observation_space = _with_targets(env, self.n_targets)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (self.n_targets,), np.float32)
        self._last = np.zeros(self.n_targets, dtype=np.float32)

    def observe(self, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        """The plant's observation and the last targets set (normalised)."""
        return np.concatenate([np.asarray(obs, dtype=np.float32).ravel(), self._last])


class ParkSupervisory(_Supervisory):
    """Battery and heat-store targets for the park; the rule's logic executes them.

    The agent's three actions in [-1, 1] map linearly to: the battery's target state of
    charge in ``[soc_min, soc_max]``; the heat store's target fill in [0, 1]; the allowance
    above the import peak so far in ``[0, battery_power_mw + flex_power_mw]`` MW.

    Args:
        env: the park env.
        decision_interval_min: minutes between the agent's decisions (a multiple of the
            park's step, 60 min).
    """

    name: ClassVar[str] = "supervisory"
    n_targets: ClassVar[int] = 3

    def __init__(self, env: gym.Env[Any, Any], *, decision_interval_min: float = 60.0) -> None:
        super().__init__(env)
        from ecocontrol.controllers.rules.park import ParkRuleController

        self.rule = ParkRuleController(env)
        self.decision_interval_min = float(decision_interval_min)
        self._setup(env, self.decision_interval_min, 60.0 * float(self.rule.view.dt_h))

    def settings(self) -> dict[str, Any]:
        """``decision_interval_min``."""
        return {"decision_interval_min": self.decision_interval_min}

    def reset(self, env: gym.Env[Any, Any], seed: int | None = None) -> None:
        """Reset the rule's view; no target set yet."""
        self.rule.reset(env, seed)
        self._last[:] = 0.0

    def physical_action(self, targets: np.ndarray, info: dict[str, Any]) -> tuple[float, float]:
        """Battery [MW, + discharge] and boiler [MW] toward the targets (fractions in [0, 1])."""
        view = self.rule.view
        p, dt = view.params, view.dt_h
        st, fc = info["state"], info["forecast"]
        energy = st["energy_mwh"] * (1.0 - p.battery_self_discharge_per_h * dt)
        soc = p.soc_min + float(targets[0]) * (p.soc_max - p.soc_min)
        target_e = soc * p.battery_energy_mwh
        if energy > target_e:
            battery = min((energy - target_e) * p.battery_eta_discharge / dt, p.battery_power_mw)
        else:
            battery = -min((target_e - energy) / (p.battery_eta_charge * dt), p.battery_power_mw)
        held = st["heat_mwh"] * (1.0 - p.heat_store_loss_per_h * dt)
        target_h = float(targets[1]) * p.heat_store_capacity_mwh
        want = (fc["heat_demand_mw"][0] + (target_h - held) / dt) / p.flex_efficiency
        boiler = float(np.clip(want, 0.0, self.rule.boiler_cap(info)))
        headroom = float(targets[2]) * (p.battery_power_mw + p.flex_power_mw)
        return self.rule.limit_peak(float(battery), boiler, info, headroom)

    def plant_action(self, action: Any, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        """The rule's execution of the agent's targets, as a normalised action."""
        self._last = np.clip(np.asarray(action, dtype=np.float32).ravel(), -1.0, 1.0)
        physical = self.physical_action(_unit(action, 3), info)
        return np.asarray(self.rule.view.scaler.to_normalized(physical))


class KilnSupervisory(_Supervisory):
    """Alternative-fuel share and PI set points for the kiln; the rule's loops run them.

    The agent's four actions in [-1, 1] map linearly to: the alternative-fuel share in
    ``[0, af_share_max]``; the burning-zone set-point offset in ``bz_offset_range_k``; the
    calciner outlet set point in ``CementKilnParams.calciner_limits_c`` narrowed by 5 K on
    each side; the kiln-inlet O2 set point in ``o2_range_pct``.

    Args:
        env: the kiln env.
        decision_interval_min: minutes between the agent's decisions (a multiple of the
            kiln's step).
        bz_offset_range_k: the burning-zone offset's range [K] around the rule's set point
            (which the lab trim moves).
        o2_range_pct: the O2 set point's range [% dry].
    """

    name: ClassVar[str] = "supervisory"
    n_targets: ClassVar[int] = 4

    def __init__(
        self,
        env: gym.Env[Any, Any],
        *,
        decision_interval_min: float = 15.0,
        bz_offset_range_k: tuple[float, float] = (-40.0, 20.0),
        o2_range_pct: tuple[float, float] = (1.5, 4.5),
    ) -> None:
        super().__init__(env)
        from ecocontrol.controllers.rules.cement_kiln import KilnRuleController

        self.rule = KilnRuleController(env)
        p = self.rule.view.params
        lo, hi = (float(v) for v in bz_offset_range_k)
        require_finite_range("interface.bz_offset_range_k[0]", lo, -100.0, 0.0)
        require_finite_range("interface.bz_offset_range_k[1]", hi, 0.0, 100.0)
        o2_lo, o2_hi = (float(v) for v in o2_range_pct)
        require_finite_range("interface.o2_range_pct[0]", o2_lo, 0.5, 8.0)
        require_finite_range("interface.o2_range_pct[1]", o2_hi, o2_lo, 8.0)
        self.decision_interval_min = float(decision_interval_min)
        self.bz_offset_range_k = (lo, hi)
        self.o2_range_pct = (o2_lo, o2_hi)
        c_lo, c_hi = p.calciner_limits_c
        self._low = np.array([0.0, lo, c_lo + 5.0, o2_lo])
        self._high = np.array([p.af_share_max, hi, c_hi - 5.0, o2_hi])
        self._setup(env, self.decision_interval_min, float(self.rule.view.dt_min))

    def settings(self) -> dict[str, Any]:
        """``decision_interval_min``, ``bz_offset_range_k`` and ``o2_range_pct``."""
        return {
            "decision_interval_min": self.decision_interval_min,
            "bz_offset_range_k": list(self.bz_offset_range_k),
            "o2_range_pct": list(self.o2_range_pct),
        }

    def reset(self, env: gym.Env[Any, Any], seed: int | None = None) -> None:
        """Bumpless restart of the rule's loops."""
        self.rule.reset(env, seed)
        self._last[:] = 0.0

    def targets(self, action: Any) -> np.ndarray:
        """AF share [-], burning-zone offset [K], calciner set point [degC], O2 set point [%]."""
        return self._low + _unit(action, 4) * (self._high - self._low)

    def plant_action(self, action: Any, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        """The rule's loops run with the agent's targets for the coming minute."""
        self._last = np.clip(np.asarray(action, dtype=np.float32).ravel(), -1.0, 1.0)
        af, bz, calciner, o2 = self.targets(action)
        rule = self.rule
        rule.af_share, rule.bz_offset_k, rule.calciner_sp, rule.o2_sp = af, bz, calciner, o2
        return np.asarray(rule.act(obs, info))
