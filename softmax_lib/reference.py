"""High-precision references (mpmath) for measuring the error of floating-point implementations.

Each function evaluates the textbook formula in `dps` significant decimal digits (50 by default)
from the exact binary values of the input, and rounds the result to float64 at the end, so the
reference itself is correct to float64's last bit for any input representable in float64
(for float64 *output* values that are not subnormal). Slow: for tests and benchmarks only.
"""

from __future__ import annotations

import mpmath
import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._cross_entropy import target_distribution
from ._validation import as_float_array, class_axis

__all__ = ["logsumexp_mp", "log_softmax_mp", "softmax_mp", "cross_entropy_mp"]


def _rows(z: ArrayLike, axis: int):
    z = as_float_array(z, "z")
    axis = class_axis(z, axis, "z")
    moved = np.moveaxis(z, axis, -1)
    return moved.reshape(-1, moved.shape[-1]), moved.shape, axis


def _apply(z: ArrayLike, axis: int, row_fn, dps: int, keeps_axis: bool) -> NDArray[np.float64]:
    rows, moved_shape, axis = _rows(z, axis)
    with mpmath.workdps(dps):
        out = [row_fn([mpmath.mpf(float(v)) for v in row]) for row in rows]
    if keeps_axis:
        result = np.array([[float(v) for v in row] for row in out], dtype=np.float64).reshape(moved_shape)
        return np.moveaxis(result, -1, axis)
    return np.array([float(v) for v in out], dtype=np.float64).reshape(moved_shape[:-1])


def _lse(row):
    return mpmath.log(mpmath.fsum(mpmath.exp(v) for v in row))


def logsumexp_mp(z: ArrayLike, axis: int = -1, dps: int = 50) -> NDArray[np.float64]:
    """log Σ_k exp(z_k) in `dps` digits, rounded to float64."""
    return _apply(z, axis, _lse, dps, keeps_axis=False)


def log_softmax_mp(z: ArrayLike, axis: int = -1, dps: int = 50) -> NDArray[np.float64]:
    """z_i − log Σ_k exp(z_k) in `dps` digits, rounded to float64."""

    def row_log_softmax(row):
        lse = _lse(row)
        return [v - lse for v in row]

    return _apply(z, axis, row_log_softmax, dps, keeps_axis=True)


def softmax_mp(z: ArrayLike, axis: int = -1, dps: int = 50) -> NDArray[np.float64]:
    """exp(z_i) / Σ_k exp(z_k) in `dps` digits, rounded to float64 (mpmath's exponent range is unbounded)."""

    def row_softmax(row):
        total = mpmath.fsum(mpmath.exp(v) for v in row)
        return [mpmath.exp(v) / total for v in row]

    return _apply(z, axis, row_softmax, dps, keeps_axis=True)


def cross_entropy_mp(logits: ArrayLike, target: ArrayLike, axis: int = -1, dps: int = 50) -> NDArray[np.float64]:
    """Per-row −Σ_k y_k log p_k in `dps` digits (reduction "none"), for a probability target of the logits' shape
    or integer class indices (converted exactly to one-hot rows)."""
    y = target_distribution(np.asarray(logits, dtype=np.float64), target, axis)
    y_rows, _, _ = _rows(y, axis)
    z_rows, moved_shape, _ = _rows(logits, axis)
    with mpmath.workdps(dps):
        out = []
        for z_row, y_row in zip(z_rows, y_rows):
            z_mp = [mpmath.mpf(float(v)) for v in z_row]
            lse = _lse(z_mp)
            out.append(-mpmath.fsum(mpmath.mpf(float(y)) * (v - lse) for v, y in zip(z_mp, y_row)))
    return np.array([float(v) for v in out], dtype=np.float64).reshape(moved_shape[:-1])
