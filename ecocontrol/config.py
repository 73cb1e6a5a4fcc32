"""Typed run configurations: Hydra's ``DictConfig`` is checked here and stops here.

The entry points (:mod:`ecocontrol.cli`) turn their composed config into plain containers with
:func:`plain_config`; everything past that takes plain mappings. Each run's settings become a
frozen dataclass through one of these functions before any work starts; a bad value raises
:class:`ConfigError` naming the key, the value and what is allowed.

Envs are built from a config in one way, :func:`env_parts` (the env class and its keyword
arguments) and :func:`build_env`; an env's own validation errors are re-raised naming the
config key. The plant configs (``configs/env/*.yaml``) hold only ``_target_`` and the keys a
user changes most: every other keyword of the env and every field of its parameter dataclass
comes from the code (:func:`env_defaults`, put in Hydra's config store as
``env_defaults/<plant>`` by :func:`register_env_defaults`), so it still overrides from the
command line and the dataclass stays the one source of defaults.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import sys
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
from hydra.errors import InstantiationException
from hydra.utils import get_class, instantiate
from omegaconf import DictConfig, OmegaConf

from ecocontrol.validation import (
    is_integer,
    require_finite_range,
    require_int,
    require_seed,
    require_writable_dir,
)


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


def _seed(raw: Mapping[str, Any], key: str, span: int = 1) -> int:
    try:
        return require_seed(key, raw.get(key), span)
    except ValueError as exc:
        raise ConfigError(f"config key {exc}") from None


def _directory(raw: Mapping[str, Any], key: str) -> str:
    """A non-empty path of a directory that exists or can be made, and can be written."""
    value = raw.get(key)
    if not isinstance(value, str) or not value:
        raise _fail(key, value, "a directory path")
    try:
        require_writable_dir(key, value)
    except ValueError as exc:
        raise ConfigError(f"config key {exc}") from None
    return value


#: The validation env of a training run is seeded with ``seed + EVAL_SEED_OFFSET``.
EVAL_SEED_OFFSET = 10_000


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


def benchmark_config(cfg: Mapping[str, Any]) -> BenchmarkConfig:
    """Validate the composed benchmark config (all keys but ``env``).

    Raises:
        ConfigError: naming the first bad key.
    """
    raw = _container(cfg)
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
    out_dir = _directory(raw, "out_dir")
    seed = _seed(raw, "seed")
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
        eval_episodes: validation episodes per evaluation (``None``: every validation
            window, so the best model is chosen on all of them).
        checkpoint_every: env steps between checkpoints (0: none).
        resume: continue the run in ``run_dir`` from its newest checkpoint.
        run_dir: the run directory.
        progress_bar: show a progress bar.
        device: torch device (``cpu``, ``cuda`` or ``auto``).
        interface: the agent interface, ``{"name": ..., **settings}``
            (:mod:`ecocontrol.interfaces`; ``direct``: the plant's own action space).
        reward_baseline: ``none`` or ``rule`` (:class:`ecocontrol.interfaces.env.AgentEnv`).
        shaping: the interface's potential-based reward shaping.
        init_from: a model (run directory or ``.zip``) whose policy weights and observation
            statistics start the run (e.g. a behaviour-cloned policy); ``None``: random.
    """

    total_timesteps: int
    n_envs: int
    vec_env: str
    seed: int
    normalize_obs: bool
    normalize_reward: bool
    eval_every: int
    eval_episodes: int | None
    checkpoint_every: int
    resume: bool
    run_dir: str
    progress_bar: bool
    device: str
    interface: dict[str, Any] = field(default_factory=lambda: {"name": "direct"})
    reward_baseline: str = "none"
    shaping: bool = False
    init_from: str | None = None

    @property
    def wrapped(self) -> bool:
        """True when the agent trains through :class:`~ecocontrol.interfaces.env.AgentEnv`."""
        return (
            self.interface.get("name", "direct") != "direct"
            or self.reward_baseline != "none"
            or self.shaping
        )


TRAIN_KEYS = ("env", "agent", *TrainConfig.__dataclass_fields__)


def train_config(cfg: Mapping[str, Any]) -> TrainConfig:
    """Validate the composed training config (all keys but ``env`` and ``agent``).

    Raises:
        ConfigError: naming the first bad key.
    """
    raw = _container(cfg)
    _check_keys(raw, TRAIN_KEYS, "train config")
    ints = {
        "total_timesteps": _int(raw, "total_timesteps", 1),
        "n_envs": _int(raw, "n_envs", 1),
        "eval_every": _int(raw, "eval_every", 0),
        "checkpoint_every": _int(raw, "checkpoint_every", 0),
    }
    flags = {
        k: _bool(raw, k) for k in ("normalize_obs", "normalize_reward", "resume", "progress_bar")
    }
    choices = {"vec_env": ("dummy", "subproc", "native"), "device": ("cpu", "cuda", "auto")}
    for key, allowed in choices.items():
        if raw.get(key) not in allowed:
            raise _fail(key, raw.get(key), " or ".join(allowed))
    if raw["device"] == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise _fail("device", "cuda", "cpu or auto (this machine has no CUDA device)")
    split = raw.get("env", {}).get("split", "train") if isinstance(raw.get("env"), dict) else None
    if split not in (None, "train"):
        raise _fail(
            "env.split",
            split,
            "train (training always runs on the train split and validates on val; "
            "the key would be ignored)",
        )
    n_envs = ints["n_envs"]
    assert n_envs is not None
    # env i is seeded with seed + i, the validation env with seed + 10_000
    seed = _seed(raw, "seed", span=max(n_envs, EVAL_SEED_OFFSET + 1))
    run_dir = _directory(raw, "run_dir")
    interface = raw.get("interface") or {"name": "direct"}
    if not isinstance(interface, dict) or not isinstance(interface.get("name", "direct"), str):
        raise _fail("interface", interface, "a mapping with a name (direct, residual, ...)")
    from ecocontrol.interfaces.env import REWARD_BASELINES

    baseline = raw.get("reward_baseline", "none")
    if baseline not in REWARD_BASELINES:
        raise _fail("reward_baseline", baseline, " or ".join(REWARD_BASELINES))
    shaping = _bool({"shaping": raw.get("shaping", False)}, "shaping")
    init_from = raw.get("init_from")
    if init_from is not None and not (isinstance(init_from, str) and Path(init_from).exists()):
        raise _fail("init_from", init_from, "null or an existing run directory or model .zip")
    env = raw.get("env")
    randomised = isinstance(env, Mapping) and env.get("drift_randomise") is True
    if (
        interface.get("name", "direct") != "direct" or baseline != "none" or shaping or randomised
    ) and raw["vec_env"] == "native":
        # interfaces step single plants (their controllers); so does domain randomisation
        # over the drift (each single env draws its episode's level: envs/drift.py)
        raw = {**raw, "vec_env": "dummy"}
    return TrainConfig(
        **{k: v for k, v in ints.items() if v is not None},  # type: ignore[arg-type]
        eval_episodes=_int(raw, "eval_episodes", 1, optional=True),
        interface={"name": "direct", **interface},
        reward_baseline=baseline,
        shaping=shaping,
        init_from=init_from,
        seed=seed,
        **flags,
        vec_env=raw["vec_env"],
        device=raw["device"],
        run_dir=run_dir,
    )


#: Action spaces each stable-baselines3 (and sb3-contrib) algorithm supports (SB3 2.x
#: documentation; MaskablePPO masks discrete choices only).
SB3_ACTION_SPACES: dict[str, tuple[type[gym.Space[Any]], ...]] = {
    "PPO": (gym.spaces.Box, gym.spaces.Discrete, gym.spaces.MultiDiscrete, gym.spaces.MultiBinary),
    "A2C": (gym.spaces.Box, gym.spaces.Discrete, gym.spaces.MultiDiscrete, gym.spaces.MultiBinary),
    "SAC": (gym.spaces.Box,),
    "TD3": (gym.spaces.Box,),
    "DDPG": (gym.spaces.Box,),
    "DQN": (gym.spaces.Discrete,),
    "MaskablePPO": (gym.spaces.Discrete, gym.spaces.MultiDiscrete, gym.spaces.MultiBinary),
}
#: Keyword arguments the run itself gives the algorithm: an ``agent.<key>`` would clash.
_RUN_SET_AGENT_KEYS: dict[str, str] = {
    "env": "the env config (env=...)",
    "seed": "the top-level seed",
    "device": "the top-level device",
    "tensorboard_log": "the run directory (run_dir/tb)",
    "_init_setup_model": "the run",
}
_INF = math.inf


def _number(low: float, high: float = _INF, lo_in: bool = True, hi_in: bool = True) -> Any:
    def check(key: str, value: Any) -> Any:
        require_finite_range(key, value, low, high, low_inclusive=lo_in, high_inclusive=hi_in)
        return value

    return check


def _integer(low: int, high: int | None = None, *, also: tuple[int, ...] = ()) -> Any:
    def check(key: str, value: Any) -> Any:
        if is_integer(value) and int(value) in also:
            return int(value)
        try:
            return require_int(key, value, low, high)
        except ValueError as exc:
            if not also:
                raise
            raise ValueError(f"{exc} or one of {list(also)}") from None

    return check


def _flag(key: str, value: Any) -> Any:
    if not isinstance(value, bool):
        raise ValueError(f"{key}={value!r} is not a bool; allowed: true or false")
    return value


def _nullable(check: Any) -> Any:
    def nullable(key: str, value: Any) -> Any:
        if value is None:
            return None
        try:
            return check(key, value)
        except ValueError as exc:
            raise ValueError(f"{exc} or null") from None

    return nullable


def _train_freq(key: str, value: Any) -> Any:
    if is_integer(value):
        return require_int(key, value, 1)
    if (
        isinstance(value, list | tuple)
        and len(value) == 2
        and is_integer(value[0])
        and int(value[0]) >= 1
        and value[1] in ("step", "episode")
    ):
        return (int(value[0]), value[1])
    raise ValueError(
        f"{key}={value!r} is invalid; allowed: an integer >= 1 or [n >= 1, step|episode]"
    )


def _ent_coef(key: str, value: Any) -> Any:
    """SAC's entropy coefficient: a number in [0, 1], ``auto`` or ``auto_<initial > 0>``."""
    allowed = "a finite number in [0, 1], 'auto' or 'auto_<initial value > 0>' (e.g. auto_0.1)"
    if isinstance(value, str):
        if value == "auto":
            return value
        head, _, tail = value.partition("_")
        try:
            initial = float(tail)
        except ValueError:
            initial = math.nan
        if head == "auto" and math.isfinite(initial) and initial > 0:
            return value
        raise ValueError(f"{key}={value!r} is invalid; allowed: {allowed}")
    try:
        require_finite_range(key, value, 0.0, 1.0)
    except ValueError:
        raise ValueError(f"{key}={value!r} is invalid; allowed: {allowed}") from None
    return value


def _target_entropy(key: str, value: Any) -> Any:
    if value == "auto":
        return value
    try:
        require_finite_range(key, value)
    except ValueError as exc:
        raise ValueError(f"{exc} or 'auto'") from None
    return value


#: Hyper-parameters checked before training, by name: each check returns the value to use
#: or raises a ValueError naming the key and the allowed range (SB3 2.x semantics).
_HYPER_CHECKS: dict[str, Any] = {
    "learning_rate": _number(0.0, 1.0, lo_in=False),
    "gamma": _number(0.0, 1.0, lo_in=False),
    "gae_lambda": _number(0.0, 1.0),
    "clip_range": _number(0.0, 1.0, lo_in=False),
    "clip_range_vf": _nullable(_number(0.0, lo_in=False)),  # SB3 asserts > 0
    "ent_coef": _number(0.0, 1.0),
    "vf_coef": _number(0.0, 10.0),
    "max_grad_norm": _number(0.0, lo_in=False),
    "target_kl": _nullable(_number(0.0, lo_in=False)),
    "tau": _number(0.0, 1.0, lo_in=False),
    "rms_prop_eps": _number(0.0, 1.0, lo_in=False),
    "n_steps": _integer(1, 10**7),
    "batch_size": _integer(1, 10**7),
    "n_epochs": _integer(1, 10**4),
    "buffer_size": _integer(1, 10**9),
    "learning_starts": _integer(0, 10**9),
    "gradient_steps": _integer(1, 10**6, also=(-1,)),
    "train_freq": _train_freq,
    "policy_delay": _integer(1, 10**6),
    "target_update_interval": _integer(1, 10**9),
    "target_policy_noise": _number(0.0, 10.0),
    "target_noise_clip": _number(0.0, 10.0),
    "exploration_fraction": _number(0.0, 1.0),
    "exploration_initial_eps": _number(0.0, 1.0),
    "exploration_final_eps": _number(0.0, 1.0),
    "sde_sample_freq": _integer(-1, 10**9),
    "stats_window_size": _integer(1, 10**6),
    "verbose": _integer(0, 2),
    "use_sde": _flag,
    "use_sde_at_warmup": _flag,
    "normalize_advantage": _flag,
    "use_rms_prop": _flag,
    "optimize_memory_usage": _flag,
    "target_entropy": _target_entropy,
}
#: Per algorithm, checks that differ from :data:`_HYPER_CHECKS`.
_ALGO_CHECKS: dict[str, dict[str, Any]] = {"SAC": {"ent_coef": _ent_coef}}
#: Activation functions a config may name (torch.nn classes), by lower-case name.
_ACTIVATIONS = (
    "ReLU",
    "Tanh",
    "ELU",
    "LeakyReLU",
    "GELU",
    "SiLU",
    "SELU",
    "CELU",
    "Mish",
    "Sigmoid",
    "Softplus",
    "Hardswish",
    "Hardtanh",
    "Identity",
)
_OPTIMIZERS = ("Adam", "AdamW", "RMSprop", "SGD", "Adamax", "NAdam", "RAdam")


def _torch_class(key: str, value: Any, module: Any, names: tuple[str, ...]) -> Any:
    """A torch class named in a config (case and underscores ignored), or the class itself."""
    if isinstance(value, type):
        return value
    if isinstance(value, str):
        wanted = value.replace("_", "").lower().removeprefix("torch.nn.").removeprefix("nn.")
        wanted = wanted.removeprefix("torch.optim.")
        for name in names:
            if name.lower() == wanted:
                return getattr(module, name)
    raise ValueError(f"{key}={value!r} is unknown; allowed: one of {list(names)}")


def _net_arch(key: str, value: Any, off_policy: bool) -> Any:
    heads = ("pi", "qf") if off_policy else ("pi", "vf")
    allowed = (
        "a list of layer sizes (integers in [1, 65536]) or a mapping "
        f"{{{heads[0]}: [...], {heads[1]}: [...]}}"
    )

    def layers(k: str, sizes: Any) -> list[int]:
        if not isinstance(sizes, list | tuple):
            raise ValueError(f"{k}={sizes!r} is invalid; allowed: {allowed}")
        out = []
        for i, n in enumerate(sizes):
            try:
                out.append(require_int(f"{k}[{i}]", n, 1, 65536))
            except ValueError as exc:
                raise ValueError(f"{exc} (a layer size)") from None
        return out

    if isinstance(value, Mapping):
        unknown = sorted(set(value) - set(heads))
        if unknown:
            raise ValueError(f"{key} has unknown head(s) {unknown}; allowed: {allowed}")
        return {h: layers(f"{key}.{h}", v) for h, v in value.items()}
    return layers(key, value)


def _policy_kwargs(
    cls: type[Any], policy_cls: type[Any], value: Any, off_policy: bool
) -> dict[str, Any]:
    """``agent.policy_kwargs`` checked against the policy class (names become classes)."""
    key = "agent.policy_kwargs"
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"{key}={value!r} is invalid; allowed: a mapping of policy arguments")
    import torch

    params = inspect.signature(policy_cls.__init__).parameters
    own = ("self", "observation_space", "action_space", "lr_schedule")
    known = sorted(k for k in params if k not in own)
    out = dict(value)
    for k, v in value.items():
        name = f"{key}.{k}"
        if k not in known:
            raise ValueError(
                f"{name} is unknown for {cls.__name__}'s {policy_cls.__name__}; allowed: {known}"
            )
        if k == "net_arch":
            out[k] = _net_arch(name, v, off_policy)
        elif k == "activation_fn":
            out[k] = _torch_class(name, v, torch.nn, _ACTIVATIONS)
        elif k == "optimizer_class":
            out[k] = _torch_class(name, v, torch.optim, _OPTIMIZERS)
        elif k in ("ortho_init", "share_features_extractor", "normalize_images", "squash_output"):
            _flag(name, v)
        elif k in ("log_std_init", "clip_mean"):
            require_finite_range(name, v, -20.0, 20.0)
        elif k == "n_critics":
            require_int(name, v, 1, 100)
    return out


def _policy(cls: type[Any], value: Any, observation_space: gym.Space[Any] | None) -> str:
    aliases = sorted(getattr(cls, "policy_aliases", {}))
    fits = aliases
    if isinstance(observation_space, gym.spaces.Dict):
        fits = [a for a in aliases if a == "MultiInputPolicy"]
    elif isinstance(observation_space, gym.spaces.Box) and len(observation_space.shape) == 1:
        fits = [a for a in aliases if a == "MlpPolicy"]
    if not isinstance(value, str) or value not in fits:
        what = " for a flat (1-D) Box observation" if fits != aliases else ""
        raise ValueError(f"agent.policy={value!r} is invalid{what}; allowed: one of {fits}")
    return value


def agent_spec(
    agent_cfg: Mapping[str, Any],
    action_space: gym.Space[Any],
    *,
    n_envs: int = 1,
    observation_space: gym.Space[Any] | None = None,
) -> tuple[type[Any], dict[str, Any]]:
    """The agent's SB3 class and keyword arguments, checked against the env's spaces.

    Every hyper-parameter is checked by type and range against what the algorithm accepts
    (PPO and sb3-contrib's MaskablePPO: ``n_steps * n_envs > 1`` and ``batch_size > 1`` when
    normalising advantages; MaskablePPO takes only discrete action spaces, e.g. the
    MultiDiscrete of an interface with action masks);
    ``policy_kwargs`` against the policy class (``activation_fn`` and ``optimizer_class``
    may be given by name and come back as torch classes).

    Raises:
        ConfigError: naming ``agent`` or ``agent.<key>`` and the allowed range.
    """
    from stable_baselines3.common.base_class import BaseAlgorithm
    from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm

    if not isinstance(agent_cfg, Mapping) or "_target_" not in agent_cfg:
        raise _fail("agent", agent_cfg, "an agent config with a _target_ (agent=ppo|sac|...)")
    raw = _container(agent_cfg)
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
        hint = (
            " (MaskablePPO needs a discrete interface with action masks, e.g. the hot "
            "stoves' interface={name: decision})"
            if cls.__name__ == "MaskablePPO"
            else ""
        )
        raise ConfigError(
            f"config key agent={cls.__name__} does not support the env's action space "
            f"{type(action_space).__name__}; allowed agents: {fits}{hint}"
        )
    params = inspect.signature(cls.__init__).parameters
    clash = sorted(k for k in raw if k in _RUN_SET_AGENT_KEYS)
    if clash:
        k = clash[0]
        raise ConfigError(
            f"config key agent.{k}={raw[k]!r} is set by the run, not the agent; allowed: "
            f"{_RUN_SET_AGENT_KEYS[k]}"
        )
    unknown = sorted(k for k in raw if k not in params)
    if unknown and not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        raise ConfigError(
            f"unknown config key(s) {['agent.' + k for k in unknown]} for {cls.__name__}; "
            f"allowed: {sorted(k for k in params if k not in ('self', *_RUN_SET_AGENT_KEYS))}"
        )
    checks = {**_HYPER_CHECKS, **_ALGO_CHECKS.get(cls.__name__, {})}
    try:
        raw["policy"] = _policy(cls, raw.get("policy"), observation_space)
        for key, check in checks.items():
            if key in raw:
                raw[key] = check(f"agent.{key}", raw[key])
        off_policy = issubclass(cls, OffPolicyAlgorithm)
        policy_cls = cls.policy_aliases[raw["policy"]]
        if "policy_kwargs" in raw:
            raw["policy_kwargs"] = _policy_kwargs(cls, policy_cls, raw["policy_kwargs"], off_policy)
        _algo_rules(cls, raw, params, n_envs)
    except ValueError as exc:
        raise ConfigError(f"config key {exc}") from None
    return cls, raw


def _algo_rules(cls: type[Any], raw: dict[str, Any], params: Any, n_envs: int) -> None:
    """Rules between keys that SB3 asserts at construction (checked here, before work)."""
    from sb3_contrib import MaskablePPO
    from stable_baselines3 import PPO

    def value(k: str) -> Any:
        return raw[k] if k in raw else params[k].default

    if issubclass(cls, PPO | MaskablePPO) and value("normalize_advantage"):
        n_steps, batch = value("n_steps"), value("batch_size")
        if n_steps * n_envs <= 1:
            raise ValueError(
                f"agent.n_steps={n_steps} with n_envs={n_envs} gives a rollout of "
                f"{n_steps * n_envs} step; allowed: n_steps * n_envs > 1 (PPO normalises "
                "advantages over the rollout)"
            )
        if batch <= 1:
            raise ValueError(
                f"agent.batch_size={batch} is out of range; allowed: an integer > 1 (PPO "
                "normalises advantages over each minibatch)"
            )


#: Keyword arguments of a simulator that a config never sets.
_NOT_CONFIG = ("self", "num_envs", "autoreset_mode")
#: Config keys that steer Hydra's instantiation, not the env.
_HYDRA_KEYS = ("_target_", "_convert_", "_partial_", "_recursive_", "_args_")


def _yaml_value(value: Any) -> Any:
    """``value`` as a config value (tuples as lists), or ``_NO_VALUE`` if it has none."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        items = [_yaml_value(v) for v in value]
        return _NO_VALUE if any(v is _NO_VALUE for v in items) else items
    return _NO_VALUE


_NO_VALUE = object()


def _dataclass_in(hint: Any) -> type[Any] | None:
    """The dataclass in a type hint such as ``ParkParams | None`` (None if there is none)."""
    for candidate in (hint, *typing.get_args(hint)):
        if isinstance(candidate, type) and dataclasses.is_dataclass(candidate):
            return candidate
    return None


def _hint(fn: Any, name: str) -> Any:
    """The evaluated type hint of ``fn``'s argument ``name`` (None if it cannot be had)."""
    try:
        return typing.get_type_hints(fn).get(name)
    except Exception:  # another argument's hint does not resolve: evaluate this one alone
        hint = fn.__annotations__.get(name)
        try:
            return eval(hint, vars(sys.modules[fn.__module__])) if isinstance(hint, str) else hint
        except Exception:
            return None


def dataclass_defaults(cls: type[Any]) -> dict[str, Any]:
    """A parameter dataclass as a config: ``_target_`` and every field's default."""
    out: dict[str, Any] = {"_target_": f"{cls.__module__}.{cls.__qualname__}"}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            value = _yaml_value(f.default)
        elif f.default_factory is not dataclasses.MISSING:
            value = _yaml_value(f.default_factory())
        else:
            continue
        if value is not _NO_VALUE:
            out[f.name] = value
    return out


def env_defaults(env_cls: type[Any]) -> dict[str, Any]:
    """Every default of an env class that a config can hold, taken from the code.

    The keyword arguments of the env's simulator (``env_cls.simulator``, else the class
    itself) with a plain, non-null default, and ``params``: every field of the parameter
    dataclass its type hint names (:func:`dataclass_defaults`).
    """
    init = getattr(env_cls, "simulator", env_cls).__init__
    out: dict[str, Any] = {}
    for name, p in inspect.signature(init).parameters.items():
        if name in _NOT_CONFIG or p.default is p.empty:
            continue
        if name == "params":
            params_cls = _dataclass_in(_hint(init, name))
            if params_cls is not None:
                out[name] = dataclass_defaults(params_cls)
            continue
        value = _yaml_value(p.default)
        if value is not None and value is not _NO_VALUE:
            out[name] = value
    return out


def _merged(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` updated by ``over``, nested mappings merged (as Hydra merges configs)."""
    out = dict(base)
    for k, v in over.items():
        b = out.get(k)
        out[k] = _merged(b, v) if isinstance(b, Mapping) and isinstance(v, Mapping) else v
    return out


def _same(value: Any, default: Any) -> bool:
    """True if a config value is its default (same type; lists and tuples alike)."""
    if isinstance(value, list | tuple) and isinstance(default, list | tuple):
        return len(value) == len(default) and all(
            _same(v, d) for v, d in zip(value, default, strict=True)
        )
    return type(value) is type(default) and value == default


def _without_defaults(cfg: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """``cfg`` without the values equal to their default (the code then uses its own)."""
    out: dict[str, Any] = {}
    for k, v in cfg.items():
        d = defaults.get(k, _NO_VALUE)
        if isinstance(v, Mapping) and isinstance(d, Mapping):
            out[k] = _without_defaults(v, d)
        elif k in _HYDRA_KEYS or d is _NO_VALUE or not _same(v, d):
            out[k] = v
    return out


def _env_class(env_cfg: Any, key: str) -> tuple[type[Any], dict[str, Any]]:
    """The env class a config names and the config as plain containers."""
    if not isinstance(env_cfg, Mapping) or "_target_" not in env_cfg:
        raise _fail(key, env_cfg, "an env config with a _target_ (env=park|hot_stove|...)")
    plain = _container(env_cfg)
    try:
        cls = get_class(str(plain["_target_"]))
    except Exception as exc:
        raise _fail(f"{key}._target_", plain["_target_"], "an importable env class") from exc
    return cls, plain


def resolved_env_config(env_cfg: Mapping[str, Any], key: str = "env") -> dict[str, Any]:
    """An env config with every default of :func:`env_defaults` filled in.

    A composed config already holds them (``env_defaults/<plant>``), so this changes nothing
    there; a hand-written mapping gets the same keys. The benchmark's config hash is computed
    from this, so it does not depend on how much of the config a YAML file spells out.
    """
    cls, plain = _env_class(env_cfg, key)
    return _merged(env_defaults(cls), plain)


#: Env keys (and parameter fields, under ``params``) added after results were committed, at
#: the value that leaves the plant bit-identical to before they existed (tested in
#: ``tests/test_drift.py``): :func:`hashed_env_config` leaves them out, so the config hashes
#: of committed rows, and any table's resume, stay valid. Any other value enters the hash.
NEUTRAL_ENV_KEYS: dict[str, Any] = {"drift": 0.0, "drift_randomise": False}
NEUTRAL_PARAM_FIELDS: dict[str, Any] = {"shell_loss_factor": 1.0}


def _neutral(value: Any, neutral: Any) -> bool:
    if isinstance(neutral, bool) or isinstance(value, bool):
        return value is neutral
    if isinstance(value, Mapping):  # drift={...}: neutral when every severity is
        return all(_neutral(v, neutral) for v in value.values())
    return isinstance(value, int | float) and value == neutral


def hashed_env_config(env_cfg: Mapping[str, Any]) -> dict[str, Any]:
    """A resolved env config as config hashes see it.

    :data:`NEUTRAL_ENV_KEYS` and :data:`NEUTRAL_PARAM_FIELDS` at their neutral values are left
    out.
    """
    out = {
        k: v
        for k, v in env_cfg.items()
        if not (k in NEUTRAL_ENV_KEYS and _neutral(v, NEUTRAL_ENV_KEYS[k]))
    }
    params = out.get("params")
    if isinstance(params, Mapping):
        out["params"] = {
            k: v
            for k, v in params.items()
            if not (k in NEUTRAL_PARAM_FIELDS and _neutral(v, NEUTRAL_PARAM_FIELDS[k]))
        }
    return out


def env_parts(env_cfg: Mapping[str, Any], key: str = "env") -> tuple[type[Any], dict[str, Any]]:
    """The env class an env config names and its keyword arguments (``params`` built).

    The one way an env config becomes an env: :func:`build_env` calls the class with the
    arguments, :func:`ecocontrol.vec.make_native` its simulator (``cls.simulator``). Values
    equal to the code's defaults are left to the code.

    Raises:
        ConfigError: naming ``key`` if the config is not an env config or a parameter
            dataclass refuses a value.
    """
    cls, plain = _env_class(env_cfg, key)
    args = _without_defaults(plain, env_defaults(cls))
    try:
        made = instantiate({**args, "_partial_": True})
    except InstantiationException as exc:
        cause = exc.__cause__ if exc.__cause__ is not None else exc
        raise ConfigError(f"config key {key}: {cause}") from exc
    return cls, dict(made.keywords)


def build_env(env_cfg: Mapping[str, Any], key: str = "env", **overrides: Any) -> gym.Env[Any, Any]:
    """The env of an env config (``overrides`` replace its keys, e.g. ``split="train"``).

    Raises:
        ConfigError: naming ``key`` if the config is not an env config or the env refuses a
            value.
    """
    cls, kwargs = env_parts(env_cfg, key)
    try:
        env = cls(**{**kwargs, **overrides})
    except Exception as exc:  # the env's own validation: every message names the argument
        raise ConfigError(f"config key {key}: {exc}") from exc
    if not isinstance(env, gym.Env):
        raise _fail(key, type(env).__name__, "a Gymnasium env")
    return env


def _plant_configs() -> dict[str, str]:
    """The packaged plant configs: config name -> the env class path (its ``_target_``)."""
    from importlib import resources

    out = {}
    for f in sorted(resources.files("ecocontrol.configs").joinpath("env").iterdir(), key=str):
        if f.name.endswith(".yaml"):
            loaded = OmegaConf.create(f.read_text(encoding="utf-8"))
            target = loaded.get("_target_") if isinstance(loaded, DictConfig) else None
            if isinstance(target, str):
                out[f.name.removesuffix(".yaml")] = target
    return out


def register_env_defaults() -> None:
    """Put each packaged plant's :func:`env_defaults` in Hydra's config store.

    As ``env_defaults/<plant>``, which ``benchmark.yaml`` and ``train.yaml`` merge under the
    chosen ``env`` (so ``env.params.<field>=...`` overrides any field). Called by the
    ``ecocontrol.configs`` package on import; calling it again changes nothing.
    """
    from hydra.core.config_store import ConfigStore

    store = ConfigStore.instance()
    for name, target in _plant_configs().items():
        node = {"_target_": target, **env_defaults(get_class(target))}  # _target_ first
        store.store(group="env_defaults", name=name, node=node)


def plain_config(cfg: DictConfig | Mapping[str, Any]) -> dict[str, Any]:
    """A composed config as plain containers, interpolations resolved: where DictConfig stops."""
    return _container(cfg)


def to_yaml(cfg: Mapping[str, Any]) -> str:
    """A plain config as YAML (as Hydra writes a resolved config)."""
    return OmegaConf.to_yaml(OmegaConf.create(dict(cfg)))


def _container(cfg: Any) -> dict[str, Any]:
    """A mapping (or DictConfig) as a new plain dict, nested configs resolved to containers."""
    if OmegaConf.is_config(cfg):
        out = OmegaConf.to_container(cfg, resolve=True)
        assert isinstance(out, dict)
        return {str(k): v for k, v in out.items()}
    return {str(k): _plain_value(v) for k, v in cfg.items()}


def _plain_value(value: Any) -> Any:
    if OmegaConf.is_config(value):
        return OmegaConf.to_container(value, resolve=True)
    return _container(value) if isinstance(value, Mapping) else value
