"""The whole book as one PDF (make pdf, _ext/build_pdf.py): it opens, has every chapter, typeset
math (no TeX source left in its text), figures, numbered equations and internal links, and the
home page links to it.

Needs the PDF built (`make pdf`; `make test` builds it first). Without it the test skips, except in
CI (CI=true), where it fails.
"""

from __future__ import annotations

import html
import json
import re
import unicodedata

import pytest
from book_html import HTML, IN_CI, ROOT, source_of, toc_documents

PDF = ROOT / "_build" / "pdf" / "book.pdf"
# `make test` runs the built-book tests on two workers (--dist loadgroup): the PDF's tests share one
# worker, so that the document is read and its text extracted once.
pytestmark = pytest.mark.xdist_group("pdf")

# TeX that would mean MathJax did not typeset a formula before printing.
RAW_TEX = re.compile(r"\\(frac|sum|operatorname|begin|mathrm|partial|left|right|top)\b|\$\$|\\\(|\\\[")


@pytest.fixture(scope="module")
def pdf():
    if not PDF.is_file():
        message = f"{PDF} is missing: build it with make pdf"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    pypdf = pytest.importorskip("pypdf")
    return pypdf.PdfReader(str(PDF))


@pytest.fixture(scope="module")
def text(pdf):
    pdfium = pytest.importorskip("pypdfium2")
    document = pdfium.PdfDocument(str(PDF))
    try:
        pages = [document[index].get_textpage().get_text_range() for index in range(len(document))]
    finally:
        document.close()
    # PDFium ends lines with CR LF; NFKC undoes the typesetter's ligatures (ﬁ -> fi).
    return unicodedata.normalize("NFKC", "\n".join(pages).replace("\r\n", "\n"))


def _code_text() -> str:
    """Every code cell's source and text output, and the inline code of the text, without
    whitespace: code may hold TeX strings (plot labels, the audit's quotes), which the PDF shows
    as code, as it should."""
    parts = []
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            source = "".join(cell["source"])
            if cell["cell_type"] == "code":
                parts.append(source)
                for output in cell.get("outputs", []):
                    parts.append("".join(output.get("text", "")))
                    data = output.get("data", {})
                    parts.append("".join(data.get("text/plain", "")))
                    # HTML outputs show TeX source as code too (the audit's quotes of formulas that
                    # did not typeset on their page)
                    code = re.findall(r"<code>(.*?)</code>", "".join(data.get("text/html", "")), re.S)
                    parts += [html.unescape(c) for c in code]
            else:
                parts += re.findall(r"`([^`]+)`", source)
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", "\n".join(parts)))


def _titles() -> list[str]:
    """Each page's title as written in its source (titles with math are left out)."""
    titles = []
    for document in toc_documents():
        path = source_of(document)
        source = path.read_text(encoding="utf-8")
        if path.suffix == ".ipynb":
            source = "\n".join(
                "".join(cell["source"]) for cell in json.loads(source)["cells"] if cell["cell_type"] == "markdown"
            )
        match = re.search(r"^# (.+)$", source, re.M)
        if match and "$" not in match.group(1) and "`" not in match.group(1):
            titles.append(match.group(1).strip())
    return titles


def test_the_pdf_holds_the_whole_book(pdf, text):
    assert len(pdf.pages) >= 2 * len(toc_documents()), f"only {len(pdf.pages)} pages"
    missing = [title for title in _titles() if title not in text.replace("\n", " ")]
    assert not missing, f"chapter titles not found in the PDF: {missing}"


def _raw_tex_lines(text: str, code: str) -> list[str]:
    """Lines of the PDF's text with a TeX command that is not part of the book's code."""
    lines = [line for line in text.splitlines() if RAW_TEX.search(line)]
    # A line of prose may hold inline code between words: each TeX command must lie in code.
    return [
        line
        for line in lines
        if any(re.sub(r"\s+", "", piece) not in code for piece in re.findall(r"\\[A-Za-z]+\S*", line))
        and re.sub(r"\s+", "", line) not in code
    ]


def test_the_math_is_typeset(text):
    raw = _raw_tex_lines(text, _code_text())
    assert not raw, f"raw TeX in the PDF's text: {raw[:10]}"
    assert re.search(r"\(\d+\.\d+\)", text), "no numbered equation such as (4.1) in the PDF"


def test_an_untypeset_formula_would_be_found():
    # Equation (4.2) of the Jacobian chapter as MathJax would leave it if it did not run.
    untypeset = (
        "Throughout, softmax is\n"
        "\\begin{equation} p_i = \\operatorname{softmax}(z)_i = \\frac{e^{z_i}}{\\sum_k e^{z_k}}"
    )
    assert _raw_tex_lines(untypeset, _code_text())


def _images(resources) -> int:
    """The image XObjects a page (or a form XObject inside it) draws, counted without decoding them
    (pypdf's page.images decodes every image: most of this test's time)."""
    xobjects = resources.get_object().get("/XObject") if resources is not None else None
    count = 0
    for reference in (xobjects.get_object() if xobjects is not None else {}).values():
        xobject = reference.get_object()
        if xobject.get("/Subtype") == "/Image":
            count += 1
        elif xobject.get("/Subtype") == "/Form":
            count += _images(xobject.get("/Resources"))
    return count


def test_the_pdf_has_figures_bookmarks_and_internal_links(pdf):
    images = sum(_images(page.get("/Resources")) for page in pdf.pages)
    assert images >= 10, f"only {images} images in the PDF"
    assert pdf.outline, "the PDF has no outline (bookmarks)"
    internal = 0
    for page in pdf.pages:
        for annotation in page.get("/Annots") or []:
            annotation = annotation.get_object()
            action = annotation.get("/A")
            if "/Dest" in annotation or (action is not None and action.get("/S") == "/GoTo"):
                internal += 1
    assert internal >= 20, f"only {internal} internal links in the PDF"


def test_the_home_page_links_to_the_pdf():
    intro = (HTML / "book" / "intro.html").read_text(encoding="utf-8")
    assert 'href="../book.pdf"' in intro
    assert (HTML / "book.pdf").read_bytes() == PDF.read_bytes()
