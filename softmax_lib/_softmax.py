"""Softmax, log-softmax, logsumexp and the softmax Jacobian, for any Array API array.

Each function takes its namespace from its input (`xp = array_namespace(z)`, as SciPy does), so
NumPy arrays give NumPy arrays and PyTorch tensors give tensors on the same device, with no copy
to the host. Python scalars and lists are read as NumPy arrays. Large NumPy float32/float64
arrays go to the cache-blocked, multi-threaded kernels of `_blocked.py`, which do the same
arithmetic in fewer passes over memory.
"""

from __future__ import annotations

import numpy as np
from array_api_compat import array_namespace, device

from ._blocked import blocked_log_softmax, blocked_logsumexp, blocked_softmax
from ._validation import Array, as_float_array, class_axis

__all__ = ["softmax", "log_softmax", "logsumexp", "softmax_jacobian", "softmax_vjp"]

# From about a million elements on, the blocked kernels' single pass over memory and their
# threads outweigh their set-up (benchmarks/speed.py).
BLOCKED_MIN_SIZE = 2**20


def _blocked(z: Array) -> bool:
    return isinstance(z, np.ndarray) and z.dtype in (np.float32, np.float64) and z.size >= BLOCKED_MIN_SIZE


def _widened(z: Array, xp) -> Array:
    """float16 and bfloat16 as float32, as PyTorch computes them: rounding every step to 11 or 8
    bits would cost an error of order K·u; computing in float32 and rounding once costs about u."""
    return xp.astype(z, xp.float32) if xp.finfo(z.dtype).bits < 32 else z


def _log_sum_exp_shifted(shifted: Array, axis: int, xp) -> Array:
    """log Σ_k exp(s_k) for s = z − max z, as log1p of the sum of the terms other than the max's.

    The max's term is exactly exp(0) = 1. Adding it to the others before the log would round
    away every digit of their sum that lies below u; log1p keeps them (Blanchard, Higham &
    Higham 2021). Ties at the max add their 1s, exactly, beyond the first.
    """
    is_top = shifted == 0
    others = xp.where(is_top, xp.zeros_like(shifted), xp.exp(shifted))
    n_top = xp.sum(xp.astype(is_top, shifted.dtype), axis=axis, keepdims=True)
    return xp.log1p(xp.sum(others, axis=axis, keepdims=True) + (n_top - 1))


def logsumexp(z: Array, axis: int = -1, keepdims: bool = False) -> Array:
    """log(Σ_k exp(z_k)) along `axis`, computed as m + log1p(Σ_{k≠argmax} exp(z_k − m)), m = max_k z_k.

    After the shift every exponent is ≤ 0, so no term overflows; the max's term is exactly 1 and
    is kept out of the sum so that log1p sees the rest unrounded.
    """
    z = as_float_array(z, "z")
    axis = class_axis(z, axis, "z")
    if _blocked(z):
        out = blocked_logsumexp(z, axis)
        return np.expand_dims(out, axis) if keepdims else out
    xp = array_namespace(z)
    work = _widened(z, xp)
    m = xp.max(work, axis=axis, keepdims=True)
    # A row whose max is ±inf or NaN cannot be shifted by it (inf − inf = NaN); shifting by 0
    # instead gives log Σ exp(z) directly: +inf for a +inf entry, −inf for an all −inf row
    # (log1p(−1)). Overflow beside a +inf or NaN entry changes nothing in that +inf or NaN.
    m = xp.where(xp.isfinite(m), m, xp.zeros_like(m))
    with np.errstate(divide="ignore", over="ignore"):
        out = _log_sum_exp_shifted(work - m, axis, xp) + m
    out = xp.astype(out, z.dtype, copy=False)
    return out if keepdims else xp.squeeze(out, axis=axis)


def log_softmax(z: Array, axis: int = -1) -> Array:
    """log p_i = z_i − logsumexp(z) = (z_i − m) − log1p(Σ_{k≠argmax} exp(z_k − m)), with m = max_k z_k.

    Finite for every finite input, including where p_i itself underflows to 0, and accurate for
    the dominant class, where log p is tiny.
    """
    z = as_float_array(z, "z")
    axis = class_axis(z, axis, "z")
    if _blocked(z):
        return blocked_log_softmax(z, axis)
    xp = array_namespace(z)
    work = _widened(z, xp)
    shifted = work - xp.max(work, axis=axis, keepdims=True)
    return xp.astype(shifted - _log_sum_exp_shifted(shifted, axis, xp), z.dtype, copy=False)


def softmax(z: Array, axis: int = -1) -> Array:
    """p_i = exp(z_i) / Σ_k exp(z_k), computed as exp(z_i − m) / Σ_k exp(z_k − m) with m = max_k z_k.

    The shift changes nothing mathematically (numerator and denominator share the factor
    exp(−m)) but keeps every exponent ≤ 0, so exp cannot overflow and the denominator is ≥ 1.
    """
    z = as_float_array(z, "z")
    axis = class_axis(z, axis, "z")
    if _blocked(z):
        return blocked_softmax(z, axis)
    xp = array_namespace(z)
    work = _widened(z, xp)
    e = xp.exp(work - xp.max(work, axis=axis, keepdims=True))
    return xp.astype(e / xp.sum(e, axis=axis, keepdims=True), z.dtype, copy=False)


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
