"""Rule-based controllers: what a competent operator runs today.

They are the baseline that savings are quoted against, so they are sensible, not straw men.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from ecocontrol.controllers.base import plant_of, register_controller
from ecocontrol.emissions import require_finite_range
from ecocontrol.envs.cement_kiln import CementKilnEnv, kiln_design
from ecocontrol.envs.hot_stove import HotStoveEnv, staggered_cycle_command
from ecocontrol.envs.park import TOU_CODES, WindSolarStorageEnv


@register_controller("park", "rule")
class ParkRuleController:
    """Merit-order dispatch of the park.

    * Electric boiler: run at full power whenever grid electricity makes heat cheaper than the
      gas backup boiler (price + carbon price x grid intensity, over boiler efficiency, against
      gas fuel + carbon per MWh heat); otherwise soak up renewable surplus only, and leave the
      rest of the day's quota to the gas boiler.
    * Battery: charge from renewable surplus; charge from the grid in valley hours; discharge
      to cover the deficit in high and peak hours; idle otherwise.

    It reads the coming step's exact values from ``info`` (lead 0 of the forecast), as an
    operator reads live meters; it does not use forecasts.
    """

    def __init__(self, env: gym.Env[Any, Any]) -> None:
        plant = plant_of(env)
        if not isinstance(plant, WindSolarStorageEnv):
            raise TypeError("ParkRuleController needs a WindSolarStorageEnv")
        self.env = plant

    def reset(self, env: gym.Env[Any, Any], seed: int | None = None) -> None:
        """Nothing to reset: the rule is stateless."""
        plant = plant_of(env)
        if not isinstance(plant, WindSolarStorageEnv):
            raise TypeError("ParkRuleController needs a WindSolarStorageEnv")
        self.env = plant

    def physical_action(self, info: dict[str, Any]) -> tuple[float, float]:
        """Battery power [MW, + discharge] and boiler power [MW] for the coming step."""
        env = self.env
        p = env.params
        fc = info["forecast"]
        wind, pv, load = fc["wind_mw"][0], fc["pv_mw"][0], fc["load_mw"][0]
        price, intensity = fc["price_import"][0], fc["intensity"][0]
        period = int(fc["tou_code"][0])
        carbon = env.carbon_price_cny_per_t

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
        return self.env.scaler.to_normalized(self.physical_action(info))


@register_controller("hot_stove", "rule")
class HotStoveRuleController:
    """The usual hot-stove practice (:func:`~ecocontrol.envs.hot_stove.staggered_cycle_command`).

    A fixed staggered cycle with ``blast_period_min`` on blast per stove (the next stove
    changes over ``changeover_min`` before the period ends, so the blast never stops); every
    stove on gas fires at maximum with the fixed enrichment share that gives
    ``dome_target_c``, throttled as its waste gas nears the limit (hold). It reads the
    measured stove state (modes, clocks, waste-gas temperatures) and ignores the demand.
    """

    def __init__(
        self,
        env: gym.Env[Any, Any],
        *,
        blast_period_min: float = 60.0,
        dome_target_c: float = 1380.0,
    ) -> None:
        plant = plant_of(env)
        if not isinstance(plant, HotStoveEnv):
            raise TypeError("HotStoveRuleController needs a HotStoveEnv")
        p = plant.params
        require_finite_range(
            "blast_period_min", blast_period_min, p.min_blast_min + p.changeover_min, 600.0
        )
        require_finite_range(
            "dome_target_c", dome_target_c, p.hot_blast_setpoint_c, p.dome_temp_max_c
        )
        self.env = plant
        self.blast_period_min = float(blast_period_min)
        self.dome_target_c = float(dome_target_c)

    def reset(self, env: gym.Env[Any, Any], seed: int | None = None) -> None:
        """Nothing to reset: the rule reads the plant's clocks."""
        plant = plant_of(env)
        if not isinstance(plant, HotStoveEnv):
            raise TypeError("HotStoveRuleController needs a HotStoveEnv")
        self.env = plant

    def physical_action(self) -> np.ndarray:
        """Switch requests (+1/-1), firing [MW] and enrichment share per stove."""
        req, fire, share = staggered_cycle_command(
            self.env.state,
            self.env.params,
            blast_period_min=self.blast_period_min,
            dome_target_c=self.dome_target_c,
        )
        return np.concatenate([np.where(req[0], 1.0, -1.0), fire[0], share[0]])

    def act(self, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        """Normalised action for the coming step."""
        return self.env.scaler.to_normalized(self.physical_action())


class PI:
    """A discrete PI loop in velocity form with output limits (no integral wind-up).

    Args:
        kp: proportional gain [output per unit error].
        ti_min: integral time [min].
        low: lowest output.
        high: highest output.
    """

    def __init__(self, kp: float, ti_min: float, low: float, high: float) -> None:
        self.kp, self.ti_min, self.low, self.high = kp, ti_min, low, high
        self.output = 0.0
        self._last_error: float | None = None

    def reset(self, output: float) -> None:
        """Start from ``output`` with no error history (bumpless)."""
        self.output = float(np.clip(output, self.low, self.high))
        self._last_error = None

    def update(self, error: float, dt_min: float, feedforward_step: float = 0.0) -> float:
        """One update: ``kp * (de + dt / ti * e)`` added to the output, plus a feed-forward step."""
        last = error if self._last_error is None else self._last_error
        step = self.kp * ((error - last) + dt_min / self.ti_min * error)
        self._last_error = error
        self.output = float(np.clip(self.output + step + feedforward_step, self.low, self.high))
        return self.output


@register_controller("cement_kiln", "rule")
class KilnRuleController:
    """The usual DCS practice on a precalciner kiln: three PI loops and a lab trim.

    * calciner outlet temperature -> calciner fuel (set point ``calciner_sp_c``);
    * burning-zone temperature -> kiln fuel (set point ``bz_sp_c``, trimmed when a lab free
      lime arrives: ``+ theta * ln(lab / target)``, the plant's free-lime slope, half-way);
    * kiln-inlet O2 -> ID fan speed (set point ``o2_sp_pct``);
    * a fixed alternative-fuel share (``CementKilnParams.af_share_rule``) and both fuels
      ratioed to the feed rate (feed-forward).

    Gains from the plant's step responses (kiln +10 K/MW, time constant about 25 min;
    calciner +1.7 K/MW, immediate; O2 +18 % per unit fan speed), tuned for a closed-loop time
    constant of about 10, 3 and 5 min.
    """

    def __init__(
        self,
        env: gym.Env[Any, Any],
        *,
        bz_sp_c: float | None = None,
        calciner_sp_c: float | None = None,
        o2_sp_pct: float | None = None,
        free_lime_target_pct: float = 1.0,
        lab_trim: bool = True,
    ) -> None:
        plant = plant_of(env)
        if not isinstance(plant, CementKilnEnv):
            raise TypeError("KilnRuleController needs a CementKilnEnv")
        p = plant.params
        self.bz_sp0 = p.bz_nominal_c if bz_sp_c is None else float(bz_sp_c)
        self.calciner_sp = p.calciner_nominal_c if calciner_sp_c is None else float(calciner_sp_c)
        self.o2_sp = p.kiln_o2_nominal_pct if o2_sp_pct is None else float(o2_sp_pct)
        require_finite_range("bz_sp_c", self.bz_sp0, *p.bz_limits_c)
        require_finite_range("calciner_sp_c", self.calciner_sp, *p.calciner_limits_c)
        require_finite_range("o2_sp_pct", self.o2_sp, 0.5, 8.0)
        require_finite_range("free_lime_target_pct", free_lime_target_pct, *p.free_lime_band_pct)
        self.free_lime_target = float(free_lime_target_pct)
        self.lab_trim = lab_trim
        self.env = plant
        self.kiln = PI(0.25, 25.0, *p.kiln_heat_range_mw)
        self.calciner = PI(0.2, 1.0, *p.calciner_heat_range_mw)
        self.fan = PI(0.004, 2.0, *p.fan_speed_range)
        self.reset(env)

    def reset(self, env: gym.Env[Any, Any], seed: int | None = None) -> None:
        """Bumpless start from the plant's current action; set point back to its default."""
        plant = plant_of(env)
        if not isinstance(plant, CementKilnEnv):
            raise TypeError("KilnRuleController needs a CementKilnEnv")
        self.env = plant
        a = plant.state.last_action[0]
        self.kiln.reset(a[0])
        self.calciner.reset(a[1])
        self.fan.reset(a[3])
        self.bz_sp = self.bz_sp0
        self._lab_age = np.inf
        self._feed: float | None = None

    def physical_action(self, info: dict[str, Any]) -> np.ndarray:
        """Kiln heat, calciner heat [MW], AF share and fan speed."""
        p, st, dt = self.env.params, info["state"], self.env.dt_min
        lab_age = st["lab_age_min"]
        if self.lab_trim and lab_age < self._lab_age:  # a new lab result
            lab = max(st["lab_free_lime_pct"], 0.05)
            trim = 0.5 * p.free_lime_temp_scale_k * np.log(lab / self.free_lime_target)
            self.bz_sp = float(np.clip(self.bz_sp + trim, self.bz_sp0 - 30.0, self.bz_sp0 + 40.0))
        self._lab_age = lab_age
        feed = float(info["forecast"]["feed"][0])
        d = kiln_design(p)
        dfeed = 0.0 if self._feed is None else feed - self._feed
        self._feed = feed
        q_k = self.kiln.update(self.bz_sp - st["bz_c"], dt, d.kiln_heat_mw * dfeed)
        q_c = self.calciner.update(
            self.calciner_sp - st["calciner_c"], dt, d.calciner_heat_mw * dfeed
        )
        o2 = st.get("kiln_o2_pct", p.kiln_o2_nominal_pct)
        fan = self.fan.update(self.o2_sp - o2, dt)
        return np.array([q_k, q_c, p.af_share_rule, fan])

    def act(self, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        """Normalised action for the coming step."""
        return self.env.scaler.to_normalized(self.physical_action(info))
