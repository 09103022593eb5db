"""Softmax, log-softmax, logsumexp and the softmax Jacobian, for any Array API array.

Each function takes its namespace from its input (`xp = array_namespace(z)`, as SciPy does), so
NumPy arrays give NumPy arrays and PyTorch tensors give tensors on the same device, with no copy
to the host. Python scalars and lists are read as NumPy arrays. Large NumPy float32/float64
arrays go to the cache-blocked, multi-threaded kernels of `_blocked.py`, which do the same
arithmetic in fewer passes over memory.

One answer for every layout and size: a NumPy input is first copied, class axis last, into a
C-contiguous (rows, K) buffer, exactly as the blocked kernels do, and each row goes through the
same operations in the same order as there; so the result does not depend on the class axis,
the memory order (C, Fortran, transposed, strided) or on which side of `BLOCKED_MIN_SIZE` the
input falls, bit for bit. Tensors are computed along the moved axis by the same formulas, in
torch's own kernels (equal to the NumPy result within rounding, not bit for bit).
"""

from __future__ import annotations

import numpy as np
from array_api_compat import array_namespace, device, is_numpy_array

from ._blocked import as_rows, blocked_log_softmax, blocked_logsumexp, blocked_softmax, quiet_errors
from ._validation import Array, as_float_array, class_axis, namespace

__all__ = ["softmax", "log_softmax", "logsumexp", "softmax_jacobian", "softmax_vjp"]

# From about a million elements on, the blocked kernels' single pass over memory and their
# threads outweigh their set-up (benchmarks/speed.py); the losses switch at the same size.
# Read at every call: the tests lower it (monkeypatch) to run the blocked kernels on small
# inputs and compare them with this module's.
BLOCKED_MIN_SIZE = 2**20


def uses_blocked_kernels(z: Array) -> bool:
    """Whether `z` goes to the blocked kernels: a NumPy float32/float64 array of BLOCKED_MIN_SIZE elements or more."""
    return isinstance(z, np.ndarray) and z.dtype in (np.float32, np.float64) and z.size >= BLOCKED_MIN_SIZE


def _widened(z: Array, xp) -> Array:
    """float16 and bfloat16 as float32, as PyTorch computes them: rounding every step to 11 or 8
    bits would cost an error of order K·u; computing in float32 and rounding once costs about u."""
    return xp.astype(z, xp.float32) if xp.finfo(z.dtype).bits < 32 else z


def _class_last(z: Array, axis: int, xp) -> Array:
    """The class axis last; for NumPy the C-contiguous (rows, K) buffer of the blocked kernels."""
    return as_rows(z, axis) if is_numpy_array(z) else xp.moveaxis(z, axis, -1)


def _class_back(rows: Array, z: Array, axis: int, xp) -> Array:
    """Undo `_class_last` for a result of the shape of `rows` (a C-contiguous array for NumPy)."""
    if not is_numpy_array(z):
        return xp.moveaxis(rows, -1, axis)
    moved_shape = tuple(np.delete(z.shape, axis)) + (z.shape[axis],)
    return np.ascontiguousarray(np.moveaxis(rows.reshape(moved_shape), -1, axis))


def sum_without_maxima(e: Array, shifted: Array, xp) -> Array:
    """Σ_{k: z_k < m} e_k + (n_top − 1) along the last axis, e = exp(z − m), n_top = #{k: z_k = m}.

    log Σ_k e_k = log1p of this. The max's term is exactly exp(0) = 1: adding it to the others
    before the log would round away every digit of their sum below u; log1p keeps them (Blanchard,
    Higham & Higham 2021). Ties at the max add their 1s, exactly, beyond the first.
    """
    is_top = shifted == 0
    others = xp.where(is_top, xp.zeros_like(e), e)
    n_top = xp.sum(xp.astype(is_top, e.dtype), axis=-1, keepdims=True)
    return xp.sum(others, axis=-1, keepdims=True) + (n_top - 1)


def _check(z: Array, axis: int) -> tuple[Array, int]:
    z = as_float_array(z, "z")
    return z, class_axis(z, axis, "z")


def logsumexp(z: Array, axis: int = -1, keepdims: bool = False) -> Array:
    """log(Σ_k exp(z_k)) along `axis`, computed as m + log1p(Σ_{k≠argmax} exp(z_k − m)), m = max_k z_k.

    After the shift every exponent is ≤ 0, so no term overflows; the max's term is exactly 1 and
    is kept out of the sum so that log1p sees the rest unrounded. A row whose max is not finite
    gives that max: +inf for a +inf entry, −inf for an all −inf row, NaN for a NaN entry.

    Parameters
    ----------
    z : array_like
        Logits: a NumPy array, a list, or an Array API array (a torch tensor on any device).
    axis : int, optional
        The class axis to reduce (default the last).
    keepdims : bool, optional
        Keep the reduced axis with length 1.

    Returns
    -------
    array
        `z`'s type, device and floating dtype, the shape of `z` without `axis` (or with length 1).

    Examples
    --------
    >>> float(sl.logsumexp([1000.0, 1000.0]))  # exp(1000) overflows; the result is 1000 + log 2
    1000.6931471805599
    >>> sl.logsumexp(np.log([[1.0, 2.0, 5.0]]), keepdims=True)
    array([[2.07944154]])
    """
    z, axis = _check(z, axis)
    if uses_blocked_kernels(z):
        out = blocked_logsumexp(z, axis)
        return np.expand_dims(out, axis) if keepdims else out
    xp = array_namespace(z)
    work = _widened(_class_last(z, axis, xp), xp)
    with quiet_errors():
        m = xp.max(work, axis=-1, keepdims=True)
        shifted = work - m
        rest = sum_without_maxima(xp.exp(shifted), shifted, xp)
        out = xp.where(xp.isfinite(m), xp.log1p(rest) + m, m)
    out = xp.astype(out, z.dtype, copy=False)[..., 0]
    if is_numpy_array(z):
        out = out.reshape(tuple(np.delete(z.shape, axis)))
    return xp.expand_dims(out, axis=axis) if keepdims else out


def log_softmax(z: Array, axis: int = -1) -> Array:
    """log p_i = z_i − logsumexp(z) = (z_i − m) − log1p(Σ_{k≠argmax} exp(z_k − m)), with m = max_k z_k.

    Finite for every finite input, including where p_i itself underflows to 0, and accurate for
    the dominant class, where log p is tiny.

    Parameters
    ----------
    z : array_like
        Logits: a NumPy array, a list, or an Array API array (a torch tensor on any device).
    axis : int, optional
        The class axis (default the last).

    Returns
    -------
    array
        log p, of `z`'s type, device, floating dtype and shape.

    Examples
    --------
    >>> sl.log_softmax([0.0, -800.0])  # p_2 = exp(−800) underflows; its log does not
    array([   0., -800.])
    >>> float(sl.log_softmax([0.0, -45.0, -46.0])[0])  # −log(1 + 3.9e−20): the log1p form keeps it
    -3.9155803163047745e-20
    """
    z, axis = _check(z, axis)
    if uses_blocked_kernels(z):
        return blocked_log_softmax(z, axis)
    xp = array_namespace(z)
    work = _widened(_class_last(z, axis, xp), xp)
    with quiet_errors():
        shifted = work - xp.max(work, axis=-1, keepdims=True)
        out = shifted - xp.log1p(sum_without_maxima(xp.exp(shifted), shifted, xp))
    return _class_back(xp.astype(out, z.dtype, copy=False), z, axis, xp)


def softmax(z: Array, axis: int = -1) -> Array:
    """p_i = exp(z_i) / Σ_k exp(z_k), computed as exp(z_i − m) / Σ_k exp(z_k − m) with m = max_k z_k.

    The shift changes nothing mathematically (numerator and denominator share the factor
    exp(−m)) but keeps every exponent ≤ 0, so exp cannot overflow and the denominator is ≥ 1.

    Parameters
    ----------
    z : array_like
        Logits: a NumPy array, a list, or an Array API array (a torch tensor on any device). float16
        and bfloat16 are computed in float32 and rounded once.
    axis : int, optional
        The class axis (default the last).

    Returns
    -------
    array
        p, of `z`'s type, device, floating dtype and shape; each row along `axis` sums to 1.

    Examples
    --------
    >>> sl.softmax([1.0, 2.0, 3.0])
    array([0.09003057, 0.24472847, 0.66524096])
    >>> sl.softmax(np.array([[1000.0, 0.0], [0.0, 0.0]], dtype=np.float32), axis=0)
    array([[1. , 0.5],
           [0. , 0.5]], dtype=float32)
    """
    z, axis = _check(z, axis)
    if uses_blocked_kernels(z):
        return blocked_softmax(z, axis)
    xp = array_namespace(z)
    work = _widened(_class_last(z, axis, xp), xp)
    with quiet_errors():
        e = xp.exp(work - xp.max(work, axis=-1, keepdims=True))
        out = e / xp.sum(e, axis=-1, keepdims=True)
    return _class_back(xp.astype(out, z.dtype, copy=False), z, axis, xp)


def softmax_jacobian(z: Array, axis: int = -1) -> Array:
    """J_ij = ∂p_i/∂z_j = p_i (δ_ij − p_j), i.e. J = diag(p) − p pᵀ.

    Parameters
    ----------
    z : array_like
        Logits, of any shape.
    axis : int, optional
        The class axis (default the last).

    Returns
    -------
    array
        Shape (..., K, K): the other axes of `z` in their order, then i, then j.

    Examples
    --------
    >>> sl.softmax_jacobian([0.0, 0.0])
    array([[ 0.25, -0.25],
           [-0.25,  0.25]])
    >>> sl.softmax_jacobian(np.zeros((2, 3, 4)), axis=1).shape
    (2, 4, 3, 3)
    """
    p = softmax(z, axis=axis)
    xp = array_namespace(p)
    p = xp.moveaxis(p, axis, -1)
    eye = xp.eye(p.shape[-1], dtype=p.dtype, device=device(p))
    return p[..., :, None] * eye - p[..., :, None] * p[..., None, :]


def softmax_vjp(z: Array, v: Array, axis: int = -1) -> Array:
    """Jᵀv = p ⊙ (v − ⟨p, v⟩) along `axis`, without forming the K × K Jacobian J.

    J is symmetric, so this is also Jv. Cost O(K) per row instead of O(K²).

    Parameters
    ----------
    z : array_like
        Logits.
    v : array_like
        The vector (per row) to multiply, of `z`'s shape.
    axis : int, optional
        The class axis (default the last).

    Returns
    -------
    array
        Jᵀv, of `z`'s shape.

    Examples
    --------
    >>> z, v = np.array([0.5, -1.0, 2.0]), np.array([1.0, 0.0, -1.0])
    >>> bool(np.allclose(sl.softmax_vjp(z, v), sl.softmax_jacobian(z).T @ v))
    True
    >>> sl.softmax_vjp([0.0, 0.0], [1.0, 1.0])  # a constant v changes nothing: Jᵀ1 = 0
    array([0., 0.])
    """
    p = softmax(z, axis=axis)
    v = as_float_array(v, "v")
    xp = namespace(z=p, v=v)
    if v.shape != p.shape:
        raise ValueError(f"v must have the shape of z {tuple(p.shape)}, got {tuple(v.shape)}")
    axis = class_axis(p, axis, "z")
    return p * (v - xp.sum(p * v, axis=axis, keepdims=True))
