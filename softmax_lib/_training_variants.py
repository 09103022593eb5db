"""Training losses of the variants, in NumPy: hierarchical softmax scored along the target's path only,
Huffman trees from class frequencies, the sparsemax loss and sparsemax's O(K) backward pass."""

from __future__ import annotations

import functools
import heapq

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._validation import as_float_array
from ._variants import log_sigmoid, sigmoid, sparsemax

__all__ = [
    "huffman_tree_paths",
    "path_table",
    "balanced_path_table",
    "hierarchical_softmax_loss",
    "sparsemax_loss",
    "sparsemax_loss_grad",
    "sparsemax_vjp",
]


def huffman_tree_paths(frequencies: ArrayLike) -> list[tuple[NDArray[np.intp], NDArray[np.float64]]]:
    """Root-to-leaf paths of the Huffman tree of K classes with the given frequencies (Mikolov et al. 2013).

    The two least frequent subtrees are merged until one is left, so a class of frequency f_c gets a
    path of about −log₂ f_c nodes and the mean path length Σ_c f_c L_c lies in [H(f), H(f) + 1),
    H the entropy in bits. The format is `hierarchical_softmax_paths`'s: for each class, the inner
    nodes on its path (0..K−2, root 0) and the direction taken, +1 left, −1 right.

    Parameters
    ----------
    frequencies : array_like, shape (K,)
        Positive finite counts or probabilities of the K ≥ 2 classes; ties are broken by class index.

    Returns
    -------
    list of (nodes, signs)
        Per class, an integer array of inner nodes and a float array of ±1 directions.

    Examples
    --------
    >>> [len(nodes) for nodes, _ in huffman_tree_paths([8, 4, 2, 1, 1])]
    [1, 2, 3, 4, 4]
    """
    f = np.asarray(frequencies, dtype=np.float64)
    if f.ndim != 1 or f.size < 2 or not np.all(np.isfinite(f)) or np.any(f <= 0):
        raise ValueError(f"frequencies must be a 1-D array of K ≥ 2 positive finite numbers, got {frequencies!r}")
    n_classes = f.size
    # Heap entries (weight, tie-break, node id); ids 0..K−1 are leaves, K.. are inner nodes in merge order.
    heap = [(float(w), c, c) for c, w in enumerate(f)]
    heapq.heapify(heap)
    children = {}
    next_id = n_classes
    while len(heap) > 1:
        w_left, _, left = heapq.heappop(heap)
        w_right, _, right = heapq.heappop(heap)
        children[next_id] = (left, right)
        heapq.heappush(heap, (w_left + w_right, next_id, next_id))
        next_id += 1
    root = next_id - 1
    paths: list[tuple[list[int], list[float]]] = [([], []) for _ in range(n_classes)]
    stack = [(root, [], [])]
    while stack:
        node, nodes, signs = stack.pop()
        if node < n_classes:
            paths[node] = (nodes, signs)
            continue
        inner = root - node  # the root is inner node 0, as in the balanced tree
        left, right = children[node]
        stack.append((left, nodes + [inner], signs + [1.0]))
        stack.append((right, nodes + [inner], signs + [-1.0]))
    return [(np.array(nodes, dtype=np.intp), np.array(signs)) for nodes, signs in paths]


def path_table(paths) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    """The paths of a tree as two (K, L) arrays, L the longest path: inner nodes and directions ±1,
    padded with node 0 and direction 0 (padding is neither scored nor differentiated).

    Built once per tree, so that `hierarchical_softmax_loss` looks a batch's paths up in O(N·L).

    Parameters
    ----------
    paths : list of (nodes, signs)
        From `hierarchical_softmax_paths` or `huffman_tree_paths`.

    Returns
    -------
    nodes : ndarray of int, shape (K, L)
    signs : ndarray, shape (K, L)

    Examples
    --------
    >>> nodes, signs = path_table(huffman_tree_paths([2, 1, 1]))
    >>> nodes.tolist(), signs.tolist()
    ([[0, 0], [0, 1], [0, 1]], [[1.0, 0.0], [-1.0, 1.0], [-1.0, -1.0]])
    """
    depth = max(len(nodes) for nodes, _ in paths)
    nodes = np.zeros((len(paths), depth), dtype=np.intp)
    signs = np.zeros((len(paths), depth))
    for c, (path_nodes, path_signs) in enumerate(paths):
        nodes[c, : len(path_nodes)] = path_nodes
        signs[c, : len(path_signs)] = path_signs
    nodes.flags.writeable = signs.flags.writeable = False
    return nodes, signs


@functools.lru_cache(maxsize=16)
def balanced_path_table(n_classes: int) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    """``path_table(hierarchical_softmax_paths(K))``, computed for all K classes at once in O(K log K).

    Every class descends the balanced tree together: the subtree [lo, hi) with root r splits at
    mid = lo + ⌈(hi − lo)/2⌉; in preorder its left child is r + 1 and its right child r + (mid − lo),
    since the left subtree holds mid − lo − 1 inner nodes.

    Parameters
    ----------
    n_classes : int
        K ≥ 2.

    Returns
    -------
    nodes : ndarray of int, shape (K, ⌈log₂ K⌉)
    signs : ndarray, shape (K, ⌈log₂ K⌉)

    Examples
    --------
    >>> balanced_path_table(3)[0].tolist()
    [[0, 1], [0, 1], [0, 0]]
    """
    if not isinstance(n_classes, (int, np.integer)) or isinstance(n_classes, bool) or n_classes < 2:
        raise ValueError(f"n_classes must be an integer ≥ 2, got {n_classes!r}")
    classes = np.arange(n_classes)
    lo, hi, root = np.zeros(n_classes, dtype=np.intp), np.full(n_classes, n_classes), np.zeros(n_classes, dtype=np.intp)
    depth = int(np.ceil(np.log2(n_classes)))
    nodes, signs = np.zeros((n_classes, depth), dtype=np.intp), np.zeros((n_classes, depth))
    for level in range(depth):
        inner = hi - lo > 1  # classes whose path has not reached their leaf yet
        mid = lo + (hi - lo + 1) // 2
        left = classes < mid
        nodes[:, level] = np.where(inner, root, 0)
        signs[:, level] = np.where(inner, np.where(left, 1.0, -1.0), 0.0)
        root = np.where(inner, np.where(left, root + 1, root + mid - lo), root)
        lo, hi = np.where(inner & ~left, mid, lo), np.where(inner & left, mid, hi)
    nodes.flags.writeable = signs.flags.writeable = False
    return nodes, signs


def hierarchical_softmax_loss(
    hidden: ArrayLike, node_vectors: ArrayLike, target: ArrayLike, tree=None
) -> tuple[NDArray[np.floating], NDArray[np.floating], NDArray[np.intp], NDArray[np.floating]]:
    """−log p(c_n | h_n) = −Σ_{m on the path of c_n} log σ(d_m u_mᵀ h_n), and its gradients, scoring only the path.

    Only the L ≤ depth nodes on each target's path are scored, so a row costs O(D·L) = O(D log K)
    for a balanced tree, against O(D·K) for a flat softmax over K scores uᵀh. The gradient of each
    node score s_m = u_mᵀ h is σ(s_m) − t_m (t_m = 1 if the path goes left): ∂/∂h = Σ_m (σ(s_m) − t_m) u_m
    and ∂/∂u_m = (σ(s_m) − t_m) h.

    Parameters
    ----------
    hidden : array_like, shape (N, D)
        The rows' hidden vectors h_n.
    node_vectors : array_like, shape (K − 1, D)
        One vector u_m per inner node of the tree.
    target : array_like of int, shape (N,)
        Class indices in 0..K−1.
    tree : (nodes, signs), optional
        The tree's `path_table`, e.g. ``path_table(huffman_tree_paths(frequencies))``; by default the
        balanced tree of `hierarchical_softmax_paths`.

    Returns
    -------
    losses : ndarray, shape (N,)
        −log p(c_n | h_n) per row.
    grad_hidden : ndarray, shape (N, D)
        ∂(Σ_n losses_n)/∂h.
    nodes : ndarray of int, shape (N, L)
        The inner nodes on each row's path, padded with node 0 (whose padded gradient rows are 0).
    grad_node_rows : ndarray, shape (N, L, D)
        ∂(Σ_n losses_n)/∂u for those nodes: ``np.add.at(G, nodes, grad_node_rows)`` adds them into a
        dense (K − 1, D) gradient G.

    Examples
    --------
    >>> losses, *_ = hierarchical_softmax_loss(np.ones((1, 2)), np.zeros((3, 2)), [0])
    >>> bool(np.isclose(losses[0], 2 * np.log(2)))
    True
    """
    h = as_float_array(np.asarray(hidden), "hidden")
    u = as_float_array(np.asarray(node_vectors), "node_vectors")
    if h.ndim != 2 or u.ndim != 2 or u.shape[1] != h.shape[1] or u.shape[0] < 1:
        raise ValueError(f"hidden must have shape (N, D) and node_vectors (K − 1, D), got {h.shape} and {u.shape}")
    n_classes = u.shape[0] + 1
    target = np.asarray(target)
    if not np.issubdtype(target.dtype, np.integer) or target.shape != h.shape[:1]:
        raise ValueError(
            f"target must be integer class indices of shape ({h.shape[0]},), got {target.dtype} {target.shape}"
        )
    if target.size and (target.min() < 0 or target.max() >= n_classes):
        raise IndexError(f"target class index out of range for {n_classes} classes")
    all_nodes, all_signs = balanced_path_table(n_classes) if tree is None else tree
    if len(all_nodes) != n_classes:
        raise ValueError(f"tree has {len(all_nodes)} classes but node_vectors has K − 1 = {n_classes - 1} rows")
    nodes, signs = all_nodes[target], all_signs[target].astype(h.dtype)
    path_vectors = u[nodes]  # (N, L, D): only the path's rows are read
    scores = np.einsum("nld,nd->nl", path_vectors, h)
    on_path = signs != 0
    losses = -np.sum(np.where(on_path, log_sigmoid(signs * scores), 0), axis=1)
    # σ(s) − t with t = 1 for a left turn (sign +1), 0 for a right turn; 0 on padding.
    score_grad = np.where(on_path, sigmoid(scores) - (signs > 0), 0).astype(h.dtype)
    grad_hidden = np.einsum("nl,nld->nd", score_grad, path_vectors)
    grad_node_rows = score_grad[:, :, None] * h[:, None, :]
    return losses, grad_hidden, nodes, grad_node_rows


def _sparsemax_target(z: np.ndarray, target: ArrayLike) -> np.ndarray:
    target = np.asarray(target)
    if not np.issubdtype(target.dtype, np.integer) or target.shape != z.shape[:-1]:
        raise ValueError(
            f"target must be integer class indices of shape {z.shape[:-1]}, got {target.dtype} {target.shape}"
        )
    if target.size and (target.min() < 0 or target.max() >= z.shape[-1]):
        raise IndexError(f"target class index out of range for {z.shape[-1]} classes")
    return target


def sparsemax_loss(z: ArrayLike, target: ArrayLike) -> NDArray[np.floating]:
    """L(z; k) = −z_k + ½ Σ_{j∈S(z)} (z_j² − τ(z)²) + ½ (Martins & Astudillo 2016), classes on the last axis.

    Equivalently L = ½‖e_k − z‖² − ½‖p − z‖² with p = sparsemax(z): L ≥ 0, and L = 0 exactly when
    p = e_k, i.e. when z_k exceeds every other score by at least 1. Its gradient is p − e_k
    (`sparsemax_loss_grad`), the same "prediction minus target" as softmax with cross-entropy.

    Parameters
    ----------
    z : array_like, shape (..., K)
        Scores.
    target : array_like of int, shape (...)
        Class indices.

    Returns
    -------
    ndarray, shape (...)
        The loss per row.

    Examples
    --------
    >>> float(sparsemax_loss([2.0, 0.0, 0.0], 0))
    0.0
    """
    z = as_float_array(np.asarray(z), "z")
    target = _sparsemax_target(z, target)
    p = sparsemax(z)
    # τ = z_j − p_j on the support; the j-independent form keeps one subtraction per entry.
    tau = np.max(np.where(p > 0, z - p, -np.inf), axis=-1, keepdims=True)
    squares = np.sum(np.where(p > 0, (z - tau) * (z + tau), 0), axis=-1)
    z_target = np.take_along_axis(z, target[..., None], axis=-1)[..., 0]
    return -z_target + squares / 2 + 0.5


def sparsemax_loss_grad(z: ArrayLike, target: ArrayLike) -> NDArray[np.floating]:
    """∂L/∂z = sparsemax(z) − e_k, shape (..., K): the gradient of `sparsemax_loss`.

    Parameters
    ----------
    z : array_like
        Logits, classes on the last axis (NumPy).
    target : array_like
        Class indices k, of z's shape without the last axis.

    Returns
    -------
    numpy.ndarray
        Of z's shape and floating dtype.

    Examples
    --------
    >>> sparsemax_loss_grad([1.5, 1.0, 0.2, -1.0], 1).tolist()
    [0.75, -0.75, 0.0, 0.0]
    """
    z = as_float_array(np.asarray(z), "z")
    target = _sparsemax_target(z, target)
    grad = sparsemax(z)
    np.put_along_axis(grad, target[..., None], np.take_along_axis(grad, target[..., None], axis=-1) - 1, axis=-1)
    return grad


def sparsemax_vjp(z: ArrayLike, v: ArrayLike) -> NDArray[np.floating]:
    """Jᵀv = s ⊙ (v − (Σ_{j∈S} v_j)/|S|) for sparsemax's Jacobian J, in O(K), classes on the last axis.

    J = diag(s) − s sᵀ/|S| is symmetric, so this is also Jv; s is the indicator of the support S.
    Forming J costs O(K²).

    Parameters
    ----------
    z : array_like
        Logits, classes on the last axis (NumPy).
    v : array_like
        The vector per row, of z's shape.

    Returns
    -------
    numpy.ndarray
        Jᵀv, of z's shape and floating dtype.

    Examples
    --------
    >>> sparsemax_vjp([1.5, 1.0, 0.2, -1.0], [1.0, 0.0, 5.0, 5.0]).tolist()
    [0.5, -0.5, 0.0, 0.0]
    """
    z = as_float_array(np.asarray(z), "z")
    v = as_float_array(np.asarray(v), "v")
    if v.shape != z.shape:
        raise ValueError(f"v must have z's shape {z.shape}, got {v.shape}")
    s = sparsemax(z) > 0
    support_mean = np.sum(np.where(s, v, 0), axis=-1, keepdims=True) / np.sum(s, axis=-1, keepdims=True)
    return np.where(s, v - support_mean, 0).astype(z.dtype, copy=False)
