"""Keep the committed notebooks lean: only the chapter and its text outputs, the nbval baseline.

    python tools/notebooks.py [NOTEBOOK ...]      # default: every book/*.ipynb (make clean-notebooks)

A run of `jupyter execute --inplace` stores two things that are not the chapter:

- per-cell timestamps (cell metadata `execution`), which change on every run;
- image bytes: figures (image/png, ...) and the PNGs that myst-nb's glue stores under its own MIME
  key (application/papermill.record/image/png). Every build re-executes the notebooks and draws
  the figures again, so the book keeps them; nbval never compared their bytes (conftest.py).

Both are removed, so that the diff of a prose change shows only the prose. What a figure shows
is computed and asserted in its cell; its text form ("<Figure size 640x480 with 1 Axes>") stays
and nbval still compares it. tests/test_notebooks_metadata.py fails on a notebook left uncleaned.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

BOOK = Path(__file__).resolve().parent.parent / "book"
VOLATILE_CELL_METADATA = ("execution",)


def is_image(mime_type: str) -> bool:
    """Whether an output's MIME type holds image bytes, glue's prefixed types included."""
    return mime_type.removeprefix("application/papermill.record/").startswith("image/")


def clean(nb: nbformat.NotebookNode) -> bool:
    """Remove timestamps and image bytes from `nb` in place; return whether anything was removed."""
    changed = False
    for cell in nb.cells:
        for key in VOLATILE_CELL_METADATA:
            if key in cell.metadata:
                del cell.metadata[key]
                changed = True
        for output in cell.get("outputs", []):
            for mime_type in [m for m in output.get("data", {}) if is_image(m)]:
                del output.data[mime_type]
                output.get("metadata", {}).pop(mime_type, None)
                changed = True
    return changed


def clean_file(path: Path) -> bool:
    """Clean the notebook at `path`, rewriting it only if something was removed."""
    nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    if not clean(nb):
        return False
    nbformat.write(nb, path)
    return True


def main(arguments: list[str]) -> int:
    if any(argument.startswith("-") for argument in arguments):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    for path in [Path(argument) for argument in arguments] or sorted(BOOK.glob("*.ipynb")):
        if clean_file(path):
            print(f"cleaned {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
