"""Softmax cross-entropy and its gradient with respect to the logits, for any Array API array.

The logits set the namespace and device (NumPy in, NumPy out; a CUDA tensor in, a CUDA tensor
out); an array target must come from the same namespace, a Python scalar or list is placed on
the logits' device.

The loss options follow `torch.nn.functional.cross_entropy` (weight, ignore_index,
label_smoothing, reduction), plus z_loss (PaLM's auxiliary loss c · logsumexp(z)²). Every row's
loss has one form, for a row of coefficients b_n (the "target weights"):

    L_n = Σ_k b_nk (lse_n − z_nk) + c · lse_n²,   lse_n = log Σ_k exp(z_nk),
    ∂L_n/∂z_n = (Σ_k b_nk) p_n − b_n + 2c · lse_n · p_n,

with b_n = w ⊙ ((1 − ε) y_n + ε/K) for probability targets y_n, and
b_n = (1 − ε) w_t e_t + (ε/K) w for a class index t (b_n = 0 and c-term 0 for an ignored row).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from array_api_compat import array_namespace, device, is_numpy_array, is_torch_array

from ._blocked import check_out, working_dtype
from ._fused import fused_cross_entropy
from ._loss_target import LossTarget, loss_divisors
from ._loss_target import check_class_indices as check_class_indices  # re-exported: imported from here
from ._loss_target import check_options as check_options
from ._loss_target import check_reduction as check_reduction
from ._loss_target import loss_target as loss_target
from ._loss_target import target_distribution as target_distribution
from ._softmax import log_softmax, logsumexp, softmax, uses_blocked_kernels
from ._validation import Array, as_float_array, as_numpy_float_array, class_axis

__all__ = ["cross_entropy", "cross_entropy_grad", "cross_entropy_with_grad", "target_distribution"]


def _along(v: Array, ndim: int, axis: int, xp) -> Array:
    """A (K,) vector shaped to broadcast along the class axis of an ndim-dimensional array."""
    return xp.reshape(v, (v.shape[0],) + (1,) * (ndim - 1 - axis))


def _smoothed(tgt: LossTarget, weight: Array | None, eps: float, n_classes: int, ndim: int, axis: int, xp) -> Array:
    """b = w ⊙ ((1 − ε) y + ε/K) for a probability target."""
    b = tgt.probs if eps == 0 else (1 - eps) * tgt.probs + eps / n_classes
    return b if weight is None else b * _along(weight, ndim, axis, xp)


def _masked_sum(coef: Array, log_p: Array, axis: int, xp) -> Array:
    """Σ_k coef_k log p_k, with 0 · log 0 = 0: a masked class (z_k = −inf) that has no weight adds
    nothing, instead of 0 · (−inf) = NaN (torch gives NaN there)."""
    return xp.sum(coef * xp.where(coef > 0, log_p, xp.zeros_like(log_p)), axis=axis)


def _row_losses(z: Array, tgt: LossTarget, axis: int, weight: Array | None, eps: float, zc: float):
    """The per-row cross-entropy part and z-loss part (None when c = 0), each of the batch shape."""
    xp = array_namespace(z)
    n_classes = z.shape[axis]
    log_p = log_softmax(z, axis=axis)
    if tgt.index is None:
        ce = -_masked_sum(_smoothed(tgt, weight, eps, n_classes, z.ndim, axis, xp), log_p, axis, xp)
        kept = None
    else:
        kept = tgt.kept
        picked = xp.squeeze(xp.take_along_axis(log_p, xp.expand_dims(tgt.index, axis=axis), axis=axis), axis=axis)
        ce = -picked if weight is None else -(tgt.w_t * picked)
        if eps > 0:
            w = xp.ones(n_classes, dtype=z.dtype, device=device(z)) if weight is None else weight
            smooth = -_masked_sum(_along(w, z.ndim, axis, xp), log_p, axis, xp)
            ce = (1 - eps) * ce + (eps / n_classes) * smooth
        ce = xp.where(kept, ce, xp.zeros_like(ce))
    if zc == 0:
        return ce, None
    lse = logsumexp(z, axis=axis)
    zl = zc * lse * lse
    return ce, zl if kept is None else xp.where(kept, zl, xp.zeros_like(zl))


def _subtract_at_target(grad: Array, index: Array, values: Array, axis: int) -> Array:
    """grad[…, index, …] −= values along `axis`, one entry per row, without building a one-hot."""
    xp = array_namespace(grad)
    idx = xp.expand_dims(index, axis=axis)
    if is_torch_array(grad):
        return grad.scatter_add_(axis, idx.long(), -xp.expand_dims(values, axis=axis))
    if is_numpy_array(grad):
        import numpy as np

        at = np.take_along_axis(grad, idx, axis=axis) - np.expand_dims(values, axis)
        np.put_along_axis(grad, idx, at, axis=axis)
        return grad
    classes = _along(xp.arange(grad.shape[axis], device=device(grad)), grad.ndim, axis, xp)
    return grad - xp.where(idx == classes, xp.expand_dims(values, axis=axis), xp.zeros_like(grad))


def _mean_of(total: Array, denominator: float) -> Array:
    # torch divides by the (weighted) count of kept rows; 0/0 gives NaN when every row is ignored.
    return total / denominator if denominator != 0 else total * math.nan


def _row_grads(
    z: Array,
    tgt: LossTarget,
    axis: int,
    weight: Array | None,
    eps: float,
    zc: float,
    ce_divisor: float,
    z_divisor: float,
) -> Array:
    """((Σ_k b_k) p − b) / ce_divisor + 2c · lse · p / z_divisor for every row (see the module docstring).

    Without weights Σ_k b_k is taken as 1 (a kept row's target sums to 1), so the plain case is
    p − y exactly as before.
    """
    xp = array_namespace(z)
    n_classes = z.shape[axis]
    p = softmax(z, axis=axis)
    if tgt.index is None:
        b = _smoothed(tgt, weight, eps, n_classes, z.ndim, axis, xp)
        grad = p - b if weight is None else xp.sum(b, axis=axis, keepdims=True) * p - b
        zcoef = None
    else:
        w_total = n_classes if weight is None else xp.sum(weight)
        kept = xp.astype(tgt.kept, z.dtype)
        coef = tgt.w_t if eps == 0 else (1 - eps) * tgt.w_t + (eps / n_classes) * w_total * kept
        every_row_kept = tgt.n_kept == math.prod(tgt.index.shape)
        # The plain case needs no scaling pass: p is a fresh array, and the −1 goes in place.
        plain = weight is None and eps == 0 and zc == 0 and every_row_kept
        grad = p if plain else p * xp.expand_dims(coef, axis=axis)
        grad = _subtract_at_target(grad, tgt.index, tgt.w_t if eps == 0 else (1 - eps) * tgt.w_t, axis)
        if eps > 0:
            w = xp.ones(n_classes, dtype=z.dtype, device=device(z)) if weight is None else weight
            grad = grad - (eps / n_classes) * _along(w, z.ndim, axis, xp) * xp.expand_dims(kept, axis=axis)
        zcoef = kept
    if ce_divisor != 1:
        grad = _mean_of(grad, ce_divisor)
    if zc > 0:
        lse = _mean_of(logsumexp(z, axis=axis) * (2 * zc), z_divisor)
        if zcoef is not None:
            lse = lse * zcoef
        grad = grad + xp.expand_dims(lse, axis=axis) * p
    return grad


def _working(logits: Any, axis: int):
    """The logits as floats (half types widened to float32, as torch accumulates them), the axis, the caller's dtype."""
    z = as_float_array(logits, "logits")
    axis = class_axis(z, axis, "logits")
    xp = array_namespace(z)
    out_dtype = z.dtype
    if xp.finfo(z.dtype).bits < 32:
        z = xp.astype(z, xp.float32)
    return z, axis, out_dtype


def cross_entropy(
    logits: Array,
    target: Any,
    axis: int = -1,
    reduction: str = "mean",
    *,
    weight: Any = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    z_loss: float = 0.0,
) -> Array:
    """Softmax cross-entropy with torch's options, plus the z-loss; values equal
    ``torch.nn.functional.cross_entropy(logits, target, weight, ignore_index=…, reduction=…,
    label_smoothing=…)`` (classes on `axis`) when ``z_loss=0``.

    With lse_n = log Σ_k exp(z_nk), log p_nk = z_nk − lse_n, K classes, class weights w (all 1 if
    None), smoothing ε and z-loss coefficient c, the loss of row n is

    - class index t_n: L_n = (1 − ε) w_t (−log p_nt) + (ε/K) Σ_k w_k (−log p_nk) + c lse_n²,
      and L_n = 0 if t_n = ignore_index (that index need not be a valid class);
    - probabilities y_n: L_n = −Σ_k w_k ((1 − ε) y_nk + ε/K) log p_nk + c lse_n² (ignore_index must
      stay −100, as torch requires); a class with zero coefficient adds 0, also where log p = −inf.

    "none" returns the L_n (the logits' shape without the class axis), "sum" their sum, "mean"

        Σ_n CE_n / D + Σ_n c lse_n² / N_kept,

    where CE_n is L_n without its z-term, N_kept is the number of rows not ignored and D = Σ_n w_t
    over the rows not ignored for index targets (torch's weighted mean: the smoothing term too is
    divided by the weights of the targets, not of the classes — pytorch#104776) but D = N, the
    number of rows, for probability targets even with weights (torch's rule). All rows ignored:
    "mean" is NaN, as in torch. The z-term is unweighted (PaLM; Liger Kernel's lse_square_scale).

    Parameters
    ----------
    logits : array, classes on `axis`.
    target : integer class indices (the logits' shape without `axis`) or probabilities (the
        logits' shape, rows summing to 1). A Python scalar or list is placed on the logits' device.
    axis : int, the class axis.
    reduction : "mean", "sum" or "none".
    weight : array of shape (K,), optional, one weight per class.
    ignore_index : int, rows with this class index contribute nothing (index targets only).
    label_smoothing : float in [0, 1].
    z_loss : float ≥ 0, the coefficient c of lse².

    Returns
    -------
    array of the logits' dtype (float16/bfloat16 are computed in float32 and rounded once).

    Examples
    --------
    >>> import numpy as np
    >>> float(cross_entropy(np.array([[0.0, 0.0]]), np.array([1])))  # log 2
    0.6931471805599453
    """
    check_reduction(reduction)
    z, axis, out_dtype = _working(logits, axis)
    xp = array_namespace(z)
    weight = check_options(weight, label_smoothing, z_loss, z.shape[axis], z)
    tgt = loss_target(z, target, axis, weight, ignore_index)
    if uses_blocked_kernels(z):
        return fused_cross_entropy(z, axis, tgt, weight, label_smoothing, z_loss, reduction)[0]
    ce, zl = _row_losses(z, tgt, axis, weight, label_smoothing, z_loss)
    if reduction == "none":
        loss = ce if zl is None else ce + zl
    elif reduction == "sum":
        loss = xp.sum(ce) if zl is None else xp.sum(ce) + xp.sum(zl)
    else:
        plain = weight is None and tgt.n_kept == math.prod(ce.shape)
        loss = xp.mean(ce) if plain else _mean_of(xp.sum(ce), tgt.denominator)
        if zl is not None:
            loss = loss + _mean_of(xp.sum(zl), tgt.n_kept)
    return xp.astype(loss, out_dtype, copy=False)


def cross_entropy_grad(
    logits: Array,
    target: Any,
    axis: int = -1,
    reduction: str = "mean",
    *,
    weight: Any = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    z_loss: float = 0.0,
) -> Array:
    """∂L/∂z for `cross_entropy` with the same arguments: for each row

        ∂L_n/∂z_n = (Σ_k b_nk) p_n − b_n + 2c · lse_n · p_n,

    b_n = (1 − ε) w_t e_t + (ε/K) w for a class index t (b_n = 0 and no z-term on ignored rows),
    b_n = w ⊙ ((1 − ε) y_n + ε/K) for probabilities (Σ_k b_nk taken as 1 without weights: the
    target rows sum to 1). "mean" divides the first two terms by D and the z-term by N_kept (see
    `cross_entropy`); "none" gives the stacked per-row gradients (those of "sum"). Without options
    this is p − y, divided by N for "mean".

    Parameters
    ----------
    As for `cross_entropy`.

    Returns
    -------
    array of the logits' shape and dtype.

    Examples
    --------
    >>> import numpy as np
    >>> cross_entropy_grad(np.array([[0.0, 0.0]]), np.array([1])).tolist()
    [[0.5, -0.5]]
    """
    check_reduction(reduction)
    z, axis, out_dtype = _working(logits, axis)
    xp = array_namespace(z)
    weight = check_options(weight, label_smoothing, z_loss, z.shape[axis], z)
    tgt = loss_target(z, target, axis, weight, ignore_index)
    if uses_blocked_kernels(z):
        grad = np.empty(z.shape, z.dtype)
        return fused_cross_entropy(z, axis, tgt, weight, label_smoothing, z_loss, reduction, grad)[1]
    grad = _row_grads(z, tgt, axis, weight, label_smoothing, z_loss, *loss_divisors(tgt, reduction))
    return xp.astype(grad, out_dtype, copy=False)


def cross_entropy_with_grad(
    logits: Any,
    target: Any,
    axis: int = -1,
    reduction: str = "mean",
    out: np.ndarray | None = None,
    overwrite_logits: bool = False,
    threads: int | None = None,
    *,
    weight: Any = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    z_loss: float = 0.0,
):
    """(L, ∂L/∂z) = (`cross_entropy(...)`, `cross_entropy_grad(...)`) from one pass over the logits.

    The options (weight, ignore_index, label_smoothing, z_loss) and the formulas are those of
    `cross_entropy` and `cross_entropy_grad`. On NumPy each cache-sized block of rows goes through
    m = max z, g = z − m, L = log Σ exp(g) · Σ b − Σ b ⊙ g (+ c lse²), g = (Σ b) exp(g) / Σ exp(g) − b,
    entirely inside the gradient buffer (`softmax_lib._fused`). The gradient is written into `out`
    (z's shape and dtype) if given, into the logits themselves if `overwrite_logits=True` (they
    must then be a writable float array), else into a new array.

    A torch tensor (CPU or CUDA; half types computed in float32) goes through the Array API path
    and comes back as tensors of its dtype and device; `out`, `overwrite_logits` and `threads`
    are NumPy only.

    Parameters
    ----------
    logits : array_like or torch.Tensor
        Logits, with the classes along `axis`.
    target : array_like
        Class indices (the logits' shape without `axis`) or probabilities (the logits' shape).
    axis : int, optional
        The class axis (default the last).
    reduction : {"mean", "sum", "none"}, optional
        As for `cross_entropy`.
    out : numpy.ndarray, optional
        A buffer of the logits' shape and dtype for the gradient.
    overwrite_logits : bool, optional
        Write the gradient over the logits (NumPy, writable, floating).
    threads : int, optional
        Threads for the blocks (default: all cores for inputs of 4 MiB or more).
    weight, ignore_index, label_smoothing, z_loss
        As for `cross_entropy`.

    Returns
    -------
    loss : array
        As `cross_entropy` returns it.
    grad : array
        ∂L/∂z, of the logits' shape and dtype: `out`, the logits themselves, or a new array.

    Examples
    --------
    >>> import numpy as np
    >>> loss, grad = cross_entropy_with_grad(np.array([[0.0, 0.0]]), np.array([1]))
    >>> float(loss), grad.tolist()
    (0.6931471805599453, [[0.5, -0.5]])
    """
    check_reduction(reduction)
    options = dict(weight=weight, ignore_index=ignore_index, label_smoothing=label_smoothing, z_loss=z_loss)
    if not isinstance(logits, (np.ndarray, list, tuple, float, int)):
        if out is not None or overwrite_logits:
            raise TypeError("out and overwrite_logits need NumPy logits")
        return (
            cross_entropy(logits, target, axis, reduction, **options),
            cross_entropy_grad(logits, target, axis, reduction, **options),
        )
    if out is not None and overwrite_logits:
        raise ValueError("give either out or overwrite_logits=True, not both")
    if overwrite_logits:
        if not isinstance(logits, np.ndarray) or not np.issubdtype(logits.dtype, np.floating):
            raise TypeError("overwrite_logits=True needs the logits as a floating NumPy array")
        if not logits.flags.writeable:
            raise ValueError("overwrite_logits=True, but logits is read-only")
    z = as_numpy_float_array(logits, "logits")
    axis = class_axis(z, axis, "logits")
    _check_target_form(z, np.asarray(target), axis)
    w = check_options(weight, label_smoothing, z_loss, z.shape[axis], np.empty(0, working_dtype(z.dtype)))
    tgt = loss_target(z, target, axis, w, ignore_index)
    grad = z if overwrite_logits else check_out(out, z.shape, z.dtype)
    return fused_cross_entropy(z, axis, tgt, w, label_smoothing, z_loss, reduction, grad, threads)


def _check_target_form(z: np.ndarray, target: np.ndarray, axis: int) -> None:
    """Raise ValueError unless `target` holds integer class indices of the batch shape or probabilities of z's shape."""
    batch_shape = z.shape[:axis] + z.shape[axis + 1 :]
    if np.issubdtype(target.dtype, np.integer):
        if target.shape != batch_shape:
            raise ValueError(
                f"integer target must have shape {batch_shape} (the logits' without the class axis), got {target.shape}"
            )
    elif np.issubdtype(target.dtype, np.floating):
        if target.shape != z.shape:
            raise ValueError(f"probability target must have the logits' shape {z.shape}, got {target.shape}")
    else:
        raise ValueError(f"target must be integer class indices or floating probabilities, got dtype {target.dtype}")
