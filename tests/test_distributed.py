"""softmax_lib.distributed with 2 and 4 gloo processes against the single-process loss and gradients.

Each process holds an uneven slice of the V classes. Reference: softmax_lib.checks.torch_loss_with_options
(F.cross_entropy on the full logits plus the z-loss) by autograd in float64. Tolerance: each side is within
`linear_options_bounds` (first-order bounds in units of u) with `extra_units` = world_size for the merge of
the shards' normalizers (one rescaled sum per process); measure "scaled" by that bound, tolerance 2u.
"""

import itertools

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from softmax_lib.checks import (
    EXP_UNITS,
    compare,
    linear_options_bounds,
    logsumexp_log_units,
    shifted_logsumexp_bound_units,
    torch_loss_with_options,
    unit_roundoff,
)
from softmax_lib.distributed import (
    merge_shard_normalizers,
    vocab_parallel_cross_entropy,
    vocab_parallel_linear_cross_entropy,
)

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
    loss = torch_loss_with_options(z, target, reduction, weight=cw, label_smoothing=eps, z_loss=zc)
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
        tol = 2 * unit_roundoff(np.float64)  # two float64 sides, each within the bound used as the scale
        failures = []
        for weighted, with_bias, eps, zc, reduction in OPTIONS:
            w = cw if weighted else None
            bias = b if with_bias else torch.zeros(V, dtype=torch.float64)
            loss_ref, z, gz_ref, gh_ref, gW_ref, gb_ref = reference(h, W, bias, target, w, eps, zc, reduction, grad_out)
            go = grad_out if reduction == "none" else grad_out[0]
            bound = linear_options_bounds(
                h.numpy(),
                W.numpy(),
                bias.numpy(),
                target.numpy(),
                reduction,
                go.numpy(),
                class_weight=None if w is None else w.numpy(),
                label_smoothing=eps,
                z_loss=zc,
                extra_units=world_size,
            )

            def check(name, ours, expected, key, bound=bound):
                return compare(name, ours, expected, tol, measure="scaled", scale=bound[key])

            kw = dict(vocab_start=lo, ignore_index=-100, label_smoothing=eps, z_loss=zc, reduction=reduction)
            zs = z[:, lo:hi].clone().requires_grad_()
            loss = vocab_parallel_cross_entropy(zs, target, weight=None if w is None else w[lo:hi], **kw)
            (loss * go).sum().backward()
            hs, Ws = h.clone().requires_grad_(), W[lo:hi].clone().requires_grad_()
            bs = bias[lo:hi].clone().requires_grad_() if with_bias else None
            shard_weight = None if w is None else w[lo:hi]
            loss2 = vocab_parallel_linear_cross_entropy(
                hs, Ws, target, bs, class_weight=shard_weight, chunk_size=5, **kw
            )
            (loss2 * go).sum().backward()
            checks = [
                check("loss", loss.detach(), loss_ref, "loss"),
                compare("grad z", zs.grad, gz_ref[:, lo:hi], tol, measure="scaled", scale=bound["logits"][:, lo:hi]),
                check("linear loss", loss2.detach(), loss_ref, "loss"),
                check("grad h", hs.grad, gh_ref, "hidden"),
                compare("grad W", Ws.grad, gW_ref[lo:hi], tol, measure="scaled", scale=bound["weight"][lo:hi]),
            ]
            if with_bias:
                checks.append(
                    compare("grad b", bs.grad, gb_ref[lo:hi], tol, measure="scaled", scale=bound["bias"][lo:hi])
                )
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
    # Ours: log s within logsumexp_log_units(K) absolute, plus the rescaling exp(m_r − m) (m_r − m rounded:
    # spread units; exp EXP_UNITS; the product 1) and the sum over R shards (R − 1); then m + log s one
    # rounding: 1 + (L + spread + R + EXP_UNITS) / |y| relative. torch's logsumexp: shifted_logsumexp_bound_units.
    ref = torch.logsumexp(z, dim=1)
    y = ref.numpy()
    spread = float((z.max(dim=1).values - z.min(dim=1).values).max())
    ours_units = 1 + (logsumexp_log_units(40) + spread + len(shards) + EXP_UNITS) / np.abs(y)
    tol = float(np.max(ours_units + shifted_logsumexp_bound_units(y, 40))) * unit_roundoff(np.float64)
    assert torch.equal(m, z.max(dim=1).values)
    assert compare("merged lse", m + torch.log(s), ref, tol, measure="relative").passed
    # A plausible wrong merge, Σ_r s_r without the rescaling exp(m_r − m), is rejected.
    assert not compare("unrescaled sum", m + torch.log(sums.sum(dim=0)), ref, tol, measure="relative").passed


def test_needs_an_initialised_group():
    with pytest.raises(RuntimeError, match="not initialised"):
        vocab_parallel_cross_entropy(torch.zeros(2, 3), torch.tensor([0, 1]), vocab_start=0)
