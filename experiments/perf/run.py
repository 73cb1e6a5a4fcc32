"""Performance report: env throughput, MPC decision latency, oracle time, PPO env overhead.

    .venv/bin/python experiments/perf/run.py                       # ~10 min on 2 cores
    .venv/bin/python experiments/perf/run.py --quick               # fewer repeats, ~3 min
    .venv/bin/python experiments/perf/run.py --baseline 858c603    # + that commit, same run

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
* PPO: training steps/s on each plant; the env share is the time ``model.learn`` spends
  inside the vectorised env's ``reset``/``step`` (a timing wrapper around it) over its
  whole time. Two setups: 2 single envs in a ``DummyVecEnv`` and 16 plants in the native
  batched env (``vec_env=native``).
* compile: wall time of a fresh process's first ``gymnasium.make`` + ``reset`` + ``step``
  of each plant with an empty numba cache (compiling) and again with the cache it left
  (loading); the import of ecocontrol is timed apart.
* peak memory: the process's maximum resident set size.

``--baseline REV`` measures commit ``REV`` with this same script, in the same run: the
commit is exported to a temporary folder and imported from there in a subprocess (env,
PPO and the ``direct`` MPC sections); the report puts its figures beside this tree's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecEnvWrapper

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


class TimedVecEnv(VecEnvWrapper):
    """Counts the wall time spent in the wrapped env's ``reset`` and ``step``."""

    def __init__(self, venv: VecEnv) -> None:
        super().__init__(venv)
        self.seconds = 0.0

    def reset(self) -> Any:
        t0 = time.perf_counter()
        out = self.venv.reset()
        self.seconds += time.perf_counter() - t0
        return out

    def step_async(self, actions: np.ndarray) -> None:
        t0 = time.perf_counter()
        self.venv.step_async(actions)
        self.seconds += time.perf_counter() - t0

    def step_wait(self) -> Any:
        t0 = time.perf_counter()
        out = self.venv.step_wait()
        self.seconds += time.perf_counter() - t0
        return out


def ppo_throughput(
    plant: str, steps: int, n_envs: int = 2, native: bool = False
) -> dict[str, float]:
    """PPO steps/s on the plant and the share of ``learn``'s time spent in the env.

    ``native``: the plants step in the batched env (``vec_env=native``), else a
    ``DummyVecEnv`` of ``n_envs`` single envs.
    """
    env_id, _ = PLANTS[plant]
    inner: VecEnv
    if native:
        inner = NativeVecEnv(
            gym.make_vec(
                env_id,
                num_envs=n_envs,
                vectorization_mode="vector_entry_point",
                split="train",
                autoreset_mode="SameStep",
            ).unwrapped  # type: ignore[arg-type]
        )
    else:
        inner = DummyVecEnv([lambda: gym.make(env_id, split="train")] * n_envs)
    venv = TimedVecEnv(inner)
    n_steps = max(512 // n_envs, 32)
    model = PPO("MlpPolicy", venv, n_steps=n_steps, batch_size=128, seed=0, device="cpu")
    model.learn(total_timesteps=n_steps * n_envs)  # warm-up (first rollout, first update)
    venv.seconds = 0.0
    t0 = time.perf_counter()
    model.learn(total_timesteps=steps, reset_num_timesteps=False)
    wall = time.perf_counter() - t0
    return {
        "n_envs": n_envs,
        "native": native,
        "ppo_steps_per_s": steps / wall,
        "env_seconds": venv.seconds,
        "learn_seconds": wall,
        "env_overhead_share": venv.seconds / wall,
    }


_COMPILE_PROBE = """
import time, json, sys
t0 = time.perf_counter()
import gymnasium as gym, numpy as np
import ecocontrol
t1 = time.perf_counter()
env = gym.make(sys.argv[1], split="train")
env.reset(seed=0)
env.step(np.zeros(env.action_space.shape, dtype=np.float32))
t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "first_step_s": t2 - t1}))
"""


def compile_time(env_id: str) -> dict[str, float]:
    """First use in fresh processes: empty numba cache (compiles), then the cache it left."""
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        for kind in ("cold", "warm"):
            res = subprocess.run(
                [sys.executable, "-c", _COMPILE_PROBE, env_id],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            r = json.loads(res.stdout.strip().splitlines()[-1])
            out[f"{kind}_first_step_s"] = r["first_step_s"]
            out[f"{kind}_import_s"] = r["import_s"]
    return out


def run_baseline(rev: str, args: argparse.Namespace) -> dict[str, Any]:
    """This script's env, PPO and direct-MPC sections on commit ``rev``, in a subprocess."""
    root = HERE.parent.parent
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "tree"
        tree.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(root), "archive", rev], capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
        # the package layout of pyproject's package-dir: ecocontrol.envs = envs, ...
        (tree / "ecocontrol" / "envs").symlink_to("../envs")
        (tree / "ecocontrol" / "configs").symlink_to("../configs")
        pkg = Path(tmp) / "pkg"
        pkg.mkdir()
        (pkg / "ecocontrol").symlink_to(tree / "ecocontrol")
        only = [s for s in args.only if s in ("env", "mpc", "ppo")]
        cmd = [sys.executable, str(Path(__file__).resolve()), "--as-baseline", rev]
        cmd += ["--out", str(Path(tmp) / "out"), "--only", *only, "--plants", *args.plants]
        cmd += ["--quick"] if args.quick else []
        env = {**os.environ, "PYTHONPATH": str(pkg)}
        subprocess.run(cmd, env=env, check=True)
        return dict(json.loads((Path(tmp) / "out" / "results.json").read_text()))


def _fmt(v: float | None, spec: str = ",.0f") -> str:
    return "not run" if v is None else format(v, spec)


def report_md(res: dict[str, Any], base: dict[str, Any] | None = None) -> str:
    """The Markdown report; ``base``: the same figures of an earlier commit, shown beside."""
    b = base or {}
    rev = b.get("revision", "")
    was = f" (was, {rev})" if base else ""
    lines = [
        "# Performance report",
        "",
        f"Machine: {res['machine']}. Medians; targets from the performance issue."
        + (
            f" Beside each figure, in brackets: commit `{rev}` measured in the same run."
            if base
            else ""
        ),
        "",
        "## Env throughput (target >= 20,000 steps/s single env; 1,000,000 batched park)",
        "",
        "| plant | single env steps/s | batched x1 | x64 | x1024 | DummyVecEnv x1 | x64 | x1024 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def cell(now: float | None, then: float | None) -> str:
        return _fmt(now) + (f" ({_fmt(then)})" if base and then is not None else "")

    for plant, r in res["env"].items():
        old = b.get("env", {}).get(plant, {})
        cells = [cell(r["single_steps_per_s"], old.get("single_steps_per_s"))]
        for key in ("batched_plant_steps_per_s", "vec_plant_steps_per_s"):
            v, w = r.get(key, {}), old.get(key, {})
            cells += [cell(v.get(n), w.get(n)) for n in ("1", "64", "1024")]
        lines.append(f"| {plant} | " + " | ".join(cells) + " |")
    if res.get("compile"):
        lines += [
            "",
            "## Compile time on first use (fresh process; numba cache empty, then warm)",
            "",
            "| plant | import ecocontrol s | first make+reset+step, cold cache s | warm cache s |",
            "|---|---:|---:|---:|",
        ]
        for plant, r in res["compile"].items():
            lines.append(
                f"| {plant} | {r['cold_import_s']:.2f} | {r['cold_first_step_s']:.2f} | "
                f"{r['warm_first_step_s']:.2f} |"
            )
    lines += (
        []
        if not res["mpc"]
        else [
            "",
            "## MPC decision latency (targets: park <= 2.5 ms, kiln <= 6 ms, hot stove <= 0.5 s)",
            "",
            "| plant | horizon | backend | solve median ms | solve p95 | decision median ms"
            + was
            + " | decision p95 | solves | time-limited (failures) | work-limited | episode cost CNY"
            + was
            + " |",
            "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
    )
    old_mpc = {(r["plant"], r["horizon"], r["backend"]): r for r in b.get("mpc", [])}
    for r in res["mpc"]:
        o = old_mpc.get((r["plant"], r["horizon"], r["backend"]), {})
        dm = f"{r['decision_ms_median']:.2f}" + (f" ({o['decision_ms_median']:.2f})" if o else "")
        cost = f"{r['episode_cost_cny']:,.1f}" + (f" ({o['episode_cost_cny']:,.1f})" if o else "")
        lines.append(
            f"| {r['plant']} | {r['horizon']} | {r['backend']} | {r['solve_ms_median']:.2f} | "
            f"{r['solve_ms_p95']:.2f} | {dm} | "
            f"{r['decision_ms_p95']:.2f} | {r['solves']} | {r['time_limited']} | "
            f"{r.get('work_limited', 0)} | {cost} |"
        )
    if res["oracle"]:
        lines += ["", "## Oracle per episode", "", "| plant | solves | solve time s | wall s |"]
        lines.append("|---|---:|---:|---:|")
        for plant, r in res["oracle"].items():
            lines.append(
                f"| {plant} | {r['solves']} | {r['solve_s_total']:.2f} | "
                f"{r['episode_wall_s']:.2f} |"
            )
    lines += (
        []
        if not res["ppo"]
        else [
            "",
            "## PPO training: share of `learn`'s time spent in the env (target <= 10 % batched)",
            "",
            "| plant | envs | PPO steps/s" + was + " | env share" + was + " |",
            "|---|---|---:|---:|",
        ]
    )
    for plant, runs in res["ppo"].items():
        old_runs = {(r["n_envs"], r["native"]): r for r in b.get("ppo", {}).get(plant, [])}
        for r in runs:
            o = old_runs.get((r["n_envs"], r["native"]))
            envs = f"{r['n_envs']} {'batched' if r['native'] else 'DummyVecEnv'}"
            rate = f"{r['ppo_steps_per_s']:,.0f}" + (f" ({o['ppo_steps_per_s']:,.0f})" if o else "")
            share = f"{100 * r['env_overhead_share']:.0f} %" + (
                f" ({100 * o['env_overhead_share']:.0f} %)" if o else ""
            )
            lines.append(f"| {plant} | {envs} | {rate} | {share} |")
    lines += ["", f"Peak memory: {res['peak_rss_mb']:.0f} MB.", ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer steps and repeats")
    ap.add_argument("--out", type=Path, default=HERE)
    ap.add_argument(
        "--only",
        nargs="+",
        choices=["env", "compile", "mpc", "oracle", "ppo"],
        default=["env", "compile", "mpc", "oracle", "ppo"],
        help="sections to measure (the others are left out of the report)",
    )
    ap.add_argument(
        "--plants",
        nargs="+",
        choices=list(PLANTS),
        default=list(PLANTS),
        help="plants to measure (e.g. --only mpc --plants hot_stove --out /tmp/perf)",
    )
    ap.add_argument("--baseline", help="also measure this commit (e.g. 858c603), same run")
    ap.add_argument("--as-baseline", help=argparse.SUPPRESS)  # internal: this is the baseline
    args = ap.parse_args()
    torch.set_num_threads(1)
    base = run_baseline(args.baseline, args) if args.baseline else None
    n_steps, repeats, ppo_steps = (2_000, 1, 2_048) if args.quick else (10_000, 3, 8_192)
    res: dict[str, Any] = {
        "machine": f"Python {platform.python_version()}, {platform.machine()}, "
        f"ecocontrol {ecocontrol.__version__}",
        "env": {},
        "mpc": [],
        "oracle": {},
        "ppo": {},
        "compile": {},
        "revision": args.as_baseline or _revision(),
        "ecocontrol_file": ecocontrol.__file__,
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
    for plant, (env_id, _) in plants.items() if "compile" in args.only else ():
        print(f"compile time: {plant}", flush=True)
        res["compile"][plant] = compile_time(env_id)
    cases = [c for c in MPC_CASES if c[0] in plants]
    backends = ("direct",) if args.as_baseline else ("appsi", "direct")
    for plant, label, kwargs, env_kwargs in cases if "mpc" in args.only else ():
        for backend in backends:
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
    if base is not None:
        (args.out / "results_baseline.json").write_text(json.dumps(base, indent=2))
    if not args.as_baseline:
        (args.out / "report.md").write_text(report_md(res, base))
        print(report_md(res, base))


def _revision() -> str:
    """This tree's commit (with ``+`` when it has uncommitted changes)."""
    root = HERE.parent.parent
    rev = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return rev + ("+" if dirty else "")


if __name__ == "__main__":
    main()
