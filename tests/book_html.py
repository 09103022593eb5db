"""What the site tests share: where the built book is, which pages it has, what their HTML holds.

The HTML is parsed from disk with the standard library, so the counts the browser test compares
against (math blocks, anchors) come from the files Sphinx wrote, not from the page's own scripts.
"""

from __future__ import annotations

import os
import re
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

BUILD_COMMAND = "make book  (or: jupyter-book build . -W -n --keep-going)"
_REDIRECT = re.compile(r'^\s*<meta http-equiv="Refresh" content="0; url=([^"]+)"\s*/?>\s*$', re.I)


def toc_documents() -> list[str]:
    """Every document named in _toc.yml, as a path without suffix (e.g. 'book/jacobian')."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    found: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            for key in ("root", "file"):
                if key in node:
                    found.append(str(node[key]))
            for value in node.values():
                if isinstance(value, (list, dict)):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    return [re.sub(r"\.(ipynb|md)$", "", name) for name in found]


def source_of(document: str) -> Path:
    for suffix in (".ipynb", ".md"):
        path = ROOT / f"{document}{suffix}"
        if path.exists():
            return path
    raise FileNotFoundError(f"no source for {document!r} named in _toc.yml")


def html_pages() -> list[str]:
    """Every HTML page of the built book, relative to _build/html, with the redirect stubs left out."""
    if not HTML.is_dir():
        return []
    pages = []
    for path in sorted(HTML.rglob("*.html")):
        relative = path.relative_to(HTML).as_posix()
        if relative.startswith(("_static/", "_sources/", "_images/")):
            continue
        if redirect_target(relative) is None:
            pages.append(relative)
    return pages


def redirect_target(page: str) -> str | None:
    """The URL a meta-refresh stub (Jupyter Book's index.html) sends the reader to, else None."""
    match = _REDIRECT.match((HTML / page).read_text(encoding="utf-8"))
    return match.group(1) if match else None


class _PageParser(HTMLParser):
    """Collects the ids and names a fragment can point at, and the math blocks MathJax must typeset."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.anchors: set[str] = set()
        self.display_math = 0
        self.inline_math = 0
        # Tags that fetch something when the page is shown: (tag, attribute, value).
        self.resources: list[tuple[str, str, str]] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for key in ("id", "name"):
            if attributes.get(key) and (key == "id" or tag == "a"):
                self.anchors.add(attributes[key])
        classes = (attributes.get("class") or "").split()
        if "math" in classes:
            if tag == "div":
                self.display_math += 1
            elif tag == "span":
                self.inline_math += 1
        for attribute in _LOADING_ATTRIBUTES.get(tag, ()):
            value = attributes.get(attribute)
            if not value:
                continue
            if tag == "link" and not _link_loads(attributes):
                continue
            values = [part.strip().split()[0] for part in value.split(",")] if attribute == "srcset" else [value]
            self.resources.extend((tag, attribute, v) for v in values if v)
        style = attributes.get("style") or ""
        self.resources.extend(("style", "url()", url) for url in css_urls(style))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.resources.extend(("style", "url()", url) for url in css_urls(data))


# Attributes whose URL the browser fetches while rendering (ordinary <a href> is not among them).
_LOADING_ATTRIBUTES = {
    "script": ("src",),
    "link": ("href",),
    "img": ("src", "srcset"),
    "source": ("src", "srcset"),
    "iframe": ("src",),
    "frame": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "video": ("src", "poster"),
    "audio": ("src",),
    "track": ("src",),
    "input": ("src",),
}
# <link rel=...> values that make the browser fetch the target (not e.g. rel="next" or "canonical").
_FETCHING_RELS = {
    "stylesheet",
    "preload",
    "modulepreload",
    "prefetch",
    "icon",
    "shortcut",
    "apple-touch-icon",
    "manifest",
    "preconnect",
    "dns-prefetch",
    "mask-icon",
}


def _link_loads(attributes: dict) -> bool:
    return bool(set((attributes.get("rel") or "").lower().split()) & _FETCHING_RELS)


def css_urls(css: str) -> list[str]:
    """URLs a stylesheet fetches: url(...) values and @import targets."""
    urls = [m.group(2) for m in re.finditer(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)""", css)]
    urls += [m.group(2) for m in re.finditer(r"""@import\s+(['"])([^'"]+)\1""", css)]
    return urls


def is_external(url: str) -> bool:
    """True for a URL that leaves the site: a scheme with a host, or a protocol-relative '//host'."""
    return bool(re.match(r"^([a-z][a-z0-9+.-]*:)?//", url.strip(), re.I))


@cache
def parse_page(page: str) -> _PageParser:
    parser = _PageParser()
    parser.feed((HTML / page).read_text(encoding="utf-8"))
    parser.close()
    return parser
