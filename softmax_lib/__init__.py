"""softmax_lib: reference softmax, log-softmax, cross-entropy and their derivatives in NumPy.

Every function is numerically stable for any finite input, keeps float32/float64 dtypes,
and works along any axis (default: the last).
"""

from ._cross_entropy import cross_entropy, cross_entropy_grad, target_distribution
from ._softmax import log_softmax, logsumexp, softmax, softmax_jacobian, softmax_vjp

__all__ = [
    "softmax",
    "log_softmax",
    "logsumexp",
    "softmax_jacobian",
    "softmax_vjp",
    "cross_entropy",
    "cross_entropy_grad",
    "target_distribution",
]

# Fast paths (issue 6): cache-blocked and threaded NumPy kernels, the online normalizer, the fused loss and gradient.
from ._blocked import blocked_log_softmax, blocked_logsumexp, blocked_softmax
from ._fused import cross_entropy_with_grad
from ._online import (
    merge_normalizers,
    online_logsumexp,
    online_normalizer,
    online_softmax,
    streaming_logsumexp,
    streaming_softmax,
)

__all__ += [
    "blocked_softmax",
    "blocked_log_softmax",
    "blocked_logsumexp",
    "cross_entropy_with_grad",
    "merge_normalizers",
    "online_normalizer",
    "online_logsumexp",
    "online_softmax",
    "streaming_logsumexp",
    "streaming_softmax",
]
