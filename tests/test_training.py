import gymnasium as gym
import numpy as np
from stable_baselines3 import PPO

from ecocontrol.evaluation import run_episode

PARK = "ecocontrol/WindSolarStorage-v1"


class SB3Controller:
    def __init__(self, model):
        self.model = model

    def reset(self, env, seed=None):
        pass

    def act(self, obs, info):
        action, _ = self.model.predict(obs, deterministic=True)
        return action


def test_ppo_trains_a_few_thousand_steps_and_runs_through_run_episode():
    env = gym.make(PARK, split="train")
    model = PPO(
        "MlpPolicy", env, n_steps=512, batch_size=128, n_epochs=2, seed=0, device="cpu", verbose=0
    )
    model.learn(total_timesteps=2048)
    assert model.num_timesteps >= 2048
    res = run_episode(gym.make(PARK, split="test"), SB3Controller(model), seed=0, window=0)
    assert res.n_steps == 168 and np.isfinite(res.cost["total"])
