"""The reference study: trained agents against the rule, the MPCs and the oracle, per plant.

Stages (each resumable; re-running the command skips what is complete):

1. ``tune``: an Optuna search (``hydra/sweeper=ppo_optuna``) over PPO on the park, whose best
   parameters train the ``ppo_tuned`` runs;
2. ``train``: PPO and SAC on every plant over ``--seeds`` seeds, budgets in :data:`BUDGET`
   (about 7 min of one core per run), two runs at a time;
3. ``benchmark``: every agent and the baselines on each plant's test windows. The baseline rows
   of the committed benchmarks (``experiments/results/<plant>_benchmark.csv``) are reused when
   their config hash still matches, so the hour of hot-stove oracle solves is not repeated;
4. ``sweep``: the carbon-price sweep on the kiln and the hot stove (the park's is committed);
5. ``summary``: ``experiments/results/study/``: the headline table (seeds pooled per agent),
   learning curves, timings and a plot.

Usage::

    python experiments/study/run.py                        # everything (~2 h on 2 cores)
    python experiments/study/run.py --stages benchmark,summary
    python experiments/study/run.py --quick --out /tmp/study   # a 3-min smoke run

Every training run is an ordinary ``ecocontrol-train`` command; the driver prints each one.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "experiments" / "results"
PLANTS = ("park", "hot_stove", "cement_kiln")
AGENTS = ("ppo", "sac")
#: Env steps per run (plant, agent), sized for about 7 min of one core each (measured:
#: PPO ~1,300 / 550 / 550 steps/s on park / hot stove / kiln, SAC ~100 steps/s).
BUDGET = {
    ("park", "ppo"): 500_000,
    ("hot_stove", "ppo"): 200_000,
    ("cement_kiln", "ppo"): 200_000,
    ("park", "sac"): 40_000,
    ("hot_stove", "sac"): 40_000,
    ("cement_kiln", "sac"): 40_000,
}
EVAL_EVERY = {"ppo": 25_000, "sac": 10_000}
BASELINES = {
    "park": ["oracle", "mpc_perfect", "mpc", "rule"],
    "hot_stove": ["oracle", "mpc_perfect", "mpc", "rule"],
    "cement_kiln": ["oracle", "mpc_perfect", "mpc", "mpc_af_rule", "rule"],
}
#: Test windows per plant, as in the committed baseline benchmarks (the park has 11; the hot
#: stove's 8-h split has 219 and the kiln's 24-h split 73, too many for the oracle's MILPs).
WINDOWS = {"park": None, "hot_stove": 10, "cement_kiln": 10}
TUNE_TRIALS = 8
TUNE_STEPS = 100_000
#: Carbon sweeps run here (the park's is in results/carbon_sweep): controllers and windows.
SWEEPS = {"cement_kiln": (["rule", "mpc", "oracle"], 3), "hot_stove": (["rule", "mpc"], 2)}


@dataclass
class Job:
    """One command of the study, with its output directory and wall time."""

    name: str
    stage: str
    args: list[str]
    done: Path  # exists when the job is complete
    after: list[str] = field(default_factory=list)  # names of jobs that must finish first
    wall_s: float = 0.0
    rc: int | None = None


def _python(*args: str) -> list[str]:
    return [sys.executable, *args]


def train_jobs(out: Path, plants: list[str], seeds: int, quick: bool) -> list[Job]:
    jobs = []
    for plant in plants:
        for agent in AGENTS:
            steps = 2_000 if quick else BUDGET[(plant, agent)]
            every = 1_000 if quick else EVAL_EVERY[agent]
            for seed in range(seeds):
                run = out / "train" / f"{plant}_{agent}_s{seed}"
                args = [
                    "-m", "ecocontrol.cli", "train", "experiment=study_train", f"env={plant}",
                    f"agent={agent}", f"seed={seed}", f"total_timesteps={steps}",
                    f"eval_every={every}", f"hydra.run.dir={run}",
                ]  # fmt: skip
                if (run / ".hydra").exists():
                    args.append("resume=true")
                jobs.append(Job(f"{plant}_{agent}_s{seed}", "train", args, run / "model.zip"))
    return jobs


def tune_jobs(out: Path, seeds: int, quick: bool) -> list[Job]:
    sweep = out / "tune" / "park_ppo"
    trials = 2 if quick else TUNE_TRIALS
    args = [
        "-m", "ecocontrol.cli", "train", "-m", "hydra/sweeper=ppo_optuna",
        "experiment=study_train",
        "env=park", "agent=ppo", f"total_timesteps={1_000 if quick else TUNE_STEPS}",
        f"eval_every={500 if quick else 20_000}", "checkpoint_every=0",
        f"hydra.sweeper.n_trials={trials}", "hydra.sweeper.study_name=study_park_ppo",
        f"hydra.sweeper.storage=sqlite:///{out / 'tune' / 'optuna.db'}",
        "normalize_reward=choice(true,false)", f"hydra.sweep.dir={sweep}",
    ]  # fmt: skip
    (out / "tune").mkdir(parents=True, exist_ok=True)
    jobs = [Job("tune_park_ppo", "tune", args, sweep / "optimization_results.yaml")]
    for seed in range(seeds):
        run = out / "train" / f"park_ppo_tuned_s{seed}"
        steps = 2_000 if quick else BUDGET[("park", "ppo")]
        args = [
            "-m", "ecocontrol.cli", "train", "experiment=study_train", "env=park", "agent=ppo",
            f"seed={seed}", f"total_timesteps={steps}", f"hydra.run.dir={run}",
            f"eval_every={1_000 if quick else EVAL_EVERY['ppo']}",
        ]  # fmt: skip
        jobs.append(
            Job(f"park_ppo_tuned_s{seed}", "train", args, run / "model.zip", ["tune_park_ppo"])
        )
    return jobs


def _tuned_overrides(out: Path) -> list[str]:
    """The Optuna study's best parameters as command-line overrides."""
    best = yaml.safe_load((out / "tune" / "park_ppo" / "optimization_results.yaml").read_text())
    return [f"{k}={v}" for k, v in best["best_params"].items()]


def agent_labels(out: Path, plant: str) -> dict[str, Path]:
    """Benchmark label -> training run directory, for the complete runs of ``plant``."""
    runs = sorted((out / "train").glob(f"{plant}_*_s*"))
    return {r.name.removeprefix(plant + "_"): r for r in runs if (r / "model.zip").exists()}


def benchmark_jobs(out: Path, plants: list[str], windows: int | None) -> list[Job]:
    jobs = []
    for plant in plants:
        bdir = out / "benchmark" / plant
        agents = agent_labels(out, plant)
        labels = BASELINES[plant][:-1] + list(agents) + ["rule"]
        args = [
            "-m", "ecocontrol.cli", "benchmark", f"env={plant}",
            f"controllers=[{','.join(labels)}]",
            f"hydra.run.dir={bdir}",
        ]  # fmt: skip
        n = windows if windows is not None else WINDOWS[plant]
        if n is not None:
            args.append(f"windows={n}")
        for label, run in agents.items():
            args += [f"+controller@controller_defs.{label}=agent"]
            args += [f"controller_defs.{label}.path={run}"]
        # always run: the benchmark's own resume skips the rows it already has
        jobs.append(Job(f"benchmark_{plant}", "benchmark", args, bdir / "never"))
    return jobs


def sweep_jobs(out: Path, quick: bool) -> list[Job]:
    jobs = []
    for plant, (controllers, windows) in SWEEPS.items():
        sdir = out / "sweep" / plant
        args = [
            "-m", "ecocontrol.cli", "benchmark", "-m", "experiment=carbon_sweep", f"env={plant}",
            f"controllers=[{','.join(controllers)}]", f"windows={1 if quick else windows}",
            f"hydra.sweep.dir={sdir}",
        ]  # fmt: skip
        jobs.append(Job(f"sweep_{plant}", "sweep", args, sdir / "sweep_summary.csv"))
    return jobs


def seed_benchmark(out: Path, plant: str) -> None:
    """Start the plant's benchmark table from the committed one (resume reuses its rows)."""
    table = out / "benchmark" / plant / f"benchmark_{plant}.csv"
    committed = RESULTS / f"{plant}_benchmark.csv"
    if not table.exists() and committed.exists():
        table.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(committed, table)


def run_jobs(jobs: list[Job], out: Path, n_jobs: int) -> None:
    """Run ``jobs`` ``n_jobs`` at a time in dependency order; log each to ``out/logs``."""
    logs = out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    finished: dict[str, Job] = {}
    todo = [j for j in jobs if not j.done.exists()]
    for j in jobs:
        if j.done.exists():
            print(f"[study] {j.name}: complete, skipped", flush=True)
            finished[j.name] = j
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}

    def one(job: Job) -> Job:
        while any(a not in finished for a in job.after):
            time.sleep(5)
        if any(finished[a].rc not in (0, None) for a in job.after):
            print(f"[study] {job.name}: skipped, {job.after} failed", flush=True)
            finished[job.name] = job
            return job
        if job.name.startswith("park_ppo_tuned"):
            job.args += _tuned_overrides(out)
        cmd = _python(*job.args)
        print(f"[study] start {job.name}: {' '.join(cmd[1:])}", flush=True)
        t0 = time.perf_counter()
        with open(logs / f"{job.name}.log", "w") as f:
            job.rc = subprocess.run(
                cmd, cwd=ROOT, env=env, stdout=f, stderr=subprocess.STDOUT
            ).returncode
        job.wall_s = time.perf_counter() - t0
        finished[job.name] = job
        state = "done" if job.rc == 0 else f"FAILED rc={job.rc} (see {logs / job.name}.log)"
        print(f"[study] {job.name}: {state} in {job.wall_s / 60:.1f} min "
              f"({len(finished)}/{len(jobs)})", flush=True)  # fmt: skip
        _record(out, job)
        return job

    with ThreadPoolExecutor(max_workers=n_jobs) as pool:
        list(pool.map(one, todo))


_LOCK = threading.Lock()


def _record(out: Path, job: Job) -> None:
    with _LOCK:
        _write_timing(out, job)


def _write_timing(out: Path, job: Job) -> None:
    path = out / "timings.json"
    timings = json.loads(path.read_text()) if path.exists() else {}
    timings[job.name] = {"stage": job.stage, "wall_s": round(job.wall_s, 1), "rc": job.rc}
    path.write_text(json.dumps(timings, indent=2))


def learning_curves(out: Path) -> pd.DataFrame:
    """Validation reward against env steps for every training run."""
    rows = []
    for run in sorted((out / "train").glob("*_s*")):
        evals = run / "eval" / "evaluations.npz"
        if not evals.exists():
            continue
        data = np.load(evals)
        for step, res in zip(data["timesteps"], data["results"], strict=True):
            rows.append({"run": run.name, "timesteps": int(step), "reward": float(np.mean(res))})
    return pd.DataFrame(rows)


def family(label: str) -> str:
    """``ppo_s1`` -> ``ppo``; baselines map to themselves."""
    head, _, tail = label.rpartition("_s")
    return head if head and tail.isdigit() else label


def summary(out: Path, plants: list[str]) -> pd.DataFrame:
    """The headline table: per plant and controller (agents pooled over seeds)."""
    frames = []
    for plant in plants:
        path = out / "benchmark" / plant / f"summary_{plant}.csv"
        if not path.exists():
            continue
        s = pd.read_csv(path)
        s["plant"] = plant
        s["family"] = s["controller"].map(family)
        frames.append(s)
    if not frames:
        return pd.DataFrame()
    s = pd.concat(frames, ignore_index=True)
    g = s.groupby(["plant", "family"], sort=False)
    table = pd.DataFrame(
        {
            "runs": g.size(),
            "cost_mean_cny": g["cost_mean_cny"].mean(),
            "cost_seed_min_cny": g["cost_mean_cny"].min(),
            "cost_seed_max_cny": g["cost_mean_cny"].max(),
            "co2_mean_t": g["co2_mean_t"].mean(),
            "gap_to_oracle_pct": g["gap_to_oracle_pct"].mean(),
            "saving_vs_rule_pct": g["saving_vs_rule_pct"].mean(),
            "best_seed_saving_vs_rule_pct": g["saving_vs_rule_pct"].max(),
            "decision_ms_median": g["decision_ms_median"].median(),
        }
    )
    return table.reset_index()


def plot(table: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plants = list(dict.fromkeys(table["plant"]))
    fig, axes = plt.subplots(1, len(plants), figsize=(4.2 * len(plants), 3.6), squeeze=False)
    for ax, plant in zip(axes[0], plants, strict=True):
        t = table[table["plant"] == plant]
        y = np.arange(len(t))
        err = np.clip(
            np.vstack(
                [
                    t["saving_vs_rule_pct"] - 100 * (1 - t["cost_seed_max_cny"] / _rule(t)),
                    100 * (1 - t["cost_seed_min_cny"] / _rule(t)) - t["saving_vs_rule_pct"],
                ]
            ),
            0.0,
            None,
        )
        ax.barh(y, t["saving_vs_rule_pct"], xerr=err, color="tab:blue", capsize=3)
        ax.set_yticks(y, t["family"])
        ax.invert_yaxis()
        ax.axvline(0, color="k", lw=0.8)
        ax.set_title(plant)
        ax.set_xlabel("saving vs rule [% of cost]")
    fig.suptitle("Reference study: mean over test windows (agents: mean and range of 3 seeds)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _rule(t: pd.DataFrame) -> float:
    return float(t.loc[t["family"] == "rule", "cost_mean_cny"].iloc[0])


def write_summary(out: Path, plants: list[str], dest: Path) -> None:
    """The summary stage: headline table, paired comparisons, copies of the tables, plot.

    ``comparison_<plant>.csv``: :func:`ecocontrol.comparison.study_comparison` (paired savings
    against the rule and the MPC per window, seeds pooled by their IQM with stratified
    bootstrap intervals, per-seed rows), rendered in ``study_summary.md`` below the headline.
    """
    from ecocontrol.comparison import comparison_markdown, study_comparison

    dest.mkdir(parents=True, exist_ok=True)
    table = summary(out, plants)
    if table.empty:
        print("[study] no benchmark summaries yet")
        return
    table.to_csv(dest / "study_summary.csv", index=False)
    text = [table.to_markdown(index=False, floatfmt=",.2f")]
    for plant in plants:
        src = out / "benchmark" / plant
        # the parquet holds the run's selection; the CSV also keeps earlier selections' rows
        found = [src / f"benchmark_{plant}.{ext}" for ext in ("parquet", "csv")]
        found = [p for p in found if p.exists()]
        if not found:
            continue
        try:
            comp = study_comparison({plant: found[0]})[plant]
        except ValueError as exc:
            print(f"[study] no comparison for {exc}")
            continue
        comp.to_csv(dest / f"comparison_{plant}.csv", index=False)
        text += [
            f"\n## {plant}: saving per window, paired [% of the reference's mean cost]\n",
            "IQM over (seed, window) savings and mean, 95 % stratified-bootstrap intervals "
            f"(rliable's); cheaper: (seed, window) pairs won. Per seed: comparison_{plant}.csv.\n",
            comparison_markdown(comp, plant),
        ]
    (dest / "study_summary.md").write_text("\n".join(text) + "\n")
    plot(table, dest / "study.png")
    for plant in plants:
        src = out / "benchmark" / plant
        for name in (f"summary_{plant}.csv", f"benchmark_{plant}.csv", f"benchmark_{plant}.png"):
            if (src / name).exists():
                shutil.copyfile(src / name, dest / name)
        for name in ("sweep_summary.csv", f"pareto_{plant}.png"):
            if (out / "sweep" / plant / name).exists():
                shutil.copyfile(out / "sweep" / plant / name, dest / f"{plant}_{name}")
    learning_curves(out).to_csv(dest / "learning_curves.csv", index=False)
    if (out / "timings.json").exists():
        shutil.copyfile(out / "timings.json", dest / "timings.json")
    tune = out / "tune" / "park_ppo" / "optimization_results.yaml"
    if tune.exists():
        shutil.copyfile(tune, dest / "tune_park_ppo.yaml")
    print("\n".join(text))
    print(f"[study] summary in {dest}")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--out", type=Path, default=ROOT / "outputs" / "study")
    p.add_argument("--stages", default="tune,train,benchmark,sweep,summary")
    p.add_argument("--plants", default=",".join(PLANTS))
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--jobs", type=int, default=2, help="runs at a time (one core each)")
    p.add_argument(
        "--windows",
        type=int,
        default=None,
        help="test windows per plant (default: park all, others 10)",
    )
    p.add_argument("--quick", action="store_true", help="tiny budgets: a smoke test")
    p.add_argument("--dest", type=Path, default=None, help="summary directory")
    a = p.parse_args(argv)
    stages = a.stages.split(",")
    plants = a.plants.split(",")
    bad = [s for s in stages if s not in ("tune", "train", "benchmark", "sweep", "summary")]
    bad += [x for x in plants if x not in PLANTS]
    if bad or a.seeds < 1 or a.jobs < 1:
        allowed = f"stages tune,train,benchmark,sweep,summary; plants {','.join(PLANTS)}; >= 1"
        p.error(f"bad --stages/--plants/--seeds/--jobs: {bad or [a.seeds, a.jobs]}; {allowed}")
    a.out.mkdir(parents=True, exist_ok=True)
    dest = a.dest or (a.out / "results" if a.quick else RESULTS / "study")
    tune = tune_jobs(a.out, a.seeds, a.quick) if "tune" in stages and "park" in plants else []
    jobs = tune[:1]  # the search first; the runs with its parameters last
    if "train" in stages:
        jobs += train_jobs(a.out, plants, a.seeds, a.quick) + tune[1:]
    t0 = time.perf_counter()
    if jobs:
        run_jobs(jobs, a.out, a.jobs)
    if "benchmark" in stages:
        for plant in plants:
            if not a.quick:
                seed_benchmark(a.out, plant)
        run_jobs(benchmark_jobs(a.out, plants, 1 if a.quick else a.windows), a.out, 1)
    if "sweep" in stages:
        run_jobs([j for j in sweep_jobs(a.out, a.quick) if j.name[6:] in plants], a.out, a.jobs)
    if "summary" in stages:
        write_summary(a.out, plants, dest)
    print(f"[study] stages {a.stages} took {(time.perf_counter() - t0) / 60:.1f} min")


if __name__ == "__main__":
    main()
