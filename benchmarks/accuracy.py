"""Accuracy of softmax, log_softmax, logsumexp and cross_entropy against a 50-digit mpmath reference.

For every input family of softmax_lib.checks.STRESS_FAMILIES, K from 2 to 10⁵ and float16/32/64,
measures the relative error (in units of the dtype's unit roundoff u) of the naive formula,
the shifted formulas, softmax_lib, its fast paths, scipy.special and torch (CPU), and checks it
against the first-order error bounds of the shifted formulas (Blanchard, Higham & Higham 2021).

    python benchmarks/accuracy.py            # K up to 1e5, about a minute or two
    python benchmarks/accuracy.py --quick    # K up to 1e3, a few seconds

Prints one table per function and writes plots to benchmarks/results/ (git-ignored).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings
from pathlib import Path

import mpmath
import numpy as np
import scipy.special
import torch

import softmax_lib as sl
from softmax_lib import reference
from softmax_lib.checks import (
    STRESS_FAMILIES,
    relative_error_units,
    shifted_log_softmax_bound_units,
    shifted_logsumexp_bound_units,
    shifted_softmax_bound_units,
    stress_logits,
)

DTYPES = (np.float16, np.float32, np.float64)
RESULTS = Path(__file__).resolve().parent / "results"


# --- the 50-digit reference, one pass of mpmath exps per row ------------------------------------


def mp_references(z: np.ndarray, target: np.ndarray, dps: int = 50) -> dict[str, np.ndarray]:
    """softmax, log_softmax, logsumexp and the index-target cross-entropy of the rows of z, in `dps` digits.

    The formulas of softmax_lib.reference, with each row's exps computed once for all four functions
    (calling the four reference functions would compute them four times, at K up to 10⁵).
    check_reference_against_library() asserts that both give the same bits.
    """
    rows = np.asarray(z, dtype=np.float64)
    out = {name: np.empty(rows.shape) for name in ("softmax", "log_softmax")}
    out["logsumexp"] = np.empty(rows.shape[0])
    out["cross_entropy"] = np.empty(rows.shape[0])
    with mpmath.workdps(dps):
        for r, row in enumerate(rows):
            values = [mpmath.mpf(float(v)) for v in row]
            exps = [mpmath.exp(v) for v in values]
            total = mpmath.fsum(exps)
            lse = mpmath.log(total)
            out["softmax"][r] = [float(e / total) for e in exps]
            out["log_softmax"][r] = [float(v - lse) for v in values]
            out["logsumexp"][r] = float(lse)
            out["cross_entropy"][r] = float(lse - values[target[r]])
    return out


def check_reference_against_library() -> None:
    """mp_references agrees with softmax_lib.reference to the last bit on a small input."""
    z = stress_logits("normal", np.float64, 7, 3, seed=1)
    target = np.array([0, 3, 6])
    ours = mp_references(z, target)
    assert np.array_equal(ours["softmax"], reference.softmax_mp(z))
    assert np.array_equal(ours["log_softmax"], reference.log_softmax_mp(z))
    assert np.array_equal(ours["logsumexp"], reference.logsumexp_mp(z))
    assert np.array_equal(ours["cross_entropy"], reference.cross_entropy_mp(z, target))


# --- the implementations ------------------------------------------------------------------------


def _torch(fn):
    def run(z, *args):
        with torch.no_grad():
            return fn(torch.from_numpy(np.ascontiguousarray(z)), *args).numpy()

    return run


def _naive_softmax(z):
    e = np.exp(z)
    return e / np.sum(e, axis=-1, keepdims=True)


def _shifted_lse(z):
    m = np.max(z, axis=-1, keepdims=True)
    return m + np.log(np.sum(np.exp(z - m), axis=-1, keepdims=True))


def _pick(values, target):
    return np.take_along_axis(values, target[:, None], axis=-1)[:, 0]


SOFTMAX = {
    "naive": _naive_softmax,
    "shifted exp(z-lse)": lambda z: np.exp(z - _shifted_lse(z)),
    "softmax_lib": sl.softmax,
    "blocked": sl.blocked_softmax,
    "online": lambda z: sl.online_softmax(z, chunk_size=1024),
    "scipy": lambda z: scipy.special.softmax(z, axis=-1),
    "torch": _torch(lambda t: torch.softmax(t, -1)),
}
LOG_SOFTMAX = {
    "naive": lambda z: np.log(_naive_softmax(z)),
    "softmax_lib": sl.log_softmax,
    "blocked": sl.blocked_log_softmax,
    "scipy": lambda z: scipy.special.log_softmax(z, axis=-1),
    "torch": _torch(lambda t: torch.log_softmax(t, -1)),
}
LOGSUMEXP = {
    "naive": lambda z: np.log(np.sum(np.exp(z), axis=-1)),
    "softmax_lib": sl.logsumexp,
    "blocked": sl.blocked_logsumexp,
    "online": lambda z: sl.online_logsumexp(z, chunk_size=1024),
    "scipy": lambda z: scipy.special.logsumexp(z, axis=-1),
    "torch": _torch(lambda t: torch.logsumexp(t, -1)),
}
CROSS_ENTROPY = {
    "naive": lambda z, y: -np.log(_pick(_naive_softmax(z), y)),
    "softmax_lib": lambda z, y: sl.cross_entropy(z, y, reduction="none"),
    "fused": lambda z, y: sl.cross_entropy_with_grad(z, y, reduction="none")[0],
    "scipy": lambda z, y: -_pick(scipy.special.log_softmax(z, axis=-1), y),
    "torch": lambda z, y: torch.nn.functional.cross_entropy(
        torch.from_numpy(z), torch.from_numpy(y), reduction="none"
    ).numpy(),
}
FUNCTIONS = {"softmax": SOFTMAX, "log_softmax": LOG_SOFTMAX, "logsumexp": LOGSUMEXP, "cross_entropy": CROSS_ENTROPY}
# The implementations the goal compares softmax_lib with, and softmax_lib's own entries.
OTHERS = ("scipy", "torch")
OURS = ("softmax_lib", "blocked", "fused", "online")


def bound_units(function: str, z: np.ndarray, ref: np.ndarray, target: np.ndarray) -> np.ndarray:
    k = z.shape[-1]
    if function == "softmax":
        return shifted_softmax_bound_units(z)
    if function == "log_softmax":
        return shifted_log_softmax_bound_units(z, ref)
    if function == "logsumexp":
        return shifted_logsumexp_bound_units(ref, k)
    # The loss is −log p_c: the log_softmax bound at the target entry.
    z64 = z.astype(np.float64)
    distance = np.max(z64, axis=-1) - _pick(z64, target)
    with np.errstate(divide="ignore"):
        return 1 + (distance + k + 1 + np.log(k)) / np.abs(ref)


def measure(ks: list[int], families=STRESS_FAMILIES, dtypes=DTYPES, seed: int = 0) -> dict:
    """errors[function][(family, dtype)][impl] = (max, median) in u; bound_ratio likewise: max error / bound."""
    errors: dict = {f: {} for f in FUNCTIONS}
    ratios: dict = {f: {} for f in FUNCTIONS}
    for dtype in dtypes:
        for family in families:
            collected = {f: {impl: [] for impl in impls} for f, impls in FUNCTIONS.items()}
            ratio = {f: {impl: [] for impl in impls} for f, impls in FUNCTIONS.items()}
            for k in ks:
                rows = int(np.clip(20_000 // k, 1, 32))
                z = stress_logits(family, dtype, k, rows, seed=seed)
                target = np.random.default_rng(seed + k).integers(0, k, size=rows)
                refs = mp_references(z, target)
                for function, impls in FUNCTIONS.items():
                    ref = refs[function]
                    bound = bound_units(function, z, ref, target)
                    keep = np.isfinite(ref) & (np.abs(ref) >= float(np.finfo(dtype).tiny))
                    for impl, fn in impls.items():
                        try:
                            with warnings.catch_warnings(), np.errstate(all="ignore"):
                                warnings.simplefilter("ignore")
                                got = fn(z, target) if function == "cross_entropy" else fn(z)
                        except (RuntimeError, TypeError, NotImplementedError):
                            continue  # e.g. a float16 kernel torch lacks on the CPU
                        err = relative_error_units(got, ref, dtype)
                        collected[function][impl].append(err)
                        ratio[function][impl].append(err / bound[keep])
            for function in FUNCTIONS:
                for impl, parts in collected[function].items():
                    if not parts:
                        continue
                    err = np.concatenate(parts)
                    rat = np.concatenate(ratio[function][impl])
                    key = (family, np.dtype(dtype).name)
                    if err.size == 0:
                        errors[function].setdefault(key, {})[impl] = (0.0, 0.0)
                        ratios[function].setdefault(key, {})[impl] = 0.0
                        continue
                    errors[function].setdefault(key, {})[impl] = (float(np.max(err)), float(np.median(err)))
                    ratios[function].setdefault(key, {})[impl] = float(np.max(rat))
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
