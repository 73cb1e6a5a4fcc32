"""Native batched envs: one plant's physics stepped over a leading batch axis.

:class:`BatchedEcoEnv` is a Gymnasium :class:`~gymnasium.vector.VectorEnv` whose members are
copies of one plant env (built once from the same keyword arguments, which it validates). It
shares the single env's mechanics: windows, action scaling and clipping, the ledger's pricing
and the reward; a plant subclass supplies its batched state, physics and observation, calling
the same physics functions as the single env. Each member has its own random generator, seeded
like a single env (``reset(seed=s)`` seeds member ``i`` with ``s + i``), so member ``i`` runs
the trajectory a single env seeded with ``s + i`` runs under the same actions.

Autoreset: ``NextStep`` (Gymnasium's default: the step after an episode's end resets the
member, ignores its action and returns reward 0) or ``SameStep`` (the member resets at once;
its last observation is in ``info["final_obs"]``, masked by ``info["_final_obs"]``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space
from numpy.typing import NDArray

from .base import EcoEnv, FloatArray, ForecastErrorModel, episode_forecast_errors

IntArray = NDArray[np.int64]


class BatchedEcoEnv(VectorEnv[NDArray[np.float32], NDArray[np.float32], NDArray[Any]]):
    """Shared mechanics of the batched plants; see the module docstring.

    Subclasses set :attr:`single_env_class` and implement ``_reset_members``, ``_prepare``,
    ``_step_members`` and ``_observe_batch``.

    ``info`` holds per-member arrays: ``costs`` and ``emissions`` (the ledger's terms and
    totals), ``constraint_violations``, ``step`` and ``window``.
    """

    single_env_class: ClassVar[type[EcoEnv]]

    def __init__(
        self, num_envs: int = 1, *, autoreset_mode: str | AutoresetMode = "NextStep", **kwargs: Any
    ) -> None:
        if isinstance(num_envs, bool) or not isinstance(num_envs, int) or num_envs < 1:
            raise ValueError(f"num_envs={num_envs!r}; allowed: an int >= 1")
        mode = AutoresetMode(autoreset_mode)
        if mode is AutoresetMode.DISABLED:
            raise ValueError(f"autoreset_mode={mode.value!r}; allowed: 'NextStep' or 'SameStep'")
        self.template = self.single_env_class(**kwargs)  # validates every keyword
        self.num_envs = num_envs
        self.autoreset_mode = mode
        self.metadata = {**self.template.metadata, "autoreset_mode": mode}
        self.single_observation_space = self.template.observation_space
        self.single_action_space = self.template.action_space
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.scaler = self.template.scaler
        self.ledger = self.template.ledger
        self.reward_scale_cny = self.template.reward_scale_cny
        self.episode_steps = self.template.episode_steps
        self.starts = self.template.window_starts
        self.rngs: list[np.random.Generator | None] = [None] * num_envs
        self.step_index: IntArray = np.zeros(num_envs, dtype=np.int64)
        self.window_index: IntArray = np.zeros(num_envs, dtype=np.int64)
        self.window_start: IntArray = np.zeros(num_envs, dtype=np.int64)
        self._needs_reset = np.zeros(num_envs, dtype=bool)
        self._all = np.arange(num_envs)

    # -- to implement in a plant ------------------------------------------------------------
    def _reset_members(self, idx: IntArray) -> None:
        """Set the initial state of members ``idx`` (their windows are chosen)."""
        raise NotImplementedError

    def _prepare(self, idx: IntArray) -> None:
        """Prepare what members ``idx`` know before their coming step (forecasts)."""
        raise NotImplementedError

    def _step_members(
        self, physical: FloatArray
    ) -> tuple[dict[str, FloatArray], dict[str, FloatArray], dict[str, FloatArray]]:
        """Advance every member one step: emissions, non-carbon costs, violations."""
        raise NotImplementedError

    def _observe_batch(self) -> NDArray[np.float32]:
        """Observations of all members, shape ``(num_envs, n_obs)``."""
        raise NotImplementedError

    # -- shared mechanics ----------------------------------------------------------------------
    @property
    def t(self) -> IntArray:
        """Step of the year of each member's coming step."""
        return self.window_start + self.step_index

    def reset(
        self,
        *,
        seed: int | Sequence[int | None] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> tuple[NDArray[np.float32], dict[str, Any]]:
        """Reset every member.

        ``seed``: an int (member ``i`` gets ``seed + i``) or one per member;
        ``options={"window": w}``: an int for all members or one per member.
        """
        if seed is None or isinstance(seed, int | np.integer):
            seeds: list[int | None] = [
                None if seed is None else int(seed) + i for i in range(self.num_envs)
            ]
        else:
            seeds = list(seed)
            if len(seeds) != self.num_envs:
                raise ValueError(f"seed has {len(seeds)} entries; allowed: {self.num_envs}")
        for i, s in enumerate(seeds):
            if s is not None or self.rngs[i] is None:
                self.rngs[i], _ = seeding.np_random(s)
        window = None if options is None else options.get("window")
        if window is not None and not isinstance(window, int | np.integer):
            window = list(window)
            if len(window) != self.num_envs:
                raise ValueError(
                    f"options['window'] has {len(window)} entries; allowed: 1 or {self.num_envs}"
                )
        self._reset(self._all, window)
        obs = self._observe_batch()
        return obs, {"step": self.step_index.copy(), "window": self.window_index.copy()}

    def _reset(self, idx: IntArray, window: Any = None) -> None:
        n = len(self.starts)
        for i in idx:
            w = window[i] if isinstance(window, list) else window
            if w is None:
                rng = self.rngs[i]
                assert rng is not None
                w = int(rng.integers(n))
            elif isinstance(w, bool) or not 0 <= int(w) < n:
                raise ValueError(
                    f"options['window']={w!r} is out of range for split "
                    f"{self.template.split!r}; allowed: 0..{n - 1}"
                )
            self.window_index[i] = int(w)
        self.window_start[idx] = self.starts[self.window_index[idx]]
        self.step_index[idx] = 0
        self._needs_reset[idx] = False
        self._reset_members(idx)
        self._prepare(idx)

    def step(
        self, actions: NDArray[Any]
    ) -> tuple[
        NDArray[np.float32], FloatArray, NDArray[np.bool_], NDArray[np.bool_], dict[str, Any]
    ]:
        """Step every member with ``actions`` of shape ``(num_envs, n_actions)`` in [-1, 1]."""
        physical, clipped = self.scaler.to_physical_batch(actions)
        restart = np.flatnonzero(self._needs_reset)  # NextStep: these reset, actions ignored
        emissions, costs, violations = self._step_members(physical)
        em, co = self.ledger.price(emissions, costs)
        reward = -co["total"] / self.reward_scale_cny
        self.step_index += 1
        truncated = self.step_index >= self.episode_steps
        going = np.flatnonzero(~truncated)
        if len(going):
            self._prepare(going)
        violations = {"action_clipped": clipped, **violations}
        if len(restart):
            self._reset(restart)
            reward[restart] = 0.0
            truncated[restart] = False
            for part in (em, co, violations):
                for value in part.values():
                    if isinstance(value, np.ndarray):
                        value[restart] = 0.0
        info: dict[str, Any] = {
            "costs": co,
            "emissions": em,
            "constraint_violations": violations,
            "step": self.step_index.copy(),
            "window": self.window_index.copy(),
        }
        obs = self._observe_batch()
        ended = np.flatnonzero(truncated)
        if len(ended):
            if self.autoreset_mode is AutoresetMode.SAME_STEP:
                info["final_obs"] = obs.copy()
                info["_final_obs"] = truncated.copy()
                self._reset(ended)
                obs = self._observe_batch()
            else:
                self._needs_reset[ended] = True
        return obs, reward, np.zeros(self.num_envs, dtype=bool), truncated, info

    def close_extras(self, **kwargs: Any) -> None:
        """Nothing to release (one process)."""


class BatchForecastErrors:
    """Each member's episode forecast errors, drawn ``chunk`` steps at a time.

    A single env draws its whole episode's errors at reset
    (:func:`~ecocontrol.envs.base.episode_forecast_errors`); a batch draws the same variates
    from each member's generator in chunks, which bounds memory at ``num_envs * chunk`` steps
    (a whole 8-h hot-stove episode with a 3-h horizon is 0.7 MB per member). A member reset
    mid-episode first draws the rest of its episode, as the single env would have.
    """

    def __init__(
        self,
        models: tuple[ForecastErrorModel, ...],
        episode_steps: int,
        n_leads: int,
        dt_h: float,
        num_envs: int,
        chunk: int = 32,
    ) -> None:
        self.models, self.episode_steps, self.n_leads, self.dt_h = (
            models,
            episode_steps,
            n_leads,
            dt_h,
        )
        self.chunk = min(chunk, episode_steps)
        self.buffer = np.zeros((num_envs, self.chunk, len(models), n_leads))
        self.first = np.zeros(num_envs, dtype=np.int64)  # episode step of buffer[:, 0]
        self.drawn = np.full(num_envs, episode_steps, dtype=np.int64)  # steps drawn so far

    def _draw(self, rng: np.random.Generator, steps: int) -> FloatArray:
        return episode_forecast_errors(self.models, steps, self.n_leads, self.dt_h, rng)

    def start(self, i: int, rng: np.random.Generator) -> None:
        """Member ``i`` starts an episode (after its reset's other draws)."""
        left = self.episode_steps - int(self.drawn[i])
        if left > 0:
            self._draw(rng, left)  # the rest of the abandoned episode
        self.drawn[i] = 0
        self._fill(i, rng)

    def _fill(self, i: int, rng: np.random.Generator) -> None:
        steps = min(self.chunk, self.episode_steps - int(self.drawn[i]))
        self.buffer[i, :steps] = self._draw(rng, steps)
        self.first[i] = self.drawn[i]
        self.drawn[i] += steps

    def rows(
        self, idx: IntArray, step: IntArray, rngs: Sequence[np.random.Generator | None]
    ) -> FloatArray:
        """Errors ``(len(idx), series, lead)`` of members ``idx`` at their episode ``step``."""
        for j in np.flatnonzero(step >= self.first[idx] + self.chunk):
            rng = rngs[idx[j]]
            assert rng is not None
            self._fill(int(idx[j]), rng)
        return self.buffer[idx, step - self.first[idx]]


def horizon_view(series: FloatArray, h: int) -> FloatArray:
    """Row ``t``: ``series[t], ..., series[t + h - 1]`` wrapping around the year (a view)."""
    padded = np.concatenate([series, series[:h]])
    return np.lib.stride_tricks.sliding_window_view(padded, h)


def make_batched(env_id: str, num_envs: int, **kwargs: Any) -> gym.vector.VectorEnv[Any, Any, Any]:
    """``gymnasium.make_vec`` through the plant's native batched env (``vector_entry_point``)."""
    return gym.make_vec(
        env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", **kwargs
    )
