"""Peak memory and time of linear_cross_entropy against torch's unfused F.cross_entropy(h @ W.T + b, y).

Forward + backward, float32, on the CPU. Each case runs in a fresh subprocess, so that its
high-water mark (ru_maxrss) is its own. The memory reported is the extra peak: the high-water
mark (VmHWM, reset after a warm-up step) during forward + backward minus the resident size
before it, with the inputs and the gradient buffers already allocated (both methods must
produce the gradients, so they are not counted). Times are the
minimum of a few repeats, in the same subprocess, and the ratio of the two methods is what to
compare (the machine is shared).

    python benchmarks/linear_cross_entropy.py           # N = 4096, D = 1024, V ∈ {32000, 128000}: minutes, ~6 GB
    python benchmarks/linear_cross_entropy.py --quick   # N = 256, D = 128, V ∈ {4000, 16000}: seconds

Options: --dtype bfloat16 and --device cuda for the GPU (the memory is then torch's
max_memory_allocated on that device).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

FULL = [(4096, 1024, 32000), (4096, 1024, 128000)]
QUICK = [(256, 128, 4000), (256, 128, 16000)]
METHODS = ("softmax_lib", "torch")


def reset_peak_rss() -> None:
    """Reset this process's high-water mark (ru_maxrss) to its current resident size (Linux ≥ 4.0)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def run_case(method: str, n: int, d: int, v: int, dtype_name: str, device: str, repeats: int) -> dict:
    """In this (fresh) process: extra peak bytes and best time of one forward + backward."""
    import torch
    import torch.nn.functional as F

    import softmax_lib as sl

    torch.manual_seed(0)
    dtype = getattr(torch, dtype_name)
    h = torch.randn(n, d, dtype=dtype, device=device).requires_grad_()
    W = (torch.randn(v, d, dtype=dtype, device=device) / d**0.5).requires_grad_()
    b = torch.zeros(v, dtype=dtype, device=device).requires_grad_()
    y = torch.randint(0, v, (n,), device=device)
    for p in (h, W, b):  # the gradient buffers exist before the measurement, for both methods
        p.grad = torch.zeros_like(p)

    def step():
        if method == "torch":
            loss = F.cross_entropy(h @ W.T + b, y)
        else:
            loss = sl.linear_cross_entropy(h, W, y, b)
        loss.backward()
        return loss

    def peak() -> int:
        if device == "cuda":
            return torch.cuda.max_memory_allocated()
        # VmHWM: the high-water mark that clear_refs resets (ru_maxrss is not reset by it).
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))

    step()  # warm-up: one-time allocations (thread pools, kernels) are not the method's memory
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    else:
        reset_peak_rss()
    before = peak()
    step()
    if device == "cuda":
        torch.cuda.synchronize()
    extra = peak() - before
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return {
        "method": method,
        "n": n,
        "d": d,
        "v": v,
        "extra_peak_bytes": extra,
        "best_s": min(times),
        "logits_bytes": n * v * torch.finfo(dtype).bits // 8,
    }


def measure(cases, dtype: str, device: str, repeats: int) -> list[dict]:
    """Every (case, method) in its own subprocess."""
    results = []
    for n, d, v in cases:
        for method in METHODS:
            args = [sys.executable, __file__, "--child", method, str(n), str(d), str(v), dtype, device, str(repeats)]
            out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
            results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def report(results: list[dict]) -> None:
    print(f"{'N':>6} {'D':>6} {'V':>7}  {'method':<12} {'extra peak MB':>14} {'logits MB':>10} {'time s':>8}")
    for r in results:
        print(
            f"{r['n']:>6} {r['d']:>6} {r['v']:>7}  {r['method']:<12} {r['extra_peak_bytes'] / 2**20:>14.1f} "
            f"{r['logits_bytes'] / 2**20:>10.1f} {r['best_s']:>8.3f}"
        )
    for i in range(0, len(results), 2):
        ours, theirs = results[i], results[i + 1]
        mem = ours["extra_peak_bytes"] / max(theirs["extra_peak_bytes"], 1)
        speed = ours["best_s"] / theirs["best_s"]
        print(f"V = {ours['v']}: memory ratio {mem:.3f} (goal ≤ 0.1), time ratio {speed:.2f} (goal ≤ 1.2)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, seconds")
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--child", nargs=7, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        method, n, d, v, dtype, device, repeats = args.child
        print(json.dumps(run_case(method, int(n), int(d), int(v), dtype, device, int(repeats))))
        return
    results = measure(QUICK if args.quick else FULL, args.dtype, args.device, args.repeats)
    report(results)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
