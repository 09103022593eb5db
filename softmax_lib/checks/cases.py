"""The checks: softmax_lib against torch autograd (same dtype), central differences and 50-digit values.

Each check takes float64 data, rounds it to `dtype` (see `checked_array`: NumPy when `device` is None
and NumPy has the dtype, else a torch tensor on `device`), and returns a list of `CheckResult`. Every
tolerance is a first-order bound in units of u (tolerance.py), written in the docstring with its
constant; a comparison of two computations in `dtype` allows the sum of their two bounds.
The library functions are looked up in this module's namespace, so a test can put a wrong one in
their place (softmax_lib.checks.mistakes) and watch the checks fail.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from array_api_compat import array_namespace
from numpy.typing import ArrayLike

from .._cross_entropy import cross_entropy, cross_entropy_grad
from .._softmax import log_softmax, softmax
from . import formulas, oracles
from .bounds import logsumexp_log_units, loss_units, shifted_softmax_bound_units, softmax_bound_units
from .differences import THIRD_DERIVATIVE_SOFTMAX, central_difference_error, central_difference_jacobian
from .error_scales import cross_entropy_tolerances, loss_error_scale
from .oracles import checked_array, float64_target, softmax64, to_torch
from .tolerance import (
    CheckResult,
    compare,
    smallest_normal,
    unit_roundoff,
)

__all__ = [
    "output_layer_grad",
    "check_cross_entropy",
    "check_output_layer_gradients",
    "check_against_float64",
    "check_exact_uniform",
]


def _spread(z64: np.ndarray, axis: int = -1) -> float:
    """The largest max − min of a row: it bounds every |z_i − m| in the softmax bound."""
    return float(np.max(np.ptp(z64, axis=axis), initial=0.0)) if z64.size else 0.0


def _rows_last(a: np.ndarray, axis: int) -> np.ndarray:
    return np.moveaxis(a, axis, -1)


def check_cross_entropy(
    logits: ArrayLike,
    target: ArrayLike,
    axis: int = -1,
    reduction: str = "mean",
    dtype: Any = "float64",
    device: Any = None,
) -> list[CheckResult]:
    """cross_entropy and cross_entropy_grad against torch, and the gradient against central differences.

    Loss: scaled by max_k |z_k − m| + log K + 1 per row (reduced like the loss), `loss_units`(K) per side
    plus N − 1 (sum) or N (mean) for the reduction. Gradient G = (p − y)/N (N = 1 but for "mean"): scaled
    componentwise by (max(p, tiny) + y)/N, b + 2 units per side (p within b, the subtraction, the division; tiny,
    the smallest normal number of `dtype`, where p's error stops being relative).
    Central differences of the float64 loss: scale max (p + y)/N, the quotient's error added.

    Parameters
    ----------
    logits : array_like
        Float64 data, rounded to `dtype`.
    target : array_like
        Class indices, or probabilities of the logits' shape.
    axis : int, optional
        The class axis (default the last).
    reduction : {"mean", "sum", "none"}, optional
    dtype : str, numpy dtype or torch.dtype, optional
        The dtype to check in (default float64).
    device : torch.device or str, optional
        None: NumPy where NumPy has the dtype; else torch on that device (see `checked_array`).

    Returns
    -------
    list of CheckResult
        One per comparison; the check passes when every one has passed.

    Examples
    --------
    >>> results = check_cross_entropy(np.array([[1.0, -0.5, 2.0]]), np.array([2]), dtype="float32")
    >>> [r.passed for r in results]
    [True, True, True]
    """
    logits_x, logits64 = checked_array(np.asarray(logits, dtype=np.float64), dtype, device)
    target_x, target64 = checked_array(target, dtype, device)
    target64 = float64_target(target64, axis)
    k = logits64.shape[axis]
    loss_ref, grad_ref = oracles.torch_cross_entropy_with_grad(logits_x, target_x, axis, reduction)
    grad = cross_entropy_grad(logits_x, target_x, axis, reduction)
    n_div = logits64.size // k if reduction == "mean" else 1
    bounds = cross_entropy_tolerances(logits64, target64, axis, reduction, dtype=dtype)
    loss_scale, grad_scale = bounds["loss_scale"], bounds["grad_scale"]
    loss_tol, grad_tol = 2 * bounds["loss_tolerance"], 2 * bounds["grad_tolerance"]
    total = lambda z: np.sum(oracles.cross_entropy64(z, target64, axis, reduction))  # noqa: E731
    f_scale = float(np.sum(loss_scale))
    fd_error = central_difference_error(
        THIRD_DERIVATIVE_SOFTMAX / n_div, f_scale, loss_units(k) + logits64.size, float(np.max(np.abs(logits64)))
    )
    label = f"{'index' if np.issubdtype(target64.dtype, np.integer) else 'probability'} target, {reduction}"
    return [
        compare(
            f"cross_entropy vs torch ({label})",
            cross_entropy(logits_x, target_x, axis, reduction),
            loss_ref,
            loss_tol,
            measure="scaled",
            scale=loss_scale,
        ),
        compare(
            f"cross_entropy_grad vs torch autograd ({label})",
            grad,
            grad_ref,
            grad_tol,
            measure="scaled",
            scale=grad_scale,
        ),
        compare(
            f"cross_entropy_grad vs central differences ({label})",
            grad,
            central_difference_jacobian(total, logits64),
            grad_tol / 2 + fd_error / grad_scale.max(),
            measure="scaled",
            scale=grad_scale.max(),
        ),
    ]


def output_layer_grad(
    weights: ArrayLike, bias: ArrayLike, activations: ArrayLike, target: ArrayLike
) -> tuple[Any, Any]:
    """∂C/∂W = (P − Y)ᵀ A / N and ∂C/∂b = Σ_n (p_n − y_n) / N for C = mean cross-entropy of softmax(A Wᵀ + b).

    Per row, ∂C/∂b_j = p_j − y_j and ∂C/∂W_jk = a_k (p_j − y_j); `cross_entropy_grad` supplies p − y.

    Parameters
    ----------
    weights : array
        W, shape (K, D).
    bias : array
        b, shape (K,).
    activations : array
        A, shape (N, D).
    target : array
        Class indices, shape (N,).

    Returns
    -------
    grad_weights : array
        ∂C/∂W, shape (K, D).
    grad_bias : array
        ∂C/∂b, shape (K,).

    Examples
    --------
    >>> grad_w, grad_b = output_layer_grad(np.zeros((2, 1)), np.zeros(2), np.ones((1, 1)), np.array([0]))
    >>> grad_w.tolist(), grad_b.tolist()
    ([[-0.5], [0.5]], [-0.5, 0.5])
    """
    xp = array_namespace(weights, bias, activations)
    delta = cross_entropy_grad(activations @ weights.T + bias, target, reduction="mean")
    return delta.T @ activations, xp.sum(delta, axis=0)


def check_output_layer_gradients(
    inputs: ArrayLike, weight: ArrayLike, bias: ArrayLike, target: ArrayLike, dtype: Any = "float64", device: Any = None
) -> list[CheckResult]:
    """Gradients of the mean cross-entropy of a linear output layer z = x Wᵀ + b (x: N × D, W: K × D),
    from G = ∂L/∂z = (P − Y)/N: ∂L/∂W = Gᵀ x, ∂L/∂b = Σ_n G_n, ∂L/∂x = G W.

    `output_layer_grad` (and G W) against torch autograd through torch.nn.functional.linear and
    cross_entropy, and against central differences (float64). Bound per side, in u: each logit is a
    (D + 1)-term sum, absolute error c_z = (D + 1)·max(|x||W|ᵀ + |b|) units, which moves p by 2c_z
    relative; so p is within b' = b + 2c_z, G within b' + 2 relative to |G| = (P + Y)/N, and the products
    summed over N (or K) add max(N, K): b' + 2 + max(N, K). With c_z taken per row n, these units weight
    each row of |G| in the scales |G|ᵀ|x|, Σ_n |G_n| and |G||W|, and the tolerance is u per side.

    Parameters
    ----------
    inputs : array_like
        x, shape (N, D).
    weight : array_like
        W, shape (K, D).
    bias : array_like
        b, shape (K,).
    target : array_like
        Class indices, shape (N,).
    dtype : str, numpy dtype or torch.dtype, optional
        The dtype to check in (default float64).
    device : torch.device or str, optional
        As for `check_cross_entropy`.

    Returns
    -------
    list of CheckResult
        One per comparison; the check passes when every one has passed.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> results = check_output_layer_gradients(rng.normal(size=(3, 2)), rng.normal(size=(4, 2)), np.zeros(4), [0, 3, 1])
    >>> all(r.passed for r in results)
    True
    """
    import torch

    (x, x64), (w, w64), (b_x, b64) = (
        checked_array(np.asarray(a, dtype=np.float64), dtype, device) for a in (inputs, weight, bias)
    )
    target_x, target64 = checked_array(target, dtype, device)
    target64 = float64_target(target64)
    grad_w, grad_b = output_layer_grad(w, b_x, x, target_x)
    ours = {"W": grad_w, "b": grad_b, "x": cross_entropy_grad(x @ w.T + b_x, target_x) @ w}

    leaves = {name: to_torch(a).detach().clone().requires_grad_(True) for name, a in (("W", w), ("b", b_x), ("x", x))}
    torch.nn.functional.cross_entropy(
        torch.nn.functional.linear(leaves["x"], leaves["W"], leaves["b"]), to_torch(target_x, leaves["x"].device)
    ).backward()

    loss64 = {
        "W": lambda a: oracles.cross_entropy64(x64 @ a.T + b64, target64),
        "b": lambda a: oracles.cross_entropy64(x64 @ w64.T + a, target64),
        "x": lambda a: oracles.cross_entropy64(a @ w64.T + b64, target64),
    }
    at = {"W": w64, "b": b64, "x": x64}
    n_rows, n_features = x64.shape
    k = w64.shape[0]
    z64 = x64 @ w64.T + b64
    u = unit_roundoff(dtype)
    # per row n: c_z = (D + 1)·max_j (|x_n||W_j| + |b_j|), and the row's bound b' + 2 + max(N, K)
    c_z = (n_features + 1) * np.max(np.abs(x64) @ np.abs(w64).T + np.abs(b64), axis=1)
    units = (softmax_bound_units(k, _spread(z64)) + 2 * c_z + 2 + max(n_rows, k))[:, None]
    g = (softmax64(z64) + formulas._one_hot64(z64, target64, -1)) / n_rows
    # the bound of each term is folded into the scale: the tolerance is then u per side
    scales = {"W": (units * g).T @ np.abs(x64), "b": np.sum(units * g, axis=0), "x": (units * g) @ np.abs(w64)}
    # M₃ along one coordinate: the softmax's 1/8 times the cube of how far the logits move per unit step
    reach = max(1.0, float(np.max(np.abs(x64))), float(np.max(np.sum(np.abs(w64), axis=0))))
    loss_scale = float(np.mean(loss_error_scale(z64)))
    fd_error = central_difference_error(
        THIRD_DERIVATIVE_SOFTMAX * reach**3,
        loss_scale,
        loss_units(k) + n_rows + 2 * float(np.max(c_z)),
        max(float(np.max(np.abs(a))) for a in at.values()),
    )
    results = []
    for name in ("W", "b", "x"):
        results.append(
            compare(
                f"∂L/∂{name} of a linear output layer vs torch autograd",
                ours[name],
                leaves[name].grad,
                2 * u,
                measure="scaled",
                scale=scales[name],
            )
        )
        results.append(
            compare(
                f"∂L/∂{name} of a linear output layer vs central differences",
                ours[name],
                central_difference_jacobian(loss64[name], at[name]),
                u + fd_error / scales[name].max(),
                measure="scaled",
                scale=scales[name].max(),
            )
        )
    return results


def check_against_float64(logits: ArrayLike, target: ArrayLike, dtype: Any, device: Any = None) -> list[CheckResult]:
    """softmax, log_softmax and cross_entropy_grad of softmax_lib and of torch, both in `dtype`,
    against 50-digit mpmath values of the same rounded inputs (as float64).

    Each entry is held to its own first-order bound, so the tolerance is u and the bound is in the scale:
    p_i: |p̂_i − p_i| ≤ u·max(p_i, tiny)·(|z_i − m| + K + 4 + log K) (`shifted_softmax_bound_units`; tiny,
    the smallest normal number of `dtype`, is where a stored value's error stops being relative);
    log p_i: ≤ u·(|log p_i| + |z_i − m| + L), L = logsumexp_log_units(K); p − y (sum reduction, entries of
    order 1): ≤ u·((max(p_i, tiny) + y_i)·(b_i + 1)).

    Parameters
    ----------
    logits : array_like
        Float64 data of shape (N, K), rounded to `dtype`.
    target : array_like
        Class indices, shape (N,).
    dtype : str, numpy dtype or torch.dtype
        The dtype to check in.
    device : torch.device or str, optional
        As for `check_cross_entropy`.

    Returns
    -------
    list of CheckResult
        One per comparison; the check passes when every one has passed.

    Examples
    --------
    >>> results = check_against_float64(np.array([[0.0, 3.0, -2.0]]), np.array([1]), "float16")
    >>> len(results), all(r.passed for r in results)
    (6, True)
    """
    import torch

    from .. import reference

    x, z64 = checked_array(np.asarray(logits, dtype=np.float64), dtype, device)
    target_x, target64 = checked_array(target, dtype, device)
    z_t = to_torch(x)
    exact_p = reference.softmax_mp(z64)
    exact_log_p = reference.log_softmax_mp(z64)
    k = z64.shape[-1]
    y = np.eye(k)[target64]
    exact = {"softmax": exact_p, "log_softmax": exact_log_p, "cross_entropy_grad": exact_p - y}
    bound = shifted_softmax_bound_units(z64)
    floor_p = np.maximum(exact_p, smallest_normal(dtype))
    scales = {
        "softmax": floor_p * bound,
        "log_softmax": np.abs(exact_log_p) + np.abs(z64 - z64.max(axis=-1, keepdims=True)) + logsumexp_log_units(k),
        "cross_entropy_grad": (floor_p + y) * (bound + 1),
    }
    z_grad = z_t.detach().clone().requires_grad_(True)
    torch.nn.functional.cross_entropy(z_grad, to_torch(target_x, z_t.device), reduction="sum").backward()
    ours = {
        "softmax": softmax(x),
        "log_softmax": log_softmax(x),
        "cross_entropy_grad": cross_entropy_grad(x, target_x, reduction="sum"),
    }
    theirs = {
        "softmax": torch.softmax(z_t, -1),
        "log_softmax": torch.log_softmax(z_t, -1),
        "cross_entropy_grad": z_grad.grad,
    }
    u = unit_roundoff(dtype)
    return [
        compare(
            f"{who} {name} vs 50-digit reference", values[name], exact[name], u, measure="scaled", scale=scales[name]
        )
        for who, values in (("softmax_lib", ours), ("torch", theirs))
        for name in exact
    ]


def check_exact_uniform(n_classes: int, dtype: Any, device: Any = None) -> list[CheckResult]:
    """softmax of K equal logits is exactly 1/K when K is a power of 2: exp(0) = 1, the sum K and the
    quotient 1/K are all exact, so the tolerance is 0 (a bias of one ulp fails).

    Parameters
    ----------
    n_classes : int
        K, a power of 2.
    dtype : str, numpy dtype or torch.dtype
        The dtype to check in.
    device : torch.device or str, optional
        As for `check_cross_entropy`.

    Returns
    -------
    list of CheckResult
        One per comparison; the check passes when every one has passed.

    Examples
    --------
    >>> [r.passed for r in check_exact_uniform(8, "float16")]
    [True]
    """
    if n_classes & (n_classes - 1):
        raise ValueError(f"n_classes must be a power of 2, got {n_classes}")
    x, _ = checked_array(np.full((3, n_classes), 2.5), dtype, device)
    return [
        compare(
            f"softmax of {n_classes} equal logits is exactly 1/{n_classes}",
            softmax(x),
            np.full((3, n_classes), 1 / n_classes),
            0.0,
            measure="relative",
        )
    ]
