"""Hot-stove parameters: the fuel gases and :class:`HotStoveParams` (every default sourced)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ecocontrol.emissions import (
    DEFAULT_GRID_FACTOR_T_PER_MWH,
    get_fuel,
    require_finite_range,
)

from ..drift import Drift
from ..thermo import FlueGas, FuelGas

#: Accountings of the by-product gases (``HotStoveParams.gas_accounting``).
GAS_ACCOUNTING: tuple[str, ...] = ("gate", "site")

#: Fuel gases by composition [vol %].
FUEL_GASES: dict[str, FuelGas] = {
    g.name: g
    for g in (
        FuelGas(
            "bfg",
            (("CO", 23.0), ("CO2", 21.0), ("H2", 3.5), ("N2", 52.5)),
            "typical blast-furnace gas (REFERENCES.md: LHV 3.0-4.6 MJ/Nm3; 22 % CO, 22 % CO2 "
            "at 3.1 MJ/Nm3); gives 3.28 MJ/Nm3",
        ),
        FuelGas(
            "cog",
            (("H2", 56.0), ("CH4", 26.0), ("CO", 7.0), ("C2H4", 3.0), ("CO2", 2.0), ("N2", 6.0)),
            "typical coke-oven gas; gives 18.0 MJ/Nm3 (China steel GHG guideline 17.9)",
        ),
        FuelGas(
            "natural_gas",
            (("CH4", 96.0), ("C2H6", 2.0), ("N2", 1.0), ("CO2", 1.0)),
            "pipeline natural gas, 35.6 MJ/Nm3",
        ),
    )
}


@dataclass(frozen=True)
class HotStoveParams:
    """Hot-stove system parameters (per stove unless named otherwise).

    Raises ``ValueError`` naming the field and the allowed range on construction.
    """

    # --- stoves and checker -------------------------------------------------------------
    n_stoves: int = 4
    """3-4 stoves per blast furnace (REFERENCES.md)."""
    n_cells: int = 12
    """Axial cells of the 1-D regenerator (REFERENCES.md: 10-30; Hausen/Willmott 2002)."""
    checker_mass_t: float = 2000.0
    """Checker mass per stove [t], from the heating surface: 55,000 m2 of 7-hole, 43-mm
    checker (38.1 m2/m3, vendor data) is 1,440 m3 of checkerwork, 59 % solid at 2.2-2.5 t/m3
    brick: 1,870-2,120 t (derivation and sources in REFERENCES.md). One 60-min blast period
    (309 GJ) then swings the checker's mean temperature by 140 K."""
    checker_cp_kj_per_kg_k: float = 1.1
    """Refractory specific heat (REFERENCES.md: 1.0-1.2 kJ/kg K)."""
    ua_blast_mw_per_k: float = 2.0
    """Checker heat-transfer conductance on blast at full blast flow [MW/K]: about
    55,000 m2 of heating surface x 36 W/m2 K (assumed; pressurised blast, convection plus
    gas radiation in the upper checker)."""
    ua_gas_mw_per_k: float = 1.35
    """Conductance on gas at ``firing_max_mw`` [MW/K]: same surface, about 25 W/m2 K at the
    lower flue-gas mass flow (assumed)."""
    ua_flow_exponent: float = 0.8
    """Convective conductance ~ flow^0.8 (Dittus-Boelter)."""
    shell_loss_kw_per_k: float = 1.2
    """Shell and foundation losses per K of mean checker temperature above ambient [kW/K];
    about 1 MW per stove, 1-2 % of the heat input (assumed)."""
    ambient_c: float = 25.0

    # --- combustion ---------------------------------------------------------------------
    rich_fuel: str = "cog"
    """Enrichment gas: ``"cog"`` or ``"natural_gas"``."""
    air_ratio: float = 1.05
    """Combustion air ratio lambda (typical stove burner setting, assumed)."""
    chamber_loss: float = 0.03
    """Share of the fuel heat lost by the combustion chamber and dome walls (assumed); sets
    the dome 30-40 K below the adiabatic flame."""
    firing_max_mw: float = 60.0
    """Largest fuel heat input per stove [MW, LHV]: about 65,000 Nm3/h of BFG (assumed)."""
    share_max: float = 1.0
    """Largest enrichment share the burner accepts [-]; the dome limit usually binds first."""

    # --- limits and set point -----------------------------------------------------------
    dome_temp_max_c: float = 1420.0
    """Silica dome limit (REFERENCES.md: 1,350-1,420 degC)."""
    waste_gas_max_c: float = 400.0
    """Waste-gas limit protecting the checker supports (REFERENCES.md: 350-450 degC)."""
    hot_blast_setpoint_c: float = 1200.0
    """Nominal hot-blast set point (ArcelorMittal best practice CTO-BF-BP-018)."""
    cold_blast_c: float = 150.0
    """Cold blast after the turbo-blower (compression heat; assumed)."""
    blast_flow_nm3_min: float = 3500.0
    """Nominal blast [Nm3/min]: about 4,600 tHM/d at 1,100 Nm3/tHM (a ~2,500 m3 furnace)."""
    blast_per_thm_nm3: float = 1100.0
    """Blast volume per tonne hot metal (REFERENCES.md: 1,000-1,200 Nm3/tHM)."""

    # --- modes --------------------------------------------------------------------------
    changeover_min: float = 10.0
    """Valve time of a changeover, each way (REFERENCES.md: about 10 min)."""
    min_blast_min: float = 30.0
    """Minimum time on blast before a changeover is accepted (operating practice, assumed)."""
    min_gas_min: float = 30.0
    """Minimum time on gas before a changeover is accepted (operating practice, assumed)."""
    free_volume_m3: float = 1400.0
    """Gas (free) volume of one stove [m3]: checker flues, dome, combustion chamber and
    plenum, which hold blast at ``blast_pressure_bar_g`` at the end of a blast period and
    are vented at the blow-off (see REFERENCES.md, hot-stove changeovers)."""
    blast_pressure_bar_g: float = 3.5
    """Hot-blast pressure [bar g] (REFERENCES.md: 3-4.5 bar g for large furnaces)."""
    blower_kwh_per_nm3: float = 0.075
    """Turbo-blower electricity per Nm3 of cold blast [kWh/Nm3]: adiabatic compression of
    air from 20 degC to ``blast_pressure_bar_g`` + 1 bar at 85 % efficiency plus motor and
    line losses (derivation in REFERENCES.md). Charges the blast vented at each blow-off,
    which the blower re-supplies when the stove is re-pressurised."""
    electricity_price_cny_per_mwh: float = 620.0
    """Electricity (1-10 kV large-industry flat energy price, as ``ParkParams``)."""
    grid_factor_t_per_mwh: float = DEFAULT_GRID_FACTOR_T_PER_MWH
    """Grid CO2 of the blower's electricity [t/MWh] (China national average 2023)."""

    # --- furnace floor ------------------------------------------------------------------
    min_hot_blast_c: float = 1000.0
    """Lowest hot blast a furnace runs on [degC]: below it for ``upset_after_min`` the
    hearth chills and operators cut the blast (a furnace upset), which ends the episode
    (REFERENCES.md)."""
    upset_after_min: float = 10.0
    """Minutes below ``min_hot_blast_c`` that make a furnace upset (assumed)."""
    upset_cost_cny: float = 500_000.0
    """Cost of a furnace upset [CNY] (``penalty``): about 4 h of lost production, 190 tHM/h x
    650 CNY/tHM margin (assumed); above any episode's total cost, so ending an episode by
    an upset never pays."""

    # --- gas accounting -----------------------------------------------------------------
    gas_accounting: str = "gate"
    """How burning the by-product gases is charged. ``"gate"``: each gas at its transfer
    price and its own combustion CO2 (IPCC). ``"site"``: each at the value and emission of
    its marginal alternative use on the site: blast-furnace gas not burnt in the stoves goes
    to the works' power plant (``site_power_efficiency``), so burning it in the stoves costs
    the electricity the site then buys (at ``electricity_price_cny_per_mwh`` and the grid
    factor); coke-oven gas displaces natural gas in the rolling-mill furnaces
    (``natural_gas_price_cny_per_gj``, IPCC natural-gas CO2). Natural gas bought for
    enrichment is charged as bought under both. See :func:`.scoring.gas_values`."""
    site_power_efficiency: float = 0.33
    """Net electrical efficiency of the works' by-product-gas boiler power plant (REFERENCES.md:
    32 % in a CDM project document; 30-36 % boiler plants, 40-46 % combined cycle,
    estimated)."""
    natural_gas_price_cny_per_gj: float = 90.0
    """Industrial natural gas [CNY/GJ]: 3.5 CNY/Nm3 at 38.9 MJ/Nm3, as
    ``ParkParams.gas_price_cny_per_nm3`` (assumed; REFERENCES.md)."""

    # --- prices and penalties -----------------------------------------------------------
    lean_price_cny_per_gj: float = 15.0
    """BFG internal transfer price (assumed, about 0.05 CNY/Nm3: a by-product gas)."""
    rich_price_cny_per_gj: float = 45.0
    """COG internal transfer price (assumed, about 0.8 CNY/Nm3, its value in other uses)."""
    coke_rate_kg_per_thm_k: float = 0.15
    """Coke saved per K of hot blast: rule of thumb 15 kg/tHM per 100 K (assumed)."""
    coke_price_cny_per_t: float = 2000.0
    """Metallurgical coke, China 2024 (assumed)."""
    coke_co2_t_per_t: float = 3.017
    """IPCC 2006 coke-oven coke: 107,000 kgCO2/TJ x 28.2 GJ/t."""
    shortfall_penalty_cny_per_k_min: float = 2.0
    """Extra penalty per K below the set point per minute (policy, not physics)."""
    refused_request_penalty_cny: float = 10.0
    """Penalty per changeover request the safety layer refuses (policy)."""
    waste_gas_penalty_cny_per_k_min: float = 10.0
    """Penalty per K above the waste-gas limit per minute (policy)."""
    deficit_efficiency: float = 0.70
    """Storage efficiency that prices checker heat missing at the end of an episode against
    the start (cost term ``inventory``): the marginal share of lean-gas heat stored when
    topping a stove up near its waste-gas limit (0.70 measured on this model over the last
    20 min of a full-rate lean charge), i.e. what refilling would cost the next shift."""
    surplus_efficiency: float = 0.80
    """Storage efficiency that credits checker heat added over the episode: the share stored
    at the start of a charge (0.80 measured on the first quarter of a lean charge). Deficit
    and surplus are priced apart so that no controller gains by emptying (or filling) the
    stoves at the episode's end."""

    def __post_init__(self) -> None:
        r = require_finite_range
        n = "HotStoveParams."
        for f in ("n_stoves", "n_cells"):
            v = getattr(self, f)
            if isinstance(v, bool) or not isinstance(v, int | np.integer):
                raise ValueError(f"{n}{f}={v!r}; allowed: an int")
        r(n + "n_stoves", self.n_stoves, 2, 6)
        r(n + "n_cells", self.n_cells, 10, 100)
        r(n + "checker_mass_t", self.checker_mass_t, 10.0, 10_000.0)
        r(n + "checker_cp_kj_per_kg_k", self.checker_cp_kj_per_kg_k, 0.5, 2.0)
        r(n + "ua_blast_mw_per_k", self.ua_blast_mw_per_k, 0.0, 100.0, low_inclusive=False)
        r(n + "ua_gas_mw_per_k", self.ua_gas_mw_per_k, 0.0, 100.0, low_inclusive=False)
        r(n + "ua_flow_exponent", self.ua_flow_exponent, 0.0, 1.0)
        r(n + "shell_loss_kw_per_k", self.shell_loss_kw_per_k, 0.0, 100.0)
        r(n + "ambient_c", self.ambient_c, -40.0, 50.0)
        if self.rich_fuel not in ("cog", "natural_gas"):
            raise ValueError(f"{n}rich_fuel={self.rich_fuel!r}; allowed: 'cog' or 'natural_gas'")
        r(n + "air_ratio", self.air_ratio, 1.0, 2.0)
        r(n + "chamber_loss", self.chamber_loss, 0.0, 0.3)
        r(n + "firing_max_mw", self.firing_max_mw, 0.0, 1000.0, low_inclusive=False)
        r(n + "share_max", self.share_max, 0.0, 1.0)
        r(n + "cold_blast_c", self.cold_blast_c, 0.0, 400.0)
        r(
            n + "hot_blast_setpoint_c",
            self.hot_blast_setpoint_c,
            self.cold_blast_c,
            1400.0,
            low_inclusive=False,
        )
        r(
            n + "waste_gas_max_c",
            self.waste_gas_max_c,
            self.cold_blast_c,
            600.0,
            low_inclusive=False,
        )
        r(
            n + "dome_temp_max_c",
            self.dome_temp_max_c,
            self.hot_blast_setpoint_c,
            1600.0,
            low_inclusive=False,
        )
        r(n + "blast_flow_nm3_min", self.blast_flow_nm3_min, 1.0, 20_000.0)
        r(n + "blast_per_thm_nm3", self.blast_per_thm_nm3, 500.0, 2000.0)
        r(n + "changeover_min", self.changeover_min, 1.0, 60.0)
        r(n + "min_blast_min", self.min_blast_min, 0.0, 600.0)
        r(n + "min_gas_min", self.min_gas_min, 0.0, 600.0)
        r(n + "free_volume_m3", self.free_volume_m3, 0.0, 20_000.0)
        r(n + "blast_pressure_bar_g", self.blast_pressure_bar_g, 0.0, 10.0)
        r(n + "blower_kwh_per_nm3", self.blower_kwh_per_nm3, 0.0, 1.0)
        r(n + "electricity_price_cny_per_mwh", self.electricity_price_cny_per_mwh, 0.0, 1e5)
        r(n + "grid_factor_t_per_mwh", self.grid_factor_t_per_mwh, 0.0, 2.0)
        r(
            n + "min_hot_blast_c",
            self.min_hot_blast_c,
            self.cold_blast_c,
            self.hot_blast_setpoint_c - 30.0,
        )
        r(n + "upset_after_min", self.upset_after_min, 1.0, 600.0)
        r(n + "upset_cost_cny", self.upset_cost_cny, 0.0, 1e9)
        if self.gas_accounting not in GAS_ACCOUNTING:
            raise ValueError(
                f"{n}gas_accounting={self.gas_accounting!r}; allowed: {GAS_ACCOUNTING}"
            )
        r(n + "site_power_efficiency", self.site_power_efficiency, 0.05, 0.65)
        r(n + "natural_gas_price_cny_per_gj", self.natural_gas_price_cny_per_gj, 0.0, 1e4)
        for f in (
            "lean_price_cny_per_gj",
            "rich_price_cny_per_gj",
            "coke_rate_kg_per_thm_k",
            "coke_price_cny_per_t",
            "coke_co2_t_per_t",
            "shortfall_penalty_cny_per_k_min",
            "refused_request_penalty_cny",
            "waste_gas_penalty_cny_per_k_min",
        ):
            r(n + f, getattr(self, f), 0.0, 1e6)
        r(n + "deficit_efficiency", self.deficit_efficiency, 0.1, 1.0)
        r(n + "surplus_efficiency", self.surplus_efficiency, self.deficit_efficiency, 1.0)
        if self.flue.flame_temperature(0.0, 1.0 - self.chamber_loss) >= self.dome_temp_max_c:
            raise ValueError(
                f"{n}dome_temp_max_c={self.dome_temp_max_c} is below the lean-gas flame "
                f"({float(self.flue.flame_temperature(0.0, 1 - self.chamber_loss)):.0f} degC); "
                "allowed: above it"
            )

    # --- derived ------------------------------------------------------------------------
    @property
    def lean(self) -> FuelGas:
        """The lean fuel gas (blast-furnace gas)."""
        return FUEL_GASES["bfg"]

    @property
    def rich(self) -> FuelGas:
        """The enrichment gas."""
        return FUEL_GASES[self.rich_fuel]

    @property
    def flue(self) -> FlueGas:
        """Flue gas of the lean/rich blend at ``air_ratio``."""
        return _flue(self.rich_fuel, self.air_ratio)

    @property
    def heat_retained(self) -> float:
        """Share of the fuel heat that reaches the dome in the flue gas."""
        return 1.0 - self.chamber_loss

    @property
    def share_dome_max(self) -> float:
        """Largest enrichment share whose dome stays within ``dome_temp_max_c``."""
        return min(self.share_max, _share_for(self, self.dome_temp_max_c))

    def share_for_dome(self, dome_c: float) -> float:
        """Enrichment share that gives a dome temperature ``dome_c`` (within the limits)."""
        return min(self.share_dome_max, _share_for(self, dome_c))

    @property
    def cell_capacity_mj_per_k(self) -> float:
        """Heat capacity of one checker cell [MJ/K]."""
        return self.checker_mass_t * self.checker_cp_kj_per_kg_k / self.n_cells

    @property
    def lean_co2_t_per_gj(self) -> float:
        """CO2 of the lean gas [t/GJ] (IPCC factor through the shared fuel table)."""
        return get_fuel("bfg").co2_t_per_gj

    @property
    def rich_co2_t_per_gj(self) -> float:
        """CO2 of the enrichment gas [t/GJ]."""
        return get_fuel(self.rich_fuel).co2_t_per_gj

    @property
    def blowoff_nm3_per_k(self) -> float:
        """Blast vented per checker cell at a blow-off times the cell's temperature [Nm3 K].

        The gauge part of the cell's share of the gas (``free_volume_m3 / n_cells`` at
        ``blast_pressure_bar_g``) at normal conditions (273.15 K, 1.01325 bar); divided by
        the cell's absolute temperature it gives the cell's vented Nm3.
        """
        return self.free_volume_m3 / self.n_cells * self.blast_pressure_bar_g / 1.01325 * 273.15


#: The hot stoves' drift mechanisms (:mod:`ecocontrol.envs.drift`); severity 1 is a stove
#: late in its campaign. Sources in REFERENCES.md.
HOT_STOVE_DRIFTS: tuple[Drift, ...] = (
    Drift(
        "checker_fouling",
        (("ua_gas_mw_per_k", "scale", -0.11), ("ua_blast_mw_per_k", "scale", -0.15)),
        "dust and alkali deposits on the checker bricks (a fouling resistance of 0.005 m2K/W, "
        "about 1 mm of dust) cut heat transfer by 15 % on blast and 11 % on gas",
        "derived ([Johnson1917], [Kalugin-checker] on clogging; its size assumed)",
    ),
    Drift(
        "refractory_ageing",
        (("shell_loss_kw_per_k", "scale", 1.0),),
        "cracked and densified refractory doubles the shell heat loss (shell about 70 to 115 degC)",
        "assumed (checked against [Processes2024])",
    ),
)


@functools.cache
def _flue(rich_fuel: str, air_ratio: float) -> FlueGas:
    return FlueGas(FUEL_GASES["bfg"], FUEL_GASES[rich_fuel], air_ratio)


def _share_for(p: HotStoveParams, dome_c: float) -> float:
    return p.flue.max_share(dome_c, p.heat_retained)
