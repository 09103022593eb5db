"""Print the whole book as one PDF: Sphinx's single-page HTML, typeset by MathJax, printed by
headless Chromium (the browser the browser test uses; Playwright never downloads one).

    python _ext/build_pdf.py [--optional] [--config FILE]     (make pdf; make book: --optional)

Builds _build/singlehtml (reusing the HTML build's executed notebooks when nothing changed),
serves it on 127.0.0.1, waits for MathJax and every image, and prints it to _build/pdf/book.pdf,
with a copy at _build/html/book.pdf, which the home page links to. Equation numbers, figure numbers
and internal links (the table of contents, equation and chapter references) are the HTML's, kept
as links inside the PDF. Set CHROMIUM=/path to use another Chromium or Chrome. With --optional, a
machine without Chromium gets a message instead of an error (outside CI), and no PDF. --config
passes a Jupyter Book configuration to the single-page build: `make test` gives it the one that
reads the notebooks nbval has just executed, so that no chapter is executed a second time.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SINGLE = ROOT / "_build" / "singlehtml"
PDF = ROOT / "_build" / "pdf" / "book.pdf"
SITE_COPY = ROOT / "_build" / "html" / "book.pdf"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# A4 at 96 px per inch, less the margins: the width the equations are fitted to before printing.
PRINT_WIDTH_PX = 700

_READY = """async () => {
  const startup = window.MathJax && window.MathJax.startup;
  if (!startup || !startup.promise) return "MathJax did not load";
  await startup.promise;
  const images = Array.from(document.images);
  for (const image of images) image.loading = "eager";
  await Promise.all(images.map(image => image.decode().catch(() => null)));
  // Folded content (toggles, details) is printed open.
  document.querySelectorAll("details").forEach(d => d.open = true);
  for (let i = 0; i < 50 && document.documentElement.dataset.equationsFitted !== "true"; i++)
    await new Promise(resolve => setTimeout(resolve, 100));
  return "ready";
}"""

# Print layout: the text only, full width; no navigation, buttons or search.
PRINT_CSS = """
@page { size: A4; margin: 18mm 15mm; }
.bd-header, .bd-sidebar-primary, .bd-sidebar-secondary, .bd-header-article, .bd-footer,
.bd-footer-article, .prev-next-area, .header-article-items, .search-button, #pst-back-to-top,
.skip-link, .bd-footer-content { display: none !important; }
.bd-main .bd-content .bd-article-container { max-width: 100% !important; }
.bd-container__inner, .bd-page-width { max-width: 100% !important; }
a { color: inherit; }
"""


def find_chromium() -> str | None:
    candidates = (
        [os.environ["CHROMIUM"]]
        if os.environ.get("CHROMIUM")
        else [
            "/usr/bin/chromium",
            shutil.which("chromium"),
            shutil.which("chromium-browser"),
            shutil.which("google-chrome"),
        ]
    )
    return next((c for c in candidates if c and Path(c).is_file()), None)


def build_single_html(config: str | None = None) -> Path:
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    options = ["--config", config] if config else []
    subprocess.run(
        [str(jupyter_book), "build", str(ROOT), "--builder", "singlehtml", "-n", "--keep-going", *options], check=True
    )
    # Jupyter Book writes index.html as a redirect to the root document, book/intro.html, which
    # holds the whole book but links its assets as if it lay at the top (_static/, _images/).
    page = SINGLE / "book" / "intro.html"
    if not page.is_file():
        raise SystemExit(f"error: the single-page build wrote no {page}")
    shutil.copyfile(page, SINGLE / "book.html")
    return SINGLE / "book.html"


def print_pdf(chromium: str) -> None:
    from playwright.sync_api import sync_playwright

    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(SINGLE)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": PRINT_WIDTH_PX, "height": 1000})
            page.route(
                "**/*",
                lambda route: (
                    route.continue_() if route.request.url.startswith(("http://127.0.0.1", "data:")) else route.abort()
                ),
            )
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/book.html", wait_until="load", timeout=120_000)
            page.add_style_tag(content=PRINT_CSS)
            state = page.evaluate(_READY)
            if state != "ready":
                raise SystemExit(f"error: {state}")
            PDF.parent.mkdir(parents=True, exist_ok=True)
            page.pdf(
                path=str(PDF),
                format="A4",
                print_background=True,
                outline=True,
                tagged=True,
                display_header_footer=True,
                header_template="<span></span>",
                footer_template='<div style="font-size:8px;width:100%;text-align:center">'
                '<span class="pageNumber"></span> / <span class="totalPages"></span></div>',
                margin={"top": "18mm", "bottom": "18mm", "left": "15mm", "right": "15mm"},
            )
            browser.close()
    finally:
        server.shutdown()
        server.server_close()


def main(argv: list[str]) -> int:
    chromium = find_chromium()
    if chromium is None:
        in_ci = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
        optional = "--optional" in argv and not in_ci
        print(
            f"{'note' if optional else 'error'}: no Chromium found, so no PDF of the book "
            "(apt-get install chromium, or set CHROMIUM=...)",
            file=sys.stderr,
        )
        return 0 if optional else 1
    build_single_html(argv[argv.index("--config") + 1] if "--config" in argv else None)
    print_pdf(chromium)
    if SITE_COPY.parent.is_dir():
        shutil.copyfile(PDF, SITE_COPY)
    print(f"wrote {PDF} ({PDF.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
