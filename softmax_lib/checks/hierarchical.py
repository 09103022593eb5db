"""Checks of hierarchical softmax scored along the target's path, in float64: its bound in units of
u, the loss scales it is relative to, and the loss and gradients against torch. The implementation
under test is an argument, so a chapter can pass a wrong one and show the check rejecting it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from . import oracles
from .tolerance import EXP_UNITS, CheckResult, compare, unit_roundoff

__all__ = ["hierarchical_path_units", "hierarchical_path_scales", "check_hierarchical_softmax_loss"]


def hierarchical_path_units(dim: int, depth: int) -> int:
    """EXP_UNITS + 3 + D + L − 1: bound, in u, on a path-scored hierarchical loss relative to its
    `hierarchical_path_scales` loss scale: each score s = uᵀh of D products is within D·u·a, a = Σ_i |u_i h_i|;
    log σ(±s) (slope ≤ 1) within (EXP_UNITS + 3)u·(|log σ| + 1) + D·u·a; the L terms add (L − 1)u·Σ|log σ|.
    The gradients' bound is this plus 1 (∂/∂h: L products u·(σ − t), summed) or plus N (∂/∂u_m over N rows).

    Parameters
    ----------
    dim : int
        D, the length of the hidden vector.
    depth : int
        L, the longest path.

    Returns
    -------
    int

    Examples
    --------
    >>> hierarchical_path_units(4, 3)
    11
    """
    return EXP_UNITS + 3 + int(dim) + int(depth) - 1


def hierarchical_path_scales(hidden: ArrayLike, node_vectors: ArrayLike, target: ArrayLike, tree: Any = None):
    """The scales of `hierarchical_softmax_loss`'s outputs, in float64, from the data along each path:

    loss row n: Σ_path (|log σ(d·s)| + 1 + a); ∂/∂h_n: Σ_path (1 + a)|u_m|; per path entry of ∂/∂u_m:
    (1 + a)|h_n|, with a = Σ_i |u_mi h_ni| (σ(s) − t is within (EXP_UNITS + 3)u + D·u·a/4 ≤ units·u·(1 + a)).

    Returns
    -------
    loss_scale : ndarray, shape (N,)
    hidden_scale : ndarray, shape (N, D)
    node_row_scale : ndarray, shape (N, L, D)
        In the layout of `hierarchical_softmax_loss`'s grad_node_rows (0 on padding).

    Parameters
    ----------
    hidden : array_like
        h, shape (N, D).
    node_vectors : array_like
        One vector per inner node, shape (K − 1, D).
    target : array_like
        Class indices, shape (N,).
    tree : optional
        The path table (default: the balanced tree of `softmax_lib.path_table`).

    Examples
    --------
    >>> loss_scale, hidden_scale, node_row_scale = hierarchical_path_scales(np.ones((1, 2)), np.zeros((3, 2)), [0])
    >>> loss_scale.shape, hidden_scale.shape, node_row_scale.shape
    ((1,), (1, 2), (1, 2, 2))
    """
    from .._training_variants import balanced_path_table

    h, vectors = np.asarray(hidden, dtype=np.float64), np.asarray(node_vectors, dtype=np.float64)
    all_nodes, all_signs = balanced_path_table(vectors.shape[0] + 1) if tree is None else tree
    nodes, signs = all_nodes[np.asarray(target)], all_signs[np.asarray(target)]
    on_path = signs != 0
    a = np.where(on_path, np.einsum("nld,nd->nl", np.abs(vectors[nodes]), np.abs(h)), 0)
    minus_log_sigma = np.logaddexp(0.0, -signs * np.einsum("nld,nd->nl", vectors[nodes], h))
    loss_scale = np.sum(np.where(on_path, minus_log_sigma + 1 + a, 0), axis=1)
    weight = np.where(on_path, 1 + a, 0)
    hidden_scale = np.einsum("nl,nld->nd", weight, np.abs(vectors[nodes]))
    return loss_scale, hidden_scale, weight[:, :, None] * np.abs(h)[:, None, :]


def check_hierarchical_softmax_loss(
    hidden: ArrayLike, node_vectors: ArrayLike, target: ArrayLike, paths: Any = None, loss: Callable | None = None
) -> list[CheckResult]:
    """`loss` (default hierarchical_softmax_loss; float64) against torch autograd of Σ_n −Σ_path logsigmoid(d·uᵀh)
    over the dense node vectors: the losses and both gradients.

    Measure: scaled by `hierarchical_path_scales` (the node vectors' gradient: the row scales added like the
    rows). Each side within `hierarchical_path_units`(D, L) for the loss, one more for ∂/∂h, N more for ∂/∂u
    (N rows accumulated); the tolerance is twice each.

    Parameters
    ----------
    hidden : array_like
        h, shape (N, D).
    node_vectors : array_like
        Shape (K − 1, D).
    target : array_like
        Class indices, shape (N,).
    paths : optional
        The path table (default: the balanced tree).
    loss : callable, optional
        The function to check (default `softmax_lib.hierarchical_softmax_loss`).

    Returns
    -------
    list of CheckResult
        One per comparison; the check passes when every one has passed.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> hidden, node_vectors = rng.normal(size=(3, 2)), rng.normal(size=(4, 2))
    >>> all(r.passed for r in check_hierarchical_softmax_loss(hidden, node_vectors, [0, 4, 2]))
    True
    """
    import torch
    import torch.nn.functional as functional

    from .._training_variants import hierarchical_softmax_loss, path_table
    from .._variants import hierarchical_softmax_paths

    h, vectors = np.asarray(hidden, dtype=np.float64), np.asarray(node_vectors, dtype=np.float64)
    target = np.asarray(target)
    paths = hierarchical_softmax_paths(vectors.shape[0] + 1) if paths is None else paths
    tree = path_table(paths)
    h_t, vectors_t = oracles.to_torch(h).requires_grad_(True), oracles.to_torch(vectors).requires_grad_(True)
    rows = []
    for n, c in enumerate(target):
        nodes, signs = paths[int(c)]
        scores = vectors_t[oracles.to_torch(np.asarray(nodes, dtype=np.int64))] @ h_t[n]
        rows.append(-functional.logsigmoid(oracles.to_torch(np.asarray(signs, dtype=np.float64)) * scores).sum())
    loss_t = torch.stack(rows)
    loss_t.sum().backward()
    loss = hierarchical_softmax_loss if loss is None else loss
    losses, grad_hidden, nodes, grad_rows = loss(h, vectors, target, tree)
    grad_nodes = np.zeros_like(vectors)
    np.add.at(grad_nodes, nodes, grad_rows)
    loss_scale, hidden_scale, row_scale = hierarchical_path_scales(h, vectors, target, tree)
    node_scale = np.zeros_like(vectors)
    np.add.at(node_scale, tree[0][target], row_scale)
    units = hierarchical_path_units(h.shape[1], tree[0].shape[1])
    u = unit_roundoff(np.float64)
    return [
        compare(
            "hierarchical path loss vs torch",
            losses,
            loss_t.detach().cpu().numpy(),
            2 * units * u,
            measure="scaled",
            scale=loss_scale,
        ),
        compare(
            "hierarchical path gradient (hidden) vs torch autograd",
            grad_hidden,
            h_t.grad.cpu().numpy(),
            2 * (units + 1) * u,
            measure="scaled",
            scale=hidden_scale,
        ),
        compare(
            "hierarchical path gradient (node vectors) vs torch autograd",
            grad_nodes,
            vectors_t.grad.cpu().numpy(),
            2 * (units + len(target)) * u,
            measure="scaled",
            scale=node_scale,
        ),
    ]
