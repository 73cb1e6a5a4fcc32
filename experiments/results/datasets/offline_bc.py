"""Offline RL on a dataset tier, benchmarked like any controller: behaviour cloning (the floor).

1. record the plant's ``mpc`` tier as a Minari dataset (``ecocontrol.datasets.record_dataset``,
   what ``ecocontrol-dataset env=<plant> policy=mpc`` runs), on train windows;
2. load it with ``minari.load_dataset`` and fit a behaviour clone on it alone (no env
   interaction: ``demonstrations_from_dataset`` + ``imitation.behaviour_clone``), saved as a
   training run;
3. benchmark the clone with the rule and the MPC on the same test windows
   (``ecocontrol-benchmark ... controller_defs.bc.path=<run>``), paired per window.

Writes ``offline_bc_<plant>.csv`` (the benchmark rows) and ``offline_bc_<plant>.md`` here.

Usage::

    python experiments/results/datasets/offline_bc.py park 20 11
    (plant, dataset episodes, test windows)
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]


def main(plant: str = "park", episodes: int = 20, windows: int = 11) -> None:
    import minari
    from hydra import compose, initialize_config_module

    from ecocontrol.comparison import paired_savings
    from ecocontrol.config import plain_config
    from ecocontrol.datasets import demonstrations_from_dataset, record_dataset
    from ecocontrol.imitation import action_error, behaviour_clone, save_clone

    out = ROOT / "outputs" / "offline_bc" / plant
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("MINARI_DATASETS_PATH", str(out / "datasets"))
    with initialize_config_module("ecocontrol.configs", version_base=None):
        cfg = plain_config(compose("dataset", overrides=[f"env={plant}"]))
    t0 = time.perf_counter()
    rec = record_dataset(cfg["env"], "mpc", episodes, "train", 0, overwrite=True)
    t_record = time.perf_counter() - t0
    ds = minari.load_dataset(rec.dataset_id)
    demos = demonstrations_from_dataset(ds)
    t0 = time.perf_counter()
    model, norm = behaviour_clone(demos, "ppo", seed=0)
    t_fit = time.perf_counter() - t0
    mae = action_error(model, norm, demos)["mae"]
    run = save_clone(
        out / "bc",
        model,
        norm,
        demos,
        {"env": cfg["env"], "agent": {"_target_": "stable_baselines3.PPO"}},
        summary={"dataset": rec.dataset_id, "episodes": episodes, "mae": mae},
        overwrite=True,
    )
    bdir = out / "benchmark"
    cmd = [
        sys.executable, "-m", "ecocontrol.cli", "benchmark", f"env={plant}",
        "controllers=[mpc,bc,rule]", f"windows={windows}", "resume=false",
        "+controller@controller_defs.bc=agent", f"controller_defs.bc.path={run}",
        f"hydra.run.dir={bdir}",
    ]  # fmt: skip
    subprocess.run(cmd, cwd=ROOT, check=True)
    rows = pd.read_csv(bdir / f"benchmark_{plant}.csv")
    rows.to_csv(HERE / f"offline_bc_{plant}.csv", index=False)
    paired = paired_savings(rows, reference="rule", also=("mpc",), n_boot=5_000, seed=0)
    text = [
        f"# Offline behaviour cloning on the {plant}'s `mpc` tier",
        "",
        f"Dataset `{rec.dataset_id}`: {episodes} MPC episodes on train windows "
        f"({demos.n_steps:,} steps, {rec.size_bytes / 1e6:.2f} MB, recorded in "
        f"{t_record:.0f} s). Clone: PPO's policy network fitted offline in {t_fit:.0f} s "
        f"(action MAE on the data {mae:.3f}); no env interaction. Benchmarked on the first "
        f"{windows} test windows with the rule and the MPC (`offline_bc.py`); savings paired "
        "per window, 95 % bootstrap intervals.",
        "",
        paired[["reference", "controller", "windows", "saving_pct", "saving_ci_low_pct",
                "saving_ci_high_pct", "wins"]].to_markdown(index=False, floatfmt=".2f"),
        "",
    ]  # fmt: skip
    (HERE / f"offline_bc_{plant}.md").write_text("\n".join(text))
    print("\n".join(text))


if __name__ == "__main__":
    args = sys.argv[1:]
    main(
        args[0] if args else "park",
        int(args[1]) if len(args) > 1 else 20,
        int(args[2]) if len(args) > 2 else 11,
    )
