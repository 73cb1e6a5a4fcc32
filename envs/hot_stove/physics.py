"""Hot-stove physics: the batched regenerator step, the safety layer and the usual practice.

Compiled once, over the batch
-----------------------------
The step is written once, as numba kernels (:func:`~ecocontrol.envs.jit.kernel`) of scalar
code for one member (:func:`step_member`), looped over the members of a batch; there is no
Python copy. The simulator steps its state in place through them, and the public functions
(:func:`hot_stove_step`, :func:`apply_changeovers`, :func:`blowoff`) are thin wrappers.
Parameters enter as a vector (:func:`physics_constants`) and the gas properties as tables on
thermo's 1 K grid (:func:`physics_tables`). The kernels do the array code's arithmetic in
the same order (sums over cells in numpy's pairwise order, :func:`pairwise_sum`;
``np.interp`` as :func:`~ecocontrol.envs.thermo.interp_table`), so results equal numpy's
up to the last ulp of ``exp``/``pow`` (the C library's against numpy's SIMD ones).

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

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..jit import kernel
from ..scenario import FloatArray, clip
from ..thermo import AIR, T_MAX_C, interp_1k, interp_table
from .params import HotStoveParams

#: Stove modes.
GAS, BLAST, TO_BLAST, TO_GAS = 0, 1, 2, 3
MODE_NAMES: tuple[str, ...] = ("on_gas", "on_blast", "to_blast", "to_gas")

#: :class:`StoveFlows` fields per stove, in the order of the first axis of the flows buffer.
FLOW_STOVE_FIELDS: tuple[str, ...] = (
    "firing_mw",
    "share",
    "dome_c",
    "released_mj",
    "chamber_loss_mj",
    "waste_gas_loss_mj",
    "delivered_mj",
    "shell_loss_mj",
    "stored_change_mj",
    "blast_nm3",
    "blowoff_nm3",
    "blowoff_loss_mj",
)
#: :class:`StoveFlows` fields per batch row, in the order of the first axis of their buffer.
FLOW_ROW_FIELDS: tuple[str, ...] = (
    "hot_blast_c",
    "shortfall_k",
    "stove_fraction",
    "refused_requests",
    "firing_cut_mw",
    "share_cut",
    "waste_gas_excess_k",
)
(
    F_FIRING,
    F_SHARE,
    F_DOME,
    F_RELEASED,
    F_CHAMBER,
    F_WASTE_LOSS,
    F_DELIVERED,
    F_SHELL,
    F_STORED,
    F_BLAST,
    F_BLOWOFF,
    F_BLOWOFF_LOSS,
) = range(len(FLOW_STOVE_FIELDS))
R_HOT_BLAST, R_SHORTFALL, R_FRACTION, R_REFUSED, R_FIRING_CUT, R_SHARE_CUT, R_WASTE_EXCESS = range(
    len(FLOW_ROW_FIELDS)
)

# Rows of the gas-property table (:func:`physics_tables`), each over thermo's 1 K grid.
_AIR_H, _AIR_CP, _FLUE_H_LEAN, _FLUE_H_RICH, _FLUE_CP_LEAN, _FLUE_CP_RICH, _T_GRID = range(7)
# Entries of the constants vector (:func:`physics_constants`).
(
    _FIRE_MAX,
    _WASTE_MAX,
    _SHARE_DOME_MAX,
    _UA_GAS,
    _UA_BLAST,
    _UA_EXP,
    _NOM_FLOW,
    _T_CB,
    _H_CB,
    _SHELL,
    _AMBIENT,
    _BLOWOFF_K,
    _CELL_KJ_PER_K,
    _CHANGEOVER,
    _MIN_GAS,
    _MIN_BLAST,
    _CHAMBER_LOSS,
    _CELL_CAP,
    _MIN_HOT_BLAST,
    _UPSET_AFTER,
) = range(20)


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
        temp = np.ascontiguousarray(self.temp_c, dtype=np.float64)
        out = np.empty(temp.shape[:-1])
        _stored_heat(
            temp.reshape(-1, temp.shape[-1]),
            p.cell_capacity_mj_per_k,
            p.ambient_c,
            out.reshape(-1),
        )
        return out


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

    @classmethod
    def of_buffers(cls, per_stove: FloatArray, per_row: FloatArray) -> StoveFlows:
        """Flows whose fields are views of the kernels' buffers.

        ``per_stove`` has shape ``(len(FLOW_STOVE_FIELDS), batch, stove)``, ``per_row``
        ``(len(FLOW_ROW_FIELDS), batch)``.
        """
        return cls(*per_stove, *per_row)


# ----------------------------------------------------------------------------- tables
@functools.cache
def physics_tables(p: HotStoveParams) -> tuple[FloatArray, FloatArray]:
    """The gas-property tables of the kernels, built once per parameters.

    Returns:
        ``(props, flame)``: ``props`` rows over thermo's 1 K grid: air enthalpy and cp, the
        flue enthalpy of 1 MJ of lean and of rich fuel, their cp, and the grid [degC];
        ``flame`` rows: the enrichment-share grid and the dome temperature on it (the flame
        after the chamber loss, :meth:`~ecocontrol.envs.thermo.FlueGas.flame_temperature`).
    """
    flue = p.flue
    grid_c = np.arange(0.0, T_MAX_C + 1e-9, 1.0)  # thermo's grid
    props = np.ascontiguousarray(
        np.stack([AIR.h_table, AIR.cp_table, *flue.props_table, grid_c]), dtype=np.float64
    )
    share_grid = np.linspace(0.0, 1.0, 1001)  # thermo's share grid
    dome = flue.flame_temperature(share_grid, p.heat_retained)
    flame = np.ascontiguousarray(np.stack([share_grid, dome]), dtype=np.float64)
    props.flags.writeable = flame.flags.writeable = False
    return props, flame


@functools.cache
def physics_constants(p: HotStoveParams) -> FloatArray:
    """The parameters the kernels read, as one vector (built once per parameters).

    Derived constants are computed as the array code computed them (same operations, same
    order), so the kernels round alike.
    """
    c = np.zeros(20)
    c[_FIRE_MAX] = p.firing_max_mw
    c[_WASTE_MAX] = p.waste_gas_max_c
    c[_SHARE_DOME_MAX] = p.share_dome_max
    c[_UA_GAS] = 1e3 * p.ua_gas_mw_per_k / p.n_cells
    c[_UA_BLAST] = 1e3 * p.ua_blast_mw_per_k / p.n_cells
    c[_UA_EXP] = p.ua_flow_exponent
    c[_NOM_FLOW] = p.blast_flow_nm3_min / 60.0
    c[_T_CB] = p.cold_blast_c
    c[_H_CB] = float(AIR.enthalpy(p.cold_blast_c))
    c[_SHELL] = p.shell_loss_kw_per_k / p.n_cells
    c[_AMBIENT] = p.ambient_c
    c[_BLOWOFF_K] = p.blowoff_nm3_per_k
    c[_CELL_KJ_PER_K] = 1e3 * p.cell_capacity_mj_per_k
    c[_CHANGEOVER] = p.changeover_min
    c[_MIN_GAS] = p.min_gas_min
    c[_MIN_BLAST] = p.min_blast_min
    c[_CHAMBER_LOSS] = p.chamber_loss
    c[_CELL_CAP] = p.cell_capacity_mj_per_k
    c[_MIN_HOT_BLAST] = p.min_hot_blast_c
    c[_UPSET_AFTER] = p.upset_after_min
    c.flags.writeable = False
    return c


# ----------------------------------------------------------------------------- scalar kernels
@kernel
def pairwise_sum(a: FloatArray) -> float:
    """``a.sum()`` of a 1-D array as numpy adds it (pairwise, 8 partial sums), to the bit.

    For up to 128 entries (numpy's block; ``n_cells`` is at most 100).
    """
    n = a.shape[0]
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[i]
        return res
    r0, r1, r2, r3 = a[0], a[1], a[2], a[3]
    r4, r5, r6, r7 = a[4], a[5], a[6], a[7]
    i = 8
    end = n - n % 8
    while i < end:
        r0 += a[i]
        r1 += a[i + 1]
        r2 += a[i + 2]
        r3 += a[i + 3]
        r4 += a[i + 4]
        r5 += a[i + 5]
        r6 += a[i + 6]
        r7 += a[i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[i]
        i += 1
    return res


@kernel
def _stored_heat(temp: FloatArray, cap_mj_per_k: float, ambient_c: float, out: FloatArray) -> None:
    """Heat above ambient [MJ] of each checker (rows of ``temp``, cells along the columns)."""
    c = temp.shape[1]
    above = np.empty(c)
    for r in range(temp.shape[0]):
        for k in range(c):
            above[k] = temp[r, k] - ambient_c
        out[r] = cap_mj_per_k * pairwise_sum(above)


@kernel
def checker_heat(temp: FloatArray, c: FloatArray, above: FloatArray) -> float:
    """Heat above ambient [MJ] of one member's checkers ``temp`` ``(stove, cell)``, summed.

    ``above`` is scratch of at least ``cell`` entries. As ``StoveState.stored_mj(p).sum()``.
    """
    nc = temp.shape[1]
    total = 0.0
    for s in range(temp.shape[0]):
        for k in range(nc):
            above[k] = temp[s, k] - c[_AMBIENT]
        total += c[_CELL_CAP] * pairwise_sum(above[:nc])
    return total


@kernel
def _vent(temp_c: float, c: FloatArray, air_h: FloatArray) -> tuple[float, float]:
    """Blast vented from one checker cell at a blow-off [Nm3] and the heat it takes [kJ]."""
    nm3 = c[_BLOWOFF_K] / (temp_c + 273.15)
    return nm3, nm3 * (interp_1k(air_h, temp_c) - c[_H_CB])


@kernel
def _flue(tab: FloatArray, share: float, t: float) -> tuple[float, float]:
    """Flue-gas enthalpy [kJ/MJ] and heat capacity [kJ/(MJ K)] of 1 MJ of the blend at ``t``."""
    h_lean, cp_lean = interp_1k(tab[_FLUE_H_LEAN], t), interp_1k(tab[_FLUE_CP_LEAN], t)
    h = h_lean + share * (interp_1k(tab[_FLUE_H_RICH], t) - h_lean)
    return h, cp_lean + share * (interp_1k(tab[_FLUE_CP_RICH], t) - cp_lean)


@kernel
def _changeovers(
    act: FloatArray, i: int, mode: NDArray[np.int64], tim: FloatArray, c: FloatArray
) -> float:
    """The safety layer on member ``i`` (see :func:`apply_changeovers`), in place.

    ``act[i, s] > 0`` requests a changeover of stove ``s``; ``mode`` and ``tim`` are the
    member's modes and clocks. Returns the refused requests.
    """
    n = mode.shape[0]
    refused = 0.0
    for s in range(n):
        req = act[i, s] > 0.0
        on_gas = mode[s] == GAS
        on_blast = mode[s] == BLAST
        others = -1 if on_blast else 0
        for k in range(n):
            if mode[k] == BLAST:
                others += 1
        go_blast = req and on_gas and tim[s] >= c[_MIN_GAS] - 1e-9
        go_gas = req and on_blast and tim[s] >= c[_MIN_BLAST] - 1e-9 and others >= 1
        if go_blast:
            mode[s] = TO_BLAST
            tim[s] = 0.0
        elif go_gas:
            mode[s] = TO_GAS
            tim[s] = 0.0
        elif req and (on_gas or on_blast):
            refused += 1.0
    return refused


# ----------------------------------------------------------------------------- the step
# Rows of the per-stove scratch (``rows`` of :func:`step_workspace`).
(
    _W_FIRE,
    _W_REQ_FIRE,
    _W_SHARE_REQ,
    _W_SHARE_OK,
    _W_DOME,
    _W_WASTE,
    _W_WASTE_KW,
    _W_BLAST,
    _W_OUTLET,
    _W_TIM,
    _W_SHELL,
    _W_DQ,
    _W_VENT_NM3,
    _W_VENT_KJ,
) = range(14)


@kernel
def _gas_sweep(
    temp: FloatArray,
    flow: float,
    share: float,
    t_in: float,
    ua: float,
    tab: FloatArray,
    q: FloatArray,
) -> float:
    """Flue gas from the dome down through one checker (quasi-steady); returns the waste gas.

    ``temp`` is the checker's cells, ``flow`` the fuel heat [MW] whose flue gas passes
    (the table gives enthalpy and cp per MJ of fuel, so ``flow * enthalpy`` is kW), ``ua``
    a cell's conductance [kW/K]; ``q`` gets the heat into each cell [kW].
    """
    t_gas = t_in
    h_in, cp_in = _flue(tab, share, t_gas)
    for k in range(temp.shape[0]):
        ts = temp[k]
        ntu = ua / max(flow * cp_in, 1e-12)
        t_out = ts + (t_gas - ts) * math.exp(-ntu)
        h_out, cp_out = _flue(tab, share, t_out)
        q[k] = flow * (h_in - h_out)
        t_gas, h_in, cp_in = t_out, h_out, cp_out
    return t_gas


@kernel
def _blast_sweep(
    temp: FloatArray, flow: float, t_in: float, ua: float, tab: FloatArray, q: FloatArray
) -> float:
    """Cold blast from the bottom up through one checker; returns the outlet temperature.

    As :func:`_gas_sweep`, with ``flow`` in Nm3/s of air.
    """
    air_h, air_cp = tab[_AIR_H], tab[_AIR_CP]
    t_gas = t_in
    h_in, cp_in = interp_1k(air_h, t_gas), interp_1k(air_cp, t_gas)
    for k in range(temp.shape[0] - 1, -1, -1):
        ts = temp[k]
        ntu = ua / max(flow * cp_in, 1e-12)
        t_out = ts + (t_gas - ts) * math.exp(-ntu)
        h_out, cp_out = interp_1k(air_h, t_out), interp_1k(air_cp, t_out)
        q[k] = flow * (h_in - h_out)
        t_gas, h_in, cp_in = t_out, h_out, cp_out
    return t_gas


@kernel
def _fire(
    i: int,
    act: FloatArray,
    temp: FloatArray,
    waste: FloatArray,
    mode: NDArray[np.int64],
    c: FloatArray,
    tab: FloatArray,
    flame: FloatArray,
    w: FloatArray,
    q_gas: FloatArray,
) -> tuple[float, float, float]:
    """Firing of member ``i``'s stoves on gas, with the waste-gas and dome interlocks.

    Fills the rows ``_W_FIRE`` .. ``_W_WASTE_KW`` of ``w`` and ``q_gas``; returns the firing
    cut [MW], the enrichment cut and the waste gas above its limit [K] (sums over stoves).
    """
    n = mode.shape[0]
    firing_cut = share_cut = excess = 0.0
    for s in range(n):
        req = min(max(act[i, n + s], 0.0), c[_FIRE_MAX]) if mode[s] == GAS else 0.0
        fire = 0.0 if waste[i, s] >= c[_WASTE_MAX] else req
        share_req = min(max(act[i, 2 * n + s], 0.0), 1.0)
        share = min(share_req, c[_SHARE_DOME_MAX])
        if fire > 0.0:
            dome = interp_table(share, flame[0], flame[1])
            ua = c[_UA_GAS] * (fire / c[_FIRE_MAX]) ** c[_UA_EXP]
            gas_out = _gas_sweep(temp[i, s], fire, share, dome, ua, tab, q_gas[s])
            on = 1.0
        else:
            dome, gas_out, on = temp[i, s, 0], temp[i, s, -1], 0.0
            q_gas[s, :] = 0.0
        w[_W_FIRE, s], w[_W_REQ_FIRE, s], w[_W_DOME, s], w[_W_WASTE, s] = fire, req, dome, gas_out
        w[_W_SHARE_REQ, s], w[_W_SHARE_OK, s] = share_req, share
        w[_W_WASTE_KW, s] = fire * _flue(tab, share, gas_out)[0]
        firing_cut += req - fire
        share_cut += (share_req - share) * on
        excess += max(gas_out - c[_WASTE_MAX], 0.0) * on
    return firing_cut, share_cut, excess


@kernel
def _valve(
    i: int,
    temp: FloatArray,
    mode: NDArray[np.int64],
    flow: float,
    h_sp: float,
    fraction: float,
    c: FloatArray,
    tab: FloatArray,
    w: FloatArray,
    q_blast: FloatArray,
) -> float:
    """Blast through member ``i``'s stoves on blast and the mixing valve's setting.

    The blast ``flow`` [Nm3/s] splits equally among the stoves on blast; the valve sends
    the share ``x`` through them so that the mix meets the set point (enthalpy ``h_sp``),
    found by fixed-point iteration from the last setting (at most 5 sweeps; the member
    keeps the sweep of the iteration it converged at). Fills ``q_blast`` and the rows
    ``_W_BLAST``, ``_W_OUTLET`` of ``w`` (stoves on blast only); returns ``x``.
    """
    n = mode.shape[0]
    n_blast = 0
    for s in range(n):
        if mode[s] == BLAST:
            n_blast += 1
    h_cb = c[_H_CB]
    x = min(max(fraction, 0.05), 1.0)
    split = float(max(n_blast, 1))
    for it in range(5):
        per = x * flow / split
        h_out = 0.0
        for s in range(n):
            if mode[s] != BLAST:
                w[_W_BLAST, s] = 0.0
                q_blast[s, :] = 0.0
                continue
            ua = c[_UA_BLAST] * (per / c[_NOM_FLOW]) ** c[_UA_EXP]
            w[_W_BLAST, s] = per
            w[_W_OUTLET, s] = _blast_sweep(temp[i, s], per, c[_T_CB], ua, tab, q_blast[s])
            h_out += interp_1k(tab[_AIR_H], w[_W_OUTLET, s])
        if it == 4:
            break
        h_out = h_out / split
        x_new = (h_sp - h_cb) / max(h_out - h_cb, 1e-9) if n_blast > 0 and h_out > h_cb else 1.0
        x_new = min(max(x_new, 0.0), 1.0)
        if abs(x_new - x) < 1e-4:
            break
        x = x_new
    return x


@kernel
def _checkers(
    i: int,
    dt_min: float,
    temp: FloatArray,
    old_mode: NDArray[np.int64],
    mode: NDArray[np.int64],
    c: FloatArray,
    tab: FloatArray,
    w: FloatArray,
    q_gas: FloatArray,
    q_blast: FloatArray,
    fs: FloatArray,
) -> None:
    """Member ``i``'s checker cells after the step (in place) and its flows per stove.

    Gas, blast, shell loss and the blow-off of a stove leaving blast; ``w`` and the heat
    flows as :func:`_fire` and :func:`_valve` left them (``_W_OUTLET`` of every stove).
    """
    nc = temp.shape[2]
    dt_s = 60.0 * dt_min
    shell, dq = w[_W_SHELL, :nc], w[_W_DQ, :nc]
    vent_nm3, vent_kj = w[_W_VENT_NM3, :nc], w[_W_VENT_KJ, :nc]
    for s in range(mode.shape[0]):
        blown = mode[s] == TO_GAS and old_mode[s] == BLAST
        for k in range(nc):
            t = temp[i, s, k]
            shell[k] = c[_SHELL] * (t - c[_AMBIENT])
            dq[k] = q_gas[s, k] + q_blast[s, k] - shell[k]
            if blown:
                vent_nm3[k], vent_kj[k] = _vent(t, c, tab[_AIR_H])
                dq[k] -= vent_kj[k] / dt_s
            else:
                vent_nm3[k] = vent_kj[k] = 0.0
            temp[i, s, k] = t + dq[k] * dt_s / c[_CELL_KJ_PER_K]
        fire = w[_W_FIRE, s]
        released = fire * dt_s  # MW * s = MJ
        fs[F_FIRING, i, s] = fire
        fs[F_SHARE, i, s] = w[_W_SHARE_OK, s] if fire > 0.0 else 0.0
        fs[F_DOME, i, s] = w[_W_DOME, s]
        fs[F_RELEASED, i, s] = released
        fs[F_CHAMBER, i, s] = released * c[_CHAMBER_LOSS]
        fs[F_WASTE_LOSS, i, s] = w[_W_WASTE_KW, s] * dt_s / 1e3
        fs[F_DELIVERED, i, s] = (
            w[_W_BLAST, s] * (interp_1k(tab[_AIR_H], w[_W_OUTLET, s]) - c[_H_CB]) * dt_s / 1e3
        )
        fs[F_SHELL, i, s] = pairwise_sum(shell) * dt_s / 1e3
        fs[F_STORED, i, s] = pairwise_sum(dq) * dt_s / 1e3
        fs[F_BLAST, i, s] = w[_W_BLAST, s] * dt_s
        fs[F_BLOWOFF, i, s] = pairwise_sum(vent_nm3)
        fs[F_BLOWOFF_LOSS, i, s] = pairwise_sum(vent_kj) / 1e3


@kernel
def step_member(
    i: int,
    act: FloatArray,
    flow_nm3_min: float,
    setpoint_c: float,
    dt_min: float,
    temp: FloatArray,
    mode: NDArray[np.int64],
    tim: FloatArray,
    waste: FloatArray,
    outlet: FloatArray,
    fraction: FloatArray,
    c: FloatArray,
    tab: FloatArray,
    flame: FloatArray,
    fs: FloatArray,
    fr: FloatArray,
    work: FloatArray,
    rows: FloatArray,
    iwork: NDArray[np.int64],
) -> None:
    """One step of member ``i``, in place: its state is read, then overwritten.

    Args:
        i: the member (batch row).
        act: physical actions ``(batch, 3 * stove)``: switch (> 0 requests a changeover),
            firing [MW], enrichment share.
        flow_nm3_min: the step's blast demand [Nm3/min].
        setpoint_c: the step's hot-blast set point [degC].
        dt_min: step [min].
        temp: checker temperatures ``(batch, stove, cell)``.
        mode: modes ``(batch, stove)``.
        tim: times in mode ``(batch, stove)``.
        waste: waste-gas temperatures ``(batch, stove)``.
        outlet: outlet temperatures ``(batch, stove)``.
        fraction: mixing-valve settings ``(batch,)``.
        c: :func:`physics_constants`.
        tab: gas properties (:func:`physics_tables`).
        flame: share grid and dome temperature (:func:`physics_tables`).
        fs: flows per stove ``(len(FLOW_STOVE_FIELDS), batch, stove)``, written at ``i``.
        fr: flows per row ``(len(FLOW_ROW_FIELDS), batch)``, written at ``i``.
        work: scratch heat flows ``(2, stove, cell)`` (:func:`step_workspace`).
        rows: scratch rows ``(14, max(stove, cell))``.
        iwork: scratch modes ``(2, stove)``.
    """
    n = temp.shape[1]
    q_gas, q_blast = work[0], work[1]  # heat into each cell from the gas, the blast [kW]
    w = rows
    old_mode, new_mode = iwork[0], iwork[1]
    new_tim = w[_W_TIM]
    for s in range(n):
        old_mode[s] = new_mode[s] = mode[i, s]
        new_tim[s] = tim[i, s]
    refused = _changeovers(act, i, new_mode, new_tim, c)
    firing_cut, share_cut, excess = _fire(i, act, temp, waste, new_mode, c, tab, flame, w, q_gas)
    flow = flow_nm3_min / 60.0  # Nm3/s
    h_sp = interp_1k(tab[_AIR_H], setpoint_c)
    x = _valve(i, temp, new_mode, flow, h_sp, fraction[i], c, tab, w, q_blast)
    delivered_kw = 0.0
    for s in range(n):
        if new_mode[s] != BLAST:
            w[_W_OUTLET, s] = temp[i, s, 0]
        delivered_kw += w[_W_BLAST, s] * (interp_1k(tab[_AIR_H], w[_W_OUTLET, s]) - c[_H_CB])
    hot_blast = interp_table(c[_H_CB] + delivered_kw / max(flow, 1e-12), tab[_AIR_H], tab[_T_GRID])
    # While the valve still bypasses blast it holds the set point (to its convergence
    # tolerance); a shortfall exists only with the valve fully open.
    shortfall = 0.0 if x < 1.0 - 1e-9 else max(setpoint_c - hot_blast, 0.0)
    _checkers(i, dt_min, temp, old_mode, new_mode, c, tab, w, q_gas, q_blast, fs)

    for s in range(n):
        # Mode clocks: changeovers complete after changeover_min.
        m = new_mode[s]
        t_mode = new_tim[s] + dt_min
        if m >= TO_BLAST and t_mode >= c[_CHANGEOVER] - 1e-9:
            m = BLAST if m == TO_BLAST else GAS
            t_mode = t_mode - c[_CHANGEOVER]
        mode[i, s], tim[i, s] = m, t_mode
        waste[i, s], outlet[i, s] = w[_W_WASTE, s], w[_W_OUTLET, s]
    fraction[i] = x
    fr[R_HOT_BLAST, i] = hot_blast
    fr[R_SHORTFALL, i] = shortfall
    fr[R_FRACTION, i] = x
    fr[R_REFUSED, i] = refused
    fr[R_FIRING_CUT, i] = firing_cut
    fr[R_SHARE_CUT, i] = share_cut
    fr[R_WASTE_EXCESS, i] = excess


@kernel
def furnace_floor(
    hot_blast_c: float, below_floor_min: float, dt_min: float, c: FloatArray
) -> tuple[float, bool]:
    """Minutes below ``min_hot_blast_c`` after a step, and whether that is a furnace upset.

    The furnace runs ``upset_after_min`` below its hot-blast floor before the hearth chills
    and the operators cut the blast (ending the episode).
    """
    below = below_floor_min + dt_min if hot_blast_c < c[_MIN_HOT_BLAST] else 0.0
    return below, below >= c[_UPSET_AFTER] - 1e-9


@kernel
def step_workspace(n_stoves: int, n_cells: int) -> tuple[FloatArray, FloatArray, NDArray[np.int64]]:
    """Scratch arrays of :func:`step_member` (one set serves every member in turn)."""
    return (
        np.empty((2, n_stoves, n_cells)),
        np.empty((14, max(n_stoves, n_cells))),
        np.empty((2, n_stoves), dtype=np.int64),
    )


@kernel
def _step_batch(
    act: FloatArray,
    flow_nm3_min: FloatArray,
    setpoint_c: FloatArray,
    dt_min: float,
    temp: FloatArray,
    mode: NDArray[np.int64],
    tim: FloatArray,
    waste: FloatArray,
    outlet: FloatArray,
    fraction: FloatArray,
    c: FloatArray,
    tab: FloatArray,
    flame: FloatArray,
    fs: FloatArray,
    fr: FloatArray,
) -> None:
    """:func:`step_member` over every member, in place."""
    work, rows, iwork = step_workspace(temp.shape[1], temp.shape[2])
    for i in range(temp.shape[0]):
        step_member(
            i,
            act,
            flow_nm3_min[i],
            setpoint_c[i],
            dt_min,
            temp,
            mode,
            tim,
            waste,
            outlet,
            fraction,
            c,
            tab,
            flame,
            fs,
            fr,
            work,
            rows,
            iwork,
        )


def apply_changeovers(
    state: StoveState, request: NDArray[np.bool_], p: HotStoveParams
) -> tuple[NDArray[np.int64], FloatArray, FloatArray]:
    """The safety layer: accept or refuse changeover requests.

    A request is accepted for a stove on gas after ``min_gas_min``, and for a stove on blast
    after ``min_blast_min`` if another stove stays on blast (requests are taken in stove
    order, so two stoves cannot leave blast together). Requests for stoves already changing
    over are ignored. Every other request is refused and counted. The step's kernel runs
    the same code (:func:`_changeovers`).

    Returns:
        New modes, new times in mode, refused requests per batch row.
    """
    mode = np.array(state.mode, dtype=np.int64)
    tim = np.array(state.time_in_mode_min, dtype=np.float64)
    act = np.ascontiguousarray(np.broadcast_to(request, mode.shape), dtype=np.float64)
    refused = np.zeros(mode.shape[0])
    _apply_changeovers(act, mode, tim, physics_constants(p), refused)
    return mode, tim, refused


@kernel
def _apply_changeovers(
    act: FloatArray, mode: NDArray[np.int64], tim: FloatArray, c: FloatArray, refused: FloatArray
) -> None:
    for i in range(mode.shape[0]):
        refused[i] = _changeovers(act, i, mode[i], tim[i], c)


@kernel
def _blowoff_cells(
    temp: FloatArray, blown: NDArray[np.bool_], c: FloatArray, air_h: FloatArray, out: FloatArray
) -> None:
    for r in range(temp.shape[0]):
        if blown[r]:
            for k in range(temp.shape[1]):
                out[0, r, k], out[1, r, k] = _vent(temp[r, k], c, air_h)


def blowoff(
    temp_c: FloatArray, blown: NDArray[np.bool_], p: HotStoveParams, h_cold_blast: float
) -> tuple[FloatArray, FloatArray]:
    """Blast vented at a blow-off and the heat it takes, per checker cell.

    The step's kernel vents with the same code (:func:`_vent`).

    Args:
        temp_c: checker temperatures ``(..., stove, cell)`` [degC].
        blown: stoves blown off this step ``(..., stove)``.
        p: parameters.
        h_cold_blast: enthalpy of the cold blast [kJ/Nm3].

    Returns:
        Vented blast [Nm3] and the heat it takes from each cell [kJ] (its enthalpy above the
        cold blast it entered as), ``(..., stove, cell)``; 0 where not blown.
    """
    temp = np.asarray(temp_c, dtype=np.float64)
    flags = np.broadcast_to(np.asarray(blown, dtype=bool), temp.shape[:-1])
    out = np.zeros((2, *temp.shape))
    c = physics_constants(p).copy()
    c[_H_CB] = h_cold_blast
    _blowoff_cells(
        np.ascontiguousarray(temp).reshape(-1, temp.shape[-1]),
        np.ascontiguousarray(flags).reshape(-1),
        c,
        physics_tables(p)[0][_AIR_H],
        out.reshape(2, -1, temp.shape[-1]),
    )
    return out[0], out[1]


def hot_stove_step(
    state: StoveState,
    request: ArrayLike,
    firing_mw: ArrayLike,
    share: ArrayLike,
    exo: Mapping[str, ArrayLike],
    p: HotStoveParams,
    dt_min: float,
) -> tuple[StoveState, StoveFlows]:
    """One step of a batch of stove systems (the compiled :func:`step_member` per member).

    Args:
        state: state at step start (not modified).
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
    new = StoveState(
        np.array(state.temp_c, dtype=np.float64),
        np.array(state.mode, dtype=np.int64),
        np.array(state.time_in_mode_min, dtype=np.float64),
        np.array(state.waste_gas_c, dtype=np.float64),
        np.array(state.outlet_c, dtype=np.float64),
        np.array(state.stove_fraction, dtype=np.float64),
    )
    b, n = new.mode.shape
    act = np.empty((b, 3 * n))
    act[:, :n] = np.asarray(request, dtype=bool)
    act[:, n : 2 * n] = firing_mw
    act[:, 2 * n :] = share
    fs = np.zeros((len(FLOW_STOVE_FIELDS), b, n))
    fr = np.zeros((len(FLOW_ROW_FIELDS), b))
    props, flame = physics_tables(p)
    _step_batch(
        act,
        np.ascontiguousarray(np.broadcast_to(exo["flow_nm3_min"], (b,)), dtype=np.float64),
        np.ascontiguousarray(np.broadcast_to(exo["setpoint_c"], (b,)), dtype=np.float64),
        float(dt_min),
        new.temp_c,
        new.mode,
        new.time_in_mode_min,
        new.waste_gas_c,
        new.outlet_c,
        new.stove_fraction,
        physics_constants(p),
        props,
        flame,
        fs,
        fr,
    )
    return new, StoveFlows.of_buffers(fs, fr)


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
