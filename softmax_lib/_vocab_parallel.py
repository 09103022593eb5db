"""The autograd functions of the vocabulary-parallel cross-entropy (softmax_lib.distributed has the formulas).

`_Shard` gathers, once per call, what every chunk of rows needs (the target on this shard, the
global sums); the two autograd functions run the forward pass chunk by chunk with the all-reduces of
the module docstring of softmax_lib.distributed, and keep ∂L/∂z (or the linear layer's gradients)
for a backward pass that needs no communication but the sum of ∂L/∂h.
"""

from __future__ import annotations

import math

import torch
import torch.distributed as dist

from ._cross_entropy import check_options, check_reduction


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
