"""Unit tests for the fast paths: blocked kernels, the online normalizer, the fused loss and gradient.

Each is checked against the two-pass softmax_lib functions, against torch and against the
50-digit mpmath reference, and every bad input must raise a clear error.
"""

import numpy as np
import pytest
import torch

import softmax_lib as sl
from softmax_lib.checks import (
    EXP_UNITS,
    assert_passed,
    compare,
    log_softmax_error_scale,
    logsumexp_error_scale,
    loss_error_scale,
    loss_units,
    rounded_once_units,
    smallest_normal,
    softmax64,
    softmax_bound_units,
    softmax_error_scale,
    summation_units,
    to_torch,
    torch_cross_entropy_with_grad,
    unit_roundoff,
)
from softmax_lib.reference import cross_entropy_mp, log_softmax_mp, logsumexp_mp, softmax_mp

RNG_SEED = 20260
U64 = unit_roundoff(np.float64)


def assert_close(name, actual, expected, tol, scale):
    """|actual − expected| ≤ tol·scale entrywise: the scale carries each entry's bound in units of u."""
    result = compare(name, actual, expected, tol, measure="scaled", scale=scale)
    assert result.passed, str(result)


# First-order bounds of the shifted formulas (softmax_lib.checks.tolerance), per entry, folded into the scale so
# that the tolerance is u per side. `extra` adds units: an online pass rescales its running sum once per chunk
# whose max is larger (EXP_UNITS + 1 each, and the rounding of m_old − m_new, amplified by exp, adds up to at
# most the row's spread), so `online_units` = (EXP_UNITS + 1)·chunks + spread.


def online_units(z, axis, chunk_size):
    chunks = -(-z.shape[axis] // chunk_size)
    return (EXP_UNITS + 1) * chunks + float(np.max(np.ptp(z, axis=axis)))


def loss_scale(logits, axis=-1, reduction="none"):
    """(scale, units): a row's loss is within loss_units(K)·u of max_k |z_k − m| + log K + 1; the sum adds N − 1
    units, the mean N (the sum and the division), reduced like the loss."""
    per_row = loss_error_scale(logits, axis)
    units = loss_units(logits.shape[axis])
    if reduction == "none":
        return per_row, units
    if reduction == "sum":
        return np.sum(per_row), units + per_row.size - 1
    return np.mean(per_row), units + per_row.size


def grad_scale(logits, target, axis=-1, reduction="none"):
    """(scale, units): p − y (divided by N for the mean) is within (b + 2)·u of (p + y)/N entrywise,
    b = softmax_bound_units(K, spread): p within b, the subtraction and the division one each."""
    k = logits.shape[axis]
    target = np.asarray(target)
    y = np.moveaxis(np.eye(k)[target], -1, axis) if np.issubdtype(target.dtype, np.integer) else target
    n = logits.size // k if reduction == "mean" else 1
    return (softmax64(logits, axis) + y) / n, softmax_bound_units(
        k, float(np.max(loss_error_scale(logits, axis) - np.log(k) - 1))
    ) + 2


# --- blocked kernels ----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("threads", [1, 2])
def test_blocked_equals_two_pass(rng, dtype, threads):
    z = (rng.normal(scale=6.0, size=(97, 3001))).astype(dtype)
    # The same operations in the same order per row, so equal to the last bit, for every axis.
    for axis in (0, 1):
        assert np.array_equal(sl.blocked_softmax(z, axis, threads=threads), sl.softmax(z, axis))
        assert np.array_equal(sl.blocked_log_softmax(z, axis, threads=threads), sl.log_softmax(z, axis))
        assert np.array_equal(sl.blocked_logsumexp(z, axis, threads=threads), sl.logsumexp(z, axis))


def test_log1p_form_keeps_tiny_log_probabilities():
    # One dominant logit: log p_max = −log(1 + s₁) ≈ −s₁ with s₁ = 2e−20, below float64's u.
    z = np.array([[0.0, -45.0, -46.0]])
    ref = log_softmax_mp(z)
    with np.errstate(divide="ignore"):
        naive = z - np.log(np.sum(np.exp(z), axis=-1, keepdims=True))
    assert naive[0, 0] == 0.0  # log(1 + s₁) rounds to log(1): every digit lost
    # log p_max = −log1p(s₁), z_k − m exact here: each exp EXP_UNITS, their sum summation_units(K − 1), log1p
    # EXP_UNITS, the negation exact; relative to |log p_max|
    tol = (2 * EXP_UNITS + summation_units(z.shape[-1] - 1)) * U64
    assert not compare("log(Σ exp) form", naive[0, :1], ref[0, :1], tol, measure="relative").passed
    for name, ours in [("log_softmax", sl.log_softmax(z)), ("blocked_log_softmax", sl.blocked_log_softmax(z))]:
        assert_passed(compare(name, ours[0, :1], ref[0, :1], tol, measure="relative"))
    loss, _ = sl.cross_entropy_with_grad(z, np.array([0]), reduction="none")
    assert_passed(compare("fused loss", loss, cross_entropy_mp(z, [0]), tol, measure="relative"))


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_blocked_any_axis_matches_torch(rng, axis):
    z = rng.normal(scale=4.0, size=(5, 7, 6))
    z_t = to_torch(z)
    tol = 2 * U64  # both sides in float64, each within its bound
    assert_close(
        "blocked_softmax", sl.blocked_softmax(z, axis), torch.softmax(z_t, axis), tol, softmax_error_scale(z, axis)
    )
    assert_close(
        "blocked_log_softmax",
        sl.blocked_log_softmax(z, axis),
        torch.log_softmax(z_t, axis),
        tol,
        log_softmax_error_scale(z, axis),
    )
    assert_close(
        "blocked_logsumexp",
        sl.blocked_logsumexp(z, axis),
        torch.logsumexp(z_t, axis),
        tol,
        logsumexp_error_scale(z, axis),
    )


def test_blocked_out_buffer_is_used(rng):
    z = rng.normal(size=(8, 50)).astype(np.float32)
    out = np.empty_like(z)
    assert sl.blocked_softmax(z, out=out) is out
    assert np.array_equal(out, sl.softmax(z))
    strided = np.empty((50, 8), np.float32).T  # not C-contiguous: filled through a copy
    assert sl.blocked_log_softmax(z, out=strided) is strided
    assert np.array_equal(strided, sl.log_softmax(z))


def test_blocked_float16_is_computed_in_float32(rng):
    # float32 arithmetic, then one rounding to float16 (rounded_once_units): relative, where the reference is a
    # normal float16 number. Rounded to float16 at every step, the row sum of K = 400
    # terms alone would carry many u₁₆.
    z = rng.normal(scale=3.0, size=(3, 400)).astype(np.float16)
    p = sl.blocked_softmax(z)
    assert p.dtype == np.float16
    ref = softmax_mp(z)
    normal = ref >= smallest_normal(np.float16)
    tol = rounded_once_units(z, np.float16) * unit_roundoff(np.float16)
    assert_passed(compare("float16 via float32", p[normal], ref[normal], tol, measure="relative"))
    e = np.exp(z - z.max(axis=-1, keepdims=True))  # float16
    in_float16 = e / np.cumsum(e, axis=-1, dtype=np.float16)[:, -1:]  # every partial sum rounded to float16
    assert not compare("float16 arithmetic", in_float16[normal], ref[normal], tol, measure="relative").passed


def test_blocked_against_mpmath_float64(rng):
    z = rng.normal(scale=30.0, size=(2, 300))
    # one side in float64, against 50 digits: u times each entry's bound (softmax_error_scale: p_i times the
    # shifted formula's |z_i − m| + K + 4 + log K, floored at the smallest normal number)
    assert_close("blocked_softmax vs mpmath", sl.blocked_softmax(z), softmax_mp(z), U64, softmax_error_scale(z))
    # one side in float64, against 50 digits: u times each entry's bound
    assert_close("blocked_logsumexp vs mpmath", sl.blocked_logsumexp(z), logsumexp_mp(z), U64, logsumexp_error_scale(z))
    assert_close(
        "blocked_log_softmax vs mpmath", sl.blocked_log_softmax(z), log_softmax_mp(z), U64, log_softmax_error_scale(z)
    )


NON_FINITE_ROWS = np.array(
    [
        [-np.inf, 0.0, 1.0, 2.0],
        [-np.inf, -np.inf, -np.inf, -np.inf],
        [0.0, np.inf, 1.0, 800.0],
        [np.nan, 0.0, 1.0, 2.0],
        [np.inf, 1.0, 2.0, 0.0],
        [1e308, -1e308, 0.0, 5.0],
    ]
)


@pytest.mark.filterwarnings("error")  # no RuntimeWarning either: the NaN or overflow is the answer
def test_blocked_non_finite_rows_match_two_pass():
    z = NON_FINITE_ROWS
    for blocked, two_pass in [
        (sl.blocked_softmax, sl.softmax),
        (sl.blocked_log_softmax, sl.log_softmax),
        (sl.blocked_logsumexp, sl.logsumexp),
    ]:
        np.testing.assert_array_equal(blocked(z), two_pass(z))
    assert np.isnan(sl.softmax(z[2:5])).all() and np.isnan(sl.log_softmax(z[2:5])).all()
    assert list(sl.logsumexp(z[1:5])) == [-np.inf, np.inf, pytest.approx(np.nan, nan_ok=True), np.inf]


@pytest.mark.filterwarnings("error")
def test_a_plus_inf_entry_gives_nan_rows_at_every_size():
    # The fast paths once shifted such a row by 0: [nan, 0, 0, 0] where the small path gave all NaN,
    # NaN for a finite 800 in the row (exp(800) = inf), and a loss of +inf instead of NaN.
    z = np.zeros((2**18, 4))
    z[0] = [np.inf, 1, 2, 0]
    z[1] = [np.inf, 800, 2, 0]
    assert z.size >= sl._softmax.BLOCKED_MIN_SIZE
    for func in (sl.softmax, sl.log_softmax):
        assert np.isnan(func(z)[:2]).all() and np.isnan(func(z[:4])[:2]).all()
        assert np.array_equal(func(z)[2:4], func(z[2:4]))
    assert sl.logsumexp(z)[0] == sl.logsumexp(z[:4])[0] == np.inf
    target = np.ones(len(z), dtype=int)
    assert np.isnan(sl.cross_entropy(z, target, reduction="none")[:2]).all()
    assert np.isnan(sl.cross_entropy(z, target))
    for rows in (z, z[:4]):
        loss, grad = sl.cross_entropy_with_grad(rows, target[: len(rows)], reduction="none")
        assert np.isnan(loss[:2]).all() and np.isnan(grad[:2]).all() and np.isfinite(loss[2:]).all()
    assert np.isnan(sl.online_softmax(np.array([np.inf, 0.0, 1.0]))).all()
    assert np.isnan(sl.online_softmax(np.array([np.inf, 800.0, 1.0]), chunk_size=1)).all()


def test_blocked_bad_inputs():
    z = np.zeros((2, 3))
    with pytest.raises(TypeError, match="z must be a real numeric array"):
        sl.blocked_softmax(np.array(["a", "b"]))
    with pytest.raises(np.exceptions.AxisError, match="axis 2 is out of range"):
        sl.blocked_softmax(z, axis=2)
    with pytest.raises(ValueError, match="empty class axis"):
        sl.blocked_log_softmax(np.zeros((2, 0)))
    with pytest.raises(ValueError, match="out must have shape"):
        sl.blocked_softmax(z, out=np.empty((3, 2)))
    with pytest.raises(ValueError, match="out must have shape"):
        sl.blocked_softmax(z, out=np.empty((2, 3), np.float32))
    with pytest.raises(ValueError, match="threads must be at least 1"):
        sl.blocked_softmax(z, threads=0)
    read_only = np.empty((2, 3))
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match="out is read-only"):
        sl.blocked_softmax(z, out=read_only)


# --- online normalizer --------------------------------------------------------------------------


@pytest.mark.parametrize("chunk_size", [1, 3, 64, 10_000])
@pytest.mark.parametrize("axis", [0, -1])
def test_online_equals_two_pass(rng, chunk_size, axis):
    z = rng.normal(scale=20.0, size=(40, 257))
    extra = online_units(z, axis, chunk_size)
    m, d = sl.online_normalizer(z, axis, chunk_size)
    assert np.array_equal(m, np.max(z, axis=axis, keepdims=True))  # the running max is exact
    # the online side within its bound plus the rescalings', the two-pass side within its bound
    assert_close(
        "online_logsumexp",
        sl.online_logsumexp(z, axis, chunk_size),
        sl.logsumexp(z, axis),
        U64,
        2 * logsumexp_error_scale(z, axis) + extra,
    )
    assert_close(
        "online_softmax",
        sl.online_softmax(z, axis, chunk_size),
        sl.softmax(z, axis),
        U64,
        softmax_error_scale(z, axis) + softmax_error_scale(z, axis, extra_units=extra),
    )


def test_online_against_mpmath_with_growing_max():
    # Increasing logits force a rescaling at every step: the worst case for the running sum.
    z = np.linspace(-300.0, 300.0, 2001)[None, :]
    extra = online_units(z, -1, 1)
    assert_close(
        "online_logsumexp vs mpmath",
        sl.online_logsumexp(z, chunk_size=1),
        logsumexp_mp(z),
        U64,
        logsumexp_error_scale(z, extra_units=extra),
    )
    assert_close(
        "online_softmax vs mpmath",
        sl.online_softmax(z, chunk_size=1),
        softmax_mp(z),
        U64,
        softmax_error_scale(z, extra_units=extra),
    )


def test_merge_is_associative_and_commutative(rng):
    parts = [rng.normal(scale=50.0, size=(4, n)) for n in (3, 8, 5)]
    (ma, da), (mb, db), (mc, dc) = (sl.online_normalizer(p, chunk_size=100) for p in parts)
    left = sl.merge_normalizers(*sl.merge_normalizers(ma, da, mb, db), mc, dc)
    right = sl.merge_normalizers(mc, dc, *sl.merge_normalizers(mb, db, ma, da))
    lse = [m + np.log(d) for m, d in (left, right)]
    # each merged logsumexp: the chunked bound with 3 chunks, and 2 merges (EXP_UNITS + 1 and the spread each)
    z = np.concatenate(parts, axis=-1)
    scale = logsumexp_error_scale(
        z, keepdims=True, extra_units=5 * (EXP_UNITS + 1) + 2 * float(np.max(np.ptp(z, axis=-1)))
    )
    assert_close("merge order", lse[0], lse[1], 2 * U64, scale)
    assert_close("merge vs logsumexp", lse[0], sl.logsumexp(z, keepdims=True), 2 * U64, scale)


def test_online_non_finite_rows_match_two_pass():
    z = np.array([[-np.inf, 0.0, 1.0], [-np.inf, -np.inf, -np.inf], [0.0, np.inf, 1.0], [-1e308, -np.inf, -1e308]])
    np.testing.assert_array_equal(sl.online_logsumexp(z, chunk_size=1), sl.logsumexp(z))
    np.testing.assert_array_equal(sl.streaming_logsumexp([z[:, :1], z[:, 1:]]), sl.logsumexp(z))


def test_streaming_matches_two_pass_and_torch(rng):
    z = rng.normal(scale=10.0, size=(3, 10_000)).astype(np.float32)
    chunks = [z[:, i : i + 999] for i in range(0, z.shape[1], 999)]
    # float32 on both sides: the streaming side carries the rescalings of its 11 chunks as well
    tol = 2 * unit_roundoff(np.float32)
    extra = online_units(z, -1, 999)
    z_t = to_torch(z)
    assert_close(
        "streaming_logsumexp",
        sl.streaming_logsumexp(chunks),
        torch.logsumexp(z_t, -1),
        tol,
        logsumexp_error_scale(z, extra_units=extra),
    )
    p = np.concatenate(list(sl.streaming_softmax(chunks)), axis=1)
    assert p.dtype == np.float32
    p_scale = softmax_error_scale(z, extra_units=extra, dtype=np.float32)
    assert_close("streaming_softmax", p, torch.softmax(z_t, -1), tol, p_scale)
    # A callable source, on axis 0, and keepdims.
    p0 = np.concatenate(list(sl.streaming_softmax(lambda: (c.T for c in chunks), axis=0)), axis=0)
    assert_close("streaming_softmax axis 0", p0, sl.softmax(z.T, axis=0), tol, p_scale.T)
    assert sl.streaming_logsumexp(chunks, keepdims=True).shape == (3, 1)


def test_streaming_reads_each_chunk_twice(rng):
    chunks = [rng.normal(size=(2, 5)) for _ in range(4)]
    reads = []

    def source():
        for i, c in enumerate(chunks):
            reads.append(i)
            yield c

    list(sl.streaming_softmax(source))
    assert reads == [0, 1, 2, 3] * 2


def test_online_bad_inputs(rng):
    with pytest.raises(ValueError, match="chunk_size must be a positive int"):
        sl.online_normalizer(np.zeros(3), chunk_size=0)
    with pytest.raises(ValueError, match="empty class axis"):
        sl.online_softmax(np.zeros((2, 0)))
    with pytest.raises(TypeError, match="one-shot iterator"):
        sl.streaming_softmax(iter([np.zeros(3)]))
    with pytest.raises(TypeError, match="chunks must be an iterable"):
        sl.streaming_softmax(3)
    with pytest.raises(ValueError, match="chunks is empty"):
        sl.streaming_logsumexp([])
    with pytest.raises(ValueError, match="chunk 1 has shape"):
        sl.streaming_logsumexp([np.zeros((2, 3)), np.zeros((3, 3))])
    with pytest.raises(TypeError, match="chunk 0 must be a real numeric array"):
        sl.streaming_logsumexp([np.array(["x"])])


# --- fused loss and gradient --------------------------------------------------------------------


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("target_kind", ["index", "probability"])
@pytest.mark.parametrize("axis", [-1, 0])
def test_fused_equals_separate_and_torch(rng, reduction, target_kind, axis):
    logits = rng.normal(scale=5.0, size=(6, 11))
    batch_axis = 1 - axis % 2
    if target_kind == "index":
        target = rng.integers(0, logits.shape[axis], size=logits.shape[batch_axis])
    else:
        target = np.moveaxis(rng.dirichlet(np.ones(logits.shape[axis]), size=logits.shape[batch_axis]), -1, axis)
    loss, grad = sl.cross_entropy_with_grad(logits, target, axis, reduction)
    # two float64 computations, each within its bound
    l_scale, l_units = loss_scale(logits, axis, reduction)
    g_scale, g_units = grad_scale(logits, target, axis, reduction)
    assert_close(
        "loss vs cross_entropy", loss, sl.cross_entropy(logits, target, axis, reduction), 2 * l_units * U64, l_scale
    )
    assert_close(
        "grad vs cross_entropy_grad",
        grad,
        sl.cross_entropy_grad(logits, target, axis, reduction),
        2 * g_units * U64,
        g_scale,
    )
    loss_t, grad_t = torch_cross_entropy_with_grad(logits, target, axis, reduction)
    assert_close("loss vs torch", loss, loss_t, 2 * l_units * U64, l_scale)
    assert_close("grad vs torch", grad, grad_t, 2 * g_units * U64, g_scale)


def test_fused_against_mpmath(rng):
    logits = rng.normal(scale=40.0, size=(5, 200))
    target = rng.integers(0, 200, size=5)
    loss, _ = sl.cross_entropy_with_grad(logits, target, reduction="none")
    l_scale, l_units = loss_scale(logits)
    assert_close("fused loss vs mpmath", loss, cross_entropy_mp(logits, target), l_units * U64, l_scale)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_threaded_equals_separate_functions(rng, dtype):
    logits = rng.normal(scale=3.0, size=(300, 2000)).astype(dtype)
    target = rng.integers(0, 2000, size=300)
    loss, grad = sl.cross_entropy_with_grad(logits, target, reduction="sum", threads=2)
    u = unit_roundoff(dtype)
    g_scale, g_units = grad_scale(logits.astype(np.float64), target, reduction="sum")
    l_scale, l_units = loss_scale(logits.astype(np.float64), reduction="sum")
    assert_close(
        "threaded fused grad", grad, sl.cross_entropy_grad(logits, target, reduction="sum"), 2 * g_units * u, g_scale
    )
    assert_close(
        "threaded fused loss", loss, sl.cross_entropy(logits, target, reduction="sum"), 2 * l_units * u, l_scale
    )
    assert grad.dtype == dtype and loss.dtype == dtype


def test_fused_output_buffers(rng):
    logits = rng.normal(size=(4, 9)).astype(np.float32)
    target = np.array([0, 8, 3, 3])
    expected = sl.cross_entropy_grad(logits, target)
    out = np.empty_like(logits)
    _, grad = sl.cross_entropy_with_grad(logits, target, out=out)
    g_scale, g_units = grad_scale(logits.astype(np.float64), target, reduction="mean")
    tol = 2 * g_units * unit_roundoff(np.float32)
    assert grad is out
    assert_close("grad into out", out, expected, tol, g_scale)
    own = logits.copy()
    _, grad = sl.cross_entropy_with_grad(own, target, overwrite_logits=True)
    assert grad is own
    assert_close("grad into logits", own, expected, tol, g_scale)
    transposed = np.ascontiguousarray(logits.T)
    _, grad = sl.cross_entropy_with_grad(transposed, target, axis=0, overwrite_logits=True)
    assert grad is transposed
    assert_close("grad into logits, axis 0", grad, expected.T, tol, g_scale.T)


def test_fused_float16(rng):
    logits = rng.normal(scale=2.0, size=(5, 30)).astype(np.float16)
    target = rng.integers(0, 30, size=5)
    loss, grad = sl.cross_entropy_with_grad(logits, target, reduction="none")
    assert loss.dtype == np.float16 and grad.dtype == np.float16
    ref = cross_entropy_mp(logits, target)
    # float32 arithmetic within loss_units(K)·u₃₂ of loss_error_scale, then one rounding to float16, u₁₆·|loss|:
    # both in the scale, the tolerance u₁₆
    u16, u32 = unit_roundoff(np.float16), unit_roundoff(np.float32)
    scale = np.abs(ref) + loss_units(30) * (u32 / u16) * loss_error_scale(logits)
    assert_passed(compare("float16 loss", loss, ref, u16, measure="scaled", scale=scale))
    # a bias of two float16 ulps is rejected
    biased = np.nextafter(np.nextafter(loss, np.float16(np.inf)), np.float16(np.inf))
    assert not compare("biased loss", biased, ref, u16, measure="scaled", scale=scale).passed


def test_fused_bad_inputs():
    logits = np.zeros((2, 3))
    with pytest.raises(ValueError, match="reduction must be one of"):
        sl.cross_entropy_with_grad(logits, [0, 1], reduction="avg")
    with pytest.raises(ValueError, match="either out or overwrite_logits"):
        sl.cross_entropy_with_grad(logits, [0, 1], out=np.empty_like(logits), overwrite_logits=True)
    with pytest.raises(TypeError, match="overwrite_logits=True needs"):
        sl.cross_entropy_with_grad([[0.0, 1.0]], [0], overwrite_logits=True)
    with pytest.raises(IndexError, match="target class index 3 is out of range"):
        sl.cross_entropy_with_grad(logits, [0, 3])
    with pytest.raises(ValueError, match="integer target must have shape"):
        sl.cross_entropy_with_grad(logits, [0, 1, 2])
    with pytest.raises(ValueError, match="rows must sum to 1"):
        sl.cross_entropy_with_grad(logits, np.full((2, 3), 0.5))
    with pytest.raises(ValueError, match="negative or non-finite"):
        sl.cross_entropy_with_grad(logits, np.array([[1.5, -0.5, 0.0], [1.0, 0.0, 0.0]]))
    with pytest.raises(ValueError, match="probability target must have"):
        sl.cross_entropy_with_grad(logits, np.ones((2, 4)) / 4)
    with pytest.raises(ValueError, match="integer class indices or floating probabilities"):
        sl.cross_entropy_with_grad(logits, np.array(["a", "b"]))
    with pytest.raises(ValueError, match="out must have shape"):
        sl.cross_entropy_with_grad(logits, [0, 1], out=np.empty((3, 2)))
    read_only = np.zeros((2, 3))
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match="logits is read-only"):
        sl.cross_entropy_with_grad(read_only, [0, 1], overwrite_logits=True)


# --- no Jacobian on paths that do not ask for one -----------------------------------------------


def test_gradient_paths_never_allocate_a_jacobian(rng):
    import tracemalloc

    logits = rng.normal(size=(4, 20_000)).astype(np.float32)  # a Jacobian would be 6.4 GB
    target = rng.integers(0, 20_000, size=4)
    v = rng.normal(size=logits.shape).astype(np.float32)
    for name, call in [
        ("softmax_vjp", lambda: sl.softmax_vjp(logits, v)),
        ("cross_entropy_grad", lambda: sl.cross_entropy_grad(logits, target)),
        ("cross_entropy_with_grad", lambda: sl.cross_entropy_with_grad(logits, target)),
    ]:
        tracemalloc.start()
        call()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak <= 8 * logits.nbytes, f"{name} peaked at {peak} bytes"


@pytest.mark.parametrize("target", [np.array([0, 2]), np.array([[0.5, 0.0, 0.5], [0.0, 0.0, 1.0]])])
def test_fused_masked_class_matches_cross_entropy(target):
    # A class masked with a −inf logit that the target gives no weight: 0·log 0 counts as 0 in both paths.
    z = np.array([[0.0, -np.inf, 1.0], [2.0, -np.inf, -1.0]])
    loss, grad = sl.cross_entropy_with_grad(z, target, reduction="none")
    assert np.all(np.isfinite(loss)) and np.all(np.isfinite(grad))
    l_scale, l_units = loss_scale(z)
    g_scale, g_units = grad_scale(z, target)
    assert_close("masked loss", loss, sl.cross_entropy(z, target, reduction="none"), 2 * l_units * U64, l_scale)
    assert_close("masked grad", grad, sl.cross_entropy_grad(z, target, reduction="none"), 2 * g_units * U64, g_scale)
