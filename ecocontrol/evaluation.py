"""One evaluation loop for every controller (``run_episode``) and one KPI accumulator.

Every number in a comparison comes from this loop, whatever the controller. Every sum of a
step's costs, emissions and violations (this loop, the training wrapper
:class:`ecocontrol.train.EpisodeKpis`, the batched :class:`ecocontrol.vec.NativeVecEnv`) goes
through :func:`add_kpis`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
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
        decision_cpu_s: process CPU time of all ``controller.act`` calls [s] (every thread:
            a multi-threaded solver counts in full).
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
    decision_cpu_s: float = 0.0

    @property
    def decision_time_median_s(self) -> float:
        """Median decision time [s]."""
        return float(np.median(self.decision_times_s)) if self.n_steps else 0.0

    @property
    def decision_time_p95_s(self) -> float:
        """95th percentile of the decision time [s]."""
        return float(np.percentile(self.decision_times_s, 95)) if self.n_steps else 0.0

    @property
    def kpis(self) -> dict[str, float]:
        """``cost_<term>``, ``co2_<source>`` and ``viol_<name>`` in one flat dict."""
        parts = (self.cost, self.emissions, self.violations)
        return {
            prefix + k: v
            for (prefix, _), part in zip(KPI_PARTS, parts, strict=True)
            for k, v in part.items()
        }


#: KPI key prefix and the ``info`` entry it sums.
KPI_PARTS: tuple[tuple[str, str], ...] = (
    ("cost_", "costs"),
    ("co2_", "emissions"),
    ("viol_", "constraint_violations"),
)


def add_kpis(acc: dict[str, Any], info: Mapping[str, Any], num_envs: int | None = None) -> None:
    """Add one step's costs, emissions and violations (from ``info``) to the sums in ``acc``.

    Keys ``cost_<term>``, ``co2_<source>``, ``viol_<name>``; a missing key starts at 0. With
    ``num_envs`` the values are per member of a batch and each sum is an array.
    """
    for prefix, part in KPI_PARTS:
        for k, v in info[part].items():
            key = prefix + k
            if num_envs is None:
                acc[key] = acc.get(key, 0.0) + float(v)
            elif key in acc:
                acc[key] += v
            else:
                acc[key] = np.zeros(num_envs) + v


def run_episode(
    env: gym.Env[Any, Any],
    controller: Controller,
    seed: int | None = 0,
    *,
    window: int | None = None,
    record: bool = False,
    max_steps: int | None = None,
    on_step: Callable[[np.ndarray, dict[str, Any]], None] | None = None,
) -> EpisodeResult:
    """Run one episode of ``env`` under ``controller``.

    Args:
        env: an ecocontrol env (wrappers allowed).
        controller: anything with ``reset(env, seed)`` and ``act(obs, info)``.
        seed: reset seed (forecast noise and, without ``window``, the window choice); 0 by
            default, so an episode is reproducible unless asked otherwise. ``None`` continues
            the env's own generator (on an env never seeded, Gymnasium's rule: OS entropy).
        window: window index of the env's split; ``None`` lets the seed choose.
        record: keep per-step info (state, costs, emissions) in ``trajectory``.
        max_steps: stop after this many steps, before the episode's end (``None``: run
            the whole episode). A cut episode misses its end-of-episode terms.
        on_step: called after every step with the action applied and the step's ``info``
            (e.g. :func:`ecocontrol.explain.explain_episode` reads the step's accounts).

    Returns:
        The episode's costs, emissions and violations (sums of the per-step ``info``), its
        length, decision times and solver-failure count.
    """
    options = None if window is None else {"window": window}
    obs, info = env.reset(seed=seed, options=options)
    controller.reset(env, seed)
    sums: dict[str, float] = {"viol_" + k: 0.0 for k in info["constraint_violations"]}
    times: list[float] = []
    trajectory: list[dict[str, Any]] = []
    total_reward = 0.0
    cpu_s = 0.0
    done = False
    if max_steps is not None and (isinstance(max_steps, bool) or max_steps < 1):
        raise ValueError(f"max_steps={max_steps!r}; allowed: None or an int >= 1")
    while not done and (max_steps is None or len(times) < max_steps):
        c0 = time.process_time()
        t0 = time.perf_counter()
        action = controller.act(obs, info)
        times.append(time.perf_counter() - t0)
        cpu_s += time.process_time() - c0
        obs, reward, terminated, truncated, info = env.step(action)
        total_reward += float(reward)
        add_kpis(sums, info)
        if on_step is not None:
            on_step(action, info)
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
    cost, emissions, violations = (
        {k.removeprefix(prefix): v for k, v in sums.items() if k.startswith(prefix)}
        for prefix, _ in KPI_PARTS
    )
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
        decision_cpu_s=cpu_s,
    )
