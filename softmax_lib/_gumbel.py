"""Sampling by perturbed logits: Gumbel-max and its relaxation, Gumbel-softmax.

gumbel_max and gumbel_softmax take any Array API array (NumPy, PyTorch tensors on the CPU or CUDA)
and keep its type and device; sample_gumbel draws from a NumPy Generator.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._softmax import softmax
from ._validation import as_float_array, class_axis, namespace

__all__ = ["sample_gumbel", "gumbel_max", "gumbel_softmax"]


def sample_gumbel(shape: int | tuple[int, ...], rng: np.random.Generator) -> NDArray[np.float64]:
    """Standard Gumbel noise g = −log(−log U), U ~ Uniform(0, 1), of the given shape.

    Parameters
    ----------
    shape : int or tuple of int
        The shape of the sample.
    rng : numpy.random.Generator
        The source of randomness (seed it for a reproducible draw).

    Returns
    -------
    numpy.ndarray
        float64 noise of that shape.

    Examples
    --------
    >>> g = sl.sample_gumbel((2, 3), np.random.default_rng(0))
    >>> g.shape, g.dtype
    ((2, 3), dtype('float64'))
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    return rng.gumbel(size=shape)


def gumbel_max(logits: ArrayLike, gumbels: ArrayLike, axis: int = -1) -> NDArray[np.intp]:
    """argmax_k (z_k + g_k): with g standard Gumbel noise, the index k is drawn with probability softmax(z)_k.

    Parameters
    ----------
    logits : array_like
        Logits z: a NumPy array or an Array API array.
    gumbels : array_like
        Gumbel noise g, broadcastable against the logits (logits of shape (K,) with noise of shape
        (n, K) are n draws).
    axis : int, optional
        The class axis of the broadcast sum (default the last).

    Returns
    -------
    array
        Integer class indices, of the broadcast shape without `axis`.

    Examples
    --------
    >>> sl.gumbel_max([0.0, 1.0, 0.0], [[0.0, 0.0, 2.0], [0.5, 0.0, 0.0]])
    array([2, 1])
    """
    logits, gumbels = as_float_array(logits, "logits"), as_float_array(gumbels, "gumbels")
    xp = namespace(logits=logits, gumbels=gumbels)
    perturbed = logits + gumbels
    # Logits of shape (K,) with noise of shape (n, K) are n draws: the class axis is the broadcast one's.
    return xp.argmax(perturbed, axis=class_axis(perturbed, axis, "logits + gumbels"))


def gumbel_softmax(logits: ArrayLike, gumbels: ArrayLike, temperature: float, axis: int = -1) -> NDArray[np.floating]:
    """y = softmax((z + g) / T): a point in the simplex, differentiable in z, whose argmax is `gumbel_max`.

    As T → 0 it tends to the one-hot vector of argmax(z + g); as T → ∞, to the uniform vector
    (Jang, Gu & Poole 2017).

    Parameters
    ----------
    logits : array_like
        Logits z.
    gumbels : array_like
        Gumbel noise g, broadcastable against the logits.
    temperature : float
        T > 0, finite.
    axis : int, optional
        The class axis (default the last).

    Returns
    -------
    array
        y, of the broadcast shape.

    Examples
    --------
    >>> sl.gumbel_softmax([0.0, 1.0], [0.0, 0.0], temperature=0.01)
    array([3.72007598e-44, 1.00000000e+00])
    """
    if not np.isfinite(temperature) or temperature <= 0:
        raise ValueError(f"temperature must be a positive finite number, got {temperature!r}")
    logits = as_float_array(logits, "logits")
    gumbels = as_float_array(gumbels, "gumbels")
    namespace(logits=logits, gumbels=gumbels)
    return softmax((logits + gumbels) / temperature, axis=axis)
