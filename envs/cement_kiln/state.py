"""The kiln's state and the flows of one step, over a leading batch axis."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from ..scenario import FloatArray
from .combustion import CalcinerBalance, Cooler, Heats, KilnGas


@dataclass
class KilnState:
    """Physical state over a batch axis ``B``; the pipeline axis ``D`` is the dead time.

    The pipeline holds the material on its way from the kiln inlet to the burning zone,
    oldest first: solids [kg/s], CaCO3 still to calcine [kg/s], its temperature [degC], the
    clinker it will make [kg/s] and its LSF.
    """

    bz_c: FloatArray
    calciner_c: FloatArray
    free_lime_pct: FloatArray
    pipe_solids: FloatArray
    pipe_caco3: FloatArray
    pipe_temp: FloatArray
    pipe_clinker: FloatArray
    pipe_lsf: FloatArray
    lab_pending_pct: FloatArray  # (B, slots)
    lab_pending_left_min: FloatArray  # (B, slots); inf = free slot
    lab_last_pct: FloatArray
    lab_age_min: FloatArray
    last_action: FloatArray  # (B, 4) physical
    feed_on: FloatArray  # 1 = feed on, 0 = cut by the interlock

    def copy(self) -> KilnState:
        """A deep copy."""
        return KilnState(**{f.name: getattr(self, f.name).copy() for f in fields(self)})


@dataclass
class KilnFlows:
    """What happened during one step (each entry shape ``(B,)``)."""

    heats: Heats
    fuel_kg_s: dict[str, FloatArray]
    kiln: KilnGas
    calciner: CalcinerBalance
    bz_in: dict[str, FloatArray]
    bz_out: dict[str, FloatArray]
    kiln_gas_c: FloatArray
    nox_mg_nm3: FloatArray
    clinker_kg_s: FloatArray
    caco3_fed_kg_s: FloatArray
    process_co2_kg_s: FloatArray
    fan_mw: FloatArray
    free_lime_eq_pct: FloatArray
    cooler: Cooler
    preheater_exit_c: FloatArray
    preheater_loss_mw: FloatArray
    feed_on: FloatArray
    lost_clinker_kg_s: FloatArray


# --------------------------------------------------------------------------------------------
# The packed layout the compiled step works on (the simulator's state is views into it)
# --------------------------------------------------------------------------------------------
#: Columns of the per-member scalars ``st`` ``(B, S_LEN)``: burning zone, calciner, free lime,
#: last lab result and its age, feed on, the last action (4), then the instruments' readings
#: (kiln exit gas, kiln-inlet O2, calciner O2, kiln-inlet CO, NOx; 5).
S_BZ, S_TC, S_FL, S_LAB_LAST, S_LAB_AGE, S_FEED_ON, S_ACTION, S_READ = 0, 1, 2, 3, 4, 5, 6, 10
S_LEN = 15
#: The pipeline's fields, packed as ``pipe`` ``(5, B, D)``, and the lab's, as ``lab``
#: ``(2, B, slots)``.
PIPES: tuple[str, ...] = ("pipe_solids", "pipe_caco3", "pipe_temp", "pipe_clinker", "pipe_lsf")
LABS: tuple[str, ...] = ("lab_pending_pct", "lab_pending_left_min")
_SCALARS: tuple[str, ...] = (
    "bz_c",
    "calciner_c",
    "free_lime_pct",
    "lab_last_pct",
    "lab_age_min",
    "feed_on",
)

#: Columns of the flows ``(B, F_LEN)`` of a step. First the measured state ``info`` shows, in
#: the order of :data:`INFO_KEYS`.
INFO_KEYS: tuple[str, ...] = (
    "kiln_gas_c",
    "kiln_o2_pct",
    "calciner_o2_pct",
    "co_ppm",
    "preheater_co_ppm",
    "preheater_exit_c",
    "secondary_air_c",
    "tertiary_air_c",
    "feed_on",
    "nox_mg_nm3",
    "flame_c",
    "calcination",
    "clinker_t",
    "fuel_heat_mw",
    "caco3_fed_t",
    "feed",
)
(
    F_KILN_GAS_C,
    F_KILN_O2,
    F_CALC_O2,
    F_KILN_CO,
    F_CALC_CO,
    F_PH_C,
    F_SEC_C,
    F_TER_C,
    F_FEED_ON,
    F_NOX,
    F_FLAME,
    F_DEGREE,
    F_CLINKER_T,
    F_FUEL_HEAT,
    F_CACO3_T,
    F_FEED,
) = range(16)
F_HEATS = 16  # kiln, calciner main, calciner AF [MW] (3)
F_FUEL_KG = 19  # fuel [kg/s] by slot (3; :func:`~.params.fuel_slots`)
F_KILN_GAS = 22  # kiln exit gas N2, O2, CO2, H2O [Nm3/s] (4)
F_KILN_HEAT, F_KILN_CO_NM3, F_KILN_LOST, F_CALC_T = 26, 27, 28, 29
F_CALC_GAS = 30  # calciner outlet gas (4)
F_CALC_IN = 34  # calciner heat in (4; CALCINER_HEAT_IN)
F_CALC_OUT = 38  # calciner heat out (4; CALCINER_HEAT_OUT)
F_CALC_LOST = 42
F_BZ_IN = 43  # burning zone heat in (4; BZ_HEAT_IN)
F_BZ_OUT = 47  # burning zone heat out (5; BZ_HEAT_OUT)
(
    F_CLINKER,
    F_CACO3_FED,
    F_PROCESS_CO2,
    F_FAN_MW,
    F_FL_EQ,
    F_COOLER_HEAT,
    F_COOLER_RECOVERED,
    F_SEC_MW,
    F_TER_MW,
    F_PH_LOSS,
    F_LOST_CLINKER,
) = range(52, 63)
F_LEN = 63
#: Names of the burning zone's heat flows (:func:`~.physics.burning_zone_terms`).
BZ_HEAT_IN: tuple[str, ...] = ("fuel", "secondary_air", "solids", "clinkering")
BZ_HEAT_OUT: tuple[str, ...] = ("gas", "calcination", "clinkering", "clinker", "shell")

#: Rows of a step's accounts ``(A_LEN, B)``: tCO2 by source, CNY by term (no carbon), and
#: the violations in the order of ``CementKilnVectorEnv.violation_names``.
EMISSION_KEYS: tuple[str, ...] = ("fuel", "process", "grid", "biogenic")
COST_KEYS: tuple[str, ...] = ("fuel", "energy", "penalty")
VIOLATION_KEYS: tuple[str, ...] = (
    "free_lime_out_min",
    "free_lime_out_pct_min",
    "bz_limit_k_min",
    "calciner_limit_k_min",
    "co_excess_ppm_min",
    "nox_excess_mg_min",
    "co_trip_min",
    "feed_cut_min",
    "lost_clinker_t",
)
A_LEN = 16


def pack_state(state: KilnState) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Fresh packed arrays ``(st, pipe, lab)`` holding a copy of ``state`` (readings 0)."""
    b = len(state.bz_c)
    st = np.zeros((b, S_LEN))
    for k, name in enumerate(_SCALARS):
        st[:, k] = getattr(state, name)
    st[:, S_ACTION : S_ACTION + 4] = state.last_action
    pipe = np.ascontiguousarray(np.stack([getattr(state, k) for k in PIPES]), dtype=np.float64)
    lab = np.ascontiguousarray(np.stack([getattr(state, k) for k in LABS]), dtype=np.float64)
    return st, pipe, lab


def state_views(st: FloatArray, pipe: FloatArray, lab: FloatArray) -> KilnState:
    """A :class:`KilnState` whose arrays are views into the packed arrays (writes go through)."""
    scalars = {name: st[:, k] for k, name in enumerate(_SCALARS)}
    return KilnState(
        **scalars,
        **dict(zip(PIPES, pipe, strict=True)),
        **dict(zip(LABS, lab, strict=True)),
        last_action=st[:, S_ACTION : S_ACTION + 4],
    )


def flows_from_matrix(f: FloatArray, slots: tuple[str, ...]) -> KilnFlows:
    """:class:`KilnFlows` of the flows matrix ``f`` ``(B, F_LEN)`` (fuel names by slot)."""
    from .combustion import calciner_from_rows  # combustion imports this module's users

    col = np.ascontiguousarray(f.T)  # (F_LEN, B): each field a contiguous row
    gas = col[F_KILN_GAS : F_KILN_GAS + 4]
    cal_rows = [
        col[F_CALC_T],
        col[F_DEGREE],
        *col[F_CALC_GAS : F_CALC_GAS + 4],
        col[F_CALC_O2],
        *col[F_CALC_IN : F_CALC_IN + 4],
        *col[F_CALC_OUT : F_CALC_OUT + 4],
        col[F_CALC_CO],
        col[F_CALC_LOST],
    ]
    return KilnFlows(
        heats=Heats(*col[F_HEATS : F_HEATS + 3]),
        fuel_kg_s={name: col[F_FUEL_KG + s] for s, name in enumerate(slots)},
        kiln=KilnGas(
            gas=gas,
            o2_pct=col[F_KILN_O2],
            co_ppm=col[F_KILN_CO],
            heat_mw=col[F_KILN_HEAT],
            flame_c=col[F_FLAME],
            co_nm3_s=col[F_KILN_CO_NM3],
            lost_mw=col[F_KILN_LOST],
        ),
        calciner=calciner_from_rows(cal_rows),
        bz_in=dict(zip(BZ_HEAT_IN, col[F_BZ_IN : F_BZ_IN + 4], strict=True)),
        bz_out=dict(zip(BZ_HEAT_OUT, col[F_BZ_OUT : F_BZ_OUT + 5], strict=True)),
        kiln_gas_c=col[F_KILN_GAS_C],
        nox_mg_nm3=col[F_NOX],
        clinker_kg_s=col[F_CLINKER],
        caco3_fed_kg_s=col[F_CACO3_FED],
        process_co2_kg_s=col[F_PROCESS_CO2],
        fan_mw=col[F_FAN_MW],
        free_lime_eq_pct=col[F_FL_EQ],
        cooler=Cooler(
            col[F_COOLER_HEAT],
            col[F_COOLER_RECOVERED],
            col[F_SEC_MW],
            col[F_TER_MW],
            col[F_SEC_C],
            col[F_TER_C],
        ),
        preheater_exit_c=col[F_PH_C],
        preheater_loss_mw=col[F_PH_LOSS],
        feed_on=col[F_FEED_ON],
        lost_clinker_kg_s=col[F_LOST_CLINKER],
    )
