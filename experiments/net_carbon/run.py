"""Net carbon of the study's controllers: plant CO2 saved against the CO2 of their own compute.

Stage ``measure`` (one plant, a few controllers per call, each call a few minutes on 2 cores)
runs the benchmark on the plant's test window 0 with the compute meter
(:mod:`ecocontrol.compute_carbon`) around every episode, and, for the agents, a short training
run with the study's settings (``experiment=study_train``, one torch thread, as in the study)
whose measured power prices the study's training:

    python experiments/net_carbon/run.py measure --plant park
    python experiments/net_carbon/run.py measure --plant hot_stove --controllers rule
    python experiments/net_carbon/run.py measure --plant hot_stove --controllers mpc \
        --agents "" --episode-h 2
    python experiments/net_carbon/run.py table

Stage ``table`` writes ``experiments/results/net_carbon/``:

* ``compute.csv``: per plant and controller, the measured energy and CO2 of one episode's
  decisions (``compute_kwh_mean``, ``compute_kgco2_mean``) and of the whole episode, and for
  the agents the study's training compute (``train_kwh``, ``train_kgco2``): the power the
  meter measured over the short run's training x the study's recorded wall time of every run of
  that agent family (3 seeds; tuned PPO also the 8 Optuna trials), from
  ``experiments/results/study/timings.json``;
* ``net_carbon.csv`` and ``net_carbon.md``: :func:`ecocontrol.results.net_carbon_table` per
  plant. The plant CO2 of the baselines comes from the committed v1 benchmarks
  (``experiments/results/<plant>_benchmark.csv``), that of the agents from the reference study
  (v0 plants, seeds pooled, against the study's rule): the agents have not been re-run on v1.

Raw runs go to ``outputs/net_carbon/`` (not in git).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from hydra import compose, initialize_config_module

from ecocontrol.results import net_carbon_table, summarize
from ecocontrol.runner import run as run_benchmark
from ecocontrol.train import train

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "experiments" / "results"
OUT = ROOT / "outputs" / "net_carbon"
PLANTS = ("park", "hot_stove", "cement_kiln")
BASELINES = {
    "park": ["oracle", "mpc_perfect", "mpc", "rule"],
    "hot_stove": ["oracle", "mpc_perfect", "mpc", "rule"],
    "cement_kiln": ["oracle", "mpc_perfect", "mpc", "mpc_af_rule", "rule"],
}
#: Agent families of the study per plant, and the measured agent whose figures they use
#: (tuned PPO: the same network and algorithm as PPO, other hyper-parameters).
FAMILIES = {
    "park": {"ppo": "ppo", "ppo_tuned": "ppo", "sac": "sac"},
    "hot_stove": {"ppo": "ppo", "sac": "sac"},
    "cement_kiln": {"ppo": "ppo", "sac": "sac"},
}
#: Steps of the short training run that measures an agent's training power.
MEASURE_STEPS = {"ppo": 8_192, "sac": 1_500}
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


def train_dir(plant: str, algo: str) -> Path:
    """The short training run of ``algo`` on ``plant``."""
    return OUT / plant / f"train_{algo}"


def measure(
    plant: str, controllers: list[str], agents: list[str], episode_h: float | None = None
) -> None:
    """Short training runs of ``agents``, then the benchmark of window 0 with the meter.

    ``episode_h``: shorter windows than the plant's default (its own benchmark directory),
    for controllers whose default window takes longer than a few minutes.
    """
    torch.set_num_threads(1)  # the study ran one thread per training run
    for algo in agents:
        run_dir = train_dir(plant, algo)
        if (run_dir / "model.zip").exists():
            print(f"[net_carbon] {plant} {algo}: trained already ({run_dir})", flush=True)
            continue
        overrides = [
            "experiment=study_train",
            f"env={plant}",
            f"agent={algo}",
            "seed=0",
            f"total_timesteps={MEASURE_STEPS[algo]}",
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
    for algo in agents:
        if algo != "ppo":
            overrides.append(f"+controller@controller_defs.{algo}=agent")
        overrides.append(f"controller_defs.{algo}.path={train_dir(plant, algo)}")
    run_benchmark(_compose("benchmark", overrides))


def _study_training_wall_s(plant: str, family: str) -> float:
    """Wall time of every study run of an agent family [s] (tuned PPO: with the tuning)."""
    timings = json.loads((RESULTS / "study" / "timings.json").read_text())
    wall = sum(t["wall_s"] for k, t in timings.items() if k.startswith(f"{plant}_{family}_s"))
    if family == "ppo_tuned":
        wall += timings[f"tune_{plant}_ppo"]["wall_s"]
    return float(wall)


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
    rows = pd.DataFrame(
        {
            "plant": plant,
            "controller": m.index,
            "measured_on": [f"test window 0 of {h:g} h" for h in m["episode_h"]],
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
                f"estimate: {solve_s:.0f} s of solves a window (committed benchmark: solves x "
                f"median solve) x the {like}'s measured {3.6e6 * kwh_per_s:.1f} W per "
                f"decision-second (test window 0 of {float(m.loc[like, 'episode_h']):g} h)"
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


def training_rows(plant: str) -> pd.DataFrame:
    """The study's training compute per agent family: measured power x its wall time."""
    rows = []
    for family, algo in FAMILIES[plant].items():
        s = json.loads((train_dir(plant, algo) / "train_summary.json").read_text())
        power_w = 3.6e6 * s["compute_kwh"] / s["compute_wall_s"]
        wall = _study_training_wall_s(plant, family)
        kwh = power_w * wall / 3.6e6
        rows.append(
            {
                "plant": plant,
                "controller": family,
                "measured_train_steps": s["num_timesteps"],
                "measured_train_wall_s": s["compute_wall_s"],
                "measured_train_kwh": s["compute_kwh"],
                "measured_train_power_w": power_w,
                "study_train_wall_s": wall,
                "train_kwh": kwh,
                "train_kgco2": kwh * s["grid_kgco2_per_kwh"],
            }
        )
    return pd.DataFrame(rows)


def compute_table() -> pd.DataFrame:
    """``compute.csv``: measured decisions per controller, agents with the study's training."""
    parts = []
    for plant in PLANTS:
        measured = compute_rows(plant)
        agents = training_rows(plant)
        # each agent family takes the decisions measured for its algorithm
        fam = agents.assign(measured=agents["controller"].map(FAMILIES[plant]))
        fam = fam.merge(
            measured.drop(columns=["plant"]).rename(columns={"controller": "measured"}),
            on="measured",
            how="left",
        ).drop(columns=["measured"])
        base = measured[measured["controller"].isin(BASELINES[plant])]
        parts.append(pd.concat([base, fam], ignore_index=True))
    out = pd.concat(parts, ignore_index=True)
    first = ["plant", "controller", "measured_on", "episode_h", "grid_kgco2_per_kwh"]
    return out[first + [c for c in out.columns if c not in first]]


def net_table(compute: pd.DataFrame) -> pd.DataFrame:
    """Net carbon per plant: baselines on the v1 benchmarks, agents on the study (v0)."""
    study = pd.read_csv(RESULTS / "study" / "study_summary.csv")
    parts = []
    for plant in PLANTS:
        c = compute[compute["plant"] == plant].set_index("controller")
        cols = ["compute_kgco2_mean", "train_kgco2", "episode_h", "grid_kgco2_per_kwh"]
        v1 = summarize(pd.read_csv(RESULTS / f"{plant}_benchmark.csv"))[["co2_mean_t", "episodes"]]
        v1 = v1.join(c[cols], how="inner")
        windows = int(v1["episodes"].max())
        net1 = net_carbon_table(v1).assign(plant_results=f"v1 benchmark, {windows} windows")
        net1["co2_mean_t"] = v1["co2_mean_t"]
        v0 = study[study["plant"] == plant].set_index("family")[["co2_mean_t"]]
        v0 = v0[v0.index.isin([*FAMILIES[plant], "rule"])].join(c[cols], how="inner")
        net0 = net_carbon_table(v0).drop(index="rule")
        net0 = net0.assign(plant_results="v0 study, 3 seeds pooled")
        net0["co2_mean_t"] = v0["co2_mean_t"]
        parts.append(pd.concat([net1, net0]).assign(plant=plant))
    out = pd.concat(parts).rename_axis("controller").reset_index()
    first = ["plant", "controller", "plant_results", "co2_mean_t"]
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
                "plant results": r.plant_results.split(",")[0],
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
    compute = compute_table()
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
    p.add_argument("--controllers", default=None, help="comma-separated; default: the baselines")
    p.add_argument("--agents", default="ppo,sac", help="comma-separated; '' for none")
    p.add_argument("--episode-h", type=float, default=None, help="shorter windows [h]")
    a = p.parse_args(argv)
    if a.stage == "table":
        table()
        return 0
    if a.plant is None:
        p.error("measure needs --plant")
    controllers = BASELINES[a.plant] if a.controllers is None else a.controllers.split(",")
    controllers = [c for c in controllers if c]
    measure(a.plant, controllers, [x for x in a.agents.split(",") if x], a.episode_h)
    return 0


if __name__ == "__main__":
    sys.exit(main())
