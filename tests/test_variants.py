"""Unit tests for softmax_lib's variants: sigmoid, sparsemax, Gumbel sampling, hierarchical softmax,
and the output-layer gradient check, against PyTorch and central differences, and every bad input."""

import numpy as np
import pytest
import torch

import softmax_lib as sl
from softmax_lib.checks import (
    EXP_UNITS,
    THIRD_DERIVATIVE_SOFTMAX,
    assert_passed,
    central_difference_error,
    central_difference_jacobian,
    check_hierarchical_softmax,
    check_output_layer_gradients,
    check_sparsemax_jacobian,
    compare,
    loss_units,
    output_layer_grad,
    shifted_softmax_bound_units,
    smallest_normal,
    softmax64,
    softmax_bound_units,
    softmax_error_scale,
    to_torch,
    torch_sparsemax,
    unit_roundoff,
)

RNG_SEED = 4321
U64 = unit_roundoff(np.float64)
# σ(x) = 1/(1 + e^(−|x|)) or e^(−|x|)/(1 + e^(−|x|)): exp, one addition, one division; log σ(x) = min(x, 0) −
# log1p(e^(−|x|)) within as many units of |log σ| + 1 (softmax_lib.checks.variants states the same).
SIGMOID_UNITS = EXP_UNITS + 3


def depth_of(n_classes):
    return int(np.ceil(np.log2(n_classes)))


def hierarchical_units(n_classes):
    """log p, a sum of d terms log σ(±s), within (SIGMOID_UNITS·d + d − 1)·u of |log p| + d."""
    d = depth_of(n_classes)
    return SIGMOID_UNITS * d + d - 1


# --- sigmoid ----------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_and_log_sigmoid_match_torch(rng, dtype):
    x = np.concatenate([rng.normal(scale=5.0, size=50), [-1e4, -80.0, 0.0, 80.0, 1e4]]).astype(dtype)
    x_t = to_torch(x)
    with np.errstate(over="raise"):
        ours, log_ours = sl.sigmoid(x), sl.log_sigmoid(x)
    assert ours.dtype == dtype and log_ours.dtype == dtype
    # both sides within SIGMOID_UNITS: σ relative to itself (absolute below the smallest normal number), log σ
    # relative to |log σ| + 1
    ref, log_ref = torch.sigmoid(x_t), torch.nn.functional.logsigmoid(x_t)
    tol = 2 * SIGMOID_UNITS * unit_roundoff(dtype)
    ref64 = ref.cpu().double().numpy()
    assert_passed(compare("sigmoid", ours, ref, tol, measure="scaled", scale=np.maximum(ref64, smallest_normal(dtype))))
    assert_passed(
        compare(
            "log_sigmoid", log_ours, log_ref, tol, measure="scaled", scale=np.abs(log_ref.cpu().double().numpy()) + 1
        )
    )


def test_sigmoid_is_two_class_softmax(rng):
    z = rng.normal(scale=3.0, size=(20, 2))
    # left: z1 − z2 rounded (moves σ by |z1 − z2|·u relative, as |d log σ/dx| ≤ 1) and σ's SIGMOID_UNITS;
    # right: softmax's |z_1 − m| + K + 4 + log K; each entry's bound in the scale
    p = softmax64(z)[:, 0]
    units = np.abs(z[:, 0] - z[:, 1]) + SIGMOID_UNITS + shifted_softmax_bound_units(z)[:, 0]
    assert_passed(
        compare(
            "σ(z1 − z2) = softmax(z)_1",
            sl.sigmoid(z[:, 0] - z[:, 1]),
            sl.softmax(z)[:, 0],
            U64,
            measure="scaled",
            scale=p * units,
        )
    )


# --- sparsemax --------------------------------------------------------------------------------


def sparsemax_units(n_classes):
    """K + 3: sparsemax's absolute error in u. z' = z − m rounded (u, |z'| ≤ 1 on the support S), τ = (Σ_S z' − 1)/|S|
    a sum of |S| + 1 terms of size ≤ 1 (|S|·u·(|S| + 1)/|S|) and a division (u), p = z' − τ (u)."""
    return n_classes + 3


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_sparsemax_matches_torch_and_is_a_sparse_distribution(rng, axis):
    z = rng.normal(scale=2.0, size=(3, 6, 5))
    p = sl.sparsemax(z, axis=axis)
    ref = torch.movedim(torch_sparsemax(torch.movedim(torch.as_tensor(z), axis, -1)), -1, axis).numpy()
    k = z.shape[axis]
    # ours shifts by max z: within sparsemax_units(K)·u absolute; torch's sums the unshifted sorted z: τ within
    # (K + 2)·u·(max|z| + 1); normwise, both over max p
    torch_units = (k + 2) * (float(np.max(np.abs(z))) + 1)
    assert_passed(compare("sparsemax vs torch", p, ref, (sparsemax_units(k) + torch_units) * U64 / np.max(ref)))
    assert np.all(p >= 0)
    # K entries each within sparsemax_units(K)·u, and the sum K − 1
    assert_passed(
        compare(
            "rows sum to 1",
            p.sum(axis=axis),
            np.ones(p.sum(axis=axis).shape),
            (k * sparsemax_units(k) + k - 1) * U64,
            measure="relative",
        )
    )
    assert np.any(p == 0), "scale-2 logits should give exact zeros"


def test_sparsemax_known_values():
    # within sparsemax_units(K)·u absolute, normwise over max p (the exact values are 3/4, 1/4, 0 and 1/3)
    tol = sparsemax_units(3) * U64
    assert_passed(compare("τ = 1/4", sl.sparsemax([1.0, 0.5, -3.0]), [0.75, 0.25, 0.0], tol / 0.75))
    assert not compare("softmax instead", sl.softmax([1.0, 0.5, -3.0]), [0.75, 0.25, 0.0], tol / 0.75).passed
    np.testing.assert_array_equal(sl.sparsemax([5.0, 0.0, 0.0]), [1.0, 0.0, 0.0])
    assert_passed(compare("uniform", sl.sparsemax([0.1, 0.1, 0.1]), [1 / 3] * 3, tol * 3))
    in_float32 = sl.sparsemax(np.full(3, 0.1, dtype=np.float32))  # float32 arithmetic where float64 is promised
    assert not compare("float32 arithmetic", in_float32, [1 / 3] * 3, tol * 3).passed
    assert sl.sparsemax(np.zeros(4, dtype=np.float32)).dtype == np.float32


def test_sparsemax_is_shift_invariant(rng):
    z = rng.normal(size=7)
    # z + 100 rounds each entry by ≤ u(|z| + 100), which moves p_i = z_i − τ by ≤ 2u(max|z| + 100); both sides
    # within sparsemax_units(K)·u; normwise over max p
    p = sl.sparsemax(z)
    units = 2 * sparsemax_units(7) + 2 * (float(np.max(np.abs(z))) + 100)
    assert_passed(compare("shift", sl.sparsemax(z + 100.0), p, units * U64 / np.max(p)))


def test_sparsemax_jacobian_matches_finite_differences_and_torch(rng):
    for size in (3, 8, 20):
        z = rng.normal(scale=1.5, size=size)
        assert_passed(check_sparsemax_jacobian(z))
        z_t = torch.as_tensor(z)
        ref = torch.autograd.functional.jacobian(torch_sparsemax, z_t).numpy()
        # entries δ_ij − 1/|S| (0 off the support): 1/|S| and the difference rounded, ≤ 2u·max|J| per side
        # (max|J| = 1 − 1/|S| ≥ 1/2 unless |S| = 1, when J = 0 exactly); normwise
        assert_passed(compare("sparsemax_jacobian vs torch", sl.sparsemax_jacobian(z), ref, 4 * U64))


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
    # Bernstein's inequality for a frequency of n Bernoulli(p_k) draws: P(|f_k − p_k| ≥ t) ≤ 2 exp(−n t² / (2 p_k
    # (1 − p_k) + 2t/3)). With t solving 2 exp(...) = δ/K, all K frequencies are within t with probability ≥ 1 − δ.
    failure_probability = 1e-9
    log_term = np.log(2 * len(p) / failure_probability)
    bound = (log_term / 3 + np.sqrt(log_term**2 / 9 + 2 * n * log_term * p * (1 - p))) / n
    assert np.all(np.abs(frequencies - p) <= bound)
    # the noise with the wrong sign, argmax(z − g), samples another distribution: rejected
    wrong = np.bincount(sl.gumbel_max(np.broadcast_to(z, (n, 4)), -sl.sample_gumbel((n, 4), rng)), minlength=4) / n
    assert not np.all(np.abs(wrong - p) <= bound)


def test_gumbel_softmax_limits(rng):
    z = rng.normal(size=(50, 6))
    g = sl.sample_gumbel(z.shape, rng)
    one_hot = np.eye(6)[sl.gumbel_max(z, g)]
    y = z + g
    gaps = np.max(y, axis=-1, keepdims=True) - y  # ≥ 0; the top entry's is 0
    # T → 0: the exact p_j = exp(−gap_j/T)·p_top ≤ exp(−gap_j/T) off the top, and 1 − p_top ≤ Σ_{j≠top} of those;
    # the rounding of softmax(y/T) is at most u·softmax_error_scale (|y_j − m|/T·p_j ≤ 1/e for the others).
    # Normwise over max|one-hot| = 1.
    cold = 1e-4
    with np.errstate(under="ignore"):
        tails = np.where(gaps > 0, np.exp(-gaps / cold), 0.0)
    cold_tol = float(np.max(np.sum(tails, axis=-1))) + U64 * float(np.max(softmax_error_scale(y / cold)))
    assert_passed(compare("T → 0 gives one-hot", sl.gumbel_softmax(z, g, cold), one_hot, cold_tol))
    assert not compare("noise dropped", sl.gumbel_softmax(z, 0 * g, cold), one_hot, cold_tol).passed
    # T → ∞: p_i·K ∈ [exp(−spread/T), exp(spread/T)] exactly, so |p_i − 1/K| ≤ expm1(spread/T)/K; relative to
    # 1/K that is expm1(spread/T), plus the rounding softmax_bound_units(K, spread/T)·u
    hot = 1e9
    spread = float(np.max(gaps))
    hot_tol = np.expm1(spread / hot) + softmax_bound_units(6, spread / hot) * U64
    uniform = np.full(z.shape, 1 / 6)
    assert_passed(compare("T → ∞ gives uniform", sl.gumbel_softmax(z, g, hot), uniform, hot_tol, measure="relative"))
    assert not compare("T ignored", sl.softmax(y), uniform, hot_tol, measure="relative").passed
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
    # p_k = exp(log p_k): relative error (r(|log p_k| + d) + EXP_UNITS)·u, r = hierarchical_units(K); summed with
    # weights p_k, Σ p_k |log p_k| ≤ log K; and the K-term sum K − 1
    r, d = hierarchical_units(n_classes), depth_of(n_classes)
    sum_units = r * (np.log(n_classes) + d) + EXP_UNITS + n_classes - 1
    assert_passed(compare("leaves sum to 1", p.sum(-1), np.ones(7), sum_units * U64, measure="relative"))
    target = rng.integers(0, n_classes, size=7)
    # left within r units of |log p| + d; right log(exp(log p̂)): r as well, exp's EXP_UNITS absolute, log's
    # EXP_UNITS·|log p|
    log_p = sl.hierarchical_softmax_log_prob(s, target)
    assert_passed(
        compare(
            "log p",
            log_p,
            np.log(p[np.arange(7), target]),
            (2 * r + 2 * EXP_UNITS) * U64,
            measure="scaled",
            scale=np.abs(log_p) + d,
        )
    )


def test_hierarchical_two_classes_is_logistic_regression(rng):
    s = rng.normal(size=(5, 1))
    # p = exp(log σ): relative SIGMOID_UNITS·(|log σ| + 1) + EXP_UNITS; σ: SIGMOID_UNITS. Scaled by σ(|log σ| + 1)
    sigma = sl.sigmoid(s[:, 0])
    assert_passed(
        compare(
            "K = 2",
            sl.hierarchical_softmax_probabilities(s)[:, 0],
            sigma,
            (2 * SIGMOID_UNITS + EXP_UNITS) * U64,
            measure="scaled",
            scale=sigma * (np.abs(np.log(sigma)) + 1),
        )
    )


@pytest.mark.parametrize("n_classes", [2, 7, 16])
def test_hierarchical_gradient_matches_torch(rng, n_classes):
    s = rng.normal(scale=2.0, size=(6, n_classes - 1))
    assert_passed(check_hierarchical_softmax(s, rng.integers(0, n_classes, size=6)))


def test_hierarchical_single_row(rng):
    s = rng.normal(size=4)
    grad = sl.hierarchical_softmax_grad(s, np.int64(3))
    assert grad.shape == (4,)
    # as check_hierarchical_softmax: each entry σ(s) − t within SIGMOID_UNITS·u absolute; the difference quotient
    # of −log p (M₃ = 1/8, within r units of |log p| + d) within central_difference_error; normwise
    fd = central_difference_jacobian(lambda x: -sl.hierarchical_softmax_log_prob(x, np.int64(3)), s)
    d = depth_of(5)
    f_scale = float(abs(sl.hierarchical_softmax_log_prob(s, np.int64(3)))) + d
    fd_error = central_difference_error(
        THIRD_DERIVATIVE_SOFTMAX, f_scale, hierarchical_units(5), float(np.max(np.abs(s)))
    )
    assert_passed(compare("single row", grad, fd, (SIGMOID_UNITS * U64 + fd_error) / np.max(np.abs(fd))))


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
    # The bounds of check_output_layer_gradients: per row, the logits' absolute error c_z = (D + 1)·max(|a||W|ᵀ + |b|)
    # units moves p by 2c_z, so G = (P − Y)/N is within b' + 2 + max(N, K) units (b' = b + 2c_z) of (P + Y)/N,
    # weighted into the scales |G|ᵀ|a| and Σ_n |G_n|. The difference quotient: M₃ = 1/8 times the cube of how far
    # the logits move per unit step, |f| ≤ the mean loss scale, loss_units(K) + N + 2 max c_z units.
    n_rows, n_features = activations.shape
    k = weights.shape[0]
    z = activations @ weights.T + bias
    c_z = (n_features + 1) * np.max(np.abs(activations) @ np.abs(weights).T + np.abs(bias), axis=1)
    units = (softmax_bound_units(k, float(np.max(np.ptp(z, axis=1)))) + 2 * c_z + 2 + max(n_rows, k))[:, None]
    g = units * (softmax64(z) + np.eye(k)[target]) / n_rows
    scales = {"W": g.T @ np.abs(activations), "b": np.sum(g, axis=0)}
    reach = max(1.0, float(np.max(np.abs(activations))), float(np.max(np.sum(np.abs(weights), axis=0))))
    loss_scale = float(np.mean(np.ptp(z, axis=1) + np.log(k) + 1))
    for name, ours, loss, at in (("W", grad_w, loss_w, weights), ("b", grad_b, loss_b, bias)):
        fd_error = central_difference_error(
            THIRD_DERIVATIVE_SOFTMAX * reach**3,
            loss_scale,
            loss_units(k) + n_rows + 2 * float(np.max(c_z)),
            float(np.max(np.abs(at))),
        )
        size = float(np.max(scales[name]))
        assert_passed(
            compare(
                f"∂C/∂{name}",
                ours,
                central_difference_jacobian(loss, at),
                U64 + fd_error / size,
                measure="scaled",
                scale=size,
            )
        )


def test_gumbel_max_broadcasts_one_logit_vector_over_many_draws(rng):
    z = np.array([0.5, -1.0, 2.0])
    g = sl.sample_gumbel((4, 3), rng)
    np.testing.assert_array_equal(sl.gumbel_max(z, g), np.argmax(z + g, axis=1))
    assert sl.gumbel_softmax(z, g, 1.0).shape == (4, 3)
