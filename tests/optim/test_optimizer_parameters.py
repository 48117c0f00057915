"""Every optimiser factory rejects an out-of-range hyper-parameter with a message naming the
function, the parameter and its allowed range, accepts the edges torch accepts, and reports the
hyper-parameters it was given (torch's ``param_groups``; the stateful wrappers' repr)."""

from __future__ import annotations

import numpy as np
import pytest

from matfit import InvalidParameterError
from matfit.optim import Adam, adagrad, adam, adamw, rmsprop, sgd

BAD = [
    (adam, {"lr": -1.0}, r"^adam\(lr=-1\.0\): lr must be a finite number >= 0"),
    (adam, {"lr": float("nan")}, r"^adam\(lr=nan\): lr must be"),
    (adam, {"betas": (1.0, 0.999)},
     r"^adam\(betas\[0\]=1\.0\): betas\[0\] must lie in \[0\.0, 1\.0\)"),
    (adam, {"betas": (1.5, 0.999)},
     r"^adam\(betas\[0\]=1\.5\): betas\[0\] must lie in \[0\.0, 1\.0\)"),
    (adam, {"betas": (-0.1, 0.999)}, r"^adam\(betas\[0\]=-0\.1\)"),
    (adam, {"betas": (0.9, 1.0)},
     r"^adam\(betas\[1\]=1\.0\): betas\[1\] must lie in \[0\.0, 1\.0\)"),
    (adam, {"eps": -1e-8}, r"^adam\(eps=-1e-08\): eps must lie in \[0\.0, inf\)"),
    (adam, {"weight_decay": -0.1},
     r"^adam\(weight_decay=-0\.1\): weight_decay must lie in \[0\.0, inf\)"),
    (adamw, {"lr": -1.0}, r"^adamw\(lr=-1\.0\)"),
    (adamw, {"betas": (0.9, 1.0)}, r"^adamw\(betas\[1\]=1\.0\)"),
    (adamw, {"eps": -1.0}, r"^adamw\(eps=-1\.0\)"),
    (adamw, {"weight_decay": -1.0}, r"^adamw\(weight_decay=-1\.0\)"),
    (sgd, {"lr": -1.0}, r"^sgd\(lr=-1\.0\)"),
    (sgd, {"momentum": -0.5}, r"^sgd\(momentum=-0\.5\): momentum must lie in \[0\.0, inf\)"),
    (sgd, {"dampening": -0.5}, r"^sgd\(dampening=-0\.5\): dampening must lie in \[0\.0, inf\)"),
    (sgd, {"weight_decay": -0.5}, r"^sgd\(weight_decay=-0\.5\)"),
    (rmsprop, {"lr": -1.0}, r"^rmsprop\(lr=-1\.0\)"),
    (rmsprop, {"alpha": 1.0}, r"^rmsprop\(alpha=1\.0\): alpha must lie in \[0\.0, 1\.0\)"),
    (rmsprop, {"alpha": 1.5}, r"^rmsprop\(alpha=1\.5\)"),
    (rmsprop, {"eps": -1.0}, r"^rmsprop\(eps=-1\.0\)"),
    (rmsprop, {"weight_decay": -1.0}, r"^rmsprop\(weight_decay=-1\.0\)"),
    (rmsprop, {"momentum": -1.0}, r"^rmsprop\(momentum=-1\.0\)"),
    (adagrad, {"lr": -1.0}, r"^adagrad\(lr=-1\.0\)"),
    (adagrad, {"lr_decay": -1.0}, r"^adagrad\(lr_decay=-1\.0\)"),
    (adagrad, {"weight_decay": -1.0}, r"^adagrad\(weight_decay=-1\.0\)"),
    (adagrad, {"initial_accumulator_value": -1.0}, r"^adagrad\(initial_accumulator_value=-1\.0\)"),
    (adagrad, {"eps": -1.0}, r"^adagrad\(eps=-1\.0\)"),
]


@pytest.mark.parametrize(("factory", "kwargs", "message"), BAD,
                         ids=[f"{f.__name__}-{next(iter(k))}-{i}"
                              for i, (f, k, _) in enumerate(BAD)])
def test_out_of_range_hyperparameters_are_named(factory, kwargs, message):
    with pytest.raises(InvalidParameterError, match=message):
        factory(**kwargs)


@pytest.mark.parametrize(("factory", "kwargs"), [
    (adam, {"lr": 0.0, "betas": (0.0, 0.0), "eps": 0.0, "weight_decay": 0.0}),
    (adam, {"betas": (0.999999, 0.999999)}),
    (adamw, {"weight_decay": 0.0}),
    (sgd, {"lr": 0.0, "momentum": 0.0, "dampening": 0.0}),
    (rmsprop, {"alpha": 0.0, "eps": 0.0}),
    (adagrad, {"lr_decay": 0.0, "initial_accumulator_value": 0.0, "eps": 0.0}),
])
def test_range_edges_that_torch_accepts_are_accepted(factory, kwargs):
    assert factory(**kwargs).hyperparams.items() >= kwargs.items()


def test_hyperparameters_are_reported_as_given():
    assert adam(0.1, betas=(0.8, 0.9), eps=1e-3, weight_decay=0.5, amsgrad=True).hyperparams == {
        "lr": 0.1, "betas": (0.8, 0.9), "eps": 1e-3, "weight_decay": 0.5, "amsgrad": True,
        "decoupled": False}
    assert adamw(0.2, betas=(0.7, 0.8), eps=1e-4, weight_decay=0.3).hyperparams == {
        "lr": 0.2, "betas": (0.7, 0.8), "eps": 1e-4, "weight_decay": 0.3, "amsgrad": False,
        "decoupled": True}
    assert sgd(0.3, momentum=0.9, dampening=0.1, weight_decay=0.2, nesterov=False).hyperparams == {
        "lr": 0.3, "momentum": 0.9, "dampening": 0.1, "weight_decay": 0.2, "nesterov": False}
    assert rmsprop(0.4, alpha=0.5, eps=1e-5, weight_decay=0.1, momentum=0.2,
                   centered=True).hyperparams == {
        "lr": 0.4, "alpha": 0.5, "eps": 1e-5, "weight_decay": 0.1, "momentum": 0.2,
        "centered": True}
    assert adagrad(0.5, lr_decay=0.1, weight_decay=0.2, initial_accumulator_value=0.3,
                   eps=1e-6).hyperparams == {
        "lr": 0.5, "lr_decay": 0.1, "weight_decay": 0.2, "initial_accumulator_value": 0.3,
        "eps": 1e-6}
    assert repr(Adam([np.zeros(2)], 0.1, betas=(0.5, 0.6))) == (
        "Adam(lr=0.1, betas=(0.5, 0.6), eps=1e-08, weight_decay=0.0, amsgrad=False, "
        "decoupled=False)")


def test_amsgrad_state_exists_only_when_asked_for():
    x = np.zeros(3)
    assert adam(amsgrad=False).init(x).max_exp_avg_sq is None
    np.testing.assert_array_equal(adam(amsgrad=True).init(x).max_exp_avg_sq, np.zeros(3))


def test_defaults_are_torchs():
    # the reference is torch.optim's own signatures, read at test time
    import inspect

    torch = pytest.importorskip("torch")

    def defaults(cls):
        return {k: p.default for k, p in inspect.signature(cls.__init__).parameters.items()
                if p.default is not inspect.Parameter.empty}

    pairs = [(adam, torch.optim.Adam), (adamw, torch.optim.AdamW), (sgd, torch.optim.SGD),
             (rmsprop, torch.optim.RMSprop), (adagrad, torch.optim.Adagrad)]
    for ours, theirs in pairs:
        mine, ref = ours().hyperparams, defaults(theirs)
        for name, value in mine.items():
            if name in ref:
                assert value == ref[name], f"{ours.__name__}: {name}={value!r}, torch {ref[name]!r}"
        assert {"lr", "weight_decay"} <= mine.keys() & ref.keys()
