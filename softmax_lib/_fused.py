"""Softmax cross-entropy and its gradient in one pass over the logits, with one output buffer.

Training needs both L and ∂L/∂z = p − y. Computed separately (`cross_entropy`, then
`cross_entropy_grad`) the softmax runs twice and several full-size temporaries are allocated.
Here each cache-sized block of rows goes through

    m = max z,  g = z − m,  L = log Σ exp(g) · Σ y − Σ y ⊙ g,  g = exp(g) / Σ exp(g) − y,

with log Σ exp(g) taken as log1p of the sum without the largest term, which is exactly 1,

entirely inside the gradient buffer, which is the only array of the logits' size ever written
(with `overwrite_logits=True` it is the logits' own buffer, and nothing of that size is allocated).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ._blocked import (
    as_rows,
    check_out,
    log1p_rest,
    quiet_errors,
    row_blocks,
    row_max,
    run_blocks,
    scratch,
    sum_without_top,
    working_dtype,
)
from ._cross_entropy import (
    check_options,
    check_reduction,
    cross_entropy,
    cross_entropy_grad,
    loss_divisors,
    loss_target,
)
from ._validation import as_numpy_float_array, class_axis

__all__ = ["cross_entropy_with_grad"]


def _fused_rows(rows, grad_rows, index, kept, w_t, b_rows, weight, eps, zc, ce_div, z_div, threads):
    """Per-row cross-entropy and z-loss parts into two vectors, ∂L/∂z into grad_rows, one block of rows at a time.

    index/kept/w_t (class-index target, each of length N) or b_rows (the coefficients b of a
    probability target, N × K) — see `softmax_lib._cross_entropy` for the formulas.
    """
    n_rows, n_classes = rows.shape
    work = working_dtype(rows.dtype)
    ce_rows = np.empty(n_rows, dtype=work)
    zl_rows = np.zeros(n_rows, dtype=work)
    plain = weight is None and eps == 0 and zc == 0
    w = None if weight is None else weight.astype(work)
    w_total = n_classes if w is None else float(np.sum(w))
    some_ignored = kept is not None and not kept.all()

    def run(block: slice) -> None:
        # A row with a +inf or NaN entry, or only −inf entries, has z − m = NaN: its loss and gradient are NaN.
        with quiet_errors():
            run_rows(block)

    def run_rows(block: slice) -> None:
        src, dst = rows[block], grad_rows[block]
        g = dst if work == dst.dtype else scratch(src.shape, work)
        if work != src.dtype:
            src = src.astype(work)
        m = row_max(src)
        if index is not None:
            # Gather z_t before g, which may be the logits' own buffer, overwrites it.
            picked = np.arange(src.shape[0]), index[block]
            shifted_target = src[picked] - m[:, 0]
        np.subtract(src, m, out=g)  # g = z − m
        if index is None:
            b = b_rows[block].astype(work, copy=False)
            # Σ b ⊙ g over the classes the target weighs: 0·log 0 counts as 0, as in cross_entropy,
            # so a masked class (z_k = −inf) with b_k = 0 adds nothing instead of 0·(−inf) = NaN.
            weighted = b > 0
            b_g = scratch(g.shape, work, slot="b")
            np.multiply(b, g, out=b_g, where=weighted)
            np.copyto(b_g, 0, where=~weighted)
            b_dot_g = np.sum(b_g, axis=1)
        elif eps > 0:
            w_dot_g = np.sum(g, axis=1) if w is None else _masked_dot(g, w)
        np.exp(g, out=g)
        # log Σ exp(g) as log1p of the sum without its largest term (exactly 1): a confident row's
        # loss is tiny, and log(1 + s₁) would round it to a multiple of u.
        rest = sum_without_top(g, np.argmax(src, axis=1))
        log_total = log1p_rest(rest)[:, 0]
        total = rest + 1
        if index is None:
            b_total = np.sum(b, axis=1)
            ce = log_total * b_total - b_dot_g
            k = None
        else:
            k = kept[block].astype(work)
            ce = log_total - shifted_target if plain else w_t[block] * (log_total - shifted_target)
            if eps > 0:
                ce = (1 - eps) * ce + (eps / n_classes) * (log_total * w_total - w_dot_g)
            if some_ignored:
                ce = np.where(kept[block], ce, 0)
        ce_rows[block] = ce
        if zc > 0:
            lse = m[:, 0] + log_total
            zl_rows[block] = zc * lse * lse if k is None else zc * lse * lse * k
        np.divide(g, total, out=g)  # g = p
        if plain:
            if index is None:
                np.subtract(g, b, out=g)
            else:
                g[picked] -= w_t[block]
            if some_ignored:
                g[~kept[block]] = 0
            if ce_div != 1:
                np.divide(g, ce_div, out=g)
        else:
            # g = ((Σ b) p − b) / D + 2c lse p / N_kept
            if index is None:
                p_coef = (b_total if w is not None else 1.0) / ce_div
            else:
                p_coef = ((1 - eps) * w_t[block] + (eps / n_classes) * w_total * k) / ce_div
            if zc > 0:
                p_coef = p_coef + 2 * zc * lse * (1.0 if k is None else k) / z_div
            g *= np.reshape(p_coef, (-1, 1)) if np.ndim(p_coef) else p_coef
            if index is None:
                g -= b / ce_div
            else:
                g[picked] -= (1 - eps) * w_t[block] / ce_div
                if eps > 0:
                    ones = np.ones(n_classes, work) if w is None else w
                    g -= ((eps / n_classes / ce_div) * k)[:, None] * ones
        if g is not dst:
            dst[...] = g

    run_blocks(run, row_blocks(n_rows, n_classes * work.itemsize), rows.nbytes, threads)
    return ce_rows, zl_rows


def _masked_dot(g: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Σ_k w_k g_k per row, with 0 · (−inf) counted as 0 for a class of weight 0."""
    if np.all(w > 0):
        return g @ w
    return g[:, w > 0] @ w[w > 0]


def cross_entropy_with_grad(
    logits: ArrayLike,
    target: ArrayLike,
    axis: int = -1,
    reduction: str = "mean",
    out: np.ndarray | None = None,
    overwrite_logits: bool = False,
    threads: int | None = None,
    *,
    weight: ArrayLike | None = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    z_loss: float = 0.0,
):
    """(L, ∂L/∂z) = (`cross_entropy(...)`, `cross_entropy_grad(...)`) from one pass over the logits.

    The options (weight, ignore_index, label_smoothing, z_loss) and the formulas are those of
    `cross_entropy` and `cross_entropy_grad`. On NumPy each cache-sized block of rows goes through
    m = max z, g = z − m, L = log Σ exp(g) · Σ b − Σ b ⊙ g (+ c lse²), g = (Σ b) exp(g) / Σ exp(g) − b,
    entirely inside the gradient buffer. The gradient is written into `out` (z's shape and dtype)
    if given, into the logits themselves if `overwrite_logits=True` (they must then be a writable
    float array), else into a new array.

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
    n_classes = z.shape[axis]
    batch_shape = z.shape[:axis] + z.shape[axis + 1 :]
    target = np.asarray(target)
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
    work = working_dtype(z.dtype)
    w = check_options(weight, label_smoothing, z_loss, n_classes, np.empty(0, work))
    tgt = loss_target(z, target, axis, w, ignore_index)
    ce_div, z_div = loss_divisors(tgt, reduction)
    if tgt.index is None:
        b = tgt.probs if label_smoothing == 0 else (1 - label_smoothing) * tgt.probs + label_smoothing / n_classes
        if w is not None:
            b = b * np.reshape(w, (n_classes,) + (1,) * (z.ndim - 1 - axis))
        index = kept = w_t = None
        b_rows = as_rows(b, axis)
    else:
        index = tgt.index.reshape(-1).astype(np.intp, copy=False)
        kept = tgt.kept.reshape(-1)
        w_t = tgt.w_t.reshape(-1).astype(work)
        b_rows = None

    grad = z if overwrite_logits else check_out(out, z.shape, z.dtype)
    rows = as_rows(z, axis)
    in_place_rows = axis == z.ndim - 1 and grad.flags.c_contiguous
    grad_rows = grad.reshape(rows.shape) if in_place_rows else np.empty(rows.shape, z.dtype)
    ce_rows, zl_rows = _fused_rows(
        rows,
        grad_rows,
        index,
        kept,
        w_t,
        b_rows,
        w,
        label_smoothing,
        z_loss,
        ce_div if ce_div else np.nan,
        z_div if z_div else np.nan,
        threads,
    )
    if not in_place_rows:
        moved_shape = batch_shape + (n_classes,)
        grad[...] = np.moveaxis(grad_rows.reshape(moved_shape), -1, axis)

    ce_rows = ce_rows.astype(z.dtype, copy=False)
    zl_rows = zl_rows.astype(z.dtype, copy=False)
    if reduction == "none":
        loss = (ce_rows + zl_rows if z_loss > 0 else ce_rows).reshape(batch_shape)
    elif reduction == "sum":
        loss = np.sum(ce_rows) + np.sum(zl_rows) if z_loss > 0 else np.sum(ce_rows)
    else:
        plain = w is None and tgt.n_kept == ce_rows.size
        loss = np.mean(ce_rows) if plain else _divided(np.sum(ce_rows), ce_div)
        if z_loss > 0:
            loss = loss + _divided(np.sum(zl_rows), z_div)
    return loss, grad


def _divided(total, divisor: float):
    return total / divisor if divisor else total * np.nan
