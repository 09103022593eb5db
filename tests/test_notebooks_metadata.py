"""Every notebook in book/ is clean enough to open anywhere and honest about its stored outputs.

JupyterLab, VS Code and Colab open a notebook without asking for a kernel when its kernelspec
names `python3` and its language_info names Python. Beyond that, a notebook's metadata carries
only what the book uses: no saved widget state (which would make myst-nb load widget JavaScript
from a CDN), no per-cell execution timestamps, which change on every run and make diffs noisy, and
no image bytes: every build draws the figures again.

Stored outputs are the nbval baseline, so they must come from one clean top-to-bottom run: every
code cell executed in order, and an error stored only where a cell is tagged `raises-exception`.

After `jupyter execute --inplace book/X.ipynb`, strip the timestamps and images it stores with

    python tools/notebooks.py book/X.ipynb        (or `make clean-notebooks` for every chapter)
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from tools.notebooks import clean, is_image

BOOK = Path(__file__).resolve().parent.parent / "book"
NOTEBOOKS = sorted(BOOK.glob("*.ipynb"))

ALLOWED_NOTEBOOK_METADATA = {"kernelspec", "language_info", "mystnb"}
ALLOWED_CELL_METADATA = {"tags", "mystnb"}


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=nbformat.NO_CONVERT)


def test_book_has_notebooks():
    assert NOTEBOOKS, f"no notebooks found in {BOOK}"


@pytest.fixture(params=NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])
def notebook(request) -> tuple[str, nbformat.NotebookNode]:
    return request.param.name, _read(request.param)


def test_valid_nbformat_4(notebook):
    name, nb = notebook
    assert nb.nbformat == 4, f"{name}: nbformat {nb.nbformat}, expected 4"
    nbformat.validate(nb)


def test_kernelspec_and_language(notebook):
    name, nb = notebook
    kernelspec = nb.metadata.get("kernelspec", {})
    assert kernelspec.get("name") == "python3", f"{name}: kernelspec {kernelspec!r}"
    assert kernelspec.get("language") == "python", f"{name}: kernelspec {kernelspec!r}"
    assert kernelspec.get("display_name"), f"{name}: kernelspec has no display_name"
    language_info = nb.metadata.get("language_info", {})
    assert language_info.get("name") == "python", f"{name}: language_info {language_info!r}"


def test_no_stray_notebook_metadata(notebook):
    name, nb = notebook
    stray = set(nb.metadata) - ALLOWED_NOTEBOOK_METADATA
    assert not stray, f"{name}: unexpected notebook metadata {sorted(stray)}"


def test_no_stray_cell_metadata(notebook):
    name, nb = notebook
    for index, cell in enumerate(nb.cells):
        stray = set(cell.metadata) - ALLOWED_CELL_METADATA
        assert not stray, (
            f"{name} cell {index}: unexpected cell metadata {sorted(stray)}; "
            f"run `python tools/notebooks.py book/{name}`"
        )


def test_every_code_cell_executed_in_order(notebook):
    name, nb = notebook
    code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
    counts = [cell.execution_count for cell in code_cells]
    # One fresh kernel, top to bottom: 1, 2, 3, ...
    assert counts == list(range(1, len(code_cells) + 1)), (
        f"{name}: execution counts {counts}; re-execute with `jupyter execute --inplace`"
    )
    assert any(cell.outputs for cell in code_cells) or not code_cells, f"{name}: no stored outputs"


def test_errors_only_where_expected(notebook):
    name, nb = notebook
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        expects_error = "raises-exception" in cell.metadata.get("tags", [])
        has_error = any(output.output_type == "error" for output in cell.outputs)
        assert has_error == expects_error, f"{name} cell {index}: " + (
            "stored error in a cell not tagged raises-exception"
            if has_error
            else "tagged raises-exception but no error is stored"
        )


def test_no_stored_warnings(notebook):
    name, nb = notebook
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.output_type == "stream" and output.name == "stderr":
                assert "Warning" not in output.text, (
                    f"{name} cell {index}: a warning is stored in the output; fix its cause"
                )


def test_no_image_bytes(notebook):
    name, nb = notebook
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            images = [mime_type for mime_type in output.get("data", {}) if is_image(mime_type)]
            assert not images, (
                f"{name} cell {index}: stored image {images}; run `python tools/notebooks.py book/{name}`"
            )


def test_clean_keeps_text_and_drops_timestamps_and_images():
    figure = {"image/png": "iVBORw0KGgo=", "text/plain": "<Figure size 640x480 with 1 Axes>"}
    glued = {
        "application/papermill.record/image/png": "iVBORw0KGgo=",
        "application/papermill.record/text/plain": "<Figure size 640x480 with 1 Axes>",
    }
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "plot()",
                metadata={"tags": ["x"], "execution": {"iopub.status.busy": "2026-11-21T00:00:00"}},
                outputs=[
                    nbformat.v4.new_output("display_data", data=figure, metadata={"image/png": {"width": 600}}),
                    nbformat.v4.new_output("display_data", data=glued),
                    nbformat.v4.new_output("stream", name="stdout", text="0.117310\n"),
                ],
            )
        ]
    )
    assert clean(nb)
    cell = nb.cells[0]
    assert cell.metadata == {"tags": ["x"]}
    assert [dict(output.get("data", {})) for output in cell.outputs] == [
        {"text/plain": figure["text/plain"]},
        {"application/papermill.record/text/plain": glued["application/papermill.record/text/plain"]},
        {},
    ]
    assert cell.outputs[0].metadata == {} and cell.outputs[2].text == "0.117310\n"
    assert not clean(nb)
