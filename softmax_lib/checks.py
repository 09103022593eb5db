"""Numerical checks shared by the book's chapters, the unit tests and `python -m softmax_lib.verify`.

Each check compares softmax_lib with an independent reference (PyTorch autograd, central finite
differences) and returns a `CheckResult`; callers `assert result.passed`. The tolerances are
derived from the dtype's machine epsilon, never picked to make a number pass.

The checks take float64 NumPy data, round it to `dtype` and run softmax_lib on NumPy
(`device=None`, as the chapters do) or on a torch tensor on `device` (the unit tests and the
verify command); torch's reference runs in the same dtype. PyTorch is imported only here, and
only when a torch reference or a torch device is asked for.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from array_api_compat import array_namespace, device as array_device
from numpy.typing import ArrayLike, NDArray

from ._cross_entropy import cross_entropy, cross_entropy_grad
from ._softmax import log_softmax, softmax, softmax_jacobian, softmax_vjp

# Every dtype the checks run in; NumPy has no bfloat16, so that one always runs on torch.
DTYPES = ("float64", "float32", "float16", "bfloat16")
NUMPY_DTYPES = ("float64", "float32", "float16")

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


def dtype_name(dtype: Any) -> str:
    """"float32" for np.float32, np.dtype("float32"), torch.float32 or "float32"."""
    if isinstance(dtype, str):
        return dtype
    if type(dtype).__module__ == "torch":
        return str(dtype).removeprefix("torch.")
    return np.dtype(dtype).name


def machine_epsilon(dtype: Any) -> float:
    """ε = 2^(1−t) for a format with t significand bits; the unit roundoff is u = ε/2."""
    name = dtype_name(dtype)
    if name == "bfloat16":  # 8 significand bits; not a NumPy dtype
        return 2.0**-7
    return float(np.finfo(name).eps)


def unit_roundoff(dtype: Any) -> float:
    """u = ε/2: the largest relative error of one correctly rounded operation in `dtype`."""
    return machine_epsilon(dtype) / 2


def rounding_tolerance(dtype: Any, n_terms: int) -> float:
    """Allowed difference between two correct evaluations that each round n_terms operations: 10·n·ε."""
    return 10 * max(n_terms, 1) * machine_epsilon(dtype)


def finite_difference_tolerance(dtype: Any) -> float:
    """Allowed error of a central difference with step ε^(1/3): truncation h² plus rounding ε/h,
    both of order ε^(2/3), times a safety factor of 100 for derivatives of size up to ~10."""
    return 100 * machine_epsilon(dtype) ** (2 / 3)


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


def assert_passed(results: CheckResult | list[CheckResult]) -> None:
    """Raise AssertionError with the first failed check's line: the verdict of a test or a chapter."""
    for result in results if isinstance(results, list) else [results]:
        assert result.passed, str(result)


def _is_tensor(x: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def compare(name: str, actual: Any, expected: Any, tolerance: float) -> CheckResult:
    """Max of |actual − expected| / max(1, |expected|): absolute error for values up to 1, relative above.

    Both sides are widened to float64; where either is a torch tensor the error is computed on
    that tensor's device and only the maximum comes to the host.
    """
    if _is_tensor(actual) or _is_tensor(expected):
        import torch

        on = actual.device if _is_tensor(actual) else expected.device
        actual, expected = (
            torch.as_tensor(x if _is_tensor(x) else np.asarray(x), device=on).to(torch.float64)
            for x in (actual, expected)
        )
        if actual.shape != expected.shape:
            raise ValueError(f"{name}: shape {tuple(actual.shape)} differs from the reference's {tuple(expected.shape)}")
        scaled = (actual - expected).abs() / expected.abs().clamp(min=1.0)
        return CheckResult(name, float(scaled.max()) if scaled.numel() else 0.0, tolerance)
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    if actual.shape != expected.shape:
        raise ValueError(f"{name}: shape {actual.shape} differs from the reference's {expected.shape}")
    scaled = np.abs(actual - expected) / np.maximum(1.0, np.abs(expected))
    return CheckResult(name, float(np.max(scaled, initial=0.0)), tolerance)


def torch_dtype(dtype: Any):
    """The torch dtype of that name: torch.bfloat16 for "bfloat16", np.float32 or torch.float32."""
    import torch

    return getattr(torch, dtype_name(dtype))


def checked_array(x: ArrayLike, dtype: Any = "float64", device: Any = None) -> tuple[Any, np.ndarray]:
    """`x` as the array a check runs softmax_lib on, and the same values as NumPy for the float64 references.

    Floating data is rounded to `dtype` (its NumPy copy is the rounded values in float64), so both
    sides of a check see the same inputs; integer data (class targets) is kept as it is. The array
    is NumPy when `device` is None and NumPy has the dtype, else a torch tensor on `device` (or on
    torch_device()).
    """
    x = np.asarray(x)
    is_float = np.issubdtype(x.dtype, np.floating)
    if device is None and dtype_name(dtype) in NUMPY_DTYPES:
        rounded = x.astype(dtype_name(dtype)) if is_float else x
        return rounded, rounded.astype(np.float64) if is_float else x
    import torch

    tensor = torch.as_tensor(_c_order(x), device=device or torch_device())
    if not is_float:
        return tensor, x
    tensor = tensor.to(torch_dtype(dtype))
    return tensor, tensor.to(device="cpu", dtype=torch.float64).numpy()


def _c_order(x: np.ndarray) -> np.ndarray:
    # np.ascontiguousarray turns a 0-d array into shape (1,); torch.as_tensor rejects negative strides
    return x.copy(order="C") if x.ndim and not x.flags.c_contiguous else x


def _to_torch(x: Any, device=None):
    """A NumPy array as a tensor on `device` (default torch_device()); a tensor is moved only if `device` is given."""
    import torch

    if isinstance(x, torch.Tensor):
        return x if device is None else x.to(device)
    return torch.as_tensor(_c_order(np.asarray(x)), device=device or torch_device())


def _like_input(x: Any, was_numpy: bool):
    return x.detach().cpu().numpy() if was_numpy else x.detach()


def torch_softmax_jacobian(z: Any) -> Any:
    """∂softmax(z)/∂z by torch autograd, for one logit vector z of shape (K,), in z's dtype.

    A NumPy z runs on torch_device() and gives a NumPy array; a tensor gives a tensor on its device.
    """
    import torch

    was_numpy = not isinstance(z, torch.Tensor)
    if was_numpy:
        z = np.asarray(z)
        z = z if np.issubdtype(z.dtype, np.floating) else z.astype(np.float64)
    jac = torch.autograd.functional.jacobian(lambda t: torch.softmax(t, dim=-1), _to_torch(z))
    return _like_input(jac, was_numpy)


def torch_cross_entropy_with_grad(logits: Any, target: Any, axis: int = -1, reduction: str = "mean") -> tuple[Any, Any]:
    """torch.nn.functional.cross_entropy and, by autograd, the gradient of its sum over the output.

    Classes on `axis` are moved to dim 1, where torch expects them; a single row of shape (K,)
    is given a batch axis of length 1 (torch 2.13's backward rejects an unbatched input).
    Logits keep their floating dtype (integers become float64). NumPy logits run on
    torch_device() and give NumPy results; tensor logits stay on their device and give tensors.
    """
    import torch

    was_numpy = not isinstance(logits, torch.Tensor)
    if was_numpy:
        logits = np.asarray(logits)
        logits = logits if np.issubdtype(logits.dtype, np.floating) else logits.astype(np.float64)
    z_t = _to_torch(logits)
    target_t = _to_torch(target if _is_tensor(target) else np.asarray(target), z_t.device)
    single_row = z_t.ndim == 1
    if single_row:
        z_t, target_t, axis = z_t[None], target_t[None], 1
    axis = axis % z_t.ndim
    is_probability = target_t.shape == z_t.shape
    z_t = z_t.detach().movedim(axis, 1).contiguous().requires_grad_(True)
    if is_probability:
        target_t = target_t.movedim(axis, 1).contiguous()
    loss = torch.nn.functional.cross_entropy(z_t, target_t, reduction=reduction)
    loss.sum().backward()
    loss, grad = loss.detach(), z_t.grad.movedim(1, axis)
    if single_row:
        loss, grad = (loss[0] if reduction == "none" else loss), grad[0]
    return _like_input(loss, was_numpy), _like_input(grad, was_numpy)


def _float64_target(target64: np.ndarray, axis: int = -1) -> np.ndarray:
    """The rounded target for the float64 references: indices as they are; probability rows
    divided by their sum, which rounding to a narrow dtype moves off 1 by up to ~K·u."""
    if np.issubdtype(target64.dtype, np.integer):
        return target64
    return target64 / np.sum(target64, axis=axis, keepdims=True)


def _fd_tolerance(dtype: Any, n_terms: int) -> float:
    """Central differences are taken in float64 on the rounded inputs; the result checked against
    them carries its own rounding in `dtype` on top of the differences' error."""
    return finite_difference_tolerance(np.float64) + rounding_tolerance(dtype, n_terms)


def check_softmax_jacobian(z: ArrayLike, dtype: Any = "float64", device: Any = None) -> list[CheckResult]:
    """softmax_jacobian(z) against torch autograd and central differences, z of shape (K,).

    z is rounded to `dtype`; see `checked_array` for where softmax_lib runs.
    """
    x, z64 = checked_array(np.asarray(z, dtype=np.float64), dtype, device)
    xp = array_namespace(x)
    ours = softmax_jacobian(x)
    k = z64.shape[-1]
    v = xp.astype(xp.arange(k, device=array_device(x)), x.dtype)
    rounding = rounding_tolerance(dtype, k)
    return [
        compare("softmax_jacobian vs torch autograd", ours, torch_softmax_jacobian(x), rounding),
        compare("softmax_jacobian vs central differences", ours, central_difference_jacobian(softmax, z64),
                _fd_tolerance(dtype, k)),
        compare("softmax_vjp vs explicit Jᵀv", softmax_vjp(x, v), ours.T @ v, rounding),
    ]


def check_cross_entropy(
    logits: ArrayLike, target: ArrayLike, axis: int = -1, reduction: str = "mean",
    dtype: Any = "float64", device: Any = None,
) -> list[CheckResult]:
    """cross_entropy and cross_entropy_grad against torch, and the gradient against central differences.

    Logits and a probability target are rounded to `dtype`; see `checked_array` for where
    softmax_lib runs.
    """
    logits_x, logits64 = checked_array(np.asarray(logits, dtype=np.float64), dtype, device)
    target_x, target64 = checked_array(target, dtype, device)
    target64 = _float64_target(target64, axis)
    k = logits64.shape[axis]
    loss_ref, grad_ref = torch_cross_entropy_with_grad(logits_x, target_x, axis, reduction)
    grad = cross_entropy_grad(logits_x, target_x, axis, reduction)
    total = lambda z: np.sum(cross_entropy(z, target64, axis, reduction))  # noqa: E731
    label = f"{'index' if np.issubdtype(target64.dtype, np.integer) else 'probability'} target, {reduction}"
    return [
        compare(f"cross_entropy vs torch ({label})", cross_entropy(logits_x, target_x, axis, reduction), loss_ref,
                rounding_tolerance(dtype, logits64.size)),
        compare(f"cross_entropy_grad vs torch autograd ({label})", grad, grad_ref, rounding_tolerance(dtype, k)),
        compare(f"cross_entropy_grad vs central differences ({label})", grad,
                central_difference_jacobian(total, logits64), _fd_tolerance(dtype, k)),
    ]


# --- checks for the verify command (softmax_lib.verify): VJP, loss Hessian, output layer, -----
# --- and low precision against float64 ------------------------------------------------------

def check_softmax_vjp(z: ArrayLike, v: ArrayLike, axis: int = -1, dtype: Any = "float64", device: Any = None) -> list[CheckResult]:
    """softmax_vjp(z, v) = p ⊙ (v − ⟨p, v⟩) against torch autograd (backward of softmax with
    gradient v) and against Jᵀv with J from central differences, per row along `axis`."""
    import torch

    x, z64 = checked_array(np.asarray(z, dtype=np.float64), dtype, device)
    v_x, v64 = checked_array(np.asarray(v, dtype=np.float64), dtype, device)
    ours = softmax_vjp(x, v_x, axis)
    z_t = _to_torch(x).detach().clone().requires_grad_(True)
    torch.softmax(z_t, dim=axis).backward(_to_torch(v_x, z_t.device))
    rows64, v_rows = np.moveaxis(z64, axis, -1), np.moveaxis(v64, axis, -1)
    explicit = np.stack([
        central_difference_jacobian(softmax, row).T @ v_row
        for row, v_row in zip(rows64.reshape(-1, rows64.shape[-1]), v_rows.reshape(-1, rows64.shape[-1]))
    ])
    explicit = np.moveaxis(explicit.reshape(rows64.shape), -1, axis)
    k = z64.shape[axis]
    return [
        compare("softmax_vjp vs torch autograd", ours, z_t.grad, rounding_tolerance(dtype, k)),
        # Jᵀv sums K entries of the differenced Jacobian, each weighted by |v_i|
        compare("softmax_vjp vs central-difference Jᵀv", ours, explicit,
                _fd_tolerance(dtype, k) * max(1, k) * max(1.0, float(np.max(np.abs(v64), initial=0.0)))),
    ]


def output_layer_grad(
    weights: ArrayLike, bias: ArrayLike, activations: ArrayLike, target: ArrayLike
) -> tuple[Any, Any]:
    """∂C/∂W = (P − Y)ᵀ A / N and ∂C/∂b = Σ_n (p_n − y_n) / N for C = mean cross-entropy of softmax(A Wᵀ + b).

    Per row, ∂C/∂b_j = p_j − y_j and ∂C/∂W_jk = a_k (p_j − y_j); `cross_entropy_grad` supplies p − y.
    """
    xp = array_namespace(weights, bias, activations)
    delta = cross_entropy_grad(activations @ weights.T + bias, target, reduction="mean")
    return delta.T @ activations, xp.sum(delta, axis=0)


def check_output_layer_gradients(
    inputs: ArrayLike, weight: ArrayLike, bias: ArrayLike, target: ArrayLike, dtype: Any = "float64", device: Any = None
) -> list[CheckResult]:
    """Gradients of the mean cross-entropy of a linear output layer z = x Wᵀ + b (x: N × D, W: K × D),
    from G = ∂L/∂z = (P − Y)/N: ∂L/∂W = Gᵀ x, ∂L/∂b = Σ_n G_n, ∂L/∂x = G W.

    `output_layer_grad` (and G W) against torch autograd through torch.nn.functional.linear and
    cross_entropy, and against central differences (float64)."""
    import torch

    (x, x64), (w, w64), (b, b64) = (checked_array(np.asarray(a, dtype=np.float64), dtype, device)
                                    for a in (inputs, weight, bias))
    target_x, target64 = checked_array(target, dtype, device)
    target64 = _float64_target(target64)
    grad_w, grad_b = output_layer_grad(w, b, x, target_x)
    ours = {"W": grad_w, "b": grad_b, "x": cross_entropy_grad(x @ w.T + b, target_x) @ w}

    leaves = {name: _to_torch(a).detach().clone().requires_grad_(True) for name, a in (("W", w), ("b", b), ("x", x))}
    torch.nn.functional.cross_entropy(
        torch.nn.functional.linear(leaves["x"], leaves["W"], leaves["b"]), _to_torch(target_x, leaves["x"].device)
    ).backward()

    loss64 = {
        "W": lambda a: cross_entropy(x64 @ a.T + b64, target64),
        "b": lambda a: cross_entropy(x64 @ w64.T + a, target64),
        "x": lambda a: cross_entropy(a @ w64.T + b64, target64),
    }
    at = {"W": w64, "b": b64, "x": x64}
    n_rows, n_features = x64.shape
    # each logit rounds a D-term dot product, each softmax K terms, each ∂L/∂W entry an N-term sum
    n_terms = n_features + w64.shape[0] + n_rows
    results = []
    for name in ("W", "b", "x"):
        results.append(compare(f"∂L/∂{name} of a linear output layer vs torch autograd", ours[name],
                               leaves[name].grad, rounding_tolerance(dtype, n_terms)))
        results.append(compare(f"∂L/∂{name} of a linear output layer vs central differences", ours[name],
                               central_difference_jacobian(loss64[name], at[name]), _fd_tolerance(dtype, n_terms)))
    return results


def check_against_float64(logits: ArrayLike, target: ArrayLike, dtype: Any, device: Any = None) -> list[CheckResult]:
    """softmax, log_softmax and cross_entropy_grad of softmax_lib and of torch, both in `dtype`,
    against 50-digit mpmath values of the same rounded inputs (as float64). Tolerance 10Kε.

    The gradient is that of the "sum" reduction, p − y, whose entries are of order 1 as the
    probabilities are (the "mean" gradient's 1/N would shrink its errors below u)."""
    import torch

    from . import reference

    x, z64 = checked_array(np.asarray(logits, dtype=np.float64), dtype, device)
    target_x, target64 = checked_array(target, dtype, device)
    z_t = _to_torch(x)
    exact_p = reference.softmax_mp(z64)
    exact = {
        "softmax": exact_p,
        "log_softmax": reference.log_softmax_mp(z64),
        "cross_entropy_grad": exact_p - np.eye(z64.shape[-1])[target64],
    }
    z_grad = z_t.detach().clone().requires_grad_(True)
    torch.nn.functional.cross_entropy(z_grad, _to_torch(target_x, z_t.device), reduction="sum").backward()
    ours = {"softmax": softmax(x), "log_softmax": log_softmax(x),
            "cross_entropy_grad": cross_entropy_grad(x, target_x, reduction="sum")}
    theirs = {"softmax": torch.softmax(z_t, -1), "log_softmax": torch.log_softmax(z_t, -1),
              "cross_entropy_grad": z_grad.grad}
    tolerance = rounding_tolerance(dtype, z64.shape[-1])
    return [
        compare(f"{who} {name} vs 50-digit reference", values[name], exact[name], tolerance)
        for who, values in (("softmax_lib", ours), ("torch", theirs))
        for name in exact
    ]


def torch_cross_entropy_hessian(logits: Any, target: Any) -> Any:
    """∂²L/∂z² of L = torch.nn.functional.cross_entropy(z, target) by torch.autograd.functional.hessian,
    for one row of logits z of shape (K,) and a class index or a probability vector of shape (K,).

    The probability target is passed to torch as given, so a target that does not sum to 1 gives the
    Hessian of that loss, (Σ_k y_k)(diag(p) − p pᵀ). NumPy logits run on torch_device() and give
    NumPy; a tensor gives a tensor on its device.
    """
    import torch

    was_numpy = not isinstance(logits, torch.Tensor)
    if was_numpy:
        logits = np.asarray(logits)
        logits = logits if np.issubdtype(logits.dtype, np.floating) else logits.astype(np.float64)
    if logits.ndim != 1:
        raise ValueError(f"logits must be one row of shape (K,), got shape {tuple(logits.shape)}")
    z_t = _to_torch(logits)
    target_t = _to_torch(target if _is_tensor(target) else np.asarray(target), z_t.device)
    if tuple(target_t.shape) not in ((), tuple(z_t.shape)):
        raise ValueError(f"target must be a class index or have the logits' shape {tuple(z_t.shape)}, "
                         f"got {tuple(target_t.shape)}")
    if target_t.is_floating_point():
        target_t = target_t.to(z_t.dtype)
    # torch's backward needs a batch axis; one row of length 1 keeps the loss a scalar.
    hessian = torch.autograd.functional.hessian(
        lambda z: torch.nn.functional.cross_entropy(z[None], target_t[None], reduction="sum"), z_t
    )
    return _like_input(hessian, was_numpy)


def check_loss_hessian(logits: ArrayLike, target: ArrayLike, dtype: Any = "float64", device: Any = None) -> list[CheckResult]:
    """The Hessian of the cross-entropy in the logits, ∂²L/∂z² = diag(p) − p pᵀ (= softmax_jacobian(z)),
    whatever the target (∂L/∂z = p − y and y does not depend on z): against
    torch.autograd.functional.hessian and against central differences of cross_entropy_grad.

    One row of logits of shape (K,); target a class index or a probability vector summing to 1.
    Rounded to `dtype`; see `checked_array` for where softmax_lib runs.
    """
    x, z64 = checked_array(np.asarray(logits, dtype=np.float64), dtype, device)
    if z64.ndim != 1:
        raise ValueError(f"logits must be one row of shape (K,), got shape {z64.shape}")
    target_x, target64 = checked_array(target, dtype, device)
    target64 = _float64_target(target64)
    ours = softmax_jacobian(x)
    k = z64.shape[-1]
    label = "index" if np.issubdtype(target64.dtype, np.integer) else "probability"
    return [
        compare(f"loss Hessian vs torch autograd ({label} target)", ours, torch_cross_entropy_hessian(x, target_x),
                rounding_tolerance(dtype, k)),
        compare(f"loss Hessian vs central differences of the gradient ({label} target)", ours,
                central_difference_jacobian(lambda z: cross_entropy_grad(z, target64, reduction="sum"), z64),
                _fd_tolerance(dtype, k)),
    ]


# --- output layer, sparsemax and hierarchical softmax (chapters "Into the output layer" and "Variants") ---


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


# --- accuracy against a high-precision reference (issue 6) -----------------------------------

STRESS_FAMILIES = ("normal", "large spread", "all equal", "one dominant", "huge +1e4", "near overflow", "tiny probabilities")


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


# --- training the variants: sparsemax loss and backward, path-scored hierarchical softmax ---------


def torch_sparsemax(z: Any) -> Any:
    """Sparsemax of a torch tensor by sorting (last axis), written independently of softmax_lib's."""
    import torch

    ordered, _ = torch.sort(z, dim=-1, descending=True)
    k = torch.arange(1, z.shape[-1] + 1, dtype=z.dtype, device=z.device)
    cumulative = ordered.cumsum(-1)
    support = (1 + k * ordered > cumulative).sum(-1, keepdim=True)
    tau = (cumulative.gather(-1, support - 1) - 1) / support
    return torch.clamp(z - tau, min=0)


def check_sparsemax_loss(z: ArrayLike, target: ArrayLike, loss_grad: Callable | None = None) -> list[CheckResult]:
    """sparsemax_loss and its gradient `loss_grad` (default `sparsemax_loss_grad`), float64, z of shape (N, K):
    the loss against torch's ½‖e_k − z‖² − ½‖p − z‖², the gradient against torch autograd of that loss and
    central differences of `sparsemax_loss`.

    The loss adds K squares of size up to max|z|², so both sides carry rounding of K·u·max(1, max|z|)².
    """
    import torch

    from ._training_variants import sparsemax_loss, sparsemax_loss_grad

    loss_grad = sparsemax_loss_grad if loss_grad is None else loss_grad

    z = np.asarray(z, dtype=np.float64)
    target = np.asarray(target)
    z_t = _to_torch(z).requires_grad_(True)
    one_hot = torch.nn.functional.one_hot(_to_torch(target.astype(np.int64)), z.shape[-1]).to(z_t.dtype)
    p_t = torch_sparsemax(z_t)
    loss_t = 0.5 * ((one_hot - z_t) ** 2).sum(-1) - 0.5 * ((p_t - z_t) ** 2).sum(-1)
    loss_t.sum().backward()
    scale = max(1.0, float(np.max(np.abs(z)))) ** 2
    total = lambda x: np.sum(sparsemax_loss(x, target))  # noqa: E731
    grad = loss_grad(z, target)
    return [
        compare("sparsemax loss vs torch", sparsemax_loss(z, target), loss_t.detach().cpu().numpy(),
                rounding_tolerance(np.float64, z.shape[-1]) * scale),
        compare("sparsemax loss gradient vs torch autograd", grad, z_t.grad.cpu().numpy(),
                rounding_tolerance(np.float64, z.shape[-1]) * scale),
        compare("sparsemax loss gradient vs central differences", grad, central_difference_jacobian(total, z),
                finite_difference_tolerance(np.float64) * scale),
    ]


def check_sparsemax_vjp(z: ArrayLike, v: ArrayLike, vjp: Callable | None = None) -> list[CheckResult]:
    """`vjp`(z, v) (default `sparsemax_vjp`), float64, shape (N, K), against the dense Jᵀv from
    sparsemax_jacobian and against torch autograd through an independent torch sparsemax; both round
    K terms of size max|v|."""
    import torch

    from ._training_variants import sparsemax_vjp
    from ._variants import sparsemax_jacobian

    z, v = np.asarray(z, dtype=np.float64), np.asarray(v, dtype=np.float64)
    z_t = _to_torch(z).requires_grad_(True)
    (torch_sparsemax(z_t) * _to_torch(v)).sum().backward()
    tolerance = rounding_tolerance(np.float64, z.shape[-1]) * max(1.0, float(np.max(np.abs(v))))
    ours = (sparsemax_vjp if vjp is None else vjp)(z, v)
    return [
        compare("sparsemax_vjp vs dense Jacobian", ours, np.einsum("...ij,...i->...j", sparsemax_jacobian(z), v), tolerance),
        compare("sparsemax_vjp vs torch autograd", ours, z_t.grad.cpu().numpy(), tolerance),
    ]


def check_hierarchical_softmax_loss(
    hidden: ArrayLike, node_vectors: ArrayLike, target: ArrayLike, paths: Any = None, loss: Callable | None = None
) -> list[CheckResult]:
    """`loss` (default hierarchical_softmax_loss; float64) against torch autograd of Σ_n −Σ_path logsigmoid(d·uᵀh) over the
    dense node vectors: the losses and both gradients. Each score sums D products and each loss L ≤ depth
    scores, so the tolerance counts D·L rounded terms, scaled by max(1, max|u|·max|h|·√D)."""
    import torch

    from ._training_variants import hierarchical_softmax_loss, path_table
    from ._variants import hierarchical_softmax_paths

    h, u = np.asarray(hidden, dtype=np.float64), np.asarray(node_vectors, dtype=np.float64)
    target = np.asarray(target)
    paths = hierarchical_softmax_paths(u.shape[0] + 1) if paths is None else paths
    h_t, u_t = _to_torch(h).requires_grad_(True), _to_torch(u).requires_grad_(True)
    rows = []
    for n, c in enumerate(target):
        nodes, signs = paths[int(c)]
        scores = u_t[_to_torch(np.array(nodes, dtype=np.int64))] @ h_t[n]
        rows.append(-torch.nn.functional.logsigmoid(_to_torch(np.array(signs, dtype=np.float64)) * scores).sum())
    loss_t = torch.stack(rows)
    loss_t.sum().backward()
    loss = hierarchical_softmax_loss if loss is None else loss
    losses, grad_hidden, nodes, grad_rows = loss(h, u, target, path_table(paths))
    grad_nodes = np.zeros_like(u)
    np.add.at(grad_nodes, nodes, grad_rows)
    depth = max(len(nodes) for nodes, _ in paths)
    scale = max(1.0, float(np.max(np.abs(u)) * np.max(np.abs(h)) * np.sqrt(h.shape[1])))
    tolerance = rounding_tolerance(np.float64, h.shape[1] * depth) * scale
    return [
        compare("hierarchical path loss vs torch", losses, loss_t.detach().cpu().numpy(), tolerance),
        compare("hierarchical path gradient (hidden) vs torch autograd", grad_hidden, h_t.grad.cpu().numpy(), tolerance),
        compare("hierarchical path gradient (node vectors) vs torch autograd", grad_nodes, u_t.grad.cpu().numpy(),
                tolerance),
    ]
