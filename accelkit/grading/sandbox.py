"""Confinement of a grading worker or kernel: namespaces, resource limits, no course files.

The parent decides the policy (`policy`); the process applies it to itself at start-up,
while it still runs only trusted code (`apply`). Two ways to confine, same guarantees:

- *root* (a container, CI): new mount, PID, network and IPC namespaces, then an unprivileged
  uid of its own on top (one per grader process);
- *user namespaces* (an instructor's own account on Linux, where unprivileged user
  namespaces are allowed): the same namespaces inside a new user namespace, as the same uid.

In both the course directory is an empty tmpfs (only the Python environment and this package
are put back, read-only), /tmp and /dev/shm are private, size-limited tmpfs, the process is
the first of its own PID namespace (it sees and can signal no process outside it, and every
process it starts ends with it, daemons included), there is no network, and processes, CPU
time, memory and file size are limited. Where neither is possible, `policy` refuses to grade
(`SandboxUnavailable`) unless the course says ``c.Sandbox.mode = "off"`` – for trusted code.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import sys
from pathlib import Path

try:
    import resource
except ImportError:  # Windows: a student's laptop imports the checks, but never confines
    resource = None

from traitlets import Integer, Unicode
from traitlets.config import Configurable

UID_BASE = 200_000           # sandbox uids: UID_BASE + grader pid; no passwd entry is needed
MAX_PROCESSES = 256          # threads count too: plus THREADS_PER_CPU for each pool thread
THREADS_PER_CPU = 8          # numba's, BLAS's and the kernel's pools in each of a session's processes
RESERVED_MB_PER_CPU = 192    # address space pool threads reserve but do not use: two 8 MiB stacks,
                             # two 64 MiB malloc arenas, OpenBLAS's 32 MiB buffer
CPU_SECONDS = 900
FILE_BYTES = 64 << 20

TMP_MB, SHM_MB, WORK_MB = 256, 64, 256  # private tmpfs: /tmp, /dev/shm, the working folder

_CLONE_NEWNS, _CLONE_NEWNET, _CLONE_NEWUSER, _CLONE_NEWPID, _CLONE_NEWIPC = (
    0x00020000, 0x40000000, 0x10000000, 0x20000000, 0x08000000)
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC, _MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = (
    1, 2, 4, 8, 32, 4096, 0x4000, 1 << 18)
_PR_SET_PDEATHSIG = 1
_PARENT_POLL_S = 0.25  # how often a sandbox's outer process looks whether its parent lives
# statvfs flags of a mount -> the mount flags that keep them (a user namespace may not drop them)
_KEPT_FLAGS = {os.ST_NOSUID: _MS_NOSUID, os.ST_NODEV: _MS_NODEV, os.ST_NOEXEC: _MS_NOEXEC,
               1024: 1024, 2048: 2048, 4096: 1 << 21}  # NOATIME, NODIRATIME, RELATIME


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
    "NOT GRADED: student code cannot be confined on this machine ({why}). The sandbox needs "
    "either the grader to run as root on Linux (in a container, a CI job or with sudo), or "
    "unprivileged user namespaces, which most Linux distributions allow (Debian: sysctl "
    "kernel.unprivileged_userns_clone=1 and user.max_user_namespaces > 0; Ubuntu 24.04: sysctl "
    "kernel.apparmor_restrict_unprivileged_userns=0, or an AppArmor profile that allows them "
    "for this Python). Run as {user} without it, a solution cell could read the hidden tests "
    "in source/, rewrite gradebook.db or edit the grading engine. Enable one of these - or, "
    "only for code you trust (your own solutions, the course's examples), set "
    "c.Sandbox.mode = \"off\" in nbgrader_config.py (or pass --Sandbox.mode=off) to grade "
    "it unconfined.")

_userns: str | None = None  # why user namespaces cannot confine here ("" when they can)


def _userns_problem() -> str:
    """Why an unprivileged process cannot confine itself with user namespaces ("" if it can):
    tried once, in a child process, with every step `apply` takes."""
    global _userns
    if _userns is None:
        if not sys.platform.startswith("linux"):
            _userns = f"{sys.platform} has no user namespaces"
            return _userns
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            os.close(read)
            try:
                _enter(_libc(), userns=True, network=True)
                if os.fork() == 0:  # the new PID namespace's first process, as in `apply`
                    try:
                        _mount(_libc(), None, "/", None, _MS_REC | _MS_PRIVATE)
                        _mount(_libc(), "tmpfs", "/tmp", "tmpfs", _MS_NOSUID | _MS_NODEV, "size=1m")
                        _mount_proc(_libc())
                    except OSError as err:
                        os.write(write, str(err).encode()[:500])
                    finally:
                        os._exit(0)
                os.wait()
            except OSError as err:
                os.write(write, str(err).encode()[:500])
            finally:
                os._exit(0)
        os.close(write)
        with os.fdopen(read, "rb") as pipe:
            found = pipe.read().decode(errors="replace")
        os.waitpid(pid, 0)
        _userns = f"user namespaces: {found}" if found else ""
    return _userns


def available() -> bool:
    """Whether student code can be confined here: as root on Linux, or in user namespaces."""
    return sys.platform.startswith("linux") and (os.geteuid() == 0 or not _userns_problem())


def for_trusted_code() -> list:
    """nbgrader options for grading the course's own code (the instructor's solutions, the
    example submissions) where no sandbox is available: without them grading is refused."""
    return [] if available() else ["--Sandbox.mode=off"]


def policy(memory_mb: int, course_root: str | None, mode: str = "auto",
           uid: int | None = None) -> tuple:
    """(policy dict for the worker, warning or None). mode: "auto", "required" or "off"; the
    first two raise SandboxUnavailable where student code cannot be confined."""
    threads = pool_threads()
    limits = {"RLIMIT_AS": (memory_mb + RESERVED_MB_PER_CPU * threads) << 20,
              "RLIMIT_FSIZE": FILE_BYTES, "RLIMIT_CORE": 0, "RLIMIT_CPU": CPU_SECONDS}
    processes = MAX_PROCESSES + THREADS_PER_CPU * threads
    if mode == "off":
        return {"limits": limits}, ("SANDBOX OFF (c.Sandbox.mode = 'off'): student code runs "
                                    "unconfined, as this user; only resource limits apply")
    if not available():
        import getpass
        why = _userns_problem() if sys.platform.startswith("linux") else f"not Linux: {sys.platform}"
        raise SandboxUnavailable(REFUSAL.format(user=getpass.getuser(), why=why))
    hide, keep = _hidden_and_kept(course_root)
    confined = {"hide": hide, "keep": [[p, False] for p in keep], "isolate_network": True}
    if os.geteuid() != 0:
        # counted over all of this user's processes: the grader's own ones come on top
        limits["RLIMIT_NPROC"] = _processes_of(os.getuid()) + processes
        return {"limits": limits, "userns": True, **confined}, None
    limits["RLIMIT_NPROC"] = processes
    uid = UID_BASE + os.getpid() if uid is None else uid
    return {"limits": limits, "uid": uid, **confined}, None


def pool_threads() -> int:
    """The most threads one library pool of a worker starts: a thread per CPU this process may
    use, or more where NUMBA_NUM_THREADS, OMP_NUM_THREADS or OPENBLAS_NUM_THREADS ask for it.
    The limits grow with it, so that honest code runs on a grading server with many cores."""
    asked = [int(value) for name in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")
             if (value := os.environ.get(name, "")).isdigit()]
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max([cpus or 1, *asked])


def _processes_of(uid: int) -> int:
    import psutil
    return sum(1 for p in psutil.process_iter(["uids"]) if p.info["uids"] and p.info["uids"].real == uid)


def confined(policy: dict) -> bool:
    """Whether `policy` confines (root or user namespaces), rather than only limiting."""
    return "hide" in policy


def describe(policy: dict) -> str:
    """The confinement in force, in a line for nbgrader's log."""
    if not confined(policy):
        return "sandbox off: student code runs unconfined, resource limits only"
    who = (f"as uid {policy['uid']}" if policy.get("uid") is not None
           else "as this user, in a user namespace")
    return (f"sandbox: student code runs {who}, in its own mount, PID, network and IPC "
            f"namespaces; hidden: {', '.join(p for p, *_ in policy['hide'])}")


def with_writable(policy: dict, path: str) -> dict:
    """`policy`, plus `path` (e.g. the kernel's sockets) left reachable and writable."""
    if not confined(policy):
        return policy
    return {**policy, "keep": [*policy["keep"], [os.path.realpath(path), True]]}


def _hidden_and_kept(course_root: str | None) -> tuple:
    """([folder, tmpfs options, writable] to cover with an empty tmpfs, paths inside them to
    put back). Writable: the private /tmp and /dev/shm; every other one is made read-only.

    Hidden: /tmp and /dev/shm (private, size-limited ones instead), the course directory, and
    any folder the unprivileged uid could not enter on the way to Python itself (e.g. /root
    when Python lives in /root/.pyenv). Kept: the Python installation, the virtual
    environment and this package.
    """
    needed = {os.path.realpath(p) for p in
              (sys.prefix, sys.base_prefix, str(Path(__file__).resolve().parents[1]))}
    empty = "mode=0755,size=1m"  # read-only once what is kept inside is put back
    scratch = {"/tmp": f"mode=1777,size={TMP_MB}m", "/dev/shm": f"mode=1777,size={SHM_MB}m"}
    hide = dict(scratch)
    if course_root:
        hide[os.path.realpath(course_root)] = empty
    for path in needed:
        for folder in Path(path).parents:
            if folder != Path("/") and not os.stat(folder).st_mode & 0o001:
                hide.setdefault(str(folder), empty)
    keep = sorted(p for p in needed if any(_inside(p, h) for h in hide))
    return sorted(([p, o, p in scratch] for p, o in hide.items()),
                  key=lambda h: h[0].count("/")), keep


def _inside(path: str, folder: str) -> bool:
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _libc():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p] * 3 + [ctypes.c_ulong, ctypes.c_char_p]
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong]
    return libc


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(libc, source, target, fstype, flags, data=None) -> None:
    _check(libc.mount(source and source.encode(), str(target).encode(),
                      fstype and fstype.encode(), flags, data and data.encode()),
           f"mount {target}")


def _enter(libc, userns: bool, network: bool) -> None:
    """New mount, PID and IPC namespaces (and network, and user when not root) for this
    process; its next child is the first process of the new PID namespace."""
    uid, gid = os.getuid(), os.getgid()
    flags = (_CLONE_NEWNS | _CLONE_NEWPID | _CLONE_NEWIPC | (_CLONE_NEWNET if network else 0)
             | (_CLONE_NEWUSER if userns else 0))
    _check(libc.unshare(flags), "unshare")
    if userns:  # the same uid inside: files keep their owner, nothing is gained
        for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"),
                           ("gid_map", f"{gid} {gid} 1")):
            with open(f"/proc/self/{name}", "w") as f:
                f.write(text)


def _wait_for(child: int) -> None:
    """The parent's side: stay until the namespace's first process ends, then end the same
    way (its exit code, or its signal), so the grader sees how the worker died. If the process
    that started this one dies (a SIGKILLed nbgrader or grader cleans up nothing), the child is
    killed – and with it, as the first process of its PID namespace, everything inside."""
    import faulthandler
    faulthandler.disable()
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    def forward(signum, _frame):  # e.g. a kernel's interrupt; a signal sent to the whole
        with contextlib.suppress(OSError):  # process group reaches the child by itself
            if os.getpgid(child) != os.getpgrp():
                os.kill(child, signum)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, forward)
    parent = os.getppid()
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})  # woken at once when it ends
    while True:  # until the child ends; the child ends too when this process's parent is gone
        done, status = os.waitpid(child, os.WNOHANG)
        if done:
            break
        if os.getppid() != parent:  # the grader was killed: nobody is left to stop the child
            with contextlib.suppress(OSError):
                os.kill(child, signal.SIGKILL)
        signal.sigtimedwait({signal.SIGCHLD}, _PARENT_POLL_S)
    if os.WIFSIGNALED(status):
        signal.signal(os.WTERMSIG(status), signal.SIG_DFL)
        os.kill(os.getpid(), os.WTERMSIG(status))
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)


def _mount_proc(libc) -> None:
    """A /proc of this PID namespace only (called by its first process)."""
    _mount(libc, "proc", "/proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC)


def _read_only(libc, path: str) -> None:
    """Remount the bind mount at `path` read-only, keeping the flags it has (nosuid, nodev,
    ...: a user namespace may add restrictions, never drop them)."""
    have = os.statvfs(path).f_flag
    flags = _MS_BIND | _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID
    for bit, mount_flag in _KEPT_FLAGS.items():
        if have & bit:
            flags |= mount_flag
    _mount(libc, None, path, None, flags)


def apply(policy: dict, workdir: str) -> None:
    """Confine this process as `policy` says. Called by the worker (and the kernel's wrapper)
    before student code runs. When confining, the process forks: the child, first of a new
    PID namespace, returns from here and goes on; the parent waits for it (`_wait_for`).
    `workdir` (the working folder) becomes a private, size-limited copy of itself."""
    if confined(policy):
        workdir = os.path.realpath(workdir)
        libc = _libc()
        _enter(libc, userns=bool(policy.get("userns")), network=policy.get("isolate_network", True))
        child = os.fork()
        if child:
            _wait_for(child)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)  # the parent killed: this namespace ends
        _mount(libc, None, "/", None, _MS_REC | _MS_PRIVATE)
        keep = [*policy["keep"], [workdir, "copy"]]
        # what must stay visible, held open: the tmpfs below covers the paths, not these
        held = [os.open(path, os.O_PATH | os.O_DIRECTORY) for path, _ in keep]
        for path, options, _ in policy["hide"]:  # emptied: the course directory, /tmp, ...
            os.makedirs(path, exist_ok=True)
            _mount(libc, "tmpfs", path, "tmpfs", _MS_NOSUID | _MS_NODEV, options)
        for fd, (path, how) in zip(held, keep):  # put back: read-only, writable or a copy
            os.makedirs(path, exist_ok=True)
            if how == "copy":
                _mount(libc, "tmpfs", path, "tmpfs", _MS_NOSUID | _MS_NODEV,
                       f"mode=0700,size={WORK_MB}m")
                shutil.copytree(f"/proc/self/fd/{fd}", path, dirs_exist_ok=True, symlinks=True)
                if policy.get("uid") is not None:  # root: the sandbox uid works in it
                    for folder, _, files in os.walk(path):
                        for name in [folder, *(os.path.join(folder, f) for f in files)]:
                            os.lchown(name, policy["uid"], policy["uid"])
            else:
                _mount(libc, f"/proc/self/fd/{fd}", path, None, _MS_BIND | _MS_REC)
                if not how:
                    _read_only(libc, path)
            os.close(fd)
        for path, options, writable in policy["hide"]:  # nothing can be left in a hidden folder
            if not writable:
                _mount(libc, "tmpfs", path, "tmpfs",
                       _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | _MS_NODEV, options)
        os.chdir(workdir)  # into the copy
        try:  # this namespace's processes only
            _mount_proc(libc)
        except OSError:
            # Where /proc is partly masked (some containers) the old one stays. As another uid
            # (root's sandbox) the grader's processes are listed but cannot be read or
            # signalled. As the same uid they could: /proc/<grader>/cwd leads back into the
            # course directory. `_userns_problem` refuses such a machine before this point.
            if policy.get("userns"):
                raise
    for name, value in policy["limits"].items():
        try:
            resource.setrlimit(getattr(resource, name), (value, value))
        except (ValueError, OSError, AttributeError):
            if sys.platform.startswith("linux"):  # grading: every limit holds or nothing runs
                raise
            # a student's Mac may refuse a limit (RLIMIT_AS): its own checks run without it
    if policy.get("uid") is not None:
        os.setgroups([])
        os.setgid(policy["uid"])
        os.setuid(policy["uid"])
        if confined(policy):  # a change of uid clears it
            _libc().prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


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
