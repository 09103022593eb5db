"""Every chapter runs as Colab meets it: a fresh environment with Colab's usual packages, the
chapter's own setup cell (_ext/colab_setup.py puts it before the first code cell; it installs
softmax_lib and MyST-NB only where they are missing), and the notebook alone (no checkout of the
repository beside it).

Slow (it installs torch and the scientific stack into a new virtualenv: about 1 GB and several
minutes), so it runs with `pytest -m slow` / `make test`, not in the fast suite.

The setup cells run as they stand, with only the repository URL replaced by a copy of this
checkout; the home page gives the same line. The "Colab base" packages are those Colab
preinstalls that the chapters import (its versions differ; here they are the pins of
requirements.txt, torch the CPU build). The first chapter runs in a new kernel, as Colab starts one;
the others in kernels forked from a process of that environment that has imported those packages
(tools/warm_kernels.py, as `make book` runs the chapters), which give the same outputs.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "_ext"))
import colab_setup  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
REPOSITORY_URL = "git+https://github.com/softmax-derived/softmax-book"
COLAB_BASE = (
    "numpy",
    "scipy",
    "matplotlib",
    "sympy",
    "mpmath",
    "scikit-learn",
    "threadpoolctl",
    "ipykernel",
    "ipython",
    "nbclient",
    "nbformat",
)

EXECUTE = """
import os, sys, nbformat
from nbclient import NotebookClient
notebook = nbformat.read(sys.argv[1], as_version=4)
# raises-exception cells may raise; any other error fails the run.
NotebookClient(notebook, timeout=600, kernel_name="python3",
               resources={"metadata": {"path": os.path.dirname(sys.argv[1])}}).execute()
"""


def setup_line() -> str:
    """The %pip line of the home page that installs what every chapter imports."""
    intro = json.loads((ROOT / "book" / "intro.ipynb").read_text(encoding="utf-8"))
    text = "\n".join("".join(cell["source"]) for cell in intro["cells"])
    match = re.search(r"`%pip install ([^`]+)`", text)
    assert match, "book/intro.ipynb gives no `%pip install ...` line for Colab"
    return match.group(1)


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)", line.strip())
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


def test_the_setup_line_installs_the_library_and_what_the_chapters_import():
    line = setup_line()
    assert REPOSITORY_URL in line and "myst-nb" in line
    assert colab_setup.INSTALL == f"%pip install {line}", "home page and setup cells give different lines"


def test_every_chapter_starts_its_code_with_the_setup_cell():
    missing = []
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        first = next(cell for cell in cells if cell["cell_type"] == "code")
        if not (
            colab_setup.is_setup_cell(first)
            and "".join(first["source"]) == colab_setup.SOURCE
            and colab_setup.TAG in first["metadata"].get("tags", [])
        ):
            missing.append(path.name)
    assert not missing, f"no setup cell first (run python _ext/colab_setup.py): {missing}"


@pytest.mark.slow
def test_every_chapter_runs_in_a_fresh_colab_like_environment(tmp_path):
    repository = tmp_path / "repository"
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (repository / name).parent.mkdir(parents=True, exist_ok=True)
            (repository / name).write_bytes((ROOT / name).read_bytes())
    venv = tmp_path / "venv"
    subprocess.run([getattr(sys, "_base_executable", sys.executable), "-m", "venv", str(venv)], check=True)
    # pip compiles every module it installs (all of torch and SciPy); with --no-compile, Python compiles
    # only what the chapters import, once, on first import, which needs bytecode writing on.
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-compile"]
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    pins = _pins()
    # The CPU build where the machine offers one (this project's machines keep it on disk); elsewhere
    # TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu avoids the several GB of CUDA packages.
    index = ["--index-url", os.environ["TORCH_INDEX_URL"]] if os.environ.get("TORCH_INDEX_URL") else []
    subprocess.run(pip + [f"torch=={pins['torch']}", *index], check=True, env=env)
    base = [f"{name}=={pins[name]}" if name in pins else name for name in COLAB_BASE]
    subprocess.run(pip + base, check=True, env=env)

    # Each notebook alone in a folder of its own, nothing of the repository beside it, its setup cell
    # pointed at this checkout's copy instead of the public repository.
    notebooks = []
    for source in sorted((ROOT / "book").glob("*.ipynb")):
        alone = tmp_path / "colab" / source.stem
        alone.mkdir(parents=True)
        text = source.read_text(encoding="utf-8").replace(REPOSITORY_URL, repository.as_uri())
        (alone / source.name).write_text(text, encoding="utf-8")
        notebooks.append(alone / source.name)

    def run(what: str, command: list[str], cwd: Path) -> str | None:
        result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env)
        return f"{what}: {result.stderr[-3000:]}" if result.returncode != 0 else None

    # The first chapter runs as Colab starts it, in a new kernel: its setup cell installs softmax_lib
    # and MyST-NB into the environment. The others then find them there, as they would on Colab, and
    # run COLAB_WORKERS at a time, each in its own kernel forked from a process of that environment
    # that has imported the Colab base packages (tools/warm_kernels.py, as `make book` runs the
    # chapters): a new kernel would spend 3.5 s importing them, for the same outputs.
    python = str(venv / "bin" / "python")
    failures = [run(notebooks[0].name, [python, "-c", EXECUTE, str(notebooks[0])], notebooks[0].parent)]
    workers = os.environ.get("COLAB_WORKERS", "2")
    warm = [python, str(repository / "tools" / "warm_kernels.py"), "--execute", workers, *map(str, notebooks[1:])]
    failures.append(run("the other chapters", warm, tmp_path))
    failures = [failure for failure in failures if failure]
    assert not failures, "\n\n".join(failures)
