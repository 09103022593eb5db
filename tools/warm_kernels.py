"""Execute notebooks in Jupyter kernels forked from a process that has already imported the packages.

A new kernel spends about 3.5 s of CPU before a chapter's first line runs: starting Python and
ipykernel, then importing torch (2.1 s), SymPy, SciPy and Matplotlib. With some twenty chapters,
that start-up was half of a cold `make book`. Here the packages are imported once, by the process
that runs the build (`warm_up`), and each chapter runs in a kernel forked from it (`execute`):

    parent (packages imported)  --fork-->  client (nbclient)  --fork-->  kernel (ipykernel)

The kernel is the real IPython kernel that `python -m ipykernel_launcher -f FILE` would start, in the
chapter's folder, talking to nbclient over the same connection file; only its packages are already
in memory. Every chapter gets its own fork of the same parent, so nothing of one chapter reaches
another. The parent imports third-party packages only, never softmax_lib (each kernel imports the
library itself, as a fresh kernel would), runs no computation and no event loop, and so is safe to
fork: its only other threads are OpenBLAS's idle workers, which OpenBLAS restarts in a forked child.
The kernel is forked by the client before the client starts its event loop, for the same reason.

The same kernels serve nbval (`pytest --nb-warm-kernels`, conftest.py), whose process must not fork
itself (its tests have run torch's thread pools): there a fork server (`KernelServer`, a process
that only imports the packages) forks each kernel, and the test process follows it by a pidfd.
"""

from __future__ import annotations

import atexit
import importlib
import os
import pickle
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from pathlib import Path

# What the chapters import that costs time; softmax_lib is left to the kernels (see above).
WARM_MODULES = (
    "numpy",
    "scipy.special",
    "scipy.stats",
    "sympy",
    "mpmath",
    "torch",
    "matplotlib",
    "ipykernel.kernelapp",
)


def warm_up(modules=WARM_MODULES) -> None:
    """Import `modules` into this process, so that the kernels forked from it start with them."""
    # Matplotlib reads its backend when it is imported; a kernel sets this before the chapter
    # imports Matplotlib, so that figures are shown inline (as PNG outputs): it must be set first.
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    for name in modules:
        importlib.import_module(name)


class _ForkedChild:
    """The part of `subprocess.Popen` that jupyter_client's LocalProvisioner uses, for a forked child."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode = None

    def poll(self):
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"kernel {self.pid}", timeout)
            time.sleep(0.02)
        return self.returncode

    def send_signal(self, signum):
        if self.poll() is None:
            os.kill(self.pid, signum)

    def terminate(self):
        self.send_signal(15)

    def kill(self):
        self.send_signal(9)


class _ServedKernel(_ForkedChild):
    """The same, for a kernel that the fork server forked: followed by a pidfd, not a child of ours.

    The server reaps its kernels, so their exit status is not ours to read: 0 once exited.
    """

    def __init__(self, pid: int):
        super().__init__(pid)
        self._pidfd = os.pidfd_open(pid)

    def poll(self):
        if self.returncode is None and select.select([self._pidfd], [], [], 0)[0]:
            self.returncode = 0
            os.close(self._pidfd)
        return self.returncode

    def send_signal(self, signum):
        if self.poll() is None:
            signal.pidfd_send_signal(self._pidfd, signum)


class KernelServer:
    """A fork server: a process that imports the packages once, then forks a kernel on request."""

    def __init__(self, modules=WARM_MODULES):
        self._process = subprocess.Popen(
            [sys.executable, __file__, "--serve", *modules],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # as nbval starts its kernels: their stderr is not the test's
            text=True,
        )

    def start_kernel(self, connection_file: str, cwd: str) -> _ServedKernel:
        """Fork a kernel listening on `connection_file`, working in `cwd`; a handle for its provisioner."""
        self._process.stdin.write(f"{connection_file}\t{cwd}\n")
        self._process.stdin.flush()
        answer = self._process.stdout.readline()
        if not answer.strip().isdigit():
            raise RuntimeError(f"the kernel fork server did not start a kernel (it answered {answer!r})")
        return _ServedKernel(int(answer))

    def close(self):
        self._process.stdin.close()
        self._process.wait(timeout=30)


def serve(modules=WARM_MODULES) -> None:
    """The fork server's loop: import `modules`, then for each `CONNECTION_FILE<TAB>CWD` line on
    stdin fork a kernel and print its pid. Ends when stdin closes."""
    warm_up(modules)
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # the kernels' own output must not reach the answers
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # exited kernels are reaped at once
    for line in sys.stdin:
        connection_file, cwd = line.rstrip("\n").split("\t")
        pid = os.fork()
        if pid == 0:
            answers.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # a kernel waits for its own children
            _run_kernel(connection_file, cwd)
        print(pid, file=answers, flush=True)


def _run_kernel(connection_file: str, cwd: str):
    """In the forked kernel process: what `python -m ipykernel_launcher -f FILE` does, in `cwd`."""
    code = 1
    try:
        os.chdir(cwd)
        sys.path[0] = cwd  # `python -m` puts the working folder first on the path
        stdin = os.open(os.devnull, os.O_RDONLY)  # a launched kernel's stdin is not the terminal
        os.dup2(stdin, 0)
        # What jupyter_client's launcher tells a kernel: its parent (the kernel exits if the client
        # dies). ipykernel read the variable when the parent imported it, hence the argument too.
        os.environ["JPY_PARENT_PID"] = str(os.getppid())
        from ipykernel.kernelapp import IPKernelApp

        IPKernelApp.launch_instance(argv=["-f", connection_file, f"--IPKernelApp.parent_handle={os.getppid()}"])
        code = 0
    except SystemExit as exit:
        code = exit.code if isinstance(exit.code, int) else 0
    except BaseException:
        traceback.print_exc()
    finally:
        # The exit handlers, as at a normal interpreter exit: the packages' (registered in the parent
        # on import, hence the parent must register none of its own) and the chapter's.
        atexit._run_exitfuncs()
        os._exit(code)


def attach(manager, kernel: _ForkedChild) -> None:
    """Make the jupyter_client kernel manager `manager` own the forked `kernel` (listening on the manager's
    connection file) as if it had launched it: it can then interrupt, restart and shut it down."""
    from jupyter_client.provisioning import LocalProvisioner

    provisioner = LocalProvisioner(kernel_id=str(uuid.uuid4()), kernel_spec=manager.kernel_spec, parent=manager)
    provisioner.process, provisioner.pid = kernel, kernel.pid
    provisioner.connection_info = manager.get_connection_info()
    manager.provisioner = provisioner


def _execute_in_client(path: Path, timeout: int):
    """In the client process: fork the kernel, execute the notebook at `path` in it, shut it down."""
    import nbformat
    from jupyter_cache.executors.utils import single_nb_execution
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.utils import run_sync

    notebook = nbformat.read(path, as_version=4)
    manager = AsyncKernelManager()
    manager.write_connection_file()
    pid = os.fork()
    if pid == 0:
        _run_kernel(manager.connection_file, str(path.parent))
    attach(manager, _ForkedChild(pid))
    try:
        result = single_nb_execution(
            notebook, cwd=str(path.parent), timeout=timeout, allow_errors=False, meta_override=True, km=manager
        )
    finally:
        run_sync(manager.shutdown_kernel)()
    return notebook, result.time, result.exc_string if result.err else None


def execute(paths: list[Path], workers: int, timeout: int):
    """Execute the notebooks at `paths`, `workers` at a time, each in its own forked kernel.

    Yields (path, executed notebook, seconds, traceback or None) as each finishes; call `warm_up`
    first. Every notebook is executed by a client process forked from this one, which sends its
    result back through a file.
    """
    pending = list(paths)
    running = {}
    # mkdtemp, not TemporaryDirectory: its clean-up is an exit handler, which every kernel would run.
    folder = tempfile.mkdtemp(prefix="warm-kernels-")
    try:
        while pending or running:
            while pending and len(running) < workers:
                path = pending.pop(0)
                result_file = Path(folder) / f"{len(pending)}.pickle"
                pid = os.fork()
                if pid == 0:
                    _client(path, timeout, result_file)
                running[pid] = path, result_file
            pid, status = os.wait()
            if pid not in running:
                continue
            path, result_file = running.pop(pid)
            if result_file.is_file():
                yield (path, *pickle.loads(result_file.read_bytes()))
            else:
                yield (
                    path,
                    None,
                    0.0,
                    f"the process executing it exited with status {os.waitstatus_to_exitcode(status)}",
                )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _client(path: Path, timeout: int, result_file: Path):
    """The client process's whole life: execute, write the result, exit without the parent's exit handlers."""
    try:
        result = _execute_in_client(path, timeout)
    except BaseException:
        result = None, 0.0, traceback.format_exc()
    try:
        result_file.write_bytes(pickle.dumps(result))
    finally:
        os._exit(0)


def execute_all(paths: list[Path], workers: int, timeout: int) -> list[str]:
    """Execute the notebooks at `paths` (see `execute`) and return the failures, one text per notebook."""
    warm_up()
    return [f"{path.name}: {error[-1500:]}" for path, _, _, error in execute(paths, workers, timeout) if error]


if __name__ == "__main__" and sys.argv[1:2] == ["--serve"]:
    serve(sys.argv[2:] or WARM_MODULES)
elif __name__ == "__main__" and sys.argv[1:2] == ["--execute"]:
    # python tools/warm_kernels.py --execute WORKERS NOTEBOOK...: exit status 1 if any notebook raised.
    failures = execute_all([Path(path) for path in sys.argv[3:]], int(sys.argv[2]), timeout=600)
    print("\n\n".join(failures), file=sys.stderr)
    sys.exit(1 if failures else 0)
