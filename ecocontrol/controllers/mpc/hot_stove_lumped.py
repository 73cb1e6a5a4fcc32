"""The hot-stove MPC's lumped stove model, identified from the plant's own physics.

:func:`identify_lumped_model` runs :func:`~ecocontrol.envs.hot_stove.hot_stove_step` on one
stove to fit the stored-heat balance, the charge ceiling and the linearised outlet
temperature that the MILP in :mod:`ecocontrol.controllers.mpc.hot_stove` uses, so the model
and the plant cannot drift apart when parameters change.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ecocontrol.envs.hot_stove import (
    BLAST,
    GAS,
    TO_GAS,
    HotStoveParams,
    StoveState,
    cyclic_states,
    hot_stove_step,
)

E_REQ_MAX_GJ = 5000.0
"""Upper clip of the per-stove outlet threshold (keeps the outlet constraint's big-M valid)."""


@dataclass(frozen=True)
class LumpedStove:
    """Lumped stove model identified from the plant (energies in GJ, power in MW).

    Attributes:
        eta_lean: share of lean-gas heat stored in the checker.
        eta_rich: share of rich-gas heat stored.
        e_cap_lean: stored heat when fired from blown down to the waste-gas limit on lean gas.
        e_cap_rich: same at the largest enrichment the dome limit allows.
        e_req: stored heat at which the outlet (all blast through the stove) falls to the
            nominal set point, after a lean-gas charge.
        e_req_per_k: extra stored heat needed per K of set point [GJ/K].
        e_req_per_rich_gj: stored heat the outlet needs less per GJ of rich gas fired in the
            last gas period (a hotter dome charges the top of the checker hotter).
        outlet_rmse_k: fit error of the outlet lines [K].
        loss_per_s: shell-loss rate of stored heat [1/s].
    """

    eta_lean: float
    eta_rich: float
    e_cap_lean: float
    e_cap_rich: float
    e_req: float
    e_req_per_k: float
    e_req_per_rich_gj: float
    outlet_rmse_k: float
    loss_per_s: float


def _single_stove_state(p: HotStoveParams, temp: np.ndarray, mode: int) -> StoveState:
    """Stove 0 in ``mode`` with profile ``temp``; the others idle on gas at the same profile."""
    n = p.n_stoves
    t = np.broadcast_to(temp, (1, n, p.n_cells)).copy()
    modes = np.full((1, n), GAS, dtype=np.int64)
    modes[0, 0] = mode
    return StoveState(
        t, modes, np.full((1, n), 1e3), t[..., -1].copy(), t[..., 0].copy(), np.ones(1)
    )


def _blown_down_profile(p: HotStoveParams, dt_min: float) -> np.ndarray:
    """Checker profile of a stove just off blast in the usual practice's cyclic state."""
    for s in cyclic_states(p, dt_min):
        idx = np.flatnonzero((s.mode[0] == TO_GAS) & (s.time_in_mode_min[0] <= dt_min + 1e-9))
        if idx.size:
            return s.temp_c[0, idx[0]].copy()
    return np.linspace(1250.0, 250.0, p.n_cells)


def usable_heat_gj(
    p: HotStoveParams, temp_c: np.ndarray, setpoint_c: float, dt_min: float, max_min: float = 180.0
) -> np.ndarray:
    """Heat [GJ] each checker profile gives a nominal blast before the outlet drops too low.

    Each profile is blown alone through the plant physics (bypass shut) until its outlet
    falls below ``setpoint_c``.

    ``temp_c`` has shape ``(n_profiles, n_cells)``; profiles are simulated as one batch.
    """
    k = temp_c.shape[0]
    t = np.repeat(temp_c[:, None, :], p.n_stoves, axis=1)
    modes = np.full((k, p.n_stoves), GAS, dtype=np.int64)
    modes[:, 0] = BLAST
    state = StoveState(
        t, modes, np.full((k, p.n_stoves), 1e3), t[..., -1].copy(), t[..., 0].copy(), np.ones(k)
    )
    exo = {
        "flow_nm3_min": np.full(k, p.blast_flow_nm3_min),
        "setpoint_c": np.full(k, p.dome_temp_max_c),  # unreachable: the bypass stays shut
    }
    zero = np.zeros((k, p.n_stoves))
    none = np.zeros((k, p.n_stoves), dtype=bool)
    usable = np.zeros(k)
    live = np.ones(k, dtype=bool)
    for _ in range(round(max_min / dt_min)):
        state, f = hot_stove_step(state, none, zero, zero, exo, p, dt_min)
        live &= state.outlet_c[:, 0] >= setpoint_c
        usable += np.where(live, f.delivered_mj[:, 0], 0.0)
        if not live.any():
            break
    return usable / 1e3


@functools.lru_cache(maxsize=8)
def identify_lumped_model(p: HotStoveParams, dt_min: float = 1.0) -> LumpedStove:
    """Fit :class:`LumpedStove` by running the plant physics.

    For the lean gas and for the largest enrichment: fire one stove at full rate from the
    blown-down checker of the usual practice until the waste-gas interlock stops it (storage
    efficiency and ceiling), then blow it alone at nominal flow with the bypass shut and fit
    the outlet against stored heat within 60 K of the set point.
    """
    share_max = p.share_dome_max
    cap_mj = p.checker_mass_t * p.checker_cp_kj_per_kg_k
    start = _blown_down_profile(p, dt_min)
    exo = {
        "flow_nm3_min": np.array([p.blast_flow_nm3_min]),
        "setpoint_c": np.array([p.dome_temp_max_c]),  # unreachable: the bypass stays shut
    }
    none = np.zeros((1, p.n_stoves), dtype=bool)
    fire = np.zeros((1, p.n_stoves))
    fire[0, 0] = p.firing_max_mw
    sp = p.hot_blast_setpoint_c
    etas, caps, reqs, slopes, rich, errs = [], [], [], [], [], []
    n_max = round(24 * 60 / dt_min)
    for share in (0.0, share_max):
        state = _single_stove_state(p, start, GAS)
        released = stored = 0.0
        for _ in range(n_max):
            e0 = state.stored_mj(p)[0, 0]
            state, f = hot_stove_step(state, none, fire, np.full_like(fire, share), exo, p, dt_min)
            if f.firing_mw[0, 0] <= 0.0:
                break
            released += f.released_mj[0, 0]
            stored += state.stored_mj(p)[0, 0] - e0 + f.shell_loss_mj[0, 0]
        etas.append(stored / released)
        caps.append(state.stored_mj(p)[0, 0] / 1e3)
        rich.append(share * released / 1e3)
        state = _single_stove_state(p, state.temp_c[0, 0], BLAST)
        xs, ys = [], []
        for _ in range(n_max):
            state, f = hot_stove_step(state, none, fire * 0, fire * 0, exo, p, dt_min)
            xs.append(state.stored_mj(p)[0, 0] / 1e3)
            ys.append(state.outlet_c[0, 0])
            if ys[-1] < sp - 60.0:
                break
        x, y = np.array(xs), np.array(ys)
        sel = np.abs(y - sp) <= 60.0
        b, a = np.polyfit(x[sel], y[sel], 1)
        errs.append(float(np.sqrt(np.mean((a + b * x[sel] - y[sel]) ** 2))))
        reqs.append((sp - a) / b)
        slopes.append(b)
    eta_lean, eta_mix = etas
    eta_rich = eta_lean + (eta_mix - eta_lean) / share_max if share_max > 0 else eta_lean
    per_rich = (reqs[0] - reqs[1]) / rich[1] if rich[1] > 0 else 0.0
    return LumpedStove(
        eta_lean=float(eta_lean),
        eta_rich=float(eta_rich),
        e_cap_lean=float(caps[0]),
        e_cap_rich=float(caps[1]),
        e_req=float(reqs[0]),
        e_req_per_k=float(1.0 / np.mean(slopes)),
        e_req_per_rich_gj=float(max(per_rich, 0.0)),
        outlet_rmse_k=float(max(errs)),
        loss_per_s=p.shell_loss_kw_per_k / 1e3 / cap_mj,
    )
