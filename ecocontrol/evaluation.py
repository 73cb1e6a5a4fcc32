"""One evaluation loop for every controller: ``run_episode``.

Every number in a comparison comes from this loop, whatever the controller.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from ecocontrol.controllers.base import Controller, plant_of


@dataclass
class EpisodeResult:
    """The outcome of one episode.

    Attributes:
        cost: CNY by term plus ``total``.
        emissions: tCO2 by source plus ``total`` (biogenic reported, not in ``total``).
        violations: each constraint violation summed over the episode (0 when always met).
        n_steps: steps run.
        decision_times_s: wall time of each ``controller.act`` call [s].
        solver_failures: failed solves (0 for controllers without a solver).
        total_reward: sum of rewards.
        window: window index in the split; ``seed``: the reset seed.
        trajectory: per-step records when ``record=True``.
    """

    cost: dict[str, float]
    emissions: dict[str, float]
    violations: dict[str, float]
    n_steps: int
    decision_times_s: np.ndarray
    solver_failures: int
    total_reward: float
    window: int
    seed: int | None
    trajectory: list[dict[str, Any]] = field(default_factory=list, repr=False)

    @property
    def decision_time_median_s(self) -> float:
        """Median decision time [s]."""
        return float(np.median(self.decision_times_s)) if self.n_steps else 0.0

    @property
    def decision_time_p95_s(self) -> float:
        """95th percentile of the decision time [s]."""
        return float(np.percentile(self.decision_times_s, 95)) if self.n_steps else 0.0


def accumulate(acc: dict[str, float], step: dict[str, float]) -> None:
    """Add each of ``step``'s values to ``acc`` (missing keys start at 0)."""
    for k, v in step.items():
        acc[k] = acc.get(k, 0.0) + float(v)


def run_episode(
    env: gym.Env[Any, Any],
    controller: Controller,
    seed: int | None = None,
    *,
    window: int | None = None,
    record: bool = False,
) -> EpisodeResult:
    """Run one episode of ``env`` under ``controller``.

    Args:
        env: an ecocontrol env (wrappers allowed).
        controller: anything with ``reset(env, seed)`` and ``act(obs, info)``.
        seed: reset seed (forecast noise and, without ``window``, the window choice).
        window: window index of the env's split; ``None`` lets the seed choose.
        record: keep per-step info (state, costs, emissions) in ``trajectory``.

    Returns:
        The episode's costs, emissions and violations (sums of the per-step ``info``), its
        length, decision times and solver-failure count.
    """
    options = None if window is None else {"window": window}
    obs, info = env.reset(seed=seed, options=options)
    controller.reset(env, seed)
    cost: dict[str, float] = {}
    emissions: dict[str, float] = {}
    violations: dict[str, float] = dict.fromkeys(info["constraint_violations"], 0.0)
    times: list[float] = []
    trajectory: list[dict[str, Any]] = []
    total_reward = 0.0
    done = False
    while not done:
        t0 = time.perf_counter()
        action = controller.act(obs, info)
        times.append(time.perf_counter() - t0)
        obs, reward, terminated, truncated, info = env.step(action)
        total_reward += float(reward)
        accumulate(cost, info["costs"])
        accumulate(emissions, info["emissions"])
        accumulate(violations, info["constraint_violations"])
        if record:
            trajectory.append(
                {
                    "step": info["step"] - 1,
                    "reward": float(reward),
                    **info["state"],
                    **{f"cost_{k}": v for k, v in info["costs"].items()},
                    **{f"co2_{k}": v for k, v in info["emissions"].items()},
                }
            )
        done = terminated or truncated
    return EpisodeResult(
        cost=cost,
        emissions=emissions,
        violations=violations,
        n_steps=len(times),
        decision_times_s=np.asarray(times),
        solver_failures=int(getattr(controller, "n_failures", 0)),
        total_reward=total_reward,
        window=plant_of(env).window_index,
        seed=seed,
        trajectory=trajectory,
    )
