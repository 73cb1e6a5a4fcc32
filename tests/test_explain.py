"""Explanations: MPC dual prices against finite differences, and explained episodes."""

import functools

import gymnasium as gym
import highspy
import numpy as np
import pytest

from ecocontrol.controllers import make_controller
from ecocontrol.controllers.mpc.direct import DirectHighs
from ecocontrol.controllers.mpc.duals import BindingConstraint, Explanation, _ModelIndex
from ecocontrol.evaluation import run_episode
from ecocontrol.explain import explain_episode, snapshot

PARK = "ecocontrol/WindSolarStorage-v1"
KILN = "ecocontrol/CementKiln-v1"
STOVES = "ecocontrol/HotStove-v1"


@functools.cache
def _env(env_id):
    """One env per plant for this module (every test resets it; the kiln's takes seconds)."""
    return gym.make(env_id, split="test")


def _perturbed_cost(direct, con, var, delta):
    """Optimal cost with row ``con`` moved as if ``var`` were forced up by ``delta``.

    Solved on a copy of the HiGHS model the MPC just solved (same bounds, same costs).
    """
    ix = _ModelIndex.of(direct)
    i = ix.row[id(con)]
    a = ix.coef(i, ix.col[id(var)])
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.passModel(direct.h.getLp())
    lb, ub = direct.row_bounds_now
    h.changeRowBounds(i, lb[i] + a * delta, ub[i] + a * delta)
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    return h.getInfo().objective_function_value


def _one_sided(direct, con, var, eps):
    """Left and right derivatives of the optimal cost in ``var``'s forced increase."""
    base = _perturbed_cost(direct, con, var, 0.0)
    left = (base - _perturbed_cost(direct, con, var, -eps)) / eps
    right = (_perturbed_cost(direct, con, var, eps) - base) / eps
    return base, left, right


def _run(env, ctrl, n, window=0):
    obs, info = env.reset(seed=0, options={"window": window})
    ctrl.reset(env, 0)
    for _ in range(n):
        obs, _, _, _, info = env.step(ctrl.act(obs, info))
    return obs, info


@pytest.fixture(scope="module")
def park_mpc_after_a_few_hours():
    env = gym.make(PARK, split="test")
    mpc = make_controller("mpc", env, explain=True)
    obs, info = _run(env, mpc, 7)
    mpc.act(obs, info)  # solved at hour 7
    return env, mpc


def test_park_duals_equal_finite_differences_of_the_balances(park_mpc_after_a_few_hours):
    _, mpc = park_mpc_after_a_few_hours
    ex, m, direct = mpc.last_explanation, mpc.model, mpc._direct
    assert ex.plan_age == 0 and ex.duals == "lp"
    dt = ex.step_h
    eps = 1e-3  # MW over one hour
    checked = 0
    for t in (0, 3, 5, 10, 17, 23):
        for key, con, var in (
            ("power", m.balance[t], m.imp[t]),
            ("heat", m.heat_balance[t], m.gas[t]),
        ):
            base, left, right = _one_sided(direct, con, var, eps)
            assert base == pytest.approx(ex.objective, rel=1e-9)
            # CNY per MWh of extra demand = d(cost) / d(MW over the step) / dt_h
            price = ex.prices[key][t]
            assert left / dt - 1e-4 <= price <= right / dt + 1e-4 or (
                right / dt - 1e-4 <= price <= left / dt + 1e-4
            )
            checked += abs(left - right) < 1e-6
            if abs(left - right) < 1e-6:
                assert price == pytest.approx(right / dt, rel=1e-6, abs=1e-6)
    assert checked >= 10  # most steps are not at a breakpoint: both sides agree


def test_park_power_price_is_the_cost_of_one_more_mwh_of_load(park_mpc_after_a_few_hours):
    """The same price read as an engineer would: raise the load forecast, re-solve."""
    _, mpc = park_mpc_after_a_few_hours
    ex, m = mpc.last_explanation, mpc.model
    direct = DirectHighs(m)  # a fresh model from the parameters as the MPC set them
    base = direct.solve(10.0).objective
    assert base == pytest.approx(ex.objective, rel=1e-9)
    eps = 0.01  # MWh of load in hour t (dt_h = 1)
    for t in (0, 10):
        for key, param in (("power", m.load_mw), ("heat", m.heat_demand_mw)):
            old = param[t].value
            param[t] = old + eps
            try:
                cost = direct.solve(10.0).objective
            finally:
                param[t] = old
            assert (cost - base) / eps == pytest.approx(ex.prices[key][t], rel=1e-5)


def test_park_explanation_has_the_documented_fields(park_mpc_after_a_few_hours):
    _, mpc = park_mpc_after_a_few_hours
    ex = mpc.last_explanation
    assert isinstance(ex, Explanation)
    n = mpc.horizon_steps
    assert set(ex.prices) == {"power", "heat", "battery_energy", "stored_heat"}
    assert all(v.shape == (n,) and np.all(np.isfinite(v)) for v in ex.prices.values())
    assert ex.units["power"] == "CNY/MWh"
    assert set(ex.state_values) == {"energy_mwh", "heat_mwh"}
    assert ex.state_values["energy_mwh"] == ex.prices["battery_energy"][0]
    assert ex.solved_at == 7 and ex.step_h == 1.0
    assert ex.binding and all(isinstance(b, BindingConstraint) for b in ex.binding)
    for b in ex.binding:
        assert b.kind in ("row", "bound") and b.side in ("lower", "upper")
        assert b.slack <= 1e-6 * (1 + abs(b.bound))
        assert b.step is None or 0 <= b.step <= n
        # a binding upper bound can only lower the cost when relaxed, a lower one raise it
        assert (b.dual <= 1e-9) if b.side == "upper" else (b.dual >= -1e-9)
    frame = ex.binding_frame()
    assert list(frame.columns)[:3] == ["name", "component", "step"] and len(frame) == len(
        ex.binding
    )
    assert sum(ex.binding_counts().values()) == len(ex.binding)
    assert ex.now()["power"] == ex.prices["power"][0]


def test_kiln_bz_heat_value_lies_between_the_one_sided_derivatives():
    env = _env(KILN)
    mpc = make_controller("mpc", env, explain=True)
    obs, info = _run(env, mpc, 6)
    action = mpc.act(obs, info)
    ex, m, direct = mpc.last_explanation, mpc.model, mpc._direct
    assert ex.plan_age == 0 and ex.duals == "lp"
    assert ex.prices["bz_heat"].shape == (mpc.horizon_periods + mpc.dead_periods,)
    c = mpc.p.bz_heat_capacity_mj_per_k
    eps = 1e-3  # K, i.e. c * eps MJ of heat into the burning zone
    agree = 0
    for b in (0, 2, 5, 10, 20, 29):
        _, left, right = _one_sided(direct, m.burning_zone[b], m.bz[b + 1], eps)
        # value per MWh = -d(cost)/d(heat): the left derivative gives the larger value
        v_left, v_right = -left / c * 3600.0, -right / c * 3600.0
        value = ex.prices["bz_heat"][b]
        assert v_right - 1e-3 <= value <= v_left + 1e-3
        agree += abs(v_left - v_right) < 1e-3
    assert agree >= 3
    assert ex.state_values["bz_c"] == pytest.approx(ex.prices["bz_heat"][0] * c / 3600.0)
    # between solves the plan's explanation ages with it
    obs, _, _, _, info = env.step(action)
    mpc.act(obs, info)
    assert mpc.last_explanation.solved_at == ex.solved_at
    assert mpc.last_explanation.plan_age == 1


def test_hot_stove_explanation_is_the_lp_with_its_schedule_fixed():
    env = _env(STOVES)
    mpc = make_controller("mpc", env, explain=True, horizon_periods=6)
    obs, info = env.reset(seed=0, options={"window": 0})
    mpc.reset(env, 0)
    mpc.act(obs, info)
    ex = mpc.last_explanation
    n_t, n_s = mpc.horizon_periods, env.unwrapped.params.n_stoves
    assert ex.duals == "fixed_integers" and ex.steps_per_period == mpc.steps_per_period
    assert ex.prices["blast_heat"].shape == (n_t,)
    assert ex.prices["stored_heat"].shape == (n_s, n_t)
    assert ex.state_values["stored_mj"].shape == (n_s,)
    assert np.all(np.isfinite(ex.prices["blast_heat"]))
    assert ex.binding and all(b.step is None or 0 <= b.step <= n_t for b in ex.binding)
    # the fixed binaries are not reported as binding bounds
    assert not [b for b in ex.binding if b.kind == "bound" and b.component in ("b", "g")]


def test_explain_needs_the_direct_backend(park_env):
    from ecocontrol.controllers.mpc.core import RollingHorizonMPC
    from ecocontrol.controllers.rules.park import ParkRuleController

    mpc = make_controller("mpc", park_env)
    with pytest.raises(ValueError, match="explain=True needs backend='direct'"):
        RollingHorizonMPC(
            park_env,
            mpc.model,
            fallback=ParkRuleController(park_env),
            backend="appsi",
            explain=True,
        )


@pytest.mark.parametrize("env_id", [PARK, STOVES, KILN])
def test_a_snapshot_steps_as_the_env_does(env_id):
    env = _env(env_id)
    rule = make_controller("rule", env)
    obs, info = _run(env, rule, 3)
    action = rule.act(obs, info)
    copy = snapshot(env)
    # the copy steps first: had it touched the env's state, the env's step would differ
    o2, r2, _, _, info2 = copy.step(action.copy())
    o1, r1, _, _, info1 = env.step(action)
    assert np.array_equal(o1, o2) and r1 == r2
    assert info1["costs"] == info2["costs"] and info1["emissions"] == info2["emissions"]
    for key, value in info1["state"].items():
        assert np.array_equal(value, info2["state"][key]), key
    for key, value in info1["forecast"].items():
        assert np.array_equal(value, info2["forecast"][key]), key


def test_explain_episode_park_rule_against_mpc():
    env = gym.make(PARK, split="test")
    ep = explain_episode(env, make_controller("rule", env), "mpc", seed=0, window=0, steps=6)
    fresh = gym.make(PARK, split="test")  # a seeded reset after a cut episode differs
    ref = run_episode(fresh, make_controller("rule", fresh), 0, window=0, max_steps=6)
    assert ep.result.n_steps == 6 == len(ep.decisions)
    assert ep.result.cost == pytest.approx(ref.cost)  # the shadow changes nothing
    assert len(ep.result.decision_times_s) == 6
    assert ep.reference == "ParkMPC" and ep.action_names == ("battery", "boiler")
    costs = set(env.unwrapped.sim.cost_names)
    for k, d in enumerate(ep.decisions):
        assert d.step == k and d.explanation is None
        assert set(d.action) == set(d.reference_action) == {"battery", "boiler"}
        assert d.action_difference["battery"] == pytest.approx(
            d.action["battery"] - d.reference_action["battery"]
        )
        assert set(d.cost_difference) == costs
        assert d.cost_difference["total"] == pytest.approx(
            d.cost["total"] - d.reference_cost["total"]
        )
        assert d.reference_explanation is not None and d.reference_explanation.plan_age == 0
        de = d.state_difference["energy_mwh"]
        he = d.state_difference["heat_mwh"]
        values = d.reference_explanation.state_values
        assert d.future_cost_difference == pytest.approx(
            -(values["energy_mwh"] * de + values["heat_mwh"] * he)
        )
        assert set(d.moved_terms()) <= costs - {"total"}
    frame = ep.to_frame()
    assert len(frame) == 6
    for col in ("action_battery", "ref_action_boiler", "d_cost_total", "ref_price_power"):
        assert col in frame.columns
    assert ep.moved_terms()["total"] == pytest.approx(frame["d_cost_total"].sum())


def test_explain_episode_keeps_an_mpc_controllers_own_explanation():
    env = gym.make(PARK, split="test")
    mpc = make_controller("mpc", env, explain=True)
    ep = explain_episode(env, mpc, None, seed=0, window=0, steps=3)
    assert ep.reference is None
    for d in ep.decisions:
        assert d.reference_action is None and d.cost_difference is None
        assert d.explanation is not None and d.explanation.solved_at == d.step
    assert "price_power" in ep.to_frame().columns


def test_explain_episode_kiln_rule_against_mpc():
    env = _env(KILN)
    ep = explain_episode(env, make_controller("rule", env), "mpc", seed=0, window=0, steps=4)
    names = ("kiln_heat_mw", "calciner_heat_mw", "af_share", "fan_speed")
    assert ep.action_names == names
    for d in ep.decisions:
        assert set(d.action) == set(names)
        assert d.reference_explanation.units == {"bz_heat": "CNY/MWh"}
        assert d.future_cost_difference is not None
        assert "bz_c" in d.state_difference and "last_action[0]" in d.state_difference
    # the shadow's loops track the applied action: its fan stays near the rule's
    assert abs(ep.decisions[-1].action_difference["fan_speed"]) < 0.1


def test_run_episode_max_steps_and_on_step(park_env):
    seen = []
    res = run_episode(
        park_env,
        make_controller("rule", park_env),
        0,
        window=0,
        max_steps=5,
        on_step=lambda a, info: seen.append((a.shape, info["step"])),
    )
    assert res.n_steps == 5 and [s for _, s in seen] == [1, 2, 3, 4, 5]
    with pytest.raises(ValueError, match="max_steps"):
        run_episode(park_env, make_controller("rule", park_env), 0, max_steps=0)
