"""softmax_lib.distributed with 2 and 4 gloo processes against the single-process loss and gradients.

Each process holds an uneven slice of the V classes. Reference: torch autograd in float64 through
F.cross_entropy on the full logits (+ the z-loss), as in test_loss_options. Tolerance: both are
correct float64 evaluations; a path rounds at most D + V + N + 8 operations, plus one merge step
per process (the shifted sums add in another order), on values of size ≤ 10:
rounding_tolerance(float64, D + V + N + 8 + world_size).
"""

import itertools

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F

from softmax_lib.checks import compare, rounding_tolerance
from softmax_lib.distributed import merge_shard_normalizers, vocab_parallel_cross_entropy
from softmax_lib.distributed import vocab_parallel_linear_cross_entropy

N, D, V = 8, 3, 11
OPTIONS = list(itertools.product([False, True], [False, True], [0.0, 0.2], [0.0, 0.1], ["none", "sum", "mean"]))


def make_case():
    rng = np.random.default_rng(1315)
    h = torch.tensor(rng.normal(size=(N, D)))
    W = torch.tensor(rng.normal(size=(V, D)))
    b = torch.tensor(rng.normal(size=V))
    target = torch.tensor(rng.integers(0, V, size=N))
    target[[1, 6]] = -100
    class_weight = torch.tensor(rng.uniform(0.5, 2.0, size=V))
    grad_out = torch.tensor(rng.normal(size=N))
    return h, W, b, target, class_weight, grad_out


def reference(h, W, b, target, cw, eps, zc, reduction, grad_out):
    h, W, b = (x.clone().requires_grad_() for x in (h, W, b))
    z = h @ W.T + b
    z.retain_grad()
    loss = F.cross_entropy(z, target, weight=cw, label_smoothing=eps, reduction=reduction)
    kept = target != -100
    zl = torch.where(kept, zc * torch.logsumexp(z, dim=-1) ** 2, 0.0)
    loss = loss + {"none": zl, "sum": zl.sum(), "mean": zl.sum() / kept.sum()}[reduction]
    (loss * (grad_out if reduction == "none" else grad_out[0])).sum().backward()
    return loss.detach(), z.detach(), z.grad, h.grad, W.grad, b.grad


def worker(rank, world_size, init_file):
    torch.set_num_threads(1)  # several processes share the cores: no intra-op thread pools fighting
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world_size)
    try:
        h, W, b, target, cw, grad_out = make_case()
        bounds = np.linspace(0, V, world_size + 1).round().astype(int)
        bounds[1] -= 1  # uneven shards
        lo, hi = int(bounds[rank]), int(bounds[rank + 1])
        tol = rounding_tolerance(np.float64, D + V + N + 8 + world_size)
        failures = []
        for weighted, with_bias, eps, zc, reduction in OPTIONS:
            w = cw if weighted else None
            bias = b if with_bias else torch.zeros(V, dtype=torch.float64)
            loss_ref, z, gz_ref, gh_ref, gW_ref, gb_ref = reference(h, W, bias, target, w, eps, zc, reduction, grad_out)
            go = grad_out if reduction == "none" else grad_out[0]
            kw = dict(vocab_start=lo, ignore_index=-100, label_smoothing=eps, z_loss=zc, reduction=reduction)
            zs = z[:, lo:hi].clone().requires_grad_()
            loss = vocab_parallel_cross_entropy(zs, target, weight=None if w is None else w[lo:hi], **kw)
            (loss * go).sum().backward()
            hs, Ws = h.clone().requires_grad_(), W[lo:hi].clone().requires_grad_()
            bs = bias[lo:hi].clone().requires_grad_() if with_bias else None
            shard_weight = None if w is None else w[lo:hi]
            loss2 = vocab_parallel_linear_cross_entropy(hs, Ws, target, bs, class_weight=shard_weight,
                                                        chunk_size=5, **kw)
            (loss2 * go).sum().backward()
            checks = [compare("loss", loss.detach(), loss_ref, tol), compare("grad z", zs.grad, gz_ref[:, lo:hi], tol),
                      compare("linear loss", loss2.detach(), loss_ref, tol), compare("grad h", hs.grad, gh_ref, tol),
                      compare("grad W", Ws.grad, gW_ref[lo:hi], tol)]
            if with_bias:
                checks.append(compare("grad b", bs.grad, gb_ref[lo:hi], tol))
            failures += [f"{(weighted, with_bias, eps, zc, reduction)} {c}" for c in checks if not c.passed]
        assert not failures, f"rank {rank} of {world_size}: " + "; ".join(failures)
    finally:
        dist.destroy_process_group()


@pytest.mark.parametrize("world_size", [2, 4])
def test_matches_single_process(tmp_path, world_size):
    mp.spawn(worker, args=(world_size, str(tmp_path / "init")), nprocs=world_size, join=True)


def test_merge_is_the_full_normalizer():
    """The merge the all-reduces perform, in one process: (max, Σ exp) of 4 shards = those of the row."""
    rng = np.random.default_rng(7)
    z = torch.tensor(rng.normal(scale=5.0, size=(6, 40)))
    shards = torch.tensor_split(z, [5, 17, 30], dim=1)
    maxima = torch.stack([s.max(dim=1).values for s in shards])
    sums = torch.stack([torch.exp(s - m[:, None]).sum(dim=1) for s, m in zip(shards, maxima)])
    m, s = merge_shard_normalizers(maxima, sums)
    # Each shard sum and its rescaling round ≤ 40 + 4 times on values ≤ 40: rounding_tolerance(float64, 44 + 4).
    tol = rounding_tolerance(np.float64, 48)
    assert torch.equal(m, z.max(dim=1).values)
    assert compare("merged lse", m + torch.log(s), torch.logsumexp(z, dim=1), tol).passed
    # A plausible wrong merge, Σ_r s_r without the rescaling exp(m_r − m), is rejected.
    assert not compare("unrescaled sum", m + torch.log(sums.sum(dim=0)), torch.logsumexp(z, dim=1), tol).passed


def test_needs_an_initialised_group():
    with pytest.raises(RuntimeError, match="not initialised"):
        vocab_parallel_cross_entropy(torch.zeros(2, 3), torch.tensor([0, 1]), vocab_start=0)
