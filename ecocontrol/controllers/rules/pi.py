"""A discrete PI loop, shared by the rule controllers that run loops."""

from __future__ import annotations


class PI:
    """A discrete PI loop in velocity form with output limits (no integral wind-up).

    Args:
        kp: proportional gain [output per unit error].
        ti_min: integral time [min].
        low: lowest output.
        high: highest output.
    """

    def __init__(self, kp: float, ti_min: float, low: float, high: float) -> None:
        self.kp, self.ti_min, self.low, self.high = kp, ti_min, low, high
        self.output = 0.0
        self._last_error: float | None = None

    def reset(self, output: float) -> None:
        """Start from ``output`` with no error history (bumpless)."""
        self.output = min(max(float(output), self.low), self.high)
        self._last_error = None

    def track(self, output: float) -> None:
        """Take ``output`` as the loop's output, keeping the error history (tracking).

        A loop on standby follows the output actually applied, so its next step starts from
        there (bumpless transfer) instead of from an output that was never applied.
        """
        self.output = min(max(float(output), self.low), self.high)

    def update(self, error: float, dt_min: float, feedforward_step: float = 0.0) -> float:
        """One update: ``kp * (de + dt / ti * e)`` added to the output, plus a feed-forward step."""
        last = error if self._last_error is None else self._last_error
        step = self.kp * ((error - last) + dt_min / self.ti_min * error)
        self._last_error = error
        # min/max on floats: np.clip's cost on a scalar is most of a loop update
        self.output = min(max(self.output + step + feedforward_step, self.low), self.high)
        return self.output
