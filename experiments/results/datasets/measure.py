"""Record every quality tier of a plant as a Minari dataset; one CSV row per tier.

Usage (from the repo root): python experiments/results/datasets/measure.py <plant> <episodes>
[env overrides...]; writes experiments/results/datasets/<plant>.csv. The datasets go to
MINARI_DATASETS_PATH (default outputs/datasets) and are not committed.
"""

import csv
import sys
from pathlib import Path

import minari
import numpy as np
from hydra import compose, initialize_config_module

from ecocontrol.config import plain_config, register_env_defaults
from ecocontrol.datasets import TIERS, record_dataset, replay_rewards

plant, episodes, overrides = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
register_env_defaults()
with initialize_config_module("ecocontrol.configs", version_base=None):
    env_cfg = plain_config(compose("dataset", overrides=[f"env={plant}", *overrides]))["env"]
rows = []
for tier, (controller, kwargs) in TIERS.items():
    rec = record_dataset(env_cfg, controller, episodes, "train", 0, tier, kwargs, overwrite=True)
    d = rec.demonstrations
    cost = d.episode_kpis[:, d.kpi_names.index("cost_total")]
    replay_ok = all(
        np.array_equal(a, b) for a, b in replay_rewards(minari.load_dataset(rec.dataset_id))
    )
    rows.append(
        {
            "plant": plant,
            "tier": tier,
            "dataset_id": rec.dataset_id,
            "env_overrides": " ".join(overrides),
            "episodes": d.n_episodes,
            "steps": d.n_steps,
            "windows": " ".join(str(w) for w in d.episode_windows),
            "mean_cost_total_cny": float(cost.mean()),
            "solver_failures": int(d.episode_kpis[:, d.kpi_names.index("solver_failures")].sum()),
            "size_mb": round(rec.size_bytes / 1e6, 3),
            "record_seconds": round(rec.seconds, 1),
            "replay_exact": replay_ok,
        }
    )
    print(rows[-1], flush=True)
rule = rows[0]["mean_cost_total_cny"]
for r in rows:
    r["cost_vs_rule_pct"] = round(100 * (r["mean_cost_total_cny"] - rule) / abs(rule), 3)
out = Path(__file__).parent / f"{plant}.csv"
with out.open("w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
print(out)
