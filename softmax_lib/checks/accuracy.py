"""The accuracy-study kit: inputs that stress softmax formulas, and errors in units of u.

Shared by the chapters numerics and fast_exact and by benchmarks/accuracy.py; the bounds the errors
are held to are the first-order ones of tolerance.py.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .bounds import softmax_bound_units
from .tolerance import unit_roundoff

__all__ = [
    "ACCURACY_FUNCTIONS",
    "STRESS_FAMILIES",
    "accuracy_study",
    "bound_units",
    "implementations",
    "mp_references",
    "naive_softmax",
    "pick",
    "relative_error_units",
    "rounded_once_units",
    "stress_logits",
    "textbook_log_softmax",
]

STRESS_FAMILIES = (
    "normal",
    "large spread",
    "all equal",
    "one dominant",
    "huge +1e4",
    "near overflow",
    "tiny probabilities",
)


def stress_logits(family: str, dtype: np.dtype | type, n_classes: int, n_rows: int, seed: int = 0) -> np.ndarray:
    """(n_rows, n_classes) logits of `dtype` from one of STRESS_FAMILIES, inputs that stress softmax formulas.

    normal: N(0, 3²). large spread: uniform on [−5000, 5000] (max − min up to 1e4). all equal: 3.
    one dominant: N(0, 1) plus one logit larger by −log u + 4, so every other p_k is below u.
    huge +1e4: 1e4 + N(0, 3²), exp overflows in every dtype. near overflow: half the dtype's largest
    number plus a few of its ulps. tiny probabilities: a ramp from 0 down to 95 % of log(smallest normal).

    Parameters
    ----------
    family : str
        One of STRESS_FAMILIES.
    dtype : numpy dtype
        float64, float32 or float16.
    n_classes, n_rows : int
        The shape.
    seed : int, optional
        The seed of the draw (default 0).

    Returns
    -------
    numpy.ndarray
        (n_rows, n_classes) of `dtype`.

    Examples
    --------
    >>> z = stress_logits("one dominant", np.float32, 4, 2)
    >>> z.shape, z.dtype, bool(np.all(np.sort(z)[:, -1] - np.sort(z)[:, -2] > -np.log(unit_roundoff(np.float32))))
    ((2, 4), dtype('float32'), True)
    """
    dtype = np.dtype(dtype)
    rng = np.random.default_rng(seed)
    shape = (n_rows, n_classes)
    info = np.finfo(dtype)
    if family == "normal":
        z = rng.normal(scale=3.0, size=shape)
    elif family == "large spread":
        z = rng.uniform(-5000.0, 5000.0, size=shape)
    elif family == "all equal":
        z = np.full(shape, 3.0)
    elif family == "one dominant":
        z = rng.normal(size=shape)
        z[np.arange(n_rows), rng.integers(0, n_classes, size=n_rows)] += 4 - np.log(unit_roundoff(dtype))
    elif family == "huge +1e4":
        z = 1e4 + rng.normal(scale=3.0, size=shape)
    elif family == "near overflow":
        half = dtype.type(info.max) / dtype.type(2)
        ulp = np.spacing(half)
        return (half + ulp * rng.integers(0, 4, size=shape).astype(dtype)).astype(dtype)
    elif family == "tiny probabilities":
        z = np.tile(np.linspace(0.0, 0.95 * np.log(float(info.tiny)), n_classes), (n_rows, 1))
        z = rng.permuted(z, axis=1)
    else:
        raise ValueError(f"family must be one of {STRESS_FAMILIES}, got {family!r}")
    return z.astype(dtype)


def relative_error_units(actual: ArrayLike, reference: ArrayLike, dtype: np.dtype | type) -> NDArray[np.float64]:
    """|actual − reference| / |reference| in units of `dtype`'s u, for the entries whose reference is a
    finite normal number of `dtype` (smaller ones cannot be stored to relative accuracy). A NaN or
    infinite result where the reference is finite counts as an infinite error.

    Parameters
    ----------
    actual : array_like
        Computed values.
    reference : array_like
        Exact (or 50-digit) values, of the same shape.
    dtype : numpy dtype
        The dtype whose u is the unit and whose smallest normal number the cut.

    Returns
    -------
    numpy.ndarray
        float64, one error per kept entry (flattened).

    Examples
    --------
    >>> relative_error_units([1.0 + 2**-52, 0.5], [1.0, 0.5], np.float64)
    array([2., 0.])
    """
    actual = np.asarray(actual, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    keep = np.isfinite(reference) & (np.abs(reference) >= float(np.finfo(dtype).tiny))
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.abs(actual[keep] - reference[keep]) / np.abs(reference[keep]) / unit_roundoff(dtype)
    return np.where(np.isfinite(err), err, np.inf)


def rounded_once_units(z: ArrayLike, dtype: np.dtype | type, axis: int = -1) -> float:
    """Bound, in units of `dtype`'s u, on the relative error of a half-precision softmax computed in float32.

    float32 arithmetic within `softmax_bound_units`(K, spread) units of float32's u, then one rounding to
    `dtype`: 1 + b·u₃₂/u. Holds where the exact value is a normal number of `dtype`. Rounded to `dtype`
    at every step, the row sum of K terms alone would carry up to K − 1 units.

    Parameters
    ----------
    z : array_like
        Logits.
    dtype : numpy dtype
        The half-precision dtype of the result (float16).
    axis : int, optional
        The class axis (default the last).

    Returns
    -------
    float

    Examples
    --------
    >>> round(rounded_once_units(np.zeros(4), np.float16), 6)  # 1 + (K + 4 + log K)·2⁻²⁴/2⁻¹¹
    1.001146
    """
    z = np.asarray(z, dtype=np.float64)
    spread = float(np.max(np.ptp(z, axis=axis), initial=0.0))
    return 1 + softmax_bound_units(z.shape[axis], spread) * unit_roundoff(np.float32) / unit_roundoff(dtype)


# --- the accuracy study shared by the chapter fast_exact and benchmarks/accuracy.py ---------------

ACCURACY_FUNCTIONS = ("softmax", "log_softmax", "logsumexp", "cross_entropy")


def naive_softmax(z: np.ndarray) -> np.ndarray:
    """The unshifted formula, for comparison only (it overflows for z_k ≳ 88 in float32)."""
    e = np.exp(z)
    return e / np.sum(e, axis=-1, keepdims=True)


def textbook_log_softmax(z: np.ndarray) -> np.ndarray:
    """(z − m) − log Σ exp(z − m) with a plain log: the shifted formula, written out."""
    shifted = z - np.max(z, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def pick(values: np.ndarray, target: np.ndarray) -> np.ndarray:
    """values[n, target[n]] for each row n."""
    return np.take_along_axis(values, target[:, None], axis=-1)[:, 0]


def implementations(device=None) -> dict[str, dict]:
    """{function: {name: fn(z, target)}}: the naive and textbook formulas, softmax_lib, its fast paths,
    SciPy and torch (on `device`, default CPU) for the four functions of the accuracy study."""
    import scipy.special
    import torch

    import softmax_lib as sl

    def on_device(fn, z, *args):
        with torch.no_grad():
            return fn(torch.as_tensor(np.ascontiguousarray(z), device=device), *args).cpu().numpy()

    def on_logits(fn):
        return lambda z, target: fn(z)

    return {
        "softmax": {
            "naive": on_logits(naive_softmax),
            "softmax_lib": on_logits(sl.softmax),
            "fast path": on_logits(sl.blocked_softmax),
            "scipy": on_logits(lambda z: scipy.special.softmax(z, axis=-1)),
            "torch": on_logits(lambda z: on_device(lambda x: torch.softmax(x, -1), z)),
        },
        "log_softmax": {
            "naive": on_logits(lambda z: np.log(naive_softmax(z))),
            "textbook shifted": on_logits(textbook_log_softmax),
            "softmax_lib": on_logits(sl.log_softmax),
            "fast path": on_logits(sl.blocked_log_softmax),
            "scipy": on_logits(lambda z: scipy.special.log_softmax(z, axis=-1)),
            "torch": on_logits(lambda z: on_device(lambda x: torch.log_softmax(x, -1), z)),
        },
        "logsumexp": {
            "naive": on_logits(lambda z: np.log(np.sum(np.exp(z), axis=-1))),
            "softmax_lib": on_logits(sl.logsumexp),
            "fast path": on_logits(sl.blocked_logsumexp),
            "online": on_logits(lambda z: sl.online_logsumexp(z, chunk_size=1)),
            "scipy": on_logits(lambda z: scipy.special.logsumexp(z, axis=-1)),
            "torch": on_logits(lambda z: on_device(lambda x: torch.logsumexp(x, -1), z)),
        },
        "cross_entropy": {
            "naive": lambda z, t: -np.log(pick(naive_softmax(z), t)),
            "softmax_lib": lambda z, t: sl.cross_entropy(z, t, reduction="none"),
            "fast path": lambda z, t: sl.cross_entropy_with_grad(z, t, reduction="none")[0],
            "scipy": lambda z, t: -pick(scipy.special.log_softmax(z, axis=-1), t),
            "torch": lambda z, t: on_device(
                lambda x, y: torch.nn.functional.cross_entropy(x, y, reduction="none"),
                z,
                torch.as_tensor(t, device=device),
            ),
        },
    }


def mp_references(z: np.ndarray, target: np.ndarray, dps: int = 50) -> dict[str, np.ndarray]:
    """softmax, log_softmax, logsumexp and the index-target cross-entropy of the rows of z, in `dps` digits.

    The formulas of softmax_lib.reference, with each row's exps computed once for all four functions
    (benchmarks/accuracy.py asserts that both give the same bits before its run).
    """
    import mpmath

    rows = np.asarray(z, dtype=np.float64)
    out = {name: np.empty(rows.shape) for name in ("softmax", "log_softmax")}
    out["logsumexp"] = np.empty(rows.shape[0])
    out["cross_entropy"] = np.empty(rows.shape[0])
    with mpmath.workdps(dps):
        for r, row in enumerate(rows):
            values = [mpmath.mpf(float(v)) for v in row]
            exps = [mpmath.exp(v) for v in values]
            total = mpmath.fsum(exps)
            lse = mpmath.log(total)
            out["softmax"][r] = [float(e / total) for e in exps]
            out["log_softmax"][r] = [float(v - lse) for v in values]
            out["logsumexp"][r] = float(lse)
            out["cross_entropy"][r] = float(lse - values[target[r]])
    return out


def bound_units(function: str, z: np.ndarray, reference: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The first-order bound (bounds.py) on each entry's relative error, in u, for the shifted formulas."""
    from .bounds import (
        logsumexp_log_units,
        shifted_log_softmax_bound_units,
        shifted_logsumexp_bound_units,
        shifted_softmax_bound_units,
    )

    if function == "softmax":
        return shifted_softmax_bound_units(z)
    if function == "log_softmax":
        return shifted_log_softmax_bound_units(z, reference)
    if function == "logsumexp":
        return shifted_logsumexp_bound_units(reference, z.shape[-1])
    # The loss is −log p_c: the log_softmax bound at the target entry.
    z64 = z.astype(np.float64)
    distance = np.max(z64, axis=-1) - pick(z64, target)
    with np.errstate(divide="ignore"):
        return 1 + (distance + logsumexp_log_units(z.shape[-1])) / np.abs(reference)


def accuracy_study(ks, rows_for, dtypes, families=STRESS_FAMILIES, impls=None) -> dict:
    """{function: {(family, dtype name): {name: (errors, errors / bound)}}}, the errors in units of u of
    every entry whose exact value is a normal number of the dtype, over K in `ks` with `rows_for(K)`
    rows each (logits seeded by K), against the 50-digit reference."""
    impls = implementations() if impls is None else impls
    study = {function: {} for function in impls}
    for dtype in dtypes:
        for family in families:
            parts = {f: {name: ([], []) for name in impls[f]} for f in impls}
            for k in ks:
                z = stress_logits(family, dtype, k, rows_for(k), seed=k)
                target = np.random.default_rng(k).integers(0, k, size=z.shape[0])
                references = mp_references(z, target)
                for function, by_name in impls.items():
                    ref = references[function]
                    bound = bound_units(function, z, ref, target)
                    keep = np.isfinite(ref) & (np.abs(ref) >= float(np.finfo(dtype).tiny))
                    for name, fn in by_name.items():
                        with np.errstate(all="ignore"):  # the naive formulas overflow on purpose
                            err = relative_error_units(fn(z, target), ref, dtype)
                        parts[function][name][0].append(err)
                        parts[function][name][1].append(err / bound[keep])
            key = (family, np.dtype(dtype).name)
            for function, by_name in parts.items():
                study[function][key] = {name: tuple(map(np.concatenate, pair)) for name, pair in by_name.items()}
    return study
