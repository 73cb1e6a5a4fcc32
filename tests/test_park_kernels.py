"""The park's compiled kernels against the numpy definitions they replace (bit for bit)."""

import math

import gymnasium as gym
import numpy as np
import pytest
from ecocontrol.envs.park import ParkVectorEnv, park_observation
from ecocontrol.envs.park.env import SERIES_KEYS
from ecocontrol.envs.scenario import (
    BatchForecastNoise,
    ForecastErrorModel,
    episode_forecast_errors,
    noisy_series,
)

MODELS = (ForecastErrorModel(0.05), ForecastErrorModel(), ForecastErrorModel(0.01, bias=0.1))


@pytest.mark.parametrize("chunk", [5, 32, None])
def test_batch_noise_draws_the_numbers_of_episode_forecast_errors(chunk: int) -> None:
    steps, leads, dt_h = 12, 7, 0.25
    noise = BatchForecastNoise(MODELS, steps, leads, dt_h, 2, chunk=chunk)
    rngs = [np.random.default_rng(3), np.random.default_rng(4)]
    refs = [np.random.default_rng(3), np.random.default_rng(4)]
    idx = np.arange(2)
    for episode in range(2):
        for i in idx:
            noise.start(int(i), rngs[i])
        expected = [episode_forecast_errors(MODELS, steps, leads, dt_h, r) for r in refs]
        for step in range(steps if episode else steps // 2):  # the first one is abandoned
            noise.prepare(idx, np.full(2, step), rngs)
            for i in idx:
                z = noise.z[i, noise.row[i]]
                for s, col in enumerate(noise.cols):
                    np.testing.assert_array_equal(
                        np.cumsum(z[s] * noise.scale[s]), expected[i][step, col]
                    )
    # both generators are where the numpy model leaves them
    assert rngs[0].standard_normal() == refs[0].standard_normal()


def test_noisy_series_is_the_numpy_perturb() -> None:
    rng = np.random.default_rng(0)
    model = ForecastErrorModel(1.0, bias=-0.5)
    truth = rng.uniform(0.0, 5.0, 24)
    z = rng.standard_normal(23)
    error = np.cumsum(z * (model.std_per_sqrt_h * math.sqrt(1.0)))
    out = np.empty(24)
    noisy_series(truth, z, model.std_per_sqrt_h, model.bias, out)
    assert out[0] == truth[0]
    assert out[1:].tobytes() == model.perturb(truth[1:], error).tobytes()
    assert (out >= 0).all() and (out == 0).any()  # the large error drives some leads to 0


def test_park_observation_equals_the_simulators() -> None:
    env = ParkVectorEnv(3, forecast_noise_scale=2.0)
    env.reset(seed=5)
    rng = np.random.default_rng(1)
    for _ in range(40):
        obs, *_ = env.step(rng.uniform(-1, 1, (3, 2)))
    forecasts = [env._member_info(i)["forecast"] for i in range(3)]
    forecast = {k: np.stack([f[k] for f in forecasts]) for k in SERIES_KEYS}
    left = 1.0 - env.step_index / env.episode_steps
    again = park_observation(
        env.energy_mwh, env.heat_mwh, env.peak_mw, forecast, env.t, left, env.params, env.dt_h
    )
    assert again.tobytes() == obs.tobytes()


def test_info_holds_copies() -> None:
    env = gym.make("ecocontrol/WindSolarStorage-v1")
    env.reset(seed=0)
    _, _, _, _, info = env.step(np.zeros(2, np.float32))
    before = {k: v.copy() for k, v in info["forecast"].items()}
    state = dict(info["state"])
    env.step(np.ones(2, np.float32))
    for k, v in before.items():
        np.testing.assert_array_equal(info["forecast"][k], v)
    assert info["state"] == state
    assert info["forecast"]["tou_code"].dtype == np.int64
