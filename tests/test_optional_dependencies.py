"""softmax_lib's core install: NumPy and array-api-compat only.

`import softmax_lib` must work without the extras of pyproject.toml, and a command that needs an
extra must say which one instead of failing with an ImportError. A core-only install is simulated
in a subprocess whose import system refuses the optional modules, as an environment without them
would. The pins of requirements.txt must agree with pyproject.toml's.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parent.parent
OPTIONAL = ("torch", "mpmath", "sympy", "matplotlib", "scipy", "sklearn")

# Run first in the subprocess: the optional modules are absent, as in an environment without them
# (`import torch` raises ModuleNotFoundError, importlib.util.find_spec("torch") is None).
# A core-only install, simulated: importing an optional module fails as if it were not installed,
# and it never appears in sys.modules (a None entry there would look "imported" to libraries that
# only test `name in sys.modules`, such as array-api-compat).
CORE_ONLY = f"""
import sys


class _NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {OPTIONAL!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None


sys.meta_path.insert(0, _NotInstalled())
"""


def run_python(code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPOSITORY), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=REPOSITORY, env=env, capture_output=True, text=True, timeout=120
    )


def test_import_needs_only_the_core():
    proc = run_python(
        CORE_ONLY
        + """
import numpy as np
import softmax_lib, softmax_lib.audit, softmax_lib.formatting
print(softmax_lib.formatting.significant(softmax_lib.softmax(np.array([0.0, 1.0, 2.0]))))
"""
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[0.0900306, 0.244728, 0.665241]"


def test_import_loads_no_optional_module():
    # With everything installed, too: the optional modules are imported when first used, not before.
    loaded = "sorted({name.partition('.')[0] for name in sys.modules} & set(" + repr(OPTIONAL) + "))"
    proc = run_python(f"import sys, softmax_lib; print({loaded})")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "module",
    [
        "softmax_lib",
        "softmax_lib.verify",
    ],
)
def test_verify_command_names_the_extra_to_install(module):
    proc = run_python(
        CORE_ONLY
        + f"""
import runpy
sys.argv = ["{module}", "--device", "cpu"]
runpy.run_module("{module}", run_name="__main__", alter_sys=True)
"""
    )
    assert proc.returncode == 1, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert "pip install 'softmax_lib[verify]'" in proc.stderr, proc.stderr[-2000:]


def test_doctests_run_on_a_core_only_install():
    # conftest.py leaves out the examples of modules that import an absent optional dependency
    proc = run_python(CORE_ONLY + "import pytest; sys.exit(pytest.main(['softmax_lib', '-q']))")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert re.search(r"\d+ passed", proc.stdout), proc.stdout[-2000:]


def pins(lines: list[str]) -> dict[str, str]:
    """{name: version} of every `name==version` requirement."""
    found = {}
    for line in lines:
        match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*==\s*([^\s#;]+)\s*(?:#.*)?", line)
        if match:
            found[match.group(1).lower().replace("_", "-")] = match.group(2)
    return found


def test_requirements_pins_agree_with_pyproject():
    project = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    pinned_extras = pins([requirement for group in extras.values() for requirement in group])
    requirements = (REPOSITORY / "requirements.txt").read_text().splitlines()
    pinned_requirements = pins(requirements)
    assert "-e .[" + ",".join(sorted(extras)) + "]" in [line.strip() for line in requirements]
    for name, version in pinned_requirements.items():
        in_pyproject = pinned_extras.get(name, version)
        assert in_pyproject == version, f"{name}: {version} in requirements.txt, {in_pyproject} in pyproject.toml"
    # every extra pins exactly; torch is pinned wherever it is named
    unpinned = [r for group in extras.values() for r in group if "==" not in r and not r.startswith("softmax_lib[")]
    assert not unpinned, f"extras with an open version: {unpinned}"
    assert pinned_extras["torch"] == pinned_requirements["torch"] == "2.13.0"
    core = {re.split(r"[<>=!~ ]", requirement)[0] for requirement in project["dependencies"]}
    assert core == {"numpy", "array-api-compat"}
