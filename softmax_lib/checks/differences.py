"""Central differences in float64 and the bound on their error: the independent derivative check.

The step h = ε^(1/3)·max(1, |x|) balances the truncation error (∝ h²) against the rounding error
(∝ ε/h); `central_difference_error` states the resulting bound, which a check adds to its
tolerance when it compares a derivative with a difference quotient.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .tolerance import unit_roundoff

__all__ = [
    "THIRD_DERIVATIVE_SOFTMAX",
    "central_difference_step",
    "central_difference_error",
    "central_difference_jacobian",
]

# sup |d³σ/dt³| of the logistic function σ = 1/(1 + e^(−t)), attained where σ(1 − σ) = 1/4. Along one
# coordinate z_j, each p_i and each entry of p − y is such a function (scaled by at most 1), so 1/8 bounds
# the third derivative that the central difference's truncation error is made of.
THIRD_DERIVATIVE_SOFTMAX = 1 / 8


def central_difference_step(x: float) -> float:
    """h = ε^(1/3)·max(1, |x|) in float64: it balances truncation (∝ h²) against rounding (∝ ε/h).

    Parameters
    ----------
    x : float
        The point of the difference.

    Returns
    -------
    float

    Examples
    --------
    >>> h = central_difference_step(0.0)
    >>> print(f"{h:.3e}", float(central_difference_step(-10.0) / h))
    6.055e-06 10.0
    """
    return np.finfo(np.float64).eps ** (1 / 3) * max(1.0, abs(float(x)))


def central_difference_error(third_derivative: float, f_scale: float, f_units: float, x_scale: float = 1.0) -> float:
    """Bound on the absolute error of (f(x + h) − f(x − h)) / 2h in float64, h = central_difference_step.

        truncation h²·M₃/6  +  rounding c·u·|f| / h

    The step grows with |x| up to `x_scale`: the truncation term uses the largest step, the rounding
    term the smallest.

    Parameters
    ----------
    third_derivative : float
        M₃, a bound on the third derivative of f along the step.
    f_scale : float
        A bound on |f|.
    f_units : float
        c: each float64 evaluation of f is within c·u·|f|.
    x_scale : float, optional
        The largest |x| (default 1).

    Returns
    -------
    float

    Examples
    --------
    >>> print(f"{central_difference_error(THIRD_DERIVATIVE_SOFTMAX, 1.0, 10.0):.2e}")  # about ε^(2/3)
    1.84e-10
    """
    u = unit_roundoff(np.float64)
    h_small, h_large = central_difference_step(1.0), central_difference_step(x_scale)
    return h_large**2 * third_derivative / 6 + f_units * u * f_scale / h_small


def central_difference_jacobian(f: Callable[[NDArray[np.float64]], ArrayLike], x: ArrayLike) -> NDArray[np.float64]:
    """∂f/∂x by central differences (f(x + h e_j) − f(x − h e_j)) / 2h, h = central_difference_step(x_j).

    Its error is bounded by `central_difference_error`.

    Parameters
    ----------
    f : callable
        A function of a float64 array of x's shape.
    x : array_like
        The point.

    Returns
    -------
    numpy.ndarray
        Shape f(x).shape + x.shape.

    Examples
    --------
    >>> central_difference_jacobian(lambda x: x**2, np.array([1.0, 2.0])).round(6)
    array([[2., 0.],
           [0., 4.]])
    """
    x = np.asarray(x, dtype=np.float64)
    out_shape = np.shape(f(x))
    jac = np.empty(out_shape + (x.size,))
    flat = x.ravel()
    for j in range(flat.size):
        h = central_difference_step(flat[j])
        up, down = flat.copy(), flat.copy()
        up[j] += h
        down[j] -= h
        diff = np.asarray(f(up.reshape(x.shape))) - np.asarray(f(down.reshape(x.shape)))
        jac[..., j] = diff / (up[j] - down[j])
    return jac.reshape(out_shape + x.shape)
