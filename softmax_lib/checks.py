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


# --- output layer, sparsemax and hierarchical softmax (chapters "Into the output layer" and "Variants") ---


def output_layer_grad(
    weights: ArrayLike, bias: ArrayLike, activations: ArrayLike, target: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """∂C/∂W = (P − Y)ᵀ A / N and ∂C/∂b = Σ_n (p_n − y_n) / N for C = mean cross-entropy of softmax(A Wᵀ + b).

    Per row, ∂C/∂b_j = p_j − y_j and ∂C/∂W_jk = a_k (p_j − y_j); `cross_entropy_grad` supplies p − y.
    """
    weights, bias, activations = (np.asarray(x, dtype=np.float64) for x in (weights, bias, activations))
    delta = cross_entropy_grad(activations @ weights.T + bias, target, reduction="mean")
    return delta.T @ activations, np.sum(delta, axis=0)


def torch_output_layer_grad(
    weights: ArrayLike, bias: ArrayLike, activations: ArrayLike, target: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The same two gradients by torch autograd through nn.functional.linear and cross_entropy."""
    import torch

    w_t = _to_torch(np.asarray(weights, dtype=np.float64)).requires_grad_(True)
    b_t = _to_torch(np.asarray(bias, dtype=np.float64)).requires_grad_(True)
    a_t = _to_torch(np.asarray(activations, dtype=np.float64))
    loss = torch.nn.functional.cross_entropy(torch.nn.functional.linear(a_t, w_t, b_t), _to_torch(np.asarray(target)))
    loss.backward()
    return w_t.grad.cpu().numpy(), b_t.grad.cpu().numpy()


def check_output_layer_gradient(
    weights: ArrayLike, bias: ArrayLike, activations: ArrayLike, target: ArrayLike
) -> list[CheckResult]:
    """`output_layer_grad` against torch autograd (float64, rounding of the N·K-term sums)."""
    weights = np.asarray(weights, dtype=np.float64)
    activations = np.asarray(activations, dtype=np.float64)
    ours_w, ours_b = output_layer_grad(weights, bias, activations, target)
    ref_w, ref_b = torch_output_layer_grad(weights, bias, activations, target)
    tolerance = rounding_tolerance(np.float64, activations.shape[0] * (weights.shape[0] + weights.shape[1]))
    return [
        compare("∂C/∂W = (p − y) aᵀ vs torch autograd", ours_w, ref_w, tolerance),
        compare("∂C/∂b = p − y vs torch autograd", ours_b, ref_b, tolerance),
    ]


def check_sparsemax_jacobian(z: ArrayLike) -> list[CheckResult]:
    """sparsemax_jacobian(z) against central differences of sparsemax, z of shape (K,), float64.

    Valid away from the kinks: every |z_i − τ| must exceed the difference step, which the check asserts.
    """
    from ._variants import sparsemax, sparsemax_jacobian

    z = np.asarray(z, dtype=np.float64)
    p = sparsemax(z)
    tau = float(np.max(z[p > 0] - p[p > 0]))
    step = np.finfo(np.float64).eps ** (1 / 3) * max(1.0, float(np.max(np.abs(z))))
    if np.min(np.abs(z - tau)) <= 2 * step:
        raise ValueError(f"z has an entry within {2 * step:.1e} of the threshold τ = {tau}: sparsemax has a kink there")
    return [
        compare(
            "sparsemax_jacobian vs central differences",
            sparsemax_jacobian(z),
            central_difference_jacobian(sparsemax, z),
            finite_difference_tolerance(z.dtype),
        )
    ]


def torch_hierarchical_softmax_log_prob_with_grad(
    node_scores: ArrayLike, target: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """log p(target) per row by torch (logsigmoid summed along each path), and the gradient of
    −Σ_rows log p by autograd. `node_scores` has shape (N, K − 1), `target` shape (N,)."""
    import torch

    from ._variants import hierarchical_softmax_paths

    node_scores = np.asarray(node_scores, dtype=np.float64)
    s_t = _to_torch(node_scores).requires_grad_(True)
    paths = hierarchical_softmax_paths(node_scores.shape[-1] + 1)
    rows = []
    for n, c in enumerate(np.asarray(target)):
        nodes, signs = paths[int(c)]
        # The tree's arrays are shared and read-only; torch wants writable memory.
        rows.append(torch.nn.functional.logsigmoid(_to_torch(signs.copy()) * s_t[n, _to_torch(nodes.copy())]).sum())
    log_prob = torch.stack(rows)
    (-log_prob.sum()).backward()
    return log_prob.detach().cpu().numpy(), s_t.grad.cpu().numpy()


def check_hierarchical_softmax(node_scores: ArrayLike, target: ArrayLike) -> list[CheckResult]:
    """hierarchical_softmax_log_prob and _grad against torch autograd and central differences, float64."""
    from ._variants import hierarchical_softmax_grad, hierarchical_softmax_log_prob

    node_scores = np.asarray(node_scores, dtype=np.float64)
    target = np.asarray(target)
    ref_log_prob, ref_grad = torch_hierarchical_softmax_log_prob_with_grad(node_scores, target)
    grad = hierarchical_softmax_grad(node_scores, target)
    depth = int(np.ceil(np.log2(node_scores.shape[-1] + 1)))
    total = lambda s: -np.sum(hierarchical_softmax_log_prob(s, target))  # noqa: E731
    return [
        compare("hierarchical log p vs torch", hierarchical_softmax_log_prob(node_scores, target), ref_log_prob,
                rounding_tolerance(np.float64, depth)),
        compare("hierarchical gradient vs torch autograd", grad, ref_grad, rounding_tolerance(np.float64, depth)),
        compare("hierarchical gradient vs central differences", grad, central_difference_jacobian(total, node_scores),
                finite_difference_tolerance(np.float64)),
    ]
