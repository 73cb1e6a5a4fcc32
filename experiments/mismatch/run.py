"""The model-mismatch study (issue 22): every plant drifts away from the MPC's model.

Stages (each resumable: a rerun skips finished training runs and benchmark rows):

1. ``train``: each plant's pretrained agent (``experiments/agents/index.json``) fine-tuned
   from its own weights and statistics (``init_from``) with its study recipe (interface,
   reward baseline, agent settings), twice over: under domain randomisation over the drift
   (``dr``: ``env.drift=1 env.drift_randomise=true``, every episode draws a severity of 0,
   0.25, ..., 1 for all the plant's mechanisms) and, as the control with the same budget, on
   the nominal plant (``ft``); :data:`SEEDS` seeds each. One ordinary ``ecocontrol-train``
   command per run (printed);
2. ``export``: each fine-tuned run's best model into
   ``experiments/agents/<plant>/<label>_<dr|ft>_s<seed>/`` (``pretrained:<that>`` loads it);
3. ``sweep``: per plant, one Hydra multirun of ``ecocontrol-benchmark experiment=mismatch``
   over ``env.drift``: rule, MPC (nominal model), MPC re-identified (``true_model=True``),
   oracle (knows the true plant), the pretrained agent and its fine-tunes, on the same test
   windows and seeds at every severity;
4. ``mechanisms``: per plant, each drift mechanism alone at severity 1 (rule, MPC,
   re-identified MPC, oracle): which mechanism the nominal model misses most;
5. ``summary``: ``experiments/results/mismatch/``: the sweep tables, each controller's cost
   paired per window against the oracle and the rule at every severity (bootstrap intervals),
   per mechanism what re-identifying the MPC's model recovers, ``mismatch.png`` and
   ``mismatch.md``.

Usage::

    python experiments/mismatch/run.py                  # everything (~1 h on 2 cores)
    python experiments/mismatch/run.py --stages sweep,summary --plants park
    python experiments/mismatch/run.py --quick --out /tmp/mismatch   # a smoke run
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "experiments" / "results" / "mismatch"
AGENTS = ROOT / "experiments" / "agents"
PLANTS = ("park", "hot_stove", "cement_kiln")

_spec = importlib.util.spec_from_file_location("study_run", ROOT / "experiments/study/run.py")
assert _spec is not None and _spec.loader is not None
study = importlib.util.module_from_spec(_spec)
sys.modules["study_run"] = study
_spec.loader.exec_module(study)


@dataclass(frozen=True)
class Plan:
    """One plant's part of the study.

    Attributes:
        steps: fine-tuning env steps (agent decisions) under randomised drift.
        eval_every: steps between validations (validation envs draw their drift too).
        severities: the swept ``env.drift`` values.
        windows: test windows per severity (the first of the split).
        env: further env overrides of the sweep (the hot stove's 2-h windows: its MILP MPC,
            its re-identified twin and its oracle cost minutes per 8-h window).
    """

    steps: int
    eval_every: int
    severities: tuple[float, ...]
    windows: int
    env: tuple[str, ...] = ()


PLANS: dict[str, Plan] = {
    "park": Plan(100_000, 25_000, (0.0, 0.25, 0.5, 0.75, 1.0), 11),
    "hot_stove": Plan(150_000, 50_000, (0.0, 0.5, 1.0), 8, ("env.episode_h=2",)),
    "cement_kiln": Plan(150_000, 50_000, (0.0, 0.5, 1.0), 8),
}
#: Fine-tuning variants: ``dr`` (randomised drift) and ``ft`` (nominal plant, the control).
VARIANTS: dict[str, tuple[str, ...]] = {
    "dr": ("env.drift=1.0", "env.drift_randomise=true"),
    "ft": (),
}
SEEDS = (0, 1)
#: The sweep's controller families, in the tables' order (``dr``/``ft``: the fine-tunes).
CONTROLLERS = ("oracle", "mpc_identified", "mpc", "pretrained", "dr", "ft", "rule")


def pretrained_label(plant: str) -> str:
    """The plant's pretrained agent (the reference study's best by validation reward)."""
    index = json.loads((AGENTS / "index.json").read_text())
    return str(index[plant]["label"])


def _recipe(plant: str, label: str) -> object:
    return study.RECIPES[plant][study.family(label)]


def run_names(plant: str) -> list[str]:
    """The fine-tuned runs of ``plant``: ``<label>_<variant>_s<seed>``."""
    label = pretrained_label(plant)
    return [f"{label}_{v}_s{seed}" for v in VARIANTS for seed in SEEDS]


def train_jobs(out: Path, plants: list[str], quick: bool) -> list[object]:
    jobs = []
    for plant in plants:
        label, plan = pretrained_label(plant), PLANS[plant]
        r = _recipe(plant, label)
        for name in run_names(plant):
            variant, seed = name.rsplit("_", 2)[-2], int(name.rsplit("_s", 1)[1])
            run = out / "train" / f"{plant}_{name}"
            args = [
                "-m", "ecocontrol.cli", "train", "experiment=study_train", f"env={plant}",
                f"agent={r.agent}", f"seed={seed}", *VARIANTS[variant],
                f"init_from={AGENTS / plant / label}",
                f"total_timesteps={2_000 if quick else plan.steps}",
                f"eval_every={1_000 if quick else plan.eval_every}", f"hydra.run.dir={run}",
                *r.overrides,
            ]  # fmt: skip
            if quick:
                args.append("eval_episodes=1")
            if (run / ".hydra").exists():
                args.append("resume=true")
            jobs.append(study.Job(f"{plant}_{name}", "train", args, run / "model.zip"))
    return jobs


def export(out: Path, plants: list[str]) -> None:
    """Copy each fine-tuned run's best model to ``experiments/agents/<plant>/<run name>/``."""
    for plant in plants:
        for name in run_names(plant):
            run = out / "train" / f"{plant}_{name}"
            if not (run / "model.zip").exists():
                print(f"[mismatch] {plant}: no fine-tuned run in {run}, not exported")
                continue
            folder = AGENTS / plant / name
            folder.mkdir(parents=True, exist_ok=True)
            for src, dst in study._KEEP.items():
                if (run / src).exists():
                    shutil.copyfile(run / src, folder / dst)
            # the saved config as it ran: init_from relative to the repository, and the single
            # envs that interfaces and randomised drift step (config.train_config's switch)
            cfg = folder / "config.yaml"
            text = cfg.read_text().replace(f"init_from: {ROOT}/", "init_from: ")
            cfg.write_text(text.replace("vec_env: native\n", "vec_env: dummy\n"))
            print(f"[mismatch] exported {folder.relative_to(ROOT)}")


def sweep_jobs(out: Path, plants: list[str], quick: bool) -> list[object]:
    jobs = []
    for plant in plants:
        plan, label = PLANS[plant], pretrained_label(plant)
        sdir = out / "sweep" / plant
        severities = ",".join(
            f"{s:g}" for s in (plan.severities[::2] if quick else plan.severities)
        )
        controllers = [c for c in CONTROLLERS if c not in VARIANTS]
        extra: list[str] = []
        for name in run_names(plant):
            if (AGENTS / plant / name / "model.zip").exists():
                short = name.removeprefix(label + "_")  # dr_s0: family dr, seed 0
                controllers.insert(-1, short)
                extra += [
                    f"+controller@controller_defs.{short}=pretrained",
                    f"controller_defs.{short}.path=pretrained:{name}",
                ]
        args = [
            "-m", "ecocontrol.cli", "benchmark", "-m", "experiment=mismatch", f"env={plant}",
            f"controllers=[{','.join(controllers)}]", f"windows={1 if quick else plan.windows}",
            f"env.drift={severities}", f"hydra.sweep.dir={sdir}", *plan.env, *extra,
        ]  # fmt: skip
        jobs.append(study.Job(f"sweep_{plant}", "sweep", args, sdir / "never"))
    return jobs


#: Baselines of the per-mechanism stage (no agents: the question is the model's).
MECHANISM_CONTROLLERS = ("oracle", "mpc_identified", "mpc", "rule")


def mechanism_jobs(out: Path, plants: list[str], quick: bool) -> list[object]:
    from ecocontrol.envs import HotStoveVectorEnv, ParkVectorEnv
    from ecocontrol.envs.cement_kiln import CementKilnVectorEnv

    sims = {
        "park": ParkVectorEnv,
        "hot_stove": HotStoveVectorEnv,
        "cement_kiln": CementKilnVectorEnv,
    }
    jobs = []
    for plant in plants:
        plan = PLANS[plant]
        mechanisms = [d.name for d in sims[plant].drifts]
        sdir = out / "mechanisms" / plant
        args = [
            "-m", "ecocontrol.cli", "benchmark", "-m", "experiment=mismatch", f"env={plant}",
            f"controllers=[{','.join(MECHANISM_CONTROLLERS)}]",
            f"windows={1 if quick else plan.windows}",
            "env.drift=" + ",".join("{" + m + ":1}" for m in mechanisms),
            f"hydra.sweep.dir={sdir}", *plan.env,
        ]  # fmt: skip
        jobs.append(study.Job(f"mechanisms_{plant}", "mechanisms", args, sdir / "never"))
    return jobs


def paired_against(tables: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Each controller's saving against ``reference`` per severity, paired per window.

    Fine-tunes are pooled over their seeds (``dr_s0``, ``dr_s1`` -> family ``dr``; a row per
    seed too, ``level`` "run"): :func:`ecocontrol.comparison.aggregate_savings`'s mean over
    (seed, window) and its stratified bootstrap interval, as ``saving_pct`` and
    ``saving_ci_low_pct`` / ``saving_ci_high_pct``.
    """
    rows = []
    for (plant, severity), t in tables.groupby(["plant", "drift"], sort=True):
        if reference not in set(t["controller"]):
            continue
        p = aggregate(t, reference)
        p.insert(0, "drift", severity)
        p.insert(0, "plant", plant)
        rows.append(p)
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def benchmark_rows(out: Path, plants: list[str], stage: str = "sweep") -> pd.DataFrame:
    """Every (plant, drift, controller, window) row of a stage's sweeps.

    ``drift``: the severity of every mechanism (``sweep``), or 1 with ``mechanism`` naming
    the one drifted (``mechanisms``).
    """
    from omegaconf import OmegaConf

    frames = []
    for plant in plants:
        for table in sorted((out / stage / plant).glob(f"*/benchmark_{plant}.csv")):
            drift = OmegaConf.to_container(OmegaConf.load(table.parent / "config.yaml").env)
            assert isinstance(drift, dict)
            value = drift["drift"]
            df = pd.read_csv(table, dtype={"error": str}).fillna({"error": ""})
            if isinstance(value, dict):
                (mechanism, severity), *_ = value.items()
            else:
                mechanism, severity = "all", value
            df.insert(0, "mechanism", mechanism)
            df.insert(0, "drift", float(severity))
            df.insert(0, "plant", plant)
            frames.append(df)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def mechanism_table(out: Path, plants: list[str], dest: Path) -> str:
    """Per mechanism at severity 1: each baseline's cost over the oracle, and what the
    re-identified MPC saves against the nominal one (the price of the model's mismatch)."""
    rows = benchmark_rows(out, plants, "mechanisms")
    if rows.empty:
        return ""
    rows.to_csv(dest / "mechanism_rows.csv", index=False)
    ok = rows[rows["error"] == ""]
    parts = []
    for (plant, mech), t in ok.groupby(["plant", "mechanism"], sort=False):
        for ref in ("oracle", "mpc"):
            p = aggregate(t, ref)
            p.insert(0, "mechanism", mech)
            p.insert(0, "plant", plant)
            parts.append(p)
    table = pd.concat(parts, ignore_index=True)
    table.to_csv(dest / "paired_mechanisms.csv", index=False)
    lines = [
        "## One mechanism at a time (severity 1): cost over the oracle [%], and what "
        "re-identifying the MPC's model saves against the nominal MPC [%]",
        "",
        "| plant | mechanism | rule | MPC | MPC re-identified | re-identification saves |",
        "|---|---|---:|---:|---:|---:|",
    ]

    def cell(r: pd.Series, sign: float) -> str:
        lo, hi = sorted((sign * r["saving_ci_low_pct"], sign * r["saving_ci_high_pct"]))
        return f"{sign * r['saving_pct']:.2f} [{lo:.2f}, {hi:.2f}]"

    for (plant, mech), g in table.groupby(["plant", "mechanism"], sort=False):
        o = g[g["reference"] == "oracle"].set_index("controller")
        m = g[g["reference"] == "mpc"].set_index("controller")
        lines.append(
            f"| {plant} | {mech} | {cell(o.loc['rule'], -1)} | {cell(o.loc['mpc'], -1)} | "
            f"{cell(o.loc['mpc_identified'], -1)} | {cell(m.loc['mpc_identified'], 1)} |"
        )
    return "\n".join(lines) + "\n"


def aggregate(t: pd.DataFrame, reference: str) -> pd.DataFrame:
    """:func:`ecocontrol.comparison.aggregate_savings` with the columns renamed."""
    from ecocontrol.comparison import aggregate_savings

    p = aggregate_savings(t, reference=reference, n_boot=5_000, seed=0, per_run=True)
    return p.rename(
        columns={
            "saving_mean_pct": "saving_pct",
            "saving_mean_ci_low_pct": "saving_ci_low_pct",
            "saving_mean_ci_high_pct": "saving_ci_high_pct",
        }
    )


def summary(out: Path, plants: list[str], dest: Path = RESULTS) -> pd.DataFrame:
    """Write the committed tables, the plot and the Markdown summary; return the means."""
    rows = benchmark_rows(out, plants)
    if rows.empty:
        print("[mismatch] no sweep results yet")
        return rows
    dest.mkdir(parents=True, exist_ok=True)
    keep = [
        c
        for c in ("plant", "drift", "controller", "window", "seed", "error", "cost_total")
        if c in rows
    ]
    keep += [c for c in rows.columns if c.startswith(("cost_", "co2", "viol_")) and c not in keep]
    keep += [
        c
        for c in ("n_steps", "solver_failures", "state_access", "exogenous_access", "model_access")
        if c in rows
    ]
    rows[keep].to_csv(dest / "mismatch_rows.csv", index=False)
    ok = rows[rows["error"] == ""]
    means = (
        ok.groupby(["plant", "drift", "controller"], sort=True)["cost_total"]
        .agg(["mean", "count"])
        .rename(columns={"mean": "cost_mean_cny", "count": "episodes"})
        .reset_index()
    )
    vs_oracle = paired_against(ok, "oracle")
    vs_rule = paired_against(ok, "rule")
    vs_mpc = paired_against(ok, "mpc")
    for name, p in (("vs_oracle", vs_oracle), ("vs_rule", vs_rule), ("vs_mpc", vs_mpc)):
        if not p.empty:
            p.to_csv(dest / f"paired_{name}.csv", index=False)
    means.to_csv(dest / "mismatch_means.csv", index=False)
    plot(means, vs_oracle, dest / "mismatch.png")
    text = markdown(means, vs_oracle, vs_rule, vs_mpc) + "\n" + mechanism_table(out, plants, dest)
    (dest / "mismatch.md").write_text(text)
    print((dest / "mismatch.md").read_text())
    return means


def plot(means: pd.DataFrame, vs_oracle: pd.DataFrame, path: Path) -> None:
    """Per plant: each controller's cost above the oracle's (paired, %) against severity."""
    from matplotlib.figure import Figure

    plants = [p for p in PLANTS if p in set(means["plant"])]
    fig = Figure(figsize=(5.5 * len(plants), 4.5), constrained_layout=True)
    axes = np.atleast_1d(fig.subplots(1, len(plants)))
    colour = {c: f"C{i}" for i, c in enumerate(CONTROLLERS)}
    for ax, plant in zip(axes, plants, strict=True):
        p = vs_oracle[(vs_oracle["plant"] == plant) & (vs_oracle["level"] == "family")]
        for label in CONTROLLERS:
            g = p[p["controller"] == label].sort_values("drift") if len(p) else p
            if g.empty:
                continue
            # saving_pct against the oracle is minus the extra cost
            y = -g["saving_pct"].to_numpy()
            lo, hi = -g["saving_ci_high_pct"].to_numpy(), -g["saving_ci_low_pct"].to_numpy()
            ax.plot(g["drift"], y, marker="o", label=label, color=colour[label])
            ax.fill_between(g["drift"], lo, hi, color=colour[label], alpha=0.15)
        ax.axhline(0.0, color="k", lw=0.8)
        if len(p) and (-p["saving_pct"]).max() > 20.0:  # a collapse: keep the rest readable
            ax.set_yscale("symlog", linthresh=2.0)
        bound = "bound" if plant == "park" else "reference"
        ax.set_title(f"{plant}: cost above the oracle ({bound})")
        ax.set_xlabel("drift severity (all mechanisms)")
        ax.set_ylabel("extra cost over the oracle [%], paired per window, 95 % CI")
        ax.legend(fontsize=8)
    fig.savefig(path, dpi=110)


def markdown(
    means: pd.DataFrame, vs_oracle: pd.DataFrame, vs_rule: pd.DataFrame, vs_mpc: pd.DataFrame
) -> str:
    """The tables of ``mismatch.md``: extra cost over the oracle, savings against the rule and
    against the nominal MPC."""
    lines = ["# Model-mismatch sweep (generated by experiments/mismatch/run.py)", ""]
    for p, sign, what in (
        (vs_oracle, -1.0, "extra cost over the oracle [%]"),
        (vs_rule, 1.0, "saving against the rule [%]"),
        (vs_mpc, 1.0, "saving against the nominal MPC [%]"),
    ):
        if p.empty:
            continue
        lo, hi = (
            ("saving_ci_high_pct", "saving_ci_low_pct")
            if sign < 0
            else ("saving_ci_low_pct", "saving_ci_high_pct")
        )
        p = p.assign(
            value=[
                f"{sign * v:.2f} [{sign * a:.2f}, {sign * b:.2f}]"
                for v, a, b in zip(p["saving_pct"], p[lo], p[hi], strict=True)
            ]
        )
        for plant, g in p[p["level"] == "family"].groupby("plant", sort=False):
            wide = g.pivot(index="controller", columns="drift", values="value")
            wide = wide.reindex([c for c in CONTROLLERS if c in wide.index])
            wide.columns = [f"drift {c:g}" for c in wide.columns]
            lines += [f"## {plant}: {what}, paired per window, 95 % CI", ""]
            lines += [wide.to_markdown(), ""]
    lines += ["## Mean cost per episode [CNY]", ""]
    wide = means.pivot_table(index=["plant", "controller"], columns="drift", values="cost_mean_cny")
    wide.columns = [f"drift {c:g}" for c in wide.columns]
    lines += [wide.to_markdown(floatfmt=".0f"), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--out", type=Path, default=ROOT / "outputs" / "mismatch")
    p.add_argument("--stages", default="train,export,sweep,mechanisms,summary")
    p.add_argument("--plants", default=",".join(PLANTS))
    p.add_argument("--jobs", type=int, default=2, help="commands at a time")
    p.add_argument("--quick", action="store_true", help="tiny budgets (a smoke run)")
    a = p.parse_args(argv)
    plants = [x for x in a.plants.split(",") if x]
    unknown = sorted(set(plants) - set(PLANTS))
    if unknown:
        p.error(f"--plants {unknown}; allowed: {list(PLANTS)}")
    stages = a.stages.split(",")
    a.out.mkdir(parents=True, exist_ok=True)
    if "train" in stages:
        study.run_jobs(train_jobs(a.out, plants, a.quick), a.out, a.jobs)
    if "export" in stages and not a.quick:
        export(a.out, plants)
    if "sweep" in stages:
        study.run_jobs(sweep_jobs(a.out, plants, a.quick), a.out, a.jobs)
    if "mechanisms" in stages:
        study.run_jobs(mechanism_jobs(a.out, plants, a.quick), a.out, a.jobs)
    if "summary" in stages:
        summary(a.out, plants, a.out / "results" if a.quick else RESULTS)


if __name__ == "__main__":
    main()
