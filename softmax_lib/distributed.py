"""Cross-entropy with the vocabulary split across processes (torch.distributed: gloo on CPU, NCCL on CUDA).

Process r holds the classes vocab_start, …, vocab_start + V_r − 1 of every row: its logits shard
(N × V_r), or its rows of the output layer's weight (V_r × D). The loss needs, per row n,

    m_n = max over all classes   (all_reduce MAX of the shard maxima),
    s_n = Σ_k exp(z_nk − m_n)    (all_reduce SUM of the shard sums, each taken after the shift by m_n),
    z_nt                         (all_reduce SUM: only the shard that owns class t adds it, the others 0),

then lse_n = m_n + log s_n and the loss of `softmax_lib.cross_entropy` with the same options. A
second SUM carries w_t and Σ_k w_k z_nk (for label smoothing). Each process sends O(N) numbers per
reduction instead of the O(N · V) logits. The gradient ∂L/∂z = (Σ b) p − b + 2c lse p, p = exp(z −
lse), is local to the shard: no communication in backward, except the sum of the shards' partial
∂L/∂h = G_r W_r for the linear variant.

The options follow `softmax_lib.cross_entropy` (weight, ignore_index, label_smoothing, z_loss,
reduction); `weight` here is the shard's slice of the class weights. The target (class indices,
one per row) is the same on every process.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.distributed as dist

from ._cross_entropy import check_options, check_reduction

__all__ = ["vocab_parallel_cross_entropy", "vocab_parallel_linear_cross_entropy", "merge_shard_normalizers"]


def merge_shard_normalizers(maxima: torch.Tensor, sums: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(m, s) of the union of shards from each shard's (m_r, s_r): what the two all-reduces compute, in one process.

    m = max_r m_r, s = Σ_r s_r · exp(m_r − m): the R-way form of `softmax_lib.merge_normalizers`.
    Exact in exact arithmetic: s_r exp(m_r − m) = Σ_{k ∈ shard r} exp(z_k − m_r) exp(m_r − m).

    Parameters
    ----------
    maxima : torch.Tensor
        Each shard's row maxima m_r, stacked along dim 0: shape (R, N).
    sums : torch.Tensor
        Each shard's Σ_k exp(z_k − m_r), of the same shape.

    Returns
    -------
    m : torch.Tensor
        The row maxima over all shards, shape (N,).
    s : torch.Tensor
        Σ_k exp(z_k − m) over all shards, shape (N,).

    Examples
    --------
    >>> import torch
    >>> m, s = merge_shard_normalizers(torch.tensor([[0.0], [2.0]]), torch.tensor([[1.0], [1.0]]))
    >>> m.tolist(), round(s.item(), 6)  # the state of [0, 2]: 1 + e^−2
    ([2.0], 1.135335)
    """
    m = maxima.max(dim=0).values
    shift = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    return m, (sums * torch.exp(maxima - shift)).sum(dim=0)


class _Shard:
    """What every chunk of rows needs, gathered once: the target on this shard and the global sums."""

    def __init__(self, target, n_local, vocab_start, weight, ignore_index, eps, zc, reduction, group, dtype):
        device = target.device
        self.group, self.eps, self.zc = group, eps, zc
        self.kept = target != ignore_index
        self.owned = self.kept & (target >= vocab_start) & (target < vocab_start + n_local)
        self.local_index = torch.where(self.owned, target - vocab_start, torch.zeros_like(target))
        self.weight = weight
        w_local = torch.ones(n_local, dtype=dtype, device=device) if weight is None else weight
        # One all-reduce: the target's class weight (from the owning shard), the class count and Σ w.
        packed = torch.cat(
            [
                torch.where(self.owned, w_local[self.local_index], 0.0).to(dtype),
                torch.tensor([n_local, float(w_local.sum())], dtype=dtype, device=device),
            ]
        )
        dist.all_reduce(packed, op=dist.ReduceOp.SUM, group=group)
        self.w_t, self.n_classes, self.w_total = packed[:-2], int(packed[-2].item()), packed[-1]
        self.w_local = w_local
        bad = self.kept & ((target < 0) | (target >= self.n_classes))
        if bool(bad.any()):
            raise IndexError(f"target class index {int(target[bad][0])} is out of range for {self.n_classes} classes")
        n_kept = int(self.kept.sum())
        denominator = float(self.w_t.sum()) if weight is not None else float(n_kept)
        if reduction == "mean":
            self.ce_div, self.z_div = denominator or math.nan, float(n_kept) or math.nan
        else:
            self.ce_div, self.z_div = 1.0, 1.0
        self.any_owned = bool(self.owned.any())

    def rows(self, z: torch.Tensor, rows: slice):
        """(per-row CE part, per-row z part, ∂L/∂z of this shard) for a chunk of rows of the shard's logits."""
        kept, owned, index = self.kept[rows], self.owned[rows], self.local_index[rows]
        eps, zc, n_classes = self.eps, self.zc, self.n_classes
        m = z.max(dim=1).values
        dist.all_reduce(m, op=dist.ReduceOp.MAX, group=self.group)
        m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
        e = torch.exp(z - m[:, None])
        z_t = torch.where(owned, z.gather(1, index[:, None])[:, 0], 0.0)
        sums = [e.sum(dim=1), z_t]
        if eps > 0:
            sums.append(z @ self.w_local)
        packed = torch.stack(sums)
        dist.all_reduce(packed, op=dist.ReduceOp.SUM, group=self.group)
        s, z_t = packed[0], packed[1]
        lse = m + torch.log(s)
        w_t = self.w_t[rows]
        ce = w_t * (lse - z_t) if self.weight is not None else lse - z_t
        if eps > 0:
            ce = (1 - eps) * ce + (eps / n_classes) * (self.w_total * lse - packed[2])
        ce = torch.where(kept, ce, 0.0)
        zl = torch.where(kept, zc * lse * lse, 0.0)
        # ∂L/∂z = ((Σ b) p − b) / D + 2c lse p / N_kept on this shard's classes.
        p = e / s[:, None]
        keptf = kept.to(z.dtype)
        coef = ((1 - eps) * w_t + (eps / n_classes) * self.w_total * keptf) / self.ce_div
        coef = coef + 2 * zc * lse * keptf / self.z_div
        grad = p * coef[:, None]
        grad.scatter_add_(1, index[:, None], -(torch.where(owned, (1 - eps) * w_t, 0.0) / self.ce_div)[:, None])
        if eps > 0:
            grad -= ((eps / n_classes / self.ce_div) * keptf)[:, None] * self.w_local
        return ce, zl, grad


def _reduce(ce, zl, shard: _Shard, reduction: str):
    if reduction == "none":
        return ce + zl
    if reduction == "sum":
        return ce.sum() + zl.sum()
    return ce.sum() / shard.ce_div + zl.sum() / shard.z_div


def _work_dtype(dtype):
    return torch.float32 if torch.finfo(dtype).bits < 32 else dtype


def _scaled(grad: torch.Tensor, grad_out: torch.Tensor) -> torch.Tensor:
    return grad * (grad_out[:, None] if grad_out.ndim else grad_out)


class _VocabParallelCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, logits, target, vocab_start, weight, ignore_index, eps, zc, reduction, group):
        work = _work_dtype(logits.dtype)
        z = logits.to(work)
        w = None if weight is None else weight.to(work)
        shard = _Shard(target, z.shape[1], vocab_start, w, ignore_index, eps, zc, reduction, group, work)
        ce, zl, grad = shard.rows(z, slice(None))
        ctx.save_for_backward(grad)
        ctx.dtype = logits.dtype
        return _reduce(ce, zl, shard, reduction).to(logits.dtype)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out):
        (grad,) = ctx.saved_tensors
        return _scaled(grad, grad_out.to(grad.dtype)).to(ctx.dtype), None, None, None, None, None, None, None, None


class _VocabParallelLinearCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx,
        hidden,
        weight_shard,
        bias_shard,
        target,
        vocab_start,
        class_weight,
        ignore_index,
        eps,
        zc,
        reduction,
        group,
        chunk,
    ):
        work = _work_dtype(hidden.dtype)
        h, W = hidden.to(work), weight_shard.to(work)
        b = None if bias_shard is None else bias_shard.to(work)
        w = None if class_weight is None else class_weight.to(work)
        shard = _Shard(target, W.shape[0], vocab_start, w, ignore_index, eps, zc, reduction, group, work)
        n_rows = h.shape[0]
        ce_rows = torch.empty(n_rows, dtype=work, device=h.device)
        zl_rows = torch.empty(n_rows, dtype=work, device=h.device)
        # Partial ∂L/∂h from this shard's classes; the shards' parts are summed in backward.
        grad_h = torch.empty_like(h)
        grad_W = torch.zeros_like(W)
        grad_b = None if b is None else torch.zeros_like(b)
        per_row = reduction == "none"
        for start in range(0, n_rows, chunk):
            rows = slice(start, min(start + chunk, n_rows))
            z = h[rows] @ W.T
            if b is not None:
                z += b
            ce_rows[rows], zl_rows[rows], g = shard.rows(z, rows)
            grad_h[rows] = g @ W
            if per_row:
                # ∂L/∂W needs each row's incoming gradient: keep nothing of size V, recompute in backward.
                continue
            grad_W.addmm_(g.T, h[rows])
            if grad_b is not None:
                grad_b += g.sum(dim=0)
        ctx.dtypes = (hidden.dtype, weight_shard.dtype, None if bias_shard is None else bias_shard.dtype)
        ctx.group, ctx.per_row = group, per_row
        if per_row:
            ctx.save_for_backward(h, W, b, grad_h)
            ctx.shard, ctx.chunk = shard, chunk
        else:
            ctx.save_for_backward(grad_h, grad_W, grad_b)
        return _reduce(ce_rows, zl_rows, shard, reduction).to(hidden.dtype)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out):
        if ctx.per_row:
            h, W, b, grad_h = ctx.saved_tensors
            scale = grad_out.to(h.dtype)
            grad_W = torch.zeros_like(W)
            grad_b = None if b is None else torch.zeros_like(b)
            shard, chunk = ctx.shard, ctx.chunk
            for start in range(0, h.shape[0], chunk):
                rows = slice(start, min(start + chunk, h.shape[0]))
                z = h[rows] @ W.T
                if b is not None:
                    z += b
                g = shard.rows(z, rows)[2] * scale[rows, None]
                grad_W.addmm_(g.T, h[rows])
                if grad_b is not None:
                    grad_b += g.sum(dim=0)
            grad_h = grad_h * scale[:, None]
        else:
            grad_h, grad_W, grad_b = ctx.saved_tensors
            scale = grad_out.to(grad_h.dtype)
            grad_h, grad_W = grad_h * scale, grad_W * scale
            grad_b = None if grad_b is None else grad_b * scale
        grad_h = grad_h.contiguous()
        dist.all_reduce(grad_h, op=dist.ReduceOp.SUM, group=ctx.group)
        grads = [None if g is None else g.to(dt) for g, dt in zip((grad_h, grad_W, grad_b), ctx.dtypes)]
        return (*grads, None, None, None, None, None, None, None, None, None)


def _check(target, n_local, vocab_start, reduction, eps, zc, weight, like):
    check_reduction(reduction)
    if not dist.is_available() or not dist.is_initialized():
        raise RuntimeError("torch.distributed is not initialised: call torch.distributed.init_process_group first")
    if target.dtype.is_floating_point or target.ndim != 1:
        raise ValueError(
            f"target must be a 1-D tensor of class indices, got {target.dtype} of shape {tuple(target.shape)}"
        )
    if vocab_start < 0:
        raise ValueError(f"vocab_start must be ≥ 0, got {vocab_start}")
    return check_options(weight, eps, zc, n_local, like)


def vocab_parallel_cross_entropy(
    logits_shard: Any,
    target: Any,
    *,
    vocab_start: int,
    group: Any = None,
    weight: Any = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    z_loss: float = 0.0,
    reduction: str = "mean",
):
    """`cross_entropy(logits, target, ...)`, this process holding the columns vocab_start … vocab_start + V_r − 1.

    Every process of `group` calls it with its shard (N × V_r) and the same target (N class
    indices); all return the same loss, equal to the single-process loss on the concatenated
    logits up to rounding. Differentiable: the gradient is this shard's columns of ∂L/∂z.

    Parameters
    ----------
    logits_shard : torch.Tensor
        (N, V_r) floating (half types are computed in float32).
    target : torch.Tensor
        (N,) integer class indices, identical on every process.
    vocab_start : int
        The global index of this shard's first class.
    group : torch.distributed.ProcessGroup, optional
        The processes that hold the shards (default: the world).
    weight : torch.Tensor, optional
        (V_r,): this shard's slice of the class weights.
    ignore_index, label_smoothing, z_loss, reduction
        As for `softmax_lib.cross_entropy`.

    Returns
    -------
    torch.Tensor
        The loss, of the logits' dtype: a scalar, or (N,) for reduction="none".

    Examples
    --------
    A group of one process holds the whole vocabulary:

    >>> import tempfile, torch, torch.distributed as dist
    >>> dist.init_process_group("gloo", init_method=f"file://{tempfile.mkdtemp()}/init", rank=0, world_size=1)
    >>> logits = torch.zeros(1, 3, dtype=torch.float64, requires_grad=True)
    >>> loss = vocab_parallel_cross_entropy(logits, torch.tensor([2]), vocab_start=0)
    >>> round(loss.item(), 12) == round(float(np.log(3)), 12)
    True
    >>> loss.backward(); logits.grad.numpy().round(4)
    array([[ 0.3333,  0.3333, -0.6667]])
    >>> dist.destroy_process_group()
    """
    target = torch.as_tensor(target, device=logits_shard.device)
    if logits_shard.ndim != 2 or target.shape[:1] != logits_shard.shape[:1]:
        raise ValueError(f"logits_shard must be (N, V_r) with N = len(target), got {tuple(logits_shard.shape)}")
    w = _check(
        target,
        logits_shard.shape[1],
        vocab_start,
        reduction,
        label_smoothing,
        z_loss,
        weight,
        logits_shard.new_empty(0, dtype=_work_dtype(logits_shard.dtype)),
    )
    return _VocabParallelCrossEntropy.apply(
        logits_shard, target, vocab_start, w, ignore_index, label_smoothing, z_loss, reduction, group
    )


def vocab_parallel_linear_cross_entropy(
    hidden: Any,
    weight_shard: Any,
    target: Any,
    bias_shard: Any = None,
    *,
    vocab_start: int,
    group: Any = None,
    class_weight: Any = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    z_loss: float = 0.0,
    reduction: str = "mean",
    chunk_size: int | None = None,
):
    """`linear_cross_entropy(hidden, weight, target, bias, ...)` with the rows vocab_start … of weight here.

    This process holds the rows vocab_start … vocab_start + V_r − 1 of weight (and bias) and goes
    through the logits shard in row chunks. `hidden` (N × D) and `target` are the same on every
    process. Differentiable: ∂L/∂W_r and ∂L/∂b_r are this shard's rows of the full gradients; ∂L/∂h
    (the sum over shards of G_r W_r, one all-reduce of N × D numbers in backward) is the full
    gradient on every process.

    Parameters
    ----------
    hidden : torch.Tensor
        (N, D), identical on every process.
    weight_shard : torch.Tensor
        (V_r, D): this process's rows of the output layer's weight.
    target : torch.Tensor
        (N,) integer class indices, identical on every process.
    bias_shard : torch.Tensor, optional
        (V_r,): this process's entries of the bias.
    vocab_start : int
        The global index of this shard's first class.
    group : torch.distributed.ProcessGroup, optional
        The processes that hold the shards (default: the world).
    class_weight : torch.Tensor, optional
        (V_r,): this shard's slice of the class weights.
    ignore_index, label_smoothing, z_loss, reduction
        As for `softmax_lib.cross_entropy`.
    chunk_size : int, optional
        Rows per chunk, as for `softmax_lib.linear_cross_entropy`.

    Returns
    -------
    torch.Tensor
        The loss, of hidden's dtype: a scalar, or (N,) for reduction="none".

    Examples
    --------
    >>> import tempfile, torch, torch.distributed as dist
    >>> dist.init_process_group("gloo", init_method=f"file://{tempfile.mkdtemp()}/init", rank=0, world_size=1)
    >>> hidden = torch.eye(2, dtype=torch.float64)
    >>> loss = vocab_parallel_linear_cross_entropy(hidden, torch.zeros(4, 2, dtype=torch.float64), torch.tensor([0, 3]),
    ...                                            vocab_start=0)
    >>> round(loss.item(), 12) == round(float(np.log(4)), 12)
    True
    >>> dist.destroy_process_group()
    """
    from ._linear_cross_entropy import default_chunk_size

    target = torch.as_tensor(target, device=hidden.device)
    if hidden.ndim != 2 or weight_shard.ndim != 2 or weight_shard.shape[1] != hidden.shape[1]:
        raise ValueError(
            f"hidden must be (N, D) and weight_shard (V_r, D), got {tuple(hidden.shape)}, {tuple(weight_shard.shape)}"
        )
    if target.shape[:1] != hidden.shape[:1]:
        raise ValueError(f"target must have shape ({hidden.shape[0]},), got {tuple(target.shape)}")
    if bias_shard is not None and tuple(bias_shard.shape) != (weight_shard.shape[0],):
        raise ValueError(f"bias_shard must have shape ({weight_shard.shape[0]},), got {tuple(bias_shard.shape)}")
    cw = _check(
        target,
        weight_shard.shape[0],
        vocab_start,
        reduction,
        label_smoothing,
        z_loss,
        class_weight,
        hidden.new_empty(0, dtype=_work_dtype(hidden.dtype)),
    )
    chunk = chunk_size or default_chunk_size(hidden.shape[0], weight_shard.shape[0], hidden.shape[1])
    if chunk < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
    return _VocabParallelLinearCrossEntropy.apply(
        hidden,
        weight_shard,
        bias_shard,
        target,
        vocab_start,
        cw,
        ignore_index,
        label_smoothing,
        z_loss,
        reduction,
        group,
        chunk,
    )
