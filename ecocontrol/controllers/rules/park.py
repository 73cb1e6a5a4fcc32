"""The park's rule: merit-order dispatch under the time-of-use tariff."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from ecocontrol.controllers.base import ExogenousAccess, PlantView, StateAccess
from ecocontrol.envs.park import TOU_CODES


def park_view(env: gym.Env[Any, Any], controller: Any, who: str) -> PlantView:
    """The :class:`PlantView` ``controller`` declares, refusing an env that is not a park.

    Raises:
        TypeError: naming ``who`` if ``env`` is not the park.
    """
    view = PlantView(
        env,
        state_access=controller.state_access,
        exogenous_access=controller.exogenous_access,
        model_access=getattr(controller, "model_access", "nominal"),
    )
    if view.plant_name != "park":
        raise TypeError(f"{who} needs a WindSolarStorageEnv")
    return view


class ParkRuleController:
    """Merit-order dispatch of the park under the two-part tariff.

    * Electric boiler: run at full power (as far as the heat demand and the store can take
      its heat) whenever grid electricity makes heat cheaper than the gas backup boiler
      (price + carbon price x grid intensity, over boiler efficiency, against gas fuel +
      carbon per MWh heat); otherwise soak up renewable surplus only. The store then serves
      the demand in the dear hours and the gas boiler covers the rest (the plant's dispatch).
    * Battery: charge from renewable surplus; charge from the grid in valley hours; discharge
      to cover the deficit in high and peak hours; idle otherwise. On the episode's last day
      it does not discharge below the starting energy (missing energy is priced at the
      dearest hour's, :func:`~ecocontrol.envs.park.scoring.store_values`).
    * Demand charge: grid charging and the boiler never raise the import above the larger
      of the peak already set this billing period and what the base load alone draws
      (charging is cut first, then the boiler).

    It reads the coming step's exact values from ``info`` (lead 0 of the forecast), as an
    operator reads live meters; it does not use forecasts. Information: ``state_access =
    "measured"`` (``info['state']``), ``exogenous_access = "forecast"`` (lead 0 of
    ``info['forecast']``); the parameters, carbon price and the episode's clock come through
    its :class:`PlantView`.
    """

    state_access: StateAccess = "measured"
    exogenous_access: ExogenousAccess = "forecast"

    def __init__(self, env: gym.Env[Any, Any]) -> None:
        self.view = park_view(env, self, "ParkRuleController")

    def reset(self, env: gym.Env[Any, Any], seed: int | None = None) -> None:
        """Nothing to reset: the rule is stateless (it re-reads the env's view)."""
        self.view = park_view(env, self, "ParkRuleController")

    def boiler_cap(self, info: dict[str, Any]) -> float:
        """The electric boiler's largest useful power now [MW].

        Its rating, or what the heat demand and the store's room can take.
        """
        p, dt = self.view.params, self.view.dt_h
        heat_demand = info["forecast"]["heat_demand_mw"][0]
        held = info["state"]["heat_mwh"] * (1.0 - p.heat_store_loss_per_h * dt)
        room = min(max(p.heat_store_capacity_mwh - held, 0.0) / dt, p.heat_store_charge_mw)
        return float(min(p.flex_power_mw, (heat_demand + room) / p.flex_efficiency))

    def physical_action(self, info: dict[str, Any]) -> tuple[float, float]:
        """Battery power [MW, + discharge] and boiler power [MW] for the coming step."""
        view = self.view
        p, dt = view.params, view.dt_h
        fc, state = info["forecast"], info["state"]
        wind, pv, load = fc["wind_mw"][0], fc["pv_mw"][0], fc["load_mw"][0]
        price, intensity = fc["price_import"][0], fc["intensity"][0]
        period = int(fc["tou_code"][0])
        carbon = view.carbon_price_cny_per_t

        surplus = wind + pv - load
        e_heat_cost = (price + carbon * intensity) / p.flex_efficiency
        gas_heat_cost = p.gas_cny_per_mwh_heat + carbon * p.gas_t_co2_per_mwh_heat
        boiler_cap = self.boiler_cap(info)
        if e_heat_cost < gas_heat_cost:
            boiler = boiler_cap
        else:  # grid heat dearer than gas, but surplus renewables beat the feed-in price
            boiler = min(max(surplus, 0.0), boiler_cap)

        net_surplus = surplus - boiler
        last_day = view.episode_steps - view.step_index <= round(24 / dt)
        if net_surplus > 0:
            battery = -min(net_surplus, p.battery_power_mw)
        elif period == TOU_CODES["valley"]:
            battery = -p.battery_power_mw
        elif period in (TOU_CODES["high"], TOU_CODES["peak"]):
            battery = min(-net_surplus, p.battery_power_mw)
            if last_day:  # keep the starting energy: it is worth the dearest hour's price
                spare = max(state["energy_mwh"] - state["energy0_mwh"], 0.0)
                battery = min(battery, spare * p.battery_eta_discharge / dt)
        else:
            battery = 0.0
        return self.limit_peak(battery, boiler, info)

    def limit_peak(
        self, battery: float, boiler: float, info: dict[str, Any], headroom_mw: float = 0.0
    ) -> tuple[float, float]:
        """The demand-charge guard on a battery [MW, + discharge] and boiler [MW] action.

        Grid charging and the boiler never raise the import above the larger of the billing
        period's peak so far and what the base load alone draws (charging is cut first, then
        the boiler, never below the renewable surplus). ``headroom_mw`` raises that limit (a
        supervisor's allowance for a new peak; the rule's is 0).
        """
        fc = info["forecast"]
        wind, pv, load = fc["wind_mw"][0], fc["pv_mw"][0], fc["load_mw"][0]
        surplus = wind + pv - load
        limit = max(info["state"]["peak_mw"], load - wind - pv) + headroom_mw
        over = (load + boiler - battery - wind - pv) - limit
        if over > 0 and battery < 0:
            cut = min(over, -battery)
            battery += cut
            over -= cut
        if over > 0 and boiler > 0:
            boiler = max(boiler - over, min(max(surplus, 0.0), boiler))
        return battery, boiler

    def act(self, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        """Normalised action for the coming step."""
        return self.view.scaler.to_normalized(self.physical_action(info))
