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

from .bounds import logsumexp_log_units, shifted_softmax_bound_units
from .oracles import log_softmax64, softmax64
from .tolerance import (
    smallest_normal,
)

__all__ = ["softmax_error_scale", "log_softmax_error_scale", "logsumexp_error_scale", "loss_error_scale"]


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
