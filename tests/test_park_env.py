import gymnasium as gym
import numpy as np
import pandas as pd
import pytest
from ecocontrol.envs.base import ScenarioWindows
from ecocontrol.envs.park import ParkParams, WindSolarStorageEnv, load_weather, park_step
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from ecocontrol.emissions import EmissionLedger
from ecocontrol.evaluation import run_episode

PARK = "ecocontrol/WindSolarStorage-v1"


class RandomController:
    """Seeded random actions, some outside [-1, 1] to exercise clipping."""

    def reset(self, env, seed=None):
        self.rng = np.random.default_rng(seed)

    def act(self, obs, info):
        return self.rng.uniform(-1.3, 1.3, size=2).astype(np.float32)


def test_env_checkers_pass():
    gym_check_env(gym.make(PARK).unwrapped, skip_render_check=True)
    sb3_check_env(WindSolarStorageEnv(), warn=True)


def _rollout(env, seed):
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    out = [obs]
    done = False
    while not done:
        obs, r, term, trunc, info = env.step(rng.uniform(-1, 1, 2).astype(np.float32))
        out.append(obs)
        out.append(np.array([r, *info["costs"].values(), *info["emissions"].values()]))
        done = term or trunc
    return np.concatenate([np.ravel(x) for x in out])


def test_same_seed_is_bit_identical_and_other_seed_differs(park_env):
    a = _rollout(park_env, 7)
    b = _rollout(gym.make(PARK, split="test"), 7)
    c = _rollout(park_env, 8)
    assert a.tobytes() == b.tobytes()
    assert a.shape != c.shape or a.tobytes() != c.tobytes()


@pytest.mark.parametrize("dt_h", [1.0, 0.25])
def test_balance_closes_and_bounds_hold_every_step(dt_h):
    env = gym.make(PARK, split="train", dt_h=dt_h, episode_days=3)
    p = env.unwrapped.params
    res = run_episode(env, RandomController(), seed=3, record=True)
    assert res.n_steps == 3 * round(24 / dt_h)
    for row in res.trajectory:
        assert abs(row["residual_mw"]) <= 1e-6 * row["load_mw"]
        assert abs(row["heat_residual_mw"]) <= 1e-6 * row["heat_demand_mw"]
        assert p.e_min_mwh - 1e-9 <= row["energy_mwh"] <= p.e_max_mwh + 1e-9
        assert -1e-9 <= row["heat_mwh"] <= p.heat_store_capacity_mwh + 1e-9
        assert 0 <= row["store_charge_mw"] <= p.heat_store_charge_mw + 1e-9
        assert 0 <= row["store_discharge_mw"] <= p.heat_store_discharge_mw + 1e-9
        assert row["store_charge_mw"] * row["store_discharge_mw"] == 0
        assert 0 <= row["gas_heat_mw"] <= p.gas_boiler_heat_mw + 1e-9
        assert row["unserved_heat_mw"] >= 0
        assert row["peak_mw"] >= row["import_mw"] - 1e-12
        assert 0 <= row["import_mw"] <= p.grid_import_limit_mw + 1e-9
        assert 0 <= row["export_mw"] <= p.grid_export_limit_mw + 1e-9
        assert row["curtail_mw"] >= 0 and row["shed_mw"] >= 0
        assert row["charge_mw"] * row["discharge_mw"] == 0
    assert res.violations["action_clipped"] > 0  # the controller asked outside [-1, 1]


def test_ledger_totals_equal_sum_of_steps(park_env):
    # The env prices each step through its ledger and keeps no running totals (one pricing
    # path, shared with the batch); a ledger recording the episode's steps gives the totals.
    res = run_episode(park_env, RandomController(), seed=1, window=2, record=True)
    ledger = EmissionLedger(
        park_env.unwrapped.carbon_price_cny_per_t, park_env.unwrapped.ledger.cost_terms
    )
    for row in res.trajectory:
        ledger.record(
            {k[4:]: v for k, v in row.items() if k.startswith("co2_") and k != "co2_total"},
            {
                k[5:]: v
                for k, v in row.items()
                if k.startswith("cost_") and k not in ("cost_carbon", "cost_total")
            },
        )
    tot = ledger.totals()
    for k, v in tot.costs.items():
        assert res.cost[k] == pytest.approx(v, rel=1e-12, abs=1e-9)
    for k, v in tot.emissions.items():
        assert res.emissions[k] == pytest.approx(v, rel=1e-12, abs=1e-12)
    assert res.total_reward == pytest.approx(-tot.costs["total"] / 1e4)


def test_batched_physics_equals_single_steps():
    env = WindSolarStorageEnv()
    p, s = env.params, env.series
    rng = np.random.default_rng(0)
    n = 16
    e = rng.uniform(p.e_min_mwh, p.e_max_mwh, n)
    h = rng.uniform(0, p.heat_store_capacity_mwh, n)
    pk = rng.uniform(0, p.grid_import_limit_mw, n)
    bat = rng.uniform(-p.battery_power_mw, p.battery_power_mw, n)
    flex = rng.uniform(0, p.flex_power_mw, n)
    exo = s.window(100, n)
    eb, hb, pb, fb = park_step(e, h, pk, bat, flex, exo, p, 1.0)
    for i in range(n):
        exo_i = {k: v[i : i + 1] for k, v in exo.items()}
        sl = slice(i, i + 1)
        ei, hi, pi, fi = park_step(e[sl], h[sl], pk[sl], bat[sl], flex[sl], exo_i, p, 1.0)
        assert ei[0] == eb[i] and hi[0] == hb[i] and pi[0] == pb[i]
        assert fi.import_mw[0] == fb.import_mw[i]
        assert fi.gas_heat_mw[0] == fb.gas_heat_mw[i]


def test_splits_are_disjoint_and_cover_the_year():
    w = ScenarioWindows(8760, 168)
    sets = [set(w.starts(s).tolist()) for s in ("train", "val", "test")]
    assert not (sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2])
    assert sum(map(len, sets)) == w.n_windows
    assert len(sets[2]) >= 10


def test_window_option_picks_the_window(park_env):
    _, info = park_env.reset(seed=0, options={"window": 3})
    assert info["window"] == 3
    assert info["window_start"] == park_env.unwrapped.window_starts[3]
    with pytest.raises(ValueError, match="window"):
        park_env.reset(options={"window": 99})


def test_perfect_forecast_equals_truth_and_noise_grows_with_lead():
    env = WindSolarStorageEnv(forecast_noise_scale=0.0)
    _, info = env.reset(seed=0)
    truth = env.true_window(env.t, env.forecast_steps)
    np.testing.assert_array_equal(info["forecast"]["wind_mw"], truth["wind_mw"])
    noisy = WindSolarStorageEnv()
    errs = []
    for seed in range(60):
        _, info = noisy.reset(seed=seed)
        tw = noisy.true_window(noisy.t, noisy.forecast_steps)["load_mw"]
        errs.append(info["forecast"]["load_mw"] / tw - 1.0)
    errs = np.array(errs)
    assert np.all(errs[:, 0] == 0.0)  # lead 0 is known exactly
    assert errs[:, 23].std() > 2 * errs[:, 1].std()


def test_out_of_range_actions_are_clipped_as_documented(park_env):
    park_env.reset(seed=0)
    _, _, _, _, info = park_env.step(np.array([5.0, -3.0], dtype=np.float32))
    assert info["constraint_violations"]["action_clipped"] == pytest.approx(4.0 + 2.0)
    assert info["state"]["flex_mw"] == 0.0  # boiler clipped to 0 MW


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_action_is_refused(park_env, bad):
    park_env.reset(seed=0)
    with pytest.raises(ValueError, match=r"battery.*not finite"):
        park_env.step(np.array([bad, 0.0], dtype=np.float32))


def test_wrong_action_shape_is_refused(park_env):
    park_env.reset(seed=0)
    with pytest.raises(ValueError, match="shape"):
        park_env.step(np.zeros(3, dtype=np.float32))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"weather": "atlantis"}, "weather='atlantis'.*allowed"),
        ({"forecast_horizon_h": 0}, "forecast_horizon_h"),
        ({"dt_h": 0.5}, "dt_h"),
        ({"split": "holdout"}, "split"),
        ({"episode_days": 0}, "episode_days"),
        ({"carbon_price_cny_per_t": -5.0}, "carbon_price"),
    ],
)
def test_bad_env_arguments_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        WindSolarStorageEnv(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"battery_energy_mwh": -40.0}, r"battery_energy_mwh=-40.0.*\[0.0"),
        ({"battery_power_mw": -1.0}, "battery_power_mw=-1.0"),
        ({"pv_dc_mw": float("nan")}, "pv_dc_mw"),
        ({"soc_min": 0.8, "soc_max": 0.2}, "soc_min=0.8 > soc_max=0.2"),
        ({"soc_init": 0.95}, "soc_init"),
        ({"battery_eta_charge": 1.2}, "battery_eta_charge"),
        ({"feed_in_cny_per_mwh": 900.0}, "feed_in_cny_per_mwh"),
        ({"tou_schedule": ("valley",) * 23}, "tou_schedule"),
        ({"heat_store_capacity_mwh": -1.0}, "heat_store_capacity_mwh=-1.0"),
        ({"heat_store_charge_mw": -1.0}, "heat_store_charge_mw"),
        ({"heat_store_discharge_mw": -1.0}, "heat_store_discharge_mw"),
        ({"gas_boiler_heat_mw": -1.0}, "gas_boiler_heat_mw"),
        ({"heat_demand_mean_mw": -5.0}, "heat_demand_mean_mw"),
        ({"heat_store_loss_per_h": 1.0}, r"heat_store_loss_per_h=1.0.*\[0.0, 1.0\)"),
        ({"heat_store_loss_per_h": -0.01}, "heat_store_loss_per_h"),
        ({"heat_store_init": 1.5}, "heat_store_init"),
        ({"demand_charge_cny_per_kw_month": -1.0}, "demand_charge_cny_per_kw_month=-1.0"),
        ({"demand_charge_cny_per_kw_month": float("nan")}, "demand_charge_cny_per_kw_month"),
        ({"demand_charge_cny_per_kw_month": float("inf")}, "demand_charge_cny_per_kw_month"),
        ({"value_of_unserved_heat_cny_per_mwh": -1.0}, "value_of_unserved_heat"),
    ],
)
def test_bad_params_name_the_field_and_range(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ParkParams(**kwargs)


def test_missing_weather_file_is_refused():
    with pytest.raises(FileNotFoundError, match=r"weather=.*does not exist"):
        WindSolarStorageEnv(weather="/nonexistent/tmy.csv")


def test_unknown_turbine_type_is_refused():
    with pytest.raises(ValueError, match="turbine_type"):
        WindSolarStorageEnv(params=ParkParams(turbine_type="X-1/1"))


def test_weather_dataframe_and_bad_columns():
    df, site = load_weather("greensboro")
    env = WindSolarStorageEnv(
        weather=df.reset_index(drop=True), latitude=site.latitude, longitude=site.longitude
    )
    ref = WindSolarStorageEnv()
    assert env.series.wind_mw.sum() == pytest.approx(ref.series.wind_mw.sum())
    assert env.series.pv_mw.sum() == pytest.approx(ref.series.pv_mw.sum(), rel=0.02)
    with pytest.raises(ValueError, match=r"missing columns.*ghi"):
        WindSolarStorageEnv(weather=df.drop(columns=["ghi"]), latitude=36.1, longitude=-80)
    with pytest.raises(ValueError, match="latitude"):
        WindSolarStorageEnv(weather=df)
    with pytest.raises(ValueError, match="8760"):
        WindSolarStorageEnv(weather=df.iloc[:100], latitude=36.1, longitude=-80)


def test_weather_file_path_is_read(tmp_path):
    from pathlib import Path

    import pvlib

    src = Path(pvlib.__file__).parent / "data" / "723170TYA.CSV"
    env = WindSolarStorageEnv(weather=str(src))
    assert env.site.latitude == pytest.approx(36.1)
    bad = tmp_path / "bad.csv"
    bad.write_text("not,a,tmy\n1,2,3\n")
    with pytest.raises(ValueError, match="TMY3"):
        WindSolarStorageEnv(weather=str(bad))


def test_nominal_figures_are_physical():
    env = WindSolarStorageEnv()
    p, s = env.params, env.series
    # PVWatts yield at 36 N: 1,200-1,600 kWh/kWp a year; wind CF inland: 0.1-0.45
    assert 1200 < s.pv_mw.sum() / p.pv_dc_mw < 1600
    assert 0.10 < s.wind_mw.mean() / p.wind_capacity_mw < 0.45
    assert s.pv_mw.max() <= p.pv_ac_mw + 1e-9
    assert s.load_mw.mean() == pytest.approx(p.base_load_mean_mw)
    assert isinstance(pd.Series(s.price_import).max(), float)
    assert s.price_import.max() / s.price_import.min() >= 4.0  # NDRC peak/valley floor
    assert s.heat_demand_mw.mean() == pytest.approx(p.heat_demand_mean_mw)
    assert s.heat_demand_mw.max() <= min(p.gas_boiler_heat_mw, p.heat_store_discharge_mw)


def test_demand_charge_is_booked_on_the_episode_peak(park_env):
    from ecocontrol.envs.park.params import HOURS_PER_MONTH

    res = run_episode(park_env, RandomController(), seed=4, window=1, record=True)
    p = park_env.unwrapped.params
    peak = max(row["import_mw"] for row in res.trajectory)
    rate = p.demand_charge_cny_per_kw_month * 1e3 * 168 / HOURS_PER_MONTH
    assert res.cost["demand"] == pytest.approx(rate * peak, rel=1e-12)
    assert res.trajectory[-1]["peak_mw"] == peak


def test_inventory_is_booked_at_the_last_step_only(park_env):
    from ecocontrol.envs.park.scoring import store_values

    res = run_episode(park_env, RandomController(), seed=5, window=2, record=True)
    rows = res.trajectory
    assert all(r["cost_inventory"] == 0.0 for r in rows[:-1])
    p = park_env.unwrapped.params
    v = store_values(p, park_env.unwrapped.carbon_price_cny_per_t)
    db = p.soc_init * p.battery_energy_mwh - rows[-1]["energy_mwh"]
    dh = p.heat_store_init_mwh - rows[-1]["heat_mwh"]
    want = (v.battery_deficit if db > 0 else v.battery_surplus) * db + (
        v.heat_deficit if dh > 0 else v.heat_surplus
    ) * dh
    assert rows[-1]["cost_inventory"] == pytest.approx(want, rel=1e-12)
    assert v.battery_surplus <= v.battery_deficit and v.heat_surplus <= v.heat_deficit


class _Drain:
    """Plays ``base`` but, over the episode's last ``hours``, discharges the battery at full
    power and switches the boiler off (the stores empty themselves into the demand)."""

    def __init__(self, base, hours):
        self.base, self.hours = base, hours

    def reset(self, env, seed=None):
        self.base.reset(env, seed)
        self.env = env

    def act(self, obs, info):
        action = np.asarray(self.base.act(obs, info), dtype=np.float32)
        u = self.env.unwrapped
        if u.episode_steps - info["step"] <= round(self.hours / u.dt_h):
            return np.array([1.0, -1.0], dtype=np.float32)
        return action


def test_no_discharge_earns_more_than_the_deficit_value():
    # A MWh drawn from the battery replaces at most eta_d MWh of grid energy (or sells it at
    # the feed-in price); a MWh drawn from the heat store replaces one MWh of gas heat. Their
    # deficit values bound that, at every step of the year and any carbon price.
    from ecocontrol.envs.park.scoring import store_values

    env = WindSolarStorageEnv()
    p, s = env.params, env.series
    for carbon in (0.0, 80.0, 500.0):
        v = store_values(p, carbon)
        grid = s.price_import + carbon * s.intensity
        assert (p.battery_eta_discharge * grid <= v.battery_deficit + 1e-9).all()
        assert p.battery_eta_discharge * p.feed_in_cny_per_mwh <= v.battery_deficit
        gas = p.gas_cny_per_mwh_heat + carbon * p.gas_t_co2_per_mwh_heat
        assert v.heat_deficit == pytest.approx(gas)


@pytest.mark.parametrize("hours", [2, 6, 24])
def test_emptying_the_stores_at_the_end_gains_nothing(park_env, hours):
    # The oracle and, over its last day, the perfect-forecast MPC plan to the episode's end
    # with the terminal values in: emptying the stores instead costs more, and the oracle
    # (which ended at the SOC floor in v0) ends with at least its starting energy.
    from ecocontrol.controllers import make_controller

    p = park_env.unwrapped.params
    for w in (0, 5):
        for name, kw in (("oracle", {}), ("mpc", {"perfect_forecast": True})):
            keep = run_episode(
                park_env, make_controller(name, park_env, **kw), seed=w, window=w, record=True
            )
            drain = _Drain(make_controller(name, park_env, **kw), hours)
            res = run_episode(park_env, drain, seed=w, window=w, record=True)
            end, kept = res.trajectory[-1], keep.trajectory[-1]
            assert end["energy_mwh"] < kept["energy_mwh"] - 1.0  # it did empty the battery
            assert res.cost["total"] > keep.cost["total"]
            if name == "oracle":
                assert keep.trajectory[-1]["energy_mwh"] >= p.soc_init * p.battery_energy_mwh - 1e-6
