"""linear_cross_entropy: the chunked linear layer + loss against torch's unfused F.cross_entropy(h Wᵀ + b, y).

Reference: softmax_lib.checks.torch_loss_with_options by torch autograd in float64 through the full
logits. Tolerance: each side is within `linear_options_bounds` (first-order bounds in units of u: the
logits' (D + 1)-term sums, the loss with options, the products with W, h and the sums over rows),
so the measure is "scaled" by that bound and the tolerance 2u (two float64 sides).
"""

import itertools

import numpy as np
import pytest
import torch

import softmax_lib as sl
from softmax_lib.checks import (
    compare,
    linear_options_bounds,
    side_tolerance,
    torch_device,
    torch_loss_with_options,
    unit_roundoff,
)

RNG_SEED = 1314
N, D, V = 9, 4, 7
TOL64 = 2 * unit_roundoff(np.float64)  # both sides float64, each within the bound used as the scale

OPTIONS = list(itertools.product([False, True], [False, True], [0.0, 0.2], [0.0, 0.1], ["none", "sum", "mean"]))


def option_id(o):
    bias, weighted, eps, zc, red = o
    return f"{'b' if bias else 'nob'}-{'w' if weighted else 'now'}-e{eps}-z{zc}-{red}"


def make_case(seed=0):
    rng = np.random.default_rng(RNG_SEED + seed)
    h = rng.normal(size=(N, D))
    W = rng.normal(size=(V, D))
    b = rng.normal(size=V)
    target = rng.integers(0, V, size=N)
    target[[2, 5]] = -100
    class_weight = rng.uniform(0.5, 2.0, size=V)
    return h, W, b, target, class_weight


def reference(h, W, b, target, class_weight, eps, zc, reduction, grad_out):
    """Loss and the gradients of Σ grad_out ⊙ loss with respect to h, W (and b) through full logits."""
    ht, Wt = torch.tensor(h, requires_grad=True), torch.tensor(W, requires_grad=True)
    bt = None if b is None else torch.tensor(b, requires_grad=True)
    z = ht @ Wt.T if bt is None else ht @ Wt.T + bt
    cw = None if class_weight is None else torch.tensor(class_weight)
    loss = torch_loss_with_options(z, torch.tensor(target), reduction, weight=cw, label_smoothing=eps, z_loss=zc)
    (loss * grad_out).sum().backward()
    grads = [ht.grad, Wt.grad] + ([] if bt is None else [bt.grad])
    return loss.detach(), [g.numpy() for g in grads]


@pytest.mark.parametrize("chunk_size", [None, 2])
@pytest.mark.parametrize("option", OPTIONS, ids=option_id)
def test_matches_torch(option, chunk_size):
    with_bias, weighted, eps, zc, reduction = option
    h, W, b, target, cw = make_case()
    b = b if with_bias else None
    cw = cw if weighted else None
    grad_out = torch.tensor(np.random.default_rng(RNG_SEED).normal(size=N if reduction == "none" else ()))
    loss_ref, grads_ref = reference(h, W, b, target, cw, eps, zc, reduction, grad_out)
    bound = linear_options_bounds(
        h, W, b, target, reduction, grad_out.numpy(), class_weight=cw, label_smoothing=eps, z_loss=zc
    )
    keys = ["hidden", "weight", "bias"]
    kw = dict(class_weight=cw, label_smoothing=eps, z_loss=zc, reduction=reduction, chunk_size=chunk_size)
    results = []
    # NumPy: the gradients of the loss itself (of the sum for "none").
    loss, *grads = sl.linear_cross_entropy_with_grad(h, W, target, b, **kw)
    results.append(compare("numpy loss", loss, loss_ref.numpy(), TOL64, measure="scaled", scale=bound["loss"]))
    if reduction != "none":
        results += [
            compare(f"numpy grad {key}", g * grad_out.item(), r, TOL64, measure="scaled", scale=bound[key])
            for key, g, r in zip(keys, grads, grads_ref)
        ]
    assert (grads[2] is None) == (b is None)
    # torch autograd through the Function.
    dev = torch_device()
    ht = torch.tensor(h, device=dev, requires_grad=True)
    Wt = torch.tensor(W, device=dev, requires_grad=True)
    bt = None if b is None else torch.tensor(b, device=dev, requires_grad=True)
    tkw = dict(kw, class_weight=None if cw is None else torch.tensor(cw, device=dev))
    out = sl.linear_cross_entropy(ht, Wt, torch.tensor(target, device=dev), bt, **tkw)
    (out * grad_out.to(dev)).sum().backward()
    results.append(compare("torch loss", out.detach(), loss_ref, TOL64, measure="scaled", scale=bound["loss"]))
    got = [ht.grad, Wt.grad] + ([] if bt is None else [bt.grad])
    results += [
        compare(f"torch grad {key}", g, r, TOL64, measure="scaled", scale=bound[key])
        for key, g, r in zip(keys, got, grads_ref)
    ]
    assert all(r.passed for r in results), [str(r) for r in results]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_gradcheck_float64(reduction):
    h, W, b, target, cw = make_case(1)
    args = tuple(torch.tensor(x[:4] if x is h else x, requires_grad=True) for x in (h, W, b))
    tt = torch.tensor(target[:4])

    def loss(hh, WW, bb):
        return sl.linear_cross_entropy(
            hh,
            WW,
            tt,
            bb,
            class_weight=torch.tensor(cw),
            label_smoothing=0.1,
            z_loss=0.1,
            reduction=reduction,
            chunk_size=3,
        )

    assert torch.autograd.gradcheck(loss, args)


def test_gradcheck_would_fail_on_a_wrong_gradient():
    """The comparison above rejects ∂L/∂W computed as Gᵀh without the 1/D of the weighted mean."""
    h, W, b, target, cw = make_case()
    loss_ref, grads_ref = reference(h, W, None, target, cw, 0.0, 0.0, "mean", torch.tensor(1.0))
    bound = linear_options_bounds(h, W, None, target, "mean", class_weight=cw)
    _, _, grad_W, _ = sl.linear_cross_entropy_with_grad(h, W, target, class_weight=cw, reduction="sum")
    kept = target != -100
    assert not compare(
        "sum-gradient / kept rows", grad_W / kept.sum(), grads_ref[1], TOL64, measure="scaled", scale=bound["weight"]
    ).passed


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
def test_half_types(dtype):
    """Half inputs: float32 arithmetic within `linear_options_bounds` units of u(float32), one rounding of the
    result to `dtype` (side_tolerance), against float64 arithmetic (its own bound in u(float64)) on the same
    rounded inputs. The tolerance would also reject the sum-gradient / kept rows in every dtype."""
    h, W, b, target, cw = make_case()
    dev = torch_device()
    ht = torch.tensor(h, dtype=dtype, device=dev, requires_grad=True)
    Wt = torch.tensor(W, dtype=dtype, device=dev, requires_grad=True)
    cw_t = torch.tensor(cw, dtype=dtype, device=dev)
    loss = sl.linear_cross_entropy(
        ht, Wt, torch.tensor(target, device=dev), class_weight=cw_t, label_smoothing=0.1, chunk_size=4
    )
    loss.backward()
    assert loss.dtype == ht.grad.dtype == Wt.grad.dtype == dtype
    h64, W64 = ht.detach().double().cpu().numpy(), Wt.detach().double().cpu().numpy()
    cw64 = cw_t.double().cpu().numpy()
    ref, grads = reference(h64, W64, None, target, cw64, 0.1, 0.0, "mean", torch.tensor(1.0))
    bound = linear_options_bounds(h64, W64, None, target, "mean", class_weight=cw64, label_smoothing=0.1)

    def check(name, ours, expected, key):
        tol = side_tolerance(1.0, dtype, expected, bound[key]) + unit_roundoff(np.float64)
        return compare(name, ours, expected, tol, measure="scaled", scale=bound[key])

    for result in (
        check("loss", loss.detach(), ref, "loss"),
        check("grad h", ht.grad, grads[0], "hidden"),
        check("grad W", Wt.grad, grads[1], "weight"),
    ):
        assert result.passed, str(result)
    kept = int((target != -100).sum())
    wrong = (
        sl.linear_cross_entropy_with_grad(h64, W64, target, class_weight=cw64, label_smoothing=0.1, reduction="sum")[2]
        / kept
    )
    assert not check("sum-gradient / kept rows", wrong, grads[1], "weight").passed


def test_never_stores_full_logits(monkeypatch):
    """With chunk_size = 2 every matrix product the NumPy path forms has at most 2 × V logits."""
    h, W, b, target, cw = make_case()
    import softmax_lib._linear_cross_entropy as lce

    seen = []
    real = lce._fused_rows

    def spy(rows, *args):
        seen.append(rows.shape)
        return real(rows, *args)

    monkeypatch.setattr(lce, "_fused_rows", spy)
    sl.linear_cross_entropy_with_grad(h, W, target, b, chunk_size=2)
    assert max(s[0] for s in seen) == 2 and sum(s[0] for s in seen) == N


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda h, W, t: sl.linear_cross_entropy(h, W[:, :2], t), "weight must have shape"),
        (lambda h, W, t: sl.linear_cross_entropy(h, W, t[:3]), "target must have shape"),
        (lambda h, W, t: sl.linear_cross_entropy(h, W, t, np.zeros(2)), "bias must have shape"),
        (lambda h, W, t: sl.linear_cross_entropy(h, W, t, chunk_size=-1), "chunk_size"),
        (lambda h, W, t: sl.linear_cross_entropy(h, W, np.zeros(N)), "integer class indices"),
        (lambda h, W, t: sl.linear_cross_entropy(h[0], W, t), "hidden must be 2-D"),
    ],
)
def test_bad_inputs(call, match):
    h, W, b, target, cw = make_case()
    with pytest.raises(ValueError, match=match):
        call(h, W, target)
