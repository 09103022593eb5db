"""The derivative checks: softmax's Jacobian, its vector-Jacobian product and the loss Hessian.

Against torch autograd in the checked dtype and central differences in float64, with the bounds of
`jacobian_units` (cases.py states the conventions shared by every check). The library functions are
looked up in this module's namespace, so that softmax_lib.checks.mistakes can put a wrong one in
their place.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from array_api_compat import array_namespace
from array_api_compat import device as array_device
from numpy.typing import ArrayLike

from .._softmax import softmax_jacobian, softmax_vjp
from . import oracles
from .bounds import logsumexp_log_units, softmax_bound_units
from .cases import _rows_last, _spread
from .differences import THIRD_DERIVATIVE_SOFTMAX, central_difference_error, central_difference_jacobian
from .oracles import checked_array, float64_target, softmax64, to_torch
from .tolerance import (
    EXP_UNITS,
    CheckResult,
    compare,
    smallest_normal,
    unit_roundoff,
)

__all__ = ["jacobian_units", "check_softmax_jacobian", "check_softmax_vjp", "check_loss_hessian"]


def jacobian_units(softmax_units: float) -> float:
    """2b + 2: bound, in u, on |Ĵ_ij − J_ij| / (p_i δ_ij + p_i p_j), J = diag(p) − p pᵀ from p̂ within b units:
    the diagonal term carries b, the product p̂_i p̂_j 2b + 1, the difference one more.

    Parameters
    ----------
    softmax_units : float
        b, the bound of p̂ in units of u.

    Returns
    -------
    float

    Examples
    --------
    >>> jacobian_units(6.0)
    14.0
    """
    return 2 * softmax_units + 2


def check_softmax_jacobian(z: ArrayLike, dtype: Any = "float64", device: Any = None) -> list[CheckResult]:
    """softmax_jacobian(z) against torch autograd and central differences, z of shape (K,).

    Measure: |Ĵ − J| scaled componentwise by s_ij = p_i δ_ij + p_i p_j, the size of the terms of
    J_ij = p_i δ_ij − p_i p_j (the diagonal cancels where p_i ≈ 1). Each side is within
    `jacobian_units`(b) of J with b = `softmax_bound_units`; against autograd the tolerance is twice
    that; against central differences (float64, error `central_difference_error` with M₃ = 1/8)
    each entry is within jacobian_units(b)·u·max(s_ij, smallest normal) plus the difference quotient's
    error (so where a saturated softmax makes J smaller than that error, only autograd can see J).
    softmax_vjp(z, v) against the explicit Jᵀv (both in `dtype`): scale p_i(|v_i| + Σ_k p_k|v_k|),
    tolerance (2b + K + 2) + (2b + 2 + K).

    Parameters
    ----------
    z : array_like
        One logit vector of shape (K,), float64 data rounded to `dtype`.
    dtype : str, numpy dtype or torch.dtype, optional
        The dtype to check in (default float64).
    device : torch.device or str, optional
        None: NumPy where NumPy has the dtype; else torch on that device (see `checked_array`).

    Returns
    -------
    list of CheckResult
        One per comparison; the check passes when every one has passed.

    Examples
    --------
    >>> [r.passed for r in check_softmax_jacobian(np.array([0.5, -1.0, 2.0]))]
    [True, True, True]
    """
    x, z64 = checked_array(np.asarray(z, dtype=np.float64), dtype, device)
    xp = array_namespace(x)
    ours = softmax_jacobian(x)
    k = z64.shape[-1]
    u = unit_roundoff(dtype)
    b = softmax_bound_units(k, _spread(z64))
    p = softmax64(z64)
    scale = np.diag(p) + np.outer(p, p)
    fd_error = central_difference_error(THIRD_DERIVATIVE_SOFTMAX, 1.0, b, float(np.max(np.abs(z64))))
    v = xp.astype(xp.arange(k, device=array_device(x)), x.dtype)
    v64 = np.arange(k, dtype=np.float64)
    vjp_scale = p * (np.abs(v64) + np.sum(p * np.abs(v64)))
    return [
        compare(
            "softmax_jacobian vs torch autograd",
            ours,
            oracles.torch_softmax_jacobian(x),
            2 * jacobian_units(b) * u,
            measure="scaled",
            scale=scale,
        ),
        compare(
            "softmax_jacobian vs central differences",
            ours,
            central_difference_jacobian(softmax64, z64),
            jacobian_units(b) * u,
            measure="scaled",
            # Entry by entry: Ĵ's own bound (an entry below the smallest normal number is stored with
            # an absolute error, as `smallest_normal` says) plus the difference quotient's, which is absolute.
            scale=np.maximum(scale, smallest_normal(dtype)) + fd_error / (jacobian_units(b) * u),
        ),
        compare(
            "softmax_vjp vs explicit Jᵀv",
            softmax_vjp(x, v),
            ours.T @ v,
            (2 * b + k + 2 + jacobian_units(b) + k) * u,
            measure="scaled",
            scale=vjp_scale,
        ),
    ]


def check_softmax_vjp(
    z: ArrayLike, v: ArrayLike, axis: int = -1, dtype: Any = "float64", device: Any = None
) -> list[CheckResult]:
    """softmax_vjp(z, v) = p ⊙ (v − ⟨p, v⟩) against torch autograd (backward of softmax with gradient v)
    and against Jᵀv with J from central differences, per row along `axis`.

    Measure: scaled componentwise by p_i(|v_i| + Σ_k p_k|v_k|). Bound of each side 2b + K + 2 units
    (p within b; ⟨p, v⟩ within b + K − 1 relative to Σ p|v|; the difference, the product: 2 more).
    Against central differences (scale: its max) the quotient's error times Σ_k |v_k| is added.

    Parameters
    ----------
    z : array_like
        Logits, float64 data rounded to `dtype`.
    v : array_like
        The vectors, of z's shape.
    axis : int, optional
        The class axis (default the last).
    dtype : str, numpy dtype or torch.dtype, optional
        The dtype to check in (default float64).
    device : torch.device or str, optional
        As for `check_softmax_jacobian`.

    Returns
    -------
    list of CheckResult
        One per comparison; the check passes when every one has passed.

    Examples
    --------
    >>> [r.passed for r in check_softmax_vjp(np.array([[0.5, -1.0, 2.0]]), np.array([[1.0, 0.0, -1.0]]))]
    [True, True]
    """
    import torch

    x, z64 = checked_array(np.asarray(z, dtype=np.float64), dtype, device)
    v_x, v64 = checked_array(np.asarray(v, dtype=np.float64), dtype, device)
    ours = softmax_vjp(x, v_x, axis)
    z_t = to_torch(x).detach().clone().requires_grad_(True)
    torch.softmax(z_t, dim=axis).backward(to_torch(v_x, z_t.device))
    rows64, v_rows = _rows_last(z64, axis), _rows_last(v64, axis)
    k = rows64.shape[-1]
    explicit = np.stack(
        [
            central_difference_jacobian(softmax64, row).T @ v_row
            for row, v_row in zip(rows64.reshape(-1, k), v_rows.reshape(-1, k))
        ]
    )
    explicit = np.moveaxis(explicit.reshape(rows64.shape), -1, axis)
    u = unit_roundoff(dtype)
    b = softmax_bound_units(k, _spread(z64, axis))
    p = softmax64(z64, axis)
    scale = p * (np.abs(v64) + np.sum(p * np.abs(v64), axis=axis, keepdims=True))
    units = 2 * b + k + 2
    fd_error = central_difference_error(THIRD_DERIVATIVE_SOFTMAX, 1.0, b, float(np.max(np.abs(z64))))
    fd_error *= float(np.max(np.sum(np.abs(v_rows), axis=-1)))
    return [
        compare("softmax_vjp vs torch autograd", ours, z_t.grad, 2 * units * u, measure="scaled", scale=scale),
        compare(
            "softmax_vjp vs central-difference Jᵀv",
            ours,
            explicit,
            units * u + fd_error / scale.max(),
            measure="scaled",
            scale=scale.max(),
        ),
    ]


def check_loss_hessian(
    logits: ArrayLike, target: ArrayLike, dtype: Any = "float64", device: Any = None
) -> list[CheckResult]:
    """The Hessian of the cross-entropy in the logits, ∂²L/∂z² = diag(p) − p pᵀ (= softmax_jacobian(z)),
    whatever the target (∂L/∂z = p − y and y does not depend on z): against
    torch.autograd.functional.hessian and against central differences of the float64 p − y.

    Measure as in `check_softmax_jacobian`. torch differentiates log_softmax twice, so its p = exp(log p)
    carries L + |z − m| + EXP_UNITS + 1 units (L = logsumexp_log_units(K)) instead of b; its side is
    bounded by `jacobian_units` of that. One row of logits of shape (K,); target a class index or a
    probability vector summing to 1.

    Parameters
    ----------
    logits : array_like
        One row of shape (K,), float64 data rounded to `dtype`.
    target : array_like
        A class index, or a probability vector of shape (K,).
    dtype : str, numpy dtype or torch.dtype, optional
        The dtype to check in (default float64).
    device : torch.device or str, optional
        As for `check_softmax_jacobian`.

    Returns
    -------
    list of CheckResult
        One per comparison; the check passes when every one has passed.

    Examples
    --------
    >>> [r.passed for r in check_loss_hessian(np.array([0.5, -1.0, 2.0]), np.array(1))]
    [True, True]
    """
    x, z64 = checked_array(np.asarray(logits, dtype=np.float64), dtype, device)
    if z64.ndim != 1:
        raise ValueError(f"logits must be one row of shape (K,), got shape {z64.shape}")
    target_x, target64 = checked_array(target, dtype, device)
    target64 = float64_target(target64)
    ours = softmax_jacobian(x)
    k = z64.shape[-1]
    u = unit_roundoff(dtype)
    spread = _spread(z64)
    b = softmax_bound_units(k, spread)
    b_torch = max(b, logsumexp_log_units(k) + spread + EXP_UNITS + 1)
    p = softmax64(z64)
    scale = np.diag(p) + np.outer(p, p)
    fd_error = central_difference_error(THIRD_DERIVATIVE_SOFTMAX, 1.0, b + 1, float(np.max(np.abs(z64))))
    label = "index" if np.issubdtype(target64.dtype, np.integer) else "probability"
    return [
        compare(
            f"loss Hessian vs torch autograd ({label} target)",
            ours,
            oracles.torch_cross_entropy_hessian(x, target_x),
            (jacobian_units(b) + jacobian_units(b_torch)) * u,
            measure="scaled",
            scale=scale,
        ),
        compare(
            f"loss Hessian vs central differences of the gradient ({label} target)",
            ours,
            central_difference_jacobian(lambda z: oracles.cross_entropy_grad64(z, target64, reduction="sum"), z64),
            jacobian_units(b) * u + fd_error / scale.max(),
            measure="scaled",
            scale=scale.max(),
        ),
    ]
