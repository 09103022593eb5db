"""Plausible wrong implementations, and the table of which registered check catches which, in which dtype.

Each `Mistake` replaces one library function, as the checks see it (in softmax_lib.checks.cases,
derivatives and scale), by a plausible wrong version. `mistake_table` runs every registered case that uses that function
(registry.Case.uses) in every dtype and records whether it failed. A cell where the mistake cannot be
seen (it is below the dtype's resolution, or the case's answer is the same for the wrong function)
is marked with the reason, given by the mistake's `excused` rules; every other cell must fail.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from array_api_compat import array_namespace

from .. import _cross_entropy, _softmax
from . import cases, derivatives, scale
from .registry import CASES
from .tolerance import DTYPES, machine_epsilon

_output_layer_grad = cases.output_layer_grad  # the correct one, kept before any is planted

__all__ = ["Mistake", "MISTAKES", "Cell", "mistake_table", "format_mistake_table"]


@dataclass(frozen=True)
class Mistake:
    """A wrong version `wrong` of the library function `function`; `excused` holds (case substring, dtype or
    "*", reason) for the cells where the mistake is invisible."""

    name: str
    function: str
    wrong: Callable
    excused: tuple[tuple[str, str, str], ...] = ()

    def excuse(self, case: str, dtype: str) -> str:
        for pattern, where, reason in self.excused:
            if pattern in case and where in ("*", dtype):
                return reason
        return ""


def _uniform(z, axis=-1):
    xp = array_namespace(z)
    return xp.ones_like(z) / z.shape[axis]


def _hot(z, axis=-1):
    return _softmax.softmax(z / 1.3, axis)


def _unshifted(z, axis=-1):
    xp = array_namespace(z)
    e = xp.exp(z)
    return e / xp.sum(e, axis=axis, keepdims=True)


def _single_precision(z, axis=-1):
    xp = array_namespace(z)
    return xp.astype(_softmax.softmax(xp.astype(z, xp.float32), axis), z.dtype)


def _one_ulp_high(z, axis=-1):
    p = _softmax.softmax(z, axis)
    return p * (1 + machine_epsilon(p.dtype))  # rounds to the next float up: one ulp of bias


def _log_of_softmax(z, axis=-1):
    xp = array_namespace(z)
    return xp.log(_softmax.softmax(z, axis))


def _diagonal_only(z, axis=-1):
    jacobian = _softmax.softmax_jacobian(z, axis)
    xp = array_namespace(jacobian)
    k = jacobian.shape[-1]
    return jacobian * xp.astype(xp.eye(k, device=_device(jacobian)), jacobian.dtype)


def _device(x):
    from array_api_compat import device

    return device(x)


def _zero_jacobian(z, axis=-1):
    xp = array_namespace(z)
    return xp.zeros_like(_softmax.softmax_jacobian(z, axis))


def _without_outer_product(z, axis=-1):
    p = _softmax.softmax(z, axis)
    xp = array_namespace(p)
    k = p.shape[-1]
    return p[..., :, None] * xp.astype(xp.eye(k, device=_device(p)), p.dtype)


def _transposed_jacobian(z, axis=-1):
    jacobian = _softmax.softmax_jacobian(z, axis)
    return jacobian.T if jacobian.ndim == 2 else jacobian


def _vjp_without_mean(z, v, axis=-1):
    return _softmax.softmax(z, axis) * v


def _loss_without_minus(logits, target, axis=-1, reduction="mean"):
    return -_cross_entropy.cross_entropy(logits, target, axis, reduction)


def _sign_flipped(logits, target, axis=-1, reduction="mean"):
    return -_cross_entropy.cross_entropy_grad(logits, target, axis, reduction)


def _n_rows(logits, axis):
    return logits.shape[axis] and (_size(logits) // logits.shape[axis])


def _size(x):
    n = 1
    for s in x.shape:
        n *= s
    return n


def _no_mean(logits, target, axis=-1, reduction="mean"):
    return _cross_entropy.cross_entropy_grad(logits, target, axis, "sum" if reduction == "mean" else reduction)


def _extra_mean(logits, target, axis=-1, reduction="mean"):
    return _cross_entropy.cross_entropy_grad(logits, target, axis, reduction) / _n_rows(logits, axis)


def _classes_for_rows(logits, target, axis=-1, reduction="mean"):
    if reduction != "mean":
        return _cross_entropy.cross_entropy_grad(logits, target, axis, reduction)
    return _cross_entropy.cross_entropy_grad(logits, target, axis, "sum") / logits.shape[axis]


def _transposed_weight_grad(weights, bias, activations, target):
    grad_w, grad_b = _output_layer_grad(weights, bias, activations, target)
    xp = array_namespace(grad_w)
    return xp.reshape(grad_w.T, grad_w.shape), grad_b


_MEAN_ONLY = "the sum and none reductions have no 1/N"
_SAME_ANSWER = "the answer is 1/K, which the wrong formula gives too"
_FLOAT32 = "the dtype is float32 or narrower: the arithmetic is already float32 (half precision is computed in float32)"
_IN_BOUND = "one ulp is inside the first-order bound, which allows several; only a claim of exactness can see it"
_SMALL_LOGITS = "logits below 11: exp(z) overflows in no dtype without the shift (float16 overflows at 11.09)"
_NO_UNDERFLOW = "no p underflows on these logits: log(softmax) is as accurate as log_softmax"

MISTAKES = (
    Mistake("uniform output 1/K", "softmax", _uniform, (("exact uniform", "*", _SAME_ANSWER),)),
    Mistake("temperature off by 30 %", "softmax", _hot, (("exact uniform", "*", _SAME_ANSWER),)),
    Mistake(
        "no max-shift",
        "softmax",
        _unshifted,
        (("exact uniform", "*", "exp(2.5) does not overflow"), ("against the 50-digit reference", "*", _SMALL_LOGITS)),
    ),
    Mistake(
        "float32 arithmetic where float64 is promised",
        "softmax",
        _single_precision,
        (
            ("", "float32", _FLOAT32),
            ("", "float16", _FLOAT32),
            ("", "bfloat16", _FLOAT32),
            ("exact uniform", "*", "1/8 is exact in float32 too"),
        ),
    ),
    Mistake(
        "one-ulp bias where the claim is exact", "softmax", _one_ulp_high, (("50-digit reference", "*", _IN_BOUND),)
    ),
    Mistake(
        "log(softmax) instead of log_softmax",
        "log_softmax",
        _log_of_softmax,
        (("against the 50-digit reference", "*", _NO_UNDERFLOW),),
    ),
    Mistake("diagonal-only Jacobian", "softmax_jacobian", _diagonal_only),
    Mistake("zero Jacobian", "softmax_jacobian", _zero_jacobian),
    Mistake("p pᵀ dropped: J = diag(p)", "softmax_jacobian", _without_outer_product),
    Mistake(
        "transposed Jacobian",
        "softmax_jacobian",
        _transposed_jacobian,
        (("", "*", "J = diag(p) − p pᵀ is symmetric: Jᵀ is the same matrix"),),
    ),
    Mistake("VJP without ⟨p, v⟩: p ⊙ v", "softmax_vjp", _vjp_without_mean),
    Mistake("loss without its minus sign: Σ y log p", "cross_entropy", _loss_without_minus),
    Mistake("wrong sign: y − p", "cross_entropy_grad", _sign_flipped),
    Mistake(
        "missing 1/N",
        "cross_entropy_grad",
        _no_mean,
        ((", sum", "*", _MEAN_ONLY), (", none", "*", _MEAN_ONLY), ("50-digit", "*", "checks the sum reduction")),
    ),
    Mistake("extra 1/N", "cross_entropy_grad", _extra_mean),
    Mistake(
        "1/K instead of 1/N",
        "cross_entropy_grad",
        _classes_for_rows,
        ((", sum", "*", _MEAN_ONLY), (", none", "*", _MEAN_ONLY), ("50-digit", "*", "checks the sum reduction")),
    ),
    Mistake("transposed weight gradient", "output_layer_grad", _transposed_weight_grad),
)


@dataclass(frozen=True)
class Cell:
    """One (mistake, case, dtype): whether the case failed, and the reason it may pass ("" if it must fail)."""

    mistake: str
    case: str
    dtype: str
    failed: bool
    excuse: str

    @property
    def as_expected(self) -> bool:
        return self.failed or bool(self.excuse)


@contextmanager
def planted(mistake: Mistake) -> Iterator[None]:
    """The checks see `mistake.wrong` in place of the library function while the block runs."""
    # Every check module that calls the function by name sees the wrong one.
    modules = [module for module in (cases, derivatives, scale) if hasattr(module, mistake.function)]
    correct = [getattr(module, mistake.function) for module in modules]
    for module in modules:
        setattr(module, mistake.function, mistake.wrong)
    try:
        yield
    finally:
        for module, function in zip(modules, correct):
            setattr(module, mistake.function, function)


def _failed(run: Callable, dtype: str, device: Any) -> bool:
    try:
        return not all(result.passed for result in run(dtype, device))
    except Exception:  # noqa: BLE001 - a wrong shape or dtype that makes the check raise is caught too
        return True


def mistake_table(
    dtypes: tuple[str, ...] = DTYPES, mistakes: tuple[Mistake, ...] = MISTAKES, device: Any = None
) -> list[Cell]:
    """Every mistake through every registered case that uses its function, in every dtype.

    NumPy dtypes run on NumPy (`device` None) and bfloat16 on torch (`device`, default the CPU).
    """
    cells = []
    for mistake in mistakes:
        # the wrong functions overflow and divide by zero on purpose: no warnings
        with planted(mistake), np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for case in CASES:
                if mistake.function not in case.uses:
                    continue
                for dtype in dtypes:
                    where = (device or "cpu") if dtype == "bfloat16" else device
                    cells.append(
                        Cell(
                            mistake.name,
                            case.name,
                            dtype,
                            _failed(case.run, dtype, where),
                            mistake.excuse(case.name, dtype),
                        )
                    )
    return cells


def format_mistake_table(cells: list[Cell], dtypes: tuple[str, ...] = DTYPES) -> str:
    """One line per (mistake, case): "caught", "—" (excused, reason footnoted) or "MISSED" per dtype."""
    reasons: list[str] = []
    rows = {}
    for cell in cells:
        if cell.failed:
            mark = "caught"
        elif cell.excuse:
            if cell.excuse not in reasons:
                reasons.append(cell.excuse)
            mark = f"— ({reasons.index(cell.excuse) + 1})"
        else:
            mark = "MISSED"
        rows.setdefault((cell.mistake, cell.case), {})[cell.dtype] = mark
    header = ("mistake", "check", *dtypes)
    lines = [(m, c, *(marks.get(d, "") for d in dtypes)) for (m, c), marks in rows.items()]
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(len(header))]
    fmt = lambda cells_: "  ".join(c.ljust(w) for c, w in zip(cells_, widths)).rstrip()  # noqa: E731
    notes = [f"({i}) {reason}" for i, reason in enumerate(reasons, start=1)]
    return "\n".join([fmt(header), fmt(["-" * w for w in widths]), *map(fmt, lines), "", *notes])
