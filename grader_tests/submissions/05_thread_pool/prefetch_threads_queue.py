"""An honest prefetching loader written differently from the instructor's futures window:
`threading.Thread` workers take keys from a shared iterator, put (index, item) into a
`queue.Queue(maxsize=depth)` and the consumer restores the order with a small dict; an error
travels through the queue, and a stop event plus timeouts let every worker end when the
loop stops early. Full marks."""

CELLS = {
    "prefetch": '''
def prefetch(load, keys, num_workers=2, depth=4):
    for name, value in (("num_workers", num_workers), ("depth", depth)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return _pipeline(load, keys, num_workers, depth)


def _pipeline(load, keys, num_workers, depth):
    order = enumerate(keys)
    lock = threading.Lock()
    out = queue.Queue(maxsize=depth)
    stop = threading.Event()
    FINISHED = object()

    def put(entry):
        while not stop.is_set():
            try:
                out.put(entry, timeout=0.05)
                return True
            except queue.Full:
                pass
        return False

    def worker():
        while not stop.is_set():
            with lock:
                nxt = next(order, None)
            if nxt is None:
                put((None, FINISHED, None))
                return
            index, key = nxt
            try:
                entry = (index, load(key), None)
            except BaseException as err:
                entry = (index, None, err)
            if not put(entry):
                return

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(num_workers)]
    for t in threads:
        t.start()
    ready, want, finished = {}, 0, 0
    try:
        while True:
            if want in ready:
                item, err = ready.pop(want)
                if err is not None:
                    raise err
                yield item
                want += 1
                continue
            if finished == num_workers:
                return
            index, item, err = out.get()
            if item is FINISHED:
                finished += 1
            else:
                ready[index] = (item, err)
    finally:
        stop.set()
        for t in threads:
            t.join()
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
    "test_prefetch_order": 2, "test_prefetch_errors": 1, "test_prefetch_shutdown": 1,
    "test_prefetch_memory": 1, "test_prefetch_speed": 1,
}
