"""Non-negative matrix factorisation: X (features, samples) ~ W (features, components) @ H.

``nmf()`` is the functional core (multiplicative updates for any beta-divergence, HALS for the
Frobenius objective, fixed and partly fixed dictionaries, sparse X); ``NMF`` is a
scikit-learn-compatible estimator over it (in scikit-learn's (samples, features) orientation).
The MU pieces in :mod:`matfit.factorize._mu` (``h_terms``, ``w_terms``, ``apply_update``) are
public for chunked drivers.

Missing entries: ``nmf(X, k, weights=V)`` fits sum(V * d_beta(X | W H)) (weight 0 = missing,
NaN allowed there; sparse weights or ``weights="stored"`` fit observed entries only, see
:mod:`matfit.factorize._weighted`); ``NMFImputer`` fills missing entries in scikit-learn's
imputer API; ``choose_rank`` picks the number of components from held-out entries.
"""

from __future__ import annotations

from ._mu import apply_update, h_terms, mm_exponent, sparse_wh, w_terms
from ._nmf import nmf
from ._rank import RankResult, choose_rank
from ._result import NMFResult
from ._weighted import weighted_divergence, weighted_h_terms, weighted_w_terms
from .estimator import NMF
from .imputer import NMFImputer

__all__ = [
    "NMF",
    "NMFImputer",
    "NMFResult",
    "RankResult",
    "apply_update",
    "choose_rank",
    "h_terms",
    "mm_exponent",
    "nmf",
    "sparse_wh",
    "w_terms",
    "weighted_divergence",
    "weighted_h_terms",
    "weighted_w_terms",
]
