"""``%load_ext matfit.explain`` in a real Jupyter kernel (one kernel start for the module).

The notebook is executed by nbclient on an ipykernel kernel, as Jupyter runs it. The explanation
must name cells as IPython's own traceback does (``Cell In[3], line 2``), and follow an operand
back into the earlier cell that gave it its shape.
"""

from __future__ import annotations

import re

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning",
                                        "ignore::ResourceWarning",
                                        "ignore::pytest.PytestUnraisableExceptionWarning")


@pytest.fixture(scope="module")
def executed():
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(cells=[
        new_code_cell("%load_ext matfit.explain"),
        new_code_cell("import numpy as np\nrng = np.random.default_rng(0)\n"
                      "W = rng.random((513, 60))"),
        new_code_cell("num_components = 131\nH = rng.random((num_components, 129))\n"
                      "V = W @ H"),
        new_code_cell("x = np.ones(5)\nx[np.ones(3, bool)]"),
        new_code_cell("ok = (W @ W.T).shape\nok"),
    ])
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                     allow_errors=True)
    client.execute()
    return nb


def _stderr(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs
                   if o.output_type == "stream" and o.name == "stderr")


def _error(cell):
    return next(o for o in cell.outputs if o.output_type == "error")


def test_cell_is_named_as_ipython_names_it(executed):
    cell = executed.cells[2]
    err = _stderr(cell)
    assert "matfit explain: ValueError: matmul" in err
    assert "  Cell In[3], line 3" in err
    assert "W  shape (513, 60)" in err and "H  shape (131, 129)" in err
    assert "Cell In[3], line 2: `H = rng.random((num_components, 129))`" in err
    assert "`num_components` = 131, set by hand on line 1" in err
    assert "Cell In[2], line 3: `W = rng.random((513, 60))`" in err  # set by an earlier cell
    # IPython's own traceback still follows, and names the same cell
    assert _error(cell)["ename"] == "ValueError"
    plain = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in _error(cell)["traceback"]]
    assert any("Cell In[3], line 3" in line for line in plain)


def test_boolean_index_error_in_a_cell(executed):
    err = _stderr(executed.cells[3])
    assert "boolean mask" in err and "Cell In[4], line 2" in err


def test_cells_that_work_are_untouched(executed):
    cell = executed.cells[4]
    assert not _stderr(cell)
    assert cell.outputs[0]["data"]["text/plain"] == "(513, 513)"
