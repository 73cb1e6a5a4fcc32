"""Pages generated at build time (mkdocs-gen-files): the API reference, the notebooks, results.

- ``reference/``: one page per public module of ``ecocontrol`` and of every subpackage that
  ``pyproject.toml`` maps from another folder (``envs/`` -> ``ecocontrol.envs``), each a
  mkdocstrings ``:::`` block, and ``reference/SUMMARY.md`` for literate-nav. A new module or
  function appears without editing the docs.
- ``notebooks/``: the repository's notebooks (rendered by mkdocs-jupyter, not executed: CI runs
  them in ``make test``) and their README as the section's index.
- ``experiments/``: the committed results (tables, plots, reports) at their repository paths,
  so the links of the README sections the pages include resolve on the site as in the repo.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import mkdocs_gen_files

sys.path.insert(0, str(Path(__file__).parent))
from griffe_package_dir import public_modules

ROOT = Path(__file__).resolve().parent.parent


def defined_names(path: Path) -> list[str]:
    """Public names a package's ``__init__.py`` defines itself (not the ones it imports)."""
    names = []
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names += [t.id for t in targets if isinstance(t, ast.Name)]
    return [n for n in names if not n.startswith("_")]


def reference_pages() -> None:
    """Write ``reference/<module path>.md`` (packages as ``index.md``) and the nav."""
    nav = mkdocs_gen_files.Nav()
    for name, path in public_modules():
        parts = tuple(name.split("."))
        is_package = path.name == "__init__.py"
        doc_path = Path(*parts, "index.md") if is_package else Path(*parts).with_suffix(".md")
        nav[parts] = doc_path.as_posix()
        block = f"::: {name}\n"
        if is_package:
            # A package page holds its docstring and what it defines itself; what it re-exports
            # from its modules is documented once, on the module's page.
            members = defined_names(path)
            block += "    options:\n"
            block += f"      members: {members if members else 'false'}\n"
        with mkdocs_gen_files.open(Path("reference", doc_path), "w") as page:
            page.write(block)
        mkdocs_gen_files.set_edit_path(Path("reference", doc_path), path.relative_to(ROOT))
    with mkdocs_gen_files.open("reference/SUMMARY.md", "w") as summary:
        summary.writelines(nav.build_literate_nav())


def copy_files() -> None:
    """The notebooks and the committed results, at their repository paths."""
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        with mkdocs_gen_files.open(f"notebooks/{path.name}", "wb") as out:
            out.write(path.read_bytes())
    with mkdocs_gen_files.open("notebooks/index.md", "w") as out:
        out.write((ROOT / "notebooks" / "README.md").read_text())
    experiments = ROOT / "experiments"
    results = [*(experiments / "results").rglob("*"), *(experiments / "perf").rglob("*.md")]
    for path in sorted(p for p in results if p.is_file()):
        with mkdocs_gen_files.open(path.relative_to(ROOT).as_posix(), "wb") as out:
            out.write(path.read_bytes())


reference_pages()
copy_files()
