"""Agent interfaces: the decision spaces agents learn in (see :mod:`ecocontrol.interfaces.base`).

Registered explicitly in :data:`INTERFACES`, ``(plant, name) -> "module:Class"`` (``"*"``: any
plant), imported when first asked for.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

import gymnasium as gym

from ecocontrol.controllers.base import plant_of
from ecocontrol.interfaces.base import AgentInterface

#: Every interface: (plant or ``*``, name) -> ``module:Class``.
INTERFACES: dict[tuple[str, str], str] = {
    ("*", "direct"): "ecocontrol.interfaces.base:AgentInterface",
    ("*", "residual"): "ecocontrol.interfaces.residual:ResidualInterface",
    ("park", "supervisory"): "ecocontrol.interfaces.supervisory:ParkSupervisory",
    ("cement_kiln", "supervisory"): "ecocontrol.interfaces.supervisory:KilnSupervisory",
    ("hot_stove", "decision"): "ecocontrol.interfaces.hot_stove:HotStoveDecisionInterface",
}


def available_interfaces(plant: str) -> list[str]:
    """The interface names available on ``plant``."""
    return sorted(n for p, n in INTERFACES if p in ("*", plant))


def interface_class(plant: str, name: str) -> type[AgentInterface]:
    """The class registered as ``name`` for ``plant``.

    Raises:
        ValueError: naming the allowed interfaces of the plant.
    """
    path = INTERFACES.get((plant, name)) or INTERFACES.get(("*", name))
    if path is None:
        raise ValueError(
            f"config key interface.name={name!r} is unknown for plant {plant!r}; allowed: "
            f"{available_interfaces(plant)}"
        )
    module, _, attr = path.partition(":")
    cls: type[AgentInterface] = getattr(importlib.import_module(module), attr)
    return cls


def make_interface(env: gym.Env[Any, Any], spec: Mapping[str, Any] | None) -> AgentInterface:
    """Build the interface ``spec`` (``{"name": ..., **settings}``; ``None``: direct) on ``env``.

    Raises:
        ValueError: for an unknown name or a bad setting, naming the key.
    """
    spec = dict(spec or {})
    name = str(spec.pop("name", "direct"))
    cls = interface_class(plant_of(env).sim.plant_name, name)
    try:
        return cls(env, **spec)
    except TypeError as e:  # an unknown setting
        raise ValueError(f"config key interface (name={name!r}): {e}") from e


def interface_spec(interface: AgentInterface) -> dict[str, Any]:
    """The spec that rebuilds ``interface``: ``{"name": ..., **settings}``."""
    return {"name": interface.name, **interface.settings()}


__all__ = [
    "INTERFACES",
    "AgentInterface",
    "available_interfaces",
    "interface_class",
    "interface_spec",
    "make_interface",
]
