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

Prediction runs the trained weights in float64 whatever ``dtype`` trained them: float32 BLAS
kernels sum in an order that depends on how many rows a call gets, so a float32 forward pass
gives a sample a different last digit alone than inside a batch (scikit-learn's
``check_methods_subset_invariance``); in float64 that difference is ~1e-16. Outputs are float32
for float32 X (float32 stays float32; a float32 model then predicts in float32, at float32 speed
and with float32's last-digit batch effects), else float64.
``predict_log_proba`` is the log-softmax of those float64 logits and ``predict_proba`` its
``exp``, so ``log(predict_proba)`` agrees with ``predict_log_proba`` to float64 precision even
where a probability is within 1e-8 of 1 (a float32 probability would round it to 1, log 0).
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
from ..numerics import log_softmax
from ..optim import sgd
from ..shapes import as_float_array
from ._batchnorm import BatchNorm
from ._layers import Dense, Dropout, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from ._model import Sequential
from ._train import _head, _logits, _make_optimizer
from ._train import fit as _fit

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

    def _new_model(self, n_features: int, n_out: int, head: Any) -> None:
        """A freshly initialised ``model_`` and the optimiser whose state partial_fit keeps."""
        seed = self.random_state
        if isinstance(seed, np.random.RandomState):  # scikit-learn style generator
            seed = seed.randint(2**31)
        self._rng = np.random.default_rng(seed)
        model = self._make_model(n_out, head)
        model.build(n_features)
        for layer in model.layers:          # dropout draws from the model's generator
            if hasattr(layer, "rng"):
                layer.rng = model.rng
        self.model_ = model
        self._optimizer = self._make_optimizer()
        self.loss_curve_ = []
        self.history_ = {}

    def _make_optimizer(self) -> Any:
        if self.solver == "sgd":
            optimizer: Any = sgd(self.learning_rate_init, momentum=self.momentum,
                                 weight_decay=self.alpha)
        else:
            optimizer = self.solver
        return _make_optimizer(optimizer, self.model_, self.learning_rate_init,
                               self.alpha if self.solver != "sgd" else 0.0)

    def __getstate__(self) -> dict:
        # the optimiser is made of closures, which pickle cannot store: an unpickled estimator
        # predicts the same, and a partial_fit after unpickling starts a fresh optimiser state
        parent = getattr(super(), "__getstate__", None)
        state = dict(parent() if parent is not None else self.__dict__)
        state.pop("_optimizer", None)
        return state

    def _train(self, X: np.ndarray, Y: np.ndarray, head: Any, *,
               incremental: bool = False) -> None:
        n_out = len(self.classes_) if self._loss == "cross_entropy" else Y.shape[1]
        if not incremental or not hasattr(self, "model_"):
            self._new_model(X.shape[1], n_out, head)
        model = self.model_
        if getattr(self, "_optimizer", None) is None:  # unpickled: see __getstate__
            self._optimizer = self._make_optimizer()
        validation = None
        if self.early_stopping and not incremental:
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
        stopping = None if incremental else {"patience": int(self.n_iter_no_change),
                                             "min_delta": float(self.tol),
                                             "restore_best": bool(self.early_stopping)}
        history = _fit(model, X, Y, loss=self._loss, optimizer=self._optimizer,
                       lr=self.learning_rate_init, epochs=1 if incremental else int(self.max_iter),
                       batch_size=bs, validation_data=validation, early_stopping=stopping,
                       seed=self._rng, verbose=self.verbose)
        self.loss_curve_ = [*self.loss_curve_, *history["loss"]]
        self.loss_ = self.loss_curve_[-1]
        self.best_loss_ = float(min(self.loss_curve_))
        self.n_iter_ = len(self.loss_curve_)
        self.history_ = {k: [*self.history_.get(k, []), *v] for k, v in history.items()}
        if validation is not None:
            self.validation_scores_ = list(history.get("val_accuracy", history["val_loss"]))

    def _scores(self, X: Any) -> tuple[np.ndarray, np.dtype]:
        """Float64 logits (regression outputs) of X, and the dtype the caller's answer takes.

        The weights run in float64 (see the module notes): a sample's prediction does not depend
        on the batch it comes in.
        """
        check_is_fitted(self, "model_")
        names = feature_names(X)
        X = as_2d_float(X, "X", who="the MLP")
        validate_features(self, X, names, reset=False)
        out_dtype = np.dtype(np.float32 if X.dtype == np.float32 else np.float64)
        model = self.model_
        if out_dtype == np.float32 and model.dtype == np.float32:
            # float32 in, float32 out: float32 speed (last-digit batch effects are within the
            # answer's own rounding)
            z = _logits(model, X, _head(model, model.loss_)).astype(np.float64)
            return z, out_dtype
        if model.dtype != np.float64:
            model = model.inference_copy(np.float64)
        z = _logits(model, X.astype(np.float64, copy=False), _head(model, model.loss_))
        return z, out_dtype


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

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> MLPClassifier:
        """One epoch over (X, y), continuing from the current weights and optimiser state.

        Parameters
        ----------
        X : array_like, shape (samples, features)
        y : array_like, shape (samples,)
        classes : array_like, shape (classes,)
            Every class label; required on the first call (as in scikit-learn), optional
            afterwards (it must then equal ``classes_``).
        """
        first = not hasattr(self, "model_")
        cls = type(self).__name__
        if first:
            self._validate_params()
            if classes is None:
                raise ValueError(f"classes must be passed on the first call to "
                                 f"{cls}.partial_fit, e.g. classes=np.unique(y_all).")
            self.classes_ = np.unique(np.asarray(classes))
        elif classes is not None and not np.array_equal(np.unique(np.asarray(classes)),
                                                         self.classes_):
            raise ValueError(f"`classes={np.asarray(classes)!r}` is not the same as on the "
                             f"first call to partial_fit ({self.classes_!r}).")
        X = self._check_X(X, reset=first)
        seen, index = encode_class_labels(self, X, y, min_classes=1, regressor="MLPRegressor")
        unknown = ~np.isin(seen, self.classes_)
        if np.any(unknown):
            raise ValueError(f"y has labels {seen[unknown].tolist()} that are not in classes "
                             f"{self.classes_.tolist()} given on the first call to "
                             f"partial_fit.")
        target = np.searchsorted(self.classes_, seen)[index].astype(np.intp)
        self._train(X, target, Softmax(), incremental=True)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (samples, classes), columns in ``classes_`` order.

        ``exp`` of :meth:`predict_log_proba`; float32 for float32 X, else float64.
        """
        logp, dtype = self._log_proba(X)
        return np.exp(logp).astype(dtype, copy=False)

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Log-probabilities from the log-softmax of the logits (finite where proba is 0)."""
        logp, dtype = self._log_proba(X)
        return logp.astype(dtype, copy=False)

    def _log_proba(self, X: Any) -> tuple[np.ndarray, np.dtype]:
        z, dtype = self._scores(X)
        return log_softmax(z, axis=1), dtype

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each sample."""
        z, _ = self._scores(X)
        return self.classes_[np.argmax(z, axis=1)]

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
        X, Z = self._targets(X, y, first=True)
        self._train(X, Z, None)
        return self

    def partial_fit(self, X: Any, y: Any) -> MLPRegressor:
        """One epoch over (X, y), continuing from the current weights and optimiser state.

        The target standardisation is taken from the first call's y and kept afterwards.
        """
        first = not hasattr(self, "model_")
        if first:
            self._validate_params()
        X, Z = self._targets(X, y, first=first)
        self._train(X, Z, None, incremental=True)
        return self

    def _targets(self, X: Any, y: Any, *, first: bool) -> tuple[np.ndarray, np.ndarray]:
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y "
                             f"is None.")
        X = self._check_X(X, reset=first)
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
        Y2 = Y[:, None] if Y.ndim == 1 else Y
        if first:
            self._y_1d = Y.ndim == 1
            self._y_mean = Y2.mean(axis=0)
            std = Y2.std(axis=0)
            self._y_scale = np.where(std > 0, std, 1.0)
        elif Y2.shape[1] != self._y_mean.shape[0]:
            raise ValueError(f"y has {Y2.shape[1]} targets but {type(self).__name__} was "
                             f"fitted with {self._y_mean.shape[0]}.")
        Z = ((Y2 - self._y_mean) / self._y_scale).astype(np.dtype(self.dtype))
        return X, Z

    def predict(self, X: Any) -> np.ndarray:
        """Predicted targets, shape (samples,) or (samples, targets) as y was in fit.

        float32 for float32 X, else float64.
        """
        z, dtype = self._scores(X)
        out = (z * self._y_scale + self._y_mean).astype(dtype, copy=False)
        return out[:, 0] if self._y_1d else out

    def __sklearn_tags__(self):  # pragma: no cover - only with scikit-learn
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags
