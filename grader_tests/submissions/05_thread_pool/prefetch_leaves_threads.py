"""Hand-written worker threads and a bounded queue, with sequence numbers to restore the
order – but nothing stops the workers when the training loop stops early: they stay blocked
on the full queue for ever (daemon threads, so the notebook still exits). Order, errors,
memory and speed are right; the grader counts the worker's threads after the loop stopped:
no point for the shutdown."""

CELLS = {
    "prefetch": '''
def prefetch(load, keys, num_workers=2, depth=4):
    if not isinstance(num_workers, int) or isinstance(num_workers, bool) or num_workers < 1:
        raise ValueError("num_workers must be a positive integer")
    if not isinstance(depth, int) or isinstance(depth, bool) or depth < 1:
        raise ValueError("depth must be a positive integer")
    return _threaded(load, list(keys), num_workers, depth)


def _threaded(load, keys, num_workers, depth):
    todo = queue.Queue()
    for i, key in enumerate(keys):
        todo.put((i, key))
    done = queue.Queue(maxsize=depth)

    def work():
        while True:
            try:
                i, key = todo.get_nowait()
            except queue.Empty:
                return
            try:
                done.put((i, load(key), None))
            except Exception as err:
                done.put((i, None, err))

    for _ in range(num_workers):
        threading.Thread(target=work, daemon=True).start()
    waiting = {}
    for i in range(len(keys)):
        while i not in waiting:
            j, item, err = done.get()
            waiting[j] = (item, err)
        item, err = waiting.pop(i)
        if err is not None:
            raise err
        yield item
''',
}

EXPECTED = {
    "test_parallel_map_correctness": 2, "test_parallel_map_errors": 1,
    "test_parallel_map_workers": 2,
    "test_matmul_threaded_correctness": 2, "test_matmul_threaded_errors": 1,
    "test_matmul_threaded_determinism": 1, "test_matmul_threaded_speed": 3,
    "test_batch_forward_correctness": 2, "test_batch_forward_errors": 1,
    "test_batch_forward_speed": 2,
    "test_amdahl_speedup_correctness": 1, "test_amdahl_speedup_errors": 1,
    "test_fit_latency": 2, "test_smallest_batch": 2,
    "test_prefetch_order": 2, "test_prefetch_errors": 1, "test_prefetch_shutdown": 0,
    "test_prefetch_memory": 1, "test_prefetch_speed": 1,
}
