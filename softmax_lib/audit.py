"""The record of an audit of published claims, with its verdicts (defined in softmax_lib._verdicts).

A printed number such as "0.866" stands for every value that rounds to it: "correct", "correct but
rounded" or "wrong" (`printed_number_verdict`). An `Audit` keeps one `Claim` per audited statement:
the verbatim quote, the article's formula (TeX, typeset in the table), the evidence (what was
executed and what it gave), the verdict, and for a claim that is not correct its severity, the
finding it belongs to (one mistake seen in several places is one finding) and the correction. It
renders the summary table and the errata as HTML whose math MathJax typesets.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from html import escape
from numbers import Real

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


class Audit:
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

    def articles(self) -> list[str]:
        """The articles, in the order of their first claim.

        Returns
        -------
        list of str

        Examples
        --------
        >>> audit = Audit()
        >>> _ = audit.unjudged("b.txt", "q", "g", "r", echo=False), audit.unjudged("a.txt", "q", "g", "r", echo=False)
        >>> audit.articles()
        ['b.txt', 'a.txt']
        """
        return list(dict.fromkeys(c.article for c in self.claims))

    def verdict_counts(self) -> dict[str, dict[str, int]]:
        """Claims per verdict (VERDICTS and NO_VERDICT), for each article and for "all".

        Returns
        -------
        dict of str to dict of str to int

        Examples
        --------
        >>> audit = Audit()
        >>> _ = audit.unjudged("a.txt", "q", "g", "r", echo=False)
        >>> audit.verdict_counts()["a.txt"][NO_VERDICT], audit.verdict_counts()["all"][CORRECT]
        (1, 0)
        """
        names = (*VERDICTS, NO_VERDICT)
        counts = {article: dict.fromkeys(names, 0) for article in [*self.articles(), "all"]}
        for claim in self.claims:
            counts[claim.article][claim.verdict] += 1
            counts["all"][claim.verdict] += 1
        return counts

    def severity_counts(self) -> dict[str, dict[str, int]]:
        """Findings (not claims: one mistake seen in several places counts once) per severity,
        for each article and for "all".

        Returns
        -------
        dict of str to dict of str to int

        Examples
        --------
        >>> audit = Audit()
        >>> for quote in ("x = 1", "x = 1 again"):
        ...     _ = audit.record("a.txt", quote, "g", "e", WRONG, WRONG, severity=WRONG_NUMBER, finding="x",
        ...                      correction="x = 2", echo=False)
        >>> audit.severity_counts()["all"][WRONG_NUMBER]  # one finding seen twice
        1
        """
        findings = {(c.article, c.finding): c.severity for c in self.claims if c.finding is not None}
        counts = {article: dict.fromkeys(SEVERITIES, 0) for article in [*self.articles(), "all"]}
        for (article, _), severity in findings.items():
            counts[article][severity] += 1
        everywhere = {finding: severity for (_, finding), severity in findings.items()}
        counts["all"] = {s: Counter(everywhere.values())[s] for s in SEVERITIES}
        return counts

    def sorted_claims(self) -> list[Claim]:
        """Most serious first: by severity, then correct but rounded, correct, and no verdict;
        within each, in the order recorded.

        Returns
        -------
        list of Claim

        Examples
        --------
        >>> audit = Audit()
        >>> _ = audit.record("a.txt", "q1", "g", "e", CORRECT, CORRECT, echo=False)
        >>> _ = audit.record("a.txt", "q2", "g", "e", WRONG, WRONG, severity=PRESENTATION, correction="c", echo=False)
        >>> [c.quote for c in audit.sorted_claims()]
        ['q2', 'q1']
        """
        order = [*SEVERITIES, ROUNDED, CORRECT, NO_VERDICT]

        def rank(claim: Claim) -> int:
            return order.index(claim.severity or claim.verdict)

        return sorted(self.claims, key=rank)

    def table_html(self, article_label=lambda article: article[:3]) -> str:
        """The summary table, sorted by severity: article; claim (verbatim quote, gloss, and the
        article's formula typeset); verdict and severity; evidence; correction.

        Parameters
        ----------
        article_label : callable, optional
            The label of an article in the first column (default its first three characters).

        Returns
        -------
        str
            HTML.

        Examples
        --------
        >>> audit = Audit()
        >>> _ = audit.record("001.txt", "1+1=2", "sum", "$1 + 1 = 2$", CORRECT, CORRECT, echo=False)
        >>> html = audit.table_html()
        >>> "<td>001</td>" in html, '<span class="math notranslate nohighlight">' in html
        (True, True)
        """
        head = "".join(f"<th>{h}</th>" for h in ("Art.", "Claim", "Verdict", "Evidence (executed)", "Correction"))
        cell = '<td style="overflow-x: auto">'  # a long typeset formula scrolls inside its cell
        rows = "".join(
            f"<tr><td>{escape(article_label(c.article))}</td>"
            f"{cell}{_quote(c.quote)}<br><em>{_with_math(c.gloss)}</em>"
            f"{'<br>' + _math(c.formula) if c.formula else ''}</td>"
            f"<td>{escape(c.verdict)}{'<br><small>' + escape(c.severity) + '</small>' if c.severity else ''}</td>"
            f"{cell}{_with_math(c.evidence)}</td>{cell}{_with_math(c.correction)}</td></tr>"
            for c in self.sorted_claims()
        )
        # Fixed layout at the page's width, so that every column shows without scrolling sideways.
        widths = "".join(f'<col style="width: {w}%">' for w in (6, 32, 11, 29, 22))
        # On a narrow screen the table scrolls inside its own box, as the theme's data tables do.
        return (
            '<div class="pst-scrollable-table-container">'
            f'<table class="table" style="table-layout: fixed; width: 100%; font-size: 85%; '
            f'overflow-wrap: anywhere"><colgroup>{widths}</colgroup><thead><tr>{head}</tr></thead>'
            f"<tbody>{rows}</tbody></table></div>"
        )

    def errata_html(self, article: str, title: str, code: str = "") -> str:
        """An admonition for the readers of one article: each finding, where it occurs (the formula
        typeset, or else the quote, and the gloss), and its correction, most serious first; code is a
        corrected listing to add, if any.

        Parameters
        ----------
        article : str
            The article whose findings are listed.
        title : str
            The admonition's title.
        code : str, optional
            A corrected listing to add.

        Returns
        -------
        str
            HTML.

        Examples
        --------
        >>> audit = Audit()
        >>> _ = audit.record("a.txt", "p = 0.9", "g", "e", WRONG, WRONG, severity=WRONG_NUMBER, correction="0.87",
        ...                  echo=False)
        >>> "<strong>wrong number</strong>" in audit.errata_html("a.txt", "Errata")
        True
        """
        items: dict[str, list[Claim]] = {}
        for claim in self.sorted_claims():
            if claim.article == article and claim.finding is not None:
                items.setdefault(claim.finding, []).append(claim)
        entries = "".join(
            f"<li><strong>{escape(claims[0].severity)}</strong>: "
            + "; ".join(
                f"{_display_math(c.formula) if c.formula else _quote(c.quote, marks='“”')} "
                f"({_with_math(c.gloss)}) → {_with_math(c.correction)}"
                for c in claims
            )
            + "</li>"
            for claims in items.values()
        )
        listing = f"<pre>{escape(code)}</pre>" if code else ""
        return (
            f'<div class="admonition attention"><p class="admonition-title">{escape(title)}</p>'
            f"<ul>{entries}</ul>{listing}</div>"
        )


def _quote(text: str, marks: str = "") -> str:
    """A verbatim quote as HTML, between `marks` (opening and closing): one that holds TeX source (a
    formula that did not survive on its page) is shown as code instead, so that it reads as the
    source it is and nothing tries to typeset it."""
    if "\\" in text or "$" in text:
        return f"<code>{escape(text)}</code>"
    return f"{marks[:1]}{escape(text)}{marks[1:]}"


def _display_math(tex: str) -> str:
    # A formula on a line of its own: on a narrow screen it is scaled to the column's width.
    return f'<div class="math notranslate nohighlight">\\[{escape(tex)}\\]</div>'


def _math(tex: str) -> str:
    # The element's "math" class is one MathJax processes inside a MyST page (myst-parser's
    # mathjax_classes); the rest of a notebook page is marked mathjax_ignore.
    return f'<span class="math notranslate nohighlight">\\({escape(tex)}\\)</span>'


def _with_math(text: str) -> str:
    """text as HTML, each $…$ in it as inline math."""
    parts = re.split(r"\$([^$]+)\$", text)
    return "".join(_math(part) if i % 2 else escape(part) for i, part in enumerate(parts))
