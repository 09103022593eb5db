"""Tests that close gaps the planted errors (tests/mutants.py) found: each one pins down behaviour
that some plausible mistake changed while the rest of the suite still passed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from softmax_lib.checks import (
    CheckResult,
    compare,
    machine_epsilon,
    rounded_once_units,
    shifted_log_softmax_bound_units,
    shifted_logsumexp_bound_units,
    shifted_softmax_bound_units,
    smallest_normal,
    unit_roundoff,
)

# --- the shared checks: a weakened check would pass wrong results silently (mutants compare-abs-of-sum,
# check-result-nan-passes, unit-roundoff-sqrt-eps) ---------------------------------------------------


def test_compare_reports_the_largest_entrywise_error_not_a_sum_that_cancels():
    # errors of opposite sign cancel in a sum; compare must see each entry
    result = compare("cancelling errors", [0.5 + 1e-3, 0.5 - 1e-3], [0.5, 0.5], 1e-6)
    assert result.max_error == pytest.approx(2e-3, rel=1e-9)  # normwise: 1e-3 / max|expected|
    assert not result.passed


def test_compare_measures_are_relative_normwise_or_scaled_by_the_data_never_by_one():
    # a tiny reference: an absolute-below-one rule would call 1e-3 against 1e-6 an error of 1e-3
    assert compare("relative", [1e-3], [1e-6], 1.0, measure="relative").max_error == pytest.approx(999.0)
    assert compare("normwise", [1e-3, 2.0], [0.0, 2.0], 1.0).max_error == pytest.approx(5e-4)
    assert compare("scaled", [0.5 + 1e-3], [0.5], 1.0, measure="scaled", scale=1e-2).max_error == pytest.approx(0.1)
    # a zero reference: only an exact zero passes a relative check
    assert compare("exact zero", [0.0], [0.0], 0.0, measure="relative").passed
    assert not compare("nonzero over zero", [1e-300], [0.0], 1e300, measure="relative").passed
    with pytest.raises(ValueError, match="scale is required"):
        compare("no scale", [1.0], [1.0], 1.0, measure="scaled")
    with pytest.raises(ValueError, match="measure must be one of"):
        compare("bad", [1.0], [1.0], 1.0, measure="absolute")


def test_a_nan_error_never_passes():
    assert not CheckResult("nan", math.nan, 1.0).passed
    assert not compare("nan entry", [np.nan, 0.0], [0.0, 0.0], 1.0).passed
    assert CheckResult("equal", 1e-3, 1e-3).passed


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_the_unit_roundoff_is_half_the_machine_epsilon(dtype):
    eps = float(np.finfo(dtype).eps)
    assert machine_epsilon(dtype) == eps
    assert unit_roundoff(dtype) == eps / 2
    assert unit_roundoff("bfloat16") == 2.0**-8


# --- the error bounds hold where they are tight (mutant softmax-bound-forgets-spread) ----------------


def test_the_softmax_bound_grows_with_the_distance_from_the_max():
    """Entries far below the max carry the rounding of z_i − m amplified by exp, |z_i − m|u: the
    measured error reaches nearly the whole bound there, and many times K + 4 + log K units."""
    from softmax_lib import softmax
    from softmax_lib.reference import softmax_mp

    z = np.random.default_rng(0).uniform(-600, 0, size=(200, 4)) + 0.1
    exact = softmax_mp(z)
    units = np.abs(softmax(z) - exact) / exact / unit_roundoff(np.float64)
    assert np.all(units <= shifted_softmax_bound_units(z))
    assert np.max(units) > 10 * (4 + 4 + np.log(4))  # the bound without |z_i − m| would not hold


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

    # float32 arithmetic, then one rounding to float16 (rounded_once_units): relative, where the reference is a
    # normal float16 number. K = 400 terms: summed in float16 the row sum alone would
    # carry an error of many u₁₆.
    z = np.random.default_rng(9).normal(scale=3.0, size=(3, 400)).astype(np.float16)
    p = sl.softmax(z)
    ref = softmax_mp(z)
    normal = ref >= smallest_normal(np.float16)
    tol = rounded_once_units(z, np.float16) * unit_roundoff(np.float16)
    assert compare("float16 via float32", p[normal], ref[normal], tol, measure="relative").passed
    e = np.exp(z - z.max(axis=-1, keepdims=True))  # float16
    in_float16 = e / np.cumsum(e, axis=-1, dtype=np.float16)[:, -1:]  # every partial sum rounded to float16
    assert not compare("float16 arithmetic", in_float16[normal], ref[normal], tol, measure="relative").passed


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
    u = unit_roundoff(dtype)
    exact_log_p = z - expected[:, None]
    assert compare(
        "logsumexp with ties",
        sl.logsumexp(z),
        expected,
        u * shifted_logsumexp_bound_units(expected, 4).max(),
        measure="relative",
    ).passed
    assert compare(
        "log_softmax with ties",
        sl.log_softmax(z),
        exact_log_p,
        u * shifted_log_softmax_bound_units(z, exact_log_p).max(),
        measure="relative",
    ).passed
