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
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


# What each platform tells about its CPU. Linux: /proc/cpuinfo and sysfs; macOS: sysctl;
# Windows: the platform module only. Tests fake these three readers.
CPUINFO = Path("/proc/cpuinfo")
SYSFS_CACHE = Path("/sys/devices/system/cpu/cpu0/cache")


def _sysctl(name: str) -> str | None:
    """`sysctl -n NAME` on macOS (None where it has no answer)."""
    import subprocess
    try:
        out = subprocess.run(["sysctl", "-n", name], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def family() -> str:
    """"x86-64", "ARM (AArch64)" or what the platform calls its processor."""
    machine = platform.machine().lower()
    if machine in ("x86_64", "amd64"):
        return "x86-64"
    if machine in ("arm64", "aarch64"):
        return "ARM (AArch64)"
    return machine or "unknown"


def cpu_model() -> str:
    """The CPU's name: /proc/cpuinfo (Linux), `sysctl machdep.cpu.brand_string` (macOS), the
    platform module (Windows), else the name LLVM gives the host CPU (e.g. "apple-m1")."""
    if platform.system() == "Darwin":
        model = _sysctl("machdep.cpu.brand_string")
        if model:
            return model
    try:
        for line in CPUINFO.read_text().splitlines():
            if line.startswith(("model name", "Model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    if platform.system() == "Windows" and platform.processor():
        return platform.processor()
    import llvmlite.binding as llvm
    return llvm.get_host_cpu_name() or platform.processor() or platform.machine() or "unknown"


def cpu_features() -> list:
    """The CPU features numba compiles for on this machine, sorted: those LLVM reports for the
    host, or the ones NUMBA_CPU_FEATURES names. Like numba, it leaves out the AVX family where
    numba's config switches AVX off (on Linux numba reads /proc/cpuinfo's flags to see whether
    the OS allows AVX: without that file it compiles for SSE only). On AArch64 NEON is always
    there, so it is listed even where LLVM reports nothing."""
    import llvmlite.binding as llvm
    from numba.core import config
    if config.CPU_FEATURES:
        features = {f[1:] for f in config.CPU_FEATURES.split(",") if f.startswith("+")}
    else:
        try:
            features = {name for name, on in llvm.get_host_cpu_features().items() if on}
        except RuntimeError:  # LLVM has no feature list for some hosts (older macOS on arm64)
            features = set()
        if not config.ENABLE_AVX:
            features = {name for name in features if not name.startswith("avx")}
    if family() == "ARM (AArch64)":
        features.add("neon")
    return sorted(features)


SIMD_EXTENSIONS = ("sse4.2", "avx", "avx2", "fma", "avx512f", "neon", "sve", "sve2")


def simd_extensions() -> list:
    """The SIMD extensions among `cpu_features()` that the notebooks talk about."""
    features = set(cpu_features())
    return [name for name in SIMD_EXTENSIONS if name in features]


def cache_sizes() -> dict:
    """{"L1d": bytes, "L2": bytes, "L3": bytes} of one core, as far as the OS tells: sysfs on
    Linux, sysctl on macOS (the performance cores of Apple silicon); {} where it does not."""
    if platform.system() == "Darwin":
        sizes = {}
        for key, names in (("L1d", ("hw.perflevel0.l1dcachesize", "hw.l1dcachesize")),
                           ("L2", ("hw.perflevel0.l2cachesize", "hw.l2cachesize")),
                           ("L3", ("hw.l3cachesize",))):
            value = next((v for v in map(_sysctl, names) if v and v.isdigit() and int(v)), None)
            if value:
                sizes[key] = int(value)
        return sizes
    sizes = {}
    for index in sorted(SYSFS_CACHE.glob("index*")):
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
    """A few lines describing the machine the numbers below were measured on (any platform;
    what the OS does not tell is said to be unknown, with where to look)."""
    import numba
    caches = ", ".join(f"{k} {v // 1024} KiB" for k, v in cache_sizes().items())
    if not caches:
        where = {"Windows": "Task Manager > Performance > CPU shows them"}.get(
            platform.system(), "`lscpu -C` may show them")
        caches = f"not reported by this OS ({where})"
    simd = ", ".join(simd_extensions()) or "none that LLVM reports"
    return (f"CPU: {cpu_model()} ({family()}, {platform.system() or 'unknown OS'})\n"
            f"cores available: {cpu_count()}\nSIMD extensions numba may use: {simd}\n"
            f"caches (per core / shared): {caches}\nnumpy {np.__version__}, numba {numba.__version__}")


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
