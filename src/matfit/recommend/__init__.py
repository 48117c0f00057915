"""Sparse matrix factorisation for explicit ratings, fitted on the observed entries only.

Memory grows with the number of ratings plus (users + items) x factors, never with
users x items: a 10,000 x 60,000 ratings matrix is never formed densely, and neither is its
low-rank reconstruction.

>>> from matfit.recommend import MatrixFactorization, Ratings, train_test_split
>>> ratings = Ratings.read("u.data")                       # doctest: +SKIP
>>> train, test = train_test_split(ratings, 0.2, seed=0)   # doctest: +SKIP
>>> model = MatrixFactorization().fit(train)               # doctest: +SKIP
>>> model.evaluate(test)["rmse"]                            # doctest: +SKIP

Stable contract (used by the Spark helper)
------------------------------------------
* :class:`Ratings`: ``users``/``items`` (int64 indices), ``values``, ``user_ids``/``item_ids``
  and ``user_map``/``item_map`` (ID <-> index), ``n_users``/``n_items``; built with
  ``from_arrays``, ``from_dataframe``, ``from_sparse``, ``from_indices`` or ``read``.
* :class:`MatrixFactorization` fitted attributes: ``global_mean_``, ``user_bias_`` (users,),
  ``item_bias_`` (items,), ``user_factors_`` (users, factors), ``item_factors_``
  (items, factors), ``user_ids_``/``item_ids_``; :meth:`MatrixFactorization.from_factors`
  builds a fitted model from such arrays; ``save``/``load`` use
  ``matfit._io.save_model(kind="ratings-mf", version=1)`` with the IDs (ints or strings).
* :func:`synthetic_ratings` draws power-law ratings of any size.
* New users or items without a refit: :meth:`MatrixFactorization.fold_in` (one exact ALS
  step, the other side fixed; returns a :class:`FoldIn`); new ratings:
  :meth:`MatrixFactorization.partial_fit` (exact solves of the touched rows only).
* scikit-learn model selection: ``fit(X, y)`` with X (pairs, 2) of (user, item) IDs,
  ``predict(X)``, ``score(X, y)`` = negative RMSE.
"""

from ._data import Ratings, leave_k_out, read_ratings, train_test_split
from ._foldin import FoldIn
from ._ids import IdMap
from ._inputs import UnknownIdWarning, as_ratings
from ._metrics import mae, rmse
from ._synthetic import synthetic_ratings
from .model import SOLVER_DEFAULTS, MatrixFactorization

__all__ = [
    "SOLVER_DEFAULTS",
    "FoldIn",
    "IdMap",
    "MatrixFactorization",
    "Ratings",
    "UnknownIdWarning",
    "as_ratings",
    "leave_k_out",
    "mae",
    "read_ratings",
    "rmse",
    "synthetic_ratings",
    "train_test_split",
]
