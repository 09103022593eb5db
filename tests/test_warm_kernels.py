"""The forked kernels of tools/warm_kernels.py (make book, pytest --nb-warm-kernels): each notebook
gets a real kernel of its own, in its own folder, that shares nothing with another notebook's, and
a failing cell is reported, not lost."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent


def _notebook(folder: Path, name: str, *sources: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in sources])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = folder / name
    nbformat.write(notebook, path)
    return path


def test_each_notebook_runs_in_its_own_forked_kernel_in_its_folder(tmp_path):
    first = _notebook(
        tmp_path / "a",
        "first.ipynb",
        "import numpy, os\nshared = 1\nprint(os.getcwd())",
        "import matplotlib.pyplot as plt\nplt.plot([0, 1])\nplt.show()",  # inline, as in a new kernel
    )
    second = _notebook(tmp_path / "b", "second.ipynb", "import os\nprint(os.getcwd(), 'shared' in globals())")
    failing = _notebook(tmp_path / "a", "failing.ipynb", "assert 1 + 1 == 3, 'arithmetic'")
    # In a process of its own: forking is only safe from one that has run no thread pool (see the module).
    script = textwrap.dedent(
        f"""
        import json, sys
        sys.path.insert(0, {str(ROOT / "tools")!r})
        import warm_kernels
        from pathlib import Path
        warm_kernels.warm_up(("numpy", "matplotlib", "ipykernel.kernelapp"))
        paths = [Path(p) for p in {[str(first), str(second), str(failing)]!r}]
        results = {{}}
        for path, notebook, seconds, error in warm_kernels.execute(paths, 2, 60):
            outputs = [o for c in notebook.cells for o in c.outputs] if notebook else []
            text = [o["text"] for o in outputs if "text" in o]
            images = sum("image/png" in o.get("data", {{}}) for o in outputs)
            results[path.name] = {{"text": text, "images": images, "error": error}}
        print(json.dumps(results))
        """
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    results = json.loads(run.stdout.strip().splitlines()[-1])
    assert results["first.ipynb"] == {"text": [f"{tmp_path / 'a'}\n"], "images": 1, "error": None}
    assert results["second.ipynb"] == {"text": [f"{tmp_path / 'b'} False\n"], "images": 0, "error": None}
    assert "AssertionError" in results["failing.ipynb"]["error"] and "arithmetic" in results["failing.ipynb"]["error"]


def test_the_fork_server_starts_a_kernel_that_a_client_can_use_and_stop(tmp_path):
    from jupyter_client.manager import KernelManager

    sys.path.insert(0, str(ROOT / "tools"))
    try:
        from warm_kernels import KernelServer
    finally:
        sys.path.pop(0)
    server = KernelServer(modules=("numpy", "ipykernel.kernelapp"))
    try:
        manager = KernelManager()
        manager.write_connection_file()
        kernel = server.start_kernel(manager.connection_file, str(tmp_path))
        client = manager.client()
        client.start_channels()
        client.wait_for_ready(timeout=60)
        outputs = []
        reply = client.execute_interactive("import os; print(os.getcwd())", timeout=60, output_hook=outputs.append)
        assert reply["content"]["status"] == "ok"
        assert [m["content"].get("text") for m in outputs if m["msg_type"] == "stream"] == [f"{tmp_path}\n"]
        assert kernel.poll() is None
        client.stop_channels()
        kernel.terminate()
        assert kernel.wait(timeout=30) == 0
    finally:
        server.close()


def test_the_command_line_fails_on_a_failing_notebook_and_names_only_it(tmp_path):
    """`python tools/warm_kernels.py --execute WORKERS NOTEBOOK...` (the Colab-like test runs the chapters so)."""
    passing = _notebook(tmp_path / "a", "passing.ipynb", "import numpy\nassert numpy.ones(2).sum() == 2")
    failing = _notebook(tmp_path / "b", "failing.ipynb", "assert 1 + 1 == 3, 'arithmetic'")
    command = [sys.executable, str(ROOT / "tools" / "warm_kernels.py"), "--execute", "2", str(passing), str(failing)]
    run = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert run.returncode == 1
    assert "failing.ipynb" in run.stderr and "arithmetic" in run.stderr and "passing.ipynb" not in run.stderr
