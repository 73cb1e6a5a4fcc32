"""Artefacts written atomically, so a crash or a kill never leaves half a file.

Every file the benchmark and training write goes through :func:`atomic_path` (or
:func:`write_atomic` on top of it): the content goes to a temp file in the target's folder,
is flushed to disk (``fsync``), renamed over the target (``os.replace``, atomic on POSIX) and
the folder is fsynced so the rename itself survives a power cut. A reader sees the old file or
the new one, never a mix, and an earlier version stays intact until replaced.

Temp files are named ``.<target name>.<8 random chars>.ecotmp[<ext>]``; a run killed
mid-write leaves at most one per file it was writing, and :func:`clean_temp_files` (called by
the benchmark and training at their start) removes the ones in their output folder, and
nothing else.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

log = logging.getLogger(__name__)

TEMP_MARK = ".ecotmp"
#: What a temp file of :func:`atomic_path` is called (and, ``.tmp``, of the versions before).
TEMP_PATTERN = re.compile(r"^\..+\.[a-z0-9_]{8}(\.ecotmp(\.[A-Za-z0-9]+)?|\.tmp)$")
#: Test hook: seconds to sleep between writing a temp file and renaming it, so a test can kill
#: a run mid-write. Unset (the default) means no sleep.
WRITE_DELAY_ENV = "ECOCONTROL_TEST_WRITE_DELAY_S"


def fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (a rename in it) to disk; a no-op where folders can't be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # e.g. Windows
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    # fsync applies to the file, not the descriptor: one opened after the writer closed its own
    # flushes what the writer (pandas, matplotlib, SB3's zip) wrote.
    with path.open("rb+") as f:
        os.fsync(f.fileno())


@contextmanager
def atomic_path(path: Path | str, ext: str = "") -> Iterator[Path]:
    """A temp path to write ``path``'s content to; on a clean exit it replaces ``path``.

    The temp file lies in ``path``'s folder (created if missing), so the rename never crosses
    file systems. ``ext`` is appended to the temp name, for writers that add their own
    suffix otherwise (``np.savez`` adds ``.npz``). On an exception the temp file is removed
    and ``path`` left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_MARK + ext)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        _fsync_file(tmp)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; results are meant to be shared
        delay = os.environ.get(WRITE_DELAY_ENV)
        if delay:
            time.sleep(float(delay))
        os.replace(tmp, path)
        fsync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def write_atomic(data: pd.DataFrame | str | bytes, path: Path | str) -> None:
    """Write a table (CSV, or Parquet by suffix), a text or bytes to ``path`` atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        if isinstance(data, bytes):
            tmp.write_bytes(data)
        elif isinstance(data, str):
            tmp.write_text(data)
        elif path.suffix == ".parquet":
            data.to_parquet(tmp, index=False)
        else:
            data.to_csv(tmp, index=False)


def clean_temp_files(folder: Path | str) -> list[Path]:
    """Remove the temp files a killed run left under ``folder``; return them.

    Only files whose name matches :data:`TEMP_PATTERN` are touched. Run it before a run
    starts writing, not while another run writes in the same folder.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    for p in folder.rglob(".*"):
        if p.is_file() and TEMP_PATTERN.match(p.name):
            p.unlink(missing_ok=True)
            removed.append(p)
    if removed:
        log.warning("removed %d temp file(s) of an interrupted run in %s", len(removed), folder)
    return removed
