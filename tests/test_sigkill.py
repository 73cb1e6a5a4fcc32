"""A benchmark and a training run SIGKILLed mid-write resume to complete artefacts.

Each run is a subprocess of the real entry point. ``ECOCONTROL_TEST_WRITE_DELAY_S`` makes every
atomic write sleep between writing its temp file and renaming it, so the test can kill the run
exactly while a chosen file is being written (its temp file is on disk), then resume it.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from ecocontrol.io import TEMP_PATTERN, WRITE_DELAY_ENV, clean_temp_files, write_atomic

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _temp_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob(".*") if p.is_file() and TEMP_PATTERN.match(p.name)]


def _start(args: list[str], cwd: Path, delay: float | None) -> subprocess.Popen[str]:
    env = dict(os.environ)
    env.pop(WRITE_DELAY_ENV, None)
    if delay is not None:
        env[WRITE_DELAY_ENV] = str(delay)
    return subprocess.Popen(
        [sys.executable, "-m", "ecocontrol.cli", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _kill_while_writing(
    proc: subprocess.Popen[str], folder: Path, target: str, timeout: float = 60
) -> Path:
    """SIGKILL ``proc`` as soon as the temp file of ``target`` (a regex) appears; return it."""
    pattern = re.compile(rf"^\.{target}\.[a-z0-9_]{{8}}\.ecotmp")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        hits = [p for p in _temp_files(folder) if pattern.match(p.name)]
        if hits:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            return hits[0]
        if proc.poll() is not None:
            pytest.fail(f"run ended before writing {target}:\n{proc.stdout.read()}")  # type: ignore[union-attr]
        time.sleep(0.01)
    proc.kill()
    pytest.fail(f"no temp file of {target} within {timeout} s")


def _finish(proc: subprocess.Popen[str]) -> str:
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    return out


def test_benchmark_killed_mid_row_and_after_the_last_row_resumes_complete(tmp_path):
    out = tmp_path / "bench"
    args = [
        "benchmark",
        "env=park",
        "env.episode_days=1",
        "controllers=[rule]",
        "windows=3",
        f"out_dir={out}",
        f"hydra.run.dir={tmp_path / 'hydra'}",
    ]
    # 1: killed while the first row is being written; the table does not exist yet.
    tmp = _kill_while_writing(_start(args, tmp_path, 0.5), out, r"benchmark_park\.csv")
    assert tmp.exists() and not (out / "benchmark_park.csv").exists()
    # 2: killed while the summary plot is written, after the last row.
    tmp = _kill_while_writing(_start(args, tmp_path, 0.2), out, r"benchmark_park\.png")
    assert tmp.exists()
    rows = pd.read_csv(out / "benchmark_park.csv")
    assert len(rows) == 3 and not (out / "trajectories_park.png").exists()
    # 3: resumed without a delay: no row recomputed, every artefact complete, no temp file.
    _finish(_start(args, tmp_path, None))
    assert _temp_files(out) == []
    log = (tmp_path / "hydra" / "benchmark.log").read_text()
    assert "resuming: 3 finished rows" in log and "removed 1 temp file" in log
    table = pd.read_csv(out / "benchmark_park.csv", dtype={"error": str})
    pd.testing.assert_frame_equal(
        table[["controller", "window", "cost_total"]], rows[["controller", "window", "cost_total"]]
    )
    assert (table["error"].fillna("") == "").all()
    assert len(pd.read_parquet(out / "benchmark_park.parquet")) == 3
    assert pd.read_csv(out / "summary_park.csv")["episodes"].tolist() == [3]
    assert (out / "summary_park.md").read_text().startswith("# park")
    for png in ("benchmark_park.png", "trajectories_park.png"):
        assert (out / png).read_bytes()[:8] == PNG_MAGIC, png


def test_training_killed_mid_checkpoint_and_mid_final_save_resumes_complete(tmp_path):
    from stable_baselines3 import PPO

    run = tmp_path / "run"
    args = [
        "train",
        "env=park",
        "env.episode_days=1",
        "total_timesteps=256",
        "n_envs=1",
        "eval_every=0",
        "checkpoint_every=64",
        "progress_bar=false",
        "agent.n_steps=64",
        "agent.batch_size=32",
        "resume=true",
        f"run_dir={run}",
        f"hydra.run.dir={tmp_path / 'hydra'}",
    ]
    ckpts = run / "checkpoints"
    # 1: killed while the second checkpoint's model is written (its statistics are complete).
    tmp = _kill_while_writing(_start(args, tmp_path, 0.3), ckpts, r"model_128_steps\.zip")
    assert tmp.exists() and not (ckpts / "model_128_steps.zip").exists()
    assert (ckpts / "model_64_steps.zip").exists()
    # 2: resumed from 64 steps, killed while the final model is written.
    tmp = _kill_while_writing(_start(args, tmp_path, 0.3), run, r"model\.zip")
    assert tmp.exists() and not (run / "model.zip").exists()
    # 3: resumed from the last checkpoint to the end, no delay.
    _finish(_start(args, tmp_path, None))
    assert _temp_files(run) == []
    model = PPO.load(run / "model.zip", device="cpu")
    assert model.num_timesteps >= 256
    with (run / "vecnormalize.pkl").open("rb") as f:
        assert pickle.load(f).obs_rms.count > 1
    assert json.loads((run / "train_summary.json").read_text())["num_timesteps"] >= 256
    for p in ckpts.glob("model_*_steps.zip"):
        PPO.load(p, device="cpu")


def test_clean_temp_files_removes_only_temp_files(tmp_path):
    write_atomic("a,b\n1,2\n", tmp_path / "t.csv")
    keep = [tmp_path / "t.csv", tmp_path / ".hidden", tmp_path / "x.ecotmp", tmp_path / ".a.tmp"]
    for p in keep[1:]:
        p.write_text("keep")
    sub = tmp_path / "sub"
    sub.mkdir()
    stale = [
        tmp_path / ".t.csv.ab12cd34.ecotmp",
        sub / ".evaluations.npz.x_y1z2w3.ecotmp.npz",
        tmp_path / ".old.csv.abcdefgh.tmp",  # the temp name before the .ecotmp mark
    ]
    for p in stale:
        p.write_text("")
    assert sorted(clean_temp_files(tmp_path)) == sorted(stale)
    assert all(p.exists() for p in keep) and not any(p.exists() for p in stale)
    assert (tmp_path / "t.csv").read_text() == "a,b\n1,2\n"
    assert oct((tmp_path / "t.csv").stat().st_mode & 0o777) == "0o644"
