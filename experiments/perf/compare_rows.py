"""Compare a re-run benchmark table with a committed one, row by row.

    .venv/bin/python experiments/perf/compare_rows.py COMMITTED.csv RERUN.csv

Rows match on (controller, window, seed); every numeric column shared by both is compared.
Prints, per controller, the rows compared, the largest relative difference of ``cost_total``
and of any numeric column (the column named), and whether every value is bit-identical. The
check behind "results unchanged" of the compiled-physics issue.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

KEY = ["controller", "window", "seed"]
#: Columns that measure the machine, not the plant (latencies).
SKIP = ("_ms_median", "_ms_p95", "wall")


def compare(committed: Path, rerun: Path) -> pd.DataFrame:
    """Per controller: rows, identical rows, max relative difference of cost_total and overall."""
    a, b = pd.read_csv(committed), pd.read_csv(rerun)
    both = a.merge(b, on=KEY, suffixes=("_a", "_b"))
    cols = [
        c
        for c in a.columns
        if c in b.columns
        and c not in KEY
        and pd.api.types.is_numeric_dtype(a[c])
        and pd.api.types.is_numeric_dtype(b[c])
        and not any(s in c for s in SKIP)
    ]
    out = []
    for ctrl, g in both.groupby("controller"):
        worst, worst_col, total, identical = 0.0, "", 0.0, True
        for c in cols:
            x, y = g[c + "_a"].to_numpy(float), g[c + "_b"].to_numpy(float)
            same = (x == y) | (np.isnan(x) & np.isnan(y))
            identical &= bool(same.all())
            rel = np.where(same, 0.0, np.abs(x - y) / np.maximum(np.abs(x), 1e-12))
            m = float(rel.max()) if len(rel) else 0.0
            if c == "cost_total":
                total = m
            if m > worst:
                worst, worst_col = m, c
        out.append(
            {
                "controller": ctrl,
                "rows": len(g),
                "bit_identical": identical,
                "cost_total_max_rel_diff": total,
                "any_column_max_rel_diff": worst,
                "column": worst_col,
            }
        )
    return pd.DataFrame(out)


if __name__ == "__main__":
    print(compare(Path(sys.argv[1]), Path(sys.argv[2])).to_string(index=False))
