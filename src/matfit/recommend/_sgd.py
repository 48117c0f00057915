r"""Funk-style stochastic gradient descent for biased matrix factorisation (kernels only).

For each rating, in a fresh random order every epoch (Funk 2006; Surprise's ``SVD``, which
keeps the input order instead):

.. math::

    e &= r_{ui} - (\mu + b_u + b_i + p_u \cdot q_i) \\
    b_u &\leftarrow b_u + \eta_b (e - \lambda_b b_u) \qquad
    b_i \leftarrow b_i + \eta_b (e - \lambda_b b_i) \\
    p_u &\leftarrow p_u + \eta (e\, q_i - \lambda p_u) \qquad
    q_i \leftarrow q_i + \eta (e\, p_u - \lambda q_i)

where the factor updates use the old :math:`p_u` and :math:`q_i` (both move from their values
before this rating), and :math:`\eta` is multiplied by ``lr_decay`` after every epoch.

Implementation notes
--------------------
* :func:`sgd_epoch` runs a compiled Numba loop when Numba is installed (the optional extra
  ``fast``) and a vectorised mini-batch form otherwise. The mini-batch form takes the same step
  for every rating of a batch from the parameters at the batch's start and adds them up
  (``np.add.at``), which is plain SGD when the batch holds one rating; it is not bit-identical to
  the sequential loop, but minimises the same objective.
* The Numba kernel is compiled on first use and cached on disk (``cache=True``), so later
  processes load it in milliseconds.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._numba import compile_kernel

__all__ = ["have_numba", "sgd_epoch", "sgd_epoch_numpy"]

_KERNEL: Any = None


def have_numba() -> bool:
    """Whether the compiled kernel is available (Numba installed and not disabled)."""
    return _numba_kernel() is not None


def _numba_kernel() -> Any:
    global _KERNEL
    if _KERNEL is None:
        _KERNEL = compile_kernel(_sgd_loop) or False
    return _KERNEL or None


def _sgd_loop(users, items, values, order, P, Q, bu, bi, mu, lr, reg, lr_bias, reg_bias,
              biases):  # pragma: no cover - compiled by Numba; the Python body is the spec
    k = P.shape[1]
    sq = 0.0
    for n in order:
        u = users[n]
        i = items[n]
        dot = mu
        if biases:
            dot += bu[u] + bi[i]
        for f in range(k):
            dot += P[u, f] * Q[i, f]
        err = values[n] - dot
        sq += err * err
        if biases:
            bu[u] += lr_bias * (err - reg_bias * bu[u])
            bi[i] += lr_bias * (err - reg_bias * bi[i])
        for f in range(k):
            puf = P[u, f]
            qif = Q[i, f]
            P[u, f] = puf + lr * (err * qif - reg * puf)
            Q[i, f] = qif + lr * (err * puf - reg * qif)
    return sq


def sgd_epoch(users: np.ndarray, items: np.ndarray, values: np.ndarray, order: np.ndarray,
              P: np.ndarray, Q: np.ndarray, bu: np.ndarray, bi: np.ndarray, mu: float, *,
              lr: float, reg: float, lr_bias: float, reg_bias: float, biases: bool,
              backend: str = "auto", batch: int = 256) -> float:
    """One pass over the ratings in ``order``, updating P, Q, bu, bi in place.

    Parameters
    ----------
    users, items : ndarray of int, shape (ratings,)
    values : ndarray, shape (ratings,)
    order : ndarray of int, shape (ratings,)
        The visiting order (a permutation).
    P : ndarray, shape (users, factors)
    Q : ndarray, shape (items, factors)
    bu, bi : ndarray, shape (users,) and (items,)
        Biases (left untouched when ``biases`` is False).
    mu : float
    lr, reg, lr_bias, reg_bias : float
        Learning rates and L2 strengths of the factors and of the biases.
    biases : bool
    backend : {"auto", "numba", "numpy"}
        "auto" uses Numba when it is installed.
    batch : int
        Mini-batch size of the NumPy backend.

    Returns
    -------
    float
        Sum of squared errors seen during the pass (before each update).
    """
    kernel = _numba_kernel() if backend in ("auto", "numba") else None
    if backend == "numba" and kernel is None:
        raise ImportError("backend='numba' needs Numba: pip install 'matfit[fast]'")
    dt = P.dtype.type
    if kernel is not None:
        return float(kernel(users, items, values, order, P, Q, bu, bi, dt(mu), dt(lr), dt(reg),
                            dt(lr_bias), dt(reg_bias), bool(biases)))
    return sgd_epoch_numpy(users, items, values, order, P, Q, bu, bi, mu, lr=lr, reg=reg,
                           lr_bias=lr_bias, reg_bias=reg_bias, biases=biases, batch=batch)


def sgd_epoch_numpy(users: np.ndarray, items: np.ndarray, values: np.ndarray, order: np.ndarray,
                    P: np.ndarray, Q: np.ndarray, bu: np.ndarray, bi: np.ndarray, mu: float, *,
                    lr: float, reg: float, lr_bias: float, reg_bias: float, biases: bool,
                    batch: int = 256) -> float:
    """The vectorised mini-batch form of :func:`sgd_epoch` (see the module notes)."""
    dt = P.dtype.type
    lr, reg, lr_bias, reg_bias, mu = dt(lr), dt(reg), dt(lr_bias), dt(reg_bias), dt(mu)
    sq = 0.0
    for lo in range(0, len(order), batch):
        idx = order[lo:lo + batch]
        u, i, r = users[idx], items[idx], values[idx]
        pu, qi = P[u], Q[i]
        pred = np.einsum("nk,nk->n", pu, qi) + mu
        if biases:
            pred += bu[u] + bi[i]
        err = r - pred
        sq += float(err @ err)
        if biases:
            np.add.at(bu, u, lr_bias * (err - reg_bias * bu[u]))
            np.add.at(bi, i, lr_bias * (err - reg_bias * bi[i]))
        e = err[:, None]
        np.add.at(P, u, lr * (e * qi - reg * pu))
        np.add.at(Q, i, lr * (e * pu - reg * qi))
    return sq
