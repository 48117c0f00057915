r"""``MatrixFactorization``: the estimator shell of explicit-feedback matrix factorisation.

The estimator validates its parameters once (``_config.resolve``), turns any supported input
into a :class:`~matfit.recommend.Ratings` (``_inputs``), runs the local fit of ``_train`` (ALS,
SGD or SVD++ kernels) or the Spark engine (``_spark``, imported only when asked for), and keeps
the fitted arrays (checked and frozen by ``_fitted``). Predictions, rankings and scores are in
``_predict``, fold-in and partial fits in ``_foldin``, the file format in ``_persist``.
Memory is O(ratings + (users + items) x factors): every product is taken at observed
(user, item) pairs or for a chunk of users at a time.

Orientation: ``user_factors_`` is (users, factors) and ``item_factors_`` is (items, factors), so
the model's low-rank part is ``user_factors_ @ item_factors_.T``; in the "U @ V" notation of a
(users, items) matrix, U = ``user_factors_`` and V = ``item_factors_.T``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import DataError, InvalidParameterError
from .._estimator import BaseEstimator, check_is_fitted
from . import _config, _fitted, _foldin, _persist, _predict, _train
from ._config import SOLVER_DEFAULTS
from ._foldin import FoldIn
from ._inputs import UnknownIdWarning, as_ratings, ratings_from_xy

__all__ = ["SOLVER_DEFAULTS", "FoldIn", "MatrixFactorization", "UnknownIdWarning", "as_ratings"]

FORMAT_KIND = _persist.FORMAT_KIND
FORMAT_VERSION = _persist.FORMAT_VERSION


class MatrixFactorization(BaseEstimator):
    r"""Biased matrix factorisation of explicit ratings, fitted on the observed entries only.

    .. math::

        \hat r_{ui} = \mu + b_u + b_i + p_u \cdot q_i

    fitted by minimising squared error at the observed ratings plus L2 penalties (see
    ``solver``). With ``biases=False`` the model is the plain factorisation
    :math:`\hat r_{ui} = p_u \cdot q_i` (no global mean either), i.e. ``U @ V ~= A`` at the
    observed entries of A.

    Parameters
    ----------
    factors : int, optional
        Number of latent factors k (default 64; 512 for SVD++, whose many small-start factors
        lower the held-out RMSE from 0.899 at 64 to 0.894 on MovieLens 100K).
    solver : {"sgd", "als", "svdpp"}
        ``"als"``: alternating least squares with exact ridge solves per user and item (or
        ``cg_steps`` conjugate-gradient steps);
        objective :math:`\sum (r - \hat r)^2 + \lambda \sum_u w_u \lVert p_u\rVert^2` + the same
        for items, where :math:`w_u` follows
        ``reg_weighting``, and :math:`\lambda_b w_u b_u^2` for the biases (Zhou et al.'s
        weighted-λ with ``reg_weighting="count"``, biases included).
        ``"sgd"`` (default): Funk-style SGD over the ratings shuffled every epoch (the algorithm
        of Surprise's SVD), compiled with Numba when installed (a vectorised mini-batch form
        otherwise), with per-epoch learning-rate decay; penalties λ ||p_u||² and λ_b b_u² per
        rating visited; with Numba, one epoch is a blocked parallel DSGD pass (8 x 8 blocks of
        users and items, the same result for any ``n_threads``).
        ``"svdpp"``: Koren's SVD++, :math:`\hat r_{ui} = \mu + b_u + b_i + q_i \cdot (p_u +
        |N(u)|^{-1/2} \sum_{j \in N(u)} y_j)` with N(u) the items u rated in training, fitted
        by SGD (Numba only); after the fit ``user_factors_`` holds the effective
        :math:`p_u + |N(u)|^{-1/2} \sum y_j`, so prediction, ranking and saving are those of
        the plain model, and ``implicit_factors_`` the :math:`y_j` (for fold-in).
        Why SGD is the default: on MovieLens 100K (80/20) its defaults reach about 0.901
        against ALS's 0.904 at a similar time; SVD++ reaches a lower RMSE (0.894 with its
        defaults, see ``benchmarks/recommend_vs_surprise.py``) at about 8 times the fit time
        and memory per user (512 factors), too much for a default at millions of users. ALS is
        deterministic given the seed's start, needs no learning rate and is the fastest per
        epoch at scale.
    reg : float, optional
        λ for the factors (default: 1.3 for ALS, 0.06 for SGD, 0.26 for SVD++, whose implicit
        factors y_j get 0.12).
    reg_bias : float, optional
        λ_b for the biases (default: 0.6 for ALS, 0.06 for SGD, 0.2 for SVD++).
    epochs : int, optional
        Number of passes (default: 6 for ALS, 15 for SGD, 20 for SVD++); fewer with early
        stopping.
    lr : float, optional
        Learning rate at the first epoch (default 0.05 for SGD, 0.009 for SVD++; not ALS).
    lr_decay : float, optional
        Factor applied to the learning rate after each epoch (default 0.9 for SGD, 0.96 for
        SVD++; not ALS).
    init_scale : float, optional
        Standard deviation of the random initial factors (default: 0.1 ALS, 0.01 SGD and SVD++).
    reg_weighting : {"sqrt", "count", "none"}
        ALS only: w_u = sqrt(n_u) (default; the weighting of Salakhutdinov & Srebro's weighted
        trace norm), n_u (Zhou et al.'s weighted-λ) or 1, with n_u the number of ratings of
        user u (n_i for items); it scales the penalties of factors and biases alike.
    biases : bool
        Fit the global mean and user/item biases (default) or the plain factorisation.
    patience : int
        With a validation set, stop after this many epochs without a validation RMSE
        improvement of at least 1e-4 and keep the best epoch's parameters.
    dtype : {"float64", "float32"}
        Floating type of the parameters and the arithmetic.
    n_threads : int, optional
        Threads of the ALS sweeps and SGD strata (default None: every core this process may
        use). ALS gives the same result for any count; so does SGD (its blocks do not depend
        on it).
    cg_steps : int, optional
        ALS only: None (default) solves each row exactly (Cholesky); an int runs that many
        conjugate-gradient steps per row and half-step, warm-started from the current factors
        (as implicit's ``least_squares_cg``): about ``factors / (4 cg_steps)`` times less
        arithmetic per epoch, converging to the same fixed points.
    seed : int, optional
        Seed of the initial factors and of the SGD shuffles.
    verbose : int
        0: silent; 1: a progress bar per epoch with train/validation RMSE on stderr.
    engine : {"local", "spark"}
        ``"spark"`` fits with Apache Spark's ALS (``pip install 'matfit[spark]'``): needs
        ``solver="als"`` and ``reg_weighting="count"`` (Spark's λ scaling) and minimises the
        local engine's objective by alternating exact bias updates (DataFrame aggregations)
        with Spark ALS fits on the residuals (see :mod:`matfit.recommend._spark`; install a
        native BLAS, e.g. ``apt-get install libopenblas0``, or Spark's ALS runs on Java
        arithmetic); the fitted model is an ordinary local one (save, load, predict without
        Spark; ``partial_fit`` needs a local fit). Pass an existing session as
        ``fit(..., spark=session)``.
    spark_master : str, optional
        Master URL of the session the Spark engine starts (default ``"local[*]"``; any
        ``spark://``, ``yarn`` or ``k8s://`` URL works the same).

    Attributes
    ----------
    global_mean_ : float
        μ (0 without biases).
    user_bias_ : ndarray, shape (users,)
    item_bias_ : ndarray, shape (items,)
        Zeros without biases.
    user_factors_ : ndarray, shape (users, factors)
    item_factors_ : ndarray, shape (items, factors)
    user_ids_, item_ids_ : ndarray, shape (users,) and (items,)
        The ID of each row of the user and item arrays.
    user_map_, item_map_ : IdMap
        Vectorised ID -> row look-up.
    rating_range_ : tuple of float
        (min, max) of the training ratings; ``predict`` clips to it by default.
    history_ : list of dict
        Per epoch: ``epoch``, ``train_rmse``, ``val_rmse`` (None without validation), ``seconds``.
    n_epochs_ : int
        Epochs run. ``best_epoch_``: the epoch whose parameters were kept.
    seen_ : scipy.sparse.csr_matrix, shape (users, items), or None
        Training interactions (structure only), used by ``recommend(exclude_seen=True)``.
    seen_ratings_ : ndarray, shape (pairs,), or None
        The training ratings in the order of ``seen_.indices`` (used by :meth:`partial_fit`).
    implicit_factors_ : ndarray, shape (items, factors), or None
        SVD++ only: the implicit item factors :math:`y_j`.

    Notes
    -----
    scikit-learn's model selection works on (user, item) pairs: ``fit(X, y)`` with X an
    (pairs, 2) array or two-column DataFrame of (user ID, item ID) and y the ratings,
    ``predict(X)``, and :meth:`score` = **negative** RMSE (greater is better, as scikit-learn's
    scorers want), so ``cross_validate``, ``GridSearchCV`` and ``KFold`` drive it unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> from matfit.recommend import MatrixFactorization, synthetic_ratings, train_test_split
    >>> ratings = synthetic_ratings(500, 300, 20000, factors=4, noise=0.2, seed=0)
    >>> train, test = train_test_split(ratings, 0.2, seed=0)
    >>> model = MatrixFactorization(8, solver="als", reg=0.3, seed=0).fit(train)
    >>> model.user_factors_.shape, model.item_factors_.shape
    ((500, 8), (300, 8))
    >>> round(model.evaluate(test, k=None)["rmse"], 2)
    0.33

    References
    ----------
    Y. Zhou et al., "Large-scale parallel collaborative filtering for the Netflix Prize", 2008.
    S. Funk, "Netflix Update: Try This at Home", 2006. R. Salakhutdinov and N. Srebro,
    "Collaborative filtering in a non-uniform world: learning with the weighted trace norm", 2010.
    """

    def __init__(
        self,
        factors: int | None = None,
        *,
        solver: str = "sgd",
        reg: float | None = None,
        reg_bias: float | None = None,
        epochs: int | None = None,
        lr: float | None = None,
        lr_decay: float | None = None,
        init_scale: float | None = None,
        reg_weighting: str = "sqrt",
        biases: bool = True,
        patience: int = 2,
        dtype: str = "float64",
        n_threads: int | None = None,
        cg_steps: int | None = None,
        seed: int | None = None,
        verbose: int = 0,
        engine: str = "local",
        spark_master: str | None = None,
    ) -> None:
        self.factors = factors
        self.solver = solver
        self.reg = reg
        self.reg_bias = reg_bias
        self.epochs = epochs
        self.lr = lr
        self.lr_decay = lr_decay
        self.init_scale = init_scale
        self.reg_weighting = reg_weighting
        self.biases = biases
        self.patience = patience
        self.dtype = dtype
        self.n_threads = n_threads
        self.cg_steps = cg_steps
        self.seed = seed
        self.verbose = verbose
        self.engine = engine
        self.spark_master = spark_master

    def _resolved(self) -> dict[str, Any]:
        """Parameters with the solver's defaults filled in, validated (STYLE rule 7)."""
        return _config.resolve(self)

    # ----------------------------------------------------------------------------------- fit
    def fit(self, X: Any, y: Any = None, *, validation: Any = None, spark: Any = None
            ) -> MatrixFactorization:
        """Fit on the observed ratings.

        Parameters
        ----------
        X : ratings, or array/DataFrame of shape (pairs, 2)
            Without ``y``: the training ratings, any :func:`as_ratings` input (Ratings,
            DataFrame of user/item/rating, scipy.sparse (users, items), (users, items, values)
            tuple or file path). With ``y``: the (user ID, item ID) of each rating, as
            scikit-learn passes it.
        y : array_like, shape (pairs,), optional
            The ratings of the pairs in X.
        validation : same types as a ratings X, optional
            Held-out ratings for early stopping (``patience``) and the validation RMSE of
            ``history_``; pairs with users or items unknown to training use the fallback.
        spark : SparkSession, optional
            ``engine="spark"`` only: the session to use (default: one for ``spark_master``).
            The ratings may then also be a Spark DataFrame or a Parquet path.

        Returns
        -------
        self

        Notes
        -----
        Users and items without a rating are dropped from the model's ID maps.
        ``history_[e]["train_rmse"]`` is the RMSE on the training ratings after epoch e for
        ALS, and the RMSE of the errors met during the pass (before each update) for SGD and
        SVD++, which costs nothing extra. ``seconds`` times the solver's pass alone.
        """
        p = self._resolved()
        if self.engine == "spark":
            if y is not None:
                raise InvalidParameterError("engine='spark' fits a ratings input: fit(ratings)")
            from ._spark import fit_spark

            fit_spark(self, X, validation, spark=spark)
            return self
        dtype = p["dtype"]
        if y is None:
            train = as_ratings(X, "ratings", dtype=dtype)
        else:
            train = ratings_from_xy(X, y, dtype=dtype)
        train = train.compact()
        if len(train) == 0:
            raise DataError("fit() needs at least one rating, got none")
        val = None
        if validation is not None:
            v = as_ratings(validation, "validation")
            vu, vi = v.reindex(train.user_map, train.item_map)
            val = (vu, vi, v.values)
        rating_range = (float(train.values.min()), float(train.values.max()))
        weighting = _config.objective_terms(self, p)[0]
        res = _train.fit_local(train, val, solver=self.solver, p=p, biases=bool(self.biases),
                               weighting=weighting, seed=self.seed, patience=self.patience,
                               verbose=self.verbose, rating_range=rating_range)
        seen, seen_ratings = _foldin.csr_of(train.users, train.items, train.values,
                                            (train.n_users, train.n_items))
        self._set_fitted(dtype.type(res.mu), res.bu, res.bi, res.P, res.Q, train.user_map,
                         train.item_map, seen=seen, rating_range=rating_range,
                         seen_ratings=seen_ratings, implicit=res.Y)
        self.history_ = res.history
        self.n_epochs_ = len(res.history)
        self.best_epoch_ = res.best_epoch
        return self

    # ------------------------------------------------------------------ fold-in, partial fit
    def fold_in(self, ratings: Any, *, side: str = "users", update: bool = True) -> FoldIn:
        r"""Factors and biases of users (or items) absent from the model, the other side fixed.

        Exactly one ALS step of the objective the model was fitted with (see
        :mod:`matfit.recommend._foldin`): each new user's ridge problem over the items it
        rated, with the item factors and biases held fixed. No refit; cost O(ratings x
        factors² + users x factors³).

        Parameters
        ----------
        ratings : any :func:`as_ratings` input
            Ratings of the new users (``side="users"``) or new items (``side="items"``).
            Ratings of items (users) the model does not know cannot be used: they are
            skipped, with an :class:`UnknownIdWarning`.
        side : {"users", "items"}
        update : bool
            Also add the new rows to the model (predict, recommend and save then know them).

        Returns
        -------
        FoldIn
            ``ids``, ``bias``, ``factors`` of the new rows, and ``ignored`` (ratings skipped).

        Raises
        ------
        DataError
            If some of the users (items) are already in the model: use :meth:`partial_fit`.
        """
        return _foldin.fold_in(self, ratings, side=side, update=update)

    def partial_fit(self, ratings: Any, *, epochs: int = 2) -> MatrixFactorization:
        """Update the model with new ratings, re-solving only the users and items they touch.

        The new ratings join the training ratings (a pair rated again takes the new rating;
        new users and items are added). Then ``epochs`` times: every affected user is solved
        exactly with the items fixed, then every affected item with the users fixed, on all
        their ratings, old and new (the objective of :func:`_config.objective_terms`). Other
        rows keep their values bit for bit; μ stays fixed. ALS and SGD models only (an SVD++
        model's implicit factors move every user: refit it, or fold in new users).

        Parameters
        ----------
        ratings : any :func:`as_ratings` input
        epochs : int
            Alternations of the affected users' and items' solves.

        Returns
        -------
        self

        Raises
        ------
        DataError
            If the model does not keep its training ratings (built by ``from_factors``, by the
            Spark engine or loaded from a file saved without them).
        """
        return _foldin.partial_fit(self, ratings, epochs=epochs)

    # ------------------------------------------------------------------------------- predict
    def predict(self, X: Any, items: Any = None, *, clip: bool = True) -> np.ndarray:
        """Predicted ratings of (user, item) pairs given by ID.

        Parameters
        ----------
        X : array or DataFrame, shape (pairs, 2); or the users, with ``items``
            ``predict(X)``: column 0 the user ID, column 1 the item ID (scikit-learn's form).
            ``predict(users, items)``: sequences of IDs, shape (pairs,), or one ID each.
        items : sequence of IDs, shape (pairs,), optional
        clip : bool
            Clip to the training ratings' range ``rating_range_``.

        Returns
        -------
        ndarray, shape (pairs,)
            A pair whose user or item had no training rating gets μ plus the known bias; such
            pairs are counted in one :class:`UnknownIdWarning`.
        """
        check_is_fitted(self, "user_factors_")
        return _predict.predict(self, X, items, clip=clip)

    def score(self, X: Any, y: Any) -> float:
        """**Negative** RMSE of the clipped predictions of pairs X against ratings y.

        Greater is better, as scikit-learn's model selection wants (``cross_validate``,
        ``GridSearchCV`` call this by default); ``-score`` is the RMSE. Pairs with an unknown
        user or item use the fallback of :meth:`predict`, without a warning (as
        :meth:`evaluate`).

        Parameters
        ----------
        X : array or DataFrame, shape (pairs, 2) of (user ID, item ID)
        y : array_like, shape (pairs,)
        """
        check_is_fitted(self, "user_factors_")
        return _predict.score(self, X, y)

    def predict_ratings(self, ratings: Any, *, clip: bool = True) -> tuple[np.ndarray, dict]:
        """Predictions for every rating of ``ratings`` (any :func:`as_ratings` input).

        Returns
        -------
        predictions : ndarray, shape (ratings,)
        unknown : dict
            Counts of ``unknown_users``, ``unknown_items`` (distinct IDs) and ``unknown_pairs``.
        """
        check_is_fitted(self, "user_factors_")
        return _predict.predict_ratings(self, ratings, clip=clip)

    # ---------------------------------------------------------------------------- ranking
    def recommend(self, user: Any, k: int = 10, *, exclude_seen: bool = True
                  ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` items with the highest predicted rating for one user.

        Parameters
        ----------
        user : ID
        k : int
        exclude_seen : bool
            Leave out the items the user rated in training.

        Returns
        -------
        item_ids : ndarray, shape (k,)
        scores : ndarray, shape (k,)
            Predicted ratings (not clipped), best first. An unknown user gets the items with the
            highest μ + b_i, with an :class:`UnknownIdWarning`.
        """
        check_is_fitted(self, "user_factors_")
        return _predict.recommend(self, user, k, exclude_seen=exclude_seen)

    def similar_items(self, item: Any, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` items whose factor vectors are most cosine-similar to ``item``'s.

        Returns
        -------
        item_ids : ndarray, shape (k,)
        similarities : ndarray, shape (k,)
            Cosine similarity in [-1, 1], best first; the item itself is left out.

        Raises
        ------
        DataError
            If ``item`` had no rating in training.
        """
        check_is_fitted(self, "user_factors_")
        return _predict.similar_items(self, item, k)

    def evaluate(self, ratings: Any, *, k: int | None = 10, threshold: float | None = None,
                 clip: bool = True) -> dict[str, Any]:
        """Accuracy and top-k ranking quality on held-out ratings.

        Parameters
        ----------
        ratings : any :func:`as_ratings` input
        k : int or None
            Cut-off of precision/recall/NDCG@k; None skips the ranking metrics.
        threshold : float, optional
            Ratings >= threshold are relevant for ranking; default: every held-out rating.
        clip : bool
            Clip predictions to the training range for RMSE/MAE.

        Returns
        -------
        dict
            ``rmse``, ``mae``, ``count``, ``unknown_users``, ``unknown_items``,
            ``unknown_pairs`` and, with k, ``precision@k``, ``recall@k``, ``ndcg@k``,
            ``ranked_users`` (see :mod:`matfit.recommend._metrics` for the protocol).
        """
        check_is_fitted(self, "user_factors_")
        return _predict.evaluate(self, ratings, k=k, threshold=threshold, clip=clip)

    def objective(self, ratings: Any) -> float:
        """The ALS objective J (see ``_als``) of the fitted parameters on ``ratings``.

        The weights w come from the counts in ``ratings``, so this is the quantity ALS
        minimises when ``ratings`` is the training set (for SGD models, with the "count"
        weighting their per-rating penalties amount to).
        """
        check_is_fitted(self, "user_factors_")
        return _predict.objective(self, ratings)

    # --------------------------------------------------------------------------- save / load
    def save(self, path: str | os.PathLike) -> Path:
        """Write the model to ``path`` (.npz + JSON metadata, never pickle).

        IDs must be ints or strings (object IDs such as tuples cannot be saved without pickle).
        The training pairs and their ratings are saved too (``partial_fit`` needs them).

        Returns
        -------
        Path
            The file written (``.npz`` appended if missing).
        """
        check_is_fitted(self, "user_factors_")
        return _persist.write(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> MatrixFactorization:
        """Read a model written by :meth:`save` (predictions are bit-identical).

        Raises
        ------
        FileNotFoundError, DataError
            No file; not a matfit ratings model; another format version.
        """
        return _persist.load(cls, path)

    @classmethod
    def from_factors(
        cls,
        global_mean: float,
        user_bias: Any,
        item_bias: Any,
        user_factors: Any,
        item_factors: Any,
        user_ids: Any = None,
        item_ids: Any = None,
        *,
        seen: Any = None,
        rating_range: tuple[float, float] | None = None,
        **params: Any,
    ) -> MatrixFactorization:
        """A fitted model from parameters computed elsewhere (e.g. by Spark).

        Parameters
        ----------
        global_mean : float
        user_bias : array_like, shape (users,), or None (zeros)
        item_bias : array_like, shape (items,), or None (zeros)
        user_factors : array_like, shape (users, factors)
        item_factors : array_like, shape (items, factors)
        user_ids, item_ids : array_like, shape (users,) and (items,), optional
            Distinct IDs of the rows (default: 0..n-1).
        seen : scipy.sparse matrix, shape (users, items), optional
            Training interactions, for ``recommend(exclude_seen=True)`` and ranking metrics.
        rating_range : (float, float), optional
            Clipping range of ``predict`` (default: no clipping).
        **params
            Constructor parameters to record (``factors`` defaults to the factors' width).

        Raises
        ------
        ShapeError
            If the arrays disagree about the number of users, items or factors.
        """
        return _fitted.from_factors(cls, global_mean, user_bias, item_bias, user_factors,
                                    item_factors, user_ids, item_ids, seen=seen,
                                    rating_range=rating_range, **params)

    def _set_fitted(self, mu, bu, bi, P, Q, user_ids, item_ids, *, seen, rating_range,
                    seen_ratings=None, implicit=None) -> None:
        _fitted.set_fitted(self, mu, bu, bi, P, Q, user_ids, item_ids, seen=seen,
                           rating_range=rating_range, seen_ratings=seen_ratings,
                           implicit=implicit)
