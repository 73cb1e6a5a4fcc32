"""A plant's native batched env as a stable-baselines3 ``VecEnv``.

SB3 steps its own ``VecEnv`` interface (same-step autoreset, a list of info dicts);
:class:`NativeVecEnv` adapts a :class:`~ecocontrol.envs.vector.BatchedEcoEnv` to it, so training
steps all plant copies in one call of the batched physics instead of one Python env each
(``ecocontrol-train vec_env=native``). Each ending episode's info carries what SB3's
``Monitor`` and ecocontrol's ``EpisodeKpis`` wrapper would put there: ``episode`` (return,
length, time), ``episode_kpis`` (cost, tCO2 and violation sums), ``terminal_observation`` and
``TimeLimit.truncated``.

The batched env of an env config is its env class's simulator (``cls.simulator``, the class
gymnasium's ``vector_entry_point`` names), built by :func:`make_native` from the same
arguments :func:`ecocontrol.config.build_env` gives the single env.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import VecEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices, VecEnvObs, VecEnvStepReturn

from ecocontrol.config import ConfigError, env_parts
from ecocontrol.envs.vector import BatchedEcoEnv


def make_native(env_cfg: Mapping[str, Any], num_envs: int, split: str) -> BatchedEcoEnv:
    """The plant's batched env for an env config, ``num_envs`` members on ``split``.

    Raises:
        ConfigError: naming ``env`` if the env class has no simulator or refuses a value.
    """
    cls, kwargs = env_parts(env_cfg)
    simulator = getattr(cls, "simulator", None)
    if not (isinstance(simulator, type) and issubclass(simulator, BatchedEcoEnv)):
        raise ConfigError(
            f"config key env._target_={cls.__name__} has no batched simulator; allowed: "
            "an ecocontrol plant env, or vec_env=dummy"
        )
    try:
        return simulator(num_envs, autoreset_mode="SameStep", **{**kwargs, "split": split})
    except Exception as exc:  # the simulator's own validation: every message names the key
        raise ConfigError(f"config key env: {exc}") from exc


class NativeVecEnv(VecEnv):
    """SB3 ``VecEnv`` over a batched plant env created with ``autoreset_mode="SameStep"``."""

    def __init__(self, venv: BatchedEcoEnv) -> None:
        if venv.autoreset_mode is not gym.vector.AutoresetMode.SAME_STEP:
            raise ValueError("NativeVecEnv needs a batched env with autoreset_mode='SameStep'")
        self.venv = venv
        super().__init__(venv.num_envs, venv.single_observation_space, venv.single_action_space)
        n = venv.num_envs
        self._return = np.zeros(n)
        self._length = np.zeros(n, dtype=np.int64)
        # per-member sums of the accounts (rows: the env's names), for ``episode_kpis``
        self._keys = (
            *("cost_" + k for k in venv.cost_names),
            *("co2_" + k for k in venv.emission_names),
            *("viol_" + k for k in venv.violation_keys),
        )
        self._sums = np.zeros((len(self._keys), n))
        self._rows = (
            slice(0, len(venv.cost_names)),
            slice(len(venv.cost_names), len(venv.cost_names) + len(venv.emission_names)),
            slice(len(venv.cost_names) + len(venv.emission_names), len(self._keys)),
        )
        self._actions = np.zeros((n, *venv.single_action_space.shape))
        self._t0 = time.time()

    def reset(self) -> VecEnvObs:
        """Reset every member (with the seeds from ``seed()``, if any)."""
        seeds = None if all(s is None for s in self._seeds) else self._seeds
        obs, _ = self.venv.reset(seed=seeds)
        self._reset_seeds()
        self._return[:] = 0.0
        self._length[:] = 0
        self._sums[:] = 0.0
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        """Store the actions for :meth:`step_wait`."""
        self._actions = actions

    def step_wait(self) -> VecEnvStepReturn:
        """Step every member; an ending member resets at once (its last observation in info)."""
        obs, reward, terminated, truncated, em, co, viol, final = self.venv._step(self._actions)
        self._return += reward
        self._length += 1
        costs, emissions, violations = self._rows
        self._sums[costs] += co
        self._sums[emissions] += em
        self._sums[violations] += viol
        done = terminated | truncated
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        for i in np.flatnonzero(done):
            infos[i] = {
                "terminal_observation": final[0][i],
                "TimeLimit.truncated": bool(truncated[i] and not terminated[i]),
                "episode": {
                    "r": float(self._return[i]),
                    "l": int(self._length[i]),
                    "t": round(time.time() - self._t0, 6),
                },
                "episode_kpis": dict(zip(self._keys, self._sums[:, i].tolist(), strict=True)),
            }
            self._return[i] = 0.0
            self._length[i] = 0
            self._sums[:, i] = 0.0
        return obs, reward.astype(np.float32), done, infos

    def close(self) -> None:
        """Close the batched env."""
        self.venv.close()

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        """An attribute of the plant's simulator (the same for every member)."""
        value = getattr(self.venv, attr_name)
        return [value for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        """Not supported: the members share one batched state."""
        raise NotImplementedError("NativeVecEnv members cannot be changed one by one")

    def env_method(
        self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **kwargs: Any
    ) -> list[Any]:
        """Call a method of the plant's simulator (the same for every member)."""
        method = getattr(self.venv, method_name)
        return [method(*method_args, **kwargs) for _ in self._get_indices(indices)]

    def env_is_wrapped(
        self, wrapper_class: type[gym.Wrapper[Any, Any, Any, Any]], indices: VecEnvIndices = None
    ) -> list[bool]:
        """No member is wrapped (episode statistics come from this class itself)."""
        return [False for _ in self._get_indices(indices)]
