"""Softmax, log-softmax, logsumexp and the softmax Jacobian, for any Array API array.

Each function takes its namespace from its input (`xp = array_namespace(z)`, as SciPy does), so
NumPy arrays give NumPy arrays and PyTorch tensors give tensors on the same device, with no copy
to the host. Python scalars and lists are read as NumPy arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from array_api_compat import array_namespace, device, is_array_api_obj

__all__ = ["softmax", "log_softmax", "logsumexp", "softmax_jacobian", "softmax_vjp"]

Array = Any  # any Array API array: numpy.ndarray, torch.Tensor, ...


def as_array(x: Any) -> Array:
    """`x` itself if it is an array of some Array API namespace, else `numpy.asarray(x)`."""
    return x if is_array_api_obj(x) else np.asarray(x)


def as_float_array(x: Any, name: str) -> Array:
    """`x` as an array of real floats: floating dtypes are kept, integers and bools become float64."""
    x = as_array(x)
    xp = array_namespace(x)
    if xp.isdtype(x.dtype, "real floating"):
        return x
    if xp.isdtype(x.dtype, ("integral", "bool")):
        return xp.astype(x, xp.float64)
    raise TypeError(f"{name} must be a real numeric array, got dtype {x.dtype}")


def class_axis(x: Array, axis: int, name: str) -> int:
    """Normalise `axis` for `x` and check that the class axis is not empty."""
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"axis must be an int, got {type(axis).__name__}")
    if not -x.ndim <= axis < x.ndim:
        raise np.exceptions.AxisError(
            f"axis {axis} is out of range for {name} with {x.ndim} dimension(s)"
        )
    axis = int(axis) % x.ndim
    if x.shape[axis] == 0:
        raise ValueError(f"{name} has an empty class axis (axis {axis} of shape {tuple(x.shape)})")
    return axis


def logsumexp(z: Array, axis: int = -1, keepdims: bool = False) -> Array:
    """log(Σ_k exp(z_k)) along `axis`, computed as m + log(Σ_k exp(z_k − m)) with m = max_k z_k.

    After the shift every exponent is ≤ 0, so no term overflows, and the largest term is
    exactly 1, so the sum is ≥ 1 and its log never underflows to −inf.
    """
    z = as_float_array(z, "z")
    xp = array_namespace(z)
    axis = class_axis(z, axis, "z")
    m = xp.max(z, axis=axis, keepdims=True)
    # A row whose max is ±inf or NaN cannot be shifted by it (inf − inf = NaN); shifting by 0
    # instead gives log Σ exp(z) directly: +inf for a +inf entry, −inf for an all −inf row.
    m = xp.where(xp.isfinite(m), m, xp.zeros_like(m))
    # log(0) = −inf is the right answer for an all −inf row; exp overflowing to +inf beside a +inf
    # or NaN entry changes nothing in an answer that is +inf or NaN anyway.
    with np.errstate(divide="ignore", over="ignore"):
        out = xp.log(xp.sum(xp.exp(z - m), axis=axis, keepdims=True)) + m
    return out if keepdims else xp.squeeze(out, axis=axis)


def log_softmax(z: Array, axis: int = -1) -> Array:
    """log p_i = z_i − logsumexp(z) = (z_i − m) − log Σ_k exp(z_k − m), with m = max_k z_k.

    Finite for every finite input, including where p_i itself underflows to 0.
    """
    z = as_float_array(z, "z")
    xp = array_namespace(z)
    axis = class_axis(z, axis, "z")
    shifted = z - xp.max(z, axis=axis, keepdims=True)
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))


def softmax(z: Array, axis: int = -1) -> Array:
    """p_i = exp(z_i) / Σ_k exp(z_k), computed as exp(z_i − m) / Σ_k exp(z_k − m) with m = max_k z_k.

    The shift changes nothing mathematically (numerator and denominator share the factor
    exp(−m)) but keeps every exponent ≤ 0, so exp cannot overflow and the denominator is ≥ 1.
    """
    z = as_float_array(z, "z")
    xp = array_namespace(z)
    axis = class_axis(z, axis, "z")
    e = xp.exp(z - xp.max(z, axis=axis, keepdims=True))
    return e / xp.sum(e, axis=axis, keepdims=True)


def softmax_jacobian(z: Array, axis: int = -1) -> Array:
    """J_ij = ∂p_i/∂z_j = p_i (δ_ij − p_j), i.e. J = diag(p) − p pᵀ.

    Returns shape (..., K, K): the other axes of `z` in their order, then i, then j.
    """
    p = softmax(z, axis=axis)
    xp = array_namespace(p)
    p = xp.moveaxis(p, axis, -1)
    eye = xp.eye(p.shape[-1], dtype=p.dtype, device=device(p))
    return p[..., :, None] * eye - p[..., :, None] * p[..., None, :]


def softmax_vjp(z: Array, v: Array, axis: int = -1) -> Array:
    """Jᵀv = p ⊙ (v − ⟨p, v⟩) along `axis`, without forming the K × K Jacobian J.

    J is symmetric, so this is also Jv. Cost O(K) per row instead of O(K²).
    """
    p = softmax(z, axis=axis)
    v = as_float_array(v, "v")
    xp = array_namespace(p, v)
    if v.shape != p.shape:
        raise ValueError(f"v must have the shape of z {tuple(p.shape)}, got {tuple(v.shape)}")
    axis = class_axis(p, axis, "z")
    return p * (v - xp.sum(p * v, axis=axis, keepdims=True))
