"""The online normalizer of Milakov & Gimelshein (2018): softmax and logsumexp with a single pass for Σ exp.

The safe softmax reads its input three times: once for m = max z, once for d = Σ exp(z − m),
and once more to write exp(z − m) / d. The online normalizer gets m and d in *one* pass by
keeping a running maximum and rescaling the running sum whenever the maximum grows:

    m_j = max(m_{j−1}, z_j),    d_j = d_{j−1} · exp(m_{j−1} − m_j) + exp(z_j − m_j),

so that d_j = Σ_{k≤j} exp(z_k − m_j) holds exactly after every step. The same update merges
the states of two chunks, (m, d) = (m₁, d₁) ⊕ (m₂, d₂), which is what lets a softmax or a
logsumexp run over an axis delivered in chunks that are never held in memory together.

A state (m, d) stands for the number d · exp(s(m)) with s(m) = m for finite m and 0 otherwise,
so that logsumexp gives `logsumexp`'s answer for rows holding ±inf or NaN (+inf, −inf, NaN). A
row whose max is not finite has no softmax (inf − inf in the shift): it is all NaN, as there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._validation import as_numpy_float_array, class_axis

__all__ = [
    "merge_normalizers",
    "online_normalizer",
    "online_logsumexp",
    "online_softmax",
    "streaming_logsumexp",
    "streaming_softmax",
]


def _shift(m: np.ndarray) -> np.ndarray:
    """s(m): the shift of a state, m where m is finite and 0 elsewhere."""
    return np.where(np.isfinite(m), m, np.zeros_like(m))


def _normalized(chunk: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """exp(chunk − m) / d, all NaN in a row whose max m is ±inf or NaN (as `softmax` gives)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.where(np.isfinite(m), np.exp(chunk - _shift(m)) / d, np.nan)


def _rescale(d: np.ndarray, old_shift: np.ndarray, new_shift: np.ndarray) -> np.ndarray:
    """d · exp(old_shift − new_shift): a sum of exp(z − old_shift) re-expressed after the shift new_shift."""
    # d = 0 only for an empty or all −inf prefix; its factor may be exp(+huge) = inf, and 0 · inf is NaN.
    # old_shift − new_shift may overflow to −inf (m₁ = −1e308, m = 1e308): its exp is the right 0.
    with np.errstate(over="ignore", invalid="ignore"):
        return np.where(d == 0, np.zeros_like(d), d * np.exp(old_shift - new_shift))


def merge_normalizers(
    m1: ArrayLike, d1: ArrayLike, m2: ArrayLike, d2: ArrayLike
) -> tuple[NDArray[np.floating], NDArray[np.floating]]:
    """(m, d) = (m₁, d₁) ⊕ (m₂, d₂) with m = max(m₁, m₂), d = d₁ exp(m₁ − m) + d₂ exp(m₂ − m).

    If d₁ = Σ_{k∈A} exp(z_k − m₁) and d₂ = Σ_{k∈B} exp(z_k − m₂), then d = Σ_{k∈A∪B} exp(z_k − m):
    both factors are exp of a non-positive number, so nothing overflows. ⊕ is associative and
    commutative, so chunks may be merged in any order or as a tree.

    Parameters
    ----------
    m1, d1 : array_like
        The state of one part: its max and its rescaled sum (as `online_normalizer` returns them).
    m2, d2 : array_like
        The state of the other part, broadcastable against the first.

    Returns
    -------
    m : numpy.ndarray
        The max of both parts.
    d : numpy.ndarray
        Σ exp(z_k − m) over both parts.

    Examples
    --------
    >>> m, d = sl.merge_normalizers(0.0, 1.0, 2.0, 1.0)  # the states of [0] and [2]
    >>> float(m), float(d), float(m + np.log(d)) == float(sl.logsumexp([0.0, 2.0]))
    (2.0, 1.1353352832366128, True)
    """
    m1, d1, m2, d2 = (np.asarray(a) for a in (m1, d1, m2, d2))
    m = np.maximum(m1, m2)
    s = _shift(m)
    return m, _rescale(d1, _shift(m1), s) + _rescale(d2, _shift(m2), s)


def _chunk_state(chunk: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    m = np.max(chunk, axis=axis, keepdims=True)
    with np.errstate(over="ignore"):  # z − m may overflow to −inf (z = −1e308, m = 1e308): exp gives the right 0
        return m, np.sum(np.exp(chunk - _shift(m)), axis=axis, keepdims=True)


def _fold(chunks: Iterable[tuple[np.ndarray, int]]) -> tuple[np.ndarray, np.ndarray, int]:
    """The state (m, d) of (chunk, class axis) pairs, each chunk's state merged into the running one; and the axis.

    The one loop of the online normalizer, `streaming_logsumexp` and `streaming_softmax`.
    """
    m = d = axis = None
    for chunk, axis in chunks:
        cm, cd = _chunk_state(chunk, axis)
        m, d = (cm, cd) if m is None else merge_normalizers(m, d, cm, cd)
    return m, d, axis


def _logsumexp_of(m: np.ndarray, d: np.ndarray, axis: int, keepdims: bool) -> np.ndarray:
    """s(m) + log d, the logsumexp a state stands for."""
    with np.errstate(divide="ignore"):  # log 0 = −inf for an all −inf row
        out = _shift(m) + np.log(d)
    return out if keepdims else np.squeeze(out, axis=axis)


def _split(z: np.ndarray, axis: int, chunk_size: int) -> Iterator[np.ndarray]:
    n = z.shape[axis]
    lead = (slice(None),) * axis
    for start in range(0, n, chunk_size):
        yield z[lead + (slice(start, min(start + chunk_size, n)),)]


def online_normalizer(
    z: ArrayLike, axis: int = -1, chunk_size: int = 1
) -> tuple[NDArray[np.floating], NDArray[np.floating]]:
    """The running max m and rescaled running sum d = Σ_k exp(z_k − m) after one pass along `axis`.

    chunk_size=1 is the element-by-element recurrence of Milakov & Gimelshein (a Python loop over
    the axis, vectorised over the other axes: for exposition and tests); a larger chunk folds
    whole chunks with `merge_normalizers`.

    Parameters
    ----------
    z : array_like
        Logits (NumPy).
    axis : int, optional
        The class axis (default the last).
    chunk_size : int, optional
        Elements of the axis read per step (default 1).

    Returns
    -------
    m : numpy.ndarray
        The max along `axis`, with `z`'s shape and the axis of length 1.
    d : numpy.ndarray
        Σ_k exp(z_k − m), of the same shape.

    Examples
    --------
    >>> m, d = sl.online_normalizer([[0.0, 1.0, 2.0]])
    >>> m, d.round(6)
    (array([[2.]]), array([[1.503215]]))
    """
    z = as_numpy_float_array(z, "z")
    axis = class_axis(z, axis, "z")
    if not isinstance(chunk_size, (int, np.integer)) or isinstance(chunk_size, bool) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive int, got {chunk_size!r}")
    m, d, _ = _fold((chunk, axis) for chunk in _split(z, axis, chunk_size))
    return m, d


def online_logsumexp(
    z: ArrayLike, axis: int = -1, chunk_size: int = 4096, keepdims: bool = False
) -> NDArray[np.floating]:
    """log Σ_k exp(z_k) = s(m) + log d from the one-pass online normalizer.

    Parameters
    ----------
    z : array_like
        Logits (NumPy).
    axis : int, optional
        The class axis to reduce (default the last).
    chunk_size : int, optional
        Elements of the axis folded per step (default 4096).
    keepdims : bool, optional
        Keep the reduced axis with length 1.

    Returns
    -------
    numpy.ndarray
        As `logsumexp` returns it.

    Examples
    --------
    >>> sl.online_logsumexp(np.log([[1.0, 2.0, 5.0]]), chunk_size=2)
    array([2.07944154])
    """
    m, d = online_normalizer(z, axis, chunk_size)
    return _logsumexp_of(m, d, class_axis(m, axis, "z"), keepdims)


def online_softmax(z: ArrayLike, axis: int = -1, chunk_size: int = 4096) -> NDArray[np.floating]:
    """p = exp(z − m) / d with (m, d) from the online normalizer: two reads of `z` instead of three.

    Parameters
    ----------
    z : array_like
        Logits (NumPy).
    axis : int, optional
        The class axis (default the last).
    chunk_size : int, optional
        Elements of the axis folded per step of the first pass (default 4096).

    Returns
    -------
    numpy.ndarray
        p, of `z`'s shape and dtype.

    Examples
    --------
    >>> sl.online_softmax([1.0, 2.0, 3.0], chunk_size=2)
    array([0.09003057, 0.24472847, 0.66524096])
    """
    z = as_numpy_float_array(z, "z")
    m, d = online_normalizer(z, axis, chunk_size)
    return _normalized(z, m, d)


def _chunk_axis(first: np.ndarray, axis: int) -> int:
    return class_axis(first, axis, "a chunk")


def _checked_chunks(chunks: Iterable[ArrayLike], axis: int) -> Iterator[tuple[np.ndarray, int]]:
    """Each chunk as a float array, with the class axis checked against the first chunk's other axes."""
    other_shape = None
    for i, chunk in enumerate(chunks):
        chunk = as_numpy_float_array(chunk, f"chunk {i}")
        ax = _chunk_axis(chunk, axis)
        shape = chunk.shape[:ax] + chunk.shape[ax + 1 :]
        if other_shape is None:
            other_shape = shape
        elif shape != other_shape:
            raise ValueError(f"chunk {i} has shape {chunk.shape}; its axes other than {axis} must be {other_shape}")
        yield chunk, ax
    if other_shape is None:
        raise ValueError("chunks is empty: the softmax of an empty axis is undefined")


def streaming_logsumexp(chunks: Iterable[ArrayLike], axis: int = -1, keepdims: bool = False) -> NDArray[np.floating]:
    """logsumexp over the concatenation of `chunks` along `axis`, reading each chunk once and keeping none.

    Memory: one chunk plus the (m, d) state, whatever the total length of the axis.

    Parameters
    ----------
    chunks : iterable of array_like
        The pieces of the axis, in any order; their other axes must agree. A generator will do.
    axis : int, optional
        The class axis of each chunk (default the last).
    keepdims : bool, optional
        Keep the reduced axis with length 1.

    Returns
    -------
    numpy.ndarray
        As `logsumexp` of the concatenation returns it.

    Examples
    --------
    >>> chunks = (np.log([[1.0, 2.0]]), np.log([[5.0]]))
    >>> sl.streaming_logsumexp(chunks)  # log 8
    array([2.07944154])
    """
    m, d, ax = _fold(_checked_chunks(chunks, axis))
    return _logsumexp_of(m, d, ax, keepdims)


def streaming_softmax(
    chunks: Iterable[ArrayLike] | Callable[[], Iterable[ArrayLike]], axis: int = -1
) -> Iterator[NDArray[np.floating]]:
    """softmax over the concatenation of the chunks along `axis`, yielded chunk by chunk.

    Two passes over the data, the fewest possible when the output is written out: pass 1 runs
    the online normalizer (one read), pass 2 yields exp(chunk − m) / d (one read, one write).

    Parameters
    ----------
    chunks : sequence of array_like, or callable
        The pieces of the axis. They are read twice: a sequence such as a list or a memory-mapped
        array's blocks, or a callable that returns a fresh iterable of the same chunks each time.
        A one-shot iterator (a generator) is refused rather than silently yielding nothing.
    axis : int, optional
        The class axis of each chunk (default the last).

    Returns
    -------
    iterator of numpy.ndarray
        The softmax of each chunk's entries, in the chunks' order and shapes.

    Examples
    --------
    >>> parts = list(sl.streaming_softmax([np.array([1.0, 2.0]), np.array([3.0])]))
    >>> np.concatenate(parts)
    array([0.09003057, 0.24472847, 0.66524096])
    """
    if callable(chunks):
        source = chunks
    elif isinstance(chunks, Iterator):
        raise TypeError(
            "chunks is a one-shot iterator; streaming_softmax reads the chunks twice: "
            "pass a sequence or a callable that returns a new iterable"
        )
    elif isinstance(chunks, Iterable):
        source = lambda: chunks  # noqa: E731
    else:
        raise TypeError(
            f"chunks must be an iterable of arrays or a callable returning one, got {type(chunks).__name__}"
        )
    return _two_pass_chunks(source, axis)


def _two_pass_chunks(source: Callable[[], Iterable[ArrayLike]], axis: int) -> Iterator[NDArray[np.floating]]:
    m, d, _ = _fold(_checked_chunks(source(), axis))
    for chunk, _ in _checked_chunks(source(), axis):
        yield _normalized(chunk, m, d)
