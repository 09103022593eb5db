"""Planted errors: plausible mistakes in softmax_lib that the test suite and the chapters must catch.

Each mutant is one regular-expression replacement in one library file. Its pattern must match
exactly once in the current source (tests/test_mutants.py asserts this), so an edit of the library
that moves or rewrites the mutated expression fails loudly instead of silently dropping a mutant:
update the pattern then. Patterns accept `np.` or `xp.` (NumPy or an array-API namespace) and
reuse the namespace they matched through the group `ns`.

`unit_tests` are the test files (relative to the repository) that must fail; `chapters` the
notebooks that exercise the mutated code and must fail under nbval as well. An empty `chapters`
says that no chapter exercises that path (`why_no_chapter` says why). A mutant with
`equivalent` set computes the same function as the original; the reason is given, and the
test asserts that the suite still passes with it (a check of the reasoning, and of flakiness).

Run one mutant by hand: python -m tests.mutants NAME (prints the mutated diff).
"""

from __future__ import annotations

import difflib
import re
import sys
from dataclasses import dataclass
from pathlib import Path

NS = r"(?P<ns>np|xp)\."  # the array namespace, captured so a replacement can reuse it
SOFTMAX = "softmax_lib/_softmax.py"
CROSS_ENTROPY = "softmax_lib/_cross_entropy.py"
BLOCKED = "softmax_lib/_blocked.py"
FUSED = "softmax_lib/_fused.py"
ONLINE = "softmax_lib/_online.py"
VARIANTS = "softmax_lib/_variants.py"
CHECKS = "softmax_lib/checks.py"

UNIT = ("tests/test_softmax_lib.py", "tests/test_properties.py", "tests/test_errors.py")
FAST_UNIT = ("tests/test_fast.py",)
VARIANTS_UNIT = ("tests/test_variants.py",)
CHECKS_UNIT = ("tests/test_mutant_gaps.py",)


def chapters(*names: str) -> tuple[str, ...]:
    return tuple(f"book/{name}.ipynb" for name in names)


# The chapters that call each function (grep over the notebooks' code cells), the quickest to
# fail first: the mutant run uses pytest -x, so it stops at the first chapter that fails.
SOFTMAX_CHAPTERS = chapters(
    "intro", "softmax_definition", "jacobian", "cross_entropy_gradient", "numerics", "jacobian_properties",
    "loss_hessian", "devices", "logistic_regression", "output_layer", "softmax_regression", "variants", "audit",
    "fast_exact",
)
LOG_SOFTMAX_CHAPTERS = chapters(
    "softmax_definition", "numerics", "logistic_regression", "devices", "variants", "fast_exact",
    # cross_entropy takes log p from log_softmax
    "cross_entropy_gradient", "loss_hessian", "softmax_regression", "audit",
)
LOGSUMEXP_CHAPTERS = chapters("numerics", "logistic_regression", "fast_exact")
# numerics and devices also run float16/bfloat16, but compare it with torch within a tolerance that
# half-precision arithmetic meets too; fast_exact measures the error in units of u against mpmath.
HALF_CHAPTERS = chapters("fast_exact")
JACOBIAN_CHAPTERS = chapters(
    "jacobian", "jacobian_properties", "loss_hessian", "softmax_regression", "devices", "variants", "audit",
)
VJP_CHAPTERS = chapters("jacobian_properties", "output_layer", "audit", "fast_exact")
CE_CHAPTERS = chapters(
    "cross_entropy_gradient", "numerics", "loss_hessian", "logistic_regression", "softmax_regression",
    "devices", "variants", "audit", "fast_exact",
)
CE_GRAD_CHAPTERS = chapters("cross_entropy_gradient", "output_layer", "softmax_regression", "devices", "fast_exact")
FAST_CHAPTERS = chapters("fast_exact")
VARIANTS_CHAPTERS = chapters("variants")
ALL_CHAPTERS = SOFTMAX_CHAPTERS

MODERATE = "the chapters' logits are moderate: exp(z) does not overflow there, and the unit tests cover the large ones"
ERROR_PATH = "the chapters pass valid input only; error paths are unit-tested"


@dataclass(frozen=True)
class Mutant:
    name: str
    description: str
    path: str
    pattern: str
    replacement: str
    chapters: tuple[str, ...] = ()
    why_no_chapter: str = ""
    equivalent: str = ""
    unit_tests: tuple[str, ...] = UNIT

    def apply(self, source: str) -> str:
        """The mutated source; raises AssertionError unless the pattern matches exactly once."""
        matches = len(re.findall(self.pattern, source, flags=re.MULTILINE))
        assert matches == 1, (
            f"mutant {self.name!r}: pattern {self.pattern!r} matches {matches} times in {self.path}, "
            f"expected exactly once. The library changed: update the pattern in tests/mutants.py."
        )
        return re.sub(self.pattern, self.replacement, source, count=1, flags=re.MULTILINE)


MUTANTS = [
    # --- softmax, log_softmax, logsumexp (the array-API path of _softmax.py) ----------------------
    Mutant(
        "softmax-no-max-shift",
        "softmax computes exp(z) / Σ exp(z) without subtracting the max: overflows for large logits",
        SOFTMAX,
        r"e = " + NS + r"exp\(work - (?:np|xp)\.max\(work, axis=axis, keepdims=True\)\)",
        r"e = \g<ns>.exp(work)",
        chapters=chapters("numerics"),
    ),
    Mutant(
        "softmax-sum-wrong-axis",
        "softmax normalises over axis 0 instead of the class axis",
        SOFTMAX,
        r"e / " + NS + r"sum\(e, axis=axis, keepdims=True\)",
        r"e / \g<ns>.sum(e, axis=0, keepdims=True)",
        chapters=SOFTMAX_CHAPTERS,
    ),
    Mutant(
        "softmax-half-not-widened",
        "float16/bfloat16 computed in half precision (_widened returns its input): every step rounds to 11 or 8 bits",
        SOFTMAX,
        r"return " + NS + r"astype\(z, (?:np|xp)\.float32\) if (?:np|xp)\.finfo\(z\.dtype\)\.bits < 32 else z",
        r"return z",
        unit_tests=("tests/test_mutant_gaps.py",) + UNIT,
        chapters=HALF_CHAPTERS,
    ),
    Mutant(
        "log-softmax-no-max-shift",
        "log_softmax forgets the shift: z − log Σ exp(z), which overflows for large logits",
        SOFTMAX,
        r"shifted = work - " + NS + r"max\(work, axis=axis, keepdims=True\)",
        r"shifted = work",
        # only fast_exact's stress logits (|z| ~ 1e4) are large enough for exp(z) to overflow in
        # log_softmax; numerics shows the overflow with softmax and logsumexp, variants with log(softmax)
        chapters=chapters("fast_exact"),
    ),
    Mutant(
        "log-softmax-as-log-of-softmax",
        "log_softmax computed as log(softmax(z)): −inf where p underflows",
        SOFTMAX,
        r"return " + NS + r"astype\(shifted - _log_sum_exp_shifted\(shifted, axis, (?:np|xp)\), z\.dtype, copy=False\)",
        r"return \g<ns>.log(softmax(z, axis=axis))",
        chapters=chapters("numerics", "fast_exact"),
    ),
    Mutant(
        "log-softmax-sign",
        "log_softmax adds the log-normaliser instead of subtracting it",
        SOFTMAX,
        r"shifted - _log_sum_exp_shifted\(shifted,",
        r"shifted + _log_sum_exp_shifted(shifted,",
        chapters=LOG_SOFTMAX_CHAPTERS,
    ),
    Mutant(
        "logsumexp-no-max-shift",
        "logsumexp shifts by 0 instead of the row max: log Σ exp(z) overflows",
        SOFTMAX,
        r"m = " + NS + r"where\((?:np|xp)\.isfinite\(m\), m, (?:np|xp)\.zeros_like\(m\)\)",
        r"m = \g<ns>.zeros_like(m)",
        chapters=LOGSUMEXP_CHAPTERS,
    ),
    Mutant(
        "logsumexp-no-infinity-guard",
        "logsumexp shifts by an infinite max too: inf − inf gives NaN instead of ±inf",
        SOFTMAX,
        r"^\s*m = " + NS + r"where\((?:np|xp)\.isfinite\(m\), m, (?:np|xp)\.zeros_like\(m\)\)\n",
        "",
        why_no_chapter="no chapter passes ±inf logits to logsumexp",
    ),
    Mutant(
        "logsumexp-forgets-max",
        "logsumexp returns log Σ exp(z − m) without adding m back",
        SOFTMAX,
        r"(_log_sum_exp_shifted\(work - m, axis, (?:np|xp)\)) \+ m$",
        r"\1",
        chapters=LOGSUMEXP_CHAPTERS,
    ),
    # --- the log1p form: log Σ exp(s) = log1p(Σ_{k≠argmax} exp(s_k)) ---------------------------------
    Mutant(
        "log1p-as-log",
        "log instead of log1p on the sum without the max's term: the 1 that exp(0) contributes is lost",
        SOFTMAX,
        NS + r"log1p\((?:np|xp)\.sum\(others, axis=axis, keepdims=True\) \+ \(n_top - 1\)\)",
        r"\g<ns>.log(\g<ns>.sum(others, axis=axis, keepdims=True) + (n_top - 1))",
        chapters=LOG_SOFTMAX_CHAPTERS,
    ),
    Mutant(
        "log1p-one-added-twice",
        "log1p of the sum with the max's 1 restored before it: log(2 + Σ_{k≠argmax}) instead of log(1 + …)",
        SOFTMAX,
        r"\+ \(n_top - 1\)\)$",
        r"+ n_top)",
        chapters=LOG_SOFTMAX_CHAPTERS,
    ),
    Mutant(
        "log1p-rounded-one-plus",
        "log(1 + s) instead of log1p(s): right in exact arithmetic, but rounds away every digit of s below u",
        SOFTMAX,
        NS + r"log1p\(((?:np|xp)\.sum\(others, axis=axis, keepdims=True\) \+ \(n_top - 1\))\)",
        r"\g<ns>.log(1 + \2)",
        # test_fast.py holds the test of log p for a dominant logit, where s is below u
        unit_tests=("tests/test_fast.py",) + UNIT,
        chapters=chapters("fast_exact"),
    ),
    Mutant(
        "log1p-ties-ignored",
        "the ties term dropped: entries tied with the max are zeroed with it, so their 1s are lost",
        SOFTMAX,
        r" \+ \(n_top - 1\)\)$",
        r")",
        unit_tests=("tests/test_mutant_gaps.py",) + UNIT,
        chapters=LOG_SOFTMAX_CHAPTERS,
    ),
    # --- Jacobian and VJP ------------------------------------------------------------------------
    Mutant(
        "jacobian-diagonal-only",
        "Jacobian drops the off-diagonal −p_i p_j: diag(p(1 − p)), right on the diagonal only",
        SOFTMAX,
        r" - p\[\.\.\., :, None\] \* p\[\.\.\., None, :\]$",
        r" * (1 - p[..., None, :])",
        chapters=JACOBIAN_CHAPTERS,
    ),
    Mutant(
        "jacobian-missing-diagonal",
        "Jacobian drops the diag(p) term: −ppᵀ only",
        SOFTMAX,
        r"p\[\.\.\., :, None\] \* eye - ",
        r"-",
        chapters=JACOBIAN_CHAPTERS,
    ),
    Mutant(
        "jacobian-outer-sign",
        "Jacobian adds ppᵀ instead of subtracting it: diag(p) + ppᵀ",
        SOFTMAX,
        r" - (p\[\.\.\., :, None\] \* p\[\.\.\., None, :\])$",
        r" + \1",
        chapters=JACOBIAN_CHAPTERS,
    ),
    Mutant(
        "jacobian-class-axis-not-moved",
        "Jacobian forgets to move the class axis last: wrong blocks for axis ≠ −1",
        SOFTMAX,
        r"^(\s*)p = " + NS + r"moveaxis\(p, axis, -1\)$",
        r"\1p = p",
        chapters=JACOBIAN_CHAPTERS,
    ),
    Mutant(
        "jacobian-dtype-float64",
        "Jacobian builds the identity in the default dtype: float32 input returns float64",
        SOFTMAX,
        r"(eye = " + NS + r"eye\(p\.shape\[-1\]), dtype=p\.dtype,",
        r"\1,",
        why_no_chapter="the chapters work in float64, where the dtype is unchanged",
    ),
    Mutant(
        "jacobian-transposed",
        "Jacobian transposed: ∂p_j/∂z_i in place of ∂p_i/∂z_j",
        SOFTMAX,
        r"p\[\.\.\., :, None\] \* eye - p\[\.\.\., :, None\] \* p\[\.\.\., None, :\]$",
        r"p[..., None, :] * eye - p[..., None, :] * p[..., :, None]",
        equivalent=(
            "the softmax Jacobian diag(p) − ppᵀ is symmetric, so its transpose is the same matrix: "
            "p_j δ_ij = p_i δ_ij and p_j p_i = p_i p_j entry by entry, in floating point too "
            "(multiplication commutes exactly). The library has no non-symmetric Jacobian in which a "
            "transposition would be a real mistake: sparsemax's diag(s) − ssᵀ/|S| is symmetric too."
        ),
        unit_tests=("tests/test_softmax_lib.py", "tests/test_properties.py"),
        chapters=chapters("jacobian"),
    ),
    Mutant(
        "vjp-no-inner-product",
        "VJP drops the ⟨p, v⟩ term: p ⊙ v, the diagonal part only",
        SOFTMAX,
        r"p \* \(v - " + NS + r"sum\(p \* v, axis=axis, keepdims=True\)\)",
        r"p * v",
        chapters=VJP_CHAPTERS,
    ),
    Mutant(
        "vjp-inner-product-wrong-axis",
        "VJP sums p ⊙ v over axis 0 instead of the class axis",
        SOFTMAX,
        r"(p \* \(v - " + NS + r"sum\(p \* v, axis=)axis(, keepdims=True\)\))",
        r"\1-1 if axis == 0 else 0\3",
        why_no_chapter="the chapters call softmax_vjp on single rows only, where every axis is the class axis",
    ),
    # --- cross-entropy ---------------------------------------------------------------------------
    Mutant(
        "grad-p-plus-y",
        "cross-entropy gradient p + y instead of p − y (index targets: adds w_t at the target class)",
        CROSS_ENTROPY,
        r"_subtract_at_target\(grad, tgt\.index, tgt\.w_t if eps == 0 else \(1 - eps\) \* tgt\.w_t, axis\)",
        r"_subtract_at_target(grad, tgt.index, -tgt.w_t if eps == 0 else -(1 - eps) * tgt.w_t, axis)",
        chapters=CE_GRAD_CHAPTERS,
    ),
    Mutant(
        "grad-wrong-sign",
        "cross-entropy gradient y − p (the descent direction) instead of p − y",
        CROSS_ENTROPY,
        r"grad = (_row_grads\(z, tgt, axis)",
        r"grad = -\1",
        chapters=CE_GRAD_CHAPTERS,
    ),
    Mutant(
        "grad-mean-divides-by-k",
        "mean reduction's gradient divided by K (classes) instead of N (rows)",
        CROSS_ENTROPY,
        r"grad = _mean_of\(grad, ce_divisor\)",
        r"grad = _mean_of(grad, z.shape[axis])",
        chapters=CE_GRAD_CHAPTERS,
    ),
    Mutant(
        "grad-mean-divides-by-nk",
        "mean reduction's gradient divided by N·K (every entry) instead of N",
        CROSS_ENTROPY,
        r"grad = _mean_of\(grad, ce_divisor\)",
        r"grad = _mean_of(grad, ce_divisor * z.shape[axis])",
        chapters=CE_GRAD_CHAPTERS,
    ),
    Mutant(
        "grad-none-divided-too",
        "gradient divided by N for reduction 'none' as well as 'mean'",
        CROSS_ENTROPY,
        r"if reduction != \"mean\":\n(\s+return 1\.0, 1\.0)",
        r'if reduction == "sum":\n\1',
        chapters=CE_GRAD_CHAPTERS,
    ),
    Mutant(
        "loss-log-of-softmax",
        "cross-entropy uses log(softmax(z)) instead of log_softmax: +inf where p underflows",
        CROSS_ENTROPY,
        r"log_p = log_softmax\(z, axis=axis\)",
        r"log_p = xp.log(softmax(z, axis=axis))",
        chapters=chapters("numerics"),
    ),
    Mutant(
        "loss-sum-wrong-axis",
        "cross-entropy sums −y log p over axis 0 instead of the class axis",
        CROSS_ENTROPY,
        r"(zeros_like\(log_p\)\), axis=)axis\)",
        r"\g<1>0)",
        chapters=CE_CHAPTERS,
    ),
    Mutant(
        "loss-sign",
        "cross-entropy without the minus sign (index targets): log p_t ≤ 0",
        CROSS_ENTROPY,
        r"ce = -picked if weight is None",
        r"ce = picked if weight is None",
        chapters=CE_CHAPTERS,
    ),
    Mutant(
        "loss-mean-is-sum",
        "reduction 'mean' returns the sum over rows",
        CROSS_ENTROPY,
        r"loss = " + NS + r"mean\(ce\) if plain",
        r"loss = \g<ns>.sum(ce) if plain",
        chapters=CE_CHAPTERS,
    ),
    Mutant(
        "loss-masked-class-nan",
        "the 0·log 0 = 0 convention dropped: a masked class (z_k = −inf) the target ignores gives 0·(−inf) = NaN",
        CROSS_ENTROPY,
        r"coef \* " + NS + r"where\(coef > 0, log_p, (?:np|xp)\.zeros_like\(log_p\)\)",
        r"coef * log_p",
        why_no_chapter="no chapter masks a class with a −inf logit",
    ),
    Mutant(
        "target-index-off-by-one",
        "class-index range check accepts index K (> instead of >=)",
        CROSS_ENTROPY,
        r"\(target >= n_classes\)",
        r"(target > n_classes)",
        why_no_chapter=ERROR_PATH,
    ),
    Mutant(
        "target-row-sum-unchecked",
        "probability targets whose rows do not sum to 1 are accepted",
        CROSS_ENTROPY,
        r"if " + NS + r"any\(distance > tol\):",
        r"if False:",
        why_no_chapter=ERROR_PATH,
    ),
    # --- blocked kernels (_blocked.py: large NumPy arrays) ----------------------------------------
    Mutant(
        "blocked-no-max-shift",
        "blocked softmax exponentiates z itself, without subtracting the row max: overflows for large logits",
        BLOCKED,
        r"np\.subtract\(src, row_max\(src\), out=dst\)\n(\s+)np\.exp\(dst, out=dst\)",
        r"np.exp(src, out=dst)",
        unit_tests=FAST_UNIT,
        chapters=FAST_CHAPTERS,
    ),
    Mutant(
        "blocked-row-sum-wrong-axis",
        "blocked softmax divides by the column sums (axis 0 of the block) instead of the row sums",
        BLOCKED,
        r"np\.divide\(dst, np\.sum\(dst, axis=1, keepdims=True\), out=dst\)",
        r"np.divide(dst, np.sum(dst, axis=0, keepdims=True), out=dst)",
        unit_tests=FAST_UNIT,
        chapters=FAST_CHAPTERS,
    ),
    Mutant(
        "blocked-row-max-no-guard",
        "row_max shifts by an infinite max too: inf − inf gives NaN where the two-pass functions give ±inf or 0",
        BLOCKED,
        r"return np\.where\(np\.isfinite\(m\), m, 0\)\.astype",
        r"return m.astype",
        unit_tests=FAST_UNIT,
        why_no_chapter="no chapter passes ±inf logits to the blocked kernels",
    ),
    Mutant(
        "blocked-half-not-widened",
        "the blocked kernels compute float16 in float16 (working_dtype returns its input)",
        BLOCKED,
        r"return np\.dtype\(np\.float32\) if dtype == np\.float16 else np\.dtype\(dtype\)",
        r"return np.dtype(dtype)",
        unit_tests=FAST_UNIT,
        chapters=FAST_CHAPTERS,
    ),
    Mutant(
        "sum-without-top-not-restored",
        "sum_without_top leaves the max's term at 0 instead of restoring its 1: the fused gradient's p_argmax is 0",
        BLOCKED,
        r"^\s*e\[picked\] \+= 1.*\n",
        "",
        unit_tests=FAST_UNIT,
        chapters=FAST_CHAPTERS,
    ),
    Mutant(
        "sum-without-top-keeps-top",
        "sum_without_top forgets to take the max's 1 out: log1p(Σ_k e_k) = log(1 + Σ_k e_k)",
        BLOCKED,
        r"^\s*e\[picked\] -= 1.*\n",
        "",
        unit_tests=FAST_UNIT,
        chapters=FAST_CHAPTERS,
    ),
    # --- fused cross-entropy with gradient (_fused.py) ---------------------------------------------
    Mutant(
        "fused-grad-p-plus-y",
        "fused gradient p + y instead of p − y (index targets: adds 1 at the target class)",
        FUSED,
        r"g\[picked\] -= w_t\[block\]\n",
        "g[picked] += w_t[block]\n",
        unit_tests=FAST_UNIT,
        chapters=FAST_CHAPTERS,
    ),
    Mutant(
        "fused-mean-divides-by-k",
        "fused mean reduction's gradient divided by K (classes) instead of N (rows)",
        FUSED,
        r"np\.divide\(g, ce_div, out=g\)",
        r"np.divide(g, n_classes, out=g)",
        unit_tests=FAST_UNIT,
        chapters=FAST_CHAPTERS,
    ),
    Mutant(
        "fused-target-logit-not-shifted",
        "fused loss uses z_c instead of z_c − m: the loss is off by the row max",
        FUSED,
        r"shifted_target = src\[picked\] - m\[:, 0\]",
        r"shifted_target = src[picked]",
        unit_tests=FAST_UNIT,
        chapters=FAST_CHAPTERS,
    ),
    # --- online normalizer (_online.py) ------------------------------------------------------------
    Mutant(
        "online-rescale-inverted",
        "online normalizer rescales the running sum by e^(m_j − m_(j−1)) instead of e^(m_(j−1) − m_j)",
        ONLINE,
        r"d \* np\.exp\(old_shift - new_shift\)",
        r"d * np.exp(new_shift - old_shift)",
        unit_tests=FAST_UNIT,
        chapters=FAST_CHAPTERS,
    ),
    Mutant(
        "online-rescale-missing",
        "online normalizer never rescales the running sum when the max grows",
        ONLINE,
        r"np\.where\(d == 0, np\.zeros_like\(d\), d \* np\.exp\(old_shift - new_shift\)\)",
        r"d",
        unit_tests=FAST_UNIT,
        chapters=FAST_CHAPTERS,
    ),
    # --- variants (_variants.py) ------------------------------------------------------------------
    Mutant(
        "sparsemax-support-off-by-one",
        "sparsemax's support condition counts k from 0: 1 + (k − 1) z_(k) > Σ_{j≤k} z_(j), a wrong support size and τ",
        VARIANTS,
        r"k = np\.arange\(1, z_last\.shape\[-1\] \+ 1, dtype=z\.dtype\)",
        r"k = np.arange(z_last.shape[-1], dtype=z.dtype)",
        unit_tests=VARIANTS_UNIT,
        chapters=VARIANTS_CHAPTERS,
    ),
    Mutant(
        "sparsemax-jacobian-no-support-division",
        "sparsemax Jacobian drops the 1/|S|: diag(s) − ssᵀ",
        VARIANTS,
        r"s\[\.\.\., :, None\] \* s\[\.\.\., None, :\] / support_size",
        r"s[..., :, None] * s[..., None, :]",
        unit_tests=VARIANTS_UNIT,
        chapters=VARIANTS_CHAPTERS,
    ),
    Mutant(
        "hierarchical-grad-sign",
        "hierarchical softmax gradient t_n − σ(s_n) instead of σ(s_n) − t_n",
        VARIANTS,
        r"sigmoid\(node_scores\[index\]\[nodes\]\) - \(signs > 0\)",
        r"(signs > 0) - sigmoid(node_scores[index][nodes])",
        unit_tests=VARIANTS_UNIT,
        chapters=VARIANTS_CHAPTERS,
    ),
    # --- shared checks (checks.py): a weakened check passes wrong results silently ----------------------
    Mutant(
        "compare-abs-of-sum",
        "compare reports |Σ (actual − expected)| instead of the max scaled error: opposite errors cancel",
        CHECKS,
        r"return CheckResult\(name, float\(np\.max\(scaled, initial=0\.0\)\), tolerance\)",
        r"return CheckResult(name, float(np.abs(np.sum(actual - expected))), tolerance)",
        unit_tests=CHECKS_UNIT,
        chapters=chapters("audit", "loss_hessian"),
    ),
    Mutant(
        "check-result-nan-passes",
        "CheckResult.passed as not (error > tolerance): a NaN error passes",
        CHECKS,
        r"return bool\(self\.max_error <= self\.tolerance\)",
        r"return not bool(self.max_error > self.tolerance)",
        unit_tests=CHECKS_UNIT,
        why_no_chapter="every chapter's checks produce finite errors: a NaN verdict is unit-tested",
    ),
    Mutant(
        "rounding-tolerance-sqrt-eps",
        "rounding_tolerance scales with √ε instead of ε: every rounding check becomes ~10⁸ times looser in float64",
        CHECKS,
        r"return 10 \* max\(n_terms, 1\) \* machine_epsilon\(dtype\)$",
        r"return 10 * max(n_terms, 1) * machine_epsilon(dtype) ** 0.5",
        unit_tests=CHECKS_UNIT,
        chapters=chapters("jacobian", "cross_entropy_gradient"),
    ),
]

BY_NAME = {mutant.name: mutant for mutant in MUTANTS}
assert len(BY_NAME) == len(MUTANTS), "mutant names must be unique"


def diff(mutant: Mutant, root: Path) -> str:
    """The unified diff that `mutant` makes to its file under `root`."""
    source = (root / mutant.path).read_text()
    mutated = mutant.apply(source)
    return "".join(difflib.unified_diff(source.splitlines(True), mutated.splitlines(True), mutant.path, mutant.path))


if __name__ == "__main__":
    repository = Path(__file__).resolve().parent.parent
    for name in sys.argv[1:] or list(BY_NAME):
        print(f"# {name}: {BY_NAME[name].description}\n{diff(BY_NAME[name], repository)}")
