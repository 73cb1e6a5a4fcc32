"""Controllers: the protocol, the registry, and every plant's rule, MPC and oracle."""

from ecocontrol.controllers import rules  # noqa: F401  (registers the rule controllers)
from ecocontrol.controllers.base import (
    Controller,
    available_controllers,
    make_controller,
    register_controller,
)
from ecocontrol.controllers.mpc import cement_kiln as _kiln_mpc  # noqa: F401  (registers)
from ecocontrol.controllers.mpc import hot_stove as _hot_stove_mpc  # noqa: F401  (registers)
from ecocontrol.controllers.mpc import park as _park_mpc  # noqa: F401  (registers mpc/oracle)

__all__ = ["Controller", "available_controllers", "make_controller", "register_controller"]
