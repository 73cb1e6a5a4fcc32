"""Pyomo MPC models, one module per plant, on the shared rolling-horizon core."""
