"""tools/regression.py (make regression): reading nbval's JUnit report into changed cells by chapter.

The report below is what `pytest book -vv --junitxml=...` writes (nbval 0.11, pytest 9) when a
stored digit differs from the new output, trimmed to what the parser reads.
"""

import json

from tools.regression import ROOT, ChangedCell, by_chapter, changed_cells, classify, first_line, report

DIGIT_CHANGED = """#x1B[91mNotebook cell execution failed#x1B[0m
#x1B[94mCell 4: Cell outputs differ
 mismatch 'stdout'
 assert reference_output == test_output failed:

  - cross_entropy vs torch (index target, mean): passed (tolerance 5.3e-14)
  ?                                                                  ^
  + cross_entropy vs torch (index target, mean): passed (tolerance 5.4e-14)
  ?                                                                  ^
    cross_entropy_grad vs torch autograd (index target, mean): passed (tolerance 8.9e-15)
"""
WORDING_CHANGED = """Notebook cell execution failed
Cell 2: Cell outputs differ
  - max error 1.2e-16 (tolerance 4.4e-16)
  + max error 1.2e-16, tolerance 4.4e-16
"""
RAISED = """Notebook cell execution failed
Cell 0: Error in cell
Traceback (most recent call last):
ModuleNotFoundError: No module named 'softmax_lib'
"""


def _case(classname, name, failure=None):
    if failure is None:
        return f'<testcase classname="{classname}" name="{name}" time="0.1" />'
    escaped = failure.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return (
        f'<testcase classname="{classname}" name="{name}" time="0.1">'
        f'<failure message="Notebook cell execution failed">{escaped}</failure></testcase>'
    )


JUNIT = (
    '<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">'
    + _case("book.jacobian.ipynb", "Cell 0")
    + _case("book.jacobian.ipynb", "Cell 4", DIGIT_CHANGED)
    + _case("book.numerics.ipynb", "Cell 3", RAISED)
    + _case("book.jacobian.ipynb", "Cell 2", WORDING_CHANGED)
    + _case("tests.test_softmax_lib", "test_softmax", "AssertionError")
    + "</testsuite></testsuites>"
)


def test_failed_cells_are_read_and_grouped_by_chapter_in_cell_order():
    cells = changed_cells(JUNIT)
    assert by_chapter(cells) == {
        "jacobian.ipynb": [
            ChangedCell("jacobian.ipynb", 2, "text changed"),
            ChangedCell("jacobian.ipynb", 4, "numbers changed"),
        ],
        "numerics.ipynb": [ChangedCell("numerics.ipynb", 3, "raised an error")],
    }


def test_a_changed_digit_is_a_numerical_change_and_reworded_output_is_not():
    assert classify(DIGIT_CHANGED) == "numbers changed"
    assert classify(WORDING_CHANGED) == "text changed"
    assert classify(RAISED) == "raised an error"


def test_cell_numbers_count_code_cells_from_zero():
    notebook = json.loads((ROOT / "book" / "jacobian.ipynb").read_text())
    code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    assert first_line("jacobian.ipynb", 1) == "".join(code[1]["source"]).strip().splitlines()[0]


def test_report_names_each_chapter_once_with_its_cells():
    text = report(changed_cells(JUNIT))
    assert text.startswith("3 cell(s) changed in 2 chapter(s):")
    assert text.count("book/jacobian.ipynb") == 1
    assert "Cell 4 (code cell 5): numbers changed" in text
    assert report([]).startswith("No cell's output changed")
