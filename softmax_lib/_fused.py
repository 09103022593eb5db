"""Softmax cross-entropy and its gradient for large NumPy arrays, one cache-sized block of rows at a time.

`cross_entropy`, `cross_entropy_grad` and `cross_entropy_with_grad` hand NumPy float arrays here
(`cross_entropy_with_grad` at every size, the other two from `BLOCKED_MIN_SIZE` elements on). Each
block of rows goes through

    m = max z,  g = z − m,  L = log Σ exp(g) · Σ b − Σ b ⊙ g (+ c lse²),  g = (Σ b) exp(g) / Σ exp(g) − b,

with log Σ exp(g) taken as log1p of the sum without the largest term, which is exactly 1, and b
the row's target coefficients (see `softmax_lib._cross_entropy`). Everything happens inside the
gradient buffer (for the loss alone, a per-thread block-sized scratch buffer), which is the only
array of the logits' size ever written; with `overwrite_logits=True` it is the logits' own buffer.

Two row kernels, one per kind of target (class indices, probability rows), share one driver,
`fused_cross_entropy`, which also serves `linear_cross_entropy` chunk by chunk (`_fused_rows`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._blocked import (
    as_rows,
    log1p_rest,
    quiet_errors,
    row_blocks,
    run_blocks,
    scratch,
    sum_without_top,
    working_dtype,
)
from ._loss_target import LossTarget, loss_divisors

__all__ = ["fused_cross_entropy"]


class RowTarget(NamedTuple):
    """The target of a (rows, K) array: class indices `index` (0 on ignored rows), `kept` (False on
    ignored rows) and `w_t` (the weight of each row's class, 0 on ignored rows); or, for a
    probability target, the coefficient rows `b` = w ⊙ ((1 − ε) y + ε/K)."""

    index: np.ndarray | None
    kept: np.ndarray | None
    w_t: np.ndarray | None
    b: np.ndarray | None


class LossOptions(NamedTuple):
    """Class weights (None: all 1) and their sum, smoothing ε, z-loss c, and the divisors of the
    cross-entropy part and of the z-part of the loss and gradient (1 unless reduction="mean")."""

    weight: np.ndarray | None
    w_total: float
    eps: float
    zc: float
    ce_div: float
    z_div: float


def _row_top(src: np.ndarray):
    """The position `top` of each row's maximum and the maximum m (a column): `top` is found first and m
    read there, one pass instead of max and argmax (a NaN or +inf entry is argmax's pick and np.max's value)."""
    top = np.argmax(src, axis=1)
    m = src[np.arange(src.shape[0]), top][:, None]
    return top, m


def _exp_sums(g: np.ndarray, top: np.ndarray):
    """g ← exp(g); log Σ exp(g) and Σ exp(g) per row, the log as log1p of the sum without the max's 1:
    a confident row's loss is tiny, and log(1 + s₁) would round it to a multiple of u."""
    np.exp(g, out=g)
    rest = sum_without_top(g, top)
    return log1p_rest(rest)[:, 0], rest + 1


def _z_part(m: np.ndarray, log_total: np.ndarray, opt: LossOptions, kept: np.ndarray | None):
    """c · lse² per row (0 on ignored rows), and lse."""
    lse = m[:, 0] + log_total
    zl = opt.zc * lse * lse
    return (zl if kept is None else zl * kept), lse


def _index_block(src, g, t: RowTarget, block: slice, opt: LossOptions, want_grad: bool):
    """Per-row loss parts of a block of rows with class-index targets; ∂L/∂z into g if `want_grad`."""
    n_classes, ce_div = src.shape[1], opt.ce_div
    eps, w, w_t, kept = opt.eps, opt.weight, t.w_t, t.kept[block]
    plain = w is None and eps == 0 and opt.zc == 0
    top, m = _row_top(src)
    # Gather z_t before g, which may be the logits' own buffer, overwrites it.
    picked = np.arange(src.shape[0]), t.index[block]
    shifted_target = src[picked] - m[:, 0]
    np.subtract(src, m, out=g)  # g = z − m
    if eps > 0:
        w_dot_g = np.sum(g, axis=1) if w is None else _masked_dot(g, w)
    log_total, total = _exp_sums(g, top)
    ce = log_total - shifted_target if w is None else w_t[block] * (log_total - shifted_target)
    if eps > 0:
        ce = (1 - eps) * ce + (eps / n_classes) * (log_total * opt.w_total - w_dot_g)
    some_ignored = not kept.all()
    if some_ignored:
        ce = np.where(kept, ce, 0)
    zl, lse = _z_part(m, log_total, opt, kept) if opt.zc > 0 else (None, None)
    if not want_grad:
        return ce, zl
    np.divide(g, total, out=g)  # g = p
    if plain:
        g[picked] -= w_t[block]
        if some_ignored:
            g[~kept] = 0
        if ce_div != 1:
            np.divide(g, ce_div, out=g)
        return ce, zl
    # g = ((1 − ε) w_t + (ε/K) Σw) p / D − b / D + 2c lse p / N_kept, zero on ignored rows
    k = kept.astype(g.dtype)
    p_coef = ((1 - eps) * w_t[block] + (eps / n_classes) * opt.w_total * k) / ce_div
    if opt.zc > 0:
        p_coef = p_coef + 2 * opt.zc * lse * k / opt.z_div
    g *= p_coef[:, None]
    g[picked] -= (1 - eps) * w_t[block] / ce_div
    if eps > 0:
        ones = np.ones(n_classes, g.dtype) if w is None else w
        g -= ((eps / n_classes / ce_div) * k)[:, None] * ones
    return ce, zl


def _probability_block(src, g, t: RowTarget, block: slice, opt: LossOptions, want_grad: bool):
    """Per-row loss parts of a block of rows with probability targets (coefficients b); ∂L/∂z into g."""
    ce_div = opt.ce_div
    b = t.b[block].astype(g.dtype, copy=False)
    top, m = _row_top(src)
    np.subtract(src, m, out=g)  # g = z − m
    # Σ b ⊙ g over the classes the target weighs: 0·log 0 counts as 0, as in cross_entropy,
    # so a masked class (z_k = −inf) with b_k = 0 adds nothing instead of 0·(−inf) = NaN.
    weighted = b > 0
    b_g = scratch(g.shape, g.dtype, slot="b")
    np.multiply(b, g, out=b_g, where=weighted)
    np.copyto(b_g, 0, where=~weighted)
    b_dot_g = np.sum(b_g, axis=1)
    log_total, total = _exp_sums(g, top)
    b_total = np.sum(b, axis=1)
    ce = log_total * b_total - b_dot_g
    zl, lse = _z_part(m, log_total, opt, None) if opt.zc > 0 else (None, None)
    if not want_grad:
        return ce, zl
    np.divide(g, total, out=g)  # g = p
    if opt.weight is None and opt.zc == 0:
        np.subtract(g, b, out=g)
        if ce_div != 1:
            g /= ce_div
        return ce, zl
    # g = ((Σ b) p − b) / D + 2c lse p / N (Σ b taken as 1 without weights: a target row sums to 1)
    p_coef = (b_total if opt.weight is not None else 1.0) / ce_div
    if opt.zc > 0:
        p_coef = p_coef + 2 * opt.zc * lse / opt.z_div
    g *= np.reshape(p_coef, (-1, 1)) if np.ndim(p_coef) else p_coef
    g -= b / ce_div
    return ce, zl


def _masked_dot(g: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Σ_k w_k g_k per row, with 0 · (−inf) counted as 0 for a class of weight 0."""
    if np.all(w > 0):
        return g @ w
    return g[:, w > 0] @ w[w > 0]


def _fused_rows(rows, grad_rows, target: RowTarget, opt: LossOptions, threads=None):
    """The driver: per-row cross-entropy and z-loss parts of the (rows, K) array `rows` as two vectors
    (the second None when c = 0), and ∂L/∂z into `grad_rows` (None: the loss alone), block by block."""
    n_rows, n_classes = rows.shape
    work = working_dtype(rows.dtype)
    ce_rows = np.empty(n_rows, dtype=work)
    zl_rows = np.zeros(n_rows, dtype=work) if opt.zc > 0 else None
    kernel = _probability_block if target.index is None else _index_block

    def run(block: slice) -> None:
        src = rows[block]
        dst = None if grad_rows is None else grad_rows[block]
        g = dst if dst is not None and dst.dtype == work else scratch(src.shape, work)
        if src.dtype != work:
            src = src.astype(work)
        # A row with a +inf or NaN entry, or only −inf entries, has z − m = NaN: its loss and gradient are NaN.
        with quiet_errors():  # per thread: NumPy's error state does not cross into the pool's threads
            ce_rows[block], zl = kernel(src, g, target, block, opt, dst is not None)
        if zl is not None:
            zl_rows[block] = zl
        if dst is not None and g is not dst:
            dst[...] = g

    run_blocks(run, row_blocks(n_rows, n_classes * work.itemsize), rows.nbytes, threads)
    return ce_rows, zl_rows


def row_target(z: np.ndarray, axis: int, tgt: LossTarget, weight, eps: float) -> RowTarget:
    """The checked target of logits z (classes on `axis`) as the row kernels take it."""
    n_classes = z.shape[axis]
    work = working_dtype(z.dtype)
    if tgt.index is None:
        b = tgt.probs if eps == 0 else (1 - eps) * tgt.probs + eps / n_classes
        if weight is not None:
            b = b * np.reshape(weight, (n_classes,) + (1,) * (z.ndim - 1 - axis))
        return RowTarget(None, None, None, as_rows(b, axis))
    index = tgt.index.reshape(-1).astype(np.intp, copy=False)
    return RowTarget(index, tgt.kept.reshape(-1), tgt.w_t.reshape(-1).astype(work), None)


def loss_options(n_classes: int, weight, eps: float, zc: float, ce_div: float, z_div: float, work) -> LossOptions:
    w = None if weight is None else np.asarray(weight).astype(work)
    w_total = n_classes if w is None else float(np.sum(w))
    # An empty "mean" (every row ignored) divides by 0: NaN, as in torch.
    return LossOptions(w, w_total, eps, zc, ce_div or np.nan, z_div or np.nan)


def fused_cross_entropy(z, axis, tgt: LossTarget, weight, eps, zc, reduction, grad=None, threads=None):
    """(L, ∂L/∂z) of the checked NumPy logits z and target `tgt`, with ∂L/∂z written into `grad`
    (z's shape and dtype; it may be z itself) or not computed if `grad` is None (then None)."""
    n_classes = z.shape[axis]
    batch_shape = z.shape[:axis] + z.shape[axis + 1 :]
    work = working_dtype(z.dtype)
    ce_div, z_div = loss_divisors(tgt, reduction)
    opt = loss_options(n_classes, weight, eps, zc, ce_div, z_div, work)
    rows = as_rows(z, axis)
    grad_rows = None
    if grad is not None:
        in_place_rows = axis == z.ndim - 1 and grad.flags.c_contiguous
        grad_rows = grad.reshape(rows.shape) if in_place_rows else np.empty(rows.shape, z.dtype)
    ce_rows, zl_rows = _fused_rows(rows, grad_rows, row_target(z, axis, tgt, opt.weight, eps), opt, threads)
    if grad is not None and not in_place_rows:
        grad[...] = np.moveaxis(grad_rows.reshape(batch_shape + (n_classes,)), -1, axis)
    ce_rows = ce_rows.astype(z.dtype, copy=False)
    zl_rows = None if zl_rows is None else zl_rows.astype(z.dtype, copy=False)
    if reduction == "none":
        loss = (ce_rows if zl_rows is None else ce_rows + zl_rows).reshape(batch_shape)
    elif reduction == "sum":
        loss = np.sum(ce_rows) if zl_rows is None else np.sum(ce_rows) + np.sum(zl_rows)
    else:
        plain = weight is None and tgt.n_kept == ce_rows.size
        loss = np.mean(ce_rows) if plain else _divided(np.sum(ce_rows), ce_div)
        if zl_rows is not None:
            loss = loss + _divided(np.sum(zl_rows), z_div)
    return loss, grad


def _divided(total, divisor: float):
    return total / divisor if divisor else total * np.nan
