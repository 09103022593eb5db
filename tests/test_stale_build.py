"""A build after an edit to the library re-executes the notebooks: the page shows the new output.

Sphinx re-reads only the sources that changed; _ext/book_site.py makes it re-read every notebook
when the library's files or the installed packages differ from the last successful build. The
test builds a one-page book that uses the same extension and configuration keys, in a temporary
directory, with a stand-in `softmax_lib` package, edits that package, and builds again.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CONFIG = """\
title: "Stale-build check"
only_build_toc_files: true
execute:
  execute_notebooks: force
  raise_on_error: true
sphinx:
  local_extensions:
    book_site: _ext
"""

NOTEBOOK = {
    "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["# A page"]},
        {
            "cell_type": "code",
            "execution_count": None,
            "metadata": {},
            "outputs": [],
            "source": ["import softmax_lib\n", "print('library value', softmax_lib.VALUE)"],
        },
    ],
    "metadata": {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    },
    "nbformat": 4,
    "nbformat_minor": 5,
}


def _build(book: Path) -> str:
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    # Only the temporary book on the path, so the kernel imports its stand-in softmax_lib.
    env = {**os.environ, "PYTHONPATH": str(book)}
    result = subprocess.run(
        [str(jupyter_book), "build", str(book), "-W", "-n"], env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def _page(book: Path) -> str:
    return (book / "_build" / "html" / "page.html").read_text(encoding="utf-8")


def test_editing_the_library_changes_the_built_page(tmp_path):
    book = tmp_path / "book"
    shutil.copytree(ROOT / "_ext", book / "_ext", ignore=shutil.ignore_patterns("__pycache__"))
    (book / "_config.yml").write_text(CONFIG)
    (book / "_toc.yml").write_text("format: jb-book\nroot: page\n")
    (book / "page.ipynb").write_text(json.dumps(NOTEBOOK))
    library = book / "softmax_lib"
    library.mkdir()
    (library / "__init__.py").write_text("VALUE = 1\n")

    _build(book)
    assert "library value 1" in _page(book)

    # Only the library changes: Sphinx alone would see no outdated source.
    (library / "__init__.py").write_text("VALUE = 2\n")
    log = _build(book)
    assert "library value 2" in _page(book), log[-2000:]
    assert "library value 1" not in _page(book)

    # Nothing changed since a successful build: nothing is re-executed.
    log = _build(book)
    assert "0 added, 0 changed, 0 removed" in log, log[-2000:]


def test_the_book_cache_follows_the_library(tmp_path):
    """`make book` reads the chapters' outputs from a cache named after the library and the packages
    (tools/book_config.py): an edit to the library gives another, empty cache, so the next build
    executes every chapter again; the same library gives the same cache back."""
    sys.path.insert(0, str(ROOT))
    try:
        from tools.book_config import book_cache
    finally:
        sys.path.pop(0)
    shutil.copytree(ROOT / "_ext", tmp_path / "_ext", ignore=shutil.ignore_patterns("__pycache__"))
    library = tmp_path / "softmax_lib"
    library.mkdir()
    (library / "__init__.py").write_text("VALUE = 1\n")
    first = book_cache(tmp_path)
    assert first.parent == tmp_path / "_build" / ".jupyter_cache"
    assert book_cache(tmp_path) == first
    (library / "__init__.py").write_text("VALUE = 2\n")
    assert book_cache(tmp_path) != first
    (library / "__init__.py").write_text("VALUE = 1\n")
    assert book_cache(tmp_path) == first
