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
from numpy.typing import ArrayLike, NDArray

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
from ._cross_entropy import REDUCTIONS, check_class_indices, check_probabilities
from ._validation import as_float_array, class_axis

__all__ = ["cross_entropy_with_grad"]



def _index_target(target: np.ndarray, batch_shape: tuple[int, ...], n_classes: int) -> np.ndarray:
    if target.shape != batch_shape:
        raise ValueError(f"integer target must have shape {batch_shape} (the logits' without the class axis), got {target.shape}")
    check_class_indices(target, n_classes)
    return target.reshape(-1).astype(np.intp, copy=False)


def _probability_target(target: np.ndarray, logits: np.ndarray, axis: int) -> np.ndarray:
    if target.shape != logits.shape:
        raise ValueError(f"probability target must have the logits' shape {logits.shape}, got {target.shape}")
    check_probabilities(target, axis)
    return as_rows(target.astype(logits.dtype, copy=False), axis)


def cross_entropy_with_grad(
    logits: ArrayLike,
    target: ArrayLike,
    axis: int = -1,
    reduction: str = "mean",
    out: np.ndarray | None = None,
    overwrite_logits: bool = False,
    threads: int | None = None,
) -> tuple[NDArray[np.floating], NDArray[np.floating]]:
    """(L, ∂L/∂z) = (`cross_entropy(...)`, `cross_entropy_grad(...)`) from one pass over the logits.

    L_n = log Σ_k exp(z_nk − m_n) · Σ_k y_nk − Σ_k y_nk (z_nk − m_n), m_n = max_k z_nk, reduced by
    "mean", "sum" or "none"; the gradient is p_n − y_n, divided by N for "mean". `target` is integer
    class indices or probabilities, as for `cross_entropy`.

    The gradient is written into `out` (z's shape and dtype) if given, into the logits themselves
    if `overwrite_logits=True` (they must then be a writable float array), else into a new array.
    """
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    if out is not None and overwrite_logits:
        raise ValueError("give either out or overwrite_logits=True, not both")
    if overwrite_logits:
        if not isinstance(logits, np.ndarray) or not np.issubdtype(logits.dtype, np.floating):
            raise TypeError("overwrite_logits=True needs the logits as a floating NumPy array")
        if not logits.flags.writeable:
            raise ValueError("overwrite_logits=True, but logits is read-only")
    z = as_float_array(np.asarray(logits), "logits")
    axis = class_axis(z, axis, "logits")
    n_classes = z.shape[axis]
    batch_shape = z.shape[:axis] + z.shape[axis + 1 :]
    target = np.asarray(target)
    if np.issubdtype(target.dtype, np.integer):
        index, y_rows = _index_target(target, batch_shape, n_classes), None
    elif np.issubdtype(target.dtype, np.floating):
        index, y_rows = None, _probability_target(target, z, axis)
    else:
        raise ValueError(f"target must be integer class indices or floating probabilities, got dtype {target.dtype}")

    grad = z if overwrite_logits else check_out(out, z.shape, z.dtype)
    rows = as_rows(z, axis)
    in_place_rows = axis == z.ndim - 1 and grad.flags.c_contiguous
    grad_rows = grad.reshape(rows.shape) if in_place_rows else np.empty(rows.shape, z.dtype)
    n_rows = rows.shape[0]
    work = working_dtype(z.dtype)
    per_row = np.empty(n_rows, dtype=work)
    divide_by_rows = reduction == "mean"

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
            # Gather z_c before g, which may be the logits' own buffer, overwrites it.
            picked = np.arange(src.shape[0]), index[block]
            shifted_target = src[picked] - m[:, 0]
        np.subtract(src, m, out=g)  # g = z − m
        if index is None:
            y = y_rows[block].astype(work, copy=False)
            # Σ y ⊙ g over the classes the target weighs: 0·log 0 counts as 0, as in cross_entropy,
            # so a masked class (z_k = −inf) with y_k = 0 adds nothing instead of 0·(−inf) = NaN.
            weighted = y > 0
            y_g = scratch(g.shape, work, slot="b")
            np.multiply(y, g, out=y_g, where=weighted)
            np.copyto(y_g, 0, where=~weighted)
            y_dot_g = np.sum(y_g, axis=1)
        np.exp(g, out=g)
        # log Σ exp(g) as log1p of the sum without its largest term (exactly 1): a confident row's
        # loss is tiny, and log(1 + s₁) would round it to a multiple of u.
        rest = sum_without_top(g, np.argmax(src, axis=1))
        log_total = log1p_rest(rest)[:, 0]
        total = rest + 1
        if index is None:
            per_row[block] = log_total * np.sum(y, axis=1) - y_dot_g
        else:
            per_row[block] = log_total - shifted_target
        np.divide(g, total, out=g)  # g = p
        if index is None:
            np.subtract(g, y, out=g)
        else:
            g[picked] -= 1
        if divide_by_rows:
            np.divide(g, max(n_rows, 1), out=g)
        if g is not dst:
            dst[...] = g

    run_blocks(run, row_blocks(n_rows, n_classes * work.itemsize), rows.nbytes, threads)
    if not in_place_rows:
        moved_shape = batch_shape + (n_classes,)
        grad[...] = np.moveaxis(grad_rows.reshape(moved_shape), -1, axis)

    per_row = per_row.astype(z.dtype, copy=False)
    if reduction == "none":
        loss = per_row.reshape(batch_shape)
    elif reduction == "sum":
        loss = np.sum(per_row)
    else:
        loss = np.mean(per_row)
    return loss, grad
