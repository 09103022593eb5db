"""Unit tests: every softmax_lib function against PyTorch and central differences, and every bad input.

Most tests run on every backend — NumPy, torch on the CPU, torch on CUDA (skipped without a GPU)
— and in every dtype the backend has (float64, float32, float16, and bfloat16 on torch), with
tolerances that are first-order bounds in units of the dtype's u (softmax_lib.checks.tolerance).
"""

import numpy as np
import pytest
import torch

import softmax_lib as sl
from softmax_lib.checks import (
    THIRD_DERIVATIVE_SOFTMAX,
    as_float64,
    assert_passed,
    central_difference_error,
    central_difference_jacobian,
    check_against_float64,
    check_cross_entropy,
    check_loss_hessian,
    check_output_layer_gradients,
    check_softmax_jacobian,
    check_softmax_vjp,
    checked_array,
    compare,
    cross_entropy_tolerances,
    jacobian_units,
    log_softmax_error_scale,
    logsumexp_error_scale,
    loss_error_scale,
    loss_units,
    softmax64,
    softmax_bound_units,
    softmax_error_scale,
    summation_units,
    torch_cross_entropy_with_grad,
    torch_device,
    unit_roundoff,
)

RNG_SEED = 1234
U64 = unit_roundoff(np.float64)


# Each entry's first-order bound (softmax_lib.checks.tolerance), as the scale of measure="scaled": the
# tolerance is then u for one side computed in the dtype (against 50 digits), 2u for two.


def on(backend, x, dtype="float64"):
    """x (NumPy data) as softmax_lib's input on `backend`; floats rounded to `dtype`."""
    return checked_array(x, dtype, backend)[0]


def torch_on(backend, x, dtype="float64"):
    """The same values as a torch tensor for the reference: on the backend's device, or torch_device() for NumPy."""
    return checked_array(x, dtype, backend or torch_device())[0]


def assert_same_kind(out, like, dtype=None):
    """`out` is of the input's array type, on its device, in `dtype` (default the input's)."""
    assert type(out) is type(like) or (isinstance(like, np.ndarray) and isinstance(out, np.generic))
    if isinstance(like, torch.Tensor):
        assert out.device == like.device
    assert out.dtype == (like.dtype if dtype is None else dtype)


# --- values against torch ---------------------------------------------------------------------


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_log_softmax_logsumexp_match_torch(rng, axis, backend, dtype):
    data = rng.normal(scale=4.0, size=(3, 5, 4))
    z, z_t = on(backend, data, dtype), torch_on(backend, data, dtype)
    z64 = as_float64(z)
    tol = 2 * unit_roundoff(dtype)  # both sides in the dtype
    assert_passed(
        compare(
            "softmax",
            sl.softmax(z, axis),
            torch.softmax(z_t, axis),
            tol,
            measure="scaled",
            scale=softmax_error_scale(z64, axis, dtype=dtype),
        )
    )
    assert_passed(
        compare(
            "log_softmax",
            sl.log_softmax(z, axis),
            torch.log_softmax(z_t, axis),
            tol,
            measure="scaled",
            scale=log_softmax_error_scale(z64, axis),
        )
    )
    assert_passed(
        compare(
            "logsumexp",
            sl.logsumexp(z, axis),
            torch.logsumexp(z_t, axis),
            tol,
            measure="scaled",
            scale=logsumexp_error_scale(z64, axis),
        )
    )
    keep = sl.logsumexp(z, axis, keepdims=True)
    assert tuple(keep.shape) == tuple(1 if d == axis % 3 else n for d, n in enumerate(data.shape))


def test_dtype_is_kept(rng, backend, dtype):
    z = on(backend, rng.normal(size=(4, 3)), dtype)
    y = on(backend, np.array([0, 2, 1, 1]))
    for out in (
        sl.softmax(z),
        sl.log_softmax(z),
        sl.logsumexp(z),
        sl.softmax_jacobian(z),
        sl.softmax_vjp(z, z),
        sl.cross_entropy(z, y),
        sl.cross_entropy_grad(z, y),
    ):
        assert_same_kind(out, z)


def test_integer_logits_become_float64(backend):
    assert sl.softmax([1, 2, 3]).dtype == np.float64
    z = on(backend, np.array([1, 2, 3]))
    assert_same_kind(sl.softmax(z), z, dtype=np.float64 if backend is None else torch.float64)


def finite(x):
    return bool(np.all(np.isfinite(as_float64(x))))


@pytest.mark.parametrize("scale", [1e4, 1e6, "max/4"])
def test_stable_for_huge_logits(backend, dtype, scale):
    largest = 2.0**128 * (1 - 2.0**-8) if dtype == "bfloat16" else float(np.finfo(dtype).max)
    scale = largest / 4 if scale == "max/4" else scale
    if scale > largest / 4:
        pytest.skip(f"{scale:.0e} does not fit {dtype} with room to add")
    data = np.array([[scale, -scale, 0.0, scale / 2], [-scale, -scale, -scale / 3, -scale]])
    z, target = on(backend, data, dtype), on(backend, np.array([1, 0]))
    with np.errstate(over="raise", invalid="raise"):  # underflow to 0 is expected, overflow is not
        p = sl.softmax(z)
        log_p = sl.log_softmax(z)
        lse = sl.logsumexp(z)
        loss = sl.cross_entropy(z, target, reduction="none")
    assert finite(p) and finite(log_p) and finite(lse) and finite(loss)
    z64 = as_float64(z)
    np.testing.assert_array_equal(as_float64(p)[0], [1, 0, 0, 0])
    np.testing.assert_array_equal(as_float64(lse), np.max(z64, axis=-1))
    np.testing.assert_array_equal(as_float64(log_p)[0], z64[0] - z64[0, 0])
    # torch agrees on the losses, including a true class whose probability underflows to 0: loss_units(K)·u per
    # side of each row's loss_error_scale (as check_cross_entropy)
    ref = torch.nn.functional.cross_entropy(
        torch_on(backend, data, dtype), torch_on(backend, np.array([1, 0])), reduction="none"
    )
    tol, scale = 2 * loss_units(4) * unit_roundoff(dtype), loss_error_scale(z64)
    assert_passed(compare("loss vs torch", loss, ref, tol, measure="scaled", scale=scale))
    # log(softmax) instead of log_softmax: the underflowed p_t gives an infinite loss
    with np.errstate(divide="ignore"):
        log_of_p = -np.log(as_float64(p)[[0, 1], [1, 0]])
    assert not compare("log(softmax)", log_of_p, ref, tol, measure="scaled", scale=scale).passed


def test_logsumexp_of_infinities_matches_torch(backend, dtype):
    data = np.array([[-np.inf, -np.inf], [np.inf, 0.0], [-np.inf, 1.0]])
    ours = sl.logsumexp(on(backend, data, dtype))
    np.testing.assert_array_equal(as_float64(ours), as_float64(torch.logsumexp(torch_on(backend, data, dtype), -1)))


def test_against_50_digit_reference(rng, backend, dtype):
    assert_passed(
        check_against_float64(rng.normal(scale=3.0, size=(8, 10)), rng.integers(0, 10, size=8), dtype, backend)
    )


# --- derivatives against torch autograd and central differences -------------------------------


@pytest.mark.parametrize("k", [1, 2, 3, 7])
def test_softmax_jacobian(rng, k, backend, dtype):
    assert_passed(check_softmax_jacobian(rng.normal(scale=2.0, size=k), dtype, backend))


def test_softmax_jacobian_layout(rng, backend):
    z = rng.normal(size=(2, 4, 3))
    jac = sl.softmax_jacobian(on(backend, z), axis=1)
    assert tuple(jac.shape) == (2, 3, 4, 4)
    p = sl.softmax(z[1, :, 2])
    # the slice and diag(p) − p pᵀ from float64 p, each within jacobian_units(b)·u of max(p_i δ_ij + p_i p_j)
    b_slice = softmax_bound_units(4, float(np.ptp(z[1, :, 2])))
    slice_size = float(np.max(np.diag(p) + np.outer(p, p)))
    slice_tol = 2 * jacobian_units(b_slice) * U64
    expected = np.diag(p) - np.outer(p, p)
    assert_passed(compare("slice [1, 2]", jac[1, 2], expected, slice_tol, measure="scaled", scale=slice_size))
    # the Jacobian of another slice in its place is rejected
    assert not compare("slice [0, 2]", jac[0, 2], expected, slice_tol, measure="scaled", scale=slice_size).passed
    # as check_softmax_jacobian: jacobian_units(b) relative to max(p_i δ_ij + p_i p_j), plus the difference quotient
    row = z[0, :, 1]
    fd = central_difference_jacobian(sl.softmax, row)
    p_row = softmax64(row)
    size = float(np.max(np.diag(p_row) + np.outer(p_row, p_row)))
    b = softmax_bound_units(4, float(np.ptp(row)))
    fd_error = central_difference_error(THIRD_DERIVATIVE_SOFTMAX, 1.0, b, float(np.max(np.abs(row))))
    assert_passed(
        compare(
            "slice vs finite differences",
            jac[0, 1],
            fd,
            jacobian_units(b) * U64 + fd_error / size,
            measure="scaled",
            scale=size,
        )
    )


def test_softmax_jacobian_is_not_diagonal(rng, backend):
    # diag(p) alone, or diag(p(1 − p)), would pass a diagonal-only check; the off-diagonal −p_i p_j must be there
    z = rng.normal(size=4)
    p = sl.softmax(z)
    jac = as_float64(sl.softmax_jacobian(on(backend, z)))
    # each entry within jacobian_units(b)·u of max(p_i δ_ij + p_i p_j), per side; a column sum of K such entries
    # adds summation_units(K) of the same size
    b = softmax_bound_units(4, float(np.ptp(z)))
    size = float(np.max(np.diag(p) + np.outer(p, p)))
    off_diagonal_tol = 2 * jacobian_units(b) * U64
    column_tol = (4 * jacobian_units(b) + summation_units(4)) * U64

    def off_diagonal_check(j):
        off = j - np.diag(np.diag(j))
        return compare(
            "off-diagonal", off, -np.outer(p, p) + np.diag(p * p), off_diagonal_tol, measure="scaled", scale=size
        )

    def column_sums_check(j):
        return compare("column sums", j.sum(axis=0), np.zeros(4), column_tol, measure="scaled", scale=size)

    assert_passed([off_diagonal_check(jac), column_sums_check(jac)])
    diagonal_only = np.diag(p * (1 - p))
    assert not off_diagonal_check(diagonal_only).passed
    assert not column_sums_check(diagonal_only).passed


@pytest.mark.parametrize("axis", [-1, 0])
def test_softmax_vjp_matches_torch_and_jacobian(rng, axis, backend, dtype):
    z_data, v_data = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    assert_passed(check_softmax_vjp(z_data, v_data, axis, dtype, backend))
    z, v = on(backend, z_data, dtype), on(backend, v_data, dtype)
    ours = sl.softmax_vjp(z, v, axis)
    assert_same_kind(ours, z)
    jac, v64 = as_float64(sl.softmax_jacobian(z, axis)), np.moveaxis(as_float64(v), axis, -1)
    explicit = np.moveaxis(np.einsum("...ij,...i->...j", jac, v64), -1, axis)
    # as check_softmax_jacobian: scaled by p_j(|v_j| + Σ_k p_k|v_k|), the VJP within 2b + K + 2 units, the
    # explicit product within jacobian_units(b) + K
    z64, v64 = as_float64(z), as_float64(v)
    k = z64.shape[axis]
    b = softmax_bound_units(k, float(np.max(np.ptp(z64, axis=axis))))
    p = softmax64(z64, axis)
    scale = p * (np.abs(v64) + np.sum(p * np.abs(v64), axis=axis, keepdims=True))
    tol = (2 * b + k + 2 + jacobian_units(b) + k) * unit_roundoff(dtype)
    assert_passed(compare("vjp vs explicit", ours, explicit, tol, measure="scaled", scale=scale))


def test_log_softmax_and_logsumexp_derivatives(rng):
    # Along one coordinate, the third derivative of logsumexp and of log p_i is ∓p_j'' ≤ 1/8 in size. The
    # difference quotient's rounding: logsumexp within (|y| + L)·u, log p_i within (|log p_i| + |z_i − m| + L)·u.
    # softmax's side is within b·u·max p, δ_ij − p_j's within (b + 1)·u·(1 + max p).
    z = rng.normal(size=5)
    p = softmax64(z)
    b = softmax_bound_units(5, float(np.ptp(z)))
    x_scale = float(np.max(np.abs(z)))
    lse_error = central_difference_error(THIRD_DERIVATIVE_SOFTMAX, float(logsumexp_error_scale(z)), 1.0, x_scale)
    assert_passed(
        compare(
            "∂logsumexp/∂z = softmax",
            sl.softmax(z),
            central_difference_jacobian(sl.logsumexp, z),
            b * U64 + lse_error / p.max(),
            measure="scaled",
            scale=p.max(),
        )
    )
    expected = np.eye(5) - sl.softmax(z)[None, :]
    log_error = central_difference_error(
        THIRD_DERIVATIVE_SOFTMAX, float(np.max(log_softmax_error_scale(z))), 1.0, x_scale
    )
    size = 1 + p.max()
    assert_passed(
        compare(
            "∂log_softmax/∂z = I − 1pᵀ",
            expected,
            central_difference_jacobian(sl.log_softmax, z),
            (b + 1) * U64 + log_error / size,
            measure="scaled",
            scale=size,
        )
    )


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("kind", ["index", "probability"])
def test_cross_entropy_and_grad(rng, reduction, kind, backend, dtype):
    logits = rng.normal(scale=3.0, size=(6, 4))
    target = rng.integers(0, 4, size=6) if kind == "index" else sl.softmax(rng.normal(size=(6, 4)))
    assert_passed(check_cross_entropy(logits, target, reduction=reduction, dtype=dtype, device=backend))


@pytest.mark.parametrize("kind", ["index", "probability"])
def test_cross_entropy_class_axis_1(rng, kind, backend, dtype):
    logits = rng.normal(size=(3, 4, 2))
    target = rng.integers(0, 4, size=(3, 2)) if kind == "index" else sl.softmax(rng.normal(size=(3, 4, 2)), axis=1)
    assert_passed(check_cross_entropy(logits, target, axis=1, reduction="mean", dtype=dtype, device=backend))


@pytest.mark.parametrize("kind", ["index", "probability"])
def test_loss_hessian(rng, kind, backend, dtype):
    target = np.array(2) if kind == "index" else sl.softmax(rng.normal(size=5))
    assert_passed(check_loss_hessian(rng.normal(size=5), target, dtype, backend))


def test_output_layer_gradients(rng, backend, dtype):
    inputs, weight, bias = rng.normal(size=(6, 5)), rng.normal(size=(4, 5)), rng.normal(size=4)
    assert_passed(check_output_layer_gradients(inputs, weight, bias, rng.integers(0, 4, size=6), dtype, backend))


def test_cross_entropy_single_row(backend):
    logits = np.array([1.0, 5.0, 3.0])
    loss, grad = torch_cross_entropy_with_grad(logits, np.array(1))
    z = on(backend, logits)
    # each side within check_cross_entropy's bounds (torch's float64 loss here is ~5u from the 50-digit value)
    bounds = cross_entropy_tolerances(logits, np.array(1))
    loss_tol, loss_scale = 2 * bounds["loss_tolerance"], bounds["loss_scale"]
    grad_tol, grad_scale = 2 * bounds["grad_tolerance"], bounds["grad_scale"]
    assert_passed(compare("loss vs torch", sl.cross_entropy(z, 1), loss, loss_tol, measure="scaled", scale=loss_scale))
    assert_passed(
        compare("grad vs torch", sl.cross_entropy_grad(z, 1), grad, grad_tol, measure="scaled", scale=grad_scale)
    )
    assert not compare("p without − y", sl.softmax(z), grad, grad_tol, measure="scaled", scale=grad_scale).passed
    loss_t, grad_t = torch_cross_entropy_with_grad(torch_on(backend, logits), torch_on(backend, np.array(1)))
    assert_passed(compare("torch loss", loss_t, loss, loss_tol, measure="scaled", scale=loss_scale))
    assert_passed(compare("torch grad", grad_t, grad, grad_tol, measure="scaled", scale=grad_scale))


def test_mean_divides_by_rows_not_classes(rng, backend):
    logits = rng.normal(size=(8, 3))
    target = rng.integers(0, 3, size=8)
    ours = sl.cross_entropy_grad(on(backend, logits), on(backend, target))
    # both sides (p − y)/N within check_cross_entropy's bound
    bounds = cross_entropy_tolerances(logits, target)
    tol, scale = 2 * bounds["grad_tolerance"], bounds["grad_scale"]
    y = np.eye(3)[target]
    assert_passed(compare("1/N", ours, (sl.softmax(logits) - y) / 8, tol, measure="scaled", scale=scale))
    assert not compare("1/K", ours, (sl.softmax(logits) - y) / 3, tol, measure="scaled", scale=scale).passed


def test_one_hot_probability_target_equals_index_target(rng, backend):
    logits64 = rng.normal(size=(5, 4))
    logits = on(backend, logits64)
    idx64 = rng.integers(0, 4, size=5)
    y = np.eye(4)[idx64]
    one_hot, idx = on(backend, y), on(backend, idx64)
    # two computations of one loss and one gradient, each side within check_cross_entropy's bounds
    bounds = cross_entropy_tolerances(logits64, idx64)
    loss_tol, loss_scale = 2 * bounds["loss_tolerance"], bounds["loss_scale"]
    grad_tol, grad_scale = 2 * bounds["grad_tolerance"], bounds["grad_scale"]

    def loss_check(ours):
        return compare("loss", ours, sl.cross_entropy(logits, idx), loss_tol, measure="scaled", scale=loss_scale)

    assert_passed(loss_check(sl.cross_entropy(logits, one_hot)))
    ours, theirs = sl.cross_entropy_grad(logits, one_hot), sl.cross_entropy_grad(logits, idx)
    assert_passed(compare("grad", ours, theirs, grad_tol, measure="scaled", scale=grad_scale))
    # the one-hot rows of the next class are rejected
    assert not loss_check(sl.cross_entropy(logits, on(backend, np.roll(y, 1, axis=-1)))).passed


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize("func", [sl.softmax, sl.log_softmax, sl.logsumexp, sl.softmax_jacobian])
def test_axis_out_of_range(func, backend):
    with pytest.raises(np.exceptions.AxisError, match="axis 2 is out of range"):
        func(on(backend, np.zeros((2, 3))), axis=2)


@pytest.mark.parametrize("func", [sl.softmax, sl.log_softmax, sl.logsumexp, sl.softmax_jacobian])
def test_empty_class_axis(func, backend):
    with pytest.raises(ValueError, match="empty class axis"):
        func(on(backend, np.zeros((3, 0))))


def test_non_integer_axis(backend):
    with pytest.raises(TypeError, match="axis must be an int"):
        sl.softmax(on(backend, np.zeros(3)), axis=0.5)


def test_complex_input(backend):
    with pytest.raises(TypeError, match="real numeric array"):
        sl.softmax(on(backend, np.zeros(3, dtype=complex)))


def test_vjp_shape_mismatch(backend):
    with pytest.raises(ValueError, match="v must have the shape of z"):
        sl.softmax_vjp(on(backend, np.zeros((2, 3))), on(backend, np.zeros(3)))


@pytest.mark.parametrize("bad", [3, -1, 10])
def test_class_index_out_of_range(bad, backend):
    logits = on(backend, np.zeros((2, 3)))
    with pytest.raises(IndexError, match=f"class index {bad} is out of range for 3 classes"):
        sl.cross_entropy(logits, on(backend, np.array([0, bad])))
    with pytest.raises(IndexError, match="out of range"):
        sl.cross_entropy_grad(logits, on(backend, np.array([bad, 0])))


@pytest.mark.parametrize(
    "target",
    [
        np.array([0, 1, 2]),  # wrong number of rows
        np.array([[0], [1]]),  # wrong shape
        np.array([0.0, 1.0]),  # float indices
        np.array([True, False]),  # booleans
        np.zeros((2, 3), dtype=np.int64),  # integer "probabilities"
        np.array(["a", "b"]),
    ],
)
def test_target_fits_neither_form(target, backend):
    if backend is not None and target.dtype.kind == "U":
        pytest.skip("torch has no string tensors")
    with pytest.raises(ValueError, match="fits neither form"):
        sl.cross_entropy(on(backend, np.zeros((2, 3))), on(backend, target))


@pytest.mark.parametrize("rows", [[[0.5, 0.4, 0.0], [0.2, 0.3, 0.5]], [[1.0, 1.0, 0.0], [0.2, 0.3, 0.5]]])
def test_probability_rows_must_sum_to_one(rows, backend):
    for func in (sl.cross_entropy, sl.cross_entropy_grad):
        with pytest.raises(ValueError, match="must sum to 1"):
            func(on(backend, np.zeros((2, 3))), on(backend, np.array(rows)))


def test_negative_probabilities(backend):
    with pytest.raises(ValueError, match="negative or non-finite"):
        sl.cross_entropy(on(backend, np.zeros((1, 3))), on(backend, np.array([[1.5, -0.5, 0.0]])))


def test_unknown_reduction(backend):
    for func in (sl.cross_entropy, sl.cross_entropy_grad):
        with pytest.raises(ValueError, match="reduction must be one of"):
            func(on(backend, np.zeros((2, 3))), on(backend, np.array([0, 1])), reduction="average")


def test_cross_entropy_empty_class_axis_and_bad_axis(backend):
    with pytest.raises(ValueError, match="empty class axis"):
        sl.cross_entropy(on(backend, np.zeros((2, 0))), on(backend, np.array([0, 0])))
    with pytest.raises(np.exceptions.AxisError, match="out of range"):
        sl.cross_entropy(on(backend, np.zeros((2, 3))), on(backend, np.array([0, 0])), axis=3)


def test_device_variable(monkeypatch):
    monkeypatch.setenv("SOFTMAX_LIB_DEVICE", "cpu")
    assert torch_device().type == "cpu"
    monkeypatch.setenv("SOFTMAX_LIB_DEVICE", "tpu")
    with pytest.raises(ValueError, match="SOFTMAX_LIB_DEVICE"):
        torch_device()


def test_mpmath_references_agree_with_softmax_lib(rng):
    from softmax_lib import reference

    z = rng.normal(scale=5.0, size=(3, 4))
    target = np.array([0, 3, 1])
    # one side in float64 against 50 digits: u, each entry's bound in the scale
    assert_passed(
        compare(
            "softmax",
            sl.softmax(z, 0),
            reference.softmax_mp(z, 0),
            U64,
            measure="scaled",
            scale=softmax_error_scale(z, 0),
        )
    )
    assert_passed(
        compare(
            "log_softmax",
            sl.log_softmax(z),
            reference.log_softmax_mp(z),
            U64,
            measure="scaled",
            scale=log_softmax_error_scale(z),
        )
    )
    assert_passed(
        compare(
            "logsumexp",
            sl.logsumexp(z, 0),
            reference.logsumexp_mp(z, 0),
            U64,
            measure="scaled",
            scale=logsumexp_error_scale(z, 0),
        )
    )
    assert_passed(
        compare(
            "cross_entropy",
            sl.cross_entropy(z, target, reduction="none"),
            reference.cross_entropy_mp(z, target),
            loss_units(4) * U64,
            measure="scaled",
            scale=loss_error_scale(z),
        )
    )
    # where float64 softmax underflows, the reference still has the exact (tiny) value
    assert reference.softmax_mp(np.array([0.0, -800.0]))[1] == 0.0
    assert reference.log_softmax_mp(np.array([0.0, -800.0]))[1] == -800.0
