import math

import numpy as np
import pytest

from ecocontrol.emissions import (
    EMISSION_SOURCES,
    EmissionLedger,
    Fuel,
    GridIntensity,
    get_fuel,
    synthetic_china_grid_shape,
)


def test_fuel_co2_matches_ipcc_factor():
    ng = get_fuel("natural_gas")
    fossil, bio = ng.co2_t(1000.0)  # 1 TJ
    assert fossil == pytest.approx(56.1)
    assert bio == 0.0
    # 1,000 Nm3 of natural gas at 38.9 MJ/Nm3
    assert ng.energy_gj(1000.0) == pytest.approx(38.9)


def test_biogenic_share_splits_co2():
    rdf = get_fuel("rdf")
    fossil, bio = rdf.co2_t(10.0)
    assert fossil + bio == pytest.approx(10.0 * rdf.co2_t_per_gj)
    # Each part at its own IPCC factor: fossil 91.7, biomass 100 t/TJ (energy shares).
    assert fossil == pytest.approx(10.0 * (1.0 - rdf.biogenic_share) * 91.7e-3)
    assert bio == pytest.approx(10.0 * rdf.biogenic_share * 100.0e-3)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"lhv_mj_per_unit": -1.0}, "lhv_mj_per_unit"),
        ({"biogenic_share": 1.5}, "biogenic_share"),
        ({"co2_kg_per_tj": float("nan")}, "co2_kg_per_tj"),
        ({"unit": "litre"}, "unit"),
    ],
)
def test_bad_fuel_is_refused_naming_the_field(kwargs, field):
    base = {"name": "x", "lhv_mj_per_unit": 10.0, "unit": "kg", "co2_kg_per_tj": 1.0}
    with pytest.raises(ValueError, match=field):
        Fuel(**{**base, **kwargs})


def test_unknown_fuel_lists_allowed():
    with pytest.raises(ValueError, match="allowed"):
        get_fuel("unobtainium")


def test_ledger_prices_only_fossil_sources_and_sums_steps():
    ledger = EmissionLedger(carbon_price_cny_per_t=100.0)
    rng = np.random.default_rng(0)
    steps = []
    for _ in range(50):
        em = {s: float(rng.uniform(0, 2)) for s in EMISSION_SOURCES}
        co = {"energy": float(rng.uniform(-5, 50)), "fuel": float(rng.uniform(0, 9))}
        steps.append(ledger.record(em, co))
    for acc in steps:
        em = acc.emissions
        priced = em["fuel"] + em["process"] + em["grid"] + em["inventory"]
        assert acc.costs["carbon"] == pytest.approx(100.0 * priced)
        assert acc.emissions["total"] == pytest.approx(priced)  # biogenic not in total
    tot = ledger.totals()
    for k in tot.emissions:
        assert tot.emissions[k] == pytest.approx(sum(a.emissions[k] for a in steps))
    for k in tot.costs:
        assert tot.costs[k] == pytest.approx(sum(a.costs[k] for a in steps))


def test_ledger_refuses_unknown_terms_and_nonfinite():
    ledger = EmissionLedger()
    with pytest.raises(ValueError, match="emissions"):
        ledger.record({"methane": 1.0}, {})
    with pytest.raises(ValueError, match="costs"):
        ledger.record({}, {"carbon": 1.0})
    with pytest.raises(FloatingPointError):
        ledger.record({"grid": math.inf}, {})
    with pytest.raises(ValueError, match="carbon_price"):
        EmissionLedger(carbon_price_cny_per_t=-1.0)


def test_grid_intensity_shape_keeps_the_mean():
    g = GridIntensity(0.5306, synthetic_china_grid_shape(0.2))
    h = np.arange(24)
    assert g.at_hours(h).mean() == pytest.approx(0.5306)
    assert g.at_hours(13)[()] < g.at_hours(1)[()]
    assert np.all(GridIntensity().at_hours(h) == 0.5306)
    with pytest.raises(ValueError, match="daily_shape"):
        GridIntensity(0.5, (1.0,) * 23)


def test_pricing_refuses_non_finite_entries_for_floats_and_batches() -> None:
    ledger = EmissionLedger(80.0)
    with pytest.raises(FloatingPointError, match="fuel"):
        ledger.price({"fuel": float("nan")}, {})
    batch = np.zeros(3)
    bad = np.array([0.0, 0.0, np.inf])
    with pytest.raises(FloatingPointError, match=r"energy.*member 2"):
        ledger.price({"grid": batch}, {"energy": bad})
    with pytest.raises(FloatingPointError, match="biogenic"):
        ledger.price({"biogenic": np.array([np.nan, 0.0, 0.0])}, {})
    free = EmissionLedger(0.0)  # 0 * inf is NaN: still caught
    with pytest.raises(FloatingPointError, match="grid"):
        free.price({"grid": bad}, {})
    em, co = ledger.price({"grid": np.ones(3)}, {"energy": np.full(3, 2.0)})
    np.testing.assert_array_equal(co["total"], np.full(3, 82.0))
    np.testing.assert_array_equal(em["total"], np.ones(3))
