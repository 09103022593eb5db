"""Run the book's notebooks against the packages installed for this interpreter; list what moved.

    python3 tools/regression.py [book/CHAPTER.ipynb ...]     (or: make regression)

The chapters' stored outputs were produced by the pinned stack (requirements.txt). Run with
an interpreter that has other versions of NumPy, SymPy, SciPy or torch installed (plus pytest
and nbval), this re-executes every notebook with nbval, the way `pytest` does in the project's
venv, and prints the cells whose output changed, grouped by chapter: for each, the first line of
the cell, and whether only numbers changed or the text around them did too. It exits with
pytest's status (0: no result of the book moved).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "_build" / "regression.xml"
PACKAGES = ("numpy", "scipy", "sympy", "torch", "mpmath", "matplotlib", "array-api-compat", "nbval")
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
_ANSI = re.compile(r"\x1b\[[0-9;]*m|#x1B\[[0-9;]*m")


@dataclass
class ChangedCell:
    chapter: str  # notebook file name, e.g. 'jacobian.ipynb'
    cell: int  # nbval's "Cell N": N counts code cells only, from 0
    kind: str  # 'numbers changed', 'text changed', 'raised an error' or 'failed'


def classify(message: str) -> str:
    """What kind of change an nbval failure report shows.

    nbval's diff (pytest's) marks the new output with '- ' and the stored one with '+ '. When the
    two sides are equal once every number is replaced by a placeholder, only numbers changed.
    """
    text = _ANSI.sub("", message)
    if "Cell outputs differ" not in text:
        return "raised an error" if "Traceback" in text or "Error" in text else "failed"
    # pytest indents its diff by two spaces; context lines by four.
    marked = [re.match(r"^ {0,2}([-+]) (.*)$", line) for line in text.splitlines()]
    new = [m.group(2) for m in marked if m and m.group(1) == "-"]
    stored = [m.group(2) for m in marked if m and m.group(1) == "+"]
    if not new and not stored:
        return "text changed"
    same_shape = [_NUMBER.sub("#", line) for line in new] == [_NUMBER.sub("#", line) for line in stored]
    return "numbers changed" if same_shape else "text changed"


def changed_cells(junit_xml: str) -> list[ChangedCell]:
    """The failed notebook cells of a pytest JUnit report (other test cases are ignored)."""
    changed = []
    for case in ET.fromstring(junit_xml).iter("testcase"):
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        name, classname = case.get("name", ""), case.get("classname", "")
        match = re.fullmatch(r"Cell (\d+)", name)
        if problem is None or match is None or not classname.endswith(".ipynb"):
            continue
        # pytest writes book/jacobian.ipynb as the class name 'book.jacobian.ipynb'.
        chapter = classname.removesuffix(".ipynb").rsplit(".", 1)[-1] + ".ipynb"
        message = (problem.get("message") or "") + "\n" + (problem.text or "")
        changed.append(ChangedCell(chapter, int(match.group(1)), classify(message)))
    return changed


def by_chapter(cells: list[ChangedCell]) -> dict[str, list[ChangedCell]]:
    grouped: dict[str, list[ChangedCell]] = {}
    for cell in sorted(cells, key=lambda c: (c.chapter, c.cell)):
        grouped.setdefault(cell.chapter, []).append(cell)
    return grouped


def first_line(chapter: str, cell: int) -> str:
    """The first source line of code cell `cell` (counted as nbval does) of book/`chapter`."""
    try:
        notebook = json.loads((ROOT / "book" / chapter).read_text(encoding="utf-8"))
        code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
        source = "".join(code[cell]["source"]).strip().splitlines()
        return source[0] if source else ""
    except (OSError, IndexError, KeyError, ValueError):
        return ""


def report(cells: list[ChangedCell]) -> str:
    if not cells:
        return "No cell's output changed: every result of the book is reproduced."
    lines = [f"{len(cells)} cell(s) changed in {len(by_chapter(cells))} chapter(s):"]
    for chapter, chapter_cells in by_chapter(cells).items():
        lines.append(f"\nbook/{chapter}")
        for cell in chapter_cells:
            lines.append(
                f"  Cell {cell.cell} (code cell {cell.cell + 1}): {cell.kind:16}  {first_line(chapter, cell.cell)[:70]}"
            )
    lines.append("\nFull diffs: python3 -m pytest book/CHAPTER.ipynb -vv (README: reading an nbval failure).")
    return "\n".join(lines)


def _versions() -> str:
    found = []
    for name in PACKAGES:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{name} (not installed)")
    return ", ".join(found)


def main(argv: list[str]) -> int:
    for module in ("pytest", "nbval", "ipykernel"):
        try:
            __import__(module)
        except ImportError:
            print(
                f"error: {sys.executable} has no {module}; install it (pip install pytest nbval ipykernel)",
                file=sys.stderr,
            )
            return 2
    print(f"Python {sys.version.split()[0]} ({sys.executable}): {_versions()}", flush=True)
    REPORT.parent.mkdir(exist_ok=True)
    # softmax_lib from this checkout, whatever else is installed.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    # -vv: the report holds each cell's full diff, from which classify() tells numbers from text.
    command = [
        sys.executable,
        "-m",
        "pytest",
        *(argv or ["book"]),
        "-vv",
        "-p",
        "no:xdist",
        "--tb=no",
        "--no-header",
        f"--junitxml={REPORT}",
    ]
    status = subprocess.run(command, cwd=ROOT, env=env).returncode
    if not REPORT.is_file():
        return status or 2
    print("\n" + report(changed_cells(REPORT.read_text(encoding="utf-8"))))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
