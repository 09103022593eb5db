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
from .cases import loss_units
from .oracles import checked_array, float64_target, softmax64, torch_loss_with_options_and_grad
from .tolerance import (
    THIRD_DERIVATIVE_SOFTMAX,
    CheckResult,
    _float64_numpy,
    central_difference_error,
    central_difference_jacobian,
    compare,
    dtype_name,
    logsumexp_log_units,
    softmax_bound_units,
    unit_roundoff,
)

__all__ = [
    "check_loss_options",
    "options_loss_units",
    "options_grad_units",
    "options_scales",
    "linear_options_bounds",
    "side_tolerance",
]

# Steps a row takes beyond the plain loss: the weight product, (1 − ε)·, (ε/K)·, their sum, and the
# rounding of the two constants 1 − ε and ε/K.
OPTION_STEPS = 6


def options_loss_units(n_classes: int, n_rows: int, reduction: str) -> float:
    """Bound, in u, on the loss with options relative to its scale (`options_scales`):

        max(loss_units(K) + 6, 2L + 2) + 1  +  {none: 0, sum: R − 1, mean: 2R + 2}

    Cross-entropy part: `loss_units`(K) relative to (Σ_k b_k)(max_k |z_k − m| + log K + 1), plus 6 steps
    (OPTION_STEPS). z-term c·lse²: lse = m + log s is within L·A (L = logsumexp_log_units(K),
    A = |m| + log K + 1 ≥ |lse|), its square 2L + 1 relative to A², the product with c one more.
    Adding the two parts: 1. "sum" adds R − 1 for R rows; "mean" the R − 1 of the sum, the R − 1 of
    the divisor D = Σ w_t, the division and the sum of the two parts' means.
    """
    lse_units = logsumexp_log_units(n_classes)
    row = max(loss_units(n_classes) + OPTION_STEPS, 2 * lse_units + 2) + 1
    return row + {"none": 0, "sum": n_rows - 1, "mean": 2 * n_rows + 2}[reduction]


def options_grad_units(n_classes: int, spread: float, n_rows: int, reduction: str) -> float:
    """Bound, in u, on ∂L/∂z = ((Σ_k b_k) p − b)/D + 2c·lse·p/N_kept relative to its componentwise scale:

        b + K + L + 8  (+ R for "mean")

    p within b = softmax_bound_units(K, spread); Σ_k b_k a K-term sum (K − 1) and its product with p;
    the subtraction of b and of the smoothing term (2 products, 2 subtractions); the z-term carries
    lse (L) times p (b) — its bound is within the same count; the sum of both terms 1. "mean" divides by
    D, a sum of R weights: R − 1 and the division.
    """
    b = softmax_bound_units(n_classes, spread)
    return b + n_classes + logsumexp_log_units(n_classes) + 8 + (n_rows if reduction == "mean" else 0)


def _coefficients(
    z_rows: np.ndarray, target_rows: np.ndarray, weight64: np.ndarray | None, ignore_index: int, label_smoothing: float
) -> tuple[np.ndarray, np.ndarray]:
    """The target coefficients b_nk (rows × K) of the module docstring of _cross_entropy, and the kept rows."""
    k = z_rows.shape[-1]
    w = np.ones(k) if weight64 is None else np.asarray(weight64, dtype=np.float64)
    if target_rows.shape == z_rows.shape:
        return w * ((1 - label_smoothing) * target_rows + label_smoothing / k), np.ones(len(z_rows), bool)
    kept = target_rows != ignore_index
    one_hot = (np.where(kept, target_rows, 0)[:, None] == np.arange(k)).astype(np.float64)
    b = (1 - label_smoothing) * w * one_hot + label_smoothing / k * w
    return b * kept[:, None], kept


def options_scales(
    logits64: np.ndarray,
    target64: np.ndarray,
    axis: int = -1,
    reduction: str = "mean",
    *,
    weight64: np.ndarray | None = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    z_loss: float = 0.0,
) -> tuple[Any, np.ndarray, float]:
    """The data-derived scales of the loss with options: (loss scale, gradient scale, third-derivative bound).

    Per row, with B = Σ_k b_k, A = |m| + log K + 1 and the z-term on kept rows only:

    * loss: S = B (max z − min z + log K + 1) + c A², summed for "sum"; for "mean" the cross-entropy
      part over D (torch's divisor) and the z-part over N_kept; per row for "none";
    * gradient, componentwise: (B p_k + |b_k|)/D + 2c A p_k / N_kept (D = N_kept = 1 unless "mean");
    * M₃ along one logit: B/8 / D (THIRD_DERIVATIVE_SOFTMAX) + c (3/2 + A/4) / N_kept, from
      (lse²)''' = 6 p p' + 2 lse p'' with |p p'| ≤ 1/4, |p''| ≤ 1/8.
    """
    z_rows = np.moveaxis(logits64, axis, -1)
    batch_shape, k = z_rows.shape[:-1], z_rows.shape[-1]
    z_rows = z_rows.reshape(-1, k)
    t = np.asarray(target64)
    t_rows = np.moveaxis(t, axis, -1).reshape(-1, k) if t.shape == logits64.shape else t.reshape(-1)
    b, kept = _coefficients(z_rows, t_rows, weight64, ignore_index, label_smoothing)
    big_b = b.sum(axis=1)
    a = np.abs(z_rows.max(axis=1)) + np.log(k) + 1
    ce_scale = big_b * (np.ptp(z_rows, axis=1) + np.log(k) + 1)
    z_scale = z_loss * a**2 * kept
    d_ce, d_z = 1.0, 1.0
    if reduction == "mean":
        if t_rows.ndim == 2:
            d_ce = float(len(z_rows))
        elif weight64 is None:
            d_ce = float(kept.sum())
        else:
            d_ce = float(np.asarray(weight64)[t_rows[kept]].sum())
        d_z = float(kept.sum())
    if reduction == "none":
        loss_scale = (ce_scale + z_scale).reshape(batch_shape)
    else:
        loss_scale = float(ce_scale.sum() / d_ce + z_scale.sum() / d_z)
    p = softmax64(z_rows)
    grad_rows = (big_b[:, None] * p + np.abs(b)) / d_ce + 2 * z_loss * (a * kept)[:, None] * p / d_z
    grad_scale = np.moveaxis(grad_rows.reshape(batch_shape + (k,)), -1, axis)
    third = float(np.max(big_b)) * THIRD_DERIVATIVE_SOFTMAX / d_ce + z_loss * (1.5 + float(np.max(a)) / 4) / d_z
    return loss_scale, grad_scale, third


def side_tolerance(units: float, dtype: Any, reference: Any = None, scale: Any = None) -> float:
    """c·u of one side in `dtype`, in units of `scale`. Half types are computed in float32 and rounded once:
    c·u(float32) + u(dtype)·max |reference| / scale (that rounding is relative to the value, not to its scale)."""
    name = dtype_name(dtype)
    if name in ("float16", "bfloat16"):
        with np.errstate(divide="ignore", invalid="ignore"):
            reference, scale = _float64_numpy(reference), _float64_numpy(scale)
            ratio = np.where(reference == 0, 0.0, np.abs(reference) / scale)
        return units * unit_roundoff("float32") + unit_roundoff(name) * float(np.max(ratio, initial=0.0))
    return units * unit_roundoff(name)


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


def linear_options_bounds(
    hidden: ArrayLike,
    weight: ArrayLike,
    bias: ArrayLike | None,
    target: ArrayLike,
    reduction: str = "mean",
    grad_output: ArrayLike = 1.0,
    *,
    class_weight: ArrayLike | None = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    z_loss: float = 0.0,
    extra_units: float = 0.0,
) -> dict[str, np.ndarray]:
    """First-order error bounds, in units of u (absolute: multiply by u), of the loss with options of a linear
    layer z = h Wᵀ + b (h: N × D, W: V × D) and of the gradients of Σ grad_output ⊙ loss in h, W and b.

    Each logit is a (D + 1)-term sum: absolute error c_z = (D + 1)·max_k(|h_n||W_k| + |b_k|) units per row n.
    Loss: `options_loss_units` (+ `extra_units`) times its scale (`options_scales`), plus c_z times the row
    sum of the gradient scale (the loss moves by at most |∂L/∂z|·δz). ∂L/∂z: `options_grad_units` + 3c_z + 1
    times its scale |g| ⊙ |grad_output| (δz moves p by 2c_z relative and lse by c_z; the product with
    grad_output 1); then ∂/∂h = g W adds V, ∂/∂W = gᵀh and ∂/∂b = Σ_n g add N, relative to |g||W|, |g|ᵀ|h|
    and Σ|g|.
    Keys: "loss", "hidden", "weight", "bias", "logits" (the bound of ∂/∂z).
    """
    h64, w64 = np.asarray(hidden, np.float64), np.asarray(weight, np.float64)
    b64 = np.zeros(w64.shape[0]) if bias is None else np.asarray(bias, np.float64)
    z64 = h64 @ w64.T + b64
    n_rows, n_features = h64.shape
    n_classes = w64.shape[0]
    c_z = (n_features + 1) * np.max(np.abs(h64) @ np.abs(w64).T + np.abs(b64), axis=1)
    weight64 = None if class_weight is None else np.asarray(class_weight, np.float64)
    loss_scale, grad_scale, _ = options_scales(
        z64,
        np.asarray(target),
        -1,
        reduction,
        weight64=weight64,
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
        z_loss=z_loss,
    )
    logit_term = c_z * grad_scale.sum(axis=1)
    loss_units_ = options_loss_units(n_classes, n_rows, reduction) + extra_units
    loss = loss_units_ * np.asarray(loss_scale) + (logit_term if reduction == "none" else logit_term.sum())
    go = np.abs(np.asarray(grad_output, np.float64))
    g = grad_scale * (go[:, None] if go.ndim else go)
    units = options_grad_units(n_classes, float(np.max(np.ptp(z64, axis=1))), n_rows, reduction) + extra_units
    gz = (units + 3 * c_z + 1)[:, None] * g
    return {
        "loss": loss,
        "logits": gz,
        "hidden": (gz + n_classes * g) @ np.abs(w64),
        "weight": (gz + n_rows * g).T @ np.abs(h64),
        "bias": np.sum(gz + n_rows * g, axis=0),
    }
