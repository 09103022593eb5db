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
The asserts of each chapter and the planted errors that tripped them in the last run of
tests/test_mutants.py (recorded in _build/mutation-run.json): python -m tests.mutants --by-chapter.
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
LOSS_TARGET = "softmax_lib/_loss_target.py"
BLOCKED = "softmax_lib/_blocked.py"
FUSED = "softmax_lib/_fused.py"
ONLINE = "softmax_lib/_online.py"
VARIANTS = "softmax_lib/_variants.py"
CHECKS = "softmax_lib/checks/tolerance.py"

UNIT = ("tests/test_softmax_lib.py", "tests/test_properties.py", "tests/test_errors.py")
FAST_UNIT = ("tests/test_fast.py",)
VARIANTS_UNIT = ("tests/test_variants.py",)
CHECKS_UNIT = ("tests/test_checks.py",)


def chapters(*names: str) -> tuple[str, ...]:
    return tuple(f"book/{name}.ipynb" for name in names)


# The chapters that exercise each library function, found by a scan rather than kept by hand: the names a
# chapter's code cells call, closed over softmax_lib's own call graph (a chapter that calls cross_entropy
# or check_softmax_jacobian exercises log_softmax or softmax_jacobian too). Ordered smallest notebook first,
# a proxy for the quickest to fail: the mutant run uses pytest -x and stops at the first chapter that fails.
ROOT = Path(__file__).resolve().parent.parent
CALL = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)\s*\(")


def _code_of(notebook: Path) -> str:
    import json

    cells = json.loads(notebook.read_text())["cells"]
    return "\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "code")


def _library_call_graph() -> dict[str, set[str]]:
    """function name -> the names it calls, for every function defined in softmax_lib (by the AST)."""
    import ast

    graph: dict[str, set[str]] = {}
    for path in sorted((ROOT / "softmax_lib").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef):
                called = {
                    sub.func.id if isinstance(sub.func, ast.Name) else sub.func.attr
                    for sub in ast.walk(node)
                    if isinstance(sub, ast.Call) and isinstance(sub.func, (ast.Name, ast.Attribute))
                }
                graph.setdefault(node.name, set()).update(called)
    return graph


def _exercised(called: set[str], graph: dict[str, set[str]]) -> set[str]:
    seen, todo = set(), list(called & graph.keys())
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(graph.get(name, set()) & graph.keys())
    return seen


def chapters_calling(*functions: str) -> tuple[str, ...]:
    """The chapters (book/*.ipynb) whose code exercises any of `functions`, smallest notebook first."""
    graph = _library_call_graph()
    notebooks = sorted((ROOT / "book").glob("*.ipynb"), key=lambda path: path.stat().st_size)
    return tuple(
        f"book/{path.name}"
        for path in notebooks
        if _exercised(set(CALL.findall(_code_of(path))), graph) & set(functions)
    )


SOFTMAX_CHAPTERS = chapters_calling("softmax")
LOG_SOFTMAX_CHAPTERS = chapters_calling("log_softmax")
LOGSUMEXP_CHAPTERS = chapters_calling("logsumexp")
# numerics and devices also run float16/bfloat16, but compare it with torch within a tolerance that
# half-precision arithmetic meets too; fast_exact measures the error in units of u against mpmath.
HALF_CHAPTERS = chapters("fast_exact")
JACOBIAN_CHAPTERS = chapters_calling("softmax_jacobian")
VJP_CHAPTERS = chapters_calling("softmax_vjp")
CE_CHAPTERS = chapters_calling("cross_entropy")
CE_GRAD_CHAPTERS = chapters_calling("cross_entropy_grad")
FAST_CHAPTERS = chapters("fast_exact")
VARIANTS_CHAPTERS = chapters_calling(
    "sparsemax", "sparsemax_jacobian", "gumbel_softmax", "hierarchical_softmax_log_prob", "hierarchical_softmax_grad"
)
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
        r"e = " + NS + r"exp\(work - (?:np|xp)\.max\(work, axis=-1, keepdims=True\)\)",
        r"e = \g<ns>.exp(work)",
        chapters=chapters("numerics"),
    ),
    Mutant(
        "softmax-sum-wrong-axis",
        "softmax normalises over axis 0 instead of the class axis",
        SOFTMAX,
        r"e / " + NS + r"sum\(e, axis=-1, keepdims=True\)",
        r"e / \g<ns>.sum(e, axis=0, keepdims=True)",
        chapters=SOFTMAX_CHAPTERS,
    ),
    Mutant(
        "softmax-half-not-widened",
        "float16/bfloat16 computed in half precision (_widened returns its input): every step rounds to 11 or 8 bits",
        SOFTMAX,
        r"return " + NS + r"astype\(z, (?:np|xp)\.float32\) if (?:np|xp)\.finfo\(z\.dtype\)\.bits < 32 else z",
        r"return z",
        unit_tests=("tests/test_checks.py",) + UNIT,
        chapters=HALF_CHAPTERS,
    ),
    Mutant(
        "log-softmax-no-max-shift",
        "log_softmax forgets the shift: z − log Σ exp(z), which overflows for large logits",
        SOFTMAX,
        r"shifted = work - " + NS + r"max\(work, axis=-1, keepdims=True\)",
        r"shifted = work",
        # only fast_exact's stress logits (|z| ~ 1e4) are large enough for exp(z) to overflow in
        # log_softmax; numerics shows the overflow with softmax and logsumexp, variants with log(softmax)
        chapters=chapters("fast_exact"),
    ),
    Mutant(
        "log-softmax-as-log-of-softmax",
        "log_softmax computed as log(softmax(z)): −inf where p underflows",
        SOFTMAX,
        r"out = shifted - " + NS + r"log1p\(sum_without_maxima\(xp\.exp\(shifted\), shifted, xp\)\)\n(.*\n)",
        r"out = \g<ns>.log(_class_last(softmax(z, axis=axis), axis, xp))\n\2",
        chapters=chapters("numerics", "fast_exact"),
    ),
    Mutant(
        "log-softmax-sign",
        "log_softmax adds the log-normaliser instead of subtracting it",
        SOFTMAX,
        r"out = shifted - xp\.log1p\(",
        r"out = shifted + xp.log1p(",
        chapters=LOG_SOFTMAX_CHAPTERS,
    ),
    Mutant(
        "logsumexp-no-max-shift",
        "logsumexp shifts by 0 instead of the row max: log Σ exp(z) overflows",
        SOFTMAX,
        r"m = " + NS + r"max\(work, axis=-1, keepdims=True\)\n",
        r"m = \g<ns>.zeros_like(\g<ns>.max(work, axis=-1, keepdims=True))\n",
        chapters=LOGSUMEXP_CHAPTERS,
    ),
    Mutant(
        "logsumexp-no-infinity-guard",
        "logsumexp drops its non-finite-max guard: inf − inf gives NaN instead of ±inf",
        SOFTMAX,
        r"out = " + NS + r"where\((?:np|xp)\.isfinite\(m\), (.*), m\)$",
        r"out = \2",
        why_no_chapter="no chapter passes ±inf logits to logsumexp",
    ),
    Mutant(
        "logsumexp-forgets-max",
        "logsumexp returns log Σ exp(z − m) without adding m back",
        SOFTMAX,
        r"(xp\.log1p\(rest\)) \+ m, m\)$",
        r"\1, m)",
        chapters=LOGSUMEXP_CHAPTERS,
    ),
    # --- the log1p form: log Σ exp(s) = log1p(Σ_{k≠argmax} exp(s_k)) ---------------------------------
    Mutant(
        "log1p-as-log",
        "log instead of log1p on the sum without the max's term (log1p(s) becomes log s): the 1 of exp(0) is lost",
        SOFTMAX,
        r"return " + NS + r"sum\(others, axis=-1, keepdims=True\) \+ \(n_top - 1\)$",
        r"return \g<ns>.expm1(\g<ns>.log(\g<ns>.sum(others, axis=-1, keepdims=True) + (n_top - 1)))",
        chapters=LOG_SOFTMAX_CHAPTERS,
    ),
    Mutant(
        "log1p-one-added-twice",
        "log1p of the sum with the max's 1 restored before it: log(2 + Σ_{k≠argmax}) instead of log(1 + …)",
        SOFTMAX,
        r"keepdims=True\) \+ \(n_top - 1\)$",
        r"keepdims=True) + n_top",
        chapters=LOG_SOFTMAX_CHAPTERS,
    ),
    Mutant(
        "log1p-rounded-one-plus",
        "log(1 + s) instead of log1p(s): right in exact arithmetic, but rounds away every digit of s below u",
        SOFTMAX,
        r"return (" + NS + r"sum\(others, axis=-1, keepdims=True\) \+ \(n_top - 1\))$",
        r"return (1 + \1) - 1",
        # test_fast.py holds the test of log p for a dominant logit, where s is below u
        unit_tests=("tests/test_fast.py",) + UNIT,
        chapters=chapters("fast_exact"),
    ),
    Mutant(
        "log1p-ties-ignored",
        "the ties term dropped: entries tied with the max are zeroed with it, so their 1s are lost",
        SOFTMAX,
        r"keepdims=True\) \+ \(n_top - 1\)$",
        r"keepdims=True)",
        unit_tests=("tests/test_checks.py",) + UNIT,
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
        LOSS_TARGET,
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
        LOSS_TARGET,
        r"\(wide >= n_classes\)",
        r"(wide > n_classes)",
        why_no_chapter=ERROR_PATH,
    ),
    Mutant(
        "target-row-sum-unchecked",
        "probability targets whose rows do not sum to 1 are accepted",
        LOSS_TARGET,
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
        "row_max replaces a non-finite max by 0: a row with a +inf entry gives [nan, 0, …] instead of all NaN",
        BLOCKED,
        r"return np\.max\(rows, axis=1, keepdims=True\)$",
        r"m = np.max(rows, axis=1, keepdims=True)\n    return np.where(np.isfinite(m), m, 0).astype(rows.dtype)",
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
        r"k = xp\.arange\(1, work\.shape\[-1\] \+ 1, dtype=work\.dtype, device=device\(z\)\)",
        r"k = xp.arange(work.shape[-1], dtype=work.dtype, device=device(z))",
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
        r"return CheckResult\(name, error, tolerance, measure\)",
        r"return CheckResult(name, float(np.abs(np.sum(actual - expected))), tolerance, measure)",
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
        "unit-roundoff-sqrt-eps",
        "unit_roundoff scales with √ε instead of ε: every rounding check becomes ~10⁸ times looser in float64",
        CHECKS,
        r"return machine_epsilon\(dtype\) / 2$",
        r"return machine_epsilon(dtype) ** 0.5 / 2",
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


# The record of the last run of the planted errors (tests/test_mutants.py writes it): one entry per
# (mutant, target), with the cell and the statement that raised.
RUN_RECORD = ROOT / "_build" / "mutation-run.json"
# Chapters that a mutant names but that no planted error makes raise, with the reason.
NOT_TRIPPED: dict[str, str] = {
    "book/api_reference.ipynb": (
        "it has no asserts: it prints one example output per function, which nbval compares with the stored "
        "one; the functions' claims are asserted in the chapters that derive them"
    ),
}


def _asserts(notebook: Path) -> list[tuple[int, int, int, str]]:
    """(cell index, first line, last line, text of the first line) of every assert in the code cells."""
    import ast
    import json

    found = []
    for index, cell in enumerate(json.loads(notebook.read_text())["cells"]):
        if cell["cell_type"] != "code":
            continue
        lines = "".join(cell["source"]).splitlines()
        # IPython's magics (%pip, !cmd) are not Python: a `pass` of the same indentation stands in.
        python = [re.sub(r"^(\s*)[%!].*", r"\1pass", line) for line in lines]
        for node in ast.walk(ast.parse("\n".join(python))):
            if isinstance(node, ast.Assert):
                found.append((index, node.lineno, node.end_lineno or node.lineno, lines[node.lineno - 1].strip()))
    return sorted(found)


def chapter_report(records: list[dict] | None = None) -> str:
    """Per chapter: every assert in its code cells, and the planted errors that tripped it in the last run.

    Each (mutant, chapter) run stops at the first cell that raises, so an assert is listed with the
    planted errors that reached it first. A statement other than an assert that raised (a library
    call that rejects its input, or a check that raises itself) is listed too. `records` default to
    the last run's (RUN_RECORD); the asserts come from a scan, so a new one shows up unasked.
    """
    import json

    if records is None:
        if not RUN_RECORD.is_file():
            return f"no run recorded: run the planted errors first (pytest -m slow tests/test_mutants.py), {RUN_RECORD}"
        records = json.loads(RUN_RECORD.read_text())
    lines = []
    for notebook in sorted((ROOT / "book").glob("*.ipynb")):
        path = f"book/{notebook.name}"
        asserts = _asserts(notebook)
        runs = [r for r in records if r["mutant"] and r["target"] == path]
        raised = [r for r in runs if r["status"] == "failed"]
        tripped_asserts = 0
        body = []
        for cell, first, last, text in asserts:
            by = [r["mutant"] for r in raised if r["cell"] == cell and first <= r["line"] <= last]
            tripped_asserts += bool(by)
            body.append(f"    Cell {cell}: {text[:100]}\n        tripped by: " + (", ".join(by) or "-"))
        others = {}
        for r in raised:
            if not any(r["cell"] == cell and first <= r["line"] <= last for cell, first, last, _ in asserts):
                others.setdefault((r["cell"], r["statement"], r["error"]), []).append(r["mutant"])
        for (cell, statement, error), by in sorted(others.items()):
            text = f"    Cell {cell}: {statement[:100]}  (raised {error}, not an assert)\n        by: "
            body.append(text + ", ".join(by))
        not_reached = [r["mutant"] for r in runs if r["status"] == "passed"]
        header = (
            f"## {path}: {len(asserts)} asserts, {tripped_asserts} tripped by a planted error; "
            f"{len(raised)} of the {len(runs)} planted errors run on it raise"
        )
        lines.append(header)
        if path in NOT_TRIPPED:
            lines.append(f"    no planted error trips it: {NOT_TRIPPED[path]}")
        if not_reached:
            lines.append("    runs through without raising under: " + ", ".join(not_reached))
        lines += body
    return "\n".join(lines)


if __name__ == "__main__":
    repository = Path(__file__).resolve().parent.parent
    if sys.argv[1:] == ["--by-chapter"]:
        print(chapter_report())
        sys.exit(0)
    for name in sys.argv[1:] or list(BY_NAME):
        print(f"# {name}: {BY_NAME[name].description}\n{diff(BY_NAME[name], repository)}")
