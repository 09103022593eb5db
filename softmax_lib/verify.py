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
from dataclasses import replace
from typing import Any, Callable

import numpy as np

from . import checks
from ._softmax import softmax

SEED = 20261121


def check_cases() -> list[tuple[str, Callable[[str, Any], list[checks.CheckResult]]]]:
    """(name, run(dtype, device)) for every case; the data is drawn once, from a fixed seed."""
    rng = np.random.default_rng(SEED)
    z_vector = rng.normal(scale=2.0, size=6)
    z_batch, v_batch = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    logits = rng.normal(scale=3.0, size=(6, 4))
    class_targets = rng.integers(0, 4, size=6)
    probability_targets = softmax(rng.normal(size=(6, 4)))
    spatial_logits, spatial_targets = rng.normal(size=(3, 4, 2)), rng.integers(0, 4, size=(3, 2))
    hessian_z, hessian_class, hessian_probabilities = rng.normal(size=5), np.array(2), softmax(rng.normal(size=5))
    layer = (rng.normal(size=(6, 5)), rng.normal(size=(4, 5)), rng.normal(size=4), rng.integers(0, 4, size=6))
    wide_logits, wide_targets = rng.normal(scale=3.0, size=(8, 10)), rng.integers(0, 10, size=8)

    cases = [
        ("softmax Jacobian", lambda dt, dev: checks.check_softmax_jacobian(z_vector, dt, dev)),
        ("softmax VJP", lambda dt, dev: checks.check_softmax_vjp(z_batch, v_batch, 0, dt, dev)),
    ]
    for kind, target in (("index", class_targets), ("probability", probability_targets)):
        for reduction in ("mean", "sum", "none"):
            cases.append((
                f"p − y, {kind} target, {reduction}",
                lambda dt, dev, t=target, r=reduction: checks.check_cross_entropy(logits, t, -1, r, dt, dev),
            ))
    cases += [
        ("p − y, classes on axis 1",
         lambda dt, dev: [replace(r, name=f"{r.name}, classes on axis 1") for r in
                          checks.check_cross_entropy(spatial_logits, spatial_targets, 1, "mean", dt, dev)]),
        ("loss Hessian, index target", lambda dt, dev: checks.check_loss_hessian(hessian_z, hessian_class, dt, dev)),
        ("loss Hessian, probability target",
         lambda dt, dev: checks.check_loss_hessian(hessian_z, hessian_probabilities, dt, dev)),
        ("output-layer gradients", lambda dt, dev: checks.check_output_layer_gradients(*layer, dt, dev)),
        ("against the 50-digit reference",
         lambda dt, dev: checks.check_against_float64(wide_logits, wide_targets, dt, dev)),
    ]
    return cases


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
        (result.name, dtype, device, f"{result.max_error:.2e}", f"{result.tolerance:.2e}",
         "yes" if result.passed else "FAIL")
        for dtype, device, result in rows
    ]
    widths = [max(len(str(line[i])) for line in [header, *lines]) for i in range(len(header))]
    fmt = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join([fmt(header), fmt(["-" * w for w in widths])] + [fmt(line) for line in lines])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m softmax_lib.verify", description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=("cpu", "cuda"), default=None,
                        help="where softmax_lib and torch run (default: softmax_lib.checks.torch_device())")
    parser.add_argument("--dtype", nargs="+", choices=checks.DTYPES, default=None,
                        help="dtypes to check in (default: all that the device supports)")
    args = parser.parse_args(argv)

    import torch

    if args.device is None:
        args.device = checks.torch_device().type
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
    print(f"\n{len(rows)} comparisons on {args.device}: "
          + (f"{failed} FAILED" if failed else "all passed"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
