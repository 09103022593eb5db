"""The API reference page (book/api_reference.ipynb) covers the whole public API.

Its examples run under nbval like every chapter; this checks that every public function has one
and that the page documents the module from its docstrings.
"""

import json
import re
from pathlib import Path

import softmax_lib

PAGE = Path(__file__).resolve().parent.parent / "book" / "api_reference.ipynb"


def _cells(kind):
    notebook = json.loads(PAGE.read_text(encoding="utf-8"))
    return ["".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == kind]


def test_every_public_function_has_an_example_on_the_reference_page():
    examples = "\n".join(_cells("code"))
    missing = [name for name in softmax_lib.__all__ if not re.search(rf"softmax_lib\.{re.escape(name)}\(", examples)]
    assert not missing, f"add an example of each to {PAGE.name}: {missing}"


def test_the_reference_page_documents_the_module_from_its_docstrings():
    text = "\n".join(_cells("markdown"))
    assert ".. automodule:: softmax_lib" in text and ":members:" in text
    assert all(softmax_lib.__dict__[name].__doc__ for name in softmax_lib.__all__)
