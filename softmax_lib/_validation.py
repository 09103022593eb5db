"""Input checks shared by every softmax_lib function: real floating arrays and a valid class axis."""

from __future__ import annotations

from typing import Any

import numpy as np
from array_api_compat import array_namespace, is_array_api_obj

Array = Any  # any Array API array: numpy.ndarray, torch.Tensor, ...


def as_array(x: Any) -> Array:
    """`x` itself if it is an array of some Array API namespace, else `numpy.asarray(x)`."""
    return x if is_array_api_obj(x) else np.asarray(x)


def as_float_array(x: Any, name: str) -> Array:
    """`x` as an array of real floats: floating dtypes are kept, integers and bools become float64."""
    x = as_array(x)
    xp = array_namespace(x)
    if xp.isdtype(x.dtype, "real floating"):
        return x
    if xp.isdtype(x.dtype, ("integral", "bool")):
        return xp.astype(x, xp.float64)
    raise TypeError(f"{name} must be a real numeric array, got dtype {x.dtype}")


def class_axis(x: Array, axis: int, name: str) -> int:
    """Normalise `axis` for `x` and check that the class axis is not empty."""
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"axis must be an int, got {type(axis).__name__}")
    if not -x.ndim <= axis < x.ndim:
        raise np.exceptions.AxisError(
            f"axis {axis} is out of range for {name} with {x.ndim} dimension(s)"
        )
    axis = int(axis) % x.ndim
    if x.shape[axis] == 0:
        raise ValueError(f"{name} has an empty class axis (axis {axis} of shape {tuple(x.shape)})")
    return axis
