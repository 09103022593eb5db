"""The sizes that the kit's error bounds multiply: a tolerance is (units of u) × one of these.

Each is computed in float64 from the data, entry by entry or row by row, never the constant 1; the
bounds themselves (the units) are in `tolerance.py`, and the chapter "How this book checks" derives
both.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .bounds import logsumexp_log_units, loss_units, shifted_softmax_bound_units, softmax_bound_units
from .formulas import _one_hot64, log_softmax64, softmax64
from .tolerance import smallest_normal, unit_roundoff

__all__ = [
    "softmax_error_scale",
    "log_softmax_error_scale",
    "logsumexp_error_scale",
    "loss_error_scale",
    "cross_entropy_tolerances",
]


def softmax_error_scale(
    z: ArrayLike, axis: int = -1, *, dtype: Any = "float64", extra_units: float = 0.0
) -> NDArray[np.float64]:
    """p_i · (|z_i − m| + K + 4 + log K + extra_units): p̂_i is within u times this of p_i.

    Below the smallest normal number of `dtype` a probability is stored with an absolute error, so
    p_i is floored there.

    Examples
    --------
    >>> bool(softmax_error_scale(np.zeros(4))[0] == 0.25 * (4 + 4 + np.log(4)))
    True

    Parameters
    ----------
    z : array_like
        Logits (as float64).
    axis : int, optional
        The class axis (default the last).
    dtype : str, numpy dtype or torch.dtype, optional
        The dtype whose smallest normal number floors p (default float64).
    extra_units : float, optional
        Units of u to add to every entry's bound.

    Returns
    -------
    numpy.ndarray
        float64, of z's shape.
    """
    z = np.asarray(z, dtype=np.float64)
    p = np.maximum(softmax64(z, axis), smallest_normal(dtype))
    return p * (shifted_softmax_bound_units(z, axis) + extra_units)


def log_softmax_error_scale(z: ArrayLike, axis: int = -1, *, extra_units: float = 0.0) -> NDArray[np.float64]:
    """|log p_i| + |z_i − m| + L + extra_units, L = logsumexp_log_units(K): log p̂_i is within u times this.

    Examples
    --------
    >>> float(log_softmax_error_scale(np.zeros(2))[0]) == float(np.log(2)) + 3 + 3 * float(np.log(2))
    True

    Parameters
    ----------
    z : array_like
        Logits (as float64).
    axis : int, optional
        The class axis (default the last).
    extra_units : float, optional
        Units of u to add to every entry's bound.

    Returns
    -------
    numpy.ndarray
        float64, of z's shape.
    """
    z = np.asarray(z, dtype=np.float64)
    shift = np.abs(z - np.max(z, axis=axis, keepdims=True))
    return np.abs(log_softmax64(z, axis)) + shift + logsumexp_log_units(z.shape[axis]) + extra_units


def logsumexp_error_scale(
    z: ArrayLike, axis: int = -1, *, extra_units: float = 0.0, keepdims: bool = False
) -> NDArray[np.float64]:
    """|y| + L + extra_units for y = m + log Σ_k exp(z_k − m): ŷ is within u times this.

    Examples
    --------
    >>> bool(np.isclose(logsumexp_error_scale(np.zeros(2)), np.log(2) + 3 + 3 * np.log(2)))
    True

    Parameters
    ----------
    z : array_like
        Logits (as float64).
    axis : int, optional
        The class axis to reduce (default the last).
    extra_units : float, optional
        Units of u to add to every row's bound.
    keepdims : bool, optional
        Keep the reduced axis with length 1.

    Returns
    -------
    numpy.ndarray
        float64, of z's shape without `axis`.
    """
    z = np.asarray(z, dtype=np.float64)
    m = np.max(z, axis=axis, keepdims=True)
    y = m + np.log(np.sum(np.exp(z - m), axis=axis, keepdims=True))
    y = y if keepdims else np.squeeze(y, axis)
    return np.abs(y) + logsumexp_log_units(z.shape[axis]) + extra_units


def loss_error_scale(z: ArrayLike, axis: int = -1) -> NDArray[np.float64]:
    """Per row, max_k |z_k − m| + log K + 1 over the finite logits (a −inf logit is a masked class):
    a row's cross-entropy is within `loss_units(K)` times u times this. NaN for a row with no finite
    logit, whose loss is NaN.

    Examples
    --------
    >>> bool(np.isclose(loss_error_scale(np.array([[0.0, 2.0, -np.inf]])), 2 + np.log(3) + 1))
    True

    Parameters
    ----------
    z : array_like
        Logits (as float64); −inf marks a masked class.
    axis : int, optional
        The class axis (default the last).

    Returns
    -------
    numpy.ndarray
        float64, one scale per row.
    """
    z = np.moveaxis(np.asarray(z, dtype=np.float64), axis, -1)
    finite = np.where(np.isfinite(z), z, np.nan)
    with warnings.catch_warnings():  # an all-masked row: NaN, never used as a scale
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmax(finite, axis=-1) - np.nanmin(finite, axis=-1) + np.log(z.shape[-1]) + 1


def _reduced_loss_scale(z64: np.ndarray, axis: int, reduction: str) -> tuple[Any, float]:
    """Per row max_k |z_k − m| + log K + 1, reduced like the loss; and the reduction's extra units."""
    per_row = loss_error_scale(z64, axis)
    n = per_row.size
    if reduction == "none":
        return per_row, 0.0
    if reduction == "sum":
        return float(np.sum(per_row)), float(n - 1)
    return float(np.mean(per_row)), float(n)  # n − 1 additions and the division


def cross_entropy_tolerances(
    logits: ArrayLike, target: ArrayLike, axis: int = -1, reduction: str = "mean", *, dtype: Any = "float64"
) -> dict[str, Any]:
    """The scales and the one-side tolerances of cross_entropy and cross_entropy_grad (`check_cross_entropy`'s).

    Loss: scaled by `loss_error_scale` per row (reduced like the loss), `loss_units`(K) plus N − 1 (sum) or
    N (mean) for the reduction. Gradient G = (p − y)/N (N = 1 but for "mean"): scaled componentwise by
    (max(p, tiny) + y)/N, b + 2 units (p within b = `softmax_bound_units`(K, spread), the subtraction,
    the division; tiny, the smallest normal number of `dtype`, where p's error stops being relative).
    A comparison of two computations in `dtype` allows twice each tolerance.

    Parameters
    ----------
    logits : array_like
        Logits (as float64).
    target : array_like
        Class indices, or probabilities of the logits' shape.
    axis : int, optional
        The class axis (default the last).
    reduction : {"mean", "sum", "none"}, optional
    dtype : str, numpy dtype or torch.dtype, optional
        The dtype of the side (default float64).

    Returns
    -------
    dict
        "loss_scale", "loss_tolerance" (c·u), "grad_scale" (of the logits' shape), "grad_tolerance" (c·u).

    Examples
    --------
    >>> bounds = cross_entropy_tolerances(np.zeros((2, 2)), np.array([0, 1]))
    >>> float(bounds["loss_scale"]), bounds["grad_scale"].tolist()  # log 2 + 1; (p + y)/2
    (1.6931471805599454, [[0.75, 0.25], [0.25, 0.75]])
    """
    logits = np.asarray(logits, dtype=np.float64)
    k = logits.shape[axis]
    u = unit_roundoff(dtype)
    n_div = logits.size // k if reduction == "mean" else 1
    spread = float(np.max(np.ptp(logits, axis=axis), initial=0.0)) if logits.size else 0.0
    y = _one_hot64(logits, np.asarray(target), axis)
    loss_scale, reduction_units = _reduced_loss_scale(logits, axis, reduction)
    return {
        "loss_scale": loss_scale,
        "loss_tolerance": (loss_units(k) + reduction_units) * u,
        # below the smallest normal number a stored p_i has an absolute error of u times that number
        "grad_scale": (np.maximum(softmax64(logits, axis), smallest_normal(dtype)) + y) / n_div,
        "grad_tolerance": (softmax_bound_units(k, spread) + 2) * u,
    }
