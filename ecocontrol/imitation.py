"""Agents started from an expert: demonstrations, behaviour cloning and DAgger on SB3 policies.

The expert is any controller of the plant (by default the MPC on the env's noisy forecasts,
which knows what the agent's observation holds). The pipeline:

1. :func:`record_demonstrations` runs the expert on seeded train windows through the one
   evaluation loop (:func:`ecocontrol.evaluation.run_episode`) and keeps every step's
   observation, action, reward and episode end, plus each episode's window, seed and KPIs
   (:class:`Demonstrations`, saved as a compressed ``.npz`` with JSON metadata).
2. :func:`behaviour_clone` ([Pomerleau1991]) builds a stable-baselines3 PPO or SAC model with
   the policy of ``configs/agent/<algo>.yaml`` and regresses its actor on the expert's
   actions, on observations normalised with the demonstrations' statistics (kept as a
   ``VecNormalize``).
3. :func:`dagger` rolls the learner out (mixed with the expert), labels every visited state
   with the expert's action, aggregates and re-fits ([Ross2011]).
4. :func:`save_clone` writes a run directory laid out as :func:`ecocontrol.train.train`'s, so
   :class:`ecocontrol.agents.AgentController` benchmarks it and :func:`load_policy_weights`
   starts an RL fine-tune from it.

``ecocontrol-imitate`` (``configs/imitate.yaml``) runs the whole pipeline (:func:`imitate`).

Data layout (what :meth:`Demonstrations.save` writes): the per-step arrays are flat over all
episodes in order, named as Minari's episode data: ``observations`` (the observation each
action was taken on), ``actions`` (the action applied), ``rewards``, ``terminations``,
``truncations``, plus ``expert_actions`` (the expert's label; equal to ``actions`` in the
expert's own episodes, not in DAgger's learner episodes). Per episode: ``episode_lengths``,
``final_observations`` (the observation after the last step, so each episode's ``T + 1``
observations of Minari's layout are recoverable: :meth:`Demonstrations.episodes`),
``episode_windows``, ``episode_seeds``, ``episode_rounds`` (0: expert demonstrations, ``r``:
DAgger round ``r``), ``episode_betas`` (the probability that the applied action was the
expert's) and ``episode_kpis`` (columns ``kpi_names`` of the metadata).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
import yaml
from stable_baselines3 import PPO, SAC
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.running_mean_std import RunningMeanStd
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

from ecocontrol.agents import spaces_env
from ecocontrol.config import (
    ConfigError,
    _check_keys,
    _directory,
    _fail,
    _int,
    _seed,
    agent_spec,
    build_env,
    hashed_env_config,
    plain_config,
    resolved_env_config,
    to_yaml,
)
from ecocontrol.controllers.base import (
    Controller,
    available_controllers,
    information_of,
    make_controller,
    plant_of,
)
from ecocontrol.evaluation import run_episode
from ecocontrol.io import atomic_path, clean_temp_files, write_atomic
from ecocontrol.validation import require_finite_range

log = logging.getLogger(__name__)

#: Version of the ``.npz`` layout :meth:`Demonstrations.save` writes.
FORMAT_VERSION = 1
#: The algorithms a clone can be built as: config name -> SB3 class.
ALGOS: dict[str, type[BaseAlgorithm]] = {"ppo": PPO, "sac": SAC}
#: Observation features vary at least this much in the saved statistics [normalised obs
#: units]: a feature (nearly) constant in the demonstrations would otherwise be divided by
#: ~0 and a small change on another window would saturate VecNormalize's clip.
MIN_OBS_STD = 0.01

ControllerFactory = Callable[..., Controller]

_PER_STEP = (
    "observations",
    "actions",
    "expert_actions",
    "rewards",
    "terminations",
    "truncations",
)
_PER_EPISODE = (
    "episode_lengths",
    "final_observations",
    "episode_windows",
    "episode_seeds",
    "episode_rounds",
    "episode_betas",
    "episode_kpis",
)


# -- the dataset ---------------------------------------------------------------------------------
@dataclass
class Demonstrations:
    """Transitions of a plant under an expert (or a learner labelled by it), episode by episode.

    Attributes:
        observations: ``(N, obs_dim)`` the observation each step's action was taken on.
        actions: ``(N, act_dim)`` the normalised action applied.
        expert_actions: ``(N, act_dim)`` the expert's normalised action on that observation.
        rewards: ``(N,)`` the step's reward.
        terminations: ``(N,)`` the step ended the episode by termination.
        truncations: ``(N,)`` the step ended the episode by truncation (time limit).
        episode_lengths: ``(E,)`` steps of each episode (the per-step arrays in order).
        final_observations: ``(E, obs_dim)`` each episode's observation after its last step.
        episode_windows: ``(E,)`` window index in the split.
        episode_seeds: ``(E,)`` the reset seed (forecast noise).
        episode_rounds: ``(E,)`` 0 for expert demonstrations, ``r`` for DAgger round ``r``.
        episode_betas: ``(E,)`` probability that a step applied the expert's action.
        episode_kpis: ``(E, K)`` the episode's KPIs (:attr:`kpi_names`: ``cost_<term>``
            [CNY], ``co2_<source>`` [t], ``viol_<name>``, ``total_reward``, ``n_steps``,
            ``solver_failures``).
        kpi_names: the KPI columns.
        info: what the data is: ``env_id``, ``env_version``, ``plant``, ``expert``,
            ``expert_kwargs``, ``expert_information``, ``config_hash``, ``split``,
            ``env_config`` (the resolved env config), ``ecocontrol_version``.
    """

    observations: np.ndarray
    actions: np.ndarray
    expert_actions: np.ndarray
    rewards: np.ndarray
    terminations: np.ndarray
    truncations: np.ndarray
    episode_lengths: np.ndarray
    final_observations: np.ndarray
    episode_windows: np.ndarray
    episode_seeds: np.ndarray
    episode_rounds: np.ndarray
    episode_betas: np.ndarray
    episode_kpis: np.ndarray
    kpi_names: tuple[str, ...]
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n, e = len(self.observations), len(self.episode_lengths)
        for name in _PER_STEP:
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name} has {len(getattr(self, name))} rows; allowed: {n}")
        for name in _PER_EPISODE:
            if len(getattr(self, name)) != e:
                raise ValueError(f"{name} has {len(getattr(self, name))} rows; allowed: {e}")
        if int(np.sum(self.episode_lengths)) != n:
            raise ValueError(
                f"episode_lengths sum to {int(np.sum(self.episode_lengths))}; allowed: {n} "
                "(the number of steps)"
            )
        if self.episode_kpis.shape[1:] != (len(self.kpi_names),):
            raise ValueError(
                f"episode_kpis has shape {self.episode_kpis.shape}; allowed: "
                f"({e}, {len(self.kpi_names)}) (one column per kpi_names)"
            )

    @property
    def n_steps(self) -> int:
        """Steps in all episodes."""
        return len(self.observations)

    @property
    def n_episodes(self) -> int:
        """Episodes."""
        return len(self.episode_lengths)

    @property
    def episode_starts(self) -> np.ndarray:
        """Index of each episode's first step in the per-step arrays."""
        return np.concatenate([[0], np.cumsum(self.episode_lengths)[:-1]]).astype(np.int64)

    @property
    def kpis(self) -> list[dict[str, float]]:
        """Each episode's KPIs as a dict."""
        return [
            dict(zip(self.kpi_names, map(float, row), strict=True)) for row in self.episode_kpis
        ]

    @property
    def metadata(self) -> dict[str, Any]:
        """The JSON metadata saved with the arrays (:attr:`info` plus the episode index)."""
        return {
            "format": "ecocontrol.demonstrations",
            "format_version": FORMAT_VERSION,
            **self.info,
            "windows": [int(w) for w in self.episode_windows],
            "seeds": [int(s) for s in self.episode_seeds],
            "rounds": [int(r) for r in self.episode_rounds],
            "betas": [float(b) for b in self.episode_betas],
            "kpi_names": list(self.kpi_names),
            "total_episodes": self.n_episodes,
            "total_steps": self.n_steps,
        }

    def episodes(self) -> Iterator[dict[str, Any]]:
        """Each episode in Minari's layout: ``observations`` has ``T + 1`` rows, the rest ``T``.

        Keys: ``observations``, ``actions``, ``expert_actions``, ``rewards``,
        ``terminations``, ``truncations``, ``window``, ``seed``, ``round``, ``beta``, ``kpis``.
        """
        kpis = self.kpis
        for i, (start, n) in enumerate(zip(self.episode_starts, self.episode_lengths, strict=True)):
            sl = slice(int(start), int(start + n))
            yield {
                "observations": np.concatenate(
                    [self.observations[sl], self.final_observations[i : i + 1]]
                ),
                **{k: getattr(self, k)[sl] for k in _PER_STEP if k != "observations"},
                "window": int(self.episode_windows[i]),
                "seed": int(self.episode_seeds[i]),
                "round": int(self.episode_rounds[i]),
                "beta": float(self.episode_betas[i]),
                "kpis": kpis[i],
            }

    def save(self, path: str | Path) -> Path:
        """Write a compressed ``.npz`` (atomically): the arrays and ``metadata`` (a JSON string)."""
        path = Path(path)
        arrays = {k: getattr(self, k) for k in (*_PER_STEP, *_PER_EPISODE)}
        with atomic_path(path, ext=".npz") as tmp:
            np.savez_compressed(tmp, metadata=np.asarray(json.dumps(self.metadata)), **arrays)
        return path

    @classmethod
    def load(cls, path: str | Path) -> Demonstrations:
        """Read a file :meth:`save` wrote (no pickles are loaded).

        Raises:
            ValueError: if the file is not demonstrations of a known format version.
        """
        with np.load(Path(path), allow_pickle=False) as data:
            if "metadata" not in data.files:
                raise ValueError(
                    f"{str(path)!r} holds no 'metadata': not ecocontrol demonstrations"
                )
            meta = json.loads(str(data["metadata"]))
            version = meta.get("format_version")
            if meta.get("format") != "ecocontrol.demonstrations" or version != FORMAT_VERSION:
                raise ValueError(
                    f"{str(path)!r} has format {meta.get('format')!r} version {version!r}; "
                    f"allowed: ecocontrol.demonstrations version {FORMAT_VERSION}"
                )
            arrays = {k: data[k] for k in (*_PER_STEP, *_PER_EPISODE)}
        derived = (
            "format",
            "format_version",
            "windows",
            "seeds",
            "rounds",
            "betas",
            "kpi_names",
            "total_episodes",
            "total_steps",
        )
        info = {k: v for k, v in meta.items() if k not in derived}
        return cls(**arrays, kpi_names=tuple(meta["kpi_names"]), info=info)

    @classmethod
    def concatenate(cls, parts: Sequence[Demonstrations]) -> Demonstrations:
        """The episodes of ``parts`` in order (same env config, expert and KPIs).

        Raises:
            ValueError: if the parts come from different env configs, experts or KPI sets.
        """
        if not parts:
            raise ValueError("parts is empty; allowed: at least one Demonstrations")
        first = parts[0]
        for p in parts[1:]:
            for key in ("config_hash", "expert", "split"):
                if p.info.get(key) != first.info.get(key):
                    raise ValueError(
                        f"cannot concatenate demonstrations with {key}={p.info.get(key)!r} "
                        f"and {key}={first.info.get(key)!r}; allowed: the same {key}"
                    )
            if p.kpi_names != first.kpi_names:
                raise ValueError(f"kpi_names differ: {p.kpi_names} and {first.kpi_names}")
        arrays = {
            k: np.concatenate([getattr(p, k) for p in parts]) for k in (*_PER_STEP, *_PER_EPISODE)
        }
        return cls(**arrays, kpi_names=first.kpi_names, info=dict(first.info))

    def make_env(self, split: str | None = None) -> gym.Env[Any, Any]:
        """The env the data came from (its saved config), on ``split`` (default: the data's)."""
        return build_env(self.info["env_config"], split=split or self.info["split"])


# -- recording -----------------------------------------------------------------------------------
class _Recorder(gym.Wrapper[Any, Any, Any, Any]):
    """Keeps every observation, applied action, reward and episode end of the episode."""

    def __init__(self, env: gym.Env[Any, Any]) -> None:
        super().__init__(env)
        self.obs: list[np.ndarray] = []
        self.actions: list[np.ndarray] = []
        self.rewards: list[float] = []
        self.terminations: list[bool] = []
        self.truncations: list[bool] = []

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        self.obs = [np.array(obs, dtype=np.float32)]
        self.actions, self.rewards, self.terminations, self.truncations = [], [], [], []
        return obs, info

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        self.actions.append(np.array(action, dtype=np.float32))
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.obs.append(np.array(obs, dtype=np.float32))
        self.rewards.append(float(reward))
        self.terminations.append(bool(terminated))
        self.truncations.append(bool(truncated))
        return obs, reward, terminated, truncated, info


class _Labelled:
    """The expert's action on every observation; applied with probability ``beta``.

    Otherwise the learner's action is applied. The expert acts at every step either way, so
    its internal state (MPC warm starts and plans, a rule's PI integrators) follows the
    trajectory actually run.
    """

    def __init__(
        self,
        expert: Controller,
        learner: Callable[[np.ndarray], np.ndarray] | None = None,
        beta: float = 1.0,
        mix_seed: int = 0,
    ) -> None:
        self.expert = expert
        self.learner = learner
        self.beta = beta
        self.mix_seed = mix_seed
        self.labels: list[np.ndarray] = []
        self.rng = np.random.default_rng(mix_seed)
        self.state_access, self.exogenous_access, self.model_access = information_of(expert)

    @property
    def n_failures(self) -> int:
        """The expert's failed solves this episode (0 for an expert without a solver)."""
        return int(getattr(self.expert, "n_failures", 0))

    def reset(self, env: gym.Env[Any, Any], seed: int | None = None) -> None:
        self.labels = []
        # The mixing depends on the episode's seed only, not on what ran before it.
        self.rng = np.random.default_rng([self.mix_seed, 0 if seed is None else seed])
        self.expert.reset(env, seed)

    def act(self, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        label = np.array(self.expert.act(obs, info), dtype=np.float32)
        self.labels.append(label)
        if self.learner is None or self.rng.random() < self.beta:
            return label
        return self.learner(obs)


def episode_plan(
    n_windows: int, episodes: int, seed: int | Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Windows and reset seeds of ``episodes`` episodes, fixed by ``seed``.

    Windows are drawn without repeats until the split's are used up (then a new permutation);
    each episode gets its own reset seed (its forecast noise).
    """
    rng = np.random.default_rng(seed)
    reps = -(-episodes // n_windows)
    windows = np.concatenate([rng.permutation(n_windows) for _ in range(reps)])[:episodes]
    seeds = rng.integers(0, 2**31 - 1, size=episodes)
    return windows.astype(np.int64), seeds.astype(np.int64)


def _env_identity(env: gym.Env[Any, Any]) -> tuple[str, int | None]:
    """The registered id of ``env``'s class and its version (the class path if unregistered)."""
    from gymnasium.envs.registration import load_env_creator

    from ecocontrol.envs import ENV_IDS

    cls = type(plant_of(env))
    for env_id in ENV_IDS:
        entry = gym.spec(env_id).entry_point
        if isinstance(entry, str) and load_env_creator(entry) is cls:
            return env_id, gym.spec(env_id).version
    return f"{cls.__module__}:{cls.__qualname__}", None


def _expert_of(
    env: gym.Env[Any, Any], expert: str | ControllerFactory, kwargs: Mapping[str, Any]
) -> tuple[Controller, str]:
    """The expert built for ``env`` and its label."""
    label = expert if isinstance(expert, str) else getattr(expert, "__name__", repr(expert))
    try:
        if isinstance(expert, str):
            return make_controller(expert, env, **kwargs), label
        return expert(env, **kwargs), label
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(
            f"config key expert={label!r} (expert_kwargs={dict(kwargs)}): {exc}"
        ) from exc


def _rollouts(
    env: gym.Env[Any, Any],
    controller: _Labelled,
    windows: np.ndarray,
    seeds: np.ndarray,
    round_index: int,
    info: dict[str, Any],
) -> Demonstrations:
    """Run ``controller`` on each (window, seed) through ``run_episode``; keep every step."""
    rec = _Recorder(env)
    parts: dict[str, list[Any]] = {k: [] for k in (*_PER_STEP, *_PER_EPISODE)}
    kpis: list[dict[str, float]] = []
    for w, s in zip(windows, seeds, strict=True):
        r = run_episode(rec, controller, seed=int(s), window=int(w))
        parts["observations"].append(np.stack(rec.obs[:-1]))
        parts["final_observations"].append(rec.obs[-1])
        parts["actions"].append(np.stack(rec.actions))
        parts["expert_actions"].append(np.stack(controller.labels))
        parts["rewards"].append(np.asarray(rec.rewards))
        parts["terminations"].append(np.asarray(rec.terminations))
        parts["truncations"].append(np.asarray(rec.truncations))
        parts["episode_lengths"].append(r.n_steps)
        parts["episode_windows"].append(r.window)
        parts["episode_seeds"].append(int(s))
        kpis.append(
            {
                **r.kpis,
                "total_reward": r.total_reward,
                "n_steps": float(r.n_steps),
                "solver_failures": float(r.solver_failures),
            }
        )
    names = tuple(sorted({k for row in kpis for k in row}))
    e = len(kpis)
    return Demonstrations(
        observations=np.concatenate(parts["observations"]).astype(np.float32),
        actions=np.concatenate(parts["actions"]).astype(np.float32),
        expert_actions=np.concatenate(parts["expert_actions"]).astype(np.float32),
        rewards=np.concatenate(parts["rewards"]).astype(np.float64),
        terminations=np.concatenate(parts["terminations"]).astype(bool),
        truncations=np.concatenate(parts["truncations"]).astype(bool),
        episode_lengths=np.asarray(parts["episode_lengths"], dtype=np.int64),
        final_observations=np.stack(parts["final_observations"]).astype(np.float32),
        episode_windows=np.asarray(parts["episode_windows"], dtype=np.int64),
        episode_seeds=np.asarray(parts["episode_seeds"], dtype=np.int64),
        episode_rounds=np.full(e, round_index, dtype=np.int64),
        episode_betas=np.full(e, controller.beta if controller.learner else 1.0),
        episode_kpis=np.array([[row.get(k, np.nan) for k in names] for row in kpis]),
        kpi_names=names,
        info=info,
    )


def _dataset_info(
    env_cfg: Mapping[str, Any],
    env: gym.Env[Any, Any],
    expert: Controller,
    label: str,
    kwargs: Mapping[str, Any],
    split: str,
) -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    from ecocontrol.runner import config_hash

    resolved = resolved_env_config(env_cfg)
    env_id, env_version = _env_identity(env)
    state_access, exogenous_access, model_access = information_of(expert)
    try:
        ours = version("ecocontrol")
    except PackageNotFoundError:
        ours = "unknown"
    return {
        "env_id": env_id,
        "env_version": env_version,
        "plant": plant_of(env).plant_name,
        "expert": label,
        "expert_kwargs": json.loads(json.dumps(dict(kwargs), default=str)),
        "expert_information": {
            "state_access": state_access,
            "exogenous_access": exogenous_access,
            "model_access": model_access,
        },
        "config_hash": config_hash(hashed_env_config(resolved), {"expert": label, **kwargs}),
        "split": split,
        "env_config": json.loads(json.dumps(resolved, default=str)),
        "ecocontrol_version": ours,
    }


def record_demonstrations(
    env_cfg: Mapping[str, Any],
    expert: str | ControllerFactory = "mpc",
    episodes: int = 10,
    split: str = "train",
    seed: int = 0,
    expert_kwargs: Mapping[str, Any] | None = None,
) -> Demonstrations:
    """Run the expert on ``episodes`` windows of ``split`` and keep every step.

    Args:
        env_cfg: the env config (``configs/env/<plant>.yaml`` composed; its ``split`` is
            replaced by ``split``).
        expert: a controller name registered for the plant (``rule``, ``mpc``, ...) or a
            factory ``expert(env, **expert_kwargs)``. The default, the MPC on the env's noisy
            forecasts, acts on what the agent's observation holds.
        episodes: number of episodes.
        split: the windows' split (agents learn on ``train``; never imitate on ``test``).
        seed: fixes the windows and each episode's reset seed (:func:`episode_plan`).
        expert_kwargs: keyword arguments of the expert.

    Raises:
        ConfigError: naming the key, for a bad env config or an expert that cannot be built.
    """
    kwargs = dict(expert_kwargs or {})
    env = build_env(env_cfg, split=split)
    ctrl, label = _expert_of(env, expert, kwargs)
    windows, seeds = episode_plan(plant_of(env).n_windows, episodes, seed)
    info = _dataset_info(env_cfg, env, ctrl, label, kwargs, split)
    demos = _rollouts(env, _Labelled(ctrl), windows, seeds, 0, info)
    env.close()
    return demos


# -- the model -----------------------------------------------------------------------------------
def agent_config(algo: str) -> dict[str, Any]:
    """The packaged agent config ``configs/agent/<algo>.yaml`` as plain containers.

    Raises:
        ConfigError: naming ``algo`` if it is not one of :data:`ALGOS`.
    """
    if algo not in ALGOS:
        raise _fail("algo", algo, " or ".join(ALGOS))
    text = resources.files("ecocontrol.configs").joinpath("agent", f"{algo}.yaml").read_text()
    return plain_config(yaml.safe_load(text))


def obs_normalizer(
    observations: np.ndarray,
    observation_space: gym.Space[Any],
    action_space: gym.Space[Any],
    min_std: float = MIN_OBS_STD,
) -> VecNormalize:
    """A ``VecNormalize`` (observations only) whose statistics are those of ``observations``.

    The variance is floored at ``min_std**2`` (:data:`MIN_OBS_STD`); the statistics saved are
    the floored ones, so training and benchmark normalise the same way. Not in training mode:
    nothing updates them until a training run loads them.
    """
    venv = DummyVecEnv([spaces_env(observation_space, action_space)])
    norm = VecNormalize(venv, norm_obs=True, norm_reward=False)
    obs = np.asarray(observations, dtype=np.float64)
    rms = norm.obs_rms
    assert isinstance(rms, RunningMeanStd)
    rms.mean = obs.mean(axis=0)
    rms.var = np.maximum(obs.var(axis=0), min_std**2)
    rms.count = float(len(obs))
    norm.training = False
    return norm


def build_model(
    algo: str,
    env: gym.Env[Any, Any],
    observations: np.ndarray,
    *,
    agent: Mapping[str, Any] | None = None,
    policy_kwargs: Mapping[str, Any] | None = None,
    seed: int = 0,
) -> tuple[BaseAlgorithm, VecNormalize]:
    """An untrained SB3 model of ``algo`` for ``env``'s spaces and its observation statistics.

    Args:
        algo: ``ppo`` or ``sac``.
        env: the plant (only its spaces are used).
        observations: the observations whose statistics normalise the model's input.
        agent: the agent config (default: the packaged ``configs/agent/<algo>.yaml``, so the
            policy class and ``net_arch`` are those training uses).
        policy_kwargs: replaces the agent config's ``policy_kwargs``.
        seed: seeds the weights.

    Raises:
        ConfigError: naming ``algo`` or ``agent.<key>``.
    """
    cfg = dict(agent) if agent is not None else agent_config(algo)
    if policy_kwargs is not None:
        cfg["policy_kwargs"] = dict(policy_kwargs)
    cls, kwargs = agent_spec(cfg, env.action_space, observation_space=env.observation_space)
    if not issubclass(cls, PPO | SAC):
        raise _fail("agent._target_", cls.__name__, "PPO or SAC (or a subclass)")
    norm = obs_normalizer(observations, env.observation_space, env.action_space)
    model: BaseAlgorithm = cls(env=norm, seed=seed, device="cpu", **kwargs)
    return model, norm


@dataclass
class FitStats:
    """What a fit did: samples, epochs, final losses and the action error after it.

    Attributes:
        samples: training samples.
        epochs: passes over them.
        action_loss: mean squared action error of the last epoch (normalised units).
        value_loss: mean squared value error of the last epoch (PPO with ``fit_value``).
        mae: mean absolute action error after the fit (:func:`action_error`).
        seconds: wall time of the fit [s].
    """

    samples: int
    epochs: int
    action_loss: float
    value_loss: float | None
    mae: float
    seconds: float


def _returns(demos: Demonstrations, gamma: float) -> np.ndarray:
    """Discounted return from every step, a truncated episode's tail valued at its mean reward.

    A time limit is not a terminal state: beyond it the tail is ``r_mean / (1 - gamma)``, the
    value of going on at the episode's mean reward (0 after a termination).
    """
    out = np.empty(demos.n_steps)
    for start, n in zip(demos.episode_starts, demos.episode_lengths, strict=True):
        r = demos.rewards[start : start + n]
        g = 0.0 if demos.terminations[start + n - 1] else float(r.mean()) / (1.0 - gamma)
        for t in range(n - 1, -1, -1):
            g = r[t] + gamma * g
            out[start + t] = g
    return out


def fit_policy(
    model: BaseAlgorithm,
    norm: VecNormalize,
    demos: Demonstrations,
    *,
    epochs: int = 200,
    batch_size: int = 256,
    learning_rate: float = 1e-3,
    seed: int = 0,
    log_std: float = -1.0,
    fit_value: bool = True,
) -> FitStats:
    """Regress ``model``'s actor on ``demos.expert_actions`` (on normalised observations).

    Adam (``learning_rate``) over shuffled minibatches of ``batch_size`` (order fixed by
    ``seed``), ``epochs`` passes, from the model's current weights. The targets are the
    expert's actions clipped to the action space (SB3's ``predict`` clips PPO's Gaussian mean;
    SAC's tanh stays inside).

    PPO: the Gaussian's mean is regressed (it is the deterministic action; the raw mean, so an
    out-of-range mean still has a gradient back into range), its state-independent ``log_std``
    set to ``log_std`` and left out of the fit: still trainable, so an RL fine-tune starts from
    a narrow but not frozen distribution (std 0.37 at -1.0) instead of the default std 1 whose
    exploration would wash out the clone in the first updates. With ``fit_value`` the value
    head is regressed on the expert's discounted returns (:func:`_returns`): the critic's warm
    start, so the first advantages are not noise.

    SAC: the squashed mean ``tanh(mu(obs))`` (what ``actor(obs, deterministic=True)`` returns)
    is regressed, and the actor's state-dependent ``log_std`` head pulled towards ``log_std``;
    SAC's critics are not fitted (fill the replay buffer before updating the actor).
    """
    t0 = time.perf_counter()
    space = model.action_space
    assert isinstance(space, gym.spaces.Box)
    obs = torch.as_tensor(norm.normalize_obs(demos.observations), dtype=torch.float32)
    target = torch.as_tensor(
        np.clip(demos.expert_actions, space.low, space.high), dtype=torch.float32
    )
    mse = torch.nn.functional.mse_loss
    returns = None
    losses: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
    if isinstance(model, PPO):
        policy = model.policy
        with torch.no_grad():
            policy.log_std.fill_(log_std)
        params = [p for name, p in policy.named_parameters() if name != "log_std"]
        if fit_value:
            returns = torch.as_tensor(_returns(demos, model.gamma), dtype=torch.float32)

        def losses(idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            # mode(): the Gaussian's mean, the deterministic action before predict's clip.
            action = mse(policy.get_distribution(obs[idx]).mode(), target[idx])
            if returns is None:
                return action, torch.zeros(())
            return action, mse(policy.predict_values(obs[idx]).squeeze(-1), returns[idx])

    elif isinstance(model, SAC):
        actor = model.actor
        params = list(actor.parameters())

        def losses(idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            mu, log_std_out, _ = actor.get_action_dist_params(obs[idx])
            spread = 0.01 * torch.mean((log_std_out - log_std) ** 2)
            return mse(torch.tanh(mu), target[idx]), spread

    else:
        raise TypeError(f"model is a {type(model).__name__}; allowed: PPO or SAC")
    optimizer = torch.optim.Adam(params, lr=learning_rate)
    gen = torch.Generator().manual_seed(seed)
    model.policy.set_training_mode(True)
    n = len(obs)
    action_loss = other_loss = 0.0
    for _ in range(epochs):
        sums = np.zeros(2)
        for idx in torch.randperm(n, generator=gen).split(batch_size):
            loss, other = losses(idx)
            optimizer.zero_grad()
            (loss + other).backward()
            optimizer.step()
            sums += len(idx) * np.array([loss.item(), other.item()])
        action_loss, other_loss = sums / n
    model.policy.set_training_mode(False)
    return FitStats(
        samples=n,
        epochs=epochs,
        action_loss=float(action_loss),
        value_loss=float(other_loss) if returns is not None else None,
        mae=action_error(model, norm, demos)["mae"],
        seconds=time.perf_counter() - t0,
    )


def action_error(model: BaseAlgorithm, norm: VecNormalize, demos: Demonstrations) -> dict[str, Any]:
    """How far the model's deterministic actions are from the expert's on ``demos``.

    The model acts as :class:`ecocontrol.agents.AgentController` does (``predict`` on the
    normalised observation, deterministic); the expert's actions are clipped to the action
    space. Returns ``mae``, ``rmse`` and ``mae_per_dim`` (normalised action units).
    """
    space = model.action_space
    assert isinstance(space, gym.spaces.Box)
    pred, _ = model.predict(norm.normalize_obs(demos.observations), deterministic=True)
    err = np.asarray(pred) - np.clip(demos.expert_actions, space.low, space.high)
    return {
        "mae": float(np.abs(err).mean()),
        "rmse": float(np.sqrt((err**2).mean())),
        "mae_per_dim": [float(x) for x in np.abs(err).mean(axis=0)],
    }


def behaviour_clone(
    demos: Demonstrations,
    algo: str = "ppo",
    policy_kwargs: Mapping[str, Any] | None = None,
    epochs: int = 200,
    batch_size: int = 256,
    lr: float = 1e-3,
    seed: int = 0,
    *,
    agent: Mapping[str, Any] | None = None,
    log_std: float = -1.0,
    fit_value: bool = True,
) -> tuple[BaseAlgorithm, VecNormalize]:
    """An SB3 model whose policy imitates the expert of ``demos``, and its ``VecNormalize``.

    The model is :func:`build_model`'s (the policy and ``net_arch`` of
    ``configs/agent/<algo>.yaml`` unless ``agent``/``policy_kwargs`` say otherwise) on the
    plant's spaces; its observation statistics are the demonstrations' (:func:`obs_normalizer`);
    the fit is :func:`fit_policy`'s (see there for PPO's ``log_std`` and the value head).
    :func:`action_error` measures how close it came.

    Raises:
        ConfigError: naming ``algo`` or ``agent.<key>``.
    """
    model, norm, _ = _clone(
        demos, algo, policy_kwargs, epochs, batch_size, lr, seed, agent, log_std, fit_value
    )
    return model, norm


def _clone(
    demos: Demonstrations,
    algo: str,
    policy_kwargs: Mapping[str, Any] | None,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
    agent: Mapping[str, Any] | None,
    log_std: float,
    fit_value: bool,
) -> tuple[BaseAlgorithm, VecNormalize, FitStats]:
    """:func:`behaviour_clone`, with the fit's statistics."""
    env = demos.make_env()
    model, norm = build_model(
        algo, env, demos.observations, agent=agent, policy_kwargs=policy_kwargs, seed=seed
    )
    env.close()
    if fit_value and isinstance(model, PPO):
        # The value head starts at the mean return (not ~0), so the fit spends its steps on
        # the differences between states rather than on the offset.
        with torch.no_grad():
            model.policy.value_net.bias.fill_(float(_returns(demos, model.gamma).mean()))
    stats = fit_policy(
        model,
        norm,
        demos,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=lr,
        seed=seed,
        log_std=log_std,
        fit_value=fit_value,
    )
    log.info("behaviour cloning: %s", stats)
    return model, norm, stats


# -- DAgger --------------------------------------------------------------------------------------
@dataclass
class DaggerRound:
    """One DAgger round.

    Attributes:
        round: 1, 2, ...
        beta: probability that a step applied the expert's action.
        windows: the episodes' windows.
        cost_total: total cost of each episode run (the mixed policy) [CNY].
        disagreement_mae: mean absolute difference between the learner's and the expert's
            actions on the states the round visited, before re-fitting (normalised units).
        fit: the re-fit on the aggregated data.
        seconds: wall time of the round (roll-outs and fit) [s].
    """

    round: int
    beta: float
    windows: list[int]
    cost_total: list[float]
    disagreement_mae: float
    fit: FitStats
    seconds: float


@dataclass
class DaggerResult:
    """The model after DAgger, its statistics, the aggregated data and each round's record."""

    model: BaseAlgorithm
    norm: VecNormalize
    demos: Demonstrations
    rounds: list[DaggerRound]


def _betas(beta: float | Sequence[float], rounds: int) -> list[float]:
    """Each round's beta: ``beta**r`` for a number, the given values for a sequence."""
    if isinstance(beta, int | float):
        require_finite_range("beta", beta, 0.0, 1.0)
        return [float(beta) ** r for r in range(1, rounds + 1)]
    values = [float(b) for b in beta]
    if len(values) != rounds:
        raise ValueError(f"beta has {len(values)} values; allowed: one per round ({rounds})")
    for i, b in enumerate(values):
        require_finite_range(f"beta[{i}]", b, 0.0, 1.0)
    return values


def dagger(
    env_cfg: Mapping[str, Any] | None,
    expert: str | ControllerFactory,
    model: BaseAlgorithm,
    norm: VecNormalize,
    rounds: int = 2,
    episodes_per_round: int = 5,
    beta: float | Sequence[float] = 0.5,
    *,
    demos: Demonstrations | None = None,
    split: str = "train",
    seed: int = 0,
    expert_kwargs: Mapping[str, Any] | None = None,
    epochs: int = 100,
    batch_size: int = 256,
    lr: float = 1e-3,
    log_std: float = -1.0,
    fit_value: bool = True,
) -> DaggerResult:
    """DAgger: roll the learner out, label every visited state with the expert, re-fit.

    In round ``r`` each step applies the expert's action with probability ``beta_r`` (a
    number ``beta`` gives ``beta**r``: 0.5, 0.25, ...; a sequence gives each round's value)
    and the learner's otherwise. The expert acts at every step, so its internal state follows
    the trajectory run. Each round's data joins the aggregate (``demos`` first, if given) and
    the model is re-fitted on all of it from its current weights (:func:`fit_policy`,
    ``epochs`` passes); the observation statistics stay those of ``norm``.

    Args:
        env_cfg: the env config (``None``: the one ``demos`` was recorded on).
        expert: as in :func:`record_demonstrations`.
        model: the learner (e.g. from :func:`behaviour_clone`); re-fitted in place.
        norm: its observation normalisation.
        rounds: DAgger rounds.
        episodes_per_round: learner episodes per round, on windows fixed by ``(seed, r)``.
        beta: the expert's share per round.
        demos: the data to aggregate with (the expert's demonstrations).
        split: the windows' split.
        seed: fixes the windows, reset seeds and mixing draws of every round.
        expert_kwargs: keyword arguments of the expert.
        epochs: passes over the aggregate per round.
        batch_size: as in :func:`fit_policy`.
        lr: :func:`fit_policy`'s ``learning_rate``.
        log_std: as in :func:`fit_policy`.
        fit_value: as in :func:`fit_policy`.

    Raises:
        ConfigError: naming the key, for a bad env config or an expert that cannot be built.
        ValueError: for a bad ``beta``.
    """
    betas = _betas(beta, rounds)
    if not betas and demos is None:
        raise ValueError("rounds=0 and no demos: nothing to return; allowed: rounds >= 1")
    if env_cfg is None:
        if demos is None:
            raise ValueError("env_cfg is None and no demos; allowed: an env config or demos")
        env_cfg = demos.info["env_config"]
    kwargs = dict(expert_kwargs or {})
    env = build_env(env_cfg, split=split)
    ctrl, label = _expert_of(env, expert, kwargs)
    info = _dataset_info(env_cfg, env, ctrl, label, kwargs, split)
    if demos is not None and demos.info.get("config_hash") != info["config_hash"]:
        raise ValueError(
            f"demos were recorded with config_hash={demos.info.get('config_hash')!r} "
            f"(env config and expert), this run has {info['config_hash']!r}; allowed: the same"
        )

    def learner(obs: np.ndarray) -> np.ndarray:
        action, _ = model.predict(norm.normalize_obs(obs), deterministic=True)
        return np.asarray(action, dtype=np.float32)

    aggregate = demos
    history = []
    for r, b in enumerate(betas, start=1):
        t0 = time.perf_counter()
        windows, seeds = episode_plan(plant_of(env).n_windows, episodes_per_round, [seed, r])
        mixed = _Labelled(ctrl, learner, beta=b, mix_seed=seed)
        new = _rollouts(env, mixed, windows, seeds, r, info)
        disagreement = action_error(model, norm, new)["mae"]
        aggregate = new if aggregate is None else Demonstrations.concatenate([aggregate, new])
        stats = fit_policy(
            model,
            norm,
            aggregate,
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=lr,
            seed=seed + r,
            log_std=log_std,
            fit_value=fit_value,
        )
        cost = new.episode_kpis[:, new.kpi_names.index("cost_total")]
        history.append(
            DaggerRound(
                round=r,
                beta=b,
                windows=[int(w) for w in windows],
                cost_total=[float(c) for c in cost],
                disagreement_mae=disagreement,
                fit=stats,
                seconds=time.perf_counter() - t0,
            )
        )
        log.info("DAgger round %d: %s", r, history[-1])
    env.close()
    assert aggregate is not None  # demos, or the rounds' data
    return DaggerResult(model, norm, aggregate, history)


# -- saving and loading ----------------------------------------------------------------------------
def save_clone(
    run_dir: str | Path,
    model: BaseAlgorithm,
    norm: VecNormalize,
    demos: Demonstrations,
    config: Mapping[str, Any],
    *,
    summary: Mapping[str, Any] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a clone as a training run directory; return it.

    Files (as :func:`ecocontrol.train.train` writes them, each atomically, ``model.zip``
    last): ``config.yaml`` (``config``), ``demonstrations.npz`` (the data fitted),
    ``train_summary.json`` (``num_timesteps``, ``algo_target``, ``init: "imitation"``, the
    expert and ``summary``), ``vecnormalize.pkl`` and ``model.zip``.
    :class:`ecocontrol.agents.AgentController` benchmarks it; :func:`load_policy_weights`
    starts a fine-tune from it.

    Raises:
        ConfigError: naming ``run_dir`` if it already holds a model and not ``overwrite``.
    """
    run_dir = Path(run_dir)
    if (run_dir / "model.zip").exists() and not overwrite:
        raise ConfigError(
            f"config key run_dir={str(run_dir)!r} already holds a model.zip; allowed: a new run_dir"
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    clean_temp_files(run_dir)
    write_atomic(to_yaml(config), run_dir / "config.yaml")
    demos.save(run_dir / "demonstrations.npz")
    algo = type(model)
    record = {
        "num_timesteps": int(model.num_timesteps),
        "algo_target": f"{algo.__module__}.{algo.__name__}",
        "init": "imitation",
        "expert": demos.info.get("expert"),
        "config_hash": demos.info.get("config_hash"),
        **dict(summary or {}),
    }
    write_atomic(json.dumps(record, indent=2, default=_jsonable), run_dir / "train_summary.json")
    with atomic_path(run_dir / "vecnormalize.pkl") as tmp:
        norm.save(str(tmp))
    with atomic_path(run_dir / "model.zip") as tmp:
        model.save(str(tmp))
    return run_dir


def _jsonable(value: Any) -> Any:
    if isinstance(value, FitStats | DaggerRound):
        return asdict(value)
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def load_policy_weights(
    model: BaseAlgorithm, path: str | Path, key: str = "init_from"
) -> Path | None:
    """Copy a saved clone's (or any run's final) policy parameters into ``model``.

    ``model`` is a freshly built SB3 model of the same algorithm and network (e.g. the one a
    training run builds from ``configs/agent/<algo>.yaml``); every parameter of its policy
    (PPO: actor, ``log_std`` and value head; SAC: actor and critics) is replaced. The
    optimiser state is not copied. The clone was fitted on observations normalised with its
    ``vecnormalize.pkl``: a run that starts from it must normalise with those statistics, so
    their path is returned (``None`` if the run saved none).

    Raises:
        ConfigError: naming ``key`` if there is no model at ``path`` or it is of another
            algorithm, observation shape or network.
    """
    from ecocontrol.agents import load_agent

    try:
        source, _ = load_agent(path, which="final")
    except ConfigError as exc:
        raise ConfigError(f"config key {key}={str(path)!r}: {exc}") from exc
    if type(source) is not type(model):
        raise ConfigError(
            f"config key {key}={str(path)!r} holds a {type(source).__name__} model; allowed: "
            f"a {type(model).__name__} (the run's agent)"
        )
    mine, theirs = model.policy.state_dict(), source.policy.state_dict()
    diff = sorted(
        k
        for k in set(mine) | set(theirs)
        if k not in mine or k not in theirs or mine[k].shape != theirs[k].shape
    )
    if diff:
        raise ConfigError(
            f"config key {key}={str(path)!r}: its policy differs in {diff[:4]}; allowed: a "
            "model of the same network (net_arch) on the same plant"
        )
    model.policy.load_state_dict(theirs)
    p = Path(path)
    stats = (p if p.is_dir() else p.parent) / "vecnormalize.pkl"
    return stats if stats.is_file() else None


# -- the pipeline (ecocontrol-imitate) ----------------------------------------------------------
@dataclass(frozen=True)
class ImitateConfig:
    """The settings of ``ecocontrol-imitate`` besides the env.

    Attributes:
        expert: a controller registered for the plant (``rule``, ``mpc``, ``oracle``).
        expert_kwargs: its keyword arguments.
        episodes: expert demonstration episodes (train windows, fixed by ``seed``).
        dagger_rounds: DAgger rounds after behaviour cloning (0: cloning only).
        dagger_episodes: learner episodes per DAgger round.
        dagger_beta: round ``r`` applies the expert's action with probability
            ``dagger_beta**r``.
        algo: ``ppo`` or ``sac``: the model and policy of ``configs/agent/<algo>.yaml``.
        policy_kwargs: replaces the agent config's ``policy_kwargs`` (None: keep).
        epochs: passes over the data per fit (cloning and each DAgger round).
        batch_size: samples per gradient step.
        learning_rate: Adam's step size of the fit.
        log_std: PPO's initial log standard deviation (SAC: its log-std head's target).
        seed: windows, reset seeds, weights, minibatches.
        run_dir: the run directory (must not hold a model yet).
    """

    expert: str
    expert_kwargs: dict[str, Any]
    episodes: int
    dagger_rounds: int
    dagger_episodes: int
    dagger_beta: float
    algo: str
    policy_kwargs: dict[str, Any] | None
    epochs: int
    batch_size: int
    learning_rate: float
    log_std: float
    seed: int
    run_dir: str


IMITATE_KEYS = ("env", *ImitateConfig.__dataclass_fields__)


def _real(raw: Mapping[str, Any], key: str, low: float, high: float, lo_in: bool = True) -> float:
    try:
        require_finite_range(key, raw.get(key), low, high, low_inclusive=lo_in)
    except ValueError as exc:
        raise ConfigError(f"config key {exc}") from None
    return float(raw[key])


def _count(raw: Mapping[str, Any], key: str, low: int) -> int:
    value = _int(raw, key, low)
    assert value is not None  # not optional: _int raised otherwise
    return value


def imitate_config(cfg: Mapping[str, Any]) -> ImitateConfig:
    """Validate the composed imitation config (all keys but ``env``).

    Raises:
        ConfigError: naming the first bad key and the allowed range.
    """
    raw = plain_config(cfg)
    _check_keys(raw, IMITATE_KEYS, "imitate config")
    expert = raw.get("expert")
    if not isinstance(expert, str) or not expert:
        raise _fail("expert", expert, "a controller name registered for the plant (rule|mpc|...)")
    expert_kwargs = raw.get("expert_kwargs") or {}
    if not isinstance(expert_kwargs, dict):
        raise _fail("expert_kwargs", expert_kwargs, "a mapping of the expert's keyword arguments")
    if raw.get("algo") not in ALGOS:
        raise _fail("algo", raw.get("algo"), " or ".join(ALGOS))
    policy_kwargs = raw.get("policy_kwargs")
    if policy_kwargs is not None and not isinstance(policy_kwargs, dict):
        raise _fail("policy_kwargs", policy_kwargs, "a mapping of policy arguments or null")
    ints = {
        "episodes": _count(raw, "episodes", 1),
        "dagger_rounds": _count(raw, "dagger_rounds", 0),
        "dagger_episodes": _count(raw, "dagger_episodes", 1),
        "epochs": _count(raw, "epochs", 1),
        "batch_size": _count(raw, "batch_size", 1),
    }
    split = raw.get("env", {}).get("split", "train") if isinstance(raw.get("env"), dict) else None
    if split not in (None, "train"):
        raise _fail(
            "env.split",
            split,
            "train (an agent imitates on the train split; the test windows score it)",
        )
    return ImitateConfig(
        expert=expert,
        expert_kwargs=expert_kwargs,
        **ints,
        dagger_beta=_real(raw, "dagger_beta", 0.0, 1.0),
        algo=str(raw["algo"]),
        policy_kwargs=policy_kwargs,
        learning_rate=_real(raw, "learning_rate", 0.0, 1.0, lo_in=False),
        log_std=_real(raw, "log_std", -20.0, 2.0),
        seed=_seed(raw, "seed"),
        run_dir=_directory(raw, "run_dir"),
    )


@dataclass(frozen=True)
class ImitationPlan:
    """A validated imitation config: what :func:`imitate` runs.

    Attributes:
        settings: the typed settings.
        env: the env config (plain containers).
        agent: the agent config the model is built from (``policy_kwargs`` applied).
        config: the whole config and the agent, written as the run's ``config.yaml``.
    """

    settings: ImitateConfig
    env: dict[str, Any]
    agent: dict[str, Any]
    config: dict[str, Any]


def plan_imitation(cfg: Mapping[str, Any]) -> ImitationPlan:
    """Validate an imitation config (``configs/imitate.yaml``); nothing is run or written.

    Raises:
        ConfigError: naming the first bad key.
    """
    config = plain_config(cfg)
    s = imitate_config(config)
    if (Path(s.run_dir) / "model.zip").exists():
        raise ConfigError(
            f"config key run_dir={s.run_dir!r} already holds a model.zip; allowed: a new run_dir"
        )
    probe = build_env(config["env"], split="train")
    plant = plant_of(probe).plant_name
    if s.expert not in available_controllers(plant):
        raise _fail("expert", s.expert, f"one of {available_controllers(plant)} (plant {plant!r})")
    agent = agent_config(s.algo)
    if s.policy_kwargs is not None:
        agent["policy_kwargs"] = s.policy_kwargs
    try:
        agent_spec(agent, probe.action_space, observation_space=probe.observation_space)
    except ConfigError as exc:
        raise ConfigError(f"{exc} (algo={s.algo}, policy_kwargs)") from exc
    probe.close()
    return ImitationPlan(s, {**config["env"], "split": "train"}, agent, {**config, "agent": agent})


def imitate(cfg: Mapping[str, Any] | ImitationPlan) -> Path:
    """Demonstrations, behaviour cloning, DAgger, save: the run ``ecocontrol-imitate`` does.

    Returns the run directory (:func:`save_clone`'s layout; ``train_summary.json`` holds the
    cloning fit, each DAgger round and the wall times).

    Raises:
        ConfigError: naming the first bad key, before anything is run or written.
    """
    plan = cfg if isinstance(cfg, ImitationPlan) else plan_imitation(cfg)
    s = plan.settings
    t0 = time.perf_counter()
    demos = record_demonstrations(plan.env, s.expert, s.episodes, "train", s.seed, s.expert_kwargs)
    t_demo = time.perf_counter() - t0
    model, norm, bc = _clone(
        demos,
        s.algo,
        None,
        s.epochs,
        s.batch_size,
        s.learning_rate,
        s.seed,
        plan.agent,
        s.log_std,
        True,
    )
    rounds: list[DaggerRound] = []
    data = demos
    if s.dagger_rounds:
        result = dagger(
            plan.env,
            s.expert,
            model,
            norm,
            rounds=s.dagger_rounds,
            episodes_per_round=s.dagger_episodes,
            beta=s.dagger_beta,
            demos=demos,
            seed=s.seed,
            expert_kwargs=s.expert_kwargs,
            epochs=s.epochs,
            batch_size=s.batch_size,
            lr=s.learning_rate,
            log_std=s.log_std,
        )
        rounds, data = result.rounds, result.demos
    expert_cost = demos.episode_kpis[:, demos.kpi_names.index("cost_total")]
    summary = {
        "demonstrations": {
            "episodes": demos.n_episodes,
            "steps": demos.n_steps,
            "windows": [int(w) for w in demos.episode_windows],
            "expert_cost_total": [float(c) for c in expert_cost],
            "seconds": t_demo,
        },
        "behaviour_cloning": bc,
        "dagger": rounds,
        "final_mae": action_error(model, norm, data)["mae"],
        "seconds": time.perf_counter() - t0,
    }
    run_dir = save_clone(s.run_dir, model, norm, data, plan.config, summary=summary)
    print(
        f"clone of {s.expert}: {(run_dir / 'model.zip').resolve()}  (behaviour cloning MAE "
        f"{bc.mae:.3f}, after {len(rounds)} DAgger round(s) {summary['final_mae']:.3f}; "
        f"{data.n_episodes} episodes, {summary['seconds']:.0f} s)"
    )
    return run_dir
