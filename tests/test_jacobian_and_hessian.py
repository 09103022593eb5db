"""The softmax Jacobian's spectrum and shift invariance, and the loss Hessian against torch autograd."""

import numpy as np
import pytest

import softmax_lib as sl
from softmax_lib.checks import (
    EXP_UNITS,
    assert_passed,
    check_loss_hessian,
    compare,
    jacobian_units,
    logsumexp_log_units,
    softmax_bound_units,
    torch_cross_entropy_hessian,
    unit_roundoff,
)

RNG_SEED = 4321
U = unit_roundoff(np.float64)


def torch_hessian_units(z):
    """Bound, in u, on a torch Hessian entry relative to p_i δ_ij + p_i p_j: torch differentiates log_softmax
    twice, so its p = exp(log p) is within L + spread + EXP_UNITS + 1 units (L = logsumexp_log_units(K)),
    and the entry within `jacobian_units` of that (as in check_loss_hessian)."""
    k, spread = z.size, float(np.ptp(z))
    return jacobian_units(max(softmax_bound_units(k, spread), logsumexp_log_units(k) + spread + EXP_UNITS + 1))


def jacobian_scale(z):
    p = sl.softmax(z)
    return np.diag(p) + np.outer(p, p)


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
    # both sides torch's (Σ y)·J: twice the torch Hessian bound, plus K − 1 for the target's sum Σ y = 1
    tol = (2 * torch_hessian_units(logits) + 4) * U
    assert_passed(
        [
            compare(
                "index vs probability target",
                by_index,
                by_probability,
                tol,
                measure="scaled",
                scale=jacobian_scale(logits),
            )
        ]
    )


def test_loss_hessian_scales_with_target_sum(rng):
    # A target summing to 2 (multi-label) has Hessian 2(diag p − p pᵀ): the reference sees the
    # difference, so a check against diag(p) − p pᵀ would fail for it.
    logits = rng.normal(size=4)
    target = np.array([1.0, 0.0, 1.0, 0.0])
    hessian = torch_cross_entropy_hessian(logits, target)
    # torch's side within its Hessian bound, ours within jacobian_units(b) (the doubling is exact), relative
    # to the size 2(p_i δ_ij + p_i p_j) of the terms
    units = torch_hessian_units(logits) + jacobian_units(softmax_bound_units(4, float(np.ptp(logits))))
    scale = 2 * jacobian_scale(logits)
    assert compare("2J", hessian, 2 * sl.softmax_jacobian(logits), units * U, measure="scaled", scale=scale).passed
    assert not compare("J", hessian, sl.softmax_jacobian(logits), units * U, measure="scaled", scale=scale).passed


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
    # Weyl: each eigenvalue moves by at most ‖Ĵ − J‖₂ ≤ jacobian_units(b)·u·‖diag p + p pᵀ‖_F ≤ 2·jacobian_units(b)·u,
    # and eigvalsh (backward stable) adds a perturbation of order K·u·‖J‖₂ ≤ K·u/2
    tol = (2 * jacobian_units(softmax_bound_units(k, float(np.ptp(z)))) + k / 2) * U
    assert abs(eigenvalues[0]) <= tol
    assert eigenvalues[1] >= p.min() - tol
    assert eigenvalues[-1] <= np.max(2 * p * (1 - p)) + tol <= 0.5 + tol


def test_softmax_shift_invariance_is_exact_for_exact_shifts(rng):
    z = rng.integers(-80, 80, size=(4, 6)) / 8
    for shift in (-700, 1, 10**6):
        np.testing.assert_array_equal(sl.softmax(z + shift), sl.softmax(z))
