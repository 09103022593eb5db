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
softmax, logsumexp and log_softmax, in units of u, are in bounds.py: the ones numerics, fast_exact
and the library share.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "DTYPES",
    "NUMPY_DTYPES",
    "EXP_UNITS",
    "CheckResult",
    "as_float64",
    "assert_passed",
    "compare",
    "dtype_name",
    "machine_epsilon",
    "unit_roundoff",
    "smallest_normal",
]

# Every dtype the checks run in; NumPy has no bfloat16, so that one always runs on torch.
DTYPES = ("float64", "float32", "float16", "bfloat16")
NUMPY_DTYPES = ("float64", "float32", "float16")
MEASURES = ("relative", "normwise", "scaled")

# exp and log of NumPy, torch and libm are faithful: within one ulp = 2u of the exact value.
EXP_UNITS = 2


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


def as_float64(x: Any) -> np.ndarray:
    """Any result (a NumPy array, a torch tensor on any device, a list) as a float64 NumPy array on the host.

    What every comparison of the kit measures with; the counterpart of `to_torch`.

    Parameters
    ----------
    x : array_like or torch.Tensor

    Returns
    -------
    numpy.ndarray
        float64.

    Examples
    --------
    >>> as_float64(np.float16(0.1)), as_float64([1, 2])
    (array(0.09997559), array([1., 2.]))
    """
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
    actual, expected = as_float64(actual), as_float64(expected)
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
        scale = as_float64(scale)
        if np.any(scale < 0) or np.any(np.isnan(scale)):
            raise ValueError(f"{name}: scale must be nonnegative")
        error = _max_ratio(diff, np.broadcast_to(scale, diff.shape))
    return CheckResult(name, error, tolerance, measure)
