"""A fresh install, as a new user does it: README's commands in a clean virtual environment.

A copy of the repository (tracked and untracked-but-not-ignored files: what a clone would hold
plus uncommitted work) goes to a temporary directory, so `-e .` in requirements.txt points at the
copy. Then, with an environment scrubbed of this test run's virtualenv, README's `make book`
creates a new virtualenv there with the system python3, installs requirements.txt into it and
builds the book; the fresh environment's pytest then runs the suite (the slow tests excepted:
this is one of them). A missing dependency or install step fails here instead of on a user's
machine. pip's cache and the local wheel directory make the install take a minute or two.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_mutants import REPOSITORY, copy_repository  # noqa: E402

pytestmark = pytest.mark.slow
STEP_TIMEOUT_S = 1200


def clean_environment(venv: Path) -> dict[str, str]:
    """os.environ without any trace of the virtualenv running this test, pointing make at `venv`."""
    current_bin = str(Path(sys.executable).parent)
    env = {key: value for key, value in os.environ.items()
           if key not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "HYPOTHESIS_PROFILE", "PYTEST_ADDOPTS",
                          "PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_CURRENT_TEST",
                          "PYTHONDONTWRITEBYTECODE", "MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p and p != current_bin)
    env["VENV"] = str(venv)
    env["PIP_NO_INPUT"] = "1"
    return env


def run(command: list[str], cwd: Path, env: dict[str, str]) -> str:
    proc = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=STEP_TIMEOUT_S)
    assert proc.returncode == 0, (
        f"{' '.join(command)} failed with exit status {proc.returncode}\n"
        f"--- stdout (tail) ---\n{proc.stdout[-6000:]}\n--- stderr (tail) ---\n{proc.stderr[-4000:]}"
    )
    return proc.stdout


def test_readme_commands_work_in_a_fresh_virtualenv(tmp_path):
    readme = (REPOSITORY / "README.md").read_text()
    quick_start = re.search(r"## Quick start.*?```bash\n(.*?)```", readme, flags=re.DOTALL)
    assert quick_start, "README.md has no Quick start bash block"
    commands = [line.split("#")[0].strip() for line in quick_start.group(1).splitlines()]
    assert "make book" in commands and "make test" in commands, f"README's Quick start changed: {commands}"

    copy = copy_repository(tmp_path / "repository")
    venv = tmp_path / "venv"
    env = clean_environment(venv)
    try:
        run_readme_commands(copy, venv, env)
    finally:  # a virtualenv with torch is over a GB: do not leave it to pytest's tmp retention
        shutil.rmtree(venv, ignore_errors=True)
        shutil.rmtree(copy / "_build", ignore_errors=True)


def run_readme_commands(copy: Path, venv: Path, env: dict[str, str]) -> None:
    run(["make", "book", f"VENV={venv}"], copy, env)
    assert (copy / "_build" / "html" / "index.html").is_file()

    located = run([str(venv / "bin" / "python"), "-c", "import softmax_lib; print(softmax_lib.__file__)"],
                  copy / "book", env).strip()
    assert Path(located).resolve().is_relative_to(copy.resolve()), f"softmax_lib installed from {located}"

    # `make test` minus the slow tests, this one among them; the book was just built
    out = run([str(venv / "bin" / "python"), "-m", "pytest", "-m", "not slow", "-q", "-x"], copy, env)
    assert re.search(r"\d+ passed", out), out[-2000:]
