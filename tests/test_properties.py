"""Property-based tests (Hypothesis) of softmax_lib over shapes, class axes, dtypes and adversarial values.

Each test states a property that must hold for every input Hypothesis draws: arrays of 1 to 3
dimensions, any class axis, float32 and float64, values from tiny subnormals to half the dtype's
largest finite number, ties, and ±inf and NaN where the test is about them. Tolerances are first-order
bounds in units of the dtype's u (softmax_lib.checks.tolerance), each stated where it is used; the
error measure takes its scale from the data (the size of the terms), never a constant.
Where a property is exact in floating point (outputs in [0, 1], logsumexp ≥ max, loss ≥ 0), it
is checked exactly, and the test says why it is exact.

The examples are derandomized and bounded (the "ci" profile in tests/conftest.py), so every run
checks the same inputs. HYPOTHESIS_PROFILE=explore draws many more, at random.

Special values, each checked against torch on the CPU (float64 and float32):
  * NaN anywhere in a row makes every output of that row NaN (softmax, log_softmax, logsumexp,
    the Jacobian block, the VJP, the loss and its gradient); every other row is bit-identical to
    the result without the NaN.
  * +inf in a row: softmax, log_softmax, the VJP and the loss gradient are NaN for the whole row
    (the max-shift computes inf − inf); logsumexp is +inf (NaN if the row also holds a NaN).
  * −inf entries in a row with a finite maximum are masked classes: probability exactly 0,
    log-probability −inf, gradient entry exactly 0 (or −y_k), logsumexp of the other entries.
  * a row of only −inf: softmax and log_softmax are NaN, logsumexp is −inf.
  * cross_entropy of a row with a masked class (−inf logit) that the target gives no weight:
    the finite −Σ_{y_k > 0} y_k log p_k, taking 0·log 0 = 0. With a class-index target torch
    gives the same (it gathers −log p at the target); with a probability target torch's
    cross_entropy computes 0·(−inf) = NaN, so the reference there is torch's log_softmax summed
    with the same 0·log 0 = 0 convention.
"""

import numpy as np
import pytest
import torch
from hypothesis import assume, given, note
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import softmax_lib as sl
from softmax_lib.checks import (
    EXP_UNITS,
    THIRD_DERIVATIVE_SOFTMAX,
    assert_passed,
    central_difference_error,
    central_difference_jacobian,
    compare,
    jacobian_units,
    logsumexp_log_units,
    loss_error_scale,
    loss_units,
    softmax64,
    softmax_bound_units,
    to_torch,
    unit_roundoff,
)

DTYPES = [np.float32, np.float64]
CPU = torch.device("cpu")


# --- strategies --------------------------------------------------------------------------------


def finite_floats(dtype, bound):
    width = np.finfo(dtype).bits
    return st.floats(-bound, bound, width=width, allow_nan=False, allow_infinity=False)


def logit_elements(dtype, bound=None):
    """Moderate values (where probabilities are far from 0 and 1) mixed with anything finite up to
    `bound` (default half the largest finite number, so that z − max z cannot overflow)."""
    bound = float(np.finfo(dtype).max) / 2 if bound is None else bound
    return st.one_of(finite_floats(dtype, min(bound, 30.0)), finite_floats(dtype, bound))


@st.composite
def logits_and_axis(draw, dtype=None, bound=None, max_dims=3, max_side=6, elements=None):
    dtype = draw(st.sampled_from(DTYPES)) if dtype is None else dtype
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=max_dims, min_side=1, max_side=max_side))
    z = draw(hnp.arrays(dtype, shape, elements=elements(dtype) if elements else logit_elements(dtype, bound)))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    return z, axis


@st.composite
def index_target(draw, z, axis):
    batch_shape = tuple(int(n) for d, n in enumerate(z.shape) if d != axis % z.ndim)
    return draw(hnp.arrays(np.int64, batch_shape, elements=st.integers(0, z.shape[axis] - 1)))


@st.composite
def probability_target(draw, z, axis):
    """Rows of weights 0 or in [10⁻³, 1], normalised to sum to 1 (so non-zero entries are > 10⁻⁴), in z's dtype."""
    weights = draw(hnp.arrays(np.float64, z.shape, elements=st.one_of(st.just(0.0), st.floats(1e-3, 1.0))))
    weights = np.where(np.sum(weights, axis=axis, keepdims=True) > 0, weights, 1.0)  # no all-zero row
    return (weights / np.sum(weights, axis=axis, keepdims=True)).astype(z.dtype)


def rows(x, axis):
    """x with the class axis last and the other axes flattened: shape (rows, K)."""
    x = np.moveaxis(np.asarray(x), axis, -1)
    return x.reshape(-1, x.shape[-1])


def k_of(z, axis):
    return z.shape[axis]


# --- bounds, in units of u (first-order; softmax_lib.checks.tolerance) ------------------------------
# p_i is within b_i = |z_i − m| + K + 4 + log K units of itself. For any spread, |z_i − m|·p_i ≤ max p / e,
# so b1 = softmax_bound_units(K, 1) bounds every entry's error relative to max p (normwise), or relative to
# p_i + max p where an entry is scaled by its own p_i (`p_with_max`). L = logsumexp_log_units(K).


def b1(z, axis):
    return softmax_bound_units(k_of(z, axis), 1.0)


def p_with_max(z, axis):
    """p_i + max_k p_k of its row, in float64: the size that carries p_i's error whatever |z_i − m|."""
    with np.errstate(invalid="ignore", under="ignore"):
        p = softmax64(z, axis)
        return p + np.max(p, axis=axis, keepdims=True)


def compare_probabilities(name, actual, expected, z, axis, sides=2, extra=0.0):
    """Probabilities, normwise: each side within b1 units (`sides` computed in z's dtype), plus `extra`."""
    return compare(name, actual, expected, (sides * b1(z, axis) + extra) * unit_roundoff(z.dtype))


def compare_log_softmax(name, actual, expected, z, axis, sides=2, extra=0.0):
    """log p_i within (|log p_i| + |z_i − m| + L)·u ≤ 2(|log p_i| + L/2)·u (|z_i − m| ≤ |log p_i|): scaled by
    |log p_i| + L/2 + extra (half, so that the scale does not overflow near the dtype's largest number)."""
    expected = np.asarray(expected, dtype=np.float64)
    scale = np.abs(expected) + logsumexp_log_units(k_of(z, axis)) / 2 + extra
    return compare(name, actual, expected, 2 * sides * unit_roundoff(z.dtype), measure="scaled", scale=scale)


def compare_logsumexp(name, actual, expected, z, axis, sides=2, extra=0.0):
    """y = m + log s within (|y| + L)·u: scaled by |y| + L + extra."""
    expected = np.asarray(expected, dtype=np.float64)
    scale = np.abs(expected) + logsumexp_log_units(k_of(z, axis)) + extra
    return compare(name, actual, expected, sides * unit_roundoff(z.dtype), measure="scaled", scale=scale)


def assert_matches_with_specials(name, actual, expected, tolerance, **measure):
    """NaN where `expected` is NaN, the same ±inf where it is infinite, within `tolerance` elsewhere
    (normwise, or measure="scaled" with a scale of `expected`'s shape)."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"{name}: shape {actual.shape} != {expected.shape}"
    assert np.array_equal(np.isnan(actual), np.isnan(expected)), (
        f"{name}: NaN pattern differs:\n ours  {actual}\n torch {expected}"
    )
    infinite = np.isinf(expected)
    assert np.array_equal(np.isinf(actual), infinite) and np.array_equal(actual[infinite], expected[infinite]), (
        f"{name}: ±inf pattern differs:\n ours  {actual}\n torch {expected}"
    )
    finite = np.isfinite(expected)
    if "scale" in measure:
        measure["scale"] = np.broadcast_to(measure["scale"], expected.shape)[finite]
    assert_passed(compare(name, actual[finite], expected[finite], tolerance, **measure))


# --- probabilities -----------------------------------------------------------------------------


@given(logits_and_axis())
def test_rows_sum_to_one_and_outputs_in_unit_interval(case):
    """Σ_k p_k = 1 within softmax_bound_units(K, log K)·u, and 0 ≤ p_k ≤ 1 exactly, with no overflow or invalid
    operation. Σ_k b_k p_k = K + 4 + log K + Σ_k p_k (m − z_k) and Σ_k p_k (m − z_k) ≤ H(p) ≤ log K; the sum is
    taken in float64.

    Exact bounds: after the shift every e_k = exp(z_k − m) lies in [0, 1] and the rounded sum s of
    non-negative terms is ≥ each term (rounding is monotone), so e_k / s rounds into [0, 1].
    """
    z, axis = case
    with np.errstate(over="raise", invalid="raise", under="ignore"):
        p = sl.softmax(z, axis)
    assert p.dtype == z.dtype and p.shape == z.shape
    assert np.all((p >= 0) & (p <= 1))
    tol = softmax_bound_units(k_of(z, axis), np.log(k_of(z, axis))) * unit_roundoff(z.dtype)
    assert_passed(
        compare("Σ p", np.sum(p, axis=axis, dtype=np.float64), np.ones(p.sum(axis=axis).shape), tol, measure="relative")
    )


@given(logits_and_axis())
def test_softmax_family_matches_torch(case):
    """softmax, log_softmax and logsumexp agree with torch (CPU, same dtype) within twice their bounds
    (both sides in the dtype), for any finite input up to half the dtype's range."""
    z, axis = case
    z_t = to_torch(z, CPU)
    assert_passed(compare_probabilities("softmax", sl.softmax(z, axis), torch.softmax(z_t, axis), z, axis))
    assert_passed(compare_log_softmax("log_softmax", sl.log_softmax(z, axis), torch.log_softmax(z_t, axis), z, axis))
    assert_passed(compare_logsumexp("logsumexp", sl.logsumexp(z, axis), torch.logsumexp(z_t, axis), z, axis))


@given(logits_and_axis(bound=1e3), st.floats(-1e3, 1e3))
def test_shift_invariance(case, shift):
    """softmax(z + c) = softmax(z), log_softmax(z + c) = log_softmax(z), logsumexp(z + c) = logsumexp(z) + c.

    Rounding z + c perturbs each logit by δ_i ≤ u·S, S = max|z| + |c|, which moves log p_i by
    |δ_i − Σ p_k δ_k| ≤ 2uS (p_i relatively by as much) and logsumexp by ≤ uS; on top of both sides' own
    bounds (and, for logsumexp(z) + c, |logsumexp(z)| ≤ |y| + S and one more rounding).
    """
    z, axis = case
    c = z.dtype.type(shift)
    size = float(np.max(np.abs(z))) + abs(float(c))
    assert_passed(
        compare_probabilities("softmax", sl.softmax(z + c, axis), sl.softmax(z, axis), z, axis, extra=2 * size)
    )
    assert_passed(
        compare_log_softmax("log_softmax", sl.log_softmax(z + c, axis), sl.log_softmax(z, axis), z, axis, extra=size)
    )
    assert_passed(
        compare_logsumexp(
            "logsumexp", sl.logsumexp(z + c, axis), sl.logsumexp(z, axis) + np.float64(c), z, axis, extra=size
        )
    )


@given(
    st.sampled_from(DTYPES),
    hnp.array_shapes(min_dims=1, max_dims=3, max_side=6),
    st.data(),
)
def test_shift_invariance_is_exact_for_exact_shifts(dtype, shape, data):
    """With integer logits and an integer shift below 2^11, z + c and (z + c) − max(z + c) are exact,
    so the outputs are bit-identical: the max-shift removes c completely."""
    z = data.draw(hnp.arrays(np.int64, shape, elements=st.integers(-1024, 1024))).astype(dtype)
    c = dtype(data.draw(st.integers(-1024, 1024)))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    np.testing.assert_array_equal(sl.softmax(z + c, axis), sl.softmax(z, axis))
    np.testing.assert_array_equal(sl.log_softmax(z + c, axis), sl.log_softmax(z, axis))


@given(logits_and_axis())
def test_softmax_is_exp_of_log_softmax(case):
    """exp(log_softmax(z)) = softmax(z), normwise. log p_i is within (2|log p_i| + L)u absolute, which exp
    makes relative, plus EXP_UNITS; and p_i|log p_i| = p_i|z_i − m| + p_i log s ≤ max p (1/e + log K). So the
    left side is within L + EXP_UNITS + 2/e + 2 log K units of max p, the right side within b1."""
    z, axis = case
    k = k_of(z, axis)
    extra = logsumexp_log_units(k) + EXP_UNITS + 2 / np.e + 2 * np.log(k)
    with np.errstate(under="ignore"):
        assert_passed(
            compare_probabilities(
                "exp(log_softmax)", np.exp(sl.log_softmax(z, axis)), sl.softmax(z, axis), z, axis, sides=1, extra=extra
            )
        )


@given(logits_and_axis())
def test_log_softmax_is_finite_and_not_positive(case):
    """log p_k is finite for finite z (even where p_k underflows to 0) and ≤ 0 exactly:
    (z_k − m) ≤ 0 and log s ≥ 0 because the rounded sum s includes the term exp(0) = 1."""
    z, axis = case
    log_p = sl.log_softmax(z, axis)
    assert np.all(np.isfinite(log_p)) and np.all(log_p <= 0)


@given(logits_and_axis())
def test_logsumexp_between_max_and_max_plus_log_k(case):
    """max z ≤ logsumexp(z) ≤ max z + log K.

    The lower bound is exact: the rounded sum is ≥ 1 (it contains exp(0)), so its log is ≥ 0, and
    adding it to m cannot round below m. The upper bound holds within (|y| + L)·u, the bound of logsumexp,
    and |y| ≤ |max z + log K| + log K.
    """
    z, axis = case
    lse = sl.logsumexp(z, axis)
    m = np.max(z, axis=axis)
    assert np.all(lse >= m)
    k = k_of(z, axis)
    upper = m.astype(np.float64) + np.log(k)
    excess = np.max((lse - upper) / (np.abs(upper) + np.log(k) + logsumexp_log_units(k)), initial=0.0)
    assert excess <= unit_roundoff(z.dtype), f"logsumexp exceeds max + log K by {excess:.3e} (scaled)"
    keep = sl.logsumexp(z, axis, keepdims=True)
    np.testing.assert_array_equal(np.squeeze(keep, axis=axis), lse)


# --- derivatives -------------------------------------------------------------------------------


@given(logits_and_axis(), st.data())
def test_vjp_equals_explicit_jacobian_product(case, data):
    """softmax_vjp(z, v) = Jᵀv with J = softmax_jacobian(z), and = Jv (J is symmetric); and both agree with
    torch's backward pass. Scaled by (p_j + max p)(|v_j| + Σ_k p_k|v_k|): the VJP is within 2b1 + K + 2 units
    of it, the explicit product (J within jacobian_units(b1) of p_iδ_ij + p_ip_j, a K-term sum) within
    jacobian_units(b1) + K."""
    z, axis = case
    v = data.draw(hnp.arrays(z.dtype, z.shape, elements=finite_floats(z.dtype, 1e3)))
    jac = sl.softmax_jacobian(z, axis)
    v_last = np.moveaxis(v, axis, -1)
    jt_v = np.moveaxis(np.einsum("...ij,...i->...j", jac, v_last), -1, axis)
    j_v = np.moveaxis(np.einsum("...ij,...j->...i", jac, v_last), -1, axis)
    ours = sl.softmax_vjp(z, v, axis)
    k, b, u = k_of(z, axis), b1(z, axis), unit_roundoff(z.dtype)
    v64 = np.abs(v.astype(np.float64))
    with np.errstate(invalid="ignore", under="ignore"):
        scale = p_with_max(z, axis) * (v64 + np.sum(softmax64(z, axis) * v64, axis=axis, keepdims=True))
    vjp_units = 2 * b + k + 2
    tol = (vjp_units + jacobian_units(b) + k) * u
    assert_passed(compare("vjp vs Jᵀv", ours, jt_v, tol, measure="scaled", scale=scale))
    assert_passed(compare("vjp vs Jv", ours, j_v, tol, measure="scaled", scale=scale))
    z_t = to_torch(z, CPU).requires_grad_(True)
    torch.softmax(z_t, axis).backward(to_torch(v, CPU))
    assert_passed(compare("vjp vs torch", ours, z_t.grad, 2 * vjp_units * u, measure="scaled", scale=scale))


@given(logits_and_axis())
def test_jacobian_structure(case):
    """J = diag(p) − ppᵀ: shape (..., K, K), symmetric, each row and column sums to 0 (Σ_i p_i = 1),
    the diagonal is p(1 − p) ≥ 0 and the off-diagonal entries are ≤ 0. Entries within jacobian_units(b1) of
    (p_i + max p)(δ_ij + p_j): a column sums K of them (K − 1 more units, Σ_i of that size 2(p_j + max p));
    the reference p(1 − p) in the dtype is within b1 + 2 units of p_j + p_j²."""
    z, axis = case
    k = k_of(z, axis)
    jac = sl.softmax_jacobian(z, axis)
    batch = tuple(int(n) for d, n in enumerate(z.shape) if d != axis % z.ndim)
    assert jac.shape == batch + (k, k) and jac.dtype == z.dtype
    np.testing.assert_array_equal(jac, np.swapaxes(jac, -1, -2))
    b, u = b1(z, axis), unit_roundoff(z.dtype)
    size = np.moveaxis(p_with_max(z, axis), axis, -1)  # p_j + max p, classes last
    assert_passed(
        compare(
            "column sums",
            np.sum(jac, axis=-2),
            0.0 * jac[..., 0, :],
            (jacobian_units(b) + k) * u,
            measure="scaled",
            scale=2 * size,
        )
    )
    p = np.moveaxis(sl.softmax(z, axis), axis, -1)
    with np.errstate(under="ignore"):
        diag_scale = size * (1 + np.moveaxis(softmax64(z, axis), axis, -1))
    assert_passed(
        compare(
            "diagonal",
            np.diagonal(jac, axis1=-2, axis2=-1),
            p * (1 - p),
            (jacobian_units(b) + b + 2) * u,
            measure="scaled",
            scale=diag_scale,
        )
    )
    assert np.all(jac[..., ~np.eye(k, dtype=bool)] <= 0)


@given(logits_and_axis(bound=float(np.finfo(np.float32).max) / 4), st.data())
def test_gradient_is_p_minus_y(case, data):
    """∂L/∂z = p − y for "sum" and "none", (p − y)/N for "mean" (N rows, not K classes), for index
    and probability targets; it sums to 0 over the classes and agrees with torch autograd (float64 reference).
    Scaled by (p + y + max p)/N: each entry of p − y within b1 + 2 units (p, the subtraction, the division).
    The class sum: Σ_k b_k p_k ≤ softmax_bound_units(K, log K) (see the row-sum test), the subtraction and
    division 2 units of Σ(p + y) = 2, the K-term sum K − 1: scaled by 1/N. The loss: loss_units(K) of each
    row's max|z − m| + log K + 1, plus N − 1 (sum) or N (mean) for the reduction."""
    z, axis = case
    use_index = data.draw(st.booleans())
    target = data.draw(index_target(z, axis) if use_index else probability_target(z, axis))
    reduction = data.draw(st.sampled_from(["mean", "sum", "none"]))
    y = sl.target_distribution(z, target, axis)
    n_rows = z.size // k_of(z, axis)
    expected = sl.softmax(z, axis) - y
    if reduction == "mean":
        expected = expected / z.dtype.type(n_rows)
    grad = sl.cross_entropy_grad(z, target, axis, reduction)
    assert grad.dtype == z.dtype
    k, b, u = k_of(z, axis), b1(z, axis), unit_roundoff(z.dtype)
    n_div = n_rows if reduction == "mean" else 1
    scale = (p_with_max(z, axis) + y.astype(np.float64)) / n_div
    assert_passed(compare("grad vs p − y", grad, expected, 2 * (b + 2) * u, measure="scaled", scale=scale))
    sum_units = softmax_bound_units(k, np.log(k)) + 4 + k - 1
    assert_passed(
        compare(
            "Σ_k grad",
            np.sum(grad, axis=axis, dtype=np.float64),
            np.zeros(grad.sum(axis=axis).shape),
            sum_units * u,
            measure="scaled",
            scale=1 / n_div,
        )
    )
    z_t = to_torch(np.moveaxis(z.astype(np.float64), axis, 1) if z.ndim > 1 else z.astype(np.float64)[None], CPU)
    z_t.requires_grad_(True)
    if use_index:
        t_t = to_torch(target if z.ndim > 1 else target[None], CPU)
    else:
        target64 = target.astype(np.float64)
        t_t = to_torch(np.moveaxis(target64, axis, 1) if z.ndim > 1 else target64[None], CPU)
    loss = torch.nn.functional.cross_entropy(z_t, t_t, reduction=reduction)
    loss.sum().backward()
    ref = z_t.grad.numpy()
    ref = np.moveaxis(ref, 1, axis) if z.ndim > 1 else ref[0]
    # one side in the dtype, torch's in float64
    u64 = unit_roundoff(np.float64)
    assert_passed(compare("grad vs torch", grad, ref, (b + 2) * (u + u64), measure="scaled", scale=scale))
    loss_ref = loss.detach().numpy()
    ours = sl.cross_entropy(z, target, axis, reduction)
    if z.ndim == 1 and reduction == "none":
        loss_ref = loss_ref[0]
    per_row = loss_error_scale(rows(z, axis))
    if reduction == "none":
        l_scale, l_units = per_row.reshape(np.shape(ours)), loss_units(k)
    elif reduction == "sum":
        l_scale, l_units = np.sum(per_row), loss_units(k) + n_rows - 1
    else:
        l_scale, l_units = np.mean(per_row), loss_units(k) + n_rows
    assert_passed(compare("loss vs torch", ours, loss_ref, l_units * (u + u64), measure="scaled", scale=l_scale))


@given(logits_and_axis(dtype=np.float64, bound=10.0, max_dims=2, max_side=5), st.data())
def test_gradient_matches_central_differences(case, data):
    """cross_entropy_grad is the derivative of cross_entropy: central differences of the loss (summed
    over the output for "none") agree (float64, |z| ≤ 10). Scaled by max (p + y)/N: the gradient within b + 2
    units, the difference quotient within `central_difference_error` (M₃ = 1/8 over N, |f| ≤ the summed loss
    scales, each loss evaluation within loss_units(K) + the number of terms summed), as check_cross_entropy."""
    z, axis = case
    target = data.draw(st.one_of(index_target(z, axis), probability_target(z, axis)))
    reduction = data.draw(st.sampled_from(["mean", "sum", "none"]))
    total = lambda x: np.sum(sl.cross_entropy(x, target, axis, reduction))  # noqa: E731
    fd = central_difference_jacobian(total, z)
    k = k_of(z, axis)
    n_div = z.size // k if reduction == "mean" else 1
    y = sl.target_distribution(z, target, axis)
    g_scale = float(np.max(softmax64(z, axis) + y)) / n_div
    f_scale = float(np.sum(loss_error_scale(rows(z, axis))))
    fd_error = central_difference_error(
        THIRD_DERIVATIVE_SOFTMAX / n_div, f_scale, loss_units(k) + z.size, float(np.max(np.abs(z)))
    )
    b = softmax_bound_units(k, float(np.max(np.ptp(z, axis=axis))))
    u = unit_roundoff(np.float64)
    assert_passed(
        compare(
            "grad vs central differences",
            sl.cross_entropy_grad(z, target, axis, reduction),
            fd,
            (b + 2) * u + fd_error / g_scale,
            measure="scaled",
            scale=g_scale,
        )
    )


# --- cross-entropy -----------------------------------------------------------------------------


@given(logits_and_axis(bound=float(np.finfo(np.float32).max) / 4), st.data())
def test_cross_entropy_zero_only_for_perfect_one_hot_prediction(case, data):
    """With a class-index target k: L ≥ 0; L = 0 exactly only where softmax(z)_k rounds to exactly 1; and where
    p_k rounds to 1, L ≤ (K + 6 + log K)·u.

    log p_k = (z_k − m) − log1p(r), r = Σ_{j: z_j < m} exp(z_j − m) + (ties at the max − 1), both terms of the
    right sign: L = 0 only if z_k = m and log1p(r) rounds to 0, so r is below the smallest number the dtype keeps,
    and then s = 1 + r rounds to 1 and p_k = 1/s is exactly 1. The converse no longer holds: log1p keeps the
    digits of a tiny r that 1 + r rounds away, so p_k can round to 1 while L = log1p(r) > 0. It is small: p̂_k = 1
    means p_k ≥ 1/(1 + b·u) with b = softmax_bound_units(K) (z_k = m), so L ≤ b·u, and log1p and the cast
    add 2 units. The reductions are ≥ 0 as well.
    """
    z, axis = case
    target = data.draw(index_target(z, axis))
    loss = sl.cross_entropy(z, target, axis, reduction="none")
    assert np.all(loss >= 0)
    p_target = np.take_along_axis(sl.softmax(z, axis), np.expand_dims(target, axis), axis).squeeze(axis)
    note(f"losses {loss!r}, p at target {p_target!r}")
    assert np.all(p_target[loss == 0] == 1)
    k = k_of(z, axis)
    assert np.all(loss[p_target == 1] <= (softmax_bound_units(k) + 2) * unit_roundoff(z.dtype))
    assert sl.cross_entropy(z, target, axis, "mean") >= 0 and sl.cross_entropy(z, target, axis, "sum") >= 0


@given(logits_and_axis(bound=float(np.finfo(np.float32).max) / 4), st.data())
def test_cross_entropy_positive_for_soft_target(case, data):
    """A target row that is not one-hot (≥ 2 entries above 10⁻⁴) cannot be predicted perfectly:
    L > 0 strictly, whatever the logits. Exact: log p_k = 0 needs z_k = max z and a rounded sum of
    exactly 1, which excludes log p_j = 0 for any j ≠ k, and y_j · log p_j does not underflow."""
    z, axis = case
    assume(k_of(z, axis) >= 2)
    target = data.draw(probability_target(z, axis))
    two_or_more = np.sum(rows(target, axis) > 0, axis=-1) >= 2
    loss = rows(sl.cross_entropy(z, target, axis, reduction="none")[..., None], -1)[:, 0]
    assert np.all(loss >= 0)
    assert np.all(loss[two_or_more] > 0)


# --- NaN and ±inf ------------------------------------------------------------------------------


def nan_free_rows_unchanged(name, with_nan, clean, bad_rows):
    """`with_nan` (shape (rows, ...)) is NaN in every entry of `bad_rows` and equals `clean` elsewhere."""
    assert np.all(np.isnan(with_nan[bad_rows])), f"{name}: a row with a NaN input is not all NaN"
    np.testing.assert_array_equal(with_nan[~bad_rows], clean[~bad_rows], err_msg=f"{name}: NaN leaked into another row")


@given(logits_and_axis(bound=1e3, max_dims=2), st.data())
def test_nan_poisons_its_row_only(case, data):
    """A NaN logit makes its row NaN in every output and leaves the other rows bit-identical;
    torch gives the same NaN pattern."""
    z, axis = case
    z_rows = rows(z, axis)
    n, k = z_rows.shape
    bad_row, bad_col = data.draw(st.integers(0, n - 1)), data.draw(st.integers(0, k - 1))
    z_nan_rows = z_rows.copy()
    z_nan_rows[bad_row, bad_col] = np.nan
    bad = np.arange(n) == bad_row
    target = data.draw(index_target(z_rows, -1))
    v = np.ones_like(z_rows)
    # over="ignore": logsumexp warns spuriously on such rows, see test_logsumexp_no_spurious_overflow_warning
    outputs = {
        "softmax": lambda x: sl.softmax(x),
        "log_softmax": lambda x: sl.log_softmax(x),
        "logsumexp": lambda x: sl.logsumexp(x),
        "softmax_jacobian": lambda x: sl.softmax_jacobian(x),
        "softmax_vjp": lambda x: sl.softmax_vjp(x, v),
        "cross_entropy": lambda x: sl.cross_entropy(x, target, reduction="none"),
        "cross_entropy_grad": lambda x: sl.cross_entropy_grad(x, target, reduction="none"),
    }
    with np.errstate(invalid="ignore", over="ignore"):
        for name, func in outputs.items():
            nan_free_rows_unchanged(name, func(z_nan_rows), func(z_rows), bad)
        z_t = to_torch(z_nan_rows, CPU)
        for name, ref in [
            ("softmax", torch.softmax(z_t, -1)),
            ("logsumexp", torch.logsumexp(z_t, -1)),
            ("cross_entropy", torch.nn.functional.cross_entropy(z_t, to_torch(target, CPU), reduction="none")),
        ]:
            np.testing.assert_array_equal(np.isnan(outputs[name](z_nan_rows)), np.isnan(ref.numpy()), err_msg=name)


def logits_with_infinities(dtype):
    return st.one_of(finite_floats(dtype, 30.0), st.sampled_from([np.inf, -np.inf]))


@given(logits_and_axis(max_dims=2, elements=logits_with_infinities), st.data())
def test_infinities_handled_as_torch(case, data):
    """±inf logits give what torch gives (CPU, same dtype): the NaN and ±inf positions are equal and
    the finite values agree within twice the bounds of the finite-logit tests (both sides in the dtype; a
    −inf logit is a masked class and adds nothing to them), for softmax, log_softmax, logsumexp, the VJP, the
    loss with a probability target, and the gradient with either kind of target. See the module
    docstring for what each case gives."""
    z, axis = case
    z_rows = rows(z, axis)
    z_t = to_torch(z_rows, CPU)
    k, b, u = z_rows.shape[-1], b1(z_rows, -1), unit_roundoff(z.dtype)
    big_l = logsumexp_log_units(k)
    note(f"rows {z_rows!r}")
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        assert_matches_with_specials("softmax", sl.softmax(z_rows), torch.softmax(z_t, -1).numpy(), 2 * b * u)
        log_p = torch.log_softmax(z_t, -1).numpy()
        assert_matches_with_specials(
            "log_softmax",
            sl.log_softmax(z_rows),
            log_p,
            4 * u,
            measure="scaled",
            scale=np.abs(log_p.astype(np.float64)) + big_l / 2,
        )
        lse = torch.logsumexp(z_t, -1).numpy()
        assert_matches_with_specials(
            "logsumexp",
            sl.logsumexp(z_rows),
            lse,
            2 * u,
            measure="scaled",
            scale=np.abs(lse.astype(np.float64)) + big_l,
        )

        v = data.draw(hnp.arrays(z.dtype, z_rows.shape, elements=finite_floats(z.dtype, 10.0)))
        leaf = z_t.clone().requires_grad_(True)
        torch.softmax(leaf, -1).backward(to_torch(v, CPU))
        v64 = np.abs(v.astype(np.float64))
        vjp_scale = p_with_max(z_rows, -1) * (v64 + np.sum(softmax64(z_rows, -1) * v64, axis=-1, keepdims=True))
        assert_matches_with_specials(
            "softmax_vjp",
            sl.softmax_vjp(z_rows, v),
            leaf.grad.numpy(),
            2 * (2 * b + k + 2) * u,
            measure="scaled",
            scale=vjp_scale,
        )

        for kind in ("index", "probability"):
            target = data.draw(index_target(z_rows, -1) if kind == "index" else probability_target(z_rows, -1))
            leaf = z_t.clone().requires_grad_(True)
            loss = torch.nn.functional.cross_entropy(leaf, to_torch(target, CPU), reduction="none")
            loss.sum().backward()
            grad = sl.cross_entropy_grad(z_rows, target, reduction="none")
            y = sl.target_distribution(z_rows, target).astype(np.float64)
            assert_matches_with_specials(
                f"cross_entropy_grad ({kind})",
                grad,
                leaf.grad.numpy(),
                2 * (b + 2) * u,
                measure="scaled",
                scale=p_with_max(z_rows, -1) + y,
            )
            if kind == "probability":
                # torch's cross_entropy gives 0·(−inf) = NaN for a masked class with y_k = 0;
                # the reference takes 0·log 0 = 0, as softmax_lib does
                target_t = to_torch(target, CPU)
                log_p = torch.log_softmax(z_t, -1)
                reference = -(target_t * torch.where(target_t > 0, log_p, 0.0)).sum(-1)
                ours = sl.cross_entropy(z_rows, target, reduction="none")
                assert_matches_with_specials(
                    "cross_entropy (probability)",
                    ours,
                    reference.numpy(),
                    2 * loss_units(k) * u,
                    measure="scaled",
                    scale=loss_error_scale(z_rows),
                )


@given(logits_and_axis(bound=30.0, max_dims=2), st.data())
def test_index_target_with_masked_class_matches_torch(case, data):
    """Masking a class with a −inf logit (as attention masks do) must not change the loss of a row
    whose target is another class: torch gives −log p_target, finite."""
    z, axis = case
    z_rows = rows(z, axis).copy()
    assume(z_rows.shape[-1] >= 2)
    target = data.draw(index_target(z_rows, -1))
    masked = (target + 1) % z_rows.shape[-1]  # a class other than the target, in every row
    z_rows[np.arange(len(z_rows)), masked] = -np.inf
    ref = torch.nn.functional.cross_entropy(to_torch(z_rows, CPU), to_torch(target, CPU), reduction="none").numpy()
    assert np.all(np.isfinite(ref))
    with np.errstate(invalid="ignore"):
        ours = sl.cross_entropy(z_rows, target, reduction="none")
    # both sides in the dtype, each within loss_units(K) of the row's finite max|z − m| + log K + 1
    assert_matches_with_specials(
        "cross_entropy (index, masked class)",
        ours,
        ref,
        2 * loss_units(z_rows.shape[-1]) * unit_roundoff(z.dtype),
        measure="scaled",
        scale=loss_error_scale(z_rows),
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("special", [np.nan, np.inf])
def test_logsumexp_no_spurious_overflow_warning(dtype, special):
    """logsumexp of a row holding NaN or +inf and a finite entry too large for exp gives NaN or +inf
    without an overflow warning (softmax and log_softmax do not warn on such rows)."""
    big = np.log(np.finfo(dtype).max) * 1.5
    z = np.array([special, big], dtype=dtype)
    with np.errstate(over="raise", invalid="ignore"):
        sl.softmax(z), sl.log_softmax(z)
        result = sl.logsumexp(z)
    assert np.isnan(result) if np.isnan(special) else result == np.inf
