"""The accuracy-study kit: inputs that stress softmax formulas, and errors in units of u.

Shared by the chapters numerics and fast_exact and by benchmarks/accuracy.py; the bounds the errors
are held to are the first-order ones of tolerance.py.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .bounds import softmax_bound_units
from .tolerance import unit_roundoff

__all__ = ["STRESS_FAMILIES", "stress_logits", "relative_error_units", "rounded_once_units"]

STRESS_FAMILIES = (
    "normal",
    "large spread",
    "all equal",
    "one dominant",
    "huge +1e4",
    "near overflow",
    "tiny probabilities",
)


def stress_logits(family: str, dtype: np.dtype | type, n_classes: int, n_rows: int, seed: int = 0) -> np.ndarray:
    """(n_rows, n_classes) logits of `dtype` from one of STRESS_FAMILIES, inputs that stress softmax formulas.

    normal: N(0, 3²). large spread: uniform on [−5000, 5000] (max − min up to 1e4). all equal: 3.
    one dominant: N(0, 1) plus one logit larger by −log u + 4, so every other p_k is below u.
    huge +1e4: 1e4 + N(0, 3²), exp overflows in every dtype. near overflow: half the dtype's largest
    number plus a few of its ulps. tiny probabilities: a ramp from 0 down to 95 % of log(smallest normal).

    Parameters
    ----------
    family : str
        One of STRESS_FAMILIES.
    dtype : numpy dtype
        float64, float32 or float16.
    n_classes, n_rows : int
        The shape.
    seed : int, optional
        The seed of the draw (default 0).

    Returns
    -------
    numpy.ndarray
        (n_rows, n_classes) of `dtype`.

    Examples
    --------
    >>> z = stress_logits("one dominant", np.float32, 4, 2)
    >>> z.shape, z.dtype, bool(np.all(np.sort(z)[:, -1] - np.sort(z)[:, -2] > -np.log(unit_roundoff(np.float32))))
    ((2, 4), dtype('float32'), True)
    """
    dtype = np.dtype(dtype)
    rng = np.random.default_rng(seed)
    shape = (n_rows, n_classes)
    info = np.finfo(dtype)
    if family == "normal":
        z = rng.normal(scale=3.0, size=shape)
    elif family == "large spread":
        z = rng.uniform(-5000.0, 5000.0, size=shape)
    elif family == "all equal":
        z = np.full(shape, 3.0)
    elif family == "one dominant":
        z = rng.normal(size=shape)
        z[np.arange(n_rows), rng.integers(0, n_classes, size=n_rows)] += 4 - np.log(unit_roundoff(dtype))
    elif family == "huge +1e4":
        z = 1e4 + rng.normal(scale=3.0, size=shape)
    elif family == "near overflow":
        half = dtype.type(info.max) / dtype.type(2)
        ulp = np.spacing(half)
        return (half + ulp * rng.integers(0, 4, size=shape).astype(dtype)).astype(dtype)
    elif family == "tiny probabilities":
        z = np.tile(np.linspace(0.0, 0.95 * np.log(float(info.tiny)), n_classes), (n_rows, 1))
        z = rng.permuted(z, axis=1)
    else:
        raise ValueError(f"family must be one of {STRESS_FAMILIES}, got {family!r}")
    return z.astype(dtype)


def relative_error_units(actual: ArrayLike, reference: ArrayLike, dtype: np.dtype | type) -> NDArray[np.float64]:
    """|actual − reference| / |reference| in units of `dtype`'s u, for the entries whose reference is a
    finite normal number of `dtype` (smaller ones cannot be stored to relative accuracy). A NaN or
    infinite result where the reference is finite counts as an infinite error.

    Parameters
    ----------
    actual : array_like
        Computed values.
    reference : array_like
        Exact (or 50-digit) values, of the same shape.
    dtype : numpy dtype
        The dtype whose u is the unit and whose smallest normal number the cut.

    Returns
    -------
    numpy.ndarray
        float64, one error per kept entry (flattened).

    Examples
    --------
    >>> relative_error_units([1.0 + 2**-52, 0.5], [1.0, 0.5], np.float64)
    array([2., 0.])
    """
    actual = np.asarray(actual, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    keep = np.isfinite(reference) & (np.abs(reference) >= float(np.finfo(dtype).tiny))
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.abs(actual[keep] - reference[keep]) / np.abs(reference[keep]) / unit_roundoff(dtype)
    return np.where(np.isfinite(err), err, np.inf)


def rounded_once_units(z: ArrayLike, dtype: np.dtype | type, axis: int = -1) -> float:
    """Bound, in units of `dtype`'s u, on the relative error of a half-precision softmax computed in float32.

    float32 arithmetic within `softmax_bound_units`(K, spread) units of float32's u, then one rounding to
    `dtype`: 1 + b·u₃₂/u. Holds where the exact value is a normal number of `dtype`. Rounded to `dtype`
    at every step, the row sum of K terms alone would carry up to K − 1 units.

    Parameters
    ----------
    z : array_like
        Logits.
    dtype : numpy dtype
        The half-precision dtype of the result (float16).
    axis : int, optional
        The class axis (default the last).

    Returns
    -------
    float

    Examples
    --------
    >>> round(rounded_once_units(np.zeros(4), np.float16), 6)  # 1 + (K + 4 + log K)·2⁻²⁴/2⁻¹¹
    1.001146
    """
    z = np.asarray(z, dtype=np.float64)
    spread = float(np.max(np.ptp(z, axis=axis), initial=0.0))
    return 1 + softmax_bound_units(z.shape[axis], spread) * unit_roundoff(np.float32) / unit_roundoff(dtype)
