"""The checks of 05's data-loading pipeline (accelkit.exercises.pipeline) against real workers:
the grader drives the student's generator with its own training step, verifies the items,
and reads the worker's memory and threads from /proc."""
from __future__ import annotations

import textwrap

from accelkit.grading.session import GradingSession
from accelkit.grading.worker import drain_items

SETUP = """\
import collections, queue, threading
from concurrent.futures import ThreadPoolExecutor
import numpy as np
from accelkit.exercises.pipeline import *
"""

WINDOW = """
def prefetch(load, keys, num_workers=2, depth=4):
    return _window(load, iter(keys), num_workers, depth)

def _window(load, keys, num_workers, depth):
    pool = ThreadPoolExecutor(max_workers=num_workers)
    ahead = collections.deque(pool.submit(load, k) for _, k in zip(range(depth), keys))
    try:
        while ahead:
            item = ahead.popleft().result()
            for k in keys:
                ahead.append(pool.submit(load, k))
                break
            yield item
    finally:
        for f in ahead:
            f.cancel()
        pool.shutdown(wait=True)
"""

EVERYTHING_AHEAD = """
def prefetch(load, keys, num_workers=2, depth=4):
    with ThreadPoolExecutor(max_workers=num_workers) as pool:
        yield from pool.map(load, keys)
"""

BLOCKED_WORKERS = """
def prefetch(load, keys, num_workers=2, depth=4):
    keys = list(keys)
    done = queue.Queue(maxsize=depth)
    def work(mine):
        for i in mine:
            done.put((i, load(keys[i])))
    for w in range(num_workers):
        threading.Thread(target=work, args=(range(w, len(keys), num_workers),), daemon=True).start()
    ready = {}
    for i in range(len(keys)):
        while i not in ready:
            j, item = done.get()
            ready[j] = item
        yield ready.pop(i)
"""

AS_COMPLETED = """
def prefetch(load, keys, num_workers=2, depth=4):
    from concurrent.futures import as_completed
    with ThreadPoolExecutor(max_workers=num_workers) as pool:
        for future in as_completed([pool.submit(load, k) for k in keys]):
            yield future.result()
"""

ORDER = ('check_prefetch_order(prefetch, [(ShardSet(count=9, images=2, size=8, stagger_s=0.004), '
         '{"num_workers": 3, "depth": 2})])')
ERRORS = ('check_prefetch_errors(prefetch, ShardSet(count=6, images=2, size=8, fail_on=2), '
          '{"num_workers": 2, "depth": 2})')
SHUTDOWN = ('check_prefetch_shutdown(prefetch, ShardSet(count=20, images=4, size=16), '
            '{"num_workers": 2, "depth": 2})')
MEMORY = ('check_prefetch_memory(prefetch, ShardSet(count=48, images=32, size=64), '
          '{"num_workers": 2, "depth": 2})')


def graded(source: str, cells: list) -> list:
    """(printed text, error or "") of each test cell, run by the trusted grader in one session."""
    with GradingSession([("cell", textwrap.dedent(source))], SETUP) as session:
        results = []
        for cell in cells:
            outputs = session.run_cell(cell)
            results.append(("".join(o.get("text", "") for o in outputs if o["output_type"] == "stream"),
                            "".join(o["evalue"] for o in outputs if o["output_type"] == "error")))
    return results


def test_a_window_of_futures_passes_every_check_the_grader_measures():
    results = graded(WINDOW, [ORDER, ERRORS, SHUTDOWN, MEMORY])
    assert [error for _, error in results] == ["", "", "", ""]
    for (text, _), line in zip(results, ("every item once and in order", "the loop got ShardError",
                                         "no thread left after a full epoch", "peak")):
        assert line in text


def test_a_loader_that_runs_the_whole_epoch_ahead_is_caught_by_its_memory():
    (_, order), (_, shutdown), (_, memory) = graded(EVERYTHING_AHEAD, [ORDER, SHUTDOWN, MEMORY])
    assert order == shutdown == ""
    assert "peak" in memory and "queue.Queue(maxsize=depth)" in memory


def test_workers_left_blocked_on_a_full_queue_are_counted_by_the_grader():
    (_, order), (_, shutdown) = graded(BLOCKED_WORKERS, [ORDER, SHUTDOWN])
    assert order == ""
    assert "thread(s) still running" in shutdown and "GeneratorExit" in shutdown


def test_shutdown_is_graded_apart_from_order():
    (_, order), (text, shutdown) = graded(AS_COMPLETED, [ORDER, SHUTDOWN])
    assert "out of order" in order
    assert shutdown == "" and "no thread left" in text


def test_the_training_loop_closes_what_it_stops_early():
    closed = []

    def items():
        try:
            yield from range(10)
        finally:
            closed.append(True)

    assert drain_items(items(), lambda x: x * 2, stop_after=3) == [0, 2, 4]
    assert closed == [True]
    assert drain_items(iter([1, 2]), str) == ["1", "2"]


def test_the_trusted_loader_reads_shards_from_many_threads_without_parsing(monkeypatch):
    """numpy parses a .npy header with ast.literal_eval, which CPython 3.11 cannot run in
    several threads at once (a SystemError an honest loader once got in grading): the
    trusted loader parses every header once, when built, and its calls parse nothing."""
    import ast
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np

    from accelkit.exercises.pipeline import ShardSet

    recipe = ShardSet(count=12, images=2, size=8)
    load = recipe.build()
    parsed = []
    monkeypatch.setattr(ast, "literal_eval", lambda *a: parsed.append(a))
    with ThreadPoolExecutor(4) as pool:
        items = list(pool.map(load, list(range(12)) * 4))
    assert not parsed, "load(i) parsed a .npy header: it must use the layout read when built"
    for i, item in enumerate(items):
        np.testing.assert_array_equal(item, recipe.item(i % 12))
