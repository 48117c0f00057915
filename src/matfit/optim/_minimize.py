"""``minimize``: unconstrained minimisation of a smooth function by name of method.

Implementation notes
--------------------
* ``"bb"`` is gradient descent with Barzilai–Borwein step lengths (Barzilai & Borwein 1988) made
  globally convergent by the non-monotone line search of Grippo, Lampariello & Lucidi (1986), as
  in Raydan's GBB method (Raydan 1997, SIAM J. Optim. 7(1)). A trial step ``lam`` along ``-g`` is
  accepted when ``f(x - lam g) <= f_ref - gamma lam g.g + noise |f_ref|`` with ``f_ref`` the
  largest of the last ``memory`` objectives; otherwise it is shrunk by safeguarded quadratic
  interpolation into ``[0.1 lam, 0.5 lam]``. The ``noise`` allowance (1e-12, in the spirit of
  Hager & Zhang's approximate Wolfe test) stops the search from backtracking on rounding noise
  once the decrease it asks for falls below the objective's precision; ``memory=30`` (Raydan
  uses 10) let ill-conditioned least squares converge 2-3x faster in our measurements.
* The next trial step is the BB step ``s.s / s.y`` ("bb1"), ``s.y / y.y`` ("bb2"), the two
  alternated ("alternate", the default: on ill-conditioned least squares it needs far fewer
  iterations than either alone), or "abbmin" (Frassoldati, Zanni & Zanghirati 2008: the
  smallest of the last 10 BB2 steps when BB2 < 0.8 BB1, else BB1). When ``s.y <= 0``
  (non-convex region) the scale-free ``|s| / |y|`` is used.
* ``"sgd"`` and ``"adam"`` take fixed-size steps with :func:`matfit.optim.sgd` / :func:`adam`
  (momentum, betas... through ``options``), exactly as ``torch.optim`` would on the same
  gradients.
* ``"lbfgs"`` delegates to ``scipy.optimize.minimize(method="L-BFGS-B")`` with ``maxiter``,
  ``gtol`` and ``ftol`` translated; ``options`` go to SciPy unchanged. With ``ftol=0`` SciPy's
  relative-reduction stop means that no step lowered the objective: that is status 5, not a
  success. An empty ``x0`` (SciPy rejects N = 0) converges at once, as with the other methods.
* ``x`` keeps the caller's dtype (float32 stays float32; "lbfgs" works in float64 inside
  SciPy and casts back); objective values, step lengths and BB inner products are float64.
  ``history`` holds the objective at ``x0`` and after each iteration.
* Divergence -- a non-finite objective or gradient, or an objective that grows by more than
  ``options["explode"]`` (default 1e8) times ``max(|f(x0)|, 1)`` -- stops at once with the best
  finite iterate, ``success=False`` and a message naming the likely causes.
"""

from __future__ import annotations

import math
import warnings
from collections import deque
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
from scipy.optimize import OptimizeResult

from .._errors import ConvergenceWarning, InvalidParameterError
from .._progress import progress
from ..shapes import as_float_array

__all__ = ["STATUS_MESSAGES", "minimize"]

Method = Literal["bb", "adam", "sgd", "lbfgs"]

#: status code -> message template; 0 and 2 are successes.
STATUS_MESSAGES = {
    0: "converged: ||grad||_inf = {gnorm:.3g} <= gtol = {gtol:g}",
    1: ("maximum number of iterations reached (max_iter={max_iter}) with ||grad||_inf = "
        "{gnorm:.3g} > gtol = {gtol:g}: raise max_iter, loosen gtol{more}"),
    2: "converged: relative decrease of the objective fell below ftol = {ftol:g}",
    3: ("diverged: the objective or its gradient became non-finite at iteration {nit}. Likely "
        "causes: {hint}"),
    4: ("diverged: the objective exploded from {f0:.6g} to {fbad:.6g} at iteration {nit}. "
        "Likely causes: {hint}"),
    5: ("stopped: the line search could not decrease the objective any further "
        "(||grad||_inf = {gnorm:.3g} > gtol = {gtol:g}); floating-point precision is exhausted "
        "at this point: loosen gtol or rescale the problem"),
    6: "stopped by the callback",
}

_OPTIONS = {
    "bb": {"memory": 30, "gamma": 1e-4, "variant": "alternate", "max_backtracks": 60,
           "step_min": 1e-30, "step_max": 1e30, "noise": 1e-12, "explode": 1e8},
    "sgd": {"momentum": 0.0, "dampening": 0.0, "weight_decay": 0.0, "nesterov": False,
            "explode": 1e8},
    "adam": {"betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False,
             "explode": 1e8},
}


def minimize(
    fun: Callable[..., Any],
    x0: Any,
    jac: Callable[[np.ndarray], Any] | bool | None = None,
    *,
    method: Method = "bb",
    lr: float | None = None,
    max_iter: int = 1000,
    gtol: float = 1e-8,
    ftol: float = 0.0,
    options: dict | None = None,
    callback: Callable[[OptimizeResult], Any] | None = None,
    verbose: int = 0,
) -> OptimizeResult:
    """Minimise ``fun`` from ``x0`` by gradient descent (BB, SGD, Adam) or SciPy's L-BFGS-B.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> float``, or ``fun(x) -> (float, gradient)`` when ``jac=True``; ``x`` has the
        shape and dtype of ``x0``.
    x0 : array_like, any shape
        Starting point (float32 stays float32; other dtypes become float64). Not modified.
    jac : callable, True or None
        ``jac(x) -> gradient`` shaped like ``x``; True if ``fun`` returns the gradient too;
        None for central finite differences (2 * x0.size evaluations per gradient).
    method : {"bb", "adam", "sgd", "lbfgs"}
        See the module notes. "bb" needs no learning rate.
    lr : float, optional
        "bb": the first trial step (default ``1 / ||grad(x0)||_inf``); "sgd"/"adam": the
        learning rate (default 1e-3, PyTorch's); ignored by "lbfgs".
    max_iter : int
        Iterations (gradient steps) at most.
    gtol : float
        Success when ``||grad||_inf <= gtol``.
    ftol : float
        Success when ``(f_prev - f) / max(|f_prev|, |f|, 1) < ftol`` for a non-increasing step
        (0 disables the test).
    options : dict, optional
        Method options. "bb": ``memory`` (30), ``gamma`` (1e-4), ``variant``
        ("alternate", "bb1", "bb2", "abbmin"), ``max_backtracks`` (60), ``step_min``,
        ``step_max``, ``noise`` (1e-12), ``explode`` (1e8). "sgd": ``momentum``,
        ``dampening``, ``weight_decay``, ``nesterov``, ``explode``. "adam": ``betas``,
        ``eps``, ``weight_decay``, ``amsgrad``, ``explode``.
        "lbfgs": passed to SciPy's L-BFGS-B (e.g. ``maxcor``, ``maxfun``).
    callback : callable, optional
        ``callback(intermediate_result)`` after each iteration with an ``OptimizeResult``
        holding ``x``, ``fun`` and ``nit``; returning True or raising StopIteration stops.
    verbose : int
        0 silent; 1 a progress bar on stderr.

    Returns
    -------
    scipy.optimize.OptimizeResult
        ``x`` (shape of x0), ``fun``, ``jac``, ``nit``, ``nfev``, ``njev``, ``status``,
        ``success``, ``message`` (from :data:`STATUS_MESSAGES`) and ``history`` (objective at
        x0 and after each iteration). Status 0 (gtol) and 2 (ftol) are successes; 1 is max_iter
        (with a :class:`ConvergenceWarning`); 3 and 4 are divergence; 5 a line-search stall;
        6 the callback.

    Raises
    ------
    InvalidParameterError
        For an unknown method or option, or a bad max_iter, gtol, ftol or lr.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.diag([1.0, 100.0]); b = np.array([1.0, 1.0])
    >>> res = minimize(lambda x: 0.5 * x @ A @ x - b @ x, np.zeros(2), lambda x: A @ x - b)
    >>> res.success, np.round(res.x, 6)
    (True, array([1.  , 0.01]))
    """
    if method not in ("bb", "adam", "sgd", "lbfgs"):
        raise InvalidParameterError(
            f"minimize(method={method!r}): method must be one of 'bb', 'adam', 'sgd', 'lbfgs'."
        )
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 0:
        raise InvalidParameterError(f"minimize(max_iter={max_iter!r}): max_iter must be an "
                                    f"integer >= 0.")
    for name, value in (("gtol", gtol), ("ftol", ftol)):
        if not isinstance(value, (int, float, np.floating)) or not value >= 0:
            raise InvalidParameterError(f"minimize({name}={value!r}): {name} must be a number "
                                        f">= 0.")
    if lr is not None and (not isinstance(lr, (int, float, np.floating))
                           or not math.isfinite(lr) or lr <= 0):
        raise InvalidParameterError(f"minimize(lr={lr!r}): lr must be a finite number > 0, or "
                                    f"None for the method's default.")
    x0 = as_float_array(x0, "x0")
    if method == "lbfgs":
        return _lbfgs(fun, x0, jac, max_iter, gtol, ftol, dict(options or {}), callback, verbose)
    opts = dict(_OPTIONS[method])
    for key, value in (options or {}).items():
        if key not in opts:
            raise InvalidParameterError(
                f"minimize(method={method!r}): unknown option {key!r}; valid options are "
                f"{sorted(opts)}."
            )
        opts[key] = value
    problem = _Problem(fun, jac, x0)
    run = _bb if method == "bb" else _fixed_step
    with progress(total=max_iter, desc=f"minimize[{method}]", verbose=verbose) as bar:
        res = run(problem, method, lr, max_iter, gtol, ftol, opts, callback, bar)
    return res


class _Problem:
    """The objective and gradient on flat float arrays, with evaluation counts."""

    def __init__(self, fun: Callable, jac: Any, x0: np.ndarray) -> None:
        self.fun, self.jac, self.shape, self.dtype = fun, jac, x0.shape, x0.dtype
        self.nfev = self.njev = 0
        self.x0 = x0.ravel().copy()
        self._cache: tuple[np.ndarray, np.ndarray] | None = None  # (x, grad) when jac=True

    def _call(self, x: np.ndarray) -> Any:
        self.nfev += 1
        return self.fun(x.reshape(self.shape).copy())

    def f(self, x: np.ndarray) -> float:
        """The objective alone (also when jac=True, which then computes the gradient too)."""
        out = self._call(x)
        if self.jac is True:
            self._cache = (x, out[1])
            return _as_float(out[0])
        return _as_float(out)

    def fg(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """Objective and gradient."""
        if self.jac is True:
            f, g = self._call(x)
            self.njev += 1
            return _as_float(f), self._flat(g)
        return self.f(x), self.g(x)

    def g(self, x: np.ndarray) -> np.ndarray:
        """The gradient (finite differences when jac is None)."""
        if self.jac is True:
            if self._cache is not None and self._cache[0] is x:
                self.njev += 1
                return self._flat(self._cache[1])
            return self.fg(x)[1]
        self.njev += 1
        if callable(self.jac):
            return self._flat(self.jac(x.reshape(self.shape).copy()))
        # central differences, h ~ eps^(1/3) scaled to x: error O(h^2) ~ eps^(2/3)
        x64 = x.astype(np.float64)
        h = np.finfo(x.dtype).eps ** (1 / 3) * np.maximum(1.0, np.abs(x64))
        grad = np.empty(x.size)
        for i in range(x.size):
            xp, xm = x64.copy(), x64.copy()
            xp[i] += h[i]
            xm[i] -= h[i]
            grad[i] = (self.f(xp.astype(x.dtype)) - self.f(xm.astype(x.dtype))) / (2 * h[i])
        return grad.astype(x.dtype)

    def _flat(self, g: Any) -> np.ndarray:
        g = np.asarray(g)
        if g.size != int(np.prod(self.shape)):
            raise InvalidParameterError(
                f"minimize: the gradient has shape {g.shape} but x0 has shape {self.shape}; jac "
                f"must return an array shaped like x."
            )
        return g.astype(self.dtype, copy=False).ravel()

    def result(self, x: np.ndarray, f: float, g: np.ndarray | None, nit: int, status: int,
               history: list[float], **fmt: Any) -> OptimizeResult:
        gnorm = float(np.max(np.abs(g))) if g is not None and g.size else 0.0
        msg = STATUS_MESSAGES[status].format(gnorm=gnorm, nit=nit, **fmt)
        return OptimizeResult(
            x=x.reshape(self.shape).copy(), fun=f,
            jac=None if g is None else g.reshape(self.shape).copy(), nit=nit, nfev=self.nfev,
            njev=self.njev, status=status, success=status in (0, 2), message=msg,
            history=np.asarray(history, dtype=np.float64),
        )


def _as_float(f: Any) -> float:
    arr = np.asarray(f)
    if arr.size != 1:
        raise InvalidParameterError(f"minimize: fun must return a scalar, got an array of shape "
                                    f"{arr.shape}.")
    return float(arr.reshape(()))


def _finite(f: float, g: np.ndarray | None) -> bool:
    return math.isfinite(f) and (g is None or bool(np.isfinite(g).all()))


def _hint(method: str, lr: float | None, g0: np.ndarray) -> str:
    """The likely causes of a divergence, most likely first."""
    mag = np.abs(g0[np.isfinite(g0)]).astype(np.float64)
    mag = mag[mag > 0]
    spread = float(mag.max() / mag.min()) if mag.size > 1 else 1.0
    scale = ("features on very different scales: standardise them (the gradient's entries at "
             f"x0 span a factor {spread:.1e})")
    if method in ("sgd", "adam"):
        step = f"step too large (lr={lr:g}): try lr={lr / 10:g}"
        causes = [scale, step] if spread > 1e4 else [step, scale]
    else:
        causes = [scale, "the objective overflows (compute it from stable pieces, e.g. "
                         "matfit.numerics.log_sigmoid)"]
    return "; or ".join(causes) + "."


def _stop_by_callback(callback: Callable | None, x: np.ndarray, f: float, nit: int,
                      shape: tuple) -> bool:
    if callback is None:
        return False
    try:
        return bool(callback(OptimizeResult(x=x.reshape(shape).copy(), fun=f, nit=nit)))
    except StopIteration:
        return True


def _warn_max_iter(res: OptimizeResult) -> None:
    # stacklevel 4: _warn_max_iter <- _bb/_fixed_step <- minimize <- the caller
    warnings.warn(f"minimize: {res.message}", ConvergenceWarning, stacklevel=4)


def _exploded(f: float, f0: float, factor: float) -> bool:
    return f > f0 + factor * max(abs(f0), 1.0)


def _fixed_step(p: _Problem, method: str, lr: float | None, max_iter: int, gtol: float,
                ftol: float, opts: dict, callback: Callable | None, bar: Any) -> OptimizeResult:
    from ._adam import adam
    from ._sgd import sgd

    lr = 1e-3 if lr is None else float(lr)
    explode = float(opts.pop("explode"))
    opt = sgd(lr, **opts) if method == "sgd" else adam(lr, **opts)
    x = p.x0.copy()
    f, g = p.fg(x)
    f0, g0, history = f, g.copy(), [f]
    best = (f, x.copy(), g.copy())
    if not _finite(f, g):
        return p.result(x, f, g, 0, 3, history, hint=_hint(method, lr, g0))
    state, work = opt.init(x), opt.make_work(x)
    status, nit = 1, 0
    while True:
        if float(np.max(np.abs(g), initial=0.0)) <= gtol:
            status = 0
            break
        if nit >= max_iter:
            break
        state = opt.step_(g, state, x, work)
        nit += 1
        f_prev, (f, g) = f, p.fg(x)
        history.append(f)
        bar.update(1)
        if not _finite(f, g) or _exploded(f, f0, explode):
            status = 3 if not _finite(f, g) else 4
            fbad, (f, x, g) = f, best   # hand back the best finite iterate, never a NaN
            return p.result(x, f, g, nit, status, history, f0=f0, fbad=fbad,
                            hint=_hint(method, lr, g0))
        if f < best[0]:
            best = (f, x.copy(), g.copy())
        if ftol and f <= f_prev and (f_prev - f) < ftol * max(abs(f_prev), abs(f), 1.0):
            status = 2
            break
        if _stop_by_callback(callback, x, f, nit, p.shape):
            status = 6
            break
    res = p.result(x, f, g, nit, status, history, gtol=gtol, ftol=ftol, max_iter=max_iter,
                   more=", or lower lr" if method == "sgd" else "")
    if status == 1:
        _warn_max_iter(res)
    return res


def _bb(p: _Problem, method: str, lr: float | None, max_iter: int, gtol: float, ftol: float,
        opts: dict, callback: Callable | None, bar: Any) -> OptimizeResult:
    memory, gamma = int(opts["memory"]), float(opts["gamma"])
    variant, max_bt = opts["variant"], int(opts["max_backtracks"])
    step_min, step_max, explode = float(opts["step_min"]), float(opts["step_max"]), opts["explode"]
    if variant not in ("alternate", "bb1", "bb2", "abbmin"):
        raise InvalidParameterError(f"minimize(method='bb'): options['variant']={variant!r} must "
                                    f"be one of 'alternate', 'bb1', 'bb2', 'abbmin'.")
    if memory < 1:
        raise InvalidParameterError(f"minimize(method='bb'): options['memory']={memory!r} must be "
                                    f">= 1 (1 makes the line search monotone).")
    x = p.x0.copy()
    f, g = p.fg(x)
    f0, g0, history = f, g.copy(), [f]
    if not _finite(f, g):
        return p.result(x, f, g, 0, 3, history, hint=_hint(method, lr, g0))
    gmax = float(np.max(np.abs(g), initial=0.0))
    alpha = float(lr) if lr is not None else (1.0 / gmax if gmax > 0 else 1.0)
    best = (f, x, g)    # the non-monotone search may leave a lower objective behind
    recent: deque[float] = deque([f], maxlen=memory)
    recent_bb2: deque[float] = deque(maxlen=10)
    status, nit = 1, 0
    # float64 copies for the BB inner products: float32 s.y loses the step's scale quickly
    while True:
        gmax = float(np.max(np.abs(g), initial=0.0))
        if gmax <= gtol:
            status = 0
            break
        if nit >= max_iter:
            break
        g64 = g.astype(np.float64)
        gg = float(g64 @ g64)
        f_ref = max(recent)
        noise = float(opts["noise"]) * abs(f_ref)
        lam = min(max(alpha, step_min), step_max)
        accepted = False
        for _ in range(max_bt):
            x_new = (x - lam * g64).astype(x.dtype) if x.dtype != np.float64 else x - lam * g
            f_new = p.f(x_new)
            if math.isfinite(f_new) and f_new <= f_ref - gamma * lam * gg + noise:
                accepted = True
                break
            if math.isfinite(f_new):
                # minimiser of the quadratic through f(x), f'(x; -g) = -gg and f(x - lam g)
                denom = 2.0 * (f_new - f + lam * gg)
                lam_q = gg * lam * lam / denom if denom > 0 else 0.1 * lam
                lam = min(max(lam_q, 0.1 * lam), 0.5 * lam)
            else:
                lam *= 0.1
        if not accepted:
            status = 5
            break
        g_new = p.g(x_new)
        nit += 1
        if not _finite(f_new, g_new):
            history.append(f_new)
            f, x, g = best     # hand back the best iterate with a finite gradient
            return p.result(x, f, g, nit, 3, history, hint=_hint(method, lr, g0))
        s = x_new.astype(np.float64) - x
        y = g_new.astype(np.float64) - g64
        sy, ss, yy = float(s @ y), float(s @ s), float(y @ y)
        if sy > 0:
            bb1, bb2 = ss / sy, sy / yy
            recent_bb2.append(bb2)
            if variant == "abbmin":
                alpha = min(recent_bb2) if bb2 < 0.8 * bb1 else bb1
            else:
                use_bb1 = variant == "bb1" or (variant == "alternate" and nit % 2 == 1)
                alpha = bb1 if use_bb1 else bb2
        else:
            alpha = math.sqrt(ss / yy) if yy > 0 else step_max
        alpha = min(max(alpha, step_min), step_max)
        f_prev, x, f, g = f, x_new, f_new, g_new
        history.append(f)
        recent.append(f)
        bar.update(1)
        # only a large options["noise"] lets the line search accept such a step
        if _exploded(f, f0, explode):
            fbad, (f, x, g) = f, best
            return p.result(x, f, g, nit, 4, history, f0=f0, fbad=fbad,
                            hint=_hint(method, lr, g0))
        if f < best[0]:
            best = (f, x, g)
        if ftol and f <= f_prev and (f_prev - f) < ftol * max(abs(f_prev), abs(f), 1.0):
            status = 2
            break
        if _stop_by_callback(callback, x, f, nit, p.shape):
            status = 6
            break
    res = p.result(x, f, g, nit, status, history, gtol=gtol, ftol=ftol, max_iter=max_iter,
                   more="")
    if status == 1:
        _warn_max_iter(res)
    return res


def _lbfgs(fun: Callable, x0: np.ndarray, jac: Any, max_iter: int, gtol: float, ftol: float,
           options: dict, callback: Callable | None, verbose: int) -> OptimizeResult:
    import scipy.optimize

    for key in ("maxiter", "gtol", "ftol"):
        if key in options:
            raise InvalidParameterError(
                f"minimize(method='lbfgs'): pass {key!r} as minimize's "
                f"{ {'maxiter': 'max_iter'}.get(key, key)} argument, not in options."
            )
    p = _Problem(fun, jac, x0)
    history: list[float] = []
    x64 = x0.ravel().astype(np.float64)

    def fg(x: np.ndarray) -> tuple[float, np.ndarray]:
        f, g = p.fg(x.astype(p.dtype))
        if not _finite(f, g):  # let L-BFGS-B's line search back off instead of seeing NaN
            return math.inf, np.zeros_like(x)
        return f, g.astype(np.float64)

    f0, g0 = fg(x64)
    history.append(f0)
    if x64.size == 0 and math.isfinite(f0):   # nothing to optimise (and SciPy rejects N = 0)
        return p.result(x0.ravel(), f0, g0.astype(p.dtype), 0, 0, history, gtol=gtol)
    stopped = [False]
    with progress(total=max_iter, desc="minimize[lbfgs]", verbose=verbose) as bar:

        def cb(intermediate_result: OptimizeResult) -> None:
            history.append(float(intermediate_result.fun))
            bar.update(1)
            if _stop_by_callback(callback, intermediate_result.x.astype(p.dtype),
                                 float(intermediate_result.fun), len(history) - 1, p.shape):
                stopped[0] = True
                raise StopIteration

        sres = scipy.optimize.minimize(
            fg, x64, jac=True, method="L-BFGS-B", callback=cb,
            options={"maxiter": max_iter, "gtol": gtol, "ftol": ftol,
                     "maxfun": max(15000, 3 * max_iter), **options},
        )
    x = np.asarray(sres.x).astype(p.dtype)
    g = np.asarray(sres.jac).astype(p.dtype)
    f = float(sres.fun)
    if not math.isfinite(f0):
        status = 3
    elif stopped[0]:
        status = 6
    elif sres.status == 0:
        # SciPy's "relative reduction <= ftol" with ftol = 0 means no decrease at all: a stall
        status = 0 if float(np.max(np.abs(g), initial=0.0)) <= gtol else 2 if ftol > 0 else 5
    elif sres.status == 1:
        status = 1
    else:
        status = 5
    res = p.result(x, f, g, int(sres.nit), status, history, gtol=gtol, ftol=ftol,
                   max_iter=max_iter, more="", hint=_hint("lbfgs", None, g))
    res.message += f" (SciPy L-BFGS-B: {sres.message})"
    if status == 1:
        warnings.warn(f"minimize: {res.message}", ConvergenceWarning, stacklevel=3)
    return res
