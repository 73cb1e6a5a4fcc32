"""Griffe extension: load the subpackages that ``package-dir`` in ``pyproject.toml`` maps elsewhere.

``pyproject.toml`` installs ``envs/`` as ``ecocontrol.envs`` (``[tool.setuptools] package-dir``).
Python finds it through the installed package, but griffe reads the source tree, where
``ecocontrol/`` has no ``envs/`` folder, so ``ecocontrol.envs`` would be missing from the API
reference. When griffe has loaded a package, this extension loads every mapped subpackage of it
from its folder and attaches it under its installed name (``ecocontrol.envs.park`` and so on),
so cross-references, aliases and ``__all__`` resolve as they do at run time.

It also reads two Sphinx conventions the code uses, which griffe's Google parser does not: the
roles in docstrings (``:func:`x```, ``:class:`x```...) are shown as inline code instead of
the role itself, and the ``#:`` comments above module and class attributes become their
docstrings. Citation keys of ``REFERENCES.md`` (``[GF]``) are escaped so Markdown keeps them as
text.

:func:`public_modules` lists the modules as installed: ``docs/gen_pages.py`` writes one API
page for each, ``.ci/check_api_docs.py`` checks that every public object is on one.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import griffe
import tomllib

_ROOT = Path(__file__).resolve().parent.parent
_PACKAGE = "ecocontrol"
_ROLE = re.compile(r":(?:py:)?(?:func|class|mod|meth|attr|data|obj|const|exc):`~?([^`]+)`")


def package_dirs(pyproject: Path = _ROOT / "pyproject.toml") -> dict[str, Path]:
    """``package-dir`` of ``pyproject.toml``: dotted name -> folder, for names with a dot."""
    setuptools = tomllib.loads(pyproject.read_text())["tool"]["setuptools"]
    return {
        name: (pyproject.parent / folder).resolve()
        for name, folder in setuptools.get("package-dir", {}).items()
        if "." in name
    }


def public_modules() -> list[tuple[str, Path]]:
    """``(dotted name, file)`` of every public module as installed, packages as ``__init__.py``.

    ``ecocontrol`` and every subpackage ``package-dir`` maps from another folder; public: no part
    of the name starts with ``_``.
    """
    roots = {_PACKAGE: _ROOT / _PACKAGE} | {
        name: folder for name, folder in package_dirs().items() if (folder / "__init__.py").exists()
    }
    found: dict[str, Path] = {}
    for prefix, folder in roots.items():
        for path in sorted(folder.rglob("*.py")):
            parts = path.relative_to(folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            if any(part.startswith("_") for part in parts):
                continue
            name = ".".join((prefix, *parts))
            if any(name.startswith(other + ".") for other in roots if len(other) > len(prefix)):
                continue  # a folder inside this one that package-dir maps elsewhere
            found[name] = path
    return sorted(found.items())


class PackageDir(griffe.Extension):
    """Attach the ``package-dir`` subpackages to their parent package when griffe loads it."""

    def __init__(self) -> None:
        """Read the mapping once."""
        self.mapping = package_dirs()
        # Citation keys ([GF], [IPCC2006]) are text, not Markdown links: "[degC] [GF]" would
        # otherwise read as a reference link to a "GF" cross-reference target.
        keys = re.findall(r"^\*\*\[([^\]]+)\]\*\*", (_ROOT / "REFERENCES.md").read_text(), re.M)
        self.citation = re.compile(r"\[(" + "|".join(map(re.escape, keys)) + r")\]")

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        """Load each mapped subpackage of ``pkg`` (parents before children) into it."""
        for name in sorted(self.mapping, key=lambda n: n.count(".")):
            parent_path, _, child = name.rpartition(".")
            if parent_path.split(".")[0] != pkg.name:
                continue
            init = self.mapping[name] / "__init__.py"
            if not init.exists():  # a data-only package (configs)
                continue
            inner = parent_path[len(pkg.name) + 1 :]
            parent = pkg.get_member(inner) if inner else pkg
            # griffe has no public call to load a folder as a named submodule of a loaded
            # package; _load_module is the one its own submodule loading uses.
            module = loader._load_module(child, init, parent=parent)
            parent.set_member(child, module)
            loader.expand_exports(module)
            loader.expand_wildcards(module, external=False)
        for obj in _walk(pkg):
            if obj.docstring is None and obj.is_attribute:
                _comment_docstring(obj)
            if obj.docstring is not None:
                text = _ROLE.sub(r"`\1`", obj.docstring.value)
                obj.docstring.value = self.citation.sub(r"\\[\1\\]", text)


def _comment_docstring(attr: griffe.Object) -> None:
    """Take the ``#:`` comment lines above an attribute as its docstring (the Sphinx convention)."""
    path = attr.filepath
    if not isinstance(path, Path) or path not in attr.lines_collection or not attr.lineno:
        return
    lines = attr.lines_collection[path]
    comment: list[str] = []
    i = attr.lineno - 2  # the line above, 0-based
    while i >= 0 and lines[i].strip().startswith("#:"):
        comment.insert(0, lines[i].strip()[2:].strip())
        i -= 1
    if comment:
        attr.docstring = griffe.Docstring("\n".join(comment), lineno=i + 2, parent=attr)


def _walk(obj: griffe.Object) -> list[griffe.Object]:
    """``obj`` and every object defined under it (aliases skipped)."""
    found = [obj]
    for member in obj.members.values():
        if not member.is_alias:
            found.extend(_walk(member))  # type: ignore[arg-type]
    return found
