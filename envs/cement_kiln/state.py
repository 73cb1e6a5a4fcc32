"""The kiln's state and the flows of one step, over a leading batch axis."""

from __future__ import annotations

from dataclasses import dataclass, fields

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
