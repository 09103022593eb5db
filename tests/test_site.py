"""Static checks of the built HTML book (no browser needed).

The book must render offline: no page may fetch anything (script, stylesheet, font, image, frame)
from another host while it is shown. Links a reader clicks (Binder, Colab, the repository, cited
works) are fine. Each notebook page offers its .ipynb for download and Binder/Colab launch links
to the public repository.
"""

from __future__ import annotations

import re

import pytest
import yaml
from book_html import (
    BUILD_COMMAND,
    HTML,
    ROOT,
    css_urls,
    html_pages,
    is_external,
    parse_page,
    redirect_target,
    source_of,
    toc_documents,
)

CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
PAGES = html_pages()


def test_book_is_built_and_current():
    assert HTML.is_dir(), f"{HTML} is missing: build the book first with {BUILD_COMMAND}"
    for document in toc_documents():
        page = HTML / f"{document}.html"
        source = source_of(document)
        assert page.exists(), f"{document} is in _toc.yml but {page} was not built"
        assert page.stat().st_mtime >= source.stat().st_mtime, (
            f"{page} is older than {source.name}: rebuild with {BUILD_COMMAND}"
        )


def test_every_glued_figure_is_drawn():
    """Each `{glue:figure}` of a chapter is a <figure> with its image in the page: a chapter run
    where Matplotlib did not draw inline leaves the figure and its caption with no image."""
    undrawn = []
    for document in toc_documents():
        source = source_of(document)
        if source.suffix != ".ipynb":
            continue
        glued = source.read_text(encoding="utf-8").count("{glue:figure}")
        figures = re.findall(r"<figure\b.*?</figure>", (HTML / f"{document}.html").read_text(encoding="utf-8"), re.S)
        drawn = sum("<img" in figure for figure in figures)
        if drawn < glued:
            undrawn.append(f"{document}: {glued} glued figures, {drawn} drawn")
    assert not undrawn, undrawn


def test_redirect_stubs_point_at_pages():
    for path in HTML.glob("*.html"):
        target = redirect_target(path.name)
        if target is not None:
            assert (HTML / target).is_file(), f"{path.name} redirects to missing {target}"


@pytest.mark.parametrize("page", PAGES)
def test_page_fetches_nothing_from_the_network(page):
    external = [(tag, attribute, url) for tag, attribute, url in parse_page(page).resources if is_external(url)]
    assert not external, f"{page} loads from the network when shown: {external}"


def test_page_resources_exist():
    missing = []
    for page in PAGES:
        for tag, _attribute, url in parse_page(page).resources:
            if is_external(url) or url.startswith(("data:", "#")):
                continue
            target = (HTML / page).parent / url.split("#")[0].split("?")[0]
            if not target.resolve().exists():
                missing.append((page, tag, url))
    assert not missing, f"pages load files that are not in the build: {missing}"


def test_stylesheets_fetch_nothing_from_the_network():
    stylesheets = sorted(HTML.joinpath("_static").rglob("*.css"))
    assert stylesheets, "no stylesheets in _build/html/_static"
    external = [
        (css.relative_to(HTML).as_posix(), url)
        for css in stylesheets
        for url in css_urls(css.read_text(encoding="utf-8", errors="replace"))
        if is_external(url)
    ]
    assert not external, f"stylesheets fetch from the network (fonts?): {external}"


def test_mathjax_is_served_locally():
    assert (HTML / "_static" / "mathjax" / "tex-chtml.js").is_file(), (
        "_build/html/_static/mathjax/tex-chtml.js is missing: is sphinx-mathjax-offline enabled?"
    )
    pages_with_math = [page for page in PAGES if parse_page(page).display_math + parse_page(page).inline_math]
    assert pages_with_math, "no page has math: the math count of the parser is broken"
    for page in pages_with_math:
        scripts = [url for tag, _, url in parse_page(page).resources if tag == "script"]
        assert any(url.split("?")[0].endswith("_static/mathjax/tex-chtml.js") for url in scripts), (
            f"{page} has math but does not load the local MathJax: {scripts}"
        )


NOTEBOOK_DOCUMENTS = [doc for doc in toc_documents() if source_of(doc).suffix == ".ipynb"]


@pytest.mark.parametrize("document", NOTEBOOK_DOCUMENTS)
def test_notebook_page_offers_download_and_launch(document):
    html = (HTML / f"{document}.html").read_text(encoding="utf-8")
    depth = document.count("/")
    download = "../" * depth + f"_sources/{document}.ipynb"
    assert f'href="{download}"' in html, f"{document}.html has no .ipynb download link"
    assert (HTML / "_sources" / f"{document}.ipynb").read_bytes() == source_of(document).read_bytes()

    repository = CONFIG["repository"]["url"].rstrip("/")
    owner_and_name = repository.removeprefix("https://github.com/")
    branch = CONFIG["repository"]["branch"]
    launch = CONFIG["launch_buttons"]
    binder = f"{launch['binderhub_url']}/v2/gh/{owner_and_name}/{branch}?urlpath=lab/tree/{document}.ipynb"
    colab = f"{launch['colab_url']}/github/{owner_and_name}/blob/{branch}/{document}.ipynb"
    for link in (binder, colab, repository):
        assert f'href="{link}"' in html, f"{document}.html lacks the link {link}"


def test_footer_names_copyright_and_author():
    html = (HTML / PAGES[0]).read_text(encoding="utf-8") if PAGES else ""
    assert CONFIG["copyright"] in html
    assert CONFIG["author"] in html


def test_page_titles_hold_no_tex():
    # The <title> is what the browser tab, bookmarks and search results show, and MathJax never
    # typesets it: a chapter title with math would put raw TeX there.
    import html
    import re

    tex = re.compile(r"\\\(|\\\)|\\\[|\$|\\[A-Za-z]+")
    with_tex = []
    for page in PAGES:
        found = re.search(r"<title>(.*?)</title>", (HTML / page).read_text(encoding="utf-8"), re.S)
        if found and tex.search(html.unescape(found.group(1))):
            with_tex.append((page, found.group(1).strip()))
    assert PAGES, f"no pages: build the book first with {BUILD_COMMAND}"
    assert not with_tex, f"page titles with TeX: {with_tex}"
