"""Checks of sparsemax's training functions, in float64: the sparsemax loss and its gradient, and
sparsemax's O(K) backward. The implementation under test is an argument, so a chapter can pass a
wrong one and show the check rejecting it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from . import oracles
from .differences import central_difference_error, central_difference_jacobian
from .tolerance import (
    CheckResult,
    compare,
    unit_roundoff,
)
from .variants import require_away_from_kinks

__all__ = [
    "torch_sparsemax",
    "sparsemax_loss_units",
    "torch_sparsemax_loss_units",
    "check_sparsemax_loss",
    "check_sparsemax_vjp",
]


def torch_sparsemax(z: Any) -> Any:
    """Sparsemax of a torch tensor by sorting (last axis), independent of softmax_lib's (no shift by max z).

    Parameters
    ----------
    z : torch.Tensor
        Logits, classes on the last axis.

    Returns
    -------
    torch.Tensor
        p, of z's shape; differentiable by autograd.

    Examples
    --------
    >>> import torch
    >>> torch_sparsemax(torch.tensor([1.0, 0.5, -3.0])).tolist()
    [0.75, 0.25, 0.0]
    """
    import torch

    ordered, _ = torch.sort(z, dim=-1, descending=True)
    k = torch.arange(1, z.shape[-1] + 1, dtype=z.dtype, device=z.device)
    cumulative = ordered.cumsum(-1)
    support = (1 + k * ordered > cumulative).sum(-1, keepdim=True)
    tau = (cumulative.gather(-1, support - 1) - 1) / support
    return torch.clamp(z - tau, min=0)


def sparsemax_loss_units(n_classes: int) -> float:
    """(3K² + 23K)/2 + 3: bound, in u, on the error of `sparsemax_loss` relative to r², r = 1 + max_j |z_j|.

    On the support every z_j − m lies in (−1, 0], so p is within (K + 4)u absolute and τ = z_j − p_j within
    (K + 5)u·r. Each term (z_j − τ)(z_j + τ), |z_j − τ| ≤ 1 and |z_j + τ| ≤ 2r, is then within (3K + 21)u·r²;
    K of them, plus the sum's (K − 1)u·Σ|terms| ≤ 2(K − 1)u·r (Σ p_j = 1), halved: (3K² + 23K)/2 − 1;
    then ÷2, −z_k and + ½, counted as four roundings of at most u·r² each.

    Parameters
    ----------
    n_classes : int
        K.

    Returns
    -------
    float

    Examples
    --------
    >>> sparsemax_loss_units(1)
    16.0
    """
    k = int(n_classes)
    return (3 * k * k + 23 * k) / 2 + 3


def torch_sparsemax_loss_units(n_classes: int) -> float:
    """2K² + 5K + 1: bound, in u, on the error of ½‖e_k − z‖² − ½‖p − z‖² by `torch_sparsemax`, relative to r².

    τ from a cumulative sum of raw scores is within (K + 2)u·r, p within (K + 3)u·r. ½‖e_k − z‖²: K squares
    of terms ≤ r, each within 3u·r², summed with (K − 1)u·K·r²; ½‖p − z‖² likewise, each square within
    (2K + 9)u·r²; halved, one subtraction: (K(K + 2) + K(3K + 8))/2 + 1.

    Parameters
    ----------
    n_classes : int
        K.

    Returns
    -------
    float

    Examples
    --------
    >>> torch_sparsemax_loss_units(1)
    8
    """
    k = int(n_classes)
    return 2 * k * k + 5 * k + 1


def check_sparsemax_loss(z: ArrayLike, target: ArrayLike, loss_grad: Callable | None = None) -> list[CheckResult]:
    """sparsemax_loss and its gradient `loss_grad` (default `sparsemax_loss_grad`), float64, z of shape (N, K):
    the loss against torch's ½‖e_k − z‖² − ½‖p − z‖², the gradient against torch autograd of that loss and
    against central differences of `sparsemax_loss`.

    Measure: scaled per row, r = 1 + max_j |z_j|. Loss: r², `sparsemax_loss_units`(K) + `torch_sparsemax_loss_units`(K)
    units (one bound per side). Gradient p − e_k: r, within (K + 5)u·r for ours (p within (K + 4)u, the
    subtraction) and (K + 5)u·r for autograd ((z − e) + (p − z) and the mean over S through τ): 2(K + 5)u.
    Central differences, per row: the loss is piecewise quadratic, so away from the kinks the quotient has no
    truncation error (M₃ = 0), only rounding, `central_difference_error`(0, r², `sparsemax_loss_units`(K));
    the check raises ValueError where an entry is within 2h of τ (`require_away_from_kinks`).

    Parameters
    ----------
    z : array_like
        Logits, shape (N, K).
    target : array_like
        Class indices, shape (N,).
    loss_grad : callable, optional
        The gradient function to check (default `softmax_lib.sparsemax_loss_grad`).

    Returns
    -------
    list of CheckResult
        One per comparison; the check passes when every one has passed.

    Examples
    --------
    >>> [r.passed for r in check_sparsemax_loss(np.array([[1.5, 1.0, 0.2, -1.0]]), np.array([1]))]
    [True, True, True]
    """
    import torch

    from .._training_variants import sparsemax_loss, sparsemax_loss_grad

    loss_grad = sparsemax_loss_grad if loss_grad is None else loss_grad
    z = np.asarray(z, dtype=np.float64)
    target = np.asarray(target)
    require_away_from_kinks(z)
    k = z.shape[-1]
    u = unit_roundoff(np.float64)
    z_t = oracles.to_torch(z).requires_grad_(True)
    one_hot = torch.nn.functional.one_hot(oracles.to_torch(target.astype(np.int64)), k).to(z_t.dtype)
    p_t = torch_sparsemax(z_t)
    loss_t = 0.5 * ((one_hot - z_t) ** 2).sum(-1) - 0.5 * ((p_t - z_t) ** 2).sum(-1)
    loss_t.sum().backward()
    r = 1 + np.max(np.abs(z), axis=-1, keepdims=True)
    grad = loss_grad(z, target)
    fd_grad = np.stack(
        [central_difference_jacobian(lambda x, c=c: sparsemax_loss(x, c), row) for row, c in zip(z, target)]
    )
    fd_error = max(
        central_difference_error(0.0, float(r_n) ** 2, sparsemax_loss_units(k), float(r_n) - 1) / float(r_n)
        for r_n in r[:, 0]
    )
    return [
        compare(
            "sparsemax loss vs torch",
            sparsemax_loss(z, target),
            loss_t.detach().cpu().numpy(),
            (sparsemax_loss_units(k) + torch_sparsemax_loss_units(k)) * u,
            measure="scaled",
            scale=r[:, 0] ** 2,
        ),
        compare(
            "sparsemax loss gradient vs torch autograd",
            grad,
            z_t.grad.cpu().numpy(),
            2 * (k + 5) * u,
            measure="scaled",
            scale=r,
        ),
        compare(
            "sparsemax loss gradient vs central differences",
            grad,
            fd_grad,
            (k + 5) * u + fd_error,
            measure="scaled",
            scale=r,
        ),
    ]


def check_sparsemax_vjp(z: ArrayLike, v: ArrayLike, vjp: Callable | None = None) -> list[CheckResult]:
    """`vjp`(z, v) (default `sparsemax_vjp`), float64, shape (N, K), against the dense Jᵀv from
    sparsemax_jacobian and against torch autograd through `torch_sparsemax`.

    Measure: scaled per row by V = max_j |v_j|. s ⊙ (v − mean_S v): the mean of |S| ≤ K entries is within
    K·u·V, the subtraction 2u·V: (K + 2)u per side, the same for autograd (the sum over S through τ). The
    dense product: J's entries within 2u, K products (3u each, Σ_i |J_ij| ≤ 2) and their sum: 2(K + 2)u.

    Parameters
    ----------
    z : array_like
        Logits, shape (N, K).
    v : array_like
        The vectors, of z's shape.
    vjp : callable, optional
        The function to check (default `softmax_lib.sparsemax_vjp`).

    Returns
    -------
    list of CheckResult
        One per comparison; the check passes when every one has passed.

    Examples
    --------
    >>> [r.passed for r in check_sparsemax_vjp(np.array([[1.5, 1.0, 0.2, -1.0]]), np.array([[1.0, 0.0, 5.0, 5.0]]))]
    [True, True]
    """

    from .._training_variants import sparsemax_vjp
    from .._variants import sparsemax_jacobian

    z, v = np.asarray(z, dtype=np.float64), np.asarray(v, dtype=np.float64)
    k = z.shape[-1]
    u = unit_roundoff(np.float64)
    z_t = oracles.to_torch(z).requires_grad_(True)
    (torch_sparsemax(z_t) * oracles.to_torch(v)).sum().backward()
    scale = np.max(np.abs(v), axis=-1, keepdims=True)
    ours = (sparsemax_vjp if vjp is None else vjp)(z, v)
    return [
        compare(
            "sparsemax_vjp vs dense Jacobian",
            ours,
            np.einsum("...ij,...i->...j", sparsemax_jacobian(z), v),
            3 * (k + 2) * u,
            measure="scaled",
            scale=scale,
        ),
        compare(
            "sparsemax_vjp vs torch autograd",
            ours,
            z_t.grad.cpu().numpy(),
            2 * (k + 2) * u,
            measure="scaled",
            scale=scale,
        ),
    ]
