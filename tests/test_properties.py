"""Property-based tests (Hypothesis) of softmax_lib over shapes, class axes, dtypes and adversarial values.

Each test states a property that must hold for every input Hypothesis draws: arrays of 1 to 3
dimensions, any class axis, float32 and float64, values from tiny subnormals to half the dtype's
largest finite number, ties, and ±inf and NaN where the test is about them. Tolerances come from
the dtype through softmax_lib.checks (10·K·ε for a K-term computation), never from the data.
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
    assert_passed,
    central_difference_jacobian,
    compare,
    finite_difference_tolerance,
    rounding_tolerance,
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


def tol_for(z, axis, scale=1.0):
    return rounding_tolerance(z.dtype, k_of(z, axis)) * max(1.0, scale)



def to_torch(x):
    return torch.as_tensor(np.ascontiguousarray(x), device=CPU)


def assert_matches_with_specials(name, actual, expected, tolerance):
    """NaN where `expected` is NaN, the same ±inf where it is infinite, within `tolerance` elsewhere."""
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
    assert_passed(compare(name, actual[finite], expected[finite], tolerance))


# --- probabilities -----------------------------------------------------------------------------

@given(logits_and_axis())
def test_rows_sum_to_one_and_outputs_in_unit_interval(case):
    """Σ_k p_k = 1 within 10·K·ε, and 0 ≤ p_k ≤ 1 exactly, with no overflow or invalid operation.

    Exact bounds: after the shift every e_k = exp(z_k − m) lies in [0, 1] and the rounded sum s of
    non-negative terms is ≥ each term (rounding is monotone), so e_k / s rounds into [0, 1].
    """
    z, axis = case
    with np.errstate(over="raise", invalid="raise", under="ignore"):
        p = sl.softmax(z, axis)
    assert p.dtype == z.dtype and p.shape == z.shape
    assert np.all((p >= 0) & (p <= 1))
    assert_passed(compare("Σ p", np.sum(p, axis=axis, dtype=np.float64), np.ones(p.sum(axis=axis).shape), tol_for(z, axis)))


@given(logits_and_axis())
def test_softmax_family_matches_torch(case):
    """softmax, log_softmax and logsumexp agree with torch (CPU, same dtype) within 10·K·ε, relative
    above 1, for any finite input up to half the dtype's range."""
    z, axis = case
    z_t = to_torch(z)
    tol = tol_for(z, axis)
    assert_passed(compare("softmax", sl.softmax(z, axis), torch.softmax(z_t, axis).numpy(), tol))
    assert_passed(compare("log_softmax", sl.log_softmax(z, axis), torch.log_softmax(z_t, axis).numpy(), tol))
    assert_passed(compare("logsumexp", sl.logsumexp(z, axis), torch.logsumexp(z_t, axis).numpy(), tol))


@given(logits_and_axis(bound=1e3), st.floats(-1e3, 1e3))
def test_shift_invariance(case, shift):
    """softmax(z + c) = softmax(z), log_softmax(z + c) = log_softmax(z), logsumexp(z + c) = logsumexp(z) + c.

    Rounding z + c perturbs each logit by up to ε·(|z| + |c|), which moves p by at most about twice
    that: the tolerance is 10·K·ε times max(1, max|z| + |c|).
    """
    z, axis = case
    c = z.dtype.type(shift)
    scale = float(np.max(np.abs(z))) + abs(float(c))
    tol = tol_for(z, axis, scale)
    assert_passed(compare("softmax", sl.softmax(z + c, axis), sl.softmax(z, axis), tol))
    assert_passed(compare("log_softmax", sl.log_softmax(z + c, axis), sl.log_softmax(z, axis), tol))
    assert_passed(compare("logsumexp", sl.logsumexp(z + c, axis), sl.logsumexp(z, axis) + np.float64(c), tol))


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
    """exp(log_softmax(z)) = softmax(z) within 10·K·ε (absolute: both are ≤ 1)."""
    z, axis = case
    with np.errstate(under="ignore"):
        assert_passed(compare("exp(log_softmax)", np.exp(sl.log_softmax(z, axis)), sl.softmax(z, axis), tol_for(z, axis)))


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
    adding it to m cannot round below m. The upper bound holds within 10·K·ε·max(1, |max z|).
    """
    z, axis = case
    lse = sl.logsumexp(z, axis)
    m = np.max(z, axis=axis)
    assert np.all(lse >= m)
    upper = m.astype(np.float64) + np.log(k_of(z, axis))
    excess = np.max((lse - upper) / np.maximum(1.0, np.abs(upper)), initial=0.0)
    assert excess <= tol_for(z, axis), f"logsumexp exceeds max + log K by {excess:.3e} (relative)"
    keep = sl.logsumexp(z, axis, keepdims=True)
    np.testing.assert_array_equal(np.squeeze(keep, axis=axis), lse)


# --- derivatives -------------------------------------------------------------------------------

@given(logits_and_axis(), st.data())
def test_vjp_equals_explicit_jacobian_product(case, data):
    """softmax_vjp(z, v) = Jᵀv with J = softmax_jacobian(z), and = Jv (J is symmetric), within
    10·K·ε·max(1, max|v|); and both agree with torch's backward pass."""
    z, axis = case
    v = data.draw(hnp.arrays(z.dtype, z.shape, elements=finite_floats(z.dtype, 1e3)))
    jac = sl.softmax_jacobian(z, axis)
    v_last = np.moveaxis(v, axis, -1)
    jt_v = np.moveaxis(np.einsum("...ij,...i->...j", jac, v_last), -1, axis)
    j_v = np.moveaxis(np.einsum("...ij,...j->...i", jac, v_last), -1, axis)
    ours = sl.softmax_vjp(z, v, axis)
    tol = tol_for(z, axis, float(np.max(np.abs(v))))
    assert_passed(compare("vjp vs Jᵀv", ours, jt_v, tol))
    assert_passed(compare("vjp vs Jv", ours, j_v, tol))
    z_t = to_torch(z).requires_grad_(True)
    torch.softmax(z_t, axis).backward(to_torch(v))
    assert_passed(compare("vjp vs torch", ours, z_t.grad.numpy(), tol))


@given(logits_and_axis())
def test_jacobian_structure(case):
    """J = diag(p) − ppᵀ: shape (..., K, K), symmetric, each row and column sums to 0 (Σ_i p_i = 1),
    the diagonal is p(1 − p) ≥ 0 and the off-diagonal entries are ≤ 0."""
    z, axis = case
    k = k_of(z, axis)
    jac = sl.softmax_jacobian(z, axis)
    batch = tuple(int(n) for d, n in enumerate(z.shape) if d != axis % z.ndim)
    assert jac.shape == batch + (k, k) and jac.dtype == z.dtype
    np.testing.assert_array_equal(jac, np.swapaxes(jac, -1, -2))
    tol = tol_for(z, axis)
    assert_passed(compare("column sums", np.sum(jac, axis=-2), 0.0 * jac[..., 0, :], tol))
    p = np.moveaxis(sl.softmax(z, axis), axis, -1)
    assert_passed(compare("diagonal", np.diagonal(jac, axis1=-2, axis2=-1), p * (1 - p), tol))
    assert np.all(jac[..., ~np.eye(k, dtype=bool)] <= 0)


@given(logits_and_axis(bound=float(np.finfo(np.float32).max) / 4), st.data())
def test_gradient_is_p_minus_y(case, data):
    """∂L/∂z = p − y for "sum" and "none", (p − y)/N for "mean" (N rows, not K classes), for index
    and probability targets; it sums to 0 over the classes and agrees with torch autograd
    (float64 reference) within 10·K·ε."""
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
    tol = tol_for(z, axis)
    assert_passed(compare("grad vs p − y", grad, expected, tol))
    assert_passed(compare("Σ_k grad", np.sum(grad, axis=axis, dtype=np.float64), np.zeros(grad.sum(axis=axis).shape), tol))
    z_t = to_torch(np.moveaxis(z.astype(np.float64), axis, 1) if z.ndim > 1 else z.astype(np.float64)[None])
    z_t.requires_grad_(True)
    if use_index:
        t_t = to_torch(target if z.ndim > 1 else target[None])
    else:
        t_t = to_torch(np.moveaxis(target.astype(np.float64), axis, 1) if z.ndim > 1 else target.astype(np.float64)[None])
    loss = torch.nn.functional.cross_entropy(z_t, t_t, reduction=reduction)
    loss.sum().backward()
    ref = z_t.grad.numpy()
    ref = np.moveaxis(ref, 1, axis) if z.ndim > 1 else ref[0]
    assert_passed(compare("grad vs torch", grad, ref, tol))
    loss_ref = loss.detach().numpy()
    ours = sl.cross_entropy(z, target, axis, reduction)
    if z.ndim == 1 and reduction == "none":
        loss_ref = loss_ref[0]
    assert_passed(compare("loss vs torch", ours, loss_ref, rounding_tolerance(z.dtype, z.size)))


@given(logits_and_axis(dtype=np.float64, bound=10.0, max_dims=2, max_side=5), st.data())
def test_gradient_matches_central_differences(case, data):
    """cross_entropy_grad is the derivative of cross_entropy: central differences of the loss (summed
    over the output for "none") agree within 100·ε^(2/3) (float64, |z| ≤ 10)."""
    z, axis = case
    target = data.draw(st.one_of(index_target(z, axis), probability_target(z, axis)))
    reduction = data.draw(st.sampled_from(["mean", "sum", "none"]))
    total = lambda x: np.sum(sl.cross_entropy(x, target, axis, reduction))  # noqa: E731
    fd = central_difference_jacobian(total, z)
    assert_passed(compare("grad vs central differences", sl.cross_entropy_grad(z, target, axis, reduction), fd,
                          finite_difference_tolerance(np.float64)))


# --- cross-entropy -----------------------------------------------------------------------------

@given(logits_and_axis(bound=float(np.finfo(np.float32).max) / 4), st.data())
def test_cross_entropy_zero_only_for_perfect_one_hot_prediction(case, data):
    """With a class-index target k: L ≥ 0, and L = 0 exactly iff softmax(z)_k rounds to exactly 1.

    Exact because log p_k = (z_k − m) − log s with both terms of the right sign: it is 0 only if
    z_k = m and the rounded sum s is exactly 1 (log of the next float above 1 is not 0), which is
    also exactly when p_k = 1/s rounds to 1. The reductions are ≥ 0 as well.
    """
    z, axis = case
    target = data.draw(index_target(z, axis))
    loss = sl.cross_entropy(z, target, axis, reduction="none")
    assert np.all(loss >= 0)
    p_target = np.take_along_axis(sl.softmax(z, axis), np.expand_dims(target, axis), axis).squeeze(axis)
    note(f"losses {loss!r}, p at target {p_target!r}")
    np.testing.assert_array_equal(loss == 0, p_target == 1)
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
        z_t = to_torch(z_nan_rows)
        for name, ref in [("softmax", torch.softmax(z_t, -1)), ("logsumexp", torch.logsumexp(z_t, -1)),
                          ("cross_entropy", torch.nn.functional.cross_entropy(z_t, to_torch(target), reduction="none"))]:
            np.testing.assert_array_equal(np.isnan(outputs[name](z_nan_rows)), np.isnan(ref.numpy()), err_msg=name)


def logits_with_infinities(dtype):
    return st.one_of(finite_floats(dtype, 30.0), st.sampled_from([np.inf, -np.inf]))


@given(logits_and_axis(max_dims=2, elements=logits_with_infinities), st.data())
def test_infinities_handled_as_torch(case, data):
    """±inf logits give what torch gives (CPU, same dtype): the NaN and ±inf positions are equal and
    the finite values agree within 10·K·ε, for softmax, log_softmax, logsumexp, the VJP, the loss
    with a probability target, and the gradient with either kind of target. See the module
    docstring for what each case gives."""
    z, axis = case
    z_rows = rows(z, axis)
    z_t = to_torch(z_rows)
    tol = rounding_tolerance(z.dtype, z_rows.shape[-1])
    note(f"rows {z_rows!r}")
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        assert_matches_with_specials("softmax", sl.softmax(z_rows), torch.softmax(z_t, -1).numpy(), tol)
        assert_matches_with_specials("log_softmax", sl.log_softmax(z_rows), torch.log_softmax(z_t, -1).numpy(), tol)
        assert_matches_with_specials("logsumexp", sl.logsumexp(z_rows), torch.logsumexp(z_t, -1).numpy(), tol)

        v = data.draw(hnp.arrays(z.dtype, z_rows.shape, elements=finite_floats(z.dtype, 10.0)))
        leaf = z_t.clone().requires_grad_(True)
        torch.softmax(leaf, -1).backward(to_torch(v))
        assert_matches_with_specials("softmax_vjp", sl.softmax_vjp(z_rows, v), leaf.grad.numpy(), tol * 10)

        for kind in ("index", "probability"):
            target = data.draw(index_target(z_rows, -1) if kind == "index" else probability_target(z_rows, -1))
            leaf = z_t.clone().requires_grad_(True)
            loss = torch.nn.functional.cross_entropy(leaf, to_torch(target), reduction="none")
            loss.sum().backward()
            grad = sl.cross_entropy_grad(z_rows, target, reduction="none")
            assert_matches_with_specials(f"cross_entropy_grad ({kind})", grad, leaf.grad.numpy(), tol)
            if kind == "probability":
                # torch's cross_entropy gives 0·(−inf) = NaN for a masked class with y_k = 0;
                # the reference takes 0·log 0 = 0, as softmax_lib does
                target_t = to_torch(target)
                log_p = torch.log_softmax(z_t, -1)
                reference = -(target_t * torch.where(target_t > 0, log_p, 0.0)).sum(-1)
                ours = sl.cross_entropy(z_rows, target, reduction="none")
                assert_matches_with_specials("cross_entropy (probability)", ours, reference.numpy(), tol)


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
    ref = torch.nn.functional.cross_entropy(to_torch(z_rows), to_torch(target), reduction="none").numpy()
    assert np.all(np.isfinite(ref))
    with np.errstate(invalid="ignore"):
        ours = sl.cross_entropy(z_rows, target, reduction="none")
    assert_matches_with_specials("cross_entropy (index, masked class)", ours, ref, rounding_tolerance(z.dtype, z_rows.shape[-1]))


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
