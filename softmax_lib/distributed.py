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

from typing import Any

import torch

from ._vocab_parallel import _check, _VocabParallelCrossEntropy, _VocabParallelLinearCrossEntropy, _work_dtype

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
