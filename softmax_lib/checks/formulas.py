"""The textbook formulas written out in float64 NumPy, independent of softmax_lib: the float64 references.

Used as the function that central differences differentiate and as the reference values of checks.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["softmax64", "log_softmax64", "cross_entropy64", "cross_entropy_grad64"]


def softmax64(z: ArrayLike, axis: int = -1) -> NDArray[np.float64]:
    """exp(z − m) / Σ exp(z − m) in float64, independent of softmax_lib.

    Parameters
    ----------
    z : array_like
    axis : int, optional
        The class axis (default the last).

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> softmax64([0.0, np.log(3.0)])
    array([0.25, 0.75])
    """
    e = np.exp(np.asarray(z, dtype=np.float64) - np.max(z, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax64(z: ArrayLike, axis: int = -1) -> NDArray[np.float64]:
    """(z − m) − log Σ exp(z − m) in float64, independent of softmax_lib.

    Parameters
    ----------
    z : array_like
    axis : int, optional
        The class axis (default the last).

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> log_softmax64([0.0, 0.0])
    array([-0.69314718, -0.69314718])
    """
    shifted = np.asarray(z, dtype=np.float64) - np.max(z, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def _one_hot64(logits: np.ndarray, target: np.ndarray, axis: int) -> np.ndarray:
    target = np.asarray(target)
    if target.shape == logits.shape:
        return np.asarray(target, dtype=np.float64)
    axis = axis % logits.ndim
    classes = np.arange(logits.shape[axis]).reshape([-1 if a == axis else 1 for a in range(logits.ndim)])
    return (np.expand_dims(target, axis) == classes).astype(np.float64)


def _reduce64(per_row: np.ndarray, reduction: str) -> np.ndarray:
    return {"none": per_row, "sum": np.sum(per_row), "mean": np.mean(per_row)}[reduction]


def cross_entropy64(logits: ArrayLike, target: ArrayLike, axis: int = -1, reduction: str = "mean") -> np.ndarray:
    """−Σ_k y_k log p_k per row, reduced, in float64 (class indices become one-hot rows).

    Parameters
    ----------
    logits : array_like
    target : array_like
        Class indices, or probabilities of the logits' shape.
    axis : int, optional
        The class axis (default the last).
    reduction : {"mean", "sum", "none"}, optional

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> cross_entropy64(np.zeros((2, 4)), np.array([0, 3]), reduction="none")  # log 4
    array([1.38629436, 1.38629436])
    """
    logits = np.asarray(logits, dtype=np.float64)
    y = _one_hot64(logits, target, axis)
    return _reduce64(-np.sum(y * log_softmax64(logits, axis), axis=axis), reduction)


def cross_entropy_grad64(logits: ArrayLike, target: ArrayLike, axis: int = -1, reduction: str = "mean") -> np.ndarray:
    """(p − y), divided by the number of rows for the mean, in float64.

    Parameters
    ----------
    logits : array_like
    target : array_like
        Class indices, or probabilities of the logits' shape.
    axis : int, optional
        The class axis (default the last).
    reduction : {"mean", "sum", "none"}, optional

    Returns
    -------
    numpy.ndarray
        Of the logits' shape.

    Examples
    --------
    >>> cross_entropy_grad64(np.zeros((2, 2)), np.array([0, 1]))
    array([[-0.25,  0.25],
           [ 0.25, -0.25]])
    """
    logits = np.asarray(logits, dtype=np.float64)
    grad = softmax64(logits, axis) - _one_hot64(logits, target, axis)
    return grad / (grad.size // logits.shape[axis]) if reduction == "mean" else grad
