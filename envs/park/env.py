"""The park's simulator (:class:`ParkVectorEnv`) and its single env (:class:`WindSolarStorageEnv`).

:class:`ParkVectorEnv` is the park's one stepping implementation: ``num_envs`` parks over a
leading batch axis, stepped by :func:`~ecocontrol.envs.park.physics.park_step` and priced by
the shared ledger in :class:`~ecocontrol.envs.vector.BatchedEcoEnv`'s step loop. The single
env :class:`WindSolarStorageEnv` is a batch of one of it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import pandas as pd
from gymnasium.vector import AutoresetMode

from ecocontrol.emissions import DEFAULT_CARBON_PRICE_CNY_PER_T, require_finite_range

from ..base import EcoEnv
from ..scenario import (
    ActionScaler,
    BatchForecastErrors,
    FloatArray,
    ForecastErrorModel,
    IntArray,
    ScenarioWindows,
    horizon_view,
)
from ..vector import BatchedEcoEnv
from .observation import FORECAST_OBS, N_STATE_OBS, OBS_HIGH, OBS_LOW, park_observation
from .params import ParkParams
from .physics import ParkFlows, park_step
from .scenario import (
    DEFAULT_FORECAST_ERRORS,
    NOISY_SERIES,
    SERIES_KEYS,
    ParkSeries,
    Site,
    build_series,
    cached_series,
    load_weather,
)
from .scoring import demand_charge_cny_per_mw, inventory_cost, park_accounts, store_values

#: Series a step reads at its own step of the year (the calendar columns are for forecasts).
_STEP_SERIES: tuple[str, ...] = tuple(
    k for k in SERIES_KEYS if k not in ("tou_code", "hour_of_day")
)
#: Exogenous values of the last step that ``info['state']`` reports beside the flows: the
#: series the observation forecasts.
_STATE_SERIES: tuple[str, ...] = FORECAST_OBS


class ParkVectorEnv(BatchedEcoEnv):
    """``num_envs`` parks stepped together over a leading batch axis (the park's simulator).

    ``gymnasium.make_vec("ecocontrol/WindSolarStorage-v1", num_envs=n,
    vectorization_mode="vector_entry_point", **kwargs)``; ``kwargs`` as for
    :class:`WindSolarStorageEnv` (the env card), plus ``autoreset_mode``. Member ``i``
    reproduces a single env seeded with ``seed + i`` under the same actions (tested); ``info``
    carries per-member arrays of the ledger's costs and emissions and the violations, not the
    forecasts (:meth:`_member_info` gives one member's state and forecasts).

    Raises:
        ValueError: for an argument out of its range, naming it and the allowed range.
        FileNotFoundError: for a weather file that does not exist.
    """

    plant_name: ClassVar[str] = "park"
    violation_names: ClassVar[tuple[str, ...]] = (
        "battery_limited_mw",
        "boiler_limited_mw",
        "import_limited_mw",
        "unserved_load_mwh",
        "unserved_heat_mwh",
    )
    settings: ClassVar[tuple[str, ...]] = ("dt_h", "forecast_steps", "steps_per_day")
    #: Default forecast errors (see :data:`~ecocontrol.envs.park.scenario.DEFAULT_FORECAST_ERRORS`).
    DEFAULT_FORECAST_ERRORS: ClassVar[dict[str, ForecastErrorModel]] = DEFAULT_FORECAST_ERRORS

    def __init__(
        self,
        num_envs: int = 1,
        *,
        autoreset_mode: str | AutoresetMode = "NextStep",
        split: str = "train",
        params: ParkParams | None = None,
        weather: str | os.PathLike[str] | pd.DataFrame = "greensboro",
        latitude: float | None = None,
        longitude: float | None = None,
        dt_h: float = 1.0,
        episode_days: int = 7,
        forecast_horizon_h: float = 24.0,
        forecast_errors: Mapping[str, ForecastErrorModel] | None = None,
        forecast_noise_scale: float = 1.0,
        carbon_price_cny_per_t: float = DEFAULT_CARBON_PRICE_CNY_PER_T,
        reward_scale_cny: float = 1.0e4,
        split_seed: int = 0,
    ) -> None:
        super().__init__(
            num_envs,
            autoreset_mode=autoreset_mode,
            split=split,
            carbon_price_cny_per_t=carbon_price_cny_per_t,
            reward_scale_cny=reward_scale_cny,
            cost_terms=("energy", "demand", "fuel", "degradation", "penalty", "inventory"),
        )
        _check_timing(dt_h, episode_days, forecast_horizon_h, forecast_noise_scale)
        self.params: ParkParams = self._params_or_default(params, ParkParams)
        self.dt_h = float(dt_h)
        self.series, self.site = _series_and_site(
            weather, latitude, longitude, self.params, self.dt_h
        )
        self.forecast_errors = _scaled_errors(forecast_errors, forecast_noise_scale)
        self.steps_per_day = round(24 / self.dt_h)
        self.forecast_steps = h = round(forecast_horizon_h / self.dt_h)
        self.windows = ScenarioWindows(
            self.series.n_steps, episode_days * self.steps_per_day, split_seed=split_seed
        )
        p = self.params
        self.scaler = ActionScaler(
            [-p.battery_power_mw, 0.0], [p.battery_power_mw, p.flex_power_mw], ("battery", "boiler")
        )
        n_obs = N_STATE_OBS + len(FORECAST_OBS) * h
        self.single_observation_space = gym.spaces.Box(OBS_LOW, OBS_HIGH, (n_obs,), np.float32)
        self._setup_batch()
        #: demand charge of an episode per MW of its highest import [CNY/MW]
        self.demand_cny_per_mw = demand_charge_cny_per_mw(p, self.episode_steps * self.dt_h)

        # state of each member, and the last step's flows and exogenous values
        self.energy0_mwh = p.soc_init * p.battery_energy_mwh
        self.heat0_mwh = p.heat_store_init_mwh
        self.energy_mwh: FloatArray = np.full(num_envs, self.energy0_mwh)
        self.heat_mwh: FloatArray = np.full(num_envs, self.heat0_mwh)
        self.peak_mw: FloatArray = np.zeros(num_envs)
        self.flows: ParkFlows | None = None
        self.exo: dict[str, np.ndarray] = {}
        self._stepped = np.zeros(num_envs, dtype=bool)  # a step since the member's reset
        # The year's series as one table (column j = SERIES_KEYS[j], as float64: the integer
        # tariff codes and day-end flags are exact in it), so that a step reads its exogenous
        # values with one gather and a forecast its horizon with another.
        self._table = np.stack(
            [getattr(self.series, k).astype(np.float64) for k in SERIES_KEYS], axis=1
        )
        # row t: the table over steps t .. t+h-1 (wrapping around the year), shape (keys, h)
        self._horizon = horizon_view(self._table, h)
        self._dtypes = [(k, getattr(self.series, k).dtype) for k in SERIES_KEYS]
        self._fc_table = np.zeros((num_envs, len(SERIES_KEYS), h))
        #: each series' forecasts, shape (num_envs, h): views into the one table above
        self._fc = {k: self._fc_table[:, j] for j, k in enumerate(SERIES_KEYS)}
        self._noisy = [
            (j, k, m) for j, (k, m) in enumerate(self.forecast_errors.items()) if not m.is_perfect
        ]
        self._errors = BatchForecastErrors(
            tuple(self.forecast_errors.values()),
            self.episode_steps,
            max(h - 1, 0),
            self.dt_h,
            num_envs,
        )

    # -- hooks of the step loop ----------------------------------------------------------------
    def _reset_members(self, idx: IntArray) -> None:
        self.energy_mwh[idx] = self.energy0_mwh
        self.heat_mwh[idx] = self.heat0_mwh
        self.peak_mw[idx] = 0.0
        self._stepped[idx] = False
        for i in idx:
            rng = self.rngs[i]
            assert rng is not None
            self._errors.start(int(i), rng)

    def _prepare(self, idx: IntArray) -> None:
        sel: slice | IntArray = slice(None) if len(idx) == self.num_envs else idx
        self._fc_table[sel] = self._horizon[self.t[sel] % len(self._table)]
        if self.forecast_steps > 1 and self._noisy:
            errors = self._errors.rows(idx, self.step_index[idx], self.rngs)
            for j, k, model in self._noisy:
                fc = self._fc[k]
                fc[sel, 1:] = model.perturb(fc[sel, 1:], errors[:, j])

    def _step_members(
        self, physical: FloatArray
    ) -> tuple[dict[str, FloatArray], dict[str, FloatArray], dict[str, FloatArray]]:
        now = self._table[self.t % len(self._table)]
        exo = {k: now[:, j] for j, k in enumerate(SERIES_KEYS) if k in _STEP_SERIES}
        e, h, peak, flows = park_step(
            self.energy_mwh,
            self.heat_mwh,
            self.peak_mw,
            physical[:, 0],
            physical[:, 1],
            exo,
            self.params,
            self.dt_h,
        )
        self.energy_mwh, self.heat_mwh, self.peak_mw = e, h, peak
        self.flows, self.exo = flows, exo
        self._stepped.fill(True)
        emissions, costs = park_accounts(flows, exo, self.params, self.dt_h, self.demand_cny_per_mw)
        last = self.step_index + 1 >= self.episode_steps
        costs["inventory"] = np.zeros(self.num_envs)
        if last.any():  # booked at an episode's last step only
            inventory = inventory_cost(
                self.energy0_mwh,
                e,
                self.heat0_mwh,
                h,
                store_values(self.params, self.carbon_price_cny_per_t),
            )
            costs["inventory"] = np.where(last, inventory, 0.0)
        violations = {
            "battery_limited_mw": flows.battery_limited_mw,
            "boiler_limited_mw": flows.boiler_limited_mw,
            "import_limited_mw": flows.import_limited_mw,
            "unserved_load_mwh": flows.shed_mw * self.dt_h,
            "unserved_heat_mwh": flows.unserved_heat_mw * self.dt_h,
        }
        return emissions, costs, violations

    def _observe_batch(self) -> np.ndarray:
        left = 1.0 - self.step_index / self.episode_steps
        return park_observation(
            self.energy_mwh,
            self.heat_mwh,
            self.peak_mw,
            self._fc,
            self.t,
            left,
            self.params,
            self.dt_h,
        )

    def _member_info(self, i: int) -> dict[str, Any]:
        """Member ``i``'s ``state`` and ``forecast``, as the single env's ``info`` holds them.

        ``state``: ``energy_mwh``, ``soc``, ``heat_mwh`` (the store), ``peak_mw`` (highest
        import of the episode so far), ``energy0_mwh`` and ``heat0_mwh`` (the stores at the
        episode's start) and, after a step, that step's flows
        (:class:`~ecocontrol.envs.park.physics.ParkFlows`) and its ``wind_mw``, ``pv_mw``,
        ``load_mw``, ``heat_demand_mw``, ``price_import`` and ``intensity``, all floats.
        ``forecast``: every series over the forecast horizon in physical units, lead 0 = the
        coming step (exact), leads >= 1 of wind, PV and load with the forecast error (copies).
        """
        p = self.params
        energy = float(self.energy_mwh[i])
        state: dict[str, Any] = {
            "energy_mwh": energy,
            "soc": energy / p.battery_energy_mwh if p.battery_energy_mwh else 0.0,
            "heat_mwh": float(self.heat_mwh[i]),
            "peak_mw": float(self.peak_mw[i]),
            "energy0_mwh": float(self.energy0_mwh),
            "heat0_mwh": float(self.heat0_mwh),
        }
        if self._stepped[i] and self.flows is not None:
            state.update({k: float(v[i]) for k, v in vars(self.flows).items()})
            state.update({k: float(self.exo[k][i]) for k in _STATE_SERIES})
        fc = self._fc_table[i]
        return {
            "state": state,
            "forecast": {k: fc[j].astype(d) for j, (k, d) in enumerate(self._dtypes)},
        }

    def true_window(self, start_step: int, n: int) -> dict[str, np.ndarray]:
        """True exogenous series (privileged: for the oracle and perfect-forecast MPC)."""
        return self.series.window(start_step, n)

    def full_state(self, i: int) -> dict[str, float]:
        """Member ``i``'s whole state: battery energy [MWh], stored heat [MWh heat], peak [MW].

        The park's whole state is what it measures; privileged only by declaration.
        """
        return {
            "energy_mwh": float(self.energy_mwh[i]),
            "heat_mwh": float(self.heat_mwh[i]),
            "peak_mw": float(self.peak_mw[i]),
        }


def _check_timing(
    dt_h: float, episode_days: int, forecast_horizon_h: float, forecast_noise_scale: float
) -> None:
    """Refuse a step, episode length, horizon or noise scale out of range."""
    if dt_h not in (0.25, 1.0):
        raise ValueError(f"dt_h={dt_h!r}; allowed: 0.25 or 1.0 hours")
    if isinstance(episode_days, bool) or not isinstance(episode_days, int):
        raise ValueError(f"episode_days={episode_days!r}; allowed: an int in [1, 121]")
    require_finite_range("episode_days", episode_days, 1, 121)
    require_finite_range("forecast_horizon_h", forecast_horizon_h, dt_h, 24.0 * 7)
    require_finite_range("forecast_noise_scale", forecast_noise_scale, 0.0, 10.0)


def _series_and_site(
    weather: str | os.PathLike[str] | pd.DataFrame,
    latitude: float | None,
    longitude: float | None,
    p: ParkParams,
    dt_h: float,
) -> tuple[ParkSeries, Site]:
    """The year's series and the site: a DataFrame is built afresh, a site or file cached."""
    if isinstance(weather, pd.DataFrame):
        w, site = load_weather(weather, latitude=latitude, longitude=longitude)
        return build_series(w, site, p, dt_h), site
    return cached_series(str(weather), p, dt_h)


def _scaled_errors(
    forecast_errors: Mapping[str, ForecastErrorModel] | None, noise_scale: float
) -> dict[str, ForecastErrorModel]:
    """The forecast error model of each noisy series, its std scaled by ``noise_scale``."""
    base = dict(DEFAULT_FORECAST_ERRORS if forecast_errors is None else forecast_errors)
    unknown = set(base) - set(NOISY_SERIES)
    if unknown:
        raise ValueError(
            f"forecast_errors has unknown series {sorted(unknown)}; allowed: {list(NOISY_SERIES)}"
        )
    return {k: ForecastErrorModel(m.std_per_sqrt_h * noise_scale, m.bias) for k, m in base.items()}


class WindSolarStorageEnv(EcoEnv):
    """Industrial park with wind, PV, a battery, an electric boiler and heat store, and a grid.

    ## Description
    An industrial park buys power under a two-part tariff (time-of-use energy prices and a
    demand charge on the highest import of the billing period), sells surplus at a feed-in
    price, and owns a wind farm (windpowerlib power curve, log-law hub-height correction), a
    PV plant (pvlib PVWatts with SAPM cell temperature), a battery, a three-shift base load
    (SYNTHETIC), and a process-heat system: a three-shift heat demand (SYNTHETIC), an electric
    (electrode) boiler that serves it and charges a heat store (a pressurised hot-water or
    steam accumulator with a standing loss), and a natural-gas backup boiler that covers what
    the boiler and the store do not; heat still missing is undelivered (penalised).
    Weather: pvlib's bundled NREL TMY3 files (default Greensboro, 36.1 N), any TMY3/EPW file,
    or a DataFrame (see :func:`~ecocontrol.envs.park.scenario.load_weather`).

    ## Action Space
    ``Box(-1, 1, (2,))``: ``[battery, boiler]``. ``battery`` maps linearly to
    ``[-battery_power_mw, +battery_power_mw]`` (positive = discharge); ``boiler`` (the
    electric boiler's power) to ``[0, flex_power_mw]``. Finite values outside [-1, 1] are
    clipped (``constraint_violations['action_clipped']``); NaN/inf raises ``ValueError``.
    Requests the SOC window cannot take are cut (``battery_limited_mw``), boiler power whose
    heat neither the demand nor the store can take is cut (``boiler_limited_mw``); if the
    import limit binds, battery charging is cut, then the boiler, then base load is shed.
    The boiler's heat serves the demand first and charges the store with the rest; a heat
    deficit is met from the store (up to its discharge limit), then by the gas boiler.

    ## Observation Space
    ``Box(float32)`` of ``10 + 6 * forecast_steps``: SOC; stored heat / store capacity; peak
    import of the episode so far / import limit; fraction of the day left; fraction of the
    episode left; sin/cos hour of day; sin/cos day of year; current price / flat tariff; then
    for leads 0..forecast_steps-1 (lead 0 = the coming step, known exactly): wind / wind
    capacity, PV / PV AC rating, load / mean load, heat demand / mean heat demand, import
    price / flat tariff, grid intensity / mean. Leads >= 1 of wind, PV and load carry the
    forecast error; heat demand follows the production schedule and is forecast exactly.

    ## Rewards
    ``-(energy + demand + fuel + degradation + penalty + inventory + carbon) /
    reward_scale_cny`` per step, CNY: import cost minus feed-in revenue; ``demand``, the
    demand charge (``demand_charge_cny_per_kw_month`` pro-rated to the episode, on the
    episode's highest step-average import, booked as the peak rises); backup-boiler gas;
    battery throughput degradation; unserved load and undelivered heat at their penalties;
    ``inventory`` at the last step, the stored energy (battery and heat store) missing
    against the start, priced at its deficit value, or added, credited at its surplus value
    (:func:`~ecocontrol.envs.park.scoring.store_values`: missing battery energy at the
    dearest grid energy of the day, added at its valley replacement; missing heat at gas heat
    cost, added at valley boiler heat; carbon priced in, no CO2 booked), so that no
    controller gains by ending the episode with empty stores; carbon price x (grid + fuel
    CO2). Grid CO2 is imports x hourly intensity (exports earn no credit). Every term is in
    ``info['costs']``.

    ## Info
    ``state``: battery energy and SOC, stored heat, peak import so far, both stores at the
    episode's start, and after a step its flows (``ParkFlows``: battery, boiler, grid,
    curtailment, shedding, boiler heat, store charge/discharge, gas heat, undelivered heat,
    peak rise, limits, power and heat balance residuals) and exogenous values; ``forecast``:
    every series over the horizon in physical units.

    ## Starting State
    SOC ``soc_init``, heat store at ``heat_store_init`` of its capacity, peak 0, at midnight
    of the window's first day.

    ## Episode End
    Truncation after ``episode_days`` days; no termination.

    ## Arguments
    ``split`` (train/val/test), ``params`` (:class:`ParkParams`), ``weather``, ``latitude``,
    ``longitude``, ``dt_h`` (0.25 or 1), ``episode_days`` (7), ``forecast_horizon_h`` (24),
    ``forecast_errors`` (per series :class:`ForecastErrorModel`; ``forecast_noise_scale``
    multiplies the defaults, 0 = perfect), ``carbon_price_cny_per_t`` (80),
    ``reward_scale_cny`` (1e4), ``split_seed`` (0).

    ## Parameters and sources
    See :class:`ParkParams`: every default carries its source in its docstring. New in v1:
    ``demand_charge_cny_per_kw_month`` (44, Shenzhen large-industry schedule, SZINVEST2005),
    ``heat_demand_mean_mw`` (5, SYNTHETIC profile), ``heat_store_capacity_mwh`` (30, assumed),
    ``heat_store_charge_mw`` (12, assumed), ``heat_store_discharge_mw`` (8, assumed),
    ``heat_store_loss_per_h`` (1 %/day, assumed after the team's accumulator notes),
    ``heat_store_init`` (0.5), ``gas_boiler_heat_mw`` (10, assumed),
    ``value_of_unserved_heat_cny_per_mwh`` (3,000, assumed).

    ## Version History
    * v1: the end-of-episode value of stored energy (``inventory``); a process-heat demand
      profile, a heat store and a rated gas boiler in place of the daily heat quota; the
      demand charge of the two-part tariff (``demand``); observation gains stored heat, peak
      so far, episode left and the heat-demand forecast (10 + 6 h entries, was 8 + 5 h).
    * v0: initial release (daily heat quota, energy-only tariff, no terminal value).
    """

    simulator = ParkVectorEnv
