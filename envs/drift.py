"""Plant drift: a true plant whose parameters have moved away from the nominal ones.

Plants age between overhauls: checkers foul, refractory wears, batteries fade, panels soil.
The rule and the MPC are built on the plant's *nominal* parameters; a drifted plant steps with
*true* parameters that differ from them. Each plant declares its drift mechanisms
(:class:`Drift`: the parameter fields a mechanism moves, by how much at severity 1, and the
source of that number); the simulator's ``drift`` keyword sets a severity in [0, 1] for all of
them (``drift=0.5``) or one per mechanism (``drift={"capacity_fade": 1.0}``). Severity 1 is
a heavily aged but still operating plant, the end of a maintenance interval or of the
equipment's life as the cited source defines it; severities in between interpolate linearly.

What a controller sees: :class:`~ecocontrol.controllers.base.PlantView` gives the nominal
parameters (``model_access="nominal"``, the default) unless the controller declares
``model_access="true"`` (the oracle, an MPC configured to re-identify); the measured state and
the forecasts come from the true plant. At severity 0 the simulator steps with the very
parameter object it was given, so results are bit-identical to a plant without drift (tested).

Domain randomisation (``drift_randomise=True``, single envs only): each ``reset`` draws one of
:data:`DRIFT_LEVELS` severities evenly spaced from 0 to the configured drift, from a generator
seeded by the reset's seed, so agents can train across the same mechanisms.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ecocontrol.validation import is_real

#: Severities a randomised env draws from: ``k / (DRIFT_LEVELS - 1)`` of the configured drift.
DRIFT_LEVELS = 5


@dataclass(frozen=True)
class Drift:
    """One drift mechanism of a plant.

    Attributes:
        name: the mechanism's key in ``drift={name: severity}``.
        fields: ``(field, mode, change)`` per parameter it moves: ``mode="scale"`` gives
            ``nominal * (1 + severity * change)``, ``mode="add"`` ``nominal + severity * change``.
        mechanism: what happens in the plant, in a sentence.
        source: the reference key(s) of the severity-1 number (REFERENCES.md), or "assumed".
    """

    name: str
    fields: tuple[tuple[str, Literal["scale", "add"], float], ...]
    mechanism: str
    source: str


def drift_severities(drift: Any, drifts: tuple[Drift, ...]) -> dict[str, float]:
    """Every mechanism's severity from the ``drift`` keyword (validated).

    Raises:
        ValueError: naming ``drift`` and the allowed values: a severity in [0, 1], or a mapping
            of the plant's mechanism names to severities in [0, 1].
    """
    names = [d.name for d in drifts]
    allowed = f"a severity in [0, 1], or a mapping of {names} to severities in [0, 1]"
    if isinstance(drift, Mapping):
        unknown = sorted(str(k) for k in drift if k not in names)
        if unknown:
            raise ValueError(f"drift has unknown mechanisms {unknown}; allowed: {allowed}")
        out = dict.fromkeys(names, 0.0)
        for k, v in drift.items():
            out[str(k)] = _severity(f"drift.{k}", v, allowed)
        return out
    s = _severity("drift", drift, allowed)
    if s and not drifts:
        raise ValueError("drift: this plant declares no drift mechanisms; allowed: 0")
    return dict.fromkeys(names, s)


def _severity(key: str, value: Any, allowed: str) -> float:
    if not is_real(value) or not math.isfinite(float(value)) or not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{key}={value!r}; allowed: {allowed}")
    return float(value)


def drifted_params(params: Any, severities: Mapping[str, float], drifts: tuple[Drift, ...]) -> Any:
    """The true parameters: ``params`` moved by each mechanism's severity.

    ``params`` itself (the same object) when every severity is 0. A field moved by two
    mechanisms takes both changes in turn.

    Raises:
        ValueError: naming ``drift`` if the drifted parameters leave their dataclass's ranges.
    """
    if not any(severities.values()):
        return params
    values: dict[str, Any] = {}
    for d in drifts:
        s = severities.get(d.name, 0.0)
        if not s:
            continue
        for field, mode, change in d.fields:
            v = values.get(field, getattr(params, field))
            values[field] = v * (1.0 + s * change) if mode == "scale" else v + s * change
    try:
        return dataclasses.replace(params, **values)
    except ValueError as exc:
        raise ValueError(
            f"drift={dict(severities)} takes the parameters out of range: {exc}"
        ) from exc


def scaled_drift(severities: Mapping[str, float], factor: float) -> dict[str, float]:
    """Every severity times ``factor`` (a randomised env's level)."""
    return {k: v * factor for k, v in severities.items()}


def drift_table(drifts: tuple[Drift, ...]) -> str:
    """The mechanisms as a Markdown table: what docs/drift.md and envs/README.md show (tested)."""
    rows = ["| mechanism | parameter: change at severity 1 | source |", "|---|---|---|"]
    for d in drifts:
        moves = "; ".join(
            f"`{f}` {'x' + format(1 + c, '.4g') if m == 'scale' else format(c, '+.4g')}"
            for f, m, c in d.fields
        )
        rows.append(f"| `{d.name}`: {d.mechanism} | {moves} | {d.source} |")
    return "\n".join(rows)
