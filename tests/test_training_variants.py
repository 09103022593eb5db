"""Unit tests for the variants' training functions: hierarchical softmax scored along the path, Huffman
trees, the sparsemax loss and sparsemax's O(K) backward, against torch autograd and central differences."""

import numpy as np
import pytest

import softmax_lib as sl
from softmax_lib.checks import (
    assert_passed,
    check_hierarchical_softmax_loss,
    check_sparsemax_loss,
    check_sparsemax_vjp,
    compare,
    hierarchical_path_scales,
    hierarchical_path_units,
    sparsemax_loss_units,
    summation_units,
    unit_roundoff,
)
from softmax_lib.checks.tolerance import EXP_UNITS

RNG_SEED = 2026


# --- Huffman trees ----------------------------------------------------------------------------


def test_huffman_paths_are_a_complete_prefix_free_code_with_optimal_length(rng):
    frequencies = 1.0 / np.arange(1, 201)  # Zipf
    f = frequencies / frequencies.sum()
    paths = sl.huffman_tree_paths(frequencies)
    codes = [tuple(signs) for _, signs in paths]
    assert len(set(codes)) == 200
    for a in codes:
        for b in codes:
            assert a == b or a != b[: len(a)], "a code is a prefix of another"
    depths = np.array([len(nodes) for nodes, _ in paths])
    assert np.sum(2.0**-depths) == 1.0  # Kraft equality: a full binary tree
    entropy = -np.sum(f * np.log2(f))
    assert entropy <= np.sum(f * depths) < entropy + 1
    assert depths[0] < depths[-1]  # the frequent class has the short path
    inner = sorted({int(n) for nodes, _ in paths for n in nodes})
    assert inner == list(range(199)) and all(nodes[0] == 0 for nodes, _ in paths)


def test_huffman_of_equal_frequencies_is_balanced():
    assert [len(nodes) for nodes, _ in sl.huffman_tree_paths(np.ones(16))] == [4] * 16


@pytest.mark.parametrize("bad", [[1.0], [[1.0, 2.0]], [1.0, 0.0], [1.0, np.nan], [1.0, -2.0]])
def test_huffman_bad_frequencies(bad):
    with pytest.raises(ValueError, match="frequencies must be"):
        sl.huffman_tree_paths(bad)


@pytest.mark.parametrize("n_classes", list(range(2, 70)) + [300, 1000, 4097])
def test_balanced_path_table_is_the_balanced_tree(n_classes):
    nodes, signs = sl.balanced_path_table(n_classes)
    reference_nodes, reference_signs = sl.path_table(sl.hierarchical_softmax_paths(n_classes))
    assert np.array_equal(nodes, reference_nodes) and np.array_equal(signs, reference_signs)


@pytest.mark.parametrize("bad", [1, 2.0, True])
def test_balanced_path_table_bad_n_classes(bad):
    with pytest.raises(ValueError, match="n_classes must be"):
        sl.balanced_path_table(bad)


# --- hierarchical softmax along the path --------------------------------------------------------


@pytest.mark.parametrize("tree", ["balanced", "huffman"])
def test_hierarchical_loss_matches_torch(rng, tree):
    n_classes = 37
    paths = None if tree == "balanced" else sl.huffman_tree_paths(rng.integers(1, 1000, n_classes))
    hidden, node_vectors = rng.normal(size=(8, 5)), rng.normal(size=(n_classes - 1, 5))
    assert_passed(check_hierarchical_softmax_loss(hidden, node_vectors, rng.integers(0, n_classes, 8), paths))


@pytest.mark.parametrize("tree", ["balanced", "huffman"])
def test_hierarchical_loss_is_a_distribution_over_classes(rng, tree):
    n_classes = 50
    paths = None if tree == "balanced" else sl.huffman_tree_paths(rng.integers(1, 1000, n_classes))
    node_vectors, h = rng.normal(size=(n_classes - 1, 3)), rng.normal(size=3)
    tree = None if paths is None else sl.path_table(paths)
    hidden, classes = np.tile(h, (n_classes, 1)), np.arange(n_classes)
    losses, *_ = sl.hierarchical_softmax_loss(hidden, node_vectors, classes, tree)
    # p(c) = exp(−loss_c) is within (units·scale_c + EXP_UNITS)u relative, the sum of K of them adds K − 1.
    loss_scale, *_ = hierarchical_path_scales(hidden, node_vectors, classes, tree)
    depth = 6 if tree is None else tree[0].shape[1]
    units = hierarchical_path_units(3, depth) * loss_scale.max() + EXP_UNITS + summation_units(n_classes)
    assert_passed(
        compare("Σ_c p(c) = 1", np.sum(np.exp(-losses)), 1.0, units * unit_roundoff(np.float64), measure="relative")
    )


def test_hierarchical_loss_agrees_with_the_node_score_form(rng):
    node_vectors, hidden = rng.normal(size=(19, 4)), rng.normal(size=(6, 4))
    target = rng.integers(0, 20, 6)
    losses, *_ = sl.hierarchical_softmax_loss(hidden, node_vectors, target)
    reference = -sl.hierarchical_softmax_log_prob(hidden @ node_vectors.T, target)
    # Both sides score the path with D products and sum L log-sigmoids: one bound each.
    loss_scale, *_ = hierarchical_path_scales(hidden, node_vectors, target)
    assert_passed(
        compare(
            "path loss vs all-node-scores form",
            losses,
            reference,
            2 * hierarchical_path_units(4, 5) * unit_roundoff(np.float64),
            measure="scaled",
            scale=loss_scale,
        )
    )


def test_hierarchical_loss_reads_only_the_path(rng):
    node_vectors, hidden = rng.normal(size=(63, 4)), rng.normal(size=(1, 4))
    nodes, _ = sl.hierarchical_softmax_paths(64)[17]
    poisoned = np.full_like(node_vectors, np.nan)
    poisoned[nodes] = node_vectors[nodes]
    losses, grad_hidden, *_ = sl.hierarchical_softmax_loss(hidden, poisoned, [17])
    assert np.all(np.isfinite(losses)) and np.all(np.isfinite(grad_hidden))


@pytest.mark.parametrize(
    "hidden, vectors, target, error",
    [
        (np.ones(3), np.ones((2, 3)), [0], ValueError),
        (np.ones((1, 3)), np.ones((2, 4)), [0], ValueError),
        (np.ones((1, 3)), np.ones((2, 3)), [0.0], ValueError),
        (np.ones((1, 3)), np.ones((2, 3)), [3], IndexError),
    ],
)
def test_hierarchical_loss_bad_input(hidden, vectors, target, error):
    with pytest.raises(error):
        sl.hierarchical_softmax_loss(hidden, vectors, np.asarray(target))


def test_hierarchical_loss_paths_must_fit():
    with pytest.raises(ValueError, match="tree has 3 classes"):
        sl.hierarchical_softmax_loss(
            np.ones((1, 2)), np.ones((4, 2)), [0], sl.path_table(sl.hierarchical_softmax_paths(3))
        )


# --- sparsemax loss and backward -----------------------------------------------------------------


@pytest.mark.parametrize("n_classes", [2, 5, 30])
def test_sparsemax_loss_and_gradient_match_torch(rng, n_classes):
    z = rng.normal(scale=1.5, size=(10, n_classes))
    assert_passed(check_sparsemax_loss(z, rng.integers(0, n_classes, 10)))


def test_sparsemax_loss_is_zero_exactly_beyond_margin_one(rng):
    z = rng.normal(size=(200, 6))
    target = rng.integers(0, 6, 200)
    rows = np.arange(200)
    others = np.where(np.arange(6) == target[:, None], -np.inf, z).max(axis=1)
    z[rows, target] = others + rng.uniform(-1.5, 1.5, 200)
    margin = z[rows, target] - others
    loss = sl.sparsemax_loss(z, target)
    tolerance = sparsemax_loss_units(6) * unit_roundoff(np.float64) * (1 + np.max(np.abs(z), axis=1)) ** 2
    assert np.all(loss >= -tolerance)
    assert np.all(np.abs(loss[margin >= 1]) <= tolerance[margin >= 1])
    # Below margin 1 the loss is positive: with q = (1 − a)e_t + a e_j (j the runner-up) in its max over the
    # simplex, L ≥ a(1 − margin) − a², which is (1 − margin)²/4 at a = (1 − margin)/2. Where that exceeds twice
    # the tolerance, a computed loss within the tolerance exceeds it too.
    clear = (margin < 1) & ((1 - margin) ** 2 / 4 > 2 * tolerance)
    assert np.any(clear)  # not vacuous
    assert np.all(loss[clear] > tolerance[clear])


def test_sparsemax_loss_is_shift_invariant(rng):
    z, target = rng.normal(size=(5, 7)), rng.integers(0, 7, 5)
    # One bound per side, relative to r² with r = 1 + max|z|, the larger of the two; rounding z + 3 moves the
    # loss by at most ‖p − e_k‖₁·u·r ≤ 2u·r.
    r = 1 + np.maximum(np.max(np.abs(z), axis=1), np.max(np.abs(z + 3.0), axis=1))
    assert_passed(
        compare(
            "L(z + c) = L(z)",
            sl.sparsemax_loss(z + 3.0, target),
            sl.sparsemax_loss(z, target),
            (2 * sparsemax_loss_units(7) + 2) * unit_roundoff(np.float64),
            measure="scaled",
            scale=r**2,
        )
    )


@pytest.mark.parametrize("n_classes", [2, 8, 40])
def test_sparsemax_vjp_matches_dense_jacobian_and_torch(rng, n_classes):
    z = rng.normal(scale=1.5, size=(7, n_classes))
    assert_passed(check_sparsemax_vjp(z, rng.normal(size=z.shape)))


def test_sparsemax_vjp_shape_mismatch():
    with pytest.raises(ValueError, match="v must have z's shape"):
        sl.sparsemax_vjp(np.zeros(3), np.zeros(4))


def test_sparsemax_loss_bad_target():
    with pytest.raises(ValueError, match="target must be integer"):
        sl.sparsemax_loss(np.zeros((2, 3)), np.zeros(2))
    with pytest.raises(IndexError):
        sl.sparsemax_loss_grad(np.zeros((2, 3)), np.array([0, 3]))


def test_float32_matches_float64(rng):
    hidden, node_vectors = rng.normal(size=(6, 8)), rng.normal(size=(30, 8)) / 3
    target = rng.integers(0, 31, 6)
    low = sl.hierarchical_softmax_loss(hidden.astype(np.float32), node_vectors.astype(np.float32), target)
    high = sl.hierarchical_softmax_loss(hidden, node_vectors, target)
    assert low[0].dtype == low[1].dtype == low[3].dtype == np.float32
    # The float32 side's bound, with D + 2 units per score (its two rounded factors per product) and one
    # more for the rounded u_m or h in a gradient; the float64 side's error is negligible against it.
    u32, units = unit_roundoff(np.float32), hierarchical_path_units(8 + 2, 5)
    scales = hierarchical_path_scales(hidden, node_vectors, target)
    for ours, reference, scale, extra in zip((low[0], low[1], low[3]), (high[0], high[1], high[3]), scales, (0, 2, 2)):
        assert_passed(
            compare(
                "hierarchical float32 vs float64", ours, reference, (units + extra) * u32, measure="scaled", scale=scale
            )
        )
    z = rng.normal(size=(5, 9))
    k = rng.integers(0, 9, 5)
    # float32 side's bound, relative to r² (loss) or r (gradient p − e_k), r = 1 + max|z|, plus the inputs'
    # rounding: it moves the loss by ≤ ‖p − e_k‖₁·u·r ≤ 2u·r and p by ≤ 2u·r (p_i = z_i − τ, τ a mean over S).
    r = 1 + np.max(np.abs(z), axis=1, keepdims=True)
    for fn, units, scale in (
        (sl.sparsemax_loss, sparsemax_loss_units(9) + 2, r[:, 0] ** 2),
        (sl.sparsemax_loss_grad, 9 + 5 + 2, r),
    ):
        out = fn(z.astype(np.float32), k)
        assert out.dtype == np.float32
        assert_passed(compare(fn.__name__, out, fn(z, k), units * u32, measure="scaled", scale=scale))
    assert sl.sparsemax_vjp(z.astype(np.float32), z.astype(np.float32)).dtype == np.float32
