"""scikit-learn's shared imputer tests, run against matfit's ``NMFImputer``.

The tests are not copied: this module imports the installed
``sklearn/impute/tests/test_common.py``, whose tests are parametrised over the list its
``imputers()`` returns (IterativeImputer, KNNImputer, SimpleImputer), and rebuilds each test
with the same code in a namespace where that list holds matfit's ``NMFImputer`` instead (the way
test_sklearn_nmf_suite.py runs scikit-learn's NMF tests).

Which of them apply to a non-negative imputer: all the dense ones. Their data are non-negative
except the placeholder ``-1`` of ``missing_values=-1``, which is missing and never reaches the
arithmetic. Left out, and why (not counted as passes or failures):

* ``test_imputers_add_indicator_sparse`` runs ``sparse_imputers()`` (SimpleImputer only) on a
  CSR matrix: NMFImputer refuses sparse X on purpose, because an unstored entry of a sparse
  matrix is a zero, not a missing value (``nmf(X.T, weights="stored")`` is the ratings view).
  That refusal is tested in test_nmf_imputer_edges.py.
"""

from __future__ import annotations

import types
from typing import Any

import numpy as np
import pytest

pytest.importorskip("sklearn")
sk_test_common = pytest.importorskip("sklearn.impute.tests.test_common")

from matfit.factorize import NMFImputer  # noqa: E402

# the suite's arrays are 4 x 5 or smaller: a rank-1 model fits every one of them
pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning")]

SPARSE_ONLY = {"test_imputers_add_indicator_sparse"}


def _imputers() -> list[Any]:
    return [NMFImputer(1, max_iter=200, random_state=0)]


def _marks(func: Any) -> list:
    marks = []
    for mark in getattr(func, "pytestmark", []):
        if mark.name == "parametrize" and mark.args[0] == "imputer":
            mark = pytest.mark.parametrize("imputer", _imputers(),
                                           ids=lambda est: type(est).__name__).mark
        marks.append(mark)
    return marks


def _rebuild(name: str, func: Any, namespace: dict) -> Any:
    new = types.FunctionType(func.__code__, namespace, name, func.__defaults__,
                             func.__closure__)
    new.__doc__, new.__module__ = func.__doc__, __name__
    new.__kwdefaults__ = func.__kwdefaults__
    new.pytestmark = _marks(func)
    return new


_NAMESPACE = dict(vars(sk_test_common))
_NAMESPACE["imputers"] = _imputers
IN_SCOPE: list[str] = []
for _name, _func in sorted(vars(sk_test_common).items()):
    if not (_name.startswith("test_") and isinstance(_func, types.FunctionType)):
        continue
    if _name in SPARSE_ONLY:
        continue
    IN_SCOPE.append(_name)
    globals()[_name] = _rebuild(_name, _func, _NAMESPACE)


def test_the_suite_is_complete_and_runs_matfits_imputer():
    sk_names = {n for n, f in vars(sk_test_common).items()
                if n.startswith("test_") and isinstance(f, types.FunctionType)}
    assert sk_names == set(IN_SCOPE) | SPARSE_ONLY
    assert len(IN_SCOPE) >= 6
    rebuilt = globals()["test_keep_empty_features"]
    assert rebuilt.__code__ is sk_test_common.test_keep_empty_features.__code__
    (param,) = [m for m in rebuilt.pytestmark
                if m.name == "parametrize" and m.args[0] == "imputer"]
    assert {type(est) for est in param.args[1]} == {NMFImputer}


def test_indicator_matches_sklearns_missing_indicator():
    # indicator_ is what scikit-learn's imputers expose: features_ and transform agree with a
    # MissingIndicator fitted on the same X (features="missing-only", error_on_new=False)
    from sklearn.impute import MissingIndicator

    rng = np.random.default_rng(0)
    X = rng.random((20, 6))
    X[rng.random(X.shape) < 0.2] = np.nan
    X[:, 2] = rng.random(20)  # no missing entry in this feature
    Xnew = rng.random((5, 6))
    Xnew[0, 2] = np.nan       # missing in a feature that had none in fit
    imp = NMFImputer(2, add_indicator=True, random_state=0).fit(X)
    ref = MissingIndicator(error_on_new=False).fit(X)
    np.testing.assert_array_equal(imp.indicator_.features_, ref.features_)
    np.testing.assert_array_equal(imp.indicator_.transform(Xnew), ref.transform(Xnew))
    assert NMFImputer(2, random_state=0).fit(X).indicator_ is None
