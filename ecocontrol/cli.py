"""The command-line entry points: Hydra's mains, and the only place a DictConfig is read.

``ecocontrol-benchmark [overrides]`` (``python -m ecocontrol.cli benchmark [overrides]``,
``configs/benchmark.yaml``) runs :func:`ecocontrol.runner.run`; ``ecocontrol-train
[overrides]`` (``python -m ecocontrol.cli train [overrides]``, ``configs/train.yaml``) runs
:func:`ecocontrol.train.train`; ``ecocontrol-imitate [overrides]`` (``python -m
ecocontrol.cli imitate [overrides]``, ``configs/imitate.yaml``) runs
:func:`ecocontrol.imitation.imitate`; ``ecocontrol-dataset [overrides]`` (``python -m
ecocontrol.cli dataset [overrides]``, ``configs/dataset.yaml``) runs
:func:`ecocontrol.datasets.record_from_config`. Each turns its composed config into plain containers
(:func:`ecocontrol.config.plain_config`) and sets the process-wide things a run wants (the
log levels) here, not in the library. A bad config ends the process with exit status 2 and
a message naming the key.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import hydra
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from ecocontrol.config import ConfigError, plain_config, register_env_defaults

log = logging.getLogger(__name__)

R = TypeVar("R")


def run_or_exit(fn: Callable[[Any], R], cfg: Any) -> R:
    """``fn(cfg)`` for an entry point.

    A ``ConfigError`` ends the process with its message on stderr and exit status 2 (no
    traceback: the message names the key).
    """
    try:
        return fn(cfg)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)


def _quiet_solvers() -> None:
    """HiGHS logs every solve at INFO through Pyomo's logger: keep warnings only."""
    logging.getLogger("pyomo").setLevel(logging.WARNING)


@hydra.main(config_path="pkg://ecocontrol.configs", config_name="benchmark", version_base=None)
def _benchmark_job(cfg: DictConfig) -> None:
    """One benchmark job (each job of a multirun, in whatever process the launcher uses)."""
    from ecocontrol.runner import run

    _quiet_solvers()
    run_or_exit(run, plain_config(cfg))


@hydra.main(config_path="pkg://ecocontrol.configs", config_name="train", version_base=None)
def _train_job(cfg: DictConfig) -> float:
    """One training job; returns the best validation reward (the Optuna sweeper's objective)."""
    from ecocontrol.train import best_validation_reward, train

    return best_validation_reward(run_or_exit(train, plain_config(cfg)))


@hydra.main(config_path="pkg://ecocontrol.configs", config_name="imitate", version_base=None)
def _imitate_job(cfg: DictConfig) -> None:
    """One imitation job: demonstrations, behaviour cloning, DAgger, the saved clone."""
    from ecocontrol.imitation import imitate

    _quiet_solvers()
    run_or_exit(imitate, plain_config(cfg))


@hydra.main(config_path="pkg://ecocontrol.configs", config_name="dataset", version_base=None)
def _dataset_job(cfg: DictConfig) -> None:
    """One dataset job: a controller's episodes written as a local Minari dataset."""
    from ecocontrol.datasets import record_from_config

    _quiet_solvers()
    run_or_exit(record_from_config, plain_config(cfg))


def benchmark_main() -> None:
    """Console entry point ``ecocontrol-benchmark`` (Hydra overrides on the command line)."""
    logging.basicConfig(level=logging.WARNING)
    register_env_defaults()
    _benchmark_job()


def train_main() -> None:
    """Console entry point ``ecocontrol-train`` (Hydra overrides on the command line)."""
    logging.basicConfig(level=logging.WARNING)
    register_env_defaults()
    _train_job()


def imitate_main() -> None:
    """Console entry point ``ecocontrol-imitate`` (Hydra overrides on the command line)."""
    logging.basicConfig(level=logging.WARNING)
    register_env_defaults()
    _imitate_job()


def dataset_main() -> None:
    """Console entry point ``ecocontrol-dataset`` (Hydra overrides on the command line)."""
    logging.basicConfig(level=logging.WARNING)
    register_env_defaults()
    _dataset_job()


class SweepSummary(Callback):
    """Hydra callback: :func:`ecocontrol.sweeps.summarize_sweep` after a benchmark multirun."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        """Summarise the finished sweep (a failure here never fails the sweep)."""
        from ecocontrol.sweeps import summarize_sweep

        try:
            summarize_sweep(config.hydra.sweep.dir)
        except Exception:
            log.exception("sweep summary failed")


MAINS: dict[str, Callable[[], None]] = {
    "benchmark": benchmark_main,
    "train": train_main,
    "imitate": imitate_main,
    "dataset": dataset_main,
}


def main() -> None:
    """``python -m ecocontrol.cli benchmark|train|imitate|dataset [Hydra overrides]``."""
    if len(sys.argv) < 2 or sys.argv[1] not in MAINS:
        print(
            "usage: python -m ecocontrol.cli {benchmark,train,imitate,dataset} "
            "[Hydra overrides]\n"
            "  (or the console scripts ecocontrol-benchmark, ecocontrol-train, "
            "ecocontrol-imitate, ecocontrol-dataset)",
            file=sys.stderr,
        )
        sys.exit(2)
    MAINS[sys.argv.pop(1)]()


if __name__ == "__main__":
    main()
