"""Hydra configs, shipped as the package ``ecocontrol.configs`` (``pkg://ecocontrol.configs``)."""
