"""Differential test: one answer for every path, layout, dtype and backend.

For each public function, Hypothesis draws logits with special-value rows (NaN, ±inf, −inf masks,
all −inf, ties at the max, values near the dtype's largest, subnormals) and a class axis, and the
test compares

  * the small NumPy path on a C-contiguous array with the same call on Fortran-ordered,
    transposed-in-memory and strided copies: bit for bit (the library copies the class axis last
    into one C-contiguous buffer before any arithmetic);
  * the small NumPy path with the blocked kernels, forced at these small sizes by lowering
    `softmax_lib._softmax.BLOCKED_MIN_SIZE`: bit for bit (the same operations in the same order);
  * softmax_lib on torch tensors, and torch's own function, with the NumPy result: within the
    first-order bound of the function in units of the dtype's u (twice it: both sides are computed in
    the dtype; see `bound` below), and with the same NaN / +inf / −inf pattern always.

float16, float32 and float64 run through NumPy and torch, bfloat16 through torch only. Targets
are class indices of every integer dtype and probabilities of every float dtype. The examples
are derandomized (the "ci" profile of tests/conftest.py).
"""

import numpy as np
import pytest
import torch
from hypothesis import given, note
from hypothesis import strategies as st
from numpy_paths import blocked_everywhere

import softmax_lib as sl
import softmax_lib._softmax
from softmax_lib.checks import (
    EXP_UNITS,
    as_float64,
    compare,
    jacobian_units,
    logsumexp_log_units,
    softmax_bound_units,
    unit_roundoff,
)

NUMPY_FLOATS = [np.float16, np.float32, np.float64]
TORCH_FLOATS = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
TORCH_INTEGERS = [
    torch.int8,
    torch.int16,
    torch.int32,
    torch.int64,
    torch.uint8,
    torch.uint16,
    torch.uint32,
    torch.uint64,
]
# How a row of logits is drawn: its special values are what the fast paths once got wrong.
ROW_KINDS = ["moderate", "wide", "nan", "+inf", "+inf and 800", "-inf mask", "all -inf", "ties", "huge", "subnormal"]


# --- inputs ------------------------------------------------------------------------------------


def make_rows(kinds: list[str], n_classes: int, dtype, seed: int) -> np.ndarray:
    """One row of K logits per kind, in float64, exactly representable in `dtype`'s range."""
    rng = np.random.default_rng(seed)
    info = torch.finfo(dtype) if isinstance(dtype, torch.dtype) else np.finfo(dtype)
    rows = rng.normal(scale=3.0, size=(len(kinds), n_classes))
    for row, kind in zip(rows, kinds):
        pick = rng.integers(n_classes)
        if kind == "wide":
            row *= 30.0
        elif kind == "nan":
            row[pick] = np.nan
        elif kind == "+inf":
            row[pick] = np.inf
        elif kind == "+inf and 800":
            row[pick], row[(pick + 1) % n_classes] = np.inf, min(800.0, float(info.max))
        elif kind == "-inf mask" and n_classes > 1:
            row[rng.random(n_classes) < 0.5] = -np.inf
            row[pick] = 1.0  # a finite max
        elif kind == "all -inf":
            row[:] = -np.inf
        elif kind == "ties":
            row[rng.random(n_classes) < 0.5] = row.max()
        elif kind == "huge":
            # z − m stays within range (|z| ≤ max/4); a pair (max/4, −max/4) tests the far tail.
            row[:] = np.sign(row) * float(info.max) / 4
        elif kind == "subnormal":
            row[:] = np.round(row) * float(info.tiny) * float(info.eps)  # multiples of the smallest subnormal
    return rows


@st.composite
def logits_cases(draw, dtypes):
    """(logits in float64 as drawn, dtype, class axis): 1 to 3 dimensions, rows of every kind."""
    dtype = draw(st.sampled_from(dtypes))
    n_classes = draw(st.integers(1, 9))
    other = draw(st.lists(st.integers(1, 3), min_size=0, max_size=2))
    axis = draw(st.integers(0, len(other)))
    n_rows = int(np.prod(other, dtype=int))
    kinds = draw(st.lists(st.sampled_from(ROW_KINDS), min_size=n_rows, max_size=n_rows))
    rows = make_rows(kinds, n_classes, dtype, draw(st.integers(0, 2**32 - 1)))
    z = np.moveaxis(rows.reshape(tuple(other) + (n_classes,)), -1, axis)
    note(f"dtype {dtype}, axis {axis}, shape {z.shape}, row kinds {kinds}")
    return z, dtype, axis


def layouts(z: np.ndarray) -> dict[str, np.ndarray]:
    """The same values in C order, Fortran order, transposed in memory and as a strided view."""
    strided = np.zeros(tuple(2 * n for n in z.shape), z.dtype)[tuple(slice(None, None, 2) for _ in z.shape)]
    strided[...] = z
    return {
        "C": np.ascontiguousarray(z),
        "Fortran": np.asfortranarray(z),
        "transposed": np.ascontiguousarray(z.T).T,
        "strided": strided,
    }


# --- comparisons -------------------------------------------------------------------------------


def assert_bitwise(name: str, actual, expected) -> None:
    """Equal to the last bit: same dtype, same values, NaN where the other has NaN."""
    assert actual.dtype == expected.dtype, f"{name}: dtype {actual.dtype} != {expected.dtype}"
    assert np.array_equal(actual, expected, equal_nan=True), f"{name}: not bit-identical:\n{actual}\n{expected}"


def assert_same_specials(name: str, actual, expected) -> tuple[np.ndarray, np.ndarray]:
    """Same NaN, +inf and −inf entries; returns both as float64 NumPy arrays."""
    actual, expected = as_float64(actual), as_float64(expected)
    assert actual.shape == expected.shape, f"{name}: shape {actual.shape} != {expected.shape}"
    for test in (np.isnan, np.isposinf, np.isneginf):
        assert np.array_equal(test(actual), test(expected)), f"{name}: {test.__name__} differs:\n{actual}\n{expected}"
    return actual, expected


def max_probability(z, axis: int) -> float:
    """The largest finite softmax probability of any row of `z` (computed in float64): the size of the
    terms p_i δ_ij + p_i p_j, p − y and p ⊙ v that a Jacobian, gradient or VJP entry is made of."""
    z64 = np.moveaxis(as_float64(z), axis, -1)
    with np.errstate(all="ignore"):
        p = np.exp(z64 - np.max(z64, axis=-1, keepdims=True))
        p = p / np.sum(p, axis=-1, keepdims=True)
    return float(np.max(p[np.isfinite(p)], initial=0.0))


def bound(kind: str, n_classes: int, expected: np.ndarray, z=None, axis: int = -1) -> tuple[float, np.ndarray | None]:
    """(units, scale): one side of a comparison is within units·u·scale of the exact value, entrywise; scale
    None means normwise (max|e|). First-order bounds of softmax_lib.checks.tolerance, K = n_classes:

    * "softmax": normwise, b = softmax_bound_units(K, 1): p_i's error (|z_i − m| + K + 4 + log K)·u·p_i, and
      |z_i − m|·p_i ≤ max p / e, so every entry is within (K + 5 + log K)·u·max p whatever the spread;
    * "online softmax": b plus, for each of at most K rescalings by exp(Δ), Δ = m_old − m_new ≤ 0, EXP_UNITS + 1
      and the rounding of Δ, |Δ|·u, weighted by the old sum's share d_old·e^Δ ≤ K e^(−|Δ|): ≤ K/e as
      |Δ|e^(−|Δ|) ≤ 1/e. So K(EXP_UNITS + 1 + K/e) more (`online_units`);
    * "logsumexp": |y|·u + L·u (L = logsumexp_log_units(K)): scaled by |y| + L; "online logsumexp": L + online_units;
    * "log_softmax": (|log p_i| + |z_i − m| + L)·u and |z_i − m| ≤ |log p_i|: scaled by 2|log p_i| + L;
    * "jacobian": jacobian_units(b) relative to p_i δ_ij + p_i p_j ≤ 2 max p; "vjp": 2b + K + 2 relative to
      p_i(|v_i| + Σ p_k |v_k|) ≤ 2 max p (|v| ≤ 1);
    * "loss": a row's loss Σ y_k(−log p_k) within ((K + 1)|loss| + L)·u (each −log p_k as log_softmax, the
      weighted sum K − 1 more): scaled by (K + 1)|loss| + L;
    * "grad": p − y within (b + 2)·u·(p_i + y_i), and p_i + y_i ≤ |p_i − y_i| + 2 max p: scaled by |e| + 2 max p;
    * "sparsemax": z' = z − m rounded (u, as |z' | ≤ 1 on the support S), τ = (Σ_S z' − 1)/|S| a sum of |S| + 1
      terms of size ≤ 1 (|S|·u·(|S| + 1)/|S|) and a division (u), then p = z' − τ (u): within (K + 3)·u absolute,
      normwise (K + 3)/max|p|;
    * "sparsemax jacobian": entries δ_ij − 1/|S|, two roundings: normwise 2·2 (max|J| ≥ 1/2 where not 0);
    * "hierarchical": log p a sum of d = ⌈log₂(K + 1)⌉ terms log σ(±s), each within EXP_UNITS + 3 units of
      |log σ| + 1: (EXP_UNITS + 3)d + d − 1 units of |log p| + d.
    """
    k = n_classes
    b = softmax_bound_units(k, 1.0)
    big_l = logsumexp_log_units(k)
    if kind == "softmax":
        return b, None
    online_units = k * (EXP_UNITS + 1 + k / np.e)
    if kind == "online softmax":
        return b + online_units, None
    if kind in ("logsumexp", "online logsumexp"):
        return 1.0, np.abs(expected) + big_l + (online_units if kind == "online logsumexp" else 0)
    if kind == "log_softmax":
        return 1.0, 2 * np.abs(expected) + big_l
    if kind == "jacobian":
        return jacobian_units(b), np.full(expected.shape, 2 * max_probability(z, axis))
    if kind == "vjp":
        return 2 * b + k + 2, np.full(expected.shape, 2 * max_probability(z, axis))
    if kind == "loss":
        return k + 1.0, np.abs(expected) + big_l / (k + 1)  # (K + 1)(|loss| + L/(K + 1)): no overflow near max
    if kind == "grad":
        return b + 2, np.abs(expected) + 2 * max_probability(z, axis)
    if kind == "sparsemax":
        return (k + 3) / np.max(np.abs(expected[np.isfinite(expected)]), initial=1.0), None
    if kind == "sparsemax jacobian":
        return 4.0, None
    if kind == "hierarchical":
        depth = int(np.ceil(np.log2(k + 1)))
        return (EXP_UNITS + 3) * depth + depth - 1, np.abs(expected) + depth
    raise ValueError(f"unknown kind {kind!r}")


def assert_close(name: str, actual, expected, dtype, n_classes: int, kind: str, z=None, axis: int = -1) -> None:
    """Same special values, and the finite entries within twice `bound` (both sides computed in `dtype`)."""
    actual, expected = assert_same_specials(name, actual, expected)
    finite = np.isfinite(expected)
    units, scale = bound(kind, n_classes, expected, z, axis)
    u = unit_roundoff(dtype)
    if scale is None:
        result = compare(name, actual[finite], expected[finite], 2 * units * u)
    else:
        result = compare(
            name,
            actual[finite],
            expected[finite],
            2 * units * u,
            measure="scaled",
            scale=np.broadcast_to(scale, expected.shape)[finite],
        )
    assert result.passed, str(result)


def torch_tensor(z: np.ndarray, dtype) -> torch.Tensor:
    return torch.as_tensor(z).to(dtype)


# --- softmax, log_softmax, logsumexp -------------------------------------------------------------

SOFTMAX_FAMILY = [
    (sl.softmax, sl.blocked_softmax, torch.softmax),
    (sl.log_softmax, sl.blocked_log_softmax, torch.log_softmax),
    (sl.logsumexp, sl.blocked_logsumexp, torch.logsumexp),
]


@given(case=logits_cases(NUMPY_FLOATS))
def test_numpy_paths_and_layouts_agree_bit_for_bit(case):
    z64, dtype, axis = case
    z = z64.astype(dtype)
    for func, blocked, _ in SOFTMAX_FAMILY:
        expected = func(z, axis)
        for layout, zl in layouts(z).items():
            assert_bitwise(f"{func.__name__}, {layout}", func(zl, axis), expected)
            assert_bitwise(f"{blocked.__name__}, {layout}", blocked(zl, axis), expected)
            with blocked_everywhere():
                assert_bitwise(f"{func.__name__}, {layout}, blocked path", func(zl, axis), expected)
        # the class axis moved last gives the same numbers
        assert_bitwise(
            f"{func.__name__}, axis last",
            np.moveaxis(func(np.moveaxis(z, axis, -1)), -1, axis)
            if func is not sl.logsumexp
            else func(np.moveaxis(z, axis, -1)),
            expected,
        )


@given(case=logits_cases(TORCH_FLOATS))
def test_torch_backend_and_torch_agree_with_numpy(case):
    z64, dtype, axis = case
    zt = torch_tensor(z64, dtype)
    n_classes = z64.shape[axis]
    for func, _, torch_func in SOFTMAX_FAMILY:
        ours = func(zt, axis)
        assert ours.dtype == dtype and ours.device == zt.device
        kind = func.__name__
        assert_close(
            f"{func.__name__} vs torch.{torch_func.__name__}", ours, torch_func(zt, axis), dtype, n_classes, kind
        )
        if dtype != torch.bfloat16:  # NumPy has no bfloat16
            numpy_dtype = getattr(np, str(dtype).removeprefix("torch."))
            assert_close(
                f"{func.__name__}, torch vs NumPy", ours, func(z64.astype(numpy_dtype), axis), dtype, n_classes, kind
            )


@given(case=logits_cases([np.float32, np.float64]))
def test_derivatives_and_online_paths_agree(case):
    z64, dtype, axis = case
    z = z64.astype(dtype)
    n_classes = z.shape[axis]
    zt = torch_tensor(z, getattr(torch, np.dtype(dtype).name))
    v = np.linspace(-1.0, 1.0, z.size).reshape(z.shape).astype(dtype)
    for name, ours_np, ours_torch in [
        ("softmax_jacobian", sl.softmax_jacobian(z, axis), sl.softmax_jacobian(zt, axis)),
        ("softmax_vjp", sl.softmax_vjp(z, v, axis), sl.softmax_vjp(zt, torch.as_tensor(v), axis)),
    ]:
        for layout, zl in layouts(z).items():
            again = sl.softmax_jacobian(zl, axis) if name == "softmax_jacobian" else sl.softmax_vjp(zl, v, axis)
            assert_bitwise(f"{name}, {layout}", again, ours_np)
        assert_close(
            f"{name}, torch vs NumPy",
            ours_torch,
            ours_np,
            dtype,
            n_classes,
            "jacobian" if name == "softmax_jacobian" else "vjp",
            z,
            axis,
        )
    # The online normalizer sums in another order: equal within rounding, same special values.
    for chunk_size in (1, 2, 4096):
        assert_close(
            f"online_softmax, chunks of {chunk_size}",
            sl.online_softmax(z, axis, chunk_size),
            sl.softmax(z, axis),
            dtype,
            n_classes,
            "online softmax",
        )
        assert_close(
            f"online_logsumexp, chunks of {chunk_size}",
            sl.online_logsumexp(z, axis, chunk_size),
            sl.logsumexp(z, axis),
            dtype,
            n_classes,
            "online logsumexp",
        )
    chunks = list(np.array_split(z, min(3, n_classes), axis=axis))
    assert_close(
        "streaming_logsumexp",
        sl.streaming_logsumexp(chunks, axis),
        sl.logsumexp(z, axis),
        dtype,
        n_classes,
        "online logsumexp",
    )
    assert_close(
        "streaming_softmax",
        np.concatenate(list(sl.streaming_softmax(chunks, axis)), axis=axis),
        sl.softmax(z, axis),
        dtype,
        n_classes,
        "online softmax",
    )


# --- the loss and its gradient -----------------------------------------------------------------


def index_target(z: np.ndarray, axis: int, seed: int) -> np.ndarray:
    batch_shape = z.shape[:axis] + z.shape[axis + 1 :]
    return np.random.default_rng(seed).integers(0, z.shape[axis], size=batch_shape)


def probability_target(z: np.ndarray, axis: int, seed: int) -> np.ndarray:
    """Rows drawn from a Dirichlet distribution, some entries exactly 0 (classes the target ignores)."""
    rng = np.random.default_rng(seed)
    y = rng.dirichlet(np.ones(z.shape[axis]), size=z.shape[:axis] + z.shape[axis + 1 :])
    y[y < 0.1] = 0.0  # the largest entry of a row of at most 9 is ≥ 1/9: no row is all 0
    return np.moveaxis(y / y.sum(axis=-1, keepdims=True), -1, axis)


def torch_loss(zt: torch.Tensor, target: torch.Tensor, axis: int) -> torch.Tensor:
    """torch.nn.functional.cross_entropy per row, with the classes on `axis`."""
    n_classes = zt.shape[axis]
    rows = torch.movedim(zt, axis, -1).reshape(-1, n_classes)
    if target.is_floating_point():
        target = torch.movedim(target, axis, -1).reshape(-1, n_classes)
    else:
        target = target.reshape(-1).to(torch.int64)
    loss = torch.nn.functional.cross_entropy(rows, target, reduction="none")
    return loss.reshape(tuple(zt.shape[:axis]) + tuple(zt.shape[axis + 1 :]))


@given(
    case=logits_cases([np.float16, np.float32, np.float64]),
    target_kind=st.sampled_from(["index", "probability"]),
    seed=st.integers(0, 2**32 - 1),
    data=st.data(),
)
def test_loss_paths_and_backends_agree(case, target_kind, seed, data):
    z64, dtype, axis = case
    z = z64.astype(dtype)
    n_classes = z.shape[axis]
    # The same target values for both libraries, in the same dtype; NumPy has no bfloat16, so a
    # bfloat16 target is compared with torch's own loss only (NumPy gets the float32 distribution).
    same_target = True
    if target_kind == "index":
        index_dtype = data.draw(st.sampled_from(TORCH_INTEGERS), "index dtype")
        target_t = torch.as_tensor(index_target(z, axis, seed)).to(index_dtype)
        target = target_t.numpy()
    else:
        target_dtype = data.draw(st.sampled_from(TORCH_FLOATS), "target dtype")
        y64 = probability_target(z, axis, seed)
        target_t = torch.as_tensor(y64).to(target_dtype)
        same_target = target_dtype != torch.bfloat16
        target = target_t.numpy() if same_target else y64.astype(np.float32)
    loss = sl.cross_entropy(z, target, axis, reduction="none")
    grad = sl.cross_entropy_grad(z, target, axis, reduction="none")
    for layout, zl in layouts(z).items():
        with blocked_everywhere():
            assert_close(
                f"cross_entropy, {layout}, blocked",
                sl.cross_entropy(zl, target, axis, reduction="none"),
                loss,
                dtype,
                n_classes,
                "loss",
            )
        fused_loss, fused_grad = sl.cross_entropy_with_grad(zl, target, axis, reduction="none")
        assert fused_loss.dtype == fused_grad.dtype == z.dtype
        assert_close(f"cross_entropy_with_grad loss, {layout}", fused_loss, loss, dtype, n_classes, "loss")
        assert_close(f"cross_entropy_with_grad gradient, {layout}", fused_grad, grad, dtype, n_classes, "grad", z, axis)

    torch_dtype = getattr(torch, np.dtype(dtype).name)
    zt = torch.as_tensor(z).to(torch_dtype)
    ours_t = sl.cross_entropy(zt, target_t, axis, reduction="none")
    y_t = sl.target_distribution(zt, target_t, axis)
    assert y_t.dtype == torch_dtype
    if same_target:
        assert_close("cross_entropy, torch vs NumPy", ours_t, loss, dtype, n_classes, "loss")
        assert_close(
            "cross_entropy_grad, torch vs NumPy",
            sl.cross_entropy_grad(zt, target_t, axis, reduction="none"),
            grad,
            dtype,
            n_classes,
            "grad",
            z,
            axis,
        )
    reference = torch_loss(zt, target_t.to(torch_dtype) if target_kind == "probability" else target_t, axis)
    if target_kind == "probability":
        # The documented difference (README): torch's probability-target loss is NaN for a masked
        # class (z_k = −inf) with y_k = 0, where softmax_lib takes 0·log 0 = 0. Only there.
        ignored_masked = np.any((torch.movedim(y_t, axis, -1) == 0).numpy() & np.isneginf(np.moveaxis(z, axis, -1)), -1)
        differs = np.isnan(as_float64(reference)) & ~np.isnan(as_float64(ours_t))
        assert np.all(ignored_masked[differs]), "torch's loss is NaN where no masked class is ignored"
        reference = torch.where(torch.as_tensor(differs), ours_t, reference)
    assert_close("cross_entropy vs torch", ours_t, reference, dtype, n_classes, "loss")


# --- variants ------------------------------------------------------------------------------------


@given(case=logits_cases(NUMPY_FLOATS), seed=st.integers(0, 2**32 - 1))
def test_variants_agree_across_layouts_and_backends(case, seed):
    z64, dtype, axis = case
    z = z64.astype(dtype)
    n_classes = z.shape[axis]
    zt = torch.as_tensor(z)
    p = sl.sparsemax(z, axis)
    assert p.dtype == z.dtype
    for layout, zl in layouts(z).items():
        assert_bitwise(f"sparsemax, {layout}", sl.sparsemax(zl, axis), p)
    assert_close("sparsemax, torch vs NumPy", sl.sparsemax(zt, axis), p, dtype, n_classes, "sparsemax")
    assert_close(
        "sparsemax_jacobian, torch vs NumPy",
        sl.sparsemax_jacobian(zt, axis),
        sl.sparsemax_jacobian(z, axis),
        dtype,
        n_classes,
        "sparsemax jacobian",
    )
    # Rows of sparsemax are distributions (or all NaN), whatever the input.
    rows = np.moveaxis(p.astype(np.float64), axis, -1)
    defined = ~np.isnan(rows).any(axis=-1)
    assert np.all(np.isnan(rows[~defined])) and np.all(rows[defined] >= 0)
    # K entries each within (K + 3)u absolute (see `bound`), summed in float64
    assert np.all(np.abs(rows[defined].sum(axis=-1) - 1) <= n_classes * (n_classes + 3) * unit_roundoff(dtype))

    gumbels = np.random.default_rng(seed).gumbel(size=z.shape).astype(dtype)
    assert np.array_equal(
        as_float64(sl.gumbel_max(zt, torch.as_tensor(gumbels), axis)), sl.gumbel_max(z, gumbels, axis)
    )
    assert_close(
        "gumbel_softmax, torch vs NumPy",
        sl.gumbel_softmax(zt, torch.as_tensor(gumbels), 0.5, axis),
        sl.gumbel_softmax(z, gumbels, 0.5, axis),
        dtype,
        n_classes,
        "softmax",
    )

    scores = np.moveaxis(z, axis, -1)
    if scores.shape[-1] >= 1:
        classes = np.random.default_rng(seed).integers(0, scores.shape[-1] + 1, size=scores.shape[:-1])
        log_p = sl.hierarchical_softmax_log_prob(scores, classes)
        assert_close(
            "hierarchical_softmax_log_prob, torch vs NumPy",
            sl.hierarchical_softmax_log_prob(torch.as_tensor(scores), torch.as_tensor(classes)),
            log_p,
            dtype,
            scores.shape[-1],
            "hierarchical",
        )
        assert_bitwise(
            "hierarchical_softmax_log_prob, Fortran order",
            sl.hierarchical_softmax_log_prob(np.asfortranarray(scores), classes),
            log_p,
        )


@pytest.mark.parametrize("n_classes", [1023, 1024])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_either_side_of_the_blocked_threshold(rng, n_classes, dtype):
    # 1024 × 1023 stays on the small path, 1024 × 1024 = 2²⁰ goes to the blocked kernels; a column
    # once differed by 70 ulp between the two when the class axis was not last.
    z = rng.normal(scale=5.0, size=(1024, 1024)).astype(dtype)
    small = z[:, :n_classes]
    assert (small.size >= softmax_lib._softmax.BLOCKED_MIN_SIZE) == (n_classes == 1024)
    for func in (sl.softmax, sl.log_softmax, sl.logsumexp):
        for axis in (0, 1):
            fortran = np.asfortranarray(small)
            expected = func(np.ascontiguousarray(np.moveaxis(small, axis, -1)), -1)
            expected = expected if func is sl.logsumexp else np.moveaxis(expected, -1, axis)
            assert_bitwise(f"{func.__name__}, axis {axis}", func(small, axis), expected)
            assert_bitwise(f"{func.__name__}, axis {axis}, Fortran", func(fortran, axis), expected)
            transposed = func(small.T, 1 - axis)
            assert_bitwise(
                f"{func.__name__}, axis {axis}, transposed",
                transposed if func is sl.logsumexp else transposed.T,
                expected,
            )
    # The same columns in an array twice as wide, which goes to the blocked kernels: the same bits.
    wide = np.concatenate([small, small], axis=1)
    assert wide.size >= softmax_lib._softmax.BLOCKED_MIN_SIZE
    for func in (sl.softmax, sl.log_softmax):
        assert_bitwise(f"{func.__name__}, columns of a wider array", func(wide, 0)[:, :n_classes], func(small, 0))
    assert_bitwise("logsumexp, columns of a wider array", sl.logsumexp(wide, 0)[:n_classes], sl.logsumexp(small, 0))


# --- the reproducers the differential test grew from ---------------------------------------------


@pytest.mark.filterwarnings("error")
def test_sparsemax_is_shift_invariant_and_keeps_precision():
    half = sl.sparsemax(np.full(100, 20, np.float16))  # summed to 1.56 when computed in float16
    assert half.dtype == np.float16 and np.all(half == np.float16(0.01))
    # was [1, 1], [0, 0] and [inf, inf]
    assert np.array_equal(sl.sparsemax(np.array([1e7, 1e7], np.float32)), np.array([0.5, 0.5], np.float32))
    assert np.array_equal(sl.sparsemax(np.array([1e16, 1e16])), [0.5, 0.5])
    assert np.array_equal(sl.sparsemax(np.array([1e308, -1e308])), [1.0, 0.0])
    rows = sl.sparsemax(np.array([[np.nan, 0.0, 5.0], [0.0, 0.2, 5.0]]))  # a NaN did not spread to its row
    assert np.isnan(rows[0]).all() and np.array_equal(rows[1], [0.0, 0.0, 1.0])
    z = np.array([0.375, -1.25, 0.125, 0.25])  # dyadic: z + 1024 and z − max z are exact
    assert np.array_equal(sl.sparsemax(z + 1024.0), sl.sparsemax(z))


@pytest.mark.parametrize("dtype", TORCH_FLOATS)
def test_variants_take_torch_tensors(dtype):
    # These once failed on tensors with unrelated messages; they keep the tensor's type, dtype and device.
    z = torch.tensor([[0.3, -1.2, 0.1, 0.25], [2.0, 0.0, 0.0, -1.0]], dtype=dtype)
    g = torch.tensor([[0.1, 0.2, -0.3, 0.0], [0.0, 0.0, 0.0, 5.0]], dtype=dtype)
    for out in (
        sl.sparsemax(z),
        sl.sparsemax_jacobian(z),
        sl.gumbel_softmax(z, g, 0.5),
        sl.hierarchical_softmax_log_prob(z[:, :3], torch.tensor([0, 3])),
    ):
        assert isinstance(out, torch.Tensor) and out.dtype == dtype and out.device == z.device
    assert torch.equal(sl.gumbel_max(z, g), torch.argmax(z + g, dim=-1))
    scores = z[:, :3].to(torch.float32 if dtype == torch.bfloat16 else dtype).numpy()  # NumPy has no bfloat16
    assert_close(
        "hierarchical_softmax_log_prob",
        sl.hierarchical_softmax_log_prob(z[:, :3], torch.tensor([0, 3])),
        sl.hierarchical_softmax_log_prob(scores, np.array([0, 3])),
        dtype,
        3,
        "hierarchical",
    )


def test_variants_refuse_mixed_libraries_by_name():
    with pytest.raises(TypeError, match=r"logits is a torch Tensor, gumbels is a numpy ndarray"):
        sl.gumbel_max(torch.zeros(3), np.zeros(3))
    with pytest.raises(TypeError, match=r"node_scores is a numpy ndarray, target is a torch Tensor"):
        sl.hierarchical_softmax_log_prob(np.zeros((1, 3)), torch.tensor([0]))
