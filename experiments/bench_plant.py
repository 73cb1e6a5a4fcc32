"""Plant performance: env steps per second and MPC decision latency.

    python experiments/bench_plant.py --env hot_stove     # -> results/hot_stove_perf.json
    python experiments/bench_plant.py --env cement_kiln   # -> results/cement_kiln_perf.json

Medians over repeats; no timing assertions live in the tests. The MPC latency is that of the
decisions that solve (one per MPC period); the others replay the plan (kiln: plus the set-point
loops).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import gymnasium as gym
import numpy as np

import ecocontrol
from ecocontrol.controllers import make_controller
from ecocontrol.evaluation import run_episode

ENV_IDS = {"hot_stove": "ecocontrol/HotStove-v1", "cement_kiln": "ecocontrol/CementKiln-v1"}


def env_steps_per_second(env_id: str, n_steps: int, repeats: int, **kwargs) -> float:
    """Median env steps per second over ``repeats`` runs of random actions.

    After a warm-up of a few steps (a first use compiles the plant's kernels, or loads them
    from numba's cache; that time is reported apart, by ``perf/run.py``'s compile section).
    """
    env = gym.make(env_id, split="train", **kwargs)
    n = env.action_space.shape[0]
    env.reset(seed=0)
    for _ in range(20):
        env.step(env.action_space.sample())
    rates = []
    for r in range(repeats):
        env.reset(seed=r)
        actions = np.random.default_rng(r).uniform(-1, 1, (n_steps, n)).astype(np.float32)
        t0 = time.perf_counter()
        for a in actions:
            _, _, term, trunc, _ = env.step(a)
            if term or trunc:
                env.reset()
        rates.append(n_steps / (time.perf_counter() - t0))
    return statistics.median(rates)


def mpc_latency(env_id: str, windows: int, episode_h: float, **kwargs) -> dict[str, float]:
    env = gym.make(env_id, split="test", episode_h=episode_h)
    mpc = make_controller("mpc", env, **kwargs)
    solve: list[float] = []
    decide: list[float] = []
    limited = work = failures = 0
    for w in range(windows):
        r = run_episode(env, mpc, seed=w, window=w)
        solve.extend(mpc.solve_times_s)
        decide.extend(r.decision_times_s.tolist())
        limited += mpc.n_time_limited
        work += mpc.n_work_limited
        failures += mpc.n_failures
    ms = np.array(solve) * 1e3
    return {
        "solve_median_ms": float(np.median(ms)),
        "solve_p95_ms": float(np.percentile(ms, 95)),
        "all_decisions_median_ms": float(np.median(decide) * 1e3),
        "solves": len(ms),
        "time_limited": limited,
        "work_limited": work,
        "failures": failures,
        "horizon_periods": mpc.horizon_periods,
        "period_min": mpc.period_min,
        "time_limit_s": mpc.time_limit_s,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--env", choices=sorted(ENV_IDS), default="hot_stove")
    ap.add_argument("--episode-h", type=float, default=8.0, help="MPC windows' length [h]")
    ap.add_argument("--steps", type=int, default=5_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--windows", type=int, default=3)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    env_id = ENV_IDS[args.env]
    out = args.out or Path(__file__).parent / "results" / f"{args.env}_perf.json"
    report = {
        "machine": {
            "python": platform.python_version(),
            "cpu": platform.processor(),
            "ecocontrol": ecocontrol.__version__,
        },
        "env": env_id,
        "env_steps_per_s": env_steps_per_second(env_id, args.steps, args.repeats),
        "mpc_latency": mpc_latency(env_id, args.windows, args.episode_h),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
