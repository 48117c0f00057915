"""matfit's imports point one way, with no cycles (the developers' brief, "Layout").

Layers, lowest first: the shared modules (``shapes``, ``numerics``, ``_io``, ``_errors``,
``_estimator``, ...) <- ``optim`` <- the models (``factorize``, ``recommend``, ``nn``, ``linear``,
``explain``, ``signal``) <- ``separate`` <- the command line (``cli``, ``demo`` and every
package's ``_cli*`` module). A module may import from its own layer's package and from lower
layers only, and models do not import each other. Imports inside functions count too: a lazy
import that closes a circle (as ``_nmf`` <-> ``_dask`` once did) still ties the two modules
together. The graph is read from the source with :mod:`ast`, so nothing is imported.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

MODELS = ("factorize", "recommend", "nn", "linear", "explain", "signal")


def modules(src: Path, top: str) -> dict[str, tuple[Path, bool]]:
    """Dotted module name -> (file, is a package's ``__init__``), for every .py under src/top."""
    out = {}
    for f in sorted((src / top).rglob("*.py")):
        parts = list(f.relative_to(src).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_pkg else parts)] = (f, is_pkg)
    return out


def import_graph(src: Path, top: str) -> dict[str, set[str]]:
    """Edges module -> the modules of the same tree it imports, anywhere in its body."""
    mods = modules(src, top)
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for name, (path, is_pkg) in mods.items():
        for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".") if is_pkg else name.split(".")[:-1]
                    base = base[:len(base) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                # `from . import _mu` names a module; `from ._nmf import nmf` names a member
                candidates = [[f"{target}.{a.name}", target] for a in node.names]
            elif isinstance(node, ast.Import):
                candidates = [[a.name] for a in node.names]
            else:
                continue
            for options in candidates:
                hit = next((c for c in options if c in mods and c != name), None)
                if hit:
                    edges[name].add(hit)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(edges[w]))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    x = stack.pop()
                    on_stack.discard(x)
                    comp.append(x)
                    if x == v:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
    return found


def layer(module: str) -> tuple[str, int]:
    """(group, rank) of a matfit module: the group is the package, or "shared"."""
    parts = module.split(".")
    if len(parts) == 1:
        return "shared", 0  # matfit/__init__ imports only _errors (explain lazily)
    sub, leaf = parts[1], parts[-1]
    if sub in ("cli", "demo", "__main__") or leaf == "_cli" or leaf.startswith("_cli_"):
        return "cli", 4
    if sub == "separate":
        return "separate", 3
    if sub in MODELS:
        return sub, 2
    if sub == "optim":
        return "optim", 1
    return "shared", 0


def wrong_way(edges: dict[str, set[str]]) -> list[str]:
    bad = []
    for a, targets in edges.items():
        ga, ra = layer(a)
        for b in targets:
            gb, rb = layer(b)
            if rb > ra or (ra == rb == 2 and ga != gb):
                bad.append(f"{a} ({ga}) imports {b} ({gb})")
    return sorted(bad)


def test_no_import_cycles():
    assert cycles(import_graph(SRC, "matfit")) == []


def test_imports_point_down_the_layers():
    edges = import_graph(SRC, "matfit")
    assert len(edges) > 90  # the whole package was read (99 modules in December 2026)
    assert wrong_way(edges) == []


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, "utf-8")


def test_the_checks_see_a_lazy_cycle_and_an_upward_import(tmp_path):
    # the shape of the old _nmf <-> _dask circle: one side imports the other inside a function
    _write(tmp_path, {
        "matfit/__init__.py": "",
        "matfit/shapes.py": "from .factorize import _nmf\n",  # shared -> model: upward
        "matfit/factorize/__init__.py": "from ._nmf import nmf\n",
        "matfit/factorize/_nmf.py": "def nmf():\n    from ._dask import run\n",
        "matfit/factorize/_dask.py": "from . import _nmf\nfrom ._nmf import nmf\nrun = 1\n",
        "matfit/recommend/__init__.py": "",
        "matfit/recommend/model.py": "from ..factorize._nmf import nmf\n",  # model -> model
        "matfit/recommend/_cli.py": "from .model import x\n",  # cli -> model: fine
    })
    edges = import_graph(tmp_path, "matfit")
    assert edges["matfit.factorize._nmf"] == {"matfit.factorize._dask"}
    assert cycles(edges) == [["matfit.factorize._dask", "matfit.factorize._nmf"]]
    assert wrong_way(edges) == [
        "matfit.recommend.model (recommend) imports matfit.factorize._nmf (factorize)",
        "matfit.shapes (shared) imports matfit.factorize._nmf (factorize)",
    ]


@pytest.mark.parametrize("name, expected", [
    ("matfit.optim._clip", ("optim", 1)),  # _clip is not a _cli module
    ("matfit.factorize._cli_missing", ("cli", 4)),
    ("matfit.recommend._cli", ("cli", 4)),
    ("matfit.separate.separator", ("separate", 3)),
    ("matfit.numerics", ("shared", 0)),
])
def test_layer_names(name, expected):
    assert layer(name) == expected
