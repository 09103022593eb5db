"""Run the book's check matrix on one device, outside the notebooks.

    python -m softmax_lib.verify [--device cpu|cuda] [--dtype float64 float32 float16 bfloat16]

Every derived identity (softmax Jacobian, VJP, p − y for index and probability targets, loss
Hessian, output-layer gradients, low precision against a 50-digit reference) is checked with the
functions in softmax_lib.checks that the chapters use, with softmax_lib running on torch tensors
on the device, against torch autograd in the same dtype and against float64 central differences.
Prints one row per comparison and exits with status 1 if any fails.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

from . import checks
from ._extras import require_extra


def check_cases() -> list[tuple[str, Callable[[str, Any], list[checks.CheckResult]]]]:
    """(name, run(dtype, device)) for every registered case (softmax_lib.checks.registry)."""
    return [(case.name, case.run) for case in checks.CASES]


def supported_dtypes(device: str) -> list[str]:
    """The dtypes torch computes in on `device`: all four, less bfloat16 on a GPU without it."""
    import torch

    if device == "cuda" and not torch.cuda.is_bf16_supported():
        return [d for d in checks.DTYPES if d != "bfloat16"]
    return list(checks.DTYPES)


def format_table(rows: list[tuple[str, str, checks.CheckResult]]) -> str:
    """One line per comparison: check, dtype, device, max error, tolerance, pass."""
    header = ("check", "dtype", "device", "max error", "tolerance", "pass")
    lines = [
        (
            result.name,
            dtype,
            device,
            f"{result.max_error:.2e}",
            f"{result.tolerance:.2e}",
            "yes" if result.passed else "FAIL",
        )
        for dtype, device, result in rows
    ]
    widths = [max(len(str(line[i])) for line in [header, *lines]) for i in range(len(header))]
    fmt = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join([fmt(header), fmt(["-" * w for w in widths])] + [fmt(line) for line in lines])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m softmax_lib.verify", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--device",
        choices=("cpu", "cuda"),
        default=None,
        help="where softmax_lib and torch run (default: softmax_lib.checks.torch_device())",
    )
    parser.add_argument(
        "--dtype",
        nargs="+",
        action="extend",
        choices=checks.DTYPES,
        default=None,
        help="dtypes to check in, in one list or repeated (default: all that the device supports)",
    )
    args = parser.parse_args(argv)
    if args.dtype:
        args.dtype = list(dict.fromkeys(args.dtype))  # --dtype float64 --dtype float32 runs both, once each

    import torch

    try:
        default_device = checks.torch_device().type
    except (ValueError, RuntimeError) as error:  # a bad SOFTMAX_LIB_DEVICE: one line, no traceback
        parser.error(str(error))
    args.device = args.device or default_device
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: torch sees no CUDA device")
    supported = supported_dtypes(args.device)
    unsupported = [d for d in args.dtype or [] if d not in supported]
    if unsupported:
        parser.error(f"--dtype {' '.join(unsupported)}: not supported on {args.device}")
    args.dtype = args.dtype or supported
    return args


def progress(line: str, tty: bool, last: bool = False) -> None:
    """Overwrite one status line on a terminal; print plain lines to a log file."""
    if tty:
        print("\r" + line.ljust(60), end="\n" if last else "", file=sys.stderr, flush=True)
    else:
        print(line, file=sys.stderr, flush=True)


def run_case(case: str, run: Callable, dtype: str, device: str) -> list[checks.CheckResult]:
    """The case's results; a case that raises (say, an operation missing for a dtype on a device)
    becomes one failed row with the error as its name, so the table is still printed."""
    try:
        return run(dtype, device)
    except Exception as error:  # noqa: BLE001 - reported in the table and in the exit status
        return [checks.CheckResult(f"{case}: raised {type(error).__name__}: {error}", float("nan"), float("nan"))]


def main(argv: list[str] | None = None) -> int:
    require_extra("verify", "python -m softmax_lib.verify")
    args = parse_args(argv)
    cases = check_cases()
    total = len(cases) * len(args.dtype)
    rows, start = [], time.perf_counter()
    tty = sys.stderr.isatty()
    matrix = [(dtype, case, run) for dtype in args.dtype for case, run in cases]
    for done, (dtype, case, run) in enumerate(matrix, start=1):
        # a counter on stderr, so that stdout holds the table alone; one line per case in a log file
        progress(f"[{done}/{total}] {dtype} {case}", tty)
        rows += [(dtype, args.device, result) for result in run_case(case, run, dtype, args.device)]
    progress(f"{total} cases in {time.perf_counter() - start:.1f} s", tty, last=True)

    print(format_table(rows))
    failed = sum(not result.passed for *_, result in rows)
    print(f"\n{len(rows)} comparisons on {args.device}: " + (f"{failed} FAILED" if failed else "all passed"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
