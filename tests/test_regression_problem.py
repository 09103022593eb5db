"""Unit tests for the book's softmax-regression problem (softmax_lib.checks.regression): its gradient and
Hessian against torch autograd, the Hessian's null direction, the L-BFGS fit at a vanishing gradient."""

import numpy as np
import pytest
import torch

from softmax_lib.checks import (
    EXP_UNITS,
    compare,
    jacobian_units,
    logsumexp_log_units,
    softmax_bound_units,
    unit_roundoff,
)
from softmax_lib.checks.regression import (
    RegressionProblem,
    fit_regression,
    regression_gradient_rounding,
    regression_hessian,
    regression_objective,
)

U = unit_roundoff(np.float64)
N_ROWS, N_CLASSES, DIM, PENALTY = 30, 4, 3, 0.05


@pytest.fixture
def problem(rng):
    inputs = rng.normal(size=(N_ROWS, DIM))
    labels = rng.integers(0, N_CLASSES, size=N_ROWS)
    theta = rng.normal(size=N_CLASSES * (DIM + 1))
    return inputs, labels, theta


def torch_objective(inputs, labels, penalty):
    x = torch.as_tensor(inputs)
    y = torch.as_tensor(labels)

    def f(theta):
        theta = theta.reshape(N_CLASSES, DIM + 1)
        logits = x @ theta[:, :-1].T + theta[:, -1]
        return torch.nn.functional.cross_entropy(logits, y) + 0.5 * penalty * (theta[:, :-1] ** 2).sum()

    return f


def test_gradient_matches_autograd_within_the_rounding_bound(problem):
    inputs, labels, theta = problem
    _, gradient = regression_objective(theta, inputs, labels, PENALTY)
    theta_t = torch.as_tensor(theta).requires_grad_(True)
    torch_objective(inputs, labels, PENALTY)(theta_t).backward()
    # each side within E of ∇f (torch's softmax through exp(log p) costs the same order: both bounded by 2E)
    error_bound = 2 * regression_gradient_rounding(theta, inputs, labels, PENALTY)
    assert np.linalg.norm(gradient - theta_t.grad.numpy()) <= error_bound
    # the intercepts penalised too: a different objective, rejected
    _, penalised_all = regression_objective(theta, inputs, labels, PENALTY)
    penalised_all = penalised_all + PENALTY * theta * np.tile(np.eye(DIM + 1)[-1], N_CLASSES)
    assert not np.linalg.norm(penalised_all - theta_t.grad.numpy()) <= error_bound


def test_hessian_matches_autograd_and_has_the_intercept_shift_as_null_direction(problem):
    inputs, labels, theta = problem
    ours = regression_hessian(theta, inputs, PENALTY)
    reference = torch.autograd.functional.hessian(torch_objective(inputs, labels, PENALTY), torch.as_tensor(theta))
    x1 = np.hstack([inputs, np.ones((N_ROWS, 1))])
    logits = x1 @ theta.reshape(N_CLASSES, -1).T
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    # each entry scaled by the size of its terms; units as in learning_theory's Kronecker check
    scale = sum(np.kron(np.diag(r) + np.outer(r, r), np.outer(np.abs(x), np.abs(x))) for r, x in zip(p, x1)) / N_ROWS
    scale = scale + PENALTY
    c_z = (DIM + 1) * np.max(np.abs(x1) @ np.abs(theta.reshape(N_CLASSES, -1)).T)
    spread = np.ptp(logits, axis=1).max()
    ours_units = jacobian_units(softmax_bound_units(N_CLASSES, spread) + 2 * c_z) + N_ROWS + 3
    torch_units = jacobian_units(logsumexp_log_units(N_CLASSES) + spread + EXP_UNITS + 1 + 2 * c_z) + N_ROWS + 3
    tolerance = (ours_units + torch_units) * U
    assert compare("Hessian vs torch", ours, reference, tolerance, measure="scaled", scale=scale).passed
    without_penalty = regression_hessian(theta, inputs, 0.0)
    assert not compare("penalty left out", without_penalty, reference, tolerance, measure="scaled", scale=scale).passed
    shift = np.tile(np.eye(DIM + 1)[-1], N_CLASSES)
    assert np.abs(ours @ shift).max() <= (ours_units + ours.shape[0]) * U * (scale @ shift).max()


def test_fit_reaches_a_vanishing_gradient(problem):
    inputs, labels, _ = problem
    small = RegressionProblem(inputs, labels, inputs, labels, N_CLASSES, PENALTY)
    result = fit_regression(small)
    gradient = regression_objective(result.x, inputs, labels, PENALTY)[1]
    assert result.success and np.linalg.norm(gradient) < 1e-8


def test_bad_parameter_count_names_theta(problem):
    inputs, labels, theta = problem
    with pytest.raises(ValueError, match="theta"):
        regression_objective(theta[:-1], inputs, labels, PENALTY)
