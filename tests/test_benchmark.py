import pandas as pd

from ecocontrol.io import write_atomic
from ecocontrol.plots import plot_summary
from ecocontrol.results import summarize
from ecocontrol.runner import ControllerSpec, benchmark


class Broken:
    def reset(self, env, seed=None):
        raise RuntimeError("broken controller")

    def act(self, obs, info):  # pragma: no cover
        raise AssertionError


def test_benchmark_table_summary_and_plot(park_env, tmp_path, monkeypatch):
    import ecocontrol.runner as bm

    real = bm.make_controller
    monkeypatch.setattr(
        bm,
        "make_controller",
        lambda name, env, **kw: Broken() if name == "broken" else real(name, env, **kw),
    )
    specs = [
        ControllerSpec("rule", "rule"),
        ControllerSpec("oracle", "oracle"),
        ControllerSpec("broken", "broken"),
    ]
    table = benchmark(park_env, specs, windows=[0, 1], progress=False)
    assert len(table) == 6
    assert (table.loc[table.controller == "broken", "error"].str.contains("broken")).all()
    ok = table[table.controller != "broken"]
    # What each controller knew, as it declares it (broken rows too).
    assert set(table["state_access"]) <= {"measured", "full"}
    assert set(table["exogenous_access"]) <= {"forecast", "true"}
    assert (table.loc[table.controller == "broken", "state_access"] == "measured").all()
    for col in (
        "cost_total",
        "co2_grid",
        "viol_unserved_load_mwh",
        "decision_ms_p95",
        "solver_failures",
    ):
        assert ok[col].notna().all()
    s = summarize(table)
    assert list(s.columns[:2]) == ["state_access", "exogenous_access"]
    assert s.loc["oracle", "gap_to_oracle_pct"] == 0.0
    assert s.loc["oracle", "saving_vs_rule_pct"] >= 0.0
    write_atomic(table, tmp_path / "t.csv")
    assert len(pd.read_csv(tmp_path / "t.csv")) == 6
    plot_summary(table, tmp_path / "p.png")
    assert (tmp_path / "p.png").stat().st_size > 10_000


def test_resumed_table_keeps_text_columns_as_text(tmp_path):
    """An oracle's exogenous_access "true" must not come back as a bool on resume."""
    import pandas as pd

    from ecocontrol.runner import _earlier_rows

    path = tmp_path / "benchmark_x.csv"
    pd.DataFrame(
        {
            "controller": ["oracle"],
            "window": [0],
            "seed": [0],
            "config_hash": ["abc"],
            "state_access": ["measured"],
            "exogenous_access": ["true"],
            "error": [""],
            "cost_total": [1.0],
        }
    ).to_csv(path, index=False)
    previous, _ = _earlier_rows(path, lambda df: (df["controller"] == "none").to_numpy(), True)
    assert previous["exogenous_access"].tolist() == ["true"]
    assert previous["exogenous_access"].map(type).tolist() == [str]
