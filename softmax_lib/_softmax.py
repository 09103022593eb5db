"""Softmax, log-softmax, logsumexp and the softmax Jacobian, in NumPy."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["softmax", "log_softmax", "logsumexp", "softmax_jacobian", "softmax_vjp"]


def as_float_array(x: ArrayLike, name: str) -> NDArray[np.floating]:
    """`x` as an array of real floats: floating dtypes are kept, integers and bools become float64."""
    x = np.asarray(x)
    if np.issubdtype(x.dtype, np.floating):
        return x
    if np.issubdtype(x.dtype, np.integer) or x.dtype == np.bool_:
        return x.astype(np.float64)
    raise TypeError(f"{name} must be a real numeric array, got dtype {x.dtype}")


def class_axis(x: np.ndarray, axis: int, name: str) -> int:
    """Normalise `axis` for `x` and check that the class axis is not empty."""
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"axis must be an int, got {type(axis).__name__}")
    if not -x.ndim <= axis < x.ndim:
        raise np.exceptions.AxisError(
            f"axis {axis} is out of range for {name} with {x.ndim} dimension(s)"
        )
    axis = int(axis) % x.ndim
    if x.shape[axis] == 0:
        raise ValueError(f"{name} has an empty class axis (axis {axis} of shape {x.shape})")
    return axis


def logsumexp(z: ArrayLike, axis: int = -1, keepdims: bool = False) -> NDArray[np.floating]:
    """log(Σ_k exp(z_k)) along `axis`, computed as m + log(Σ_k exp(z_k − m)) with m = max_k z_k.

    After the shift every exponent is ≤ 0, so no term overflows, and the largest term is
    exactly 1, so the sum is ≥ 1 and its log never underflows to −inf.
    """
    z = as_float_array(z, "z")
    axis = class_axis(z, axis, "z")
    m = np.max(z, axis=axis, keepdims=True)
    # A row whose max is ±inf or NaN cannot be shifted by it (inf − inf = NaN); shifting by 0
    # instead gives log Σ exp(z) directly: +inf for a +inf entry, −inf for an all −inf row.
    m = np.where(np.isfinite(m), m, np.zeros_like(m))
    with np.errstate(divide="ignore"):  # log(0) = −inf is the right answer for an all −inf row
        out = np.log(np.sum(np.exp(z - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def log_softmax(z: ArrayLike, axis: int = -1) -> NDArray[np.floating]:
    """log p_i = z_i − logsumexp(z) = (z_i − m) − log Σ_k exp(z_k − m), with m = max_k z_k.

    Finite for every finite input, including where p_i itself underflows to 0.
    """
    z = as_float_array(z, "z")
    axis = class_axis(z, axis, "z")
    shifted = z - np.max(z, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def softmax(z: ArrayLike, axis: int = -1) -> NDArray[np.floating]:
    """p_i = exp(z_i) / Σ_k exp(z_k), computed as exp(z_i − m) / Σ_k exp(z_k − m) with m = max_k z_k.

    The shift changes nothing mathematically (numerator and denominator share the factor
    exp(−m)) but keeps every exponent ≤ 0, so exp cannot overflow and the denominator is ≥ 1.
    """
    z = as_float_array(z, "z")
    axis = class_axis(z, axis, "z")
    e = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def softmax_jacobian(z: ArrayLike, axis: int = -1) -> NDArray[np.floating]:
    """J_ij = ∂p_i/∂z_j = p_i (δ_ij − p_j), i.e. J = diag(p) − p pᵀ.

    Returns shape (..., K, K): the other axes of `z` in their order, then i, then j.
    """
    p = np.moveaxis(softmax(z, axis=axis), axis, -1)
    return p[..., :, None] * np.eye(p.shape[-1], dtype=p.dtype) - p[..., :, None] * p[..., None, :]


def softmax_vjp(z: ArrayLike, v: ArrayLike, axis: int = -1) -> NDArray[np.floating]:
    """Jᵀv = p ⊙ (v − ⟨p, v⟩) along `axis`, without forming the K × K Jacobian J.

    J is symmetric, so this is also Jv. Cost O(K) per row instead of O(K²).
    """
    p = softmax(z, axis=axis)
    v = as_float_array(v, "v")
    if v.shape != p.shape:
        raise ValueError(f"v must have the shape of z {p.shape}, got {v.shape}")
    axis = class_axis(p, axis, "z")
    return p * (v - np.sum(p * v, axis=axis, keepdims=True))
