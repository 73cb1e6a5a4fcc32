"""Park MPC: a Pyomo LP of the park built once from :class:`ParkParams`.

The LP is the park's physics and scoring exactly (``envs.park.physics.park_step`` is linear
once the battery's charge and discharge and the heat store's charge and discharge are
separate variables; the demand charge is linear through a peak variable, and the terminal
value of stored energy is convex piecewise linear through deficit and surplus variables,
priced by the same :func:`~ecocontrol.envs.park.scoring.store_values` as the env). With the
true series over the whole episode it is a true lower bound on the episode cost, the
perfect-foresight optimum, and its planned cost is the realised cost (tested).

Variables per step ``t`` of the horizon: battery charge and discharge, boiler power, import,
export, curtailment, shed load, boiler heat to the demand and to the store, store discharge,
gas heat, undelivered heat; states: battery energy ``energy`` and stored heat ``heat``; the
billing-period peak ``peak``; deficit and surplus of each store at the planning end.
Mutable parameters: initial states and the peak so far, the series, the carbon price, the
demand charge per MW, ``live`` (1 for steps inside the episode: steps past its end cost
nothing and set no peak), ``end_w`` (1 at the planning end: the episode's end if the horizon
reaches it, else the horizon's end), the reference contents and the deficit and surplus
values at that end.

The heat dispatch is the plant's (boiler first, then store, then gas) whenever the store's
deficit value is at most the gas heat cost, which :func:`store_values` guarantees: stored
heat is then never worth holding while gas is burnt.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pyomo.environ as pyo

from ecocontrol.controllers.base import PlantView
from ecocontrol.controllers.mpc.core import RollingHorizonMPC
from ecocontrol.controllers.mpc.duals import SolvedModel
from ecocontrol.controllers.rules.park import ParkRuleController, park_view
from ecocontrol.emissions import require_finite_range
from ecocontrol.envs.park import SERIES_KEYS, ParkParams
from ecocontrol.envs.park.scoring import demand_charge_cny_per_mw, store_values

#: Series the LP takes as mutable parameters (the rest of SERIES_KEYS are for observations).
_SERIES_PARAMS = tuple(k for k in SERIES_KEYS if k not in ("tou_code", "hour_of_day"))


def build_park_model(p: ParkParams, n_steps: int, dt_h: float) -> pyo.ConcreteModel:
    """The park LP over ``n_steps`` steps of ``dt_h`` hours, with mutable parameters."""
    m = pyo.ConcreteModel(name="park")
    m.T = pyo.RangeSet(0, n_steps - 1)
    m.T1 = pyo.RangeSet(0, n_steps)
    for name in _SERIES_PARAMS:
        setattr(m, name, pyo.Param(m.T, mutable=True, initialize=0.0))
    m.live = pyo.Param(m.T, mutable=True, initialize=1.0)
    m.end_w = pyo.Param(m.T1, mutable=True, initialize=lambda m, t: float(t == n_steps))
    m.e0 = pyo.Param(mutable=True, initialize=p.e_min_mwh)
    m.s0 = pyo.Param(mutable=True, initialize=p.heat_store_init_mwh)
    m.peak0 = pyo.Param(mutable=True, initialize=0.0)
    m.carbon_price = pyo.Param(mutable=True, initialize=0.0)
    m.demand_rate = pyo.Param(mutable=True, initialize=0.0)
    m.e_ref = pyo.Param(mutable=True, initialize=p.e_min_mwh)
    m.s_ref = pyo.Param(mutable=True, initialize=0.0)
    m.vb_deficit = pyo.Param(mutable=True, initialize=0.0)
    m.vb_surplus = pyo.Param(mutable=True, initialize=0.0)
    m.vh_deficit = pyo.Param(mutable=True, initialize=0.0)
    m.vh_surplus = pyo.Param(mutable=True, initialize=0.0)

    m.charge = pyo.Var(m.T, bounds=(0.0, p.battery_power_mw))
    m.discharge = pyo.Var(m.T, bounds=(0.0, p.battery_power_mw))
    m.flex = pyo.Var(m.T, bounds=(0.0, p.flex_power_mw))
    m.imp = pyo.Var(m.T, bounds=(0.0, p.grid_import_limit_mw))
    m.exp = pyo.Var(m.T, bounds=(0.0, p.grid_export_limit_mw))
    m.curtail = pyo.Var(m.T, within=pyo.NonNegativeReals)
    m.shed = pyo.Var(m.T, within=pyo.NonNegativeReals)
    m.direct = pyo.Var(m.T, within=pyo.NonNegativeReals)
    m.store_in = pyo.Var(m.T, bounds=(0.0, p.heat_store_charge_mw))
    m.store_out = pyo.Var(m.T, bounds=(0.0, p.heat_store_discharge_mw))
    m.gas = pyo.Var(m.T, bounds=(0.0, p.gas_boiler_heat_mw))
    m.unserved = pyo.Var(m.T, within=pyo.NonNegativeReals)
    m.energy = pyo.Var(m.T1, bounds=(p.e_min_mwh, p.e_max_mwh))
    m.heat = pyo.Var(m.T1, bounds=(0.0, p.heat_store_capacity_mwh))
    m.peak = pyo.Var(within=pyo.NonNegativeReals)
    m.b_deficit = pyo.Var(within=pyo.NonNegativeReals)
    m.b_surplus = pyo.Var(within=pyo.NonNegativeReals)
    m.h_deficit = pyo.Var(within=pyo.NonNegativeReals)
    m.h_surplus = pyo.Var(within=pyo.NonNegativeReals)

    loss = p.battery_self_discharge_per_h * dt_h
    keep = 1.0 - p.heat_store_loss_per_h * dt_h
    m.init_energy = pyo.Constraint(expr=m.energy[0] == m.e0)
    m.init_heat = pyo.Constraint(expr=m.heat[0] == m.s0)
    m.peak_so_far = pyo.Constraint(expr=m.peak >= m.peak0)

    @m.Constraint(m.T)
    def battery(m: Any, t: int) -> Any:
        return m.energy[t + 1] == (
            m.energy[t]
            - loss * (m.energy[t] - p.e_min_mwh)
            + p.battery_eta_charge * dt_h * m.charge[t]
            - dt_h / p.battery_eta_discharge * m.discharge[t]
        )

    @m.Constraint(m.T)
    def store(m: Any, t: int) -> Any:
        return m.heat[t + 1] == keep * m.heat[t] + dt_h * (m.store_in[t] - m.store_out[t])

    @m.Constraint(m.T)
    def boiler(m: Any, t: int) -> Any:
        return p.flex_efficiency * m.flex[t] == m.direct[t] + m.store_in[t]

    @m.Constraint(m.T)
    def heat_balance(m: Any, t: int) -> Any:
        return m.direct[t] + m.store_out[t] + m.gas[t] + m.unserved[t] == m.heat_demand_mw[t]

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

    @m.Constraint(m.T)
    def peak_cap(m: Any, t: int) -> Any:
        return m.peak >= m.live[t] * m.imp[t]

    m.battery_end = pyo.Constraint(
        expr=m.b_deficit - m.b_surplus == m.e_ref - sum(m.end_w[t] * m.energy[t] for t in m.T1)
    )
    m.heat_end = pyo.Constraint(
        expr=m.h_deficit - m.h_surplus == m.s_ref - sum(m.end_w[t] * m.heat[t] for t in m.T1)
    )

    gas_cost, gas_co2 = p.gas_cny_per_mwh_heat, p.gas_t_co2_per_mwh_heat
    m.cost = pyo.Objective(
        expr=sum(
            m.live[t]
            * (
                dt_h * (m.price_import[t] * m.imp[t] - m.price_export[t] * m.exp[t])
                + gas_cost * dt_h * m.gas[t]
                + p.battery_degradation_cny_per_mwh * dt_h * (m.charge[t] + m.discharge[t])
                + p.value_of_lost_load_cny_per_mwh * dt_h * m.shed[t]
                + p.value_of_unserved_heat_cny_per_mwh * dt_h * m.unserved[t]
                + m.carbon_price * dt_h * (m.intensity[t] * m.imp[t] + gas_co2 * m.gas[t])
            )
            for t in m.T
        )
        + m.demand_rate * (m.peak - m.peak0)
        + m.vb_deficit * m.b_deficit
        - m.vb_surplus * m.b_surplus
        + m.vh_deficit * m.h_deficit
        - m.vh_surplus * m.h_surplus,
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
        terminal_value_cny_per_mwh: value of energy left in the battery at a horizon's end
            inside the episode; ``None`` = the lowest import price in the horizon times the
            discharge efficiency (energy kept is worth at least what it saves at the
            cheapest hour). Heat left in the store is valued likewise at the cheapest boiler
            heat of the horizon (with carbon, at most the gas heat cost). When the horizon
            reaches the episode's end, the plan ends there and the env's terminal values
            apply (:func:`~ecocontrol.envs.park.scoring.store_values`).
        time_limit_s: HiGHS time limit per decision.
        replan_every: steps between solves (1 = every step).
        horizon_steps: look-ahead in steps (overrides ``horizon_h``).
        explain: keep an :class:`~ecocontrol.controllers.mpc.duals.Explanation` of each
            decision in ``last_explanation``. Prices per horizon hour: ``power`` (the
            electricity balance: marginal cost of one more MWh of load [CNY/MWh]), ``heat``
            (the heat balance: of one more MWh of heat demand [CNY/MWh heat]),
            ``battery_energy`` and ``stored_heat`` (value of one more MWh in the battery or
            the heat store at the hour's end [CNY/MWh]); state values ``energy_mwh`` and
            ``heat_mwh`` (the latter two at the first hour's end). Steps past the episode's
            end cost nothing and have prices 0.
        true_model: build the model on the plant's true parameters (``model_access="true"``):
            an MPC re-identified on a drifted plant (:mod:`ecocontrol.envs.drift`). By default
            it keeps the nominal parameters the plant was designed with.

    Information: ``state_access = "measured"`` (battery energy, stored heat, peak so far
    and the stores' starting contents of ``info['state']``); ``exogenous_access =
    "forecast"`` (``info['forecast']``), or ``"true"`` with ``perfect_forecast`` (the true
    series through its :class:`PlantView`).

    Demand charge: the LP books the charge on a rise of the episode's peak above the peak so
    far. A horizon shorter than the rest of the episode bears ``horizon / steps left`` of the
    charge (a peak raised now serves every remaining day, which the horizon does not see;
    with the full charge the perfect-forecast MPC kept the peak too low and paid more for
    energy than the noisy one); the full charge once the horizon reaches the episode's end.
    """

    explain_zero_bounds = ("heat",)  # an empty heat store is worth reporting when it binds

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
        explain: bool = False,
        true_model: bool = False,
    ) -> None:
        if perfect_forecast:
            self.exogenous_access = "true"
        if true_model:  # re-identified: the true parameters of a drifted plant
            self.model_access = "true"
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
            explain=explain,
        )

    def _explain_step_h(self) -> float:
        return float(self.view.dt_h)

    def _explain_prices(
        self, solved: SolvedModel
    ) -> tuple[dict[str, np.ndarray], dict[str, str], dict[str, Any]]:
        """Marginal costs of the two balances and values of the two stores per hour."""
        m, dt = self.model, float(self.view.dt_h)
        steps = range(self.horizon_steps)
        # The balances are in MW held over a step: per MWh is per MW-step / dt_h.
        power = np.array([solved.marginal(m.balance[t], m.imp[t]) for t in steps]) / dt
        heat = np.array([solved.marginal(m.heat_balance[t], m.gas[t]) for t in steps]) / dt
        battery = -np.array([solved.marginal(m.battery[t], m.energy[t + 1]) for t in steps])
        stored = -np.array([solved.marginal(m.store[t], m.heat[t + 1]) for t in steps])
        prices = {"power": power, "heat": heat, "battery_energy": battery, "stored_heat": stored}
        units = {
            "power": "CNY/MWh",
            "heat": "CNY/MWh heat",
            "battery_energy": "CNY/MWh",
            "stored_heat": "CNY/MWh heat",
        }
        return prices, units, {"energy_mwh": float(battery[0]), "heat_mwh": float(stored[0])}

    def _series(self, info: dict[str, Any]) -> dict[str, np.ndarray]:
        n = self.horizon_steps
        if self.perfect_forecast:
            return self.view.true_window(self.view.t, n)
        return {k: v[:n] for k, v in info["forecast"].items()}

    def _update(self, obs: np.ndarray, info: dict[str, Any]) -> None:
        m, p, view = self.model, self.view.params, self.view
        n = self.horizon_steps
        series = self._series(info)
        for name in _SERIES_PARAMS:
            values = series[name].astype(np.float64)
            comp = getattr(m, name)
            for t in range(n):
                comp[t] = float(values[t])
        state = info["state"]
        m.e0 = float(np.clip(state["energy_mwh"], p.e_min_mwh, p.e_max_mwh))
        m.s0 = float(np.clip(state["heat_mwh"], 0.0, p.heat_store_capacity_mwh))
        m.peak0 = float(state["peak_mw"])
        carbon = view.carbon_price_cny_per_t
        m.carbon_price = carbon
        left = view.episode_steps - view.step_index
        # A peak raised now serves every remaining day of the billing period, which a
        # horizon shorter than the rest of the episode does not see: each horizon bears its
        # share (n / steps left) of the charge on a rise; the full charge once the horizon
        # reaches the episode's end (the oracle's case, so it stays exact).
        rate = demand_charge_cny_per_mw(p, view.episode_steps * view.dt_h)
        m.demand_rate = rate * min(1.0, n / left)
        end = min(n, left)
        for t in range(n):
            m.live[t] = float(t < end)
        for t in range(n + 1):
            m.end_w[t] = float(t == end)
        if end < n or view.step_index + n == view.episode_steps:  # the episode's end
            v = store_values(p, carbon)
            m.e_ref, m.s_ref = float(state["energy0_mwh"]), float(state["heat0_mwh"])
            m.vb_deficit, m.vb_surplus = v.battery_deficit, v.battery_surplus
            m.vh_deficit, m.vh_surplus = v.heat_deficit, v.heat_surplus
            return
        # a horizon's end inside the episode: linear values of what is left
        if self.terminal_value is None:
            vb = float(series["price_import"][:n].min()) * p.battery_eta_discharge
        else:
            vb = self.terminal_value
        gas = p.gas_cny_per_mwh_heat + carbon * p.gas_t_co2_per_mwh_heat
        boiler_heat = (series["price_import"][:n] + carbon * series["intensity"][:n]).min()
        vh = min(float(boiler_heat) / p.flex_efficiency, gas)
        m.e_ref, m.s_ref = p.e_min_mwh, 0.0
        m.vb_deficit = m.vb_surplus = vb
        m.vh_deficit = m.vh_surplus = vh

    def _read_plan(self) -> np.ndarray:
        m = self.model
        t = range(self.horizon_steps)
        battery = np.array([m.discharge[i].value - m.charge[i].value for i in t])
        flex = np.array([m.flex[i].value for i in t])
        return np.stack([battery, flex], axis=1)


def make_park_mpc(env: gym.Env[Any, Any], **kwargs: Any) -> ParkMPC:
    """The park MPC (see :class:`ParkMPC` for keyword arguments)."""
    return ParkMPC(env, **kwargs)


def make_park_oracle(
    env: gym.Env[Any, Any], time_limit_s: float = 60.0, explain: bool = False
) -> ParkMPC:
    """Perfect-foresight optimum: the LP over the whole episode on the true series.

    The LP is the plant and its scoring exactly (demand charge and terminal values in), so
    its cost is a lower bound for every controller and equals the realised cost, on a drifted
    plant too (it is built on the true parameters).
    Information: ``state_access = "measured"``, ``exogenous_access = "true"`` (the true
    series of the whole episode), ``model_access = "true"``. ``explain``: as for
    :class:`ParkMPC` (the one solve's prices cover the whole episode).
    """
    view = PlantView(env)
    if view.plant_name != "park":
        raise TypeError("the park oracle needs a WindSolarStorageEnv")
    steps = view.episode_steps
    return ParkMPC(
        env,
        horizon_steps=steps,
        perfect_forecast=True,
        time_limit_s=time_limit_s,
        replan_every=steps,
        explain=explain,
        true_model=True,
    )
