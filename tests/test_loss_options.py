"""The loss options (weight, ignore_index, label_smoothing, z_loss) against torch, over their full product.

The reference is torch.nn.functional.cross_entropy in float64 plus the z-loss c·logsumexp(z)²
written in torch (0 on ignored rows; "mean" divides it by the number of kept rows), differentiated
by torch autograd. Tolerance: both sides are correct float64 evaluations that each round at most
K + N + 8 operations along any path (a K-term row sum, an N-term reduction, a few per-row steps)
on values of size ≤ 10 here (|z| ≤ 4, weights ≤ 2), so they may differ by rounding_tolerance(float64,
K + N + 8) = 10 (K + N + 8) ε, relative above 1 (softmax_lib.checks.compare).
"""

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import softmax_lib as sl
from softmax_lib.checks import central_difference_jacobian, compare, finite_difference_tolerance, rounding_tolerance
from softmax_lib.checks import torch_device, unit_roundoff

RNG_SEED = 1313
N, K = 7, 5
TOL64 = rounding_tolerance(np.float64, K + N + 8)

OPTIONS = list(itertools.product(
    ["index", "probs"],          # target kind
    [False, True],               # class weights
    [False, True],               # an ignored row (index targets only)
    [0.0, 0.3],                  # label smoothing
    [0.0, 0.1],                  # z-loss
    ["none", "sum", "mean"],
))
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


def torch_reference(z, target, weight, smoothing, z_loss, reduction, ignore_index=-100):
    """(loss, ∂loss.sum()/∂z) from torch autograd in float64."""
    zt = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    tt = torch.tensor(target)
    wt = None if weight is None else torch.tensor(weight, dtype=torch.float64)
    loss = F.cross_entropy(zt, tt, weight=wt, ignore_index=ignore_index, label_smoothing=smoothing, reduction=reduction)
    if z_loss:
        lse = torch.logsumexp(zt, dim=-1)
        kept = tt != ignore_index if tt.dtype == torch.int64 else torch.ones(N, dtype=torch.bool)
        zl = torch.where(kept, z_loss * lse**2, 0.0)
        loss = loss + {"none": zl, "sum": zl.sum(), "mean": zl.sum() / kept.sum()}[reduction]
    loss.sum().backward()
    return loss.detach().numpy(), zt.grad.numpy()


def on(backend, x):
    if x is None or backend == "numpy":
        return x
    return torch.as_tensor(x, device=torch_device())


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("option", OPTIONS, ids=option_id)
def test_matches_torch(option, backend):
    kind, weighted, ignored, smoothing, z_loss, reduction = option
    z, target, weight = make_case(kind, weighted, ignored)
    loss_ref, grad_ref = torch_reference(z, target, weight, smoothing, z_loss, reduction)
    kw = dict(reduction=reduction, weight=on(backend, weight), label_smoothing=smoothing, z_loss=z_loss)
    zb, tb = on(backend, z), on(backend, target)
    results = [
        compare("cross_entropy", sl.cross_entropy(zb, tb, **kw), loss_ref, TOL64),
        compare("cross_entropy_grad", sl.cross_entropy_grad(zb, tb, **kw), grad_ref, TOL64),
    ]
    loss, grad = sl.cross_entropy_with_grad(zb, tb, **kw)
    results += [compare("fused loss", loss, loss_ref, TOL64), compare("fused grad", grad, grad_ref, TOL64)]
    assert all(r.passed for r in results), [str(r) for r in results]


@pytest.mark.parametrize("option", [o for o in OPTIONS if o[5] == "mean"], ids=option_id)
def test_gradient_central_differences(option):
    """∂L/∂z against central differences of our own loss (step ε^(1/3); finite_difference_tolerance)."""
    kind, weighted, ignored, smoothing, z_loss, reduction = option
    z, target, weight = make_case(kind, weighted, ignored, seed=1)
    kw = dict(reduction=reduction, weight=weight, label_smoothing=smoothing, z_loss=z_loss)
    numeric = central_difference_jacobian(lambda x: sl.cross_entropy(x, target, **kw), z)
    result = compare("grad vs central differences", sl.cross_entropy_grad(z, target, **kw), numeric,
                     finite_difference_tolerance(np.float64))
    assert result.passed, str(result)


def test_class_axis_not_last():
    """Classes on axis 1 of an (N, K, S) array, as torch's (N, C, d1) layout."""
    rng = np.random.default_rng(RNG_SEED)
    z = rng.uniform(-4, 4, size=(3, K, 4))
    target = rng.integers(0, K, size=(3, 4))
    target[0, 1] = -100
    weight = rng.uniform(0.5, 2.0, size=K)
    zt = torch.tensor(z, requires_grad=True)
    ref = F.cross_entropy(zt, torch.tensor(target), weight=torch.tensor(weight), label_smoothing=0.2)
    ref.backward()
    kw = dict(axis=1, weight=weight, label_smoothing=0.2)
    loss, grad = sl.cross_entropy_with_grad(z, target, **kw)
    for result in (compare("loss", sl.cross_entropy(z, target, **kw), ref.detach().numpy(), TOL64),
                   compare("grad", sl.cross_entropy_grad(z, target, **kw), zt.grad.numpy(), TOL64),
                   compare("fused loss", loss, ref.detach().numpy(), TOL64),
                   compare("fused grad", grad, zt.grad.numpy(), TOL64)):
        assert result.passed, str(result)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
def test_half_types_accumulate_in_float32(dtype):
    """Half inputs are computed in float32 and rounded once: the error against float64 arithmetic on
    the same (rounded) inputs is at most one rounding to `dtype`, u·|L| (u·max(1, |L|) in compare's
    units), plus the float32 computation, rounding_tolerance(float32, K + N + 8)."""
    z, target, weight = make_case("index", True, True)
    zt = torch.tensor(z, dtype=dtype, device=torch_device())
    z64 = zt.double().cpu().numpy()
    kw = dict(weight=weight, label_smoothing=0.1, z_loss=0.01)
    loss_ref = sl.cross_entropy(z64, target, **kw)
    grad_ref = sl.cross_entropy_grad(z64, target, **kw)
    tol = unit_roundoff(dtype) + rounding_tolerance(np.float32, K + N + 8)
    tkw = dict(kw, weight=torch.tensor(weight, device=zt.device))
    tt = torch.tensor(target, device=zt.device)
    loss, grad = sl.cross_entropy_with_grad(zt, tt, **tkw)
    assert loss.dtype == dtype and grad.dtype == dtype and grad.device == zt.device
    for result in (compare("loss", sl.cross_entropy(zt, tt, **tkw), loss_ref, tol),
                   compare("grad", sl.cross_entropy_grad(zt, tt, **tkw), grad_ref, tol),
                   compare("fused loss", loss, loss_ref, tol), compare("fused grad", grad, grad_ref, tol)):
        assert result.passed, str(result)


def test_tolerance_rejects_plausible_wrong_semantics():
    """Each subtle rule of torch, replaced by the plausible alternative, misses the tolerance by far."""
    z, target, weight = make_case("index", True, True)
    loss_ref, _ = torch_reference(z, target, weight, 0.3, 0.0, "mean")
    per_row = sl.cross_entropy(z, target, reduction="none", weight=weight, label_smoothing=0.3)
    kept = target != -100
    wrong_means = {
        "divided by N": per_row.sum() / N,
        "divided by the kept rows": per_row.sum() / kept.sum(),
    }
    for name, wrong in wrong_means.items():
        assert not compare(name, wrong, loss_ref, TOL64).passed, name
    wrong_smoothing = sl.cross_entropy(z, target, weight=weight, label_smoothing=0.3 * K / (K - 1))  # ε/(K−1)
    assert not compare("smoothing over K − 1", wrong_smoothing, loss_ref, TOL64).passed
    z_ref, _ = torch_reference(z, target, None, 0.0, 0.1, "mean")
    lse = sl.logsumexp(z)
    wrong_z = sl.cross_entropy(z, target) + 0.1 * np.sum(lse**2) / N  # ignored rows not left out
    assert not compare("z-loss over every row", wrong_z, z_ref, TOL64).passed


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
    ref, _ = torch_reference(z, target, None, 0.0, 0.0, "mean", ignore_index=99)
    assert compare("ignored out-of-range class", sl.cross_entropy(z, target, ignore_index=99), ref, TOL64).passed
    assert np.isnan(sl.cross_entropy(z, np.full(N, -100)))  # every row ignored: 0/0, as torch
    with pytest.raises(IndexError, match="out of range"):
        sl.cross_entropy(z, target)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(label_smoothing=1.5), ValueError, "label_smoothing"),
    (dict(label_smoothing=-0.1), ValueError, "label_smoothing"),
    (dict(z_loss=-1.0), ValueError, "z_loss"),
    (dict(z_loss=float("nan")), ValueError, "z_loss"),
    (dict(weight=np.ones(K + 1)), ValueError, "weight must have one entry per class"),
])
def test_bad_options(kwargs, error, match):
    z, target, _ = make_case("index", False, False)
    for func in (sl.cross_entropy, sl.cross_entropy_grad, sl.cross_entropy_with_grad):
        with pytest.raises(error, match=match):
            func(z, target, **kwargs)


def test_ignore_index_with_probabilities_raises():
    z, target, _ = make_case("probs", False, False)
    with pytest.raises(ValueError, match="ignore_index applies to class-index targets only"):
        sl.cross_entropy(z, target, ignore_index=0)
