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

UNIT = ("tests/test_softmax_lib.py", "tests/test_properties.py", "tests/test_errors.py")
JACOBIAN_CHAPTER = ("book/jacobian.ipynb",)
CE_CHAPTER = ("book/cross_entropy_gradient.ipynb",)
ALL_CHAPTERS = ("book/intro.ipynb", "book/jacobian.ipynb", "book/cross_entropy_gradient.ipynb")


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
    # --- softmax, log_softmax, logsumexp ---------------------------------------------------------
    Mutant(
        "softmax-no-max-shift",
        "softmax computes exp(z) / Σ exp(z) without subtracting the max: overflows for large logits",
        SOFTMAX,
        NS + r"exp\(z - (?:np|xp)\.max\(z, axis=axis, keepdims=True\)\)",
        r"\g<ns>.exp(z)",
        why_no_chapter="the chapters' logits are moderate: exp(z) does not overflow there",
    ),
    Mutant(
        "softmax-sum-wrong-axis",
        "softmax normalises over axis 0 instead of the class axis",
        SOFTMAX,
        r"e / " + NS + r"sum\(e, axis=axis, keepdims=True\)",
        r"e / \g<ns>.sum(e, axis=0, keepdims=True)",
        chapters=ALL_CHAPTERS,
    ),
    Mutant(
        "log-softmax-no-max-shift",
        "log_softmax forgets the shift: log Σ exp(z) overflows for large logits",
        SOFTMAX,
        r"shifted = z - " + NS + r"max\(z, axis=axis, keepdims=True\)",
        r"shifted = z",
        why_no_chapter="the chapters' logits are moderate: exp(z) does not overflow there",
    ),
    Mutant(
        "log-softmax-as-log-of-softmax",
        "log_softmax computed as log(softmax(z)): −inf where p underflows",
        SOFTMAX,
        r"return shifted - " + NS + r"log\(" + r"(?:np|xp)\.sum\((?:np|xp)\.exp\(shifted\), axis=axis, keepdims=True\)\)",
        r"return \g<ns>.log(softmax(z, axis=axis))",
        why_no_chapter="the chapters' logits are moderate, where no probability underflows to 0",
    ),
    Mutant(
        "log-softmax-sign",
        "log_softmax adds the log-normaliser instead of subtracting it",
        SOFTMAX,
        r"return shifted - (" + NS + r"log\()",
        r"return shifted + \1",
        chapters=CE_CHAPTER,
    ),
    Mutant(
        "logsumexp-no-max-shift",
        "logsumexp shifts by 0 instead of the row max: log Σ exp(z) overflows",
        SOFTMAX,
        r"m = " + NS + r"where\((?:np|xp)\.isfinite\(m\), m, (?:np|xp)\.zeros_like\(m\)\)",
        r"m = \g<ns>.zeros_like(m)",
        why_no_chapter="no chapter in this worktree calls logsumexp",
    ),
    Mutant(
        "logsumexp-no-infinity-guard",
        "logsumexp shifts by an infinite max too: inf − inf gives NaN instead of ±inf",
        SOFTMAX,
        r"^\s*m = " + NS + r"where\((?:np|xp)\.isfinite\(m\), m, (?:np|xp)\.zeros_like\(m\)\)\n",
        "",
        why_no_chapter="no chapter in this worktree calls logsumexp",
    ),
    Mutant(
        "logsumexp-forgets-max",
        "logsumexp returns log Σ exp(z − m) without adding m back",
        SOFTMAX,
        r"(keepdims=True\)\)) \+ m$",
        r"\1",
        why_no_chapter="no chapter in this worktree calls logsumexp",
    ),
    # --- Jacobian and VJP ------------------------------------------------------------------------
    Mutant(
        "jacobian-diagonal-only",
        "Jacobian drops the off-diagonal −p_i p_j: diag(p(1 − p)), right on the diagonal only",
        SOFTMAX,
        r" - p\[\.\.\., :, None\] \* p\[\.\.\., None, :\]$",
        r" * (1 - p[..., None, :])",
        chapters=JACOBIAN_CHAPTER,
    ),
    Mutant(
        "jacobian-missing-diagonal",
        "Jacobian drops the diag(p) term: −ppᵀ only",
        SOFTMAX,
        r"p\[\.\.\., :, None\] \* " + NS + r"eye\(p\.shape\[-1\], dtype=p\.dtype\) - ",
        r"-",
        chapters=JACOBIAN_CHAPTER,
    ),
    Mutant(
        "jacobian-outer-sign",
        "Jacobian adds ppᵀ instead of subtracting it: diag(p) + ppᵀ",
        SOFTMAX,
        r" - (p\[\.\.\., :, None\] \* p\[\.\.\., None, :\])$",
        r" + \1",
        chapters=JACOBIAN_CHAPTER,
    ),
    Mutant(
        "jacobian-class-axis-not-moved",
        "Jacobian forgets to move the class axis last: wrong blocks for axis ≠ −1",
        SOFTMAX,
        NS + r"moveaxis\((softmax\(z, axis=axis\)), axis, -1\)",
        r"\2",
        chapters=JACOBIAN_CHAPTER,
    ),
    Mutant(
        "jacobian-dtype-float64",
        "Jacobian builds the identity in float64: float32 input returns float64",
        SOFTMAX,
        r"(" + NS + r"eye\(p\.shape\[-1\]), dtype=p\.dtype\)",
        r"\1)",
        why_no_chapter="the chapters work in float64, where the dtype is unchanged",
    ),
    Mutant(
        "jacobian-transposed",
        "Jacobian transposed: ∂p_j/∂z_i in place of ∂p_i/∂z_j",
        SOFTMAX,
        r"p\[\.\.\., :, None\] \* (" + NS + r"eye\(p\.shape\[-1\], dtype=p\.dtype\)) - "
        r"p\[\.\.\., :, None\] \* p\[\.\.\., None, :\]$",
        r"p[..., None, :] * \1 - p[..., None, :] * p[..., :, None]",
        equivalent=(
            "the softmax Jacobian diag(p) − ppᵀ is symmetric, so its transpose is the same matrix: "
            "p_j δ_ij = p_i δ_ij and p_j p_i = p_i p_j entry by entry, in floating point too "
            "(multiplication commutes exactly). A transposed Jacobian is a real mistake only for a "
            "non-symmetric variant (e.g. log-softmax's I − 1pᵀ), which this library does not have yet."
        ),
        unit_tests=("tests/test_softmax_lib.py", "tests/test_properties.py"),
        chapters=JACOBIAN_CHAPTER,
    ),
    Mutant(
        "vjp-no-inner-product",
        "VJP drops the ⟨p, v⟩ term: p ⊙ v, the diagonal part only",
        SOFTMAX,
        r"p \* \(v - " + NS + r"sum\(p \* v, axis=axis, keepdims=True\)\)",
        r"p * v",
        chapters=JACOBIAN_CHAPTER,
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
        "cross-entropy gradient p + y instead of p − y",
        CROSS_ENTROPY,
        r"(grad = softmax\(logits, axis=axis\)) - y",
        r"\1 + y",
        chapters=CE_CHAPTER,
    ),
    Mutant(
        "grad-wrong-sign",
        "cross-entropy gradient y − p (the descent direction) instead of p − y",
        CROSS_ENTROPY,
        r"grad = (softmax\(logits, axis=axis\)) - y",
        r"grad = y - \1",
        chapters=CE_CHAPTER,
    ),
    Mutant(
        "grad-mean-divides-by-k",
        "mean reduction's gradient divided by K (classes) instead of N (rows)",
        CROSS_ENTROPY,
        r"y\.size // (y\.shape\[class_axis\(y, axis, \"logits\"\)\])",
        r"\1",
        chapters=CE_CHAPTER,
    ),
    Mutant(
        "grad-mean-divides-by-nk",
        "mean reduction's gradient divided by N·K (every entry) instead of N",
        CROSS_ENTROPY,
        r"y\.size // y\.shape\[class_axis\(y, axis, \"logits\"\)\]",
        r"y.size",
        chapters=CE_CHAPTER,
    ),
    Mutant(
        "grad-none-divided-too",
        "gradient divided by N for reduction 'none' as well as 'mean'",
        CROSS_ENTROPY,
        r"if reduction == \"mean\":\n(\s+grad /=)",
        r'if reduction != "sum":\n\1',
        chapters=CE_CHAPTER,
    ),
    Mutant(
        "loss-log-of-softmax",
        "cross-entropy uses log(softmax(z)) instead of log_softmax: +inf where p underflows",
        CROSS_ENTROPY,
        NS + r"sum\(y \* log_softmax\(logits, axis=axis\), axis=axis\)",
        r"\g<ns>.sum(y * \g<ns>.log(softmax(logits, axis=axis)), axis=axis)",
        why_no_chapter="the chapters' logits are moderate, where log(softmax) and log_softmax agree to rounding",
    ),
    Mutant(
        "loss-sum-wrong-axis",
        "cross-entropy sums −y log p over axis 0 instead of the class axis",
        CROSS_ENTROPY,
        r"(" + NS + r"sum\(y \* log_softmax\(logits, axis=axis\), axis=)axis\)",
        r"\g<1>0)",
        chapters=CE_CHAPTER,
    ),
    Mutant(
        "loss-sign",
        "cross-entropy without the minus sign: Σ y log p ≤ 0",
        CROSS_ENTROPY,
        r"per_row = -(" + NS + r"sum\()",
        r"per_row = \1",
        chapters=CE_CHAPTER,
    ),
    Mutant(
        "loss-mean-is-sum",
        "reduction 'mean' returns the sum over rows",
        CROSS_ENTROPY,
        r"return " + NS + r"mean\(per_row\)",
        r"return \g<ns>.sum(per_row)",
        chapters=CE_CHAPTER,
    ),
    Mutant(
        "target-index-off-by-one",
        "class-index range check accepts index K (> instead of >=)",
        CROSS_ENTROPY,
        r"target\.max\(\) >= n_classes",
        r"target.max() > n_classes",
        why_no_chapter="the chapters pass valid targets only; error paths are unit-tested",
    ),
    Mutant(
        "target-row-sum-unchecked",
        "probability targets whose rows do not sum to 1 are accepted",
        CROSS_ENTROPY,
        r"if " + NS + r"any\((?:np|xp)\.abs\(row_sums - 1\) > tol\):",
        r"if False:",
        why_no_chapter="the chapters pass valid targets only; error paths are unit-tested",
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
