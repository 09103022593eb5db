"""Accuracy of softmax, log_softmax, logsumexp and cross_entropy against a 50-digit mpmath reference.

For every input family of softmax_lib.checks.STRESS_FAMILIES, K from 2 to 10⁵ and float16/32/64,
measures the relative error (in units of the dtype's unit roundoff u) of the naive formula,
the shifted formulas, softmax_lib, its fast paths, scipy.special and torch (CPU), and checks it
against the first-order error bounds of the shifted formulas (Blanchard, Higham & Higham 2021).
The implementations, the 50-digit reference and the bounds are those of the accuracy kit,
softmax_lib.checks.accuracy, which the chapter fast_exact runs at small K.

    python benchmarks/accuracy.py            # K up to 1e5, about a minute or two
    python benchmarks/accuracy.py --quick    # K up to 1e3, a few seconds

Prints one table per function and writes plots to benchmarks/results/ (git-ignored).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

from softmax_lib import reference
from softmax_lib.checks import STRESS_FAMILIES, stress_logits
from softmax_lib.checks.accuracy import accuracy_study, implementations, mp_references

DTYPES = (np.float16, np.float32, np.float64)
RESULTS = Path(__file__).resolve().parent / "results"


def check_reference_against_library() -> None:
    """The kit's mp_references agrees with softmax_lib.reference to the last bit on a small input."""
    z = stress_logits("normal", np.float64, 7, 3, seed=1)
    target = np.array([0, 3, 6])
    ours = mp_references(z, target)
    assert np.array_equal(ours["softmax"], reference.softmax_mp(z))
    assert np.array_equal(ours["log_softmax"], reference.log_softmax_mp(z))
    assert np.array_equal(ours["logsumexp"], reference.logsumexp_mp(z))
    assert np.array_equal(ours["cross_entropy"], reference.cross_entropy_mp(z, target))


# The implementations, the reference and the bounds are the accuracy kit's, as in the chapter fast_exact.
FUNCTIONS = implementations()
# The implementations the goal compares softmax_lib with, and softmax_lib's own entries.
OTHERS = ("scipy", "torch")
OURS = ("softmax_lib", "fast path", "online")


def measure(ks: list[int], families=STRESS_FAMILIES, dtypes=DTYPES) -> dict:
    """errors[function][(family, dtype)][impl] = (max, median) in u; ratios likewise: max error / bound."""
    study = accuracy_study(ks, lambda k: int(np.clip(20_000 // k, 1, 32)), dtypes, families, FUNCTIONS)
    errors: dict = {f: {} for f in FUNCTIONS}
    ratios: dict = {f: {} for f in FUNCTIONS}
    for function, cells in study.items():
        for key, by_impl in cells.items():
            for impl, (err, ratio) in by_impl.items():
                errors[function].setdefault(key, {})[impl] = (
                    float(np.max(err, initial=0.0)),
                    float(np.median(err)) if err.size else 0.0,
                )
                ratios[function].setdefault(key, {})[impl] = float(np.max(ratio, initial=0.0))
    return {"errors": errors, "ratios": ratios}


def fmt(x: float) -> str:
    if math.isinf(x):
        return "inf"
    return f"{x:.3g}" if x < 1e4 else f"{x:.1e}"


def goal_verdicts(errors: dict, ratios: dict, function: str) -> dict:
    """Per (family, dtype): is each of our implementations not worse than the best of SciPy and torch
    (max error ≤ 1.1 × theirs + 1 u: the same algorithm rounds differently by about that much), and is
    its error within the bound?"""
    verdicts = {}
    for key, by_impl in errors[function].items():
        others = [by_impl[o][0] for o in OTHERS if o in by_impl]
        best = min(others) if others else math.inf
        verdicts[key] = {
            impl: (by_impl[impl][0] <= 1.1 * best + 1, ratios[function][key][impl] <= 1)
            for impl in OURS
            if impl in by_impl
        }
    return verdicts


def print_tables(result: dict) -> None:
    errors, ratios = result["errors"], result["ratios"]
    for function, impls in FUNCTIONS.items():
        names = list(impls)
        print(
            f"\n## {function}: max / median relative error in units of u "
            f"(entries whose reference is a normal number of the dtype)"
        )
        header = (
            ["family", "dtype"] + names + ["goal: not worse than SciPy/torch (≤ 1.1 × best + 1 u); max error / bound"]
        )
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        verdicts = goal_verdicts(errors, ratios, function)
        for key, by_impl in errors[function].items():
            cells = [f"{fmt(by_impl[n][0])} / {fmt(by_impl[n][1])}" if n in by_impl else "n/a" for n in names]
            goal = ", ".join(
                f"{impl}: {'ok' if not_worse else 'WORSE'}, "
                f"{'within' if in_bound else 'ABOVE'} bound ({ratios[function][key][impl]:.2g})"
                for impl, (not_worse, in_bound) in verdicts[key].items()
            )
            print("| " + " | ".join([key[0], key[1]] + cells + [goal]) + " |")


def plot(result: dict, folder: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    errors = result["errors"]
    for function, impls in FUNCTIONS.items():
        fig, axes = plt.subplots(1, len(DTYPES), figsize=(15, 4.5), sharey=True)
        for ax, dtype in zip(axes, DTYPES):
            keys = [key for key in errors[function] if key[1] == np.dtype(dtype).name]
            x = np.arange(len(keys))
            for i, impl in enumerate(impls):
                ys = [errors[function][key].get(impl, (np.nan,))[0] for key in keys]
                ys = [1e17 if math.isinf(y) else max(y, 1e-2) for y in ys]
                ax.scatter(x + (i - len(impls) / 2) * 0.08, ys, label=impl, s=18)
            ax.set_yscale("log")
            ax.set_xticks(x, [key[0] for key in keys], rotation=45, ha="right")
            ax.set_title(f"{function}, {np.dtype(dtype).name}")
            ax.set_xlabel("input family")
        axes[0].set_ylabel("max relative error (units of u; 1e17 = inf/NaN)")
        axes[-1].legend(fontsize=8)
        fig.tight_layout()
        path = folder / f"accuracy_{function}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="K up to 1e3 instead of 1e5")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the plots")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # accuracy does not depend on it; keeps the run light on a shared machine
    check_reference_against_library()
    ks = [2, 10, 100, 1000] if args.quick else [2, 100, 10_000, 100_000]
    start = time.perf_counter()
    result = measure(ks)
    print(
        f"K in {ks}, families {', '.join(STRESS_FAMILIES)}; reference: mpmath, 50 digits; "
        f"took {time.perf_counter() - start:.0f} s"
    )
    print_tables(result)
    for path in plot(result, args.out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
