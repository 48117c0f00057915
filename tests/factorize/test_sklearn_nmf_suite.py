"""scikit-learn's own NMF test suite, run against matfit's ``NMF``.

The tests are not copied: this module imports the installed
``sklearn/decomposition/tests/test_nmf.py`` and rebuilds each of its test functions with the
same code and a module namespace in which ``NMF`` is :class:`matfit.factorize.NMF` (the one
line a user changes to swap the libraries). Parametrisation marks are kept, with scikit-learn's
``NMF`` class replaced by matfit's wherever a test is parametrised over the estimator class.

What is left out, and why (none of it is counted as a pass or a failure):

* parameter sets and tests about ``MiniBatchNMF`` (a different estimator, which matfit does not
  offer);
* tests of scikit-learn's private helpers (``_initialize_nmf``, ``_beta_divergence``,
  ``_special_sparse_dot``): they never reach ``NMF``;
* tests that call only scikit-learn's function ``non_negative_factorization``: with the class
  substituted they would still test scikit-learn alone, and pass whatever matfit does.

Every test that stays must pass, except the deliberate differences in ``DIFFERENCES`` below
(strict xfails, so one that starts passing is reported).

scikit-learn runs this file with its own warning policy: Deprecation/FutureWarnings are errors,
other warnings are shown (a ConvergenceWarning from a 200-iteration smoke test is no failure).
The module mark below restores that policy over this project's ``filterwarnings = error``.
"""

from __future__ import annotations

import types
from typing import Any

import pytest

pytest.importorskip("sklearn")
sk_test_nmf = pytest.importorskip("sklearn.decomposition.tests.test_nmf")

from sklearn.decomposition import NMF as SkNMF  # noqa: E402
from sklearn.decomposition import MiniBatchNMF  # noqa: E402

from matfit.factorize import NMF  # noqa: E402

pytestmark = [pytest.mark.filterwarnings("default::UserWarning"),
              pytest.mark.filterwarnings("default::RuntimeWarning")]

# ---- out of scope (see the module docstring) -------------------------------------------------
MINIBATCH_ONLY = {
    "test_minibatch_nmf_transform", "test_mbnmf_inverse_transform",
    "test_minibatch_nmf_negative_beta_loss", "test_nmf_minibatchnmf_equivalence",
    "test_minibatch_nmf_partial_fit", "test_minibatch_nmf_verbose",
}
PRIVATE_HELPERS = {
    "test_initialize_nn_output", "test_initialize_close", "test_initialize_variants",
    "test_beta_divergence", "test_special_sparse_dot", "test_nmf_underflow",
}
FUNCTION_ONLY = {  # call sklearn's non_negative_factorization and never NMF
    "test_non_negative_factorization_checking", "test_nmf_multiplicative_update_sparse",
    "test_nmf_negative_beta_loss", "test_nmf_decreasing",
    "test_nmf_non_negative_factorization_n_components_auto",
    "test_nmf_n_components_auto_no_h_update", "test_nmf_w_h_not_used_warning",
}
OUT_OF_SCOPE = MINIBATCH_ONLY | PRIVATE_HELPERS | FUNCTION_ONLY

# ---- deliberate differences: test id prefix -> why matfit's choice serves users better --------
DIFFERENCES: dict[str, str] = {}


def _is_sklearn_class(value: Any, cls: type) -> bool:
    return isinstance(value, type) and issubclass(value, cls)


def _swap(value: Any) -> Any:
    """scikit-learn's NMF -> matfit's, inside a parameter value (tuples and lists too)."""
    if value is SkNMF:
        return NMF
    if isinstance(value, (list, tuple)):
        return type(value)(_swap(v) for v in value)
    return value


def _mentions(value: Any, cls: type) -> bool:
    if _is_sklearn_class(value, cls):
        return True
    if isinstance(value, (list, tuple)):
        return any(_mentions(v, cls) for v in value)
    return False


def _marks(func: Any) -> tuple[list, int]:
    """The function's marks with NMF swapped and MiniBatchNMF parameter sets dropped."""
    marks, dropped = [], 0
    for mark in getattr(func, "pytestmark", []):
        if mark.name != "parametrize":
            marks.append(mark)
            continue
        names, values = mark.args[0], mark.args[1]
        kept = [_swap(v) for v in values if not _mentions(v, MiniBatchNMF)]
        dropped_here = len(values) - len(kept)
        dropped = dropped * (len(kept) or 1) + dropped_here if dropped else dropped_here
        marks.append(pytest.mark.parametrize(names, kept, **mark.kwargs).mark)
    return marks, dropped


def _rebuild(name: str, func: Any, namespace: dict) -> Any:
    new = types.FunctionType(func.__code__, namespace, name, func.__defaults__,
                             func.__closure__)
    new.__doc__, new.__module__ = func.__doc__, __name__
    new.__kwdefaults__ = func.__kwdefaults__
    marks, _ = _marks(func)
    new.pytestmark = marks
    return new


def _namespace() -> dict:
    namespace = dict(vars(sk_test_nmf))
    namespace["NMF"] = NMF
    return namespace


_NAMESPACE = _namespace()
IN_SCOPE: list[str] = []
for _name, _func in sorted(vars(sk_test_nmf).items()):
    if not (_name.startswith("test_") and isinstance(_func, types.FunctionType)):
        continue
    if _name in OUT_OF_SCOPE:
        continue
    IN_SCOPE.append(_name)
    globals()[_name] = _rebuild(_name, _func, _NAMESPACE)


def pytest_collection_modifyitems_hook(items):  # pragma: no cover - documentation only
    """(Deliberate differences are applied as strict xfails by the conftest hook below.)"""


@pytest.fixture(autouse=True)
def _deliberate_differences(request):
    for prefix, why in DIFFERENCES.items():
        if request.node.name.startswith(prefix):
            request.applymarker(pytest.mark.xfail(reason=why, strict=True))


def test_the_suite_is_complete():
    """Every sklearn test is either rebuilt here or named as out of scope (none goes missing)."""
    sk_names = {n for n, f in vars(sk_test_nmf).items()
                if n.startswith("test_") and isinstance(f, types.FunctionType)}
    assert OUT_OF_SCOPE <= sk_names, OUT_OF_SCOPE - sk_names
    assert sk_names == set(IN_SCOPE) | OUT_OF_SCOPE
    assert len(IN_SCOPE) >= 18
    for prefix in DIFFERENCES:
        assert prefix.split("[")[0] in IN_SCOPE, prefix
    assert len(DIFFERENCES) <= 10
