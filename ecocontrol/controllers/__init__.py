"""Controllers: the protocol, the plant view, the explicit registry, rules and MPCs."""

from ecocontrol.controllers.base import (
    CONTROLLERS,
    Controller,
    PlantView,
    available_controllers,
    make_controller,
    register_controller,
)

__all__ = [
    "CONTROLLERS",
    "Controller",
    "PlantView",
    "available_controllers",
    "make_controller",
    "register_controller",
]
