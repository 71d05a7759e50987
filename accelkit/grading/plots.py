"""Small charts that checks add to a test cell's output (and so to the feedback).

`show(fig, alt)` puts a figure where the student will see it:

* inside `collect()` (the trusted grader's `GradingSession.run_cell` opens one per test
  cell) it becomes a ``display_data`` output with ``image/png`` and ``text/plain``, placed
  after the text printed so far;
* in a Jupyter kernel (the student running the notebook) it is displayed right there;
* anywhere else (plain python, pytest) nothing happens.

The figure is closed in every case. Charts are rendered with matplotlib's Agg canvas,
without pyplot, so they never touch the kernel's backend or its list of open figures.
A chart that cannot be drawn is left out: it must never cost a student points.
"""
from __future__ import annotations

import base64
import contextlib
import io
import sys
import textwrap

DPI = 80
_collected: list | None = None  # (text offset, output) pairs of the running test cell
_stream: io.StringIO | None = None


@contextlib.contextmanager
def collect(stream: io.StringIO):
    """Gather the figures shown while a test cell runs, as (offset into `stream`, output)."""
    global _collected, _stream
    saved = _collected, _stream
    _collected, _stream = [], stream
    try:
        yield _collected
    finally:
        _collected, _stream = saved


def _in_kernel() -> bool:
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython else None
    return getattr(shell, "kernel", None) is not None


def _close(fig) -> None:
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close(fig)


def show(fig, alt: str) -> None:
    """Show `fig` (a matplotlib Figure) in the test cell's output, with `alt` as its text."""
    try:
        if _collected is None and not _in_kernel():
            return
        png = io.BytesIO()
        fig.savefig(png, format="png", dpi=DPI)  # png is always drawn by Agg
        data = {"image/png": base64.b64encode(png.getvalue()).decode("ascii"), "text/plain": alt}
        if _collected is not None:
            import nbformat  # here, not at the top: importing it costs a student's kernel 1.3 s
            _collected.append((len(_stream.getvalue()),
                               nbformat.v4.new_output("display_data", data=data)))
        else:
            from IPython.display import display
            display(data, raw=True)
    except Exception:  # noqa: BLE001 - a missing chart is fine, a failed check is not
        pass
    finally:
        _close(fig)


def speedup_chart(name: str, ratios, speedup: float, thresholds: list, met: list, title: str):
    """One bar: the median speedup, a dot per paired round, a line per (threshold, label).

    `met[i]` says whether `thresholds[i]` is met (as `timing` decides it:
    `Comparison.meets`); its line is green when met, red when not, and so is the bar when
    any threshold is met.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5, 2.6))
    ax = fig.add_subplot()
    met = [bool(ok) for ok in met]
    green, red = "#2e7d32", "#c62828"
    ax.bar([0], [speedup], width=0.6, color=green if any(met) else red, alpha=0.5,
           label=f"median {speedup:.2f}x")
    jitter = [0.06 * ((i % 5) - 2) for i in range(len(ratios))]  # fixed, so charts repeat
    ax.scatter(jitter, list(ratios), s=9, color="black", zorder=3,
               label=f"{len(ratios)} paired rounds")
    for (threshold, label), ok in zip(thresholds, met):
        color = green if ok else red
        ax.axhline(threshold, color=color, ls="--", lw=1.2)
        ax.text(0.38, threshold, f"{label}: {'met' if ok else 'not met'}", va="bottom",
                fontsize=7, color=color, parse_math=False)
    ax.set_ylim(0, 1.2 * max([speedup, *ratios, *(t for t, _ in thresholds)]))
    ax.set_xlim(-0.5, 1.5)
    ax.set_xticks([0], [name], fontsize=7)
    ax.set_ylabel("speedup (x)", fontsize=7)
    ax.tick_params(axis="y", labelsize=7)
    wrapped = "\n".join(textwrap.fill(line, 70) for line in title.splitlines())  # long shapes
    ax.set_title(wrapped, fontsize=7, parse_math=False)
    ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    fig.tight_layout(pad=0.4)
    return fig


def show_speedup(name: str, result, thresholds: list, title: str) -> None:
    """Chart a `timing.Comparison` against (threshold, label) pairs and `show` it."""
    if _collected is None and not _in_kernel():
        return  # no one would see it: do not even draw it
    met = [result.meets(t) for t, _ in thresholds]
    try:
        fig = speedup_chart(name, result.ratios, result.speedup, thresholds, met, title)
    except Exception:  # noqa: BLE001 - see show()
        return
    verdicts = ", ".join(f"{label} {'met' if ok else 'not met'} "
                         f"({result.reaching(t)} of {result.rounds} rounds reach it)"
                         for (t, label), ok in zip(thresholds, met))
    what = title.replace("\n", " on ")
    alt = (f"{what}: median speedup {result.speedup:.2f}x over "
           f"{result.rounds} paired rounds; {verdicts}")
    show(fig, alt)
