"""ecocontrol: reinforcement-learning process control for industrial decarbonisation."""

import ecocontrol.envs as envs  # registers the Gymnasium ids

__version__ = "0.1.0"

__all__ = ["__version__", "envs"]
