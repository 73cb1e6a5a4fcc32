"""One place that checks a value's type and range and names it in the error.

The parameter dataclasses, the envs and the run configs (:mod:`ecocontrol.config`) check
their fields through these functions, so a bad value fails the same way everywhere: a
``ValueError`` whose message names the field, the value and what is allowed. A bool or a
string is never a number here (``True`` is not 1 MWh, ``"3"`` is not 3), and a seed is an
integer in ``[0, 2**32)`` (what numpy's and torch's seeding take), never ``None``: no path
draws from OS entropy.
"""

from __future__ import annotations

import math
import numbers
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

#: Seeds are integers in [0, SEED_END): numpy's SeedSequence and SB3's set_random_seed take
#: any of these, and pyarrow stores them as int64.
SEED_END = 2**32


def _bounds(low: float, high: float, low_inclusive: bool, high_inclusive: bool) -> str:
    lo = "(" if not low_inclusive or low == -math.inf else "["
    hi = ")" if not high_inclusive or high == math.inf else "]"
    return f"{lo}{low}, {high}{hi}"


def is_real(value: object) -> bool:
    """True for a real number (Python or numpy); False for bools, strings and complex."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def is_integer(value: object) -> bool:
    """True for an integer (Python or numpy); False for bools and integral floats."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_)


def require_finite_range(
    field_name: str,
    value: Any,
    low: float = -math.inf,
    high: float = math.inf,
    *,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> None:
    """Check that ``value`` is a finite real number inside ``[low, high]`` (or open ends).

    Bools, strings (even ``"3"``), complex numbers and ``None`` are refused.

    Args:
        field_name: name shown in the error, e.g. ``"ParkParams.battery_energy_mwh"``.
        value: the value to check.
        low: lower bound.
        high: upper bound.
        low_inclusive: whether ``low`` itself is allowed.
        high_inclusive: whether ``high`` itself is allowed.

    Raises:
        ValueError: naming the field, the value and the allowed range.
    """
    allowed = f"a finite number in {_bounds(low, high, low_inclusive, high_inclusive)}"
    if not is_real(value):
        raise ValueError(f"{field_name}={value!r} is not a number; allowed: {allowed}")
    v = float(value)
    ok = (
        math.isfinite(v)
        and (v >= low if low_inclusive else v > low)
        and (v <= high if high_inclusive else v < high)
    )
    if not ok:
        raise ValueError(f"{field_name}={value!r} is out of range; allowed: {allowed}")


def require_int(
    field_name: str, value: Any, low: int | None = None, high: int | None = None
) -> int:
    """``value`` as an int, checked to be an integer in ``[low, high]`` (both inclusive).

    Raises:
        ValueError: naming the field, the value and the allowed range.
    """
    lo = "-inf" if low is None else str(low)
    hi = "inf" if high is None else str(high)
    allowed = f"an integer in [{lo}, {hi}]"
    if not is_integer(value):
        raise ValueError(f"{field_name}={value!r} is not an integer; allowed: {allowed}")
    v = int(value)
    if (low is not None and v < low) or (high is not None and v > high):
        raise ValueError(f"{field_name}={value!r} is out of range; allowed: {allowed}")
    return v


def require_seed(field_name: str, value: Any, span: int = 1) -> int:
    """``value`` as a seed: an integer in ``[0, 2**32 - span + 1)``.

    ``span``: how many consecutive seeds the value starts (``seed + i`` for ``i < span``),
    all of which must be valid seeds.

    Raises:
        ValueError: naming the field, the value and the allowed range (``None`` is refused:
            it would draw from OS entropy).
    """
    end = SEED_END - max(int(span), 1) + 1
    allowed = f"an integer in [0, {end}) (a seed; None would not be reproducible)"
    if not is_integer(value):
        raise ValueError(f"{field_name}={value!r} is not an integer; allowed: {allowed}")
    if not 0 <= int(value) < end:
        raise ValueError(f"{field_name}={value!r} is out of range; allowed: {allowed}")
    return int(value)


def require_choice(field_name: str, value: Any, choices: Iterable[Any]) -> Any:
    """``value`` if it is one of ``choices`` (same type: ``True`` is not ``1``).

    Raises:
        ValueError: naming the field, the value and the choices.
    """
    options = tuple(choices)
    if not any(type(value) is type(c) and value == c for c in options):
        raise ValueError(f"{field_name}={value!r} is invalid; allowed: one of {list(options)}")
    return value


def require_writable_dir(field_name: str, path: str | os.PathLike[str]) -> Path:
    """Check that ``path`` is, or can be made, a directory this process can write into.

    Nothing is created: an existing path must be a writable directory; otherwise its nearest
    existing ancestor must be a writable directory (a probe file is created there and removed
    at once, since permission bits do not tell for root or on read-only mounts).

    Raises:
        ValueError: naming the field and the path.
    """
    p = Path(path).expanduser().absolute()
    allowed = "a writable directory, or a new one under a writable directory"
    if p.exists() and not p.is_dir():
        raise ValueError(
            f"{field_name}={str(path)!r} is a file, not a directory; allowed: {allowed}"
        )
    probe_dir = p
    while not probe_dir.exists():
        probe_dir = probe_dir.parent
    if not probe_dir.is_dir():
        raise ValueError(
            f"{field_name}={str(path)!r} cannot be created: {str(probe_dir)!r} is not a "
            f"directory; allowed: {allowed}"
        )
    try:
        fd, probe = tempfile.mkstemp(dir=probe_dir, prefix=".ecocontrol-probe-")
    except OSError as exc:
        raise ValueError(
            f"{field_name}={str(path)!r} is not writable ({exc.strerror} in "
            f"{str(probe_dir)!r}); allowed: {allowed}"
        ) from None
    os.close(fd)
    os.remove(probe)
    return p
