"""Unit tests for softmax_lib's variants: sigmoid, sparsemax, Gumbel sampling, hierarchical softmax,
and the output-layer gradient check, against PyTorch and central differences, and every bad input."""

import numpy as np
import pytest
import torch

import softmax_lib as sl
from softmax_lib.checks import (
    assert_passed,
    central_difference_jacobian,
    check_hierarchical_softmax,
    check_output_layer_gradients,
    check_sparsemax_jacobian,
    compare,
    finite_difference_tolerance,
    output_layer_grad,
    rounding_tolerance,
    torch_device,
)

RNG_SEED = 4321




# --- sigmoid ----------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_and_log_sigmoid_match_torch(rng, dtype):
    x = np.concatenate([rng.normal(scale=5.0, size=50), [-1e4, -80.0, 0.0, 80.0, 1e4]]).astype(dtype)
    x_t = torch.as_tensor(x, device=torch_device())
    with np.errstate(over="raise"):
        ours, log_ours = sl.sigmoid(x), sl.log_sigmoid(x)
    assert ours.dtype == dtype and log_ours.dtype == dtype
    tol = rounding_tolerance(dtype, 4)
    assert_passed(compare("sigmoid", ours, torch.sigmoid(x_t).cpu().numpy(), tol))
    assert_passed(compare("log_sigmoid", log_ours, torch.nn.functional.logsigmoid(x_t).cpu().numpy(), tol))


def test_sigmoid_is_two_class_softmax(rng):
    z = rng.normal(scale=3.0, size=(20, 2))
    assert_passed(compare("σ(z1 − z2) = softmax(z)_1", sl.sigmoid(z[:, 0] - z[:, 1]), sl.softmax(z)[:, 0],
                          rounding_tolerance(np.float64, 2)))


# --- sparsemax --------------------------------------------------------------------------------

def torch_sparsemax(z):
    """Sparsemax by sorting, in torch, written independently of softmax_lib's."""
    ordered, _ = torch.sort(z, dim=-1, descending=True)
    k = torch.arange(1, z.shape[-1] + 1, dtype=z.dtype, device=z.device)
    cumulative = ordered.cumsum(-1)
    support = (1 + k * ordered > cumulative).sum(-1, keepdim=True)
    tau = (cumulative.gather(-1, support - 1) - 1) / support
    return torch.clamp(z - tau, min=0)


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_sparsemax_matches_torch_and_is_a_sparse_distribution(rng, axis):
    z = rng.normal(scale=2.0, size=(3, 6, 5))
    p = sl.sparsemax(z, axis=axis)
    ref = torch.movedim(torch_sparsemax(torch.movedim(torch.as_tensor(z), axis, -1)), -1, axis).numpy()
    assert_passed(compare("sparsemax vs torch", p, ref, rounding_tolerance(np.float64, z.shape[axis])))
    assert np.all(p >= 0)
    assert_passed(compare("rows sum to 1", p.sum(axis=axis), np.ones(p.sum(axis=axis).shape),
                          rounding_tolerance(np.float64, z.shape[axis])))
    assert np.any(p == 0), "scale-2 logits should give exact zeros"


def test_sparsemax_known_values():
    np.testing.assert_allclose(sl.sparsemax([1.0, 0.5, -3.0]), [0.75, 0.25, 0.0], rtol=0, atol=1e-15)
    np.testing.assert_array_equal(sl.sparsemax([5.0, 0.0, 0.0]), [1.0, 0.0, 0.0])
    np.testing.assert_allclose(sl.sparsemax([0.1, 0.1, 0.1]), [1 / 3] * 3, rtol=0, atol=1e-15)
    assert sl.sparsemax(np.zeros(4, dtype=np.float32)).dtype == np.float32


def test_sparsemax_is_shift_invariant(rng):
    z = rng.normal(size=7)
    assert_passed(compare("shift", sl.sparsemax(z + 100.0), sl.sparsemax(z), rounding_tolerance(np.float64, 7 * 100)))


def test_sparsemax_jacobian_matches_finite_differences_and_torch(rng):
    for size in (3, 8, 20):
        z = rng.normal(scale=1.5, size=size)
        assert_passed(check_sparsemax_jacobian(z))
        z_t = torch.as_tensor(z)
        ref = torch.autograd.functional.jacobian(torch_sparsemax, z_t).numpy()
        assert_passed(compare("sparsemax_jacobian vs torch", sl.sparsemax_jacobian(z), ref,
                              rounding_tolerance(np.float64, size)))


def test_sparsemax_jacobian_batched_layout(rng):
    z = rng.normal(size=(2, 5, 3))
    blocks = sl.sparsemax_jacobian(z, axis=1)
    assert blocks.shape == (2, 3, 5, 5)
    np.testing.assert_array_equal(blocks[1, 2], sl.sparsemax_jacobian(z[1, :, 2]))


def test_sparsemax_jacobian_check_refuses_a_kink():
    with pytest.raises(ValueError, match="kink"):
        check_sparsemax_jacobian([1.0, 0.0, 0.0])  # τ = 0: the zeros sit on the threshold


@pytest.mark.parametrize("bad, error", [(np.array(["a", "b"]), TypeError), (np.zeros((2, 0)), ValueError)])
def test_sparsemax_bad_input(bad, error):
    with pytest.raises(error):
        sl.sparsemax(bad)


# --- Gumbel -----------------------------------------------------------------------------------

def test_gumbel_max_frequencies_match_softmax(rng):
    z = np.array([1.0, 0.0, -1.0, 2.0])
    n = 200_000
    draws = sl.gumbel_max(np.broadcast_to(z, (n, 4)), sl.sample_gumbel((n, 4), rng))
    frequencies = np.bincount(draws, minlength=4) / n
    p = sl.softmax(z)
    standard_error = np.sqrt(p * (1 - p) / n)
    assert np.all(np.abs(frequencies - p) <= 5 * standard_error)


def test_gumbel_softmax_limits(rng):
    z = rng.normal(size=(50, 6))
    g = sl.sample_gumbel(z.shape, rng)
    one_hot = np.eye(6)[sl.gumbel_max(z, g)]
    assert_passed(compare("T → 0 gives one-hot", sl.gumbel_softmax(z, g, 1e-4), one_hot, 1e-12))
    assert_passed(compare("T → ∞ gives uniform", sl.gumbel_softmax(z, g, 1e9), np.full(z.shape, 1 / 6), 1e-8))
    np.testing.assert_array_equal(np.argmax(sl.gumbel_softmax(z, g, 0.7), axis=-1), sl.gumbel_max(z, g))


@pytest.mark.parametrize("temperature", [0.0, -1.0, np.inf, np.nan])
def test_gumbel_softmax_bad_temperature(temperature):
    with pytest.raises(ValueError, match="temperature"):
        sl.gumbel_softmax(np.zeros(3), np.zeros(3), temperature)


def test_sample_gumbel_wants_a_generator():
    with pytest.raises(TypeError, match="rng"):
        sl.sample_gumbel(3, 42)


# --- hierarchical softmax ---------------------------------------------------------------------

@pytest.mark.parametrize("n_classes", [2, 3, 5, 8, 13, 64])
def test_hierarchical_paths_are_a_balanced_prefix_free_tree(n_classes):
    paths = sl.hierarchical_softmax_paths(n_classes)
    assert len(paths) == n_classes
    depths = [len(nodes) for nodes, _ in paths]
    assert max(depths) == int(np.ceil(np.log2(n_classes)))
    assert min(depths) >= int(np.floor(np.log2(n_classes)))
    codes = {tuple(zip(nodes.tolist(), signs.tolist())) for nodes, signs in paths}
    assert len(codes) == n_classes
    assert {int(n) for nodes, _ in paths for n in nodes} == set(range(n_classes - 1))
    assert all(nodes[0] == 0 for nodes, _ in paths)


@pytest.mark.parametrize("n_classes", [2, 5, 16])
def test_hierarchical_probabilities_sum_to_one_and_match_log_prob(rng, n_classes):
    s = rng.normal(scale=3.0, size=(7, n_classes - 1))
    p = sl.hierarchical_softmax_probabilities(s)
    assert p.shape == (7, n_classes)
    assert_passed(compare("leaves sum to 1", p.sum(-1), np.ones(7), rounding_tolerance(np.float64, n_classes)))
    target = rng.integers(0, n_classes, size=7)
    assert_passed(compare("log p", sl.hierarchical_softmax_log_prob(s, target), np.log(p[np.arange(7), target]),
                          rounding_tolerance(np.float64, n_classes)))


def test_hierarchical_two_classes_is_logistic_regression(rng):
    s = rng.normal(size=(5, 1))
    assert_passed(compare("K = 2", sl.hierarchical_softmax_probabilities(s)[:, 0], sl.sigmoid(s[:, 0]),
                          rounding_tolerance(np.float64, 2)))


@pytest.mark.parametrize("n_classes", [2, 7, 16])
def test_hierarchical_gradient_matches_torch(rng, n_classes):
    s = rng.normal(scale=2.0, size=(6, n_classes - 1))
    assert_passed(check_hierarchical_softmax(s, rng.integers(0, n_classes, size=6)))


def test_hierarchical_single_row(rng):
    s = rng.normal(size=4)
    grad = sl.hierarchical_softmax_grad(s, np.int64(3))
    assert grad.shape == (4,)
    assert_passed(compare("single row", grad, central_difference_jacobian(
        lambda x: -sl.hierarchical_softmax_log_prob(x, np.int64(3)), s), finite_difference_tolerance(np.float64)))


@pytest.mark.parametrize(
    "scores, target, error, match",
    [
        (np.zeros((2, 3)), np.array([0, 4]), IndexError, "out of range"),
        (np.zeros((2, 3)), np.array([0.0, 1.0]), ValueError, "integer class indices"),
        (np.zeros((2, 3)), np.array([0, 1, 2]), ValueError, "shape"),
        (np.zeros((2, 0)), np.zeros(2, dtype=int), ValueError, "node_scores"),
    ],
)
def test_hierarchical_bad_input(scores, target, error, match):
    with pytest.raises(error, match=match):
        sl.hierarchical_softmax_log_prob(scores, target)
    with pytest.raises(error, match=match):
        sl.hierarchical_softmax_grad(scores, target)


@pytest.mark.parametrize("n_classes", [1, 0, 2.5, True])
def test_hierarchical_paths_bad_n_classes(n_classes):
    with pytest.raises(ValueError, match="n_classes"):
        sl.hierarchical_softmax_paths(n_classes)


# --- output layer -----------------------------------------------------------------------------

def test_output_layer_gradient_matches_torch(rng):
    weights, bias = rng.normal(size=(5, 4)), rng.normal(size=5)
    activations, target = rng.normal(size=(8, 4)), rng.integers(0, 5, size=8)
    assert_passed(check_output_layer_gradients(activations, weights, bias, target))


def test_output_layer_gradient_matches_finite_differences(rng):
    weights, bias = rng.normal(size=(3, 2)), rng.normal(size=3)
    activations, target = rng.normal(size=(4, 2)), rng.integers(0, 3, size=4)
    grad_w, grad_b = output_layer_grad(weights, bias, activations, target)
    loss_w = lambda w: sl.cross_entropy(activations @ w.T + bias, target)  # noqa: E731
    loss_b = lambda b: sl.cross_entropy(activations @ weights.T + b, target)  # noqa: E731
    tol = finite_difference_tolerance(np.float64)
    assert_passed(compare("∂C/∂W", grad_w, central_difference_jacobian(loss_w, weights), tol))
    assert_passed(compare("∂C/∂b", grad_b, central_difference_jacobian(loss_b, bias), tol))


def test_gumbel_max_broadcasts_one_logit_vector_over_many_draws(rng):
    z = np.array([0.5, -1.0, 2.0])
    g = sl.sample_gumbel((4, 3), rng)
    np.testing.assert_array_equal(sl.gumbel_max(z, g), np.argmax(z + g, axis=1))
    assert sl.gumbel_softmax(z, g, 1.0).shape == (4, 3)
