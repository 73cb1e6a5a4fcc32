"""Performance report: env throughput, MPC decision latency, oracle time, PPO env overhead.

    .venv/bin/python experiments/perf/run.py            # ~10 min on 2 cores
    .venv/bin/python experiments/perf/run.py --quick    # fewer repeats, ~3 min

Writes ``experiments/perf/results.json`` and ``experiments/perf/report.md``. Every figure is
a median over repeats on this machine; the targets are those of the performance issue and
are reported against, never asserted in tests.

* env steps/s: one env through ``gymnasium.make``, random actions (one core).
* plant-steps/s with N envs: the plant's native batched env (``gymnasium.make_vec`` with
  ``vector_entry_point``; park with its default forecast errors and with perfect forecasts,
  whose draws dominate at large N) against SB3's ``DummyVecEnv`` of N single envs.
* MPC latency per plant and horizon, per backend: ``solve`` = the HiGHS call (with the
  in-place update for ``direct``); ``decision`` = the whole ``act`` of the decisions that
  solved (parameter update, successive linearisation for the kiln, solve, plan read-out).
* oracle: wall time of its solves per episode.
* PPO: training steps/s on each plant and on a zero-cost env with identical spaces; the
  env overhead share is ``1 - rate_plant / rate_zero``. Two setups: 2 single envs in a
  ``DummyVecEnv`` (the defaults) and 16 plants in the native batched env
  (``vec_env=native``) against 16 zero-cost envs.
* peak memory: the process's maximum resident set size.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv

import ecocontrol
from ecocontrol.controllers import make_controller
from ecocontrol.evaluation import run_episode
from ecocontrol.vec import NativeVecEnv

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))
from bench_plant import env_steps_per_second  # noqa: E402  (one steps/s loop for all benches)

PLANTS = {
    "park": ("ecocontrol/WindSolarStorage-v1", {}),
    "hot_stove": ("ecocontrol/HotStove-v1", {}),
    "cement_kiln": ("ecocontrol/CementKiln-v1", {}),
}
#: (plant, label, controller kwargs, env kwargs for the latency episodes)
MPC_CASES = [
    ("park", "24 h hourly (24 steps)", {"horizon_h": 24.0}, {}),
    ("park", "48 h hourly (48 steps), perfect", {"horizon_h": 48.0, "perfect_forecast": True}, {}),
    ("cement_kiln", "90 min (30 steps)", {}, {"episode_h": 6.0}),
    ("cement_kiln", "150 min (50 steps)", {"horizon_min": 150.0}, {"episode_h": 6.0}),
    ("hot_stove", "2.5 h (15 MILP periods)", {}, {"episode_h": 4.0}),
]


def vec_steps_per_second(env_id: str, n_envs: int, n_steps: int) -> float:
    """SB3 ``DummyVecEnv`` of ``n_envs`` single envs (the Python-loop baseline)."""
    venv = DummyVecEnv([lambda: gym.make(env_id, split="train") for _ in range(n_envs)])
    venv.seed(0)
    venv.reset()
    rng = np.random.default_rng(0)
    shape = (n_envs, *venv.action_space.shape)
    t0 = time.perf_counter()
    calls = max(1, n_steps // n_envs)
    for _ in range(calls):
        venv.step(rng.uniform(-1, 1, shape).astype(np.float32))
    return calls * n_envs / (time.perf_counter() - t0)


def batched_steps_per_second(
    env_id: str, n_envs: int, n_steps: int, repeats: int, **kwargs: Any
) -> float:
    """The native batched env (autoreset included), median over ``repeats``."""
    venv = gym.make_vec(
        env_id, num_envs=n_envs, vectorization_mode="vector_entry_point", split="train", **kwargs
    )
    venv.reset(seed=0)
    rng = np.random.default_rng(0)
    actions = [rng.uniform(-1, 1, venv.action_space.shape) for _ in range(8)]
    calls = max(20, n_steps // n_envs)
    for k in range(min(calls, 20)):  # warm-up
        venv.step(actions[k % 8])
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for k in range(calls):
            venv.step(actions[k % 8])
        rates.append(calls * n_envs / (time.perf_counter() - t0))
    return float(np.median(rates))


def mpc_latency(plant: str, kwargs: dict[str, Any], env_kwargs: dict[str, Any], backend: str):
    env_id, _ = PLANTS[plant]
    env = gym.make(env_id, split="test", **env_kwargs)
    mpc = make_controller("mpc", env, **kwargs)
    mpc.backend = backend
    r = run_episode(env, mpc, seed=0, window=0)
    solve = np.array(mpc.solve_times_s) * 1e3
    # Decisions that solved: the longest ``len(solve)`` decision times.
    decide = np.sort(r.decision_times_s * 1e3)[-len(solve) :]
    return {
        "backend": backend,
        "solves": len(solve),
        "solve_ms_median": float(np.median(solve)),
        "solve_ms_p95": float(np.percentile(solve, 95)),
        "decision_ms_median": float(np.median(decide)),
        "decision_ms_p95": float(np.percentile(decide, 95)),
        "time_limited": int(mpc.n_time_limited),
        "work_limited": int(getattr(mpc, "n_work_limited", 0)),
        "failures": int(mpc.n_failures),
        "episode_cost_cny": float(r.cost["total"]),
    }


def oracle_time(plant: str) -> dict[str, float]:
    env_id, _ = PLANTS[plant]
    env = gym.make(env_id, split="test")
    oracle = make_controller("oracle", env)
    t0 = time.perf_counter()
    run_episode(env, oracle, seed=0, window=0)
    return {
        "episode_wall_s": time.perf_counter() - t0,
        "solve_s_total": float(np.sum(oracle.solve_times_s)),
        "solves": len(oracle.solve_times_s),
        "episode_h": env.unwrapped.episode_steps * getattr(env.unwrapped, "dt_h", 1.0),
    }


class ZeroCost(gym.Env):
    """Same spaces as a plant, no physics: what PPO costs without the env."""

    def __init__(self, like: gym.Env, horizon: int) -> None:
        self.observation_space = like.observation_space
        self.action_space = like.action_space
        self.horizon = horizon
        self.t = 0
        self._obs = np.zeros(self.observation_space.shape, dtype=np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._obs, {}

    def step(self, action):
        self.t += 1
        return self._obs, 0.0, False, self.t >= self.horizon, {}


def ppo_throughput(
    plant: str, steps: int, n_envs: int = 2, native: bool = False
) -> dict[str, float]:
    """PPO steps/s on the plant and on a zero-cost env with the same spaces.

    ``native``: the plants step in the batched env (``vec_env=native``); the zero-cost side is
    a ``DummyVecEnv`` of ``n_envs`` zero-cost envs either way.
    """
    env_id, _ = PLANTS[plant]
    rates = {}
    for kind in ("plant", "zero_cost"):

        def make(kind: str = kind) -> gym.Env[Any, Any]:
            env = gym.make(env_id, split="train")
            return env if kind == "plant" else ZeroCost(env, env.unwrapped.episode_steps)

        venv: VecEnv
        if native and kind == "plant":
            venv = NativeVecEnv(
                gym.make_vec(
                    env_id,
                    num_envs=n_envs,
                    vectorization_mode="vector_entry_point",
                    split="train",
                    autoreset_mode="SameStep",
                ).unwrapped  # type: ignore[arg-type]
            )
        else:
            venv = DummyVecEnv([make] * n_envs)
        n_steps = max(512 // n_envs, 32)
        model = PPO("MlpPolicy", venv, n_steps=n_steps, batch_size=128, seed=0, device="cpu")
        t0 = time.perf_counter()
        model.learn(total_timesteps=steps)
        rates[kind] = steps / (time.perf_counter() - t0)
    return {
        "n_envs": n_envs,
        "native": native,
        "ppo_steps_per_s": rates["plant"],
        "ppo_zero_cost_steps_per_s": rates["zero_cost"],
        "env_overhead_share": 1.0 - rates["plant"] / rates["zero_cost"],
    }


def report_md(res: dict[str, Any]) -> str:
    lines = [
        "# Performance report",
        "",
        f"Machine: {res['machine']}. Medians; targets from the performance issue.",
        "",
        "## Env throughput (target >= 20,000 steps/s single env; 1,000,000 batched park)",
        "",
        "| plant | single env steps/s | batched x1 | x64 | x1024 | DummyVecEnv x1 | x64 | x1024 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for plant, r in res["env"].items():
        cells = []
        for key in ("batched_plant_steps_per_s", "vec_plant_steps_per_s"):
            v = r.get(key, {})
            cells += [f"{v[n]:,.0f}" if n in v else "not run" for n in ("1", "64", "1024")]
        lines.append(f"| {plant} | {r['single_steps_per_s']:,.0f} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## MPC decision latency (targets: park <= 2.5 ms, kiln <= 6 ms, hot stove <= 0.5 s)",
        "",
        "| plant | horizon | backend | solve median ms | solve p95 | decision median ms | "
        "decision p95 | solves | time-limited (failures) | work-limited | episode cost CNY |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in res["mpc"]:
        lines.append(
            f"| {r['plant']} | {r['horizon']} | {r['backend']} | {r['solve_ms_median']:.2f} | "
            f"{r['solve_ms_p95']:.2f} | {r['decision_ms_median']:.2f} | "
            f"{r['decision_ms_p95']:.2f} | {r['solves']} | {r['time_limited']} | "
            f"{r.get('work_limited', 0)} | "
            f"{r['episode_cost_cny']:,.1f} |"
        )
    lines += ["", "## Oracle per episode", "", "| plant | solves | solve time s | wall s |"]
    lines.append("|---|---:|---:|---:|")
    for plant, r in res["oracle"].items():
        lines.append(
            f"| {plant} | {r['solves']} | {r['solve_s_total']:.2f} | {r['episode_wall_s']:.2f} |"
        )
    lines += [
        "",
        "## PPO training throughput (target: env overhead <= 10 %)",
        "",
        "| plant | envs | PPO steps/s | zero-cost env steps/s | env overhead |",
        "|---|---|---:|---:|---:|",
    ]
    for plant, runs in res["ppo"].items():
        for r in runs if isinstance(runs, list) else [runs]:
            envs = f"{r.get('n_envs', 2)} {'batched' if r.get('native') else 'DummyVecEnv'}"
            lines.append(
                f"| {plant} | {envs} | {r['ppo_steps_per_s']:,.0f} | "
                f"{r['ppo_zero_cost_steps_per_s']:,.0f} | {100 * r['env_overhead_share']:.0f} % |"
            )
    lines += ["", f"Peak memory: {res['peak_rss_mb']:.0f} MB.", ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer steps and repeats")
    ap.add_argument("--out", type=Path, default=HERE)
    ap.add_argument(
        "--only",
        nargs="+",
        choices=["env", "mpc", "oracle", "ppo"],
        default=["env", "mpc", "oracle", "ppo"],
        help="sections to measure (the others are left out of the report)",
    )
    ap.add_argument(
        "--plants",
        nargs="+",
        choices=list(PLANTS),
        default=list(PLANTS),
        help="plants to measure (e.g. --only mpc --plants hot_stove --out /tmp/perf)",
    )
    args = ap.parse_args()
    torch.set_num_threads(1)
    n_steps, repeats, ppo_steps = (2_000, 1, 2_048) if args.quick else (10_000, 3, 8_192)
    res: dict[str, Any] = {
        "machine": f"Python {platform.python_version()}, {platform.machine()}, "
        f"ecocontrol {ecocontrol.__version__}",
        "env": {},
        "mpc": [],
        "oracle": {},
        "ppo": {},
    }
    plants = {k: v for k, v in PLANTS.items() if k in args.plants}
    for plant, (env_id, _) in plants.items() if "env" in args.only else ():
        print(f"env throughput: {plant}", flush=True)
        res["env"][plant] = {
            "single_steps_per_s": env_steps_per_second(env_id, n_steps, repeats),
            "batched_plant_steps_per_s": {
                str(n): batched_steps_per_second(
                    env_id, n, n_steps * (1 if n == 1 else 20), repeats
                )
                for n in (1, 64, 1024)
            },
            "vec_plant_steps_per_s": {
                str(n): vec_steps_per_second(env_id, n, max(n_steps, n))
                for n in ((1, 64, 1024) if plant == "park" else (1, 64))
            },
        }
        if plant == "park":
            res["env"]["park, perfect forecasts"] = {
                "single_steps_per_s": env_steps_per_second(
                    env_id, n_steps, repeats, forecast_noise_scale=0.0
                ),
                "batched_plant_steps_per_s": {
                    str(n): batched_steps_per_second(
                        env_id,
                        n,
                        n_steps * (1 if n == 1 else 20),
                        repeats,
                        forecast_noise_scale=0.0,
                    )
                    for n in (1, 64, 1024)
                },
            }
    cases = [c for c in MPC_CASES if c[0] in plants]
    for plant, label, kwargs, env_kwargs in cases if "mpc" in args.only else ():
        for backend in ("appsi", "direct"):
            print(f"MPC latency: {plant} {label} {backend}", flush=True)
            r = mpc_latency(plant, kwargs, env_kwargs, backend)
            res["mpc"].append({"plant": plant, "horizon": label, **r})
    for plant in plants if "oracle" in args.only else ():
        print(f"oracle: {plant}", flush=True)
        res["oracle"][plant] = oracle_time(plant)
    for plant in plants if "ppo" in args.only else ():
        print(f"PPO throughput: {plant}", flush=True)
        res["ppo"][plant] = [
            ppo_throughput(plant, ppo_steps),
            ppo_throughput(plant, 2 * ppo_steps, n_envs=16, native=True),
        ]
    res["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(res, indent=2))
    (args.out / "report.md").write_text(report_md(res))
    print(report_md(res))


if __name__ == "__main__":
    main()
