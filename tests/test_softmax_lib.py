"""Unit tests: every softmax_lib function against PyTorch and central differences, and every bad input."""

import numpy as np
import pytest
import torch

import softmax_lib as sl
from softmax_lib.checks import (
    central_difference_jacobian,
    check_cross_entropy,
    check_softmax_jacobian,
    compare,
    finite_difference_tolerance,
    rounding_tolerance,
    torch_cross_entropy_with_grad,
    torch_device,
)

RNG_SEED = 1234


@pytest.fixture
def rng():
    return np.random.default_rng(RNG_SEED)


def to_torch(x):
    return torch.as_tensor(np.ascontiguousarray(x), device=torch_device())


def assert_passed(results):
    for result in results if isinstance(results, list) else [results]:
        assert result.passed, str(result)


# --- values against torch ---------------------------------------------------------------------

@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_log_softmax_logsumexp_match_torch(rng, axis):
    z = rng.normal(scale=4.0, size=(3, 5, 4))
    z_t = to_torch(z)
    tol = rounding_tolerance(np.float64, z.shape[axis])
    assert_passed(compare("softmax", sl.softmax(z, axis), torch.softmax(z_t, axis).cpu().numpy(), tol))
    assert_passed(compare("log_softmax", sl.log_softmax(z, axis), torch.log_softmax(z_t, axis).cpu().numpy(), tol))
    assert_passed(compare("logsumexp", sl.logsumexp(z, axis), torch.logsumexp(z_t, axis).cpu().numpy(), tol))
    keep = sl.logsumexp(z, axis, keepdims=True)
    assert keep.shape == tuple(1 if d == axis % 3 else n for d, n in enumerate(z.shape))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept(rng, dtype):
    z = rng.normal(size=(4, 3)).astype(dtype)
    y = np.array([0, 2, 1, 1])
    for out in (sl.softmax(z), sl.log_softmax(z), sl.logsumexp(z), sl.softmax_jacobian(z),
                sl.softmax_vjp(z, z), sl.cross_entropy(z, y), sl.cross_entropy_grad(z, y)):
        assert out.dtype == dtype


def test_integer_logits_become_float64():
    assert sl.softmax([1, 2, 3]).dtype == np.float64


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scale", [1e4, 1e6, np.finfo(np.float32).max / 4])
def test_stable_for_huge_logits(dtype, scale):
    z = np.array([[scale, -scale, 0.0, scale / 2], [-scale, -scale, -scale / 3, -scale]], dtype=dtype)
    with np.errstate(over="raise", invalid="raise"):  # underflow to 0 is expected, overflow is not
        p = sl.softmax(z)
        log_p = sl.log_softmax(z)
        lse = sl.logsumexp(z)
        loss = sl.cross_entropy(z, np.array([1, 0]), reduction="none")
    assert np.all(np.isfinite(log_p)) and np.all(np.isfinite(lse)) and np.all(np.isfinite(loss))
    np.testing.assert_array_equal(p[0], np.array([1, 0, 0, 0], dtype=dtype))
    np.testing.assert_array_equal(lse, np.max(z, axis=-1))
    np.testing.assert_array_equal(log_p[0], z[0] - z[0, 0])
    # torch agrees on the losses, including a true class whose probability underflows to 0
    ref = torch.nn.functional.cross_entropy(to_torch(z), to_torch(np.array([1, 0])), reduction="none")
    np.testing.assert_allclose(loss, ref.cpu().numpy(), rtol=4 * np.finfo(dtype).eps)


def test_logsumexp_of_infinities_matches_torch():
    z = np.array([[-np.inf, -np.inf], [np.inf, 0.0], [-np.inf, 1.0]])
    np.testing.assert_array_equal(sl.logsumexp(z), torch.logsumexp(torch.as_tensor(z), -1).numpy())


# --- derivatives against torch autograd and central differences -------------------------------

@pytest.mark.parametrize("k", [1, 2, 3, 7])
def test_softmax_jacobian(rng, k):
    assert_passed(check_softmax_jacobian(rng.normal(scale=2.0, size=k)))


def test_softmax_jacobian_layout(rng):
    z = rng.normal(size=(2, 4, 3))
    jac = sl.softmax_jacobian(z, axis=1)
    assert jac.shape == (2, 3, 4, 4)
    p = sl.softmax(z[1, :, 2])
    np.testing.assert_allclose(jac[1, 2], np.diag(p) - np.outer(p, p), rtol=0, atol=1e-15)
    fd = central_difference_jacobian(sl.softmax, z[0, :, 1])
    assert_passed(compare("slice vs finite differences", jac[0, 1], fd, finite_difference_tolerance(np.float64)))


def test_softmax_jacobian_is_not_diagonal(rng):
    # diag(p) alone, or diag(p(1 − p)), would pass a diagonal-only check; the off-diagonal −p_i p_j must be there
    z = rng.normal(size=4)
    p = sl.softmax(z)
    jac = sl.softmax_jacobian(z)
    np.testing.assert_allclose(jac - np.diag(np.diag(jac)), -np.outer(p, p) + np.diag(p * p), atol=1e-15)
    np.testing.assert_allclose(jac.sum(axis=0), 0, atol=1e-15)


@pytest.mark.parametrize("axis", [-1, 0])
def test_softmax_vjp_matches_torch_and_jacobian(rng, axis):
    z = rng.normal(size=(5, 3))
    v = rng.normal(size=(5, 3))
    z_t = to_torch(z).requires_grad_(True)
    torch.softmax(z_t, axis).backward(to_torch(v))
    ours = sl.softmax_vjp(z, v, axis)
    assert_passed(compare("vjp vs torch", ours, z_t.grad.cpu().numpy(), rounding_tolerance(np.float64, 5)))
    explicit = np.einsum("...ij,...i->...j", sl.softmax_jacobian(z, axis), np.moveaxis(v, axis, -1))
    assert_passed(compare("vjp vs explicit", ours, np.moveaxis(explicit, -1, axis), rounding_tolerance(np.float64, 5)))


def test_log_softmax_and_logsumexp_derivatives(rng):
    z = rng.normal(size=5)
    tol = finite_difference_tolerance(np.float64)
    assert_passed(compare("∂logsumexp/∂z = softmax", sl.softmax(z), central_difference_jacobian(sl.logsumexp, z), tol))
    expected = np.eye(5) - sl.softmax(z)[None, :]
    assert_passed(compare("∂log_softmax/∂z = I − 1pᵀ", expected, central_difference_jacobian(sl.log_softmax, z), tol))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("kind", ["index", "probability"])
def test_cross_entropy_and_grad(rng, reduction, kind):
    logits = rng.normal(scale=3.0, size=(6, 4))
    target = rng.integers(0, 4, size=6) if kind == "index" else sl.softmax(rng.normal(size=(6, 4)))
    assert_passed(check_cross_entropy(logits, target, reduction=reduction))


@pytest.mark.parametrize("kind", ["index", "probability"])
def test_cross_entropy_class_axis_1(rng, kind):
    logits = rng.normal(size=(3, 4, 2))
    target = rng.integers(0, 4, size=(3, 2)) if kind == "index" else sl.softmax(rng.normal(size=(3, 4, 2)), axis=1)
    assert_passed(check_cross_entropy(logits, target, axis=1, reduction="mean"))


def test_cross_entropy_single_row():
    logits = np.array([1.0, 5.0, 3.0])
    loss, grad = torch_cross_entropy_with_grad(logits, np.array(1))
    np.testing.assert_allclose(sl.cross_entropy(logits, 1), loss, rtol=1e-15)
    np.testing.assert_allclose(sl.cross_entropy_grad(logits, 1), grad, atol=1e-16)


def test_mean_divides_by_rows_not_classes(rng):
    logits = rng.normal(size=(8, 3))
    target = rng.integers(0, 3, size=8)
    np.testing.assert_allclose(sl.cross_entropy_grad(logits, target), (sl.softmax(logits) - np.eye(3)[target]) / 8)


def test_one_hot_probability_target_equals_index_target(rng):
    logits = rng.normal(size=(5, 4))
    idx = rng.integers(0, 4, size=5)
    one_hot = np.eye(4)[idx]
    np.testing.assert_allclose(sl.cross_entropy(logits, one_hot), sl.cross_entropy(logits, idx), rtol=1e-15)
    np.testing.assert_allclose(sl.cross_entropy_grad(logits, one_hot), sl.cross_entropy_grad(logits, idx), atol=1e-17)


# --- bad input -------------------------------------------------------------------------------

@pytest.mark.parametrize("func", [sl.softmax, sl.log_softmax, sl.logsumexp, sl.softmax_jacobian])
def test_axis_out_of_range(func):
    with pytest.raises(np.exceptions.AxisError, match="axis 2 is out of range"):
        func(np.zeros((2, 3)), axis=2)


@pytest.mark.parametrize("func", [sl.softmax, sl.log_softmax, sl.logsumexp, sl.softmax_jacobian])
def test_empty_class_axis(func):
    with pytest.raises(ValueError, match="empty class axis"):
        func(np.zeros((3, 0)))


def test_non_integer_axis():
    with pytest.raises(TypeError, match="axis must be an int"):
        sl.softmax(np.zeros(3), axis=0.5)


def test_complex_input():
    with pytest.raises(TypeError, match="real numeric array"):
        sl.softmax(np.zeros(3, dtype=complex))


def test_vjp_shape_mismatch():
    with pytest.raises(ValueError, match="v must have the shape of z"):
        sl.softmax_vjp(np.zeros((2, 3)), np.zeros(3))


@pytest.mark.parametrize("bad", [3, -1, 10])
def test_class_index_out_of_range(bad):
    with pytest.raises(IndexError, match=f"class index {bad} is out of range for 3 classes"):
        sl.cross_entropy(np.zeros((2, 3)), np.array([0, bad]))
    with pytest.raises(IndexError, match="out of range"):
        sl.cross_entropy_grad(np.zeros((2, 3)), np.array([bad, 0]))


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
def test_target_fits_neither_form(target):
    with pytest.raises(ValueError, match="fits neither form"):
        sl.cross_entropy(np.zeros((2, 3)), target)


@pytest.mark.parametrize("rows", [[[0.5, 0.4, 0.0], [0.2, 0.3, 0.5]], [[1.0, 1.0, 0.0], [0.2, 0.3, 0.5]]])
def test_probability_rows_must_sum_to_one(rows):
    for func in (sl.cross_entropy, sl.cross_entropy_grad):
        with pytest.raises(ValueError, match="must sum to 1"):
            func(np.zeros((2, 3)), np.array(rows))


def test_negative_probabilities():
    with pytest.raises(ValueError, match="negative or non-finite"):
        sl.cross_entropy(np.zeros((1, 3)), np.array([[1.5, -0.5, 0.0]]))


def test_unknown_reduction():
    for func in (sl.cross_entropy, sl.cross_entropy_grad):
        with pytest.raises(ValueError, match="reduction must be one of"):
            func(np.zeros((2, 3)), np.array([0, 1]), reduction="average")


def test_cross_entropy_empty_class_axis_and_bad_axis():
    with pytest.raises(ValueError, match="empty class axis"):
        sl.cross_entropy(np.zeros((2, 0)), np.array([0, 0]))
    with pytest.raises(np.exceptions.AxisError, match="out of range"):
        sl.cross_entropy(np.zeros((2, 3)), np.array([0, 0]), axis=3)


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
    tol = rounding_tolerance(np.float64, 4)
    assert_passed(compare("softmax", sl.softmax(z, 0), reference.softmax_mp(z, 0), tol))
    assert_passed(compare("log_softmax", sl.log_softmax(z), reference.log_softmax_mp(z), tol))
    assert_passed(compare("logsumexp", sl.logsumexp(z, 0), reference.logsumexp_mp(z, 0), tol))
    assert_passed(compare("cross_entropy", sl.cross_entropy(z, target, reduction="none"),
                          reference.cross_entropy_mp(z, target), tol))
    # where float64 softmax underflows, the reference still has the exact (tiny) value
    assert reference.softmax_mp(np.array([0.0, -800.0]))[1] == 0.0
    assert reference.log_softmax_mp(np.array([0.0, -800.0]))[1] == -800.0
