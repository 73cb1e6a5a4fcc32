"""Check that a venv holds exactly the versions of ``requirements.lock`` (CI, ``make check-lock``).

Compares ``pip freeze --all`` of the interpreter running this script (or of ``--python``) with
the lock's ``name==version`` lines: a package at another version, a locked package missing and
an installed package the lock does not name all fail, listed. Versions compare exactly, local
suffixes included (the lock pins ``torch==2.13.0+cpu``). Not compared: ecocontrol itself (the
editable install) and the installer's own tools, pip and wheel, which pip-compile leaves out
of a lock by design.

Usage: ``python .ci/check_lock.py [--lock requirements.lock] [--python .venv/bin/python]``.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

IGNORED = {"ecocontrol", "pip", "wheel"}
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)")


def canonical(name: str) -> str:
    """PEP 503 normalised name: what pip compares names by."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lines: list[str]) -> dict[str, str]:
    """``name -> version`` of every ``name==version`` line (editable and comment lines skipped)."""
    found = {}
    for line in lines:
        m = _PIN.match(line.strip())
        if m:
            found[canonical(m.group(1))] = m.group(2)
    return found


def differences(locked: dict[str, str], installed: dict[str, str]) -> list[str]:
    """One line per package whose installed version differs from the lock, sorted by name."""
    out = []
    for name in sorted((set(locked) | set(installed)) - IGNORED):
        want, have = locked.get(name), installed.get(name)
        if want == have:
            continue
        if have is None:
            out.append(f"{name}: locked {want}, not installed")
        elif want is None:
            out.append(f"{name}: installed {have}, not in the lock")
        else:
            out.append(f"{name}: locked {want}, installed {have}")
    return out


def main(argv: list[str] | None = None) -> int:
    """Print the differences; exit 1 if there are any."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = Path(__file__).resolve().parent.parent
    parser.add_argument("--lock", type=Path, default=root / "requirements.lock")
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args(argv)
    freeze = subprocess.run(
        [args.python, "-m", "pip", "freeze", "--all", "--disable-pip-version-check"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    locked = pins(args.lock.read_text().splitlines())
    diff = differences(locked, pins(freeze))
    if diff:
        print(f"the venv of {args.python} differs from {args.lock}:", file=sys.stderr)
        for line in diff:
            print(f"  {line}", file=sys.stderr)
        print("install with `make install` (a fresh .venv) or refresh with `make lock`")
        return 1
    print(f"lock check: {len(locked)} packages, venv matches {args.lock.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
