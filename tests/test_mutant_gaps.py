"""Tests that close gaps the planted errors (tests/mutants.py) found: each one pins down behaviour
that some plausible mistake changed while the rest of the suite still passed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from softmax_lib.checks import CheckResult, compare, finite_difference_tolerance, machine_epsilon, rounding_tolerance


# --- the shared checks: a weakened check would pass wrong results silently (mutants compare-abs-of-sum,
# check-result-nan-passes, rounding-tolerance-sqrt-eps) ---------------------------------------------


def test_compare_reports_the_largest_entrywise_error_not_a_sum_that_cancels():
    # errors of opposite sign cancel in a sum; compare must see each entry
    result = compare("cancelling errors", [0.5 + 1e-3, 0.5 - 1e-3], [0.5, 0.5], 1e-6)
    assert result.max_error == pytest.approx(1e-3, rel=1e-9)
    assert not result.passed


def test_compare_is_absolute_up_to_one_and_relative_above():
    assert compare("small", [1e-3], [0.0], 1.0).max_error == pytest.approx(1e-3)
    assert compare("large", [1000.5], [1000.0], 1.0).max_error == pytest.approx(5e-4)


def test_a_nan_error_never_passes():
    assert not CheckResult("nan", math.nan, 1.0).passed
    assert not compare("nan entry", [np.nan, 0.0], [0.0, 0.0], 1.0).passed
    assert CheckResult("equal", 1e-3, 1e-3).passed


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_tolerances_are_the_documented_formulas(dtype):
    eps = float(np.finfo(dtype).eps)
    assert machine_epsilon(dtype) == eps
    assert rounding_tolerance(dtype, 7) == pytest.approx(10 * 7 * eps, rel=1e-12)
    assert rounding_tolerance(dtype, 0) == pytest.approx(10 * eps, rel=1e-12)
    assert finite_difference_tolerance(dtype) == pytest.approx(100 * eps ** (2 / 3), rel=1e-12)


# --- half precision is computed in float32 and rounded once (mutant softmax-half-not-widened) --------


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "logsumexp"])
def test_half_precision_is_float32_arithmetic_rounded_once(name):
    import softmax_lib as sl

    func = getattr(sl, name)
    z = np.random.default_rng(8).normal(scale=3.0, size=(3, 400)).astype(np.float16)
    # the array-API path, not the blocked kernels (which have their own test in test_fast.py)
    assert z.size < sl._softmax.BLOCKED_MIN_SIZE
    out = func(z)
    assert out.dtype == np.float16
    assert np.array_equal(out, func(z.astype(np.float32)).astype(np.float16))


def test_half_precision_softmax_is_within_one_rounding_of_the_exact_value():
    import softmax_lib as sl
    from softmax_lib.reference import softmax_mp

    # K = 400 terms: summed in float16 the row sum alone would carry an error of many u = 2⁻¹¹
    z = np.random.default_rng(9).normal(scale=3.0, size=(3, 400)).astype(np.float16)
    p = sl.softmax(z)
    ref = softmax_mp(z)
    normal = ref >= np.finfo(np.float16).tiny
    rel = np.abs(p.astype(np.float64)[normal] - ref[normal]) / ref[normal]
    assert rel.max() <= 2 * 2.0**-11


@pytest.mark.parametrize("dtype_name", ["float16", "bfloat16"])
def test_torch_half_precision_is_float32_arithmetic_rounded_once(dtype_name):
    torch = pytest.importorskip("torch")
    import softmax_lib as sl

    dtype = getattr(torch, dtype_name)
    z = torch.as_tensor(np.random.default_rng(10).normal(scale=3.0, size=(3, 400))).to(dtype)
    for func in (sl.softmax, sl.log_softmax, sl.logsumexp):
        out = func(z)
        assert out.dtype == dtype
        assert torch.equal(out, func(z.to(torch.float32)).to(dtype)), func.__name__


# --- ties at the max in the log1p form (mutant log1p-ties-ignored) -------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ties_at_the_max_each_add_their_one(dtype):
    import softmax_lib as sl

    # Rows with 1, 2 and 4 entries tied at the max: log Σ exp = m + log(n_top + rest).
    z = np.array([[5.0, 2.0, 2.0, 2.0], [5.0, 5.0, 2.0, 2.0], [5.0, 5.0, 5.0, 5.0]], dtype=dtype)
    rest = np.exp(-3.0)
    expected = 5.0 + np.log(np.array([1 + 3 * rest, 2 + 2 * rest, 4.0]))
    tol = rounding_tolerance(dtype, 4)
    assert compare("logsumexp with ties", sl.logsumexp(z), expected, tol).passed
    assert compare("log_softmax with ties", sl.log_softmax(z), z - expected[:, None], tol).passed
