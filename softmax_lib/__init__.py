"""softmax_lib: reference softmax, log-softmax, cross-entropy and their derivatives.

Every function is numerically stable for any finite input, keeps the input's floating dtype,
and works along any axis (default: the last). Inputs may be any Python Array API array
(NumPy, PyTorch tensors on the CPU or CUDA): the result has the input's type and device.
The fast paths (blocked, online, fused) are NumPy only. `python -m softmax_lib.verify` runs
the book's checks on one device.
"""

from ._blocked import blocked_log_softmax, blocked_logsumexp, blocked_softmax
from ._cross_entropy import cross_entropy, cross_entropy_grad, cross_entropy_with_grad, target_distribution
from ._gumbel import gumbel_max, gumbel_softmax, sample_gumbel
from ._linear_cross_entropy import linear_cross_entropy, linear_cross_entropy_with_grad
from ._online import (
    merge_normalizers,
    online_logsumexp,
    online_normalizer,
    online_softmax,
    streaming_logsumexp,
    streaming_softmax,
)
from ._softmax import log_softmax, logsumexp, softmax, softmax_jacobian, softmax_vjp
from ._training_variants import (
    balanced_path_table,
    hierarchical_softmax_loss,
    huffman_tree_paths,
    path_table,
    sparsemax_loss,
    sparsemax_loss_grad,
    sparsemax_vjp,
)
from ._variants import (
    hierarchical_softmax_grad,
    hierarchical_softmax_log_prob,
    hierarchical_softmax_paths,
    hierarchical_softmax_probabilities,
    log_sigmoid,
    sigmoid,
    sparsemax,
    sparsemax_jacobian,
)

__all__ = [
    # softmax and its derivatives
    "softmax",
    "log_softmax",
    "logsumexp",
    "softmax_jacobian",
    "softmax_vjp",
    # the loss
    "cross_entropy",
    "cross_entropy_grad",
    "target_distribution",
    "linear_cross_entropy",
    "linear_cross_entropy_with_grad",
    # fast paths: cache-blocked threaded kernels, the online normalizer, the fused loss and gradient
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
    # variants
    "sigmoid",
    "log_sigmoid",
    "sparsemax",
    "sparsemax_jacobian",
    "sample_gumbel",
    "gumbel_max",
    "gumbel_softmax",
    "hierarchical_softmax_paths",
    "hierarchical_softmax_log_prob",
    "hierarchical_softmax_probabilities",
    "hierarchical_softmax_grad",
    # training the variants: path-scored hierarchical softmax, Huffman trees, the sparsemax loss
    "hierarchical_softmax_loss",
    "huffman_tree_paths",
    "path_table",
    "balanced_path_table",
    "sparsemax_loss",
    "sparsemax_loss_grad",
    "sparsemax_vjp",
]
