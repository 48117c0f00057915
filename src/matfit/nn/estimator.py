"""``MLPClassifier`` and ``MLPRegressor``: scikit-learn estimators over ``Sequential`` + ``fit``.

The estimators follow scikit-learn's conventions (``__init__`` stores, ``fit`` validates and
sets trailing-underscore attributes, any hashable class labels, ``classes_``,
``predict_proba``, ``score``) and pass ``sklearn.utils.estimator_checks.check_estimator``.
Parameters keep scikit-learn's ``MLPClassifier`` names where they mean the same thing.

Differences from scikit-learn's MLP, on purpose:

* ``alpha`` is PyTorch-style L2 weight decay on every parameter (added to the gradient by the
  optimiser), not ``alpha / (2 n)`` times the squared kernel norm in the loss.
* ``batch_size="auto"`` is ``min(32, samples)``, not ``min(200, samples)``.
* Binary problems use two softmax outputs (the same as one sigmoid output, and one code path).
* ``MLPRegressor`` standardises the targets internally (and undoes it in ``predict``), so the
  default learning rate suits targets on any scale.
* Training is float32 by default (``dtype="float64"`` for full precision).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import DataError, InvalidParameterError
from .._estimator import (
    BaseEstimator,
    ClassifierMixin,
    RegressorMixin,
    as_2d_float,
    check_is_fitted,
    encode_class_labels,
    feature_names,
    validate_features,
)
from ..optim import sgd
from ..shapes import as_float_array
from ._batchnorm import BatchNorm
from ._layers import Dense, Dropout, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from ._model import Sequential
from ._train import fit as _fit
from ._train import predict_proba as _predict_proba

__all__ = ["MLPClassifier", "MLPRegressor"]

_ACTIVATIONS = {"relu": ReLU, "tanh": Tanh, "logistic": Sigmoid, "leaky_relu": LeakyReLU}
_INIT_FOR = {"relu": "he", "leaky_relu": "he", "tanh": "xavier", "logistic": "xavier"}
_SOLVERS = ("adam", "adamw", "sgd", "rmsprop", "adagrad")


class _BaseMLP(BaseEstimator):
    _loss = "cross_entropy"

    def __init__(self, hidden_layer_sizes: tuple[int, ...] = (100,), activation: str = "relu",
                 *, solver: str = "adam", alpha: float = 1e-4, batch_size: int | str = "auto",
                 learning_rate_init: float = 1e-3, max_iter: int = 200, tol: float = 1e-4,
                 n_iter_no_change: int = 10, early_stopping: bool = False,
                 validation_fraction: float = 0.1, momentum: float = 0.9,
                 batch_norm: bool = False, dropout: float = 0.0, dtype: str = "float32",
                 random_state: Any = None, verbose: int = 0) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.momentum = momentum
        self.batch_norm = batch_norm
        self.dropout = dropout
        self.dtype = dtype
        self.random_state = random_state
        self.verbose = verbose

    # -- validation ----------------------------------------------------------------------
    def _validate_params(self) -> None:
        cls = type(self).__name__
        sizes = self.hidden_layer_sizes
        sizes = (sizes,) if isinstance(sizes, (int, np.integer)) else tuple(sizes)
        if any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1
               for s in sizes):
            raise InvalidParameterError(f"{cls}(hidden_layer_sizes={self.hidden_layer_sizes!r}): "
                                        f"every size must be an integer >= 1.")
        if self.activation not in _ACTIVATIONS:
            raise InvalidParameterError(f"{cls}(activation={self.activation!r}): activation must "
                                        f"be one of {sorted(_ACTIVATIONS)}.")
        if self.solver not in _SOLVERS:
            raise InvalidParameterError(f"{cls}(solver={self.solver!r}): solver must be one of "
                                        f"{_SOLVERS}.")
        for name in ("alpha", "tol"):
            v = getattr(self, name)
            if not isinstance(v, (int, float, np.floating)) or not v >= 0:
                raise InvalidParameterError(f"{cls}({name}={v!r}): {name} must be >= 0.")
        if not (isinstance(self.learning_rate_init, (int, float)) and self.learning_rate_init > 0):
            raise InvalidParameterError(f"{cls}(learning_rate_init={self.learning_rate_init!r}): "
                                        f"must be a number > 0.")
        for name in ("max_iter", "n_iter_no_change"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise InvalidParameterError(f"{cls}({name}={v!r}): {name} must be an integer "
                                            f">= 1.")
        if not (self.batch_size == "auto" or (isinstance(self.batch_size, (int, np.integer))
                                              and self.batch_size >= 1)):
            raise InvalidParameterError(f"{cls}(batch_size={self.batch_size!r}): batch_size must "
                                        f"be 'auto' or an integer >= 1.")
        if not 0 < self.validation_fraction < 1:
            raise InvalidParameterError(f"{cls}(validation_fraction={self.validation_fraction!r})"
                                        f": must lie in (0, 1).")
        if not 0 <= self.dropout < 1:
            raise InvalidParameterError(f"{cls}(dropout={self.dropout!r}): must lie in [0, 1).")
        if np.dtype(self.dtype) not in (np.float32, np.float64):
            raise InvalidParameterError(f"{cls}(dtype={self.dtype!r}): dtype must be 'float32' "
                                        f"or 'float64'.")
        self._sizes = sizes

    def _check_X(self, X: Any, *, reset: bool) -> np.ndarray:
        names = feature_names(X)
        X = as_2d_float(X, "X", dtype=np.dtype(self.dtype), who="the MLP")
        validate_features(self, X, names, reset=reset)
        return X

    def _make_model(self, n_outputs: int, head: Any) -> Sequential:
        act, init = _ACTIVATIONS[self.activation], _INIT_FOR[self.activation]
        layers: list = []
        for units in self._sizes:
            layers.append(Dense(int(units), init=init))
            if self.batch_norm:
                layers.append(BatchNorm())
            layers.append(act())
            if self.dropout:
                layers.append(Dropout(self.dropout))
        layers.append(Dense(n_outputs, init="xavier"))
        if head is not None:
            layers.append(head)
        return Sequential(layers, dtype=np.dtype(self.dtype), seed=self._rng)

    def _train(self, X: np.ndarray, Y: np.ndarray, head: Any) -> None:
        seed = self.random_state
        if isinstance(seed, np.random.RandomState):  # scikit-learn style generator
            seed = seed.randint(2**31)
        self._rng = np.random.default_rng(seed)
        n_out = len(self.classes_) if self._loss == "cross_entropy" else Y.shape[1]
        model = self._make_model(n_out, head)
        validation = None
        if self.early_stopping:
            n_val = max(1, round(self.validation_fraction * X.shape[0]))
            if X.shape[0] - n_val < 2:
                raise DataError(f"{type(self).__name__}(early_stopping=True) needs at least "
                                f"{n_val + 2} samples to hold out validation_fraction="
                                f"{self.validation_fraction}.")
            perm = self._rng.permutation(X.shape[0])
            val, tr = perm[:n_val], perm[n_val:]
            validation = (X[val], Y[val])
            X, Y = X[tr], Y[tr]
        bs = min(32 if self.batch_size == "auto" else int(self.batch_size), X.shape[0])
        if self.solver == "sgd":
            optimizer: Any = sgd(self.learning_rate_init, momentum=self.momentum,
                                 weight_decay=self.alpha)
        else:
            optimizer = self.solver
        history = _fit(model, X, Y, loss=self._loss, optimizer=optimizer,
                       lr=self.learning_rate_init, epochs=int(self.max_iter), batch_size=bs,
                       validation_data=validation,
                       early_stopping={"patience": int(self.n_iter_no_change),
                                       "min_delta": float(self.tol),
                                       "restore_best": bool(self.early_stopping)},
                       weight_decay=self.alpha if self.solver != "sgd" else 0.0,
                       seed=self._rng, verbose=self.verbose)
        self.model_ = model
        self.loss_curve_ = list(history["loss"])
        self.loss_ = self.loss_curve_[-1]
        self.best_loss_ = float(min(self.loss_curve_))
        self.n_iter_ = len(self.loss_curve_)
        self.history_ = dict(history)
        if validation is not None:
            self.validation_scores_ = list(history.get("val_accuracy", history["val_loss"]))

    def _logits_model(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "model_")
        return self._check_X(X, reset=False)


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multi-layer perceptron classifier (softmax output, cross-entropy from logits).

    Parameters
    ----------
    hidden_layer_sizes : tuple of int
        Units of each hidden ``Dense`` layer.
    activation : {"relu", "tanh", "logistic", "leaky_relu"}
        Hidden activation; He init for ReLU-like, Xavier for tanh/logistic.
    solver : {"adam", "adamw", "sgd", "rmsprop", "adagrad"}
        Optimiser (``torch.optim`` arithmetic); "sgd" uses ``momentum``.
    alpha : float
        L2 weight decay.
    batch_size : int or "auto"
        ``min(32, samples)`` when "auto" (scikit-learn's ``min(200, samples)`` takes too few
        steps per epoch on small data sets).
    learning_rate_init : float
    max_iter : int
        Epochs at most.
    tol, n_iter_no_change : float, int
        Stop when the training loss (validation loss with ``early_stopping``) has not improved
        by ``tol`` for ``n_iter_no_change`` epochs.
    early_stopping : bool
        Hold out ``validation_fraction`` of the data and restore the best epoch's weights.
    validation_fraction : float
    momentum : float
        For ``solver="sgd"``.
    batch_norm : bool
        Insert ``BatchNorm`` after each hidden ``Dense``.
    dropout : float
        Dropout probability after each hidden activation (0: none).
    dtype : {"float32", "float64"}
    random_state : int, Generator or None
    verbose : int

    Attributes
    ----------
    classes_ : ndarray, shape (classes,)
    model_ : Sequential
    loss_curve_ : list of float
    n_iter_ : int
    n_features_in_ : int

    Examples
    --------
    >>> from matfit.data import load_digits            # embedded: runs with no extra installed
    >>> X, y = load_digits()
    >>> clf = MLPClassifier((32,), max_iter=30, random_state=0).fit(X[:1000] / 16, y[:1000])
    >>> clf.score(X[1000:] / 16, y[1000:]) > 0.9         # accuracy on the 797 held-out digits
    True
    """

    _loss = "cross_entropy"

    def fit(self, X: Any, y: Any) -> MLPClassifier:
        """Fit on X (samples, features) and labels y (samples,) of any hashable type."""
        self._validate_params()
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y "
                             f"is None.")
        X = self._check_X(X, reset=True)
        self.classes_, index = encode_class_labels(self, X, y, min_classes=1,
                                                   regressor="MLPRegressor")
        self._train(X, index.astype(np.intp), Softmax())
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (samples, classes), columns in ``classes_`` order."""
        X = self._logits_model(X)
        return _predict_proba(self.model_, X)

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Log of :meth:`predict_proba`, from log-softmax (finite even where proba is 0)."""
        from ..numerics import log_softmax
        from ._train import _head, _logits

        X = self._logits_model(X)
        return log_softmax(_logits(self.model_, X, _head(self.model_, self.model_.loss_)),
                           axis=1)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each sample."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def __sklearn_tags__(self):  # pragma: no cover - only with scikit-learn
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        return tags


class MLPRegressor(RegressorMixin, _BaseMLP):
    """Multi-layer perceptron regressor (linear output, mean squared error).

    Parameters are those of :class:`MLPClassifier`. Targets are standardised internally.

    Attributes
    ----------
    model_ : Sequential
    loss_curve_ : list of float
        Training loss on the standardised targets.
    n_iter_ : int
    n_features_in_ : int
    """

    _loss = "mean_squared_error"

    def fit(self, X: Any, y: Any) -> MLPRegressor:
        """Fit on X (samples, features) and y (samples,) or (samples, targets)."""
        self._validate_params()
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y "
                             f"is None.")
        X = self._check_X(X, reset=True)
        y_arr = np.asarray(y)
        if y_arr.dtype.kind == "c":
            raise DataError("Complex data not supported: y is complex.")
        if y_arr.dtype.kind == "O":
            y_arr = y_arr.astype(np.float64)
        Y = as_float_array(y_arr, "y", dtype=np.float64)
        if Y.ndim not in (1, 2):
            raise ValueError(f"y must be 1-D or 2-D, got shape {Y.shape}.")
        if Y.shape[0] != X.shape[0]:
            raise ValueError(f"X has {X.shape[0]} samples but y has {Y.shape[0]}; they must "
                             f"match.")
        self._y_1d = Y.ndim == 1
        Y2 = Y[:, None] if Y.ndim == 1 else Y
        self._y_mean = Y2.mean(axis=0)
        std = Y2.std(axis=0)
        self._y_scale = np.where(std > 0, std, 1.0)
        Z = ((Y2 - self._y_mean) / self._y_scale).astype(np.dtype(self.dtype))
        self._train(X, Z, None)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predicted targets, shape (samples,) or (samples, targets) as y was in fit."""
        from ._train import _logits

        X = self._logits_model(X)
        Z = _logits(self.model_, X, None).astype(np.float64)
        out = Z * self._y_scale + self._y_mean
        return out[:, 0] if self._y_1d else out

    def __sklearn_tags__(self):  # pragma: no cover - only with scikit-learn
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags
