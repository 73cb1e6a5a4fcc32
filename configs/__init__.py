"""Hydra configs, shipped as the package ``ecocontrol.configs`` (``pkg://ecocontrol.configs``).

Importing the package (Hydra does, to read it) puts each plant's defaults from the code in
Hydra's config store as ``env_defaults/<plant>`` (:func:`ecocontrol.config.register_env_defaults`):
``configs/env/*.yaml`` hold only the keys changed most, every other key still overrides.
"""

from ecocontrol.config import register_env_defaults

register_env_defaults()
