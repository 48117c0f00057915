"""Multiclass logistic regression: one-vs-all or softmax, and the bug of mixing them up.

Question: I wrote multiclass logistic regression from scratch. Should I train one sigmoid model
per class (one-vs-all) or one softmax model, and why do my probabilities not match
scikit-learn's?

Answer:
* They are two different models. One-vs-all fits K independent binary models (class k against
  the rest); its K sigmoid outputs do not sum to 1, so they are normalised afterwards.
  Multinomial (softmax) fits one model whose K logits share a single normalisation; its
  coefficients are defined only up to a common shift, which the L2 penalty pins down.
* The usual bug is to mix them: train one-vs-all and then apply a softmax to its scores (or
  train a softmax and read per-class sigmoids). The predicted class is often the same, but the
  probabilities then belong to neither model (here they differ from both by 0.25 to 0.39).
* ``matfit.linear.LogisticRegression(multi_class="multinomial")`` is scikit-learn's
  ``LogisticRegression``; ``multi_class="ovr"`` is ``OneVsRestClassifier(LogisticRegression())``.

Checked: both against scikit-learn (coefficients to 1e-6 against its ``newton-cholesky`` solver
at tol 1e-12; scikit-learn's ``lbfgs`` cannot be made tighter than about 1e-6 here), held-out
accuracy, and the mixed-up probabilities shown to differ from both models.
Run: ``python examples/multiclass_logistic.py`` (about a second).
"""

from __future__ import annotations

import json
import sys

import numpy as np

from matfit.linear import LogisticRegression
from matfit.numerics import log_softmax, softmax


def main() -> dict:
    try:
        from sklearn.datasets import load_iris
        from sklearn.linear_model import LogisticRegression as SkLogisticRegression
        from sklearn.multiclass import OneVsRestClassifier
    except ImportError:
        print("scikit-learn is needed for the iris data and the reference models")
        sys.exit(77)

    X, y = load_iris(return_X_y=True)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(y))
    train, test = order[:100], order[100:]
    mean, std = X[train].mean(axis=0), X[train].std(axis=0)
    Xtr, Xte = (X[train] - mean) / std, (X[test] - mean) / std
    names = np.array(["setosa", "versicolor", "virginica"])
    ytr, yte = names[y[train]], names[y[test]]  # any hashable labels work

    softmax_model = LogisticRegression("multinomial", C=1.0).fit(Xtr, ytr)
    ovr_model = LogisticRegression("ovr", C=1.0).fit(Xtr, ytr)

    sk_kwargs = {"C": 1.0, "tol": 1e-12, "max_iter": 10_000, "solver": "newton-cholesky"}
    sk_softmax = SkLogisticRegression(**sk_kwargs).fit(Xtr, ytr)
    sk_ovr = OneVsRestClassifier(SkLogisticRegression(**sk_kwargs)).fit(Xtr, ytr)
    d_softmax = float(np.max(np.abs(softmax_model.coef_ - sk_softmax.coef_)))
    d_ovr = float(np.max(np.abs(ovr_model.coef_ - np.vstack([e.coef_ for e in
                                                              sk_ovr.estimators_]))))
    print(f"softmax coefficients vs scikit-learn: max |diff| = {d_softmax:.1e}")
    print(f"one-vs-rest coefficients vs OneVsRestClassifier: max |diff| = {d_ovr:.1e}")
    assert d_softmax < 1e-6 and d_ovr < 1e-6
    p_diff = np.abs(softmax_model.predict_proba(Xte) - sk_softmax.predict_proba(Xte))
    assert float(np.max(p_diff)) < 1e-7

    acc_softmax = float(np.mean(softmax_model.predict(Xte) == yte))
    acc_ovr = float(np.mean(ovr_model.predict(Xte) == yte))
    print(f"held-out accuracy: softmax {acc_softmax:.3f}, one-vs-rest {acc_ovr:.3f}")
    assert acc_softmax >= 0.9 and acc_ovr >= 0.85

    # the mix-up: one-vs-rest scores pushed through a softmax
    scores = ovr_model.decision_function(Xte)
    mixed = softmax(scores, axis=1)
    right_ovr = ovr_model.predict_proba(Xte)
    right_softmax = softmax_model.predict_proba(Xte)
    gap_ovr = float(np.max(np.abs(mixed - right_ovr)))
    gap_softmax = float(np.max(np.abs(mixed - right_softmax)))
    idx = np.searchsorted(softmax_model.classes_, yte)
    nll = {
        "softmax": -float(np.mean(log_softmax(softmax_model.decision_function(Xte), axis=1)
                                  [np.arange(len(idx)), idx])),
        "ovr": -float(np.mean(np.log(right_ovr[np.arange(len(idx)), idx]))),
        "mixed_up": -float(np.mean(np.log(mixed[np.arange(len(idx)), idx]))),
    }
    print(f"softmax of one-vs-rest scores differs from the one-vs-rest probabilities by up to "
          f"{gap_ovr:.2f} and from the softmax model's by up to {gap_softmax:.2f}")
    print(f"held-out log-loss: softmax {nll['softmax']:.3f}, one-vs-rest {nll['ovr']:.3f}, "
          f"mixed-up {nll['mixed_up']:.3f}")
    assert gap_ovr > 0.05 and gap_softmax > 0.05

    return {"coef_diff_softmax": d_softmax, "coef_diff_ovr": d_ovr,
            "accuracy_softmax": acc_softmax, "accuracy_ovr": acc_ovr,
            "mixed_up_prob_gap_vs_ovr": gap_ovr, "mixed_up_prob_gap_vs_softmax": gap_softmax,
            "log_loss": nll}


if __name__ == "__main__":
    print(json.dumps(main()))
