"""The softmax Jacobian's spectrum and shift invariance, and the loss Hessian against torch autograd."""

import numpy as np
import pytest

import softmax_lib as sl
from softmax_lib.checks import (
    assert_passed,
    check_loss_hessian,
    compare,
    rounding_tolerance,
    torch_cross_entropy_hessian,
)

RNG_SEED = 4321


@pytest.mark.parametrize("k", [1, 2, 3, 7])
@pytest.mark.parametrize("kind", ["index", "probability"])
def test_check_loss_hessian_passes(rng, k, kind):
    logits = rng.normal(scale=3.0, size=k)
    target = np.int64(rng.integers(k)) if kind == "index" else sl.softmax(rng.normal(size=k))
    results = check_loss_hessian(logits, target)
    assert len(results) == 2
    assert_passed(results)


def test_loss_hessian_does_not_depend_on_the_target(rng):
    logits = rng.normal(size=5)
    by_index = torch_cross_entropy_hessian(logits, np.int64(2))
    by_probability = torch_cross_entropy_hessian(logits, sl.softmax(rng.normal(size=5)))
    assert_passed([compare("index vs probability target", by_index, by_probability, rounding_tolerance(np.float64, 5))])


def test_loss_hessian_scales_with_target_sum(rng):
    # A target summing to 2 (multi-label) has Hessian 2(diag p − p pᵀ): the reference sees the
    # difference, so a check against diag(p) − p pᵀ would fail for it.
    logits = rng.normal(size=4)
    target = np.array([1.0, 0.0, 1.0, 0.0])
    hessian = torch_cross_entropy_hessian(logits, target)
    tol = rounding_tolerance(np.float64, 4)
    assert compare("2J", hessian, 2 * sl.softmax_jacobian(logits), tol).passed
    assert not compare("J", hessian, sl.softmax_jacobian(logits), tol).passed


def test_loss_hessian_bad_shapes():
    with pytest.raises(ValueError, match="logits must be one row"):
        check_loss_hessian(np.zeros((2, 3)), np.array([0, 1]))
    with pytest.raises(ValueError, match="logits must be one row"):
        torch_cross_entropy_hessian(np.zeros((2, 3)), np.array([0, 1]))
    with pytest.raises(ValueError, match="target must be a class index"):
        torch_cross_entropy_hessian(np.zeros(3), np.zeros(2))


@pytest.mark.parametrize("k", [2, 3, 10, 40])
def test_jacobian_spectrum(rng, k):
    # Eigenvalues of diag(p) − p pᵀ: one 0 with eigenvector 1, the rest between min p and 1/2.
    z = rng.normal(size=k)
    p = sl.softmax(z)
    eigenvalues = np.linalg.eigvalsh(sl.softmax_jacobian(z))
    tol = rounding_tolerance(np.float64, k)
    assert abs(eigenvalues[0]) <= tol
    assert eigenvalues[1] >= p.min() - tol
    assert eigenvalues[-1] <= np.max(2 * p * (1 - p)) + tol <= 0.5 + tol


def test_softmax_shift_invariance_is_exact_for_exact_shifts(rng):
    z = rng.integers(-80, 80, size=(4, 6)) / 8
    for shift in (-700, 1, 10**6):
        np.testing.assert_array_equal(sl.softmax(z + shift), sl.softmax(z))
