"""The two NumPy paths of softmax, log_softmax and logsumexp, for the tests that compare them."""

from contextlib import contextmanager

import softmax_lib._softmax


@contextmanager
def blocked_everywhere():
    """Send every NumPy float32/float64 input of softmax, log_softmax, logsumexp to the blocked kernels."""
    saved = softmax_lib._softmax.BLOCKED_MIN_SIZE
    softmax_lib._softmax.BLOCKED_MIN_SIZE = 1
    try:
        yield
    finally:
        softmax_lib._softmax.BLOCKED_MIN_SIZE = saved
