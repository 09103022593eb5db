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
from typing import Any, NamedTuple

from array_api_compat import array_namespace, device, is_array_api_obj, is_numpy_array, is_torch_array

from ._softmax import log_softmax, logsumexp, softmax
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


def loss_divisors(tgt: LossTarget, reduction: str) -> tuple[float, float]:
    """The divisors of the cross-entropy part and of the z-loss part of L and ∂L/∂z for `reduction`."""
    if reduction != "mean":
        return 1.0, 1.0
    return tgt.denominator, float(tgt.n_kept)


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
    grad = _row_grads(z, tgt, axis, weight, label_smoothing, z_loss, *loss_divisors(tgt, reduction))
    return xp.astype(grad, out_dtype, copy=False)
