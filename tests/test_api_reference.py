"""The API reference page (book/api_reference.ipynb) covers the whole public API.

Its examples run under nbval like every chapter; this checks that every public function has one
and that the page documents the module from its docstrings.
"""

import importlib
import inspect
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


# The modules whose public functions the book and its readers call: each documents its parameters,
# its result and a runnable example (numpydoc sections; the examples run as doctests).
DOCUMENTED_MODULES = (
    "softmax_lib",
    "softmax_lib.checks",
    "softmax_lib.distributed",
    "softmax_lib.symbolic",
    "softmax_lib.audit",
    "softmax_lib.formatting",
    "softmax_lib.reference",
)


def _missing_sections(obj) -> list[str]:
    doc = inspect.getdoc(obj) or ""
    wanted = ["Examples"] + (["Returns"] if inspect.isfunction(obj) else [])
    if inspect.isclass(obj):
        # A NamedTuple's or a dataclass's fields are its parameters; a plain class takes its __init__'s.
        takes = bool(getattr(obj, "_fields", None) or getattr(obj, "__dataclass_fields__", None))
        takes = takes or ("__init__" in vars(obj) and len(inspect.signature(obj.__init__).parameters) > 1)
    else:
        takes = any(name not in ("self", "cls") for name in inspect.signature(obj).parameters)
    wanted += ["Parameters"] if takes else []
    return [section for section in wanted if not re.search(rf"^{section}\n-+$", doc, flags=re.MULTILINE)]


def _public_items(module_name):
    """(label, function or class) for each public function and class of the module, and their public methods."""
    module = importlib.import_module(module_name)
    for name in module.__all__:
        obj = getattr(module, name)
        if not (inspect.isfunction(obj) or inspect.isclass(obj)) or not obj.__module__.startswith("softmax_lib"):
            continue
        yield f"{module_name}.{name}", obj
        if inspect.isclass(obj):
            for cls in obj.__mro__:
                if cls.__module__.startswith("softmax_lib"):
                    for method, function in vars(cls).items():
                        if inspect.isfunction(function) and not method.startswith("_"):
                            yield f"{module_name}.{name}.{method}", function


def test_every_public_function_has_parameters_returns_and_examples():
    missing = {
        label: gaps for m in DOCUMENTED_MODULES for label, obj in _public_items(m) if (gaps := _missing_sections(obj))
    }
    assert not missing, f"numpydoc sections missing: {missing}"
