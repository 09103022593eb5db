"""Variants of softmax, in NumPy: sigmoid, sparsemax, Gumbel-max / Gumbel-softmax, hierarchical softmax."""

from __future__ import annotations

import functools

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._softmax import softmax
from ._validation import as_float_array, class_axis

__all__ = [
    "sigmoid",
    "log_sigmoid",
    "sparsemax",
    "sparsemax_jacobian",
    "sample_gumbel",
    "gumbel_max",
    "gumbel_softmax",
    "hierarchical_softmax_paths",
    "hierarchical_softmax_log_prob",
    "hierarchical_softmax_probabilities",
    "hierarchical_softmax_grad",
]


def sigmoid(x: ArrayLike) -> NDArray[np.floating]:
    """σ(x) = 1 / (1 + e^(−x)), evaluated as e^x / (1 + e^x) for x < 0.

    Each branch exponentiates a non-positive number, so nothing overflows; σ(x) = 1 − σ(−x).
    """
    x = as_float_array(x, "x")
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def log_sigmoid(x: ArrayLike) -> NDArray[np.floating]:
    """log σ(x) = −log(1 + e^(−x)) = min(x, 0) − log1p(e^(−|x|)), finite for every finite x."""
    x = as_float_array(x, "x")
    return np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))


def sparsemax(z: ArrayLike, axis: int = -1) -> NDArray[np.floating]:
    """The Euclidean projection of z onto the probability simplex: p_i = max(z_i − τ, 0).

    With z sorted decreasingly, z_(1) ≥ z_(2) ≥ …, the support size is
    k(z) = max{k : 1 + k z_(k) > Σ_{j≤k} z_(j)} and the threshold τ = (Σ_{j≤k(z)} z_(j) − 1) / k(z)
    (Martins & Astudillo 2016). Unlike softmax, entries below τ are exactly 0.
    """
    z = as_float_array(z, "z")
    axis = class_axis(z, axis, "z")
    z_last = np.moveaxis(z, axis, -1)
    ordered = -np.sort(-z_last, axis=-1)
    cumulative = np.cumsum(ordered, axis=-1)
    k = np.arange(1, z_last.shape[-1] + 1, dtype=z.dtype)
    in_support = 1 + k * ordered > cumulative
    # The condition holds for k = 1, 2, …, k(z) and fails after, so counting gives k(z).
    support_size = np.sum(in_support, axis=-1, keepdims=True)
    tau = (np.take_along_axis(cumulative, support_size - 1, axis=-1) - 1) / support_size.astype(z.dtype)
    return np.moveaxis(np.maximum(z_last - tau, 0), -1, axis)


def sparsemax_jacobian(z: ArrayLike, axis: int = -1) -> NDArray[np.floating]:
    """J_ij = ∂p_i/∂z_j = s_i (δ_ij − s_j / |S|), i.e. J = diag(s) − s sᵀ / |S|,

    with s_i = 1 where p_i > 0 (the support S) and 0 elsewhere. Defined wherever no z_i sits exactly
    on the threshold τ (there sparsemax has a kink). Shape (..., K, K) as for `softmax_jacobian`.
    """
    p = np.moveaxis(sparsemax(z, axis=axis), axis, -1)
    s = (p > 0).astype(p.dtype)
    support_size = np.sum(s, axis=-1)[..., None, None]
    return s[..., :, None] * np.eye(p.shape[-1], dtype=p.dtype) - s[..., :, None] * s[..., None, :] / support_size


def sample_gumbel(shape: int | tuple[int, ...], rng: np.random.Generator) -> NDArray[np.float64]:
    """Standard Gumbel noise g = −log(−log U), U ~ Uniform(0, 1), of the given shape."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    return rng.gumbel(size=shape)


def gumbel_max(logits: ArrayLike, gumbels: ArrayLike, axis: int = -1) -> NDArray[np.intp]:
    """argmax_k (z_k + g_k): with g standard Gumbel noise, the index k is drawn with probability softmax(z)_k."""
    perturbed = as_float_array(logits, "logits") + as_float_array(gumbels, "gumbels")
    # Logits of shape (K,) with noise of shape (n, K) are n draws: the class axis is the broadcast one's.
    return np.argmax(perturbed, axis=class_axis(perturbed, axis, "logits + gumbels"))


def gumbel_softmax(logits: ArrayLike, gumbels: ArrayLike, temperature: float, axis: int = -1) -> NDArray[np.floating]:
    """y = softmax((z + g) / T): a point in the simplex, differentiable in z, whose argmax is `gumbel_max`.

    As T → 0 it tends to the one-hot vector of argmax(z + g); as T → ∞, to the uniform vector
    (Jang, Gu & Poole 2017).
    """
    if not np.isfinite(temperature) or temperature <= 0:
        raise ValueError(f"temperature must be a positive finite number, got {temperature!r}")
    logits = as_float_array(logits, "logits")
    gumbels = as_float_array(gumbels, "gumbels")
    return softmax((logits + gumbels) / temperature, axis=axis)


def hierarchical_softmax_paths(n_classes: int) -> list[tuple[NDArray[np.intp], NDArray[np.float64]]]:
    """The root-to-leaf path of each class in a balanced binary tree with K leaves and K − 1 inner nodes.

    Returns, for class c = 0..K−1, the inner nodes on its path (numbered 0..K−2 in preorder, root 0)
    and the direction taken at each: +1 for left, −1 for right. The tree splits the classes
    [lo, hi) into [lo, mid) and [mid, hi) with mid = lo + ⌈(hi − lo)/2⌉, so every path has
    ⌈log₂ K⌉ or ⌊log₂ K⌋ nodes.
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

    `node_scores` has shape (..., K − 1), one score s_n per inner node of the tree of
    `hierarchical_softmax_paths(K)`; `target` holds class indices of shape (...). Only the
    ⌈log₂ K⌉ or fewer nodes on each target's path are evaluated, against K exponentials for softmax.
    """
    node_scores, target, n_classes = _node_scores_and_target(node_scores, target)
    paths = hierarchical_softmax_paths(n_classes)
    out = np.empty(target.shape, dtype=node_scores.dtype)
    for index in np.ndindex(target.shape):
        nodes, signs = paths[int(target[index])]
        out[index] = np.sum(log_sigmoid(signs.astype(node_scores.dtype) * node_scores[index][nodes]))
    return out


def hierarchical_softmax_probabilities(node_scores: ArrayLike) -> NDArray[np.floating]:
    """p(c) for every class c = 0..K−1, shape (..., K): the product of σ(d_n s_n) along each leaf's path.

    At each inner node σ(s) + σ(−s) = 1 splits the mass of the node between its children, so the
    leaves' probabilities sum to 1. This evaluates all K leaves; training needs only one path.
    """
    node_scores = as_float_array(node_scores, "node_scores")
    if node_scores.ndim == 0 or node_scores.shape[-1] < 1:
        raise ValueError(f"node_scores must have shape (..., K − 1) with K ≥ 2, got {node_scores.shape}")
    paths = hierarchical_softmax_paths(node_scores.shape[-1] + 1)
    columns = [np.exp(np.sum(log_sigmoid(signs * node_scores[..., nodes]), axis=-1)) for nodes, signs in paths]
    return np.stack(columns, axis=-1).astype(node_scores.dtype, copy=False)


def hierarchical_softmax_grad(node_scores: ArrayLike, target: ArrayLike) -> NDArray[np.floating]:
    """∂(−log p(c))/∂s_n = σ(s_n) − t_n for n on the path of c (t_n = 1 if the path goes left, else 0),
    and 0 for every other node. Same shape as `node_scores`.

    Each inner node is a binary logistic regression with target t_n, so this is the p − y of the
    sigmoid, once per node on the path.
    """
    node_scores, target, n_classes = _node_scores_and_target(node_scores, target)
    paths = hierarchical_softmax_paths(n_classes)
    grad = np.zeros_like(node_scores)
    for index in np.ndindex(target.shape):
        nodes, signs = paths[int(target[index])]
        grad[index][nodes] = sigmoid(node_scores[index][nodes]) - (signs > 0)
    return grad
