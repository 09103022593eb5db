"""Timings as ratios with their spread, the machine they ran on, and the committed benchmark runs.

Shared by benchmarks/speed.py, benchmarks/linear_cross_entropy.py and the chapters fast_exact and
cross_entropy_at_scale. Absolute times depend on the machine and its load; a ratio of two
implementations timed in the same round is what carries over, and its spread over the rounds
says how much. A comparison is worded "faster" only where every round agrees (`comparison`).

The committed runs live in results/ beside this module (package data, so that a chapter finds
them without a checkout of the repository, as on Colab); `benchmark_run(name)` reads one.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

__all__ = [
    "RESULTS",
    "benchmark_run",
    "comparison",
    "fastest",
    "interleaved_times",
    "last_level_cache_bytes",
    "machine_facts",
    "ratio_spread",
    "run_description",
    "run_header",
    "spread",
    "worded",
]

RESULTS = Path(__file__).resolve().parent / "results"


def interleaved_times(
    candidates: dict[str, Callable[[], object]], rounds: int = 3, budget_s: float = 0.02
) -> dict[str, np.ndarray]:
    """Seconds per call of each candidate in each round: {name: array of `rounds` times}.

    Within a round every candidate runs `budget_s` worth of calls (at least one), in an order rotated
    from round to round, so that a change of load during the measurement hits all of them alike.
    """
    loops = {}
    for name, fn in candidates.items():  # warm up, and pick a loop count that lasts about budget_s
        start = time.perf_counter()
        fn()
        loops[name] = max(1, min(10_000, int(budget_s / max(time.perf_counter() - start, 1e-7))))
    names = list(candidates)
    times = {name: [] for name in names}
    for round_index in range(rounds):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            for _ in range(loops[name]):
                candidates[name]()
            times[name].append((time.perf_counter() - start) / loops[name])
    return {name: np.array(values) for name, values in times.items()}


def fastest(times: dict[str, np.ndarray]) -> dict[str, float]:
    """The minimum over the rounds: the time least disturbed by other work."""
    return {name: float(np.min(values)) for name, values in times.items()}


def ratio_spread(times: dict[str, np.ndarray], numerator: str, denominator: str) -> tuple[float, float]:
    """Smallest and largest over the rounds of time(numerator) / time(denominator), each from one round."""
    ratios = np.asarray(times[numerator]) / np.asarray(times[denominator])
    return float(ratios.min()), float(ratios.max())


def spread(times: dict[str, np.ndarray], numerator: str, denominator: str) -> dict[str, float]:
    """time(numerator) / time(denominator) per round: its minimum, median and maximum over the rounds."""
    ratios = np.asarray(times[numerator]) / np.asarray(times[denominator])
    return {"min": float(ratios.min()), "median": float(np.median(ratios)), "max": float(ratios.max())}


def comparison(times: dict[str, np.ndarray], a: str, b: str) -> str:
    """How a compared with b: "faster"/"slower" only if every round agrees, else "within noise"."""
    return worded(a, b, spread(times, b, a))


def worded(a: str, b: str, ratio: dict[str, float]) -> str:
    """A sentence on time(b) / time(a) per round (min, median, max): "faster"/"slower" only where the
    whole spread lies on one side of 1, else a measurement "within noise"."""
    within = f"{ratio['min']:.2f}–{ratio['max']:.2f}×, median {ratio['median']:.2f}×"
    if ratio["min"] > 1:
        return f"{a} was faster than {b} in every round ({b} took {within} as long)"
    if ratio["max"] < 1:
        return f"{a} was slower than {b} in every round ({b} took {within} as long)"
    return f"{a} and {b} were within noise of each other ({b} took {within} as long as {a})"


def run_description(run: dict) -> str:
    """One sentence naming a benchmark run: command, date and machine, with its load."""
    m = run["machine"]
    load = m.get("load_average_1_5_15_min")
    busy = f", load average {load[0]:.1f} at the start" if load else ""
    return (
        f"“{run['command']}” on {run['date_utc']} UTC, on a {m['cores_available']}-core {m['cpu_model']} "
        f"(NumPy {m['numpy']}, torch {m['torch']}{busy})"
    )


def last_level_cache_bytes() -> int:
    """The largest cache of CPU 0, read from /sys (Linux); 32 MiB where that cannot be read."""
    sizes = []
    for path in Path("/sys/devices/system/cpu/cpu0/cache").glob("index*/size"):
        text = path.read_text().strip()
        sizes.append(int(text[:-1]) * {"K": 2**10, "M": 2**20}[text[-1]] if text[-1] in "KM" else int(text))
    return max(sizes, default=32 * 2**20)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "unknown")
    except OSError:
        return platform.processor() or "unknown"


def machine_facts() -> dict:
    """Cores, CPU model, load and library versions of the machine running a benchmark."""
    from softmax_lib._blocked import available_cores

    facts = {
        "cpu_model": _cpu_model(),
        "cores_available": available_cores(),
        "cpu_count": os.cpu_count(),
        "last_level_cache_bytes": last_level_cache_bytes(),
        "load_average_1_5_15_min": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "platform": platform.platform(),
    }
    for module in ("torch", "scipy"):
        try:
            facts[module] = __import__(module).__version__
        except ImportError:
            facts[module] = None
    if facts["torch"]:
        import torch

        facts["torch_threads"] = torch.get_num_threads()
    return facts


def run_header(argv: list[str]) -> dict:
    """The command, the UTC date and time, and the machine, for the top of a result file."""
    return {
        "command": "python " + " ".join(argv),
        "date_utc": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M"),
        "machine": machine_facts(),
    }


def benchmark_run(name: str) -> dict:
    """The committed result file results/<name>.json (written by benchmarks/<name>.py)."""
    with open(RESULTS / f"{name}.json", encoding="utf-8") as f:
        return json.load(f)
