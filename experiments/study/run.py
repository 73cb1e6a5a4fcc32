"""The reference study v2: agents that learn against the rule, the MPCs and the oracle.

Stages (each resumable; re-running the command skips what is complete):

1. ``train``: every recipe of :data:`RECIPES` on its plant over ``--seeds`` seeds (the plain
   PPO kept for contrast on one seed), two runs at a time, each an ordinary
   ``ecocontrol-train`` command (printed). The agents act through the interfaces of
   :mod:`ecocontrol.interfaces` (residual, supervisory, the hot stove's masked decisions),
   with the rule as a reward baseline; validation on every validation window;
2. ``benchmark``: every agent and the baselines on each plant's test windows. The baseline rows
   of the committed benchmarks (``experiments/results/<plant>_benchmark.csv``) are reused when
   their config hash still matches, so the hour of hot-stove oracle solves is not repeated;
3. ``sweep`` (not by default): the carbon-price sweep on the kiln and the hot stove;
4. ``summary``: ``experiments/results/study/``: the headline table (seeds pooled per agent),
   paired comparisons, learning curves, timings and a plot;
5. ``export`` (not by default): every run's best model into ``experiments/agents/<plant>/``,
   and each plant's best by validation reward into ``experiments/agents/index.json`` (what
   ``controller=pretrained`` loads).

Usage::

    python experiments/study/run.py                        # everything (~4 h on 2 cores)
    python experiments/study/run.py --agents supervisory_ppo --plants cement_kiln
    python experiments/study/run.py --stages benchmark,summary
    python experiments/study/run.py --quick --out /tmp/study   # a smoke run

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

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "experiments" / "results"
PLANTS = ("park", "hot_stove", "cement_kiln")


@dataclass(frozen=True)
class Recipe:
    """One agent of the study: how it is trained (an ``ecocontrol-train`` command).

    Attributes:
        agent: the SB3 algorithm config (``configs/agent``).
        steps: env steps (agent decisions) per run.
        overrides: further ``ecocontrol-train`` overrides (interface, baseline, shaping...).
        eval_every: steps between validations (on every validation window).
        contrast: a plain agent kept for contrast: a smaller budget and one seed by default.
    """

    agent: str
    steps: int
    overrides: tuple[str, ...] = ()
    eval_every: int = 25_000
    contrast: bool = False


#: The agents of study v2, per plant: label -> recipe. Budgets are sized for at most about 25
#: min of one core per run on this machine class (supervisory kiln about 60-120 decisions/s,
#: hot-stove decisions about 55/s, park residual about 130/s, each with its rule baseline).
#: The hot stove validates on 40 of its 219 validation windows (all 219 would cost about as
#: much as the training); the other plants on all of theirs.
RECIPES: dict[str, dict[str, Recipe]] = {
    "park": {
        "residual_ppo": Recipe(
            "ppo",
            100_000,
            (
                "interface={name: residual, scale: 0.3}",
                "reward_baseline=rule",
                "+agent.policy_kwargs.log_std_init=-1.5",
            ),
            10_000,
        ),
        # Residual on the noisy-forecast MPC: it runs the MPC at every step (its label says so);
        # what RL adds to the MPC, not what it achieves without it.
        "residual_mpc_ppo": Recipe(
            "ppo",
            60_000,
            (
                "interface={name: residual, baseline: mpc, scale: 0.2}",
                "reward_baseline=rule",
                "+agent.policy_kwargs.log_std_init=-1.5",
            ),
            10_000,
        ),
        "ppo": Recipe("ppo", 100_000, ("vec_env=native",), 10_000, contrast=True),
    },
    "hot_stove": {
        "decision_mppo": Recipe(
            "maskable_ppo",
            50_000,
            (
                "interface={name: decision}",
                "shaping=true",
                "reward_baseline=rule",
                "eval_episodes=40",
            ),
            12_500,
        ),
        "residual_ppo": Recipe(
            "ppo",
            100_000,
            (
                "interface={name: residual, scale: 0.3}",
                "reward_baseline=rule",
                "+agent.policy_kwargs.log_std_init=-1.5",
                "eval_episodes=40",
            ),
            20_000,
        ),
        "ppo": Recipe(
            "ppo", 100_000, ("vec_env=native", "eval_episodes=40"), 25_000, contrast=True
        ),
    },
    "cement_kiln": {
        "supervisory_ppo": Recipe(
            "ppo",
            100_000,
            (
                "interface={name: supervisory}",
                "reward_baseline=rule",
                "+agent.policy_kwargs.log_std_init=-1.0",
            ),
            25_000,
        ),
        "ppo": Recipe("ppo", 100_000, ("vec_env=native",), 25_000, contrast=True),
    },
}
BASELINES = {
    "park": ["oracle", "mpc_perfect", "mpc", "rule"],
    # the hot stove's oracle and perfect-forecast MPC (MILPs, minutes a window) stay on the 3
    # windows of its committed benchmark: not in the study's paired comparisons
    "hot_stove": ["mpc", "rule"],
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


def train_jobs(
    out: Path, plants: list[str], seeds: int, quick: bool, labels: list[str] | None = None
) -> list[Job]:
    """One ``ecocontrol-train`` job per (plant, recipe, seed); contrast agents get one seed."""
    jobs = []
    for plant in plants:
        for label, r in RECIPES[plant].items():
            if labels is not None and label not in labels:
                continue
            for seed in range(1 if r.contrast and labels is None else seeds):
                run = out / "train" / f"{plant}_{label}_s{seed}"
                args = [
                    "-m", "ecocontrol.cli", "train", "experiment=study_train", f"env={plant}",
                    f"agent={r.agent}", f"seed={seed}",
                    f"total_timesteps={2_000 if quick else r.steps}",
                    f"eval_every={1_000 if quick else r.eval_every}", f"hydra.run.dir={run}",
                    *r.overrides,
                ]  # fmt: skip
                if quick:
                    args.append("eval_episodes=1")
                if (run / ".hydra").exists():
                    args.append("resume=true")
                jobs.append(Job(f"{plant}_{label}_s{seed}", "train", args, run / "model.zip"))
    return jobs


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
    """Start the plant's benchmark table from the committed one's rows of the study's
    baselines (resume reuses them; the study runs no other baseline)."""
    table = out / "benchmark" / plant / f"benchmark_{plant}.csv"
    committed = RESULTS / f"{plant}_benchmark.csv"
    if not table.exists() and committed.exists():
        table.parent.mkdir(parents=True, exist_ok=True)
        rows = pd.read_csv(committed)
        rows[rows["controller"].isin(BASELINES[plant])].to_csv(table, index=False)


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
    print("\n".join(text))
    print(f"[study] summary in {dest}")


AGENTS_DIR = ROOT / "experiments" / "agents"
#: What a pretrained agent's folder keeps of its run (model and statistics: the best model).
_KEEP = {
    "best/best_model.zip": "model.zip",
    "best/vecnormalize.pkl": "vecnormalize.pkl",
    "config.yaml": "config.yaml",
    "train_summary.json": "train_summary.json",
}


def export_agents(out: Path, plants: list[str], dest: Path = AGENTS_DIR) -> dict[str, dict]:
    """Copy each plant's best agent into ``dest/<plant>/<label>/`` and list it in index.json.

    Best: the highest best-validation reward (every validation window, raw cost) among the
    non-contrast recipes' runs; test results play no part in the choice. Every complete run of
    those recipes is exported, so ``pretrained:<label>`` reproduces each seed's rows.
    """
    index_path = dest / "index.json"
    index = json.loads(index_path.read_text()) if index_path.exists() else {}
    for plant in plants:
        best: tuple[float, str] | None = None
        for label, recipe in RECIPES[plant].items():
            if recipe.contrast:
                continue
            for run in sorted((out / "train").glob(f"{plant}_{label}_s*")):
                evals = run / "eval" / "evaluations.npz"
                if not ((run / "model.zip").exists() and evals.exists()):
                    continue
                folder = dest / plant / run.name.removeprefix(plant + "_")
                folder.mkdir(parents=True, exist_ok=True)
                for src, name in _KEEP.items():
                    if (run / src).exists():
                        shutil.copyfile(run / src, folder / name)
                score = float(np.load(evals)["results"].mean(axis=1).max())
                if best is None or score > best[0]:
                    best = (score, folder.name)
        if best is not None:
            index[plant] = {"label": best[1], "best_validation_reward": round(best[0], 3)}
            print(f"[study] pretrained {plant}: {best[1]} (validation reward {best[0]:.1f})")
    dest.mkdir(parents=True, exist_ok=True)
    index_path.write_text(json.dumps(index, indent=2) + "\n")
    return index


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--out", type=Path, default=ROOT / "outputs" / "study")
    p.add_argument("--stages", default="train,benchmark,summary")
    p.add_argument(
        "--agents",
        default=None,
        help="comma-separated recipe labels to train (default: all; contrast agents 1 seed)",
    )
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
    bad = [s for s in stages if s not in ("train", "benchmark", "sweep", "summary", "export")]
    bad += [x for x in plants if x not in PLANTS]
    if bad or a.seeds < 1 or a.jobs < 1:
        allowed = f"stages train,benchmark,sweep,summary,export; plants {','.join(PLANTS)}; >= 1"
        p.error(f"bad --stages/--plants/--seeds/--jobs: {bad or [a.seeds, a.jobs]}; {allowed}")
    a.out.mkdir(parents=True, exist_ok=True)
    dest = a.dest or (a.out / "results" if a.quick else RESULTS / "study")
    labels = a.agents.split(",") if a.agents else None
    known = {label for plant in plants for label in RECIPES[plant]}
    if labels and set(labels) - known:
        p.error(f"--agents {sorted(set(labels) - known)} unknown; allowed: {sorted(known)}")
    jobs: list[Job] = []
    if "train" in stages:
        jobs += train_jobs(a.out, plants, a.seeds, a.quick, labels)
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
    if "export" in stages:
        export_agents(a.out, plants)
    if "summary" in stages:
        write_summary(a.out, plants, dest)
    print(f"[study] stages {a.stages} took {(time.perf_counter() - t0) / 60:.1f} min")


if __name__ == "__main__":
    main()
