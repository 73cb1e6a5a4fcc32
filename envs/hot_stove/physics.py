"""Hot-stove physics: the batched regenerator step, the safety layer and the usual practice.

Physics of one stove
--------------------
The checker is a 1-D regenerator of ``n_cells`` axial cells (cell 0 at the dome, the last
at the waste-gas/cold-blast end). The solid is transient (one temperature per cell, explicit
update); the gas is quasi-steady: within a cell it approaches the solid temperature as
``T_out = T_s + (T_in - T_s) exp(-NTU)`` with ``NTU = UA_cell / (V cp)`` (Hausen/Willmott
single-blow cell), and the heat the solid takes is the gas enthalpy drop, so every cell's
energy balance closes exactly. The flow reverses between periods: on gas the flue gas enters
at the dome and leaves at the bottom as waste gas; on blast the cold blast enters at the
bottom and leaves at the dome. Heat-transfer coefficients scale with flow^0.8 (turbulent
convection, Dittus-Boelter). Shell losses leave every cell in proportion to its temperature
above ambient.

Combustion: lean blast-furnace gas enriched with coke-oven gas (or natural gas), with
``share`` = the rich gas's share of the fuel heat, at a fixed air ratio; the dome (flame)
temperature follows from the flue-gas enthalpy (:mod:`ecocontrol.envs.thermo`), after a
combustion-chamber loss. Modes: on gas, on blast, changeover to blast, changeover to gas
(``changeover_min`` each, no flow). A cold-blast mixing valve bypasses part of the blast so
that the hot blast meets its set point while the stoves' outlet is hotter than it.

Changeovers (v1): a stove leaving blast is blown off: the blast compressed in its gas volume
(``free_volume_m3`` at ``blast_pressure_bar_g``) is vented to the stack, taking from each
checker cell the heat that blast took up from the cold-blast temperature (its share of the
volume at the cell's temperature), and the turbo-blower re-supplies that volume when the stove
is re-pressurised before its next blast period (its electricity is charged by
:mod:`.scoring`). The blower covers the fill under flow control, so the furnace's blast does
not dip.

Every array has a leading batch axis: ``(batch, stove[, cell])``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..scenario import FloatArray, clip
from ..thermo import AIR, lookup
from .params import HotStoveParams

#: Stove modes.
GAS, BLAST, TO_BLAST, TO_GAS = 0, 1, 2, 3
MODE_NAMES: tuple[str, ...] = ("on_gas", "on_blast", "to_blast", "to_gas")


@dataclass
class StoveState:
    """State of a batch of stove systems: arrays ``(batch, stove[, cell])``.

    Attributes:
        temp_c: checker temperatures [degC], cell 0 at the dome.
        mode: :data:`GAS`, :data:`BLAST`, :data:`TO_BLAST` or :data:`TO_GAS`.
        time_in_mode_min: minutes since the stove entered its mode.
        waste_gas_c: last waste-gas temperature [degC] (bottom cell when not firing).
        outlet_c: last outlet (dome-end) blast temperature [degC] (top cell when idle).
        stove_fraction: last mixing-valve setting, the blast share through the stoves.
    """

    temp_c: FloatArray
    mode: NDArray[np.int64]
    time_in_mode_min: FloatArray
    waste_gas_c: FloatArray
    outlet_c: FloatArray
    stove_fraction: FloatArray

    def copy(self) -> StoveState:
        """A deep copy."""
        return StoveState(*(np.array(getattr(self, f)) for f in self.__dataclass_fields__))

    def stored_mj(self, p: HotStoveParams) -> FloatArray:
        """Heat in each stove's checker above ambient [MJ], shape ``(batch, stove)``."""
        return p.cell_capacity_mj_per_k * (self.temp_c - p.ambient_c).sum(axis=-1)


@dataclass
class StoveFlows:
    """What happened in one step; per stove ``(batch, stove)`` unless noted. Energies in MJ."""

    firing_mw: FloatArray
    share: FloatArray
    dome_c: FloatArray
    released_mj: FloatArray
    chamber_loss_mj: FloatArray
    waste_gas_loss_mj: FloatArray
    delivered_mj: FloatArray
    shell_loss_mj: FloatArray
    stored_change_mj: FloatArray
    blast_nm3: FloatArray
    blowoff_nm3: FloatArray
    blowoff_loss_mj: FloatArray
    hot_blast_c: FloatArray  # (batch,)
    shortfall_k: FloatArray  # (batch,)
    stove_fraction: FloatArray  # (batch,) blast share through the stoves (rest bypassed)
    refused_requests: FloatArray  # (batch,)
    firing_cut_mw: FloatArray  # (batch,) firing the waste-gas interlock removed
    share_cut: FloatArray  # (batch,) enrichment share the dome limit removed (sum)
    waste_gas_excess_k: FloatArray  # (batch,) K above the waste-gas limit (sum over stoves)


def apply_changeovers(
    state: StoveState, request: NDArray[np.bool_], p: HotStoveParams
) -> tuple[NDArray[np.int64], FloatArray, FloatArray]:
    """The safety layer: accept or refuse changeover requests.

    A request is accepted for a stove on gas after ``min_gas_min``, and for a stove on blast
    after ``min_blast_min`` if another stove stays on blast (requests are taken in stove
    order, so two stoves cannot leave blast together). Requests for stoves already changing
    over are ignored. Every other request is refused and counted.

    Returns:
        New modes, new times in mode, refused requests per batch row.
    """
    mode = state.mode.copy()
    tim = state.time_in_mode_min.copy()
    refused = np.zeros(mode.shape[0])
    eps = 1e-9
    for s in range(mode.shape[1]):
        req = request[:, s]
        on_gas = mode[:, s] == GAS
        on_blast = mode[:, s] == BLAST
        others = (mode == BLAST).sum(axis=1) - on_blast >= 1
        go_blast = req & on_gas & (tim[:, s] >= p.min_gas_min - eps)
        go_gas = req & on_blast & (tim[:, s] >= p.min_blast_min - eps) & others
        refused += (req & (on_gas | on_blast) & ~go_blast & ~go_gas).astype(np.float64)
        mode[:, s] = np.where(go_blast, TO_BLAST, np.where(go_gas, TO_GAS, mode[:, s]))
        tim[:, s] = np.where(go_blast | go_gas, 0.0, tim[:, s])
    return mode, tim, refused


def _sweep(
    temp: FloatArray,
    t_in: FloatArray,
    flow: FloatArray,
    ua_cell_kw_per_k: FloatArray,
    props: Callable[[FloatArray], tuple[FloatArray, FloatArray]],
    reverse: bool,
) -> tuple[FloatArray, FloatArray]:
    """Gas through the cells (quasi-steady): heat into each cell [kW] and the exit temperature.

    ``props(T)`` returns (enthalpy, cp) per unit of ``flow`` (Nm3 of air, or MJ of fuel), so
    that ``flow * enthalpy`` is kW. Where ``flow`` is 0 the gas passes unchanged and no heat
    moves.
    """
    q = np.empty_like(temp)
    t_gas = t_in
    h_in, cp_in = props(t_gas)
    cells = range(temp.shape[-1] - 1, -1, -1) if reverse else range(temp.shape[-1])
    for k in cells:
        ts = temp[..., k]
        ntu = ua_cell_kw_per_k / np.maximum(flow * cp_in, 1e-12)
        t_out = ts + (t_gas - ts) * np.exp(-ntu)
        h_out, cp_out = props(t_out)
        q[..., k] = flow * (h_in - h_out)
        t_gas, h_in, cp_in = t_out, h_out, cp_out
    return q, t_gas


def blowoff(
    temp_c: FloatArray, blown: NDArray[np.bool_], p: HotStoveParams, h_cold_blast: float
) -> tuple[FloatArray, FloatArray]:
    """Blast vented at a blow-off and the heat it takes, per checker cell.

    Args:
        temp_c: checker temperatures ``(..., stove, cell)`` [degC].
        blown: stoves blown off this step ``(..., stove)``.
        p: parameters.
        h_cold_blast: enthalpy of the cold blast [kJ/Nm3].

    Returns:
        Vented blast [Nm3] and the heat it takes from each cell [kJ] (its enthalpy above the
        cold blast it entered as), ``(..., stove, cell)``; 0 where not blown.
    """
    if not blown.any():  # most steps
        zero = np.zeros_like(temp_c)
        return zero, zero
    nm3 = np.where(blown[..., None], p.blowoff_nm3_per_k / (temp_c + 273.15), 0.0)
    return nm3, nm3 * (AIR.enthalpy(temp_c) - h_cold_blast)


def _air_props(t: FloatArray) -> tuple[FloatArray, FloatArray]:
    v = lookup(_AIR_TABLE, t)
    return v[0], v[1]


_AIR_TABLE = np.stack([AIR.h_table, AIR.cp_table])


def hot_stove_step(
    state: StoveState,
    request: NDArray[np.bool_],
    firing_mw: FloatArray,
    share: FloatArray,
    exo: Mapping[str, FloatArray],
    p: HotStoveParams,
    dt_min: float,
) -> tuple[StoveState, StoveFlows]:
    """One step of a batch of stove systems.

    Args:
        state: state at step start.
        request: changeover requests ``(batch, stove)``.
        firing_mw: requested fuel heat input [MW] per stove (used by stoves on gas).
        share: requested enrichment share of the fuel heat [-] per stove.
        exo: ``flow_nm3_min`` and ``setpoint_c`` of the step, shape ``(batch,)``.
        p: parameters.
        dt_min: step [min].

    Returns:
        The state after the step and the step's flows. Per stove,
        ``released = stored_change + delivered + waste_gas_loss + chamber_loss + shell_loss
        + blowoff_loss`` holds to rounding.
    """
    dt_s = 60.0 * dt_min
    mode, tim, refused = apply_changeovers(state, request, p)
    temp = state.temp_c

    # Firing: stoves on gas only; interlocks on the waste gas and the dome.
    on_gas = mode == GAS
    req_fire = clip(firing_mw, 0.0, p.firing_max_mw) * on_gas
    interlock = state.waste_gas_c >= p.waste_gas_max_c
    fire = np.where(interlock, 0.0, req_fire)
    share_req = clip(share, 0.0, 1.0)
    share_ok = np.minimum(share_req, p.share_dome_max)
    flue = p.flue
    dome = flue.flame_temperature(share_ok, p.heat_retained)
    ua_gas = (
        1e3 * p.ua_gas_mw_per_k / p.n_cells * np.power(fire / p.firing_max_mw, p.ua_flow_exponent)
    )
    table = flue.props_table

    def flue_props(t: FloatArray) -> tuple[FloatArray, FloatArray]:
        v = lookup(table, t)
        return v[0] + share_ok * (v[1] - v[0]), v[2] + share_ok * (v[3] - v[2])

    q_gas, waste = _sweep(temp, dome, fire, ua_gas, flue_props, reverse=False)
    waste = np.where(fire > 0.0, waste, temp[..., -1])
    waste_loss_kw = fire * flue.enthalpy_per_mj(share_ok, waste)

    # Blast: equal split among the stoves on blast; the mixing valve sets the stove share.
    on_blast = mode == BLAST
    n_blast = on_blast.sum(axis=1)
    flow = np.asarray(exo["flow_nm3_min"], dtype=np.float64) / 60.0  # Nm3/s
    setpoint = np.asarray(exo["setpoint_c"], dtype=np.float64)
    nom = p.blast_flow_nm3_min / 60.0
    h_cb = float(AIR.enthalpy(p.cold_blast_c))
    h_sp = AIR.enthalpy(setpoint)
    t_cb = np.full(temp.shape[:2], p.cold_blast_c)
    x = clip(state.stove_fraction, 0.05, 1.0)
    # Fixed-point iteration of the valve, per batch row: a row keeps the sweep of the
    # iteration at which it converged, so every row evolves as it would alone.
    done = np.zeros(len(x), dtype=bool)
    per_stove = q_blast = outlet = np.empty(0)
    for it in range(5):
        per_i = np.where(on_blast, (x * flow / np.maximum(n_blast, 1))[:, None], 0.0)
        ua_blast = (1e3 * p.ua_blast_mw_per_k / p.n_cells) * np.power(
            per_i / nom, p.ua_flow_exponent
        )
        q_i, out_i = _sweep(temp, t_cb, per_i, ua_blast, _air_props, True)
        if it == 0:
            per_stove, q_blast, outlet = per_i, q_i, out_i
        else:
            per_stove = np.where(done[:, None], per_stove, per_i)
            q_blast = np.where(done[:, None, None], q_blast, q_i)
            outlet = np.where(done[:, None], outlet, out_i)
        if it == 4:
            break
        h_out = np.where(on_blast, AIR.enthalpy(out_i), 0.0).sum(axis=1) / np.maximum(n_blast, 1)
        x_new = np.where(
            (n_blast > 0) & (h_out > h_cb), (h_sp - h_cb) / np.maximum(h_out - h_cb, 1e-9), 1.0
        )
        x_new = clip(x_new, 0.0, 1.0)
        done |= np.abs(x_new - x) < 1e-4
        if done.all():
            break
        x = np.where(done, x, x_new)
    outlet = np.where(on_blast, outlet, temp[..., 0])
    delivered_kw = per_stove * (AIR.enthalpy(outlet) - h_cb)
    h_mix = h_cb + delivered_kw.sum(axis=1) / np.maximum(flow, 1e-12)
    hot_blast = AIR.temperature(h_mix)
    # While the valve still bypasses blast it holds the set point (to its convergence
    # tolerance); a shortfall exists only with the valve fully open.
    shortfall = np.where(x < 1.0 - 1e-9, 0.0, np.maximum(setpoint - hot_blast, 0.0))

    shell_kw = (p.shell_loss_kw_per_k / p.n_cells) * (temp - p.ambient_c)
    dq_kw = q_gas + q_blast - shell_kw  # into each cell (q_blast < 0)
    blowoff_nm3, blowoff_kj = blowoff(temp, (mode == TO_GAS) & (state.mode == BLAST), p, h_cb)
    dq_kw -= blowoff_kj / dt_s
    temp_next = temp + dq_kw * dt_s / (1e3 * p.cell_capacity_mj_per_k)

    # Mode clocks: changeovers complete after changeover_min.
    tim = tim + dt_min
    done = (mode >= TO_BLAST) & (tim >= p.changeover_min - 1e-9)
    mode = np.where(done & (mode == TO_BLAST), BLAST, np.where(done, GAS, mode))
    tim = np.where(done, tim - p.changeover_min, tim)

    released = fire * dt_s  # MW * s = MJ
    flows = StoveFlows(
        firing_mw=fire,
        share=np.where(fire > 0, share_ok, 0.0),
        dome_c=np.where(fire > 0, dome, temp[..., 0]),
        released_mj=released,
        chamber_loss_mj=released * p.chamber_loss,
        waste_gas_loss_mj=waste_loss_kw * dt_s / 1e3,
        delivered_mj=delivered_kw * dt_s / 1e3,
        shell_loss_mj=shell_kw.sum(axis=-1) * dt_s / 1e3,
        stored_change_mj=dq_kw.sum(axis=-1) * dt_s / 1e3,
        blast_nm3=per_stove * dt_s,
        blowoff_nm3=blowoff_nm3.sum(axis=-1),
        blowoff_loss_mj=blowoff_kj.sum(axis=-1) / 1e3,
        hot_blast_c=hot_blast,
        shortfall_k=shortfall,
        stove_fraction=x,
        refused_requests=refused,
        firing_cut_mw=(req_fire - fire).sum(axis=1),
        share_cut=((share_req - share_ok) * (fire > 0)).sum(axis=1),
        waste_gas_excess_k=(np.maximum(waste - p.waste_gas_max_c, 0.0) * (fire > 0)).sum(axis=1),
    )
    new_state = StoveState(
        temp_c=temp_next,
        mode=mode,
        time_in_mode_min=tim,
        waste_gas_c=waste,
        outlet_c=outlet,
        stove_fraction=x,
    )
    return new_state, flows


# ----------------------------------------------------------------------------- practice
def staggered_cycle_command(
    mode: NDArray[np.int64],
    time_in_mode_min: FloatArray,
    waste_gas_c: FloatArray,
    p: HotStoveParams,
    *,
    blast_period_min: float = 60.0,
    dome_target_c: float = 1380.0,
    waste_gas_margin_k: float = 5.0,
    waste_gas_band_k: float = 25.0,
) -> tuple[NDArray[np.bool_], FloatArray, FloatArray]:
    """The usual practice: a fixed staggered cycle, full firing, fixed enrichment.

    * Cycle: one stove on blast for ``blast_period_min``; ``changeover_min`` before its
      period ends, the stove that has been on gas longest changes over to blast; once it is
      on blast, the stove that has been on blast longest changes over to gas.
    * Firing: every stove on gas fires at ``firing_max_mw`` with the fixed enrichment share
      that gives ``dome_target_c``; as the waste gas nears its limit the firing is throttled
      linearly over ``waste_gas_band_k`` (ending ``waste_gas_margin_k`` below the limit), which
      holds the stove ("fire at maximum, then hold").

    It reads only measured quantities, ``(batch, stove)`` arrays: each stove's mode, time in
    mode [min] and last waste-gas temperature [degC] (the ``StoveState`` fields of those
    names, or ``info["state"]``). This is the rule controller's logic; the scenario also uses
    it to warm stoves up to a cyclic state for the episodes' initial conditions. Returns
    (requests, firing [MW], share), batched.
    """
    tim = time_in_mode_min
    b, n = mode.shape
    rows = np.arange(b)
    request = np.zeros((b, n), dtype=bool)
    on_blast = mode == BLAST
    on_gas = mode == GAS
    n_blast = on_blast.sum(axis=1)
    incoming = (mode == TO_BLAST).any(axis=1)
    blast_time = np.where(on_blast, tim, -np.inf)
    lead = np.argmax(blast_time, axis=1)
    lead_time = blast_time[rows, lead]
    gas_time = np.where(on_gas, tim, -np.inf)
    nxt = np.argmax(gas_time, axis=1)
    start_next = (
        (n_blast == 1)
        & ~incoming
        & (lead_time >= blast_period_min - p.changeover_min - 1e-9)
        & on_gas[rows, nxt]
    )
    request[rows[start_next], nxt[start_next]] = True
    release = n_blast >= 2
    request[rows[release], lead[release]] = True
    throttle = clip(
        (p.waste_gas_max_c - waste_gas_margin_k - waste_gas_c) / waste_gas_band_k, 0.0, 1.0
    )
    firing = np.where(on_gas, p.firing_max_mw * throttle, 0.0)
    share = np.full((b, n), p.share_for_dome(dome_target_c))
    return request, firing, share
