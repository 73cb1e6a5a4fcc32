"""Typed run configurations: Hydra's ``DictConfig`` is checked here and stops here.

Every entry point turns its composed config into a frozen dataclass through one of these
functions before any work starts; a bad value raises :class:`ConfigError` naming the key, the
value and what is allowed. Objects (envs) are built with ``hydra.utils.instantiate`` and
their own validation errors are re-raised naming the config key.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import gymnasium as gym
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from ecocontrol.emissions import require_finite_range

R = TypeVar("R")


class ConfigError(ValueError):
    """A run config value is out of range; the message names the key."""


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
        controller_defs: controller configs by label (``_target_`` plus keyword arguments).
        windows: number of test windows from the first (``None``: all).
        seed: window ``w`` runs with ``seed + w``.
        out_dir: where the table, summary, plots and resolved config go.
        resume: skip (controller, window) rows already in ``out_dir``'s table.
        plots: write the PNG plots.
    """

    controllers: tuple[str, ...]
    controller_defs: dict[str, dict[str, Any]]
    windows: int | None
    seed: int
    out_dir: str
    resume: bool
    plots: bool


BENCHMARK_KEYS = (
    "env",
    "controllers",
    "controller_defs",
    "windows",
    "seed",
    "out_dir",
    "resume",
    "plots",
)


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
    defs = raw.get("controller_defs") or {}
    if not isinstance(defs, dict):
        raise _fail("controller_defs", defs, "a mapping of label to controller config")
    for label, d in defs.items():
        if not isinstance(d, dict) or not isinstance(d.get("_target_"), str):
            raise _fail(f"controller_defs.{label}", d, "a controller config with a _target_")
    out_dir = raw.get("out_dir")
    if not isinstance(out_dir, str) or not out_dir:
        raise _fail("out_dir", out_dir, "a directory path")
    seed = _int(raw, "seed", 0)
    assert seed is not None
    return BenchmarkConfig(
        controllers=tuple(controllers),
        controller_defs=defs,
        windows=_int(raw, "windows", 1, optional=True),
        seed=seed,
        out_dir=out_dir,
        resume=_bool(raw, "resume"),
        plots=_bool(raw, "plots"),
    )


@dataclass(frozen=True)
class TrainConfig:
    """The training settings besides the env and the agent.

    Attributes:
        total_timesteps: env steps to train in all (over all ``n_envs``).
        n_envs: parallel copies of the plant.
        vec_env: ``dummy`` (one process), ``subproc`` (one process per env) or ``native``
            (the plant's batched env: all copies in one call of the batched physics).
        seed: seeds the agent, the envs (env ``i`` gets ``seed + i``) and torch.
        normalize_obs: running observation normalisation (saved with the model).
        normalize_reward: running reward normalisation (training only).
        eval_every: env steps between evaluations on the validation windows (0: none).
        eval_episodes: validation episodes per evaluation.
        checkpoint_every: env steps between checkpoints (0: none).
        resume: continue the run in ``run_dir`` from its newest checkpoint.
        run_dir: the run directory.
        progress_bar: show a progress bar.
        device: torch device (``cpu``, ``cuda`` or ``auto``).
    """

    total_timesteps: int
    n_envs: int
    vec_env: str
    seed: int
    normalize_obs: bool
    normalize_reward: bool
    eval_every: int
    eval_episodes: int
    checkpoint_every: int
    resume: bool
    run_dir: str
    progress_bar: bool
    device: str


TRAIN_KEYS = ("env", "agent", *TrainConfig.__dataclass_fields__)


def train_config(cfg: DictConfig | Mapping[str, Any]) -> TrainConfig:
    """Validate the composed training config (all keys but ``env`` and ``agent``).

    Raises:
        ConfigError: naming the first bad key.
    """
    raw = _plain(cfg)
    _check_keys(raw, TRAIN_KEYS, "train config")
    ints = {
        "total_timesteps": _int(raw, "total_timesteps", 1),
        "n_envs": _int(raw, "n_envs", 1),
        "seed": _int(raw, "seed", 0),
        "eval_every": _int(raw, "eval_every", 0),
        "eval_episodes": _int(raw, "eval_episodes", 1),
        "checkpoint_every": _int(raw, "checkpoint_every", 0),
    }
    flags = {
        k: _bool(raw, k) for k in ("normalize_obs", "normalize_reward", "resume", "progress_bar")
    }
    choices = {"vec_env": ("dummy", "subproc", "native"), "device": ("cpu", "cuda", "auto")}
    for key, allowed in choices.items():
        if raw.get(key) not in allowed:
            raise _fail(key, raw.get(key), " or ".join(allowed))
    run_dir = raw.get("run_dir")
    if not isinstance(run_dir, str) or not run_dir:
        raise _fail("run_dir", run_dir, "a directory path")
    return TrainConfig(
        **{k: v for k, v in ints.items() if v is not None},  # type: ignore[arg-type]
        **flags,
        vec_env=raw["vec_env"],
        device=raw["device"],
        run_dir=run_dir,
    )


#: Action spaces each stable-baselines3 algorithm supports (SB3 2.x documentation).
SB3_ACTION_SPACES: dict[str, tuple[type[gym.Space[Any]], ...]] = {
    "PPO": (gym.spaces.Box, gym.spaces.Discrete, gym.spaces.MultiDiscrete, gym.spaces.MultiBinary),
    "A2C": (gym.spaces.Box, gym.spaces.Discrete, gym.spaces.MultiDiscrete, gym.spaces.MultiBinary),
    "SAC": (gym.spaces.Box,),
    "TD3": (gym.spaces.Box,),
    "DDPG": (gym.spaces.Box,),
    "DQN": (gym.spaces.Discrete,),
}
#: Hyper-parameters checked before training: (low, high, low inclusive).
_HYPER_RANGES: dict[str, tuple[float, float, bool]] = {
    "learning_rate": (0.0, 1.0, False),
    "gamma": (0.0, 1.0, False),
    "gae_lambda": (0.0, 1.0, True),
    "clip_range": (0.0, 1.0, False),
    "ent_coef": (0.0, 1.0, True),
    "vf_coef": (0.0, 10.0, True),
    "tau": (0.0, 1.0, False),
    "n_steps": (1, 1e7, True),
    "batch_size": (1, 1e7, True),
    "n_epochs": (1, 1e4, True),
    "buffer_size": (1, 1e9, True),
    "learning_starts": (0, 1e9, True),
}


def agent_spec(
    agent_cfg: DictConfig | Mapping[str, Any], action_space: gym.Space[Any]
) -> tuple[type[Any], dict[str, Any]]:
    """The agent's SB3 class and keyword arguments, checked against the env's action space.

    Raises:
        ConfigError: naming ``agent`` or ``agent.<key>``.
    """
    from hydra.utils import get_class
    from stable_baselines3.common.base_class import BaseAlgorithm

    if not isinstance(agent_cfg, DictConfig | Mapping) or "_target_" not in agent_cfg:
        raise _fail("agent", agent_cfg, "an agent config with a _target_ (agent=ppo|sac|...)")
    raw = _plain(agent_cfg)
    target = raw.pop("_target_")
    try:
        cls = get_class(str(target))
    except Exception as exc:
        raise _fail("agent._target_", target, "an importable SB3 algorithm class") from exc
    if not (isinstance(cls, type) and issubclass(cls, BaseAlgorithm)):
        raise _fail("agent._target_", target, "a stable-baselines3 algorithm class")
    spaces = SB3_ACTION_SPACES.get(cls.__name__)
    if spaces is not None and not isinstance(action_space, spaces):
        fits = sorted(n for n, sp in SB3_ACTION_SPACES.items() if isinstance(action_space, sp))
        raise ConfigError(
            f"config key agent={cls.__name__} does not support the env's action space "
            f"{type(action_space).__name__}; allowed agents: {fits}"
        )
    if "policy" not in raw or not isinstance(raw["policy"], str):
        raise _fail("agent.policy", raw.get("policy"), "a policy name, e.g. MlpPolicy")
    for key, (low, high, inclusive) in _HYPER_RANGES.items():
        value = raw.get(key)
        if value is None or (key == "ent_coef" and str(value).startswith("auto")):
            continue  # SAC's automatic entropy coefficient ("auto", "auto_0.1")
        try:
            if isinstance(value, bool):
                raise ValueError(f"agent.{key}={value!r} is not a number")
            require_finite_range(f"agent.{key}", value, low, high, low_inclusive=inclusive)
        except ValueError as exc:
            raise ConfigError(f"config key {exc}") from None
    import inspect

    params = inspect.signature(cls.__init__).parameters
    unknown = sorted(k for k in raw if k not in params)
    if unknown and not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        raise ConfigError(
            f"unknown config key(s) {['agent.' + k for k in unknown]} for {cls.__name__}; "
            f"allowed: {sorted(k for k in params if k not in ('self', 'env'))}"
        )
    return cls, raw


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
