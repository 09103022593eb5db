"""Run the planted errors of tests/mutants.py quickly: import the heavy packages once, fork per job.

    python -m tools.mutation_engine CHAINS.json RESULTS.json [WORKERS]

A job is {"mutant": NAME or null, "target": "unit" or "book/CHAPTER.ipynb"}; CHAINS.json holds a
list of chains, each a list of jobs run one after the other until one of them does not pass (so
that a mutant's chapters are tried until one catches it). This process imports
NumPy, torch, SymPy, matplotlib, IPython, pytest... once (never softmax_lib), then for each job forks
a child that copies the working tree to a temporary folder, applies the planted error there, puts
the copy first on sys.path, and

- for "unit": runs pytest -x in-process (pytest.main) on the job's "paths" (test files or node ids;
  by default the mutant's unit-test files), recording the exit status and the first failing test;
- for a chapter: runs its code cells in order in an IPython InteractiveShell (no kernel start, no
  re-import), stopping at the first cell that raises, and records that cell, the exception and the
  statement that raised (the failing assert, or the call that raised inside the library). A job
  with "every_cell": true runs every code cell instead, and records each cell that raises (see
  run_every_cell): the per-assert report of tests/mutants.py (--every-assert) uses it.

A child checks that softmax_lib comes from its copy and holds the mutated text before it runs
anything. The jobs of a null mutant are the baseline: the unmutated copy must pass all of them.
RESULTS.json holds one record per job run, chain by chain.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

from tools.warm_kernels import WARM_MODULES

ROOT = Path(__file__).resolve().parent.parent
# Imported once, before any fork: what the chapters import (the kernels' list), and what the unit tests
# and the chapters run in an IPython shell import besides; softmax_lib aside.
HEAVY = (
    *WARM_MODULES,
    "scipy.optimize",
    "torch.nn.functional",
    "torch.distributed",
    "matplotlib.pyplot",
    "IPython",
    "IPython.core.interactiveshell",
    "myst_nb",
    "sklearn.linear_model",
    "sklearn.datasets",
    "sklearn.model_selection",
    "sklearn.metrics",
    "sklearn.preprocessing",
    "sklearn.multiclass",
    "threadpoolctl",
    "pytest",
    "hypothesis",
    "hypothesis.extra.numpy",
    "array_api_compat",
    "nbval",
)
JOB_TIMEOUT_S = 300
IGNORED = shutil.ignore_patterns(
    ".git", ".venv", "_build", "__pycache__", ".hypothesis", "*.egg-info", ".pytest_cache", ".ipynb_checkpoints"
)


def tree_files() -> list[str]:
    """The working tree's files: tracked, and untracked but not ignored (everything when git is absent)."""
    try:
        listed = subprocess.run(
            ["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return []
    return [name for name in listed.decode().split("\0") if name and (ROOT / name).is_file()]


def copy_tree(destination: Path, files: list[str]) -> Path:
    if not files:
        shutil.copytree(ROOT, destination, ignore=IGNORED)
        return destination
    for name in files:
        (destination / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, destination / name)
    return destination


# --- in the child ------------------------------------------------------------------------------


def _use_copy(copy: Path, mutant) -> None:
    """Make `copy` the repository this process imports from, with `mutant` applied to it."""
    mutated_text = None
    if mutant is not None:
        target = copy / mutant.path
        original = target.read_text()
        mutated_text = mutant.apply(original)
        assert mutated_text != original
        target.write_text(mutated_text)
    for name in [name for name in sys.modules if name.split(".")[0] in ("softmax_lib", "conftest", "tests")]:
        del sys.modules[name]
    sys.path.insert(0, str(copy))
    os.environ["PYTHONPATH"] = str(copy)  # for the subprocesses a test or a chapter starts
    importlib.invalidate_caches()
    import softmax_lib

    where = Path(softmax_lib.__file__).resolve().parent
    assert where == (copy / "softmax_lib").resolve(), f"softmax_lib imported from {where}, not from the copy {copy}"
    if mutant is not None:
        assert (copy / mutant.path).read_text() == mutated_text


def _statement(source: str, lineno: int) -> str:
    """The first line of the innermost statement of `source` that covers line `lineno`."""
    lines = source.splitlines()
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return lines[lineno - 1].strip() if 0 < lineno <= len(lines) else ""
    best = None
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt) and node.lineno <= lineno <= (node.end_lineno or node.lineno):
            if not isinstance(node, (ast.For, ast.While, ast.If, ast.With, ast.FunctionDef, ast.Try)):
                best = node if best is None or node.lineno >= best.lineno else best
    line = lines[best.lineno - 1] if best is not None else lines[lineno - 1]
    return line.strip()


def _cell_line(error: BaseException, filename: str) -> int:
    """The line of the cell (compiled as `filename`) at which `error` left it: the cell's own frame."""
    lineno = 0
    for frame, line in traceback.walk_tb(error.__traceback__):
        if frame.f_code.co_filename == filename:
            lineno = line
            break
    return lineno


def _raised(error: BaseException, source: str, filename: str) -> dict:
    """Where `error` left the cell compiled as `filename` (whose text is `source`): line, statement, type."""
    lineno = _cell_line(error, filename)
    return {
        "line": lineno,
        "statement": _statement(source, lineno) if lineno else "",
        "error": type(error).__name__,
        "message": str(error).strip().splitlines()[0][:300] if str(error).strip() else "",
    }


def _run_cells(notebook: Path, past_asserts: bool = False):
    """Run the code cells of `notebook` in order in an InteractiveShell, yielding for each
    (cell index, source, error or None, the compiled file name, seconds).

    With `past_asserts`, a cell whose top-level assert raises runs on from the statement after that
    assert (an assert binds nothing, so what follows runs as it would have), and yields once more per
    raise: every failing top-level assert of a cell is seen, not only the first.
    """
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    os.chdir(notebook.parent)
    shell = InteractiveShell.instance()
    for index, cell in enumerate(cells):
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        piece = source
        while piece is not None:
            start = time.monotonic()
            with capture_output(display=True):
                result = shell.run_cell(piece, store_history=True)
            seconds = time.monotonic() - start
            filename = shell.compile.get_code_name(piece, shell.transform_cell(piece), shell.execution_count - 1)
            error = result.error_before_exec or result.error_in_exec
            yield index, source, error, filename, seconds
            end = _assert_end(source, _cell_line(error, filename)) if error is not None and past_asserts else None
            # the rest of the cell after the assert, behind comment lines (IPython drops leading blank
            # ones) so that its line numbers stay the cell's
            rest = "\n".join(source.splitlines()[end:]) if end else ""
            piece = "#\n" * end + rest if rest.strip() else None


def _assert_end(source: str, lineno: int) -> int | None:
    """The last line of the top-level assert of cell `source` that covers line `lineno`; None if that
    statement is not a top-level assert."""
    tree = _python(source)
    for node in tree.body if tree is not None and lineno else []:
        if node.lineno <= lineno <= (node.end_lineno or node.lineno):
            return (node.end_lineno or node.lineno) if isinstance(node, ast.Assert) else None
    return None


def run_chapter(notebook: Path) -> dict:
    """Run the code cells of `notebook` in order, in an InteractiveShell; stop at the first that raises."""
    executed = 0
    slow_cells = {}  # cell index -> seconds, for the cells that take a second or more
    for index, source, error, filename, seconds in _run_cells(notebook):
        executed += 1
        if seconds >= 1:
            slow_cells[index] = round(seconds, 1)
        if error is not None:
            where = _raised(error, source, filename)
            return {"status": "failed", "cell": index, **where, "cells_run": executed, "slow_cells": slow_cells}
    return {"status": "passed", "cells_run": executed, "slow_cells": slow_cells}


def _stored_names(statements: list[ast.stmt]) -> set[str]:
    """The names that `statements` bind: assignment targets, loop variables, definitions, imports."""
    names = set()
    for node in (sub for statement in statements for sub in ast.walk(statement)):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


def _python(source: str) -> ast.Module | None:
    """The cell's code as a module, its IPython magics (%pip, !cmd) read as `pass`; None if unparsable."""
    lines = [re.sub(r"^(\s*)[%!].*", r"\1pass", line) for line in source.splitlines()]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


def _unbound_after(source: str, lineno: int) -> set[str]:
    """The names a cell that raised at `lineno` may have left unbound or stale: those bound by its
    top-level statement that raised and by every top-level statement after it."""
    tree = _python(source)
    if tree is None:
        return set()
    rest = [node for node in tree.body if (node.end_lineno or node.lineno) >= lineno]
    return _stored_names(rest)


def _scoped_names(statement: ast.stmt) -> set[str]:
    """Names that `statement` binds for its own use only: loop and comprehension variables, the
    parameters and locals of the functions and lambdas it defines."""
    names = set()
    for node in ast.walk(statement):
        if isinstance(node, (ast.For, ast.comprehension)):
            names |= {sub.id for sub in ast.walk(node.target) if isinstance(sub, ast.Name)}
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            names |= {arg.arg for arg in ast.walk(node.args) if isinstance(arg, ast.arg)}
            if not isinstance(node, ast.Lambda):
                names |= _stored_names(node.body)
    return names


def _loaded(node: ast.AST) -> set[str]:
    return {sub.id for sub in ast.walk(node) if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load)}


def _free_in(statements: list[ast.stmt], bound: set[str]) -> set[str]:
    """The names `statements` read before they bind them, given the names `bound` before them. The body of
    a loop, a branch, a `with` or a `try` is followed statement by statement: a name a loop body binds and
    then reads is its own, not an earlier cell's."""
    free, bound = set(), set(bound)
    for statement in statements:
        if isinstance(statement, (ast.For, ast.AsyncFor)):
            free |= _loaded(statement.iter) - bound
            free |= _free_in(statement.body + statement.orelse, bound | _stored_names([statement.target]))
        elif isinstance(statement, (ast.While, ast.If)):
            free |= _loaded(statement.test) - bound
            free |= _free_in(statement.body, bound) | _free_in(statement.orelse, bound)
        elif isinstance(statement, (ast.With, ast.AsyncWith)):
            free |= set().union(*(_loaded(item.context_expr) for item in statement.items)) - bound
            targets = [item.optional_vars for item in statement.items if item.optional_vars is not None]
            free |= _free_in(statement.body, bound | _stored_names(targets))
        elif isinstance(statement, ast.Try):
            free |= _free_in(statement.body + statement.orelse + statement.finalbody, bound)
            for handler in statement.handlers:
                free |= _free_in(handler.body, bound | ({handler.name} if handler.name else set()))
        else:
            free |= _loaded(statement) - bound - _scoped_names(statement)
        bound |= _stored_names([statement])
    return free


def _free_names(source: str) -> set[str]:
    """The names a cell reads before it binds them itself: those it takes from earlier cells."""
    tree = _python(source)
    return _free_in(tree.body, set()) if tree is not None else set()


def _bound_before(source: str, lineno: int | None) -> set[str]:
    """The names a cell bound for good: by every top-level statement that ended before `lineno` (all of
    them when None: the cell ran to its end), leaving out the locals of the functions it defines."""
    tree = _python(source)
    if tree is None:
        return set()
    done = [node for node in tree.body if lineno is None or (node.end_lineno or node.lineno) < lineno]
    local = set().union(
        *(
            _stored_names(node.body) | {arg.arg for arg in ast.walk(node.args) if isinstance(arg, ast.arg)}
            for node in (sub for statement in done for sub in ast.walk(statement))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        ),
    )
    return _stored_names(done) - local


def run_every_cell(notebook: Path) -> dict:
    """Run every code cell of `notebook`, on after a cell raises (and within a cell, on after a
    top-level assert that raises); record each raise.

    Each record in "raised" holds the cell, the line and statement of the cell at which the error
    left it (the assert, or the call that raised), the exception's type and message, and "frames":
    [cell, line] of every frame in the chapter's own code, innermost last (an assert inside a
    function that a cell defines is found there). A cell that reads a name which a cell that raised
    before it may have left unbound or stale (bound at or after the statement that raised, see
    _unbound_after), or that raises a NameError for such a name, is a consequence of that earlier
    failure, not an assert of its own that the planted error trips: it carries "consequence_of"
    (that cell's index).
    The rule errs towards "consequence": a cell so marked may also have been tripped on its own.
    """
    executed = 0
    raised = []
    cell_of_file: dict[str, int] = {}
    unbound: dict[str, int] = {}  # name -> the earlier raising cell that may have left it unbound
    for index, source, error, filename, _ in _run_cells(notebook, past_asserts=True):
        executed += index not in cell_of_file.values()
        cell_of_file[filename] = index
        if error is None:
            # What the cell bound is fresh again, whatever an earlier failure left unbound.
            for name in _bound_before(source, None):
                unbound.pop(name, None)
            continue
        record = {"cell": index, **_raised(error, source, filename)}
        record["frames"] = [
            [cell_of_file[frame.f_code.co_filename], line]
            for frame, line in traceback.walk_tb(error.__traceback__)
            if frame.f_code.co_filename in cell_of_file
        ]
        causes = [unbound[name] for name in _free_names(source) if name in unbound]
        if isinstance(error, NameError) and getattr(error, "name", None) in unbound:
            causes.append(unbound[error.name])  # read in a function that an earlier cell defined
        if causes:
            record["consequence_of"] = min(causes)
        for name in _bound_before(source, record["line"]) if record["line"] else set():
            unbound.pop(name, None)
        if _assert_end(source, record["line"]) is None:  # the cell stopped there: what follows did not run
            for name in _unbound_after(source, record["line"]) if record["line"] else set():
                unbound.setdefault(name, index)
        raised.append(record)
    status = "failed" if raised else "passed"
    return {"status": status, "raised": raised, "cells_run": executed}


class _FirstFailure:
    """A pytest plugin that keeps the first failing test's id and its error."""

    def __init__(self) -> None:
        self.nodeid = ""
        self.message = ""

    def pytest_runtest_logreport(self, report) -> None:
        if report.failed and not self.nodeid:
            self.nodeid = report.nodeid
            crash = getattr(report.longrepr, "reprcrash", None)
            self.message = (crash.message if crash else str(report.longrepr)).strip().splitlines()[0][:300]


def run_unit_tests(copy: Path, paths: tuple[str, ...]) -> dict:
    import pytest

    os.chdir(copy)
    first = _FirstFailure()
    # Only pass or fail and the first failure count here: assertion rewriting (the test modules are new
    # copies, compiled again each time) and the collection of unraisable exceptions (a full gc at exit)
    # were two thirds of a one-test run.
    quick = ["--assert=plain", "-p", "no:unraisableexception"]
    status = pytest.main(["-x", "-q", "-p", "no:cacheprovider", *quick, *paths], plugins=[first])
    return {"status": int(status), "test": first.nodeid, "message": first.message}


def _child(job: dict, files: list[str], out: Path) -> None:
    from mutants import BY_NAME

    mutant = BY_NAME[job["mutant"]] if job["mutant"] else None
    with tempfile.TemporaryDirectory(prefix="softmax-mutant-") as tmp:
        copy = copy_tree(Path(tmp) / "repo", files)
        log = open(out.with_suffix(".log"), "w")  # noqa: SIM115 (kept open until the child exits)
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            _use_copy(copy, mutant)
            if job["target"] == "unit":
                record = run_unit_tests(copy, tuple(job.get("paths") or mutant.unit_tests))
            elif job.get("every_cell"):
                record = run_every_cell(copy / job["target"])
            else:
                record = run_chapter(copy / job["target"])
        except BaseException as error:  # noqa: BLE001 (any crash is the job's result)
            record = {"status": "crashed", "error": type(error).__name__, "message": traceback.format_exc()[-2000:]}
        os.chdir(ROOT)
    out.write_text(json.dumps(record))


# --- in the parent -----------------------------------------------------------------------------


def _preload(workers: int) -> None:
    # One core per child: with more threads than cores, the BLAS and OpenMP threads of the children
    # spin against each other. The chapters' results do not depend on the number of threads (the
    # baseline, run the same way, checks that they pass).
    threads = str(max(1, (os.cpu_count() or 1) // workers))
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = threads
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ["SOFTMAX_LIB_DEVICE"] = "cpu"
    os.environ["HYPOTHESIS_PROFILE"] = "ci"
    os.environ.pop("PYTEST_XDIST_WORKER", None)
    os.environ.pop("PYTEST_ADDOPTS", None)
    for name in HEAVY:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    sys.path.insert(0, str(ROOT / "tests"))
    importlib.import_module("mutants")  # the planted errors' list: it reads files, it imports no softmax_lib
    assert "softmax_lib" not in sys.modules, "the parent must not import softmax_lib: each child imports its copy"


def _passed(record: dict) -> bool:
    return record["status"] in ("passed", 0)


def run_chains(chains: list[list[dict]], workers: int) -> list[dict]:
    """Each job in a forked child, `workers` at a time. A chain's jobs run one after the other until
    one does not pass (a chapter that raises, failing unit tests): the rest of that chain is skipped.
    Returns one record per job run, with its seconds, chain by chain."""
    _preload(workers)
    files = tree_files()
    done: list[list[dict]] = [[] for _ in chains]
    running: dict[int, tuple[int, Path, float]] = {}
    pending = [index for index, chain in enumerate(chains) if chain]
    with tempfile.TemporaryDirectory(prefix="softmax-mutant-results-") as tmp:
        while pending or running:
            while pending and len(running) < workers:
                index = pending.pop(0)
                job = chains[index][len(done[index])]
                out = Path(tmp) / f"{index}-{len(done[index])}.json"
                pid = os.fork()
                if pid == 0:  # the child: never returns into the parent's loop
                    code = 0
                    try:
                        _die_with_parent()
                        _child(job, files, out)
                    except BaseException:  # noqa: BLE001
                        code = 1
                    finally:
                        os._exit(code)
                running[pid] = (index, out, time.monotonic())
            pid, _ = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                for child, (_, _, start) in list(running.items()):
                    if time.monotonic() - start > JOB_TIMEOUT_S:
                        os.kill(child, signal.SIGKILL)
                time.sleep(0.05)
                continue
            index, out, start = running.pop(pid)
            if out.is_file():
                record = json.loads(out.read_text())
            else:
                log = out.with_suffix(".log")
                tail = log.read_text(errors="replace")[-2000:] if log.is_file() else ""
                record = {"status": "crashed", "error": "no result", "message": tail}
            record["seconds"] = round(time.monotonic() - start, 2)
            done[index].append({**chains[index][len(done[index])], **record})
            if _passed(record) and len(done[index]) < len(chains[index]):
                pending.insert(0, index)  # the chain's next job, before new chains: finish what was started
    return [record for chain in done for record in chain]


def _die_with_parent() -> None:
    """Linux: the child is killed when the engine dies, instead of running on as an orphan."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__.strip())
    todo = json.loads(Path(sys.argv[1]).read_text())
    done = run_chains(todo, int(sys.argv[3]) if len(sys.argv) == 4 else 2)
    Path(sys.argv[2]).write_text(json.dumps(done, indent=1))
