"""The training env of an agent interface: :class:`AgentEnv`.

It wraps one plant env (its per-step loop, the one every controller runs through) and lets an
SB3 algorithm act through an :class:`~ecocontrol.interfaces.base.AgentInterface`. Three options
make the learning signal less noisy without changing what is optimal:

* ``reward_baseline="rule"``: from every step's reward the wrapper subtracts the rule's reward
  at the same step of the same window with the same seed (a shadow copy of the plant run under
  the rule at each reset). The baseline depends on the window and the time only, never on the
  policy, so every policy's return moves by the same amount per window and the ranking of
  policies is unchanged; what goes is the window-to-window spread of the cost (on the park
  about 11x the rule-to-MPC gain), which otherwise swamps the advantage estimates. The
  benchmark still scores raw cost.
* ``shaping=true``: potential-based shaping ``F = gamma * phi(s') - phi(s)`` with the
  interface's potential (Ng, Harada & Russell 1999, "Policy invariance under reward
  transformations", ICML), ``phi = 0`` at the episode's end, so the sum over an episode is
  ``-phi(s_0)``, the same for every policy.
* ``end_as_terminal=true`` (default): the end of a window is reported as a termination, not
  a truncation. The time of the episode is in every plant's observation, so the horizon is
  part of the problem (Pardo et al. 2018, "Time limits in reinforcement learning", ICML);
  SB3 would otherwise add ``gamma * V(last observation)`` to the last reward, a value its
  critic never learned.

Validation envs are built with neither baseline nor shaping: the best model is chosen on raw
cost.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from ecocontrol.interfaces.base import AgentInterface

REWARD_BASELINES: tuple[str, ...] = ("none", "rule")


class AgentEnv(gym.Wrapper[Any, Any, Any, Any]):
    """A plant env seen through an agent interface (what SB3 trains on).

    Args:
        env: the plant env (wrappers such as ``EpisodeKpis`` allowed; its ``info`` passes on).
        interface: the agent interface, built on ``env``.
        reward_baseline: ``"none"`` or ``"rule"`` (see the module docstring).
        make_shadow: builds the shadow plant for the baseline (same config and split).
        shaping: add the interface's potential-based shaping.
        gamma: the agent's discount (shaping uses it).
        end_as_terminal: report the window's end as a termination.

    Each reset draws the episode's seed from the wrapper's own generator (seeded by the first
    ``reset(seed=...)``), so the shadow replays the same window and forecast noise.
    """

    def __init__(
        self,
        env: gym.Env[Any, Any],
        interface: AgentInterface,
        *,
        reward_baseline: str = "none",
        make_shadow: Callable[[], gym.Env[Any, Any]] | None = None,
        shaping: bool = False,
        gamma: float = 0.99,
        end_as_terminal: bool = True,
    ) -> None:
        super().__init__(env)
        if reward_baseline not in REWARD_BASELINES:
            raise ValueError(
                f"reward_baseline={reward_baseline!r}; allowed: {list(REWARD_BASELINES)}"
            )
        if reward_baseline != "none" and make_shadow is None:
            raise ValueError("reward_baseline needs make_shadow (a factory of the same plant)")
        self.interface = interface
        self.observation_space = interface.observation_space
        self.action_space = interface.action_space
        self.reward_baseline = reward_baseline
        self.shaping = bool(shaping)
        self.gamma = float(gamma)
        self.end_as_terminal = bool(end_as_terminal)
        self._make_shadow = make_shadow
        self._shadow: gym.Env[Any, Any] | None = None
        self._rng: np.random.Generator | None = None
        self._obs: Any = None
        self._info: dict[str, Any] = {}
        self._baseline = np.zeros(0)
        self._t = 0
        self._phi = 0.0

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        """Reset the plant (and the shadow under the rule) and the interface."""
        seed = kwargs.pop("seed", None)
        if seed is not None or self._rng is None:
            self._rng = np.random.default_rng(seed)
        episode_seed = int(self._rng.integers(2**31 - 1))
        obs, info = self.env.reset(seed=episode_seed, **kwargs)
        self.interface.reset(self.env, episode_seed)
        if self.reward_baseline == "rule":
            self._baseline = self._rule_rewards(episode_seed, kwargs.get("options"))
        self._obs, self._info, self._t = obs, info, 0
        self._phi = self.interface.potential(info) if self.shaping else 0.0
        return self.interface.observe(obs, info), info

    def _rule_rewards(self, seed: int, options: dict[str, Any] | None) -> np.ndarray:
        from ecocontrol.controllers import make_controller

        if self._shadow is None:
            assert self._make_shadow is not None
            self._shadow = self._make_shadow()
        shadow = self._shadow
        obs, info = shadow.reset(seed=seed, options=options)
        rule = make_controller("rule", shadow)
        rule.reset(shadow, seed)
        rewards = []
        done = False
        while not done:
            obs, r, term, trunc, info = shadow.step(rule.act(obs, info))
            rewards.append(float(r))
            done = term or trunc
        return np.asarray(rewards)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        """Hold the agent's action for the interface's ``hold_steps`` plant steps."""
        total = 0.0
        terminated = truncated = False
        obs, info = self._obs, self._info
        for _ in range(self.interface.hold_steps):
            a = self.interface.plant_action(action, obs, info)
            obs, r, terminated, truncated, info = self.env.step(a)
            r = float(r)
            if self.reward_baseline != "none" and self._t < len(self._baseline):
                r -= self._baseline[self._t]
            self._t += 1
            total += r
            if terminated or truncated:
                break
        done = terminated or truncated
        if self.shaping:
            phi = 0.0 if done else self.interface.potential(info)
            total += self.gamma * phi - self._phi
            self._phi = phi
        if truncated and self.end_as_terminal:
            terminated, truncated = True, False
        self._obs, self._info = obs, info
        return self.interface.observe(obs, info), total, terminated, truncated, info

    def action_masks(self) -> np.ndarray:
        """The interface's action masks now (all allowed when it has none)."""
        masks = self.interface.action_masks(self._obs, self._info)
        if masks is None:
            space = self.action_space
            n = int(np.sum(space.nvec)) if hasattr(space, "nvec") else int(getattr(space, "n", 1))
            return np.ones(n, dtype=bool)
        return masks

    def close(self) -> None:
        """Close the plant and the shadow."""
        if self._shadow is not None:
            self._shadow.close()
        super().close()
