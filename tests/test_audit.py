"""Unit tests for softmax_lib.audit: verdicts on printed numbers and on formulas."""

from decimal import Decimal
from fractions import Fraction

import pytest

from softmax_lib.audit import (
    CORRECT,
    ILL_FORMED,
    ROUNDED,
    WRONG,
    formula_verdict,
    is_truncation,
    printed_number_verdict,
)

# softmax([1, 5, 3]) to 30 digits (exp(1), exp(5), exp(3) over their sum)
P_153 = ("0.0158762399764668", "0.866813332197335", "0.117310427826198")


@pytest.mark.parametrize(
    "printed, exact, verdict, truncated",
    [
        ("0.117", P_153[2], ROUNDED, True),  # rounding and truncation agree: still correct
        ("0.015", P_153[0], WRONG, True),  # 0.0158… rounds to 0.016
        ("0.866", P_153[1], WRONG, True),  # 0.8668… rounds to 0.867
        ("0.867", P_153[1], ROUNDED, False),
        ("-0.134", "-0.133186667802665", WRONG, False),  # neither rounded (-0.133) nor truncated
        ("-0.133", "-0.133186667802665", ROUNDED, True),
        ("0.5", Fraction(1, 2), CORRECT, False),
        ("0.50", 0.5, CORRECT, False),
        ("1", 1, CORRECT, False),
        ("0", "0.00217852", ROUNDED, True),  # an integer printout: unit 1
        ("0.12", 0.125, ROUNDED, True),  # a tie is within half a unit
        ("0.13", 0.125, ROUNDED, False),
        ("−0.7553", Decimal("-0.755272"), ROUNDED, False),  # the Unicode minus sign is accepted
        ("120", 123.4, WRONG, False),  # "120" has unit 1, not 10: 123 either way
        ("1.2E+2", 123.4, ROUNDED, True),  # exponent notation: unit 10
    ],
)
def test_printed_number_verdict(printed, exact, verdict, truncated):
    assert printed_number_verdict(printed, exact) == verdict
    assert is_truncation(printed, exact) == truncated


def test_exact_given_as_a_number_with_a_decimal_string():
    class ManyDigits:  # stands for a SymPy Float or mpmath mpf: known through its str()
        def __str__(self):
            return "0.0900305731703804"

    assert printed_number_verdict("0.0900", ManyDigits()) == ROUNDED
    assert printed_number_verdict("0.0903", ManyDigits()) == WRONG


@pytest.mark.parametrize("printed", ["abc", "", "nan", "inf", "1,5"])
def test_bad_printed_number_is_rejected(printed):
    with pytest.raises(ValueError, match="printed"):
        printed_number_verdict(printed, 1.0)


def test_bad_exact_value_is_rejected():
    with pytest.raises(ValueError, match="exact"):
        printed_number_verdict("1.0", "one")


@pytest.mark.parametrize(
    "as_written, repaired, verdict",
    [(True, True, CORRECT), (False, True, ILL_FORMED), (None, True, ILL_FORMED), (False, False, WRONG),
     (None, False, WRONG)],
)
def test_formula_verdict(as_written, repaired, verdict):
    assert formula_verdict(as_written, repaired) == verdict
