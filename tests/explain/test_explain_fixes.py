"""The fixes explain offers, each run by NumPy on the real arrays of the failing script.

``TREE`` lists, per failing line, every rewrite the fix generators of :mod:`._fixes` produce
(one or two leaves rewritten, ``np.einsum`` for a batched product, the other order,
``np.multiply`` on np.matrix), in the order explain ranks them, with the text each one shows;
then the fixes that survive the honesty filter (rewrites of a setup line included) and the
requirements ("`H` must have 60 rows"). ``JOINS`` does the same for joins and reshapes. The
lists are the expected behaviour, written out; independently of them, every expression that
claims "gives shape S" is executed by NumPy in the script's own namespace and must give S, and
every rewritten setup line must make the whole script run (issue 19: a fix that NumPy rejects
must never be offered as checked).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np
import pytest

from matfit.explain import _analyze, _fixes, explain_exception

pytestmark = pytest.mark.filterwarnings(
    "ignore:the matrix subclass is not the recommended:PendingDeprecationWarning")

# name -> (setup, failing line, [every candidate's text, in rank order],
#          [(offered expression, result shape, line it replaces or None, text, how checked)],
#          [requirements])
TREE = {
    'core_T': (
        'W = np.ones((5, 3)); H = np.ones((5, 4))',
        'y = W @ H',
        [
            '`W.T @ H` gives shape (3, 4)',
        ],
        [
            ('W = np.ones((5, 5)); H = np.ones((5, 4))', (5, 4), 2,
             '`W = np.ones((5, 5)); H = np.ones((5, 4))` (instead of `W = np.ones((5, 3)); H = '
             'np.ones((5, 4))`): then `W` has shape (5, 5) and `W @ H` gives shape (5, 4)',
             'shape rules'),
            ('W.T @ H', (3, 4), None,
             '`W.T @ H` gives shape (3, 4)',
             'run on ndarray stand-ins'),
        ],
        [
            '`H` must have 3 rows (it has 5): with shape (3, 4), `W @ H` gives shape (5, 4)',
            '`W` must have 5 columns (it has 3): with shape (5, 5), `W @ H` gives shape (5, 4)',
        ]),
    'swap': (
        'a = np.ones((2, 3)); b = np.ones((4, 2))',
        'y = a @ b',
        [
            '`a.T @ b.T` gives shape (3, 4)',
            '`b @ a` (the other order) gives shape (4, 3)',
        ],
        [
            ('a = np.ones((2, 4)); b = np.ones((4, 2))', (2, 2), 2,
             '`a = np.ones((2, 4)); b = np.ones((4, 2))` (instead of `a = np.ones((2, 3)); b = '
             'np.ones((4, 2))`): then `a` has shape (2, 4) and `a @ b` gives shape (2, 2)',
             'shape rules'),
            ('a.T @ b.T', (3, 4), None,
             '`a.T @ b.T` gives shape (3, 4)',
             'run on ndarray stand-ins'),
            ('b @ a', (4, 3), None,
             '`b @ a` (the other order) gives shape (4, 3)',
             'run on ndarray stand-ins'),
        ],
        [
            '`b` must have 3 rows (it has 4): with shape (3, 2), `a @ b` gives shape (2, 2)',
            '`a` must have 4 columns (it has 3): with shape (2, 4), `a @ b` gives shape (2, 2)',
        ]),
    'vec_left': (
        'v = np.ones(3); A = np.ones((2, 3))',
        'y = v @ A',
        [
            '`v @ A.T` gives shape (2,)',
            '`A @ v` (the other order) gives shape (2,)',
            '`v[None, :] @ A.T` gives shape (1, 2)',
        ],
        [
            ('v @ A.T', (2,), None,
             '`v @ A.T` gives shape (2,)',
             'run on ndarray stand-ins'),
            ('A @ v', (2,), None,
             '`A @ v` (the other order) gives shape (2,)',
             'run on ndarray stand-ins'),
            ('v[None, :] @ A.T', (1, 2), None,
             '`v[None, :] @ A.T` gives shape (1, 2)',
             'run on ndarray stand-ins'),
        ],
        [
            '`A` must have 3 rows (it has 2): with shape (3, 3), `v @ A` gives shape (3,)',
            '`v` must have 2 entries (it has 3): with shape (2,), `v @ A` gives shape (3,)',
            'line 2: make axis 0 of `v` 2 instead of `3` (3): then `v @ A` gives shape (3,)',
        ]),
    'vec_right': (
        'A = np.ones((5, 2)); v = np.ones(5)',
        'y = A @ v',
        [
            '`A.T @ v` gives shape (2,)',
            '`A.T @ v[:, None]` gives shape (2, 1)',
            '`v @ A` (the other order) gives shape (2,)',
        ],
        [
            ('A = np.ones((5, 5)); v = np.ones(5)', (5,), 2,
             '`A = np.ones((5, 5)); v = np.ones(5)` (instead of `A = np.ones((5, 2)); v = '
             'np.ones(5)`): then `A` has shape (5, 5) and `A @ v` gives shape (5,)',
             'shape rules'),
            ('A.T @ v', (2,), None,
             '`A.T @ v` gives shape (2,)',
             'run on ndarray stand-ins'),
            ('A.T @ v[:, None]', (2, 1), None,
             '`A.T @ v[:, None]` gives shape (2, 1)',
             'run on ndarray stand-ins'),
            ('v @ A', (2,), None,
             '`v @ A` (the other order) gives shape (2,)',
             'run on ndarray stand-ins'),
        ],
        [
            '`v` must have 2 entries (it has 5): with shape (2,), `A @ v` gives shape (5,)',
            '`A` must have 5 columns (it has 2): with shape (5, 5), `A @ v` gives shape (5,)',
        ]),
    'center': (
        'X = np.ones((20, 5))',
        'Z = X - X.mean(axis=1)',
        [
            '`X - X.mean(axis=1, keepdims=True)` gives shape (20, 5)',
            '`X - X.mean(axis=1)[:, None]` gives shape (20, 5)',
            '`X.T - X.mean(axis=1)` gives shape (5, 20)',
            '`X.T - X.mean(axis=1)[None, :]` gives shape (5, 20)',
        ],
        [
            ('X - X.mean(axis=1, keepdims=True)', (20, 5), None,
             '`X - X.mean(axis=1, keepdims=True)` gives shape (20, 5)',
             'run on ndarray stand-ins'),
            ('X - X.mean(axis=1)[:, None]', (20, 5), None,
             '`X - X.mean(axis=1)[:, None]` gives shape (20, 5)',
             'run on ndarray stand-ins'),
        ],
        [
            '`X.mean(axis=1)` must have 5 entries (it has 20): with shape (5,), `X - '
            'X.mean(axis=1)` gives shape (20, 5)',
            '`X` must have 20 columns (it has 5): with shape (20, 20), `X - X.mean(axis=1)` '
            'gives shape (20, 20)',
        ]),
    'center_method_pos': (
        'X = np.ones((20, 5))',
        'Z = X - X.mean(1)',
        [
            '`X - X.mean(1, keepdims=True)` gives shape (20, 5)',
            '`X - X.mean(1)[:, None]` gives shape (20, 5)',
            '`X.T - X.mean(1)` gives shape (5, 20)',
            '`X.T - X.mean(1)[None, :]` gives shape (5, 20)',
        ],
        [
            ('X - X.mean(1, keepdims=True)', (20, 5), None,
             '`X - X.mean(1, keepdims=True)` gives shape (20, 5)',
             'run on ndarray stand-ins'),
            ('X - X.mean(1)[:, None]', (20, 5), None,
             '`X - X.mean(1)[:, None]` gives shape (20, 5)',
             'run on ndarray stand-ins'),
        ],
        [
            '`X.mean(1)` must have 5 entries (it has 20): with shape (5,), `X - X.mean(1)` '
            'gives shape (20, 5)',
            '`X` must have 20 columns (it has 5): with shape (20, 20), `X - X.mean(1)` gives '
            'shape (20, 20)',
        ]),
    'center_func_pos': (
        'X = np.ones((20, 5))',
        'Z = X - np.mean(X, 1)',
        [
            '`X - np.mean(X, 1, keepdims=True)` gives shape (20, 5)',
            '`X - np.mean(X, 1)[:, None]` gives shape (20, 5)',
            '`X.T - np.mean(X, 1)` gives shape (5, 20)',
            '`X.T - np.mean(X, 1)[None, :]` gives shape (5, 20)',
        ],
        [
            ('X - np.mean(X, 1, keepdims=True)', (20, 5), None,
             '`X - np.mean(X, 1, keepdims=True)` gives shape (20, 5)',
             'run on ndarray stand-ins'),
            ('X - np.mean(X, 1)[:, None]', (20, 5), None,
             '`X - np.mean(X, 1)[:, None]` gives shape (20, 5)',
             'run on ndarray stand-ins'),
        ],
        [
            '`np.mean(X, 1)` must have 5 entries (it has 20): with shape (5,), `X - np.mean(X, '
            '1)` gives shape (20, 5)',
            '`X` must have 20 columns (it has 5): with shape (20, 20), `X - np.mean(X, 1)` '
            'gives shape (20, 20)',
        ]),
    'center_func_kw': (
        'X = np.ones((20, 5))',
        'Z = X - np.sum(X, axis=1)',
        [
            '`X - np.sum(X, axis=1, keepdims=True)` gives shape (20, 5)',
            '`X - np.sum(X, axis=1)[:, None]` gives shape (20, 5)',
            '`X.T - np.sum(X, axis=1)` gives shape (5, 20)',
            '`X.T - np.sum(X, axis=1)[None, :]` gives shape (5, 20)',
        ],
        [
            ('X - np.sum(X, axis=1, keepdims=True)', (20, 5), None,
             '`X - np.sum(X, axis=1, keepdims=True)` gives shape (20, 5)',
             'run on ndarray stand-ins'),
            ('X - np.sum(X, axis=1)[:, None]', (20, 5), None,
             '`X - np.sum(X, axis=1)[:, None]` gives shape (20, 5)',
             'run on ndarray stand-ins'),
        ],
        [
            '`np.sum(X, axis=1)` must have 5 entries (it has 20): with shape (5,), `X - '
            'np.sum(X, axis=1)` gives shape (20, 5)',
            '`X` must have 20 columns (it has 5): with shape (20, 20), `X - np.sum(X, axis=1)` '
            'gives shape (20, 20)',
        ]),
    'center_keepdims_false': (
        'X = np.ones((20, 5))',
        'Z = X - X.mean(axis=1, keepdims=False)',
        [
            '`X - X.mean(axis=1, keepdims=False)[:, None]` gives shape (20, 5)',
            '`X.T - X.mean(axis=1, keepdims=False)` gives shape (5, 20)',
            '`X.T - X.mean(axis=1, keepdims=False)[None, :]` gives shape (5, 20)',
        ],
        [
            ('X - X.mean(axis=1, keepdims=False)[:, None]', (20, 5), None,
             '`X - X.mean(axis=1, keepdims=False)[:, None]` gives shape (20, 5)',
             'run on ndarray stand-ins'),
        ],
        [
            '`X.mean(axis=1, keepdims=False)` must have 5 entries (it has 20): with shape (5,), '
            '`X - X.mean(axis=1, keepdims=False)` gives shape (20, 5)',
            '`X` must have 20 columns (it has 5): with shape (20, 20), `X - X.mean(axis=1, '
            'keepdims=False)` gives shape (20, 20)',
        ]),
    'not_reduction': (
        'X = np.ones((20, 5)); s = np.ones(20)',
        'Z = X - np.sqrt(s)',
        [
            '`X - np.sqrt(s)[:, None]` gives shape (20, 5)',
            '`X.T - np.sqrt(s)` gives shape (5, 20)',
            '`X.T - np.sqrt(s)[None, :]` gives shape (5, 20)',
        ],
        [
            ('X - np.sqrt(s)[:, None]', (20, 5), None,
             '`X - np.sqrt(s)[:, None]` gives shape (20, 5)',
             'run on ndarray stand-ins'),
        ],
        [
            '`np.sqrt(s)` must have 5 entries (it has 20): with shape (5,), `X - np.sqrt(s)` '
            'gives shape (20, 5)',
            '`X` must have 20 columns (it has 5): with shape (20, 20), `X - np.sqrt(s)` gives '
            'shape (20, 20)',
        ]),
    'column': (
        'x = np.ones((3, 4)); c = np.ones((4, 1))',
        'y = x + c',
        [
            '`x + c[:, 0]` gives shape (3, 4)',
            '`x.T + c` gives shape (4, 3)',
            '`x + c.T` gives shape (3, 4)',
        ],
        [
            ('x = np.ones((4, 4)); c = np.ones((4, 1))', (4, 4), 2,
             '`x = np.ones((4, 4)); c = np.ones((4, 1))` (instead of `x = np.ones((3, 4)); c = '
             'np.ones((4, 1))`): then `x` has shape (4, 4) and `x + c` gives shape (4, 4)',
             'shape rules'),
            ('x + c[:, 0]', (3, 4), None,
             '`x + c[:, 0]` gives shape (3, 4)',
             'run on ndarray stand-ins'),
            ('x + c.T', (3, 4), None,
             '`x + c.T` gives shape (3, 4)',
             'run on ndarray stand-ins'),
        ],
        [
            '`c` must have 3 rows (it has 4): with shape (3, 1), `x + c` gives shape (3, 4)',
            '`x` must have 4 rows (it has 3): with shape (4, 4), `x + c` gives shape (4, 4)',
        ]),
    'row': (
        'x = np.ones((3, 4)); r = np.ones((1, 3))',
        'y = x + r',
        [
            '`x.T + r` gives shape (4, 3)',
            '`x + r.T` gives shape (3, 4)',
            '`x.T + r[0]` gives shape (4, 3)',
        ],
        [
            ('x = np.ones((3, 3)); r = np.ones((1, 3))', (3, 3), 2,
             '`x = np.ones((3, 3)); r = np.ones((1, 3))` (instead of `x = np.ones((3, 4)); r = '
             'np.ones((1, 3))`): then `x` has shape (3, 3) and `x + r` gives shape (3, 3)',
             'shape rules'),
            ('x + r.T', (3, 4), None,
             '`x + r.T` gives shape (3, 4)',
             'run on ndarray stand-ins'),
        ],
        [
            '`r` must have 4 columns (it has 3): with shape (1, 4), `x + r` gives shape (3, 4)',
            '`x` must have 3 columns (it has 4): with shape (3, 3), `x + r` gives shape (3, 3)',
        ]),
    'square': (
        'x = np.ones((3, 3)); r = np.ones((1, 4))',
        'y = x * r',
        [
        ],
        [
        ],
        [
            '`r` must have 3 columns (it has 4): with shape (1, 3), `x * r` gives shape (3, 3)',
            '`x` must have 4 columns (it has 3): with shape (3, 4), `x * r` gives shape (3, 4)',
            'line 2: make axis 1 of `x` 4 instead of `3` (3): then `x * r` gives shape (3, 4)',
        ]),
    'batched_T': (
        'A = np.ones((6, 3, 4)); B = np.ones((6, 5, 4))',
        'y = A @ B',
        [
            '`A @ np.swapaxes(B, -1, -2)` gives shape (6, 3, 5)',
        ],
        [
            ('A @ np.swapaxes(B, -1, -2)', (6, 3, 5), None,
             '`A @ np.swapaxes(B, -1, -2)` gives shape (6, 3, 5)',
             'run on ndarray stand-ins'),
        ],
        [
            '`B` must have size 4 along axis 1 (it has 5): with shape (6, 4, 4), `A @ B` gives '
            'shape (6, 3, 4)',
            '`A` must have size 5 along axis 2 (it has 4): with shape (6, 3, 5), `A @ B` gives '
            'shape (6, 3, 4)',
            'line 2: make axis 2 of `A` 5 instead of `4` (4): then `A @ B` gives shape (6, 3, '
            '4)',
        ]),
    'batched_2d': (
        'A = np.ones((6, 3, 4)); b = np.ones((6, 3))',
        'y = A @ b',
        [
            '`np.swapaxes(A, -1, -2) @ b[:, :, None]` gives shape (6, 4, 1)',
            '`np.swapaxes(A, -1, -2) @ b.T` gives shape (6, 4, 6)',
            '`b @ A` (the other order) gives shape (6, 6, 4)',
        ],
        [
            ('A = np.ones((6, 3, 6)); b = np.ones((6, 3))', (6, 3, 3), 2,
             '`A = np.ones((6, 3, 6)); b = np.ones((6, 3))` (instead of `A = np.ones((6, 3, '
             '4)); b = np.ones((6, 3))`): then `A` has shape (6, 3, 6) and `A @ b` gives shape '
             '(6, 3, 3)',
             'shape rules'),
            ('np.swapaxes(A, -1, -2) @ b[:, :, None]', (6, 4, 1), None,
             '`np.swapaxes(A, -1, -2) @ b[:, :, None]` gives shape (6, 4, 1)',
             'run on ndarray stand-ins'),
            ('np.swapaxes(A, -1, -2) @ b.T', (6, 4, 6), None,
             '`np.swapaxes(A, -1, -2) @ b.T` gives shape (6, 4, 6)',
             'run on ndarray stand-ins'),
            ('b @ A', (6, 6, 4), None,
             '`b @ A` (the other order) gives shape (6, 6, 4)',
             'run on ndarray stand-ins'),
        ],
        [
            '`b` must have 4 rows (it has 6): with shape (4, 3), `A @ b` gives shape (6, 3, 3)',
            '`A` must have size 6 along axis 2 (it has 4): with shape (6, 3, 6), `A @ b` gives '
            'shape (6, 3, 3)',
        ]),
    'batched_vec': (
        'T = np.ones((6, 3, 3)); y = np.ones((6, 3))',
        'z = T @ y',
        [
            '`np.einsum("nij,nj->ni", T, y)` gives shape (6, 3) (per-sample products along the '
            'shared first axis)',
            '`T @ y[:, :, None]` gives shape (6, 3, 1)',
            '`T @ y.T` gives shape (6, 3, 6)',
            '`y @ T` (the other order) gives shape (6, 6, 3)',
        ],
        [
            ('np.einsum("nij,nj->ni", T, y)', (6, 3), None,
             '`np.einsum("nij,nj->ni", T, y)` gives shape (6, 3) (per-sample products along the '
             'shared first axis)',
             'run on ndarray stand-ins'),
            ('T @ y[:, :, None]', (6, 3, 1), None,
             '`T @ y[:, :, None]` gives shape (6, 3, 1)',
             'run on ndarray stand-ins'),
            ('T @ y.T', (6, 3, 6), None,
             '`T @ y.T` gives shape (6, 3, 6)',
             'run on ndarray stand-ins'),
        ],
        [
            '`y` must have 3 rows (it has 6): with shape (3, 3), `T @ y` gives shape (6, 3, 3)',
            '`T` must have size 6 along axis 2 (it has 3): with shape (6, 3, 6), `T @ y` gives '
            'shape (6, 3, 3)',
            'line 2: make axis 2 of `T` 6 instead of `3` (3): then `T @ y` gives shape (6, 3, '
            '3)',
        ]),
    'quadratic': (
        'x = np.ones((6, 3)); T = np.ones((6, 3, 3))',
        'z = x @ T @ x',
        [
            '`np.einsum("ni,nij,nj->n", x, T, x)` gives shape (6,) (one value per sample along '
            'the shared first axis)',
            '`x[:, None, :] @ T @ x[:, :, None]` gives shape (6, 1, 1)',
            '`x @ T @ x[:, :, None]` gives shape (6, 6, 1)',
            '`x[:, None, :] @ T @ x.T` gives shape (6, 1, 6)',
            '`x @ T @ x.T` gives shape (6, 6, 6)',
        ],
        [
            ('np.einsum("ni,nij,nj->n", x, T, x)', (6,), None,
             '`np.einsum("ni,nij,nj->n", x, T, x)` gives shape (6,) (one value per sample along '
             'the shared first axis)',
             'run on ndarray stand-ins'),
            ('x[:, None, :] @ T @ x[:, :, None]', (6, 1, 1), None,
             '`x[:, None, :] @ T @ x[:, :, None]` gives shape (6, 1, 1)',
             'run on ndarray stand-ins'),
            ('x @ T @ x[:, :, None]', (6, 6, 1), None,
             '`x @ T @ x[:, :, None]` gives shape (6, 6, 1)',
             'run on ndarray stand-ins'),
        ],
        [
            '`x` must have 3 rows (it has 6): with shape (3, 3), `x @ T @ x` gives shape (6, 6, '
            '3)',
        ]),
    'three_batched': (
        'A = np.ones((6, 3, 3)); x = np.ones((6, 3)); B = np.ones((6, 3, 3))',
        'z = A @ x @ B',
        [
            '`np.einsum("nij,nj->ni", A, x)` gives shape (6, 3) (per-sample products along the '
            'shared first axis)',
            '`A @ x[:, :, None]` gives shape (6, 3, 1)',
            '`A @ x.T` gives shape (6, 3, 6)',
            '`x @ A` (the other order) gives shape (6, 6, 3)',
        ],
        [
            ('np.einsum("nij,nj->ni", A, x)', (6, 3), None,
             '`np.einsum("nij,nj->ni", A, x)` gives shape (6, 3) (per-sample products along the '
             'shared first axis)',
             'run on ndarray stand-ins'),
            # `A @ x[:, :, None]` (6, 3, 1) and `A @ x.T` (6, 3, 6) fix `A @ x` but not the
            # statement: `... @ B` with B (6, 3, 3) then fails, so they are not offered
            ('x @ A', (6, 6, 3), None,
             '`x @ A` (the other order) gives shape (6, 6, 3)',
             'run on ndarray stand-ins'),
        ],
        [
            '`x` must have 3 rows (it has 6): with shape (3, 3), `A @ x` gives shape (6, 3, 3)',
            '`A` must have size 6 along axis 2 (it has 3): with shape (6, 3, 6), `A @ x` gives '
            'shape (6, 3, 3)',
            'line 2: make axis 2 of `A` 6 instead of `3` (3): then `A @ x` gives shape (6, 3, '
            '3)',
        ]),
    'matrix': (
        'A = np.matrix(np.ones((2, 3))); B = np.matrix(np.ones((2, 3)))',
        'C = A * B',
        [
            '`np.multiply(A, B)` gives shape (2, 3) if you meant the elementwise product',
            '`A * B.T` gives shape (2, 2)',
            '`A.T * B` gives shape (3, 3)',
        ],
        [
            ('np.multiply(A, B)', (2, 3), None,
             '`np.multiply(A, B)` gives shape (2, 3) if you meant the elementwise product',
             'run on np.matrix stand-ins'),
            ('A * B.T', (2, 2), None,
             '`A * B.T` gives shape (2, 2)',
             'run on np.matrix stand-ins'),
            ('A.T * B', (3, 3), None,
             '`A.T * B` gives shape (3, 3)',
             'run on np.matrix stand-ins'),
        ],
        [
            '`B` must have 3 rows (it has 2): with shape (3, 3), `A * B` gives shape (2, 3)',
            '`A` must have 2 columns (it has 3): with shape (2, 2), `A * B` gives shape (2, 3)',
        ]),
    'matrix_square': (
        'A = np.matrix(np.ones((3, 3))); B = np.matrix(np.ones((2, 3)))',
        'C = A * B',
        [
            '`A * B.T` gives shape (3, 2)',
            '`B * A` (the other order) gives shape (2, 3)',
        ],
        [
            ('A * B.T', (3, 2), None,
             '`A * B.T` gives shape (3, 2)',
             'run on np.matrix stand-ins'),
            ('B * A', (2, 3), None,
             '`B * A` (the other order) gives shape (2, 3)',
             'run on np.matrix stand-ins'),
        ],
        [
            '`B` must have 3 rows (it has 2): with shape (3, 3), `A * B` gives shape (3, 3)',
            '`A` must have 2 columns (it has 3): with shape (3, 2), `A * B` gives shape (3, 3)',
        ]),
    'inplace': (
        't = np.zeros(3); v = np.ones(4)',
        't += v',
        [
        ],
        [
        ],
        [
            '`v` must have 3 entries (it has 4): with shape (3,), `t += v` gives shape (3,)',
            "the result must have shape (3,): an in-place operator keeps `t`'s shape (3,)",
        ]),
    'inplace_col': (
        't = np.zeros((4, 3)); g = np.ones((3, 4))',
        't -= 0.1 * g',
        [
            '`t -= (0.1 * g).T` gives shape (4, 3)',
        ],
        [
            ('t -= (0.1 * g).T', (4, 3), None,
             '`t -= (0.1 * g).T` gives shape (4, 3)',
             "run on ndarray stand-ins; an in-place operator keeps `t`'s shape (4, 3)"),
        ],
        [
        ]),
    'dot': (
        'a = np.ones((4, 3)); b = np.ones((4, 2))',
        'y = np.dot(a, b)',
        [
            '`np.dot(a.T, b)` gives shape (3, 2)',
        ],
        [
            ('a = np.ones((4, 4)); b = np.ones((4, 2))', (4, 2), 2,
             '`a = np.ones((4, 4)); b = np.ones((4, 2))` (instead of `a = np.ones((4, 3)); b = '
             'np.ones((4, 2))`): then `a` has shape (4, 4) and `np.dot(a, b)` gives shape (4, '
             '2)',
             'shape rules'),
            ('np.dot(a.T, b)', (3, 2), None,
             '`np.dot(a.T, b)` gives shape (3, 2)',
             'run on ndarray stand-ins'),
        ],
        [
            '`b` must have 3 rows (it has 4): with shape (3, 2), `np.dot(a, b)` gives shape (4, '
            '2)',
            '`a` must have 4 columns (it has 3): with shape (4, 4), `np.dot(a, b)` gives shape '
            '(4, 2)',
        ]),
    'dot_method': (
        'a = np.ones((4, 3)); b = np.ones((4, 2))',
        'y = a.dot(b)',
        [
            '`a.T.dot(b)` gives shape (3, 2)',
        ],
        [
            ('a = np.ones((4, 4)); b = np.ones((4, 2))', (4, 2), 2,
             '`a = np.ones((4, 4)); b = np.ones((4, 2))` (instead of `a = np.ones((4, 3)); b = '
             'np.ones((4, 2))`): then `a` has shape (4, 4) and `a.dot(b)` gives shape (4, 2)',
             'shape rules'),
            ('a.T.dot(b)', (3, 2), None,
             '`a.T.dot(b)` gives shape (3, 2)',
             'run on ndarray stand-ins'),
        ],
        [
            '`b` must have 3 rows (it has 4): with shape (3, 2), `a.dot(b)` gives shape (4, 2)',
            '`a` must have 4 columns (it has 3): with shape (4, 4), `a.dot(b)` gives shape (4, '
            '2)',
        ]),
    'chain': (
        'a = np.ones((2, 3)); b = np.ones((2, 4)); c = np.ones((4, 5))',
        'y = a @ b @ c',
        [
            '`a.T @ b` gives shape (3, 4)',
        ],
        [
            ('a = np.ones((2, 2)); b = np.ones((2, 4)); c = np.ones((4, 5))', (2, 4), 2,
             '`a = np.ones((2, 2)); b = np.ones((2, 4)); c = np.ones((4, 5))` (instead of `a = '
             'np.ones((2, 3)); b = np.ones((2, 4)); c = np.ones((4, 5))`): then `a` has shape '
             '(2, 2) and `a @ b` gives shape (2, 4)',
             'shape rules'),
            ('a.T @ b', (3, 4), None,
             '`a.T @ b` gives shape (3, 4)',
             'run on ndarray stand-ins'),
        ],
        [
            '`b` must have 3 rows (it has 2): with shape (3, 4), `a @ b` gives shape (2, 4)',
            '`a` must have 2 columns (it has 3): with shape (2, 2), `a @ b` gives shape (2, 4)',
        ]),
    'scaled': (
        'a = np.ones((2, 3)); b = np.ones((2, 4))',
        'y = (2 * a) @ b',
        [
            '`(2 * a.T) @ b` gives shape (3, 4)',
        ],
        [
            ('a = np.ones((2, 2)); b = np.ones((2, 4))', (2, 4), 2,
             '`a = np.ones((2, 2)); b = np.ones((2, 4))` (instead of `a = np.ones((2, 3)); b = '
             'np.ones((2, 4))`): then `2 * a` has shape (2, 2) and `(2 * a) @ b` gives shape '
             '(2, 4)',
             'shape rules'),
            ('(2 * a.T) @ b', (3, 4), None,
             '`(2 * a.T) @ b` gives shape (3, 4)',
             'run on int, ndarray stand-ins'),
        ],
        [
            '`b` must have 3 rows (it has 2): with shape (3, 4), `(2 * a) @ b` gives shape (2, '
            '4)',
        ]),
    'unevaluated_leaf': (
        'X = np.ones((5, 3))\ndef load():\n    return np.ones((4, 3))',
        'y = np.dot(X, load())',
        [
        ],
        [
        ],
        [
            '`load()` must have 3 rows (it has 4): with shape (3, 3), `np.dot(X, load())` gives '
            'shape (5, 3)',
            '`X` must have 4 columns (it has 3): with shape (5, 4), `np.dot(X, load())` gives '
            'shape (5, 3)',
        ]),
    'column2': (
        'x = np.ones((3, 2)); c = np.ones((2, 1))',
        'y = x + c',
        [
            '`x + c[:, 0]` gives shape (3, 2)',
            '`x.T + c` gives shape (2, 3)',
            '`x + c.T` gives shape (3, 2)',
        ],
        [
            ('x = np.ones((2, 2)); c = np.ones((2, 1))', (2, 2), 2,
             '`x = np.ones((2, 2)); c = np.ones((2, 1))` (instead of `x = np.ones((3, 2)); c = '
             'np.ones((2, 1))`): then `x` has shape (2, 2) and `x + c` gives shape (2, 2)',
             'shape rules'),
            ('x + c[:, 0]', (3, 2), None,
             '`x + c[:, 0]` gives shape (3, 2)',
             'run on ndarray stand-ins'),
            ('x + c.T', (3, 2), None,
             '`x + c.T` gives shape (3, 2)',
             'run on ndarray stand-ins'),
        ],
        [
            '`c` must have 3 rows (it has 2): with shape (3, 1), `x + c` gives shape (3, 2)',
            '`x` must have 2 rows (it has 3): with shape (2, 2), `x + c` gives shape (2, 2)',
        ]),
    'row2': (
        'x = np.ones((2, 5)); r = np.ones((1, 2))',
        'y = x + r',
        [
            '`x.T + r` gives shape (5, 2)',
            '`x + r.T` gives shape (2, 5)',
            '`x.T + r[0]` gives shape (5, 2)',
        ],
        [
            ('x = np.ones((2, 2)); r = np.ones((1, 2))', (2, 2), 2,
             '`x = np.ones((2, 2)); r = np.ones((1, 2))` (instead of `x = np.ones((2, 5)); r = '
             'np.ones((1, 2))`): then `x` has shape (2, 2) and `x + r` gives shape (2, 2)',
             'shape rules'),
            ('x + r.T', (2, 5), None,
             '`x + r.T` gives shape (2, 5)',
             'run on ndarray stand-ins'),
        ],
        [
            '`r` must have 5 columns (it has 2): with shape (1, 5), `x + r` gives shape (2, 5)',
            '`x` must have 2 columns (it has 5): with shape (2, 2), `x + r` gives shape (2, 2)',
        ]),
    'batched_cube': (
        'A = np.ones((4, 3, 4)); B = np.ones((4, 3, 4))',
        'y = A @ B',
        [
            '`A @ np.swapaxes(B, -1, -2)` gives shape (4, 3, 3)',
            '`np.swapaxes(A, -1, -2) @ B` gives shape (4, 4, 4)',
        ],
        [
            ('A @ np.swapaxes(B, -1, -2)', (4, 3, 3), None,
             '`A @ np.swapaxes(B, -1, -2)` gives shape (4, 3, 3)',
             'run on ndarray stand-ins'),
            ('np.swapaxes(A, -1, -2) @ B', (4, 4, 4), None,
             '`np.swapaxes(A, -1, -2) @ B` gives shape (4, 4, 4)',
             'run on ndarray stand-ins'),
        ],
        [
            '`B` must have size 4 along axis 1 (it has 3): with shape (4, 4, 4), `A @ B` gives '
            'shape (4, 3, 4)',
            '`A` must have size 3 along axis 2 (it has 4): with shape (4, 3, 3), `A @ B` gives '
            'shape (4, 3, 4)',
        ]),
    'center_bare_name': (
        'from numpy import mean; X = np.ones((20, 5))',
        'Z = X - mean(X, axis=1)',
        [
            '`X - mean(X, axis=1, keepdims=True)` gives shape (20, 5)',
            '`X - mean(X, axis=1)[:, None]` gives shape (20, 5)',
            '`X.T - mean(X, axis=1)` gives shape (5, 20)',
            '`X.T - mean(X, axis=1)[None, :]` gives shape (5, 20)',
        ],
        [
            ('X - mean(X, axis=1, keepdims=True)', (20, 5), None,
             '`X - mean(X, axis=1, keepdims=True)` gives shape (20, 5)',
             'run on ndarray stand-ins'),
            ('X - mean(X, axis=1)[:, None]', (20, 5), None,
             '`X - mean(X, axis=1)[:, None]` gives shape (20, 5)',
             'run on ndarray stand-ins'),
        ],
        [
            '`mean(X, axis=1)` must have 5 entries (it has 20): with shape (5,), `X - mean(X, '
            'axis=1)` gives shape (20, 5)',
            '`X` must have 20 columns (it has 5): with shape (20, 20), `X - mean(X, axis=1)` '
            'gives shape (20, 20)',
        ]),
    'scalar_mean': (
        'X = np.ones((20, 5)); w = np.ones(20)',
        'Z = X - np.mean(X) * w',
        [
            '`X - np.mean(X) * w[:, None]` gives shape (20, 5)',
            '`X.T - np.mean(X) * w` gives shape (5, 20)',
            '`X.T - np.mean(X) * w[None, :]` gives shape (5, 20)',
        ],
        [
            ('X - np.mean(X) * w[:, None]', (20, 5), None,
             '`X - np.mean(X) * w[:, None]` gives shape (20, 5)',
             'run on float64, ndarray stand-ins'),
        ],
        [
            '`X` must have 20 columns (it has 5): with shape (20, 20), `X - np.mean(X) * w` '
            'gives shape (20, 20)',
        ]),
    'center_space': (
        'X = np.ones((20, 5))',
        'Z = X - X.mean(axis=1 )',
        [
            '`X - X.mean(axis=1, keepdims=True)` gives shape (20, 5)',
            '`X - X.mean(axis=1 )[:, None]` gives shape (20, 5)',
            '`X.T - X.mean(axis=1 )` gives shape (5, 20)',
            '`X.T - X.mean(axis=1 )[None, :]` gives shape (5, 20)',
        ],
        [
            ('X - X.mean(axis=1, keepdims=True)', (20, 5), None,
             '`X - X.mean(axis=1, keepdims=True)` gives shape (20, 5)',
             'run on ndarray stand-ins'),
            ('X - X.mean(axis=1 )[:, None]', (20, 5), None,
             '`X - X.mean(axis=1 )[:, None]` gives shape (20, 5)',
             'run on ndarray stand-ins'),
        ],
        [
            '`X.mean(axis=1 )` must have 5 entries (it has 20): with shape (5,), `X - '
            'X.mean(axis=1 )` gives shape (20, 5)',
            '`X` must have 20 columns (it has 5): with shape (20, 20), `X - X.mean(axis=1 )` '
            'gives shape (20, 20)',
        ]),
    'unknown_leaf': (
        'X = np.ones((4, 3))\ndef load():\n    return np.ones((4, 2))',
        'y = np.dot(X, 2 * load())',
        [
            '`np.dot(X.T, 2 * load())` gives shape (3, 2)',
        ],
        [
            ('X = np.ones((4, 4))', (4, 2), 2,
             '`X = np.ones((4, 4))` (instead of `X = np.ones((4, 3))`): then `X` has shape (4, '
             '4) and `np.dot(X, 2 * load())` gives shape (4, 2)',
             'shape rules'),
            ('np.dot(X.T, 2 * load())', (3, 2), None,
             '`np.dot(X.T, 2 * load())` gives shape (3, 2)',
             'run on ndarray stand-ins'),
        ],
        [
            '`X` must have 4 columns (it has 3): with shape (4, 4), `np.dot(X, 2 * load())` '
            'gives shape (4, 2)',
        ]),
    'inplace_center': (
        't = np.ones((4, 3))',
        't -= t.mean(axis=1)',
        [
            '`t -= t.mean(axis=1, keepdims=True)` gives shape (4, 3)',
            '`t -= t.mean(axis=1)[:, None]` gives shape (4, 3)',
        ],
        [
            ('t -= t.mean(axis=1, keepdims=True)', (4, 3), None,
             '`t -= t.mean(axis=1, keepdims=True)` gives shape (4, 3)',
             "run on ndarray stand-ins; an in-place operator keeps `t`'s shape (4, 3)"),
            ('t -= t.mean(axis=1)[:, None]', (4, 3), None,
             '`t -= t.mean(axis=1)[:, None]` gives shape (4, 3)',
             "run on ndarray stand-ins; an in-place operator keeps `t`'s shape (4, 3)"),
        ],
        [
            '`t.mean(axis=1)` must have 3 entries (it has 4): with shape (3,), `t -= '
            't.mean(axis=1)` gives shape (4, 3)',
        ]),
    'quartic': (
        'x = np.ones((6, 3)); A = np.ones((6, 3, 3)); B = np.ones((6, 3, 3)); y = np.ones((6, 3))',
        'z = x @ A @ B @ y',
        [
            '`x[:, None, :] @ A @ B @ y[:, :, None]` gives shape (6, 1, 1)',
            '`x @ A @ B @ y[:, :, None]` gives shape (6, 6, 1)',
            '`x[:, None, :] @ A @ B @ y.T` gives shape (6, 1, 6)',
            '`x @ A @ B @ y.T` gives shape (6, 6, 6)',
        ],
        [
            ('x[:, None, :] @ A @ B @ y[:, :, None]', (6, 1, 1), None,
             '`x[:, None, :] @ A @ B @ y[:, :, None]` gives shape (6, 1, 1)',
             'run on ndarray stand-ins'),
            ('x @ A @ B @ y[:, :, None]', (6, 6, 1), None,
             '`x @ A @ B @ y[:, :, None]` gives shape (6, 6, 1)',
             'run on ndarray stand-ins'),
            ('x[:, None, :] @ A @ B @ y.T', (6, 1, 6), None,
             '`x[:, None, :] @ A @ B @ y.T` gives shape (6, 1, 6)',
             'run on ndarray stand-ins'),
        ],
        [
            '`y` must have 3 rows (it has 6): with shape (3, 3), `x @ A @ B @ y` gives shape '
            '(6, 6, 3)',
            'line 2: make axis 0 of `y` 3 instead of `6` (6): then `x @ A @ B @ y` gives shape '
            '(6, 6, 3)',
        ]),
    'sum_times_batch': (
        'T = np.ones((6, 3, 3)); x = np.ones((6, 3))',
        'z = (T + T) @ x',
        [
            '`(T + T) @ x[:, :, None]` gives shape (6, 3, 1)',
            '`(T + T) @ x.T` gives shape (6, 3, 6)',
            '`x @ (T + T)` (the other order) gives shape (6, 6, 3)',
        ],
        [
            ('(T + T) @ x[:, :, None]', (6, 3, 1), None,
             '`(T + T) @ x[:, :, None]` gives shape (6, 3, 1)',
             'run on ndarray stand-ins'),
            ('(T + T) @ x.T', (6, 3, 6), None,
             '`(T + T) @ x.T` gives shape (6, 3, 6)',
             'run on ndarray stand-ins'),
            ('x @ (T + T)', (6, 6, 3), None,
             '`x @ (T + T)` (the other order) gives shape (6, 6, 3)',
             'run on ndarray stand-ins'),
        ],
        [
            '`x` must have 3 rows (it has 6): with shape (3, 3), `(T + T) @ x` gives shape (6, '
            '3, 3)',
            'line 2: make axis 2 of `T + T` 6 instead of `3` (3): then `(T + T) @ x` gives '
            'shape (6, 3, 3)',
        ]),
    'dot_times_batch': (
        'T = np.ones((6, 3, 3)); x = np.ones((6, 3))',
        'z = np.dot(T, T) @ x',
        [
            '`np.swapaxes(np.dot(T, T), -1, -2) @ x` gives shape (6, 3, 3, 3)',
            '`np.dot(T, T) @ x.T` gives shape (6, 3, 6, 6)',
        ],
        [
            ('np.swapaxes(np.dot(T, T), -1, -2) @ x', (6, 3, 3, 3), None,
             '`np.swapaxes(np.dot(T, T), -1, -2) @ x` gives shape (6, 3, 3, 3)',
             'run on ndarray stand-ins'),
            ('np.dot(T, T) @ x.T', (6, 3, 6, 6), None,
             '`np.dot(T, T) @ x.T` gives shape (6, 3, 6, 6)',
             'run on ndarray stand-ins'),
        ],
        [
            '`x` must have 3 rows (it has 6): with shape (3, 3), `np.dot(T, T) @ x` gives shape '
            '(6, 3, 6, 3)',
            '`np.dot(T, T)` must have size 6 along axis 3 (it has 3): with shape (6, 3, 6, 6), '
            '`np.dot(T, T) @ x` gives shape (6, 3, 6, 3)',
        ]),
    'rowwise': (
        'a = np.ones((6, 3)); b = np.ones((6, 3))',
        'y = a @ b',
        [
            '`a.T @ b` gives shape (3, 3)',
            '`a @ b.T` gives shape (6, 6)',
        ],
        [
            ('a.T @ b', (3, 3), None,
             '`a.T @ b` gives shape (3, 3)',
             'run on ndarray stand-ins'),
            ('a @ b.T', (6, 6), None,
             '`a @ b.T` gives shape (6, 6)',
             'run on ndarray stand-ins'),
        ],
        [
            '`b` must have 3 rows (it has 6): with shape (3, 3), `a @ b` gives shape (6, 3)',
            '`a` must have 6 columns (it has 3): with shape (6, 6), `a @ b` gives shape (6, 3)',
        ]),
    'batched_vec_slice': (
        'T = np.ones((6, 3, 3)); y = np.ones((6, 3))',
        'z = T[:, :, :] @ y',
        [
            '`np.einsum("nij,nj->ni", T[:, :, :], y)` gives shape (6, 3) (per-sample products '
            'along the shared first axis)',
            '`T[:, :, :] @ y[:, :, None]` gives shape (6, 3, 1)',
            '`T[:, :, :] @ y.T` gives shape (6, 3, 6)',
            '`y @ T[:, :, :]` (the other order) gives shape (6, 6, 3)',
        ],
        [
            ('np.einsum("nij,nj->ni", T[:, :, :], y)', (6, 3), None,
             '`np.einsum("nij,nj->ni", T[:, :, :], y)` gives shape (6, 3) (per-sample products '
             'along the shared first axis)',
             'run on ndarray stand-ins'),
            ('T[:, :, :] @ y[:, :, None]', (6, 3, 1), None,
             '`T[:, :, :] @ y[:, :, None]` gives shape (6, 3, 1)',
             'run on ndarray stand-ins'),
            ('T[:, :, :] @ y.T', (6, 3, 6), None,
             '`T[:, :, :] @ y.T` gives shape (6, 3, 6)',
             'run on ndarray stand-ins'),
        ],
        [
            '`y` must have 3 rows (it has 6): with shape (3, 3), `T[:, :, :] @ y` gives shape '
            '(6, 3, 3)',
            '`T[:, :, :]` must have size 6 along axis 2 (it has 3): with shape (6, 3, 6), `T[:, '
            ':, :] @ y` gives shape (6, 3, 3)',
        ]),
    'dot_swap': (
        'a = np.ones((2, 3)); b = np.ones((4, 2))',
        'y = np.dot(a, b)',
        [
            '`np.dot(a.T, b.T)` gives shape (3, 4)',
        ],
        [
            ('a = np.ones((2, 4)); b = np.ones((4, 2))', (2, 2), 2,
             '`a = np.ones((2, 4)); b = np.ones((4, 2))` (instead of `a = np.ones((2, 3)); b = '
             'np.ones((4, 2))`): then `a` has shape (2, 4) and `np.dot(a, b)` gives shape (2, '
             '2)',
             'shape rules'),
            ('np.dot(a.T, b.T)', (3, 4), None,
             '`np.dot(a.T, b.T)` gives shape (3, 4)',
             'run on ndarray stand-ins'),
        ],
        [
            '`b` must have 3 rows (it has 4): with shape (3, 2), `np.dot(a, b)` gives shape (2, '
            '2)',
            '`a` must have 4 columns (it has 3): with shape (2, 4), `np.dot(a, b)` gives shape '
            '(2, 2)',
        ]),
    'swap_compound': (
        'a = np.ones((2, 3)); b = np.ones((4, 2))',
        'y = (2 * a) @ (b + 0)',
        [
            '`(2 * a.T) @ (b.T + 0)` gives shape (3, 4)',
            '`(b + 0) @ (2 * a)` (the other order) gives shape (4, 3)',
        ],
        [
            ('a = np.ones((2, 4)); b = np.ones((4, 2))', (2, 2), 2,
             '`a = np.ones((2, 4)); b = np.ones((4, 2))` (instead of `a = np.ones((2, 3)); b = '
             'np.ones((4, 2))`): then `2 * a` has shape (2, 4) and `(2 * a) @ (b + 0)` gives '
             'shape (2, 2)',
             'shape rules'),
            ('(2 * a.T) @ (b.T + 0)', (3, 4), None,
             '`(2 * a.T) @ (b.T + 0)` gives shape (3, 4)',
             'run on int, ndarray stand-ins'),
            ('(b + 0) @ (2 * a)', (4, 3), None,
             '`(b + 0) @ (2 * a)` (the other order) gives shape (4, 3)',
             'run on ndarray stand-ins'),
        ],
        [
        ]),
    'matrix_slice': (
        'A = np.matrix(np.ones((2, 3))); B = np.matrix(np.ones((2, 3)))',
        'C = A[:, :] * B',
        [
            '`np.multiply(A[:, :], B)` gives shape (2, 3) if you meant the elementwise product',
            '`A[:, :] * B.T` gives shape (2, 2)',
            '`A[:, :].T * B` gives shape (3, 3)',
        ],
        [
            ('np.multiply(A[:, :], B)', (2, 3), None,
             '`np.multiply(A[:, :], B)` gives shape (2, 3) if you meant the elementwise product',
             'run on np.matrix stand-ins'),
            ('A[:, :] * B.T', (2, 2), None,
             '`A[:, :] * B.T` gives shape (2, 2)',
             'run on np.matrix stand-ins'),
            ('A[:, :].T * B', (3, 3), None,
             '`A[:, :].T * B` gives shape (3, 3)',
             'run on np.matrix stand-ins'),
        ],
        [
            '`B` must have 3 rows (it has 2): with shape (3, 3), `A[:, :] * B` gives shape (2, '
            '3)',
            '`A[:, :]` must have 2 columns (it has 3): with shape (2, 2), `A[:, :] * B` gives '
            'shape (2, 3)',
        ]),
    'matrix_empty': (
        'A = np.matrix(np.ones((0, 3))); B = np.matrix(np.ones((0, 3)))',
        'C = A * B',
        [
            '`np.multiply(A, B)` gives shape (0, 3) if you meant the elementwise product',
            '`A * B.T` gives shape (0, 0)',
            '`A.T * B` gives shape (3, 3)',
        ],
        [
            ('np.multiply(A, B)', (0, 3), None,
             '`np.multiply(A, B)` gives shape (0, 3) if you meant the elementwise product',
             'run on np.matrix stand-ins'),
            ('A * B.T', (0, 0), None,
             '`A * B.T` gives shape (0, 0)',
             'run on np.matrix stand-ins'),
            ('A.T * B', (3, 3), None,
             '`A.T * B` gives shape (3, 3)',
             'run on np.matrix stand-ins'),
        ],
        [
            '`B` must have 3 rows (it has 0): with shape (3, 3), `A * B` gives shape (0, 3)',
            '`A` must have 0 columns (it has 3): with shape (0, 0), `A * B` gives shape (0, 3)',
        ]),
    'compound_right': (
        'a = np.ones((2, 3)); b = np.ones((4, 2))',
        'y = a @ (b + 0)',
        [
            '`a.T @ (b.T + 0)` gives shape (3, 4)',
            '`(b + 0) @ a` (the other order) gives shape (4, 3)',
        ],
        [
            ('a = np.ones((2, 4)); b = np.ones((4, 2))', (2, 2), 2,
             '`a = np.ones((2, 4)); b = np.ones((4, 2))` (instead of `a = np.ones((2, 3)); b = '
             'np.ones((4, 2))`): then `a` has shape (2, 4) and `a @ (b + 0)` gives shape (2, 2)',
             'shape rules'),
            ('a.T @ (b.T + 0)', (3, 4), None,
             '`a.T @ (b.T + 0)` gives shape (3, 4)',
             'run on int, ndarray stand-ins'),
            ('(b + 0) @ a', (4, 3), None,
             '`(b + 0) @ a` (the other order) gives shape (4, 3)',
             'run on ndarray stand-ins'),
        ],
        [
            '`a` must have 4 columns (it has 3): with shape (2, 4), `a @ (b + 0)` gives shape '
            '(2, 2)',
        ]),
    'matrix_unknown_leaf': (
        'A = np.matrix(np.ones((2, 3)))\ndef load():\n    return np.matrix(np.ones((2, 3)))',
        'C = A * (2 * load())',
        [
            '`np.multiply(A, 2 * load())` gives shape (2, 3) if you meant the elementwise '
            'product',
            '`A.T * (2 * load())` gives shape (3, 3)',
        ],
        [
            ('np.multiply(A, 2 * load())', (2, 3), None,
             '`np.multiply(A, 2 * load())` gives shape (2, 3) if you meant the elementwise '
             'product',
             'run on ndarray, np.matrix stand-ins'),
            ('A.T * (2 * load())', (3, 3), None,
             '`A.T * (2 * load())` gives shape (3, 3)',
             'run on ndarray, np.matrix stand-ins'),
        ],
        [
            '`A` must have 2 columns (it has 3): with shape (2, 2), `A * (2 * load())` gives '
            'shape (2, 3)',
        ]),
    'inplace_3d': (
        't = np.zeros((6, 3, 3)); T = np.ones((6, 3, 4))',
        't += T',
        [
        ],
        [
        ],
        [
            '`T` must have size 3 along axis 2 (it has 4): with shape (6, 3, 3), `t += T` gives '
            'shape (6, 3, 3)',
            "the result must have shape (6, 3, 3): an in-place operator keeps `t`'s shape (6, "
            '3, 3)',
        ]),
    'matrix_slice_right': (
        'A = np.matrix(np.ones((2, 3))); B = np.matrix(np.ones((2, 3)))',
        'C = A * B[:, :]',
        [
            '`np.multiply(A, B[:, :])` gives shape (2, 3) if you meant the elementwise product',
            '`A * B[:, :].T` gives shape (2, 2)',
            '`A.T * B[:, :]` gives shape (3, 3)',
        ],
        [
            ('np.multiply(A, B[:, :])', (2, 3), None,
             '`np.multiply(A, B[:, :])` gives shape (2, 3) if you meant the elementwise product',
             'run on np.matrix stand-ins'),
            ('A * B[:, :].T', (2, 2), None,
             '`A * B[:, :].T` gives shape (2, 2)',
             'run on np.matrix stand-ins'),
            ('A.T * B[:, :]', (3, 3), None,
             '`A.T * B[:, :]` gives shape (3, 3)',
             'run on np.matrix stand-ins'),
        ],
        [
            '`B[:, :]` must have 3 rows (it has 2): with shape (3, 3), `A * B[:, :]` gives '
            'shape (2, 3)',
            '`A` must have 2 columns (it has 3): with shape (2, 2), `A * B[:, :]` gives shape '
            '(2, 3)',
        ]),
    'subscript_call': (
        'fs = [np.mean]; X = np.ones((20, 5))',
        'Z = X - fs[0](X, axis=1)',
        [
            '`X - fs[0](X, axis=1)[:, None]` gives shape (20, 5)',
            '`X.T - fs[0](X, axis=1)` gives shape (5, 20)',
            '`X.T - fs[0](X, axis=1)[None, :]` gives shape (5, 20)',
        ],
        [
            ('X - fs[0](X, axis=1)[:, None]', (20, 5), None,
             '`X - fs[0](X, axis=1)[:, None]` gives shape (20, 5)',
             'run on ndarray stand-ins'),
        ],
        [
            '`fs[0](X, axis=1)` must have 5 entries (it has 20): with shape (5,), `X - fs[0](X, '
            'axis=1)` gives shape (20, 5)',
            '`X` must have 20 columns (it has 5): with shape (20, 20), `X - fs[0](X, axis=1)` '
            'gives shape (20, 20)',
        ]),
}

# name -> (setup, failing line, [(offered expression, result shape, line, text, how checked)],
#          [what is needed])
JOINS = {
    'cat_axis': (
        'a = np.ones((100, 5)); b = np.ones((100, 3))',
        'y = np.concatenate([a, b])',
        [
            ('np.concatenate([a, b], axis=1)', (100, 8), None,
             '`np.concatenate([a, b], axis=1)` gives shape (100, 8)',
             "NumPy's join rules"),
        ],
        [
        ]),
    'cat_axis1': (
        'a = np.ones((4, 5)); b = np.ones((3, 5))',
        'y = np.concatenate((a, b), axis=1)',
        [
            ('np.concatenate((a, b), axis=0)', (7, 5), None,
             '`np.concatenate((a, b), axis=0)` gives shape (7, 5)',
             "NumPy's join rules"),
        ],
        [
        ]),
    'cat_neg': (
        'a = np.ones((4, 5)); b = np.ones((3, 5))',
        'y = np.concatenate([a, b], axis=-1)',
        [
            ('np.concatenate([a, b], axis=0)', (7, 5), None,
             '`np.concatenate([a, b], axis=0)` gives shape (7, 5)',
             "NumPy's join rules"),
        ],
        [
        ]),
    'cat_ndim': (
        'A = np.ones((2, 3)); b = np.ones(3)',
        'y = np.concatenate((A, b))',
        [
            ('np.concatenate((A, b[None, :]))', (3, 3), None,
             '`np.concatenate((A, b[None, :]))` gives shape (3, 3)',
             "NumPy's join rules"),
        ],
        [
        ]),
    'cat_ndim_col': (
        'A = np.ones((3, 2)); b = np.ones(3)',
        'y = np.concatenate([A, b], axis=1)',
        [
            ('np.concatenate([A, b[:, None]], axis=1)', (3, 3), None,
             '`np.concatenate([A, b[:, None]], axis=1)` gives shape (3, 3)',
             "NumPy's join rules"),
        ],
        [
        ]),
    'cat_T': (
        'a = np.ones((2, 3)); b = np.ones((3, 4))',
        'y = np.concatenate([a, b])',
        [
            ('np.concatenate([a, b.T])', (6, 3), None,
             '`np.concatenate([a, b.T])` gives shape (6, 3)',
             "NumPy's join rules"),
        ],
        [
        ]),
    'cat_seq': (
        'parts = [np.ones((2, 3)), np.ones((2, 4))]',
        'y = np.concatenate(parts)',
        [
            ('np.concatenate(parts, axis=1)', (2, 7), None,
             '`np.concatenate(parts, axis=1)` gives shape (2, 7)',
             "NumPy's join rules"),
        ],
        [
        ]),
    'stack': (
        'a = np.ones((2, 3)); b = np.ones((3, 2))',
        'y = np.stack([a, b])',
        [
            ('np.stack([a.T, b])', (2, 3, 2), None,
             '`np.stack([a.T, b])` gives shape (2, 3, 2)',
             "NumPy's join rules"),
            ('np.stack([a, b.T])', (2, 2, 3), None,
             '`np.stack([a, b.T])` gives shape (2, 2, 3)',
             "NumPy's join rules"),
        ],
        [
            'np.stack needs every array to have one shape, e.g. (2, 3) like most of them; `b` '
            'has (3, 2)',
        ]),
    'stack_axis': (
        'a = np.ones((2, 3)); b = np.ones((2, 4))',
        'y = np.stack([a, b], axis=1)',
        [
        ],
        [
            'np.stack needs every array to have one shape, e.g. (2, 3) like most of them; `b` '
            'has (2, 4)',
        ]),
    'vstack': (
        'a = np.ones((2, 3)); b = np.ones((2, 4))',
        'y = np.vstack([a, b])',
        [
            ('np.hstack([a, b])', (2, 7), None,
             '`np.hstack([a, b])` gives shape (2, 7)',
             "NumPy's join rules"),
            ('np.column_stack([a, b])', (2, 7), None,
             '`np.column_stack([a, b])` gives shape (2, 7)',
             "NumPy's join rules"),
        ],
        [
        ]),
    'hstack': (
        'a = np.ones((2, 3)); b = np.ones((3, 3))',
        'y = np.hstack([a, b])',
        [
            ('np.vstack([a, b])', (5, 3), None,
             '`np.vstack([a, b])` gives shape (5, 3)',
             "NumPy's join rules"),
            ('np.hstack([a.T, b])', (3, 5), None,
             '`np.hstack([a.T, b])` gives shape (3, 5)',
             "NumPy's join rules"),
        ],
        [
        ]),
    'hstack_1d': (
        'X = np.ones((30, 3)); bias = np.ones(30)',
        'y = np.hstack([X, bias])',
        [
            ('np.column_stack([X, bias])', (30, 4), None,
             '`np.column_stack([X, bias])` gives shape (30, 4)',
             "NumPy's join rules"),
            ('np.hstack([X, bias[:, None]])', (30, 4), None,
             '`np.hstack([X, bias[:, None]])` gives shape (30, 4)',
             "NumPy's join rules"),
        ],
        [
        ]),
    'column_stack': (
        'a = np.ones(3); b = np.ones(4)',
        'y = np.column_stack([a, b])',
        [
            ('np.hstack([a, b])', (7,), None,
             '`np.hstack([a, b])` gives shape (7,)',
             "NumPy's join rules"),
        ],
        [
        ]),
    'dstack': (
        'a = np.ones((2, 3)); b = np.ones((3, 2))',
        'y = np.dstack([a, b])',
        [
            ('np.dstack([a.T, b])', (3, 2, 2), None,
             '`np.dstack([a.T, b])` gives shape (3, 2, 2)',
             "NumPy's join rules"),
            ('np.dstack([a, b.T])', (2, 3, 2), None,
             '`np.dstack([a, b.T])` gives shape (2, 3, 2)',
             "NumPy's join rules"),
        ],
        [
        ]),
    'reshape_method_varargs': (
        'images = np.zeros((2, 784))',
        'img = images.reshape(28, 28)',
        [
            ('images.reshape(-1, 28, 28)', (2, 28, 28), None,
             '`images.reshape(-1, 28, 28)` gives shape (2, 28, 28) (keeps the leading axis (2,) '
             'as a batch)',
             'reshape arithmetic'),
        ],
        [
            '`images` must have 784 elements for (28, 28) (it has 1568); reshaping to other '
            'sizes would change what each axis means',
        ]),
    'reshape_method_tuple': (
        'images = np.zeros((2, 784))',
        'img = images.reshape((28, 28))',
        [
            ('images.reshape((-1, 28, 28))', (2, 28, 28), None,
             '`images.reshape((-1, 28, 28))` gives shape (2, 28, 28) (keeps the leading axis '
             '(2,) as a batch)',
             'reshape arithmetic'),
        ],
        [
            '`images` must have 784 elements for (28, 28) (it has 1568); reshaping to other '
            'sizes would change what each axis means',
        ]),
    'reshape_method_int': (
        'x = np.zeros((3, 4))',
        'v = x.reshape(4)',
        [
            ('x.reshape((-1, 4))', (3, 4), None,
             '`x.reshape((-1, 4))` gives shape (3, 4) (keeps the leading axis (3,) as a batch)',
             'reshape arithmetic'),
        ],
        [
            '`x` must have 4 elements for (4,) (it has 12); reshaping to other sizes would '
            'change what each axis means',
        ]),
    'reshape_method_list': (
        'images = np.zeros((2, 784))',
        'img = images.reshape([28, 28])',
        [
            ('images.reshape((-1, 28, 28))', (2, 28, 28), None,
             '`images.reshape((-1, 28, 28))` gives shape (2, 28, 28) (keeps the leading axis '
             '(2,) as a batch)',
             'reshape arithmetic'),
        ],
        [
            '`images` must have 784 elements for (28, 28) (it has 1568); reshaping to other '
            'sizes would change what each axis means',
        ]),
    'reshape_func': (
        'images = np.zeros((2, 784))',
        'img = np.reshape(images, (28, 28))',
        [
            ('np.reshape(images, (-1, 28, 28))', (2, 28, 28), None,
             '`np.reshape(images, (-1, 28, 28))` gives shape (2, 28, 28) (keeps the leading '
             'axis (2,) as a batch)',
             'reshape arithmetic'),
        ],
        [
            '`images` must have 784 elements for (28, 28) (it has 1568); reshaping to other '
            'sizes would change what each axis means',
        ]),
    'reshape_func_int': (
        'x = np.zeros((3, 4))',
        'v = np.reshape(x, 4)',
        [
            ('np.reshape(x, (-1, 4))', (3, 4), None,
             '`np.reshape(x, (-1, 4))` gives shape (3, 4) (keeps the leading axis (3,) as a '
             'batch)',
             'reshape arithmetic'),
        ],
        [
            '`x` must have 4 elements for (4,) (it has 12); reshaping to other sizes would '
            'change what each axis means',
        ]),
    'reshape_3d': (
        'v = np.zeros((2, 3, 16))',
        'img = v.reshape(4, 4)',
        [
            ('v.reshape(-1, 4, 4)', (6, 4, 4), None,
             '`v.reshape(-1, 4, 4)` gives shape (6, 4, 4) (keeps the leading axes (2, 3) as a '
             'batch)',
             'reshape arithmetic'),
        ],
        [
            '`v` must have 16 elements for (4, 4) (it has 96); reshaping to other sizes would '
            'change what each axis means',
        ]),
    'reshape_two_batch': (
        'v = np.zeros((2, 3, 16))',
        'img = v.reshape(2, 4)',
        [
        ],
        [
            '`v` must have 8 elements for (2, 4) (it has 96); reshaping to other sizes would '
            'change what each axis means',
        ]),
    'reshape_no_batch': (
        'v = np.zeros((6, 10))',
        'img = v.reshape(4, 5)',
        [
        ],
        [
            '`v` must have 20 elements for (4, 5) (it has 60); reshaping to other sizes would '
            'change what each axis means',
        ]),
    'reshape_m1': (
        'v = np.arange(12.0)',
        'M = v.reshape(-1, 5)',
        [
        ],
        [
            '`v` must have a multiple of 5 elements for (-1, 5) (it has 12); reshaping to other '
            'sizes would change what each axis means',
        ]),
    'reshape_not_multiple': (
        'v = np.zeros(30)',
        'M = v.reshape(4, 4)',
        [
        ],
        [
            '`v` must have 16 elements for (4, 4) (it has 30); reshaping to other sizes would '
            'change what each axis means',
        ]),
    'reshape_zero': (
        'v = np.zeros(30)',
        'M = v.reshape(0, 4)',
        [
        ],
        [
            '`v` must have 0 elements for (0, 4) (it has 30); reshaping to other sizes would '
            'change what each axis means',
        ]),
    'hstack_first_1d': (
        'bias = np.ones(30); X = np.ones((30, 3))',
        'y = np.hstack([bias, X])',
        [
            ('np.column_stack([bias, X])', (30, 4), None,
             '`np.column_stack([bias, X])` gives shape (30, 4)',
             "NumPy's join rules"),
            ('np.hstack([bias[:, None], X])', (30, 4), None,
             '`np.hstack([bias[:, None], X])` gives shape (30, 4)',
             "NumPy's join rules"),
        ],
        [
        ]),
    'cat_compound': (
        'a = np.ones((2, 3)); b = np.ones((3, 2))',
        'y = np.concatenate([a * 2, b])',
        [
            ('np.concatenate([(a * 2).T, b])', (6, 2), None,
             '`np.concatenate([(a * 2).T, b])` gives shape (6, 2)',
             "NumPy's join rules"),
            ('np.concatenate([a * 2, b.T])', (4, 3), None,
             '`np.concatenate([a * 2, b.T])` gives shape (4, 3)',
             "NumPy's join rules"),
        ],
        [
        ]),
    'reshape_multiline': (
        'images = np.zeros((2, 784))',
        'img = (images\n       .reshape(28, 28))',
        [
            ('images .reshape(-1, 28, 28)', (2, 28, 28), None,
             '`images .reshape(-1, 28, 28)` gives shape (2, 28, 28) (keeps the leading axis '
             '(2,) as a batch)',
             'reshape arithmetic'),
        ],
        [
            '`images` must have 784 elements for (28, 28) (it has 1568); reshaping to other '
            'sizes would change what each axis means',
        ]),
    'reshape_func_compound': (
        'images = np.zeros((2, 784))',
        'img = np.reshape(images + 0, (28, 28))',
        [
            ('np.reshape(images + 0, (-1, 28, 28))', (2, 28, 28), None,
             '`np.reshape(images + 0, (-1, 28, 28))` gives shape (2, 28, 28) (keeps the leading '
             'axis (2,) as a batch)',
             'reshape arithmetic'),
        ],
        [
            '`images + 0` must have 784 elements for (28, 28) (it has 1568); reshaping to other '
            'sizes would change what each axis means',
        ]),
    'reshape_with_1': (
        'images = np.zeros((2, 784))',
        'img = images.reshape(1, 784)',
        [
            ('images.reshape(-1, 1, 784)', (2, 1, 784), None,
             '`images.reshape(-1, 1, 784)` gives shape (2, 1, 784) (keeps the leading axis (2,) '
             'as a batch)',
             'reshape arithmetic'),
        ],
        [
            '`images` must have 784 elements for (1, 784) (it has 1568); reshaping to other '
            'sizes would change what each axis means',
        ]),
    'reshape_to_one': (
        'v = np.zeros(3)',
        'w = v.reshape(1)',
        [
        ],
        [
            '`v` must have 1 elements for (1,) (it has 3); reshaping to other sizes would '
            'change what each axis means',
        ]),
    'cat_len1': (
        'a = np.ones(1); B = np.ones((1, 1))',
        'y = np.concatenate([a, B])',
        [
            ('np.concatenate([a[None, :], B])', (2, 1), None,
             '`np.concatenate([a[None, :], B])` gives shape (2, 1)',
             "NumPy's join rules"),
            ('np.concatenate([a[:, None], B])', (2, 1), None,
             '`np.concatenate([a[:, None], B])` gives shape (2, 1)',
             "NumPy's join rules"),
        ],
        [
        ]),
}


def _explain(tmp_path: Path, monkeypatch, name: str, setup: str, line: str):
    """Run the script from a file; (explanation, the analyzer's op context, namespace, path)."""
    path = tmp_path / f"{name}.py"
    path.write_text(f"import numpy as np\n{setup}\n{line}\n")
    ns = {"__name__": "__main__", "__file__": str(path)}
    seen = {}
    build = _analyze._build

    def spy(op, exc, frame, source, ev, np_name, *args, **kwargs):
        seen.update(op=op, source=source, ev=ev, np_name=np_name)
        return build(op, exc, frame, source, ev, np_name, *args, **kwargs)

    monkeypatch.setattr(_analyze, "_build", spy)
    try:
        exec(compile(path.read_text(), str(path), "exec"), ns)
    except ValueError as exc:
        return explain_exception(exc), seen, ns, path
    raise AssertionError(f"{name}: {line} did not fail")


def _numpy_shape(expression: str, ns: dict, setup: str):
    """What NumPy gives for an offered expression or in-place statement, on fresh arrays."""
    env = dict(ns)
    exec(compile(setup, "<setup>", "exec"), env)     # fresh operands: in-place fixes write
    tree = ast.parse(expression)
    if isinstance(tree.body[0], ast.AugAssign):
        exec(compile(tree, "<fix>", "exec"), env)
        return np.shape(eval(ast.unparse(tree.body[0].target), env))
    return np.shape(eval(expression, env))


def _check_offered(e, expected, ns, setup, path, line):
    offered = e.suggestions
    assert [(s.expression, s.result_shape, s.line, s.text, s.checked) for s in offered] == \
        expected
    for s in offered:
        if s.line is None:
            assert _numpy_shape(s.expression, ns, setup) == tuple(s.result_shape), s.expression
        else:                     # a rewritten setup line: the whole script must now run
            script = path.read_text().splitlines()
            script[s.line - 1] = s.expression
            fixed = {"__name__": "__main__"}
            exec("\n".join(script), fixed)
            # the failing (sub-)expression now gives the promised shape
            assert np.shape(eval(e.expression, fixed)) == tuple(s.result_shape), s.expression


@pytest.mark.parametrize("name", sorted(TREE))
def test_rewrites_of_products_and_broadcasts(tmp_path, monkeypatch, name):
    setup, line, candidates, offered, needed = TREE[name]
    e, seen, ns, path = _explain(tmp_path, monkeypatch, name, setup, line)
    op, source, ev, np_name = seen["op"], seen["source"], seen["ev"], seen["np_name"]
    ranked = (_fixes._tree_suggestions(op, ev, source, np_name)
              + _fixes._einsum_suggestion(op, np_name)
              + _fixes._swap_suggestion(op, source)
              + _fixes._multiply_suggestion(op, np_name))
    ranked.sort(key=lambda r: r[0])
    assert [s.text for _, s in ranked] == candidates
    for _, s in ranked:          # every candidate's claim, offered or not, is NumPy's answer
        claimed = re.search(r"gives shape (\([\d, ]*\))", s.text).group(1)
        assert str(_numpy_shape(s.expression, ns, setup)) == claimed, s.text
        assert tuple(s.result_shape) == _numpy_shape(s.expression, ns, setup)
        assert s.text.startswith(f"`{s.expression}` ")
    _check_offered(e, offered, ns, setup, path, line)
    assert e.needed == needed


@pytest.mark.parametrize("name", sorted(JOINS))
def test_rewrites_of_joins_and_reshapes(tmp_path, monkeypatch, name):
    setup, line, offered, needed = JOINS[name]
    e, _, ns, path = _explain(tmp_path, monkeypatch, name, setup, line)
    _check_offered(e, offered, ns, setup, path, line)
    assert e.needed == needed


def test_a_throw_away_node_never_gets_another_nodes_cached_value():
    """The evaluator caches by id(node); the keepdims fix builds a fresh ast.Call each time, and
    a freed node's id is soon reused. The cache must not hand the new node the old value (it
    did: the keepdims variant then vanished or took another expression's shape)."""
    from matfit.explain._safe import SafeEvaluator

    X = np.ones((20, 5))
    ev = SafeEvaluator({"np": np}, {"X": X})
    for i in range(200):
        text = "np.sum(X, axis=1)" if i % 2 else "np.sum(X, axis=1, keepdims=True)"
        ok, value = ev.try_eval(ast.parse(text, mode="eval").body)   # a new node each time
        assert ok and value.shape == ((20,) if i % 2 else (20, 1)), (i, value)
