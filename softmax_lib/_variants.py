"""Variants of softmax: sigmoid, sparsemax, hierarchical softmax (Gumbel-max / Gumbel-softmax: _gumbel.py).

sparsemax, sparsemax_jacobian and hierarchical_softmax_log_prob take any Array API array (NumPy,
PyTorch tensors on the CPU or CUDA) and keep its type and device; the others are NumPy only.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from array_api_compat import array_namespace, device, is_array_api_obj, is_numpy_array
from numpy.typing import ArrayLike, NDArray

from ._cross_entropy import check_class_indices
from ._validation import as_float_array, class_axis, namespace

__all__ = [
    "sigmoid",
    "log_sigmoid",
    "sparsemax",
    "sparsemax_jacobian",
    "hierarchical_softmax_paths",
    "hierarchical_softmax_log_prob",
    "hierarchical_softmax_probabilities",
    "hierarchical_softmax_grad",
]


def sigmoid(x: ArrayLike) -> NDArray[np.floating]:
    """σ(x) = 1 / (1 + e^(−x)), evaluated as e^x / (1 + e^x) for x < 0.

    Each branch exponentiates a non-positive number, so nothing overflows; σ(x) = 1 − σ(−x).

    Parameters
    ----------
    x : array_like
        Any shape (NumPy).

    Returns
    -------
    numpy.ndarray
        σ(x), of x's shape and floating dtype.

    Examples
    --------
    >>> sl.sigmoid([-1000.0, 0.0, 1000.0])
    array([0. , 0.5, 1. ])
    """
    x = as_float_array(x, "x")
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def log_sigmoid(x: ArrayLike) -> NDArray[np.floating]:
    """log σ(x) = −log(1 + e^(−x)) = min(x, 0) − log1p(e^(−|x|)), finite for every finite x.

    Parameters
    ----------
    x : array_like
        Any shape (NumPy).

    Returns
    -------
    numpy.ndarray
        log σ(x), of x's shape and floating dtype.

    Examples
    --------
    >>> sl.log_sigmoid([-1000.0, 0.0])  # 1/(1 + e^1000) underflows; its log does not
    array([-1.00000000e+03, -6.93147181e-01])
    """
    x = as_float_array(x, "x")
    return np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))


def sparsemax(z: ArrayLike, axis: int = -1) -> NDArray[np.floating]:
    """The Euclidean projection of z onto the probability simplex: p_i = max(z_i − τ, 0).

    With z sorted decreasingly, z_(1) ≥ z_(2) ≥ …, the support size is
    k(z) = max{k : 1 + k z_(k) > Σ_{j≤k} z_(j)} and the threshold τ = (Σ_{j≤k(z)} z_(j) − 1) / k(z)
    (Martins & Astudillo 2016). Unlike softmax, entries below τ are exactly 0.

    Computed on z − max z: τ moves with z and p does not, while the partial sums stay of the size
    of the support's spread instead of cancelling (z = [1e16, 1e16] would give τ = 1e16, p = 0).
    float16 and bfloat16 are computed in float32 and rounded once. A row with a NaN, a +inf entry
    or only −inf entries is all NaN, as for softmax; −inf entries beside a finite max get p = 0.

    Parameters
    ----------
    z : array_like
        Logits: a NumPy array or an Array API array (a torch tensor on any device).
    axis : int, optional
        The class axis (default the last).

    Returns
    -------
    array
        p, of z's type, device, dtype and shape.

    Examples
    --------
    >>> sl.sparsemax([1.0, 0.5, -3.0])
    array([0.75, 0.25, 0.  ])
    """
    z = as_float_array(z, "z")
    axis = class_axis(z, axis, "z")
    xp = array_namespace(z)
    work = xp.moveaxis(z, axis, -1)
    if xp.finfo(z.dtype).bits < 32:
        work = xp.astype(work, xp.float32)
    # z − m may overflow to −inf (z = −1e308, m = 1e308): such an entry is outside the support, rightly.
    with np.errstate(over="ignore", invalid="ignore"):
        m = xp.max(work, axis=-1, keepdims=True)
        shifted = work - m
        ordered = xp.sort(shifted, axis=-1, descending=True)
        cumulative = xp.cumulative_sum(ordered, axis=-1)
        k = xp.arange(1, work.shape[-1] + 1, dtype=work.dtype, device=device(z))
        # The condition holds for k = 1, 2, …, k(z) and fails after, so counting gives k(z).
        support_size = xp.sum(xp.astype(1 + k * ordered > cumulative, work.dtype), axis=-1, keepdims=True)
        support_size = xp.maximum(support_size, xp.ones_like(support_size))  # 0 only in a non-finite row
        support_sum = xp.sum(xp.where(k == support_size, cumulative, xp.zeros_like(cumulative)), axis=-1, keepdims=True)
        p = xp.maximum(shifted - (support_sum - 1) / support_size, xp.zeros_like(shifted))
        p = xp.where(xp.isfinite(m), p, xp.full_like(p, math.nan))
    return xp.moveaxis(xp.astype(p, z.dtype, copy=False), -1, axis)


def sparsemax_jacobian(z: ArrayLike, axis: int = -1) -> NDArray[np.floating]:
    """J_ij = ∂p_i/∂z_j = s_i (δ_ij − s_j / |S|), i.e. J = diag(s) − s sᵀ / |S|.

    s_i = 1 where p_i > 0 (the support S) and 0 elsewhere. Defined wherever no z_i sits exactly on
    the threshold τ (there sparsemax has a kink).

    Parameters
    ----------
    z : array_like
        Logits: a NumPy array or an Array API array.
    axis : int, optional
        The class axis (default the last).

    Returns
    -------
    array
        Shape (..., K, K) as for `softmax_jacobian`.

    Examples
    --------
    >>> sl.sparsemax_jacobian([1.0, 0.5, -3.0])
    array([[ 0.5, -0.5,  0. ],
           [-0.5,  0.5,  0. ],
           [ 0. ,  0. ,  0. ]])
    """
    p = sparsemax(z, axis=axis)
    xp = array_namespace(p)
    p = xp.moveaxis(p, axis, -1)
    s = xp.astype(p > 0, p.dtype)
    support_size = xp.sum(s, axis=-1)[..., None, None]
    eye = xp.eye(p.shape[-1], dtype=p.dtype, device=device(p))
    with np.errstate(invalid="ignore"):  # a NaN row has no support: 0/0, and its p is NaN too
        return s[..., :, None] * eye - s[..., :, None] * s[..., None, :] / support_size


def hierarchical_softmax_paths(n_classes: int) -> list[tuple[NDArray[np.intp], NDArray[np.float64]]]:
    """The root-to-leaf path of each class in a balanced binary tree with K leaves and K − 1 inner nodes.

    The tree splits the classes [lo, hi) into [lo, mid) and [mid, hi) with mid = lo + ⌈(hi − lo)/2⌉,
    so every path has ⌈log₂ K⌉ or ⌊log₂ K⌋ nodes.

    Parameters
    ----------
    n_classes : int
        K ≥ 2.

    Returns
    -------
    list of (numpy.ndarray, numpy.ndarray)
        For class c = 0..K−1, the inner nodes on its path (numbered 0..K−2 in preorder, root 0) and
        the direction taken at each: +1 for left, −1 for right. The arrays are read-only.

    Examples
    --------
    >>> [(nodes.tolist(), signs.tolist()) for nodes, signs in sl.hierarchical_softmax_paths(3)]
    [([0, 1], [1.0, 1.0]), ([0, 1], [1.0, -1.0]), ([0], [-1.0])]
    """
    if not isinstance(n_classes, (int, np.integer)) or isinstance(n_classes, bool) or n_classes < 2:
        raise ValueError(f"n_classes must be an integer ≥ 2, got {n_classes!r}")
    return list(_balanced_tree_paths(int(n_classes)))


@functools.lru_cache(maxsize=64)
def _balanced_tree_paths(n_classes: int) -> tuple[tuple[NDArray[np.intp], NDArray[np.float64]], ...]:
    # Built once per K and shared, so the arrays are made read-only.
    paths: list[tuple[list[int], list[float]]] = [([], []) for _ in range(n_classes)]
    next_node = 0
    stack = [(0, n_classes, [], [])]
    while stack:
        lo, hi, nodes, signs = stack.pop()
        if hi - lo == 1:
            paths[lo] = (nodes, signs)
            continue
        node, next_node = next_node, next_node + 1
        mid = lo + (hi - lo + 1) // 2
        # Right is pushed first so that the left subtree is numbered first (preorder).
        stack.append((mid, hi, nodes + [node], signs + [-1.0]))
        stack.append((lo, mid, nodes + [node], signs + [1.0]))
    frozen = []
    for nodes, signs in paths:
        nodes_array, signs_array = np.array(nodes, dtype=np.intp), np.array(signs)
        nodes_array.flags.writeable = signs_array.flags.writeable = False
        frozen.append((nodes_array, signs_array))
    return tuple(frozen)


def _node_scores_and_target(node_scores: ArrayLike, target: ArrayLike) -> tuple[np.ndarray, np.ndarray, int]:
    node_scores = as_float_array(node_scores, "node_scores")
    if node_scores.ndim == 0 or node_scores.shape[-1] < 1:
        raise ValueError(f"node_scores must have shape (..., K − 1) with K ≥ 2, got {node_scores.shape}")
    n_classes = node_scores.shape[-1] + 1
    target = np.asarray(target)
    if not np.issubdtype(target.dtype, np.integer) or target.shape != node_scores.shape[:-1]:
        raise ValueError(
            f"target must be integer class indices of shape {node_scores.shape[:-1]}, "
            f"got dtype {target.dtype} and shape {target.shape}"
        )
    if target.size and (target.min() < 0 or target.max() >= n_classes):
        bad = target[(target < 0) | (target >= n_classes)].flat[0]
        raise IndexError(f"target class index {bad} is out of range for {n_classes} classes")
    return node_scores, target, n_classes


def hierarchical_softmax_log_prob(node_scores: ArrayLike, target: ArrayLike) -> NDArray[np.floating]:
    """log p(c) = Σ_{n on the path of c} log σ(d_n s_n), d_n = ±1 the direction taken at inner node n.

    Only the ⌈log₂ K⌉ or fewer nodes on each target's path are evaluated, against K exponentials for
    softmax. All paths of a batch go through `log_sigmoid` in one call, padded to the tree's depth
    with terms that add an exact 0; float16/bfloat16 are computed in float32.

    Parameters
    ----------
    node_scores : array_like
        Shape (..., K − 1): one score s_n per inner node of the tree of `hierarchical_softmax_paths(K)`.
        A NumPy array or an Array API array.
    target : array_like
        Class indices, shape (...).

    Returns
    -------
    array
        log p(target), shape (...), of the scores' type and dtype.

    Examples
    --------
    >>> sl.hierarchical_softmax_log_prob(np.zeros((2, 3)), np.array([0, 3]))  # K = 4: two nodes of σ(0)
    array([-1.38629436, -1.38629436])
    """
    node_scores = as_float_array(node_scores, "node_scores")
    if not is_array_api_obj(target):
        target = array_namespace(node_scores).asarray(target, device=device(node_scores))
    xp = namespace(node_scores=node_scores, target=target)
    if node_scores.ndim == 0 or node_scores.shape[-1] < 1:
        raise ValueError(f"node_scores must have shape (..., K − 1) with K ≥ 2, got {tuple(node_scores.shape)}")
    n_nodes = node_scores.shape[-1]
    batch_shape = tuple(node_scores.shape[:-1])
    if not xp.isdtype(target.dtype, "integral") or tuple(target.shape) != batch_shape:
        raise ValueError(
            f"target must be integer class indices of shape {batch_shape}, "
            f"got dtype {target.dtype} and shape {tuple(target.shape)}"
        )
    target = xp.reshape(check_class_indices(target, n_nodes + 1), (-1,))
    scores = node_scores if xp.finfo(node_scores.dtype).bits >= 32 else xp.astype(node_scores, xp.float32)
    # The cached tables are read-only; torch wants its own copy.
    nodes, signs = (np.array(table) for table in _padded_paths(n_nodes + 1))
    nodes = xp.take(xp.asarray(nodes, device=device(scores)), target, axis=0)  # (N, depth)
    signs = xp.take(xp.asarray(signs, dtype=scores.dtype, device=device(scores)), target, axis=0)
    rows = xp.arange(target.shape[0], dtype=nodes.dtype, device=device(scores))[:, None]
    flat_index = xp.reshape(rows * n_nodes + nodes, (-1,))
    picked = xp.reshape(xp.take(xp.reshape(scores, (-1,)), flat_index, axis=0), nodes.shape)
    with np.errstate(invalid="ignore"):  # padding: 0 · (±inf) = NaN, discarded below
        x = signs * picked
    # `log_sigmoid` is NumPy's; the same formula, min(x, 0) − log1p(e^(−|x|)), for other arrays.
    if is_numpy_array(x):
        log_sigma = log_sigmoid(x)
    else:
        log_sigma = xp.minimum(x, xp.zeros_like(x)) - xp.log1p(xp.exp(-xp.abs(x)))
    # Padding past the end of a short path has sign 0 and adds an exact 0.
    out = xp.sum(xp.where(signs != 0, log_sigma, xp.zeros_like(x)), axis=-1)
    return xp.reshape(xp.astype(out, node_scores.dtype, copy=False), batch_shape)


@functools.lru_cache(maxsize=64)
def _padded_paths(n_classes: int) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """The paths of `hierarchical_softmax_paths` as (K, depth) arrays of nodes and signs, padded with node 0, sign 0."""
    paths = hierarchical_softmax_paths(n_classes)
    depth = max(len(nodes) for nodes, _ in paths)
    nodes_array, signs_array = np.zeros((n_classes, depth), np.int64), np.zeros((n_classes, depth))
    for c, (nodes, signs) in enumerate(paths):
        nodes_array[c, : len(nodes)], signs_array[c, : len(signs)] = nodes, signs
    nodes_array.flags.writeable = signs_array.flags.writeable = False
    return nodes_array, signs_array


def hierarchical_softmax_probabilities(node_scores: ArrayLike) -> NDArray[np.floating]:
    """p(c) for every class c = 0..K−1: the product of σ(d_n s_n) along each leaf's path.

    At each inner node σ(s) + σ(−s) = 1 splits the mass of the node between its children, so the
    leaves' probabilities sum to 1. This evaluates all K leaves; training needs only one path.

    Parameters
    ----------
    node_scores : array_like
        Shape (..., K − 1), NumPy.

    Returns
    -------
    numpy.ndarray
        Shape (..., K), of the scores' dtype.

    Examples
    --------
    >>> sl.hierarchical_softmax_probabilities([0.0, 0.0])  # K = 3: the right leaf sits under the root
    array([0.25, 0.25, 0.5 ])
    """
    node_scores = as_float_array(node_scores, "node_scores")
    if node_scores.ndim == 0 or node_scores.shape[-1] < 1:
        raise ValueError(f"node_scores must have shape (..., K − 1) with K ≥ 2, got {node_scores.shape}")
    paths = hierarchical_softmax_paths(node_scores.shape[-1] + 1)
    columns = [np.exp(np.sum(log_sigmoid(signs * node_scores[..., nodes]), axis=-1)) for nodes, signs in paths]
    return np.stack(columns, axis=-1).astype(node_scores.dtype, copy=False)


def hierarchical_softmax_grad(node_scores: ArrayLike, target: ArrayLike) -> NDArray[np.floating]:
    """∂(−log p(c))/∂s_n = σ(s_n) − t_n for n on the path of c, and 0 for every other node.

    t_n = 1 if the path goes left at n, else 0. Each inner node is a binary logistic regression with
    target t_n, so this is the p − y of the sigmoid, once per node on the path.

    Parameters
    ----------
    node_scores : array_like
        Shape (..., K − 1), NumPy.
    target : array_like
        Class indices, shape (...).

    Returns
    -------
    numpy.ndarray
        Of `node_scores`' shape and dtype.

    Examples
    --------
    >>> sl.hierarchical_softmax_grad(np.zeros(2), np.int64(2))  # class 2: right at the root only
    array([0.5, 0. ])
    """
    node_scores, target, n_classes = _node_scores_and_target(node_scores, target)
    paths = hierarchical_softmax_paths(n_classes)
    grad = np.zeros_like(node_scores)
    for index in np.ndindex(target.shape):
        nodes, signs = paths[int(target[index])]
        grad[index][nodes] = sigmoid(node_scores[index][nodes]) - (signs > 0)
    return grad
