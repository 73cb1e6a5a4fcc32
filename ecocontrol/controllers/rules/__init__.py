"""Rule-based controllers: what a competent operator runs today, one module per plant.

They are the baseline that savings are quoted against, so they are sensible, not straw men.
"""
