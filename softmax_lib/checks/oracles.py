"""The references the checks compare softmax_lib with: torch (autograd, in the checked dtype) and the
textbook formulas written out in float64 NumPy, independent of the library, for central differences.

The torch references are here; the float64 formulas in formulas.py; the conversions in arrays.py
(`to_torch`, the one conversion helper; `checked_array`, which rounds a check's float64 data to its
dtype). This module re-exports both, so that a check finds every reference in one place. torch is
imported (here and by `softmax_lib.verify`) only when a torch reference or device is asked for.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .arrays import DEVICE_VARIABLE, _like_input, checked_array, float64_target, to_torch, torch_device, torch_dtype
from .formulas import cross_entropy64, cross_entropy_grad64, log_softmax64, softmax64
from .tolerance import _is_tensor, as_float64

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

# --- torch references, in the checked dtype --------------------------------------------------------


def _floating(x: Any) -> Any:
    x = np.asarray(x)
    return x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64)


def torch_softmax_jacobian(z: Any) -> Any:
    """∂softmax(z)/∂z by torch autograd, for one logit vector z of shape (K,), in z's dtype.

    Parameters
    ----------
    z : array_like or torch.Tensor
        A NumPy z runs on torch_device() and gives a NumPy array; a tensor gives a tensor on its device.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        Shape (K, K).

    Examples
    --------
    >>> torch_softmax_jacobian(np.zeros(2))
    array([[ 0.25, -0.25],
           [-0.25,  0.25]])
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

    Parameters
    ----------
    logits : array_like or torch.Tensor
        Keep their floating dtype (integers become float64). NumPy logits run on torch_device() and
        give NumPy results; tensor logits stay on their device and give tensors.
    target : array_like or torch.Tensor
        Class indices or probabilities.
    axis : int, optional
        The class axis (default the last).
    reduction : {"mean", "sum", "none"}, optional

    Returns
    -------
    loss : numpy.ndarray or torch.Tensor
    grad : numpy.ndarray or torch.Tensor
        Of the logits' shape.

    Examples
    --------
    >>> loss, grad = torch_cross_entropy_with_grad(np.zeros(2), np.array(1))
    >>> float(loss), grad  # run on torch_device(): compared to 12 digits
    (0.693147180560, array([ 0.5, -0.5]))
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
    """∂²L/∂z² of L = torch.nn.functional.cross_entropy(z, target) by torch.autograd.functional.hessian.

    The probability target is passed to torch as given, so a target that does not sum to 1 gives the
    Hessian of that loss, (Σ_k y_k)(diag(p) − p pᵀ).

    Parameters
    ----------
    logits : array_like or torch.Tensor
        One row of shape (K,). NumPy runs on torch_device() and gives NumPy; a tensor gives a tensor
        on its device.
    target : array_like or torch.Tensor
        A class index or a probability vector of shape (K,).

    Returns
    -------
    numpy.ndarray or torch.Tensor
        Shape (K, K).

    Examples
    --------
    >>> torch_cross_entropy_hessian(np.zeros(2), np.array(0))
    array([[ 0.25, -0.25],
           [-0.25,  0.25]])
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
    A linear layer or a shard in front of the logits is differentiated through.

    Parameters
    ----------
    logits, target : torch.Tensor
        On one device; classes on dim 1.
    reduction : {"mean", "sum", "none"}, optional
    weight, ignore_index, label_smoothing, z_loss
        As for `softmax_lib.cross_entropy`.

    Returns
    -------
    torch.Tensor

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

    Parameters
    ----------
    logits : array_like or torch.Tensor
        With a batch axis and classes on `axis`.
    target : array_like or torch.Tensor
        Class indices or probabilities.
    axis : int, optional
        The class axis (default the last).
    reduction : {"mean", "sum", "none"}, optional
    weight : array_like, optional
        Shape (K,).
    ignore_index, label_smoothing, z_loss
        As for `softmax_lib.cross_entropy`.

    Returns
    -------
    loss : numpy.ndarray
    grad : numpy.ndarray
        ∂Σloss/∂z, float64, in the logits' layout.

    Examples
    --------
    >>> loss, grad = torch_loss_with_options_and_grad(np.zeros((1, 2)), np.array([1]), reduction="sum")
    >>> float(loss), grad
    (0.6931471805599453, array([[ 0.5, -0.5]]))
    """
    import torch

    z64 = as_float64(logits)
    if z64.ndim < 2:
        raise ValueError(f"logits must have a batch axis and a class axis, got shape {z64.shape}")
    target = target.detach().cpu().numpy() if _is_tensor(target) else np.asarray(target)
    axis = axis % z64.ndim
    z_t = torch.tensor(np.moveaxis(z64, axis, 1), dtype=torch.float64, requires_grad=True)
    t = np.moveaxis(target, axis, 1) if target.shape == z64.shape else target
    t_t = torch.tensor(t, dtype=torch.float64 if np.issubdtype(t.dtype, np.floating) else torch.int64)
    w_t = None if weight is None else torch.tensor(as_float64(weight), dtype=torch.float64)
    loss = torch_loss_with_options(
        z_t, t_t, reduction, weight=w_t, ignore_index=ignore_index, label_smoothing=label_smoothing, z_loss=z_loss
    )
    loss.sum().backward()
    grad = z_t.grad.numpy()
    return loss.detach().numpy(), np.moveaxis(grad, 1, axis)


def torch_hierarchical_softmax_log_prob_with_grad(
    node_scores: ArrayLike, target: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """log p(target) per row by torch (logsigmoid summed along each path), and the gradient of −Σ_rows log p.

    Parameters
    ----------
    node_scores : array_like
        Shape (N, K − 1).
    target : array_like
        Class indices, shape (N,).

    Returns
    -------
    log_prob : numpy.ndarray
        Shape (N,).
    grad : numpy.ndarray
        Of the scores' shape.

    Examples
    --------
    >>> log_prob, grad = torch_hierarchical_softmax_log_prob_with_grad(np.zeros((1, 2)), np.array([2]))
    >>> log_prob, grad
    (array([-0.69314718]), array([[0.5, 0. ]]))
    """
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
