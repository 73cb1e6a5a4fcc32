"""Ideal-gas thermochemistry shared by the combustion plants (hot stoves, kiln).

* Sensible enthalpy of N2, O2, CO2 and H2O from the NIST Chemistry WebBook Shomate equations
  (NIST Standard Reference Database 69; Chase, NIST-JANAF Thermochemical Tables, 1998),
  tabulated once on a 1 K grid from 273.15 K to 2,800 K, relative to 25 degC.
* Fuel gases as compositions in vol % with the lower heating values of their components
  (molar LHV at 25 degC: CO 283.0, H2 241.8, CH4 802.3, C2H4 1,323.2, C2H6 1,428.6 kJ/mol;
  NIST WebBook heats of combustion less the latent heat of the water formed).
* :class:`FlueGas`: the products of burning a fuel at an air ratio, per MJ of fuel heat, and
  the adiabatic flame temperature.

Gas volumes are normal cubic metres (0 degC, 101.325 kPa; 22.414 Nm3/kmol), the convention of
the steel and cement industries. Temperatures in and out of this module are in degC.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ecocontrol.emissions import Fuel, get_fuel, require_finite_range

from .jit import kernel
from .scenario import clip

FloatArray = NDArray[np.float64]

NM3_PER_KMOL = 22.414
T_REF_K = 298.15
KELVIN = 273.15

#: Flue/blast gas species tracked, in this order.
SPECIES: tuple[str, ...] = ("N2", "O2", "CO2", "H2O")

# NIST WebBook Shomate coefficients (A, B, C, D, E) by temperature range [K]; Cp in J/(mol K),
# t = T/1000: Cp = A + B t + C t^2 + D t^3 + E / t^2.
_SHOMATE: dict[str, tuple[tuple[float, tuple[float, float, float, float, float]], ...]] = {
    "N2": (
        (500.0, (28.98641, 1.853978, -9.647459, 16.63537, 0.000117)),
        (2000.0, (19.50583, 19.88705, -8.598535, 1.369784, 0.527601)),
        (6000.0, (35.51872, 1.128728, -0.196103, 0.014662, -4.553760)),
    ),
    "O2": (
        (700.0, (31.32234, -20.23531, 57.86644, -36.50624, -0.007374)),
        (2000.0, (30.03235, 8.772972, -3.988133, 0.788313, -0.741599)),
        (6000.0, (20.91111, 10.72071, -2.020498, 0.146449, 9.245722)),
    ),
    "CO2": (
        (1200.0, (24.99735, 55.18696, -33.69137, 7.948387, -0.136638)),
        (6000.0, (58.16639, 2.720074, -0.492289, 0.038844, -6.447293)),
    ),
    "H2O": (
        (1700.0, (30.09200, 6.832514, 6.793435, -2.534480, 0.082139)),
        (6000.0, (41.96426, 8.622053, -1.499780, 0.098119, -11.15764)),
    ),
}

#: Temperature grid [degC]: 1 K steps from 0 degC, so lookups need no search.
_T_GRID_C = np.arange(0.0, 2800.0 + 1e-9, 1.0)
_T_GRID_K = _T_GRID_C + KELVIN
T_MAX_C = float(_T_GRID_C[-1])


def _cp_molar(species: str, t_k: FloatArray) -> FloatArray:
    """Shomate heat capacity [kJ/(kmol K)] at ``t_k``."""
    out = np.empty_like(t_k)
    lo = -np.inf
    for hi, (a, b, c, d, e) in _SHOMATE[species]:
        sel = (t_k >= lo) & (t_k < hi) if hi < 6000.0 else t_k >= lo
        t = t_k[sel] / 1000.0
        out[sel] = a + b * t + c * t**2 + d * t**3 + e / t**2
        lo = hi
    return out


@functools.cache
def _tables() -> tuple[FloatArray, FloatArray]:
    """(cp [kJ/(Nm3 K)], sensible enthalpy above 25 degC [kJ/Nm3]) per species on the grid."""
    cp = np.stack([_cp_molar(s, _T_GRID_K) for s in SPECIES]) / NM3_PER_KMOL
    h = np.concatenate(
        [np.zeros((len(SPECIES), 1)), np.cumsum(0.5 * (cp[:, 1:] + cp[:, :-1]), axis=1)], axis=1
    )
    h -= np.array([np.interp(T_REF_K, _T_GRID_K, row) for row in h])[:, None]
    return cp, h


def lookup(table: FloatArray, temp_c: ArrayLike) -> FloatArray:
    """Linear interpolation of ``table`` (rows over the 1 K grid) at ``temp_c``.

    Returns shape ``(*table.shape[:-1], *temp.shape)``; temperatures are clipped to the grid.
    """
    t = clip(np.asarray(temp_c, dtype=np.float64), 0.0, T_MAX_C - 1e-9)
    i = t.astype(np.intp)
    lo = table.take(i, axis=-1)
    out = table.take(i + 1, axis=-1)  # lo + (hi - lo) * (t - i), in place
    out -= lo
    out *= t - i
    out += lo
    return out


@kernel
def interp_1k(row: FloatArray, temp_c: float) -> float:
    """Compiled scalar :func:`lookup`: ``row`` (one table row over the 1 K grid) at ``temp_c``.

    The same arithmetic as :func:`lookup` (clip to the grid, then ``lo + (hi - lo) * frac``),
    for use inside the plants' kernels.
    """
    t = min(max(temp_c, 0.0), T_MAX_C - 1e-9)
    i = int(t)
    lo = row[i]
    return lo + (row[i + 1] - lo) * (t - i)


@kernel
def interp_table(x: float, xp: FloatArray, fp: FloatArray) -> float:
    """Compiled scalar ``np.interp(x, xp, fp)`` (``xp`` increasing), bit for bit.

    numpy's arithmetic (``compiled_base.c``: ``slope * (x - xp[j]) + fp[j]`` with the slope
    of the bracketing interval; ``fp[j]`` where ``x`` hits a knot; ``fp[0]``/``fp[-1]``
    outside), with a bisection for the interval. Inverts a table such as
    :meth:`GasMixture.temperature` inside the plants' kernels.
    """
    n = len(xp)
    if x != x:
        return x
    if x < xp[0]:
        return fp[0]
    if x >= xp[n - 1]:
        return fp[n - 1]
    lo, hi = 0, n - 1  # xp[lo] <= x < xp[hi]
    while hi - lo > 1:
        mid = (lo + hi) >> 1
        if xp[mid] <= x:
            lo = mid
        else:
            hi = mid
    if xp[lo] == x:
        return fp[lo]
    slope = (fp[lo + 1] - fp[lo]) / (xp[lo + 1] - xp[lo])
    out = slope * (x - xp[lo]) + fp[lo]
    if out != out:
        out = slope * (x - xp[lo + 1]) + fp[lo + 1]
        if out != out and fp[lo] == fp[lo + 1]:
            out = fp[lo]
    return out


@kernel
def gas_enthalpy_1k(
    h_table: FloatArray, n2: float, o2: float, co2: float, h2o: float, temp_c: float
) -> float:
    """Compiled scalar :func:`gas_enthalpy_kw`: enthalpy flow above 25 degC [kW] of a gas.

    ``h_table`` holds the species' rows over the 1 K grid (the rows of
    :func:`kernel_tables` ``[0:4]``, or its cp rows ``[4:8]`` for the heat capacity
    [kW/K]); the flows are per species [Nm3/s]. The arithmetic of :func:`lookup`, species
    added in :data:`SPECIES` order (so every batch row rounds alike).
    """
    t = min(max(temp_c, 0.0), T_MAX_C - 1e-9)
    i = int(t)
    frac = t - i
    lo = h_table[0, i]
    out = n2 * (lo + (h_table[0, i + 1] - lo) * frac)
    lo = h_table[1, i]
    out = out + o2 * (lo + (h_table[1, i + 1] - lo) * frac)
    lo = h_table[2, i]
    out = out + co2 * (lo + (h_table[2, i + 1] - lo) * frac)
    lo = h_table[3, i]
    return out + h2o * (lo + (h_table[3, i + 1] - lo) * frac)


@kernel
def gas_temperature_1k(
    tables: FloatArray,
    n2: float,
    o2: float,
    co2: float,
    h2o: float,
    enthalpy_kw: float,
    guess_c: float,
) -> float:
    """Compiled scalar :func:`gas_temperature`: the same six Newton steps.

    ``tables``: :func:`kernel_tables`.
    """
    h_rows = tables[0:4]
    cp_rows = tables[4:8]
    t = guess_c
    for _ in range(6):
        cp = gas_enthalpy_1k(cp_rows, n2, o2, co2, h2o, t)
        t = min(
            max(t - (gas_enthalpy_1k(h_rows, n2, o2, co2, h2o, t) - enthalpy_kw) / cp, 0.0), T_MAX_C
        )
    return t


@kernel
def _gas_enthalpy_many(
    tables: FloatArray, flows: FloatArray, temp_c: FloatArray, out: FloatArray
) -> None:
    h_rows = tables[0:4]
    for j in range(len(out)):
        out[j] = gas_enthalpy_1k(
            h_rows, flows[0, j], flows[1, j], flows[2, j], flows[3, j], temp_c[j]
        )


@kernel
def _gas_temperature_many(
    tables: FloatArray, flows: FloatArray, h: FloatArray, guess: FloatArray, out: FloatArray
) -> None:
    for j in range(len(out)):
        out[j] = gas_temperature_1k(
            tables, flows[0, j], flows[1, j], flows[2, j], flows[3, j], h[j], guess[j]
        )


@functools.cache
def kernel_tables() -> FloatArray:
    """The tables the compiled kernels read, one C-contiguous array ``(10, grid)``.

    Rows 0-3: sensible enthalpy above 25 degC of N2, O2, CO2, H2O [kJ/Nm3]; rows 4-7: their
    heat capacities [kJ/(Nm3 K)]; row 8: :data:`AIR`'s enthalpy [kJ/Nm3]; row 9: the
    temperature grid [degC]. Read-only.
    """
    cp, h = _tables()
    out = np.ascontiguousarray(np.concatenate([h, cp, AIR.h_table[None, :], _T_GRID_C[None, :]]))
    out.flags.writeable = False
    return out


def broadcast_flat(*arrays: ArrayLike) -> tuple[tuple[int, ...], list[FloatArray]]:
    """Broadcast shape and the arrays broadcast, as writeable C-contiguous 1-D float64.

    The form the compiled kernels' batch loops take (one compiled specialisation each).
    """
    arrs = [np.asarray(a, dtype=np.float64) for a in arrays]
    shape = np.broadcast_shapes(*(a.shape for a in arrs))
    flat = [
        np.ascontiguousarray(a).reshape(-1)
        if a.shape == shape and a.flags.writeable
        else np.broadcast_to(a, shape).flatten()
        for a in arrs
    ]
    return shape, flat


def species_enthalpy(temp_c: ArrayLike) -> FloatArray:
    """Sensible enthalpy above 25 degC [kJ/Nm3] of each species, shape ``(4, *temp.shape)``."""
    return lookup(_tables()[1], temp_c)


def species_cp(temp_c: ArrayLike) -> FloatArray:
    """Heat capacity [kJ/(Nm3 K)] of each species, shape ``(4, *temp.shape)``."""
    return lookup(_tables()[0], temp_c)


def gas_enthalpy_kw(flows_nm3_s: FloatArray, temp_c: ArrayLike) -> FloatArray:
    """Sensible enthalpy flow above 25 degC [kW] of a gas given per species [Nm3/s].

    ``flows_nm3_s`` has shape ``(4, *batch)`` in :data:`SPECIES` order. Computed by the
    compiled :func:`gas_enthalpy_1k`.
    """
    flows = np.asarray(flows_nm3_s, dtype=np.float64)
    shape, (t, *rows) = broadcast_flat(temp_c, *flows)
    out = np.empty(len(t))
    _gas_enthalpy_many(kernel_tables(), np.stack(rows), t, out)
    return out.reshape(shape)


def gas_temperature(
    flows_nm3_s: FloatArray, enthalpy_kw: ArrayLike, guess_c: ArrayLike = 1000.0
) -> FloatArray:
    """Temperature [degC] of a gas (per species [Nm3/s]) carrying ``enthalpy_kw`` (Newton).

    Six Newton steps from ``guess_c`` on the tables, clipped to the grid (the compiled
    :func:`gas_temperature_1k`).
    """
    flows = np.asarray(flows_nm3_s, dtype=np.float64)
    shape, (h, g, *rows) = broadcast_flat(enthalpy_kw, guess_c, *flows)
    out = np.empty(len(h))
    _gas_temperature_many(kernel_tables(), np.stack(rows), h, g, out)
    return out.reshape(shape)


@dataclass(frozen=True)
class GasMixture:
    """A gas as volume fractions of :data:`SPECIES` with tabulated enthalpy and cp.

    ``enthalpy``/``cp`` are per Nm3 of the mixture. Used for air (blast) and flue gases.
    """

    fractions: tuple[float, float, float, float]

    @functools.cached_property
    def h_table(self) -> FloatArray:
        """Sensible enthalpy above 25 degC on the grid [kJ/Nm3]."""
        return np.asarray(self.fractions) @ _tables()[1]

    @functools.cached_property
    def cp_table(self) -> FloatArray:
        """Heat capacity on the grid [kJ/(Nm3 K)]."""
        return np.asarray(self.fractions) @ _tables()[0]

    def enthalpy(self, temp_c: ArrayLike) -> FloatArray:
        """Sensible enthalpy above 25 degC [kJ/Nm3]."""
        return lookup(self.h_table, temp_c)

    def cp(self, temp_c: ArrayLike) -> FloatArray:
        """Heat capacity [kJ/(Nm3 K)]."""
        return lookup(self.cp_table, temp_c)

    def temperature(self, enthalpy_kj_per_nm3: ArrayLike) -> FloatArray:
        """Temperature [degC] at a sensible enthalpy (inverse of :meth:`enthalpy`)."""
        h = np.asarray(enthalpy_kj_per_nm3, dtype=np.float64)
        return np.interp(h, self.h_table, _T_GRID_C)


#: Dry air, argon counted as N2.
AIR = GasMixture((0.79, 0.21, 0.0, 0.0))

# Molar LHV at 25 degC [kJ/mol], O2 demand and products (CO2, H2O) per mol of component.
_COMPONENTS: dict[str, tuple[float, float, float, float]] = {
    #        LHV     O2    CO2  H2O
    "CO": (283.0, 0.5, 1.0, 0.0),
    "H2": (241.8, 0.5, 0.0, 1.0),
    "CH4": (802.3, 2.0, 1.0, 2.0),
    "C2H4": (1323.2, 3.0, 2.0, 2.0),
    "C2H6": (1428.6, 3.5, 2.0, 3.0),
    "CO2": (0.0, 0.0, 1.0, 0.0),
    "N2": (0.0, 0.0, 0.0, 0.0),
    "H2O": (0.0, 0.0, 0.0, 1.0),
}


@dataclass(frozen=True)
class FuelGas:
    """A fuel gas by composition [vol %, summing to 100].

    Attributes:
        name: the key of the matching :data:`ecocontrol.emissions.FUELS` entry (CO2 factor).
        composition: component -> vol %; components from CO, H2, CH4, C2H4, C2H6, CO2, N2, H2O.
        source: where the composition comes from.
    """

    name: str
    composition: tuple[tuple[str, float], ...]
    source: str = ""

    def __post_init__(self) -> None:
        total = 0.0
        for comp, pct in self.composition:
            if comp not in _COMPONENTS:
                raise ValueError(
                    f"FuelGas({self.name}).composition has {comp!r}; allowed: {list(_COMPONENTS)}"
                )
            require_finite_range(f"FuelGas({self.name}).composition[{comp}]", pct, 0.0, 100.0)
            total += pct
        if abs(total - 100.0) > 0.5:
            raise ValueError(
                f"FuelGas({self.name}).composition sums to {total} %; allowed: 100 +- 0.5 %"
            )
        if self.lhv_mj_per_nm3 <= 0.0:
            raise ValueError(f"FuelGas({self.name}) has no combustible; allowed: LHV > 0")

    def _sum(self, index: int) -> float:
        return sum(pct / 100.0 * _COMPONENTS[c][index] for c, pct in self.composition)

    @property
    def lhv_mj_per_nm3(self) -> float:
        """Lower heating value [MJ/Nm3] from the composition."""
        return self._sum(0) / NM3_PER_KMOL

    @property
    def o2_demand(self) -> float:
        """Stoichiometric O2 [Nm3 per Nm3 of fuel]."""
        return self._sum(1)

    def flue_per_nm3(self, air_ratio: float) -> FloatArray:
        """Flue gas [Nm3 of N2, O2, CO2, H2O per Nm3 of fuel] at ``air_ratio`` (lambda)."""
        air = air_ratio * self.o2_demand / AIR.fractions[1]
        n2 = sum(pct / 100.0 for c, pct in self.composition if c == "N2") + 0.79 * air
        o2 = (air_ratio - 1.0) * self.o2_demand
        return np.array([n2, o2, self._sum(2), self._sum(3)])


@dataclass(frozen=True)
class FlueGas:
    """Products of burning a blend of two fuel gases, per MJ of fuel heat (LHV).

    The blend is given by ``share``, the second fuel's share of the heat input. The flue gas
    volume and its enthalpy per MJ are linear in ``share``, so two tables serve every blend.
    Fuel and air enter at 25 degC (no preheat).

    Attributes:
        lean: the base fuel (e.g. blast-furnace gas).
        rich: the enrichment fuel (e.g. coke-oven or natural gas).
        air_ratio: lambda, actual over stoichiometric air [-].
    """

    lean: FuelGas
    rich: FuelGas
    air_ratio: float

    def __post_init__(self) -> None:
        require_finite_range("air_ratio", self.air_ratio, 1.0, 2.0)

    @functools.cached_property
    def _per_mj(self) -> tuple[FloatArray, FloatArray]:
        return (
            self.lean.flue_per_nm3(self.air_ratio) / self.lean.lhv_mj_per_nm3,
            self.rich.flue_per_nm3(self.air_ratio) / self.rich.lhv_mj_per_nm3,
        )

    def volume_per_mj(self, share: ArrayLike) -> FloatArray:
        """Flue gas [Nm3 per MJ of fuel heat]."""
        s = np.asarray(share, dtype=np.float64)
        lean, rich = self._per_mj
        return (1.0 - s) * lean.sum() + s * rich.sum()

    @functools.cached_property
    def _tables_per_mj(self) -> tuple[FloatArray, FloatArray]:
        """(enthalpy [kJ/MJ], cp [kJ/(MJ K)]) of the flue of 1 MJ of lean and of rich fuel."""
        lean, rich = self._per_mj
        cp, h = _tables()
        per = np.stack([lean, rich])
        return per @ h, per @ cp

    @functools.cached_property
    def props_table(self) -> FloatArray:
        """Rows: enthalpy of lean, of rich [kJ/MJ]; cp of lean, of rich [kJ/(MJ K)]."""
        h, cp = self._tables_per_mj
        return np.concatenate([h, cp])

    def enthalpy_per_mj(self, share: ArrayLike, temp_c: ArrayLike) -> FloatArray:
        """Sensible enthalpy above 25 degC of the flue gas of 1 MJ of fuel [kJ/MJ]."""
        s = np.asarray(share, dtype=np.float64)
        lean, rich = lookup(self._tables_per_mj[0], temp_c)
        return lean + s * (rich - lean)

    def cp_per_mj(self, share: ArrayLike, temp_c: ArrayLike) -> FloatArray:
        """Heat capacity of the flue gas of 1 MJ of fuel [kJ/(MJ K)]."""
        s = np.asarray(share, dtype=np.float64)
        lean, rich = lookup(self._tables_per_mj[1], temp_c)
        return lean + s * (rich - lean)

    def temperature(self, share: ArrayLike, enthalpy_kj_per_mj: ArrayLike) -> FloatArray:
        """Flue temperature [degC] at a sensible enthalpy per MJ of fuel (Newton on the table)."""
        s = np.asarray(share, dtype=np.float64)
        h = np.asarray(enthalpy_kj_per_mj, dtype=np.float64)
        t = np.full(np.broadcast(s, h).shape, 1000.0)
        for _ in range(8):
            t = t - (self.enthalpy_per_mj(s, t) - h) / self.cp_per_mj(s, t)
            t = clip(t, 0.0, T_MAX_C)
        return t

    @functools.lru_cache(maxsize=8)  # noqa: B019  (instances are few, frozen and long-lived)
    def _flame_curve(self, heat_retained: float) -> FloatArray:
        return self.temperature(_SHARE_GRID, 1000.0 * heat_retained)

    def flame_temperature(self, share: ArrayLike, heat_retained: float = 1.0) -> FloatArray:
        """Flame temperature [degC] when ``heat_retained`` of the LHV heats the flue gas.

        ``heat_retained = 1`` is the adiabatic flame temperature (no dissociation: above about
        1,800 degC it overestimates, which is far above stove and kiln dome temperatures).
        Interpolated on a 0.001 grid of ``share``.
        """
        return np.interp(
            np.asarray(share, dtype=float), _SHARE_GRID, self._flame_curve(float(heat_retained))
        )

    def max_share(self, temp_limit_c: float, heat_retained: float = 1.0) -> float:
        """Largest ``share`` whose flame stays at or below ``temp_limit_c`` (1 if all do)."""
        curve = self._flame_curve(float(heat_retained))
        ok = curve <= temp_limit_c
        if ok.all():
            return 1.0
        if not ok[0]:
            return 0.0
        return float(np.interp(temp_limit_c, curve, _SHARE_GRID))


_SHARE_GRID = np.linspace(0.0, 1.0, 1001)


@dataclass(frozen=True)
class SolidFuel:
    """Combustion products of a solid fuel, per MJ of its net calorific value.

    Carbon follows from the fuel's CO2 factor and LHV (so the ledger's CO2 and the flue gas
    agree); hydrogen, oxygen, nitrogen and moisture are mass fractions of the as-fired fuel
    from a typical ultimate analysis. Sulphur and ash are left out of the gas.

    Attributes:
        name: key of the :data:`ecocontrol.emissions.FUELS` entry (LHV, CO2 factor).
        hydrogen: H mass fraction [-].
        oxygen: O mass fraction [-].
        nitrogen: N mass fraction [-].
        moisture: water mass fraction [-].
        source: where the analysis comes from.
    """

    name: str
    hydrogen: float
    oxygen: float
    nitrogen: float
    moisture: float
    source: str = ""

    def __post_init__(self) -> None:
        for f in ("hydrogen", "oxygen", "nitrogen", "moisture"):
            require_finite_range(f"SolidFuel({self.name}).{f}", getattr(self, f), 0.0, 0.6)
        if self.carbon + self.hydrogen + self.oxygen + self.nitrogen + self.moisture > 1.0:
            raise ValueError(
                f"SolidFuel({self.name}): C+H+O+N+moisture exceeds 1; allowed: mass fractions "
                "summing to at most 1"
            )

    @property
    def fuel(self) -> Fuel:
        """The ledger's fuel entry."""
        return get_fuel(self.name)

    @property
    def carbon(self) -> float:
        """C mass fraction [-] from the CO2 factor: kgCO2/kg x 12/44."""
        f = self.fuel
        return f.lhv_mj_per_unit * f.co2_t_per_gj * 12.0 / 44.0

    @property
    def o2_nm3_per_mj(self) -> float:
        """Stoichiometric O2 [Nm3 per MJ]."""
        kmol = self.carbon / 12.0 + self.hydrogen / 4.0 - self.oxygen / 32.0
        return kmol * NM3_PER_KMOL / self.fuel.lhv_mj_per_unit

    @property
    def products_nm3_per_mj(self) -> FloatArray:
        """Stoichiometric products N2, O2 (0), CO2, H2O [Nm3 per MJ], :data:`SPECIES` order."""
        kmol = np.array(
            [
                self.nitrogen / 28.0,
                0.0,
                self.carbon / 12.0,
                self.hydrogen / 2.0 + self.moisture / 18.0,
            ]
        )
        return kmol * NM3_PER_KMOL / self.fuel.lhv_mj_per_unit
