"""Result files: written atomically so a crash never leaves half a file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd


def write_atomic(df: pd.DataFrame | str, path: Path) -> None:
    """Write a CSV, Parquet (by suffix) or text atomically: temp file, then rename.

    A crash never leaves half a file, and an earlier version stays intact until replaced.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        if isinstance(df, str):
            Path(tmp).write_text(df)
        elif path.suffix == ".parquet":
            df.to_parquet(tmp, index=False)
        else:
            df.to_csv(tmp, index=False)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; results are meant to be shared
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
