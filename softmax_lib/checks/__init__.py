"""The verification kit: the checks shared by the book's chapters, the tests and `python -m softmax_lib.verify`.

A claim about the library is a registered check (registry.py); a demonstration stays in its chapter.

* tolerance: the error measures (`compare`) and u; bounds: the first-order rounding bounds in units of u;
  differences: central differences and their error bound;
* oracles: the references (torch autograd in the checked dtype; the float64 formulas of formulas.py), and
  the conversions of arrays.py (one conversion helper, `to_torch`);
* cases: the check_* functions of values and the loss, each taking dtype and device; derivatives: those of the
  Jacobian, the VJP and the loss Hessian; registry: the verify matrix built from them;
* variants: checks of sparsemax, hierarchical softmax and the fused loss;
* scale: checks of the loss options (weight, ignore_index, label_smoothing, z_loss) against torch, held to the
  bounds of option_bounds;
* sparsemax, hierarchical: checks of the variants' training functions (the sparsemax loss and backward;
  hierarchical softmax scored along the path);
* regression: the book's softmax-regression problem (digits, objective, Hessian, L-BFGS fit), shared by two chapters;
* accuracy: stress inputs and errors in units of u, for the accuracy studies;
* mistakes: plausible wrong implementations and the mistake × check × dtype table.
"""

from .accuracy import STRESS_FAMILIES, relative_error_units, rounded_once_units, stress_logits
from .bounds import (
    dominant_log_softmax_bound_units,
    logsumexp_log_units,
    loss_units,
    shifted_log_softmax_bound_units,
    shifted_logsumexp_bound_units,
    shifted_softmax_bound_units,
    softmax_bound_units,
    summation_units,
)
from .cases import (
    check_against_float64,
    check_cross_entropy,
    check_exact_uniform,
    check_output_layer_gradients,
    output_layer_grad,
)
from .derivatives import check_loss_hessian, check_softmax_jacobian, check_softmax_vjp, jacobian_units
from .differences import (
    THIRD_DERIVATIVE_SOFTMAX,
    central_difference_error,
    central_difference_jacobian,
    central_difference_step,
)
from .error_scales import (
    cross_entropy_tolerances,
    log_softmax_error_scale,
    logsumexp_error_scale,
    loss_error_scale,
    softmax_error_scale,
)
from .hierarchical import check_hierarchical_softmax_loss, hierarchical_path_scales, hierarchical_path_units
from .option_bounds import (
    linear_options_bounds,
    options_grad_units,
    options_loss_units,
    options_scales,
    side_tolerance,
)
from .oracles import (
    DEVICE_VARIABLE,
    checked_array,
    cross_entropy64,
    cross_entropy_grad64,
    float64_target,
    log_softmax64,
    softmax64,
    to_torch,
    torch_cross_entropy_hessian,
    torch_cross_entropy_with_grad,
    torch_device,
    torch_dtype,
    torch_hierarchical_softmax_log_prob_with_grad,
    torch_loss_with_options,
    torch_loss_with_options_and_grad,
    torch_softmax_jacobian,
)
from .registry import CASES, SEED, Case, register
from .scale import check_loss_options
from .sparsemax import (
    check_sparsemax_loss,
    check_sparsemax_vjp,
    sparsemax_loss_units,
    torch_sparsemax,
    torch_sparsemax_loss_units,
)
from .tolerance import (
    DTYPES,
    EXP_UNITS,
    NUMPY_DTYPES,
    CheckResult,
    as_float64,
    assert_passed,
    compare,
    dtype_name,
    machine_epsilon,
    smallest_normal,
    unit_roundoff,
)
from .variants import (
    check_cross_entropy_with_grad,
    check_hierarchical_softmax,
    check_sparsemax_jacobian,
    require_away_from_kinks,
)

__all__ = [
    "softmax_error_scale",
    "log_softmax_error_scale",
    "logsumexp_error_scale",
    "loss_error_scale",
    "cross_entropy_tolerances",
    "STRESS_FAMILIES",
    "relative_error_units",
    "rounded_once_units",
    "stress_logits",
    "check_against_float64",
    "check_cross_entropy",
    "check_exact_uniform",
    "check_loss_hessian",
    "check_output_layer_gradients",
    "check_softmax_jacobian",
    "check_softmax_vjp",
    "jacobian_units",
    "loss_units",
    "output_layer_grad",
    "DEVICE_VARIABLE",
    "checked_array",
    "cross_entropy64",
    "cross_entropy_grad64",
    "float64_target",
    "log_softmax64",
    "softmax64",
    "to_torch",
    "torch_cross_entropy_hessian",
    "torch_cross_entropy_with_grad",
    "torch_device",
    "torch_dtype",
    "torch_hierarchical_softmax_log_prob_with_grad",
    "torch_softmax_jacobian",
    "torch_loss_with_options",
    "torch_loss_with_options_and_grad",
    "check_loss_options",
    "linear_options_bounds",
    "options_grad_units",
    "options_loss_units",
    "options_scales",
    "side_tolerance",
    "CASES",
    "SEED",
    "Case",
    "register",
    "DTYPES",
    "EXP_UNITS",
    "NUMPY_DTYPES",
    "THIRD_DERIVATIVE_SOFTMAX",
    "CheckResult",
    "as_float64",
    "assert_passed",
    "central_difference_error",
    "central_difference_jacobian",
    "central_difference_step",
    "compare",
    "dtype_name",
    "logsumexp_log_units",
    "machine_epsilon",
    "shifted_log_softmax_bound_units",
    "dominant_log_softmax_bound_units",
    "shifted_logsumexp_bound_units",
    "shifted_softmax_bound_units",
    "smallest_normal",
    "softmax_bound_units",
    "summation_units",
    "unit_roundoff",
    "check_hierarchical_softmax_loss",
    "check_sparsemax_loss",
    "check_sparsemax_vjp",
    "hierarchical_path_scales",
    "hierarchical_path_units",
    "sparsemax_loss_units",
    "torch_sparsemax",
    "torch_sparsemax_loss_units",
    "check_cross_entropy_with_grad",
    "check_hierarchical_softmax",
    "check_sparsemax_jacobian",
    "require_away_from_kinks",
]
