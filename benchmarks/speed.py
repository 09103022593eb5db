"""Speed and memory of softmax_lib against scipy.special and torch (CPU).

Times softmax, log_softmax, cross_entropy, cross_entropy_grad and loss + gradient at sizes from
1 × 10 to 4096 × 32000, float32 and float64. Absolute times depend on the machine and on its load,
so every comparison is a ratio measured in the same run: the implementations are interleaved in
rounds (softmax_lib.checks.timing.interleaved_times), a time is the minimum over the rounds, and a
ratio is formed within each round, so that its spread (min, median, max over the rounds) shows the noise.

    python benchmarks/speed.py           # full sweep, a few minutes, up to ~4 GB of memory
    python benchmarks/speed.py --quick   # up to 256 × 32000, well under a minute

Prints the tables and writes the result file softmax_lib/checks/results/speed.json (--quick:
benchmarks/results/speed_quick.json, git-ignored): the command, date, machine (cores, CPU model,
load, versions) and every timing with its rounds and ratios; the chapters and README cite the
committed full run. Also writes benchmarks/results/speed_throughput.png (git-ignored).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy.special
import torch

import softmax_lib as sl
from softmax_lib._blocked import available_cores
from softmax_lib.checks.timing import RESULTS as COMMITTED
from softmax_lib.checks.timing import fastest, interleaved_times, last_level_cache_bytes, run_header, spread

RESULTS = Path(__file__).resolve().parent / "results"
FULL_SIZES = [(1, 10), (32, 1000), (256, 32000), (1024, 32000), (4096, 32000)]
QUICK_SIZES = [(1, 10), (32, 1000), (256, 32000)]
GOAL_SIZE = (4096, 32000)


def best_times(candidates: dict[str, Callable[[], object]], repeats: int, budget_s: float = 0.05) -> dict[str, float]:
    """Minimum time per call of each candidate over `repeats` interleaved rounds."""
    return fastest(interleaved_times(candidates, rounds=repeats, budget_s=budget_s))


def torch_loss_and_grad(z: np.ndarray, target: np.ndarray):
    z_t = torch.from_numpy(z).requires_grad_(True)
    loss = torch.nn.functional.cross_entropy(z_t, torch.from_numpy(target))
    loss.backward()
    return loss, z_t.grad


def candidates_for(op: str, z: np.ndarray, target: np.ndarray) -> dict[str, Callable[[], object]]:
    out = np.empty_like(z)
    z_t, target_t = torch.from_numpy(z), torch.from_numpy(target)
    if op == "softmax":
        return {
            "softmax_lib.softmax": lambda: sl.softmax(z),
            "blocked_softmax": lambda: sl.blocked_softmax(z),
            "blocked_softmax(out=)": lambda: sl.blocked_softmax(z, out=out),
            "scipy": lambda: scipy.special.softmax(z, axis=-1),
            "torch": lambda: torch.softmax(z_t, -1),
        }
    if op == "log_softmax":
        return {
            "softmax_lib.log_softmax": lambda: sl.log_softmax(z),
            "blocked_log_softmax": lambda: sl.blocked_log_softmax(z),
            "scipy": lambda: scipy.special.log_softmax(z, axis=-1),
            "torch": lambda: torch.log_softmax(z_t, -1),
        }
    if op == "cross_entropy":
        return {
            "softmax_lib.cross_entropy": lambda: sl.cross_entropy(z, target),
            "torch": lambda: torch.nn.functional.cross_entropy(z_t, target_t),
        }
    if op == "cross_entropy_grad":
        return {
            "softmax_lib.cross_entropy_grad": lambda: sl.cross_entropy_grad(z, target),
            "torch fwd+bwd": lambda: torch_loss_and_grad(z, target),
        }
    if op == "loss+grad":
        return {
            "cross_entropy + _grad": lambda: (sl.cross_entropy(z, target), sl.cross_entropy_grad(z, target)),
            "cross_entropy_with_grad": lambda: sl.cross_entropy_with_grad(z, target),
            "cross_entropy_with_grad(out=)": lambda: sl.cross_entropy_with_grad(z, target, out=out),
            "torch fwd+bwd": lambda: torch_loss_and_grad(z, target),
        }
    raise ValueError(op)


OPS = ("softmax", "log_softmax", "cross_entropy", "cross_entropy_grad", "loss+grad")
# The public function each comparison is against (ratios = their time / its time, per round).
OURS = {
    "softmax": "softmax_lib.softmax",
    "log_softmax": "softmax_lib.log_softmax",
    "cross_entropy": "softmax_lib.cross_entropy",
    "cross_entropy_grad": "softmax_lib.cross_entropy_grad",
    "loss+grad": "cross_entropy_with_grad",
}
# (op, other implementation, ratio needed) at GOAL_SIZE, float32.
GOALS = [
    ("softmax", "scipy", 2.0),
    ("softmax", "torch", 1.25),
    ("cross_entropy", "torch", 1.0),
    ("cross_entropy_grad", "torch fwd+bwd", 1.0),
    ("loss+grad", "torch fwd+bwd", 1.0),
]


def verdict(ratio: dict[str, float], need: float) -> str:
    """ "holds" if every round's ratio reaches `need`; "missed" if the median does not; else "not shown"."""
    if ratio["min"] >= need:
        return "holds"
    return "missed" if ratio["median"] < need else "not shown (the spread straddles the goal)"


def limits(dtype) -> dict[str, float]:
    """Memory-copy bandwidth (GB/s, bytes read + written) and exp throughput of one core (GB/s of
    input + output), the two ceilings for a softmax pass. The copy runs over 4 × the last-level cache,
    so that it streams from and to main memory."""
    big = np.ones(4 * last_level_cache_bytes() // np.dtype(dtype).itemsize, dtype=dtype)
    dst = np.empty_like(big)
    small = np.linspace(-10, 0, 8192, dtype=dtype)
    small_out = np.empty_like(small)
    t = best_times({"copy": lambda: np.copyto(dst, big), "exp": lambda: np.exp(small, out=small_out)}, repeats=5)
    return {
        "memory copy": 2 * big.nbytes / t["copy"] / 1e9,
        "exp, one core": 2 * small.nbytes / t["exp"] / 1e9,
        "exp, one core, G elements/s": small.size / t["exp"] / 1e9,
    }


def time_breakdown(z: np.ndarray) -> dict[str, float]:
    """Seconds of each of the five passes of the textbook softmax over the whole array (into a reused
    buffer), of getting fresh memory for a result, and of the blocked kernel."""
    m = np.max(z, axis=-1, keepdims=True)
    shifted, e = z - m, np.empty_like(z)
    s = np.sum(np.exp(shifted), axis=-1, keepdims=True)
    steps = {
        "max (read)": lambda: np.max(z, axis=-1, keepdims=True),
        "z - m (read, write)": lambda: np.subtract(z, m, out=e),
        "exp (read, write)": lambda: np.exp(shifted, out=e),
        "sum (read)": lambda: np.sum(e, axis=-1, keepdims=True),
        "divide (read, write)": lambda: np.divide(e, s, out=e),
        "fresh output: allocate + first write (page faults)": lambda: np.ones_like(z),
        "write into an existing buffer": lambda: e.fill(1),
        "blocked, 1 thread": lambda: sl.blocked_softmax(z, out=e, threads=1),
        f"blocked, {available_cores()} threads": lambda: sl.blocked_softmax(z, out=e),
    }
    return best_times(steps, repeats=3, budget_s=0.01)


def single_core_report(shape: tuple[int, int], repeats: int) -> dict[str, float]:
    """The same comparison with every implementation on one thread: per-core efficiency, which a busy
    machine distorts less than a race between thread pools."""
    rng = np.random.default_rng(1)
    z = (3 * rng.standard_normal(shape)).astype(np.float32)
    target = rng.integers(0, shape[1], size=shape[0])
    z_t = torch.from_numpy(z)
    threads_before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        times = best_times(
            {
                "blocked_softmax(threads=1)": lambda: sl.blocked_softmax(z, threads=1),
                "scipy.special.softmax": lambda: scipy.special.softmax(z, axis=-1),
                "torch.softmax, 1 thread": lambda: torch.softmax(z_t, -1),
                "cross_entropy_with_grad(threads=1)": lambda: sl.cross_entropy_with_grad(z, target, threads=1),
                "torch fwd+bwd, 1 thread": lambda: torch_loss_and_grad(z, target),
            },
            repeats,
        )
    finally:
        torch.set_num_threads(threads_before)
    print(f"\n## One thread each, {shape[0]} × {shape[1]} float32 (ms; ratio = their time / ours)")
    sm, ce = times["blocked_softmax(threads=1)"], times["cross_entropy_with_grad(threads=1)"]
    for name, t in times.items():
        ours = sm if "softmax" in name else ce
        print(f"| {name} | {t * 1e3:.4g} | {t / ours:.2f} |")
    times["exp alone over the batch, 1 thread"] = exp_time(z)
    print(f"| exp alone over the batch, 1 thread | {times['exp alone over the batch, 1 thread'] * 1e3:.4g} | |")
    return times


def exp_time(z: np.ndarray) -> float:
    out = np.empty_like(z)
    return best_times({"exp": lambda: np.exp(z, out=out)}, repeats=3)["exp"]


def peak_bytes(fn: Callable[[], object]) -> int:
    gc.collect()
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def memory_report(shape: tuple[int, int]) -> tuple[list[tuple[str, int, int]], int]:
    """(path, peak traced bytes, would-be Jacobian bytes) for the gradient paths at `shape`, float32."""
    rng = np.random.default_rng(0)
    z = rng.standard_normal(shape, dtype=np.float32)
    v = rng.standard_normal(shape, dtype=np.float32)
    target = rng.integers(0, shape[1], size=shape[0])
    jacobian = shape[0] * shape[1] ** 2 * 4
    rows = []
    for name, fn in [
        ("softmax_vjp", lambda: sl.softmax_vjp(z, v)),
        ("cross_entropy + cross_entropy_grad", lambda: (sl.cross_entropy(z, target), sl.cross_entropy_grad(z, target))),
        ("cross_entropy_with_grad", lambda: sl.cross_entropy_with_grad(z, target)),
        (
            "cross_entropy_with_grad(overwrite_logits=True)",
            lambda: sl.cross_entropy_with_grad(z, target, overwrite_logits=True),
        ),
    ]:
        rows.append((name, peak_bytes(fn), jacobian))
    return rows, z.nbytes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sizes up to 256 × 32000")
    parser.add_argument("--repeats", type=int, default=None, help="rounds per timing (default 5, quick 3)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the plot")
    parser.add_argument("--json", type=Path, default=None, help="result file (default: see above)")
    args = parser.parse_args(argv)
    sizes = QUICK_SIZES if args.quick else FULL_SIZES
    repeats = args.repeats or (3 if args.quick else 5)
    json_path = args.json or (RESULTS / "speed_quick.json" if args.quick else COMMITTED / "speed.json")
    run = run_header(["benchmarks/speed.py"] + (sys.argv[1:] if argv is None else argv))
    run.update(rounds=repeats, budget_s_per_round=0.05, limits={}, cases=[], goals=[])
    rng = np.random.default_rng(0)
    print(
        f"{available_cores()} cores; torch threads {torch.get_num_threads()}; {repeats} interleaved rounds, "
        "minimum kept; times in ms; ratios (their time / ours, per round: median [min–max]) > 1: ours is faster"
    )

    throughput: dict = {}
    for dtype in (np.float32, np.float64):
        dname = np.dtype(dtype).name
        lim = limits(dtype)
        run["limits"][dname] = lim
        print(
            f"\n## {dname}: memory copy {lim['memory copy']:.1f} GB/s, "
            f"exp on one core {lim['exp, one core']:.1f} GB/s (input + output bytes)"
        )
        throughput[dname] = {"limits": lim, "ops": {}}
        for op in OPS:
            print(f"\n### {op}, {dname}")
            names = None
            for n, k in sizes:
                z = (3 * rng.standard_normal((n, k))).astype(dtype)
                target = rng.integers(0, k, size=n)
                cands = candidates_for(op, z, target)
                rounds = interleaved_times(cands, rounds=repeats, budget_s=0.05)
                times = fastest(rounds)
                ours = OURS[op]
                ratios = {name: spread(rounds, name, ours) for name in cands if name != ours}
                if names is None:
                    names = list(cands)
                    print("| N × K | " + " | ".join(names) + f" | others / {ours} |")
                    print("|" + "---|" * (len(names) + 2))
                text = ", ".join(
                    f"{name}: {r['median']:.2f} [{r['min']:.2f}–{r['max']:.2f}]" for name, r in ratios.items()
                )
                print(f"| {n} × {k} | " + " | ".join(f"{times[name] * 1e3:.4g}" for name in names) + f" | {text} |")
                run["cases"].append(
                    {
                        "op": op,
                        "dtype": dname,
                        "n": n,
                        "k": k,
                        "ours": ours,
                        "seconds_per_round": {name: [float(t) for t in values] for name, values in rounds.items()},
                        "best_s": times,
                        "ratios": ratios,
                    }
                )
                for name, t in times.items():
                    throughput[dname]["ops"].setdefault((op, name), []).append((z.size, 2 * z.nbytes / t / 1e9))
                del z, cands
                gc.collect()

    largest = sizes[-1]
    run["single_core"] = single_core_report(largest, repeats)

    z = (3 * rng.standard_normal(largest)).astype(np.float32)
    print(f"\n## Where the time goes: softmax of {largest[0]} × {largest[1]} float32, one pass at a time (ms)")
    run["breakdown_s"] = time_breakdown(z)
    for step, t in run["breakdown_s"].items():
        print(f"| {step} | {t * 1e3:.4g} |")
    del z
    gc.collect()

    rows, input_bytes = memory_report(largest)
    print(
        f"\n## Peak memory (tracemalloc) at {largest[0]} × {largest[1]} float32; "
        f"the input is {input_bytes / 1e6:.0f} MB"
    )
    run["peak_memory"] = {"input_bytes": input_bytes, "peak_bytes": {name: peak for name, peak, _ in rows}}
    for name, peak, jacobian in rows:
        print(
            f"| {name} | peak {peak / 1e6:.0f} MB = {peak / input_bytes:.2f} × input | "
            f"explicit Jacobian would be {jacobian / 1e12:.1f} TB |"
        )

    goal_cases = {c["op"]: c for c in run["cases"] if (c["n"], c["k"]) == GOAL_SIZE and c["dtype"] == "float32"}
    if goal_cases:
        print("\n## Goals at 4096 × 32000 float32 (ratio = their time / ours, per round)")
        for op, other, need in GOALS:
            ratio = goal_cases[op]["ratios"][other]
            run["goals"].append(
                {
                    "op": op,
                    "ours": OURS[op],
                    "other": other,
                    "need": need,
                    "ratio": ratio,
                    "verdict": verdict(ratio, need),
                }
            )
            print(
                f"| {OURS[op]} vs {other} | median {ratio['median']:.2f}× [{ratio['min']:.2f}–{ratio['max']:.2f}] "
                f"| goal ≥ {need}× | {verdict(ratio, need)} |"
            )
    run["load_average_at_end"] = list(os.getloadavg())
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(run, indent=1) + "\n", encoding="utf-8")
    print(f"\nwrote {json_path}")
    plot_throughput(throughput, args.out)
    return 0


def plot_throughput(throughput: dict, folder: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 2, figsize=(13, 5), sharey=True)
    for ax, (dtype, data) in zip(axes, throughput.items()):
        for (op, name), points in data["ops"].items():
            if op not in ("softmax", "loss+grad"):
                continue
            sizes, gbs = zip(*points)
            ax.plot(sizes, gbs, marker="o", label=f"{op}: {name}")
        for (label, value), style in zip(list(data["limits"].items())[:2], ("--", ":")):
            ax.axhline(value, color="k", linestyle=style, label=f"limit: {label}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("elements N × K")
        ax.set_title(f"throughput, {dtype}")
    axes[0].set_ylabel("GB/s (input read + output written)")
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    path = folder / "speed_throughput.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"\nwrote {path}")


if __name__ == "__main__":
    sys.exit(main())
