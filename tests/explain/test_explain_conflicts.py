"""The conflict sentence and the disagreeing dimensions, for every kind of failing operation.

Each case is a line of NumPy that fails. The explanation must say which dimensions disagree and
under which rule, in exactly the words below (written from NumPy's rules: matmul's core
dimension k and its broadcast batch axes, right-aligned broadcasting, the join axis, the element
count of a reshape), and every dimension it names must be real: the operand has that size along
that axis. Where one pair of sizes is named, giving the first operand the second's size there
must make NumPy accept the line (giving the second operand the first's size, for three joined
arrays of which the last is the odd one): those are the sizes that disagree, not some others.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from matfit.explain import explain_exception

pytestmark = pytest.mark.filterwarnings(
    "ignore:the matrix subclass is not the recommended:PendingDeprecationWarning")

# name -> (setup, failing expression, operation, conflict sentence, [(operand, axis, size)])
CASES = {
    'core_2d': (
        'W = np.ones((5, 2)); H = np.ones((3, 4))',
        'W @ H', 'matmul',
        '`W` has 2 columns (dim 1) but `H` has 3 rows (dim 0); `W @ H` contracts the last axis '
        'of `W` with the second-to-last axis of `H` (matmul core dimension k), so the two must '
        'be equal.',
        [('W', 1, 2), ('H', 0, 3)]),
    'core_vec': (
        'A = np.ones((5, 2)); v = np.ones(3)',
        'A @ v', 'matmul',
        '`A` has 2 columns (dim 1) but `v` has 3 entries (dim 0); `A @ v` contracts the last '
        'axis of `A` with the only axis of `v` (matmul core dimension k), so the two must be '
        'equal.',
        [('A', 1, 2), ('v', 0, 3)]),
    'core_vec_left': (
        'v = np.ones(3); A = np.ones((2, 5))',
        'v @ A', 'matmul',
        '`v` has 3 entries (dim 0) but `A` has 2 rows (dim 0); `v @ A` contracts the last axis '
        'of `v` with the second-to-last axis of `A` (matmul core dimension k), so the two must '
        'be equal.',
        [('v', 0, 3), ('A', 0, 2)]),
    'core_3d': (
        'A = np.ones((2, 3, 4)); B = np.ones((2, 5, 6))',
        'A @ B', 'matmul',
        '`A` has size 4 along axis 2 but `B` has size 5 along axis 1; `A @ B` contracts the last '
        'axis of `A` with the second-to-last axis of `B` (matmul core dimension k), so the two '
        'must be equal.',
        [('A', 2, 4), ('B', 1, 5)]),
    'batch': (
        'A = np.ones((2, 3, 4)); B = np.ones((3, 4, 5))',
        'A @ B', 'matmul',
        'the core dimensions agree (k = 4), but the batch axes (all but the last two) do not '
        'broadcast: `A` has batch shape (2,) and `B` has (3,); `A` has 2 along axis 0 and `B` '
        'has 3 along axis 0: sizes must be equal or 1.',
        [('A', 0, 2), ('B', 0, 3)]),
    'batch_ranks': (
        'A = np.ones((4, 2, 3, 4)); B = np.ones((3, 4, 5))',
        'A @ B', 'matmul',
        'the core dimensions agree (k = 4), but the batch axes (all but the last two) do not '
        'broadcast: `A` has batch shape (4, 2) and `B` has (3,); `A` has 2 along axis 1 and `B` '
        'has 3 along axis 0: sizes must be equal or 1.',
        [('A', 1, 2), ('B', 0, 3)]),
    'batch_outer': (
        'A = np.ones((5, 1, 3, 4)); B = np.ones((6, 2, 4, 5))',
        'A @ B', 'matmul',
        'the core dimensions agree (k = 4), but the batch axes (all but the last two) do not '
        'broadcast: `A` has batch shape (5, 1) and `B` has (6, 2); `A` has 5 along axis 0 and '
        '`B` has 6 along axis 0: sizes must be equal or 1.',
        [('A', 0, 5), ('B', 0, 6)]),
    'batch_two_bad': (
        'A = np.ones((5, 2, 3, 4)); B = np.ones((6, 3, 4, 5))',
        'A @ B', 'matmul',
        'the core dimensions agree (k = 4), but the batch axes (all but the last two) do not '
        'broadcast: `A` has batch shape (5, 2) and `B` has (6, 3); `A` has 2 along axis 1 and '
        '`B` has 3 along axis 1: sizes must be equal or 1.',
        [('A', 1, 2), ('B', 1, 3)]),
    'matmul_0d': (
        'a = np.float64(2.0); B = np.ones((3, 4))',
        'a @ B', 'matmul',
        '`a` is 0-d (a scalar), but `a @ B` needs at least one axis on each operand: multiply by '
        'a scalar with `*`.',
        []),
    'dot': (
        'a = np.ones((4, 3)); b = np.ones((4, 2))',
        'np.dot(a, b)', 'dot',
        '`a` has 3 columns (dim 1) but `b` has 4 rows (dim 0); np.dot contracts the last axis of '
        '`a` with the second-to-last axis of `b`, so the two must be equal.',
        [('a', 1, 3), ('b', 0, 4)]),
    'dot_vec': (
        'a = np.ones((4, 3)); b = np.ones(5)',
        'np.dot(a, b)', 'dot',
        '`a` has 3 columns (dim 1) but `b` has 5 entries (dim 0); np.dot contracts the last axis '
        'of `a` with the only axis of `b`, so the two must be equal.',
        [('a', 1, 3), ('b', 0, 5)]),
    'dot_3d': (
        'a = np.ones((2, 4, 3)); b = np.ones((2, 5, 6))',
        'np.dot(a, b)', 'dot',
        '`a` has size 3 along axis 2 but `b` has size 5 along axis 1; np.dot contracts the last '
        'axis of `a` with the second-to-last axis of `b`, so the two must be equal.',
        [('a', 2, 3), ('b', 1, 5)]),
    'matrix': (
        'A = np.matrix(np.ones((2, 3))); B = np.matrix(np.ones((2, 3)))',
        'A * B', 'matrix product',
        '`A` has 3 columns (dim 1) but `B` has 2 rows (dim 0); `*` on np.matrix is the matrix '
        'product (np.dot), not elementwise: np.dot contracts the last axis of `A` with the '
        'second-to-last axis of `B`, so the two must be equal.',
        [('A', 1, 3), ('B', 0, 2)]),
    'bcast': (
        'a = np.ones((3, 3)); b = np.ones((1, 4))',
        'a + b', 'broadcast',
        'broadcasting aligns the shapes (3, 3) and (1, 4) from the right; at axis -1 `a` has 3 '
        '(its axis 1) and `b` has 4 (its axis 1): sizes there must be equal, or 1.',
        [('a', 1, 3), ('b', 1, 4)]),
    'bcast3': (
        'a = np.ones((2, 3)); b = np.ones((1, 4)); c = np.ones(5)',
        'a + b * c', 'broadcast',
        'broadcasting aligns the shapes (1, 4) and (5,) from the right; at axis -1 `b` has 4 '
        '(its axis 1) and `c` has 5 (its axis 0): sizes there must be equal, or 1.',
        [('b', 1, 4), ('c', 0, 5)]),
    'bcast_ranks': (
        'a = np.ones((2, 3, 4)); b = np.ones((5, 4))',
        'a - b', 'broadcast',
        'broadcasting aligns the shapes (2, 3, 4) and (5, 4) from the right; at axis -2 `a` has '
        '3 (its axis 1) and `b` has 5 (its axis 0): sizes there must be equal, or 1.',
        [('a', 1, 3), ('b', 0, 5)]),
    'inplace': (
        't = np.zeros((3, 1)); v = np.ones((1, 4))',
        't += v', 'in-place broadcast',
        'the in-place operator writes its result into `t` of shape (3, 1), but `t` and `v` '
        'broadcast to (3, 4): an in-place operator cannot change the shape of its target.',
        [('t', 1, 1)]),
    'inplace_1d': (
        't = np.zeros(3); v = np.ones((4, 1))',
        't -= v', 'in-place broadcast',
        'the in-place operator writes its result into `t` of shape (3,), but `t` and `v` '
        'broadcast to (4, 3): an in-place operator cannot change the shape of its target.',
        []),
    'inplace_bad': (
        't = np.zeros((3, 3)); v = np.ones(4)',
        't *= v', 'in-place broadcast',
        'broadcasting aligns the shapes (3, 3) and (4,) from the right; at axis -1 `t` has 3 '
        '(its axis 1) and `v` has 4 (its axis 0): sizes there must be equal, or 1.',
        [('t', 1, 3), ('v', 0, 4)]),
    'cat_ndim': (
        'A = np.ones((2, 3)); b = np.ones(3)',
        'np.concatenate([A, b])', 'concatenate',
        'all arrays must have the same number of dimensions, but `A` is 2-D (2, 3) and `b` is '
        '1-D (3,).',
        [('A', None, 2), ('b', None, 1)]),
    'vstack_ndim': (
        'A = np.ones((2, 3, 4)); b = np.ones(3)',
        'np.vstack([A, b])', 'vstack',
        'all arrays must have the same number of dimensions after vstack promotes 1-D inputs, '
        'but `A` is 3-D (2, 3, 4) and `b` is 2-D (1, 3).',
        [('A', None, 3), ('b', None, 2)]),
    'stack_1d': (
        'a = np.ones(3); b = np.ones(4)',
        'np.stack([a, b])', 'stack',
        'np.stack needs arrays of one shape, but `a` has shape (3,) and `b` has (4,) (axis 0: 3 '
        'vs 4).',
        [('a', 0, 3), ('b', 0, 4)]),
    'stack_2d': (
        'a = np.ones((2, 3)); b = np.ones((2, 4))',
        'np.stack([a, b])', 'stack',
        'np.stack needs arrays of one shape, but `a` has shape (2, 3) and `b` has (2, 4) (axis '
        '1: 3 vs 4).',
        [('a', 1, 3), ('b', 1, 4)]),
    'cat_axis': (
        'numeric = np.ones((100, 5)); one_hot = np.ones((100, 3))',
        'np.concatenate([numeric, one_hot])', 'concatenate',
        'concatenate joins along axis 0, so every other axis must match, but along axis 1 '
        '`numeric` has 5 and `one_hot` has 3 (shapes (100, 5) and (100, 3)).',
        [('numeric', 1, 5), ('one_hot', 1, 3)]),
    'cat_neg': (
        'a = np.ones((2, 3)); b = np.ones((4, 5))',
        'np.concatenate([a, b], axis=-1)', 'concatenate',
        'concatenate joins along axis 1, so every other axis must match, but along axis 0 `a` '
        'has 2 and `b` has 4 (shapes (2, 3) and (4, 5)).',
        [('a', 0, 2), ('b', 0, 4)]),
    'cat_three': (
        'a = np.ones((2, 3)); b = np.ones((2, 3)); c = np.ones((2, 4))',
        'np.concatenate([a, b, c])', 'concatenate',
        'concatenate joins along axis 0, so every other axis must match, but along axis 1 `a` '
        'has 3 and `c` has 4 (shapes (2, 3) and (2, 4)).',
        [('a', 1, 3), ('c', 1, 4)]),
    'vstack': (
        'a = np.ones((2, 3)); b = np.ones((2, 4))',
        'np.vstack([a, b])', 'vstack',
        'vstack joins along axis 0, so every other axis must match, but along axis 1 `a` has 3 '
        'and `b` has 4 (shapes (2, 3) and (2, 4)).',
        [('a', 1, 3), ('b', 1, 4)]),
    'hstack': (
        'a = np.ones((2, 3)); b = np.ones((3, 3))',
        'np.hstack([a, b])', 'hstack',
        'hstack joins along axis 1, so every other axis must match, but along axis 0 `a` has 2 '
        'and `b` has 3 (shapes (2, 3) and (3, 3)).',
        [('a', 0, 2), ('b', 0, 3)]),
    'cat_0d': (
        'a = np.float64(1.0); b = np.float64(2.0)',
        'np.concatenate([a, b])', 'concatenate',
        'concatenate cannot join 0-d arrays.',
        []),
    'cat_empty': (
        '',
        'np.concatenate([])', 'concatenate',
        'no arrays to join.',
        []),
    'reshape_m1': (
        'v = np.arange(12.0)',
        'v.reshape(-1, 5)', 'reshape',
        '`v` has 12 elements (shape (12,)) but with -1 the other axes hold 5 elements, which '
        'does not divide 12: reshape keeps the number of elements.',
        [('v', None, 12)]),
    'reshape_zero': (
        'v = np.arange(12.0)',
        'v.reshape(-1, 0)', 'reshape',
        '`v` has 12 elements (shape (12,)) but the other axes hold 0 elements: reshape keeps the '
        'number of elements.',
        [('v', None, 12)]),
    'reshape': (
        'images = np.zeros((2, 784))',
        'images.reshape(28, 28)', 'reshape',
        '`images` has 1568 elements (shape (2, 784)) but shape (28, 28) holds 784: reshape keeps '
        'the number of elements.',
        [('images', None, 1568)]),
    'reshape_fn': (
        'x = np.zeros((3, 5))',
        'np.reshape(x, (4, 4))', 'reshape',
        '`x` has 15 elements (shape (3, 5)) but shape (4, 4) holds 16: reshape keeps the number '
        'of elements.',
        [('x', None, 15)]),    'matmul_0d_right': (
        'A = np.ones((3, 4)); b = np.float64(2.0)',
        'A @ b', 'matmul',
        '`b` is 0-d (a scalar), but `A @ b` needs at least one axis on each operand: multiply '
        'by a scalar with `*`.',
        []),
    'batch_ranks_left': (
        'A = np.ones((3, 3, 4)); B = np.ones((4, 2, 4, 5))',
        'A @ B', 'matmul',
        'the core dimensions agree (k = 4), but the batch axes (all but the last two) do not '
        'broadcast: `A` has batch shape (3,) and `B` has (4, 2); `A` has 3 along axis 0 and '
        '`B` has 2 along axis 1: sizes must be equal or 1.',
        [('A', 0, 3), ('B', 1, 2)]),
    'inplace_middle': (
        't = np.zeros((2, 1, 3)); v = np.ones((4, 3))',
        't += v', 'in-place broadcast',
        'the in-place operator writes its result into `t` of shape (2, 1, 3), but `t` and `v` '
        'broadcast to (2, 4, 3): an in-place operator cannot change the shape of its target.',
        [('t', 1, 1)]),
    'inplace_outer': (
        't = np.zeros((1, 3)); v = np.ones((4, 3))',
        't += v', 'in-place broadcast',
        'the in-place operator writes its result into `t` of shape (1, 3), but `t` and `v` '
        'broadcast to (4, 3): an in-place operator cannot change the shape of its target.',
        [('t', 0, 1)]),
    'stack_ndim': (
        'a = np.ones((2, 3)); b = np.ones(3)',
        'np.stack([a, b])', 'stack',
        'all arrays must have the same number of dimensions, but `a` is 2-D (2, 3) and `b` is '
        '1-D (3,).',
        [('a', None, 2), ('b', None, 1)]),
    'where_one': (
        'm = np.ones((2, 3), bool); a = np.ones((2, 1)); b = np.ones((2, 4))',
        'np.where(m, a, b)', 'broadcast',
        'broadcasting aligns the shapes (2, 3) and (2, 1) and (2, 4) from the right; at axis -1 '
        '`m` has 3 (its axis 1) and `b` has 4 (its axis 1): sizes there must be equal, or 1.',
        [('m', 1, 3), ('b', 1, 4)]),
}
# the named pair is not the only disagreement (a second batch axis) or no pair is named
NO_SINGLE_FIX = {"batch_two_bad", "matmul_0d", "matmul_0d_right", "inplace_middle",
                 "inplace_outer", "stack_ndim", "inplace", "inplace_1d", "cat_0d", "cat_empty",
                 "cat_ndim", "vstack_ndim", "reshape_m1", "reshape_zero", "reshape",
                 "reshape_fn", "bcast3"}


def _run(tmp_path: Path, name: str, setup: str, expr: str, replace: dict | None = None):
    """Run the case from a real file (explain reads the source): (exception, namespace)."""
    body = expr if "=" in expr.replace("==", "") and not expr.startswith("np.") else \
        f"y = {expr}"
    path = tmp_path / f"{name}.py"
    path.write_text(f"import numpy as np\n{setup}\n{body}\n")
    ns = {"__name__": "__main__", "__file__": str(path)}
    code = compile(path.read_text(), str(path), "exec")
    if replace:
        exec(compile(f"import numpy as np\n{setup}\n", str(path), "exec"), ns)
        ns.update(replace)
        exec(compile(body, str(path), "exec"), ns)
        return None, ns
    try:
        exec(code, ns)
    except ValueError as exc:
        return exc, ns
    raise AssertionError(f"{name}: {expr} did not fail")


@pytest.mark.parametrize("name", sorted(CASES))
def test_conflict_sentence_and_dimensions(tmp_path, name):
    setup, expr, operation, sentence, dims = CASES[name]
    exc, ns = _run(tmp_path, name, setup, expr)
    e = explain_exception(exc)
    assert e is not None, f"{name}: {exc}"
    assert e.operation == operation
    assert e.conflict == sentence
    assert e.dimensions == [{"operand": o, "axis": a, "size": s} for o, a, s in dims]
    assert e.to_dict()["conflict"] == {"description": sentence, "dimensions": e.dimensions}
    # every named dimension is real: NumPy's own shape, its number of axes or of elements
    for operand, axis, size in dims:
        value = np.asarray(ns[operand])
        if axis is not None:
            assert value.shape[axis] == size, (operand, axis)
        elif operation == "reshape":
            assert value.size == size
        else:
            assert value.ndim == size or np.atleast_2d(value).ndim == size


@pytest.mark.parametrize("name", sorted(set(CASES) - NO_SINGLE_FIX))
def test_the_named_sizes_are_the_ones_that_disagree(tmp_path, name):
    setup, expr, _, _, dims = CASES[name]
    (_, _, size), (second, axis, _) = dims
    _, ns = _run(tmp_path, name, setup, expr, {})
    value = ns[second]
    shape = list(np.shape(value))
    shape[axis] = size
    fixed = np.matrix(np.zeros(shape)) if isinstance(value, np.matrix) else np.zeros(shape)
    _run(tmp_path, name, setup, expr, {second: fixed})       # raises if NumPy still refuses
