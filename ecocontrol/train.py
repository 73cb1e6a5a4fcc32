"""Train a stable-baselines3 agent: the training API (``ecocontrol-train`` runs it).

:func:`plan_training` validates a training config (every key, the env, the agent against the
env's action space) without running anything; :func:`train` runs it. The benchmark trains
its agents through these two functions too.

One run directory holds everything of a run::

    config.yaml             the resolved config (written before training starts)
    checkpoints/            model_<steps>_steps.zip (+ vecnormalize_/replay_buffer_) every N steps
    best/                   best_model.zip (+ vecnormalize.pkl) by mean validation reward
    eval/evaluations.npz    validation rewards over training
    tb/<ALGO>_1/            TensorBoard: SB3's scalars, kpi/* per-episode KPIs, hparams
    model.zip               the final model (+ vecnormalize.pkl when normalising)

Training runs ``n_envs`` copies of the plant on its train split (random windows, seeded), and
evaluates on the validation split's windows in turn. ``resume=true`` on the same run
directory continues from the newest checkpoint: same step count, same TensorBoard run.
"""

from __future__ import annotations

import json
import logging
import pickle
import re
import zipfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.callbacks import (
    BaseCallback,
    CallbackList,
    CheckpointCallback,
    EvalCallback,
)
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.logger import HParam
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.utils import set_random_seed
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv, VecNormalize

from ecocontrol.compute_carbon import LEDGER as COMPUTE_LEDGER
from ecocontrol.compute_carbon import ComputeMeter, grid_factor, training_callback
from ecocontrol.config import (
    EVAL_SEED_OFFSET,
    ConfigError,
    TrainConfig,
    agent_spec,
    build_env,
    plain_config,
    to_yaml,
    train_config,
)
from ecocontrol.evaluation import add_kpis
from ecocontrol.io import atomic_path, clean_temp_files, write_atomic

log = logging.getLogger(__name__)

CHECKPOINTS = "checkpoints"
_CKPT = re.compile(r"model_(\d+)_steps\.zip$")


class EpisodeKpis(gym.Wrapper[Any, Any, Any, Any]):
    """Sums each step's costs, tCO2 and violations; puts the totals in the last step's info.

    At the end of an episode ``info["episode_kpis"]`` holds ``cost_<term>`` [CNY],
    ``co2_<source>`` [t] and ``viol_<name>`` (summed over the episode).
    """

    def __init__(self, env: gym.Env[Any, Any]) -> None:
        super().__init__(env)
        self._kpis: dict[str, float] = {}

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        """Reset the env and the episode sums."""
        self._kpis = {}
        return self.env.reset(**kwargs)

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        """Step and add the step's costs, emissions and violations to the sums."""
        obs, reward, terminated, truncated, info = self.env.step(action)
        add_kpis(self._kpis, info)
        if terminated or truncated:
            info = {**info, "episode_kpis": dict(self._kpis)}
        return obs, reward, terminated, truncated, info


class CycleWindows(gym.Wrapper[Any, Any, Any, Any]):
    """Resets go through the split's windows in turn (deterministic validation)."""

    def __init__(self, env: gym.Env[Any, Any]) -> None:
        super().__init__(env)
        self._next = 0

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        """Reset on the next window of the split."""
        n = self.env.unwrapped.n_windows  # type: ignore[attr-defined]
        options = {**(kwargs.pop("options", None) or {}), "window": self._next % n}
        self._next += 1
        return self.env.reset(options=options, **kwargs)

    def restart(self) -> None:
        """The next reset is on the split's first window again."""
        self._next = 0


def _continue_schedule(callback: BaseCallback) -> None:
    """Count a resumed run's calls from its step count.

    Evaluations and checkpoints then fall on the same steps as in a run never stopped (SB3
    counts from 0 at every ``learn``).
    """
    venv = callback.model.get_env()
    callback.n_calls = callback.model.num_timesteps // (venv.num_envs if venv else 1)


class Validation(EvalCallback):
    """SB3's ``EvalCallback`` on the validation windows, the same ones at every evaluation.

    Each evaluation starts again at the split's first window (so the best model and the
    Optuna objective compare rewards on the same windows), and a resumed run continues the
    evaluation history and the best score of ``eval/evaluations.npz``.
    """

    def __init__(self, eval_env: VecEnv, cycles: list[CycleWindows], **kwargs: Any) -> None:
        super().__init__(eval_env, **kwargs)
        self.cycles = cycles

    def _init_callback(self) -> None:
        super()._init_callback()
        _continue_schedule(self)
        self.evaluations_path = Path(f"{self.log_path}.npz") if self.log_path else None
        path = self.evaluations_path
        if path is not None and path.exists():
            data = np.load(path)
            self.evaluations_timesteps = [int(t) for t in data["timesteps"]]
            self.evaluations_results = [list(r) for r in data["results"]]
            self.evaluations_length = [list(n) for n in data["ep_lengths"]]
            if len(data["results"]):
                self.best_mean_reward = float(np.mean(data["results"], axis=1).max())

    def _on_step(self) -> bool:
        if not (self.eval_freq > 0 and self.n_calls % self.eval_freq == 0):
            return super()._on_step()
        for cycle in self.cycles:
            cycle.restart()
        if self.evaluations_path is None:
            return super()._on_step()
        # SB3 writes the history with np.savez(self.log_path) in place: point it at a temp
        # file that replaces the history once complete.
        log_path = self.log_path
        try:
            with atomic_path(self.evaluations_path, ext=".npz") as tmp:
                self.log_path = str(tmp)
                return super()._on_step()
        finally:
            self.log_path = log_path


def _validation_class(masked: bool) -> type[Validation]:
    """The validation callback class: masked for a maskable algorithm.

    For MaskablePPO, :class:`Validation` on sb3-contrib's ``MaskableEvalCallback``, whose
    evaluation passes the action masks (as the benchmark does).
    """
    if not masked:
        return Validation
    from sb3_contrib.common.maskable.callbacks import MaskableEvalCallback

    class MaskedValidation(Validation, MaskableEvalCallback):
        """:class:`Validation` with action masks."""

    return MaskedValidation


class KpiCallback(BaseCallback):
    """TensorBoard: per-episode KPIs and the run's hyper-parameters.

    ``kpi/<name>`` is the mean over the episodes that ended in each log interval; the
    hyper-parameters go to TensorBoard's HPARAMS tab.
    """

    def __init__(self, hparams: Mapping[str, Any]) -> None:
        super().__init__()
        self.hparams = {
            k: v if isinstance(v, int | float | str | bool) else str(v) for k, v in hparams.items()
        }

    def _on_training_start(self) -> None:
        metrics = {"rollout/ep_rew_mean": 0.0, "eval/mean_reward": 0.0}
        self.logger.record(
            "hparams", HParam(self.hparams, metrics), exclude=("stdout", "log", "json", "csv")
        )

    def _on_step(self) -> bool:
        for info in self.locals.get("infos", []):
            kpis = info.get("episode_kpis")
            if kpis:
                for k, v in kpis.items():
                    self.logger.record_mean(f"kpi/{k}", float(v))
        return True


def save_model(model: Any, folder: Path, name: str, stats_name: str | None) -> None:
    """Save ``model`` as ``folder/name`` and its normalisation statistics, each atomically.

    The statistics (``stats_name``, when the model normalises) are written first, so a
    complete model file always has its statistics beside it.
    """
    venv = model.get_vec_normalize_env()
    if venv is not None and stats_name is not None:
        with atomic_path(folder / stats_name) as tmp:
            venv.save(str(tmp))
    with atomic_path(folder / name) as tmp:
        model.save(str(tmp))


class SaveBest(BaseCallback):
    """Saves a new best model and its normalisation statistics (atomically) in ``folder``."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder

    def _on_step(self) -> bool:
        save_model(self.model, self.folder, "best_model.zip", "vecnormalize.pkl")
        return True


class AtomicCheckpoint(CheckpointCallback):
    """SB3's ``CheckpointCallback`` with each file written atomically, the model last.

    The replay buffer and the normalisation statistics of a step count are complete before
    its ``model_<steps>_steps.zip`` appears, so :func:`last_checkpoint` never finds a model
    without them (a kill in between leaves only temp files, cleaned at the next start).
    """

    def _init_callback(self) -> None:
        super()._init_callback()
        _continue_schedule(self)

    def _on_step(self) -> bool:
        if self.n_calls % self.save_freq != 0:
            return True
        folder = Path(self.save_path)
        model = self.model
        if (
            self.save_replay_buffer
            and isinstance(model, OffPolicyAlgorithm)
            and model.replay_buffer is not None
        ):
            path = Path(self._checkpoint_path("replay_buffer_", extension="pkl"))
            with atomic_path(path) as tmp:
                model.save_replay_buffer(str(tmp))
        stats = None
        if self.save_vecnormalize:
            stats = Path(self._checkpoint_path("vecnormalize_", extension="pkl")).name
        save_model(model, folder, Path(self._checkpoint_path(extension="zip")).name, stats)
        return True


def _loads(path: Path) -> bool:
    """True if ``path`` is a complete zip (model) or pickle (statistics, buffer)."""
    try:
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as z:
                return z.testzip() is None
        with path.open("rb") as f:
            pickle.load(f)
        return True
    except Exception:
        return False


def last_checkpoint(run_dir: Path, normalized: bool = False) -> tuple[Path, int] | None:
    """The newest complete ``model_<steps>_steps.zip`` in ``run_dir/checkpoints``.

    Complete: the zip reads back and, if ``normalized``, its normalisation statistics do too.
    A checkpoint cut short by a kill is skipped in favour of the one before it.
    """
    found = []
    for p in (run_dir / CHECKPOINTS).glob("model_*_steps.zip"):
        m = _CKPT.search(p.name)
        if m:
            found.append((int(m.group(1)), p))
    for steps, path in sorted(found, reverse=True):
        stats = path.with_name(f"model_vecnormalize_{steps}_steps.pkl")
        if _loads(path) and (not normalized or _loads(stats)):
            return path, steps
        log.warning("skipping incomplete checkpoint %s", path)
    return None


def _make_venv(
    env_cfg: Mapping[str, Any],
    split: str,
    n_envs: int,
    seed: int,
    vec_env: str,
    cycles: list[CycleWindows] | None = None,
    settings: TrainConfig | None = None,
    gamma: float = 0.99,
) -> VecEnv:
    """``n_envs`` plants on ``split``.

    With ``cycles`` (one process only) each env goes through the split's windows in turn and
    its :class:`CycleWindows` is appended to that list. ``vec_env="native"`` steps the plants
    in the plant's batched env (:mod:`ecocontrol.vec`); validation always uses single envs.
    With ``settings`` whose agent acts through an interface, a reward baseline or shaping,
    each plant is wrapped in :class:`~ecocontrol.interfaces.env.AgentEnv`; validation envs
    (``cycles``) keep the interface but score raw rewards (no baseline, no shaping).
    """

    def make() -> gym.Env[Any, Any]:
        env: gym.Env[Any, Any] = EpisodeKpis(build_env(env_cfg, split=split))
        if cycles is not None:
            cycle = CycleWindows(env)
            cycles.append(cycle)
            env = cycle
        if settings is not None and settings.wrapped:
            from ecocontrol.interfaces import make_interface
            from ecocontrol.interfaces.env import AgentEnv

            training = cycles is None
            env = AgentEnv(
                env,
                make_interface(env, settings.interface),
                reward_baseline=settings.reward_baseline if training else "none",
                make_shadow=lambda: build_env(env_cfg, split=split),
                shaping=settings.shaping and training,
                gamma=gamma,
            )
        return env

    if vec_env == "native" and cycles is None and not (settings and settings.wrapped):
        from ecocontrol.vec import NativeVecEnv, make_native

        venv = NativeVecEnv(make_native(env_cfg, n_envs, split))
        venv.seed(seed)
        return venv
    cls = SubprocVecEnv if vec_env == "subproc" and n_envs > 1 else DummyVecEnv
    return make_vec_env(make, n_envs=n_envs, seed=seed, vec_env_cls=cls)


def _normalized(
    venv: VecEnv, s: TrainConfig, stats: Path | None, training: bool, gamma: float = 0.99
) -> VecEnv:
    """``venv`` under ``VecNormalize`` when the run normalises.

    Rewards are discounted with the agent's own ``gamma`` (the return whose spread
    ``VecNormalize`` divides by).
    """
    if not (s.normalize_obs or s.normalize_reward):
        return venv
    if stats is not None and stats.exists():
        norm = VecNormalize.load(str(stats), venv)
    else:
        norm = VecNormalize(
            venv, norm_obs=s.normalize_obs, norm_reward=s.normalize_reward, gamma=gamma
        )
    norm.training = training
    if not training:
        norm.norm_reward = False
    return norm


def _callbacks(
    s: TrainConfig,
    env_cfg: Mapping[str, Any],
    run_dir: Path,
    hparams: dict[str, Any],
    gamma: float = 0.99,
    masked: bool = False,
) -> list[BaseCallback]:
    """KPIs and hyper-parameters to TensorBoard, checkpoints, validation with the best model."""
    callbacks: list[BaseCallback] = [KpiCallback({**hparams, **asdict(s)})]
    if s.checkpoint_every > 0:
        callbacks.append(
            AtomicCheckpoint(
                save_freq=max(s.checkpoint_every // s.n_envs, 1),
                save_path=str(run_dir / CHECKPOINTS),
                name_prefix="model",
                save_replay_buffer=True,
                save_vecnormalize=True,
            )
        )
    if s.eval_every > 0:
        cycles: list[CycleWindows] = []
        eval_env = _normalized(
            _make_venv(env_cfg, "val", 1, s.seed + EVAL_SEED_OFFSET, "dummy", cycles, s, gamma),
            s,
            None,
            False,
        )
        n_windows = cycles[0].unwrapped.n_windows  # type: ignore[attr-defined]
        episodes = n_windows if s.eval_episodes is None else s.eval_episodes
        callbacks.append(
            _validation_class(masked)(
                eval_env,
                cycles,
                callback_on_new_best=SaveBest(run_dir / "best"),
                n_eval_episodes=episodes,
                eval_freq=max(s.eval_every // s.n_envs, 1),
                best_model_save_path=None,  # SaveBest writes it, atomically
                log_path=str(run_dir / "eval"),
                deterministic=True,
                verbose=0,
            )
        )
    return callbacks


@dataclass(frozen=True)
class TrainPlan:
    """A validated training config: what :func:`train` runs.

    Attributes:
        settings: the typed settings (everything but the env and the agent).
        env: the env config (plain containers).
        algo: the stable-baselines3 algorithm class.
        agent_kwargs: its keyword arguments (checked against the env's action space).
        config: the whole config, written to the run directory as ``config.yaml``.
    """

    settings: TrainConfig
    env: dict[str, Any]
    algo: type[Any]
    agent_kwargs: dict[str, Any]
    config: dict[str, Any]


def plan_training(cfg: Mapping[str, Any]) -> TrainPlan:
    """Validate a training config (keys of ``configs/train.yaml``); nothing is run or written.

    Raises:
        ConfigError: naming the first bad key.
    """
    config = plain_config(cfg)
    s = train_config(config)
    probe = build_env(config["env"])  # validates the env parameters
    spaces: gym.Env[Any, Any] | Any = probe
    if s.wrapped:  # the agent's spaces are the interface's
        from ecocontrol.interfaces import interface_spec, make_interface

        try:
            spaces = make_interface(probe, s.interface)
        except ValueError as e:
            raise ConfigError(str(e)) from None
        config["interface"] = interface_spec(spaces)  # every setting, saved with the run
    algo, kwargs = agent_spec(
        config["agent"],
        spaces.action_space,
        n_envs=s.n_envs,
        observation_space=spaces.observation_space,
    )
    probe.close()
    return TrainPlan(s, config["env"], algo, kwargs, config)


def train(cfg: Mapping[str, Any] | TrainPlan) -> Path:
    """Validate ``cfg`` (see :func:`plan_training`), train, save; return the run dir.

    Raises:
        ConfigError: naming the first bad key, before anything is written.
    """
    plan = cfg if isinstance(cfg, TrainPlan) else plan_training(cfg)
    s, env_cfg, algo, kwargs = plan.settings, plan.env, plan.algo, plan.agent_kwargs
    run_dir = Path(s.run_dir)
    ckpt = last_checkpoint(run_dir, normalized=s.normalize_obs or s.normalize_reward)
    if ckpt is not None and not s.resume:
        raise ConfigError(
            f"config key resume=false, but run_dir {run_dir} already holds checkpoints; "
            "allowed: resume=true to continue that run, or a new run_dir"
        )
    if s.resume and (run_dir / "model.zip").exists() and ckpt is None:
        log.info("run in %s already finished", run_dir)
        return run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    clean_temp_files(run_dir)  # of a run killed mid-write
    if ckpt is None:
        write_atomic(to_yaml(plan.config), run_dir / "config.yaml")
    set_random_seed(s.seed)
    gamma = float(kwargs.get("gamma", 0.99))
    venv = _make_venv(env_cfg, "train", s.n_envs, s.seed, s.vec_env, settings=s, gamma=gamma)
    stats = None
    if ckpt is not None:
        stats = ckpt[0].with_name(f"model_vecnormalize_{ckpt[1]}_steps.pkl")
    venv = _normalized(venv, s, stats, training=True, gamma=gamma)
    tb = str(run_dir / "tb")
    if ckpt is None:
        model = algo(env=venv, seed=s.seed, device=s.device, tensorboard_log=tb, **kwargs)
        if s.init_from is not None:  # e.g. a behaviour clone: its policy and its statistics
            from ecocontrol.imitation import load_policy_weights

            clone_stats = load_policy_weights(model, s.init_from)
            if clone_stats is not None and isinstance(venv, VecNormalize):
                clone = VecNormalize.load(str(clone_stats), venv.venv)
                venv.obs_rms = clone.obs_rms
    else:
        path, steps = ckpt
        log.info("resuming from %s (%d steps)", path, steps)
        model = algo.load(str(path), env=venv, device=s.device, tensorboard_log=tb)
        buffer = path.with_name(f"model_replay_buffer_{steps}_steps.pkl")
        if isinstance(model, OffPolicyAlgorithm):
            if _loads(buffer):
                model.load_replay_buffer(str(buffer))
            else:
                log.warning("no readable replay buffer %s: resuming with an empty one", buffer)
    masked = algo.__name__.startswith("Maskable")
    callbacks = _callbacks(s, env_cfg, run_dir, {"algo": algo.__name__, **kwargs}, gamma, masked)
    remaining = s.total_timesteps - model.num_timesteps
    # The run's own energy and CO2 (compute_carbon), on a resume added to the earlier sessions'.
    factor, source = grid_factor(env_cfg)
    ledger = run_dir / COMPUTE_LEDGER
    with ComputeMeter(factor, "train", grid_source=source, ledger=ledger, carry=s.resume) as meter:
        if remaining > 0:
            model.learn(
                total_timesteps=remaining,
                callback=CallbackList([*callbacks, training_callback(meter)]),
                tb_log_name=algo.__name__,
                reset_num_timesteps=ckpt is None,
                progress_bar=s.progress_bar,
            )
    summary = {
        "num_timesteps": int(model.num_timesteps),
        "algo_target": f"{algo.__module__}.{algo.__name__}",
        **meter.summary(),
    }
    write_atomic(json.dumps(summary, indent=2), run_dir / "train_summary.json")
    # model.zip last: once it is there, the run is finished (see the resume check above).
    save_model(model, run_dir, "model.zip", "vecnormalize.pkl")
    venv.close()
    print(f"model: {(run_dir / 'model.zip').resolve()}  ({model.num_timesteps} steps)")
    print(f"TensorBoard: tensorboard --logdir {(run_dir / 'tb').resolve()}")
    return run_dir


def best_validation_reward(run_dir: Path) -> float:
    """The best mean validation reward of a run (NaN if it was never evaluated)."""
    evals = run_dir / "eval" / "evaluations.npz"
    if evals.exists():
        results = np.load(evals)["results"]
        if len(results):
            return float(results.mean(axis=1).max())
    return float("nan")
