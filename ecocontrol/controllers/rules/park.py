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
        env, state_access=controller.state_access, exogenous_access=controller.exogenous_access
    )
    if view.plant_name != "park":
        raise TypeError(f"{who} needs a WindSolarStorageEnv")
    return view


class ParkRuleController:
    """Merit-order dispatch of the park.

    * Electric boiler: run at full power whenever grid electricity makes heat cheaper than the
      gas backup boiler (price + carbon price x grid intensity, over boiler efficiency, against
      gas fuel + carbon per MWh heat); otherwise soak up renewable surplus only, and leave the
      rest of the day's quota to the gas boiler.
    * Battery: charge from renewable surplus; charge from the grid in valley hours; discharge
      to cover the deficit in high and peak hours; idle otherwise.

    It reads the coming step's exact values from ``info`` (lead 0 of the forecast), as an
    operator reads live meters; it does not use forecasts. Information: ``state_access =
    "measured"`` (``info['state']``), ``exogenous_access = "forecast"`` (lead 0 of
    ``info['forecast']``); the parameters and carbon price come through its :class:`PlantView`.
    """

    state_access: StateAccess = "measured"
    exogenous_access: ExogenousAccess = "forecast"

    def __init__(self, env: gym.Env[Any, Any]) -> None:
        self.view = park_view(env, self, "ParkRuleController")

    def reset(self, env: gym.Env[Any, Any], seed: int | None = None) -> None:
        """Nothing to reset: the rule is stateless (it re-reads the env's view)."""
        self.view = park_view(env, self, "ParkRuleController")

    def physical_action(self, info: dict[str, Any]) -> tuple[float, float]:
        """Battery power [MW, + discharge] and boiler power [MW] for the coming step."""
        p = self.view.params
        fc = info["forecast"]
        wind, pv, load = fc["wind_mw"][0], fc["pv_mw"][0], fc["load_mw"][0]
        price, intensity = fc["price_import"][0], fc["intensity"][0]
        period = int(fc["tou_code"][0])
        carbon = self.view.carbon_price_cny_per_t

        surplus = wind + pv - load
        e_heat_cost = (price + carbon * intensity) / p.flex_efficiency
        gas_heat_cost = p.gas_cny_per_mwh_heat + carbon * p.gas_t_co2_per_mwh_heat
        heat_left = info["state"]["heat_left_mwh"]
        if heat_left <= 0.0:
            boiler = 0.0
        elif e_heat_cost < gas_heat_cost:
            boiler = p.flex_power_mw
        else:  # grid heat dearer than gas, but surplus renewables beat the feed-in price
            boiler = min(max(surplus, 0.0), p.flex_power_mw)

        net_surplus = surplus - boiler
        if net_surplus > 0:
            battery = -min(net_surplus, p.battery_power_mw)
        elif period == TOU_CODES["valley"]:
            battery = -p.battery_power_mw
        elif period in (TOU_CODES["high"], TOU_CODES["peak"]):
            battery = min(-net_surplus, p.battery_power_mw)
        else:
            battery = 0.0
        return battery, boiler

    def act(self, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        """Normalised action for the coming step."""
        return self.view.scaler.to_normalized(self.physical_action(info))
