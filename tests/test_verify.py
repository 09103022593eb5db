"""`python -m softmax_lib.verify`: runs, prints its table, and fails when a check fails."""

import subprocess
import sys

import pytest
import torch

from softmax_lib.checks import DTYPES


def run(*args, code=None):
    command = [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "softmax_lib.verify", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def table_rows(stdout):
    lines = stdout.splitlines()
    assert lines[0].split() == ["check", "dtype", "device", "max", "error", "tolerance", "pass"]
    return [line for line in lines[2:] if line.strip() and not line.startswith(tuple("0123456789"))]


def test_cpu_run_passes_and_prints_the_table():
    result = run("--device", "cpu")
    assert result.returncode == 0, result.stdout + result.stderr
    rows = table_rows(result.stdout)
    for dtype in DTYPES:
        assert any(f"  {dtype}  " in row for row in rows), dtype
    for check in (
        "softmax_jacobian vs torch autograd",
        "softmax_vjp vs torch autograd",
        "index target",
        "probability target",
        "loss Hessian",
        "∂L/∂W of a linear output layer",
        "vs central differences",
        "50-digit reference",
    ):
        assert any(check in row for row in rows), check
    assert all(row.split()[-1] == "yes" and "  cpu  " in row for row in rows)
    assert result.stdout.rstrip().endswith("all passed")
    assert "[1/" in result.stderr  # the progress counter goes to stderr


def test_dtype_selection():
    result = run("--device", "cpu", "--dtype", "float16")
    assert result.returncode == 0, result.stdout + result.stderr
    assert {row.split()[-5] for row in table_rows(result.stdout)} == {"float16"}


def test_a_repeated_dtype_option_runs_every_dtype_named():
    result = run("--device", "cpu", "--dtype", "float64", "--dtype", "float32")
    assert result.returncode == 0, result.stdout + result.stderr
    assert {row.split()[-5] for row in table_rows(result.stdout)} == {"float64", "float32"}


def test_every_registered_case_is_in_the_table():
    from softmax_lib.checks import CASES
    from softmax_lib.verify import check_cases

    assert [name for name, _ in check_cases()] == [case.name for case in CASES]


def test_a_bad_device_variable_is_a_one_line_usage_error():
    import os

    env = {**os.environ, "SOFTMAX_LIB_DEVICE": "bogus"}
    result = subprocess.run(
        [sys.executable, "-m", "softmax_lib.verify", "--dtype", "float64"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "SOFTMAX_LIB_DEVICE must be cpu, cuda or auto, got 'bogus'" in result.stderr.splitlines()[-1]


PLANTED = """
import sys, torch
import softmax_lib.checks.derivatives as checks
from softmax_lib.verify import main

correct = checks.softmax_jacobian

def diagonal_only(z, axis=-1):  # the classic mistake: ∂p_i/∂z_i = p_i(1 − p_i), nothing off the diagonal
    jacobian = correct(z, axis)
    return jacobian * torch.eye(jacobian.shape[-1], dtype=jacobian.dtype, device=jacobian.device)

checks.softmax_jacobian = diagonal_only
sys.exit(main(sys.argv[1:]))
"""


def test_planted_failure_exits_non_zero():
    result = run("--device", "cpu", "--dtype", "float64", "float32", code=PLANTED)
    assert result.returncode == 1, result.stdout + result.stderr
    failed = [row for row in table_rows(result.stdout) if row.split()[-1] == "FAIL"]
    # exactly the comparisons that use softmax_jacobian fail, in both dtypes
    assert failed and all(
        row.startswith(("softmax_jacobian vs", "softmax_vjp vs explicit", "loss Hessian")) for row in failed
    )
    assert {row.split()[-5] for row in failed} == {"float64", "float32"}
    assert "FAILED" in result.stdout.splitlines()[-1]


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present")
def test_cuda_without_a_gpu_is_a_usage_error():
    result = run("--device", "cuda")
    assert result.returncode == 2 and "torch sees no CUDA device" in result.stderr


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device: torch.cuda.is_available() is False")
def test_cuda_run_passes():
    result = run("--device", "cuda")
    assert result.returncode == 0, result.stdout + result.stderr
    assert all("  cuda  " in row for row in table_rows(result.stdout))


RAISING = """
import sys
import softmax_lib.checks.cases as checks
from softmax_lib.verify import main

def missing_kernel(*args, **kwargs):
    raise RuntimeError("no kernel for this dtype")

checks.check_output_layer_gradients = missing_kernel
sys.exit(main(sys.argv[1:]))
"""


def test_a_check_that_raises_is_a_failed_row():
    result = run("--device", "cpu", "--dtype", "float32", code=RAISING)
    assert result.returncode == 1, result.stdout + result.stderr
    failed = [row for row in table_rows(result.stdout) if row.split()[-1] == "FAIL"]
    assert len(failed) == 1 and "raised RuntimeError: no kernel for this dtype" in failed[0]
