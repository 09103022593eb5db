"""Peak memory and time of linear_cross_entropy against torch's unfused F.cross_entropy(h @ W.T + b, y).

Forward + backward, float32, on the CPU. Each case runs in a fresh subprocess, so that its
high-water mark (ru_maxrss) is its own. The memory reported is the extra peak: the high-water
mark (VmHWM, reset after a warm-up step) during forward + backward, minus the resident size
before it (the inputs), minus the bytes of the three gradients the step returns (both methods
must produce them). The gradients are set to None before each step, as `optimizer.zero_grad()`
does by default, so autograd stores the gradient a method returns instead of adding it into an
existing buffer. Times: after the memory measurement, one
process per case times both methods in interleaved rounds (softmax_lib.checks.timing), so the
time ratio of each round is formed under the same load; the result gives its min, median and max.

    python benchmarks/linear_cross_entropy.py           # N = 4096, D = 1024, V ∈ {32000, 128000}: minutes, ~6 GB
    python benchmarks/linear_cross_entropy.py --quick   # N = 256, D = 128, V ∈ {4000, 16000}: seconds

Writes the result file softmax_lib/checks/results/linear_cross_entropy.json (--quick, or another dtype
or device: benchmarks/results/linear_cross_entropy_<dtype>_<device>[_quick].json, git-ignored; or --json PATH).

Options: --dtype bfloat16 and --device cuda for the GPU (the memory is then torch's
max_memory_allocated on that device).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

FULL = [(4096, 1024, 32000), (4096, 1024, 128000)]
QUICK = [(256, 128, 4000), (256, 128, 16000)]
METHODS = ("softmax_lib", "torch")
RESULTS_HERE = Path(__file__).resolve().parent / "results"


def reset_peak_rss() -> None:
    """Reset this process's high-water mark (ru_maxrss) to its current resident size (Linux ≥ 4.0)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def make_step(method: str, n: int, d: int, v: int, dtype_name: str, device: str):
    """One forward + backward of `method` on fresh seeded inputs whose gradient buffers already exist."""
    import torch
    import torch.nn.functional as F

    import softmax_lib as sl

    torch.manual_seed(0)
    dtype = getattr(torch, dtype_name)
    h = torch.randn(n, d, dtype=dtype, device=device).requires_grad_()
    W = (torch.randn(v, d, dtype=dtype, device=device) / d**0.5).requires_grad_()
    b = torch.zeros(v, dtype=dtype, device=device).requires_grad_()
    y = torch.randint(0, v, (n,), device=device)

    def release_gradients():
        for p in (h, W, b):
            p.grad = None

    def step():
        # Gradients set to None before each step, as `optimizer.zero_grad()` does by default: each
        # method's step then allocates exactly the three gradient outputs, which run_case subtracts.
        release_gradients()
        if method == "torch":
            loss = F.cross_entropy(h @ W.T + b, y)
        else:
            loss = sl.linear_cross_entropy(h, W, y, b)
        loss.backward()
        if device == "cuda":
            torch.cuda.synchronize()
        return loss

    step.gradient_bytes = sum(p.numel() * p.element_size() for p in (h, W, b))
    step.release_gradients = release_gradients
    return step


def run_case(method: str, n: int, d: int, v: int, dtype_name: str, device: str, repeats: int) -> dict:
    """In this (fresh) process: the extra peak bytes of one forward + backward."""
    import torch

    dtype = getattr(torch, dtype_name)
    step = make_step(method, n, d, v, dtype_name, device)

    def peak() -> int:
        if device == "cuda":
            return torch.cuda.max_memory_allocated()
        # VmHWM: the high-water mark that clear_refs resets (ru_maxrss is not reset by it).
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))

    step()  # warm-up: one-time allocations (thread pools, kernels) are not the method's memory
    step.release_gradients()
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    else:
        reset_peak_rss()
    before = peak()
    step()
    if device == "cuda":
        torch.cuda.synchronize()
    extra = peak() - before - step.gradient_bytes
    return {
        "method": method,
        "n": n,
        "d": d,
        "v": v,
        "extra_peak_bytes": extra,
        "logits_bytes": n * v * torch.finfo(dtype).bits // 8,
    }


def time_case(n: int, d: int, v: int, dtype_name: str, device: str, repeats: int) -> dict:
    """In this (fresh) process: both methods in `repeats` interleaved rounds, one step each per round."""
    from softmax_lib.checks.timing import fastest, interleaved_times, spread

    steps = {method: make_step(method, n, d, v, dtype_name, device) for method in METHODS}
    rounds = interleaved_times(steps, rounds=repeats, budget_s=0.0)
    return {
        "seconds_per_round": {name: [float(t) for t in values] for name, values in rounds.items()},
        "best_s": fastest(rounds),
        "time_ratio": spread(rounds, "softmax_lib", "torch"),
    }


def child(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(cases, dtype: str, device: str, repeats: int) -> list[dict]:
    """Per case: each method's memory in its own subprocess, then both timed in one more."""
    results = []
    for n, d, v in cases:
        shape = (str(n), str(d), str(v), dtype, device, str(repeats))
        memory = {method: child("memory", method, *shape) for method in METHODS}
        timing = child("time", "both", *shape)
        results.append(
            {
                "n": n,
                "d": d,
                "v": v,
                "logits_bytes": memory["torch"]["logits_bytes"],
                "extra_peak_bytes": {m: memory[m]["extra_peak_bytes"] for m in METHODS},
                "memory_ratio": memory["softmax_lib"]["extra_peak_bytes"] / max(memory["torch"]["extra_peak_bytes"], 1),
                **timing,
            }
        )
    return results


def report(results: list[dict]) -> None:
    for r in results:
        mem, t = r["extra_peak_bytes"], r["time_ratio"]
        print(
            f"N = {r['n']}, D = {r['d']}, V = {r['v']}: extra peak MB softmax_lib {mem['softmax_lib'] / 2**20:.1f}, "
            f"torch {mem['torch'] / 2**20:.1f} (logits {r['logits_bytes'] / 2**20:.0f}); best s "
            f"{r['best_s']['softmax_lib']:.3f} vs {r['best_s']['torch']:.3f}"
        )
        print(
            f"  memory ratio {r['memory_ratio']:.3f} (goal ≤ 0.1); time ratio median {t['median']:.2f} "
            f"[{t['min']:.2f}–{t['max']:.2f}] (goal ≤ 1.2)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, seconds")
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, help="the result file (default: see above)")
    parser.add_argument("--child", nargs=8, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, method, n, d, v, dtype, device, repeats = args.child
        shape = (int(n), int(d), int(v), dtype, device)
        result = run_case(method, *shape, int(repeats)) if kind == "memory" else time_case(*shape, int(repeats))
        print(json.dumps(result))
        return
    from softmax_lib.checks.timing import RESULTS, run_header

    run = run_header(["benchmarks/linear_cross_entropy.py", *sys.argv[1:]])
    run.update(dtype=args.dtype, device=args.device, rounds=args.repeats)
    run["cases"] = measure(QUICK if args.quick else FULL, args.dtype, args.device, args.repeats)
    run["load_average_at_end"] = list(os.getloadavg())
    report(run["cases"])
    committed = not args.quick and args.dtype == "float32" and args.device == "cpu"
    name = f"linear_cross_entropy_{args.dtype}_{args.device}" + ("_quick" if args.quick else "")
    default = RESULTS / "linear_cross_entropy.json" if committed else RESULTS_HERE / f"{name}.json"
    path = args.json or default
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(run, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
