"""Park performance: env steps per second and MPC decision latency.

    python experiments/bench_park.py            # writes experiments/results/park_perf.json

Medians over repeats; no timing assertions live in the tests.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
from pathlib import Path

import gymnasium as gym
import numpy as np
from bench_plant import env_steps_per_second as plant_steps_per_second

import ecocontrol
from ecocontrol.controllers import make_controller
from ecocontrol.evaluation import run_episode

PARK = "ecocontrol/WindSolarStorage-v1"


def env_steps_per_second(n_steps: int, repeats: int, **kwargs) -> float:
    return plant_steps_per_second(PARK, n_steps, repeats, **kwargs)


def mpc_latency(windows: int, **kwargs) -> dict[str, float]:
    dt_h = kwargs.pop("dt_h", 1.0)
    env = gym.make(PARK, split="test", dt_h=dt_h)
    mpc = make_controller("mpc", env, **kwargs)
    times: list[float] = []
    for w in range(windows):
        times.extend(run_episode(env, mpc, seed=w, window=w).decision_times_s.tolist())
    ms = np.array(times) * 1e3
    return {
        "median_ms": float(np.median(ms)),
        "p95_ms": float(np.percentile(ms, 95)),
        "decisions": len(ms),
        "horizon_steps": mpc.horizon_steps,
    }


def oracle_time(windows: int) -> dict[str, float]:
    env = gym.make(PARK, split="test")
    oracle = make_controller("oracle", env)
    t = []
    for w in range(windows):
        run_episode(env, oracle, seed=w, window=w)
        t.append(oracle.solve_times_s[0])
    return {"median_s": statistics.median(t), "max_s": max(t), "episode_steps": 168}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=20_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--windows", type=int, default=3)
    ap.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results" / "park_perf.json"
    )
    args = ap.parse_args()
    report = {
        "machine": {
            "python": platform.python_version(),
            "cpu": platform.processor(),
            "ecocontrol": ecocontrol.__version__,
        },
        "env_steps_per_s": {
            "hourly": env_steps_per_second(args.steps, args.repeats),
            "15min": env_steps_per_second(args.steps, args.repeats, dt_h=0.25),
        },
        "mpc_latency": {
            "hourly_h24": mpc_latency(args.windows),
            "15min_h24": mpc_latency(max(1, args.windows // 3), dt_h=0.25),
        },
        "oracle_solve": oracle_time(args.windows),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
