"""Sphinx configuration for matfit's documentation.

Build (from the repository root)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

Implementation notes
--------------------
* The gallery is built from ``examples/`` *unchanged*. Those scripts are also plain programs that
  ``tests/test_examples.py`` runs, so they are not written in sphinx-gallery's dialect: their
  docstrings start with a sentence rather than a reST title, ``examples/README.md`` (not a
  ``GALLERY_HEADER.rst``) indexes them, and they save figures into ``$MATFIT_EXAMPLE_OUT`` instead
  of leaving them open. ``_prepare_gallery`` therefore copies each script into
  ``docs/_gallery_src/<section>/`` (sections and their order from ``examples/README.md``), turning
  the first docstring line into a title and the rest of the docstring into valid reST
  (``_rst_from_plain``); the scraper ``_SavedPngScraper`` picks up the PNG files an example wrote
  into its fresh ``$MATFIT_EXAMPLE_OUT``. An example with no figure gets its section's picture as
  its card (``_section_thumbnail``).
* sphinx-gallery runs examples in-process without ``__file__`` (sphinx-gallery issues #166, #212);
  examples that locate ``../shared/data`` from ``__file__`` get the path of the *original*
  script, set for the duration of that example only (``_ExampleReset``).
* An example that reads ``../shared/data/<name>`` is run when that folder exists; otherwise it is
  shown with its code but not run, under a note saying why (the test suite skips it the same way).
* Each user-guide page is a doctest (``tests/test_docs.py`` runs them with the normal suite), and
  ``tests/test_docs.py`` also checks that the API pages list exactly each package's ``__all__``.
"""

from __future__ import annotations

import builtins
import itertools
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
EXAMPLES = ROOT / "examples"
# where the examples look for ../shared/data; the variable only lets the "data absent" rendering
# be tried on a machine that has the data
SHARED_DATA = Path(os.environ.get("MATFIT_DOCS_SHARED_DATA", ROOT.parent / "shared" / "data"))
GALLERY_SRC = DOCS / "_gallery_src"

sys.path.insert(0, str(ROOT / "src"))
import matfit  # noqa: E402

project = "matfit"
author = "the matfit developers"
copyright = "2026, the matfit developers"
release = matfit.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_design",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "_gallery_src", "**/*.ipynb", "**.md5", "**.py", "**/*.md"]
default_role = "autolink"  # `name` links to a Python object when it exists, else renders as code
nitpicky = False
# sphinx-gallery takes callables (scraper, sort key, reset hook) that Sphinx cannot pickle: the
# only effect is that the environment is not reused between builds, which CI never does anyway.
suppress_warnings = ["config.cache"]

# -- autodoc / autosummary / numpydoc -------------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"members": False}
autodoc_typehints = "none"  # the numpydoc Parameters sections carry the types (with shapes)
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_attributes_as_param_list = True

intersphinx_mapping = {}  # no network at build time: references to NumPy/SciPy stay plain text

# -- HTML -----------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"matfit {release}"
html_static_path = ["_static"]
html_css_files = ["matfit.css"]
html_show_sourcelink = False
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    # the examples are one long code block each: give them the width of the "on this page" column
    "secondary_sidebar_items": {
        "auto_examples/**": [],
        **{p: ["page-toc"] for p in ("index", "changelog", "user_guide/*", "api/**")},
    },
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version", "theme-version"],
}
html_context = {"default_mode": "light"}
# MathJax comes from its CDN, as on every Sphinx site; a local copy can be named for offline
# viewing and for the screenshots of tools/screenshot_docs.sh on a machine with no network.
if os.environ.get("MATFIT_DOCS_MATHJAX"):
    mathjax_path = os.environ["MATFIT_DOCS_MATHJAX"]


# -- gallery --------------------------------------------------------------------------------------
def _readme_sections() -> list[tuple[str, list[str]]]:
    """(section title, [script names]) in the order of examples/README.md's tables."""
    sections: list[tuple[str, list[str]]] = []
    for line in (EXAMPLES / "README.md").read_text("utf-8").splitlines():
        if line.startswith("## "):
            sections.append((line[3:].strip(), []))
        elif sections:
            for name in re.findall(r"\]\(([\w.-]+\.py)\)", line):
                if name not in sections[-1][1]:
                    sections[-1][1].append(name)
    return [s for s in sections if s[1]]


def _needs_missing_data(source: str) -> list[str]:
    """The ``../shared/data/<name>`` folders an example reads that are absent here."""
    quoted = r"""["']shared["']\s*/\s*["']data["']\s*/\s*["']([\w.-]+)["']"""
    names = set(re.findall(quoted, source))
    names |= set(re.findall(r"shared/data/([\w.-]+)", source))
    return sorted(n for n in names if not (SHARED_DATA / n).exists())


def _escape_bars(line: str) -> str:
    """Escape ``|`` (reST substitutions) outside ``literal`` spans."""
    parts = line.split("``")
    return "``".join(p if i % 2 else p.replace("|", "\\|") for i, p in enumerate(parts))


def _rst_from_plain(text: str) -> str:
    """The examples' docstrings are plain text that reads well in a terminal; make them reST.

    A bullet list may follow its lead-in line directly ("Answer:" then "* ..."), which reST reads
    as one paragraph with a stray indent, and ``|x|`` would be a substitution.
    """
    out: list[str] = []
    for line in text.splitlines():
        starts_bullet = line.startswith(("* ", "- "))
        prev = out[-1] if out else ""
        if starts_bullet and prev.strip() and not prev.startswith((" ", "* ", "- ")):
            out.append("")
        line = re.sub(r"^(Question|Answer|Checked|Data|Run|Why|Fix):", r"**\1:**", line)
        out.append(_escape_bars(line))
    return "\n".join(out)


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")


_ORIGINAL: dict[str, Path] = {}  # gallery copy's file name -> the script in examples/
THUMBS = DOCS / "_thumbs"


def _section_thumbnail(title: str) -> str:
    """Draw the card picture of a gallery section; its path relative to docs/.

    Most examples print figures rather than plot them, and sphinx-gallery would give each of
    them the same placeholder; one picture per section at least tells the sections apart.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    rng = np.random.default_rng(0)
    low = title.lower()
    fig = plt.figure(figsize=(4, 3), dpi=60)
    if "factoris" in low or "separation" in low:
        axes = fig.subplots(1, 3, gridspec_kw={"width_ratios": [2, 3, 3]})
        W, H = rng.gamma(1, 1, (8, 3)), rng.gamma(1, 1, (3, 12))
        for ax, M, name in zip(axes, [W, H, W @ H], ["W", "H", "W @ H"], strict=True):
            ax.imshow(M, cmap="Blues", aspect="auto")
            ax.set_title(name)
    elif "network" in low:
        ax = fig.subplots()
        layers = [3, 5, 5, 2]
        pos = [[(i, j - (n - 1) / 2) for j in range(n)] for i, n in enumerate(layers)]
        for a, b in itertools.pairwise(pos):
            for x0, y0 in a:
                for x1, y1 in b:
                    ax.plot([x0, x1], [y0, y1], color="#9ecae1", lw=0.8, zorder=1)
        for layer in pos:
            ax.scatter([x for x, _ in layer], [y for _, y in layer], s=160, color="#3182bd",
                       zorder=2)
    elif "linear" in low:
        ax = fig.subplots()
        x = rng.uniform(-2, 2, 40)
        ax.scatter(x, 1.5 * x + rng.normal(0, 0.6, 40), s=14, color="#6baed6")
        ax.plot([-2, 2], [-3, 3], color="#08519c", lw=2.5)
    else:
        ax = fig.subplots()
        z = np.linspace(-8, 8, 200)
        ax.plot(z, 1 / (1 + np.exp(-z)), color="#08519c", lw=2.5)
        ax.plot(z, 0.5 + 0.35 * np.sin(2 * z) * np.exp(-0.05 * z**2), color="#6baed6", lw=1.5)
    for ax in fig.axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    THUMBS.mkdir(exist_ok=True)
    path = THUMBS / f"{_slug(title)}.png"
    fig.savefig(path)
    plt.close(fig)
    return str(path.relative_to(DOCS))


def _prepare_gallery() -> tuple[str, list[str]]:
    """Write docs/_gallery_src from examples/; return sphinx-gallery's filename_pattern."""
    shutil.rmtree(GALLERY_SRC, ignore_errors=True)
    GALLERY_SRC.mkdir()
    (GALLERY_SRC / "GALLERY_HEADER.rst").write_text(
        "Examples\n========\n\n"
        "Each example answers one question people ask about matrix models and the numerics\n"
        "around them, and checks its own answer with ``assert`` statements against a reference\n"
        "(an analytic solution, SciPy, scikit-learn, PyTorch or a plain loop). The scripts live\n"
        "in ``examples/`` of the source tree and run from any directory.\n",
        "utf-8",
    )
    indexed = set()
    skipped = []
    for title, names in _readme_sections():
        folder = GALLERY_SRC / _slug(title)
        folder.mkdir()
        (folder / "GALLERY_HEADER.rst").write_text(f"{title}\n{'-' * len(title)}\n", "utf-8")
        thumbnail = _section_thumbnail(title)
        for name in names:
            indexed.add(name)
            source = (EXAMPLES / name).read_text("utf-8")
            match = re.match(r'(\s*"""\s*)(.+?)\n', source)
            if match is None:
                raise RuntimeError(f"examples/{name}: no module docstring to take a title from")
            first = match.group(2).strip().rstrip(".")
            head = f"{first}\n{'=' * len(first)}\n"
            missing = _needs_missing_data(source)
            if missing:
                skipped.append(name)
                folders = ", ".join(f"``../shared/data/{m}``" for m in missing)
                head += (
                    f"\n.. note::\n\n   This example reads {folders}, which was not found when\n"
                    "   these pages were built, so its code is shown but was not run.\n"
                )
            end = source.index('"""', match.end())
            body = _rst_from_plain(source[match.end():end])
            # a raw string, so that the reST escapes added above reach sphinx-gallery unchanged
            copy = 'r"""' + head + body + source[end:]
            if "savefig" not in source:  # an example that saves a figure gets it as its card
                copy += f"\n# sphinx_gallery_thumbnail_path = {thumbnail!r}\n"
            (folder / name).write_text(copy, "utf-8")
            _ORIGINAL[name] = EXAMPLES / name
    unindexed = sorted(p.name for p in EXAMPLES.glob("*.py") if p.name not in indexed)
    if unindexed:
        raise RuntimeError(f"examples/README.md does not index {unindexed}")
    run = [n for n in _ORIGINAL if n not in skipped]
    pattern = "(" + "|".join(re.escape(os.sep + n) for n in run) + ")$" if run else r"^$"
    return pattern, skipped


_FILENAME_PATTERN, GALLERY_SKIPPED = _prepare_gallery()


class _ReadmeOrder:
    """Examples of a section in the order examples/README.md lists them."""

    def __init__(self, src_dir):
        self.order = [n for _, names in _readme_sections() for n in names]

    def __repr__(self) -> str:
        return "_ReadmeOrder"

    def __call__(self, filename) -> int:
        return self.order.index(Path(filename).name)


class _ExampleReset:
    """Before each example: a fresh $MATFIT_EXAMPLE_OUT and the original script's __file__."""

    def __repr__(self) -> str:  # sphinx-gallery keys its cache on the repr of conf values
        return "_ExampleReset"

    def __call__(self, gallery_conf, fname, when=None):
        import matplotlib.pyplot as plt

        plt.close("all")
        if when == "after":
            if hasattr(builtins, "__file__"):
                del builtins.__file__
            return
        out = tempfile.mkdtemp(prefix="matfit-gallery-")
        os.environ["MATFIT_EXAMPLE_OUT"] = out
        os.environ["MPLBACKEND"] = "Agg"
        # the example's module globals have no __file__; a name missing there is looked up in
        # builtins, so this makes `Path(__file__)` in an example name the real script
        builtins.__file__ = str(_ORIGINAL.get(Path(fname).name, fname))


_SEEN_PNGS: set[str] = set()


class _SavedPngScraper:
    """sphinx-gallery image scraper: PNG files the example saved into $MATFIT_EXAMPLE_OUT."""

    def __repr__(self) -> str:
        return "_SavedPngScraper"

    def __call__(self, block, block_vars, gallery_conf):
        from sphinx_gallery.scrapers import figure_rst

        out = Path(os.environ.get("MATFIT_EXAMPLE_OUT", "/nonexistent"))
        new = sorted(p for p in out.rglob("*.png") if str(p) not in _SEEN_PNGS)
        images = []
        for png, target in zip(new, block_vars["image_path_iterator"], strict=False):
            _SEEN_PNGS.add(str(png))
            shutil.copyfile(png, target)
            images.append(target)
        return figure_rst(images, gallery_conf["src_dir"])


sphinx_gallery_conf = {
    "examples_dirs": ["_gallery_src"],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": _FILENAME_PATTERN,
    "ignore_pattern": r"__init__\.py",
    "image_scrapers": ("matplotlib", _SavedPngScraper()),
    "reset_modules": (_ExampleReset(),),
    "reset_modules_order": "both",
    "download_all_examples": False,
    "remove_config_comments": True,
    "subsection_order": [f"_gallery_src/{_slug(t)}" for t, _ in _readme_sections()],
    "within_subsection_order": _ReadmeOrder,
    "write_computation_times": True,
    "min_reported_time": 0,
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
    "matplotlib_animations": False,
}
