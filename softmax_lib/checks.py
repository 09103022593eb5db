"""Numerical checks shared by the book's chapters and the unit tests.

Each check compares softmax_lib with an independent reference (PyTorch autograd, central finite
differences) and returns a `CheckResult`; callers `assert result.passed`. The tolerances are
derived from the dtype's machine epsilon, never picked to make a number pass.

PyTorch is imported only here, and only when a torch reference is asked for.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._cross_entropy import cross_entropy, cross_entropy_grad
from ._softmax import softmax, softmax_jacobian, softmax_vjp

DEVICE_VARIABLE = "SOFTMAX_LIB_DEVICE"


def torch_device():
    """The torch device to check on: CUDA when torch sees one, else the CPU.

    The environment variable SOFTMAX_LIB_DEVICE=cpu or =cuda forces either.
    """
    import torch

    wanted = os.environ.get(DEVICE_VARIABLE, "").strip().lower()
    if wanted not in ("", "auto", "cpu", "cuda"):
        raise ValueError(f"{DEVICE_VARIABLE} must be cpu, cuda or auto, got {wanted!r}")
    if wanted == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"{DEVICE_VARIABLE}=cuda, but torch sees no CUDA device")
    if wanted == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    return torch.device("cuda")


def rounding_tolerance(dtype: np.dtype | type, n_terms: int) -> float:
    """Allowed difference between two correct evaluations that each round n_terms operations: 10·n·ε."""
    return 10 * max(n_terms, 1) * float(np.finfo(dtype).eps)


def finite_difference_tolerance(dtype: np.dtype | type) -> float:
    """Allowed error of a central difference with step ε^(1/3): truncation h² plus rounding ε/h,
    both of order ε^(2/3), times a safety factor of 100 for derivatives of size up to ~10."""
    return 100 * float(np.finfo(dtype).eps) ** (2 / 3)


def central_difference_jacobian(
    f: Callable[[NDArray[np.float64]], ArrayLike], x: ArrayLike
) -> NDArray[np.float64]:
    """∂f/∂x by central differences (f(x + h e_j) − f(x − h e_j)) / 2h, shape f(x).shape + x.shape.

    h = ε^(1/3)·max(1, |x_j|) balances truncation error (∝ h²) against rounding error (∝ ε/h).
    """
    x = np.asarray(x, dtype=np.float64)
    out_shape = np.shape(f(x))
    jac = np.empty(out_shape + (x.size,))
    flat = x.ravel()
    for j in range(flat.size):
        h = np.finfo(np.float64).eps ** (1 / 3) * max(1.0, abs(flat[j]))
        up, down = flat.copy(), flat.copy()
        up[j] += h
        down[j] -= h
        diff = np.asarray(f(up.reshape(x.shape))) - np.asarray(f(down.reshape(x.shape)))
        jac[..., j] = diff / (up[j] - down[j])
    return jac.reshape(out_shape + x.shape)


@dataclass(frozen=True)
class CheckResult:
    """One comparison: the largest error found and the tolerance it must not exceed."""

    name: str
    max_error: float
    tolerance: float

    @property
    def passed(self) -> bool:
        return bool(self.max_error <= self.tolerance)  # NaN compares False: a NaN fails

    def __str__(self) -> str:
        # The error itself differs between CPU and CUDA runs; what is stable is the verdict.
        verdict = "passed" if self.passed else f"FAILED (max error {self.max_error:.3e})"
        return f"{self.name}: {verdict} (tolerance {self.tolerance:.1e})"


def compare(name: str, actual: ArrayLike, expected: ArrayLike, tolerance: float) -> CheckResult:
    """Max of |actual − expected| / max(1, |expected|): absolute error for values up to 1, relative above."""
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    if actual.shape != expected.shape:
        raise ValueError(f"{name}: shape {actual.shape} differs from the reference's {expected.shape}")
    scaled = np.abs(actual - expected) / np.maximum(1.0, np.abs(expected))
    return CheckResult(name, float(np.max(scaled, initial=0.0)), tolerance)


def _to_torch(x: np.ndarray, device=None):
    import torch

    return torch.as_tensor(np.ascontiguousarray(x), device=device or torch_device())


def torch_softmax_jacobian(z: ArrayLike) -> NDArray[np.float64]:
    """∂softmax(z)/∂z by torch autograd, for one logit vector z of shape (K,)."""
    import torch

    z_t = _to_torch(np.asarray(z, dtype=np.float64))
    jac = torch.autograd.functional.jacobian(lambda t: torch.softmax(t, dim=-1), z_t)
    return jac.cpu().numpy()


def torch_cross_entropy_with_grad(
    logits: ArrayLike, target: ArrayLike, axis: int = -1, reduction: str = "mean"
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """torch.nn.functional.cross_entropy and, by autograd, the gradient of its sum over the output.

    Classes on `axis` are moved to dim 1, where torch expects them; a single row of shape (K,)
    is given a batch axis of length 1 (torch 2.13's backward rejects an unbatched input).
    """
    import torch

    logits = np.asarray(logits, dtype=np.float64)
    target = np.asarray(target)
    single_row = logits.ndim == 1
    if single_row:
        logits, target, axis = logits[None], target[None], 1
    axis = axis % logits.ndim
    is_probability = target.shape == logits.shape
    z_t = _to_torch(np.moveaxis(logits, axis, 1)).requires_grad_(True)
    target_t = _to_torch(np.moveaxis(target, axis, 1) if is_probability else target)
    loss = torch.nn.functional.cross_entropy(z_t, target_t, reduction=reduction)
    loss.sum().backward()
    loss = loss.detach().cpu().numpy()
    grad = np.moveaxis(z_t.grad.cpu().numpy(), 1, axis)
    if single_row:
        loss, grad = (loss[0] if reduction == "none" else loss), grad[0]
    return loss, grad


def check_softmax_jacobian(z: ArrayLike) -> list[CheckResult]:
    """softmax_jacobian(z) against torch autograd and central differences, z of shape (K,), float64."""
    z = np.asarray(z, dtype=np.float64)
    ours = softmax_jacobian(z)
    k = z.shape[-1]
    return [
        compare("softmax_jacobian vs torch autograd", ours, torch_softmax_jacobian(z), rounding_tolerance(z.dtype, k)),
        compare(
            "softmax_jacobian vs central differences",
            ours,
            central_difference_jacobian(softmax, z),
            finite_difference_tolerance(z.dtype),
        ),
        compare(
            "softmax_vjp vs explicit Jᵀv",
            softmax_vjp(z, np.arange(k, dtype=np.float64)),
            ours.T @ np.arange(k, dtype=np.float64),
            rounding_tolerance(z.dtype, k),
        ),
    ]


def check_cross_entropy(logits: ArrayLike, target: ArrayLike, axis: int = -1, reduction: str = "mean") -> list[CheckResult]:
    """cross_entropy and cross_entropy_grad against torch, and the gradient against central differences."""
    logits = np.asarray(logits, dtype=np.float64)
    target = np.asarray(target)
    k = logits.shape[axis]
    loss_ref, grad_ref = torch_cross_entropy_with_grad(logits, target, axis, reduction)
    grad = cross_entropy_grad(logits, target, axis, reduction)
    total = lambda z: np.sum(cross_entropy(z, target, axis, reduction))  # noqa: E731
    label = f"{'index' if np.issubdtype(target.dtype, np.integer) else 'probability'} target, {reduction}"
    return [
        compare(f"cross_entropy vs torch ({label})", cross_entropy(logits, target, axis, reduction), loss_ref,
                rounding_tolerance(logits.dtype, logits.size)),
        compare(f"cross_entropy_grad vs torch autograd ({label})", grad, grad_ref, rounding_tolerance(logits.dtype, k)),
        compare(f"cross_entropy_grad vs central differences ({label})", grad,
                central_difference_jacobian(total, logits), finite_difference_tolerance(logits.dtype)),
    ]


# --- accuracy against a high-precision reference (issue 6) -----------------------------------

STRESS_FAMILIES = ("normal", "large spread", "all equal", "one dominant", "huge +1e4", "near overflow", "tiny probabilities")


def unit_roundoff(dtype: np.dtype | type) -> float:
    """u = ε/2: the largest relative error of one correctly rounded operation."""
    return float(np.finfo(dtype).eps) / 2


def stress_logits(family: str, dtype: np.dtype | type, n_classes: int, n_rows: int, seed: int = 0) -> np.ndarray:
    """(n_rows, n_classes) logits of `dtype` from one of STRESS_FAMILIES, inputs that stress softmax formulas.

    normal: N(0, 3²). large spread: uniform on [−5000, 5000] (max − min up to 1e4). all equal: 3.
    one dominant: N(0, 1) plus one logit larger by −log u + 4, so every other p_k is below u.
    huge +1e4: 1e4 + N(0, 3²), exp overflows in every dtype. near overflow: half the dtype's largest
    number plus a few of its ulps. tiny probabilities: a ramp from 0 down to 95 % of log(smallest normal).
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
    infinite result where the reference is finite counts as an infinite error."""
    actual = np.asarray(actual, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    keep = np.isfinite(reference) & (np.abs(reference) >= float(np.finfo(dtype).tiny))
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.abs(actual[keep] - reference[keep]) / np.abs(reference[keep]) / unit_roundoff(dtype)
    return np.where(np.isfinite(err), err, np.inf)


def shifted_softmax_bound_units(z: ArrayLike, axis: int = -1) -> NDArray[np.float64]:
    """First-order bound, in units of u, on the relative error of p_i = exp(z_i − m) / Σ_k exp(z_k − m):
    |z_i − m| + K + 2 (the rounding of z_i − m is amplified by exp; exp, the K − 1 additions and the
    division add one u each), the shape of Blanchard, Higham & Higham's bound for the shifted formula."""
    z = np.asarray(z, dtype=np.float64)
    return np.abs(z - np.max(z, axis=axis, keepdims=True)) + z.shape[axis] + 2


def shifted_logsumexp_bound_units(reference: ArrayLike, n_classes: int) -> NDArray[np.float64]:
    """First-order bound, in units of u, on the relative error of y = m + log Σ_k exp(z_k − m):
    1 + (K + 1 + log K) / |y| (an absolute error of (K + 1 + log K) u in log Σ, one rounding of y)."""
    y = np.abs(np.asarray(reference, dtype=np.float64))
    with np.errstate(divide="ignore"):
        return 1 + (n_classes + 1 + np.log(n_classes)) / y


def shifted_log_softmax_bound_units(z: ArrayLike, reference: ArrayLike, axis: int = -1) -> NDArray[np.float64]:
    """First-order bound, in units of u, on the relative error of log p_i = (z_i − m) − log Σ_k exp(z_k − m):
    1 + (|z_i − m| + K + 1 + log K) / |log p_i|."""
    z = np.asarray(z, dtype=np.float64)
    k = z.shape[axis]
    y = np.abs(np.asarray(reference, dtype=np.float64))
    with np.errstate(divide="ignore"):
        return 1 + (np.abs(z - np.max(z, axis=axis, keepdims=True)) + k + 1 + np.log(k)) / y


def check_cross_entropy_with_grad(
    logits: ArrayLike, target: ArrayLike, axis: int = -1, reduction: str = "mean"
) -> list[CheckResult]:
    """The fused cross_entropy_with_grad against cross_entropy / cross_entropy_grad and against torch autograd."""
    from ._fused import cross_entropy_with_grad

    logits = np.asarray(logits, dtype=np.float64)
    target = np.asarray(target)
    k = logits.shape[axis]
    loss, grad = cross_entropy_with_grad(logits, target, axis, reduction)
    loss_ref, grad_ref = torch_cross_entropy_with_grad(logits, target, axis, reduction)
    label = f"{'index' if np.issubdtype(target.dtype, np.integer) else 'probability'} target, {reduction}"
    loss_tol = rounding_tolerance(logits.dtype, logits.size)
    return [
        compare(f"fused loss vs cross_entropy ({label})", loss, cross_entropy(logits, target, axis, reduction), loss_tol),
        compare(f"fused grad vs cross_entropy_grad ({label})", grad, cross_entropy_grad(logits, target, axis, reduction),
                rounding_tolerance(logits.dtype, k)),
        compare(f"fused loss vs torch ({label})", loss, loss_ref, loss_tol),
        compare(f"fused grad vs torch autograd ({label})", grad, grad_ref, rounding_tolerance(logits.dtype, k)),
    ]
