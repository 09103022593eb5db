"""The loss options (weight, ignore_index, label_smoothing, z_loss) against torch, over their full product.

Every comparison is `softmax_lib.checks.check_loss_options`: the loss, its gradient and the fused
pair against `torch_loss_with_options` (torch.nn.functional.cross_entropy plus the z-loss) in float64
by autograd, and the gradient against central differences, in the scaled measure with the
first-order bounds `options_loss_units` and `options_grad_units` (units of u) — see its docstring.
"""

import itertools

import numpy as np
import pytest
import torch

import softmax_lib as sl
import softmax_lib.checks.scale as scale
from softmax_lib.checks import DTYPES, assert_passed, check_loss_options, torch_device

RNG_SEED = 1313
N, K = 7, 5

OPTIONS = list(
    itertools.product(
        ["index", "probs"],  # target kind
        [False, True],  # class weights
        [False, True],  # an ignored row (index targets only)
        [0.0, 0.3],  # label smoothing
        [0.0, 0.1],  # z-loss
        ["none", "sum", "mean"],
    )
)
OPTIONS = [o for o in OPTIONS if not (o[0] == "probs" and o[2])]


def option_id(o):
    return "-".join([o[0], "w" if o[1] else "", "ign" if o[2] else "", f"e{o[3]}", f"z{o[4]}", o[5]]).replace("--", "-")


def make_case(kind, weighted, ignored, seed=0):
    rng = np.random.default_rng(RNG_SEED + seed)
    z = rng.uniform(-4, 4, size=(N, K))
    if kind == "index":
        target = rng.integers(0, K, size=N)
        if ignored:
            target[[1, 4]] = -100
    else:
        target = rng.dirichlet(np.ones(K), size=N)
    weight = rng.uniform(0.5, 2.0, size=K) if weighted else None
    return z, target, weight


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("option", OPTIONS, ids=option_id)
def test_matches_torch(option, backend):
    kind, weighted, ignored, smoothing, z_loss, reduction = option
    z, target, weight = make_case(kind, weighted, ignored)
    device = None if backend == "numpy" else torch_device()
    assert_passed(
        check_loss_options(z, target, reduction, weight=weight, label_smoothing=smoothing, z_loss=z_loss, device=device)
    )


def test_class_axis_not_last():
    """Classes on axis 1 of an (N, K, S) array, as torch's (N, C, d1) layout."""
    rng = np.random.default_rng(RNG_SEED)
    z = rng.uniform(-4, 4, size=(3, K, 4))
    target = rng.integers(0, K, size=(3, 4))
    target[0, 1] = -100
    weight = rng.uniform(0.5, 2.0, size=K)
    for reduction in ("mean", "none"):
        assert_passed(check_loss_options(z, target, reduction, weight=weight, label_smoothing=0.2, z_loss=0.1, axis=1))


@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float16"])
def test_half_types_accumulate_in_float32(dtype):
    """Half inputs are computed in float32 and rounded once: the check's bound for them is
    options_*_units · u(float32) + u(dtype) (scale.py), against float64 on the same rounded inputs."""
    z, target, weight = make_case("index", True, True)
    assert_passed(
        check_loss_options(
            z, target, "mean", weight=weight, label_smoothing=0.1, z_loss=0.01, dtype=dtype, device=torch_device()
        )
    )
    dt = getattr(torch, dtype)
    zt = torch.tensor(z, dtype=dt, device=torch_device())
    loss, grad = sl.cross_entropy_with_grad(zt, torch.tensor(target, device=zt.device), label_smoothing=0.1)
    assert loss.dtype == grad.dtype == dt and grad.device == zt.device


def _mean_over(divisor):
    """A cross_entropy whose "mean" is the sum of the rows divided by `divisor(target)`."""

    def wrong(z, target, axis=-1, reduction="mean", **options):
        if reduction != "mean":
            return sl.cross_entropy(z, target, axis, reduction, **options)
        return sl.cross_entropy(z, target, axis, "sum", **options) / divisor(target)

    return wrong


def _smoothing_over_k_minus_1(z, target, axis=-1, reduction="mean", *, label_smoothing=0.0, **options):
    """ε spread over the K − 1 other classes: ε' = ε K/(K − 1) in torch's ε/K form."""
    return sl.cross_entropy(z, target, axis, reduction, label_smoothing=label_smoothing * K / (K - 1), **options)


def _z_loss_on_every_row(z, target, axis=-1, reduction="mean", *, z_loss=0.0, **options):
    """The z-loss on ignored rows too, averaged over all N rows."""
    lse = sl.logsumexp(z, axis=axis)
    return sl.cross_entropy(z, target, axis, reduction, **options) + z_loss * (lse * lse).sum() / N


def _grad_over_kept_rows(z, target, axis=-1, reduction="mean", **options):
    """∂L/∂z of the weighted mean divided by the number of kept rows instead of Σ w_t."""
    return sl.cross_entropy_grad(z, target, axis, "sum", **options) / int((target != -100).sum())


WRONG_LOSSES = {
    "mean divided by N": (_mean_over(lambda t: N), dict(label_smoothing=0.3)),
    "mean divided by the kept rows": (_mean_over(lambda t: int((t != -100).sum())), dict(label_smoothing=0.3)),
    "smoothing over K − 1": (_smoothing_over_k_minus_1, dict(label_smoothing=0.3)),
    "z-loss over every row": (_z_loss_on_every_row, dict(z_loss=1.0)),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", WRONG_LOSSES)
def test_check_rejects_plausible_wrong_semantics(name, dtype, monkeypatch):
    """Each subtle rule of torch, replaced by the plausible alternative, fails check_loss_options in every dtype."""
    wrong, options = WRONG_LOSSES[name]
    monkeypatch.setattr(scale, "cross_entropy", wrong)
    z, target, weight = make_case("index", True, True)
    device = "cpu" if dtype == "bfloat16" else None
    loss_check = check_loss_options(z, target, "mean", weight=weight, dtype=dtype, device=device, **options)[0]
    assert loss_check.name.startswith("cross_entropy vs torch") and not loss_check.passed, str(loss_check)


@pytest.mark.parametrize("dtype", DTYPES)
def test_check_rejects_a_wrong_gradient_divisor(dtype, monkeypatch):
    monkeypatch.setattr(scale, "cross_entropy_grad", _grad_over_kept_rows)
    z, target, weight = make_case("index", True, True)
    device = "cpu" if dtype == "bfloat16" else None
    results = check_loss_options(z, target, "mean", weight=weight, dtype=dtype, device=device)
    failed = [r.name for r in results if not r.passed]
    assert any(n.startswith("cross_entropy_grad vs torch") for n in failed), failed
    assert any(n.startswith("cross_entropy_grad vs central") for n in failed), failed


def test_index_target_builds_no_one_hot(monkeypatch):
    """The index path never calls target_distribution (the one-hot builder)."""
    import softmax_lib._cross_entropy as ce

    def forbidden(*args, **kwargs):
        raise AssertionError("one-hot built")

    monkeypatch.setattr(ce, "target_distribution", forbidden)
    z, target, _ = make_case("index", False, True)
    sl.cross_entropy(z, target, label_smoothing=0.1)
    sl.cross_entropy_grad(z, target, label_smoothing=0.1)


def test_ignore_index_semantics():
    z, target, _ = make_case("index", False, False)
    target[2] = 99  # out of range, but ignored: allowed as in torch
    assert_passed(check_loss_options(z, target, "mean", ignore_index=99))
    assert np.isnan(sl.cross_entropy(z, np.full(N, -100)))  # every row ignored: 0/0, as torch
    with pytest.raises(IndexError, match="out of range"):
        sl.cross_entropy(z, target)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(label_smoothing=1.5), ValueError, "label_smoothing"),
        (dict(label_smoothing=-0.1), ValueError, "label_smoothing"),
        (dict(z_loss=-1.0), ValueError, "z_loss"),
        (dict(z_loss=float("nan")), ValueError, "z_loss"),
        (dict(weight=np.ones(K + 1)), ValueError, "weight must have one entry per class"),
    ],
)
def test_bad_options(kwargs, error, match):
    z, target, _ = make_case("index", False, False)
    for func in (sl.cross_entropy, sl.cross_entropy_grad, sl.cross_entropy_with_grad):
        with pytest.raises(error, match=match):
            func(z, target, **kwargs)


def test_ignore_index_with_probabilities_raises():
    z, target, _ = make_case("probs", False, False)
    with pytest.raises(ValueError, match="ignore_index applies to class-index targets only"):
        sl.cross_entropy(z, target, ignore_index=0)
