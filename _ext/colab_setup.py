"""Give every chapter the setup cell that makes it run on Colab (or any fresh Jupyter).

    python _ext/colab_setup.py [book/CHAPTER.ipynb ...]      (default: every book/*.ipynb)

The cell goes before the chapter's first code cell, tagged remove-cell (the web page and the PDF
leave it out) and installs what the chapters import and Colab lacks, only where softmax_lib or
MyST-NB is missing: here, under nbval and in the book's build, it does nothing and prints
nothing. Inserting it does not re-execute the notebook: the later cells' execution counts move up
by one, their outputs stay as stored. Running the script again leaves a notebook as it is.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The line the home page gives (tests/test_colab.py checks that the two agree).
INSTALL = '%pip install -q myst-nb==1.4.0 "softmax_lib @ git+https://github.com/softmax-derived/softmax-book"'
SOURCE = f"""# On Colab (or any Jupyter without this book's packages): install what this chapter imports.
import importlib.util

if importlib.util.find_spec("softmax_lib") is None or importlib.util.find_spec("myst_nb") is None:
    {INSTALL}"""
TAG = "remove-cell"


def setup_cell(cell_id: str) -> dict:
    return {
        "cell_type": "code",
        "execution_count": 1,
        "id": cell_id,
        "metadata": {"tags": [TAG]},
        "outputs": [],
        "source": SOURCE.splitlines(keepends=True),
    }


def is_setup_cell(cell: dict) -> bool:
    return cell["cell_type"] == "code" and "".join(cell["source"]).startswith(SOURCE.splitlines()[0])


def add_setup_cell(path: Path) -> bool:
    """Insert (or update) the setup cell; True if the file changed."""
    text = path.read_text(encoding="utf-8")
    notebook = json.loads(text)
    cells = notebook["cells"]
    existing = [cell for cell in cells if is_setup_cell(cell)]
    if existing:
        existing[0]["source"] = SOURCE.splitlines(keepends=True)
    else:
        first_code = next(i for i, cell in enumerate(cells) if cell["cell_type"] == "code")
        for cell in cells[first_code:]:
            if cell["cell_type"] == "code" and cell.get("execution_count") is not None:
                cell["execution_count"] += 1
                for output in cell.get("outputs", []):
                    if output.get("execution_count") is not None:
                        output["execution_count"] += 1
        cells.insert(first_code, setup_cell(f"colab-setup-{path.stem}"[:64]))
    new = json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or sorted((ROOT / "book").glob("*.ipynb"))
    for path in paths:
        if add_setup_cell(path):
            print(f"setup cell: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
