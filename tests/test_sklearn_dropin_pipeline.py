"""A scikit-learn script (Pipeline + GridSearchCV over NMF and LogisticRegression) runs unchanged
with matfit's imports, and finds a model about as good as scikit-learn's."""

from __future__ import annotations

import json
import pickle
import textwrap
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")
from threadpoolctl import threadpool_limits

SKLEARN_IMPORTS = """
from sklearn.decomposition import NMF
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.neural_network import MLPClassifier
"""
MATFIT_IMPORTS = """
from matfit.factorize import NMF
from matfit.linear import LinearRegression, LogisticRegression
from matfit.nn import MLPClassifier
"""

# The user's script, verbatim but for the import block above. It silences convergence warnings
# the usual way (scikit-learn's class), and the test runs under filterwarnings=error, so a
# matfit warning that escaped that filter would fail it.
SCRIPT = textwrap.dedent("""
    import warnings
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import GridSearchCV, train_test_split
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import MinMaxScaler, StandardScaler
    {imports}
    warnings.filterwarnings("ignore", category=ConvergenceWarning)

    X, y = load_digits(return_X_y=True)
    X, y = X[:900], y[:900]
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)
    if PIPELINE == "logistic":
        pipe = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(max_iter=500))])
        grid = {{"clf__C": [0.01, 1.0], "clf__class_weight": [None, "balanced"]}}
    elif PIPELINE == "nmf+logistic":
        pipe = Pipeline([("scale", MinMaxScaler()),
                         ("nmf", NMF(n_components=10, init="nndsvda", max_iter=300,
                                     random_state=0)),
                         ("clf", LogisticRegression(max_iter=500))])
        grid = {{"nmf__n_components": [8, 16], "clf__C": [0.1, 10.0]}}
    elif PIPELINE == "nmf(cd)+logistic":
        pipe = Pipeline([("scale", MinMaxScaler()),
                         ("nmf", NMF(n_components=10, solver="cd", max_iter=300,
                                     random_state=0)),
                         ("clf", LogisticRegression(max_iter=500))])
        grid = {{"nmf__n_components": [8, 16], "clf__C": [0.1, 10.0]}}
    elif PIPELINE == "mlp":
        pipe = Pipeline([("scale", StandardScaler()),
                         ("clf", MLPClassifier((32,), max_iter=60, random_state=0))])
        grid = {{"clf__alpha": [1e-4, 1e-2]}}
    search = GridSearchCV(pipe, grid, cv=3, scoring="accuracy")
    search.fit(X_train, y_train)
    proba = search.predict_proba(X_test)
    reg = LinearRegression().fit(X_train, y_train, sample_weight=np.ones(len(y_train)))
    RESULT = {{"best_params": search.best_params_, "test_score": search.score(X_test, y_test),
               "proba_sum": float(np.abs(proba.sum(axis=1) - 1).max()),
               "regression_r2": reg.score(X_test, y_test)}}
""")


def _run(imports: str, pipeline: str) -> tuple[dict, object]:
    namespace: dict = {"PIPELINE": pipeline}
    with threadpool_limits(1, "blas"):
        exec(compile(SCRIPT.format(imports=imports), "<user script>", "exec"), namespace)
    return namespace["RESULT"], namespace["search"]


@pytest.mark.parametrize("pipeline", ["logistic", "nmf+logistic", "nmf(cd)+logistic", "mlp"])
def test_script_runs_unchanged_with_matfit_imports(pipeline):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning)   # scikit-learn's own
        ref, ref_search = _run(SKLEARN_IMPORTS, pipeline)
    ours, search = _run(MATFIT_IMPORTS, pipeline)
    assert type(search.best_estimator_[-1]).__module__.startswith("matfit.")
    # the grid's cross-validated accuracies, point by point: the convex logistic model agrees
    # with scikit-learn's to a few test samples; NMF and the MLP start elsewhere and may not
    # find the same factors or weights, so there only "not worse"
    assert search.cv_results_["params"] == ref_search.cv_results_["params"]
    cv, cv_ref = search.cv_results_["mean_test_score"], ref_search.cv_results_["mean_test_score"]
    if pipeline == "logistic":
        np.testing.assert_allclose(cv, cv_ref, rtol=0, atol=0.005)
    else:
        assert np.all(cv > cv_ref - 0.05), (cv, cv_ref)
    assert ours["proba_sum"] < 1e-6
    assert ours["test_score"] > ref["test_score"] - 0.05, (ours, ref)
    assert ours["regression_r2"] == pytest.approx(ref["regression_r2"], rel=1e-8)
    # the fitted pipeline survives pickling (joblib's n_jobs > 1 and model files need it)
    back = pickle.loads(pickle.dumps(search.best_estimator_))
    X = np.random.default_rng(0).uniform(0, 16, (5, 64))
    np.testing.assert_allclose(back.predict_proba(X), search.best_estimator_.predict_proba(X))
    json.dumps(ours, default=str)
