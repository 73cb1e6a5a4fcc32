"""The hot stoves' ``decision`` interface: masks, levels, observation, shaping potential."""

from __future__ import annotations

import copy
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import yaml
from ecocontrol.envs.hot_stove import (
    BLAST,
    GAS,
    TO_BLAST,
    TO_GAS,
    HotStoveParams,
    staggered_cycle_command,
)

from ecocontrol.config import ConfigError, agent_spec
from ecocontrol.interfaces.env import AgentEnv
from ecocontrol.interfaces.hot_stove import HotStoveDecisionInterface, changeover_allowed

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


@pytest.fixture(scope="module")
def env():
    e = gym.make("ecocontrol/HotStove-v1")
    yield e
    e.close()


def _masked_sample(itf, mask, rng):
    """A uniformly random allowed action (per dimension, as MaskablePPO samples)."""
    out, k = [], 0
    for n in itf.action_space.nvec:
        allowed = np.flatnonzero(mask[k : k + n])
        out.append(int(rng.choice(allowed)))
        k += n
    return np.array(out, dtype=np.int64)


def _mirror_allowed(st, p):
    """The safety layer's documented rule, written out (a check on the shared kernel)."""
    mode, tim = np.asarray(st["mode"]), np.asarray(st["time_in_mode_min"])
    n_blast = int((mode == BLAST).sum())
    return np.array(
        [
            (m == GAS and t >= p.min_gas_min - 1e-9)
            or (m == BLAST and t >= p.min_blast_min - 1e-9 and n_blast >= 2)
            for m, t in zip(mode, tim, strict=True)
        ]
    )


def _run(env, itf, rng, *, window, seed, on_decision=None, on_step=None):
    """One episode of random masked decisions; returns the plant infos, first to last."""
    obs, info = env.reset(seed=seed, options={"window": window})
    itf.reset(env, seed)
    infos, done = [info], False
    while not done:
        mask = itf.action_masks(obs, info)
        a = _masked_sample(itf, mask, rng)
        if on_decision is not None:
            on_decision(obs, info, mask, a)
        for _ in range(itf.hold_steps):
            before = info
            obs, _, term, trunc, info = env.step(itf.plant_action(a, obs, info))
            infos.append(info)
            if on_step is not None:
                on_step(before, a, info)
            done = term or trunc
            if done:
                break
    return infos


@pytest.mark.parametrize("interval", [10.0, 5.0])
def test_masked_changeovers_are_never_refused(env, interval):
    """Random masked decisions over whole episodes on several windows: every changeover the
    mask allows is accepted (refused_requests stays 0) and executed; no level trips an
    interlock or cuts the enrichment."""
    itf = HotStoveDecisionInterface(env, decision_interval_min=interval)
    assert itf.hold_steps == round(interval)
    rng = np.random.default_rng(7)
    decisions, changeovers = [0], [0]
    p = env.unwrapped.params

    def on_decision(obs, info, mask, a):
        decisions[0] += 1
        changeovers[0] += a[0] > 0
        assert mask[0]  # "none" is always allowed
        assert mask[itf.n_stoves + 1 :].all()  # every level
        assert np.array_equal(mask[1 : itf.n_stoves + 1], _mirror_allowed(info["state"], p))
        o = itf.observe(obs, info)
        assert itf.observation_space.contains(o)
        np.testing.assert_array_equal(o[-itf.n_stoves :], mask[1 : itf.n_stoves + 1])

    def on_step(before, a, info):
        st = info["state"]
        _, fire, _ = staggered_cycle_command(
            st["mode"][None], st["time_in_mode_min"][None], st["waste_gas_c"][None], p
        )
        np.testing.assert_array_equal(itf.rule_firing_mw(info), fire[0])
        v = info["constraint_violations"]
        assert v["refused_requests"] == 0.0
        assert v["firing_cut_mw"] == 0.0 and v["enrichment_cut"] == 0.0
        assert v["waste_gas_excess_k_min"] == 0.0 and v["action_clipped"] == 0.0
        if a[0] > 0 and before["step"] % itf.hold_steps == 0:
            s = a[0] - 1
            old, new = before["state"]["mode"][s], info["state"]["mode"][s]
            assert (old, new) in ((GAS, TO_BLAST), (BLAST, TO_GAS))

    for window, seed in ((0, 1), (3, 2), (11, 3)):
        _run(env, itf, rng, window=window, seed=seed, on_decision=on_decision, on_step=on_step)
    assert decisions[0] >= 2 * 480 // round(interval)  # (a random agent may upset the furnace)
    assert changeovers[0] >= 20  # the masks leave the agent real choices


def test_unmasked_changeovers_would_be_refused(env):
    """At every decision, each stove's changeover requested alone on a copy of the plant is
    accepted exactly when the mask allows it, and refused (counted) when the mask forbids it
    for a stove on gas or on blast."""
    # decisions every 5 min: some find a stove changing over (10 min), whose request is ignored
    itf = HotStoveDecisionInterface(env, decision_interval_min=5.0)
    n = itf.n_stoves
    rng = np.random.default_rng(11)
    seen = {"allowed": 0, "refused": 0, "ignored": 0}

    def on_decision(obs, info, mask, a):
        for s in range(n):
            probe = copy.deepcopy(env.unwrapped)
            act = np.full(3 * n, -1.0, dtype=np.float32)
            act[s] = 1.0
            _, _, _, _, after = probe.step(act)
            refused = after["constraint_violations"]["refused_requests"]
            mode = info["state"]["mode"][s]
            changed = after["state"]["mode"][s] != mode
            if mask[1 + s]:
                assert refused == 0.0 and changed
                seen["allowed"] += 1
            elif mode in (GAS, BLAST):
                assert refused == 1.0 and not changed
                seen["refused"] += 1
            else:  # changing over already: the safety layer ignores the request
                assert refused == 0.0 and mode in (TO_BLAST, TO_GAS)
                seen["ignored"] += 1

    _run(env, itf, rng, window=2, seed=5, on_decision=on_decision)
    assert min(seen.values()) > 10, seen


def test_changeover_allowed_cases(env):
    p = env.unwrapped.params
    dwell = p.min_gas_min
    allowed = changeover_allowed(
        np.array([GAS, GAS, BLAST, TO_GAS]), np.array([dwell, dwell - 1.0, 100.0, 1.0]), p
    )
    # the only stove on blast cannot leave it
    assert allowed.tolist() == [True, False, False, False]
    allowed = changeover_allowed(
        np.array([BLAST, BLAST, GAS, TO_BLAST]), np.array([p.min_blast_min, 5.0, 0.0, 3.0]), p
    )
    assert allowed.tolist() == [True, False, False, False]


def test_plant_action_levels(env):
    """The changeover is requested at the hold's first step only; the top firing level is the
    rule's (throttled) firing; the share levels run from lean gas to the dome limit."""
    itf = HotStoveDecisionInterface(env, firing_levels=3, share_levels=4)
    p, n = env.unwrapped.params, itf.n_stoves
    scaler = env.unwrapped.scaler
    obs, info = env.reset(seed=0, options={"window": 0})
    itf.reset(env, 0)
    st = info["state"]
    a = np.array([1] + [2] * n + [3] * n)
    phys, _ = scaler.to_physical(itf.plant_action(a, obs, info))
    assert phys[:n].tolist() == [1.0] + [-1.0] * (n - 1)
    _, fire, _ = staggered_cycle_command(
        st["mode"][None], st["time_in_mode_min"][None], st["waste_gas_c"][None], p
    )
    np.testing.assert_allclose(phys[n : 2 * n], fire[0], rtol=1e-6, atol=1e-5)
    assert (phys[2 * n :] <= p.share_dome_max).all()
    np.testing.assert_allclose(phys[2 * n :], p.share_dome_max, rtol=1e-6)
    later = {**info, "step": info["step"] + 1}
    phys, _ = scaler.to_physical(itf.plant_action(a, obs, later))
    assert (phys[:n] == -1.0).all()
    a0 = np.array([0] + [0] * n + [0] * n)
    phys, _ = scaler.to_physical(itf.plant_action(a0, obs, info))
    assert (phys[:n] == -1.0).all() and (phys[n:] == 0.0).all()
    assert itf.share_values[0] == 0.0 and itf.share_values[-1] == p.share_dome_max
    domes = [p.flue.flame_temperature(s, p.heat_retained) for s in itf.share_values]
    np.testing.assert_allclose(np.diff(domes), (p.dome_temp_max_c - domes[0]) / 3, rtol=1e-3)
    with pytest.raises(ValueError, match="action"):
        itf.plant_action(np.array([n + 1] + [0] * 2 * n), obs, info)


def test_rebuilds_from_settings_and_validates(env):
    itf = HotStoveDecisionInterface(
        env, decision_interval_min=15.0, firing_levels=5, share_levels=2
    )
    again = HotStoveDecisionInterface(env, **itf.settings())
    assert (
        again.settings()
        == itf.settings()
        == {
            "decision_interval_min": 15.0,
            "firing_levels": 5,
            "share_levels": 2,
        }
    )
    assert again.action_space == itf.action_space
    assert again.observation_space == itf.observation_space
    assert again.hold_steps == 15
    assert itf.action_space.nvec.tolist() == [5] + [5] * 4 + [2] * 4
    for kwargs, field in (
        ({"decision_interval_min": 2.5}, "decision_interval_min"),
        ({"decision_interval_min": 0.0}, "decision_interval_min"),
        ({"decision_interval_min": 600.0}, "decision_interval_min"),
        ({"decision_interval_min": float("nan")}, "decision_interval_min"),
        ({"firing_levels": 0}, "firing_levels"),
        ({"firing_levels": 12}, "firing_levels"),
        ({"firing_levels": True}, "firing_levels"),
        ({"share_levels": 2.0}, "share_levels"),
    ):
        with pytest.raises(ValueError, match=field):
            HotStoveDecisionInterface(env, **kwargs)
    coarse = gym.make("ecocontrol/HotStove-v1", dt_min=2.0)
    assert HotStoveDecisionInterface(coarse, decision_interval_min=10.0).hold_steps == 5
    with pytest.raises(ValueError, match="multiple"):
        HotStoveDecisionInterface(coarse, decision_interval_min=5.0)
    with pytest.raises(ValueError, match="n_stoves"):
        itf.reset(gym.make("ecocontrol/HotStove-v1", params=HotStoveParams(n_stoves=3)))
    with pytest.raises(TypeError, match="HotStoveEnv"):
        HotStoveDecisionInterface(gym.make("ecocontrol/CementKiln-v1"))


def test_potential_telescopes_and_spreads_the_inventory_charge(env):
    """phi(s_0) = 0; phi at the last step is the env's inventory charge in reward units; with
    gamma = 1 the shaping terms sum to phi(T) - phi(0), and under the convention
    phi(terminal) = 0 the shaped return equals the plain return (the last step's charge is
    no longer a cliff)."""
    itf = HotStoveDecisionInterface(env)
    scale = env.unwrapped.reward_scale_cny
    carbon = env.unwrapped.carbon_price_cny_per_t
    rng = np.random.default_rng(3)
    for window, seed in ((1, 0), (4, 1)):
        obs, info = env.reset(seed=seed, options={"window": window})
        itf.reset(env, seed)
        phis, rewards, done = [itf.potential(info)], [], False
        while not done:
            a = _masked_sample(itf, itf.action_masks(obs, info), rng)
            r_hold = 0.0
            for _ in range(itf.hold_steps):
                obs, r, term, trunc, info = env.step(itf.plant_action(a, obs, info))
                r_hold += r
                done = term or trunc
                if done:
                    break
            rewards.append(r_hold)
            phis.append(itf.potential(info))
        assert abs(phis[0]) < 1e-9
        charge = -(info["costs"]["inventory"] + carbon * info["emissions"]["inventory"]) / scale
        assert charge != 0.0
        assert phis[-1] == pytest.approx(charge, rel=1e-9, abs=1e-9)
        shaping = [phis[k + 1] - phis[k] for k in range(len(rewards))]
        assert sum(shaping) == pytest.approx(phis[-1] - phis[0], rel=1e-9, abs=1e-9)
        zero_end = [*phis[:-1], 0.0]  # phi(terminal) = 0
        shaped = [r + zero_end[k + 1] - zero_end[k] for k, r in enumerate(rewards)]
        assert sum(shaped) == pytest.approx(sum(rewards) - phis[0], rel=1e-9, abs=1e-9)
        # the inventory cliff is gone: the last decision's shaped reward is an ordinary one
        assert abs(shaped[-1] - np.median(shaped)) < abs(rewards[-1] - np.median(rewards))


def test_maskable_ppo_config():
    cfg = yaml.safe_load((CONFIGS / "agent" / "maskable_ppo.yaml").read_text())
    md = gym.spaces.MultiDiscrete([5, 3, 3, 3, 3, 3, 3, 3, 3])
    box = gym.spaces.Box(-1.0, 1.0, (57,), np.float32)
    cls, kwargs = agent_spec(cfg, md, n_envs=2, observation_space=box)
    assert cls.__name__ == "MaskablePPO" and kwargs["n_steps"] == 1024
    with pytest.raises(ConfigError, match="agent=MaskablePPO"):
        agent_spec(cfg, box, observation_space=box)
    with pytest.raises(ConfigError, match=r"agent\.batch_size"):
        agent_spec({**cfg, "batch_size": 1}, md, observation_space=box)


def test_maskable_ppo_trains_through_agent_env():
    """MaskablePPO trains ~2,000 decisions through AgentEnv with shaping; its masked actions
    are never refused."""
    from sb3_contrib import MaskablePPO

    env = gym.make("ecocontrol/HotStove-v1")
    wrapped = AgentEnv(env, HotStoveDecisionInterface(env), shaping=True, gamma=0.99)
    model = MaskablePPO(
        "MlpPolicy",
        wrapped,
        n_steps=256,
        batch_size=64,
        n_epochs=2,
        gamma=0.99,
        policy_kwargs={"net_arch": [32]},
        seed=0,
        device="cpu",
    )
    model.learn(2048)
    assert model.num_timesteps >= 2048
    obs, _ = wrapped.reset(seed=0, options={"window": 0})
    done, refused = False, 0.0
    while not done:
        action, _ = model.predict(obs, action_masks=wrapped.action_masks(), deterministic=True)
        assert wrapped.action_space.contains(action)
        obs, _, term, trunc, info = wrapped.step(action)
        refused += info["constraint_violations"]["refused_requests"]
        done = term or trunc
    assert refused == 0.0


def test_train_config_decision_interface(tmp_path):
    """``interface: {name: decision}`` with ``agent=maskable_ppo`` trains through
    :func:`~ecocontrol.train.train`, and the benchmark's AgentController replays the agent
    with its masks (no refused request)."""
    from ecocontrol.agents import AgentController
    from ecocontrol.evaluation import run_episode
    from ecocontrol.train import train

    run = tmp_path / "run"
    cfg = {
        "total_timesteps": 256,
        "n_envs": 2,
        "vec_env": "native",
        "seed": 0,
        "normalize_obs": True,
        "normalize_reward": False,
        "eval_every": 128,
        "eval_episodes": 1,
        "checkpoint_every": 0,
        "resume": False,
        "progress_bar": False,
        "device": "cpu",
        "reward_baseline": "none",
        "shaping": True,
        "init_from": None,
        "interface": {"name": "decision", "decision_interval_min": 10},
        "agent": {
            "_target_": "sb3_contrib.MaskablePPO",
            "policy": "MlpPolicy",
            "n_steps": 64,
            "batch_size": 64,
            "n_epochs": 1,
            "policy_kwargs": {"net_arch": [16]},
        },
        "env": {"_target_": "ecocontrol.envs.hot_stove.HotStoveEnv", "split": "train"},
        "run_dir": str(run),
    }
    train(cfg)
    env = gym.make("ecocontrol/HotStove-v1", split="val")
    agent = AgentController(env, run, which="final")
    assert isinstance(agent.interface, HotStoveDecisionInterface)
    assert agent.interface.settings()["decision_interval_min"] == 10.0
    result = run_episode(env, agent, seed=5, window=0)
    assert result.violations["refused_requests"] == 0.0
