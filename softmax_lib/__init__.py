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
