"""Offline-RL datasets: episodes of any controller written as local Minari datasets.

:func:`record_dataset` records with :func:`ecocontrol.imitation.record_demonstrations` (the
one evaluation loop, so the data is what the benchmark would score) and writes the recorded
arrays unchanged as a Minari dataset (:func:`minari.create_dataset_from_buffers`, arrow
format) under ``MINARI_DATASETS_PATH`` (default :data:`DEFAULT_DATASETS_PATH`; never the
hub). Load it with ``minari.load_dataset("ecocontrol/<plant>/<tier>-v0")``.

Quality tiers (:data:`TIERS`): ``rule`` (the plant's rule-based controller), ``noisy`` (the
"noisy operator", :func:`noisy_operator`: the MPC with Gaussian noise on its normalised
action, standard deviation :data:`NOISY_SIGMA` per plant) and ``mpc`` (the MPC on the env's
noisy forecasts), ``agent`` (a trained agent, :func:`trained_agent`: the plant's pretrained one
by default). Any registered controller name or factory records too.

Each episode's Minari metadata holds its ``seed`` and ``options`` (``{"window": w}``): resetting
the env with them and stepping the dataset's actions reproduces its rewards
(:func:`replay_rewards`). The dataset's metadata holds, as JSON under ``ecocontrol`` and in
the description: env id and version, plant, controller and its keyword arguments, config
hash, split, windows, seeds, tier, the resolved env config and each episode's KPIs.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from ecocontrol.config import (
    ConfigError,
    _check_keys,
    _fail,
    _int,
    _seed,
    build_env,
    plain_config,
)
from ecocontrol.controllers.base import (
    Controller,
    available_controllers,
    make_controller,
    plant_of,
)
from ecocontrol.imitation import Demonstrations, record_demonstrations

#: Where datasets go when ``MINARI_DATASETS_PATH`` is unset (relative to the working dir).
DEFAULT_DATASETS_PATH = "outputs/datasets"
#: The namespace of every dataset id (``ecocontrol/<plant>/<tier>-v<version>``).
NAMESPACE = "ecocontrol"
#: Default standard deviation of the noisy operator's action noise per plant [normalised action
#: units; the action space is [-1, 1]], chosen (experiments/results/datasets, 3 train windows)
#: so that the tier lands between the rule and the MPC in cost: the kiln's 1-min fuel and air
#: moves trip on CO already at 0.02 (+6.7 % vs the rule), the park's hourly battery moves
#: reach the rule's cost at 0.05, the hot stove's gas and changeover actions stay below the
#: rule's cost at 0.2.
NOISY_SIGMA: dict[str, float] = {"park": 0.02, "cement_kiln": 0.01, "hot_stove": 0.2}

ControllerFactory = Callable[..., Controller]


class NoisyOperator:
    """The MPC with Gaussian exploration noise on its normalised action (a "noisy operator").

    The noise of an episode is drawn from ``default_rng([noise_seed, seed])`` (``seed``: the
    episode's reset seed), so an episode is reproducible on its own. The noisy action is
    clipped to the action space. The MPC re-plans from the measured state every step, so it
    follows the trajectory the noise actually produced.

    Args:
        env: the plant's env.
        sigma: standard deviation of the noise [normalised action units], >= 0 (None: the
            plant's :data:`NOISY_SIGMA`).
        noise_seed: mixes into each episode's noise seed.
        **mpc_kwargs: keyword arguments of the plant's ``mpc`` controller.
    """

    def __init__(
        self,
        env: gym.Env[Any, Any],
        sigma: float | None = None,
        noise_seed: int = 0,
        **mpc_kwargs: Any,
    ) -> None:
        if sigma is None:
            sigma = NOISY_SIGMA.get(plant_of(env).plant_name, 0.05)
        if not (isinstance(sigma, int | float) and np.isfinite(sigma) and sigma >= 0):
            raise ValueError(f"sigma={sigma!r}; allowed: a finite value >= 0")
        self.mpc = make_controller("mpc", env, **mpc_kwargs)
        self.sigma = float(sigma)
        self.noise_seed = int(noise_seed)
        space = env.action_space
        assert isinstance(space, gym.spaces.Box)
        self.low, self.high = space.low, space.high
        self.rng = np.random.default_rng(self.noise_seed)
        self.state_access = getattr(self.mpc, "state_access", "measured")
        self.exogenous_access = getattr(self.mpc, "exogenous_access", "forecast")
        self.model_access = getattr(self.mpc, "model_access", "nominal")

    @property
    def n_failures(self) -> int:
        """The MPC's failed solves this episode."""
        return int(getattr(self.mpc, "n_failures", 0))

    def reset(self, env: gym.Env[Any, Any], seed: int | None = None) -> None:
        """Reset the MPC; seed this episode's noise from ``seed``."""
        self.rng = np.random.default_rng([self.noise_seed, 0 if seed is None else seed])
        self.mpc.reset(env, seed)

    def act(self, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        """The MPC's action plus noise, clipped to the action space."""
        a = np.asarray(self.mpc.act(obs, info), dtype=np.float64)
        noisy = a + self.sigma * self.rng.standard_normal(a.shape)
        return np.clip(noisy, self.low, self.high).astype(np.float32)


def noisy_operator(env: gym.Env[Any, Any], **kwargs: Any) -> NoisyOperator:
    """Controller factory of :class:`NoisyOperator` (``sigma``, ``noise_seed``, MPC kwargs)."""
    return NoisyOperator(env, **kwargs)


def trained_agent(env: gym.Env[Any, Any], path: str = "pretrained", **kwargs: Any) -> Any:
    """Controller factory of a trained agent (:class:`~ecocontrol.agents.AgentController`).

    ``path``: a run directory or ``pretrained`` / ``pretrained:<label>`` (the committed
    agents of ``experiments/agents/``, the plant's best by default).
    """
    from ecocontrol.agents import AgentController

    return AgentController(env, path, **kwargs)


#: The quality tiers: tier name -> (controller name or factory, default keyword arguments).
TIERS: dict[str, tuple[str | ControllerFactory, dict[str, Any]]] = {
    "rule": ("rule", {}),
    "noisy": (noisy_operator, {}),
    "mpc": ("mpc", {}),
    "agent": (trained_agent, {"path": "pretrained"}),
}
#: ``policy`` values of ``ecocontrol-dataset`` besides the plant's registered controllers.
POLICY_FACTORIES: dict[str, ControllerFactory] = {
    "noisy": noisy_operator,
    "agent": trained_agent,
}


def datasets_path() -> Path:
    """``MINARI_DATASETS_PATH`` if set, else :data:`DEFAULT_DATASETS_PATH`."""
    return Path(os.environ.get("MINARI_DATASETS_PATH") or DEFAULT_DATASETS_PATH)


def make_dataset_id(plant: str, tier: str, version: int = 0) -> str:
    """Minari's ``namespace/name-vN`` id: ``ecocontrol/<plant>/<tier>-v<version>``."""
    return f"{NAMESPACE}/{plant}/{tier}-v{version}"


@dataclass(frozen=True)
class DatasetRecord:
    """What :func:`record_dataset` wrote.

    Attributes:
        dataset_id: the Minari id.
        path: the dataset's directory.
        demonstrations: the recorded data (as written).
        seconds: wall time of recording and writing [s].
        size_bytes: size of the dataset's directory on disk [bytes].
    """

    dataset_id: str
    path: Path
    demonstrations: Demonstrations
    seconds: float
    size_bytes: int


def _metadata(demos: Demonstrations, tier: str) -> dict[str, Any]:
    meta = {k: v for k, v in demos.metadata.items() if k not in ("rounds", "betas")}
    meta["format"] = "ecocontrol.dataset"
    meta["tier"] = tier
    meta["episode_kpis"] = demos.kpis
    return meta


def record_dataset(
    env_cfg: Mapping[str, Any],
    controller: str | ControllerFactory = "rule",
    episodes: int = 3,
    split: str = "train",
    seed: int = 0,
    tier_name: str | None = None,
    controller_kwargs: Mapping[str, Any] | None = None,
    dataset_id: str | None = None,
    overwrite: bool = False,
) -> DatasetRecord:
    """Record ``episodes`` episodes of ``controller`` and write them as a Minari dataset.

    The dataset goes to :func:`datasets_path`; ``MINARI_DATASETS_PATH`` is set to it (resolved)
    for the process, since Minari reads the folder from there.

    Args:
        env_cfg: the env config (``configs/env/<plant>.yaml`` composed).
        controller: a controller name registered for the plant, or a factory
            ``controller(env, **controller_kwargs)``.
        episodes: number of episodes (windows and reset seeds fixed by ``seed``).
        split: the windows' split.
        seed: fixes the windows and each episode's reset seed.
        tier_name: the tier label in the metadata and default id (default: the controller's).
        controller_kwargs: the controller's keyword arguments.
        dataset_id: the Minari id (default :func:`make_dataset_id` of the plant and tier).
        overwrite: replace an existing dataset of that id (else ``FileExistsError``).

    Raises:
        FileExistsError: if the dataset exists and ``overwrite`` is false.
        ConfigError: naming the key, for a bad env config or controller.
    """
    import minari
    from minari.data_collector.episode_buffer import EpisodeBuffer

    os.environ["MINARI_DATASETS_PATH"] = str(datasets_path().resolve())
    t0 = time.perf_counter()
    kwargs = dict(controller_kwargs or {})
    probe = build_env(env_cfg, split=split)
    plant = plant_of(probe).plant_name
    probe.close()
    if controller is noisy_operator and kwargs.get("sigma") is None:
        # Explicit, so the metadata and the config hash name the sigma used.
        kwargs["sigma"] = NOISY_SIGMA.get(plant, 0.05)
    label = controller if isinstance(controller, str) else getattr(controller, "__name__", "")
    tier = tier_name or label
    did = dataset_id or make_dataset_id(plant, tier)
    # Checked before recording: an MPC's episodes can take minutes.
    if did in minari.list_local_datasets():
        if not overwrite:
            raise FileExistsError(f"dataset {did!r} exists; allowed: a new id or overwrite=True")
        minari.delete_dataset(did)
    demos = record_demonstrations(env_cfg, controller, episodes, split, seed, kwargs)
    env = demos.make_env()
    buffers = [
        EpisodeBuffer(
            id=i,
            seed=ep["seed"],
            options={"window": ep["window"]},
            observations=ep["observations"],
            actions=ep["actions"],
            rewards=list(ep["rewards"]),
            terminations=list(ep["terminations"]),
            truncations=list(ep["truncations"]),
            infos=step_infos(env, ep["seed"], ep["window"], ep["actions"]),
        )
        for i, ep in enumerate(demos.episodes())
    ]
    meta = _metadata(demos, tier)
    with warnings.catch_warnings():
        # No env spec (the env is built from its config, not gym.make), permalink or email:
        # the metadata below names the env, its config and the code version instead.
        warnings.simplefilter("ignore", UserWarning)
        ds = minari.create_dataset_from_buffers(
            did,
            buffers,
            observation_space=env.observation_space,
            action_space=env.action_space,
            algorithm_name=f"{demos.info['expert']} ({tier})",
            author={"ecocontrol"},
            description=json.dumps(meta, default=str),
            data_format="arrow",
        )
    env.close()
    ds.storage.update_metadata({"ecocontrol": json.dumps(meta, default=str)})
    path = Path(ds.storage.data_path).parent
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return DatasetRecord(did, path, demos, time.perf_counter() - t0, size)


#: The parts of the env's ``info`` a dataset keeps per step, and their keys' prefixes.
STEP_INFO_KEYS = {"costs": "cost_", "emissions": "co2_", "constraint_violations": "viol_"}


def step_infos(
    env: gym.Env[Any, Any], seed: int, window: int, actions: np.ndarray
) -> dict[str, list[float]]:
    """Per-step KPIs of an episode, as Minari stores ``infos`` (``T + 1`` rows, reset first).

    Flat keys of float lists (Minari 0.5's arrow storage decodes nested ``infos`` as rows of
    dicts, and 1-D arrays not at all); loaded, each is a 1-D array:
    ``cost_<term>`` [CNY] and ``cost_total``, ``co2_<source>`` [tCO2] and ``co2_total``,
    ``viol_<name>``: from the env reset with ``seed`` and ``window`` and stepped with
    ``actions``, which reproduces the recorded episode exactly (see :func:`replay_rewards`);
    the reset row is 0.
    """
    _, info = env.reset(seed=int(seed), options={"window": int(window)})
    rows = [info]
    for a in actions:
        rows.append(env.step(a)[4])
    return {
        prefix + k: [float(r[part][k]) for r in rows]
        for part, prefix in STEP_INFO_KEYS.items()
        for k in rows[0][part]
    }


def dataset_metadata(dataset: Any) -> dict[str, Any]:
    """The ecocontrol metadata of a loaded Minari dataset (env, controller, split, seeds...)."""
    return dict(json.loads(dataset.storage.metadata["ecocontrol"]))


def recover_env(dataset: Any) -> gym.Env[Any, Any]:
    """The env a dataset was recorded on: its env config (metadata) on its split.

    Minari's ``recover_environment`` needs a registered spec whose kwargs are JSON; a plant's
    parameter dataclass is not, so the config in the metadata is the record.
    """
    meta = dataset_metadata(dataset)
    return build_env(meta["env_config"], split=meta["split"])


def replay_rewards(dataset: Any) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each episode's ``(recorded rewards, rewards of the env stepped with its actions)``.

    The env is rebuilt from the dataset's env config on its split; each episode resets with
    its recorded seed and window.
    """
    env = recover_env(dataset)
    out = []
    episode_meta = dataset.storage.get_episode_metadata(dataset.episode_indices)
    for ep, ep_meta in zip(dataset.iterate_episodes(), episode_meta, strict=True):
        env.reset(seed=int(ep_meta["seed"]), options=dict(ep_meta["options"]))
        replayed = [float(env.step(a)[1]) for a in ep.actions]
        out.append((np.asarray(ep.rewards, dtype=np.float64), np.asarray(replayed)))
    env.close()
    return out


#: Keys of a dataset's metadata that are not :attr:`Demonstrations.info` (the episode index).
_INDEX_KEYS = (
    "format",
    "format_version",
    "tier",
    "episode_kpis",
    "windows",
    "seeds",
    "kpi_names",
    "total_episodes",
    "total_steps",
)


def demonstrations_from_dataset(dataset: Any) -> Demonstrations:
    """A loaded ecocontrol Minari dataset as :class:`~ecocontrol.imitation.Demonstrations`.

    What offline learners built on :mod:`ecocontrol.imitation` take (e.g.
    :func:`~ecocontrol.imitation.behaviour_clone`): the behaviour policy's actions are its
    labels (``expert_actions``), each episode's window, seed and KPIs come from the metadata.
    """
    meta = dataset_metadata(dataset)
    episode_meta = dataset.storage.get_episode_metadata(dataset.episode_indices)
    obs, final, acts, rews, terms, truncs, lengths, windows, seeds = ([] for _ in range(9))
    for ep, ep_meta in zip(dataset.iterate_episodes(), episode_meta, strict=True):
        o = np.asarray(ep.observations)
        obs.append(o[:-1])
        final.append(o[-1])
        acts.append(np.asarray(ep.actions))
        rews.append(np.asarray(ep.rewards, dtype=np.float64))
        terms.append(np.asarray(ep.terminations, dtype=bool))
        truncs.append(np.asarray(ep.truncations, dtype=bool))
        lengths.append(len(ep.actions))
        windows.append(int(ep_meta["options"]["window"]))
        seeds.append(int(ep_meta["seed"]))
    kpis = meta.get("episode_kpis") or [{}] * len(lengths)
    names = tuple(kpis[0]) if kpis and kpis[0] else ()
    actions = np.concatenate(acts)
    e = len(lengths)
    return Demonstrations(
        observations=np.concatenate(obs),
        actions=actions,
        expert_actions=actions.copy(),
        rewards=np.concatenate(rews),
        terminations=np.concatenate(terms),
        truncations=np.concatenate(truncs),
        episode_lengths=np.asarray(lengths, dtype=np.int64),
        final_observations=np.stack(final),
        episode_windows=np.asarray(windows, dtype=np.int64),
        episode_seeds=np.asarray(seeds, dtype=np.int64),
        episode_rounds=np.zeros(e, dtype=np.int64),
        episode_betas=np.ones(e),
        episode_kpis=np.array([[k[n] for n in names] for k in kpis], dtype=np.float64).reshape(
            e, len(names)
        ),
        kpi_names=names,
        info={k: v for k, v in meta.items() if k not in _INDEX_KEYS},
    )


# -- the command ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class DatasetConfig:
    """The settings of ``ecocontrol-dataset`` besides the env (``configs/dataset.yaml``).

    The recorded controller is the key ``policy`` (the behaviour policy of offline RL):
    ``controller`` is already the config group of the benchmark's controllers.

    Attributes:
        policy: a controller registered for the plant (``rule``, ``mpc``, ``oracle``) or
            ``noisy`` (:func:`noisy_operator`).
        policy_kwargs: its keyword arguments (``noisy``: ``sigma``, ``noise_seed``, MPC's).
        tier: the tier label (the id's name; default: ``policy``).
        episodes: episodes recorded.
        split: ``train``, ``val`` or ``test``: the windows' split.
        seed: fixes the windows and each episode's reset seed.
        dataset_id: the Minari id (default ``ecocontrol/<plant>/<tier>-v0``).
        overwrite: replace an existing dataset of that id.
    """

    policy: str
    policy_kwargs: dict[str, Any]
    tier: str
    episodes: int
    split: str
    seed: int
    dataset_id: str | None
    overwrite: bool


DATASET_KEYS = ("env", "datasets_path", *DatasetConfig.__dataclass_fields__)
SPLITS = ("train", "val", "test")


def dataset_config(cfg: Mapping[str, Any]) -> tuple[DatasetConfig, dict[str, Any]]:
    """Validate the composed dataset config: the settings and the env config (split applied).

    Nothing is run or written (an env is built to check the policy against the plant).

    Raises:
        ConfigError: naming the first bad key and the allowed values.
    """
    raw = plain_config(cfg)
    _check_keys(raw, DATASET_KEYS, "dataset config")
    env_cfg = raw.get("env")
    if not isinstance(env_cfg, dict):
        raise _fail("env", env_cfg, "an env config (env=park|cement_kiln|hot_stove)")
    split = raw.get("split")
    if split not in SPLITS:
        raise _fail("split", split, " | ".join(SPLITS))
    kwargs = raw.get("policy_kwargs") or {}
    if not isinstance(kwargs, dict):
        raise _fail("policy_kwargs", kwargs, "a mapping of the policy's keyword arguments")
    for key in ("tier", "dataset_id", "datasets_path"):
        value = raw.get(key)
        if value is not None and (not isinstance(value, str) or not value):
            raise _fail(key, value, "a non-empty string or null")
    did = raw.get("dataset_id")
    if did is not None and not did.rsplit("-v", 1)[-1].isdigit():
        raise _fail("dataset_id", did, "Minari's '[namespace/]name-v<N>' or null")
    if not isinstance(raw.get("overwrite", False), bool):
        raise _fail("overwrite", raw.get("overwrite"), "true | false")
    episodes = _int(raw, "episodes", 1)
    assert episodes is not None  # not optional: _int raised otherwise
    probe = build_env(env_cfg, split=split)
    plant = plant_of(probe).plant_name
    policy = raw.get("policy")
    allowed = [*available_controllers(plant), *POLICY_FACTORIES]
    if policy not in allowed:
        probe.close()
        raise _fail("policy", policy, f"one of {allowed} (plant {plant!r})")
    if policy == "agent":  # a trained agent loads now, so a bad path fails before any work
        try:
            trained_agent(probe, **kwargs)
        except (ConfigError, TypeError, ValueError, FileNotFoundError) as exc:
            probe.close()
            raise ConfigError(f"config key policy_kwargs={kwargs!r}: {exc}") from exc
    probe.close()
    settings = DatasetConfig(
        policy=str(policy),
        policy_kwargs=kwargs,
        tier=str(raw.get("tier") or policy),
        episodes=episodes,
        split=str(split),
        seed=_seed(raw, "seed"),
        dataset_id=did,
        overwrite=bool(raw.get("overwrite", False)),
    )
    return settings, {**env_cfg, "split": split}


def record_from_config(cfg: Mapping[str, Any]) -> DatasetRecord:
    """What ``ecocontrol-dataset`` runs: validate, record, write, print where it went.

    Raises:
        ConfigError: naming the first bad key, before anything is run or written.
    """
    raw = plain_config(cfg)
    s, env_cfg = dataset_config(raw)
    if raw.get("datasets_path"):
        os.environ["MINARI_DATASETS_PATH"] = str(raw["datasets_path"])
    policy: str | ControllerFactory = POLICY_FACTORIES.get(s.policy, s.policy)
    try:
        rec = record_dataset(
            env_cfg,
            policy,
            s.episodes,
            s.split,
            s.seed,
            tier_name=s.tier,
            controller_kwargs=s.policy_kwargs,
            dataset_id=s.dataset_id,
            overwrite=s.overwrite,
        )
    except FileExistsError as exc:
        raise ConfigError(f"config key dataset_id: {exc} (set overwrite=true)") from exc
    except ValueError as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"config key policy_kwargs={s.policy_kwargs!r}: {exc}") from exc
    print(
        f"dataset {rec.dataset_id}: {rec.path}  ({rec.demonstrations.n_episodes} episodes, "
        f"{rec.demonstrations.n_steps} steps, {rec.size_bytes / 1e6:.2f} MB, "
        f"{rec.seconds:.0f} s); load with minari.load_dataset({rec.dataset_id!r})"
    )
    return rec
