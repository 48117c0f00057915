"""matfit's warnings and NotFittedError are scikit-learn's too, without importing scikit-learn."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import matfit

sklearn_exceptions = pytest.importorskip("sklearn.exceptions")


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                         text=True, check=False, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_classes_are_sklearn_subclasses():
    assert issubclass(matfit.ConvergenceWarning, sklearn_exceptions.ConvergenceWarning)
    assert issubclass(matfit.DataConversionWarning, sklearn_exceptions.DataConversionWarning)
    assert issubclass(matfit.NotFittedError, sklearn_exceptions.NotFittedError)
    assert issubclass(matfit.NotFittedError, matfit.MatfitError)
    assert issubclass(matfit.NotFittedError, ValueError)
    assert issubclass(matfit.NotFittedError, AttributeError)


def test_sklearn_filter_silences_matfit_convergence_warning():
    from matfit.linear import LogisticRegression

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 3)), rng.integers(0, 2, 40)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=sklearn_exceptions.ConvergenceWarning)
        LogisticRegression(max_iter=1).fit(X, y)          # would raise under "error"
    with warnings.catch_warnings(), pytest.raises(sklearn_exceptions.ConvergenceWarning,
                                                  match="lbfgs failed to converge"):
        warnings.simplefilter("error", sklearn_exceptions.ConvergenceWarning)
        LogisticRegression(max_iter=1).fit(X, y)


def test_sklearn_except_catches_matfit_not_fitted():
    from matfit.linear import LinearRegression
    from matfit.nn import Sequential

    with pytest.raises(sklearn_exceptions.NotFittedError, match="not fitted yet"):
        LinearRegression().predict(np.zeros((2, 2)))
    with pytest.raises(sklearn_exceptions.NotFittedError, match="not built yet"):
        _ = Sequential([matfit.nn.Dense(2)]).params


@pytest.mark.parametrize("order", ["matfit first", "sklearn first"])
def test_either_import_order_in_a_fresh_interpreter(order):
    imports = ("import matfit\nimport sklearn.exceptions as se" if order == "matfit first"
               else "import sklearn.exceptions as se\nimport matfit")
    out = _run(f"""
        import sys, warnings
        {imports.splitlines()[0]}
        {imports.splitlines()[1]}
        from matfit.linear import logistic_regression
        import numpy as np
        rng = np.random.default_rng(0)
        X, y = rng.standard_normal((40, 3)), rng.integers(0, 2, 40)
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=se.ConvergenceWarning)
        logistic_regression(X, y, 2, max_iter=1)
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            logistic_regression(X, y, 2, max_iter=1)
        assert [w.category for w in seen] == [matfit.ConvergenceWarning], seen
        print(issubclass(matfit.ConvergenceWarning, se.ConvergenceWarning),
              issubclass(matfit.NotFittedError, se.NotFittedError))
    """)
    assert out == "True True"


def test_import_matfit_does_not_import_sklearn():
    out = _run("""
        import sys
        import matfit, matfit.shapes, matfit.numerics
        print('sklearn' in sys.modules, matfit.ConvergenceWarning.__mro__[1].__name__)
    """)
    assert out == "False _WarningBase"
