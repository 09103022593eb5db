"""Cache-blocked, multi-threaded softmax and log-softmax for large NumPy float arrays.

The textbook NumPy expression ``e = exp(z - max(z)); e / sum(e)`` makes five passes over the
whole array (max, subtract, exp, sum, divide) and allocates two full-size temporaries, so for a
4096 × 32000 batch it streams several gigabytes through main memory. Here the same five steps
run on a block of rows small enough to stay in the core's L2 cache, writing into the output
buffer, so main memory sees one read of the input and one write of the output. Blocks are
independent and NumPy's ufuncs release the GIL, so a thread pool runs them on all cores.

Each function does exactly the arithmetic of its namesake in `softmax_lib` (same operations in
the same order on each row of the same C-contiguous buffer with the class axis last), so the two
agree bit for bit whatever the size, layout or class axis of the input. The log-domain functions
take log Σ as log1p of the sum without the terms of the row's maxima, each exactly 1 (Blanchard,
Higham & Higham 2021). float16 rows are computed in float32 and rounded once at the end, as
PyTorch does, instead of rounding every step to float16.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._validation import as_numpy_float_array, class_axis

__all__ = ["blocked_softmax", "blocked_log_softmax", "blocked_logsumexp"]

# Half of a 1 MiB per-core L2: the block plus the scratch buffer of log_softmax stay resident.
BLOCK_BYTES = 256 * 1024
# Below this many bytes a thread pool costs more than it saves.
THREADING_MIN_BYTES = 4 * 1024 * 1024

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_scratch = threading.local()


def available_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _get_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=available_cores(), thread_name_prefix="softmax_lib")
        return _pool


def working_dtype(dtype: np.dtype) -> np.dtype:
    """float16 is computed in float32 (exp and the row sum would otherwise round to 11 bits at every step)."""
    return np.dtype(np.float32) if dtype == np.float16 else np.dtype(dtype)


def scratch(shape: tuple[int, ...], dtype: np.dtype, slot: str = "a") -> np.ndarray:
    """A per-thread reusable buffer (one per `slot`), so the blocks allocate nothing in the hot loop."""
    dtype = np.dtype(dtype)
    need = int(np.prod(shape)) * dtype.itemsize
    buf = getattr(_scratch, slot, None)
    if buf is None or buf.nbytes < need:
        buf = np.empty(max(need, BLOCK_BYTES), dtype=np.uint8)
        setattr(_scratch, slot, buf)
    return buf[:need].view(dtype).reshape(shape)


def row_blocks(n_rows: int, row_bytes: int, block_bytes: int = BLOCK_BYTES) -> list[slice]:
    """Consecutive row ranges of about `block_bytes` each (at least one row)."""
    step = max(1, block_bytes // max(row_bytes, 1))
    return [slice(start, min(start + step, n_rows)) for start in range(0, n_rows, step)]


def run_blocks(work: Callable[[slice], None], blocks: list[slice], total_bytes: int, threads: int | None) -> None:
    """Call `work(block)` for every block: in the calling thread for small inputs, else on the pool."""
    if threads is None:
        threads = available_cores() if total_bytes >= THREADING_MIN_BYTES else 1
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    if threads == 1 or len(blocks) == 1:
        for block in blocks:
            work(block)
        return
    # One task per thread, each owning a contiguous run of blocks: fewer hand-offs than one task per block.
    per_thread = -(-len(blocks) // threads)
    runs = [blocks[i : i + per_thread] for i in range(0, len(blocks), per_thread)]
    futures = [_get_pool().submit(lambda run=run: [work(b) for b in run]) for run in runs]
    for future in futures:
        future.result()  # re-raises an exception from the block


def as_rows(z: np.ndarray, axis: int) -> np.ndarray:
    """The class axis last, as a C-contiguous (rows, K) array; a view when `z` already is."""
    return np.ascontiguousarray(np.moveaxis(z, axis, -1)).reshape(-1, z.shape[axis])


def check_out(out: np.ndarray | None, shape: tuple[int, ...], dtype: np.dtype, name: str = "out") -> np.ndarray:
    """A user-supplied output buffer of the right shape and dtype, or a new one."""
    if out is None:
        return np.empty(shape, dtype=dtype)
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{name} must be a NumPy array, got {type(out).__name__}")
    if out.shape != shape or out.dtype != dtype:
        raise ValueError(f"{name} must have shape {shape} and dtype {dtype}, got {out.shape} and {out.dtype}")
    if not out.flags.writeable:
        raise ValueError(f"{name} is read-only")
    return out


def row_max(rows: np.ndarray) -> np.ndarray:
    """Row maxima as a column, ±inf and NaN included.

    A row with a +inf or NaN entry, or with only −inf entries, has no finite shift: z − m holds
    NaN (inf − inf), so its softmax, log-softmax and loss are NaN, as in PyTorch. Callers run the
    shift under `quiet_errors` (the NaN is the answer, and z − m may overflow to −inf harmlessly).
    """
    return np.max(rows, axis=1, keepdims=True)


def quiet_errors():
    """NumPy's error state for the kernels: overflow to −inf in z − m, inf − inf and log 0 are expected."""
    return np.errstate(over="ignore", invalid="ignore", divide="ignore")


def _blocked_map(z: ArrayLike, axis: int, out: np.ndarray | None, threads: int | None, row_kernel) -> np.ndarray:
    z = as_numpy_float_array(z, "z")
    axis = class_axis(z, axis, "z")
    out = check_out(out, z.shape, z.dtype)
    rows = as_rows(z, axis)
    last_axis_contiguous = axis == z.ndim - 1 and out.flags.c_contiguous
    out_rows = out.reshape(rows.shape) if last_axis_contiguous else np.empty(rows.shape, z.dtype)
    work = working_dtype(z.dtype)

    def run(block: slice) -> None:
        src, dst = rows[block], out_rows[block]
        with quiet_errors():  # per thread: NumPy's error state does not cross into the pool's threads
            if work == dst.dtype:
                row_kernel(src, dst)
            else:
                tmp = scratch(src.shape, work)
                row_kernel(src.astype(work), tmp)
                dst[...] = tmp

    blocks = row_blocks(rows.shape[0], rows.shape[1] * work.itemsize)
    run_blocks(run, blocks, rows.nbytes, threads)
    if not last_axis_contiguous:
        moved_shape = tuple(np.delete(z.shape, axis)) + (z.shape[axis],)
        out[...] = np.moveaxis(out_rows.reshape(moved_shape), -1, axis)
    return out


def _softmax_rows(src: np.ndarray, dst: np.ndarray) -> None:
    np.subtract(src, row_max(src), out=dst)
    np.exp(dst, out=dst)
    np.divide(dst, np.sum(dst, axis=1, keepdims=True), out=dst)


def sum_without_top(e: np.ndarray, top: np.ndarray) -> np.ndarray:
    """Σ_{k≠top} e_k per row (as a column) for e = exp(z − m), top = argmax z: the row sum minus its 1.

    log Σ e = log1p of this (Blanchard, Higham & Higham 2021). Rounding 1 + s₁ before the log
    loses s₁'s low digits, all of them when s₁ < u; summed without the 1, s₁ keeps them.
    """
    picked = np.arange(e.shape[0]), top
    e[picked] -= 1  # exactly 0 where the max is finite; ±inf/NaN rows stay non-finite
    rest = np.sum(e, axis=1, keepdims=True)
    e[picked] += 1  # exactly restored
    return rest


def sum_without_maxima(e: np.ndarray, shifted: np.ndarray) -> np.ndarray:
    """Σ_{k: z_k < m} e_k + (n_top − 1) per row (as a column), e = exp(z − m), n_top = #{k: z_k = m}.

    The same sum, in the same order, as `softmax_lib._softmax.sum_without_maxima`: the maxima's
    terms (each exactly 1) are zeroed, the row summed, and the ties beyond the first added back.
    e is restored before returning.
    """
    is_top = np.equal(shifted, 0, out=scratch(shifted.shape, np.bool_, slot="c"))
    np.copyto(e, 0, where=is_top)
    n_top = np.count_nonzero(is_top, axis=1, keepdims=True).astype(e.dtype)
    rest = np.sum(e, axis=1, keepdims=True) + (n_top - 1)
    np.copyto(e, 1, where=is_top)
    return rest


def log1p_rest(rest: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):  # an all −inf row: log1p(−1) = −inf
        return np.log1p(rest)


def _log_softmax_rows(src: np.ndarray, dst: np.ndarray) -> None:
    np.subtract(src, row_max(src), out=dst)
    e = np.exp(dst, out=scratch(dst.shape, dst.dtype, slot="b"))
    np.subtract(dst, np.log1p(sum_without_maxima(e, dst)), out=dst)


def blocked_softmax(
    z: ArrayLike, axis: int = -1, out: np.ndarray | None = None, threads: int | None = None
) -> NDArray[np.floating]:
    """p_i = exp(z_i − m) / Σ_k exp(z_k − m), m = max_k z_k, computed one cache-sized block of rows at a time.

    Same values as `softmax_lib.softmax`, bit for bit (float16: computed in float32, rounded once).

    Parameters
    ----------
    z : array_like
        Logits (NumPy; float16, float32 or float64).
    axis : int, optional
        The class axis (default the last).
    out : numpy.ndarray, optional
        A preallocated result of z's shape and dtype (reused across calls it saves the page faults
        of a fresh allocation).
    threads : int, optional
        Threads to run the blocks on (default: all cores for inputs of 4 MiB or more, else 1).

    Returns
    -------
    numpy.ndarray
        p, of z's shape and dtype (`out` if given).

    Examples
    --------
    >>> z = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    >>> sl.blocked_softmax(z, threads=1)
    array([[0.09003057, 0.24472847, 0.66524096],
           [0.33333333, 0.33333333, 0.33333333]])
    >>> bool(np.array_equal(sl.blocked_softmax(z, axis=0), sl.softmax(z, axis=0)))
    True
    """
    return _blocked_map(z, axis, out, threads, _softmax_rows)


def blocked_log_softmax(
    z: ArrayLike, axis: int = -1, out: np.ndarray | None = None, threads: int | None = None
) -> NDArray[np.floating]:
    """log p_i = (z_i − m) − log1p(Σ_{k≠argmax} exp(z_k − m)), one cache-sized block of rows at a time.

    Equal to `softmax_lib.log_softmax` bit for bit, and accurate to a few units of roundoff
    also where log p_i is tiny (a dominant logit), where log(Σ ...) loses every digit.

    Parameters
    ----------
    z : array_like
        Logits (NumPy; float16, float32 or float64).
    axis : int, optional
        The class axis (default the last).
    out : numpy.ndarray, optional
        A preallocated result of z's shape and dtype.
    threads : int, optional
        Threads to run the blocks on (default: all cores for inputs of 4 MiB or more, else 1).

    Returns
    -------
    numpy.ndarray
        log p, of z's shape and dtype (`out` if given).

    Examples
    --------
    >>> sl.blocked_log_softmax(np.array([[0.0, -800.0]]))
    array([[   0., -800.]])
    """
    return _blocked_map(z, axis, out, threads, _log_softmax_rows)


def blocked_logsumexp(z: ArrayLike, axis: int = -1, threads: int | None = None) -> NDArray[np.floating]:
    """m + log1p(Σ_{k≠argmax} exp(z_k − m)) along `axis`, one cache-sized block of rows at a time.

    No full-size temporary. Equal to `softmax_lib.logsumexp` bit for bit.

    Parameters
    ----------
    z : array_like
        Logits (NumPy; float16, float32 or float64).
    axis : int, optional
        The class axis to reduce (default the last).
    threads : int, optional
        Threads to run the blocks on (default: all cores for inputs of 4 MiB or more, else 1).

    Returns
    -------
    numpy.ndarray
        Of z's dtype and of z's shape without `axis`.

    Examples
    --------
    >>> sl.blocked_logsumexp(np.log([[1.0, 2.0, 5.0], [1.0, 1.0, 2.0]]))
    array([2.07944154, 1.38629436])
    """
    z = as_numpy_float_array(z, "z")
    axis = class_axis(z, axis, "z")
    rows = as_rows(z, axis)
    work = working_dtype(z.dtype)
    result = np.empty(rows.shape[0], dtype=work)

    def run(block: slice) -> None:
        src = rows[block].astype(work, copy=False)
        with quiet_errors():
            m = row_max(src)
            shifted = np.subtract(src, m, out=scratch(src.shape, work))
            e = np.exp(shifted, out=scratch(src.shape, work, slot="b"))
            # A row whose max is not finite has no finite shift: its logsumexp is that max
            # (+inf, −inf for an all −inf row, or NaN).
            result[block] = np.where(np.isfinite(m), np.log1p(sum_without_maxima(e, shifted)) + m, m)[:, 0]

    run_blocks(run, row_blocks(rows.shape[0], rows.shape[1] * work.itemsize), rows.nbytes, threads)
    return result.astype(z.dtype, copy=False).reshape(tuple(np.delete(z.shape, axis)))
