"""A fresh install, as a new user does it: README's commands in a clean virtual environment.

A copy of the repository (tracked and untracked-but-not-ignored files: what a clone would hold
plus uncommitted work) goes to a temporary directory, so `-e .[...]` in requirements.txt points at
the copy. Then, with an environment scrubbed of this test run's virtualenv, README's `make book`
creates a new virtualenv there with the system python3, installs requirements.txt into it and
builds the book, which executes every chapter there. The fresh environment's pytest then collects
the whole suite (every test module and plugin imports) and runs the unit tests. A missing
dependency or install step fails here instead of on a user's machine. The chapters' stored
outputs and the browser test are not re-run: the book build just executed every chapter in the
fresh environment, and this run's own nbval and browser tests check them with the same pinned stack.

When this run's own virtualenv is such a fresh install (the Makefile created it from scratch from
the current requirements.txt and pyproject.toml and nothing was installed into it since, as on a
clean clone: `make test` or CI), that install is the check, and the test says so and skips.
"""

from __future__ import annotations

import hashlib
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
# Written by the Makefile when it creates the virtualenv from nothing (see `install` there).
FRESH_MARKER = ".fresh-install"


def requirements_digest() -> str:
    """sha256 of what the install reads: requirements.txt, then pyproject.toml."""
    digest = hashlib.sha256()
    for name in ("requirements.txt", "pyproject.toml"):
        digest.update((REPOSITORY / name).read_bytes())
    return digest.hexdigest()


def pip_freeze(python: str) -> str:
    return subprocess.run([python, "-m", "pip", "freeze", "--all"], capture_output=True, text=True, check=True).stdout


def running_in_a_fresh_install() -> bool:
    """Whether this interpreter's virtualenv is exactly a from-scratch install of the current requirements."""
    marker = Path(sys.prefix) / FRESH_MARKER
    if sys.prefix == sys.base_prefix or not marker.is_file():
        return False
    digest, _, freeze = marker.read_text().partition("\n")
    return digest == requirements_digest() and freeze == pip_freeze(sys.executable)


def clean_environment(venv: Path) -> dict[str, str]:
    """os.environ without any trace of the virtualenv running this test, pointing make at `venv`."""
    current_bin = str(Path(sys.executable).parent)
    scrubbed = (
        "VIRTUAL_ENV",
        "PYTHONPATH",
        "PYTHONHOME",
        "HYPOTHESIS_PROFILE",
        "PYTEST_ADDOPTS",
        "PYTEST_XDIST_WORKER",
        "PYTEST_XDIST_WORKER_COUNT",
        "PYTEST_CURRENT_TEST",
        "PYTHONDONTWRITEBYTECODE",
        "MAKEFLAGS",
        "MAKELEVEL",
        "MFLAGS",
    )
    env = {key: value for key, value in os.environ.items() if key not in scrubbed}
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
    if running_in_a_fresh_install():
        pytest.skip(f"this run's virtualenv {sys.prefix} is itself a fresh install of the current requirements")

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
    marker = venv / FRESH_MARKER
    assert marker.is_file(), "make did not mark the virtualenv it created from scratch"

    python = str(venv / "bin" / "python")
    located = run([python, "-c", "import softmax_lib; print(softmax_lib.__file__)"], copy / "book", env).strip()
    assert Path(located).resolve().is_relative_to(copy.resolve()), f"softmax_lib installed from {located}"

    collected = run([python, "-m", "pytest", "--collect-only", "-q"], copy, env)
    assert re.search(r"\d+ tests? collected", collected), collected[-2000:]
    out = run([python, "-m", "pytest", "tests", "-m", "not slow and not browser", "-q", "-x"], copy, env)
    assert re.search(r"\d+ passed", out), out[-2000:]
