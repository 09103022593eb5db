"""Linear layer + softmax cross-entropy, chunked over rows so the N × V logits never exist whole.

For hidden states h (N × D), a weight W (V × D, as in torch.nn.Linear) and a bias b (V), the loss
is that of `cross_entropy(h Wᵀ + b, target, ...)`. With G = ∂L/∂Z (N × V, from `cross_entropy_grad`):

    ∂L/∂h = G W,   ∂L/∂W = Gᵀ h,   ∂L/∂b = Σ_n G_n,

so for the plain mean loss ∂L/∂h = (P − Y) W / N and ∂L/∂W = (P − Y)ᵀ h / N. Each chunk of rows
needs only its own logits: the softmax of a row is complete within the chunk, so its G is final
and goes straight into the three products. Nothing is kept for the backward pass but the
gradients themselves (as in Liger Kernel's fused linear cross-entropy); backward multiplies them
by the incoming scalar. Only reduction="none" (a vector loss) recomputes the chunks in backward.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from array_api_compat import is_torch_array

from ._blocked import working_dtype
from ._fused import RowTarget, _fused_rows, loss_options
from ._loss_target import LossTarget, check_options, check_reduction, loss_target

__all__ = ["linear_cross_entropy", "linear_cross_entropy_with_grad"]

# A chunk's logits hold at most this many numbers (128 MiB in float32), and about as many as the
# hidden states (N · D, Liger Kernel's rule), but at least MIN_CHUNK rows: each chunk's three
# products stream all of W (V × D) through memory, so few, tall chunks keep them compute-bound
# (64-row chunks took 1.8× torch's time at N = 1024, D = 1024, V = 32 000; 256-row ones about 1×).
CHUNK_ELEMENTS = 2**25
MIN_CHUNK = 256


def default_chunk_size(n_rows: int, n_classes: int, n_features: int = 0) -> int:
    rows = max(MIN_CHUNK, -(-n_rows * n_features // max(n_classes, 1)))
    return max(1, min(n_rows, rows, CHUNK_ELEMENTS // max(n_classes, 1)))


def _check_shapes(hidden, weight, target, bias) -> None:
    if hidden.ndim != 2:
        raise ValueError(f"hidden must be 2-D (N, D), got shape {tuple(hidden.shape)}")
    if weight.ndim != 2 or weight.shape[1] != hidden.shape[1]:
        raise ValueError(
            f"weight must have shape (V, {hidden.shape[1]}) like torch.nn.Linear, got {tuple(weight.shape)}"
        )
    if weight.shape[0] == 0:
        raise ValueError("weight has no classes (V = 0)")
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise ValueError(f"bias must have shape ({weight.shape[0]},), got {tuple(bias.shape)}")
    if tuple(target.shape) != (hidden.shape[0],):
        raise ValueError(
            f"target must have shape ({hidden.shape[0]},), one class index per row, got {tuple(target.shape)}"
        )


def _target(hidden, weight, target, class_weight, ignore_index, work_dtype):
    """The checked index target; the logits' shape comes from a zero-stride stand-in (no N × V memory)."""
    n_rows, n_classes = hidden.shape[0], weight.shape[0]
    if is_torch_array(hidden):
        import torch

        target = torch.as_tensor(target, device=hidden.device)
        like = torch.empty((), dtype=work_dtype, device=hidden.device).expand(n_rows, n_classes)
        if target.is_floating_point():
            raise ValueError("linear_cross_entropy takes integer class indices as target, not probabilities")
    else:
        target = np.asarray(target)
        like = np.broadcast_to(np.empty((), dtype=work_dtype), (n_rows, n_classes))
        if not np.issubdtype(target.dtype, np.integer):
            raise ValueError("linear_cross_entropy takes integer class indices as target, not probabilities")
    return loss_target(like, target, 1, class_weight, ignore_index)


def _rows_of(tgt: LossTarget, rows: slice) -> LossTarget:
    return LossTarget(tgt.index[rows], tgt.kept[rows], tgt.w_t[rows], None, tgt.denominator, tgt.n_kept)


def _divisors(tgt: LossTarget, reduction: str) -> tuple[float, float]:
    if reduction != "mean":
        return 1.0, 1.0
    return tgt.denominator or math.nan, float(tgt.n_kept) or math.nan


def linear_cross_entropy_with_grad(
    hidden: Any,
    weight: Any,
    target: Any,
    bias: Any = None,
    *,
    class_weight: Any = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    z_loss: float = 0.0,
    reduction: str = "mean",
    chunk_size: int | None = None,
):
    """(L, ∂L/∂h, ∂L/∂W, ∂L/∂b) for L = cross_entropy(h Wᵀ + b, target, ...) on NumPy arrays, by row chunks.

    The options and the loss are those of `cross_entropy` (``class_weight`` is its ``weight``);
    `target` holds class indices. ∂L/∂h = G W, ∂L/∂W = Gᵀ h, ∂L/∂b = Σ_n G_n with G = ∂L/∂Z
    (`cross_entropy_grad`) computed `chunk_size` rows at a time (default: about N · D logits per
    chunk, at least 256 rows, at most 2²⁵ logits); at most one chunk of logits exists at any time.
    For "none" the gradients are those of the sum. grad_bias is None without a bias.

    Parameters
    ----------
    hidden : (N, D) float array.
    weight : (V, D) float array, as in torch.nn.Linear.
    target : (N,) integer class indices (ignore_index rows contribute nothing).
    bias : (V,) float array, optional.
    class_weight, ignore_index, label_smoothing, z_loss, reduction : as for `cross_entropy`.
    chunk_size : rows per chunk.

    Returns
    -------
    (loss, grad_hidden, grad_weight, grad_bias)

    Examples
    --------
    >>> import numpy as np
    >>> h, W = np.eye(2), np.zeros((3, 2))
    >>> loss, gh, gW, gb = linear_cross_entropy_with_grad(h, W, np.array([0, 2]))
    >>> round(float(loss), 12) == round(float(np.log(3)), 12), gb
    (True, None)
    """
    check_reduction(reduction)
    hidden, weight = np.asarray(hidden), np.asarray(weight)
    bias = None if bias is None else np.asarray(bias)
    dtype = np.result_type(hidden, weight, *(() if bias is None else (bias,)))
    if not np.issubdtype(dtype, np.floating):
        raise TypeError(f"hidden, weight and bias must be floating arrays, got {dtype}")
    _check_shapes(hidden, weight, np.asarray(target), bias)
    work = working_dtype(dtype)
    h, W = hidden.astype(work, copy=False), weight.astype(work, copy=False)
    b = None if bias is None else bias.astype(work, copy=False)
    n_rows, n_classes = h.shape[0], W.shape[0]
    cw = check_options(class_weight, label_smoothing, z_loss, n_classes, np.empty(0, work))
    tgt = _target(h, W, target, cw, ignore_index, work)
    ce_div, z_div = _divisors(tgt, reduction)
    chunk = chunk_size or default_chunk_size(n_rows, n_classes, hidden.shape[1])
    if chunk < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")

    ce_rows = np.empty(n_rows, work)
    zl_rows = np.empty(n_rows, work)
    grad_h = np.empty_like(h)
    grad_W = np.empty_like(W)
    grad_b = None if b is None else np.zeros_like(b)
    index, w_t = tgt.index.astype(np.intp), tgt.w_t.astype(work)
    opt = loss_options(n_classes, cw, label_smoothing, z_loss, ce_div, z_div, work)
    # The products go into buffers allocated once: the chunk's logits (overwritten by their gradient)
    # and, from the second chunk on, its V × D contribution to ∂L/∂W.
    chunk_buffer = np.empty((min(chunk, n_rows), n_classes), work)
    grad_W_part = np.empty_like(W) if chunk < n_rows else None
    for start in range(0, n_rows, chunk):
        rows = slice(start, min(start + chunk, n_rows))
        logits = np.matmul(h[rows], W.T, out=chunk_buffer[: rows.stop - rows.start])
        if b is not None:
            logits += b
        target_rows = RowTarget(index[rows], tgt.kept[rows], w_t[rows], None)
        ce_rows[rows], zl = _fused_rows(logits, logits, target_rows, opt)
        if zl is not None:
            zl_rows[rows] = zl
        np.matmul(logits, W, out=grad_h[rows])
        if start == 0:
            np.matmul(logits.T, h[rows], out=grad_W)
        else:
            grad_W += np.matmul(logits.T, h[rows], out=grad_W_part)
        if grad_b is not None:
            grad_b += np.sum(logits, axis=0)
    loss = _reduce(ce_rows, zl_rows, z_loss, reduction, tgt, ce_div, z_div, np)

    def cast(a):
        return None if a is None else a.astype(dtype, copy=False)

    return cast(np.asarray(loss)) if reduction == "none" else dtype.type(loss), cast(grad_h), cast(grad_W), cast(grad_b)


def _reduce(ce_rows, zl_rows, z_loss, reduction, tgt, ce_div, z_div, xp):
    if reduction == "none":
        return ce_rows + zl_rows if z_loss > 0 else ce_rows
    if reduction == "sum":
        return xp.sum(ce_rows) + xp.sum(zl_rows) if z_loss > 0 else xp.sum(ce_rows)
    loss = xp.sum(ce_rows) / ce_div
    return loss + xp.sum(zl_rows) / z_div if z_loss > 0 else loss


# --- torch -------------------------------------------------------------------------------------


def _torch_rows(z, index, kept, w_t, cw, w_total, n_classes, eps, zc, ce_div, z_div, row_scale=None):
    """Per-row CE and z parts of a chunk of logits z (overwritten with ∂L/∂z, so no other V-wide buffer).

    L_n = (1 − ε) w_t (lse − z_t) + (ε/K)(Σw · lse − Σ_k w_k z_k) + c lse²,
    ∂L/∂z = ((1 − ε) w_t + (ε/K) Σw) p / D − b / D + 2c lse p / N_kept (zero on ignored rows).
    """
    import torch

    m = z.max(dim=1, keepdim=True).values
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    z -= m
    shifted_t = z.gather(1, index[:, None])[:, 0]
    if eps > 0:
        w_dot = z.sum(dim=1) if cw is None else z @ cw
    z.exp_()
    s = z.sum(dim=1)
    log_s = torch.log(s)
    ce = w_t * (log_s - shifted_t)
    if eps > 0:
        ce = (1 - eps) * ce + (eps / n_classes) * (w_total * log_s - w_dot)
    keptf = kept.to(z.dtype)
    ce = ce * keptf
    lse = m[:, 0] + log_s
    zl = zc * lse * lse * keptf
    coef = ((1 - eps) * w_t + (eps / n_classes) * w_total * keptf) / ce_div
    if zc > 0:
        coef = coef + 2 * zc * lse * keptf / z_div
    at_target = (1 - eps) * w_t / ce_div
    smooth = (eps / n_classes / ce_div) * keptf
    if row_scale is not None:
        coef, at_target, smooth = coef * row_scale, at_target * row_scale, smooth * row_scale
    z.mul_((coef / s)[:, None])  # z = coef · p
    z.scatter_add_(1, index[:, None], -at_target[:, None])
    if eps > 0:
        z.addr_(smooth, torch.ones(n_classes, dtype=z.dtype, device=z.device) if cw is None else cw, alpha=-1)
    return ce, zl


def _torch_chunks(h, W, b, tgt, cw, eps, zc, divisors, want_grad, row_scale=None, chunk=1):
    """Loop over row chunks in the working dtype: per-row loss parts, and (if want_grad) the gradients."""
    import torch

    n_rows, n_classes = h.shape[0], W.shape[0]
    ce_rows = torch.empty(n_rows, dtype=h.dtype, device=h.device)
    zl_rows = torch.zeros(n_rows, dtype=h.dtype, device=h.device)
    grad_h = torch.empty_like(h) if want_grad else None
    grad_W = torch.zeros_like(W) if want_grad else None
    grad_b = torch.zeros_like(b) if want_grad and b is not None else None
    w_total = float(n_classes) if cw is None else float(cw.sum())
    w_t = tgt.w_t.to(h.dtype)
    for start in range(0, n_rows, chunk):
        rows = slice(start, min(start + chunk, n_rows))
        logits = h[rows] @ W.T if b is None else torch.addmm(b, h[rows], W.T)
        ce_rows[rows], zl_rows[rows] = _torch_rows(
            logits,
            tgt.index[rows],
            tgt.kept[rows],
            w_t[rows],
            cw,
            w_total,
            n_classes,
            eps,
            zc,
            *divisors,
            row_scale=None if row_scale is None else row_scale[rows],
        )
        if not want_grad:
            continue
        grad_h[rows] = logits @ W
        grad_W.addmm_(logits.T, h[rows])
        if grad_b is not None:
            grad_b += logits.sum(dim=0)
    return ce_rows, zl_rows, grad_h, grad_W, grad_b


def _torch_function():
    import torch

    class LinearCrossEntropy(torch.autograd.Function):
        """Forward computes the loss and, for a scalar loss, all three gradients chunk by chunk;
        backward scales them by the incoming gradient."""

        @staticmethod
        def forward(ctx, hidden, weight, bias, tgt, cw, eps, zc, reduction, chunk):
            work = torch.float32 if torch.finfo(hidden.dtype).bits < 32 else hidden.dtype
            h, W = hidden.to(work), weight.to(work)
            b = None if bias is None else bias.to(work)
            cw = None if cw is None else cw.to(work)
            divisors = _divisors(tgt, reduction)
            scalar = reduction != "none"
            ce_rows, zl_rows, gh, gW, gb = _torch_chunks(h, W, b, tgt, cw, eps, zc, divisors, scalar, chunk=chunk)
            loss = _reduce(ce_rows, zl_rows, zc, reduction, tgt, *divisors, torch)
            ctx.dtypes = (hidden.dtype, weight.dtype, None if bias is None else bias.dtype)
            ctx.scalar = scalar
            if scalar:
                ctx.save_for_backward(gh, gW, gb)
            else:
                ctx.save_for_backward(h, W, b, cw)
                ctx.args = (tgt, eps, zc, chunk)
            return loss.to(hidden.dtype)

        @staticmethod
        @torch.autograd.function.once_differentiable
        def backward(ctx, grad_out):
            if ctx.scalar:
                gh, gW, gb = ctx.saved_tensors
                if bool(grad_out == 1):
                    # loss.backward(): the gradients as computed, without a V × D copy of ∂L/∂W (as
                    # large as W). Not scaled in place: a second backward (retain_graph) reuses them.
                    grads = [gh, gW, gb]
                else:
                    scale = grad_out.to(gh.dtype)
                    grads = [None if g is None else g * scale for g in (gh, gW, gb)]
            else:
                h, W, b, cw = ctx.saved_tensors
                tgt, eps, zc, chunk = ctx.args
                _, _, *grads = _torch_chunks(
                    h, W, b, tgt, cw, eps, zc, (1.0, 1.0), True, row_scale=grad_out.to(h.dtype), chunk=chunk
                )
            grads = [None if g is None else g.to(dt) for g, dt in zip(grads, ctx.dtypes)]
            return (*grads, None, None, None, None, None, None)

    return LinearCrossEntropy


_FUNCTION = None


def linear_cross_entropy(
    hidden: Any,
    weight: Any,
    target: Any,
    bias: Any = None,
    *,
    class_weight: Any = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    z_loss: float = 0.0,
    reduction: str = "mean",
    chunk_size: int | None = None,
):
    """cross_entropy(hidden @ weight.T + bias, target, ...) without storing the N × V logits.

    On torch tensors (CPU or CUDA; float16/bfloat16 computed with float32 accumulation and returned
    in the input dtype) the result is differentiable by autograd with respect to hidden, weight and
    bias: a drop-in for ``F.cross_entropy(hidden @ weight.T + bias, target, weight=class_weight,
    ignore_index=…, label_smoothing=…, reduction=…)`` plus the z-loss. The gradients are computed in
    the forward pass, chunk by chunk (`linear_cross_entropy_with_grad` gives them on NumPy). On
    NumPy arrays this returns the loss only.

    Parameters
    ----------
    hidden : array_like or torch.Tensor
        The last hidden layer, shape (N, D).
    weight : array_like or torch.Tensor
        The output layer's weight, shape (V, D).
    target : array_like or torch.Tensor
        Class indices, shape (N,).
    bias : array_like or torch.Tensor, optional
        The output layer's bias, shape (V,).
    class_weight, ignore_index, label_smoothing, z_loss, reduction
        As for `cross_entropy`.
    chunk_size : int, optional
        Rows per chunk (default: about N · D logits, at least 256 rows, at most 2²⁵ logits).

    Returns
    -------
    array or torch.Tensor
        The loss: a scalar for "mean" and "sum", shape (N,) for "none"; of `hidden`'s type and dtype.

    Examples
    --------
    >>> import torch
    >>> h = torch.eye(2, requires_grad=True)
    >>> loss = linear_cross_entropy(h, torch.zeros(3, 2), torch.tensor([0, 2]))
    >>> loss.backward(); h.grad.abs().max().item()
    0.0
    >>> float(linear_cross_entropy(np.eye(2), np.zeros((3, 2)), np.array([0, 2])))  # log 3
    1.0986122886681098
    """
    if not is_torch_array(hidden):
        return linear_cross_entropy_with_grad(
            hidden,
            weight,
            target,
            bias,
            class_weight=class_weight,
            ignore_index=ignore_index,
            label_smoothing=label_smoothing,
            z_loss=z_loss,
            reduction=reduction,
            chunk_size=chunk_size,
        )[0]
    global _FUNCTION
    import torch

    check_reduction(reduction)
    if not (hidden.is_floating_point() and weight.is_floating_point()):
        raise TypeError(f"hidden and weight must be floating tensors, got {hidden.dtype} and {weight.dtype}")
    target = torch.as_tensor(target, device=hidden.device)
    _check_shapes(hidden, weight, target, bias)
    work = torch.float32 if torch.finfo(hidden.dtype).bits < 32 else hidden.dtype
    n_rows, n_classes = hidden.shape[0], weight.shape[0]
    like = torch.empty(0, dtype=work, device=hidden.device)
    cw = check_options(class_weight, label_smoothing, z_loss, n_classes, like)
    tgt = _target(hidden, weight, target, cw, ignore_index, work)
    chunk = chunk_size or default_chunk_size(n_rows, n_classes, hidden.shape[1])
    if chunk < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
    if _FUNCTION is None:
        _FUNCTION = _torch_function()
    return _FUNCTION.apply(hidden, weight, bias, tgt, cw, label_smoothing, z_loss, reduction, chunk)
