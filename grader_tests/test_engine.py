"""The trusted engine on its own: real worker processes, real numba, no mocks."""
from __future__ import annotations

import contextlib
import os
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

from accelkit.grading import analysis, timing
from accelkit.grading.cases import Matrix
from accelkit.grading.isolate import (IsolationError, StudentError, Worker, remaining_budget,
                                      time_budget)
from accelkit.grading.session import GradingSession
from accelkit.grading.worker import PREAMBLE


def student(source: str) -> Worker:
    return Worker(("load_source", [("cell", textwrap.dedent(source))]), label="student")


def test_worker_survives_crashes_exits_and_hangs():
    with student("""
        import ctypes, os, sys
        def segfault(): return ctypes.string_at(0)
        def hard_exit(): os._exit(3)
        def soft_exit(): sys.exit(0)
        def hang():
            while True: pass
        def ok(x): return x + 1
    """) as w:
        w.start()
        with pytest.raises(IsolationError, match="SIGSEGV"):
            w.request("call_args", "segfault", (), {})
        with pytest.raises(IsolationError, match="exit code 3"):
            w.request("call_args", "hard_exit", (), {})
        with pytest.raises(StudentError, match="SystemExit"):
            w.request("call_args", "soft_exit", (), {})
        with pytest.raises(IsolationError, match="did not finish within 1 s"):
            w.request("call_args", "hang", (), {}, timeout=1)
        assert w.request("call_args", "ok", (41,), {}) == 42  # restarted after each death
        assert w.starts == 4


def test_replies_are_never_unpickled(tmp_path):
    marker = tmp_path / "pwned"
    with student(f"""
        import os
        class Evil:
            def __reduce__(self):
                return (os.system, ("touch {marker}",))
        def evil(): return Evil()
        def arrays(): return {{"a": np.arange(3), "t": (1.5, float("inf"), None)}}
    """) as w:
        w.start()
        result = w.request("call_args", "evil", (), {})
        assert "unsupported return value" in repr(result)
        assert not marker.exists()
        value = w.request("call_args", "arrays", (), {})
        assert value["a"].tolist() == [0, 1, 2] and value["t"] == (1.5, float("inf"), None)


def test_replies_past_the_limit_are_refused_before_they_are_unpacked():
    """A reply over MAX_REPLY_BYTES is refused as sent; an archive that would unpack past it
    (or is compressed at all: encode never compresses) is refused before np.load reads it."""
    import io
    import zipfile

    from accelkit.grading import wire

    assert wire.decode(wire.encode(("ok", np.arange(4))))[1].tolist() == [0, 1, 2, 3]
    with pytest.raises(wire.ReplyTooLarge, match="a reply of 1 MiB"):
        wire.decode(wire.encode(("ok", np.zeros(1 << 17))), limit=1 << 19)
    bomb = io.BytesIO()  # 512 MiB of zeros deflate to half a MiB
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("a0.npy", "w", force_zip64=True) as f:
            for _ in range(512):
                f.write(bytes(1 << 20))
    assert len(bomb.getvalue()) < 1 << 20
    with pytest.raises(wire.ReplyTooLarge, match="unpacks to 512 MiB"):
        wire.decode(bomb.getvalue())
    small = io.BytesIO()
    with zipfile.ZipFile(small, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("header.npy", b"x")
    with pytest.raises(wire.ReplyTooLarge, match="compressed"):
        wire.decode(small.getvalue())
    with pytest.raises(ValueError, match="malformed"):
        wire.decode(b"not a zip")
    with Worker(("load_source", [("cell", "def big(n):\n    return np.ones(n, np.uint8)\n")])) as w:
        w.start()
        with pytest.raises(IsolationError, match="big\\(\\) sent a reply over the grader's limit"):
            w.request("call_args", "big", (wire.MAX_REPLY_BYTES + 1024,), {})
        assert w.request("call_args", "big", (3,), {}).tolist() == [1, 1, 1]  # restarted


def test_memory_blowup_is_contained():
    with Worker(("load_source", [("cell", "def hog():\n    return np.ones(2**33)\n")]),
                memory_mb=1024) as w:
        w.start()
        with pytest.raises(StudentError, match="MemoryError|Unable to allocate"):
            w.request("call_args", "hog", (), {})


def test_files_next_to_the_grader_do_not_shadow_modules(tmp_path, monkeypatch):
    (tmp_path / "numpy.py").write_text("raise SystemExit('shadowed numpy imported')\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    with student("def version(): return np.__version__\n") as w:
        w.start()
        assert w.request("call_args", "version", (), {}) == np.__version__


def test_prints_and_output_floods_do_not_reach_the_protocol():
    with student("""
        def chatty(x):
            for _ in range(200_000):
                print("spam " * 20)
            return x
    """) as w:
        w.start()
        assert w.request("call_args", "chatty", (7,), {}, timeout=60) == 7


def test_solution_cells_cannot_rebind_trusted_names():
    blocks = [("cell", "def check_matmul(*a, **k):\n    return 'faked'\n"
                       "def matmul_naive(A, B):\n    return A\n")]
    with GradingSession(blocks) as session:
        outputs = session.run_cell("check_matmul(matmul_naive, shapes=[(3, 4, 5)])")
    assert outputs[-1]["output_type"] == "error"  # the real check ran against the fake kernel
    assert "wrong" in outputs[-1]["evalue"] or "returned shape" in outputs[-1]["evalue"]


def test_a_broken_cell_is_reported_by_name():
    blocks = [("cell matmul_blocked", "def matmul_blocked(A, B, block_size=64)\n    return A\n")]
    with GradingSession(blocks) as session:
        outputs = session.run_cell("matmul_blocked(1, 2)")
    assert outputs[-1]["ename"] == "NameError"
    assert "SyntaxError" in outputs[-1]["evalue"]


def test_trailing_value_becomes_partial_credit_and_stdout_is_kept():
    with GradingSession([("cell", "def f():\n    return 1\n")]) as session:
        outputs = session.run_cell("print('hello')\nscore = 0.5 * f()\nscore")
    assert outputs[0]["text"] == "hello\n"
    assert outputs[1]["data"]["text/plain"] == "0.5"


def test_a_test_cell_stops_when_its_time_budget_runs_out():
    """Calls that each stay under the call timeout cannot add up past the cell's budget; the
    next cell gets its own budget and a fresh worker."""
    blocks = [("cell", "import time\ndef slow(x):\n    time.sleep(x)\n    return x\n")]
    with GradingSession(blocks) as session:
        session.run_cell("slow(0)")  # load the solution cells before the clock starts
        started = time.monotonic()
        outputs = session.run_cell("for _ in range(10):\n    slow(1)\n", budget=2.5)
        took = time.monotonic() - started
        after = session.run_cell("slow(0.1)", budget=2.5)
    assert outputs[-1]["ename"] == "TimeBudgetExceeded"
    assert "this test cell's grading time (2.5 s) ran out" in outputs[-1]["evalue"]
    assert 2.4 < took < 4.0
    assert after[-1]["data"]["text/plain"] == "0.1"


def test_budgets_nest_and_the_one_that_ends_first_applies():
    with time_budget(30, "the notebook's"), time_budget(0.5, "the cell's"):
        left, what = remaining_budget()
        assert what == "the cell's" and 0 < left <= 0.5
        with time_budget(None, "none"):  # no budget: nothing changes
            assert remaining_budget()[1] == "the cell's"
    assert remaining_budget() == (float("inf"), None)


def test_delegation_is_found_through_helpers():
    sources = analysis.functions_in_blocks([("a", textwrap.dedent("""
        def helper(A, B):
            return np.dot(A, B)
        def kernel(A, B):
            return helper(A, B)
        def clean(A, B):
            C = np.zeros((A.shape[0], B.shape[1]))
            for i in range(A.shape[0]):
                C[i] = A[i, 0] * B[0]
            return C
        def operator(A, B):
            return A @ B
    """))])
    assert analysis.delegations("kernel", sources) == ["helper(), line 2: .dot"]
    assert analysis.delegations("clean", sources) == []
    assert analysis.delegations("operator", sources) == ["operator(), line 2: the @ operator"]


def test_a_missing_function_fails_its_checks_during_autograde(monkeypatch):
    """In the grader a function whose cell died is missing; its checks must fail, not defer."""
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    blocks = [("cell matmul_blocked", "def matmul_blocked(A, B, block_size=64):\n"
                                      "    return A\nimport os\nos._exit(1)\n")]
    with GradingSession(blocks) as session:
        outputs = session.run_cell("check_matmul(matmul_blocked, shapes=[(2, 3, 4)])")
    assert outputs[-1]["output_type"] == "error" and "exit code 1" in outputs[-1]["evalue"]


def test_remote_timing_is_measured_by_the_grader():
    """A solution cell that stops the clock in its own process changes nothing here."""
    blocks = [("cell", textwrap.dedent("""
        import time
        time.perf_counter = lambda: 0.0
        @njit
        def slow(A, B):
            s = 0.0
            for _ in range(200):
                for i in range(A.shape[0]):
                    for j in range(A.shape[1]):
                        s += A[i, j] * B[i, j]
            return s
    """))]
    with GradingSession(blocks) as session:
        session.run_cell("1")
        fn = session.namespace["slow"]
        run = fn.runner([Matrix(300, 300, seed=1), Matrix(300, 300, seed=2)], {})
        run(1)
        assert run(3) > 3 * 1e-3  # 3 x 18 M multiply-adds cannot take less than a millisecond


def test_peak_memory_is_measured_by_the_grader():
    blocks = [("cell", textwrap.dedent("""
        def lean(x):
            return x * 2
        def wasteful(x):
            scratch = np.ones((4096, 4096))   # 128 MiB that the result does not need
            return x * 2 + scratch[0, 0] - 1
    """))]
    with GradingSession(blocks) as session:
        session.run_cell("1")
        spec = [Matrix(256, 256, seed=3)]
        _, lean = session.namespace["lean"].call_peak(spec, {})
        _, wasteful = session.namespace["wasteful"].call_peak(spec, {})
    assert lean < 16 << 20 < 120 << 20 < wasteful


def test_scalar_twin_compiles_without_vectorizers_in_the_same_process():
    blocks = [("cell", "import os\nfrom numba.core import config\n"
                       "def setting():\n    return config.LOOP_VECTORIZE, os.getpid()\n")]
    with Worker(("load_source", blocks, PREAMBLE), label="student") as w:
        w.start()
        assert "nosimd:setting" in w.request("load_scalar_twin")
        on, pid = w.request("call_args", "setting", (), {})
        off, twin_pid = w.request("call_args", "nosimd:setting", (), {})
        assert (on, off, twin_pid) == (1, 0, pid)
        assert w.request("call_args", "setting", (), {})[0] == 1  # the setting is restored


def test_a_cell_that_kills_its_process_costs_only_its_own_functions():
    blocks = [("cell a", "def a():\n    return 1\n"),
              ("cell b", "import os\ndef b():\n    return 2\nos._exit(1)\n"),
              ("cell c", "def c():\n    return 3\nwhile True:\n    pass\n"),
              ("cell d", "def d():\n    return a() + 3\n")]
    with Worker(("load_source", blocks, "import numpy as np\n"), label="student") as w:
        loaded = w.start(timeout=3)
        assert loaded["names"] == ["a", "d"]
        assert [e["cell"] for e in loaded["errors"]] == ["cell b", "cell c"]
        assert "exit code 1" in loaded["errors"][0]["message"]
        assert w.request("call_args", "d", (), {}) == 4


def _confining() -> bool:
    from accelkit.grading import sandbox
    return sandbox.available()


needs_sandbox = pytest.mark.skipif(not _confining(), reason=(
    "no sandbox here: it needs root or unprivileged user namespaces on Linux (CI runs these "
    "tests as root and as an ordinary user)"))


@needs_sandbox
def test_sandbox_hides_the_course_and_the_network(tmp_path):
    from accelkit.grading import sandbox

    course_root = tmp_path / "course"
    (course_root / "source").mkdir(parents=True)
    (course_root / "source" / "secret.ipynb").write_text("hidden tests")
    (course_root / "gradebook.db").write_text("grades")
    policy, warning = sandbox.policy(2048, str(course_root))
    assert warning is None
    assert policy.get("uid", os.getuid()) == (sandbox.UID_BASE + os.getpid() if os.geteuid() == 0
                                               else os.getuid())
    probe = textwrap.dedent(f"""
        import os, socket
        def probe():
            out = {{"uid": os.getuid()}}
            for name in ("source/secret.ipynb", "gradebook.db"):
                try:
                    out[name] = open("{course_root}/" + name).read()
                except OSError as err:
                    out[name] = type(err).__name__
            try:
                open("{course_root}/planted.txt", "w").write("x")
                out["write"] = "written"
            except OSError as err:
                out["write"] = type(err).__name__
            try:
                socket.create_connection(("127.0.0.1", 22), timeout=2)
                out["network"] = "connected"
            except OSError as err:
                out["network"] = type(err).__name__
            return out
    """)
    with Worker(("load_source", [("cell", probe)]), policy=policy, label="student") as w:
        out = w.request("call_args", "probe", (), {})
    denied = ("FileNotFoundError", "PermissionError")  # hidden, or not even reachable
    assert out["uid"] == policy.get("uid", os.getuid()) and out["network"] == "OSError"
    assert out["source/secret.ipynb"] in denied and out["gradebook.db"] in denied
    assert out["write"] in (*denied, "OSError")  # OSError: a read-only file system
    assert (course_root / "gradebook.db").read_text() == "grades"
    assert not (course_root / "planted.txt").exists()


@needs_sandbox
def test_the_thread_pools_of_a_wide_grading_server_fit_the_sandbox(tmp_path, monkeypatch):
    """A server with many cores, simulated here: 96 numba threads and 64 BLAS threads in the
    student's worker and in a fresh copy of it (as a memory check starts one). A prange kernel
    and a BLAS product run in both: the limits grow with the pools (`pool_threads`), where
    256 processes and 4 GiB of address space for everything would stop them."""
    from accelkit.grading import sandbox

    monkeypatch.setenv("NUMBA_NUM_THREADS", "96")
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "64")
    assert sandbox.pool_threads() == 96
    policy, _ = sandbox.policy(4096, str(tmp_path))
    assert policy["limits"]["RLIMIT_AS"] == (4096 + 96 * sandbox.RESERVED_MB_PER_CPU) << 20
    wide = textwrap.dedent("""
        import numba
        from numba import njit, prange

        @njit(parallel=True)
        def _rows(a):
            out = np.empty(a.shape[0])
            for i in prange(a.shape[0]):
                out[i] = a[i].sum()
            return out

        def wide():
            a = np.ones((960, 300))
            sums = _rows(a)
            product = a @ a.T
            return [numba.get_num_threads(), float(sums.sum()), float(product[0, 0])]
    """)
    with Worker(("load_source", [("cell", wide)]), policy=policy, label="student") as w:
        first = w.request("call_args", "wide", (), {}, timeout=120)
        copy = w.fresh_copy("memory")
        try:
            copy.start(120)
            second = copy.request("call_args", "wide", (), {}, timeout=120)
        finally:
            copy.kill()
    assert first == second == [96, 960 * 300.0, 300.0]


@needs_sandbox
def test_sandbox_contains_a_fork_bomb_and_cleans_up(tmp_path):
    import psutil

    from accelkit.grading import sandbox

    policy, _ = sandbox.policy(2048, str(tmp_path))
    bomb = "import os\ndef bomb():\n    while True:\n        os.fork()\ndef ok():\n    return 1\n"
    namespaces = []
    with Worker(("load_source", [("cell", bomb)]), policy=policy, label="student") as w:
        assert w.request("call_args", "ok", (), {}) == 1
        namespaces.append(os.readlink(f"/proc/{w.pid}/ns/pid"))
        with pytest.raises((StudentError, IsolationError)):
            w.request("call_args", "bomb", (), {}, timeout=20)
        assert w.request("call_args", "ok", (), {}) == 1     # a fresh worker
        namespaces.append(os.readlink(f"/proc/{w.pid}/ns/pid"))
    assert os.readlink("/proc/self/ns/pid") not in namespaces  # (a new one may reuse an id)

    def left_behind(p) -> bool:
        if p.info["status"] == psutil.STATUS_ZOMBIE:
            return False
        if policy.get("uid") is not None and p.info["uids"].real == policy["uid"]:
            return True
        with contextlib.suppress(OSError):
            return os.readlink(f"/proc/{p.pid}/ns/pid") in namespaces
        return False

    assert [p for p in psutil.process_iter(["uids", "status"]) if left_behind(p)] == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="user namespaces are Linux's")
def test_a_machine_where_a_new_proc_cannot_be_mounted_is_refused_without_root(monkeypatch):
    """Without its own /proc, code in a user namespace (the grader's uid) could read the
    grader's /proc/<pid>/cwd and reach the course directory: the probe that decides whether
    user namespaces can confine also mounts /proc, and says so when that fails."""
    from accelkit.grading import sandbox

    def masked(libc):
        raise OSError(1, "mount /proc: Operation not permitted")

    monkeypatch.setattr(sandbox, "_userns", None)
    monkeypatch.setattr(sandbox, "_mount_proc", masked)
    assert sandbox._userns_problem() == "user namespaces: [Errno 1] mount /proc: Operation not permitted"
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert not sandbox.available()


def test_without_root_grading_is_refused_unless_the_course_switches_the_sandbox_off(monkeypatch):
    """Secure by default: where student code cannot be confined, "auto" and "required" refuse
    with a paragraph that says what is missing and what to do; "off" grades, saying so."""
    from accelkit.grading import sandbox

    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setattr(sandbox, "_userns", "user namespaces: [Errno 1] Operation not permitted")
    assert not sandbox.available() and sandbox.for_trusted_code() == ["--Sandbox.mode=off"]
    for mode in ("auto", "required"):
        with pytest.raises(sandbox.SandboxUnavailable) as refused:
            sandbox.policy(2048, "/somewhere", mode=mode)
        assert str(refused.value).startswith("NOT GRADED: student code cannot be confined")
        assert "(user namespaces: [Errno 1] Operation not permitted)" in str(refused.value)
        assert "unprivileged_userns_clone" in str(refused.value)   # what to enable
        assert "root" in str(refused.value) and 'c.Sandbox.mode = "off"' in str(refused.value)
    policy, warning = sandbox.policy(2048, "/somewhere", mode="off")
    assert "uid" not in policy and warning.startswith("SANDBOX OFF")
    assert sandbox.describe(policy).startswith("sandbox off")


def test_autotune_check_confirms_a_loss_in_paired_rounds_before_it_fails():
    import time as _time

    from accelkit.exercises.blocked_matmul import check_autotune

    def kernel(A, B, block_size=64):
        if block_size == 4:
            _time.sleep(0.002)  # tiny tiles: clearly slower
        return A @ B

    def picks_4(m, k, n, candidates, dtype):
        return 4

    def picks_64(m, k, n, candidates, dtype):
        return 64

    with pytest.raises(AssertionError, match=r"picked block_size=4, .*faster \(median of \d+ paired rounds\)"):
        check_autotune(picks_4, kernel, 8, 8, 8, candidates=(4, 64))
    check_autotune(picks_64, kernel, 8, 8, 8, candidates=(4, 64))

    calls = []

    def slow_for_a_while(A, B, block_size=64):  # both sizes equal, but a burst hits size 4
        if block_size == 4:
            calls.append(1)
            if len(calls) < 25:
                _time.sleep(0.002)
        return A @ B

    check_autotune(picks_4, slow_for_a_while, 8, 8, 8, candidates=(4, 64))
    assert len(calls) > 25  # the paired confirmation ran after the burst


def test_a_kernel_that_dies_while_starting_is_started_once_more(monkeypatch):
    """A kernel that dies before its first reply (a libzmq assertion, now and then) ran no
    student code: the kernel run starts it again, once; a second death leaves the note."""
    import nbformat
    from nbgrader.preprocessors import Execute
    from accelkit.grading.preprocessors import ResilientExecute
    calls = []

    def dies(times):
        def preprocess(self, nb, resources=None, km=None):
            calls.append(1)
            if len(calls) <= times:
                raise RuntimeError("Kernel died before replying to kernel_info")
            return nb, resources
        return preprocess

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])
    monkeypatch.setattr(Execute, "preprocess", dies(1))
    out, _ = ResilientExecute()._run_kernel(nb, {}, None)
    assert len(calls) == 2 and out.cells[0].outputs == []
    calls.clear()
    monkeypatch.setattr(Execute, "preprocess", dies(5))
    out, _ = ResilientExecute()._run_kernel(nb, {}, None)
    assert len(calls) == 2 and "The kernel failed" in out.cells[0].outputs[0]["text"]


def test_the_kernels_socket_folder_is_watched_and_a_growing_one_stops_the_kernel(tmp_path):
    """The one folder a sandboxed kernel writes outside its tmpfs (connection file, sockets):
    a few files leave it running; many files, or a few big ones, stop it within a look or two."""
    from accelkit.grading.preprocessors import FolderWatch

    def watched(write) -> tuple:
        folder = tmp_path / f"kernel-{len(list(tmp_path.iterdir()))}"
        folder.mkdir()
        stopped = threading.Event()
        with FolderWatch(str(folder), stopped.set) as watch:
            write(folder)
            stopped.wait(20 * FolderWatch.INTERVAL_S)
        return stopped.is_set(), watch.tripped

    def sockets(folder):
        for name in ("kernel.json", "kernel-1", "kernel-2", "kernel-3", "kernel-4", "kernel-5"):
            (folder / name).write_text("{}")

    def many_files(folder):
        for i in range(FolderWatch.MAX_ENTRIES * 2):
            (folder / f"filler-{i}").write_bytes(b"x")

    def big_files(folder):
        (folder / "sub").mkdir()
        for i in range(3):
            (folder / "sub" / f"filler-{i}").write_bytes(bytes(2 << 20))

    assert watched(sockets) == (False, "")
    for write in (many_files, big_files):
        stopped, why = watched(write)
        assert stopped and "into the folder of its sockets" in why, write.__name__


def test_the_kernel_folders_of_killed_graders_are_removed_and_live_ones_kept(tmp_path, monkeypatch):
    """A grader killed before it cleans up (a timed-out submission, a killed lane) leaves its
    kernel's folder in /tmp; the next grader removes it, and never the folder of one that runs."""
    import subprocess
    import tempfile

    from accelkit.grading import kernel_sandbox

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    stale = tmp_path / f"{kernel_sandbox.PRIVATE_PREFIX}{ended.pid}-abc"
    (stale / "sub").mkdir(parents=True)
    (stale / "kernel.json").write_text("{}")
    live = kernel_sandbox.private_folder()
    assert os.path.dirname(live) == str(tmp_path)
    assert kernel_sandbox.remove_stale_private_folders() == [str(stale)]
    assert not stale.exists() and os.path.isdir(live)
    assert kernel_sandbox.remove_stale_private_folders() == []


@needs_sandbox
def test_a_sandboxed_kernel_ends_when_the_grader_that_started_it_is_killed(tmp_path):
    """nbgrader SIGKILLed (a lane or a batch killed, a submission past its time limit) cannot
    clean up: the sandboxed kernel it started – the sandbox's outer process and everything in
    its PID namespace – must end by itself."""
    import json
    import shutil
    import signal
    import subprocess

    import psutil

    from accelkit.grading import kernel_sandbox, sandbox

    policy, _ = sandbox.policy(2048, str(tmp_path))
    private = kernel_sandbox.private_folder()
    work = tmp_path / "work"
    work.mkdir()
    env = dict(os.environ, **{kernel_sandbox.ENV: json.dumps(
        {"policy": sandbox.with_writable(policy, private), "private": private})})
    grader = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import subprocess, sys, time
        kernel = subprocess.Popen([sys.executable, "-m", "accelkit.grading.kernel_sandbox",
                                   "/bin/sleep", "600"], cwd={str(work)!r})
        print(kernel.pid, flush=True)
        time.sleep(600)
        """)], env=env, stdout=subprocess.PIPE, text=True)
    sandboxed = []
    try:
        kernel = psutil.Process(int(grader.stdout.readline()))
        deadline = time.monotonic() + 30
        while not kernel.children(recursive=True) and time.monotonic() < deadline:
            time.sleep(0.05)
        sandboxed = [kernel, *kernel.children(recursive=True)]
        assert any("sleep" in " ".join(p.cmdline()) for p in sandboxed[1:])
        os.kill(grader.pid, signal.SIGKILL)
        grader.wait()
        gone, alive = psutil.wait_procs(sandboxed, timeout=10)
        assert alive == [], "the sandboxed kernel outlived the grader that started it"
    finally:
        grader.kill()
        for p in sandboxed:  # what a failed check left
            with contextlib.suppress(psutil.Error):
                p.kill()
        shutil.rmtree(private, ignore_errors=True)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads Linux's CPU clocks")
def test_a_process_cpu_time_is_read_to_the_millisecond_from_outside():
    """The grader reads a worker's CPU time (busy cores, who did the work) from outside: to the
    nanosecond, ended threads included, not in /proc's 10 ms ticks (which read 0.70-1.21 cores
    for one busy thread over a parallel check's timed calls)."""
    import subprocess
    from accelkit.grading.isolate import process_cpu_seconds, threads_cpu_seconds
    code = ("import threading, time\n"
            "def spin(s):\n    t = time.thread_time()\n    while time.thread_time() - t < s: pass\n"
            "th = threading.Thread(target=spin, args=(0.125,)); th.start(); th.join()\n"
            "spin(0.0456); print(time.process_time(), flush=True); time.sleep(30)")
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        inside = float(child.stdout.readline())   # the child's own clock, ended thread included
        outside = process_cpu_seconds(child.pid)
        main = threads_cpu_seconds(child.pid, [child.pid])
    finally:
        child.kill()
        child.wait()
    assert outside == pytest.approx(inside, abs=0.002)
    assert outside - main == pytest.approx(0.125, abs=0.003)  # the ended thread's share (ticks: 0.12 or 0.13)
    assert threads_cpu_seconds(child.pid, [child.pid]) == 0.0  # gone: nothing, no error
