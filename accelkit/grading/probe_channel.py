"""Events that a grader's probe sends out of the student's worker while it runs there.

A probe (such as 05's `ConcurrencyProbe`) is called inside the student's code, so what it
*returns* is in the student's hands: a `parallel_map` can rewrite it. What it *sends* goes
through a datagram socket the grader opened before any student code ran; the grader counts
the events on its side, with its own clock. The worker end is bound here when the worker
starts (`bind`); in the student's own kernel there is none and `send` does nothing.
"""
from __future__ import annotations

import contextlib
import socket
import threading
import time

_channel: socket.socket | None = None


def pair() -> tuple:
    """(grader end, worker end): a datagram socket pair for one worker."""
    return socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)


def bind(fd: int) -> None:
    """In the worker: the end of the pair that the probes send on."""
    global _channel
    _channel = socket.socket(fileno=fd)


def active() -> bool:
    return _channel is not None


def send(*fields) -> None:
    """One event, e.g. ("start", token, item); nothing outside a worker."""
    if _channel is not None:
        _channel.send(" ".join(map(str, fields)).encode())


@contextlib.contextmanager
def listening(sock: socket.socket):
    """Collect (seconds, fields) of every event that arrives while the block runs (earlier
    leftovers are dropped first); the list is complete once the block has ended."""
    sock.setblocking(False)
    with contextlib.suppress(BlockingIOError):
        while True:
            sock.recv(512)
    events: list = []
    done = threading.Event()

    def read() -> None:
        sock.settimeout(0.02)
        while True:
            try:
                data = sock.recv(512)
            except (TimeoutError, socket.timeout):
                if done.is_set():
                    return
                continue
            except OSError:
                return
            events.append((time.monotonic(), data.decode(errors="replace").split()))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        yield events
    finally:
        done.set()
        reader.join()
