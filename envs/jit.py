"""Compiled kernels: the one decorator every plant's physics is compiled with.

The physics of each plant is written once, over the batch axis, as numba ``@njit`` kernels
(scalar code in a loop over members, which is what a batch of one needs to be fast). There
is no Python copy of these kernels: the env, the batched env and the tests all run the
compiled code.

Settings, and why:

* ``cache=True``: the machine code is written beside the source (``__pycache__``) on first
  use, so a fresh process loads it instead of compiling again (compile time on first use
  is reported by ``experiments/perf/run.py``). Numba keys a cached function on its own
  file only, while kernels call kernels of other files (thermo, combustion, physics): here
  the key is the content of every file that defines a kernel (:class:`KernelCacheLocator`),
  so editing any of them recompiles all, and a stale callee is never loaded.
* ``fastmath=False``: IEEE arithmetic, no reassociation or fused multiply-add. ``exp``,
  ``log`` and ``pow`` come from the C library, where numpy may use its own SIMD routines
  (AVX-512): those differ in the last bit, so a result can differ from the former numpy
  code by rounding (the compiled code no longer depends on the CPU's vector extensions).
* ``error_model="numpy"``: a division by zero gives inf/NaN as numpy does, not an exception.
* no ``parallel``: a member's arithmetic does not depend on the thread count, so results
  are the same on an idle or a busy machine, and the batched env equals the single one.

Set ``NUMBA_DISABLE_JIT=1`` to run the same kernels as plain Python (slow; for debugging).
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Callable
from typing import Any, TypeVar, cast

from numba import njit
from numba.core import caching
from numba.core import config as numba_config

F = TypeVar("F", bound=Callable[..., Any])

#: Source files that define kernels (filled by :func:`kernel` as modules are imported).
KERNEL_FILES: set[str] = set()


@functools.cache
def _file_digest(path: str, mtime_ns: int, size: int) -> bytes:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).digest()


def kernel_sources_digest() -> str:
    """SHA-256 over the content of every file that defines a kernel (sorted by path)."""
    h = hashlib.sha256()
    for path in sorted(KERNEL_FILES):
        st = os.stat(path)
        h.update(path.encode())
        h.update(_file_digest(path, st.st_mtime_ns, st.st_size))
    return h.hexdigest()


class KernelCacheLocator(caching.InTreeCacheLocator):
    """Numba's cache keyed on all kernel sources, for kernels only.

    In ``NUMBA_CACHE_DIR`` when it is set (as numba's own locator would), else beside the
    source (``__pycache__``). Other functions (and ours, when the folder is not writable) fall
    through to numba's own locators.
    """

    def __init__(self, py_func: Any, py_file: str) -> None:
        super().__init__(py_func, py_file)
        user_dir = getattr(numba_config, "CACHE_DIR", "")
        if user_dir:
            self._cache_path = os.path.join(user_dir, self.get_suitable_cache_subpath(py_file))

    def get_source_stamp(self) -> Any:
        """The digest of every kernel source file, not only this function's."""
        return kernel_sources_digest()

    @classmethod
    def from_function(cls, py_func: Any, py_file: str) -> Any:
        """A locator for a function defined by :func:`kernel`, else ``None``."""
        if os.path.abspath(py_file) not in KERNEL_FILES:
            return None
        return super().from_function(py_func, py_file)


if KernelCacheLocator not in caching.CompileResultCacheImpl._locator_classes:
    caching.CompileResultCacheImpl._locator_classes.insert(0, KernelCacheLocator)


def kernel(fn: F) -> F:
    """Compile ``fn`` with the project's settings (see the module docstring)."""
    KERNEL_FILES.add(os.path.abspath(fn.__code__.co_filename))
    return cast(F, njit(cache=True, fastmath=False, error_model="numpy", nogil=True)(fn))
