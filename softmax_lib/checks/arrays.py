"""The conversions of the verification kit: the torch device and dtype of a check, and its input arrays.

`to_torch` is the one conversion helper; `checked_array` rounds a check's float64 data to its dtype,
so that softmax_lib and its references see the same inputs. torch is imported only when asked for.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .tolerance import NUMPY_DTYPES, dtype_name

__all__ = ["DEVICE_VARIABLE", "torch_device", "torch_dtype", "to_torch", "checked_array", "float64_target"]

DEVICE_VARIABLE = "SOFTMAX_LIB_DEVICE"


def torch_device():
    """The torch device to check on: CUDA when torch sees one, else the CPU.

    The environment variable SOFTMAX_LIB_DEVICE=cpu or =cuda forces either; any other value raises
    ValueError naming the variable.

    Returns
    -------
    torch.device

    Examples
    --------
    >>> torch_device().type in ("cpu", "cuda")
    True
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
    """The torch dtype of that name: torch.bfloat16 for "bfloat16", np.float32 or torch.float32.

    Parameters
    ----------
    dtype : str, numpy dtype or torch.dtype

    Returns
    -------
    torch.dtype

    Examples
    --------
    >>> torch_dtype("bfloat16"), torch_dtype(np.float32)
    (torch.bfloat16, torch.float32)
    """
    import torch

    return getattr(torch, dtype_name(dtype))


def to_torch(x: Any, device: Any = None, dtype: Any = None):
    """`x` as a torch tensor, NumPy data on `device`; a tensor is moved only when `device` is given.

    Parameters
    ----------
    x : array_like or torch.Tensor
        Integer NumPy data stays integer.
    device : torch.device or str, optional
        Default for NumPy data: torch_device().
    dtype : str, numpy dtype or torch.dtype, optional
        Converts floating data.

    Returns
    -------
    torch.Tensor

    Examples
    --------
    >>> t = to_torch(np.array([1.0, 2.0]), "cpu", "float32")
    >>> t.dtype, t.device.type
    (torch.float32, 'cpu')
    """
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
    sides of a check see the same inputs; integer data (class targets) is kept as it is.

    Parameters
    ----------
    x : array_like
        The data, in float64 (or integers).
    dtype : str, numpy dtype or torch.dtype, optional
        The dtype to check in (default float64).
    device : torch.device or str, optional
        None: NumPy when NumPy has the dtype; else a torch tensor on `device` (or torch_device()).

    Returns
    -------
    x_checked : numpy.ndarray or torch.Tensor
        The rounded data.
    x64 : numpy.ndarray
        The same values in float64 (integers unchanged).

    Examples
    --------
    >>> x, x64 = checked_array([0.1], "float16")
    >>> x.dtype, float(x64[0])
    (dtype('float16'), 0.0999755859375)
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
    """The rounded target for the float64 references.

    Indices as they are; probability rows divided by their sum, which rounding to a narrow dtype moves
    off 1 by up to ~K·u.

    Parameters
    ----------
    target64 : numpy.ndarray
        Class indices, or probabilities (as float64) with the classes on `axis`.
    axis : int, optional
        The class axis (default the last).

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> float64_target(np.array([0.25, 0.25]))
    array([0.5, 0.5])
    """
    if np.issubdtype(target64.dtype, np.integer):
        return target64
    return target64 / np.sum(target64, axis=axis, keepdims=True)
