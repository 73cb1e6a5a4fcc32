"""The hot stoves' ``decision`` interface: discrete, masked decisions every few minutes.

The plant (``ecocontrol/HotStove-v1``) steps every minute and takes a continuous request per
stove; an untrained Gaussian policy requests a changeover half the time, and the safety layer
refuses (and charges) most of them. Here the agent instead decides every
``decision_interval_min`` minutes *which* stove changes over (or none) and a firing and an
enrichment level per stove, from a few discrete levels, and invalid changeovers are masked out
with the safety layer's own rule (:func:`changeover_allowed`), in sb3-contrib's
``MaskablePPO`` convention [Huang2022]. Its observation adds the checker heat gained or drawn
since the episode's start, and its shaping potential values that heat as the inventory charge
does, so that the charge booked at the episode's last step is spread over the steps that
caused it [Ng1999].
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray

from ecocontrol.controllers.base import ExogenousAccess, PlantView, StateAccess, plant_of
from ecocontrol.envs.hot_stove import (
    GAS,
    HotStoveEnv,
    HotStoveParams,
    StoveState,
    apply_changeovers,
    inventory_value_cny_per_mj,
    staggered_cycle_command,
)
from ecocontrol.validation import require_finite_range, require_int

from .base import AgentInterface

#: Largest decision interval [min].
MAX_INTERVAL_MIN = 240.0
#: Largest number of firing or enrichment levels.
MAX_LEVELS = 11
#: Bound of the observed stored-heat change (in units of :attr:`stored_scale_mj`).
STORED_OBS_BOUND = 10.0
_RULE = inspect.signature(staggered_cycle_command).parameters
#: The usual practice's waste-gas throttle: its margin below the limit and its band [K]
#: (:func:`~ecocontrol.envs.hot_stove.staggered_cycle_command`'s defaults, as the rule runs).
WASTE_MARGIN_K: float = _RULE["waste_gas_margin_k"].default
WASTE_BAND_K: float = _RULE["waste_gas_band_k"].default


def changeover_allowed(
    mode: NDArray[np.int64], time_in_mode_min: NDArray[np.float64], params: HotStoveParams
) -> NDArray[np.bool_]:
    """Per stove: would the safety layer accept a changeover of that stove alone, now?

    Runs the safety layer itself (:func:`~ecocontrol.envs.hot_stove.apply_changeovers`, the
    step kernel's code) on one copy of the measured modes and clocks per stove, each copy
    requesting one stove: a stove is allowed if its request is neither refused (dwell not
    done, or the last stove on blast) nor ignored (the stove is changing over already). The
    interface requests at most one changeover per decision, so this is exactly what the
    plant will do with it.

    Args:
        mode: the stoves' modes ``(stove,)`` (``info["state"]["mode"]``).
        time_in_mode_min: their clocks ``(stove,)`` [min].
        params: the plant's parameters.
    """
    mode = np.asarray(mode, dtype=np.int64)
    n = mode.shape[0]
    # apply_changeovers reads only the modes and clocks of the state.
    empty = np.zeros((n, n))
    state = StoveState(
        temp_c=np.zeros((n, n, 1)),
        mode=np.tile(mode, (n, 1)),
        time_in_mode_min=np.tile(np.asarray(time_in_mode_min, dtype=np.float64), (n, 1)),
        waste_gas_c=empty,
        outlet_c=empty,
        stove_fraction=np.zeros(n),
    )
    new_mode, _, refused = apply_changeovers(state, np.eye(n, dtype=bool), params)
    return (refused == 0.0) & (np.diagonal(new_mode) != mode)


class HotStoveDecisionInterface(AgentInterface):
    """Discrete hot-stove decisions every ``decision_interval_min``, with action masks.

    ## Action space
    ``MultiDiscrete([n + 1] + [firing_levels] * n + [share_levels] * n)`` for ``n`` stoves,
    in the plant action's order:

    * ``changeover``: 0 = none, ``1 + i`` = stove ``i`` changes over (gas -> blast or blast ->
      gas). The request is sent at the first plant step of the hold only (``switch_i = +1``;
      every other switch is -1), so a decision makes at most one changeover.
    * ``firing_i``: level ``k`` fires the fraction ``k / (firing_levels - 1)`` (0, 1/2, 1 with
      3 levels; 1 with a single level) of what the usual practice
      (:func:`~ecocontrol.envs.hot_stove.staggered_cycle_command`) fires now: ``firing_max_mw``
      throttled linearly as the waste gas nears its limit (the rule's 25 K band ending 5 K
      below ``waste_gas_max_c``), re-evaluated at every plant step from the measured waste
      gas. So the top level is "fire at maximum, then hold", and no level can drive the
      waste gas over its limit or trip the firing interlock; level 0 holds the stove.
    * ``share_i``: level ``k`` is the enrichment share that gives a dome temperature
      ``k / (share_levels - 1)`` of the way from the lean-gas flame (share 0) to
      ``dome_temp_max_c`` (``share_dome_max``; a single level is the dome limit): levels are
      even in dome temperature, the quantity that sets the checker's top temperature, not in
      share. No level exceeds the dome limit, so none is cut (``enrichment_cut`` stays 0).

    Firing and enrichment act while a stove is on gas (the plant ignores them otherwise); they
    are not masked, since a stove changing over to gas comes on gas within a hold.

    ## Action masks
    :meth:`action_masks` (sb3-contrib's flat convention, the dimensions concatenated): "none"
    is always allowed (the safety layer never forces a changeover); stove ``i`` is allowed
    exactly when the safety layer would accept its changeover now (:func:`changeover_allowed`:
    the same kernel, on the measured modes and clocks of ``info["state"]``); every level is
    allowed. An agent that ignores the masks (plain PPO) is still refused by the safety layer.

    ## Observation
    The plant's observation, then the checker heat gained since the episode's start
    ``(stored - stored0) / stored_scale_mj`` (``info["state"]``'s ``stored_mj`` summed and
    ``stored0_mj``; ``stored_scale_mj`` = 100 K of one stove's checker heat capacity, 220 GJ
    by default; clipped to +-10, a mean change of 250 K over four stoves), then per stove
    whether its changeover is allowed now (the mask, 0/1). The time since the last decision
    is not added: at a decision it is always ``decision_interval_min``; the phase of the
    cycle is in the plant's observation (modes and times in mode) and the allowed flags.

    ## Shaping potential
    :meth:`potential` is the value of the checker heat gained since the start, in reward
    units: ``-inventory(stored0, stored) / reward_scale_cny``, with ``inventory`` the
    charge the env books at the episode's last step (money and the priced CO2 of the lean gas
    that would restore the heat: :func:`~ecocontrol.envs.hot_stove.inventory_value_cny_per_mj`
    at the env's carbon price, over the deficit efficiency for heat missing, the surplus
    efficiency for heat added). Potential-based shaping ``F = gamma * phi(s') - phi(s)``
    leaves the optimal policies unchanged [Ng1999].

    Convention: ``phi(terminal) = 0``, at a truncation (the episode's end) as at a
    termination (a furnace upset), since the env books the inventory charge at both. Then
    the last transition's ``-phi(s_{T-1})`` cancels all but that step's share of the
    charge, every other step is credited or charged the heat it stored or drew, and with
    ``gamma = 1`` the shaped return equals the unshaped one exactly
    (``sum F = phi(terminal) - phi(s_0) = -phi(s_0)``, and ``phi(s_0) = 0`` to rounding).
    With ``gamma < 1`` (``gamma`` the agent's discount per decision, as in ``F``) the
    optimal policies are the same, but each step keeps a leak of
    ``-(1 - gamma) * phi(s')``. Evaluating ``phi`` at the terminal state instead would
    count the charge twice.

    Args:
        env: a :class:`~ecocontrol.envs.hot_stove.HotStoveEnv` (wrappers allowed).
        decision_interval_min: minutes between decisions, a multiple of the env's ``dt_min``
            in ``[dt_min, 240]``.
        firing_levels: firing levels per stove, in ``[1, 11]``.
        share_levels: enrichment levels per stove, in ``[1, 11]``.

    Raises:
        TypeError: if ``env`` is not a hot-stove env.
        ValueError: naming the setting (``interface.<setting>``, its config key), its value and
            the allowed range.
    """

    name: ClassVar[str] = "decision"
    state_access: StateAccess = "measured"
    exogenous_access: ExogenousAccess = "forecast"

    def __init__(
        self,
        env: gym.Env[Any, Any],
        *,
        decision_interval_min: float = 10.0,
        firing_levels: int = 3,
        share_levels: int = 3,
    ) -> None:
        super().__init__(env)
        view = self._bind(env)
        dt = float(view.dt_min)
        require_finite_range(
            "interface.decision_interval_min", decision_interval_min, dt, MAX_INTERVAL_MIN
        )
        k = float(decision_interval_min) / dt
        if abs(k - round(k)) > 1e-9:
            raise ValueError(
                f"interface.decision_interval_min={decision_interval_min} is not a multiple of "
                f"the env's dt_min={dt}; allowed: a multiple of {dt} in [{dt}, {MAX_INTERVAL_MIN}]"
            )
        self.decision_interval_min = float(decision_interval_min)
        self.firing_levels = require_int("interface.firing_levels", firing_levels, 1, MAX_LEVELS)
        self.share_levels = require_int("interface.share_levels", share_levels, 1, MAX_LEVELS)
        self.hold_steps = round(k)
        self._dt_min = dt
        self._allowed_for: dict[str, Any] | None = None
        self._allowed = np.zeros(0, dtype=bool)
        self._make_tables()
        n = self.n_stoves
        self._nvec = [n + 1] + [self.firing_levels] * n + [self.share_levels] * n
        self.action_space = gym.spaces.MultiDiscrete(self._nvec)
        plant = env.observation_space
        assert isinstance(plant, gym.spaces.Box)
        self.observation_space = gym.spaces.Box(
            np.concatenate([plant.low, [-STORED_OBS_BOUND], np.zeros(n)]).astype(np.float32),
            np.concatenate([plant.high, [STORED_OBS_BOUND], np.ones(n)]).astype(np.float32),
            dtype=np.float32,
        )

    # -- the plant ----------------------------------------------------------------------------
    def _bind(self, env: gym.Env[Any, Any]) -> PlantView:
        if not isinstance(plant_of(env), HotStoveEnv):
            raise TypeError(f"{type(self).__name__} needs a HotStoveEnv, not {plant_of(env)!r}")
        self.view = PlantView(
            env, state_access=self.state_access, exogenous_access=self.exogenous_access
        )
        self.params: HotStoveParams = self.view.params
        return self.view

    def _make_tables(self) -> None:
        """The levels' physical values and the normalised shares (from :attr:`params`)."""
        p = self.params
        self.n_stoves = p.n_stoves
        #: Firing level -> fraction of the usual practice's (throttled) firing.
        self.firing_fractions = _levels(self.firing_levels)
        lean_dome = float(p.flue.flame_temperature(0.0, p.heat_retained))
        domes = lean_dome + _levels(self.share_levels) * (p.dome_temp_max_c - lean_dome)
        shares = np.array([p.share_for_dome(float(d)) for d in domes])
        if self.share_levels > 1:
            shares[0] = 0.0  # the lean-gas flame itself
        #: Enrichment level -> share of the fuel heat from the rich gas.
        self.share_values = shares
        self._share_norm = self._normalised_shares(shares)
        #: Normalising scale of the observed stored-heat change [MJ].
        self.stored_scale_mj = 100.0 * p.cell_capacity_mj_per_k * p.n_cells

    def _normalised_shares(self, shares: NDArray[np.float64]) -> NDArray[np.float32]:
        """Normalised share actions whose float32 rounding stays within the dome limit."""
        scaler, n = self.view.scaler, self.n_stoves
        limit = self.params.share_dome_max
        out = np.empty(len(shares), dtype=np.float32)
        for k, share in enumerate(shares):
            phys = np.zeros(3 * n)
            phys[2 * n] = share
            a = scaler.to_normalized(phys)
            while scaler.to_physical(a)[0][2 * n] > limit:
                a[2 * n] = np.nextafter(a[2 * n], np.float32(-1.0))
            out[k] = a[2 * n]
        return out

    def settings(self) -> dict[str, Any]:
        """Keyword arguments that rebuild this interface."""
        return {
            "decision_interval_min": self.decision_interval_min,
            "firing_levels": self.firing_levels,
            "share_levels": self.share_levels,
        }

    def reset(self, env: gym.Env[Any, Any], seed: int | None = None) -> None:
        """Bind to ``env`` (already reset), which must have the same stoves and step.

        Raises:
            ValueError: if ``env``'s stoves or step differ from those the spaces were built for.
        """
        view = self._bind(env)
        if self.params.n_stoves != self.n_stoves or float(view.dt_min) != self._dt_min:
            raise ValueError(
                f"env has n_stoves={self.params.n_stoves}, dt_min={view.dt_min}; allowed: "
                f"n_stoves={self.n_stoves}, dt_min={self._dt_min} (as the interface was built)"
            )
        self._make_tables()
        self._allowed_for = None

    # -- the agent's view ---------------------------------------------------------------------
    def allowed_changeovers(self, info: dict[str, Any]) -> NDArray[np.bool_]:
        """Per stove: would its changeover be accepted now (:func:`changeover_allowed`)?

        Kept for the last ``info`` seen (the observation and the masks of a decision read
        the same one).
        """
        if info is not self._allowed_for:
            st = info["state"]
            self._allowed = changeover_allowed(st["mode"], st["time_in_mode_min"], self.params)
            self._allowed_for = info
        return self._allowed.copy()

    def observe(self, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        """The plant's observation, the stored-heat change and the allowed changeovers."""
        st = info["state"]
        gained = (_total(st["stored_mj"]) - float(st["stored0_mj"])) / self.stored_scale_mj
        extra = [min(max(gained, -STORED_OBS_BOUND), STORED_OBS_BOUND)]
        allowed = self.allowed_changeovers(info)
        return np.concatenate([np.asarray(obs, dtype=np.float32), extra, allowed]).astype(
            np.float32
        )

    def action_masks(self, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        """Allowed choices, flat over the dimensions: "none", accepted changeovers, all levels."""
        assert isinstance(self.action_space, gym.spaces.MultiDiscrete)
        mask = np.ones(int(self.action_space.nvec.sum()), dtype=bool)
        mask[1 : self.n_stoves + 1] = self.allowed_changeovers(info)
        return mask

    def plant_action(self, action: Any, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        """The plant's normalised action for the coming step (see the class docstring).

        The decision is taken at the episode steps that are multiples of ``hold_steps``
        (``info["step"]``); its changeover is requested at that step only.

        Raises:
            ValueError: if ``action`` is not one of the action space's.
        """
        a = self._checked(action)
        n = self.n_stoves
        phys = np.zeros(3 * n)
        phys[:n] = -1.0
        if a[0] > 0 and int(info["step"]) % self.hold_steps == 0:
            phys[a[0] - 1] = 1.0
        phys[n : 2 * n] = self.firing_fractions[a[1 : n + 1]] * self.rule_firing_mw(info)
        out = self.view.scaler.to_normalized(phys)
        out[2 * n :] = self._share_norm[a[n + 1 :]]
        return out

    def rule_firing_mw(self, info: dict[str, Any]) -> NDArray[np.float64]:
        """What the usual practice fires now per stove [MW]: its top firing level.

        ``firing_max_mw`` throttled linearly over ``WASTE_BAND_K`` as the measured waste gas
        nears ``waste_gas_max_c - WASTE_MARGIN_K``; 0 for stoves not on gas. The firing
        of :func:`~ecocontrol.envs.hot_stove.staggered_cycle_command` (tested equal), written
        out for a handful of stoves (the batched rule costs as much as a plant step).
        """
        st, p = info["state"], self.params
        top, cap = p.waste_gas_max_c - WASTE_MARGIN_K, p.firing_max_mw
        return np.array(
            [
                cap * min(max((top - w) / WASTE_BAND_K, 0.0), 1.0) if m == GAS else 0.0
                for m, w in zip(
                    np.asarray(st["mode"]).tolist(),
                    np.asarray(st["waste_gas_c"]).tolist(),
                    strict=True,
                )
            ]
        )

    def _checked(self, action: Any) -> NDArray[np.int64]:
        a = np.asarray(action).reshape(-1)
        space = self.action_space
        assert isinstance(space, gym.spaces.MultiDiscrete)
        if (
            a.shape != space.nvec.shape
            or a.dtype.kind not in "iu"
            or any(not 0 <= v < k for v, k in zip(a.tolist(), self._nvec, strict=True))
        ):
            raise ValueError(f"action={action!r}; allowed: an element of {space}")
        return a.astype(np.int64)

    def potential(self, info: dict[str, Any]) -> float:
        """Value of the checker heat gained since the start [reward units]; see the class."""
        st = info["state"]
        missing = float(st["stored0_mj"]) - _total(st["stored_mj"])
        deficit, surplus = inventory_value_cny_per_mj(self.params, self.view.carbon_price_cny_per_t)
        cost = (deficit if missing > 0 else surplus) * missing
        return -cost / self.view.reward_scale_cny


def _levels(n: int) -> NDArray[np.float64]:
    """``n`` levels evenly over [0, 1]; a single level is 1."""
    return np.ones(1) if n == 1 else np.linspace(0.0, 1.0, n)


def _total(stored_mj: Any) -> float:
    """Total checker heat [MJ], summed stove by stove as the step kernel sums it."""
    total = 0.0
    for v in np.asarray(stored_mj, dtype=np.float64):
        total += float(v)
    return total
