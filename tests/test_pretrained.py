"""The committed pretrained agents load by name and reproduce the study's rows."""

from __future__ import annotations

import json

import gymnasium as gym
import pandas as pd
import pytest

from ecocontrol.agents import PRETRAINED_DIR, AgentController, pretrained_path
from ecocontrol.config import ConfigError
from ecocontrol.evaluation import run_episode

PLANTS = {
    "park": "ecocontrol/WindSolarStorage-v1",
    "hot_stove": "ecocontrol/HotStove-v1",
    "cement_kiln": "ecocontrol/CementKiln-v1",
}
STUDY = PRETRAINED_DIR.parents[0] / "results" / "study"


@pytest.mark.parametrize("plant", list(PLANTS))
def test_pretrained_agent_reproduces_its_study_row(plant: str) -> None:
    """Window 0 of the test split, seed 0: the study's benchmark row, to the cent."""
    index = json.loads((PRETRAINED_DIR / "index.json").read_text())
    label = index[plant]["label"]
    env = gym.make(PLANTS[plant], split="test")
    agent = AgentController(env, "pretrained")
    assert agent.path == pretrained_path(plant, f"pretrained:{label}")
    result = run_episode(env, agent, seed=0, window=0)
    table = pd.read_csv(STUDY / f"benchmark_{plant}.csv")
    row = table[(table["controller"] == label) & (table["window"] == 0)]
    assert len(row) == 1
    assert result.cost["total"] == pytest.approx(float(row["cost_total"].iloc[0]), rel=1e-9)


def test_unknown_pretrained_agent_is_refused() -> None:
    env = gym.make(PLANTS["park"], split="test")
    with pytest.raises(ConfigError, match="no pretrained agent 'nope'"):
        AgentController(env, "pretrained:nope")
