"""The registry of checks that `python -m softmax_lib.verify`, the mistake table and the tests run.

A case is registered once, with its data drawn from one fixed seed, the library functions whose
results it checks (`uses`: a wrong version of any of them must make the case fail), and
`run(dtype, device)`. Adding a check to the verify matrix means adding one `register` here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from . import cases, derivatives, scale
from .oracles import softmax64
from .tolerance import CheckResult

__all__ = ["SEED", "Case", "CASES", "register", "case_names"]

SEED = 20261121


@dataclass(frozen=True)
class Case:
    """One row group of the verify matrix: `run(dtype, device)` returns its CheckResults.

    Parameters
    ----------
    name : str
        The row group's name in the verify table.
    run : callable
        run(dtype, device) -> list of CheckResult.
    uses : tuple of str
        The library functions whose results the case checks.

    Examples
    --------
    >>> case = next(c for c in CASES if c.name == "exact uniform softmax")
    >>> case.uses, [r.passed for r in case.run("float32", None)]
    (('softmax',), [True])
    """

    name: str
    run: Callable[[str, Any], list[CheckResult]]
    uses: tuple[str, ...]


CASES: list[Case] = []


def register(name: str, uses: tuple[str, ...]) -> Callable:
    """Decorator: add `run(dtype, device)` to CASES under `name`, checking the library functions `uses`.

    Parameters
    ----------
    name : str
        A name not registered yet.
    uses : tuple of str
        The library functions whose results the case checks.

    Returns
    -------
    callable
        The decorator; it returns `run` unchanged.

    Examples
    --------
    >>> run = register("a demonstration", ("softmax",))(lambda dtype, device: [])
    >>> CASES[-1].name, CASES[-1].uses
    ('a demonstration', ('softmax',))
    >>> _ = CASES.pop()  # the verify matrix as it was
    """
    if name in case_names():
        raise ValueError(f"a case named {name!r} is already registered")

    def add(run: Callable[[str, Any], list[CheckResult]]) -> Callable:
        CASES.append(Case(name, run, tuple(uses)))
        return run

    return add


def case_names() -> list[str]:
    return [case.name for case in CASES]


_rng = np.random.default_rng(SEED)
Z_VECTOR = _rng.normal(scale=2.0, size=6)
Z_BATCH, V_BATCH = _rng.normal(size=(5, 3)), _rng.normal(size=(5, 3))
LOGITS = _rng.normal(scale=3.0, size=(6, 4))
CLASS_TARGETS = _rng.integers(0, 4, size=6)
PROBABILITY_TARGETS = softmax64(_rng.normal(size=(6, 4)))
SPATIAL_LOGITS, SPATIAL_TARGETS = _rng.normal(size=(3, 4, 2)), _rng.integers(0, 4, size=(3, 2))
HESSIAN_Z, HESSIAN_CLASS, HESSIAN_PROBABILITIES = _rng.normal(size=5), np.array(2), softmax64(_rng.normal(size=5))
LAYER = (_rng.normal(size=(6, 5)), _rng.normal(size=(4, 5)), _rng.normal(size=4), _rng.integers(0, 4, size=6))
WIDE_LOGITS, WIDE_TARGETS = _rng.normal(scale=3.0, size=(8, 10)), _rng.integers(0, 10, size=8)
# Logits near 1000 (exp overflows in every dtype) spread over 800 (the smallest p underflow even in
# float64): an unshifted softmax overflows, log(softmax) gives −inf where log_softmax is finite.
LARGE_LOGITS = 1000.0 - np.stack([np.linspace(0.0, 800.0, 10), np.linspace(0.0, 20.0, 10)[::-1]])
LARGE_TARGETS = np.array([0, 3])

register("softmax Jacobian", ("softmax_jacobian", "softmax_vjp"))(
    lambda dt, dev: derivatives.check_softmax_jacobian(Z_VECTOR, dt, dev)
)
register("softmax VJP", ("softmax_vjp",))(lambda dt, dev: derivatives.check_softmax_vjp(Z_BATCH, V_BATCH, 0, dt, dev))
for _kind, _target in (("index", CLASS_TARGETS), ("probability", PROBABILITY_TARGETS)):
    for _reduction in ("mean", "sum", "none"):
        register(f"p − y, {_kind} target, {_reduction}", ("cross_entropy", "cross_entropy_grad"))(
            lambda dt, dev, t=_target, r=_reduction: cases.check_cross_entropy(LOGITS, t, -1, r, dt, dev)
        )


@register("p − y, classes on axis 1", ("cross_entropy", "cross_entropy_grad"))
def _classes_on_axis_1(dtype, device):
    return [
        replace(r, name=f"{r.name}, classes on axis 1")
        for r in cases.check_cross_entropy(SPATIAL_LOGITS, SPATIAL_TARGETS, 1, "mean", dtype, device)
    ]


register("loss Hessian, index target", ("softmax_jacobian",))(
    lambda dt, dev: derivatives.check_loss_hessian(HESSIAN_Z, HESSIAN_CLASS, dt, dev)
)
register("loss Hessian, probability target", ("softmax_jacobian",))(
    lambda dt, dev: derivatives.check_loss_hessian(HESSIAN_Z, HESSIAN_PROBABILITIES, dt, dev)
)
register("output-layer gradients", ("output_layer_grad", "cross_entropy_grad"))(
    lambda dt, dev: cases.check_output_layer_gradients(*LAYER, dt, dev)
)
register("against the 50-digit reference", ("softmax", "log_softmax", "cross_entropy_grad"))(
    lambda dt, dev: cases.check_against_float64(WIDE_LOGITS, WIDE_TARGETS, dt, dev)
)


@register("large logits against the 50-digit reference", ("softmax", "log_softmax", "cross_entropy_grad"))
def _large_logits(dtype, device):
    return [
        replace(r, name=f"{r.name}, logits near 1000")
        for r in cases.check_against_float64(LARGE_LOGITS, LARGE_TARGETS, dtype, device)
    ]


register("exact uniform softmax", ("softmax",))(lambda dt, dev: cases.check_exact_uniform(8, dt, dev))

# The loss options of language-model training: class weights, an ignored row, label smoothing and z-loss.
OPTIONS_LOGITS, OPTIONS_TARGETS = _rng.normal(scale=3.0, size=(6, 5)), np.array([0, 4, -100, 2, 1, 3])
OPTIONS_WEIGHT = _rng.uniform(0.5, 2.0, size=5)
register("loss options: weights, ignored row, smoothing, z-loss", ("cross_entropy", "cross_entropy_grad"))(
    lambda dt, dev: scale.check_loss_options(
        OPTIONS_LOGITS,
        OPTIONS_TARGETS,
        "mean",
        weight=OPTIONS_WEIGHT,
        label_smoothing=0.1,
        z_loss=1e-2,
        dtype=dt,
        device=dev,
    )
)
