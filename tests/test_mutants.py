"""Planted errors: each mutant in tests/mutants.py must be caught by the unit tests and by its chapters.

Each mutant is applied to a temporary COPY of the repository (never to the working tree). Then, with
PYTHONPATH pointing at the copy, so that the copy's softmax_lib is the one imported (checked in a
subprocess first), pytest -x runs the mutant's unit-test files and, separately, its chapters under
nbval. A mutant is caught when pytest reports failing tests (exit status 1); a crash of pytest
itself does not count. An unmutated copy must pass the same commands, else "caught" would mean
nothing. A report (mutant, first failing unit test, first failing chapter cell) is printed and
written to _build/mutation-report.md.

Stand-alone: python tests/test_mutants.py [MUTANT ...] runs the same and prints the report.
MUTANT_WORKERS (default 2) sets how many mutants run at once.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mutants import MUTANTS, Mutant  # noqa: E402

REPOSITORY = Path(__file__).resolve().parent.parent
IGNORED = shutil.ignore_patterns(
    ".git", ".venv", "_build", "__pycache__", ".hypothesis", "*.egg-info", ".pytest_cache", ".ipynb_checkpoints"
)
PYTEST_TIMEOUT_S = 300
# A failure of this kind means the replacement is not valid code, not that a test caught wrong math.
BROKEN = r"\b(NameError|SyntaxError|ImportError|ModuleNotFoundError|UnboundLocalError)\b"
BROKEN_STATUS = -1
# The baseline runs every command a mutant runs, unmutated: each unit-test file and chapter once.
BASELINE_UNIT_TESTS = tuple(dict.fromkeys(path for m in MUTANTS for path in m.unit_tests))
BASELINE_CHAPTERS = tuple(dict.fromkeys(path for m in MUTANTS for path in m.chapters))


def copy_repository(destination: Path) -> Path:
    """The working tree's files (tracked, and untracked but not ignored when git is there) copied to destination."""
    try:
        listed = subprocess.run(
            ["git", "-C", str(REPOSITORY), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            capture_output=True,
            check=True,
        ).stdout
        files = [name for name in listed.decode().split("\0") if name and (REPOSITORY / name).is_file()]
    except (OSError, subprocess.CalledProcessError):
        shutil.copytree(REPOSITORY, destination, ignore=IGNORED)
        return destination
    for name in files:
        (destination / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPOSITORY / name, destination / name)
    return destination


def environment(copy: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(copy)  # before site-packages, so before the editable install of the working tree
    env["HYPOTHESIS_PROFILE"] = "ci"
    env["SOFTMAX_LIB_DEVICE"] = "cpu"
    env.pop("PYTEST_XDIST_WORKER", None)
    env.pop("PYTEST_ADDOPTS", None)
    return env


def assert_copy_is_imported(copy: Path, mutated_file: str | None = None, mutated_text: str | None = None) -> None:
    """In a fresh interpreter with the copy's environment, softmax_lib comes from the copy (and is mutated)."""
    probe = (
        "import pathlib, softmax_lib, softmax_lib._softmax, softmax_lib._cross_entropy as ce\n"
        "print(pathlib.Path(softmax_lib.__file__).resolve().parent)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=copy / "book",
        env=environment(copy),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(out) == (copy / "softmax_lib").resolve(), f"softmax_lib imported from {out}, not from the copy {copy}"
    if mutated_file is not None:
        assert (Path(out).parent / mutated_file).read_text() == mutated_text


def run_pytest(copy: Path, paths: tuple[str, ...]) -> tuple[int, str, float]:
    """pytest -x -q on `paths` in the copy: (exit status, first failing test or the tail of the output, seconds)."""
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-x", "-q", "-o", "console_output_style=classic", *paths],
        cwd=copy,
        env=environment(copy),
        capture_output=True,
        text=True,
        timeout=PYTEST_TIMEOUT_S,
    )
    failed = re.findall(r"^FAILED (.+?)((?: - .*)?)$", proc.stdout, flags=re.MULTILINE)
    if failed and re.search(BROKEN, failed[0][1]):
        # the mutant broke the code instead of the math: it proves nothing about the tests
        return BROKEN_STATUS, f"broken mutant: {failed[0][0]}{failed[0][1]}", time.monotonic() - start
    lines = proc.stdout.strip().splitlines()
    detail = failed[0][0] if failed else (lines[-1] if lines else proc.stderr[-500:])
    return proc.returncode, detail, time.monotonic() - start


@dataclass
class Outcome:
    mutant: Mutant
    unit_status: int
    unit_detail: str
    chapter_status: int | None
    chapter_detail: str
    seconds: float

    @property
    def unit_caught(self) -> bool:
        return self.unit_status == 1

    @property
    def chapters_caught(self) -> bool | None:
        return None if self.chapter_status is None else self.chapter_status == 1

    @property
    def ok(self) -> bool:
        if self.mutant.equivalent:  # an equivalent mutant must pass everything
            return self.unit_status == 0 and self.chapter_status in (None, 0)
        return self.unit_caught and self.chapters_caught in (None, True)


def run_mutant(mutant: Mutant, workspace: Path) -> Outcome:
    start = time.monotonic()
    copy = copy_repository(workspace / mutant.name)
    target = copy / mutant.path
    original = target.read_text()
    mutated = mutant.apply(original)
    assert mutated != original
    target.write_text(mutated)
    assert_copy_is_imported(copy, mutant.path, mutated)
    unit_status, unit_detail, _ = run_pytest(copy, mutant.unit_tests)
    chapter_status, chapter_detail = None, mutant.why_no_chapter
    if mutant.chapters:
        chapter_status, chapter_detail, _ = run_pytest(copy, mutant.chapters)
    shutil.rmtree(copy, ignore_errors=True)
    return Outcome(mutant, unit_status, unit_detail, chapter_status, chapter_detail, time.monotonic() - start)


def report(outcomes: list[Outcome]) -> str:
    real = [o for o in outcomes if not o.mutant.equivalent]
    caught = sum(o.ok for o in real)
    lines = [
        f"Mutation report: {caught}/{len(real)} non-equivalent mutants caught, "
        f"{sum(1 for o in outcomes if o.mutant.equivalent)} equivalent",
        "",
        "| mutant | caught by unit tests | caught by chapters | s |",
        "| --- | --- | --- | --- |",
    ]
    for o in outcomes:

        def verdict(status, detail, caught, o=o):
            if status is None:
                return f"(no chapter: {detail})"
            if status == BROKEN_STATUS:
                return f"ERROR: {detail}"
            if status not in (0, 1):
                return f"ERROR (pytest exit status {status}): {detail}"
            if o.mutant.equivalent:
                return f"passes, as an equivalent mutant must: {detail}"
            word = "CAUGHT" if caught else "NOT caught"
            return f"{word}: {detail}"

        unit = verdict(o.unit_status, o.unit_detail, o.unit_caught)
        chapters = verdict(o.chapter_status, o.chapter_detail, o.chapters_caught)
        name = o.mutant.name + (" (equivalent)" if o.mutant.equivalent else "")
        lines.append(f"| {name} | {unit} | {chapters} | {o.seconds:.0f} |")
    for o in outcomes:
        if o.mutant.equivalent:
            lines += ["", f"{o.mutant.name} is equivalent: {o.mutant.equivalent}"]
    return "\n".join(lines)


def run_all(mutants: list[Mutant], workers: int) -> tuple[list[Outcome], str]:
    with tempfile.TemporaryDirectory(prefix="softmax-mutants-") as tmp:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            outcomes = list(pool.map(lambda m: run_mutant(m, Path(tmp)), mutants))
    text = report(outcomes)
    out = REPOSITORY / "_build"
    out.mkdir(exist_ok=True)
    (out / "mutation-report.md").write_text(text + "\n")
    return outcomes, text


# --- tests -------------------------------------------------------------------------------------


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_pattern_matches_exactly_once(mutant):
    """Fast, not slow: a library edit that breaks a mutant's pattern fails in every test run."""
    source = (REPOSITORY / mutant.path).read_text()
    assert mutant.apply(source) != source
    for path in mutant.unit_tests + mutant.chapters:
        assert (REPOSITORY / path).is_file(), f"mutant {mutant.name}: {path} does not exist"
    assert mutant.chapters or mutant.why_no_chapter or mutant.equivalent, (
        f"mutant {mutant.name}: name the chapters that must catch it, or say why none does"
    )


@pytest.mark.slow
def test_unmutated_copy_passes(tmp_path):
    """The baseline: the copy, imported through PYTHONPATH, passes the commands that must fail on mutants."""
    copy = copy_repository(tmp_path / "baseline")
    assert_copy_is_imported(copy)
    for paths in (BASELINE_UNIT_TESTS, BASELINE_CHAPTERS):
        status, detail, _ = run_pytest(copy, paths)
        assert status == 0, f"unmutated copy fails {paths}: {detail}"


@pytest.mark.slow
def test_every_mutant_is_caught(capsys):
    outcomes, text = run_all(MUTANTS, int(os.environ.get("MUTANT_WORKERS", "2")))
    with capsys.disabled():
        print("\n" + text)
    missed = [o.mutant.name for o in outcomes if not o.ok]
    assert not missed, f"mutants not handled as expected: {missed}\n{text}"


if __name__ == "__main__":
    chosen = [m for m in MUTANTS if len(sys.argv) < 2 or m.name in sys.argv[1:]]
    results, text = run_all(chosen, int(os.environ.get("MUTANT_WORKERS", "2")))
    print(text)
    sys.exit(0 if all(o.ok for o in results) else 1)
