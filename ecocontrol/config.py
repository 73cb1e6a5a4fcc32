"""Typed run configurations: Hydra's ``DictConfig`` is checked here and stops here.

Every entry point turns its composed config into a frozen dataclass through one of these
functions before any work starts; a bad value raises :class:`ConfigError` naming the key, the
value and what is allowed. Objects (envs) are built with ``hydra.utils.instantiate`` and
their own validation errors are re-raised naming the config key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf


class ConfigError(ValueError):
    """A run config value is out of range; the message names the key."""


def _fail(key: str, value: object, allowed: str) -> ConfigError:
    return ConfigError(f"config key {key}={value!r} is invalid; allowed: {allowed}")


def _int(raw: Mapping[str, Any], key: str, low: int, *, optional: bool = False) -> int | None:
    value = raw.get(key)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        allowed = f"an integer >= {low}" + (" or null" if optional else "")
        raise _fail(key, value, allowed)
    return int(value)


def _bool(raw: Mapping[str, Any], key: str) -> bool:
    value = raw.get(key)
    if not isinstance(value, bool):
        raise _fail(key, value, "true or false")
    return value


def _check_keys(raw: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(raw) - set(allowed))
    if unknown:
        raise ConfigError(f"unknown config key(s) {unknown} in {where}; allowed: {list(allowed)}")


@dataclass(frozen=True)
class BenchmarkConfig:
    """The benchmark's settings besides the env.

    Attributes:
        controllers: labels to run (empty: the plant's defaults).
        windows: number of test windows from the first (``None``: all).
        seed: window ``w`` runs with ``seed + w``.
        out_dir: where the table, summary, plots and resolved config go.
        resume: skip (controller, window) rows already in ``out_dir``'s table.
        plots: write the PNG plots.
    """

    controllers: tuple[str, ...]
    windows: int | None
    seed: int
    out_dir: str
    resume: bool
    plots: bool


BENCHMARK_KEYS = ("env", "controllers", "windows", "seed", "out_dir", "resume", "plots")


def benchmark_config(cfg: DictConfig | Mapping[str, Any]) -> BenchmarkConfig:
    """Validate the composed benchmark config (all keys but ``env``).

    Raises:
        ConfigError: naming the first bad key.
    """
    raw = _plain(cfg)
    _check_keys(raw, BENCHMARK_KEYS, "benchmark config")
    controllers = raw.get("controllers")
    if controllers is None:
        controllers = []
    if isinstance(controllers, str) or not isinstance(controllers, list | tuple):
        raise _fail("controllers", controllers, "a list of controller labels, e.g. [rule,mpc]")
    for c in controllers:
        if not isinstance(c, str) or not c:
            raise _fail("controllers", controllers, "non-empty label strings")
    if len(set(controllers)) != len(controllers):
        raise _fail("controllers", controllers, "labels without repeats")
    out_dir = raw.get("out_dir")
    if not isinstance(out_dir, str) or not out_dir:
        raise _fail("out_dir", out_dir, "a directory path")
    seed = _int(raw, "seed", 0)
    assert seed is not None
    return BenchmarkConfig(
        controllers=tuple(controllers),
        windows=_int(raw, "windows", 1, optional=True),
        seed=seed,
        out_dir=out_dir,
        resume=_bool(raw, "resume"),
        plots=_bool(raw, "plots"),
    )


def build_env(env_cfg: DictConfig | Mapping[str, Any], key: str = "env") -> gym.Env[Any, Any]:
    """Instantiate an env config; a parameter error is re-raised naming ``key``.

    Raises:
        ConfigError: if the config is not an env config or the env refuses a value.
    """
    if not isinstance(env_cfg, DictConfig | Mapping) or "_target_" not in env_cfg:
        raise _fail(key, env_cfg, "an env config with a _target_ (env=park|hot_stove|...)")
    try:
        env = instantiate(env_cfg)
    except InstantiationException as exc:
        cause = exc.__cause__ if exc.__cause__ is not None else exc
        raise ConfigError(f"config key {key}: {cause}") from exc
    if not isinstance(env, gym.Env):
        raise _fail(key, type(env).__name__, "a Gymnasium env")
    return env


def _plain(cfg: DictConfig | Mapping[str, Any]) -> dict[str, Any]:
    """A plain dict of ``cfg``'s top level, nested configs resolved to containers."""
    return {
        str(k): OmegaConf.to_container(v, resolve=True) if OmegaConf.is_config(v) else v
        for k, v in cfg.items()
    }
