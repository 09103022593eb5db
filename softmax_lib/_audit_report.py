"""The summaries of an audit: counts by verdict and severity, the claims most serious first, and their HTML.

`softmax_lib.audit.Audit` inherits these; the HTML (the summary table and the errata, with math for
MathJax) is written here too.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from html import escape
from typing import TYPE_CHECKING

from softmax_lib._verdicts import CORRECT, NO_VERDICT, ROUNDED, SEVERITIES, VERDICTS

if TYPE_CHECKING:
    from softmax_lib.audit import Claim


class AuditReport:
    """What an audit reports about its `claims` (a list of `Claim`, in the order recorded)."""

    claims: list[Claim]

    def articles(self) -> list[str]:
        """The articles, in the order of their first claim.

        Returns
        -------
        list of str

        Examples
        --------
        >>> from softmax_lib.audit import CORRECT, NO_VERDICT, PRESENTATION, WRONG, WRONG_NUMBER, Audit
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
        >>> from softmax_lib.audit import CORRECT, NO_VERDICT, PRESENTATION, WRONG, WRONG_NUMBER, Audit
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
        >>> from softmax_lib.audit import CORRECT, NO_VERDICT, PRESENTATION, WRONG, WRONG_NUMBER, Audit
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
        >>> from softmax_lib.audit import CORRECT, NO_VERDICT, PRESENTATION, WRONG, WRONG_NUMBER, Audit
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
        >>> from softmax_lib.audit import CORRECT, NO_VERDICT, PRESENTATION, WRONG, WRONG_NUMBER, Audit
        >>> audit = Audit()
        >>> _ = audit.record("001.txt", "1+1=2", "sum", "$1 + 1 = 2$", CORRECT, CORRECT, echo=False)
        >>> html = audit.table_html()
        >>> "<td>001</td>" in html, '<span class="math notranslate nohighlight">' in html
        (True, True)
        """
        return table_html(self.sorted_claims(), article_label)

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
        >>> from softmax_lib.audit import CORRECT, NO_VERDICT, PRESENTATION, WRONG, WRONG_NUMBER, Audit
        >>> audit = Audit()
        >>> _ = audit.record("a.txt", "p = 0.9", "g", "e", WRONG, WRONG, severity=WRONG_NUMBER, correction="0.87",
        ...                  echo=False)
        >>> "<strong>wrong number</strong>" in audit.errata_html("a.txt", "Errata")
        True
        """
        return errata_html(self.sorted_claims(), article, title, code)


def table_html(claims: Sequence[Claim], article_label: Callable[[str], str]) -> str:
    """The summary table of `claims`, in their order (see `Audit.table_html`)."""
    head = "".join(f"<th>{h}</th>" for h in ("Art.", "Claim", "Verdict", "Evidence (executed)", "Correction"))
    cell = '<td style="overflow-x: auto">'  # a long typeset formula scrolls inside its cell
    rows = "".join(
        f"<tr><td>{escape(article_label(c.article))}</td>"
        f"{cell}{_quote(c.quote)}<br><em>{_with_math(c.gloss)}</em>"
        f"{'<br>' + _math(c.formula) if c.formula else ''}</td>"
        f"<td>{escape(c.verdict)}{'<br><small>' + escape(c.severity) + '</small>' if c.severity else ''}</td>"
        f"{cell}{_with_math(c.evidence)}</td>{cell}{_with_math(c.correction)}</td></tr>"
        for c in claims
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


def errata_html(claims: Sequence[Claim], article: str, title: str, code: str = "") -> str:
    """The errata admonition of one article from `claims`, in their order (see `Audit.errata_html`)."""
    items: dict[str, list[Claim]] = {}
    for claim in claims:
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
