"""The park's simulator (:class:`ParkVectorEnv`) and its single env (:class:`WindSolarStorageEnv`).

:class:`ParkVectorEnv` is the park's one stepping implementation: ``num_envs`` parks over a
leading batch axis, stepped by one compiled kernel (:func:`_step_kernel`: the physics of
:func:`~ecocontrol.envs.park.physics.step_member` and the accounts of
:mod:`~ecocontrol.envs.park.scoring` for every member) and priced by the shared ledger in
:class:`~ecocontrol.envs.vector.BatchedEcoEnv`'s step loop; another kernel
(:func:`_observe_kernel`) builds each member's noisy forecast and its observation. The single
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
from numpy.typing import NDArray

from ecocontrol.emissions import DEFAULT_CARBON_PRICE_CNY_PER_T, require_finite_range

from ..base import EcoEnv
from ..jit import kernel
from ..scenario import (
    ActionScaler,
    BatchForecastNoise,
    FloatArray,
    ForecastErrorModel,
    IntArray,
    ScenarioWindows,
    noisy_series,
    perturb_rows,
)
from ..vector import BatchedEcoEnv
from .observation import (
    FORECAST_OBS,
    N_STATE_OBS,
    O_BATTERY_MWH,
    O_SCALES,
    OBS_HIGH,
    OBS_LOW,
    hour_features,
    observation_constants,
    observe_series,
    observe_state,
    year_features,
)
from .params import PARK_DRIFTS, ParkParams
from .physics import FLOW_NAMES, N_FLOWS, ParkFlows, physics_constants, step_member
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
from .scoring import (
    A_COSTS,
    A_INVENTORY,
    A_VIOLATIONS,
    COST_NAMES,
    EMISSION_NAMES,
    N_ACCOUNTS,
    VIOLATION_NAMES,
    accounts_member,
    demand_charge_cny_per_mw,
    inventory_member,
    scoring_constants,
    store_values,
)

#: Exogenous values of the last step that ``info['state']`` reports beside the flows: the
#: series the observation forecasts.
_STATE_SERIES: tuple[str, ...] = FORECAST_OBS
# Rows of the year's table (one per SERIES_KEYS entry) the kernels read.
_WIND, _PV, _LOAD, _HEAT, _PRICE_IMPORT, _PRICE_EXPORT, _INTENSITY = (
    SERIES_KEYS.index(k)
    for k in (
        "wind_mw",
        "pv_mw",
        "load_mw",
        "heat_demand_mw",
        "price_import",
        "price_export",
        "intensity",
    )
)
_TOU = SERIES_KEYS.index("tou_code")
_STATE_ROWS = np.array([SERIES_KEYS.index(k) for k in _STATE_SERIES], dtype=np.int64)
#: What ``info['state']`` holds: the stores, then (after a step) the flows and exogenous values.
_STORE_INFO = ("energy_mwh", "soc", "heat_mwh", "peak_mw", "energy0_mwh", "heat0_mwh")
_INFO_KEYS: tuple[str, ...] = (*_STORE_INFO, *FLOW_NAMES, *_STATE_SERIES)
_OBS_ROWS = np.array([SERIES_KEYS.index(k) for k in FORECAST_OBS], dtype=np.int64)


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
    violation_names: ClassVar[tuple[str, ...]] = VIOLATION_NAMES
    emission_sources: ClassVar[tuple[str, ...]] = EMISSION_NAMES
    settings: ClassVar[tuple[str, ...]] = ("dt_h", "forecast_steps", "steps_per_day")
    #: Default forecast errors (see :data:`~ecocontrol.envs.park.scenario.DEFAULT_FORECAST_ERRORS`).
    DEFAULT_FORECAST_ERRORS: ClassVar[dict[str, ForecastErrorModel]] = DEFAULT_FORECAST_ERRORS
    drifts = PARK_DRIFTS

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
        drift: float | Mapping[str, float] = 0.0,
        drift_randomise: bool = False,
    ) -> None:
        super().__init__(
            num_envs,
            autoreset_mode=autoreset_mode,
            split=split,
            carbon_price_cny_per_t=carbon_price_cny_per_t,
            reward_scale_cny=reward_scale_cny,
            cost_terms=COST_NAMES,
        )
        _check_timing(dt_h, episode_days, forecast_horizon_h, forecast_noise_scale)
        self.params: ParkParams = self._drifted(
            self._params_or_default(params, ParkParams), drift, drift_randomise
        )
        self.dt_h = float(dt_h)
        self.series, self.site = _series_and_site(
            weather, latitude, longitude, self.params, self.dt_h
        )
        self.forecast_errors = _scaled_errors(
            forecast_errors, forecast_noise_scale, _soiling_bias(self.nominal_params, self.params)
        )
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

        # State of each member (rows: battery energy, stored heat, peak import), the last
        # step's flows (rows as FLOW_NAMES) and step of the year, and the step of the year of
        # each member's forecast (set by _prepare; a member that ended keeps its last one).
        self.energy0_mwh = float(p.soc_init * p.battery_energy_mwh)
        self.heat0_mwh = float(p.heat_store_init_mwh)
        self._state: FloatArray = np.zeros((3, num_envs))
        self._state[0], self._state[1] = self.energy0_mwh, self.heat0_mwh
        self._flows: FloatArray = np.zeros((N_FLOWS, num_envs))
        self._step_t: IntArray = np.zeros(num_envs, dtype=np.int64)
        self._fc_t: IntArray = np.zeros(num_envs, dtype=np.int64)
        self._stepped = np.zeros(num_envs, dtype=bool)  # a step since the member's reset
        # The year's series as one table (row j = SERIES_KEYS[j], as float64: the integer
        # tariff codes are exact in it), its first h steps repeated at its end, so that a
        # forecast's horizon is one contiguous slice even where it wraps around the year.
        table = np.stack([getattr(self.series, k).astype(np.float64) for k in SERIES_KEYS])
        self._n_steps = table.shape[1]
        self._table: FloatArray = np.ascontiguousarray(
            np.concatenate([table, table[:, :h]], axis=1)
        )
        self._dtypes = [(k, getattr(self.series, k).dtype) for k in SERIES_KEYS]
        # Time features with numpy's sin/cos, once: by the forecast's step of the year (hour
        # of day, its sin and cos) and by the step of the year (sin and cos of the day).
        hour = table[SERIES_KEYS.index("hour_of_day")]
        self._hour_features: FloatArray = np.array([hour, *hour_features(hour)])
        t_all = np.arange(self._n_steps + self.episode_steps + 1, dtype=np.int64)
        self._year_features: FloatArray = np.array(year_features(t_all, self.dt_h))
        self._noise = BatchForecastNoise(
            tuple(self.forecast_errors.values()),
            self.episode_steps,
            max(h - 1, 0),
            self.dt_h,
            num_envs,
        )
        # the table row of each noisy model's series
        rows = np.array([SERIES_KEYS.index(k) for k in self.forecast_errors], dtype=np.int64)
        self._noise_rows: IntArray = rows[self._noise.cols]
        # the observation's block of each noisy model's series
        obs_block = np.array([FORECAST_OBS.index(k) for k in self.forecast_errors], np.int64)
        self._noise_blocks: IntArray = obs_block[self._noise.cols]
        self._obs_constants = observation_constants(p)
        # each observed series normalised as the observation holds it (exact forecasts and
        # lead 0 are copied from here)
        self._obs_table = np.empty((len(FORECAST_OBS), self._table.shape[1]), np.float32)
        for j, row in enumerate(_OBS_ROWS):
            observe_series(self._table[row], self._obs_constants[O_SCALES + j], self._obs_table[j])
        self._physics = physics_constants(p, self.dt_h)
        self._scoring = scoring_constants(p, self.dt_h, self.demand_cny_per_mw)
        # the stores at an episode's start, then their terminal values (at the carbon price
        # _values_price; a ledger's price may be changed between steps)
        self._stores0: FloatArray = np.zeros(6)
        self._stores0[:2] = self.energy0_mwh, self.heat0_mwh
        self._values_price = float("nan")

    # -- state, read through -------------------------------------------------------------
    @property
    def energy_mwh(self) -> FloatArray:
        """Battery energy of each member [MWh] (a copy)."""
        return self._state[0].copy()

    @property
    def heat_mwh(self) -> FloatArray:
        """Heat in each member's store [MWh heat] (a copy)."""
        return self._state[1].copy()

    @property
    def peak_mw(self) -> FloatArray:
        """Highest import of each member's episode so far [MW] (a copy)."""
        return self._state[2].copy()

    @property
    def flows(self) -> ParkFlows | None:
        """The last step's flows of every member (copies), or ``None`` before any step."""
        if not self._stepped.any():
            return None
        return ParkFlows(*self._flows.copy())

    # -- hooks of the step loop ----------------------------------------------------------------
    def _reset_members(self, idx: IntArray) -> None:
        self._state[0, idx] = self.energy0_mwh
        self._state[1, idx] = self.heat0_mwh
        self._state[2, idx] = 0.0
        self._stepped[idx] = False
        if self._noise.active:
            for i in idx.tolist():
                rng = self.rngs[i]
                assert rng is not None
                self._noise.start(i, rng, bool(self.reseeded[i]))

    def _prepare(self, idx: IntArray) -> None:
        _forecast_steps(idx, self.window_start, self.step_index, self._n_steps, self._fc_t)
        self._noise.prepare(idx, self.step_index, self.rngs)

    def _step_members(self, physical: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        price = self.carbon_price_cny_per_t
        if price != self._values_price:  # the terminal values carry the carbon price
            self._stores0[2:] = store_values(self.params, price).vector()
            self._values_price = price
        out = np.empty((N_ACCOUNTS, self.num_envs))  # fresh: the rows are returned
        _step_kernel(
            self._table,
            self._n_steps,
            self.window_start,
            self.step_index,
            self.episode_steps,
            physical,
            self._state,
            self._physics,
            self._scoring,
            self._stores0,
            self._flows,
            out,
            self._step_t,
        )
        self._stepped.fill(True)
        return out[:A_COSTS], out[A_COSTS:A_VIOLATIONS], out[A_VIOLATIONS:]

    def _observe_batch(self) -> np.ndarray:
        obs = np.empty((self.num_envs, self.single_observation_space.shape[0]), np.float32)
        noise = self._noise
        _observe_kernel(
            obs,
            self._table,
            self._obs_table,
            self._fc_t,
            self.window_start,
            self.step_index,
            self.episode_steps,
            self._state,
            self._hour_features,
            self._year_features,
            noise.z,
            noise.row,
            self._noise_rows,
            self._noise_blocks,
            noise.scale,
            noise.bias,
            self._obs_constants,
        )
        return obs

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
        values = np.empty(len(_INFO_KEYS))
        fc = np.empty((len(SERIES_KEYS), self.forecast_steps))
        noise = self._noise
        _info_kernel(
            i,
            self._state,
            self._stores0,
            self._obs_constants,
            self._flows,
            self._table,
            self._step_t,
            self._fc_t,
            noise.z,
            noise.row,
            self._noise_rows,
            noise.scale,
            noise.bias,
            values,
            fc,
        )
        # before the member's first step, only the stores (zip stops at the shorter)
        keys = _INFO_KEYS if self._stepped[i] else _INFO_KEYS[: len(_STORE_INFO)]
        state = dict(zip(keys, values.tolist(), strict=False))
        forecast = dict(zip(SERIES_KEYS, fc, strict=True))  # rows of a fresh array
        forecast["tou_code"] = fc[_TOU].astype(self._dtypes[_TOU][1])
        return {"state": state, "forecast": forecast}

    def true_window(self, start_step: int, n: int) -> dict[str, np.ndarray]:
        """True exogenous series (privileged: for the oracle and perfect-forecast MPC)."""
        return self.series.window(start_step, n)

    def full_state(self, i: int) -> dict[str, float]:
        """Member ``i``'s whole state: battery energy [MWh], stored heat [MWh heat], peak [MW].

        The park's whole state is what it measures; privileged only by declaration.
        """
        energy, heat, peak = self._state[:, i].tolist()
        return {"energy_mwh": energy, "heat_mwh": heat, "peak_mw": peak}


# -- the simulator's kernels -----------------------------------------------------------------
@kernel
def _forecast_steps(
    idx: IntArray, window_start: IntArray, step_index: IntArray, n_steps: int, fc_t: IntArray
) -> None:
    """Members ``idx`` forecast from their coming step: its step of the year into ``fc_t``."""
    for j in range(idx.shape[0]):
        i = idx[j]
        fc_t[i] = (window_start[i] + step_index[i]) % n_steps


@kernel
def _forecast_member(
    table: FloatArray,
    t: int,
    z: FloatArray,
    noise_rows: IntArray,
    scale: FloatArray,
    bias: FloatArray,
    out: FloatArray,
) -> None:
    """One member's forecast from step of the year ``t`` into ``out``.

    The table's rows over the horizon (``out.shape[1]`` steps), leads >= 1 of the noisy series
    perturbed with the member's variates ``z`` (:func:`~ecocontrol.envs.scenario.perturb_rows`).
    """
    for r in range(out.shape[0]):
        for k in range(out.shape[1]):
            out[r, k] = table[r, t + k]
    perturb_rows(out, z, noise_rows, scale, bias)


@kernel
def _info_kernel(
    i: int,
    state: FloatArray,
    stores0: FloatArray,
    obs_constants: FloatArray,
    flows: FloatArray,
    table: FloatArray,
    step_t: IntArray,
    fc_t: IntArray,
    z: FloatArray,
    z_row: IntArray,
    noise_rows: IntArray,
    scale: FloatArray,
    bias: FloatArray,
    values: FloatArray,
    forecast: FloatArray,
) -> None:
    """Member ``i``'s info, as numbers.

    ``values``: the entries of ``_INFO_KEYS`` (its stores, SOC, peak, the stores at the
    episode's start, its last step's flows and exogenous values); ``forecast``: its forecast
    (:func:`_forecast_member`).
    """
    energy = state[0, i]
    capacity = obs_constants[O_BATTERY_MWH]
    values[0] = energy
    values[1] = energy / capacity if capacity else 0.0
    values[2] = state[1, i]
    values[3] = state[2, i]
    values[4] = stores0[0]
    values[5] = stores0[1]
    base = 6
    for r in range(flows.shape[0]):
        values[base + r] = flows[r, i]
    base += flows.shape[0]
    t = step_t[i]
    for j in range(_STATE_ROWS.shape[0]):
        values[base + j] = table[_STATE_ROWS[j], t]
    _forecast_member(table, fc_t[i], z[i, z_row[i]], noise_rows, scale, bias, forecast)


@kernel
def _step_kernel(
    table: FloatArray,
    n_steps: int,
    window_start: IntArray,
    step_index: IntArray,
    episode_steps: int,
    actions: FloatArray,
    state: FloatArray,
    physics: FloatArray,
    scoring: FloatArray,
    stores0: FloatArray,
    flows: FloatArray,
    out: FloatArray,
    step_t: IntArray,
) -> None:
    """Every member's step: physics, then accounts.

    The physics is :func:`step_member` (``state`` updated in place, ``flows`` and the step of
    the year ``step_t`` written), the accounts :func:`accounts_member` (into ``out``), with
    ``inventory`` booked at an episode's last step only (:func:`inventory_member`;
    ``stores0``: battery energy and stored heat at the episode's start, then the four
    terminal values).
    """
    values = stores0[2:]
    for i in range(state.shape[1]):
        t = (window_start[i] + step_index[i]) % n_steps
        step_t[i] = t
        energy, heat, peak = step_member(
            state[0, i],
            state[1, i],
            state[2, i],
            actions[i, 0],
            actions[i, 1],
            table[_WIND, t],
            table[_PV, t],
            table[_LOAD, t],
            table[_HEAT, t],
            physics,
            flows,
            i,
        )
        state[0, i] = energy
        state[1, i] = heat
        state[2, i] = peak
        accounts_member(
            flows,
            i,
            table[_INTENSITY, t],
            table[_PRICE_IMPORT, t],
            table[_PRICE_EXPORT, t],
            scoring,
            out,
        )
        if step_index[i] + 1 >= episode_steps:
            out[A_INVENTORY, i] = inventory_member(stores0[0], energy, stores0[1], heat, values)
        else:
            out[A_INVENTORY, i] = 0.0


@kernel
def _observe_kernel(
    obs: NDArray[np.float32],
    table: FloatArray,
    obs_table: NDArray[np.float32],
    fc_t: IntArray,
    window_start: IntArray,
    step_index: IntArray,
    episode_steps: int,
    state: FloatArray,
    hour_features: FloatArray,
    year_features: FloatArray,
    z: FloatArray,
    z_row: IntArray,
    noise_rows: IntArray,
    noise_blocks: IntArray,
    scale: FloatArray,
    bias: FloatArray,
    constants: FloatArray,
) -> None:
    """Every member's observation, from its forecast's step of the year ``fc_t``.

    The state part is :func:`observe_state`; the forecasts are copied from ``obs_table`` (the
    series normalised by :func:`observe_series`), then the noisy series' blocks are
    overwritten with :func:`observe_series` of their forecast (:func:`noisy_series` with the
    member's variates). A member whose episode ended keeps the forecast of its last step.
    """
    n_obs = len(FORECAST_OBS)
    h = (obs.shape[1] - N_STATE_OBS) // n_obs
    forecast = np.empty(h)
    for i in range(obs.shape[0]):
        t0 = fc_t[i]
        step = step_index[i]
        t = window_start[i] + step
        row = obs[i]
        observe_state(
            row,
            1.0 - step / episode_steps,
            state[0, i],
            state[1, i],
            state[2, i],
            hour_features[0, t0],
            hour_features[1, t0],
            hour_features[2, t0],
            year_features[0, t],
            year_features[1, t],
            table[_PRICE_IMPORT, t0],
            constants,
        )
        for j in range(n_obs):
            start = N_STATE_OBS + j * h
            row[start : start + h] = obs_table[j, t0 : t0 + h]
        zi = z[i, z_row[i]]
        for s in range(noise_rows.shape[0]):
            noisy_series(table[noise_rows[s], t0 : t0 + h], zi[s], scale[s], bias[s], forecast)
            j = noise_blocks[s]
            start = N_STATE_OBS + j * h
            observe_series(forecast, constants[O_SCALES + j], row[start : start + h])


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


def _soiling_bias(nominal: ParkParams, true: ParkParams) -> float:
    """Relative bias of a clean-panel PV forecast on soiled panels (drift ``pv_soiling``).

    The forecast models the PV plant with the nominal losses, so it over-predicts the soiled
    plant's output by ``(1 - nominal) / (1 - true) - 1``; 0 without drift. Added to the PV
    forecast's error model where ``forecast_errors`` has one (the default does).
    """
    if nominal.pv_losses_pct == true.pv_losses_pct:
        return 0.0
    return (1.0 - nominal.pv_losses_pct / 100.0) / (1.0 - true.pv_losses_pct / 100.0) - 1.0


def _scaled_errors(
    forecast_errors: Mapping[str, ForecastErrorModel] | None,
    noise_scale: float,
    pv_bias: float = 0.0,
) -> dict[str, ForecastErrorModel]:
    """The forecast error model of each noisy series, its std scaled by ``noise_scale``."""
    base = dict(DEFAULT_FORECAST_ERRORS if forecast_errors is None else forecast_errors)
    unknown = set(base) - set(NOISY_SERIES)
    if unknown:
        raise ValueError(
            f"forecast_errors has unknown series {sorted(unknown)}; allowed: {list(NOISY_SERIES)}"
        )
    out = {k: ForecastErrorModel(m.std_per_sqrt_h * noise_scale, m.bias) for k, m in base.items()}
    # A soiled plant's clean-panel PV forecast (drift pv_soiling) over-predicts: its bias. Only
    # where the PV forecast has an error model: adding one would draw variates and move every
    # other series' forecast noise against the plant without drift.
    pv = out.get("pv_mw")
    if pv_bias and pv is not None:
        try:
            out["pv_mw"] = ForecastErrorModel(pv.std_per_sqrt_h, pv.bias + pv_bias)
        except ValueError as exc:
            raise ValueError(
                f"drift pv_soiling adds a PV forecast bias of {pv_bias:.4f} to "
                f"forecast_errors['pv_mw'].bias={pv.bias}: {exc}"
            ) from exc
    return out


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

    ## Drift (``drift``, ``drift_randomise``; :mod:`ecocontrol.envs.drift`)
    ``capacity_fade`` (battery energy x0.8, [Xu2018]), ``resistance_growth`` (0.900 each way,
    round trip 0.81), ``pv_soiling`` (soiling 8 % instead of 2 %; the PV forecast, a
    clean-panel model, over-predicts by 6.5 %; [Kimber2006], [Ilse2019]),
    ``heat_store_insulation`` (standing loss x1.5, assumed); severity 1 is a battery at its end
    of life after a 40-day dry spell. Controllers see the nominal parameters unless they
    declare ``model_access="true"``.

    ## Version History
    * v1, issue 22: the keys ``drift`` and ``drift_randomise`` (and, on the kiln, the field
      ``shell_loss_factor``, 1 by default). At their defaults the plant is bit-identical to v1
      before them (tested), so the version is unchanged.
    * v1: the end-of-episode value of stored energy (``inventory``); a process-heat demand
      profile, a heat store and a rated gas boiler in place of the daily heat quota; the
      demand charge of the two-part tariff (``demand``); observation gains stored heat, peak
      so far, episode left and the heat-demand forecast (10 + 6 h entries, was 8 + 5 h).
    * v0: initial release (daily heat quota, energy-only tariff, no terminal value).
    """

    simulator = ParkVectorEnv
