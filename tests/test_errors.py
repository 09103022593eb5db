"""Every error path of softmax_lib's public API raises a clear message that names the bad argument.

tests/test_softmax_lib.py already checks: an out-of-range axis and an empty class axis for softmax,
log_softmax, logsumexp and softmax_jacobian; a float axis and complex z for softmax; a v of the
wrong shape; class indices out of range; targets of neither form; probability rows that do not
sum to 1; negative probabilities; an unknown reduction; an empty or out-of-range class axis for
cross_entropy. This module covers the rest: each of those paths for the functions not checked
there, target_distribution called directly, and the parts of each message that tell the user
what to fix (the argument's name, the offending value, what was expected).
"""

import re

import numpy as np
import pytest

import softmax_lib as sl

SOFTMAX_FAMILY = [sl.softmax, sl.log_softmax, sl.logsumexp, sl.softmax_jacobian]
TARGET_FUNCTIONS = [sl.cross_entropy, sl.cross_entropy_grad, sl.target_distribution]


def vjp_with_matching_v(z, axis=-1):
    """softmax_vjp with a v that has z's shape, so only z or axis can be at fault."""
    return sl.softmax_vjp(z, np.zeros(np.shape(z)), axis=axis)


def logits_functions():
    """Each function whose first argument is logits, called with a valid index target."""
    return [
        pytest.param(
            lambda logits, axis=-1, func=func: func(logits, np.zeros(0, dtype=np.int64), axis=axis), id=func.__name__
        )
        for func in TARGET_FUNCTIONS
    ]


# --- z: dtype, dimensions, class axis ---------------------------------------------------------


@pytest.mark.parametrize("func", SOFTMAX_FAMILY + [vjp_with_matching_v], ids=lambda f: f.__name__)
@pytest.mark.parametrize(
    "bad, dtype_text",
    [
        (np.zeros(3, dtype=complex), "complex128"),
        (np.array(["1", "2"]), "<U1"),
        (np.array([1.0, None], dtype=object), "object"),
    ],
    ids=["complex", "string", "object"],
)
def test_non_real_z_is_named(func, bad, dtype_text):
    with pytest.raises(TypeError, match=rf"^z must be a real numeric array, got dtype {re.escape(dtype_text)}$"):
        func(bad)


@pytest.mark.parametrize("func", SOFTMAX_FAMILY + [vjp_with_matching_v], ids=lambda f: f.__name__)
def test_scalar_z_has_no_class_axis(func):
    # 0-d input is refused (torch's softmax returns 1 for it): the message says how to add the axis.
    with pytest.raises(
        np.exceptions.AxisError,
        match=r"^axis -1 is out of range for z with 0 dimension\(s\) "
        r"\(a 0-d array has no class axis: pass z\[None\]\)$",
    ):
        func(np.float64(1.0))


@pytest.mark.parametrize("func", SOFTMAX_FAMILY + [vjp_with_matching_v], ids=lambda f: f.__name__)
@pytest.mark.parametrize("axis, type_name", [(0.5, "float"), ("0", "str"), (None, "NoneType"), (True, "bool")])
def test_axis_must_be_an_int(func, axis, type_name):
    # bool is an int subclass; axis=True silently meaning axis 1 would hide a mistake
    with pytest.raises(TypeError, match=rf"^axis must be an int, got {type_name}$"):
        func(np.zeros((2, 3)), axis=axis)


def test_numpy_integer_axis_is_accepted():
    z = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(sl.softmax(z, axis=np.int64(0)), sl.softmax(z, axis=0))


def test_vjp_axis_and_empty_class_axis():
    with pytest.raises(np.exceptions.AxisError, match=r"^axis -3 is out of range for z with 2 dimension\(s\)$"):
        vjp_with_matching_v(np.zeros((2, 3)), axis=-3)
    with pytest.raises(ValueError, match=r"^z has an empty class axis \(axis 0 of shape \(0, 3\)\)$"):
        vjp_with_matching_v(np.zeros((0, 3)), axis=0)


def test_empty_class_axis_message_gives_the_normalised_axis_and_shape():
    with pytest.raises(ValueError, match=r"^z has an empty class axis \(axis 1 of shape \(4, 0, 2\)\)$"):
        sl.softmax(np.zeros((4, 0, 2)), axis=-2)


def test_empty_batch_is_not_an_error():
    # Zero rows of three classes is a valid (empty) batch, unlike zero classes.
    assert sl.softmax(np.zeros((0, 3))).shape == (0, 3)
    assert sl.cross_entropy(np.zeros((0, 3)), np.zeros(0, dtype=np.int64), reduction="sum") == 0


# --- v -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad, dtype_text", [(np.zeros(3, dtype=complex), "complex128"), (np.array(["a", "b", "c"]), "<U1")]
)
def test_non_real_v_is_named(bad, dtype_text):
    with pytest.raises(TypeError, match=rf"^v must be a real numeric array, got dtype {re.escape(dtype_text)}$"):
        sl.softmax_vjp(np.zeros(3), bad)


def test_v_shape_message_gives_both_shapes():
    with pytest.raises(ValueError, match=r"^v must have the shape of z \(2, 3\), got \(3, 2\)$"):
        sl.softmax_vjp(np.zeros((2, 3)), np.zeros((3, 2)))


# --- logits ------------------------------------------------------------------------------------


@pytest.mark.parametrize("func", logits_functions())
def test_non_real_logits_are_named(func):
    with pytest.raises(TypeError, match=r"^logits must be a real numeric array, got dtype complex128$"):
        func(np.zeros((0, 3), dtype=complex))


@pytest.mark.parametrize("func", logits_functions())
def test_logits_axis_errors_name_logits(func):
    with pytest.raises(np.exceptions.AxisError, match=r"^axis 2 is out of range for logits with 2 dimension\(s\)$"):
        func(np.zeros((0, 3)), axis=2)
    with pytest.raises(TypeError, match=r"^axis must be an int, got float$"):
        func(np.zeros((0, 3)), axis=1.0)
    with pytest.raises(ValueError, match=r"^logits has an empty class axis \(axis 1 of shape \(0, 0\)\)$"):
        func(np.zeros((0, 0)))


# --- target ------------------------------------------------------------------------------------


@pytest.mark.parametrize("func", TARGET_FUNCTIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("bad", [-1, 3, 7])
def test_class_index_message_names_the_first_bad_index(func, bad):
    # the first offending index in the array's order, however many there are
    target = np.array([[0, bad], [2, 9]])
    with pytest.raises(IndexError, match=rf"^target class index {bad} is out of range for 3 classes$"):
        func(np.zeros((2, 2, 3)), target)


@pytest.mark.parametrize("func", TARGET_FUNCTIONS, ids=lambda f: f.__name__)
def test_class_index_equal_to_class_count_is_rejected(func):
    # the off-by-one boundary: index K alone must give this message, not NumPy's own IndexError
    with pytest.raises(IndexError, match=r"^target class index 3 is out of range for 3 classes$"):
        func(np.zeros((2, 3)), np.array([0, 3]))


def test_class_index_range_counts_classes_on_axis():
    logits = np.zeros((5, 2))  # 5 classes on axis 0, 2 rows
    assert sl.target_distribution(logits, np.array([4, 0]), axis=0).shape == (5, 2)
    with pytest.raises(IndexError, match=r"^target class index 4 is out of range for 2 classes$"):
        sl.target_distribution(logits, np.array([4, 0, 2, 1, 0]), axis=-1)


@pytest.mark.parametrize("func", [sl.cross_entropy_grad, sl.target_distribution], ids=lambda f: f.__name__)
def test_target_of_neither_form_lists_both_expected_shapes(func):
    message = (
        "target of shape (2, 2) and dtype float64 fits neither form: integer class indices of shape (2,) "
        "or floating probabilities of shape (2, 3)"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        func(np.zeros((2, 3)), np.full((2, 2), 0.5))


@pytest.mark.parametrize("func", TARGET_FUNCTIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, -0.25])
def test_probability_target_must_be_finite_and_non_negative(func, bad):
    target = np.array([[0.25, 0.5, 0.25], [1.25, 0.0, 0.0]])
    target[1, 1] = bad
    with pytest.raises(ValueError, match=r"^probability target has negative or non-finite entries$"):
        func(np.zeros((2, 3)), target)


@pytest.mark.parametrize(
    "dtype, tol_text", [(np.float64, "6.7e-16"), (np.float32, "3.6e-07")], ids=["float64", "float32"]
)
def test_row_sum_message_gives_tolerance_and_worst_row(dtype, tol_text):
    target = np.array([[0.2, 0.3, 0.5], [0.5, 0.5, 0.25], [0.1, 0.1, 0.7]], dtype=dtype)
    # the worst row is reported, not the first bad one
    with pytest.raises(
        ValueError, match=rf"^probability target rows must sum to 1 \(within {tol_text}\); one sums to .*1\.25"
    ):
        sl.target_distribution(np.zeros((3, 3)), target)


def test_row_sum_tolerance_admits_rounding_only():
    eps32 = float(np.finfo(np.float32).eps)
    rounded = np.array([[1 / 3, 1 / 3, 1 / 3 + eps32]], dtype=np.float32)
    assert sl.target_distribution(np.zeros((1, 3), dtype=np.float32), rounded).dtype == np.float32
    with pytest.raises(ValueError, match="must sum to 1"):
        sl.target_distribution(np.zeros((1, 3)), np.array([[0.5, 0.5, 1e-3]]))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
def test_row_sum_tolerance_is_k_epsilon_of_the_targets_dtype(dtype):
    # A row rounded to the target's dtype, or normalised in it, sums to 1 within (K + 1)u; K·ε = 2K·u
    # also covers the float64 sum of the check. Once accepted: a bfloat16 row summing to 0.92 and a
    # float16 row summing to 0.97 (√ε of their dtype).
    import torch

    torch_dtype = getattr(torch, dtype)
    k = 40
    logits = torch.zeros(1, k)
    rounded = torch.softmax(torch.linspace(-3, 3, k, dtype=torch.float64), 0).to(torch_dtype)[None]
    sl.target_distribution(logits, rounded)
    for row in ([0.46, 0.46], [0.97, 0.0]):
        with pytest.raises(ValueError, match="must sum to 1"):
            sl.target_distribution(torch.zeros(1, 2), torch.tensor([row], dtype=torch_dtype))


# --- reduction ---------------------------------------------------------------------------------


@pytest.mark.parametrize("func", [sl.cross_entropy, sl.cross_entropy_grad], ids=lambda f: f.__name__)
@pytest.mark.parametrize("bad", ["Mean", "elementwise_mean", None])
def test_reduction_message_lists_choices(func, bad):
    with pytest.raises(
        ValueError, match=rf"^reduction must be one of \('mean', 'sum', 'none'\), got {re.escape(repr(bad))}$"
    ):
        func(np.zeros((2, 3)), np.array([0, 1]), reduction=bad)


@pytest.mark.parametrize("func", [sl.cross_entropy, sl.cross_entropy_grad], ids=lambda f: f.__name__)
def test_reduction_is_checked_before_the_target(func):
    # both are wrong; the cheaper, more fundamental mistake is reported
    with pytest.raises(ValueError, match="reduction must be one of"):
        func(np.zeros((2, 3)), np.array([0, 5]), reduction="avg")


# --- targets of every integer dtype, mixed libraries, empty batches, masked arrays ----------------


@pytest.mark.parametrize(
    "dtype_name, n_classes, index",
    [
        ("uint8", 300, 50),
        ("int8", 200, 50),
        ("int16", 40000, 50),
        ("uint16", 300, 299),
        ("uint32", 300, 7),
        ("uint64", 300, 7),
    ],
)
def test_torch_indices_are_compared_in_a_wide_type(dtype_name, n_classes, index):
    # n_classes beyond the target dtype's range once raised "out of range", and torch's uint16/32/64
    # have no ordering ("lt_cpu not implemented for 'UInt16'").
    import torch

    logits = torch.zeros(1, n_classes, dtype=torch.float64)
    target = torch.tensor([index], dtype=getattr(torch, dtype_name))
    expected = torch.nn.functional.cross_entropy(logits, target.to(torch.int64))
    assert float(sl.cross_entropy(logits, target)) == float(expected)
    with pytest.raises(IndexError, match=rf"^target class index {index} is out of range for {index} classes$"):
        sl.cross_entropy(logits[:, :index], target)


def test_uint64_index_beyond_int64_is_out_of_range_with_its_value():
    with pytest.raises(IndexError, match=rf"^target class index {2**63 + 5} is out of range for 3 classes$"):
        sl.cross_entropy(np.zeros((1, 3)), np.array([2**63 + 5], dtype=np.uint64))


def test_numpy_logits_with_a_torch_target_name_both():
    import torch

    with pytest.raises(
        TypeError,
        match=r"^arrays from different libraries \(logits is a numpy ndarray, "
        r"target is a torch Tensor\): pass all of them as NumPy arrays",
    ):
        sl.cross_entropy(np.zeros((1, 3)), torch.tensor([1]))
    with pytest.raises(TypeError, match=r"z is a torch Tensor, v is a numpy ndarray"):
        sl.softmax_vjp(torch.zeros(3), np.zeros(3))


@pytest.mark.parametrize("func", TARGET_FUNCTIONS, ids=lambda f: f.__name__)
def test_empty_list_target_is_an_empty_batch(func):
    out = func(np.zeros((0, 3)), [], **({} if func is sl.target_distribution else {"reduction": "sum"}))
    assert out.shape == ((0, 3) if func is not sl.cross_entropy else ())


@pytest.mark.parametrize("func", SOFTMAX_FAMILY, ids=lambda f: f.__name__)
def test_masked_array_is_refused_not_silently_unmasked(func):
    # logsumexp of [1, (2), 3] was 5.14: neither the masked answer (3.13) nor the unmasked one (3.41).
    z = np.ma.masked_array([1.0, 2.0, 3.0], mask=[0, 1, 0])
    with pytest.raises(
        TypeError,
        match=r"^z is a numpy masked array; softmax_lib would ignore its mask.*"
        r"np\.ma\.filled\(z, -np\.inf\)",
    ):
        func(z)
    # the masked answer: log(e¹ + e³) to 50 digits, within u times logsumexp's error scale (one side in float64)
    from softmax_lib.checks import compare, logsumexp_error_scale, unit_roundoff
    from softmax_lib.reference import logsumexp_mp

    exact, scale = logsumexp_mp([1.0, 3.0]), logsumexp_error_scale([1.0, 3.0])
    tol = unit_roundoff(np.float64)
    assert compare("filled", sl.logsumexp(np.ma.filled(z, -np.inf)), exact, tol, measure="scaled", scale=scale).passed
    assert not compare("unmasked", sl.logsumexp(z.data), exact, tol, measure="scaled", scale=scale).passed


FAST_PATHS = [
    sl.blocked_softmax,
    sl.blocked_logsumexp,
    sl.online_softmax,
    sl.online_logsumexp,
    lambda z: list(sl.streaming_softmax([z])),
]


@pytest.mark.parametrize(
    "func", FAST_PATHS, ids=[f.__name__.replace("<lambda>", "streaming_softmax") for f in FAST_PATHS]
)
def test_masked_array_is_refused_by_the_fast_paths(func):
    with pytest.raises(TypeError, match=r"is a numpy masked array; softmax_lib would ignore its mask"):
        func(np.ma.masked_array([1.0, 2.0, 3.0], mask=[0, 1, 0]))


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("func", SOFTMAX_FAMILY + [sl.online_softmax, sl.online_logsumexp], ids=lambda f: f.__name__)
def test_huge_finite_logits_give_no_warning(func):
    # z − m overflows to −inf for [1e308, −1e308]: exp(−inf) = 0 is the right term, not a warning.
    # (log p₂ = −2e308 itself lies beyond float64's range: −inf is its rounding.)
    out = func(np.array([1e308, -1e308]))
    assert not np.any(np.isnan(out)) and np.all(np.isfinite(sl.softmax(np.array([1e308, -1e308]))))
