"""Helpers students call in the notebooks: machine facts, timing, tables, plots.

These are for learning, not grading: the grader never trusts numbers measured
in the student's kernel.
"""
from __future__ import annotations

import os
import platform
import time
from pathlib import Path

import numpy as np


def cpu_count() -> int:
    """Cores this process may run on (respects affinity masks and containers)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def cache_sizes() -> dict:
    """{"L1d": bytes, "L2": bytes, "L3": bytes} of CPU 0, as far as the OS tells."""
    sizes = {}
    for index in sorted(Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")):
        try:
            level = (index / "level").read_text().strip()
            kind = (index / "type").read_text().strip()
            size = (index / "size").read_text().strip()
        except OSError:
            continue
        if kind == "Instruction":
            continue
        factor = {"K": 1024, "M": 1024 ** 2}.get(size[-1], 1)
        sizes[f"L{level}{'d' if kind == 'Data' else ''}"] = int(size.rstrip("KM")) * factor
    return sizes


def machine_summary() -> str:
    """A few lines describing the machine the numbers below were measured on."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    caches = ", ".join(f"{k} {v // 1024} KiB" for k, v in cache_sizes().items()) or "unknown"
    return (f"CPU: {model}\ncores available: {cpu_count()}\ncaches (per core / shared): {caches}\n"
            f"numpy {np.__version__}")


def best_time(fn, *args, repeat: int = 5, **kwargs) -> float:
    """Best-of-`repeat` seconds for one call, after one untimed warm-up (JIT compile)."""
    fn(*args, **kwargs)
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn(*args, **kwargs)
        best = min(best, time.perf_counter() - start)
    return best


def matmul_gflops(n: int, seconds: float) -> float:
    """GFLOP/s of an n x n x n matrix product (2 n^3 floating-point operations)."""
    return 2 * n ** 3 / seconds / 1e9


def print_table(rows: list, columns: list) -> None:
    """Print a list of dicts as an aligned table."""
    widths = [max(len(c), *(len(_fmt(r.get(c))) for r in rows)) for c in columns]
    print("  ".join(c.rjust(w) for c, w in zip(columns, widths)))
    for r in rows:
        print("  ".join(_fmt(r.get(c)).rjust(w) for c, w in zip(columns, widths)))


def _fmt(value) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def plot_lines(rows: list, x: str, ys: list, ylabel: str, title: str, logy: bool = False,
               logx: bool = False, marks: dict | None = None):
    """A line per column in `ys` against column `x`; `marks` draws a labelled vertical line
    at each {label: x} (e.g. the cache sizes); returns the matplotlib figure."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for y in ys:
        points = [(r[x], r[y]) for r in rows if r.get(y) is not None]
        if points:
            ax.plot(*zip(*points), marker="o", label=y)
    for label, at in (marks or {}).items():
        ax.axvline(at, color="grey", linestyle=":", linewidth=1)
        ax.annotate(label, (at, 1), xycoords=("data", "axes fraction"), xytext=(2, -12),
                    textcoords="offset points", color="grey", fontsize=8)
    ax.set_xlabel(x)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if logy:
        ax.set_yscale("log")
    if logx:
        ax.set_xscale("log")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def plot_bars(series: dict, label: str, value: str, title: str, xlabel: str = ""):
    """Horizontal bars of column `value` per row label `label`, one group per named list of
    rows in `series` (e.g. {"reference": rows, "yours": rows}); returns the figure."""
    import matplotlib.pyplot as plt

    labels = []
    for rows in series.values():
        labels.extend(r[label] for r in rows if r[label] not in labels)
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(labels) * len(series) + 1.2))
    height = 0.8 / len(series)
    for k, (name, rows) in enumerate(series.items()):
        values = {r[label]: r[value] for r in rows}
        ax.barh([i + k * height for i in range(len(labels))],
                [values.get(l, 0.0) for l in labels], height=height, label=name)
    ax.set_yticks([i + height * (len(series) - 1) / 2 for i in range(len(labels))], labels)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel or value)
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    if len(series) > 1:
        ax.legend()
    fig.tight_layout()
    return fig
