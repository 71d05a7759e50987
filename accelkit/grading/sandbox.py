"""Confinement of a grading worker: another user, resource limits, no course files, no network.

The parent decides the policy (`policy`); the worker applies it to itself at start-up,
while it still runs only trusted code (`apply`). Full confinement needs root (as when
the autograder runs in a container or CI): the worker then enters new mount and network
namespaces, covers the course directory with an empty tmpfs (putting back, read-only,
only the Python environment and this package when they live inside it), limits processes,
CPU time, memory and file size, and drops to an unprivileged uid. Without root nothing
confines student code, so `policy` refuses to grade (`SandboxUnavailable`) unless the
course says ``c.Sandbox.mode = "off"`` – for code the instructor trusts.
"""
from __future__ import annotations

import ctypes
import os
import resource
import signal
import sys
from pathlib import Path

from traitlets import Integer, Unicode
from traitlets.config import Configurable

UID_BASE = 200_000           # sandbox uids: UID_BASE + grader pid; no passwd entry is needed
MAX_PROCESSES = 256          # threads count too (numba's pool, BLAS)
CPU_SECONDS = 900
FILE_BYTES = 64 << 20

_CLONE_NEWNS, _CLONE_NEWNET = 0x00020000, 0x40000000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = (
    1, 2, 4, 32, 4096, 0x4000, 1 << 18)


class Sandbox(Configurable):
    """The sandbox settings of a course (``c.Sandbox.*`` in nbgrader_config.py)."""

    mode = Unicode("auto", help=(
        "'auto' or 'required': confine student code (needs root on Linux), and refuse to grade "
        "where it cannot be confined; 'off': resource limits only, for code you trust."
    )).tag(config=True)
    uid = Integer(None, allow_none=True, help=(
        "Unprivileged uid that student code runs as (default: one per grader process, so "
        "that graders running side by side never signal each other's processes)"
    )).tag(config=True)
    course_root = Unicode(help="Folder hidden from student code (default: working directory)"
                          ).tag(config=True)

    def policy(self, memory_mb: int) -> tuple:
        return policy(memory_mb, self.course_root or os.getcwd(), self.mode, self.uid)


class SandboxUnavailable(RuntimeError):
    """Student code cannot be confined here, and the course did not switch the sandbox off."""


REFUSAL = (
    "NOT GRADED: student code cannot be confined on this machine. The sandbox needs the "
    "grader to run as root on Linux (in a container, a CI job or with sudo); student code then "
    "runs as another uid, in its own mount and network namespaces, with the course directory "
    "hidden. Run as {user} without it, a solution cell could read the hidden tests in source/, "
    "rewrite gradebook.db or edit the grading engine. Grade as root - or, only for code you "
    "trust (your own solutions, the course's examples), set c.Sandbox.mode = \"off\" in "
    "nbgrader_config.py (or pass --Sandbox.mode=off) to grade it unconfined.")


def available() -> bool:
    """Whether this process can confine student code (root on Linux)."""
    return sys.platform.startswith("linux") and os.geteuid() == 0


def for_trusted_code() -> list:
    """nbgrader options for grading the course's own code (the instructor's solutions, the
    example submissions) where no sandbox is available: without them grading is refused."""
    return [] if available() else ["--Sandbox.mode=off"]


def policy(memory_mb: int, course_root: str | None, mode: str = "auto",
           uid: int | None = None) -> tuple:
    """(policy dict for the worker, warning or None). mode: "auto", "required" or "off"; the
    first two raise SandboxUnavailable where student code cannot be confined."""
    limits = {"RLIMIT_AS": memory_mb << 20, "RLIMIT_FSIZE": FILE_BYTES, "RLIMIT_CORE": 0,
              "RLIMIT_CPU": CPU_SECONDS}
    if mode == "off":
        return {"limits": limits}, ("SANDBOX OFF (c.Sandbox.mode = 'off'): student code runs "
                                    "unconfined, as this user; only resource limits apply")
    if not available():
        import getpass
        raise SandboxUnavailable(REFUSAL.format(user=getpass.getuser()))
    hide, keep = _hidden_and_kept(course_root)
    limits["RLIMIT_NPROC"] = MAX_PROCESSES
    uid = UID_BASE + os.getpid() if uid is None else uid
    return {"limits": limits, "uid": uid, "hide": hide, "keep": [[p, False] for p in keep],
            "isolate_network": True}, None


def describe(policy: dict) -> str:
    """The confinement in force, in a line for nbgrader's log."""
    if policy.get("uid") is None:
        return "sandbox off: student code runs unconfined, resource limits only"
    return (f"sandbox: student code runs as uid {policy['uid']} in its own mount and network "
            f"namespaces; hidden: {', '.join(policy['hide'])}")


def with_writable(policy: dict, path: str) -> dict:
    """`policy`, plus `path` (e.g. the submission's working copy) left reachable and writable."""
    if policy.get("uid") is None:
        return policy
    return {**policy, "keep": [*policy["keep"], [os.path.realpath(path), True]]}


def _hidden_and_kept(course_root: str | None) -> tuple:
    """Folders to cover with an empty tmpfs, and the paths inside them to put back.

    Hidden: the course directory, and any folder the unprivileged uid could not enter on
    the way to Python itself (e.g. /root when Python lives in /root/.pyenv). Kept: the
    Python installation, the virtual environment and this package.
    """
    needed = {os.path.realpath(p) for p in
              (sys.prefix, sys.base_prefix, str(Path(__file__).resolve().parents[1]))}
    hide = {os.path.realpath(course_root)} if course_root else set()
    for path in needed:
        for folder in Path(path).parents:
            if folder != Path("/") and not os.stat(folder).st_mode & 0o001:
                hide.add(str(folder))
    keep = sorted(p for p in needed if any(_inside(p, h) for h in hide))
    return sorted(hide, key=lambda p: p.count("/")), keep


def _inside(path: str, folder: str) -> bool:
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _libc():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p] * 3 + [ctypes.c_ulong, ctypes.c_char_p]
    return libc


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(libc, source, target, fstype, flags, data=None) -> None:
    _check(libc.mount(source and source.encode(), str(target).encode(),
                      fstype and fstype.encode(), flags, data and data.encode()),
           f"mount {target}")


def apply(policy: dict, workdir: str) -> None:
    """Confine this process as `policy` says. Called by the worker before student code runs."""
    if policy.get("uid") is not None:
        libc = _libc()
        flags = _CLONE_NEWNS | (_CLONE_NEWNET if policy.get("isolate_network") else 0)
        _check(libc.unshare(flags), "unshare")
        _mount(libc, None, "/", None, _MS_REC | _MS_PRIVATE)
        stage = Path(workdir) / ".stage"
        for i, (path, _) in enumerate(policy["keep"]):  # set aside what must stay visible
            (stage / str(i)).mkdir(parents=True, exist_ok=True)
            _mount(libc, path, stage / str(i), None, _MS_BIND | _MS_REC)
        for path in policy["hide"]:                      # the course directory, emptied
            os.makedirs(path, exist_ok=True)
            _mount(libc, "tmpfs", path, "tmpfs", _MS_NOSUID | _MS_NODEV, "mode=0755,size=1m")
        for i, (path, writable) in enumerate(policy["keep"]):  # put back (read-only mostly)
            os.makedirs(path, exist_ok=True)
            _mount(libc, str(stage / str(i)), path, None, _MS_BIND | _MS_REC)
            if not writable:
                _mount(libc, None, path, None, _MS_BIND | _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID)
    for name, value in policy["limits"].items():
        resource.setrlimit(getattr(resource, name), (value, value))
    if policy.get("uid") is not None:
        os.setgroups([])
        os.setgid(policy["uid"])
        os.setuid(policy["uid"])


def kill_all(uid: int | None) -> None:
    """Kill every process left running as the sandbox uid (forked children, fork bombs).

    A child that becomes `uid` sends SIGKILL to every process it may signal – all of that
    uid's, at once – and the round is repeated while any survive (a bomb may fork meanwhile).
    """
    if uid is None or os.geteuid() != 0:
        return
    import psutil

    def survivors() -> bool:
        return any(p.info["uids"] and p.info["uids"].real == uid
                   and p.info["status"] != psutil.STATUS_ZOMBIE
                   for p in psutil.process_iter(["uids", "status"]))

    for _ in range(50):
        if not survivors():
            return
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            try:
                os.setgid(uid)
                os.setuid(uid)
                os.kill(-1, signal.SIGKILL)
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
