"""Planted errors: each mutant in tests/mutants.py must be caught by the unit tests and by its chapters.

tools/mutation_engine.py runs them: one process imports NumPy, torch, SymPy, matplotlib, pytest...
once, then forks one child per (mutant, target). The child copies the working tree to a temporary
folder (never touching the working tree), applies the mutant there, checks that softmax_lib is
imported from that copy and holds the mutated text, and then either runs the mutant's unit-test
files with pytest -x in-process, or runs one chapter's code cells in an IPython shell, stopping at
the first cell that raises and recording that cell and the statement that raised (the assert that
tripped). A mutant's chapters are tried smallest first until one raises; then each chapter that no
planted error has made raise yet is run under the mutants that name it until one does, so that every
chapter has an assert that a planted error is seen to trip. `--every-chapter` runs every (mutant,
chapter) pair instead: the whole matrix, several times longer.

A mutant is caught when its unit tests fail (pytest exit status 1, a failure of the math: not a
NameError or other sign of a broken replacement) and, if it names chapters, a chapter raises. A
mutant that no chapter's code makes raise is run under nbval over its chapters as well, in a copy,
where a changed output also catches it (the report says "output only"). An equivalent mutant must
pass all of that. The unmutated copy must pass every command a mutant runs, else "caught" would
mean nothing.

The run is written to _build/mutation-run.json (every record) and _build/mutation-report.md (the
table); `python -m tests.mutants --by-chapter` lists each chapter's asserts with the planted errors
that tripped them in that run.

Stand-alone: python tests/test_mutants.py [MUTANT ...] runs the same and prints the report.
MUTANT_WORKERS (default 2) sets how many jobs run at once.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mutants import (  # noqa: E402
    ASSERT_KIND_EXCEPTIONS,
    LIBRARY,
    MUTANTS,
    NOT_TRIPPED,
    RUN_RECORD,
    UNTRIPPED_ASSERTS,
    Mutant,
    _asserts,
    assert_inventory,
)

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY))
from tools.mutation_engine import copy_tree, tree_files  # noqa: E402

PYTEST_TIMEOUT_S = 300
# A failure of this kind means the replacement is not valid code, not that a test caught wrong math.
BROKEN = r"\b(NameError|SyntaxError|ImportError|ModuleNotFoundError|UnboundLocalError)\b"
# The baseline runs every command a mutant runs, unmutated: each unit-test file and chapter once.
BASELINE_UNIT_TESTS = tuple(dict.fromkeys(path for m in MUTANTS for path in m.unit_tests))
BASELINE_CHAPTERS = tuple(dict.fromkeys(path for m in MUTANTS for path in m.chapters))


def copy_repository(destination: Path) -> Path:
    """The working tree's files (tracked, and untracked but not ignored when git is there) copied to destination."""
    return copy_tree(destination, tree_files())


def _by_size(paths) -> list[str]:
    return sorted(paths, key=lambda path: (REPOSITORY / path).stat().st_size)


def _unit_chain(mutant: Mutant) -> list[dict]:
    """The test that caught the mutant last time on its own, then (only if it passes) all its unit tests."""
    whole = {"mutant": mutant.name, "target": "unit", "paths": list(mutant.unit_tests)}
    return ([{**whole, "paths": [mutant.caught_by]}] if mutant.caught_by else []) + [whole]


def _chapter_chain(mutant: Mutant) -> list[dict]:
    """The chapter that raised last time, then the others smallest first, the ones without asserts last."""
    rest = [path for path in _by_size(mutant.chapters) if path != mutant.first_chapter]
    order = [mutant.first_chapter] * bool(mutant.first_chapter) + sorted(rest, key=lambda path: path in NOT_TRIPPED)
    return [{"mutant": mutant.name, "target": path} for path in order]


def first_chains(mutants: list[Mutant]) -> list[list[dict]]:
    """The baseline (every unit-test file and chapter, unmutated), then each mutant's unit tests and its
    chapters, each tried in turn until one fails (see _unit_chain, _chapter_chain)."""
    chains = [[{"mutant": None, "target": "unit", "paths": [path]}] for path in BASELINE_UNIT_TESTS]
    chains += [[{"mutant": None, "target": path}] for path in reversed(_by_size(BASELINE_CHAPTERS))]
    chains += [_unit_chain(m) for m in mutants]
    chains += [_chapter_chain(m) for m in mutants if m.chapters]
    return chains


def second_chains(mutants: list[Mutant], records: list[dict]) -> list[list[dict]]:
    """For each chapter that no planted error has made raise yet: the mutants that name it and have
    not run on it, tried until one makes it raise."""
    ran = {(r["mutant"], r["target"]) for r in records}
    tripped = {r["target"] for r in records if r["mutant"] and r["status"] == "failed"}
    chains = []
    for path in _by_size(BASELINE_CHAPTERS):
        if path not in tripped and path not in NOT_TRIPPED:
            chain = [{"mutant": m.name, "target": path} for m in mutants if path in m.chapters]
            chains.append([job for job in chain if (job["mutant"], path) not in ran])
    return [chain for chain in chains if chain]


def every_pair(mutants: list[Mutant]) -> list[list[dict]]:
    """Every (mutant, chapter it names) on its own: the whole matrix (python tests/test_mutants.py --every-chapter)."""
    return first_chains([])[: len(BASELINE_UNIT_TESTS) + len(BASELINE_CHAPTERS)] + [
        [{"mutant": m.name, "target": target}] for m in mutants for target in ("unit", *m.chapters)
    ]


def run_engine(chains: list[list[dict]], workers: int) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="softmax-mutants-") as tmp:
        todo, done = Path(tmp) / "chains.json", Path(tmp) / "results.json"
        todo.write_text(json.dumps(chains))
        env = {key: value for key, value in os.environ.items() if key not in ("PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER")}
        subprocess.run(
            [sys.executable, "-m", "tools.mutation_engine", str(todo), str(done), str(workers)],
            cwd=REPOSITORY,
            env=env,
            check=True,
        )
        return json.loads(done.read_text())


def run_nbval(paths: tuple[str, ...], mutant: Mutant | None) -> tuple[int, str]:
    """nbval (pytest -x) on `paths` in a copy of the tree with `mutant` applied: (exit status, first failure)."""
    with tempfile.TemporaryDirectory(prefix="softmax-mutant-nbval-") as tmp:
        copy = copy_repository(Path(tmp) / "repo")
        if mutant is not None:
            target = copy / mutant.path
            target.write_text(mutant.apply(target.read_text()))
        env = dict(os.environ, PYTHONPATH=str(copy), HYPOTHESIS_PROFILE="ci", SOFTMAX_LIB_DEVICE="cpu")
        env.pop("PYTEST_XDIST_WORKER", None)
        env.pop("PYTEST_ADDOPTS", None)
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-x", "-q", "-o", "console_output_style=classic", *paths],
            cwd=copy,
            env=env,
            capture_output=True,
            text=True,
            timeout=PYTEST_TIMEOUT_S,
        )
    failed = re.findall(r"^FAILED (.+?)(?: - .*)?$", proc.stdout, flags=re.MULTILINE)
    lines = proc.stdout.strip().splitlines()
    return proc.returncode, failed[0] if failed else (lines[-1] if lines else proc.stderr[-500:])


def _broken(record: dict) -> bool:
    return bool(re.search(BROKEN, f"{record.get('error', '')} {record.get('message', '')}"))


@dataclass
class Outcome:
    mutant: Mutant
    unit: dict
    chapters: list[dict]
    nbval: tuple[int, str] | None  # only when no chapter raised
    seconds: float

    @property
    def unit_caught(self) -> bool:
        return self.unit["status"] == 1 and not _broken(self.unit)

    @property
    def tripped(self) -> list[dict]:
        return [record for record in self.chapters if record["status"] == "failed"]

    @property
    def chapters_caught(self) -> bool | None:
        if not self.mutant.chapters:
            return None
        if any(_broken(record) for record in self.tripped):
            return False
        return bool(self.tripped) or (self.nbval is not None and self.nbval[0] == 1)

    @property
    def ok(self) -> bool:
        if any(record["status"] == "crashed" for record in self.chapters):
            return False
        if self.mutant.equivalent:  # an equivalent mutant must pass everything
            return self.unit["status"] == 0 and not self.tripped and (self.nbval is None or self.nbval[0] == 0)
        return self.unit_caught and self.chapters_caught in (None, True)


def outcomes_of(mutants: list[Mutant], records: list[dict]) -> list[Outcome]:
    result = []
    for mutant in mutants:
        mine = [record for record in records if record["mutant"] == mutant.name]
        unit = [record for record in mine if record["target"] == "unit"][-1]  # the last word: see _unit_chain
        chapters = [record for record in mine if record["target"] != "unit"]
        nbval = None
        if mutant.chapters and not any(record["status"] == "failed" for record in chapters):
            nbval = run_nbval(mutant.chapters, mutant)
        seconds = sum(record["seconds"] for record in mine)
        result.append(Outcome(mutant, unit, chapters, nbval, seconds))
    return result


def _where(record: dict) -> str:
    return f"{record['target']}::Cell {record['cell']}: `{record['statement']}` ({record['error']})"


def report(outcomes: list[Outcome]) -> str:
    real = [o for o in outcomes if not o.mutant.equivalent]
    lines = [
        f"Mutation report: {sum(o.ok for o in real)}/{len(real)} non-equivalent mutants caught, "
        f"{len(outcomes) - len(real)} equivalent",
        "",
        "| mutant | caught by unit tests | caught by chapters (each chapter's first raising statement) | s |",
        "| --- | --- | --- | --- |",
    ]
    for o in outcomes:
        unit = o.unit
        if o.mutant.equivalent:
            unit_text = "passes, as an equivalent mutant must" if unit["status"] == 0 else f"FAILS: {unit['test']}"
        elif unit["status"] not in (0, 1) or _broken(unit):
            unit_text = f"ERROR (status {unit['status']}): {unit.get('test', '')} {unit.get('message', '')}"
        else:
            unit_text = f"CAUGHT: {unit['test']}" if o.unit_caught else "NOT caught"
        if not o.mutant.chapters:
            chapter_text = f"(no chapter: {o.mutant.why_no_chapter})"
        else:
            crashed = [r for r in o.chapters if r["status"] == "crashed"]
            parts = [f"ERROR in {r['target']}: {r['error']}" for r in crashed]
            parts += [_where(r) for r in o.tripped]
            passed = [r["target"] for r in o.chapters if r["status"] == "passed"]
            if passed:
                parts.append("no assert trips in " + ", ".join(Path(p).stem for p in passed))
            if o.nbval is not None:
                verdict = {0: "nbval passes", 1: "nbval: output only, "}.get(o.nbval[0], f"nbval ERROR {o.nbval[0]}: ")
                parts.append(verdict + ("" if o.nbval[0] == 0 else o.nbval[1]))
            word = "" if o.mutant.equivalent else ("CAUGHT: " if o.chapters_caught else "NOT caught: ")
            chapter_text = word + "; ".join(parts)
        name = o.mutant.name + (" (equivalent)" if o.mutant.equivalent else "")
        lines.append(f"| {name} | {unit_text} | {chapter_text} | {o.seconds:.0f} |")
    for o in outcomes:
        if o.mutant.equivalent:
            lines += ["", f"{o.mutant.name} is equivalent: {o.mutant.equivalent}"]
    return "\n".join(lines)


def run_all(mutants: list[Mutant], workers: int, every_chapter: bool = False) -> tuple[list[dict], list[Outcome], str]:
    """Run the planted errors: the first chains, then the chapters no planted error tripped (or every pair)."""
    start = time.monotonic()
    if every_chapter:
        records = run_engine(every_pair(mutants), workers)
    else:
        records = run_engine(first_chains(mutants), workers)
        second = second_chains(mutants, records)
        records += run_engine(second, workers) if second else []
    outcomes = outcomes_of(mutants, records)
    text = report(outcomes) + f"\n\n(run: {time.monotonic() - start:.0f} s with {workers} workers)"
    RUN_RECORD.parent.mkdir(exist_ok=True)
    RUN_RECORD.write_text(json.dumps(records, indent=1) + "\n")
    (RUN_RECORD.parent / "mutation-report.md").write_text(text + "\n")
    return records, outcomes, text


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


@pytest.mark.parametrize("mutant", [m for m in MUTANTS if m.caught_by or m.tripped_in], ids=lambda m: m.name)
def test_first_catchers_are_among_the_mutants_own(mutant):
    """Fast: `caught_by` names a test function of one of the mutant's unit-test files, `tripped_in` one of its
    chapters (the slow run checks that they still catch it)."""
    if mutant.caught_by:
        path, _, test = mutant.caught_by.partition("::")
        assert path in mutant.unit_tests, f"{mutant.name}: {path} is not among its unit_tests"
        function = re.escape(test.split("[")[0])
        assert re.search(rf"^def {function}\(", (REPOSITORY / path).read_text(), re.M), mutant.caught_by
    if mutant.tripped_in:
        assert mutant.first_chapter in mutant.chapters, f"{mutant.name}: {mutant.tripped_in} is not among its chapters"


def test_assert_inventory_covers_every_assert():
    """Fast: the classification of tests/mutants.py sees every assert of every chapter, once."""
    for notebook in sorted((REPOSITORY / "book").glob("*.ipynb")):
        found = [(entry.cell, entry.line, entry.last, entry.text) for entry in assert_inventory(notebook)]
        assert found == _asserts(notebook), notebook.name


def test_assert_lists_name_current_asserts():
    """Fast: every assert the exception lists of tests/mutants.py name still exists, as the kind the list
    says; an override changes what the heuristic says; an untripped assert is on a library result."""
    inventory = {}
    heuristic = {}
    for notebook in sorted((REPOSITORY / "book").glob("*.ipynb")):
        inventory |= {entry.key: entry for entry in assert_inventory(notebook)}
        heuristic |= {entry.key: entry for entry in assert_inventory(notebook, overrides=False)}
    stale = [key for key in (*ASSERT_KIND_EXCEPTIONS, *UNTRIPPED_ASSERTS) if key not in inventory]
    assert not stale, f"the lists in tests/mutants.py name asserts the chapters no longer have: {stale}"
    unchanged = [key for key, (kind, _) in ASSERT_KIND_EXCEPTIONS.items() if heuristic[key].kind == kind]
    assert not unchanged, f"ASSERT_KIND_EXCEPTIONS entries the heuristic already gets right: {unchanged}"
    not_library = [key for key in UNTRIPPED_ASSERTS if inventory[key].kind != LIBRARY]
    assert not not_library, f"UNTRIPPED_ASSERTS names asserts that are not on a library result: {not_library}"
    assert all(
        reason.strip() for reason in (*UNTRIPPED_ASSERTS.values(), *(r for _, r in ASSERT_KIND_EXCEPTIONS.values()))
    )


@pytest.fixture(scope="module")
def mutation_run(tmp_path_factory):
    return run_all(MUTANTS, int(os.environ.get("MUTANT_WORKERS", "2")))


@pytest.mark.slow
def test_unmutated_copy_passes(mutation_run):
    """The baseline: the unmutated copy passes every command that must fail on a mutant."""
    records, outcomes, _ = mutation_run
    baseline = [record for record in records if record["mutant"] is None]
    assert {r["target"] for r in baseline} == {"unit", *BASELINE_CHAPTERS}
    failing = [r for r in baseline if r["status"] not in (0, "passed")]
    assert not failing, f"the unmutated copy fails: {failing}"
    nbval_chapters = tuple(dict.fromkeys(path for o in outcomes if o.nbval is not None for path in o.mutant.chapters))
    if nbval_chapters:
        status, detail = run_nbval(nbval_chapters, None)
        assert status == 0, f"the unmutated copy fails nbval on {nbval_chapters}: {detail}"


@pytest.mark.slow
def test_every_mutant_is_caught(mutation_run, capsys):
    _, outcomes, text = mutation_run
    with capsys.disabled():
        print("\n" + text)
    missed = [o.mutant.name for o in outcomes if not o.ok]
    assert not missed, f"mutants not handled as expected: {missed}\n{text}"


@pytest.mark.slow
def test_each_mutant_is_caught_where_it_says(mutation_run):
    """`caught_by` fails and `tripped_in` raises under the mutant (else the run would try them first for
    nothing): update them from the report (_build/mutation-report.md)."""
    records, _, _ = mutation_run
    first = {}
    for record in records:
        first.setdefault((record["mutant"], record["target"] == "unit"), record)
    stale = [
        f"{m.name}: caught_by {m.caught_by} passes"
        for m in MUTANTS
        if m.caught_by and first[m.name, True]["status"] != 1
    ]
    stale += [
        f"{m.name}: tripped_in {m.tripped_in} does not raise"
        for m in MUTANTS
        if m.tripped_in and first[m.name, False]["status"] != "failed"
    ]
    assert not stale, "\n".join(stale)


@pytest.mark.slow
def test_every_chapter_has_an_assert_a_planted_error_trips(mutation_run):
    """Each chapter that a mutant names has at least one statement that a planted error makes raise,
    or the mutation report says why none does (tests/mutants.py: NOT_TRIPPED)."""
    from mutants import chapter_report

    records, _, _ = mutation_run
    tripped = {r["target"] for r in records if r["mutant"] and r["status"] == "failed"}
    untripped = [path for path in BASELINE_CHAPTERS if path not in tripped and path not in NOT_TRIPPED]
    assert not untripped, f"no planted error trips an assert of {untripped}\n" + chapter_report(records)
    stale = [path for path in NOT_TRIPPED if path in tripped]
    assert not stale, f"NOT_TRIPPED names chapters whose asserts a planted error trips: {stale}"


if __name__ == "__main__":
    names = [arg for arg in sys.argv[1:] if arg != "--every-chapter"]
    chosen = [m for m in MUTANTS if not names or m.name in names]
    _, results, summary = run_all(chosen, int(os.environ.get("MUTANT_WORKERS", "2")), "--every-chapter" in sys.argv)
    print(summary)
    sys.exit(0 if all(o.ok for o in results) else 1)


def test_every_cell_run_tells_a_consequence_from_an_assert_of_its_own(tmp_path):
    """Fast: run_every_cell (the per-assert report) marks a cell that reads a name an earlier failure left
    unbound as its consequence, but not once a later cell has bound the name again, nor a loop that binds
    the name itself before reading it."""
    import nbformat

    sources = [
        "first = 1\nraise ValueError('boom')\nlater, item = 3, 0",  # leaves `later` and `item` unbound
        "assert later == 3",  # NameError: a consequence of cell 0
        "later = 4",
        "assert later == 5, 'own'",  # `later` is bound again: its own failure
        "for k in range(2):\n    item = k\n    assert item < 0, 'loop'",  # the loop binds `item` first
        "assert first == 2, 'bound before the raise'",  # `first` was bound before cell 0 raised
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in sources])
    path = tmp_path / "cells.ipynb"
    nbformat.write(notebook, path)
    script = (
        "import json, pathlib; from tools.mutation_engine import run_every_cell; "
        f"print(json.dumps(run_every_cell(pathlib.Path({str(path)!r}))))"
    )
    run = subprocess.run([sys.executable, "-c", script], cwd=REPOSITORY, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    raised = {record["cell"]: record for record in json.loads(run.stdout.strip().splitlines()[-1])["raised"]}
    assert sorted(raised) == [0, 1, 3, 4, 5]
    assert raised[1].get("consequence_of") == 0
    assert [cell for cell in (3, 4, 5) if "consequence_of" in raised[cell]] == []
