"""Input checks shared by every softmax_lib function: real floating arrays and a valid class axis.

Accepted inputs are NumPy arrays, arrays of another Array API library (PyTorch tensors on the
CPU or CUDA), and Python scalars and lists (read as NumPy arrays). Arrays of two libraries in
one call are refused with a TypeError naming the arguments. NumPy masked arrays are refused too:
NumPy's ufuncs would silently drop the mask; put −inf at masked classes instead.
A 0-d array has no class axis and is refused (torch returns 1 for it); use ``z[None]``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from array_api_compat import array_namespace, is_array_api_obj

Array = Any  # any Array API array: numpy.ndarray, torch.Tensor, ...


def as_array(x: Any, name: str = "input") -> Array:
    """`x` itself if it is an array of some Array API namespace, else `numpy.asarray(x)`."""
    if isinstance(x, np.ma.MaskedArray):
        raise TypeError(
            f"{name} is a numpy masked array; softmax_lib would ignore its mask. Pass a plain array "
            f"with −inf at the masked classes (np.ma.filled({name}, -np.inf))"
        )
    return x if is_array_api_obj(x) else np.asarray(x)


def namespace(**arrays: Array):
    """The one Array API namespace of the named arrays; a TypeError naming them if they mix libraries."""
    try:
        return array_namespace(*arrays.values())
    except TypeError:
        kinds = ", ".join(
            f"{name} is a {type(a).__module__.split('.')[0]} {type(a).__name__}" for name, a in arrays.items()
        )
        raise TypeError(
            f"arrays from different libraries ({kinds}): pass all of them as NumPy arrays "
            f"or all as tensors of one library (torch.as_tensor / .numpy() converts)"
        ) from None


def as_float_array(x: Any, name: str) -> Array:
    """`x` as an array of real floats: floating dtypes are kept, integers and bools become float64."""
    x = as_array(x, name)
    xp = array_namespace(x)
    if xp.isdtype(x.dtype, "real floating"):
        return x
    if xp.isdtype(x.dtype, ("integral", "bool")):
        return xp.astype(x, xp.float64)
    raise TypeError(f"{name} must be a real numeric array, got dtype {x.dtype}")


def as_numpy_float_array(x: Any, name: str) -> np.ndarray:
    """`x` as a NumPy array of real floats, for the NumPy-only fast paths (a CPU tensor is converted)."""
    as_array(x, name)  # refuses a masked array, which numpy.asarray would unmask silently
    return as_float_array(np.asarray(x), name)


def class_axis(x: Array, axis: int, name: str) -> int:
    """Normalise `axis` for `x` and check that the class axis is not empty."""
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"axis must be an int, got {type(axis).__name__}")
    if not -x.ndim <= axis < x.ndim:
        hint = f" (a 0-d array has no class axis: pass {name}[None])" if x.ndim == 0 else ""
        raise np.exceptions.AxisError(f"axis {axis} is out of range for {name} with {x.ndim} dimension(s){hint}")
    axis = int(axis) % x.ndim
    if x.shape[axis] == 0:
        raise ValueError(f"{name} has an empty class axis (axis {axis} of shape {tuple(x.shape)})")
    return axis
