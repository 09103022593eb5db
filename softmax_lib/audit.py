"""The record of an audit of published claims, with its verdicts (defined in softmax_lib._verdicts).

A printed number such as "0.866" stands for every value that rounds to it: "correct", "correct but
rounded" or "wrong" (`printed_number_verdict`). An `Audit` keeps one `Claim` per audited statement:
the verbatim quote, the article's formula (TeX, typeset in the table), the evidence (what was
executed and what it gave), the verdict, and for a claim that is not correct its severity, the
finding it belongs to (one mistake seen in several places is one finding) and the correction. It
renders the summary table and the errata as HTML whose math MathJax typesets.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from numbers import Real

from softmax_lib._audit_report import AuditReport
from softmax_lib._verdicts import (
    CORRECT,
    FORMULA_ERROR,
    ILL_FORMED,
    NO_VERDICT,
    PRESENTATION,
    ROUNDED,
    SEVERITIES,
    TRUNCATION,
    UNSAFE_CODE,
    VERDICTS,
    WRONG,
    WRONG_NUMBER,
    _exact,
    fact,
    formula_verdict,
    is_truncation,
    printed_number_verdict,
)
from softmax_lib.formatting import significant

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
    "Claim",
    "Audit",
    "fact",
    "printed_number_verdict",
    "is_truncation",
    "formula_verdict",
]


@dataclass(frozen=True)
class Claim:
    """One audited statement of an article (made by `Audit.record` and its siblings).

    Text may hold inline math between $ signs.

    Parameters
    ----------
    article : str
        The article's name.
    quote : str
        Verbatim from the article ("…" marks an elision).
    gloss : str
        What the statement says, in the audit's words.
    formula : str
        The article's own TeX for the formula the quote introduces ("" when none, or when the
        page's TeX does not typeset).
    evidence : str
        What was executed and what it gave.
    verdict : str
        One of VERDICTS, or NO_VERDICT.
    severity : str or None
        One of SEVERITIES; None for a claim that is correct.
    finding : str or None
        The name shared by the claims that show one mistake; None for a correct claim.
    correction : str
        "" for a correct claim.

    Examples
    --------
    >>> claim = Audit().record("a.txt", "1+1=2", "arithmetic", "1 + 1 == 2", CORRECT, fact(True), echo=False)
    >>> claim.verdict, claim.severity
    ('correct', None)
    """

    article: str
    quote: str
    gloss: str
    formula: str
    evidence: str
    verdict: str
    severity: str | None
    finding: str | None
    correction: str


class Audit(AuditReport):
    """The claims of an audit, in the order they were recorded.

    Examples
    --------
    >>> audit = Audit()
    >>> _ = audit.record("a.txt", "1+1=2", "arithmetic", "1 + 1 == 2", CORRECT, fact(1 + 1 == 2), echo=False)
    >>> audit.verdict_counts()["all"][CORRECT]
    1
    """

    def __init__(self) -> None:
        self.claims: list[Claim] = []

    def record(
        self,
        article: str,
        quote: str,
        gloss: str,
        evidence: str,
        stated: str,
        computed: str,
        *,
        formula: str = "",
        severity: str | None = None,
        finding: str | None = None,
        correction: str = "",
        echo: bool = True,
    ) -> Claim:
        """Keep a claim after asserting that the executed check gives the verdict stated for it.

        Parameters
        ----------
        article, quote, gloss, evidence, formula, correction
            As in `Claim`; correction is required exactly when the verdict is not CORRECT.
        stated
            The verdict the audit states, one of VERDICTS.
        computed
            The verdict the executed check gives; it must equal stated.
        severity
            One of SEVERITIES, required exactly when the verdict is WRONG or ILL_FORMED.
        finding
            A name shared by the claims that show one and the same mistake (counted once);
            defaults to a finding of its own.
        echo
            Print the claim.

        Returns
        -------
        Claim

        Examples
        --------
        >>> audit = Audit()
        >>> claim = audit.record("a.txt", "0.1 + 0.2 = 0.3", "in floats", "0.1 + 0.2 == 0.3 is False", WRONG,
        ...                      fact(0.1 + 0.2 == 0.3), severity=WRONG_NUMBER, correction="0.30000000000000004")
        [wrong, wrong number] 0.1 + 0.2 = 0.3  (in floats)
            evidence: 0.1 + 0.2 == 0.3 is False
            correction: 0.30000000000000004
        """
        if stated not in VERDICTS:
            raise ValueError(f"stated must be one of {VERDICTS}, got {stated!r}")
        if computed != stated:
            raise AssertionError(f"{quote}: stated {stated!r}, but the check gives {computed!r}")
        if bool(correction) != (stated != CORRECT):
            raise ValueError(f"{quote}: a correction goes with every verdict but {CORRECT!r}, and only with those")
        needs_severity = stated in (WRONG, ILL_FORMED)
        if needs_severity != (severity is not None) or (severity is not None and severity not in SEVERITIES):
            raise ValueError(
                f"{quote}: severity must be one of {SEVERITIES} for a claim that is {WRONG!r} or "
                f"{ILL_FORMED!r}, and None otherwise; got {severity!r}"
            )
        if finding is not None and not needs_severity:
            raise ValueError(f"{quote}: only a claim that is {WRONG!r} or {ILL_FORMED!r} belongs to a finding")
        if needs_severity:
            finding = finding or f"{article}: {quote}"
            for other in self.claims:
                if other.finding == finding and other.severity != severity:
                    raise ValueError(f"finding {finding!r} has severity {other.severity!r} and {severity!r}")
        claim = Claim(article, quote, gloss, formula, evidence, stated, severity, finding, correction)
        self.claims.append(claim)
        if echo:
            print(f"[{stated}{f', {severity}' if severity else ''}] {quote}  ({gloss})")
            if formula:
                print(f"    formula: {formula}")
            print(f"    evidence: {evidence}")
            if correction:
                print(f"    correction: {correction}")
        return claim

    def unjudged(self, article: str, quote: str, gloss: str, reason: str, echo: bool = True) -> Claim:
        """Keep a statement that gets no verdict, with the reason why.

        Parameters
        ----------
        article, quote, gloss : str
            As in `Claim`.
        reason : str
            Why the statement gets no verdict (required).
        echo : bool, optional
            Print the claim.

        Returns
        -------
        Claim
            With verdict NO_VERDICT and the reason as its evidence.

        Examples
        --------
        >>> Audit().unjudged("a.txt", "softmax is elegant", "taste", "an opinion", echo=False).verdict
        'no verdict'
        """
        if not reason:
            raise ValueError(f"{quote}: a statement without a verdict needs a reason")
        claim = Claim(article, quote, gloss, "", reason, NO_VERDICT, None, None, "")
        self.claims.append(claim)
        if echo:
            print(f"[{NO_VERDICT}] {quote}  ({gloss})\n    reason: {reason}")
        return claim

    def number(
        self,
        article: str,
        quote: str,
        gloss: str,
        printed: str,
        exact: Real | Decimal | str,
        stated: str,
        *,
        finding: str | None = None,
        echo: bool = True,
    ) -> Claim:
        """A printed number against its exact value (pass many digits, e.g. a 30-digit string).

        A wrong number's severity is TRUNCATION when it is the exact value cut off, else WRONG_NUMBER;
        the correction gives the value to 6 significant digits and, when wrong, to the printed decimals.

        Parameters
        ----------
        article, quote, gloss : str
            As in `Claim`.
        printed : str
            The number as printed.
        exact : int, float, Fraction, Decimal or str
            Its exact value.
        stated : str
            The verdict the audit states; it must be the computed one.
        finding : str, optional
            As for `record`.
        echo : bool, optional
            Print the claim.

        Returns
        -------
        Claim

        Examples
        --------
        >>> claim = Audit().number("a.txt", "p = 0.866", "softmax([1, 5, 3])[1]", "0.866", "0.866813332197335", WRONG,
        ...                        echo=False)
        >>> claim.severity, claim.correction
        ('truncation or rounding', '0.866813; to 3 decimals 0.867 (0.866 is truncated, not rounded)')
        """
        verdict = printed_number_verdict(printed, exact)
        value = float(_exact(exact))
        correction, severity = "", None
        if verdict != CORRECT:
            correction = significant(value)
        if verdict == WRONG:
            decimals = max(-Decimal(printed.replace("−", "-")).as_tuple().exponent, 0)
            correction += f"; to {decimals} decimals {value:.{decimals}f}"
            severity = TRUNCATION if is_truncation(printed, exact) else WRONG_NUMBER
            if severity == TRUNCATION:
                correction += f" ({printed} is truncated, not rounded)"
        return self.record(
            article,
            quote,
            gloss,
            f"{printed} vs exact {significant(value)}",
            stated,
            verdict,
            severity=severity,
            finding=finding,
            correction=correction,
            echo=echo,
        )

    def vector(
        self,
        article: str,
        quote: str,
        gloss: str,
        printed: list[str],
        exact: list,
        stated: str,
        *,
        severity: str | None = None,
        finding: str | None = None,
        echo: bool = True,
    ) -> Claim:
        """A printed vector: its verdict is that of its worst entry.

        Parameters
        ----------
        article, quote, gloss : str
            As in `Claim`.
        printed : list of str
            The entries as printed.
        exact : list
            Their exact values.
        stated : str
            The verdict the audit states; it must be the computed one.
        severity, finding : str, optional
            As for `record`.
        echo : bool, optional
            Print the claim.

        Returns
        -------
        Claim

        Examples
        --------
        >>> Audit().vector("a.txt", "p = [0.5, 0.5]", "softmax([0, 0])", ["0.5", "0.5"], [0.5, 0.5], CORRECT,
        ...                echo=False).verdict
        'correct'
        """
        verdicts = [printed_number_verdict(p, e) for p, e in zip(printed, exact, strict=True)]
        verdict = max(verdicts, key=[CORRECT, ROUNDED, WRONG].index)
        correction = "" if verdict == CORRECT else significant([float(_exact(e)) for e in exact])
        return self.record(
            article,
            quote,
            gloss,
            f"entry by entry: {', '.join(verdicts)}",
            stated,
            verdict,
            severity=severity,
            finding=finding,
            correction=correction,
            echo=echo,
        )
