"""The controller protocol, the plant view controllers read, and the controller registry.

Every controller (rule, MPC, oracle, trained agent, a user's own) implements
``reset(env, seed)`` and ``act(obs, info) -> action``; ``evaluation.run_episode`` runs them all
through one loop. ``act`` returns the env's normalised action.

A controller sees the plant through one declared :class:`PlantView`: the parameters, the
action scaler, the time index, the plant's constant settings and the measured state (the
``state`` part of ``info``). Privileged truth is asked for explicitly and only granted when the
controller declares it: ``state_access="full"`` for the whole plant state (e.g. every checker
cell's temperature), ``exogenous_access="true"`` for the true exogenous series (perfect-forecast
baselines and the oracle), ``model_access="true"`` for the true parameters of a drifted plant
(:mod:`ecocontrol.envs.drift`; the oracle, an MPC that re-identifies). The benchmark table shows
all three beside each controller's results.

Controllers are registered explicitly in :data:`CONTROLLERS` (plant, name) -> factory path,
imported when first asked for; nothing registers itself as a side effect of an import.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Literal, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np

from ecocontrol.envs.base import EcoEnv

StateAccess = Literal["measured", "full"]
ExogenousAccess = Literal["forecast", "true"]
ModelAccess = Literal["nominal", "true"]
STATE_ACCESS: tuple[str, ...] = ("measured", "full")
EXOGENOUS_ACCESS: tuple[str, ...] = ("forecast", "true")
MODEL_ACCESS: tuple[str, ...] = ("nominal", "true")


@runtime_checkable
class Controller(Protocol):
    """What ``run_episode`` needs of a controller."""

    def reset(self, env: gym.Env[Any, Any], seed: int | None = None) -> None:
        """Prepare for a new episode of ``env`` (already reset)."""
        ...

    def act(self, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        """Action for the coming step, from the latest observation and info."""
        ...


def plant_of(env: gym.Env[Any, Any]) -> EcoEnv:
    """The ecocontrol plant env under any wrappers, with a clear error for other envs."""
    base = env.unwrapped
    if not isinstance(base, EcoEnv):
        raise TypeError(f"env {base!r} is not an ecocontrol env (EcoEnv)")
    return base


def information_of(controller: Any) -> tuple[str, str, str]:
    """``(state_access, exogenous_access, model_access)`` a controller declares.

    ``measured``/``forecast``/``nominal`` when it declares nothing (a trained agent reads only
    the observation).
    """
    return (
        str(getattr(controller, "state_access", "measured")),
        str(getattr(controller, "exogenous_access", "forecast")),
        str(getattr(controller, "model_access", "nominal")),
    )


class PlantView:
    """The one interface through which a controller reads its plant.

    Args:
        env: the ecocontrol env (wrappers allowed).
        state_access: ``"measured"`` (the ``state`` part of ``info``) or ``"full"`` (also
            :meth:`full_state`, the simulator's whole state).
        exogenous_access: ``"forecast"`` (what the observation and ``info['forecast']`` hold)
            or ``"true"`` (also :meth:`true_window`, the true exogenous series).
        model_access: ``"nominal"`` (:attr:`params` are the parameters the plant was designed
            with) or ``"true"`` (those it steps with; they differ on a drifted plant).

    Raises:
        ValueError: for an unknown access level.
    """

    def __init__(
        self,
        env: gym.Env[Any, Any],
        *,
        state_access: StateAccess = "measured",
        exogenous_access: ExogenousAccess = "forecast",
        model_access: ModelAccess = "nominal",
    ) -> None:
        if state_access not in STATE_ACCESS:
            raise ValueError(f"state_access={state_access!r}; allowed: {STATE_ACCESS}")
        if exogenous_access not in EXOGENOUS_ACCESS:
            raise ValueError(f"exogenous_access={exogenous_access!r}; allowed: {EXOGENOUS_ACCESS}")
        if model_access not in MODEL_ACCESS:
            raise ValueError(f"model_access={model_access!r}; allowed: {MODEL_ACCESS}")
        self.env = plant_of(env)
        self.state_access = state_access
        self.exogenous_access = exogenous_access
        self.model_access = model_access

    # -- constant: what the plant is ---------------------------------------------------------
    @property
    def plant_name(self) -> str:
        """The plant's short name."""
        return self.env.sim.plant_name

    @property
    def params(self) -> Any:
        """The plant's parameter dataclass: nominal, or the true one (``model_access``).

        They are the same object unless the plant drifts (:mod:`ecocontrol.envs.drift`).
        """
        sim = self.env.sim
        return sim.params if self.model_access == "true" else sim.nominal_params

    @property
    def scaler(self) -> Any:
        """The action scaler (physical <-> normalised actions)."""
        return self.env.sim.scaler

    @property
    def episode_steps(self) -> int:
        """Steps per episode."""
        return self.env.sim.episode_steps

    @property
    def carbon_price_cny_per_t(self) -> float:
        """The carbon price the env's ledger charges [CNY/tCO2]."""
        return self.env.sim.carbon_price_cny_per_t

    @property
    def reward_scale_cny(self) -> float:
        """CNY per unit of reward (the reward is ``-cost / reward_scale_cny``)."""
        return self.env.sim.reward_scale_cny

    def setting(self, name: str) -> Any:
        """A constant the plant declares readable (its ``settings``, e.g. ``dt_h``).

        Raises:
            AttributeError: for a name the plant does not declare.
        """
        sim = self.env.sim
        if name not in sim.settings:
            raise AttributeError(
                f"{sim.plant_name} declares no setting {name!r}; allowed: {sim.settings}"
            )
        return getattr(sim, name)

    def __getattr__(self, name: str) -> Any:
        # Declared settings read as attributes (view.dt_h); anything else is refused.
        if name.startswith("_") or name in (
            "env",
            "state_access",
            "exogenous_access",
            "model_access",
        ):
            raise AttributeError(name)
        return self.setting(name)

    # -- time ----------------------------------------------------------------------------------
    @property
    def step_index(self) -> int:
        """Steps taken in this episode."""
        return self.env.step_index

    @property
    def t(self) -> int:
        """Step of the year of the coming step."""
        return self.env.t

    @property
    def window_index(self) -> int:
        """This episode's window in the split."""
        return self.env.window_index

    # -- state ---------------------------------------------------------------------------------
    def measured_state(self) -> dict[str, Any]:
        """The measured state now (what ``info['state']`` holds)."""
        return self.env.sim._member_info(0)["state"]

    def full_state(self) -> Any:
        """The simulator's whole state of this plant (privileged: ``state_access='full'``)."""
        self._require("state_access", self.state_access, "full")
        return self.env.sim.full_state(0)

    def true_window(self, start_step: int, n: int) -> dict[str, np.ndarray]:
        """True exogenous series (privileged: ``exogenous_access='true'``)."""
        self._require("exogenous_access", self.exogenous_access, "true")
        return self.env.sim.true_window(start_step, n)

    @staticmethod
    def _require(field: str, value: str, needed: str) -> None:
        if value != needed:
            raise PermissionError(
                f"the controller declared {field}={value!r}; this needs {field}={needed!r} "
                "(declare it, so the benchmark shows what the controller knew)"
            )


ControllerFactory = Callable[..., Controller]

#: Every built-in controller: (plant, name) -> ``module:factory``, ``factory(env, **kwargs)``.
CONTROLLERS: dict[tuple[str, str], str] = {
    ("park", "rule"): "ecocontrol.controllers.rules.park:ParkRuleController",
    ("park", "mpc"): "ecocontrol.controllers.mpc.park:make_park_mpc",
    ("park", "oracle"): "ecocontrol.controllers.mpc.park:make_park_oracle",
    ("hot_stove", "rule"): "ecocontrol.controllers.rules.hot_stove:HotStoveRuleController",
    ("hot_stove", "mpc"): "ecocontrol.controllers.mpc.hot_stove:make_hot_stove_mpc",
    ("hot_stove", "oracle"): "ecocontrol.controllers.mpc.hot_stove:make_hot_stove_oracle",
    ("cement_kiln", "rule"): "ecocontrol.controllers.rules.cement_kiln:KilnRuleController",
    ("cement_kiln", "mpc"): "ecocontrol.controllers.mpc.cement_kiln:make_kiln_mpc",
    ("cement_kiln", "oracle"): "ecocontrol.controllers.mpc.cement_kiln:make_kiln_oracle",
}


def register_controller(plant: str, name: str, factory: str | ControllerFactory) -> None:
    """Add a controller under ``(plant, name)``: a factory or its ``module:attribute`` path."""
    path = factory if isinstance(factory, str) else f"{factory.__module__}:{factory.__qualname__}"
    CONTROLLERS[(plant, name)] = path


def available_controllers(plant: str | None = None) -> list[str]:
    """Registered controller names (for one plant, or ``plant:name`` for all)."""
    if plant is None:
        return sorted(f"{p}:{n}" for p, n in CONTROLLERS)
    return sorted(n for p, n in CONTROLLERS if p == plant)


def controller_factory(plant: str, name: str) -> ControllerFactory:
    """The factory registered as ``name`` for ``plant`` (imported on first use).

    Raises:
        ValueError: if no controller of that name exists for the plant.
    """
    path = CONTROLLERS.get((plant, name))
    if path is None:
        raise ValueError(
            f"controller={name!r} is unknown for plant {plant!r}; allowed: "
            f"{available_controllers(plant)}"
        )
    module, _, attr = path.partition(":")
    factory: ControllerFactory = getattr(importlib.import_module(module), attr)
    return factory


def make_controller(name: str, env: gym.Env[Any, Any], **kwargs: Any) -> Controller:
    """Build the controller registered as ``name`` for ``env``'s plant.

    Raises:
        ValueError: if no controller of that name exists for the plant.
    """
    return controller_factory(plant_of(env).plant_name, name)(env, **kwargs)


class ConstantController:
    """A naive baseline: the same normalised action every step (default: mid-range).

    Reads nothing of the plant (``state_access="measured"``, ``exogenous_access="forecast"``).

    Args:
        env: the env (its action space sets the action's shape).
        action: the normalised action in [-1, 1], one value for all or one per dimension.
    """

    state_access: StateAccess = "measured"
    exogenous_access: ExogenousAccess = "forecast"

    def __init__(self, env: gym.Env[Any, Any], action: float | list[float] = 0.0) -> None:
        space = env.action_space
        shape = space.shape or ()
        a = np.broadcast_to(np.asarray(action, dtype=np.float32), shape).copy()
        if not np.all(np.isfinite(a)) or np.any(np.abs(a) > 1.0):
            raise ValueError(f"action={action!r}; allowed: finite values in [-1, 1]")
        self.action = a

    def reset(self, env: gym.Env[Any, Any], seed: int | None = None) -> None:
        """Nothing to reset."""

    def act(self, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        """The constant action."""
        return self.action.copy()
