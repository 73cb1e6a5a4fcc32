"""The one step loop of every plant: a plant's simulator over a leading batch axis.

:class:`BatchedEcoEnv` is a Gymnasium :class:`~gymnasium.vector.VectorEnv` and the only
stepping implementation of each plant: a plant subclass validates its keyword arguments,
builds its scenario and supplies its batched state, physics, accounts and observation, all
written once over the batch axis. The single env (:class:`~ecocontrol.envs.base.EcoEnv`) is a
batch of one of the same class. Each member has its own random generator, seeded like a single
env (``reset(seed=s)`` seeds member ``i`` with ``s + i``), so member ``i`` runs the trajectory
a single env seeded with ``s + i`` runs under the same actions.

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

from ecocontrol.emissions import (
    DEFAULT_CARBON_PRICE_CNY_PER_T,
    EMISSION_SOURCES,
    EmissionLedger,
    require_finite_range,
)

from .drift import Drift, drift_severities, drifted_params
from .jit import kernel
from .scenario import (
    SPLITS,
    ActionScaler,
    FloatArray,
    ScenarioWindows,
)

IntArray = NDArray[np.int64]


@kernel
def _advance(
    total_cny: FloatArray,
    reward_scale: float,
    step_index: IntArray,
    episode_steps: int,
    failed: NDArray[np.bool_],
    clipped: FloatArray,
    violations: FloatArray,
    reward: FloatArray,
    terminated: NDArray[np.bool_],
    truncated: NDArray[np.bool_],
    viol: FloatArray,
) -> int:
    """The step's bookkeeping after the plant's step and the ledger; the members that ended.

    ``reward = -total / scale``; ``step_index += 1``; an episode fails (``failed``, empty
    when the plant has no failure states) or is truncated after ``episode_steps`` (a failure
    at the last step terminates); ``viol`` = ``action_clipped`` over the plant's violations.
    """
    n_ended = 0
    for i in range(len(step_index)):
        reward[i] = total_cny[i] / -reward_scale
        step_index[i] += 1
        fail = failed[i] if len(failed) > 0 else False
        terminated[i] = fail
        truncated[i] = step_index[i] >= episode_steps and not fail
        n_ended += fail or step_index[i] >= episode_steps
        viol[0, i] = clipped[i]
        for k in range(violations.shape[0]):
            viol[k + 1, i] = violations[k, i]
    return n_ended


class BatchedEcoEnv(VectorEnv[NDArray[np.float32], NDArray[np.float32], NDArray[Any]]):
    """The one stepping implementation of every plant; see the module docstring.

    A plant subclass validates its keyword arguments and builds its scenario in ``__init__``
    (after calling this ``__init__``), sets :attr:`windows`, :attr:`scaler` and
    :attr:`single_observation_space`, calls :meth:`_setup_batch`, and implements
    ``_reset_members``, ``_prepare``, ``_step_members``, ``_observe_batch`` and
    ``_member_info``. The single env (:class:`~ecocontrol.envs.base.EcoEnv`) is a batch of one
    of the same class.

    ``info`` holds per-member arrays: ``costs`` and ``emissions`` (the ledger's terms and
    totals), ``constraint_violations``, ``step`` and ``window``.
    """

    plant_name: ClassVar[str] = ""
    #: Names of the plant's constraint violations (besides ``action_clipped``).
    violation_names: ClassVar[tuple[str, ...]] = ()
    #: Emission sources the plant books, in the order of ``_step_members``' rows.
    emission_sources: ClassVar[tuple[str, ...]] = EMISSION_SOURCES
    #: Public, constant attributes a controller may read through its
    #: :class:`~ecocontrol.controllers.base.PlantView` (besides params, scaler, timing).
    settings: ClassVar[tuple[str, ...]] = ()
    #: The plant's drift mechanisms (:mod:`ecocontrol.envs.drift`), in the card's order.
    drifts: ClassVar[tuple[Drift, ...]] = ()

    windows: ScenarioWindows
    scaler: ActionScaler
    single_observation_space: gym.spaces.Box

    def __init__(
        self,
        num_envs: int = 1,
        *,
        autoreset_mode: str | AutoresetMode = "NextStep",
        split: str = "train",
        carbon_price_cny_per_t: float = DEFAULT_CARBON_PRICE_CNY_PER_T,
        reward_scale_cny: float = 1.0e4,
        cost_terms: tuple[str, ...] = ("energy", "fuel", "degradation", "penalty"),
    ) -> None:
        if isinstance(num_envs, bool) or not isinstance(num_envs, int) or num_envs < 1:
            raise ValueError(f"num_envs={num_envs!r}; allowed: an int >= 1")
        mode = AutoresetMode(autoreset_mode)
        if mode is AutoresetMode.DISABLED:
            raise ValueError(f"autoreset_mode={mode.value!r}; allowed: 'NextStep' or 'SameStep'")
        if split not in SPLITS:
            raise ValueError(f"split={split!r} is unknown; allowed: {SPLITS}")
        require_finite_range("reward_scale_cny", reward_scale_cny, 0.0, low_inclusive=False)
        self.num_envs = num_envs
        self.autoreset_mode = mode
        self.metadata = {"render_modes": [], "autoreset_mode": mode}
        self.split = split
        self.reward_scale_cny = float(reward_scale_cny)
        self.ledger = EmissionLedger(carbon_price_cny_per_t, cost_terms)
        if len(set(self.emission_sources)) != len(self.emission_sources) or not set(
            self.emission_sources
        ).issubset(EMISSION_SOURCES):
            raise TypeError(f"{type(self).__name__}.emission_sources: distinct EMISSION_SOURCES")
        self._source_index = np.array(
            [EMISSION_SOURCES.index(s) for s in self.emission_sources], dtype=np.int64
        )
        #: Keys of ``info``'s accounts, in the rows' order.
        self.emission_names = self.ledger.emission_names
        self.cost_names = self.ledger.cost_names
        self.violation_keys = ("action_clipped", *self.violation_names)
        self.rngs: list[np.random.Generator | None] = [None] * num_envs
        #: members whose generator the ongoing ``reset`` seeded anew (for the plant's hooks)
        self.reseeded = np.zeros(num_envs, dtype=bool)
        self.step_index: IntArray = np.zeros(num_envs, dtype=np.int64)
        self.window_index: IntArray = np.zeros(num_envs, dtype=np.int64)
        self.window_start: IntArray = np.zeros(num_envs, dtype=np.int64)
        self._needs_reset = np.zeros(num_envs, dtype=bool)
        self._n_pending = 0  # members in _needs_reset (a Python int: cheaper than .any())
        self._all = np.arange(num_envs)
        self._no_failure = np.zeros(0, dtype=bool)  # _advance's "no failure states"

    def _setup_batch(self) -> None:
        """Spaces and window starts, once the plant has set windows, scaler and observation."""
        self.single_action_space = self.scaler.space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.starts = self.windows.starts(self.split)
        self._episode_steps = self.windows.episode_steps

    @staticmethod
    def _params_or_default(params: Any, cls: type[Any]) -> Any:
        """``params``, or ``cls()`` when ``None``; anything else is refused naming ``params``."""
        value = cls() if params is None else params
        if not isinstance(value, cls):
            raise ValueError(f"params={params!r}; allowed: a {cls.__name__}")
        return value

    def _drifted(self, params: Any, drift: Any, drift_randomise: Any) -> Any:
        """The true parameters for ``drift``; keeps ``params`` as :attr:`nominal_params`.

        Sets :attr:`drift` (each mechanism's severity). ``drift_randomise`` is the single
        env's (:class:`~ecocontrol.envs.base.EcoEnv`, which takes it before building its
        simulator): a simulator refuses it.

        Raises:
            ValueError: naming ``drift`` or ``drift_randomise`` and the allowed values.
        """
        #: the parameters the plant was designed with (what a controller's model holds)
        self.nominal_params = params
        #: each drift mechanism's severity in [0, 1]
        self.drift: dict[str, float] = drift_severities(drift, self.drifts)
        if not isinstance(drift_randomise, bool | np.bool_):
            raise ValueError(f"drift_randomise={drift_randomise!r}; allowed: true or false")
        if drift_randomise:
            raise ValueError(
                f"drift_randomise=True on the batched {type(self).__name__} (num_envs="
                f"{self.num_envs}); allowed: single envs only (gym.make or the plant's Env "
                "class; train with vec_env=dummy or subproc)"
            )
        return drifted_params(params, self.drift, self.drifts)

    # -- to implement in a plant ------------------------------------------------------------
    def _reset_members(self, idx: IntArray) -> None:
        """Set the initial state of members ``idx`` (their windows are chosen)."""
        raise NotImplementedError

    def _prepare(self, idx: IntArray) -> None:
        """Prepare what members ``idx`` know before their coming step (forecasts)."""
        raise NotImplementedError

    def _step_members(self, physical: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Advance every member one step; its accounts as matrices, one column per member.

        Returns ``(emissions, costs, violations)``: tCO2 with rows :attr:`emission_sources`,
        CNY with rows the ledger's ``cost_terms`` (carbon excluded: the ledger prices it),
        and violations with rows :attr:`violation_names`. The env does not keep them: a
        plant may return views of its own buffers only if it does not write them again.
        """
        raise NotImplementedError

    def _observe_batch(self) -> NDArray[np.float32]:
        """Observations of all members, shape ``(num_envs, n_obs)``."""
        raise NotImplementedError

    def _terminated(self) -> NDArray[np.bool_] | None:
        """Members whose episode the last step ended (a plant's failure state), or ``None``.

        Called after ``_step_members``; a plant without terminal states keeps this default.
        """
        return None

    def _member_info(self, i: int) -> dict[str, Any]:
        """Member ``i``'s ``info`` beyond the accounts.

        ``state`` (the measured physical state and the last step's flows) and what it knows
        ahead (``forecast``).

        The single env returns it with every step; a batch leaves it out (it costs a copy).
        """
        raise NotImplementedError

    def true_window(self, start_step: int, n: int) -> dict[str, FloatArray]:
        """True exogenous series over steps ``start_step .. start_step + n - 1`` of the year.

        Privileged: for the oracle and perfect-forecast baselines.
        """
        raise NotImplementedError

    def full_state(self, i: int) -> Any:
        """A copy of member ``i``'s whole plant state.

        Privileged: for baselines that declare ``state_access="full"``.
        """
        raise NotImplementedError

    # -- shared mechanics ----------------------------------------------------------------------
    @property
    def carbon_price_cny_per_t(self) -> float:
        """Carbon price applied by the ledger [CNY/tCO2]."""
        return self.ledger.carbon_price_cny_per_t

    @property
    def episode_steps(self) -> int:
        """Steps per episode."""
        return self.windows.episode_steps

    @property
    def n_windows(self) -> int:
        """Number of windows in this env's split."""
        return len(self.starts)

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
                self.reseeded[i] = True
        window = None if options is None else options.get("window")
        if isinstance(window, list | tuple | np.ndarray):
            window = list(window)
            if len(window) != self.num_envs:
                raise ValueError(
                    f"options['window'] has {len(window)} entries; allowed: 1 or {self.num_envs}"
                )
        try:
            self._reset(self._all, window)
        finally:
            self.reseeded[:] = False
        obs = self._observe_batch()
        return obs, {"step": self.step_index.copy(), "window": self.window_index.copy()}

    def _reset(self, idx: IntArray, window: Any = None) -> None:
        n = len(self.starts)
        for i in idx:
            w = window[i] if isinstance(window, list) else window
            if isinstance(w, bool) or not (w is None or isinstance(w, int | np.integer)):
                raise ValueError(f"options['window']={w!r}; allowed: an int")
            if w is None:
                rng = self.rngs[i]
                assert rng is not None
                w = int(rng.integers(n))
            elif isinstance(w, bool) or not 0 <= int(w) < n:
                raise ValueError(
                    f"options['window']={w!r} is out of range for split "
                    f"{self.split!r}; allowed: 0..{n - 1}"
                )
            self.window_index[i] = int(w)
        self.window_start[idx] = self.starts[self.window_index[idx]]
        self.step_index[idx] = 0
        self._needs_reset[idx] = False
        self._n_pending = int(self._needs_reset.sum())
        self._reset_members(idx)
        self.reseeded[idx] = False
        self._prepare(idx)

    def step(
        self, actions: NDArray[Any]
    ) -> tuple[
        NDArray[np.float32], FloatArray, NDArray[np.bool_], NDArray[np.bool_], dict[str, Any]
    ]:
        """Step every member with ``actions`` of shape ``(num_envs, n_actions)`` in [-1, 1]."""
        obs, reward, terminated, truncated, em, co, viol, final = self._step(actions)
        info: dict[str, Any] = {
            "costs": dict(zip(self.cost_names, co, strict=True)),
            "emissions": dict(zip(self.emission_names, em, strict=True)),
            "constraint_violations": dict(zip(self.violation_keys, viol, strict=True)),
            "step": self.step_index.copy(),
            "window": self.window_index.copy(),
        }
        if final is not None:
            info["final_obs"], info["_final_obs"] = final
        return obs, reward, terminated, truncated, info

    def _step(self, actions: NDArray[Any]) -> tuple[Any, ...]:
        """The step, with the accounts as matrices, one column per member.

        Returns ``(obs, reward, terminated, truncated, emissions, costs, violations, final)``:
        the accounts' rows are :attr:`emission_names`, :attr:`cost_names` and
        :attr:`violation_keys`; ``final`` is ``(final_obs, mask)`` of the members that ended
        under ``SameStep`` autoreset, else ``None``.
        """
        physical, clipped = self.scaler.to_physical_batch(actions, self.num_envs)
        # NextStep: these members reset now and their actions are ignored
        restart = np.flatnonzero(self._needs_reset) if self._n_pending else None
        emissions, costs, violations = self._step_members(physical)
        em, co = self.ledger.price_rows(emissions, self._source_index, costs)
        n = self.num_envs
        reward = np.empty(n)
        terminated = np.empty(n, dtype=bool)
        truncated = np.empty(n, dtype=bool)
        viol = np.empty((len(violations) + 1, n))
        failed = self._terminated()
        n_ended = _advance(
            co[-1],
            self.reward_scale_cny,
            self.step_index,
            self._episode_steps,
            self._no_failure if failed is None else failed,
            clipped,
            violations,
            reward,
            terminated,
            truncated,
            viol,
        )
        any_ended = n_ended > 0
        if any_ended:
            ended = truncated | terminated
            going = np.flatnonzero(~ended)
            if len(going):
                self._prepare(going)
        else:
            ended = truncated  # all False
            self._prepare(self._all)
        if restart is not None:
            self._reset(restart)
            reward[restart] = 0.0
            ended = truncated | terminated
            truncated[restart] = terminated[restart] = ended[restart] = False
            any_ended = bool(np.count_nonzero(ended))
            em[:, restart] = co[:, restart] = viol[:, restart] = 0.0
        obs = self._observe_batch()
        final = None
        if any_ended:
            idx = np.flatnonzero(ended)
            if self.autoreset_mode is AutoresetMode.SAME_STEP:
                final = (obs.copy(), ended.copy())
                self._reset(idx)
                obs = self._observe_batch()
            else:
                self._needs_reset[idx] = True
                self._n_pending = int(self._needs_reset.sum())
        return obs, reward, terminated, truncated, em, co, viol, final

    def close_extras(self, **kwargs: Any) -> None:
        """Nothing to release (one process)."""


def make_batched(env_id: str, num_envs: int, **kwargs: Any) -> gym.vector.VectorEnv[Any, Any, Any]:
    """``gymnasium.make_vec`` through the plant's native batched env (``vector_entry_point``)."""
    return gym.make_vec(
        env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", **kwargs
    )
