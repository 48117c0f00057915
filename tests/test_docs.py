"""The documentation site's promises that can be checked without building it.

* Every code block of the user guide (``docs/user_guide/*.rst``) is a doctest, run here, so the
  guide cannot drift from the code.
* The API reference (``docs/api/*.rst``) lists, in ``autosummary`` directives, exactly the names
  in each public package's ``__all__`` (one stub page per name is generated from them): a new
  public name without a page fails here, and so does a page for a name that is no longer public.
  When Sphinx is installed, its own autosummary parser is used to read the pages too, so this
  file's small parser cannot silently disagree with what Sphinx generates.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import matfit

DOCS = Path(__file__).resolve().parents[1] / "docs"
GUIDE = sorted(p for p in (DOCS / "user_guide").glob("*.rst") if p.name != "index.rst")
API = sorted((DOCS / "api").glob("*.rst"))
GENERATED = DOCS / "api" / "generated"  # autosummary's stubs, written by a docs build


def public_modules() -> list[str]:
    """matfit and every top-level module or package of it whose name has no underscore.

    ``matfit.cli`` is left out: it is the console script's entry point, documented by
    ``matfit --help``, not an importable API.
    """
    names = ["matfit"]
    for info in pkgutil.iter_modules(matfit.__path__):
        if not info.name.startswith("_") and info.name != "cli":
            names.append(f"matfit.{info.name}")
    return names


def exported() -> set[str]:
    out = set()
    for name in public_modules():
        module = importlib.import_module(name)
        assert hasattr(module, "__all__"), f"{name} has no __all__"
        out |= {f"{name}.{attr}" for attr in module.__all__}
    return out


def autosummary_entries(paths: list[Path]) -> set[str]:
    """Fully qualified names listed in ``.. autosummary::`` directives with ``:toctree:``."""
    found: set[str] = set()
    for path in paths:
        module = None
        lines = path.read_text("utf-8").splitlines()
        i = 0
        while i < len(lines):
            line = lines[i]
            m = re.match(r"\.\. (?:current)?module:: (\S+)", line) or re.match(
                r"\.\. automodule:: (\S+)", line)
            if m:
                module = m.group(1)
            if line.startswith(".. autosummary::"):
                i += 1
                options, names = {}, []
                while i < len(lines) and (lines[i].startswith("   ") or not lines[i].strip()):
                    text = lines[i].strip()
                    if text.startswith(":"):
                        key, _, value = text[1:].partition(":")
                        options[key] = value.strip()
                    elif text:
                        names.append(text)
                    i += 1
                if "toctree" in options:
                    found |= {n if n.startswith("matfit") else f"{module}.{n}" for n in names}
                continue
            i += 1
    return found


def test_api_reference_lists_exactly_every_public_name() -> None:
    listed, public = autosummary_entries(API), exported()
    assert not public - listed, f"public names without an API page: {sorted(public - listed)}"
    assert not listed - public, f"API pages of names not in __all__: {sorted(listed - public)}"


def test_generated_stubs_are_exactly_the_public_names() -> None:
    # .ci/run runs this file again after building the docs, when the stubs exist
    if not GENERATED.is_dir():
        pytest.skip("the docs have not been built here (docs/api/generated is absent)")
    stubs = {p.stem for p in GENERATED.glob("*.rst")}
    public = exported()
    assert not public - stubs, f"public names with no generated page: {sorted(public - stubs)}"
    assert not stubs - public, f"generated pages of names not in __all__ (a stale build?): " \
        f"{sorted(stubs - public)}"


def test_sphinx_reads_the_api_pages_as_this_test_does() -> None:
    generate = pytest.importorskip("sphinx.ext.autosummary.generate")
    entries = generate.find_autosummary_in_files([str(p) for p in API])
    assert {e.name for e in entries if e.path} == autosummary_entries(API)


def test_a_name_missing_from_the_pages_is_caught(tmp_path: Path) -> None:
    # the comparison above must not pass vacuously: drop one entry and one page and look
    page = (DOCS / "api" / "factorize.rst").read_text("utf-8")
    assert "\n   nmf\n" in page
    (tmp_path / "factorize.rst").write_text(page.replace("\n   nmf\n", "\n"), "utf-8")
    others = [p for p in API if p.name != "factorize.rst"]
    listed = autosummary_entries([*others, tmp_path / "factorize.rst"])
    assert exported() - listed == {"matfit.factorize.nmf"}
    assert "matfit.factorize.NMF" in autosummary_entries(API) - autosummary_entries(others)


@pytest.mark.parametrize("page", GUIDE, ids=[p.stem for p in GUIDE])
def test_user_guide_page_runs_as_a_doctest(page: Path) -> None:
    result = doctest.testfile(str(page), module_relative=False, verbose=False, report=True,
                              optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{page.name} has no doctest"
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {page}"
