"""The book's tolerance model: error measures, u, and first-order rounding bounds in units of u.

A check compares a result with a reference under one of three error measures (`compare`):

* ``"relative"``: componentwise |a − e| / |e|, where the reference is well away from zero;
* ``"normwise"``: ‖a − e‖∞ / ‖e‖∞, where the entries span many magnitudes;
* ``"scaled"``: |a − e| / s for a scale s taken from the data (never the constant 1), where
  cancellation makes a relative measure meaningless: s is then the size of the terms that cancel.

The tolerance is a stated first-order rounding bound c·u with its constant c, u = 2^(−t) the unit
roundoff of a format with t significand bits. Charges: one correctly rounded operation u; exp and
log from a math library EXP_UNITS = 2 (faithful: within one ulp); a sum of n terms (n − 1)u
(recursive summation; pairwise summation does better). The first-order bounds of the shifted
softmax, logsumexp and log_softmax below are the ones numerics, fast_exact and the library share.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "DTYPES",
    "NUMPY_DTYPES",
    "EXP_UNITS",
    "CheckResult",
    "assert_passed",
    "compare",
    "dtype_name",
    "machine_epsilon",
    "unit_roundoff",
    "smallest_normal",
    "summation_units",
    "shifted_softmax_bound_units",
    "shifted_logsumexp_bound_units",
    "shifted_log_softmax_bound_units",
    "softmax_bound_units",
    "logsumexp_log_units",
    "central_difference_step",
    "central_difference_error",
    "central_difference_jacobian",
    "THIRD_DERIVATIVE_SOFTMAX",
]

# Every dtype the checks run in; NumPy has no bfloat16, so that one always runs on torch.
DTYPES = ("float64", "float32", "float16", "bfloat16")
NUMPY_DTYPES = ("float64", "float32", "float16")
MEASURES = ("relative", "normwise", "scaled")

# exp and log of NumPy, torch and libm are faithful: within one ulp = 2u of the exact value.
EXP_UNITS = 2
# sup |d³σ/dt³| of the logistic function σ = 1/(1 + e^(−t)), attained where σ(1 − σ) = 1/4. Along one
# coordinate z_j, each p_i and each entry of p − y is such a function (scaled by at most 1), so 1/8 bounds
# the third derivative that the central difference's truncation error is made of.
THIRD_DERIVATIVE_SOFTMAX = 1 / 8


def dtype_name(dtype: Any) -> str:
    """The name of a floating dtype: "float32" for np.float32, np.dtype("float32"), torch.float32 or "float32".

    Parameters
    ----------
    dtype : str, numpy dtype or torch.dtype

    Returns
    -------
    str

    Examples
    --------
    >>> dtype_name(np.float16), dtype_name("bfloat16")
    ('float16', 'bfloat16')
    """
    if isinstance(dtype, str):
        return dtype
    if type(dtype).__module__ == "torch":
        return str(dtype).removeprefix("torch.")
    return np.dtype(dtype).name


def machine_epsilon(dtype: Any) -> float:
    """ε = 2^(1−t) for a format with t significand bits; the unit roundoff is u = ε/2.

    Parameters
    ----------
    dtype : str, numpy dtype or torch.dtype
        float64, float32, float16 or bfloat16.

    Returns
    -------
    float

    Examples
    --------
    >>> machine_epsilon("float16") == 2.0**-10, machine_epsilon("bfloat16") == 2.0**-7
    (True, True)
    """
    name = dtype_name(dtype)
    if name == "bfloat16":  # 8 significand bits; not a NumPy dtype
        return 2.0**-7
    return float(np.finfo(name).eps)


def unit_roundoff(dtype: Any) -> float:
    """u = ε/2: the largest relative error of one correctly rounded operation in `dtype`.

    Parameters
    ----------
    dtype : str, numpy dtype or torch.dtype
        float64, float32, float16 or bfloat16.

    Returns
    -------
    float

    Examples
    --------
    >>> unit_roundoff(np.float64) == 2.0**-53
    True
    """
    return machine_epsilon(dtype) / 2


def smallest_normal(dtype: Any) -> float:
    """The smallest positive normal number of `dtype`.

    Below it a value is stored with an absolute error of up to u times this number, not a relative
    one (bfloat16 shares float32's exponent range).

    Parameters
    ----------
    dtype : str, numpy dtype or torch.dtype

    Returns
    -------
    float

    Examples
    --------
    >>> smallest_normal("float16") == 2.0**-14, smallest_normal("bfloat16") == 2.0**-126
    (True, True)
    """
    name = dtype_name(dtype)
    return float(np.finfo("float32" if name == "bfloat16" else name).tiny)


# --- first-order bounds, in units of u ------------------------------------------------------------


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


# --- central differences -------------------------------------------------------------------------


def central_difference_step(x: float) -> float:
    """h = ε^(1/3)·max(1, |x|) in float64: it balances truncation (∝ h²) against rounding (∝ ε/h).

    Parameters
    ----------
    x : float
        The point of the difference.

    Returns
    -------
    float

    Examples
    --------
    >>> h = central_difference_step(0.0)
    >>> print(f"{h:.3e}", float(central_difference_step(-10.0) / h))
    6.055e-06 10.0
    """
    return np.finfo(np.float64).eps ** (1 / 3) * max(1.0, abs(float(x)))


def central_difference_error(third_derivative: float, f_scale: float, f_units: float, x_scale: float = 1.0) -> float:
    """Bound on the absolute error of (f(x + h) − f(x − h)) / 2h in float64, h = central_difference_step.

        truncation h²·M₃/6  +  rounding c·u·|f| / h

    The step grows with |x| up to `x_scale`: the truncation term uses the largest step, the rounding
    term the smallest.

    Parameters
    ----------
    third_derivative : float
        M₃, a bound on the third derivative of f along the step.
    f_scale : float
        A bound on |f|.
    f_units : float
        c: each float64 evaluation of f is within c·u·|f|.
    x_scale : float, optional
        The largest |x| (default 1).

    Returns
    -------
    float

    Examples
    --------
    >>> print(f"{central_difference_error(THIRD_DERIVATIVE_SOFTMAX, 1.0, 10.0):.2e}")  # about ε^(2/3)
    1.84e-10
    """
    u = unit_roundoff(np.float64)
    h_small, h_large = central_difference_step(1.0), central_difference_step(x_scale)
    return h_large**2 * third_derivative / 6 + f_units * u * f_scale / h_small


def central_difference_jacobian(f: Callable[[NDArray[np.float64]], ArrayLike], x: ArrayLike) -> NDArray[np.float64]:
    """∂f/∂x by central differences (f(x + h e_j) − f(x − h e_j)) / 2h, h = central_difference_step(x_j).

    Its error is bounded by `central_difference_error`.

    Parameters
    ----------
    f : callable
        A function of a float64 array of x's shape.
    x : array_like
        The point.

    Returns
    -------
    numpy.ndarray
        Shape f(x).shape + x.shape.

    Examples
    --------
    >>> central_difference_jacobian(lambda x: x**2, np.array([1.0, 2.0])).round(6)
    array([[2., 0.],
           [0., 4.]])
    """
    x = np.asarray(x, dtype=np.float64)
    out_shape = np.shape(f(x))
    jac = np.empty(out_shape + (x.size,))
    flat = x.ravel()
    for j in range(flat.size):
        h = central_difference_step(flat[j])
        up, down = flat.copy(), flat.copy()
        up[j] += h
        down[j] -= h
        diff = np.asarray(f(up.reshape(x.shape))) - np.asarray(f(down.reshape(x.shape)))
        jac[..., j] = diff / (up[j] - down[j])
    return jac.reshape(out_shape + x.shape)


# --- comparing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckResult:
    """One comparison: the largest error found under `measure` and the tolerance it must not exceed.

    Parameters
    ----------
    name : str
        What was compared.
    max_error : float
        The largest error under `measure` (NaN fails).
    tolerance : float
        The bound it must not exceed.
    measure : str, optional
        "normwise" (default), "relative" or "scaled", as in `compare`.

    Examples
    --------
    >>> result = CheckResult("p", 1e-17, 1e-16)
    >>> result.passed, str(result)
    (True, 'p: passed (tolerance 1.0e-16)')
    """

    name: str
    max_error: float
    tolerance: float
    measure: str = "normwise"

    @property
    def passed(self) -> bool:
        return bool(self.max_error <= self.tolerance)  # NaN compares False: a NaN fails

    def __str__(self) -> str:
        # The error itself differs between CPU and CUDA runs; what is stable is the verdict.
        verdict = "passed" if self.passed else f"FAILED (max error {self.max_error:.3e})"
        return f"{self.name}: {verdict} (tolerance {self.tolerance:.1e})"


def assert_passed(results: CheckResult | list[CheckResult]) -> None:
    """Raise AssertionError with the first failed check's line: the verdict of a test or a chapter.

    Parameters
    ----------
    results : CheckResult or list of CheckResult

    Returns
    -------
    None

    Raises
    ------
    AssertionError
        If any result did not pass.

    Examples
    --------
    >>> assert_passed([CheckResult("a", 0.0, 0.0)])
    >>> try:
    ...     assert_passed(CheckResult("b", 2.0, 1.0))
    ... except AssertionError as error:
    ...     print(str(error).splitlines()[0])
    b: FAILED (max error 2.000e+00) (tolerance 1.0e+00)
    """
    for result in results if isinstance(results, list) else [results]:
        assert result.passed, str(result)


def _is_tensor(x: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def _float64_numpy(x: Any) -> np.ndarray:
    if _is_tensor(x):
        import torch

        return x.detach().to(device="cpu", dtype=torch.float64).numpy()
    return np.asarray(x, dtype=np.float64)


def _max_ratio(diff: np.ndarray, scale: np.ndarray) -> float:
    # 0/0 (an exact zero where the scale is zero) is no error; anything else over a zero scale is infinite
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(diff == 0, 0.0, diff / scale)
    ratio = np.where(np.isnan(diff), np.inf, ratio)
    return float(np.max(ratio, initial=0.0))


def compare(
    name: str, actual: Any, expected: Any, tolerance: float, *, measure: str = "normwise", scale: Any = None
) -> CheckResult:
    """The largest error of `actual` against `expected` under one error measure, and its tolerance.

    Parameters
    ----------
    name : str
        What is compared, for the report.
    actual, expected : array_like or torch.Tensor
        Same shape; both are widened to float64 on the host.
    tolerance : float
        The bound the error must not exceed, in the measure's units (c·u for a bound of c units of u).
    measure : {"normwise", "relative", "scaled"}
        "normwise": max|a − e| / max|e|. "relative": max over entries of |a − e| / |e| (a nonzero error
        where e = 0 is infinite). "scaled": max over entries of |a − e| / scale.
    scale : array_like or float, optional
        Required by (and only by) "scaled": positive, broadcastable to the shape, taken from the data.

    Returns
    -------
    CheckResult
        A NaN anywhere in `actual` gives an infinite error: the check fails.

    Examples
    --------
    >>> compare("p", [0.5, 0.25], [0.5, 0.25 + 1e-17], 1e-15, measure="relative").passed
    True
    >>> compare("zero Jacobian", [0.0, 0.0], [0.25, -0.25], 0.5).passed
    False
    """
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {MEASURES}, got {measure!r}")
    if (measure == "scaled") != (scale is not None):
        raise ValueError(f"scale is required by measure='scaled' and only by it, got measure={measure!r}")
    actual, expected = _float64_numpy(actual), _float64_numpy(expected)
    if actual.shape != expected.shape:
        raise ValueError(f"{name}: shape {actual.shape} differs from the reference's {expected.shape}")
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(actual - expected)
    diff = np.where(np.isinf(expected) & (actual == expected), 0.0, diff)
    if measure == "relative":
        error = _max_ratio(diff, np.abs(expected))
    elif measure == "normwise":
        norm = float(np.max(np.abs(expected), initial=0.0))
        error = _max_ratio(diff, np.full(diff.shape, norm))
    else:
        scale = _float64_numpy(scale)
        if np.any(scale < 0) or np.any(np.isnan(scale)):
            raise ValueError(f"{name}: scale must be nonnegative")
        error = _max_ratio(diff, np.broadcast_to(scale, diff.shape))
    return CheckResult(name, error, tolerance, measure)
