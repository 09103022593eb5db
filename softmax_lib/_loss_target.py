"""Checking a cross-entropy target and the loss options, for any Array API array.

The logits set the namespace and device (NumPy in, NumPy out; a CUDA tensor in, a CUDA tensor
out); an array target must come from the same namespace, a Python scalar or list is placed on
the logits' device. Index targets stay indices (`LossTarget`): no N × K one-hot is built.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from array_api_compat import array_namespace, device, is_array_api_obj

from ._validation import Array, as_float_array, class_axis, namespace

__all__ = ["LossTarget", "check_options", "check_reduction", "loss_divisors", "loss_target", "target_distribution"]

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


def _as_target(logits: Array, target: Any) -> tuple[Array, Any]:
    """`target` as an array of the logits' library and device, and that library's namespace."""
    if not is_array_api_obj(target):
        # [] carries no dtype: an empty list can only be the class indices of an empty batch.
        empty_list = isinstance(target, (list, tuple)) and len(target) == 0
        xp = array_namespace(logits)
        target = xp.asarray(target, dtype=xp.int64 if empty_list else None, device=device(logits))
    return target, namespace(logits=logits, target=target)


def target_distribution(logits: Array, target: Any, axis: int = -1) -> Array:
    """The target as one probability vector per row, y, with the logits' shape and dtype.

    Parameters
    ----------
    logits : array_like
        Logits; only their shape, dtype, array type and device are used.
    target : array_like
        Either integer class indices with the logits' shape minus the class axis (turned into
        one-hot rows), or probabilities with the logits' shape whose rows sum to 1.
    axis : int, optional
        The class axis (default the last).

    Returns
    -------
    array
        y, of the logits' type, device, dtype and shape.

    Raises
    ------
    ValueError
        A target of neither form, a class index out of range, or probabilities that are negative or
        do not sum to 1.

    Examples
    --------
    >>> import numpy as np
    >>> import softmax_lib as sl
    >>> sl.target_distribution(np.zeros((2, 3)), np.array([2, 0]))
    array([[0., 0., 1.],
           [1., 0., 0.]])
    >>> sl.target_distribution(np.zeros((1, 2)), np.array([[0.25, 0.75]]))
    array([[0.25, 0.75]])
    """
    logits = as_float_array(logits, "logits")
    xp = array_namespace(logits)
    axis = class_axis(logits, axis, "logits")
    n_classes = logits.shape[axis]
    batch_shape = tuple(logits.shape[:axis]) + tuple(logits.shape[axis + 1 :])
    target, xp = _as_target(logits, target)

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


def check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


def check_options(weight: Any, label_smoothing: float, z_loss: float, n_classes: int, like: Array) -> Array | None:
    """Check the loss options; return the class weights in the namespace, dtype and device of `like`."""
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must lie in [0, 1], got {label_smoothing!r}")
    if not (math.isfinite(z_loss) and z_loss >= 0):
        raise ValueError(f"z_loss must be a finite number ≥ 0, got {z_loss!r}")
    if weight is None:
        return None
    xp = array_namespace(like)
    if not is_array_api_obj(weight):
        weight = xp.asarray(weight, device=device(like))
    xp = array_namespace(like, weight)
    if tuple(weight.shape) != (n_classes,):
        raise ValueError(f"weight must have one entry per class, shape ({n_classes},), got {tuple(weight.shape)}")
    return xp.astype(weight, like.dtype)


class LossTarget(NamedTuple):
    """A checked target. Index form: `index` (class indices, ignored rows set to class 0), `kept`
    (False on ignored rows), `w_t` (the weight of each row's class, 0 on ignored rows). Probability
    form: `probs`. `denominator` divides the cross-entropy part for "mean", `n_kept` the z-loss part."""

    index: Array | None
    kept: Array | None
    w_t: Array | None
    probs: Array | None
    denominator: float
    n_kept: int


def loss_target(logits: Array, target: Any, axis: int, weight: Array | None, ignore_index: int) -> LossTarget:
    """Check `target` against the logits (classes on `axis`) and gather what the loss needs.

    Index targets stay indices: no N × K one-hot is built. A row whose index equals `ignore_index`
    is ignored; its index need not be a valid class (as in torch).
    """
    n_classes = logits.shape[axis]
    batch_shape = tuple(logits.shape[:axis]) + tuple(logits.shape[axis + 1 :])
    target, xp = _as_target(logits, target)

    if xp.isdtype(target.dtype, "integral") and tuple(target.shape) == batch_shape:
        # Compared in int64, not in the target's dtype (uint8 cannot hold −100 or 300 classes, and
        # torch has no ordering for uint16/32/64); the message shows the original value.
        wide = xp.astype(target, xp.int64)
        kept = wide != ignore_index
        check_class_indices(target[kept], n_classes)
        index = xp.where(kept, wide, xp.zeros_like(wide))
        n_kept = int(xp.sum(xp.astype(kept, xp.int64)))
        if weight is None:
            w_t = xp.astype(kept, logits.dtype)
            denominator = float(n_kept)
        else:
            picked = xp.reshape(xp.take(weight, xp.reshape(index, (-1,)), axis=0), batch_shape)
            w_t = xp.where(kept, picked, xp.zeros_like(picked))
            denominator = float(xp.sum(w_t))
        return LossTarget(index, kept, w_t, None, denominator, n_kept)

    if xp.isdtype(target.dtype, "real floating") and tuple(target.shape) == tuple(logits.shape):
        if ignore_index != -100:
            raise ValueError("ignore_index applies to class-index targets only (as in torch), not to probabilities")
        check_probabilities(target, axis)
        n_rows = math.prod(batch_shape)
        return LossTarget(None, None, None, xp.astype(target, logits.dtype, copy=False), float(n_rows), n_rows)

    raise ValueError(
        f"target of shape {tuple(target.shape)} and dtype {target.dtype} fits neither form: integer class "
        f"indices of shape {batch_shape} or floating probabilities of shape {tuple(logits.shape)}"
    )


def loss_divisors(tgt: LossTarget, reduction: str) -> tuple[float, float]:
    """The divisors of the cross-entropy part and of the z-loss part of L and ∂L/∂z for `reduction`."""
    if reduction != "mean":
        return 1.0, 1.0
    return tgt.denominator, float(tgt.n_kept)
