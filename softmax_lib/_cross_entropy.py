"""Softmax cross-entropy and its gradient with respect to the logits, for any Array API array.

The logits set the namespace and device (NumPy in, NumPy out; a CUDA tensor in, a CUDA tensor
out); an array target must come from the same namespace, a Python scalar or list is placed on
the logits' device.
"""

from __future__ import annotations

import math
from typing import Any

from array_api_compat import array_namespace, device, is_array_api_obj

from ._softmax import log_softmax, softmax
from ._validation import Array, as_float_array, class_axis, namespace

__all__ = ["cross_entropy", "cross_entropy_grad", "target_distribution"]

REDUCTIONS = ("mean", "sum", "none")


def check_class_indices(target: Array, n_classes: int) -> Array:
    """Raise IndexError naming the first class index outside 0, …, n_classes − 1; return the indices as int64.

    The comparison runs in int64, not in the target's dtype: uint8 cannot hold n_classes = 300,
    and torch has no ordering for uint16/32/64. A uint64 index ≥ 2⁶³ wraps to a negative int64,
    out of range either way (the message shows the original value).
    """
    xp = array_namespace(target)
    wide = xp.astype(target, xp.int64)
    # Each check brings one boolean to the host (a device sync), never the array.
    out_of_range = (wide < 0) | (wide >= n_classes)
    if xp.any(out_of_range):
        bad = int(target[out_of_range][0])
        raise IndexError(f"target class index {bad} is out of range for {n_classes} classes")
    return wide


def check_probabilities(target: Array, axis: int) -> None:
    """Raise ValueError unless every row along `axis` is a distribution: entries ≥ 0, finite, sum 1."""
    xp = array_namespace(target)
    if xp.any(target < 0) or not xp.all(xp.isfinite(target)):
        raise ValueError("probability target has negative or non-finite entries")
    # The rows are data, rounded to the target's dtype (u = ε/2): a distribution rounded entry by
    # entry, or normalised in that dtype (a K-term sum, then one division per entry), sums to 1
    # within γ_K + u ≤ (K + 1)u (Higham 2002, §2.2, §4.2). The sum here is taken in float64,
    # which adds at most (K − 1)·2⁻⁵³ ≤ (K − 1)u. Both together are within K·ε = 2K·u.
    n_classes = target.shape[axis]
    tol = n_classes * float(xp.finfo(target.dtype).eps)
    row_sums = xp.reshape(xp.sum(xp.astype(target, xp.float64), axis=axis), (-1,))
    distance = xp.abs(row_sums - 1)
    if xp.any(distance > tol):
        worst = float(row_sums[xp.argmax(distance)])
        raise ValueError(f"probability target rows must sum to 1 (within {tol:.1e}); one sums to {worst!r}")


def target_distribution(logits: Array, target: Any, axis: int = -1) -> Array:
    """The target as one probability vector per row, y, with the logits' shape and dtype.

    `target` is either integer class indices with the logits' shape minus the class axis
    (turned into one-hot rows), or probabilities with the logits' shape whose rows sum to 1.
    """
    logits = as_float_array(logits, "logits")
    xp = array_namespace(logits)
    axis = class_axis(logits, axis, "logits")
    n_classes = logits.shape[axis]
    batch_shape = tuple(logits.shape[:axis]) + tuple(logits.shape[axis + 1 :])
    if not is_array_api_obj(target):
        # [] carries no dtype: an empty list can only be the class indices of an empty batch.
        empty_list = isinstance(target, (list, tuple)) and len(target) == 0
        target = xp.asarray(target, dtype=xp.int64 if empty_list else None, device=device(logits))
    xp = namespace(logits=logits, target=target)

    if xp.isdtype(target.dtype, "integral") and tuple(target.shape) == batch_shape:
        target = check_class_indices(target, n_classes)
        classes = xp.arange(n_classes, device=device(logits))
        classes = xp.reshape(classes, (n_classes,) + (1,) * (logits.ndim - 1 - axis))
        return xp.astype(xp.expand_dims(target, axis=axis) == classes, logits.dtype)

    if xp.isdtype(target.dtype, "real floating") and tuple(target.shape) == tuple(logits.shape):
        check_probabilities(target, axis)
        return xp.astype(target, logits.dtype, copy=False)

    raise ValueError(
        f"target of shape {tuple(target.shape)} and dtype {target.dtype} fits neither form: integer class "
        f"indices of shape {batch_shape} or floating probabilities of shape {tuple(logits.shape)}"
    )


def _reduce(per_row: Array, reduction: str) -> Array:
    xp = array_namespace(per_row)
    if reduction == "none":
        return per_row
    if reduction == "sum":
        return xp.sum(per_row)
    return xp.mean(per_row)


def _check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


def cross_entropy(logits: Array, target: Any, axis: int = -1, reduction: str = "mean") -> Array:
    """L_n = −Σ_k y_nk log p_nk with p_n = softmax(z_n); reduced over the N rows by "mean" (Σ_n L_n / N),
    "sum" or "none" (the array of L_n, the logits' shape without the class axis).

    `target` is class indices (y one-hot) or probabilities; see `target_distribution`.
    The values equal `torch.nn.functional.cross_entropy(logits, target, reduction=...)` with
    classes on `axis`. log p comes from `log_softmax`, so it stays finite where p underflows.
    """
    _check_reduction(reduction)
    y = target_distribution(logits, target, axis)
    xp = array_namespace(y)
    # 0·log 0 counts as 0 (the limit of y log y): a masked class (z_k = −inf, so log p_k = −inf)
    # that the target gives no weight adds nothing, instead of 0·(−inf) = NaN.
    log_p = log_softmax(logits, axis=axis)
    per_row = -xp.sum(y * xp.where(y > 0, log_p, xp.zeros_like(log_p)), axis=axis)
    return _reduce(per_row, reduction)


def cross_entropy_grad(logits: Array, target: Any, axis: int = -1, reduction: str = "mean") -> Array:
    """∂L/∂z = p − y for each row, divided by N for "mean" (N = number of rows).

    For "none" the loss is one number per row, each depending on its own row only, so the
    result is the stack of the per-row gradients ∂L_n/∂z_n = p_n − y_n (the gradient of "sum").
    Holds for any target distribution with Σ_k y_k = 1, not only one-hot.
    """
    _check_reduction(reduction)
    y = target_distribution(logits, target, axis)
    grad = softmax(logits, axis=axis) - y
    if reduction == "mean":
        grad = grad / max(math.prod(y.shape) // y.shape[class_axis(y, axis, "logits")], 1)
    return grad
