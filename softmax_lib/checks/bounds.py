"""The first-order rounding bounds of the shifted formulas, in units of u (the tolerance model's constants).

Charges as stated in tolerance.py: one correctly rounded operation u, exp and log EXP_UNITS, a sum of
n terms (n − 1)u. These are the bounds that numerics, fast_exact and the library share.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .tolerance import EXP_UNITS

__all__ = [
    "summation_units",
    "logsumexp_log_units",
    "shifted_softmax_bound_units",
    "softmax_bound_units",
    "shifted_logsumexp_bound_units",
    "shifted_log_softmax_bound_units",
    "dominant_log_softmax_bound_units",
    "loss_units",
]


def summation_units(n_terms: int) -> int:
    """n − 1: the relative error bound, in u, of a recursive sum of n terms of one sign (γ_{n−1} ≈ (n − 1)u).

    Parameters
    ----------
    n_terms : int

    Returns
    -------
    int

    Examples
    --------
    >>> summation_units(10), summation_units(0)
    (9, 0)
    """
    return max(int(n_terms) - 1, 0)


def logsumexp_log_units(n_classes: int) -> float:
    """K + 1 + 3 log K: bound, in u, on the *absolute* error of log s, s = Σ_k exp(z_k − m) ∈ [1, K].

    The K terms exp(z_k − m) carry the rounding of z_k − m amplified by exp, |z_k − m|u, plus EXP_UNITS;
    weighted by p_k in the sum that is Σ_k p_k |z_k − m| u ≤ (log K)u (Σ p_k (m − z_k) ≤ H(p) ≤ log K)
    plus 2u. Summation adds (K − 1)u, the log EXP_UNITS·log s ≤ 2 log K, and log turns s's relative
    error into an absolute one: (log K + 2) + (K − 1) + 2 log K = K + 1 + 3 log K.

    Parameters
    ----------
    n_classes : int
        K.

    Returns
    -------
    float

    Examples
    --------
    >>> float(logsumexp_log_units(1))
    2.0
    """
    k = int(n_classes)
    return k + 1 + 3 * np.log(k)


def shifted_softmax_bound_units(z: ArrayLike, axis: int = -1) -> NDArray[np.float64]:
    """Bound, in u, on the relative error of p_i = exp(z_i − m) / Σ_k exp(z_k − m), m = max z.

        |z_i − m| + EXP_UNITS + (log K + EXP_UNITS + K − 1) + 1 = |z_i − m| + K + 4 + log K.

    The rounding of z_i − m is amplified by exp (|z_i − m|u), exp adds 2u, the denominator carries
    (log K + 2 + K − 1)u (see `logsumexp_log_units`), the division u. The spread enters the entry's
    own error through |z_i − m| and the denominator only through log K.

    Parameters
    ----------
    z : array_like
        Logits.
    axis : int, optional
        The class axis (default the last).

    Returns
    -------
    numpy.ndarray
        float64, of z's shape: each entry's bound.

    Examples
    --------
    >>> shifted_softmax_bound_units([0.0, -3.0]) - np.log(2)
    array([6., 9.])
    """
    z = np.asarray(z, dtype=np.float64)
    k = z.shape[axis]
    return np.abs(z - np.max(z, axis=axis, keepdims=True)) + k + 4 + np.log(k)


def softmax_bound_units(n_classes: int, spread: float = 0.0) -> float:
    """The largest `shifted_softmax_bound_units` of a row of K logits whose max − min is `spread`.

    Parameters
    ----------
    n_classes : int
        K.
    spread : float, optional
        max z − min z of the row (default 0).

    Returns
    -------
    float

    Examples
    --------
    >>> softmax_bound_units(2, 3.0) == 3 + 2 + 4 + float(np.log(2))
    True
    """
    return float(spread + n_classes + 4 + np.log(n_classes))


def shifted_logsumexp_bound_units(reference: ArrayLike, n_classes: int) -> NDArray[np.float64]:
    """Bound, in u, on the relative error of y = m + log Σ_k exp(z_k − m): 1 + (K + 1 + 3 log K) / |y|.

    The absolute error `logsumexp_log_units` of log s, then one rounding of the sum m + log s.

    Parameters
    ----------
    reference : array_like
        The exact (or float64) values y.
    n_classes : int
        K.

    Returns
    -------
    numpy.ndarray
        float64, of the reference's shape (infinite where y = 0).

    Examples
    --------
    >>> shifted_logsumexp_bound_units([2.0], 1)
    array([2.])
    """
    y = np.abs(np.asarray(reference, dtype=np.float64))
    with np.errstate(divide="ignore"):
        return 1 + logsumexp_log_units(n_classes) / y


def shifted_log_softmax_bound_units(z: ArrayLike, reference: ArrayLike, axis: int = -1) -> NDArray[np.float64]:
    """Bound, in u, on the relative error of log p_i = (z_i − m) − log Σ_k exp(z_k − m).

    1 + (|z_i − m| + K + 1 + 3 log K) / |log p_i|: z_i − m rounded, log s as in
    `logsumexp_log_units`, one rounding of the difference.

    Parameters
    ----------
    z : array_like
        Logits.
    reference : array_like
        The exact (or float64) values log p, of z's shape.
    axis : int, optional
        The class axis (default the last).

    Returns
    -------
    numpy.ndarray
        float64, of z's shape (infinite where log p_i = 0).

    Examples
    --------
    >>> z = np.array([0.0, 0.0])
    >>> bool(np.allclose(shifted_log_softmax_bound_units(z, -np.log([2.0, 2.0])), 1 + (3 + 3 * np.log(2)) / np.log(2)))
    True
    """
    z = np.asarray(z, dtype=np.float64)
    y = np.abs(np.asarray(reference, dtype=np.float64))
    with np.errstate(divide="ignore"):
        return 1 + (np.abs(z - np.max(z, axis=axis, keepdims=True)) + logsumexp_log_units(z.shape[axis])) / y


def dominant_log_softmax_bound_units(z: ArrayLike, axis: int = -1) -> NDArray[np.float64]:
    """Bound, in u, on the relative error of log p_max = −log1p(s₁) in the log1p form, one per row.

    s₁ = Σ_{k ≠ argmax} exp(z_k − m): each term carries its shift's rounding, at most the row's spread r
    in relative terms, and exp's EXP_UNITS; their sum of K − 1 terms `summation_units`(K − 1); log1p
    EXP_UNITS more, and log1p(s₁) ≈ s₁ passes a relative error through unchanged. In all
    r + EXP_UNITS + (K − 2) + EXP_UNITS, however small p_max's logarithm is (the plain log(1 + s₁)
    returns 0 once s₁ < u: a relative error of 1).

    Parameters
    ----------
    z : array_like
        Logits, with the classes along `axis`.
    axis : int, optional
        The class axis (default the last).

    Returns
    -------
    numpy.ndarray
        float64, one bound per row (z's shape without `axis`).

    Examples
    --------
    >>> dominant_log_softmax_bound_units(np.array([0.0, -45.0, -46.0])) == 46 + 2 * EXP_UNITS + 1
    np.True_
    """
    z = np.asarray(z, dtype=np.float64)
    return np.ptp(z, axis=axis) + EXP_UNITS + summation_units(z.shape[axis] - 1) + EXP_UNITS


def loss_units(n_classes: int) -> float:
    """L + K + 2: bound, in u, on a row's cross-entropy error relative to max_k |z_k − m| + log K + 1, with
    L = logsumexp_log_units(K): each log p_k = (z_k − m) − log s carries |z_k − m| + L + |log p_k| units,
    the weighted sum over K classes K − 1 and the products one more.

    Parameters
    ----------
    n_classes : int
        K.

    Returns
    -------
    float

    Examples
    --------
    >>> float(loss_units(1))  # L = 2 for K = 1
    5.0
    """
    return logsumexp_log_units(n_classes) + n_classes + 2
