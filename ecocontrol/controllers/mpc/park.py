"""Park MPC: a Pyomo LP of the park built once from :class:`ParkParams`.

The LP is the park's physics exactly (``envs.park.physics.park_step`` is linear once the battery's
charge and discharge are separate variables), so with true series over the whole episode it is
a true lower bound on the episode cost: the perfect-foresight optimum.

Variables per step ``t`` of the horizon: charge, discharge, boiler power, import, export,
curtailment, shed load, backup-boiler heat; states: stored energy ``E`` and heat still due
``h``. Mutable parameters: initial state, wind, PV, load, prices, grid intensity, the day-end
flags that reset the heat quota, the carbon price and a terminal value of stored energy.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pyomo.environ as pyo

from ecocontrol.controllers.base import PlantView
from ecocontrol.controllers.mpc.core import RollingHorizonMPC
from ecocontrol.controllers.rules.park import ParkRuleController, park_view
from ecocontrol.emissions import require_finite_range
from ecocontrol.envs.park import SERIES_KEYS, ParkParams

#: Series the LP takes as mutable parameters (the rest of SERIES_KEYS are for observations).
_SERIES_PARAMS = tuple(k for k in SERIES_KEYS if k not in ("tou_code", "hour_of_day"))


def build_park_model(p: ParkParams, n_steps: int, dt_h: float) -> pyo.ConcreteModel:
    """The park LP over ``n_steps`` steps of ``dt_h`` hours, with mutable parameters."""
    m = pyo.ConcreteModel(name="park")
    m.T = pyo.RangeSet(0, n_steps - 1)
    m.T1 = pyo.RangeSet(0, n_steps)
    for name in _SERIES_PARAMS:
        setattr(m, name, pyo.Param(m.T, mutable=True, initialize=0.0))
    m.e0 = pyo.Param(mutable=True, initialize=p.e_min_mwh)
    m.h0 = pyo.Param(mutable=True, initialize=p.flex_daily_heat_mwh)
    m.carbon_price = pyo.Param(mutable=True, initialize=0.0)
    m.terminal_value = pyo.Param(mutable=True, initialize=0.0)

    m.charge = pyo.Var(m.T, bounds=(0.0, p.battery_power_mw))
    m.discharge = pyo.Var(m.T, bounds=(0.0, p.battery_power_mw))
    m.flex = pyo.Var(m.T, bounds=(0.0, p.flex_power_mw))
    m.imp = pyo.Var(m.T, bounds=(0.0, p.grid_import_limit_mw))
    m.exp = pyo.Var(m.T, bounds=(0.0, p.grid_export_limit_mw))
    m.curtail = pyo.Var(m.T, within=pyo.NonNegativeReals)
    m.shed = pyo.Var(m.T, within=pyo.NonNegativeReals)
    m.backup = pyo.Var(m.T, within=pyo.NonNegativeReals)
    m.energy = pyo.Var(m.T1, bounds=(p.e_min_mwh, p.e_max_mwh))
    m.heat = pyo.Var(m.T1, within=pyo.NonNegativeReals)

    q = p.flex_daily_heat_mwh
    loss = p.battery_self_discharge_per_h * dt_h
    m.init_energy = pyo.Constraint(expr=m.energy[0] == m.e0)
    m.init_heat = pyo.Constraint(expr=m.heat[0] == m.h0)

    @m.Constraint(m.T)
    def battery(m: Any, t: int) -> Any:
        return m.energy[t + 1] == (
            m.energy[t]
            - loss * (m.energy[t] - p.e_min_mwh)
            + p.battery_eta_charge * dt_h * m.charge[t]
            - dt_h / p.battery_eta_discharge * m.discharge[t]
        )

    def after_boiler(m: Any, t: int) -> Any:
        return m.heat[t] - p.flex_efficiency * dt_h * m.flex[t]

    @m.Constraint(m.T)
    def quota_cap(m: Any, t: int) -> Any:
        return after_boiler(m, t) >= 0.0

    @m.Constraint(m.T)
    def heat_balance(m: Any, t: int) -> Any:
        return m.heat[t + 1] == after_boiler(m, t) - m.backup[t] + m.day_end[t] * q

    @m.Constraint(m.T)
    def backup_at_day_end(m: Any, t: int) -> Any:
        return m.backup[t] <= m.day_end[t] * q

    @m.Constraint(m.T)
    def backup_covers_rest(m: Any, t: int) -> Any:
        # With day_end = 1 the backup boiler raises all heat still due; with 0 this is slack.
        return after_boiler(m, t) - m.backup[t] <= (1 - m.day_end[t]) * q

    @m.Constraint(m.T)
    def backup_le_due(m: Any, t: int) -> Any:
        return m.backup[t] <= after_boiler(m, t)

    @m.Constraint(m.T)
    def balance(m: Any, t: int) -> Any:
        return (
            m.wind_mw[t] + m.pv_mw[t] - m.curtail[t] + m.imp[t] + m.discharge[t]
            == m.load_mw[t] - m.shed[t] + m.flex[t] + m.charge[t] + m.exp[t]
        )

    @m.Constraint(m.T)
    def curtail_cap(m: Any, t: int) -> Any:
        return m.curtail[t] <= m.wind_mw[t] + m.pv_mw[t]

    @m.Constraint(m.T)
    def shed_cap(m: Any, t: int) -> Any:
        return m.shed[t] <= m.load_mw[t]

    gas_cost, gas_co2 = p.gas_cny_per_mwh_heat, p.gas_t_co2_per_mwh_heat
    m.cost = pyo.Objective(
        expr=sum(
            dt_h * (m.price_import[t] * m.imp[t] - m.price_export[t] * m.exp[t])
            + gas_cost * m.backup[t]
            + p.battery_degradation_cny_per_mwh * dt_h * (m.charge[t] + m.discharge[t])
            + p.value_of_lost_load_cny_per_mwh * dt_h * m.shed[t]
            + m.carbon_price * (dt_h * m.intensity[t] * m.imp[t] + gas_co2 * m.backup[t])
            for t in m.T
        )
        - m.terminal_value * (m.energy[n_steps] - p.e_min_mwh),
        sense=pyo.minimize,
    )
    return m


class ParkMPC(RollingHorizonMPC):
    """Rolling-horizon LP MPC of the park.

    Args:
        env: the park env (possibly wrapped).
        horizon_h: look-ahead [h], at most the env's forecast horizon unless
            ``perfect_forecast``.
        perfect_forecast: plan on the true series instead of the env's noisy forecasts.
        terminal_value_cny_per_mwh: value of energy left in the battery at the horizon's end;
            ``None`` = the lowest import price in the horizon times the discharge efficiency
            (energy kept is worth at least what it saves at the cheapest hour).
        time_limit_s: HiGHS time limit per decision.
        replan_every: steps between solves (1 = every step).
        horizon_steps: look-ahead in steps (overrides ``horizon_h``).

    Information: ``state_access = "measured"`` (the stored energy and heat still due of
    ``info['state']``); ``exogenous_access = "forecast"`` (``info['forecast']``), or
    ``"true"`` with ``perfect_forecast`` (the true series through its :class:`PlantView`).
    """

    def __init__(
        self,
        env: gym.Env[Any, Any],
        *,
        horizon_h: float = 24.0,
        perfect_forecast: bool = False,
        terminal_value_cny_per_mwh: float | None = None,
        time_limit_s: float = 5.0,
        replan_every: int = 1,
        horizon_steps: int | None = None,
    ) -> None:
        if perfect_forecast:
            self.exogenous_access = "true"
        view: PlantView = park_view(env, self, "ParkMPC")
        dt_h, forecast_steps = view.dt_h, view.forecast_steps
        if horizon_steps is None:
            require_finite_range("horizon_h", horizon_h, dt_h, 24.0 * 366)
            horizon_steps = round(horizon_h / dt_h)
        require_finite_range("horizon_steps", horizon_steps, 1, 10**6)
        if not perfect_forecast and horizon_steps > forecast_steps:
            raise ValueError(
                f"horizon_h={horizon_steps * dt_h} exceeds the env's forecast horizon "
                f"{forecast_steps * dt_h} h; allowed: (0, "
                f"{forecast_steps * dt_h}] or perfect_forecast=True"
            )
        if terminal_value_cny_per_mwh is not None:
            require_finite_range("terminal_value_cny_per_mwh", terminal_value_cny_per_mwh, 0.0, 1e5)
        self.horizon_steps = int(horizon_steps)
        self.perfect_forecast = perfect_forecast
        self.terminal_value = terminal_value_cny_per_mwh
        model = build_park_model(view.params, self.horizon_steps, dt_h)
        super().__init__(
            env,
            model,
            fallback=ParkRuleController(env),
            time_limit_s=time_limit_s,
            replan_every=replan_every,
        )

    def _series(self, info: dict[str, Any]) -> dict[str, np.ndarray]:
        n = self.horizon_steps
        if self.perfect_forecast:
            return self.view.true_window(self.view.t, n)
        return {k: v[:n] for k, v in info["forecast"].items()}

    def _update(self, obs: np.ndarray, info: dict[str, Any]) -> None:
        m, p = self.model, self.view.params
        series = self._series(info)
        for name in _SERIES_PARAMS:
            values = series[name].astype(np.float64)
            comp = getattr(m, name)
            for t in range(self.horizon_steps):
                comp[t] = float(values[t])
        m.e0 = float(np.clip(info["state"]["energy_mwh"], p.e_min_mwh, p.e_max_mwh))
        m.h0 = float(info["state"]["heat_left_mwh"])
        m.carbon_price = self.view.carbon_price_cny_per_t
        if self.terminal_value is None:
            m.terminal_value = float(series["price_import"].min()) * p.battery_eta_discharge
        else:
            m.terminal_value = self.terminal_value

    def _read_plan(self) -> np.ndarray:
        m = self.model
        t = range(self.horizon_steps)
        battery = np.array([m.discharge[i].value - m.charge[i].value for i in t])
        flex = np.array([m.flex[i].value for i in t])
        return np.stack([battery, flex], axis=1)


def make_park_mpc(env: gym.Env[Any, Any], **kwargs: Any) -> ParkMPC:
    """The park MPC (see :class:`ParkMPC` for keyword arguments)."""
    return ParkMPC(env, **kwargs)


def make_park_oracle(env: gym.Env[Any, Any], time_limit_s: float = 60.0) -> ParkMPC:
    """Perfect-foresight optimum: the LP over the whole episode on the true series.

    The LP is the plant exactly, so its cost is a lower bound for every controller.
    Information: ``state_access = "measured"``, ``exogenous_access = "true"`` (the true
    series of the whole episode).
    """
    view = PlantView(env)
    if view.plant_name != "park":
        raise TypeError("the park oracle needs a WindSolarStorageEnv")
    steps = view.episode_steps
    return ParkMPC(
        env,
        horizon_steps=steps,
        perfect_forecast=True,
        terminal_value_cny_per_mwh=0.0,
        time_limit_s=time_limit_s,
        replan_every=steps,
    )
