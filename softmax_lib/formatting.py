"""Printing numbers in the book: plain decimal text, identical on every machine."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["significant"]


def significant(values: ArrayLike, digits: int = 6) -> str:
    """`values` to `digits` significant digits, trailing zeros kept, with no NumPy scalar repr.

    Parameters
    ----------
    values : array_like
        A number or an array of numbers (any shape: it is printed flattened).
    digits : int, optional
        Significant digits, 6 by default.

    Returns
    -------
    str
        The number, or the numbers as "[a, b, ...]", in `%#.{digits}g` format.

    Examples
    --------
    >>> significant(0.11731)
    '0.117310'
    >>> significant(np.array([1 / 63, 0.8668134, 0.11731]))
    '[0.0158730, 0.866813, 0.117310]'
    >>> significant(np.float32(1e-8), digits=2)
    '1.0e-08'
    """
    if np.ndim(values) == 0:
        return f"{float(values):#.{digits}g}"
    return "[" + ", ".join(f"{float(v):#.{digits}g}" for v in np.ravel(values)) + "]"
