"""Check that the built site documents every public function, class and method (``make docs``).

Lists, from the source (``ast``, no import), every public class and function at the top level
of each public module of ``ecocontrol`` and of the subpackages ``pyproject.toml`` maps from
other folders (``envs/`` -> ``ecocontrol.envs``; the module list the pages are generated from,
``docs/griffe_package_dir.py``), and every public method of those classes; then reads the
site's ``objects.inv`` (the inventory mkdocstrings writes of every object it rendered) and the
pages it points at, and fails listing every object without its own heading on a page.
mkdocstrings renders only objects with a docstring, so an object found has its docstring on the
page. Public: no part of the dotted name starts with ``_``.

Usage: ``python .ci/check_api_docs.py [--site site]``.
"""

from __future__ import annotations

import argparse
import ast
import sys
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "docs"))
from griffe_package_dir import public_modules  # the modules the API reference has a page for

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "ecocontrol"


def public_objects() -> dict[str, str]:
    """Dotted path -> kind (class, function, method) of every public one defined in the source."""
    found: dict[str, str] = {}
    for module, path in public_modules():
        for node in ast.parse(path.read_text()).body:
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            if node.name.startswith("_"):
                continue
            is_class = isinstance(node, ast.ClassDef)
            found[f"{module}.{node.name}"] = "class" if is_class else "function"
            for item in node.body if is_class else []:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    if not item.name.startswith("_"):
                        found[f"{module}.{node.name}.{item.name}"] = "method"
    return found


def inventory(path: Path) -> dict[str, str]:
    """Name -> URI of a Sphinx inventory (version 2: four header lines, then zlib-compressed).

    Aliases (a name re-exported by a package) point at their target's URI; ``$`` in a URI
    stands for the name.
    """
    data = path.read_bytes()
    header_end = 0
    for _ in range(4):
        header_end = data.index(b"\n", header_end) + 1
    found = {}
    for line in zlib.decompress(data[header_end:]).decode().splitlines():
        name, _domain_role, _priority, uri, _label = line.split(" ", 4)
        if name.startswith(PACKAGE):
            found[name] = uri.replace("$", name) if uri.endswith("$") else uri
    return found


def rendered(site: Path, name: str, uri: str) -> bool:
    """Whether the page of ``uri`` has the object's own heading (its anchor is its name)."""
    page, _, anchor = uri.partition("#")
    html = site / page / "index.html" if not page.endswith(".html") else site / page
    return anchor == name and html.exists() and f'id="{name}"' in html.read_text()


def main(argv: list[str] | None = None) -> int:
    """Print what the site misses; exit 1 if anything."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=ROOT / "site")
    args = parser.parse_args(argv)
    expected = public_objects()
    documented = inventory(args.site / "objects.inv")
    missing = [
        name
        for name in sorted(expected)
        if name not in documented or not rendered(args.site, name, documented[name])
    ]
    if missing:
        print(f"{len(missing)} public objects are missing from the API reference:", file=sys.stderr)
        for name in missing:
            print(f"  {name}", file=sys.stderr)
        return 1
    kinds = list(expected.values())
    counts = f"{kinds.count('class')} classes, {kinds.count('function')} functions, "
    counts += f"{kinds.count('method')} methods"
    print(f"API reference documents every public object ({counts}; objects.inv {len(documented)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
