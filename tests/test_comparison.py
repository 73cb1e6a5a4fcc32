"""Paired savings, seeds pooled as rliable does, and the compact benchmark table."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from ecocontrol.comparison import (
    AGGREGATE_COLUMNS,
    PAIRED_COLUMNS,
    aggregate_savings,
    comparison_markdown,
    comparison_table,
    estimate,
    iqm,
    paired_savings,
    resample,
    split_label,
    study_comparison,
)
from ecocontrol.results import compact_frame, compact_table, summarize, write_results

ROOT = Path(__file__).resolve().parents[1]

#: Costs per window 0, 1, 2. Rule mean 200, MPC mean 190.
COSTS = {
    "rule": [100.0, 200.0, 300.0],
    "mpc": [95.0, 190.0, 285.0],
    "a_s0": [90.0, 210.0, 270.0],
    "a_s1": [100.0, 180.0, 300.0],
}


def tiny(costs=COSTS, **extra):
    rows = [
        {"controller": c, "window": w, "seed": 7 + w, "cost_total": v, "error": "", **extra}
        for c, values in costs.items()
        for w, v in enumerate(values)
    ]
    return pd.DataFrame(rows)


def test_split_label():
    assert split_label("ppo_s1") == ("ppo", 1)
    assert split_label("ppo_tuned_s12") == ("ppo_tuned", 12)
    assert split_label("mpc_af_rule") == ("mpc_af_rule", None)
    assert split_label("rule") == ("rule", None)


def test_paired_savings_equal_hand_computation():
    out = paired_savings(tiny(), n_boot=2_000)
    assert list(out.columns) == list(PAIRED_COLUMNS)
    vs_rule = out[out["reference"] == "rule"].set_index("controller")
    # window savings in % of the rule's mean cost (200): a_s0 5, -5, 15; a_s1 0, 10, 0
    assert vs_rule.loc["a_s0", "saving_pct"] == pytest.approx(5.0)
    assert vs_rule.loc["a_s1", "saving_pct"] == pytest.approx(10.0 / 3.0)
    assert vs_rule.loc["mpc", "saving_pct"] == pytest.approx(5.0)
    assert vs_rule["wins"].to_dict() == {"mpc": 3, "a_s0": 2, "a_s1": 1}
    assert (vs_rule["windows"] == 3).all()
    assert vs_rule.loc["a_s0", "family"] == "a"
    assert vs_rule.loc["a_s1", "agent_seed"] == 1
    assert pd.isna(vs_rule.loc["mpc", "agent_seed"])
    # the mean saving is the saving of the mean cost
    for label in ("a_s0", "a_s1", "mpc"):
        mean = float(np.mean(COSTS[label]))
        assert vs_rule.loc[label, "saving_pct"] == pytest.approx(100 * (200 - mean) / 200)
    # every bootstrap mean lies between the smallest and largest window saving
    assert -5.0 <= vs_rule.loc["a_s0", "saving_ci_low_pct"] <= 5.0
    assert 5.0 <= vs_rule.loc["a_s0", "saving_ci_high_pct"] <= 15.0
    # against the MPC too (its mean cost 190): a_s0 saves 5, -20, 15 CNY
    vs_mpc = out[out["reference"] == "mpc"].set_index("controller")
    assert set(vs_mpc.index) == {"rule", "a_s0", "a_s1"}
    assert vs_mpc.loc["a_s0", "saving_pct"] == pytest.approx(100 * 0 / 190)
    assert vs_mpc.loc["rule", "saving_pct"] == pytest.approx(100 * -10 / 190)
    assert vs_mpc.loc["a_s1", "wins"] == 1


def test_bootstrap_interval_of_two_windows_is_their_range():
    # Means of the resamples of windows {a, b}: a, (a+b)/2 or b with chances 1/4, 1/2, 1/4,
    # so the 2.5 and 97.5 percentiles of 10,000 replicates are a and b.
    e = estimate(np.array([[2.0, 6.0]]), n_boot=10_000, seed=3)
    assert e.mean == 4.0
    assert e.mean_ci == (2.0, 6.0)
    assert e.wins == 2


def test_bootstrap_is_seeded_not_global():
    costs = np.random.default_rng(0).uniform(90.0, 110.0, size=(4, 25))
    table = tiny(dict(zip(COSTS, costs.tolist(), strict=True)))
    np.random.seed(1)
    first = paired_savings(table, n_boot=500, seed=5)
    np.random.seed(2)  # numpy's global state plays no part
    again = paired_savings(table, n_boot=500, seed=5)
    pd.testing.assert_frame_equal(first, again)
    other = paired_savings(table, n_boot=500, seed=6)
    assert not np.allclose(first["saving_ci_low_pct"], other["saving_ci_low_pct"])
    agg = [comparison_table(table, n_boot=300, seed=9) for _ in range(2)]
    pd.testing.assert_frame_equal(*agg)


def test_iqm_of_a_known_set():
    scores = np.array([[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 100.0]])
    # 8 scores, int(0.25 * 8) = 2 cut from each end: mean of 3, 4, 5, 6
    assert iqm(scores) == pytest.approx(4.5)
    assert iqm(scores) == pytest.approx(scipy.stats.trim_mean(scores, 0.25, axis=None))
    # along an axis: 4 scores per row, 1 cut from each end
    np.testing.assert_allclose(iqm(scores, axis=1), [2.5, 6.5])
    np.testing.assert_allclose(iqm(scores, axis=1), scipy.stats.trim_mean(scores, 0.25, axis=1))
    # 5 scores: int(1.25) = 1 cut from each end
    assert iqm(np.array([0.0, 1.0, 2.0, 3.0, 1000.0])) == pytest.approx(2.0)


def test_stratified_resample_by_hand():
    savings = np.array([[1.0, 2.0, 3.0, 4.0], [10.0, 20.0, 30.0, 40.0]])
    mpc = np.array([1.0, 2.0, 3.0, 4.0])
    windows = np.array([[0, 0, 1, 3]])
    runs = np.array([[[0, 1, 1, 0], [1, 1, 0, 0]]])
    # cells: run 0 -> 1, 10, 20, 4; run 1 -> 10, 10, 2, 4
    mean, iqm_b, fraction = resample(savings, mpc, windows, runs)
    assert mean[0] == pytest.approx(61 / 8)
    # sorted 1 2 4 4 10 10 10 20, two cut at each end: 4 4 10 10
    assert iqm_b[0] == pytest.approx(7.0)
    # the MPC on the same drawn windows 0 0 1 3: mean 2
    assert fraction[0] == pytest.approx(61 / 8 / 2)


def test_aggregate_savings_pool_seeds():
    out = aggregate_savings(tiny(), n_boot=2_000)
    assert list(out.columns) == list(AGGREGATE_COLUMNS)
    a = out.set_index("controller").loc["a"]
    assert (a["runs"], a["windows"], a["episodes"], a["wins"]) == (2, 3, 6, 3)
    # savings 5 -5 15 / 0 10 0: sorted -5 0 0 5 10 15, one cut at each end
    assert a["saving_iqm_pct"] == pytest.approx(3.75)
    assert a["saving_mean_pct"] == pytest.approx(25 / 6)
    assert a["seed_means_pct"] == "s0: 5.00; s1: 3.33"
    # the MPC saves 5 % of the rule's cost
    assert a["fraction_of_mpc"] == pytest.approx(25 / 6 / 5)
    assert a["fraction_of_mpc_ci_low"] <= a["fraction_of_mpc"] <= a["fraction_of_mpc_ci_high"]
    assert a["saving_iqm_ci_low_pct"] <= a["saving_iqm_pct"] <= a["saving_iqm_ci_high_pct"]
    m = out.set_index("controller").loc["mpc"]
    assert m["runs"] == 1 and np.isnan(m["fraction_of_mpc"])
    assert m["saving_iqm_pct"] == pytest.approx(5.0)  # 2.5 5 7.5: 3 scores, none cut
    per_run = aggregate_savings(tiny(), n_boot=200, per_run=True)
    assert per_run.loc[per_run["level"] == "run", "controller"].tolist() == ["a_s0", "a_s1"]


def test_comparison_table_and_markdown():
    comp = comparison_table(tiny(), n_boot=300)
    assert set(comp["reference"]) == {"rule", "mpc"}
    fam = comp[comp["level"] == "family"]
    assert fam.loc[fam["reference"] == "rule", "controller"].tolist() == ["mpc", "a"]
    assert np.isnan(comp.loc[comp["reference"] == "mpc", "fraction_of_mpc"]).all()
    text = comparison_markdown(comp)
    assert "saving IQM [%] (95% CI)" in text and "a_s0" not in text
    assert "| 3/6 " in text  # the family's windows won


def test_windows_must_match():
    table = tiny()
    short = table.drop(table.index[(table.controller == "a_s1") & (table.window == 2)])
    with pytest.raises(ValueError, match=r"'a_s1'.*missing \[2\], extra \[\]"):
        paired_savings(short, n_boot=10)
    failed = table.copy()
    failed.loc[(failed.controller == "a_s1") & (failed.window == 2), "error"] = "boom"
    with pytest.raises(ValueError, match=r"missing \[2\].*failed on \[2\]"):
        comparison_table(failed, n_boot=10)
    extra = pd.concat([table, tiny({"a_s0": [1.0, 2.0, 3.0, 4.0]}).iloc[3:]])
    with pytest.raises(ValueError, match=r"extra \[3\]"):
        paired_savings(extra, n_boot=10)
    reseeded = table.copy()
    reseeded.loc[(reseeded.controller == "mpc") & (reseeded.window == 1), "seed"] = 99
    with pytest.raises(ValueError, match=r"env seeds of controller 'mpc'.*windows \[1\]"):
        paired_savings(reseeded, n_boot=10)
    with pytest.raises(ValueError, match="several finished rows"):
        paired_savings(pd.concat([table, table.iloc[:1]]), n_boot=10)
    with pytest.raises(ValueError, match="reference='oracle' is not in the table"):
        paired_savings(table, reference="oracle", n_boot=10)
    with pytest.raises(ValueError, match=r"unknown \['b'\]"):
        paired_savings(table, controllers=["b"], n_boot=10)


def test_study_comparison_names_the_plant(tmp_path):
    path = tmp_path / "benchmark_park.csv"
    tiny().to_csv(path, index=False)
    out = study_comparison([path], n_boot=100)
    assert list(out) == ["park"] and (out["park"]["plant"] == "park").all()
    tiny({"rule": [1.0], "mpc": [1.0, 2.0]}).to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"^park \("):
        study_comparison({"park": path}, n_boot=10)


def test_committed_study_mean_saving_equals_summary():
    table = pd.read_csv(ROOT / "experiments/results/study/benchmark_park.csv", dtype={"error": str})
    out = paired_savings(table, n_boot=50, also=())
    summary = summarize(table)
    got = out.set_index("controller")["saving_pct"]
    np.testing.assert_allclose(got, summary.loc[got.index, "saving_vs_rule_pct"], rtol=1e-12)


def _summary(plant: str, violations: dict[str, list[float]]) -> pd.DataFrame:
    table = tiny({"oracle": [90.0, 180.0, 280.0], **COSTS}, co2_total=1.0)
    for name, values in violations.items():
        table[f"viol_{name}"] = np.resize(values, len(table))
    return summarize(table)


BASE = ["controller", "cost [CNY]", "CO2 [t]"]


@pytest.mark.parametrize(
    ("plant", "violations", "columns"),
    [
        (
            "park",
            {"unserved_load_mwh": [1.0], "unserved_heat_mwh": [2.0], "battery_limited_mw": [0.5]},
            ["gap to oracle [%]", "saving vs rule [%]", "unserved [MWh]", "battery cut [MW·step]"],
        ),
        (
            "hot_stove",
            {"blast_shortfall_k_min": [4.0], "refused_requests": [1.0], "firing_cut_mw": [9.0]},
            [
                "gap to reference [%]",
                "saving vs rule [%]",
                "blast shortfall [K·min]",
                "refused requests",
            ],
        ),
        (
            "cement_kiln",
            {"free_lime_out_min": [3.0], "nox_excess_mg_min": [1.0]},
            ["gap to oracle [%]", "saving vs rule [%]", "free lime out of band [min]"],
        ),
    ],
)
def test_compact_table_columns_per_plant(plant, violations, columns):
    summary = _summary(plant, violations)
    frame = compact_frame(summary, plant)
    assert list(frame.columns) == BASE + columns
    assert len(frame) == len(summary)
    header = compact_table(summary, plant).splitlines()[0]
    assert [h.strip() for h in header.strip("|").split("|")] == BASE + columns
    # the CSV form of the summary gives the same table
    csv = summary.reset_index()
    pd.testing.assert_frame_equal(compact_frame(csv, plant), frame)


def test_compact_table_values():
    summary = _summary("park", {"unserved_load_mwh": [1.0], "unserved_heat_mwh": [2.0]})
    frame = compact_frame(summary, "park").set_index("controller")
    assert frame.loc["rule", "cost [CNY]"] == 200.0
    assert frame.loc["rule", "saving vs rule [%]"] == 0.0
    assert frame.loc["oracle", "gap to oracle [%]"] == 0.0
    assert frame.loc["mpc", "unserved [MWh]"] == 3.0  # load and heat summed
    assert frame.loc["mpc", "battery cut [MW·step]"] == 0.0  # never occurred
    table = tiny({"oracle": [90.0, 180.0, 280.0], **COSTS}, co2_total=1.0)
    table["viol_battery_limited_mw"] = 1.0
    table.loc[table["controller"] == "mpc", "error"] = "boom"
    failed = compact_frame(summarize(table), "park").set_index("controller")
    assert np.isnan(failed.loc["mpc"].to_numpy(dtype=float)).all()
    assert failed.loc["rule", "battery cut [MW·step]"] == 1.0
    hot = compact_frame(summary, "hot_stove")
    assert hot["controller"].iloc[0] == "whole-episode plan (reference)"


def test_write_results_prints_compact_table(tmp_path, capsys):
    table = tiny({"oracle": [90.0, 180.0, 280.0], **COSTS}, co2_total=1.0)
    table["viol_free_lime_out_min"] = 1.5
    write_results(table, tmp_path, "cement_kiln", 3)
    printed = capsys.readouterr().out
    assert "free lime out of band [min]" in printed and "cost_ci95_cny" not in printed
    assert "summary_cement_kiln.md" in printed
    full = (tmp_path / "summary_cement_kiln.md").read_text()
    assert "cost_ci95_cny" in full
    assert "cost_ci95_cny" in pd.read_csv(tmp_path / "summary_cement_kiln.csv").columns
