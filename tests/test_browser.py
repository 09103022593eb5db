"""Every page of the built book, opened in a real headless Chromium.

The book is served from _build/html over HTTP on 127.0.0.1 and every page is checked for what a
reader would notice: console errors and failed or external requests, math that MathJax did not
typeset (or typeset as an error), images that did not load or that lack a numbered caption, and
internal links or equation references that point at a missing page or anchor. A full-page
screenshot of each page lands in _build/screenshots/ for people to look at.

Each page is read at a laptop width (1300 px), then narrowed to a phone's (390 px): no element may
be wider than the text column, and no code block or equation may be cut or scroll sideways (a data
table wider than a phone may scroll inside its own box). The
window's title must be plain text (no TeX), and axe-core (the accessibility engine
pydata-sphinx-theme tests its pages with; the copy shipped in the pinned `axe-playwright-python`
package, injected into the page, so it runs offline) must find no serious or critical violation.

Playwright drives the system's Chromium (Debian's `chromium` package, /usr/bin/chromium, which
.ci/run installs); it never downloads a browser of its own. Set CHROMIUM=/path/to/chrome to use
another one. Without a browser the test skips, except in CI (CI=true), where it fails.
"""

from __future__ import annotations

import functools
import http.server
import importlib.resources
import os
import shutil
import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from book_html import BUILD_COMMAND, HTML, IN_CI, SCREENSHOTS, html_pages, parse_page, redirect_target

pytestmark = pytest.mark.browser
PAGES = html_pages()
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MATHJAX_TIMEOUT_MS = 20_000
LAPTOP = {"width": 1300, "height": 900}
PHONE = {"width": 390, "height": 844}


def _find_chromium() -> str | None:
    if os.environ.get("CHROMIUM"):
        candidates = [os.environ["CHROMIUM"]]
    else:
        candidates = [
            "/usr/bin/chromium",
            shutil.which("chromium"),
            shutil.which("chromium-browser"),
            shutil.which("google-chrome"),
        ]
    return next((c for c in candidates if c and Path(c).is_file()), None)


def _no_browser(reason: str):
    if IN_CI:
        pytest.fail(f"{reason}; CI must run the browser test (.ci/run installs chromium)")
    pytest.skip(f"browser test skipped: {reason}")


def _screenshot_path(page: str) -> Path:
    return SCREENSHOTS / (page.removesuffix(".html").replace("/", "__") + ".png")


def _phone_screenshot_path(page: str) -> Path:
    return SCREENSHOTS / ("phone__" + _screenshot_path(page).name)


@pytest.fixture(scope="module")
def site_url():
    """The built book served over HTTP on 127.0.0.1, as the base URL ending in '/'."""
    if not (HTML / "index.html").is_file():
        pytest.fail(f"{HTML} is missing: build the book first with {BUILD_COMMAND}")

    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format, *args):
            pass

    handler = functools.partial(QuietHandler, directory=str(HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    executable = _find_chromium()
    if executable is None:
        _no_browser("no Chromium found (apt-get install chromium, or set CHROMIUM=...)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _no_browser("the playwright package is not installed (pip install -r requirements.txt)")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # Screenshots of pages that no longer exist would mislead whoever looks at the folder.
    current = {_screenshot_path(page) for page in PAGES} | {_phone_screenshot_path(page) for page in PAGES}
    for stale in set(SCREENSHOTS.glob("*.png")) - current:
        stale.unlink(missing_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page_report(browser, site_url):
    """A fresh page that records console errors, failed requests and every off-site request."""
    context = browser.new_context(viewport=LAPTOP, service_workers="block")
    report = {"console": [], "failed": [], "external": []}

    def route(route):
        if route.request.url.startswith(site_url) or route.request.url.startswith("data:"):
            route.continue_()
        else:
            # Never let a request leave the machine; a page that tries is itself the failure.
            report["external"].append(route.request.url)
            route.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on(
        "console",
        lambda message: (
            message.type == "error" and report["console"].append(f"{message.text} at {message.location.get('url')}")
        ),
    )
    page.on("pageerror", lambda error: report["console"].append(f"uncaught: {error}"))
    page.on(
        "requestfailed",
        lambda request: (
            request.url.startswith(site_url) and report["failed"].append(f"{request.url}: {request.failure}")
        ),
    )
    page.on(
        "response",
        lambda response: response.status >= 400 and report["failed"].append(f"{response.url}: HTTP {response.status}"),
    )
    yield page, report
    context.close()


# Resolves once MathJax has typeset the page; says why not otherwise.
_WAIT_FOR_MATHJAX = """async (timeout) => {
  const startup = window.MathJax && window.MathJax.startup;
  if (!startup || !startup.promise) return "MathJax did not load";
  const timer = new Promise(resolve => setTimeout(() => resolve("MathJax timed out"), timeout));
  return await Promise.race([startup.promise.then(() => "typeset"), timer]);
}"""

_MATH_STATE = """() => {
  const blocks = Array.from(document.querySelectorAll("div.math, span.math"));
  const untypeset = blocks.filter(b => !b.querySelector("mjx-container"))
                          .map(b => b.textContent.trim().slice(0, 80));
  // Text outside code and typeset math that still carries TeX delimiters.
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const raw = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.parentElement.closest("pre, code, script, style, mjx-container, .highlight"))
      continue;
    if (/\\$\\$|\\\\\\[|\\\\\\(|\\\\begin\\{/.test(node.textContent))
      raw.push(node.textContent.trim().slice(0, 80));
  }
  return {
    untypeset: untypeset,
    raw: raw,
    errors: Array.from(document.querySelectorAll("mjx-merror, [data-mjx-error]"))
                 .map(e => e.getAttribute("data-mjx-error") || e.textContent.slice(0, 80)),
    display: document.querySelectorAll("div.math mjx-container[display='true']").length,
    inline: document.querySelectorAll("span.math mjx-container:not([display='true'])").length,
  };
}"""

_LOAD_IMAGES = """async () => {
  const images = Array.from(document.images);
  for (const image of images) image.loading = "eager";
  await Promise.all(images.map(image => image.decode().catch(() => null)));
  return images.map(image => ({src: image.currentSrc || image.src, complete: image.complete,
                               width: image.naturalWidth}));
}"""


# Images in the text (plots included) that are not in a <figure> with a "Fig. N" caption.
_UNCAPTIONED_FIGURES = """() => Array.from(document.querySelectorAll("article.bd-article img"))
  .filter(image => {
    const figure = image.closest("figure");
    return !(figure && figure.querySelector("figcaption .caption-number"));
  })
  .map(image => (image.currentSrc || image.src).slice(0, 120))"""


# Waits for book_site.js to fit the display equations to the column (it runs after MathJax).
_WAIT_FOR_FIT = """async () => {
  await document.fonts.ready;
  for (let i = 0; i < 100 && document.documentElement.dataset.equationsFitted !== "true"; i++)
    await new Promise(resolve => setTimeout(resolve, 50));
  // A late change of the column's width makes book_site.js fit again, 100 ms later.
  await new Promise(resolve => setTimeout(resolve, 400));
  return document.documentElement.dataset.equationsFitted === "true";
}"""

# What does not fit the text column: elements that stick out of it, code blocks and equations
# that are cut or scroll sideways. Hidden elements, and the parts of a typeset formula (the
# formula's box is checked as a whole), are skipped.
_LAYOUT = """() => {
  // The search page has no article: its results column is checked instead.
  const column = document.querySelector("article.bd-article") || document.querySelector(".bd-article-container");
  if (!column) return ["no article.bd-article on the page"];
  const box = column.getBoundingClientRect();
  const style = getComputedStyle(column);
  const left = box.left + parseFloat(style.paddingLeft) - 1;
  const right = box.right - parseFloat(style.paddingRight) + 1;
  const describe = el => el.tagName.toLowerCase() + (el.className && typeof el.className === "string"
      ? "." + el.className.trim().split(/\\s+/).join(".") : "") + " '" + el.textContent.trim().slice(0, 50) + "'";
  const problems = [];
  // Only the outermost element that sticks out is reported, not each of its descendants.
  const reported = new Set();
  for (const el of column.querySelectorAll("*")) {
    if (el.parentElement.closest("mjx-container")) continue;
    if (reported.has(el.parentElement)) { reported.add(el); continue; }
    const css = getComputedStyle(el);
    if (css.display === "none" || css.visibility === "hidden" || css.position === "fixed") continue;
    const rect = el.getBoundingClientRect();
    if (rect.width === 0 || rect.height === 0) continue;
    if (el.closest(".pst-scrollable-table-container") && el.tagName !== "DIV") continue;
    // A data table wider than a phone scrolls inside its own box, the usual way to show one; its
    // cells are not checked one by one. Text, code and equations must not.
    if (el.scrollWidth > el.clientWidth + 1 && css.overflowX !== "visible" && el.querySelector("table")
        && rect.right <= right && rect.left >= left) { reported.add(el); continue; }
    if (rect.right > right || rect.left < left
        || (el.matches("pre, div.math, mjx-container, .highlight, .cell_output, .output")
        && el.scrollWidth > el.clientWidth + 1)) reported.add(el);
    if (rect.right > right || rect.left < left) {
      const excess = Math.round(Math.max(rect.right - right, left - rect.left));
      problems.push(`wider than the column by ${excess} px: ${describe(el)}`);
    } else if (el.matches("pre, div.math, mjx-container, .highlight, .cell_output, .output")
             && el.scrollWidth > el.clientWidth + 1 && css.overflowX !== "visible")
      problems.push(`cut or scrolls sideways (${el.scrollWidth} px in ${el.clientWidth} px): ${describe(el)}`);
    else if (el.matches("mjx-container[display='true']") && el.scrollWidth > el.clientWidth + 1)
      problems.push(`equation wider than its box (${el.scrollWidth} px in ${el.clientWidth} px): ${describe(el)}`);
  }
  return problems;
}"""

# preload: false, because axe would fetch the stylesheets' @import targets itself, resolving
# "../basic.css" against the page instead of the stylesheet (a 404 the page never makes).
# Colour contrast, axe's costliest rule, is checked on one element per kind of text: an element's
# colours and the background behind it come from the CSS rules that match it and its ancestors, so two
# elements with the same tag, classes and inline style, in ancestors with the same tags, classes and
# inline styles, have the same contrast. The kind is that chain, up to <body>, plus the element's
# position among its siblings (the CSS may stripe table rows). A chapter's thousands of code tokens and
# paragraphs took most of axe's time; every kind of text on the page is still checked. (axe leaves
# one-character text undecided, so a longer element of the kind is preferred.) The samples are marked
# with an attribute, so that axe receives them as one selector.
_AXE = """async () => {
  const options = {resultTypes: ["violations"], preload: false};
  const describe = el => `${el.tagName}.${el.className}[${el.getAttribute("style") || ""}]`;
  const samples = new Map();
  for (const el of document.body.querySelectorAll("*")) {
    const text = Array.from(el.childNodes).filter(n => n.nodeType === Node.TEXT_NODE)
                      .map(n => n.textContent).join("").trim();
    if (!text) continue;
    let kind = `${describe(el)}:${Array.prototype.indexOf.call(el.parentElement.children, el) % 2}`;
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement)
      kind += ` in ${describe(up)}:${Array.prototype.indexOf.call(up.parentElement.children, up) % 2}`;
    const long = text.length > 1;
    if (!samples.has(kind) || (long && !samples.get(kind).long)) samples.set(kind, {el, long});
  }
  for (const {el} of samples.values()) el.setAttribute("data-contrast-sample", "");
  const contrast = {...options, runOnly: ["color-contrast"]};
  const violations = [
    ...(await axe.run(document, {...options, rules: {"color-contrast": {enabled: false}}})).violations,
  ];
  if (samples.size) violations.push(...(await axe.run({include: [["[data-contrast-sample]"]]}, contrast)).violations);
  return violations
    .filter(v => v.impact === "serious" || v.impact === "critical")
    .map(v => `${v.impact} ${v.id} (${v.help}) at ${v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(", ")}`
              + (v.nodes.length > 3 ? ` and ${v.nodes.length - 3} more` : ""));
}"""


@functools.cache
def _axe_script() -> str:
    try:
        return (importlib.resources.files("axe_playwright_python") / "axe.min.js").read_text(encoding="utf-8")
    except ModuleNotFoundError:
        _no_browser("the axe-playwright-python package (axe-core) is not installed (pip install -r requirements.txt)")


def _raw_tex(text: str) -> bool:
    return any(mark in text for mark in ("\\", "$", "{", "}"))


@functools.cache
def _anchors(page: str) -> frozenset[str]:
    return frozenset(parse_page(page).anchors)


def _broken_internal_links(hrefs: list[str], site_url: str) -> list[str]:
    broken = []
    for href in sorted(set(hrefs)):
        if not href.startswith(site_url):
            continue
        parts = urlsplit(href)
        relative = unquote(parts.path)[len(urlsplit(site_url).path) :]
        if relative == "" or relative.endswith("/"):
            relative += "index.html"
        target = HTML / relative
        if not target.is_file():
            broken.append(f"{href}: no such file in the build")
            continue
        if parts.fragment and target.suffix == ".html":
            page = redirect_target(relative) or relative
            if unquote(parts.fragment) not in _anchors(page):
                broken.append(f"{href}: no anchor #{parts.fragment} in {page}")
    return broken


def test_every_built_page_is_checked():
    assert PAGES, f"no pages in {HTML}: build the book first with {BUILD_COMMAND}"
    assert "book/intro.html" in PAGES


@pytest.mark.parametrize("page_path", PAGES)
def test_page_in_browser(page_path, page_report, site_url):
    page, report = page_report
    problems: list[str] = []
    page.goto(site_url + page_path, wait_until="load", timeout=30_000)

    # Math: every block typeset, none as an error, nothing raw left; counts match the source.
    source = parse_page(page_path)
    mathjax = page.evaluate(_WAIT_FOR_MATHJAX, MATHJAX_TIMEOUT_MS)
    math = page.evaluate(_MATH_STATE)
    if mathjax != "typeset":
        problems.append(mathjax)
    if math["untypeset"]:
        problems.append(f"{len(math['untypeset'])} math blocks not typeset, e.g. {math['untypeset'][:3]}")
    if math["errors"]:
        problems.append(f"MathJax errors: {math['errors'][:5]}")
    if math["raw"]:
        problems.append(f"raw TeX left in the text: {math['raw'][:3]}")
    if (math["display"], math["inline"]) != (source.display_math, source.inline_math):
        problems.append(
            f"typeset display/inline math {math['display']}/{math['inline']}, "
            f"source has {source.display_math}/{source.inline_math}"
        )

    images = page.evaluate(_LOAD_IMAGES)
    problems += [
        f"image did not load: {image['src']}" for image in images if not image["complete"] or image["width"] == 0
    ]
    problems += [f"figure without a numbered caption: {src}" for src in page.evaluate(_UNCAPTIONED_FIGURES)]

    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
    problems += _broken_internal_links(hrefs, site_url)

    title = page.title()
    if _raw_tex(title):
        problems.append(f"TeX in the window title: {title!r}")
    page.evaluate(_WAIT_FOR_FIT)
    problems += [f"at {LAPTOP['width']} px: {problem}" for problem in page.evaluate(_LAYOUT)]
    page.evaluate(_axe_script())
    problems += [f"accessibility: {violation}" for violation in page.evaluate(_AXE)]

    page.screenshot(path=str(_screenshot_path(page_path)), full_page=True)

    # A phone, 390 px: the text column is the screen, code wraps, wide equations are scaled to fit. The
    # same page, narrowed: the theme's layout is CSS media queries, book_site.js fits the equations
    # again on a resize, and MathJax's typesetting does not depend on the width (it breaks no lines),
    # so loading and typesetting the page a second time would check nothing more.
    page.evaluate("() => { delete document.documentElement.dataset.equationsFitted; }")
    page.set_viewport_size(PHONE)
    if not page.evaluate(_WAIT_FOR_FIT):
        problems.append(f"at {PHONE['width']} px: the equations were not fitted again after the resize")
    problems += [f"at {PHONE['width']} px: {problem}" for problem in page.evaluate(_LAYOUT)]
    page.screenshot(path=str(_phone_screenshot_path(page_path)), full_page=True)

    problems += [f"console error: {message}" for message in report["console"]]
    problems += [f"failed request: {failure}" for failure in report["failed"]]
    problems += [f"request to the network: {url}" for url in report["external"]]
    assert not problems, f"{page_path}:\n  " + "\n  ".join(problems)


# Text colours close to the background, in a code token of one class, in code output, in the links or
# in an element of a kind that occurs once on the page: the kind
# of regression a theme or a Pygments style change brings.
_FADED_CODE = {
    "a token class": ".highlight .mi { color: #e0e0e0 !important; }",
    "code output": "div.cell_output pre { color: #e8e8e8 !important; }",
    "the text's links": "article.bd-article p a.reference { color: #e4e4e4 !important; }",
    "the one emphasised phrase": "article.bd-article p em { color: #e8e8e8 !important; }",
}

# A short page with code, its output and display equations: where the checks are shown to have teeth.
TEETH_PAGE = "book/devices.html"
# What a phone would cut: code that no longer wraps, equations no longer scaled to fit the column.
_TOO_WIDE = {
    "code that does not wrap": "div.highlight pre { white-space: pre !important; overflow-x: hidden !important; }",
    "equations left at full size": "mjx-container { font-size: 200% !important; }",
}


def test_the_checks_catch_faded_code_and_what_a_phone_cuts(page_report, site_url):
    """On one page: the sampled contrast check of code blocks passes, then fails on a faded token class and
    on faded output; narrowed to a phone, the layout check passes, then fails on code that does not wrap
    and on equations left at full size."""
    page, _ = page_report
    page.goto(site_url + TEETH_PAGE, wait_until="load", timeout=30_000)
    assert page.evaluate(_WAIT_FOR_MATHJAX, MATHJAX_TIMEOUT_MS) == "typeset"
    page.evaluate(_axe_script())
    assert page.evaluate(_AXE) == []
    for what, style in _FADED_CODE.items():
        faded = page.add_style_tag(content=style)
        found = [violation for violation in page.evaluate(_AXE) if "color-contrast" in violation]
        faded.evaluate("element => element.remove()")
        assert found, f"faded {what} passed the contrast check"
    page.set_viewport_size(PHONE)
    assert page.evaluate(_WAIT_FOR_FIT)
    assert page.evaluate(_LAYOUT) == []
    for what, style in _TOO_WIDE.items():
        wide = page.add_style_tag(content=style)
        found = page.evaluate(_LAYOUT)
        wide.evaluate("element => element.remove()")
        assert found, f"{what} passed the layout check at {PHONE['width']} px"
