"""The book's softmax-regression problem, shared by the chapter that trains it (softmax_regression) and the
chapter that solves it by Newton's method (learning_theory), so that both solve the same problem: the
scikit-learn digits, split and standardised; the mean cross-entropy with an L2 penalty on the weights (not
the intercepts), its gradient and its Hessian; and its L-BFGS fit. The data and the fit need scikit-learn
and SciPy (the ``book`` extra), imported only when called.

The parameters Θ = [W | b] (shape (K, D + 1), intercepts in the last column) travel flattened row by row,
as the optimisers want them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._cross_entropy import cross_entropy, cross_entropy_grad
from .._softmax import softmax
from .bounds import softmax_bound_units
from .tolerance import unit_roundoff

__all__ = [
    "RegressionProblem",
    "digits_problem",
    "regression_objective",
    "regression_gradient_rounding",
    "regression_hessian",
    "fit_regression",
]


class RegressionProblem(NamedTuple):
    """A softmax-regression problem: standardised features, labels and the penalty λ of the mean loss."""

    x_train: NDArray[np.float64]  #: (N, D) training features
    y_train: NDArray[np.intp]  #: (N,) training labels in 0 … K − 1
    x_test: NDArray[np.float64]  #: (M, D) test features, standardised with the training set's statistics
    y_test: NDArray[np.intp]  #: (M,) test labels
    n_classes: int  #: K
    penalty: float  #: λ = 1/(C N), the L2 weight of the mean loss that matches scikit-learn's C


def digits_problem(inverse_penalty: float = 1.0) -> RegressionProblem:
    """The 8 × 8 digits of scikit-learn: a stratified split with seed 0 keeping a quarter for testing, the
    features standardised with the training set's mean and standard deviation, and λ = 1/(C N).

    Parameters
    ----------
    inverse_penalty : float
        scikit-learn's C. Its objective C Σ_n ℓ_n + ½‖W‖² divided by C N is the mean loss plus (λ/2)‖W‖².

    Returns
    -------
    RegressionProblem
        1347 training and 450 test images of 64 features, 10 classes.

    Examples
    --------
    >>> problem = digits_problem()
    >>> problem.x_train.shape, problem.x_test.shape, problem.n_classes
    ((1347, 64), (450, 64), 10)
    >>> bool(problem.penalty == 1 / 1347)
    True
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    if not inverse_penalty > 0:
        raise ValueError(f"inverse_penalty must be positive, got {inverse_penalty!r}")
    features, labels = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        features, labels, test_size=0.25, random_state=0, stratify=labels
    )
    scaler = StandardScaler().fit(x_train)
    penalty = 1.0 / (inverse_penalty * len(x_train))
    return RegressionProblem(scaler.transform(x_train), y_train, scaler.transform(x_test), y_test, 10, penalty)


def _split(theta: ArrayLike, inputs: NDArray) -> tuple[NDArray, NDArray]:
    theta = np.asarray(theta, dtype=np.float64)
    dim = inputs.shape[1] + 1
    if theta.size % dim:
        raise ValueError(f"theta must hold K rows of D + 1 = {dim} parameters, got {theta.size} entries")
    theta = theta.reshape(-1, dim)
    return theta[:, :-1], theta[:, -1]


def regression_objective(
    theta: ArrayLike, inputs: ArrayLike, labels: ArrayLike, penalty: float
) -> tuple[float, NDArray[np.float64]]:
    """The mean cross-entropy of softmax(W x_n + b) plus (λ/2)‖W‖², and its gradient.

    f(Θ) = (1/N) Σ_n −log softmax(W x_n + b)_{y_n} + (λ/2)‖W‖_F²,
    ∇_W f = (1/N)(P − Y)ᵀX + λW,  ∇_b f = (1/N) Σ_n (p_n − y_n).

    Parameters
    ----------
    theta : array_like
        Θ = [W | b], shape (K, D + 1) or flattened row by row.
    inputs : array_like
        X, shape (N, D).
    labels : array_like
        Class indices, shape (N,).
    penalty : float
        λ. The intercepts are not penalised.

    Returns
    -------
    value : float
    gradient : ndarray
        ∇f, flattened like Θ.

    Examples
    --------
    >>> value, gradient = regression_objective(np.zeros(6), np.array([[1.0], [-1.0]]), np.array([0, 2]), 0.1)
    >>> round(value, 6) == round(float(np.log(3)), 6), gradient.reshape(3, 2).round(3).tolist()
    (True, [[-0.5, -0.167], [0.0, 0.333], [0.5, -0.167]])
    """
    inputs = np.asarray(inputs, dtype=np.float64)
    weights, intercepts = _split(theta, inputs)
    logits = inputs @ weights.T + intercepts
    value = cross_entropy(logits, labels) + 0.5 * penalty * np.sum(weights**2)
    grad_logits = cross_entropy_grad(logits, labels)  # (P − Y)/N
    gradient = np.hstack([grad_logits.T @ inputs + penalty * weights, grad_logits.sum(axis=0)[:, None]])
    return float(value), gradient.ravel()


def regression_gradient_rounding(theta: ArrayLike, inputs: ArrayLike, labels: ArrayLike, penalty: float) -> float:
    """E: a first-order bound on ‖ĝ − ∇f‖₂ for the gradient ĝ that `regression_objective` computes, float64.

    The logits x̃_nᵀθ_k carry an absolute error of c_z = (D + 1)·max_n |x̃_n|ᵀ|θ_k| units, which moves p by 2c_z
    relative; p is then within b' = `softmax_bound_units`(K, spread) + 2c_z units, and p − y, the product with
    x̃, the N-term mean and + λW add N + 4: entry (k, d) is within (b' + N + 4)u of
    (1/N) Σ_n (p_nk + y_nk)|x̃_nd| + λ|W_kd|, the size of the terms it sums.

    Parameters
    ----------
    theta, inputs, labels, penalty
        As for `regression_objective`.

    Returns
    -------
    float
        The 2-norm of the entries' bounds.

    Examples
    --------
    >>> error = regression_gradient_rounding(np.zeros(6), np.array([[1.0], [-1.0]]), np.array([0, 2]), 0.1)
    >>> bool(0 < error < 1e-14)
    True
    """
    inputs = np.asarray(inputs, dtype=np.float64)
    weights, intercepts = _split(theta, inputs)
    n_rows, n_classes = len(inputs), len(weights)
    x1 = np.hstack([inputs, np.ones((n_rows, 1))])
    theta = np.hstack([weights, intercepts[:, None]])
    logits = x1 @ theta.T
    c_z = x1.shape[1] * np.max(np.abs(x1) @ np.abs(theta).T)
    units = softmax_bound_units(n_classes, float(np.ptp(logits, axis=1).max())) + 2 * c_z + n_rows + 4
    size = (softmax(logits) + np.eye(n_classes)[np.asarray(labels)]).T @ np.abs(x1) / n_rows
    size[:, :-1] += penalty * np.abs(weights)
    return float(units * unit_roundoff(np.float64) * np.linalg.norm(size))


def regression_hessian(theta: ArrayLike, inputs: ArrayLike, penalty: float) -> NDArray[np.float64]:
    """The Hessian of `regression_objective`, (1/N) Σ_n (diag p_n − p_n p_nᵀ) ⊗ x̃_n x̃_nᵀ + λ on the weights.

    x̃_n = (x_n, 1). Entry ((k, d), (l, e)) is (1/N) Σ_n (δ_kl p_nk − p_nk p_nl) x̃_nd x̃_ne: the diagonal
    blocks X̃ᵀ diag(p_k) X̃ / N, minus AᵀA / N with A_n = p_n ⊗ x̃_n. It has one null direction, the same
    constant added to every intercept (no probability and no penalty changes).

    Parameters
    ----------
    theta : array_like
        Θ = [W | b], shape (K, D + 1) or flattened row by row.
    inputs : array_like
        X, shape (N, D).
    penalty : float
        λ.

    Returns
    -------
    ndarray
        Shape (K(D + 1), K(D + 1)), symmetric positive semidefinite.

    Examples
    --------
    >>> hessian = regression_hessian(np.zeros(6), np.array([[1.0], [-1.0]]), 0.1)
    >>> hessian.shape, bool(np.allclose(hessian @ np.array([0, 1, 0, 1, 0, 1.0]), 0))
    ((6, 6), True)
    """
    inputs = np.asarray(inputs, dtype=np.float64)
    weights, intercepts = _split(theta, inputs)
    n_rows, n_classes = len(inputs), len(weights)
    p = softmax(inputs @ weights.T + intercepts)
    x1 = np.hstack([inputs, np.ones((n_rows, 1))])
    products = (p[:, :, None] * x1[:, None, :]).reshape(n_rows, -1)
    hessian = -(products.T @ products)
    dim = x1.shape[1]
    for k in range(n_classes):
        hessian[k * dim : (k + 1) * dim, k * dim : (k + 1) * dim] += (x1.T * p[:, k]) @ x1
    hessian /= n_rows
    weight_mask = np.hstack([np.ones((n_classes, dim - 1)), np.zeros((n_classes, 1))]).ravel()
    return hessian + penalty * np.diag(weight_mask)


def fit_regression(problem: RegressionProblem, callback: Callable[[Any], None] | None = None) -> Any:
    """Minimise `regression_objective` on the problem's training set by SciPy's L-BFGS-B, from Θ = 0.

    Stopping criterion: the largest gradient entry below 1e-10 or a relative decrease of f below 1e-15
    (SciPy's gtol and ftol), at most 2000 iterations.

    Parameters
    ----------
    problem : RegressionProblem
    callback : callable, optional
        Passed to `scipy.optimize.minimize`, called after each iteration with the current OptimizeResult.

    Returns
    -------
    scipy.optimize.OptimizeResult
        x is Θ flattened, fun f(Θ), nit the number of iterations.

    Examples
    --------
    >>> result = fit_regression(digits_problem())
    >>> bool(result.success), result.nit < 500
    (True, True)
    """
    import scipy.optimize

    n_parameters = problem.n_classes * (problem.x_train.shape[1] + 1)
    return scipy.optimize.minimize(
        regression_objective,
        np.zeros(n_parameters),
        args=(problem.x_train, problem.y_train, problem.penalty),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 2000, "gtol": 1e-10, "ftol": 1e-15},
        callback=callback,
    )
