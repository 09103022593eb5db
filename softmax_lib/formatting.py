"""Printing numbers in the book: plain decimal text, identical on every machine."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def significant(values: ArrayLike, digits: int = 6) -> str:
    """`values` to `digits` significant digits, trailing zeros kept, with no NumPy scalar repr.

    A scalar gives "0.117310"; an array gives "[0.0158762, 0.866813, 0.117310]".
    """
    if np.ndim(values) == 0:
        return f"{float(values):#.{digits}g}"
    return "[" + ", ".join(f"{float(v):#.{digits}g}" for v in np.ravel(values)) + "]"
