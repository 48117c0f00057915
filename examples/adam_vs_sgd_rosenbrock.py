"""Adam vs SGD with momentum on the Rosenbrock function, step for step against PyTorch.

Question: my hand-written Adam (or SGD with momentum) follows a different path from
``torch.optim`` on the same problem. Which details matter, and which optimiser gets closer to
the minimum of f(x, y) = (a - x)^2 + b (y - x^2)^2 from (3, 3)?

Answer:
* Adam (PyTorch): m <- m + (1 - beta1)(g - m); v <- beta2 v + (1 - beta2) g^2;
  x <- x - (lr / (1 - beta1^t)) m / (sqrt(v) / sqrt(1 - beta2^t) + eps). eps is added *after*
  the bias correction; adding it to sqrt(v) first, or skipping the corrections, changes the
  first hundred steps visibly. Its first step moves every coordinate by lr (m/sqrt(v) = sign g).
* SGD with momentum (PyTorch): b <- mu b + g, with b = g on the first step (not 0), then
  x <- x - lr b.
* Neither wins everywhere. Both first drop onto the valley floor y = x^2. Adam's step is
  about lr per coordinate whatever the gradient's size, so it survives the gradients of ~7000
  at the start, but then creeps along the curved floor: after 5000 steps it is still near
  (1.8, 3.2). SGD needs lr ~ 1e-4 not to diverge at the start; its momentum then carries it
  along the floor, and after 5000 steps it is at (0.94, 0.89). After 20000 steps both are
  within 1e-3 of the minimum (1, 1).

Checked: matfit.optim.adam / sgd against torch.optim.Adam / SGD when PyTorch is installed
(100 steps, float64, equal to 1e-10); without PyTorch, against the trajectory end points
recorded from PyTorch 2.13 (to 1e-10) and against the closed-form first steps.
Run: ``python examples/adam_vs_sgd_rosenbrock.py`` (about a second).
"""

from __future__ import annotations

import json

import numpy as np

from matfit.optim import adam, sgd

A, B = 1.0, 100.0
START = np.array([3.0, 3.0])
STEPS = 100
ADAM = {"lr": 0.02, "betas": (0.9, 0.999)}
SGD = {"lr": 1e-4, "momentum": 0.9}
# torch.optim, PyTorch 2.13.0, float64, same gradients, after 100 steps from (3, 3)
RECORDED = {"adam": [2.029810261224072, 4.050724496877994],
            "sgd_momentum": [-0.7839021216699289, 0.6438346573081173]}


def f(p):
    x, y = p
    return (A - x) ** 2 + B * (y - x * x) ** 2


def grad(p):
    x, y = p
    return np.array([-2 * (A - x) - 4 * B * x * (y - x * x), 2 * B * (y - x * x)])


def run(opt, steps=STEPS):
    x = START.copy()
    state = opt.init(x)
    path = [x]
    for _ in range(steps):
        x, state = opt.update(grad(x), state, x)
        path.append(x)
    return np.array(path)


def end_point(opt, steps):
    """Only the end point: the in-place form of the same update, no copies per step."""
    x = START.copy()
    state, work = opt.init(x), opt.make_work(x)
    for _ in range(steps):
        state = opt.step_(grad(x), state, x, work)
    return x


def run_torch(name):
    try:
        import torch
    except ImportError:
        return None
    p = torch.tensor(START, dtype=torch.float64, requires_grad=True)
    opt = (torch.optim.Adam([p], **ADAM) if name == "adam" else torch.optim.SGD([p], **SGD))
    path = [p.detach().numpy().copy()]
    for _ in range(STEPS):
        p.grad = torch.from_numpy(grad(p.detach().numpy().copy()))
        opt.step()
        path.append(p.detach().numpy().copy())
    return np.array(path)


def main() -> dict:
    paths = {"adam": run(adam(ADAM["lr"], betas=ADAM["betas"])),
             "sgd_momentum": run(sgd(SGD["lr"], momentum=SGD["momentum"]))}

    g0 = grad(START)
    np.testing.assert_allclose(paths["adam"][1], START - ADAM["lr"] * np.sign(g0), rtol=1e-9)
    np.testing.assert_allclose(paths["sgd_momentum"][1], START - SGD["lr"] * g0, rtol=1e-15)

    compared_with = "recorded PyTorch 2.13 end points"
    for name, path in paths.items():
        theirs = run_torch(name)
        if theirs is not None:
            np.testing.assert_allclose(path, theirs, rtol=1e-10, atol=1e-10)
            compared_with = "torch.optim (live)"
        np.testing.assert_allclose(path[-1], RECORDED[name], rtol=1e-10)

    long = {name: {steps: end_point(opt, steps) for steps in (5000, 20000)} for name, opt in
            (("adam", adam(ADAM["lr"], betas=ADAM["betas"])),
             ("sgd_momentum", sgd(SGD["lr"], momentum=SGD["momentum"])))}
    dist = {name: {steps: float(np.linalg.norm(x - [A, A * A])) for steps, x in d.items()}
            for name, d in long.items()}
    assert dist["sgd_momentum"][5000] < 0.2 < 1.0 < dist["adam"][5000]
    assert dist["adam"][20000] < 1e-3 and dist["sgd_momentum"][20000] < 1e-3
    for name, path in paths.items():
        print(f"{name:13s} after {STEPS} steps: {path[-1].round(6).tolist()}, "
              f"f = {f(path[-1]):.4g}; distance to (1, 1) after 5000 steps "
              f"{dist[name][5000]:.3g}, after 20000 steps {dist[name][20000]:.2g}")
    print(f"trajectories equal to 1e-10: {compared_with}")
    return {"compared_with": compared_with,
            "adam_after_100": paths["adam"][-1].tolist(),
            "sgd_momentum_after_100": paths["sgd_momentum"][-1].tolist(),
            "distance_to_minimum": {k: {str(n): v for n, v in d.items()}
                                    for k, d in dist.items()}}


if __name__ == "__main__":
    print(json.dumps(main()))
