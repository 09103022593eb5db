"""Softmax cross-entropy and its gradient with respect to the logits, in NumPy."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._softmax import as_float_array, class_axis, log_softmax, softmax

__all__ = ["cross_entropy", "cross_entropy_grad", "target_distribution"]

REDUCTIONS = ("mean", "sum", "none")


def target_distribution(logits: ArrayLike, target: ArrayLike, axis: int = -1) -> NDArray[np.floating]:
    """The target as one probability vector per row, y, with the logits' shape and dtype.

    `target` is either integer class indices with the logits' shape minus the class axis
    (turned into one-hot rows), or probabilities with the logits' shape whose rows sum to 1.
    """
    logits = as_float_array(logits, "logits")
    axis = class_axis(logits, axis, "logits")
    n_classes = logits.shape[axis]
    batch_shape = logits.shape[:axis] + logits.shape[axis + 1 :]
    target = np.asarray(target)

    if np.issubdtype(target.dtype, np.integer) and target.shape == batch_shape:
        if target.size and (target.min() < 0 or target.max() >= n_classes):
            bad = target[(target < 0) | (target >= n_classes)].flat[0]
            raise IndexError(f"target class index {bad} is out of range for {n_classes} classes")
        y = np.zeros(logits.shape, dtype=logits.dtype)
        np.put_along_axis(y, np.expand_dims(target, axis), 1, axis=axis)
        return y

    if np.issubdtype(target.dtype, np.floating) and target.shape == logits.shape:
        if np.any(target < 0) or not np.all(np.isfinite(target)):
            raise ValueError("probability target has negative or non-finite entries")
        # The rows are data, often rounded (label smoothing, float32): allow the rounding of a
        # K-term sum, reject anything that is not a distribution.
        tol = np.sqrt(np.finfo(target.dtype).eps)
        row_sums = np.sum(target, axis=axis)
        if np.any(np.abs(row_sums - 1) > tol):
            worst = row_sums.flat[np.argmax(np.abs(row_sums - 1))]
            raise ValueError(f"probability target rows must sum to 1 (within {tol:.1e}); one sums to {worst!r}")
        return target.astype(logits.dtype, copy=False)

    raise ValueError(
        f"target of shape {target.shape} and dtype {target.dtype} fits neither form: integer class "
        f"indices of shape {batch_shape} or floating probabilities of shape {logits.shape}"
    )


def _reduce(per_row: np.ndarray, reduction: str) -> np.ndarray:
    if reduction == "none":
        return per_row
    if reduction == "sum":
        return np.sum(per_row)
    return np.mean(per_row)


def _check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


def cross_entropy(
    logits: ArrayLike, target: ArrayLike, axis: int = -1, reduction: str = "mean"
) -> NDArray[np.floating]:
    """L_n = −Σ_k y_nk log p_nk with p_n = softmax(z_n); reduced over the N rows by "mean" (Σ_n L_n / N),
    "sum" or "none" (the array of L_n, the logits' shape without the class axis).

    `target` is class indices (y one-hot) or probabilities; see `target_distribution`.
    The values equal `torch.nn.functional.cross_entropy(logits, target, reduction=...)` with
    classes on `axis`. log p comes from `log_softmax`, so it stays finite where p underflows.
    """
    _check_reduction(reduction)
    y = target_distribution(logits, target, axis)
    per_row = -np.sum(y * log_softmax(logits, axis=axis), axis=axis)
    return _reduce(per_row, reduction)


def cross_entropy_grad(
    logits: ArrayLike, target: ArrayLike, axis: int = -1, reduction: str = "mean"
) -> NDArray[np.floating]:
    """∂L/∂z = p − y for each row, divided by N for "mean" (N = number of rows).

    For "none" the loss is one number per row, each depending on its own row only, so the
    result is the stack of the per-row gradients ∂L_n/∂z_n = p_n − y_n (the gradient of "sum").
    Holds for any target distribution with Σ_k y_k = 1, not only one-hot.
    """
    _check_reduction(reduction)
    y = target_distribution(logits, target, axis)
    grad = softmax(logits, axis=axis) - y
    if reduction == "mean":
        grad /= max(y.size // y.shape[class_axis(y, axis, "logits")], 1)
    return grad
