"""Net carbon of the study's controllers: plant CO2 saved against the CO2 of their own compute.

For the reference study v2 (``experiments/study/run.py``: its agent families per plant,
:data:`FAMILIES`, are its ``RECIPES``).

Stage ``measure`` (one plant, a few controllers per call, each call a few minutes on 2 cores)
runs the benchmark on the plant's test window 0 with the compute meter
(:mod:`ecocontrol.compute_carbon`) around every episode: the baselines, and each agent family
of the study through one seed's model (seed :data:`SEED`: the exported model in
``experiments/agents/<plant>/<family>_s0/``, for the plain-PPO contrast, which is not exported,
its study run in ``outputs/study/train/``). A family some of whose study runs started before
the meter (no ``compute_kwh`` in their ``train_summary.json``) also gets a short training run
with the family's recipe (``experiment=study_train``, one torch thread, as in the study), whose
measured power prices those runs:

    python experiments/net_carbon/run.py measure --plant park
    python experiments/net_carbon/run.py measure --plant hot_stove --controllers rule
    python experiments/net_carbon/run.py measure --plant hot_stove \
        --controllers mpc,mpc_perfect --agents "" --episode-h 2
    python experiments/net_carbon/run.py measure --plant cement_kiln
    python experiments/net_carbon/run.py table

Stage ``table`` writes ``experiments/results/net_carbon/``:

* ``compute.csv``: per plant and controller, the measured energy and CO2 of one episode's
  decisions (``compute_kwh_mean``, ``compute_kgco2_mean``) and of the whole episode, and for
  the agent families the study's training compute (``train_kwh``, ``train_kgco2``) summed over
  every study run of the family (3 seeds; the plain PPO one), see ``training_runs.csv``;
* ``training_runs.csv``: per study run, its training energy and CO2: measured by the run's own
  meter where it has one, else the power measured over the family's short training run x the
  run's wall time (``experiments/results/study/timings.json``);
* ``measured_rows.csv``: every measuring benchmark row (window 0);
* ``net_carbon.csv`` and ``net_carbon.md``: :func:`ecocontrol.results.net_carbon_table` per
  plant. The plant CO2 of every controller comes from the study's
  ``experiments/results/study/summary_<plant>.csv`` (agents pooled over seeds, against the
  study's rule); the hot stove's oracle and perfect-forecast MPC, which are not in its study,
  from its committed benchmark (``experiments/results/hot_stove_benchmark.csv``, 3 windows,
  against the rule on the same windows).

Raw runs go to ``outputs/net_carbon/`` (not in git).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import torch
from hydra import compose, initialize_config_module

from ecocontrol.results import net_carbon_table, summarize
from ecocontrol.runner import run as run_benchmark
from ecocontrol.train import train

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "experiments" / "results"
STUDY_RESULTS = RESULTS / "study"
STUDY_TRAIN = ROOT / "outputs" / "study" / "train"
AGENTS = ROOT / "experiments" / "agents"
OUT = ROOT / "outputs" / "net_carbon"


def _study() -> ModuleType:
    """``experiments/study/run.py`` as a module (its ``RECIPES``, ``BASELINES``, ``family``)."""
    name = "ecocontrol_study_run"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "experiments/study/run.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up
        spec.loader.exec_module(module)
    return sys.modules[name]


STUDY = _study()
PLANTS: tuple[str, ...] = STUDY.PLANTS
#: The study's agent families per plant: label -> recipe (plain PPO: the one-seed contrast).
FAMILIES = STUDY.RECIPES
#: The study's baselines (the hot stove's: the MPC and the rule).
BASELINES: dict[str, list[str]] = STUDY.BASELINES
#: Baselines not in the study, from the plant's committed benchmark (its windows, its rule).
EXTRA = {"hot_stove": ["oracle", "mpc_perfect"]}
#: The seed whose model's decisions are measured for every agent family.
SEED = 0
#: Steps of the short training run that measures a family's training power.
MEASURE_STEPS = 8_192
#: Controllers whose decisions are priced as the power measured for a controller's decisions
#: [W per decision-second] x the decision time of the committed benchmark (solves x median
#: solve time, mean over its windows). The hot stoves' MILPs take 2-5 s a solve on the 8-h
#: windows (48 solves; the plan 16 of ~14 s): past this script's few-minute budget per call;
#: their power is measured on 2-h windows (``--episode-h 2``), whose MILPs solve faster.
ESTIMATED = {
    ("hot_stove", "mpc"): "mpc",
    ("hot_stove", "mpc_perfect"): "mpc_perfect",
    ("hot_stove", "oracle"): "mpc",
}
#: Episode length of the committed benchmarks and of the study [h].
EPISODE_H = {"park": 168.0, "hot_stove": 8.0, "cement_kiln": 24.0}


def _compose(name: str, overrides: list[str]) -> dict:
    with initialize_config_module("ecocontrol.configs", version_base=None):
        return compose(name, overrides=overrides)


def model_dir(plant: str, family: str) -> Path:
    """The model whose decisions are measured: seed :data:`SEED`'s exported agent, or (the
    contrast PPO is not exported) its study run."""
    exported = AGENTS / plant / f"{family}_s{SEED}"
    if (exported / "model.zip").exists():
        return exported
    return STUDY_TRAIN / f"{plant}_{family}_s{SEED}"


def study_runs(plant: str, family: str) -> list[Path]:
    """The study's training runs of ``family`` on ``plant`` (one per seed)."""
    runs = sorted(STUDY_TRAIN.glob(f"{plant}_{family}_s*"))
    return [r for r in runs if (r / "train_summary.json").exists()]


def _summary(run: Path) -> dict:
    return json.loads((run / "train_summary.json").read_text())


def short_run_dir(plant: str, family: str) -> Path:
    """The short training run that measures the power of ``family``'s training."""
    return OUT / plant / f"train_{family}"


def needs_short_run(plant: str, family: str) -> bool:
    """Whether a study run of ``family`` has no measured compute of its own."""
    return any("compute_kwh" not in _summary(r) for r in study_runs(plant, family))


def measure(
    plant: str, controllers: list[str], agents: list[str], episode_h: float | None = None
) -> None:
    """Short training runs where needed, then the benchmark of window 0 with the meter.

    ``episode_h``: shorter windows than the plant's default (its own benchmark directory),
    for controllers whose default window takes longer than a few minutes.
    """
    torch.set_num_threads(1)  # the study ran one thread per training run
    for family in agents:
        run_dir = short_run_dir(plant, family)
        if not needs_short_run(plant, family):
            continue
        if (run_dir / "model.zip").exists():
            print(f"[net_carbon] {plant} {family}: short run done ({run_dir})", flush=True)
            continue
        recipe = FAMILIES[plant][family]
        overrides = [
            "experiment=study_train",
            f"env={plant}",
            f"agent={recipe.agent}",
            f"seed={SEED}",
            *recipe.overrides,
            f"total_timesteps={MEASURE_STEPS}",
            "eval_every=0",
            "checkpoint_every=0",
            "progress_bar=false",
            f"run_dir={run_dir}",
        ]
        train(_compose("train", overrides))
    labels = [*controllers, *agents]
    if not labels:
        return
    overrides = [
        f"env={plant}",
        f"controllers=[{','.join(labels)}]",
        "windows=1",
        f"out_dir={OUT / plant / ('bench' if episode_h is None else f'bench_{episode_h:g}h')}",
        "plots=false",
        "resume=true",
    ]
    if episode_h is not None:
        overrides.append(f"env.episode_h={episode_h}")
    for family in agents:
        if family != "ppo":  # the benchmark config defines ppo as an agent already
            overrides.append(f"+controller@controller_defs.{family}=agent")
        overrides.append(f"controller_defs.{family}.path={model_dir(plant, family)}")
    run_benchmark(_compose("benchmark", overrides))


def _measured(plant: str) -> pd.DataFrame:
    """The finished window-0 rows of every measuring benchmark of ``plant``."""
    parts = []
    for path in sorted((OUT / plant).glob(f"bench*/benchmark_{plant}.csv")):
        t = pd.read_csv(path, keep_default_na=False)
        parts.append(t[(t["error"] == "") & (t["window"] == 0)])
    table = pd.concat(parts, ignore_index=True)
    for col in ("episode_h", "compute_kwh", "compute_kgco2", "compute_episode_kwh", "decision_s"):
        table[col] = table[col].astype(float)
    # a controller measured twice (a re-run): its last row
    return table.drop_duplicates("controller", keep="last").set_index("controller")


def compute_rows(plant: str) -> pd.DataFrame:
    """Measured compute of one episode's decisions per controller of ``plant``.

    Per episode of the committed benchmarks' length (:data:`EPISODE_H`): a controller measured
    on shorter windows (``--episode-h``) is scaled by the ratio of the lengths.
    """
    m = _measured(plant)
    estimated = {label: like for (where, label), like in ESTIMATED.items() if where == plant}
    hours = EPISODE_H[plant]
    scale = hours / m["episode_h"]
    agents = {family: model_dir(plant, family) for family in FAMILIES[plant]}
    where = [
        f"test window 0 of {h:g} h" + (f", {agents[c].relative_to(ROOT)}" if c in agents else "")
        for c, h in zip(m.index, m["episode_h"], strict=True)
    ]
    rows = pd.DataFrame(
        {
            "plant": plant,
            "controller": m.index,
            "measured_on": where,
            "episode_h": hours,
            "grid_kgco2_per_kwh": m["grid_kgco2_per_kwh"].astype(float).to_numpy(),
            "decision_s_mean": (m["decision_s"] * scale).to_numpy(),
            "compute_kwh_mean": (m["compute_kwh"] * scale).to_numpy(),
            "compute_kgco2_mean": (m["compute_kgco2"] * scale).to_numpy(),
            "compute_episode_kwh_mean": (m["compute_episode_kwh"] * scale).to_numpy(),
            "compute_method": m["compute_method"].to_numpy(),
        }
    )
    rows = rows[~rows["controller"].isin(list(estimated))]
    for label, like in estimated.items():
        committed = pd.read_csv(RESULTS / f"{plant}_benchmark.csv")
        c = committed[committed["controller"] == label]
        solve_s = float((c["solves"] * c["solve_ms_median"]).mean()) / 1e3
        kwh_per_s = float(m.loc[like, "compute_kwh"] / m.loc[like, "decision_s"])
        kwh = kwh_per_s * solve_s
        grid = float(m.loc[like, "grid_kgco2_per_kwh"])
        est = {
            "plant": plant,
            "controller": label,
            "measured_on": (
                f"estimate: {solve_s:.0f} s of solves a window (committed benchmark, "
                f"{len(c)} windows: solves x median solve) x the {like}'s measured "
                f"{3.6e6 * kwh_per_s:.1f} W per decision-second (test window 0 of "
                f"{float(m.loc[like, 'episode_h']):g} h)"
            ),
            "episode_h": hours,
            "grid_kgco2_per_kwh": grid,
            "decision_s_mean": solve_s,
            "compute_kwh_mean": kwh,
            "compute_kgco2_mean": kwh * grid,
            "compute_episode_kwh_mean": np.nan,
            "compute_method": f"estimate from {m.loc[like, 'compute_method']}",
        }
        rows = pd.concat([rows, pd.DataFrame([est])], ignore_index=True)
    return rows


def training_runs(plant: str) -> pd.DataFrame:
    """``training_runs.csv``: every study run's training compute, measured or priced.

    A run with its own meter (``compute_kwh`` in ``train_summary.json``) keeps it; one from
    before the meter is priced at the power of the family's short run x the run's wall time
    in the study's ``timings.json``.
    """
    timings = json.loads((STUDY_RESULTS / "timings.json").read_text())
    rows = []
    for family in FAMILIES[plant]:
        short = None
        if needs_short_run(plant, family):
            short = _summary(short_run_dir(plant, family))
        for run in study_runs(plant, family):
            s = _summary(run)
            wall = float(timings[run.name]["wall_s"])
            row = {
                "plant": plant,
                "family": family,
                "run": run.name,
                "steps": s["num_timesteps"],
                "study_wall_s": wall,
            }
            if "compute_kwh" in s:
                row |= {
                    "train_kwh": s["compute_kwh"],
                    "train_kgco2": s["compute_kgco2"],
                    "power_w": 3.6e6 * s["compute_kwh"] / s["compute_wall_s"],
                    "how": "measured: the run's own meter",
                }
            else:
                assert short is not None
                power_w = 3.6e6 * short["compute_kwh"] / short["compute_wall_s"]
                kwh = power_w * wall / 3.6e6
                row |= {
                    "train_kwh": kwh,
                    "train_kgco2": kwh * short["grid_kgco2_per_kwh"],
                    "power_w": power_w,
                    "how": (
                        f"priced: {power_w:.1f} W measured over a {short['num_timesteps']:,}-"
                        f"step run of the recipe x the study's wall time"
                    ),
                }
            row["compute_method"] = (s if "compute_kwh" in s else short)["compute_method"]
            rows.append(row)
    return pd.DataFrame(rows)


def training_rows(runs: pd.DataFrame) -> pd.DataFrame:
    """The study's training compute per agent family: the sum over its runs."""
    g = runs.groupby(["plant", "family"], sort=False)
    out = pd.DataFrame(
        {
            "train_runs": g.size(),
            "train_runs_measured": g["how"].agg(lambda h: int(h.str.startswith("meas").sum())),
            "study_train_wall_s": g["study_wall_s"].sum(),
            "train_kwh": g["train_kwh"].sum(),
            "train_kgco2": g["train_kgco2"].sum(),
        }
    )
    return out.reset_index().rename(columns={"family": "controller"})


def compute_table(runs: pd.DataFrame) -> pd.DataFrame:
    """``compute.csv``: measured decisions per controller, agents with the study's training."""
    parts = []
    training = training_rows(runs)
    for plant in PLANTS:
        measured = compute_rows(plant)
        base = measured[measured["controller"].isin([*BASELINES[plant], *EXTRA.get(plant, [])])]
        fam = measured[measured["controller"].isin(list(FAMILIES[plant]))]
        fam = fam.merge(training, on=["plant", "controller"], how="left")
        parts.append(pd.concat([base, fam], ignore_index=True))
    out = pd.concat(parts, ignore_index=True)
    first = ["plant", "controller", "measured_on", "episode_h", "grid_kgco2_per_kwh"]
    return out[first + [c for c in out.columns if c not in first]]


COLS = ["compute_kgco2_mean", "train_kgco2", "episode_h", "grid_kgco2_per_kwh"]


def study_plant_co2(plant: str) -> pd.DataFrame:
    """Per controller of the study: mean episode CO2 (agents: the mean of their seeds' means),
    runs and test windows, from ``summary_<plant>.csv``."""
    s = pd.read_csv(STUDY_RESULTS / f"summary_{plant}.csv")
    s["family"] = s["controller"].map(STUDY.family)
    g = s.groupby("family", sort=False)
    return pd.DataFrame(
        {"co2_mean_t": g["co2_mean_t"].mean(), "runs": g.size(), "windows": g["episodes"].max()}
    )


def net_table(compute: pd.DataFrame) -> pd.DataFrame:
    """Net carbon per plant: every controller from the v2 study (agents pooled over seeds,
    against the study's rule); the hot stove's oracle and perfect-forecast MPC from its
    committed benchmark (3 windows, against the rule on those windows)."""
    parts = []
    for plant in PLANTS:
        c = compute[compute["plant"] == plant].set_index("controller")
        study = study_plant_co2(plant)
        keep = [*BASELINES[plant], *FAMILIES[plant]]
        study = study[study.index.isin(keep)].join(c[COLS], how="inner")
        net = net_carbon_table(study)
        net["co2_mean_t"] = study["co2_mean_t"]
        net["windows"] = study["windows"]
        runs = study["runs"].astype(int)
        net["plant_results"] = "study v2"
        agents = [f for f in FAMILIES[plant] if f in net.index]
        net.loc[agents, "plant_results"] = [
            f"study v2, {runs[f]} seed{'s' if runs[f] > 1 else ''}"
            + (" (contrast)" if FAMILIES[plant][f].contrast else "")
            for f in agents
        ]
        base = net.loc[[b for b in BASELINES[plant] if b in net.index]]
        agents = net.loc[agents]
        extra = EXTRA.get(plant, [])
        if extra:
            table = pd.read_csv(RESULTS / f"{plant}_benchmark.csv")
            windows = table.loc[table["controller"].isin(extra), "window"].unique()
            table = table[table["window"].isin(windows)]
            s = summarize(table)[["co2_mean_t", "episodes"]]
            s = s[s.index.isin([*extra, "rule"])].join(c[COLS], how="left")
            more = net_carbon_table(s).drop(index="rule")
            more["co2_mean_t"] = s["co2_mean_t"]
            more["plant_results"] = f"v1 benchmark, {len(windows)} windows"
            more["windows"] = len(windows)
            base = pd.concat([more.loc[extra], base])
        parts.append(pd.concat([base, agents]).assign(plant=plant))
    out = pd.concat(parts).rename_axis("controller").reset_index()
    first = ["plant", "controller", "plant_results", "windows", "co2_mean_t"]
    return out[first + [c for c in out.columns if c not in first]]


def markdown(net: pd.DataFrame) -> str:
    """The README's table (plant CO2 in t, the compute in g)."""
    rows = []
    for r in net.itertuples():
        trained = r.training_t > 0
        rows.append(
            {
                "plant": r.plant,
                "controller": r.controller,
                "plant results": r.plant_results,
                "plant CO2 saved vs rule [t/yr]": f"{round(r.co2_saved_t_per_year) + 0:,}",
                "decisions [gCO2/yr]": f"{1e6 * r.decisions_t_per_year:.3g}",
                "training [gCO2]": f"{1e6 * r.training_t:.3g}" if trained else "-",
                "training payback [h]": f"{r.training_payback_h:.2g}" if trained else "-",
                "net saved [t/yr]": f"{round(r.net_saved_t_per_year) + 0:,}",
            }
        )
    df = pd.DataFrame(rows)
    align = ["left"] * 3 + ["right"] * 5
    return df.to_markdown(index=False, colalign=align, disable_numparse=True) + "\n"


def measured_rows() -> pd.DataFrame:
    """Every measuring benchmark row (window 0), for the record."""
    cols = ["controller", "window", "episode_h", "n_steps", "cost_total", "co2_total"]
    cols += ["decision_ms_median", "decision_s", "compute_kwh", "compute_kgco2"]
    cols += ["compute_episode_kwh", "compute_method", "grid_kgco2_per_kwh"]
    parts = [_measured(p).reset_index()[cols].assign(plant=p) for p in PLANTS]
    out = pd.concat(parts, ignore_index=True)
    return out[["plant", *cols]]


def table() -> None:
    """Write ``experiments/results/net_carbon/``."""
    dest = RESULTS / "net_carbon"
    dest.mkdir(parents=True, exist_ok=True)
    runs = pd.concat([training_runs(p) for p in PLANTS], ignore_index=True)
    runs.to_csv(dest / "training_runs.csv", index=False)
    compute = compute_table(runs)
    compute.to_csv(dest / "compute.csv", index=False)
    measured_rows().to_csv(dest / "measured_rows.csv", index=False)
    net = net_table(compute)
    net.to_csv(dest / "net_carbon.csv", index=False)
    (dest / "net_carbon.md").write_text(markdown(net))
    print(markdown(net))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("stage", choices=["measure", "table"])
    p.add_argument("--plant", choices=PLANTS)
    p.add_argument(
        "--controllers",
        default=None,
        help="comma-separated; default: the study's baselines (the hot stove's: the rule)",
    )
    p.add_argument(
        "--agents", default=None, help="comma-separated; default: the plant's families; ''"
    )
    p.add_argument("--episode-h", type=float, default=None, help="shorter windows [h]")
    a = p.parse_args(argv)
    if a.stage == "table":
        table()
        return 0
    if a.plant is None:
        p.error("measure needs --plant")
    default = [c for c in BASELINES[a.plant] if (a.plant, c) not in ESTIMATED]
    controllers = default if a.controllers is None else a.controllers.split(",")
    agents = list(FAMILIES[a.plant]) if a.agents is None else a.agents.split(",")
    unknown = [x for x in agents if x and x not in FAMILIES[a.plant]]
    if unknown:
        p.error(f"--agents {unknown} unknown; allowed: {', '.join(FAMILIES[a.plant])}")
    measure(a.plant, [c for c in controllers if c], [x for x in agents if x], a.episode_h)
    return 0


if __name__ == "__main__":
    sys.exit(main())
