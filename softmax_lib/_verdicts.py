"""Verdicts for auditing published claims: a printed number against its exact value, a formula, a fact.

A printed number such as "0.866" stands for every value that rounds to it. It is "correct" when it
equals the exact value, "correct but rounded" when the exact value lies within half a unit of its
last printed digit, and "wrong" otherwise, which includes a value that was truncated (cut off)
instead of rounded whenever truncation and rounding differ. `softmax_lib.audit` records the verdicts
and re-exports every name here.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from fractions import Fraction
from numbers import Real

__all__ = [
    "CORRECT",
    "ROUNDED",
    "WRONG",
    "ILL_FORMED",
    "VERDICTS",
    "NO_VERDICT",
    "FORMULA_ERROR",
    "UNSAFE_CODE",
    "WRONG_NUMBER",
    "TRUNCATION",
    "PRESENTATION",
    "SEVERITIES",
    "fact",
    "printed_number_verdict",
    "is_truncation",
    "formula_verdict",
]

CORRECT = "correct"
ROUNDED = "correct but rounded"
WRONG = "wrong"
ILL_FORMED = "ill-formed"
VERDICTS = (CORRECT, ROUNDED, WRONG, ILL_FORMED)
NO_VERDICT = "no verdict"  # a statement with nothing to check; the claim says why

# What a claim that is not correct gets wrong, most serious first: a wrong formula, derivation step
# or listing gives wrong results on every input it covers; a wrong number is one value; a
# truncated number is off by less than its last digit; a presentation defect (a lost image, a
# notation slip) misleads only until it is repaired the evident way.
FORMULA_ERROR = "formula or derivation error"
UNSAFE_CODE = "unsafe code"
WRONG_NUMBER = "wrong number"
TRUNCATION = "truncation or rounding"
PRESENTATION = "presentation"
SEVERITIES = (FORMULA_ERROR, UNSAFE_CODE, WRONG_NUMBER, TRUNCATION, PRESENTATION)


def _printed(printed: str) -> tuple[Fraction, Fraction]:
    """The printed decimal as an exact fraction, and one unit of its last digit."""
    try:
        value = Decimal(printed.strip().replace("−", "-"))
    except InvalidOperation:
        raise ValueError(f"printed must be a plain decimal number, got {printed!r}") from None
    if not value.is_finite():
        raise ValueError(f"printed must be a finite decimal number, got {printed!r}")
    return Fraction(value), Fraction(10) ** value.as_tuple().exponent


def _exact(exact: Real | Decimal | str) -> Fraction:
    """exact as a fraction: ints, floats (at their exact binary value), Fractions and Decimals directly,
    anything else (a string, a SymPy or mpmath number) through its decimal string."""
    # Pass many digits (e.g. str(sympy.N(x, 30))) when a float's 17 digits could sit on a rounding
    # boundary of the printed value.
    if isinstance(exact, (int, float, Fraction, Decimal)):
        return Fraction(exact)
    try:
        return Fraction(Decimal(str(exact)))
    except InvalidOperation:
        raise ValueError(f"exact must be a real number, got {exact!r}") from None


def printed_number_verdict(printed: str, exact: Real | Decimal | str) -> str:
    """CORRECT if printed == exact, ROUNDED if |exact − printed| ≤ ½·10^(−d) with d the printed decimals, else WRONG.

    Parameters
    ----------
    printed : str
        A plain decimal number as printed ("0.866", "−1.5").
    exact : int, float, Fraction, Decimal or str
        The exact value (a float at its exact binary value; pass many digits as a string, e.g.
        str(sympy.N(x, 30)), when 17 digits could sit on a rounding boundary).

    Returns
    -------
    str
        CORRECT, ROUNDED or WRONG.

    Examples
    --------
    >>> printed_number_verdict("0.5", 0.5), printed_number_verdict("0.867", "0.866813")
    ('correct', 'correct but rounded')
    >>> printed_number_verdict("0.866", "0.866813")  # truncated, not rounded
    'wrong'
    """
    value, unit = _printed(printed)
    error = abs(_exact(exact) - value)
    if error == 0:
        return CORRECT
    return ROUNDED if error <= unit / 2 else WRONG


def is_truncation(printed: str, exact: Real | Decimal | str) -> bool:
    """Whether printed is exact cut off after the printed digits (towards zero), not equal to it.

    Parameters
    ----------
    printed : str
        A plain decimal number as printed.
    exact : int, float, Fraction, Decimal or str
        The exact value, as for `printed_number_verdict`.

    Returns
    -------
    bool

    Examples
    --------
    >>> is_truncation("0.866", "0.866813"), is_truncation("0.867", "0.866813")
    (True, False)
    """
    value, unit = _printed(printed)
    exact = _exact(exact)
    magnitude = abs(exact)
    cut = Fraction(int(magnitude / unit)) * unit
    return value == (cut if exact >= 0 else -cut) and value != exact


def formula_verdict(as_written_holds: bool | None, repaired_holds: bool) -> str:
    """The verdict on a formula from two executed checks.

    True as written is CORRECT; false or absent as written but true repaired is ILL_FORMED;
    false either way is WRONG.

    Parameters
    ----------
    as_written_holds : bool or None
        Whether the formula read literally, symbol by symbol, is true (None when the page shows no
        formula at all: an image that is missing, LaTeX that is garbled).
    repaired_holds : bool
        Whether it is true once the notation is repaired minimally (the evident intent: a missing
        subscript restored, a missing formula supplied as the text describes it).

    Returns
    -------
    str
        CORRECT, ILL_FORMED or WRONG.

    Examples
    --------
    >>> formula_verdict(True, True), formula_verdict(None, True), formula_verdict(False, False)
    ('correct', 'ill-formed', 'wrong')
    """
    if as_written_holds:
        return CORRECT
    return ILL_FORMED if repaired_holds else WRONG


def fact(holds: bool) -> str:
    """The verdict on a well-formed statement: CORRECT if it holds, else WRONG.

    Parameters
    ----------
    holds : bool
        The outcome of the executed check.

    Returns
    -------
    str
        CORRECT or WRONG.

    Examples
    --------
    >>> fact(1 + 1 == 2), fact(0.1 + 0.2 == 0.3)
    ('correct', 'wrong')
    """
    return CORRECT if holds else WRONG
