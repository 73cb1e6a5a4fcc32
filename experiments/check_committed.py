"""Re-run committed benchmark rows and compare them with the committed CSV, bit for bit.

    python experiments/check_committed.py --plant park --controllers rule mpc --windows 0 1

Builds the env from ``configs/env/<plant>.yaml`` (test split) and each controller from
``configs/controller/<label>.yaml``, runs ``run_episode`` with the benchmark's seed
(``seed = window``) and compares every ``cost_*`` and ``co2_*`` column with
``experiments/results/<plant>_benchmark.csv``. Prints each difference in ulps and exits
non-zero if any number differs. Used to show that a refactor left behaviour unchanged.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from hydra.utils import instantiate
from omegaconf import OmegaConf

from ecocontrol.evaluation import run_episode

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--plant", required=True, choices=["park", "hot_stove", "cement_kiln"])
    ap.add_argument("--controllers", nargs="+", default=["rule"])
    ap.add_argument("--windows", nargs="+", type=int, default=[0])
    ap.add_argument("--csv", default=None, help="committed table (default: the plant's)")
    ap.add_argument("--dump", default=None, help="write the rows run to this CSV")
    a = ap.parse_args()
    csv = Path(a.csv) if a.csv else ROOT / "experiments/results" / f"{a.plant}_benchmark.csv"
    table = pd.read_csv(csv)
    env = instantiate(OmegaConf.load(ROOT / "configs/env" / f"{a.plant}.yaml"))
    bad = 0
    rows = []
    for label in a.controllers:
        ctrl_cfg = OmegaConf.load(ROOT / "configs/controller" / f"{label}.yaml")
        controller = instantiate(ctrl_cfg)(env=env)
        for w in a.windows:
            row = table[(table.controller == label) & (table.window == w)]
            if row.empty:
                print(f"{label} w{w}: no committed row")
                continue
            r = run_episode(env, controller, seed=int(row.seed.iloc[0]), window=w)
            got = {f"cost_{k}": v for k, v in r.cost.items()}
            got.update({f"co2_{k}": v for k, v in r.emissions.items()})
            rows.append({"controller": label, "window": w, "seed": int(row.seed.iloc[0]), **got})
            for col, value in got.items():
                if col not in row:  # a source added after the table was written: must be 0
                    if value != 0.0:
                        print(f"{label} w{w} {col}: {value!r}, not in the committed table")
                        bad += 1
                    continue
                want = float(row[col].iloc[0])
                if value != want:
                    ulps = abs(value - want) / max(np.spacing(abs(want)), 1e-300)
                    print(f"{label} w{w} {col}: {value!r} != {want!r} ({ulps:.0f} ulp)")
                    bad += 1
            print(f"{label} w{w}: cost_total {got['cost_total']:.6f}")
    if a.dump:
        pd.DataFrame(rows).to_csv(a.dump, index=False, float_format="%.17g")
    print("identical" if bad == 0 else f"{bad} differences")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
