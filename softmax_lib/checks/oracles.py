"""The references the checks compare softmax_lib with: torch (autograd, in the checked dtype) and the
textbook formulas written out in float64 NumPy, independent of the library, for central differences.

torch is imported here (and by `softmax_lib.verify`) only when a torch reference or device is asked for.
`to_torch` is the one conversion helper; `checked_array` rounds a check's float64 data to its dtype.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .tolerance import NUMPY_DTYPES, _float64_numpy, _is_tensor, dtype_name

__all__ = [
    "DEVICE_VARIABLE",
    "torch_device",
    "torch_dtype",
    "to_torch",
    "checked_array",
    "float64_target",
    "softmax64",
    "log_softmax64",
    "cross_entropy64",
    "cross_entropy_grad64",
    "torch_softmax_jacobian",
    "torch_cross_entropy_with_grad",
    "torch_cross_entropy_hessian",
    "torch_hierarchical_softmax_log_prob_with_grad",
    "torch_loss_with_options",
    "torch_loss_with_options_and_grad",
]

DEVICE_VARIABLE = "SOFTMAX_LIB_DEVICE"


def torch_device():
    """The torch device to check on: CUDA when torch sees one, else the CPU.

    The environment variable SOFTMAX_LIB_DEVICE=cpu or =cuda forces either; any other value raises
    ValueError naming the variable.
    """
    wanted = os.environ.get(DEVICE_VARIABLE, "").strip().lower()
    if wanted not in ("", "auto", "cpu", "cuda"):
        raise ValueError(f"{DEVICE_VARIABLE} must be cpu, cuda or auto, got {wanted!r}")
    import torch

    if wanted == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"{DEVICE_VARIABLE}=cuda, but torch sees no CUDA device")
    if wanted == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    return torch.device("cuda")


def torch_dtype(dtype: Any):
    """The torch dtype of that name: torch.bfloat16 for "bfloat16", np.float32 or torch.float32."""
    import torch

    return getattr(torch, dtype_name(dtype))


def to_torch(x: Any, device: Any = None, dtype: Any = None):
    """`x` as a torch tensor: NumPy data goes to `device` (default torch_device()); a tensor is moved only
    when `device` is given. Integer NumPy data stays integer; `dtype` converts floating data."""
    import torch

    if isinstance(x, torch.Tensor):
        tensor = x if device is None else x.to(device)
    else:
        x = np.asarray(x)
        # torch.as_tensor rejects negative strides and read-only memory is shared with the array
        x = x.copy(order="C") if x.ndim and not (x.flags.c_contiguous and x.flags.writeable) else x
        tensor = torch.as_tensor(x, device=device or torch_device())
    if dtype is not None and tensor.is_floating_point():
        tensor = tensor.to(torch_dtype(dtype))
    return tensor


def _like_input(x: Any, was_numpy: bool):
    return x.detach().cpu().numpy() if was_numpy else x.detach()


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

    tensor = to_torch(x, device or torch_device(), dtype if is_float else None)
    return tensor, (tensor.to(device="cpu", dtype=torch.float64).numpy() if is_float else x)


def float64_target(target64: np.ndarray, axis: int = -1) -> np.ndarray:
    """The rounded target for the float64 references: indices as they are; probability rows
    divided by their sum, which rounding to a narrow dtype moves off 1 by up to ~K·u."""
    if np.issubdtype(target64.dtype, np.integer):
        return target64
    return target64 / np.sum(target64, axis=axis, keepdims=True)


# --- the formulas in float64 NumPy, independent of softmax_lib ------------------------------------


def softmax64(z: ArrayLike, axis: int = -1) -> NDArray[np.float64]:
    """exp(z − m) / Σ exp(z − m) in float64."""
    e = np.exp(np.asarray(z, dtype=np.float64) - np.max(z, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax64(z: ArrayLike, axis: int = -1) -> NDArray[np.float64]:
    """(z − m) − log Σ exp(z − m) in float64."""
    shifted = np.asarray(z, dtype=np.float64) - np.max(z, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def _one_hot64(logits: np.ndarray, target: np.ndarray, axis: int) -> np.ndarray:
    target = np.asarray(target)
    if target.shape == logits.shape:
        return np.asarray(target, dtype=np.float64)
    axis = axis % logits.ndim
    classes = np.arange(logits.shape[axis]).reshape([-1 if a == axis else 1 for a in range(logits.ndim)])
    return (np.expand_dims(target, axis) == classes).astype(np.float64)


def _reduce64(per_row: np.ndarray, reduction: str) -> np.ndarray:
    return {"none": per_row, "sum": np.sum(per_row), "mean": np.mean(per_row)}[reduction]


def cross_entropy64(logits: ArrayLike, target: ArrayLike, axis: int = -1, reduction: str = "mean") -> np.ndarray:
    """−Σ_k y_k log p_k per row, reduced, in float64 (class indices become one-hot rows)."""
    logits = np.asarray(logits, dtype=np.float64)
    y = _one_hot64(logits, target, axis)
    return _reduce64(-np.sum(y * log_softmax64(logits, axis), axis=axis), reduction)


def cross_entropy_grad64(logits: ArrayLike, target: ArrayLike, axis: int = -1, reduction: str = "mean") -> np.ndarray:
    """(p − y), divided by the number of rows for the mean, in float64."""
    logits = np.asarray(logits, dtype=np.float64)
    grad = softmax64(logits, axis) - _one_hot64(logits, target, axis)
    return grad / (grad.size // logits.shape[axis]) if reduction == "mean" else grad


# --- torch references, in the checked dtype --------------------------------------------------------


def _floating(x: Any) -> Any:
    x = np.asarray(x)
    return x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64)


def torch_softmax_jacobian(z: Any) -> Any:
    """∂softmax(z)/∂z by torch autograd, for one logit vector z of shape (K,), in z's dtype.

    A NumPy z runs on torch_device() and gives a NumPy array; a tensor gives a tensor on its device.
    """
    import torch

    was_numpy = not _is_tensor(z)
    z_t = to_torch(_floating(z) if was_numpy else z)
    jac = torch.autograd.functional.jacobian(lambda t: torch.softmax(t, dim=-1), z_t)
    return _like_input(jac, was_numpy)


def torch_cross_entropy_with_grad(logits: Any, target: Any, axis: int = -1, reduction: str = "mean") -> tuple[Any, Any]:
    """torch.nn.functional.cross_entropy and, by autograd, the gradient of its sum over the output.

    Classes on `axis` are moved to dim 1, where torch expects them; a single row of shape (K,)
    is given a batch axis of length 1 (torch 2.13's backward rejects an unbatched input).
    Logits keep their floating dtype (integers become float64). NumPy logits run on
    torch_device() and give NumPy results; tensor logits stay on their device and give tensors.
    """
    was_numpy = not _is_tensor(logits)
    z_t = to_torch(_floating(logits) if was_numpy else logits)
    target_t = to_torch(target, z_t.device)
    single_row = z_t.ndim == 1
    if single_row:
        z_t, target_t, axis = z_t[None], target_t[None], 1
    axis = axis % z_t.ndim
    is_probability = target_t.shape == z_t.shape
    z_t = z_t.detach().movedim(axis, 1).contiguous().requires_grad_(True)
    if is_probability:
        target_t = target_t.movedim(axis, 1).contiguous()
    import torch

    loss = torch.nn.functional.cross_entropy(z_t, target_t, reduction=reduction)
    loss.sum().backward()
    loss, grad = loss.detach(), z_t.grad.movedim(1, axis)
    if single_row:
        loss, grad = (loss[0] if reduction == "none" else loss), grad[0]
    return _like_input(loss, was_numpy), _like_input(grad, was_numpy)


def torch_cross_entropy_hessian(logits: Any, target: Any) -> Any:
    """∂²L/∂z² of L = torch.nn.functional.cross_entropy(z, target) by torch.autograd.functional.hessian,
    for one row of logits z of shape (K,) and a class index or a probability vector of shape (K,).

    The probability target is passed to torch as given, so a target that does not sum to 1 gives the
    Hessian of that loss, (Σ_k y_k)(diag(p) − p pᵀ). NumPy logits run on torch_device() and give
    NumPy; a tensor gives a tensor on its device.
    """
    import torch

    was_numpy = not _is_tensor(logits)
    z_t = to_torch(_floating(logits) if was_numpy else logits)
    if z_t.ndim != 1:
        raise ValueError(f"logits must be one row of shape (K,), got shape {tuple(z_t.shape)}")
    target_t = to_torch(target, z_t.device)
    if tuple(target_t.shape) not in ((), tuple(z_t.shape)):
        raise ValueError(
            f"target must be a class index or have the logits' shape {tuple(z_t.shape)}, got {tuple(target_t.shape)}"
        )
    if target_t.is_floating_point():
        target_t = target_t.to(z_t.dtype)
    # torch's backward needs a batch axis; one row of length 1 keeps the loss a scalar.
    hessian = torch.autograd.functional.hessian(
        lambda z: torch.nn.functional.cross_entropy(z[None], target_t[None], reduction="sum"), z_t
    )
    return _like_input(hessian, was_numpy)


def torch_loss_with_options(
    logits: Any,
    target: Any,
    reduction: str = "mean",
    *,
    weight: Any = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    z_loss: float = 0.0,
):
    """The loss of `softmax_lib.cross_entropy` with its options, written in torch: a differentiable tensor.

    torch.nn.functional.cross_entropy (classes on dim 1, torch's layout) with `weight`, `ignore_index`,
    `label_smoothing` and `reduction`, plus the z-loss c·lse_n², lse_n = logsumexp of row n: 0 on ignored
    rows, unweighted, and divided by the number of kept rows N_kept for "mean" (the cross-entropy part
    keeps torch's divisor: Σ_n w_(t_n) over kept rows for index targets, N for probabilities).
    `logits`, `target` and `weight` are torch tensors on one device; a linear layer or a shard in
    front of the logits is differentiated through.

    Examples
    --------
    >>> import torch
    >>> z = torch.zeros(2, 3, dtype=torch.float64)
    >>> float(torch_loss_with_options(z, torch.tensor([0, -100]), z_loss=1.0))  # log 3 + (log 3)²
    2.3055
    """
    import torch

    loss = torch.nn.functional.cross_entropy(
        logits, target, weight=weight, ignore_index=ignore_index, label_smoothing=label_smoothing, reduction=reduction
    )
    if not z_loss:
        return loss
    lse = torch.logsumexp(logits, dim=1)
    kept = target != ignore_index if not target.is_floating_point() else torch.ones_like(lse, dtype=torch.bool)
    row = torch.where(kept, z_loss * lse**2, torch.zeros_like(lse))
    return loss + {"none": row, "sum": row.sum(), "mean": row.sum() / kept.sum()}[reduction]


def torch_loss_with_options_and_grad(
    logits: Any,
    target: Any,
    axis: int = -1,
    reduction: str = "mean",
    *,
    weight: Any = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    z_loss: float = 0.0,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """`torch_loss_with_options` in float64 on the CPU and, by autograd, the gradient of its sum over the output.

    NumPy (or tensor) logits with a batch axis and classes on `axis`, class indices or probabilities, weights
    of shape (K,); returns (loss, ∂Σloss/∂z) as float64 NumPy, the gradient in the logits' layout.
    """
    import torch

    z64 = _float64_numpy(logits)
    if z64.ndim < 2:
        raise ValueError(f"logits must have a batch axis and a class axis, got shape {z64.shape}")
    target = target.detach().cpu().numpy() if _is_tensor(target) else np.asarray(target)
    axis = axis % z64.ndim
    z_t = torch.tensor(np.moveaxis(z64, axis, 1), dtype=torch.float64, requires_grad=True)
    t = np.moveaxis(target, axis, 1) if target.shape == z64.shape else target
    t_t = torch.tensor(t, dtype=torch.float64 if np.issubdtype(t.dtype, np.floating) else torch.int64)
    w_t = None if weight is None else torch.tensor(_float64_numpy(weight), dtype=torch.float64)
    loss = torch_loss_with_options(
        z_t, t_t, reduction, weight=w_t, ignore_index=ignore_index, label_smoothing=label_smoothing, z_loss=z_loss
    )
    loss.sum().backward()
    grad = z_t.grad.numpy()
    return loss.detach().numpy(), np.moveaxis(grad, 1, axis)


def torch_hierarchical_softmax_log_prob_with_grad(
    node_scores: ArrayLike, target: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """log p(target) per row by torch (logsigmoid summed along each path), and the gradient of
    −Σ_rows log p by autograd. `node_scores` has shape (N, K − 1), `target` shape (N,)."""
    import torch

    from .._variants import hierarchical_softmax_paths

    node_scores = np.asarray(node_scores, dtype=np.float64)
    s_t = to_torch(node_scores).requires_grad_(True)
    paths = hierarchical_softmax_paths(node_scores.shape[-1] + 1)
    rows = []
    for n, c in enumerate(np.asarray(target)):
        nodes, signs = paths[int(c)]
        rows.append(torch.nn.functional.logsigmoid(to_torch(signs) * s_t[n, to_torch(nodes)]).sum())
    log_prob = torch.stack(rows)
    (-log_prob.sum()).backward()
    return log_prob.detach().cpu().numpy(), s_t.grad.cpu().numpy()
