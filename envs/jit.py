"""Compiled kernels: the one decorator every plant's physics is compiled with.

The physics of each plant is written once, over the batch axis, as numba ``@njit`` kernels
(scalar code in a loop over members, which is what a batch of one needs to be fast). There
is no Python copy of these kernels: the env, the batched env and the tests all run the
compiled code.

Settings, and why:

* ``cache=True``: the machine code is written beside the source (``__pycache__``) on first
  use, so a fresh process loads it instead of compiling again (compile time on first use
  is reported by ``experiments/perf/run.py``).
* ``fastmath=False``: IEEE arithmetic, no reassociation or fused multiply-add, so a kernel
  gives the numpy code's results up to the last ulp of ``exp``/``log`` (numba's libm).
* ``error_model="numpy"``: a division by zero gives inf/NaN as numpy does, not an exception.
* no ``parallel``: a member's arithmetic does not depend on the thread count, so results
  are the same on an idle or a busy machine, and the batched env equals the single one.

Set ``NUMBA_DISABLE_JIT=1`` to run the same kernels as plain Python (slow; for debugging).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from numba import njit

F = TypeVar("F", bound=Callable[..., Any])


def kernel(fn: F) -> F:
    """Compile ``fn`` with the project's settings (see the module docstring)."""
    return cast(F, njit(cache=True, fastmath=False, error_model="numpy", nogil=True)(fn))
