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
Every library-result assert of every chapter and the planted errors that trip it, every cell run:
python -m tests.mutants --every-assert [NAME ...] (see run_every_assert); rewrite that report from its JSON
(after editing UNTRIPPED_ASSERTS, or merging runs): python -m tests.mutants --every-assert-report [JSON ...].
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
BOUNDS = "softmax_lib/checks/bounds.py"
FORMULAS = "softmax_lib/checks/formulas.py"
GUMBEL = "softmax_lib/_gumbel.py"
TRAINING_VARIANTS = "softmax_lib/_training_variants.py"
LINEAR_CROSS_ENTROPY = "softmax_lib/_linear_cross_entropy.py"

UNIT = ("tests/test_softmax_lib.py", "tests/test_properties.py", "tests/test_errors.py")
FAST_UNIT = ("tests/test_fast.py",)
VARIANTS_UNIT = ("tests/test_variants.py",)
TRAINING_VARIANTS_UNIT = ("tests/test_training_variants.py",)
CHECKS_UNIT = ("tests/test_checks.py",)
LINEAR_UNIT = ("tests/test_linear_cross_entropy.py",)


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
    # The unit test (a pytest node id) and the chapter (a name in `chapters`) that the last run saw fail
    # first: the run tries them before the others, so that a caught mutant costs one test and one
    # chapter. A claim like the others: the slow run fails if either no longer catches the mutant.
    caught_by: str = ""
    tripped_in: str = ""

    @property
    def first_chapter(self) -> str:
        """The path of `tripped_in` (book/NAME.ipynb), or "" when no chapter raises."""
        return f"book/{self.tripped_in}.ipynb" if self.tripped_in else ""

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
        # softmax_definition: softmax(z + c) equals softmax(z) bit for bit only when the shift cancels exactly
        chapters=chapters("numerics", "softmax_definition"),
        caught_by="tests/test_softmax_lib.py::test_stable_for_huge_logits[numpy-float64-10000.0]",
        tripped_in="softmax_definition",
    ),
    Mutant(
        "softmax-sum-wrong-axis",
        "softmax normalises over axis 0 instead of the class axis",
        SOFTMAX,
        r"e / " + NS + r"sum\(e, axis=-1, keepdims=True\)",
        r"e / \g<ns>.sum(e, axis=0, keepdims=True)",
        chapters=SOFTMAX_CHAPTERS,
        caught_by="tests/test_softmax_lib.py::test_softmax_log_softmax_logsumexp_match_torch[numpy-float64--1]",
        tripped_in="intro",
    ),
    Mutant(
        "softmax-half-not-widened",
        "float16/bfloat16 computed in half precision (_widened returns its input): every step rounds to 11 or 8 bits",
        SOFTMAX,
        r"return " + NS + r"astype\(z, (?:np|xp)\.float32\) if (?:np|xp)\.finfo\(z\.dtype\)\.bits < 32 else z",
        r"return z",
        unit_tests=("tests/test_checks.py",) + UNIT,
        chapters=HALF_CHAPTERS,
        caught_by="tests/test_checks.py::test_half_precision_is_float32_arithmetic_rounded_once[softmax]",
        tripped_in="fast_exact",
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
        caught_by="tests/test_softmax_lib.py::test_stable_for_huge_logits[numpy-float64-10000.0]",
        tripped_in="fast_exact",
    ),
    Mutant(
        "log-softmax-as-log-of-softmax",
        "log_softmax computed as log(softmax(z)): −inf where p underflows",
        SOFTMAX,
        r"out = shifted - " + NS + r"log1p\(sum_without_maxima\(xp\.exp\(shifted\), shifted, xp\)\)\n(.*\n)",
        r"out = \g<ns>.log(_class_last(softmax(z, axis=axis), axis, xp))\n\2",
        chapters=chapters("numerics", "fast_exact"),
        caught_by="tests/test_softmax_lib.py::test_softmax_log_softmax_logsumexp_match_torch[numpy-float16--1]",
        tripped_in="numerics",
    ),
    Mutant(
        "log-softmax-sign",
        "log_softmax adds the log-normaliser instead of subtracting it",
        SOFTMAX,
        r"out = shifted - xp\.log1p\(",
        r"out = shifted + xp.log1p(",
        chapters=LOG_SOFTMAX_CHAPTERS,
        caught_by="tests/test_softmax_lib.py::test_softmax_log_softmax_logsumexp_match_torch[numpy-float64--1]",
        tripped_in="loss_hessian",
    ),
    Mutant(
        "logsumexp-no-max-shift",
        "logsumexp shifts by 0 instead of the row max: log Σ exp(z) overflows",
        SOFTMAX,
        r"m = " + NS + r"max\(work, axis=-1, keepdims=True\)\n",
        r"m = \g<ns>.zeros_like(\g<ns>.max(work, axis=-1, keepdims=True))\n",
        chapters=LOGSUMEXP_CHAPTERS,
        caught_by="tests/test_softmax_lib.py::test_stable_for_huge_logits[numpy-float64-10000.0]",
        tripped_in="numerics",
    ),
    Mutant(
        "logsumexp-no-infinity-guard",
        "logsumexp drops its non-finite-max guard: inf − inf gives NaN instead of ±inf",
        SOFTMAX,
        r"out = " + NS + r"where\((?:np|xp)\.isfinite\(m\), (.*), m\)$",
        r"out = \2",
        why_no_chapter="no chapter passes ±inf logits to logsumexp",
        caught_by="tests/test_softmax_lib.py::test_logsumexp_of_infinities_matches_torch[numpy-float64]",
    ),
    Mutant(
        "logsumexp-forgets-max",
        "logsumexp returns log Σ exp(z − m) without adding m back",
        SOFTMAX,
        r"(xp\.log1p\(rest\)) \+ m, m\)$",
        r"\1, m)",
        chapters=LOGSUMEXP_CHAPTERS,
        caught_by="tests/test_softmax_lib.py::test_softmax_log_softmax_logsumexp_match_torch[numpy-float64--1]",
        tripped_in="loss_geometry",
    ),
    # --- the log1p form: log Σ exp(s) = log1p(Σ_{k≠argmax} exp(s_k)) ---------------------------------
    Mutant(
        "log1p-as-log",
        "log instead of log1p on the sum without the max's term (log1p(s) becomes log s): the 1 of exp(0) is lost",
        SOFTMAX,
        r"return " + NS + r"sum\(others, axis=-1, keepdims=True\) \+ \(n_top - 1\)$",
        r"return \g<ns>.expm1(\g<ns>.log(\g<ns>.sum(others, axis=-1, keepdims=True) + (n_top - 1)))",
        chapters=LOG_SOFTMAX_CHAPTERS,
        caught_by="tests/test_softmax_lib.py::test_softmax_log_softmax_logsumexp_match_torch[numpy-float64--1]",
        tripped_in="loss_hessian",
    ),
    Mutant(
        "log1p-one-added-twice",
        "log1p of the sum with the max's 1 restored before it: log(2 + Σ_{k≠argmax}) instead of log(1 + …)",
        SOFTMAX,
        r"keepdims=True\) \+ \(n_top - 1\)$",
        r"keepdims=True) + n_top",
        chapters=LOG_SOFTMAX_CHAPTERS,
        caught_by="tests/test_softmax_lib.py::test_softmax_log_softmax_logsumexp_match_torch[numpy-float64--1]",
        tripped_in="devices",
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
        caught_by="tests/test_fast.py::test_blocked_equals_two_pass[1-float32]",
        tripped_in="fast_exact",
    ),
    Mutant(
        "log1p-ties-ignored",
        "the ties term dropped: entries tied with the max are zeroed with it, so their 1s are lost",
        SOFTMAX,
        r"keepdims=True\) \+ \(n_top - 1\)$",
        r"keepdims=True)",
        unit_tests=("tests/test_checks.py",) + UNIT,
        chapters=LOG_SOFTMAX_CHAPTERS,
        caught_by="tests/test_checks.py::test_ties_at_the_max_each_add_their_one[float32]",
        tripped_in="loss_geometry",
    ),
    # --- Jacobian and VJP ------------------------------------------------------------------------
    Mutant(
        "jacobian-diagonal-only",
        "Jacobian drops the off-diagonal −p_i p_j: diag(p(1 − p)), right on the diagonal only",
        SOFTMAX,
        r" - p\[\.\.\., :, None\] \* p\[\.\.\., None, :\]$",
        r" * (1 - p[..., None, :])",
        chapters=JACOBIAN_CHAPTERS,
        caught_by="tests/test_softmax_lib.py::test_softmax_jacobian[numpy-float64-2]",
        tripped_in="loss_hessian",
    ),
    Mutant(
        "jacobian-missing-diagonal",
        "Jacobian drops the diag(p) term: −ppᵀ only",
        SOFTMAX,
        r"p\[\.\.\., :, None\] \* eye - ",
        r"-",
        chapters=JACOBIAN_CHAPTERS,
        caught_by="tests/test_softmax_lib.py::test_softmax_jacobian[numpy-float64-1]",
        tripped_in="loss_hessian",
    ),
    Mutant(
        "jacobian-outer-sign",
        "Jacobian adds ppᵀ instead of subtracting it: diag(p) + ppᵀ",
        SOFTMAX,
        r" - (p\[\.\.\., :, None\] \* p\[\.\.\., None, :\])$",
        r" + \1",
        chapters=JACOBIAN_CHAPTERS,
        caught_by="tests/test_softmax_lib.py::test_softmax_jacobian[numpy-float64-1]",
        tripped_in="loss_hessian",
    ),
    Mutant(
        "jacobian-class-axis-not-moved",
        "Jacobian forgets to move the class axis last: wrong blocks for axis ≠ −1",
        SOFTMAX,
        r"^(\s*)p = " + NS + r"moveaxis\(p, axis, -1\)$",
        r"\1p = p",
        chapters=JACOBIAN_CHAPTERS,
        caught_by="tests/test_softmax_lib.py::test_softmax_jacobian_layout[numpy]",
        tripped_in="jacobian",
    ),
    Mutant(
        "jacobian-dtype-float64",
        "Jacobian builds the identity in the default dtype: float32 input returns float64",
        SOFTMAX,
        r"(eye = " + NS + r"eye\(p\.shape\[-1\]), dtype=p\.dtype,",
        r"\1,",
        why_no_chapter="the chapters work in float64, where the dtype is unchanged",
        caught_by="tests/test_softmax_lib.py::test_dtype_is_kept[numpy-float32]",
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
        caught_by="tests/test_softmax_lib.py::test_softmax_jacobian[numpy-float64-2]",
        tripped_in="devices",
    ),
    Mutant(
        "vjp-inner-product-wrong-axis",
        "VJP sums p ⊙ v over axis 0 instead of the class axis",
        SOFTMAX,
        r"(p \* \(v - " + NS + r"sum\(p \* v, axis=)axis(, keepdims=True\)\))",
        r"\1-1 if axis == 0 else 0\3",
        why_no_chapter="the chapters call softmax_vjp on single rows only, where every axis is the class axis",
        caught_by="tests/test_softmax_lib.py::test_softmax_vjp_matches_torch_and_jacobian[numpy-float64--1]",
    ),
    # --- cross-entropy ---------------------------------------------------------------------------
    Mutant(
        "grad-p-plus-y",
        "cross-entropy gradient p + y instead of p − y (index targets: adds w_t at the target class)",
        CROSS_ENTROPY,
        r"_subtract_at_target\(grad, tgt\.index, tgt\.w_t if eps == 0 else \(1 - eps\) \* tgt\.w_t, axis\)",
        r"_subtract_at_target(grad, tgt.index, -tgt.w_t if eps == 0 else -(1 - eps) * tgt.w_t, axis)",
        chapters=CE_GRAD_CHAPTERS,
        caught_by="tests/test_softmax_lib.py::test_against_50_digit_reference[numpy-float64]",
        tripped_in="devices",
    ),
    Mutant(
        "grad-wrong-sign",
        "cross-entropy gradient y − p (the descent direction) instead of p − y",
        CROSS_ENTROPY,
        r"grad = (_row_grads\(z, tgt, axis)",
        r"grad = -\1",
        chapters=CE_GRAD_CHAPTERS,
        caught_by="tests/test_softmax_lib.py::test_against_50_digit_reference[numpy-float64]",
        tripped_in="devices",
    ),
    Mutant(
        "grad-mean-divides-by-k",
        "mean reduction's gradient divided by K (classes) instead of N (rows)",
        CROSS_ENTROPY,
        r"grad = _mean_of\(grad, ce_divisor\)",
        r"grad = _mean_of(grad, z.shape[axis])",
        chapters=CE_GRAD_CHAPTERS,
        caught_by="tests/test_softmax_lib.py::test_cross_entropy_and_grad[numpy-float64-index-mean]",
        tripped_in="devices",
    ),
    Mutant(
        "grad-mean-divides-by-nk",
        "mean reduction's gradient divided by N·K (every entry) instead of N",
        CROSS_ENTROPY,
        r"grad = _mean_of\(grad, ce_divisor\)",
        r"grad = _mean_of(grad, ce_divisor * z.shape[axis])",
        chapters=CE_GRAD_CHAPTERS,
        caught_by="tests/test_softmax_lib.py::test_cross_entropy_and_grad[numpy-float64-index-mean]",
        tripped_in="devices",
    ),
    Mutant(
        "grad-none-divided-too",
        "gradient divided by N for reduction 'none' as well as 'mean'",
        LOSS_TARGET,
        r"if reduction != \"mean\":\n(\s+return 1\.0, 1\.0)",
        r'if reduction == "sum":\n\1',
        chapters=CE_GRAD_CHAPTERS,
        caught_by="tests/test_softmax_lib.py::test_cross_entropy_and_grad[numpy-float64-index-none]",
        tripped_in="cross_entropy_gradient",
    ),
    Mutant(
        "loss-log-of-softmax",
        "cross-entropy uses log(softmax(z)) instead of log_softmax: +inf where p underflows",
        CROSS_ENTROPY,
        r"log_p = log_softmax\(z, axis=axis\)",
        r"log_p = xp.log(softmax(z, axis=axis))",
        chapters=chapters("numerics"),
        caught_by="tests/test_softmax_lib.py::test_stable_for_huge_logits[numpy-float64-10000.0]",
        tripped_in="numerics",
    ),
    Mutant(
        "loss-sum-wrong-axis",
        "cross-entropy sums −y log p over axis 0 instead of the class axis",
        CROSS_ENTROPY,
        r"(zeros_like\(log_p\)\), axis=)axis\)",
        r"\g<1>0)",
        chapters=CE_CHAPTERS,
        caught_by="tests/test_softmax_lib.py::test_cross_entropy_and_grad[numpy-float64-probability-none]",
        tripped_in="loss_hessian",
    ),
    Mutant(
        "loss-sign",
        "cross-entropy without the minus sign (index targets): log p_t ≤ 0",
        CROSS_ENTROPY,
        r"ce = -picked if weight is None",
        r"ce = picked if weight is None",
        chapters=CE_CHAPTERS,
        caught_by="tests/test_softmax_lib.py::test_stable_for_huge_logits[numpy-float64-10000.0]",
        tripped_in="cross_entropy_gradient",
    ),
    Mutant(
        "loss-mean-is-sum",
        "reduction 'mean' returns the sum over rows",
        CROSS_ENTROPY,
        r"loss = " + NS + r"mean\(ce\) if plain",
        r"loss = \g<ns>.sum(ce) if plain",
        chapters=CE_CHAPTERS,
        caught_by="tests/test_softmax_lib.py::test_cross_entropy_and_grad[numpy-float64-index-mean]",
        tripped_in="cross_entropy_gradient",
    ),
    Mutant(
        "loss-masked-class-nan",
        "the 0·log 0 = 0 convention dropped: a masked class (z_k = −inf) the target ignores gives 0·(−inf) = NaN",
        CROSS_ENTROPY,
        r"coef \* " + NS + r"where\(coef > 0, log_p, (?:np|xp)\.zeros_like\(log_p\)\)",
        r"coef * log_p",
        why_no_chapter="no chapter masks a class with a −inf logit",
        caught_by="tests/test_properties.py::test_infinities_handled_as_torch",
    ),
    Mutant(
        "target-index-off-by-one",
        "class-index range check accepts index K (> instead of >=)",
        LOSS_TARGET,
        r"\(wide >= n_classes\)",
        r"(wide > n_classes)",
        why_no_chapter=ERROR_PATH,
        caught_by="tests/test_softmax_lib.py::test_class_index_out_of_range[numpy-3]",
    ),
    Mutant(
        "target-row-sum-unchecked",
        "probability targets whose rows do not sum to 1 are accepted",
        LOSS_TARGET,
        r"if " + NS + r"any\(distance > tol\):",
        r"if False:",
        why_no_chapter=ERROR_PATH,
        caught_by="tests/test_softmax_lib.py::test_probability_rows_must_sum_to_one[numpy-rows0]",
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
        caught_by="tests/test_fast.py::test_blocked_equals_two_pass[1-float32]",
        tripped_in="fast_exact",
    ),
    Mutant(
        "blocked-row-sum-wrong-axis",
        "blocked softmax divides by the column sums (axis 0 of the block) instead of the row sums",
        BLOCKED,
        r"np\.divide\(dst, np\.sum\(dst, axis=1, keepdims=True\), out=dst\)",
        r"np.divide(dst, np.sum(dst, axis=0, keepdims=True), out=dst)",
        unit_tests=FAST_UNIT,
        chapters=FAST_CHAPTERS,
        caught_by="tests/test_fast.py::test_blocked_equals_two_pass[1-float32]",
        tripped_in="fast_exact",
    ),
    Mutant(
        "blocked-row-max-no-guard",
        "row_max replaces a non-finite max by 0: a row with a +inf entry gives [nan, 0, …] instead of all NaN",
        BLOCKED,
        r"return np\.max\(rows, axis=1, keepdims=True\)$",
        r"m = np.max(rows, axis=1, keepdims=True)\n    return np.where(np.isfinite(m), m, 0).astype(rows.dtype)",
        unit_tests=FAST_UNIT,
        why_no_chapter="no chapter passes ±inf logits to the blocked kernels",
        caught_by="tests/test_fast.py::test_blocked_non_finite_rows_match_two_pass",
    ),
    Mutant(
        "blocked-half-not-widened",
        "the blocked kernels compute float16 in float16 (working_dtype returns its input)",
        BLOCKED,
        r"return np\.dtype\(np\.float32\) if dtype == np\.float16 else np\.dtype\(dtype\)",
        r"return np.dtype(dtype)",
        unit_tests=FAST_UNIT,
        chapters=FAST_CHAPTERS,
        caught_by="tests/test_fast.py::test_blocked_float16_is_computed_in_float32",
        tripped_in="fast_exact",
    ),
    Mutant(
        "sum-without-top-not-restored",
        "sum_without_top leaves the max's term at 0 instead of restoring its 1: the fused gradient's p_argmax is 0",
        BLOCKED,
        r"^\s*e\[picked\] \+= 1.*\n",
        "",
        unit_tests=FAST_UNIT,
        chapters=FAST_CHAPTERS,
        caught_by="tests/test_fast.py::test_fused_equals_separate_and_torch[-1-index-mean]",
        tripped_in="fast_exact",
    ),
    Mutant(
        "sum-without-top-keeps-top",
        "sum_without_top forgets to take the max's 1 out: log1p(Σ_k e_k) = log(1 + Σ_k e_k)",
        BLOCKED,
        r"^\s*e\[picked\] -= 1.*\n",
        "",
        unit_tests=FAST_UNIT,
        chapters=FAST_CHAPTERS,
        caught_by="tests/test_fast.py::test_log1p_form_keeps_tiny_log_probabilities",
        tripped_in="fast_exact",
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
        caught_by="tests/test_fast.py::test_fused_equals_separate_and_torch[-1-index-mean]",
        tripped_in="fast_exact",
    ),
    Mutant(
        "fused-mean-divides-by-k",
        "fused mean reduction's gradient divided by K (classes) instead of N (rows)",
        FUSED,
        r"np\.divide\(g, ce_div, out=g\)",
        r"np.divide(g, n_classes, out=g)",
        unit_tests=FAST_UNIT,
        chapters=FAST_CHAPTERS,
        caught_by="tests/test_fast.py::test_fused_equals_separate_and_torch[-1-index-mean]",
        tripped_in="fast_exact",
    ),
    Mutant(
        "fused-target-logit-not-shifted",
        "fused loss uses z_c instead of z_c − m: the loss is off by the row max",
        FUSED,
        r"shifted_target = src\[picked\] - m\[:, 0\]",
        r"shifted_target = src[picked]",
        unit_tests=FAST_UNIT,
        chapters=FAST_CHAPTERS,
        caught_by="tests/test_fast.py::test_fused_equals_separate_and_torch[-1-index-mean]",
        tripped_in="fast_exact",
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
        caught_by="tests/test_fast.py::test_online_equals_two_pass[0-1]",
        tripped_in="fast_exact",
    ),
    Mutant(
        "online-rescale-missing",
        "online normalizer never rescales the running sum when the max grows",
        ONLINE,
        r"np\.where\(d == 0, np\.zeros_like\(d\), d \* np\.exp\(old_shift - new_shift\)\)",
        r"d",
        unit_tests=FAST_UNIT,
        chapters=FAST_CHAPTERS,
        caught_by="tests/test_fast.py::test_online_equals_two_pass[0-1]",
        tripped_in="fast_exact",
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
        caught_by="tests/test_variants.py::test_sparsemax_matches_torch_and_is_a_sparse_distribution[-1]",
        tripped_in="variants",
    ),
    Mutant(
        "sparsemax-jacobian-no-support-division",
        "sparsemax Jacobian drops the 1/|S|: diag(s) − ssᵀ",
        VARIANTS,
        r"s\[\.\.\., :, None\] \* s\[\.\.\., None, :\] / support_size",
        r"s[..., :, None] * s[..., None, :]",
        unit_tests=VARIANTS_UNIT,
        chapters=VARIANTS_CHAPTERS,
        caught_by="tests/test_variants.py::test_sparsemax_jacobian_matches_finite_differences_and_torch",
        tripped_in="variants",
    ),
    Mutant(
        "hierarchical-grad-sign",
        "hierarchical softmax gradient t_n − σ(s_n) instead of σ(s_n) − t_n",
        VARIANTS,
        r"sigmoid\(node_scores\[index\]\[nodes\]\) - \(signs > 0\)",
        r"(signs > 0) - sigmoid(node_scores[index][nodes])",
        unit_tests=VARIANTS_UNIT,
        chapters=VARIANTS_CHAPTERS,
        caught_by="tests/test_variants.py::test_hierarchical_gradient_matches_torch[2]",
        tripped_in="variants",
    ),
    Mutant(
        "sparsemax-not-clipped",
        "sparsemax returns z − τ without clipping at 0: the entries outside the support come out negative",
        VARIANTS,
        r"p = xp\.maximum\(shifted - \(support_sum - 1\) / support_size, xp\.zeros_like\(shifted\)\)",
        r"p = shifted - (support_sum - 1) / support_size",
        unit_tests=VARIANTS_UNIT,
        chapters=chapters("variants"),
        caught_by="tests/test_variants.py::test_sparsemax_matches_torch_and_is_a_sparse_distribution[-1]",
        tripped_in="variants",
    ),
    Mutant(
        "sigmoid-branches-swapped",
        "sigmoid's two stable branches swapped: e^(−|x|)/(1 + e^(−|x|)) for x ≥ 0, which is σ(−x)",
        VARIANTS,
        r"np\.where\(x >= 0, 1 / \(1 \+ e\), e / \(1 \+ e\)\)",
        r"np.where(x >= 0, e / (1 + e), 1 / (1 + e))",
        unit_tests=VARIANTS_UNIT,
        chapters=chapters("variants", "logistic_regression", "learning_theory", "output_layer"),
        caught_by="tests/test_variants.py::test_sigmoid_and_log_sigmoid_match_torch[float32]",
        tripped_in="logistic_regression",
    ),
    Mutant(
        "gumbel-softmax-tempers-noise-only",
        "Gumbel-softmax divides only the noise by T: softmax(z + g/T) instead of softmax((z + g)/T)",
        GUMBEL,
        r"softmax\(\(logits \+ gumbels\) / temperature, axis=axis\)",
        r"softmax(logits + gumbels / temperature, axis=axis)",
        unit_tests=VARIANTS_UNIT,
        chapters=chapters("variants"),
        caught_by="tests/test_variants.py::test_gumbel_softmax_limits",
        tripped_in="variants",
    ),
    Mutant(
        "huffman-merged-weight-not-summed",
        "Huffman's merged node weighs as its heavier child instead of the sum of both: the tree is no longer optimal",
        TRAINING_VARIANTS,
        r"heapq\.heappush\(heap, \(w_left \+ w_right, next_id, next_id\)\)",
        r"heapq.heappush(heap, (w_right, next_id, next_id))",
        unit_tests=TRAINING_VARIANTS_UNIT,
        chapters=chapters("variants"),
        caught_by="tests/test_training_variants.py::test_huffman_paths_are_a_complete_prefix_free_code_with_optimal_length",
        tripped_in="variants",
    ),
    # --- shared checks (checks.py): a weakened check passes wrong results silently ----------------------
    Mutant(
        "compare-abs-of-sum",
        "compare reports |Σ (actual − expected)| instead of the max scaled error: opposite errors cancel",
        CHECKS,
        r"return CheckResult\(name, error, tolerance, measure\)",
        r"return CheckResult(name, float(np.abs(np.sum(actual - expected))), tolerance, measure)",
        unit_tests=CHECKS_UNIT,
        chapters=chapters("audit", "loss_hessian", "logistic_regression"),
        caught_by="tests/test_checks.py::test_compare_reports_the_largest_entrywise_error_not_a_sum_that_cancels",
        tripped_in="loss_hessian",
    ),
    Mutant(
        "check-result-nan-passes",
        "CheckResult.passed as not (error > tolerance): a NaN error passes",
        CHECKS,
        r"return bool\(self\.max_error <= self\.tolerance\)",
        r"return not bool(self.max_error > self.tolerance)",
        unit_tests=CHECKS_UNIT,
        why_no_chapter="every chapter's checks produce finite errors: a NaN verdict is unit-tested",
        caught_by="tests/test_checks.py::test_a_nan_error_never_passes",
    ),
    Mutant(
        "unit-roundoff-sqrt-eps",
        "unit_roundoff scales with √ε instead of ε: every rounding check becomes ~10⁸ times looser in float64",
        CHECKS,
        r"return machine_epsilon\(dtype\) / 2$",
        r"return machine_epsilon(dtype) ** 0.5 / 2",
        unit_tests=CHECKS_UNIT,
        # numerics: the errors, in units of u, shrink ~10⁸ times, far below the bound they are shown to approach
        chapters=chapters("jacobian", "cross_entropy_gradient", "checking", "devices", "loss_geometry", "numerics"),
        caught_by="tests/test_checks.py::test_the_unit_roundoff_is_half_the_machine_epsilon[float16]",
        tripped_in="devices",
    ),
    Mutant(
        "softmax-bound-forgets-spread",
        "the per-entry softmax error bound drops |z_i − m| (the rounding of z_i − m that exp amplifies): K + 4 + log K",
        BOUNDS,
        r"return np\.abs\(z - np\.max\(z, axis=axis, keepdims=True\)\) \+ k \+ 4 \+ np\.log\(k\)$",
        r"return np.zeros_like(z) + k + 4 + np.log(k)",
        unit_tests=CHECKS_UNIT,
        chapters=chapters("numerics", "checking"),
        caught_by="tests/test_checks.py::test_the_softmax_bound_grows_with_the_distance_from_the_max",
        tripped_in="checking",
    ),
    # --- planted errors for the asserts of audit, checking, cross_entropy_at_scale, devices, fast_exact, intro,
    # jacobian_properties, numerics, softmax_definition, why_softmax ---
    Mutant(
        "float64-narrowed-to-float32",
        "_widened sends every dtype but float32 to float32 (!= 32 for < 32): float64 is computed in float32, "
        "2^29 times less accurate than promised, and rounded back",
        SOFTMAX,
        r"if xp\.finfo\(z\.dtype\)\.bits < 32 else z$",
        r"if xp.finfo(z.dtype).bits != 32 else z",
        chapters=chapters("intro", "softmax_definition", "why_softmax", "numerics"),
        caught_by="tests/test_softmax_lib.py::test_softmax_log_softmax_logsumexp_match_torch[numpy-float64--1]",
        tripped_in="intro",
    ),
    Mutant(
        "softmax-times-reciprocal",
        "softmax multiplies by the reciprocal of the sum instead of dividing by it: one rounding more per entry, "
        "within the error bound but no longer the shifted formula bit for bit",
        SOFTMAX,
        r"out = e / " + NS + r"sum\(e, axis=-1, keepdims=True\)",
        r"out = e * (1 / \g<ns>.sum(e, axis=-1, keepdims=True))",
        unit_tests=FAST_UNIT + UNIT,
        chapters=chapters("numerics"),
        caught_by="tests/test_fast.py::test_blocked_equals_two_pass[1-float32]",
        tripped_in="numerics",
    ),
    Mutant(
        "blocked-log1p-rounded-one-plus",
        "the blocked log_softmax takes log(1 + s) instead of log1p(s): every digit of s below u is rounded away",
        BLOCKED,
        r"np\.subtract\(dst, np\.log1p\(sum_without_maxima\(e, dst\)\), out=dst\)",
        r"np.subtract(dst, np.log(1 + sum_without_maxima(e, dst)), out=dst)",
        unit_tests=FAST_UNIT,
        chapters=FAST_CHAPTERS,
        caught_by="tests/test_fast.py::test_blocked_equals_two_pass[1-float32]",
        tripped_in="fast_exact",
    ),
    Mutant(
        "overwrite-logits-copies",
        "cross_entropy_with_grad(overwrite_logits=True) writes the gradient into a copy of the logits: a new "
        "array of the logits' size, the memory the option promises to save",
        CROSS_ENTROPY,
        r"grad = z if overwrite_logits else",
        r"grad = z.copy() if overwrite_logits else",
        unit_tests=FAST_UNIT,
        chapters=FAST_CHAPTERS,
        caught_by="tests/test_fast.py::test_fused_output_buffers",
        tripped_in="fast_exact",
    ),
    Mutant(
        "linear-grad-weight-not-accumulated",
        "the chunked linear cross-entropy overwrites ∂L/∂W with each chunk's product instead of adding it: "
        "only the last chunk's rows count",
        LINEAR_CROSS_ENTROPY,
        r"grad_W \+= np\.matmul\(logits\.T, h\[rows\], out=grad_W_part\)",
        r"np.matmul(logits.T, h[rows], out=grad_W)",
        unit_tests=LINEAR_UNIT,
        chapters=chapters("cross_entropy_at_scale"),
        caught_by="tests/test_linear_cross_entropy.py::test_matches_torch[nob-now-e0.0-z0.0-sum-2]",
        tripped_in="cross_entropy_at_scale",
    ),
    Mutant(
        "linear-z-loss-grad-halved",
        "the chunked linear cross-entropy (torch) differentiates the z-loss c·lse² as c·lse·p: the 2 is lost",
        LINEAR_CROSS_ENTROPY,
        r"coef = coef \+ 2 \* zc \* lse \* keptf / z_div",
        r"coef = coef + zc * lse * keptf / z_div",
        unit_tests=LINEAR_UNIT,
        chapters=chapters("cross_entropy_at_scale"),
        caught_by="tests/test_linear_cross_entropy.py::test_matches_torch[nob-now-e0.0-z0.1-none-None]",
        tripped_in="cross_entropy_at_scale",
    ),
    Mutant(
        "softmax64-rounds-logits-to-float32",
        "the float64 reference softmax64 (the function central differences differentiate) reads the logits as "
        "float32: every logit rounded to 24 bits, p off by up to 2⁻²⁴|z| relative, a step of 2⁻¹⁶ quantized",
        FORMULAS,
        r"e = np\.exp\(np\.asarray\(z, dtype=np\.float64\) - np\.max\(z, axis=axis, keepdims=True\)\)",
        r"e = np.exp(np.asarray(z, dtype=np.float32) - np.max(z, axis=axis, keepdims=True))",
        chapters=chapters("checking"),
        caught_by="tests/test_softmax_lib.py::test_softmax_jacobian[numpy-float64-2]",
        tripped_in="checking",
    ),
    # --- planted errors for the asserts of learning_theory, logistic_regression, loss_geometry, output_layer,
    # softmax_regression, variants ---
    Mutant(
        "sigmoid-float32",
        "sigmoid's exponential evaluated in float32 (np.exp(…, dtype=np.float32)): float64 input gets a float32 σ",
        VARIANTS,
        r"e = np\.exp\(-np\.abs\(x\)\)$",
        r"e = np.exp(-np.abs(x), dtype=np.float32)",
        unit_tests=VARIANTS_UNIT,
        chapters=chapters("learning_theory", "output_layer"),
        caught_by="tests/test_variants.py::test_sigmoid_and_log_sigmoid_match_torch[float64]",
        tripped_in="output_layer",
    ),
    Mutant(
        "sigmoid-positive-branch-only",
        "sigmoid without its x < 0 branch: 1/(1 + e^(−|x|)) everywhere, which is σ(|x|) ≥ ½",
        VARIANTS,
        r"np\.where\(x >= 0, 1 / \(1 \+ e\), e / \(1 \+ e\)\)",
        r"1 / (1 + e)",
        unit_tests=VARIANTS_UNIT,
        chapters=chapters("output_layer"),
        caught_by="tests/test_variants.py::test_sigmoid_and_log_sigmoid_match_torch[float32]",
        tripped_in="output_layer",
    ),
    Mutant(
        "log-sigmoid-drops-min",
        "log_sigmoid drops the min(x, 0) term: −log1p(e^(−|x|)) = log σ(|x|), wrong for every x < 0",
        VARIANTS,
        r"np\.minimum\(x, 0\) - np\.log1p\(np\.exp\(-np\.abs\(x\)\)\)",
        r"-np.log1p(np.exp(-np.abs(x)))",
        unit_tests=VARIANTS_UNIT + TRAINING_VARIANTS_UNIT,
        chapters=chapters("variants"),
        caught_by="tests/test_variants.py::test_sigmoid_and_log_sigmoid_match_torch[float32]",
        tripped_in="variants",
    ),
    Mutant(
        "huffman-max-heap",
        "Huffman's heap keyed by −weight (a max-heap): the two heaviest subtrees merge first, a chain, not optimal",
        TRAINING_VARIANTS,
        r"heap = \[\(float\(w\), c, c\)",
        r"heap = [(-float(w), c, c)",
        unit_tests=TRAINING_VARIANTS_UNIT,
        chapters=chapters("variants"),
        caught_by="tests/test_training_variants.py::test_huffman_paths_are_a_complete_prefix_free_code_with_optimal_length",
        tripped_in="variants",
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


# --- every assert on a library result, and the planted errors that trip it ----------------------------
# python -m tests.mutants --every-assert runs every (mutant, chapter it names) pair with every cell of the
# chapter run (tools/mutation_engine.py, every_cell), and writes ASSERTS_REPORT (.md and .json).
ASSERTS_REPORT = ROOT / "_build" / "mutation-asserts.md"
# Parts of softmax_lib whose results are not what a planted error changes: SymPy expressions built on the
# chapter's own symbols, the mpmath oracle, and number formatting for the text.
NOT_LIBRARY_MODULES = ("softmax_lib.symbolic", "softmax_lib.reference", "softmax_lib.formatting")
LIBRARY = "library result"


@dataclass(frozen=True)
class AssertEntry:
    chapter: str  # book/NAME.ipynb
    cell: int
    line: int  # first and last line of the assert in its cell
    last: int
    text: str  # the assert's first line, stripped
    kind: str  # LIBRARY, or another word for what it checks
    reason: str

    @property
    def key(self) -> tuple[str, int, str]:
        """What the exception lists below name an assert by: chapter, cell index, first line."""
        return (self.chapter, self.cell, self.text)


# Asserts the classification (assert_inventory) gets wrong, with the kind they are and why.
# Keyed by (chapter, cell index, the assert's first line); a fast test checks that each still exists
# and that the heuristic still classifies it otherwise.
TWIN = (
    "shows a check, a bound or a formula rejecting a wrong answer (a planted mistake of softmax_lib.checks.mistakes, "
    "a loosened bound, a wrong formula), as `assert not …` does: a weakened check trips it, a wrong result does not"
)
OWN_SYMBOLS_OR_TORCH = (
    "reads only the chapter's own SymPy expressions, or torch's result: the scan took a name for a library value"
)
AUDIT_BOOKKEEPING = (
    "checks the audit's own bookkeeping (which articles it recorded, that each has a verdict): the records the "
    "chapter wrote, not a value that softmax_lib computes"
)
OWN_ARITHMETIC = (
    "checks the chapter's own NumPy arithmetic (the softplus-normalized weights) with softmax_lib.checks.compare: "
    "no softmax_lib result is checked, and a weakened compare cannot make a passing check fail"
)
TORCH_HESSIAN = (
    "checks torch's Hessian of logsumexp (its eigenvalues, its row sums); softmax_lib supplies only the size of "
    "the tolerance (units of u, p.max()), which a planted error could loosen but not make fail"
)
MPMATH_AND_DATA = (
    "reads only the 50-digit mpmath oracle and the chapter's own rows: Σ p_k (m − z_k) ≤ log K is a property of "
    "exact softmax, not of softmax_lib's result"
)
NUMPY_VS_TORCH = (
    "compares the chapter's own NumPy formula with torch's autograd: softmax_lib supplies only the check (compare) "
    "and its unit constants, whose planted errors loosen it"
)
MPMATH_ONLY = (
    "reads only the 50-digit mpmath reference (softmax_lib.reference) and the unit roundoff u of a dtype: a statement "
    "about exact values, which no computation of softmax_lib enters"
)
ASSERT_KIND_EXCEPTIONS: dict[tuple[str, int, str], tuple[str, str]] = {
    (
        "book/checking.ipynb",
        6,
        "assert not tiny_entry.passed and tiny_entry.max_error == abs(1e-3 - 1e-6) / 1e-6  # 999, to rounding",
    ): ("failing twin", TWIN),
    (
        "book/cross_entropy_at_scale.ipynb",
        6,
        'assert loss_check.name.startswith("cross_entropy vs torch") and not loss_check.passed',
    ): ("failing twin", TWIN),
    ("book/cross_entropy_gradient.ipynb", 18, 'assert result.passed == (name == "log 57"), result'): (
        "failing twin",
        TWIN,
    ),
    ("book/devices.ipynb", 10, "assert all(rejected), mistake.name"): ("failing twin", TWIN),
    (
        "book/fast_exact.ipynb",
        8,
        'assert same_as_float32["scipy"] < len(FLOAT16_INPUTS)  # the check can fail: float16 arithmetic is not float32 rounded',  # noqa: E501
    ): ("failing twin", TWIN),
    (
        "book/fast_exact.ipynb",
        15,
        'assert all(dominant[name] >= 2.0**52 for name in ("textbook shifted", "scipy", "torch"))',
    ): ("other", OWN_SYMBOLS_OR_TORCH),
    ("book/fast_exact.ipynb", 43, "assert left[0] == right[0] and reduced(left[1] - right[1]) == 0"): (
        "other",
        OWN_SYMBOLS_OR_TORCH,
    ),
    (
        "book/fast_exact.ipynb",
        43,
        "assert reduced(left[1] - sum(d * sp.exp(m - m_all) for m, d in (first, second, third))) == 0",
    ): ("other", OWN_SYMBOLS_OR_TORCH),
    (
        "book/fast_exact.ipynb",
        43,
        "assert gap != 0 and gap.subs(dict(zip(state_symbols, (0, 1, 1, 1, 2, 1)))).evalf() != 0",
    ): ("other", OWN_SYMBOLS_OR_TORCH),
    ("book/jacobian.ipynb", 18, "assert normwise.passed and not flushed_result.passed"): ("failing twin", TWIN),
    ("book/jacobian_properties.ipynb", 17, "assert rejected_by, prop"): ("failing twin", TWIN),
    ("book/jacobian_properties.ipynb", 23, "assert forgotten.passed == (temperature == 1.0)"): ("failing twin", TWIN),
    ("book/jacobian_properties.ipynb", 31, "assert np.max(np.abs(equal_eigenvalues - guess)) > tau"): (
        "failing twin",
        TWIN,
    ),
    ("book/loss_geometry.ipynb", 10, "assert half_bound_fails"): ("failing twin", TWIN),
    (
        "book/loss_geometry.ipynb",
        16,
        "assert softmax_lib.cross_entropy(np.array([1.0, 0.0, 0.0]), target) > float(h_exact) + tolerance * loss_scale",
    ): ("failing twin", TWIN),
    ("book/loss_hessian.ipynb", 18, 'assert result.passed == (name == "p_c + p_k - (p_c - p_k)^2"), result'): (
        "failing twin",
        TWIN,
    ),
    ("book/numerics.ipynb", 14, "assert not plain.passed and np.all(plain_log_softmax(rows)[:, 0] == 0)"): (
        "failing twin",
        TWIN,
    ),
    ("book/numerics.ipynb", 16, "assert torch_log_of_softmax[1] == -np.inf"): ("other", OWN_SYMBOLS_OR_TORCH),
    (
        "book/numerics.ipynb",
        22,
        'assert np.all(tie_errors["torch"] <= exact_bound + 1), (dtype, tie_errors["torch"])',
    ): (
        "other",
        OWN_SYMBOLS_OR_TORCH,
    ),
    ("book/numerics.ipynb", 22, 'assert np.max(tie_errors["division-free"]) > exact_bound'): ("failing twin", TWIN),
    ("book/numerics.ipynb", 24, "assert worst > softmax_bound_units(n_classes), (dtype, spread, worst)"): (
        "failing twin",
        TWIN,
    ),
    (
        "book/output_layer.ipynb",
        26,
        "assert abs(0.005 * sweep[loss][0.005] - 2 * flow_time[loss]) > riemann_bound(loss, 0.005)",
    ): ("failing twin", TWIN),
    (
        "book/softmax_definition.ipynb",
        6,
        "assert np.any(np.abs(frequencies - softmax_lib.softmax(logits / 1.3)) > 5 * standard_errors)",
    ): ("failing twin", TWIN),
    ("book/variants.ipynb", 15, "assert loose_bound_violated  # the bound without K − 1 fails"): ("failing twin", TWIN),
    ("book/variants.ipynb", 15, "assert abs(at_003[0] - wrong_limit) > 4 * at_003[1]"): ("failing twin", TWIN),
    (
        "book/variants.ipynb",
        19,
        "assert abs(slope - 1.0) > 4 * slope_error and abs(slope) > 4 * slope_error  # not 1/T, not constant",
    ): ("failing twin", TWIN),
    ("book/variants.ipynb", 59, "assert np.max(np.abs(empirical - scipy.stats.norm.cdf(differences))) > dkw_bound"): (
        "failing twin",
        TWIN,
    ),
    (
        "book/why_softmax.ipynb",
        16,
        "assert softmax_lib.logsumexp(equal) > 0.5 * np.log(n_classes)  # the wrong, tighter bound fails",
    ): ("failing twin", TWIN),
    ("book/audit.ipynb", 53, "assert same(dJ_dW, corrected_dJ_dW)"): ("other", OWN_SYMBOLS_OR_TORCH),
    (
        "book/audit.ipynb",
        59,
        "assert all(same(l1, l2) for l1, l2 in zip(line_1, line_2))  # line 2 does follow from line 1",
    ): ("other", OWN_SYMBOLS_OR_TORCH),
    ("book/audit.ipynb", 77, "assert audit.articles() == ARTICLES"): ("audit bookkeeping", AUDIT_BOOKKEEPING),
    (
        "book/audit.ipynb",
        77,
        "assert all(verdict_counts[article][NO_VERDICT] < sum(verdict_counts[article].values()) for article in ARTICLES)",  # noqa: E501
    ): ("audit bookkeeping", AUDIT_BOOKKEEPING),
    ("book/why_softmax.ipynb", 18, "assert result.passed, result"): ("other", OWN_ARITHMETIC),
    ("book/why_softmax.ipynb", 14, "assert eigenvalues.min() >= -(2 * torch_units + n_classes) * u"): (
        "other",
        TORCH_HESSIAN,
    ),
    (
        "book/why_softmax.ipynb",
        14,
        "assert np.abs(hessian @ np.ones(n_classes)).max() <= 2 * (torch_units + n_classes - 1) * u * p.max()",
    ): ("other", TORCH_HESSIAN),
    ("book/numerics.ipynb", 16, "assert compare(  # torch's log_softmax: the bound holds for it too"): (
        "other",
        OWN_SYMBOLS_OR_TORCH,
    ),
    ("book/numerics.ipynb", 24, "assert np.all(np.sum(p * gaps, axis=-1) <= np.log(n_classes))"): (
        "other",
        MPMATH_AND_DATA,
    ),
    ("book/learning_theory.ipynb", 12, "assert result.passed, result"): ("other", NUMPY_VS_TORCH),
    (
        "book/loss_geometry.ipynb",
        14,
        "assert abs(reference + s_exact) <= log1p_units * unit_roundoff(np.float64) * s_exact  # −log1p(s) = −s to first order",  # noqa: E501
    ): ("other", MPMATH_ONLY),
    (
        "book/loss_geometry.ipynb",
        18,
        "assert abs(perturbed - exact) / abs(exact) <= kappa * u32 * (1 + kappa * u32) + 2 * unit_roundoff(np.float64) * (",  # noqa: E501
    ): ("other", MPMATH_ONLY),
}

# Library-result asserts that no planted error trips, and why a planted error for them would not be a
# plausible mistake (or why what they check is a property of the data, not of the code).
SETUP = (
    "checks the chapter's setup (its data, the constants it quotes, a counting identity), which no error in the "
    "library's arithmetic changes"
)
TEXTBOOK = (
    "checks the textbook formula the chapter contrasts with the library (the chapter's own, or the textbook versions "
    "of softmax_lib.checks.accuracy) where it overflows or loses every digit: a property of that formula and input, "
    "which a planted error in softmax_lib's functions leaves unchanged"
)
TIMING = (
    "a timing, memory or data-flow measurement: the planted errors change values, not speed, bytes allocated or the "
    "number of passes over the data"
)
ONE_ROW = (
    "a property of softmax (or logsumexp) of one float64 row of moderate logits: the plausible mistakes (a wrong "
    "axis, a missing shift, half precision not widened) compute the same numbers on such a row, and one that changed "
    "them (a wrong exponential or division) is not a plausible mistake in those three lines"
)
IN_UNIT_INTERVAL = (
    "0 ≤ p ≤ 1 (0 < p < 1 at scale 1): each entry is a positive term over a sum that contains it, which every "
    "plausible softmax mistake keeps (a wrong axis divides by a column sum that still contains the entry)"
)
TAU_SAME_FORMULA = (
    "the check's tolerance against the formula the text states: both sides come from the same functions of "
    "softmax_lib.checks, so an error there moves both; it keeps the text in step with the code"
)
INVISIBLE = (
    "a property of the data: some Jacobian entries of logits of scale 50 lie below tau·max|J|, as for any Jacobian "
    "whose entries span more than 1/tau, right or wrong"
)
GUMBEL_LIMITS = (
    "a limit or a statistical property of Gumbel-softmax samples (towards one-hot as T → 0, towards uniform as "
    "T → ∞, bias and spread within standard errors), which softmax(z + g/T), the planted mistake, shares; that "
    "mistake trips the exact checks of cells 15 and 17 instead"
)
TREE_DEPTH = (
    "the depths of the balanced tree: a plausible slip in the split point (⌊·⌋ for ⌈·⌉) keeps them, and a tree that "
    "broke them (a chain) is not a plausible mistake in a bisection"
)
KRAFT = (
    "Kraft's equality holds for every tree built by merging two nodes at a time, with right or wrong weights: "
    "only the mean depth (tripped by huffman-merged-weight-not-summed) tells a wrong tree"
)
PAIRED_SIGNS = (
    "the leaves of any binary tree with the signs ±1 at each node sum to 1 (σ(s) + σ(−s) = 1), whatever the tree"
)
POISONED = (
    "NaN scores off the path: a property of reading only the path (a gather), or of NaN propagation through "
    "log_softmax; reading every score instead is not a plausible mistake in that code"
)
ONLINE_MAX = (
    "the running maximum of the online normalizer is exact (max rounds nothing); the plausible mistakes there "
    "are in the rescaling, planted as online-rescale-*, which leave the maximum unchanged"
)
AFTER_THE_MATCH = (
    "an exact property of the softmax Jacobian (its eigenvalues are at most 1/(2T)), checked in the loop after the "
    "library's Jacobian is matched entry by entry against torch's and against central differences: a planted error "
    "that moved the top eigenvalue by more than rounding fails those comparisons first, which ends the loop"
)
TENSOR_KEPT = (
    "a float64 tensor in, a float64 tensor on its device out: the chapter runs where a CPU is the only device, and "
    "the plausible mistakes that lose the tensor (a NumPy converter on the general path) raise in the calls before "
    "the assert, as planting as_numpy_float_array in cross_entropy showed; the unit tests check type, device and "
    "dtype on every backend"
)
HALF_WITHIN_BOUND = (
    "float16/bfloat16 softmax of three logits against the 50-digit reference within |z_i − m| + K + 4 + log K units "
    "of the half format: the plausible mistakes on this path (half not widened to float32, the shift dropped, "
    "which float32 absorbs for logits up to 20) stay within that bound; the unit tests check half precision "
    "against float32 rounded once"
)
CLASS_SUM = (
    "‖Σ_k w_k‖ ≤ √K‖∇_W F‖ (plus rounding) holds for every W once the gradient's rows sum to 0 over the classes "
    "(Σ_k (p − y)_k = 0, then Cauchy–Schwarz): a wrong gradient at scikit-learn's optimum is far from 0 and only "
    "widens the bound; the failing twin on the next line (W shifted by 0.1) is what a wrong gradient trips (the "
    "intercepts' sum, where checked too, is scikit-learn's alone)"
)
ROW_SHIFT = (
    "softmax or the loss of logits shifted by a constant per row (the last class pinned, the intercepts moved by 7): "
    "the library subtracts the row max first, so both sides see the same z − max z up to the shift's own rounding, "
    "and every planted mistake after that step (wrong sign or axis, the log1p form) is as shift-invariant; without the "
    "max shift exp(z)/Σ exp(z) of these moderate logits is as accurate"
)
GIBBS = (
    "KL(y‖p) ≥ 0 (Gibbs's inequality) for any positive p: SciPy's entropy normalises p itself, so even a softmax whose "
    "rows do not sum to 1 (a wrong axis) gives a distribution there"
)
SIGMOID_AT_10 = (
    "σ(10)(1 − σ(10)) to the two digits the text quotes: symmetric under σ ↔ 1 − σ (the branch swap keeps it), "
    "σ(|x|) keeps the x ≥ 0 branch, and a float32 σ moves it by 5·10⁻⁴ relative, well within those digits"
)
SATURATION_RATIO = (
    "a²(1 − a) ≤ a/4 for every a in [0, 1] (a(1 − a) ≤ ¼): any σ with values in [0, 1], right or wrong, satisfies it"
)
FLOW_ORDER = (
    "follows from the checks of line 41 (η·steps within the Riemann bound of t* for each loss and rate, in a loop "
    "that stops the cell) and t*_squared > 5 t*_cross-entropy: a σ that changed the order of the counts fails there"
)
MEAN_VALUE = (
    "the mean-value bound ½‖Δz − mean Δz‖ is built from the measured difference of the two fits' parameters, so a "
    "planted error in training (the loss, the gradient, a wrong axis) widens it with the difference it makes; only a "
    "softmax wrong at the same parameters trips it, and the plausible softmax mistakes that leave training intact "
    "(no max shift, half precision not widened) change nothing on these moderate float64 rows"
)
SAME_ARGMAX = (
    "the accuracies count the argmaxes that line 11 asserts equal to the reference at every temperature, against the "
    "same labels: a planted error that changed them raises there first, inside the loop, which stops the cell"
)
SPARSEMAX_LOSS_SHADOWED = (
    "sparsemax_loss at one point inside the margin: line 5 compares sparsemax_loss with torch's ½‖e_k − z‖² − "
    "½‖p − z‖² on 20 rows inside a loop, so a mistake in the loss (the ½ dropped, a wrong τ or support) raises there "
    "first and the cell stops"
)
UNTRIPPED_ASSERTS: dict[tuple[str, int, str], str] = {
    (
        "book/variants.ipynb",
        15,
        "assert np.all(distance <= (logits.size - 1) * np.exp(-gap / temperature) + slack)",
    ): GUMBEL_LIMITS,
    (
        "book/variants.ipynb",
        15,
        "assert all(later < earlier for earlier, later in zip(distance_to_one_hot, distance_to_one_hot[1:]))",
    ): GUMBEL_LIMITS,
    ("book/variants.ipynb", 15, "assert all(abs(r - limit) <= 4 * e for r, e in small)"): GUMBEL_LIMITS,
    (
        "book/variants.ipynb",
        15,
        "assert np.abs(hot - 1 / logits.size).max() < np.abs(logits + sample_noise).max() / 1e6",
    ): GUMBEL_LIMITS,
    (
        "book/variants.ipynb",
        19,
        "assert bias_hot > 10 * error_hot  # biased at high temperature, far beyond the noise",
    ): GUMBEL_LIMITS,
    (
        "book/variants.ipynb",
        19,
        "assert all(later > earlier for earlier, later in zip(spreads, spreads[1:]))  # the variance grows",
    ): GUMBEL_LIMITS,
    ("book/variants.ipynb", 19, "assert rows[temperature, True][2] > rows[temperature, False][2]"): GUMBEL_LIMITS,
    (
        "book/variants.ipynb",
        19,
        "assert abs(slope - 0.5) <= 4 * slope_error  # T^(-1/2), within four standard errors",
    ): GUMBEL_LIMITS,
    (
        "book/variants.ipynb",
        39,
        "assert max(depths) == int(np.ceil(np.log2(n_leaves))) and min(depths) >= int(np.floor(np.log2(n_leaves)))",
    ): TREE_DEPTH,
    ("book/variants.ipynb", 43, "assert longest == int(np.ceil(np.log2(n_leaves)))"): TREE_DEPTH,
    (
        "book/variants.ipynb",
        54,
        "assert nodes.shape == (n_leaves, longest) and np.count_nonzero(signs, axis=1).max() == longest",
    ): TREE_DEPTH,
    (
        "book/variants.ipynb",
        52,
        "assert np.sum(2.0**-huffman_depths) == 1.0  # Kraft equality: every inner node has two children",
    ): KRAFT,
    ("book/variants.ipynb", 41, "assert sp.simplify(sum(leaves) - 1) == 0"): PAIRED_SIGNS,
    (
        "book/variants.ipynb",
        43,
        "assert np.isfinite(softmax_lib.hierarchical_softmax_log_prob(poisoned, np.int64(target)))",
    ): POISONED,
    (
        "book/variants.ipynb",
        43,
        "assert np.isnan(softmax_lib.log_softmax(np.append(poisoned, 0.0))[-1])  # reading all scores: NaN",
    ): POISONED,
    (
        "book/variants.ipynb",
        50,
        "assert np.isfinite(poisoned_losses).all() and np.isfinite(poisoned_grad).all()",
    ): POISONED,
    (
        "book/fast_exact.ipynb",
        25,
        "assert np.array_equal(m_online, np.max(rising, axis=-1, keepdims=True))  # the running max is exact",
    ): ONLINE_MAX,
    (
        "book/cross_entropy_at_scale.ipynb",
        15,
        "assert peak_fused < 2 * (16 * Vm + Vm * Dm) * 4 and peak_unfused >= Nm * Vm * 4",
    ): TIMING,
    ("book/cross_entropy_at_scale.ipynb", 15, "assert memory_ratio <= 0.1"): TIMING,
    ("book/devices.ipynb", 16, "assert naive_finite == (dtype == torch.bfloat16)"): TEXTBOOK,
    ("book/fast_exact.ipynb", 13, "assert plain == 0.0  # every digit lost"): TEXTBOOK,
    (
        "book/fast_exact.ipynb",
        13,
        "assert plain_units == 2.0**53  # relative error exactly 1: |0 − x| / |x| = 1 = 2^53 u",
    ): TEXTBOOK,
    (
        "book/fast_exact.ipynb",
        13,
        "assert 1e-20 < abs(exact) < 1e-19 and absolute_in_u < 1e-3  # in absolute terms: below a thousandth of u",
    ): TEXTBOOK,
    (
        "book/fast_exact.ipynb",
        27,
        "assert reads == list(range(N_CHUNKS)) * 4  # 1 pass for logsumexp, 2 for softmax, 1 to build `whole`",
    ): TIMING,
    ("book/fast_exact.ipynb", 37, 'assert ("faster" in sentence) == (ratio["min"] > 1)'): TIMING,
    ("book/fast_exact.ipynb", 39, 'assert one_thread["blocked_softmax(threads=1)"] < min('): TIMING,
    (
        "book/jacobian.ipynb",
        18,
        "assert tau == 2 * jacobian_units(softmax_bound_units(4, np.ptp(wide_logits))) * u",
    ): TAU_SAME_FORMULA,
    ("book/jacobian.ipynb", 18, "assert invisible.any()"): INVISIBLE,
    (
        "book/numerics.ipynb",
        14,
        "assert np.max(np.sum(np.exp(rows64[:, 1:] - rows64[:, :1]), axis=-1)) < u  # s₁ < u on every row",
    ): SETUP,
    ("book/numerics.ipynb", 20, 'assert np.array_equal(np.isinf(sweeps[dtype]["naive"]), naive_fails)'): TEXTBOOK,
    (
        "book/numerics.ipynb",
        20,
        'assert np.all(sweeps[dtype]["naive"][in_range] <= naive_bound_units(n_classes))',
    ): TEXTBOOK,
    ("book/numerics.ipynb", 22, "assert 0.9 * bottom <= deepest <= bottom"): SETUP,
    ("book/numerics.ipynb", 24, "assert len(row_of) == rows.size  # every p_k is normal"): SETUP,
    (
        "book/numerics.ipynb",
        24,
        'assert np.all(errors["naive"] <= naive_bound_units(n_classes)), (dtype, spread)',
    ): TEXTBOOK,
    ("book/softmax_definition.ipynb", 6, "assert abs(f_k - p_k) <= 5 * se_k, (k, f_k, p_k)"): ONE_ROW,
    ("book/softmax_definition.ipynb", 6, "assert np.all(frequencies > 0)"): ONE_ROW,
    (
        "book/softmax_definition.ipynb",
        6,
        "assert round(probabilities[0], 2) == 0.61 and round(probabilities[-1], 2) == 0.03",
    ): ONE_ROW,
    ("book/softmax_definition.ipynb", 12, "assert np.all((batch_p >= 0) & (batch_p <= 1))"): IN_UNIT_INTERVAL,
    ("book/softmax_definition.ipynb", 12, "assert np.all((batch_p > 0) & (batch_p < 1))"): IN_UNIT_INTERVAL,
    (
        "book/softmax_regression.ipynb",
        4,
        "assert np.array_equal(np.bincount(y_train), np.bincount(y_train, minlength=n_classes))",
    ): SETUP,
    ("book/softmax_regression.ipynb", 6, "assert penalty == 1.0 / (inverse_penalty * n_train)"): SETUP,
    (
        "book/softmax_regression.ipynb",
        20,
        "assert int(np.trace(matrix)) == n_correct and int(matrix.sum()) == len(y_test)",
    ): SETUP,
    ("book/variants.ipynb", 24, "assert np.all(softmax_lib.softmax(example) > 0)"): ONE_ROW,
    (
        "book/why_softmax.ipynb",
        16,
        "assert softmax_lib.logsumexp(equal) == np.log(n_classes)  # the upper bound is attained",
    ): ONE_ROW,
    (
        "book/jacobian_properties.ipynb",
        23,
        "assert np.linalg.eigvalsh(ours)[-1] <= 1 / (2 * temperature) + eigen_tolerance",
    ): AFTER_THE_MATCH,
    ("book/devices.ipynb", 16, "assert result.passed, result"): HALF_WITHIN_BOUND,
    (
        "book/devices.ipynb",
        4,
        "assert isinstance(out, torch.Tensor) and out.device == logits.device and out.dtype == logits.dtype",
    ): TENSOR_KEPT,
    (
        "book/learning_theory.ipynb",
        18,
        "assert column_sums <= bound and abs(model.intercept_.sum()) <= intercept_slack",
    ): CLASS_SUM,
    ("book/logistic_regression.ipynb", 14, "assert np.linalg.norm(weights.sum(axis=0)) <= sum_bound"): CLASS_SUM,
    ("book/learning_theory.ipynb", 18, "assert result.passed, result"): ROW_SHIFT,
    ("book/logistic_regression.ipynb", 12, "assert pinned_check.passed, pinned_check"): ROW_SHIFT,
    ("book/loss_geometry.ipynb", 6, "assert np.all(divergences >= 0)"): GIBBS,
    ("book/output_layer.ipynb", 22, "assert abs(ratio_at_10 - 4.5e-5) < 0.05e-5"): SIGMOID_AT_10,
    ("book/output_layer.ipynb", 22, "assert np.all(grad_sq_grid <= 0.25 * grad_ce_grid)"): SATURATION_RATIO,
    ("book/output_layer.ipynb", 26, 'assert sweep["cross-entropy"][0.005] > sweep["squared"][0.15]'): FLOW_ORDER,
    ("book/softmax_regression.ipynb", 16, "assert result.passed, result"): MEAN_VALUE,
    ("book/variants.ipynb", 8, "assert len(set(accuracies)) == 1"): SAME_ARGMAX,
    (
        "book/variants.ipynb",
        34,
        "assert softmax_lib.sparsemax_loss(np.array([3.0, 2.1, 0.0]), 0) > 0  # margin 0.9 < 1",
    ): SPARSEMAX_LOSS_SHADOWED,
}


class _Classifier:
    """Which names of one notebook hold values computed by softmax_lib (see assert_inventory)."""

    def __init__(self) -> None:
        self.imported: dict[str, str] = {}  # name in the notebook -> dotted path in softmax_lib
        self.tainted: set[str] = set()

    def imports(self, node) -> None:
        import ast

        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "softmax_lib":
                    bound = alias.asname or alias.name.split(".")[0]
                    self.imported[bound] = alias.name if alias.asname else "softmax_lib"
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "softmax_lib":
            for alias in node.names:
                self.imported[alias.asname or alias.name] = f"{node.module}.{alias.name}"

    def library_path(self, node) -> str:
        """The softmax_lib path `node` (a name or an attribute chain) refers to, or ''."""
        import ast

        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name) or node.id not in self.imported:
            return ""
        return ".".join([self.imported[node.id], *reversed(parts)])

    def involves(self, node) -> bool:
        """Whether `node` reads a tainted name, or refers to a softmax_lib function or value (not a
        module, not a constant in capitals, nothing from NOT_LIBRARY_MODULES)."""
        import ast

        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load) and sub.id in self.tainted:
                return True
            if isinstance(sub, (ast.Name, ast.Attribute)):
                path = self.library_path(sub)
                constant = any(part == part.upper() for part in path.split("."))  # LARGE_LOGITS.max: data
                if path and not path.startswith(NOT_LIBRARY_MODULES) and not constant:
                    if not _is_module(path):
                        return True
        return False

    def bind(self, targets, value, loose: bool) -> None:
        """Taint the names `targets` bind when `value` involves the library; else a plain top-level
        assignment (`loose` False) clears them."""
        import ast

        names = set()
        for target in targets:
            for sub in ast.walk(target):
                if isinstance(sub, ast.Name):
                    names.add(sub.id)
        if value is not None and self.involves(value):
            self.tainted |= names
        elif not loose and all(_plain_target(target) for target in targets):
            self.tainted -= names


def _plain_target(target) -> bool:
    """Whether an assignment target is names only (x, or a, b): binding it replaces what they held."""
    import ast

    if isinstance(target, (ast.Tuple, ast.List)):
        return all(_plain_target(element) for element in target.elts)
    return isinstance(target, ast.Name)


def _is_module(path: str) -> bool:
    """Whether dotted `path` names a module or package of the repository (not a function or a value)."""
    where = ROOT.joinpath(*path.split("."))
    return where.with_suffix(".py").is_file() or (where / "__init__.py").is_file()


def _walk_statements(statements, classifier: _Classifier, found: list, loose: bool = False) -> None:
    """Update `classifier` statement by statement, in order; append (assert node, kind, reason) to `found`."""
    import ast

    for node in statements:
        classifier.imports(node)
        if isinstance(node, ast.Assert):
            if isinstance(node.test, ast.UnaryOp) and isinstance(node.test.op, ast.Not):
                found.append((node, "failing twin", "assert not …: shows a check rejecting a wrong answer"))
            elif classifier.involves(node.test):
                found.append((node, LIBRARY, "reads a value computed by softmax_lib"))
            else:
                found.append((node, "other", "reads no value computed by softmax_lib"))
        elif isinstance(node, ast.Assign):
            classifier.bind(node.targets, node.value, loose)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            classifier.bind([node.target], node.value, True)
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            # x.append(f(...)), x.update(...): the receiver holds what the call passes it
            receiver = node.value.func.value if isinstance(node.value.func, ast.Attribute) else None
            if receiver is not None:
                classifier.bind([receiver], node.value, True)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if classifier.involves(node):
                classifier.tainted.add(node.name)
            _walk_statements(node.body, classifier, found, loose=True)
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            classifier.bind([node.target], node.iter, True)
            for _ in range(2):  # a value computed in one iteration is read in the next
                _walk_statements(node.body, classifier, found if _ else [], loose=True)
            _walk_statements(node.orelse, classifier, found, loose=True)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                if item.optional_vars is not None:
                    classifier.bind([item.optional_vars], item.context_expr, True)
            _walk_statements(node.body, classifier, found, loose)
        elif isinstance(node, (ast.If, ast.While, ast.Try)):
            for block in ("body", "orelse", "finalbody"):
                _walk_statements(getattr(node, block, []), classifier, found, loose=True)
            for handler in getattr(node, "handlers", []):
                _walk_statements(handler.body, classifier, found, loose=True)


def assert_inventory(notebook: Path, overrides: bool = True) -> list[AssertEntry]:
    """Every assert in the code cells of `notebook`, classified by what it checks.

    An assert is on a library result (kind LIBRARY) when its condition reads a value computed by
    softmax_lib: it calls or names a function of softmax_lib (checks included; the symbolic, reference
    and formatting modules excluded, see NOT_LIBRARY_MODULES; a module or a constant in capitals is not
    a computation), or reads a variable that an earlier statement of the notebook computed from one.
    The notebook is read once, cell by cell and statement by statement: an assignment whose value
    involves the library taints the names it binds (so does x.append(value), a loop over such a
    value, a `with` of one, a function whose body involves one), and a plain top-level reassignment
    from anything else clears them. Otherwise the kind is "failing twin" (`assert not …`: a check
    shown rejecting a wrong answer) or "other" (SymPy identities on the chapter's own symbols,
    torch/scipy alone, setup). ASSERT_KIND_EXCEPTIONS overrides single asserts, with a reason
    (unless `overrides` is False: the heuristic alone).
    """
    import json

    chapter = f"book/{notebook.name}"
    classifier = _Classifier()
    entries = []
    for index, cell in enumerate(json.loads(notebook.read_text())["cells"]):
        if cell["cell_type"] != "code":
            continue
        lines = "".join(cell["source"]).splitlines()
        tree = _parse_cell(lines)
        found: list = []
        _walk_statements(tree.body, classifier, found)
        seen = set()
        for node, kind, reason in found:
            if node.lineno in seen:  # a loop's body is walked twice
                continue
            seen.add(node.lineno)
            entry = AssertEntry(
                chapter,
                index,
                node.lineno,
                node.end_lineno or node.lineno,
                lines[node.lineno - 1].strip(),
                kind,
                reason,
            )
            if overrides and entry.key in ASSERT_KIND_EXCEPTIONS:
                kind, reason = ASSERT_KIND_EXCEPTIONS[entry.key]
                entry = AssertEntry(chapter, index, entry.line, entry.last, entry.text, kind, reason)
            entries.append(entry)
    return sorted(entries, key=lambda entry: (entry.cell, entry.line))


def _parse_cell(lines: list[str]):
    import ast

    # IPython's magics (%pip, !cmd) are not Python: a `pass` of the same indentation stands in.
    return ast.parse("\n".join(re.sub(r"^(\s*)[%!].*", r"\1pass", line) for line in lines))


def every_assert_chains(mutants: list[Mutant]) -> list[list[dict]]:
    """The engine's jobs for the per-assert report, each a chain of its own, the largest chapters first
    (so that two workers end together): each chapter unmutated (the baseline, which must raise nowhere),
    then every non-equivalent mutant on every chapter it names; every cell of each is run."""
    named = sorted({path for m in mutants for path in m.chapters}, key=lambda path: -(ROOT / path).stat().st_size)
    jobs = [{"mutant": None, "target": path, "every_cell": True} for path in named]
    jobs += [
        {"mutant": m.name, "target": path, "every_cell": True}
        for path in named
        for m in mutants
        if path in m.chapters and not m.equivalent
    ]
    return [[job] for job in jobs]


def _tripped_assert(record: dict, asserts: list[AssertEntry]) -> AssertEntry | None:
    """The assert a raise came from: the innermost frame of the chapter's code inside an assert."""
    for cell, line in reversed(record.get("frames") or [[record["cell"], record["line"]]]):
        for entry in asserts:
            if entry.cell == cell and entry.line <= line <= entry.last:
                return entry
    return None


def every_assert_report(records: list[dict], seconds: float, workers: int) -> tuple[dict, str, list[str]]:
    """The per-assert report of the every-cell run `records`: (JSON, markdown, problems).

    Per chapter: every library-result assert, with the planted errors that trip it (and the exception,
    when it is not an AssertionError: the assert's own library call raised); the untripped ones, with
    their reason from UNTRIPPED_ASSERTS; the other asserts that a planted error trips; the statements
    other than asserts that raised, and the cells that raised only because an earlier one did.
    `problems` lists what must be fixed: a baseline raise, an untripped library-result assert without a
    reason, a reason given for an assert that a planted error trips.
    """
    problems = [
        f"the unmutated {r['target']} raises in cell {raised['cell']}: {raised['statement']} ({raised['error']})"
        for r in records
        if r["mutant"] is None
        for raised in r.get("raised", [])
    ]
    problems += [
        f"{r['mutant']} on {r['target']}: {r['status']} {r.get('message', '')[:300]}"
        for r in records
        if r["status"] == "crashed"
    ]
    chapters_json = {}
    md = [
        "# Every assert on a library result, and the planted errors that trip it",
        "",
        f"{len([r for r in records if r['mutant']])} (mutant, chapter) runs, every cell of each, "
        f"{seconds:.0f} s with {workers} workers. Regenerate: `python -m tests.mutants --every-assert`.",
    ]
    all_keys = set()
    for path in sorted({r["target"] for r in records}):
        asserts = assert_inventory(ROOT / path)
        all_keys |= {entry.key for entry in asserts}
        trips: dict[tuple, list[str]] = {}
        others: dict[tuple, list[str]] = {}
        consequences: dict[int, list[str]] = {}
        for r in records:
            if r["target"] != path or not r["mutant"]:
                continue
            for raised in r.get("raised", []):
                if "consequence_of" in raised:
                    consequences.setdefault(raised["cell"], []).append(r["mutant"])
                    continue
                entry = _tripped_assert(raised, asserts)
                label = r["mutant"] + ("" if raised["error"] == "AssertionError" else f" ({raised['error']})")
                if entry is None:
                    others.setdefault((raised["cell"], raised["statement"], raised["error"]), []).append(r["mutant"])
                else:
                    trips.setdefault(entry.key + (entry.line,), []).append(label)
        library = [entry for entry in asserts if entry.kind == LIBRARY]
        rows = []
        for entry in library:
            by = trips.get(entry.key + (entry.line,), [])
            reason = UNTRIPPED_ASSERTS.get(entry.key, "")
            if by and reason:
                problems.append(
                    f"{path} cell {entry.cell}: {entry.text!r} is tripped by {by}: drop it from UNTRIPPED_ASSERTS"
                )
            if not by and not reason:
                problems.append(
                    f"{path} cell {entry.cell} line {entry.line}: {entry.text!r} is tripped by no planted error"
                )
            rows.append(
                {
                    "cell": entry.cell,
                    "line": entry.line,
                    "source": entry.text,
                    "tripped_by": by,
                    "untripped_because": reason,
                }
            )
        tripped_others = [
            {"cell": e.cell, "line": e.line, "source": e.text, "kind": e.kind, "tripped_by": trips[e.key + (e.line,)]}
            for e in asserts
            if e.kind != LIBRARY and e.key + (e.line,) in trips
        ]
        chapters_json[path] = {
            "asserts": len(asserts),
            "library_result_asserts": rows,
            "other_asserts_tripped": tripped_others,
            "other_statements_raised": [
                {"cell": cell, "statement": statement, "error": error, "by": by}
                for (cell, statement, error), by in sorted(others.items())
            ],
            "consequences": {str(cell): by for cell, by in sorted(consequences.items())},
        }
        tripped = sum(bool(row["tripped_by"]) for row in rows)
        explained = sum(bool(row["untripped_because"]) and not row["tripped_by"] for row in rows)
        md += [
            "",
            f"## {path}",
            "",
            f"{len(asserts)} asserts, {len(rows)} on library results: {tripped} tripped by a planted error, "
            f"{explained} untripped with a reason, {len(rows) - tripped - explained} untripped without one.",
            "",
        ]
        for row in rows:
            verdict = ", ".join(row["tripped_by"]) or (
                f"untripped: {row['untripped_because']}" if row["untripped_because"] else "**NOT TRIPPED**"
            )
            md.append(f"- cell {row['cell']}, line {row['line']}: `{row['source'][:110]}` — {verdict}")
        for item in tripped_others:
            where = f"cell {item['cell']}, line {item['line']}: `{item['source'][:110]}`"
            md.append(f"- ({item['kind']}) {where} — {', '.join(item['tripped_by'])}")
        for item in chapters_json[path]["other_statements_raised"]:
            where = f"cell {item['cell']}: `{item['statement'][:110]}` raised {item['error']}"
            md.append(f"- (not an assert) {where} — {', '.join(item['by'])}")
        for cell, by in chapters_json[path]["consequences"].items():
            md.append(f"- (consequence of an earlier failure) cell {cell} — {', '.join(by)}")
    stale = [key for key in UNTRIPPED_ASSERTS if key[0] in chapters_json and key not in all_keys]
    problems += [f"UNTRIPPED_ASSERTS names an assert that no longer exists: {key}" for key in stale]
    untripped = [
        f"{path} cell {row['cell']} line {row['line']}: {row['source']}"
        for path, chapter in chapters_json.items()
        for row in chapter["library_result_asserts"]
        if not row["tripped_by"] and not row["untripped_because"]
    ]
    md += ["", f"## Library-result asserts no planted error trips, without a reason: {len(untripped)}", ""]
    md += [f"- {line}" for line in untripped]
    summary = {"seconds": round(seconds), "workers": workers, "problems": problems, "chapters": chapters_json}
    return summary, "\n".join(md) + "\n", problems


def write_every_assert_report(records: list[dict], seconds: float, workers: int) -> list[str]:
    """Write ASSERTS_REPORT (.md, and .json with `records`) from an every-cell run; return the problems."""
    import json

    summary, text, problems = every_assert_report(records, seconds, workers)
    ASSERTS_REPORT.parent.mkdir(exist_ok=True)
    ASSERTS_REPORT.write_text(text)
    ASSERTS_REPORT.with_suffix(".json").write_text(json.dumps({**summary, "records": records}, indent=1) + "\n")
    return problems


def report_again(paths: list[Path]) -> list[str]:
    """The report rewritten from the records of earlier runs (the last run's JSON by default), with the current
    inventory and lists: after editing UNTRIPPED_ASSERTS, or to merge a run of a few mutants into a whole one (a
    later file's record of a (mutant, chapter) pair replaces an earlier one's)."""
    import json

    runs = [json.loads(path.read_text()) for path in paths]
    records = {(r["mutant"], r["target"]): r for run in runs for r in run["records"]}
    return write_every_assert_report(list(records.values()), sum(run["seconds"] for run in runs), runs[-1]["workers"])


def run_every_assert(mutants: list[Mutant], workers: int = 2) -> list[str]:
    """Run every planted error through every chapter it names, every cell of each; write ASSERTS_REPORT
    (.md and .json) and return the problems (see every_assert_report)."""
    import json
    import os
    import subprocess
    import tempfile
    import time

    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="softmax-mutation-asserts-") as tmp:
        todo, done = Path(tmp) / "chains.json", Path(tmp) / "results.json"
        todo.write_text(json.dumps(every_assert_chains(mutants)))
        env = {key: value for key, value in os.environ.items() if key not in ("PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER")}
        command = [sys.executable, "-m", "tools.mutation_engine", str(todo), str(done), str(workers)]
        subprocess.run(command, cwd=ROOT, env=env, check=True)
        records = json.loads(done.read_text())
    return write_every_assert_report(records, time.monotonic() - start, workers)


if __name__ == "__main__":
    repository = Path(__file__).resolve().parent.parent
    if sys.argv[1:] == ["--by-chapter"]:
        print(chapter_report())
        sys.exit(0)
    if sys.argv[1:2] in (["--every-assert"], ["--every-assert-report"]):
        if sys.argv[1] == "--every-assert-report":
            found = report_again([Path(arg) for arg in sys.argv[2:]] or [ASSERTS_REPORT.with_suffix(".json")])
        else:
            chosen = [BY_NAME[name] for name in sys.argv[2:]] or MUTANTS
            found = run_every_assert(chosen, int(__import__("os").environ.get("MUTANT_WORKERS", "2")))
        print("\n".join(found) or "every library-result assert is tripped by a planted error or has a reason")
        print(f"report: {ASSERTS_REPORT} and {ASSERTS_REPORT.with_suffix('.json')}")
        sys.exit(1 if found else 0)
    for name in sys.argv[1:] or list(BY_NAME):
        print(f"# {name}: {BY_NAME[name].description}\n{diff(BY_NAME[name], repository)}")
