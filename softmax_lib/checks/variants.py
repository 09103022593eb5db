"""Checks of the variants (sparsemax, hierarchical softmax) and of the fused loss, in float64."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .._cross_entropy import cross_entropy, cross_entropy_grad
from . import oracles
from .differences import THIRD_DERIVATIVE_SOFTMAX, central_difference_error, central_difference_jacobian
from .error_scales import cross_entropy_tolerances
from .tolerance import (
    EXP_UNITS,
    CheckResult,
    compare,
    unit_roundoff,
)

__all__ = [
    "require_away_from_kinks",
    "check_sparsemax_jacobian",
    "check_hierarchical_softmax",
    "check_cross_entropy_with_grad",
]


def require_away_from_kinks(z: np.ndarray) -> None:
    """Raise ValueError if some |z_i − τ| ≤ 2h in a row of z (shape (..., K)), h the largest central
    difference step ε^(1/3)·max(1, max|z|): sparsemax has a kink at z_i = τ, and a step of h in one
    entry moves τ by at most h (∂τ/∂z_j = s_j/|S| ≤ 1), so within 2h a difference quotient may straddle it.

    Parameters
    ----------
    z : numpy.ndarray
        Logits, shape (..., K).

    Returns
    -------
    None

    Raises
    ------
    ValueError
        Some entry is within 2h of its row's τ.

    Examples
    --------
    >>> require_away_from_kinks(np.array([1.0, 0.5, -3.0]))
    >>> require_away_from_kinks(np.array([1.0, 0.0, 0.0]))  # τ = 0: the zeros sit on it
    Traceback (most recent call last):
    ...
    ValueError: z[1] is within 1.2e-05 of its row's threshold τ = 0.0: sparsemax has a kink there
    """
    from .._variants import sparsemax

    p = sparsemax(z)
    tau = np.max(np.where(p > 0, z - p, -np.inf), axis=-1, keepdims=True)
    step = np.finfo(np.float64).eps ** (1 / 3) * max(1.0, float(np.max(np.abs(z))))
    distance = np.abs(z - tau)
    if np.min(distance) <= 2 * step:
        index = np.unravel_index(np.argmin(distance), z.shape)
        raise ValueError(
            f"z{list(map(int, index))} is within {2 * step:.1e} of its row's threshold τ = "
            f"{float(np.broadcast_to(tau, z.shape)[index])}: sparsemax has a kink there"
        )


def check_sparsemax_jacobian(z: ArrayLike) -> list[CheckResult]:
    """sparsemax_jacobian(z) against central differences of sparsemax, z of shape (K,), float64.

    sparsemax is piecewise linear, so away from the kinks the difference quotient has no truncation
    error, only rounding: (K + 2)u·max p / h (`central_difference_error` with M₃ = 0). The Jacobian's
    entries are δ_ij − 1/|S| on the support S, so the error is scaled by 1/|S|. Valid away from the
    kinks: every |z_i − τ| must exceed the difference step, which the check asserts.

    Parameters
    ----------
    z : array_like
        One logit vector of shape (K,), away from the kinks.

    Returns
    -------
    list of CheckResult
        One per comparison; the check passes when every one has passed.

    Examples
    --------
    >>> [r.passed for r in check_sparsemax_jacobian([1.0, 0.5, -3.0])]
    [True]
    """
    from .._variants import sparsemax, sparsemax_jacobian

    z = np.asarray(z, dtype=np.float64)
    p = sparsemax(z)
    support = p > 0
    require_away_from_kinks(z)
    scale = 1 / np.count_nonzero(support)
    fd_error = central_difference_error(0.0, float(np.max(p)), z.size + 2, float(np.max(np.abs(z))))
    return [
        compare(
            "sparsemax_jacobian vs central differences",
            sparsemax_jacobian(z),
            central_difference_jacobian(sparsemax, z),
            fd_error / scale,
            measure="scaled",
            scale=scale,
        )
    ]


def check_hierarchical_softmax(node_scores: ArrayLike, target: ArrayLike) -> list[CheckResult]:
    """hierarchical_softmax_log_prob and _grad against torch autograd and central differences, float64.

    log p is a sum of d = ⌈log₂ K⌉ terms log σ(±s), each within EXP_UNITS + 3 units of |log σ| + 1:
    scaled by |log p| + d, (EXP_UNITS + 3)·d + d − 1 units per side. Each gradient entry σ(s) − t is
    within EXP_UNITS + 3 units absolute: normwise, 2(EXP_UNITS + 3)u / max|g|. Central differences:
    M₃ = 1/8 (|(log σ)'''| ≤ 1/8), the loss summed over N rows.

    Parameters
    ----------
    node_scores : array_like
        Shape (N, K − 1).
    target : array_like
        Class indices, shape (N,).

    Returns
    -------
    list of CheckResult
        One per comparison; the check passes when every one has passed.

    Examples
    --------
    >>> results = check_hierarchical_softmax(np.array([[0.5, -1.0, 2.0]]), np.array([3]))
    >>> all(r.passed for r in results)
    True
    """
    from .._variants import hierarchical_softmax_grad, hierarchical_softmax_log_prob

    node_scores = np.asarray(node_scores, dtype=np.float64)
    target = np.asarray(target)
    ref_log_prob, ref_grad = oracles.torch_hierarchical_softmax_log_prob_with_grad(node_scores, target)
    grad = hierarchical_softmax_grad(node_scores, target)
    depth = int(np.ceil(np.log2(node_scores.shape[-1] + 1)))
    u = unit_roundoff(np.float64)
    units = (EXP_UNITS + 3) * depth + depth - 1
    total = lambda s: -np.sum(hierarchical_softmax_log_prob(s, target))  # noqa: E731
    grad_norm = float(np.max(np.abs(ref_grad)))
    f_scale = float(np.sum(np.abs(ref_log_prob)) + depth * target.size)
    fd_error = central_difference_error(
        THIRD_DERIVATIVE_SOFTMAX, f_scale, units + target.size, float(np.max(np.abs(node_scores)))
    )
    return [
        compare(
            "hierarchical log p vs torch",
            hierarchical_softmax_log_prob(node_scores, target),
            ref_log_prob,
            2 * units * u,
            measure="scaled",
            scale=np.abs(ref_log_prob) + depth,
        ),
        compare("hierarchical gradient vs torch autograd", grad, ref_grad, 2 * (EXP_UNITS + 3) * u / grad_norm),
        compare(
            "hierarchical gradient vs central differences",
            grad,
            central_difference_jacobian(total, node_scores),
            ((EXP_UNITS + 3) * u + fd_error) / grad_norm,
        ),
    ]


def check_cross_entropy_with_grad(
    logits: ArrayLike, target: ArrayLike, axis: int = -1, reduction: str = "mean"
) -> list[CheckResult]:
    """The fused cross_entropy_with_grad against cross_entropy / cross_entropy_grad and against torch autograd,
    in float64, with the measures and bounds of `check_cross_entropy` (two sides, each within its bound).

    Parameters
    ----------
    logits : array_like
        Float64 logits.
    target : array_like
        Class indices, or probabilities of the logits' shape.
    axis : int, optional
        The class axis (default the last).
    reduction : {"mean", "sum", "none"}, optional

    Returns
    -------
    list of CheckResult
        One per comparison; the check passes when every one has passed.

    Examples
    --------
    >>> [r.passed for r in check_cross_entropy_with_grad(np.array([[1.0, -0.5, 2.0]]), np.array([0]))]
    [True, True, True, True]
    """
    from .._cross_entropy import cross_entropy_with_grad

    logits = np.asarray(logits, dtype=np.float64)
    target = np.asarray(target)
    loss, grad = cross_entropy_with_grad(logits, target, axis, reduction)
    loss_ref, grad_ref = oracles.torch_cross_entropy_with_grad(logits, target, axis, reduction)
    label = f"{'index' if np.issubdtype(target.dtype, np.integer) else 'probability'} target, {reduction}"
    bounds = cross_entropy_tolerances(logits, target, axis, reduction)
    loss_scale, grad_scale = bounds["loss_scale"], bounds["grad_scale"]
    loss_tol, grad_tol = 2 * bounds["loss_tolerance"], 2 * bounds["grad_tolerance"]
    return [
        compare(
            f"fused loss vs cross_entropy ({label})",
            loss,
            cross_entropy(logits, target, axis, reduction),
            loss_tol,
            measure="scaled",
            scale=loss_scale,
        ),
        compare(
            f"fused grad vs cross_entropy_grad ({label})",
            grad,
            cross_entropy_grad(logits, target, axis, reduction),
            grad_tol,
            measure="scaled",
            scale=grad_scale,
        ),
        compare(f"fused loss vs torch ({label})", loss, loss_ref, loss_tol, measure="scaled", scale=loss_scale),
        compare(
            f"fused grad vs torch autograd ({label})", grad, grad_ref, grad_tol, measure="scaled", scale=grad_scale
        ),
    ]
