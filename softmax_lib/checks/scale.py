"""Checks of the cross-entropy at scale: the loss options (weight, ignore_index, label_smoothing, z_loss).

The reference is `oracles.torch_loss_with_options` (torch.nn.functional.cross_entropy plus the z-loss)
in float64 on the same rounded inputs, differentiated by torch autograd, and central differences of
it. softmax_lib computes half types in float32 and rounds the result once, so a side's bound is
c·u(float32) + u(dtype)·|value|/scale there, c·u(dtype) otherwise. The library functions are looked up in
this module's namespace, so a test can put a wrong one in their place and watch the check fail.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .._cross_entropy import cross_entropy, cross_entropy_grad, cross_entropy_with_grad
from .differences import central_difference_error, central_difference_jacobian
from .option_bounds import (
    options_grad_units,
    options_loss_units,
    options_scales,
    side_tolerance,
)
from .oracles import checked_array, float64_target, torch_loss_with_options_and_grad
from .tolerance import (
    CheckResult,
    compare,
    unit_roundoff,
)

__all__ = ["check_loss_options"]


def check_loss_options(
    logits: ArrayLike,
    target: ArrayLike,
    reduction: str = "mean",
    *,
    weight: ArrayLike | None = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    z_loss: float = 0.0,
    axis: int = -1,
    dtype: Any = "float64",
    device: Any = None,
) -> list[CheckResult]:
    """cross_entropy, cross_entropy_grad and cross_entropy_with_grad with options against torch, and the
    gradient against central differences.

    Reference: `oracles.torch_loss_with_options_and_grad` in float64 on the inputs rounded to `dtype`
    (probability rows divided by their sum: a rounded distribution sums to 1 within (K + 1)u, charged
    to our side as K + 1 units of u(dtype)). Measure "scaled" with `options_scales`. Loss: each side
    within `options_loss_units`, gradient within `options_grad_units` (ours in `dtype`, see
    `side_tolerance`; torch's in float64). Central differences of the float64 reference: scale the
    largest gradient scale, `central_difference_error` with M₃ from `options_scales` added.

    Examples
    --------
    >>> import numpy as np
    >>> z = np.random.default_rng(0).normal(size=(4, 3))
    >>> all(r.passed for r in check_loss_options(z, np.array([0, 2, -100, 1]), weight=[1.0, 2.0, 0.5],
    ...                                           label_smoothing=0.1, z_loss=0.01))
    True

    Parameters
    ----------
    logits : array_like
        Float64 data, rounded to `dtype`.
    target : array_like
        Class indices, or probabilities of the logits' shape.
    reduction : {"mean", "sum", "none"}, optional
    weight, ignore_index, label_smoothing, z_loss
        As for `softmax_lib.cross_entropy`.
    axis : int, optional
        The class axis (default the last).
    dtype : str, numpy dtype or torch.dtype, optional
        The dtype to check in (default float64).
    device : torch.device or str, optional
        None: NumPy where NumPy has the dtype; else torch on that device (see `checked_array`).

    Returns
    -------
    list of CheckResult
        One per comparison; the check passes when every one has passed.
    """
    x, z64 = checked_array(np.asarray(logits, dtype=np.float64), dtype, device)
    target_x, target64 = checked_array(target, dtype, device)
    is_probability = np.issubdtype(target64.dtype, np.floating)
    target64 = float64_target(target64, axis)
    weight_x, weight64 = (
        (None, None) if weight is None else checked_array(np.asarray(weight, np.float64), dtype, device)
    )
    options = dict(weight=weight_x, ignore_index=ignore_index, label_smoothing=label_smoothing, z_loss=z_loss)
    options64 = dict(options, weight=weight64)
    loss_ref, grad_ref = torch_loss_with_options_and_grad(z64, target64, axis, reduction, **options64)
    loss_scale, grad_scale, third = options_scales(
        z64,
        target64,
        axis,
        reduction,
        weight64=weight64,
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
        z_loss=z_loss,
    )
    k = z64.shape[axis]
    n_rows = z64.size // k
    spread = float(np.max(np.ptp(z64, axis=axis)))
    target_units = (k + 1) * unit_roundoff(dtype) if is_probability else 0.0
    loss_units = options_loss_units(k, n_rows, reduction)
    grad_units = options_grad_units(k, spread, n_rows, reduction)
    u64 = unit_roundoff("float64")  # the reference's side
    loss_tol = side_tolerance(loss_units, dtype, loss_ref, loss_scale) + target_units + loss_units * u64
    grad_tol = side_tolerance(grad_units, dtype, grad_ref, grad_scale) + target_units + grad_units * u64

    def total(z):
        return float(np.sum(torch_loss_with_options_and_grad(z, target64, axis, reduction, **options64)[0]))

    fd_error = central_difference_error(
        third, float(np.sum(loss_scale)), loss_units + n_rows, float(np.max(np.abs(z64)))
    )
    fd_scale = float(grad_scale.max())
    label = (
        f"{'probability' if is_probability else 'index'} target, {reduction}, "
        f"weight={'yes' if weight is not None else 'no'}, ε={label_smoothing}, c={z_loss}"
    )
    args = (x, target_x, axis, reduction)
    fused_loss, fused_grad = cross_entropy_with_grad(*args, **options)
    grad = cross_entropy_grad(*args, **options)
    return [
        compare(
            f"cross_entropy vs torch ({label})",
            cross_entropy(*args, **options),
            loss_ref,
            loss_tol,
            measure="scaled",
            scale=loss_scale,
        ),
        compare(
            f"cross_entropy_grad vs torch autograd ({label})",
            grad,
            grad_ref,
            grad_tol,
            measure="scaled",
            scale=grad_scale,
        ),
        compare(
            f"cross_entropy_with_grad loss vs torch ({label})",
            fused_loss,
            loss_ref,
            loss_tol,
            measure="scaled",
            scale=loss_scale,
        ),
        compare(
            f"cross_entropy_with_grad gradient vs torch autograd ({label})",
            fused_grad,
            grad_ref,
            grad_tol,
            measure="scaled",
            scale=grad_scale,
        ),
        compare(
            f"cross_entropy_grad vs central differences ({label})",
            grad,
            central_difference_jacobian(total, z64),
            side_tolerance(grad_units, dtype, grad_ref, fd_scale) + target_units + fd_error / fd_scale,
            measure="scaled",
            scale=fd_scale,
        ),
    ]
