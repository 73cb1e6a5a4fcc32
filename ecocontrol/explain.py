"""Per-decision explanations: what a controller did, what the MPC would have done, and why.

:func:`explain_episode` runs a controller through the one evaluation loop
(:func:`~ecocontrol.evaluation.run_episode`) and, at every decision, asks a *reference*
controller (by default the plant's MPC, built with ``explain=True``) for its action at the
same state. The reference is a shadow: a separate instance that sees every observation and
``info`` the controller sees, so its estimates and plans follow the controller's trajectory,
but its actions are never applied. Each :class:`Decision` holds:

* both actions in physical units (the env's action scaler) and their difference;
* which cost terms the difference moves *in that step*: the plant is copied just before the
  step and the copy is stepped with the reference's action, so both actions start from the
  same state, with the same exogenous values and the same random draws; the per-term
  difference of the two steps' accounts (CNY) and emissions (tCO2);
* what the difference leaves behind: the difference of the two next measured states (battery
  energy, stored heat, burning zone, ...) and, where the reference is an LP MPC, that
  difference priced at the reference's state values (its duals: a first-order estimate of the
  cost the difference moves *later*);
* the MPCs' own explanations (:class:`~ecocontrol.controllers.mpc.duals.Explanation`): the
  reference's, and the controller's if it is an MPC built with ``explain=True``.

A controller that integrates its own past outputs (the kiln's velocity-form PI loops, which
the kiln MPC also runs) would wind up in a shadow, since its outputs are never applied. Such a
controller offers ``track(info)``, which aligns it with the action actually applied (the
measured ``last_action``: bumpless transfer, as a standby loop tracks the running one);
the shadow calls it before each decision.

The copy is the plant's simulator deep-copied (:func:`snapshot`); its large read-only
scenario tables are shared, not copied. Stepping the copy with the controller's own action
gives the env's step exactly (tested), so the difference is due to the action alone.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np

from ecocontrol.controllers.base import Controller, PlantView, controller_factory, plant_of
from ecocontrol.controllers.mpc.duals import Explanation
from ecocontrol.envs.base import EcoEnv
from ecocontrol.evaluation import EpisodeResult, run_episode

if TYPE_CHECKING:
    import pandas as pd

#: Simulator arrays at least this large are shared by a :func:`snapshot`, not copied (the
#: year's scenario tables; the state of a batch of one is far smaller).
SHARED_BYTES = 1 << 16

#: State entries that are arrays up to this length are compared element by element
#: (``stored_mj[2]``); longer ones (the kiln's pipeline cells) are left out.
MAX_STATE_ARRAY = 8


@dataclass
class Decision:
    """One decision of an explained episode (see the module docstring).

    Attributes:
        step: the episode step.
        action: the controller's action in physical units, by the scaler's names.
        cost: the step's cost terms under the controller's action [CNY] (``total`` included).
        emissions: the step's emissions by source [tCO2].
        state: the measured state after the step under the controller's action (scalars;
            short arrays element by element as ``name[i]``), e.g. the park's ``soc`` and
            ``price_import`` of the step.
        explanation: the controller's own explanation (an MPC built with ``explain=True``),
            else ``None``.
        reference_action: the reference's action at the same state (``None`` without one).
        action_difference: controller minus reference, per action.
        reference_cost: the step's cost terms had the reference's action been applied.
        cost_difference: controller minus reference, per cost term [CNY]; positive: the
            controller's action costs more in this step.
        emissions_difference: controller minus reference, per source [tCO2].
        state_difference: controller minus reference, the measured state after the step
            (scalars; short arrays element by element as ``name[i]``).
        future_cost_difference: the state difference priced at the reference's state values:
            ``-sum(value * difference)`` [CNY], the cost it moves later by the reference
            MPC's first-order estimate (``None`` when the reference has no state values).
        reference_explanation: the reference MPC's explanation at this decision.
    """

    step: int
    action: dict[str, float]
    cost: dict[str, float]
    emissions: dict[str, float]
    state: dict[str, float] = field(default_factory=dict)
    explanation: Explanation | None = None
    reference_action: dict[str, float] | None = None
    action_difference: dict[str, float] | None = None
    reference_cost: dict[str, float] | None = None
    cost_difference: dict[str, float] | None = None
    emissions_difference: dict[str, float] | None = None
    state_difference: dict[str, float] | None = None
    future_cost_difference: float | None = None
    reference_explanation: Explanation | None = field(default=None, repr=False)

    def moved_terms(self, tol_cny: float = 1e-6) -> dict[str, float]:
        """The cost terms (``total`` left out) the difference moves, largest change first."""
        diff = self.cost_difference or {}
        moved = {k: v for k, v in diff.items() if k != "total" and abs(v) > tol_cny}
        return dict(sorted(moved.items(), key=lambda kv: -abs(kv[1])))


@dataclass
class ExplainedEpisode:
    """The decisions of an explained episode and the episode's result.

    Attributes:
        decisions: one :class:`Decision` per step run.
        result: the controller's episode (the same loop as any benchmark; its decision times
            are the controller's alone).
        action_names: the env's action names (the scaler's).
        reference: the reference controller's class name (``None`` without one).
    """

    decisions: list[Decision]
    result: EpisodeResult
    action_names: tuple[str, ...]
    reference: str | None

    def to_frame(self) -> pd.DataFrame:
        """One row per decision, flat columns.

        ``action_<a>``, ``ref_action_<a>``, ``d_action_<a>``; ``cost_<term>``,
        ``ref_cost_<term>``, ``d_cost_<term>``; ``co2_<source>``, ``d_co2_<source>``;
        ``state_<key>``, ``d_state_<key>``;
        ``future_cost_difference``; ``ref_price_<name>`` and ``price_<name>``: the
        reference's and the controller's own price at the step being played (scalar prices
        only; :meth:`Explanation.now`).
        """
        import pandas as pd

        rows = []
        for d in self.decisions:
            row: dict[str, Any] = {"step": d.step}
            parts: tuple[tuple[str, Mapping[str, float] | None], ...] = (
                ("action_", d.action),
                ("ref_action_", d.reference_action),
                ("d_action_", d.action_difference),
                ("cost_", d.cost),
                ("ref_cost_", d.reference_cost),
                ("d_cost_", d.cost_difference),
                ("co2_", d.emissions),
                ("d_co2_", d.emissions_difference),
                ("state_", d.state),
                ("d_state_", d.state_difference),
            )
            for prefix, values in parts:
                for k, v in (values or {}).items():
                    row[prefix + k] = v
            row["future_cost_difference"] = d.future_cost_difference
            for prefix, ex in (("ref_price_", d.reference_explanation), ("price_", d.explanation)):
                if ex is not None:
                    for k, v in ex.now().items():
                        if np.ndim(v) == 0:
                            row[prefix + k] = float(v)
            rows.append(row)
        return pd.DataFrame(rows)

    def moved_terms(self) -> dict[str, float]:
        """Each cost term's difference summed over the decisions [CNY] (``total`` included)."""
        out: dict[str, float] = {}
        for d in self.decisions:
            for k, v in (d.cost_difference or {}).items():
                out[k] = out.get(k, 0.0) + v
        return out


def snapshot(env: gym.Env[Any, Any]) -> EcoEnv:
    """A copy of the plant under ``env``'s wrappers, to step without touching ``env``.

    The simulator is deep-copied (state, random generators, forecasts), with two care points:
    its arrays that are views of one buffer stay views of the copied buffer (a plant's
    kernels write the buffer and read the views; ``copy.deepcopy`` alone would detach them),
    and its read-only arrays and large ones (at least :data:`SHARED_BYTES`: the year's
    scenario tables, which a step only reads) are shared, not copied.
    """
    base = plant_of(env)
    memo: dict[int, Any] = {}
    arrays: dict[int, np.ndarray] = {}
    _arrays_in(base, arrays, set(), 0)
    large = {
        id(v)
        for v in vars(base.sim).values()
        if isinstance(v, np.ndarray) and v.nbytes >= SHARED_BYTES
    }
    for a in arrays.values():
        root = _root(a)
        if id(a) in large or id(root) in large or not root.flags.writeable:
            memo[id(a)] = a  # never written by a step
            continue
        if id(root) not in memo:
            memo[id(root)] = root.copy(order="A")
        if a is not root:
            memo[id(a)] = _same_view(a, root, memo[id(root)])
    return copy.deepcopy(base, memo)


def _root(a: np.ndarray) -> np.ndarray:
    """The array owning ``a``'s memory (``a`` itself if it owns it)."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def _same_view(a: np.ndarray, root: np.ndarray, root_copy: np.ndarray) -> np.ndarray:
    """``a`` as a view of ``root_copy``, as it is a view of ``root``."""
    offset = a.__array_interface__["data"][0] - root.__array_interface__["data"][0]
    view = np.ndarray(a.shape, a.dtype, buffer=root_copy.data, offset=offset, strides=a.strides)
    view.flags.writeable = a.flags.writeable
    return view


def _arrays_in(obj: Any, out: dict[int, np.ndarray], seen: set[int], depth: int) -> None:
    """Every array reachable from ``obj`` through attributes and containers."""
    if id(obj) in seen or depth > 8:
        return
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        out[id(obj)] = obj
        return
    if isinstance(obj, dict):
        items: Any = obj.values()
    elif isinstance(obj, list | tuple):
        items = obj
    elif hasattr(obj, "__dict__") and not isinstance(obj, type):
        items = vars(obj).values()
    else:
        return
    for v in items:
        _arrays_in(v, out, seen, depth + 1)


def explain_episode(
    env: gym.Env[Any, Any],
    controller: Controller,
    reference: str | Controller | None = "mpc",
    *,
    seed: int | None = 0,
    window: int | None = None,
    steps: int | None = None,
    reference_kwargs: Mapping[str, Any] | None = None,
) -> ExplainedEpisode:
    """Run ``controller`` on ``env`` and explain each decision against ``reference``.

    Args:
        env: an ecocontrol env (wrappers allowed; the reference's action is applied to a
            copy of the plant under them).
        controller: any controller; if it is an MPC built with ``explain=True``, its own
            explanation is kept with each decision.
        reference: a registered controller name for the env's plant (``"mpc"``,
            ``"oracle"``, ``"rule"``; built with ``reference_kwargs``, and with
            ``explain=True`` when it takes that keyword), a
            controller instance (reset with the env; a shadow, see the module docstring), or
            ``None`` (only the controller's accounts and own explanation).
        seed: the reset seed (as :func:`~ecocontrol.evaluation.run_episode`).
        window: the window of the env's split (``None``: the seed chooses).
        steps: stop after this many decisions (``None``: the whole episode).
        reference_kwargs: keyword arguments of the reference built by name.

    Returns:
        The decisions and the episode's result.
    """
    ref: Controller | None
    if isinstance(reference, str):
        factory = controller_factory(plant_of(env).plant_name, reference)
        kwargs = dict(reference_kwargs or {})
        if _accepts(factory, "explain"):
            kwargs.setdefault("explain", True)
        ref = factory(env, **kwargs)
    else:
        if reference_kwargs:
            raise ValueError("reference_kwargs is for a reference given by name")
        ref = reference
    shadow = _Shadowed(controller, ref)
    result = run_episode(env, shadow, seed, window=window, max_steps=steps, on_step=shadow.on_step)
    result = dataclasses.replace(result, decision_times_s=np.asarray(shadow.times))
    return ExplainedEpisode(
        decisions=shadow.decisions,
        result=result,
        action_names=tuple(PlantView(env).scaler.names),
        reference=None if ref is None else type(ref).__name__,
    )


class _Shadowed:
    """The controller, with the reference asked at every state (see ``explain_episode``)."""

    def __init__(self, controller: Controller, reference: Controller | None) -> None:
        self.controller = controller
        self.reference = reference
        # What the controller declares, so the loop's bookkeeping sees the controller.
        self.state_access = getattr(controller, "state_access", "measured")
        self.exogenous_access = getattr(controller, "exogenous_access", "forecast")
        self.model_access = getattr(controller, "model_access", "nominal")
        self.decisions: list[Decision] = []
        self.times: list[float] = []
        self._pending: dict[str, Any] | None = None

    @property
    def n_failures(self) -> int:
        return int(getattr(self.controller, "n_failures", 0))

    def reset(self, env: gym.Env[Any, Any], seed: int | None = None) -> None:
        self.env = env
        self.view = PlantView(env)
        self.controller.reset(env, seed)
        if self.reference is not None:
            self.reference.reset(env, seed)
        self.decisions = []
        self.times = []

    def act(self, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        t0 = time.perf_counter()
        action = self.controller.act(obs, info)
        self.times.append(time.perf_counter() - t0)
        pending: dict[str, Any] = {
            "step": self.view.step_index,
            "action": action,
            "explanation": getattr(self.controller, "last_explanation", None),
        }
        if self.reference is not None:
            track = getattr(self.reference, "track", None)
            if track is not None:
                track(info)
            ref_action = self.reference.act(obs, info)
            _, _, _, _, ref_info = snapshot(self.env).step(np.asarray(ref_action))
            pending["reference_action"] = ref_action
            pending["reference_info"] = ref_info
            pending["reference_explanation"] = getattr(self.reference, "last_explanation", None)
        self._pending = pending
        return action

    def _physical(self, action: np.ndarray) -> dict[str, float]:
        physical, _ = self.view.scaler.to_physical(np.asarray(action))
        names = self.view.scaler.names
        return {n: float(v) for n, v in zip(names, np.asarray(physical).ravel(), strict=True)}

    def on_step(self, action: np.ndarray, info: dict[str, Any]) -> None:
        p = self._pending
        assert p is not None
        self._pending = None
        decision = Decision(
            step=p["step"],
            action=self._physical(p["action"]),
            cost=dict(info["costs"]),
            emissions=dict(info["emissions"]),
            state=_flat_state(info["state"]),
            explanation=p["explanation"],
        )
        if "reference_info" in p:
            ref_info = p["reference_info"]
            ref_ex: Explanation | None = p["reference_explanation"]
            decision.reference_action = self._physical(p["reference_action"])
            decision.action_difference = _minus(decision.action, decision.reference_action)
            decision.reference_cost = dict(ref_info["costs"])
            decision.cost_difference = _minus(decision.cost, decision.reference_cost)
            decision.emissions_difference = _minus(decision.emissions, ref_info["emissions"])
            decision.state_difference = _minus(decision.state, _flat_state(ref_info["state"]))
            decision.reference_explanation = ref_ex
            if ref_ex is not None and ref_ex.state_values:
                decision.future_cost_difference = _future(
                    ref_ex.state_values, info["state"], ref_info["state"]
                )
        self.decisions.append(decision)


def _accepts(factory: Any, name: str) -> bool:
    """Whether ``factory`` takes the keyword ``name`` (by name or through ``**kwargs``)."""
    params = inspect.signature(factory).parameters.values()
    return any(p.name == name or p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


def _minus(a: Mapping[str, float], b: Mapping[str, float]) -> dict[str, float]:
    return {k: float(a[k]) - float(b[k]) for k in a if k in b}


def _flat_state(state: Mapping[str, Any]) -> dict[str, float]:
    """Scalars of a measured state, and short arrays element by element."""
    out: dict[str, float] = {}
    for k, v in state.items():
        if np.ndim(v) == 0:
            out[k] = float(v)
        elif np.ndim(v) == 1 and len(v) <= MAX_STATE_ARRAY:
            for i, x in enumerate(np.asarray(v, dtype=float)):
                out[f"{k}[{i}]"] = float(x)
    return out


def _future(values: Mapping[str, Any], mine: Mapping[str, Any], theirs: Mapping[str, Any]) -> float:
    """``-sum(value * (mine - theirs))`` over the valued states."""
    total = 0.0
    for k, v in values.items():
        diff = np.asarray(mine[k], dtype=float) - np.asarray(theirs[k], dtype=float)
        total -= float(np.sum(np.asarray(v, dtype=float) * diff))
    return total
