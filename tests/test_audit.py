"""Unit tests for softmax_lib.audit: verdicts on printed numbers and on formulas, and the audit record."""

from decimal import Decimal
from fractions import Fraction

import pytest

from softmax_lib.audit import (
    CORRECT,
    FORMULA_ERROR,
    ILL_FORMED,
    NO_VERDICT,
    PRESENTATION,
    ROUNDED,
    SEVERITIES,
    TRUNCATION,
    UNSAFE_CODE,
    WRONG,
    WRONG_NUMBER,
    Audit,
    fact,
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
    [
        (True, True, CORRECT),
        (False, True, ILL_FORMED),
        (None, True, ILL_FORMED),
        (False, False, WRONG),
        (None, False, WRONG),
    ],
)
def test_formula_verdict(as_written, repaired, verdict):
    assert formula_verdict(as_written, repaired) == verdict


def test_fact():
    assert fact(True) == CORRECT
    assert fact(False) == WRONG


def test_record_asserts_the_stated_verdict():
    audit = Audit()
    with pytest.raises(AssertionError, match="stated 'correct', but the check gives 'wrong'"):
        audit.record("a", "q", "g", "e", CORRECT, WRONG, echo=False)
    with pytest.raises(ValueError, match="stated must be one of"):
        audit.record("a", "q", "g", "e", "fine", "fine", echo=False)
    assert audit.claims == []


@pytest.mark.parametrize(
    "stated, correction, severity, finding",
    [
        (CORRECT, "x", None, None),  # a correct claim has no correction
        (WRONG, "", FORMULA_ERROR, None),  # a wrong one needs one
        (WRONG, "x", None, None),  # and a severity
        (ILL_FORMED, "x", "bad", None),  # one of SEVERITIES
        (ROUNDED, "0.117310", PRESENTATION, None),  # a rounded number is correct: no severity
        (ROUNDED, "0.117310", None, "f"),  # nor a finding
    ],
)
def test_record_rejects_inconsistent_claims(stated, correction, severity, finding):
    with pytest.raises(ValueError, match="q"):
        Audit().record(
            "a", "q", "g", "e", stated, stated, correction=correction, severity=severity, finding=finding, echo=False
        )


def test_a_finding_has_one_severity():
    audit = Audit()
    audit.record("a", "q1", "g", "e", WRONG, WRONG, correction="c", severity=TRUNCATION, finding="f", echo=False)
    with pytest.raises(ValueError, match="finding 'f'"):
        audit.record("a", "q2", "g", "e", WRONG, WRONG, correction="c", severity=WRONG_NUMBER, finding="f", echo=False)


def test_number_and_vector_claims_and_their_severity():
    audit = Audit()
    truncated = audit.number("a", "0.015", "p", "0.015", P_153[0], WRONG, finding="cut", echo=False)
    assert truncated.severity == TRUNCATION
    assert truncated.correction == "0.0158762; to 3 decimals 0.016 (0.015 is truncated, not rounded)"
    off = audit.number("a", "0.0903", "p", "0.0903", "0.0900305731703804", WRONG, echo=False)
    assert (off.severity, off.correction) == (WRONG_NUMBER, "0.0900306; to 4 decimals 0.0900")
    rounded = audit.number("a", "0.117", "p", "0.117", P_153[2], ROUNDED, echo=False)
    assert (rounded.severity, rounded.finding, rounded.correction) == (None, None, "0.117310")
    vector = audit.vector(
        "a",
        "[0.015, 0.117]",
        "p",
        ["0.015", "0.117"],
        [P_153[0], P_153[2]],
        WRONG,
        severity=TRUNCATION,
        finding="cut",
        echo=False,
    )
    assert vector.evidence == "entry by entry: wrong, correct but rounded"
    with pytest.raises(AssertionError):
        audit.number("a", "0.867", "p", "0.867", P_153[1], WRONG, echo=False)


def test_counts_count_claims_per_verdict_and_findings_once_per_severity():
    audit = Audit()
    audit.number("a", "0.015", "p", "0.015", P_153[0], WRONG, finding="cut", echo=False)
    audit.number("a", "0.866", "p", "0.866", P_153[1], WRONG, finding="cut", echo=False)
    audit.record("a", "ok", "g", "e", CORRECT, CORRECT, echo=False)
    audit.record("b", "img", "g", "e", ILL_FORMED, ILL_FORMED, correction="c", severity=PRESENTATION, echo=False)
    audit.record("b", "f", "g", "e", WRONG, WRONG, correction="c", severity=FORMULA_ERROR, echo=False)
    audit.unjudged("b", "nice", "g", "an opinion", echo=False)
    verdicts, severities = audit.verdict_counts(), audit.severity_counts()
    assert audit.articles() == ["a", "b"]
    assert verdicts["a"] == {CORRECT: 1, ROUNDED: 0, WRONG: 2, ILL_FORMED: 0, NO_VERDICT: 0}
    assert verdicts["all"] == {CORRECT: 1, ROUNDED: 0, WRONG: 3, ILL_FORMED: 1, NO_VERDICT: 1}
    assert severities["a"][TRUNCATION] == 1  # two claims, one finding
    assert severities["all"] == {FORMULA_ERROR: 1, UNSAFE_CODE: 0, WRONG_NUMBER: 0, TRUNCATION: 1, PRESENTATION: 1}
    assert [c.quote for c in audit.sorted_claims()] == ["f", "0.015", "0.866", "img", "ok", "nice"]
    assert list(SEVERITIES) == [FORMULA_ERROR, UNSAFE_CODE, WRONG_NUMBER, TRUNCATION, PRESENTATION]


def test_unjudged_needs_a_reason():
    with pytest.raises(ValueError, match="reason"):
        Audit().unjudged("a", "q", "g", "", echo=False)


def test_table_and_errata_typeset_math_and_escape_text():
    audit = Audit()
    audit.record(
        "000_x.txt",
        "a<b",
        "the $p - y$ rule",
        "ran",
        WRONG,
        WRONG,
        formula=r"S_i = \frac{e^{V_i}}{\sum_j e^{V_j}}",
        correction=r"$\partial L/\partial W = (p - y)x^\top$",
        severity=FORMULA_ERROR,
        echo=False,
    )
    audit.record("000_x.txt", "fine", "g", "ran", CORRECT, CORRECT, echo=False)
    table = audit.table_html()
    math = '<span class="math notranslate nohighlight">'
    assert f"{math}\\(S_i = \\frac{{e^{{V_i}}}}{{\\sum_j e^{{V_j}}}}\\)</span>" in table
    assert f"{math}\\(p - y\\)</span>" in table
    assert "a&lt;b" in table and "$" not in table
    assert table.index("a&lt;b") < table.index("fine")  # most serious first
    errata = audit.errata_html("000_x.txt", "Errata", code="x = 1 < 2")
    assert 'class="admonition' in errata and "fine" not in errata
    display = '<div class="math notranslate nohighlight">'
    assert f"{display}\\[S_i = " in errata and "a&lt;b" not in errata  # the formula typeset, not the quote
    assert f"(the {math}\\(p - y\\)</span> rule)" in errata  # with its gloss
    assert f"{math}\\(\\partial L/\\partial W = (p - y)x^\\top\\)</span>" in errata
    assert "<pre>x = 1 &lt; 2</pre>" in errata


def test_a_quote_of_tex_source_is_shown_as_code():
    audit = Audit()
    audit.record(
        "000_x.txt",
        r"$$\frac{a}{b",
        "g",
        "ran",
        ILL_FORMED,
        ILL_FORMED,
        correction="c",
        severity=PRESENTATION,
        echo=False,
    )
    audit.record("000_x.txt", "plain words", "g", "ran", CORRECT, CORRECT, echo=False)
    table = audit.table_html()
    assert r"<code>$$\frac{a}{b</code>" in table and "<code>plain words" not in table
    assert table.startswith('<div class="pst-scrollable-table-container">')
