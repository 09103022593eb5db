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
    """log Σ_k exp(z_k) in `dps` digits, rounded to float64.

    Parameters
    ----------
    z : array_like
        Logits (their exact binary values are used).
    axis : int, optional
        The class axis to reduce (default the last).
    dps : int, optional
        Decimal digits of the working precision (default 50).

    Returns
    -------
    numpy.ndarray
        float64, of z's shape without `axis`.

    Examples
    --------
    >>> logsumexp_mp([[0.0, np.log(3.0)]])  # log 4
    array([1.38629436])
    """
    return _apply(z, axis, _lse, dps, keeps_axis=False)


def log_softmax_mp(z: ArrayLike, axis: int = -1, dps: int = 50) -> NDArray[np.float64]:
    """z_i − log Σ_k exp(z_k) in `dps` digits, rounded to float64.

    Parameters
    ----------
    z : array_like
        Logits (their exact binary values are used).
    axis : int, optional
        The class axis (default the last).
    dps : int, optional
        Decimal digits of the working precision (default 50).

    Returns
    -------
    numpy.ndarray
        float64, of z's shape.

    Examples
    --------
    >>> float(log_softmax_mp([0.0, -45.0, -46.0])[0])  # −log(1 + e^−45 + e^−46), exact to the last bit
    -3.915580316304775e-20
    """

    def row_log_softmax(row):
        lse = _lse(row)
        return [v - lse for v in row]

    return _apply(z, axis, row_log_softmax, dps, keeps_axis=True)


def softmax_mp(z: ArrayLike, axis: int = -1, dps: int = 50) -> NDArray[np.float64]:
    """exp(z_i) / Σ_k exp(z_k) in `dps` digits, rounded to float64 (mpmath's exponent range is unbounded).

    Parameters
    ----------
    z : array_like
        Logits (their exact binary values are used).
    axis : int, optional
        The class axis (default the last).
    dps : int, optional
        Decimal digits of the working precision (default 50).

    Returns
    -------
    numpy.ndarray
        float64, of z's shape.

    Examples
    --------
    >>> softmax_mp([0.0, -800.0])  # e^−800 is below float64's range: it rounds to 0 only at the end
    array([1., 0.])
    """

    def row_softmax(row):
        total = mpmath.fsum(mpmath.exp(v) for v in row)
        return [mpmath.exp(v) / total for v in row]

    return _apply(z, axis, row_softmax, dps, keeps_axis=True)


def cross_entropy_mp(logits: ArrayLike, target: ArrayLike, axis: int = -1, dps: int = 50) -> NDArray[np.float64]:
    """Per-row −Σ_k y_k log p_k in `dps` digits (reduction "none").

    Parameters
    ----------
    logits : array_like
        Logits (their exact binary values are used).
    target : array_like
        A probability target of the logits' shape, or integer class indices (converted exactly to
        one-hot rows).
    axis : int, optional
        The class axis (default the last).
    dps : int, optional
        Decimal digits of the working precision (default 50).

    Returns
    -------
    numpy.ndarray
        float64, of the logits' shape without `axis`.

    Examples
    --------
    >>> cross_entropy_mp([[0.0, 0.0]], [1])  # log 2
    array([0.69314718])
    """
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
