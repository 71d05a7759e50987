"""The worker: a child process that runs untrusted code for the trusted engine.

Started by ``accelkit.grading.isolate.Worker`` as ``python -I -m accelkit.grading.worker FD PROBE_FD LIMITS``.
It reads pickled requests from the trusted parent on the socket FD and answers
with ``accelkit.grading.wire`` replies (never pickle: the parent must not unpickle what
student code produced). Everything the worker itself relies on is bound here,
before any student code runs, so rebinding ``time`` or ``numpy`` attributes in
a solution cell does not change how the worker works. Timings are taken by the
parent around a whole request, not reported by the worker.
"""
from __future__ import annotations

import builtins
import contextlib
import faulthandler
import gc
import importlib
import io
import pickle
import secrets
import os
import sys
import traceback
import types
from multiprocessing.connection import Connection

import numpy as np

from accelkit.grading import probe_channel
from accelkit.grading.cases import build_all
from accelkit.grading.wire import encode

PREAMBLE = """\
import math
import time
import numpy as np
import numba
from numba import njit, prange
"""

_array_equal = np.array_equal
_import = builtins.__import__
SOLUTION_MODULES = ("accelkit.student.tools", "accelkit.student")  # all of accelkit a worker loads for
# student code: `tools` (knows no answer) and the students' own measuring helpers


class Withheld:
    """What a name the setup cell imports from the grader's own modules (checks, oracles,
    references, answer tables) is bound to in a student's worker: using it is an error that
    says why. The real module is never loaded there."""

    def __init__(self, name: str, module: str):
        self._what = f"{name} (from {module})"

    def _refuse(self, *args, **kwargs):
        raise PermissionError(
            f"{self._what} is the grader's own code: in grading, solution cells run without "
            "it. Write what your function needs yourself.")

    __call__ = __getitem__ = __iter__ = __len__ = __bool__ = _refuse

    def __getattr__(self, attr: str):
        if attr.startswith("__"):
            raise AttributeError(attr)
        self._refuse()

    def __repr__(self) -> str:
        return f"<withheld in grading: {self._what}>"


class _WithheldModule(types.ModuleType):
    def __getattr__(self, attr: str):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return Withheld(attr, self.__name__)


def _guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
    """`__import__` of the setup cell and the solution cells in a student's worker: accelkit
    modules other than SOLUTION_MODULES are not loaded; their names come back withheld,
    except those `accelkit.student.tools` provides (a module may re-export them). The ways around
    an import statement (importlib, builtins) are refused before the cells are loaded
    (`analysis.import_bypasses`)."""
    if level or not (name == "accelkit" or name.startswith("accelkit.")) \
            or name in SOLUTION_MODULES:
        return _import(name, globals, locals, fromlist, level)
    from accelkit.student import tools
    module = _WithheldModule(name)
    for attr in fromlist or ():
        setattr(module, attr, getattr(tools, attr) if attr in tools.__all__ else Withheld(attr, name))
    return module
NO_SIMD = "nosimd:"  # prefix of the functions of the scalar twin (see Server.load_scalar_twin)


@contextlib.contextmanager
def _compiled_as(name: str):
    """While code of the scalar twin runs (and so compiles), numba's loop and SLP
    vectorizers are off: numba reads them from its config whenever it optimizes a function."""
    if not name.startswith(NO_SIMD):
        yield
        return
    from numba.core import config
    saved = config.LOOP_VECTORIZE, config.SLP_VECTORIZE
    config.LOOP_VECTORIZE = config.SLP_VECTORIZE = 0
    try:
        yield
    finally:
        config.LOOP_VECTORIZE, config.SLP_VECTORIZE = saved


def _cell_file(label: str, source: str, namespace: dict) -> str:
    """The file a solution cell is compiled from: its source, written into a folder of its
    module in the worker's private working directory. Code that numba caches
    (``@njit(cache=True)``) needs a real source file, as it has in Jupyter; each module (the
    main build, the scalar twin) has its own folder, so the twin never loads machine code
    cached by the build with the vectorizers on."""
    name = "".join(c if c.isalnum() else "_" for c in label) + ".py"
    folder = os.path.join(os.getcwd(), namespace.get("__name__", "solutions"))
    try:
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(source)
        return path
    except OSError:  # no writable working directory: caching then fails as before
        return f"<{label}>"


def describe_exception(exc: BaseException) -> dict:
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if "accelkit" not in f.filename]
    lines = traceback.format_list(frames[-8:])
    return {
        "type": type(exc).__name__,
        "mro": [c.__name__ for c in type(exc).__mro__],
        "message": str(exc)[:2000],
        "traceback": "".join(lines)[-4000:],
    }


class Server:
    """Holds the loaded namespace and prepared inputs; one method per request."""

    def __init__(self):
        self.namespace: dict = {}
        self.twin: dict = {}
        self.inputs: dict = {}
        self.sets: dict = {}
        self.kept: dict = {}
        self.setup, self.blocks = PREAMBLE, []
        self.setup_values: dict = {}  # what the setup cell bound (see load_source)

    def load_source(self, blocks: list, setup: str = PREAMBLE) -> dict:
        """Run `setup`, then each (label, source) block in one namespace; a failing block does
        not stop the rest. Returns the names of the callables the blocks defined."""
        self.namespace = self._module(setup)
        self.setup, self.blocks = setup, []
        # what the setup cell bound (a probe such as 04's grading_probe): requests by name
        # reach these objects even if a solution cell rebinds the name
        self.setup_values = dict(self.namespace)
        errors = [e for e in (self.exec_block(label, source) for label, source in blocks) if e]
        return {"names": self.defined_names(), "errors": errors}

    @staticmethod
    def _module(setup: str) -> dict:
        """A new module for the solution cells, named at random: the scalar twin's module
        looks like the main one, so code cannot tell which build it is in by its name."""
        module = types.ModuleType(f"solutions_{secrets.token_hex(6)}")  # numba looks it up
        sys.modules[module.__name__] = module
        namespace = vars(module)
        namespace["__builtins__"] = dict(vars(builtins), __import__=_guarded_import)
        with contextlib.redirect_stdout(io.StringIO()):
            exec(setup, namespace)
        return namespace

    def exec_block(self, label: str, source: str, namespace: dict | None = None) -> dict | None:
        """Run one solution cell; its error (if any) as a dict."""
        if namespace is None:
            namespace = self.namespace
            self.blocks.append((label, source))
        try:
            exec(compile(source, _cell_file(label, source, namespace), "exec"), namespace)
        except BaseException as exc:  # noqa: BLE001 - student code may raise anything
            return {"cell": label, **describe_exception(exc)}
        return None

    def load_scalar_twin(self) -> list:
        """The solution cells once more, in a second namespace whose numba kernels compile
        with the vectorizers off; its functions are named "nosimd:<name>". Both versions
        live in this process, so they are timed on the same memory layout."""
        with _compiled_as(NO_SIMD):
            self.twin = self._module(self.setup)
            with contextlib.redirect_stdout(io.StringIO()):
                for label, source in self.blocks:
                    self.exec_block(label, source, self.twin)
        return [NO_SIMD + n for n in self.defined_names(self.twin)]

    def defined_names(self, namespace: dict | None = None) -> list:
        """The callables the solution cells defined (in `namespace`, default the main one)."""
        namespace = self.namespace if namespace is None else namespace
        return sorted(n for n, v in namespace.items()
                      if callable(v) and n not in self.setup_values and not n.startswith("__"))

    def load_module(self, *packages: str) -> dict:
        """A trusted worker: every module of `packages` is imported now, from the engine's
        files as they are before any student code of the notebook runs. Functions are then named "module:function"; a module not loaded here is refused."""
        import pkgutil
        for package in packages:
            top = importlib.import_module(package)
            for info in pkgutil.walk_packages(top.__path__, package + "."):
                importlib.import_module(info.name)
        self.trusted_modules = {name: module for name, module in sys.modules.items()
                                if name.partition(".")[0] == "accelkit"}
        names = sorted(f"{m}:{n}" for m, module in self.trusted_modules.items()
                       for n, v in vars(module).items() if callable(v) and not n.startswith("_"))
        return {"names": names, "errors": []}

    def function(self, name: str):
        if name.startswith(NO_SIMD):
            return self.twin[name[len(NO_SIMD):]]
        if ":" in name and hasattr(self, "trusted_modules"):
            module, _, attr = name.partition(":")
            if module not in self.trusted_modules:
                raise LookupError(f"{module} is not a module of the engine loaded at start")
            return getattr(self.trusted_modules[module], attr)
        if name in self.setup_values:
            return self.setup_values[name]
        return self.namespace[name]

    def prepare(self, key: str, specs: list, kwargs: dict) -> None:
        self.inputs[key] = (specs, build_all(specs), kwargs)

    def call(self, name: str, key: str) -> dict:
        """Call `name` on prepared inputs; report which inputs it modified."""
        specs, args, kwargs = self.inputs[key]
        with _compiled_as(name):
            result = self.function(name)(*args, **kwargs)
        fresh = build_all(specs)
        modified = [i for i, (a, b) in enumerate(zip(args, fresh))
                    if isinstance(a, np.ndarray) and not _array_equal(a, b)]
        if modified:
            self.inputs[key] = (specs, fresh, kwargs)
        return {"result": result, "modified": modified}

    def call_args(self, name: str, args: tuple, kwargs: dict):
        with _compiled_as(name):
            return self.function(name)(*args, **kwargs)

    def prepare_sets(self, key: str, sets: list, calls: list, kwargs: dict) -> None:
        """Input sets for one timed sample: `sets` are recipe lists, `calls[i]` the set that
        call i gets (distinct sets: new objects and new contents for every call)."""
        built = [build_all(specs) for specs in sets]
        self.sets[key] = ([built[c] for c in calls], kwargs)

    def run_sets(self, name: str, key: str, keep: list) -> None:
        """The timed request over prepared sets; results of the calls in `keep` are kept."""
        calls, kwargs = self.sets[key]
        self.kept[key] = run_calls(self.function(name), calls, kwargs, keep, name)

    def run_kept(self, name: str, key: str, repeat: int, keep: list) -> None:
        """The timed request on prepared inputs (the parent measures how long it takes to
        answer): `repeat` calls on the same inputs; results of the calls in `keep` are kept."""
        _, args, kwargs = self.inputs[key]
        self.kept[key] = run_calls(self.function(name), [args] * repeat, kwargs, keep, name)

    def drain(self, name: str, key: str, step, stop_after: int | None = None) -> None:
        """A training loop over what `name` returns for prepared inputs (`drain_items`); the
        step's results are kept under `key` (`take_kept`), so the request can be timed."""
        _, args, kwargs = self.inputs[key]
        with _compiled_as(name):
            self.kept[key] = drain_items(self.function(name)(*args, **kwargs), step, stop_after)

    def take_kept(self, key: str) -> list:
        return self.kept.pop(key, [])

    def drop(self, key: str) -> None:
        for store in (self.inputs, self.sets, self.kept):
            store.pop(key, None)


def run_calls(fn, calls: list, kwargs: dict, keep, name: str = "") -> list:
    """Call `fn` on each argument list of `calls`; the results of the calls whose index is
    in `keep` are returned (in index order). Shared by the worker and local targets."""
    keep, kept = frozenset(keep), []
    gc.disable()
    try:
        with _compiled_as(name):
            for i, args in enumerate(calls):
                result = fn(*args, **kwargs)
                if i in keep:
                    kept.append(result)
    finally:
        gc.enable()
    return kept


def drain_items(items, step, stop_after: int | None = None) -> list:
    """Consume an iterable as a training loop does: `step(item)` on each item in the order
    they come; after `stop_after` items the loop stops early. The iterator is closed either
    way (a generator's cleanup runs now). Shared by the worker and local targets."""
    items = iter(items)
    results = []
    try:
        for item in items:
            results.append(step(item))
            if stop_after is not None and len(results) >= stop_after:
                break
    finally:
        close = getattr(items, "close", None)
        if callable(close):
            close()
    return results


def serve(conn: Connection) -> None:
    main_pid = os.getpid()
    server = Server()
    handlers = {name: getattr(server, name) for name in
                ("load_source", "exec_block", "load_scalar_twin", "defined_names", "load_module",
                 "prepare", "call", "call_args", "prepare_sets", "run_sets",
                 "run_kept", "drain", "take_kept", "drop")}
    recv, send = conn.recv_bytes, conn.send_bytes
    while True:
        try:
            op, *args = pickle.loads(recv())  # from the trusted parent only
        except EOFError:
            return
        try:
            reply = encode(("ok", handlers[op](*args)))
        except BaseException as exc:  # noqa: BLE001 - includes SystemExit from student code
            reply = encode(("error", describe_exception(exc)))
        if os.getpid() != main_pid:  # a child forked by student code must not answer
            os._exit(0)
        send(reply)


def main() -> None:
    fd, probe_fd = int(sys.argv[1]), int(sys.argv[2])  # confined already (`confined`)
    probe_channel.bind(probe_fd)
    faulthandler.enable()
    sys.stdin = None
    serve(Connection(fd))


if __name__ == "__main__":
    main()
