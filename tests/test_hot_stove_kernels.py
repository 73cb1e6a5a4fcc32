"""The hot stove's compiled kernels: numpy's arithmetic to the bit, wrappers and batches agree."""

import numpy as np
import pytest
from ecocontrol.envs.hot_stove import (
    BLAST,
    TO_GAS,
    HotStoveParams,
    HotStoveVectorEnv,
    StoveState,
    apply_changeovers,
    blowoff,
    cyclic_states,
    hot_stove_observation,
    hot_stove_step,
)
from ecocontrol.envs.hot_stove.physics import pairwise_sum
from ecocontrol.envs.thermo import AIR


@pytest.mark.parametrize("n", [1, 4, 7, 8, 9, 12, 15, 16, 17, 30, 64, 100, 128])
def test_pairwise_sum_is_numpys_sum_to_the_bit(n):
    rng = np.random.default_rng(n)
    for _ in range(50):
        a = rng.normal(size=n) * 10.0 ** rng.uniform(-3, 3, n)
        assert pairwise_sum(a) == a.sum()
        rows = np.stack([a, -a, 2 * a])
        assert [pairwise_sum(r) for r in rows] == rows.sum(axis=-1).tolist()


def _random_batch(p, b, seed):
    rng = np.random.default_rng(seed)
    states = cyclic_states(p, 1.0)
    pick = rng.integers(len(states), size=b)
    s = StoveState(
        *(
            np.concatenate([getattr(states[j], f) for j in pick])
            for f in StoveState.__dataclass_fields__
        )
    )
    s.temp_c += rng.normal(0.0, 20.0, s.temp_c.shape)
    s.time_in_mode_min[:] = rng.uniform(0.0, 80.0, s.mode.shape)
    req = rng.uniform(size=s.mode.shape) < 0.3
    fire = rng.uniform(-10.0, 70.0, s.mode.shape)
    share = rng.uniform(-0.1, 1.1, s.mode.shape)
    exo = {"flow_nm3_min": rng.uniform(0.0, 4000.0, b), "setpoint_c": rng.uniform(1100, 1300, b)}
    return s, req, fire, share, exo


def test_a_batch_steps_each_member_as_it_would_alone():
    p = HotStoveParams()
    s, req, fire, share, exo = _random_batch(p, 16, 1)
    before = s.copy()
    batch, flows = hot_stove_step(s, req, fire, share, exo, p, 1.0)
    for f in StoveState.__dataclass_fields__:  # the input state is not modified
        assert getattr(s, f).tobytes() == getattr(before, f).tobytes()
    for i in range(16):
        one = StoveState(*(np.array(getattr(s, f)[i : i + 1]) for f in s.__dataclass_fields__))
        ex = {k: v[i : i + 1] for k, v in exo.items()}
        alone, f1 = hot_stove_step(
            one, req[i : i + 1], fire[i : i + 1], share[i : i + 1], ex, p, 1.0
        )
        for f in StoveState.__dataclass_fields__:
            assert getattr(alone, f).tobytes() == getattr(batch, f)[i : i + 1].tobytes(), f
        for f, v in vars(f1).items():
            assert v.tobytes() == getattr(flows, f)[i : i + 1].tobytes(), f


def test_the_wrappers_match_the_step():
    p = HotStoveParams()
    s, req, fire, share, exo = _random_batch(p, 16, 2)
    s.mode[:8, :2] = BLAST  # two stoves on blast, both asked to leave it: the first goes
    s.time_in_mode_min[:8, :2] = 45.0
    req[:8, :2] = True
    nxt, flows = hot_stove_step(s, req, fire, share, exo, p, 1.0)
    mode, _, refused = apply_changeovers(s, req, p)
    np.testing.assert_array_equal(refused, flows.refused_requests)
    blown = (mode == TO_GAS) & (s.mode == BLAST)  # accepted: blown off this step
    assert blown.any() and (nxt.mode[blown] == TO_GAS).all()
    nm3, kj = blowoff(s.temp_c, blown, p, float(AIR.enthalpy(p.cold_blast_c)))
    np.testing.assert_array_equal(nm3.sum(axis=-1), flows.blowoff_nm3)
    np.testing.assert_array_equal(kj.sum(axis=-1) / 1e3, flows.blowoff_loss_mj)
    np.testing.assert_array_equal(
        nxt.stored_mj(p), p.cell_capacity_mj_per_k * (nxt.temp_c - p.ambient_c).sum(axis=-1)
    )


def test_the_observation_function_is_the_envs():
    env = HotStoveVectorEnv(3, split="test")
    obs, _ = env.reset(seed=3)
    rng = np.random.default_rng(3)
    for _ in range(25):
        obs, *_ = env.step(rng.uniform(-1.0, 1.0, (3, 12)))
    forecasts = [env._member_info(i)["forecast"] for i in range(3)]
    again = hot_stove_observation(
        env.state,
        {k: np.stack([f[k] for f in forecasts]) for k in ("flow_nm3_min", "setpoint_c")},
        env.last_hot_blast_c,
        env.step_index / env.episode_steps,
        env._obs_leads,
        env.params,
        env.carbon_price_cny_per_t,
    )
    assert again.dtype == np.float32 and again.tobytes() == obs.tobytes()
