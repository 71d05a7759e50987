"""02 · One plan per machine: the checks of `kernel_plan`, `machine_fingerprint` and
`tuned_block_size`.

A machine is described by facts (`machine_facts()` reads this one): its architecture as
`platform.machine()` names it, the CPU model, the instruction-set features LLVM reports, the
data cache sizes and the cores. The student's `kernel_plan` turns facts into a code path and a
tile (the rule is the notebook's contract, `expected_plan` here); `machine_fingerprint` keys a
store of tuning results ("wisdom", as FFTW calls it) by the facts that decide a tuning, and
`tuned_block_size` reuses a stored result or tunes once and stores it. The grader checks
plans on machine descriptions it chooses, and the store through files it writes and copies
itself in the worker (`Store`) with tuning functions that return values it draws at random
(`Tuner`): a result is right only if it came from the file or from the tuner.
"""
from __future__ import annotations

import json
import os
import platform
import random
import secrets
import tempfile
from dataclasses import dataclass, field

import numpy as np

from accelkit.exercises.checks import _deferred
from accelkit.grading.isolate import StudentError
from accelkit.grading.targets import as_target

__all__ = ["Store", "Tuner", "check_fingerprint", "check_kernel_plan", "check_tuned_store",
           "machine", "machine_facts"]

VECTOR_BYTES = {"avx512": 64, "avx2": 32, "neon": 16, "generic": 8}
BLOCKS = (16, 32, 64, 128, 256)
KIB, MIB = 1024, 1024 ** 2

# Real machines, as their facts would read (LLVM feature names, caches per core).
MACHINES = {
    "xeon_sapphire_rapids": {"arch": "x86_64", "model": "Intel(R) Xeon(R) Platinum 8480+",
                             "features": ["sse4.2", "avx", "avx2", "fma", "avx512f", "avx512bw"],
                             "caches": {"L1d": 48 * KIB, "L2": 2 * MIB, "L3": 105 * MIB},
                             "cores": 56},
    "epyc_zen3": {"arch": "x86_64", "model": "AMD EPYC 7763 64-Core Processor",
                  "features": ["sse4.2", "avx", "avx2", "fma"],
                  "caches": {"L1d": 32 * KIB, "L2": 512 * KIB, "L3": 32 * MIB}, "cores": 64},
    "ryzen_zen4_windows": {"arch": "AMD64", "model": "AMD Ryzen 9 7950X 16-Core Processor",
                           "features": ["avx2", "fma", "avx512f", "sse4.2", "avx"],
                           "caches": {"L1d": 32 * KIB, "L2": 1 * MIB, "L3": 32 * MIB},
                           "cores": 16},
    "sandy_bridge": {"arch": "x86_64", "model": "Intel(R) Core(TM) i7-2600 CPU @ 3.40GHz",
                     "features": ["sse4.2", "avx"],
                     "caches": {"L1d": 32 * KIB, "L2": 256 * KIB, "L3": 8 * MIB}, "cores": 4},
    "apple_m2": {"arch": "arm64", "model": "Apple M2", "features": ["neon", "fp-armv8"],
                 "caches": {"L1d": 128 * KIB, "L2": 16 * MIB}, "cores": 8},
    "graviton3": {"arch": "aarch64", "model": "Neoverse-V1", "features": ["asimd", "sve"],
                  "caches": {"L1d": 64 * KIB, "L2": 1 * MIB, "L3": 32 * MIB}, "cores": 64},
    "riscv_board": {"arch": "riscv64", "model": "unknown", "features": ["v"], "caches": {},
                    "cores": 4},
    "x86_no_cache_facts": {"arch": "x86_64", "model": "QEMU Virtual CPU",
                           "features": ["avx2", "fma", "avx512f"], "caches": {}, "cores": 2},
}


def machine(name: str, **changes) -> dict:
    """A copy of the facts of one of `MACHINES`, with `changes` applied."""
    facts = json.loads(json.dumps(MACHINES[name]))
    facts.update(changes)
    return facts


def machine_facts() -> dict:
    """This machine's facts, in the form `kernel_plan` takes."""
    from accelkit import student

    return {"arch": platform.machine(), "model": student.cpu_model(),
            "features": student.cpu_features(), "caches": student.cache_sizes(),
            "cores": student.cpu_count(), "hostname": platform.node()}


def expected_plan(facts: dict, dtype) -> dict:
    """The notebook's rule: the widest SIMD path the machine offers, and the largest block
    of BLOCKS whose three tiles fill at most half the L2 (64 when the L2 is unknown)."""
    arch = str(facts.get("arch", "")).lower()
    features = {str(f).lower() for f in facts.get("features", ())}
    if arch in ("x86_64", "amd64"):
        variant = ("avx512" if "avx512f" in features else
                   "avx2" if {"avx2", "fma"} <= features else "generic")
    elif arch in ("aarch64", "arm64"):
        variant = "neon" if features & {"neon", "asimd"} else "generic"
    else:
        variant = "generic"
    itemsize = np.dtype(dtype).itemsize
    l2 = int((facts.get("caches") or {}).get("L2") or 0)
    fitting = [b for b in BLOCKS if 3 * b * b * itemsize <= l2 // 2]
    block = (max(fitting) if fitting else BLOCKS[0]) if l2 else 64
    return {"variant": variant, "lanes": max(1, VECTOR_BYTES[variant] // itemsize),
            "block_size": block}


def _call(target, args: list):
    try:
        result, _ = target.call(args, {})
    except StudentError as err:
        raise AssertionError(f"{target.name} raised {err.info['type']}: {err.info['message']}"
                             ) from None
    return result


def check_kernel_plan(fn, names, dtypes=("float32",)) -> None:
    """kernel_plan(facts, dtype) follows the rule on the machines `names` (of MACHINES)."""
    if _deferred(fn):
        return
    target = as_target(fn)
    for name in names:
        for dtype in dtypes:
            facts, want = machine(name), expected_plan(machine(name), dtype)
            got = _call(target, [facts, np.dtype(dtype).type])
            if not isinstance(got, dict) or {k: got.get(k) for k in want} != want:
                raise AssertionError(
                    f"{target.name}(<{name}: {facts['arch']}, {', '.join(facts['features'])}, "
                    f"L2 {facts['caches'].get('L2', 'unknown')}>, {dtype}) returned {got!r}, "
                    f"expected {want}\n  hint: the variant comes from arch and features, the "
                    "lanes from its vector width and the dtype, the block from the L2 "
                    "(3 tiles in half of it; 64 if unknown)")
    print(f"✓ {target.name}: the plans of {len(names) * len(dtypes)} machine descriptions")


def check_fingerprint(fn, name: str) -> None:
    """machine_fingerprint(facts): a hex string that stays the same when only the order of the
    facts, the hostname or the core count change, and changes with the model, a feature, a
    cache size or the architecture."""
    if _deferred(fn):
        return
    target = as_target(fn)
    base = machine(name)
    key = _call(target, [base])
    if not isinstance(key, str) or not key or any(c not in "0123456789abcdef" for c in key):
        raise AssertionError(f"{target.name} returned {key!r}; expected a lower-case hex string "
                             "(e.g. a prefix of hashlib.sha256(...).hexdigest())")
    shuffled = dict(reversed(list(base.items())))
    shuffled["features"] = list(reversed(base["features"]))
    shuffled["caches"] = dict(reversed(list(base["caches"].items())))
    same = {"the facts in another order": shuffled,
            "another hostname": {**base, "hostname": "node-17"},
            "fewer cores (a container)": {**base, "cores": 2}}
    other = {"another model": {**base, "model": base["model"] + " v2"},
             "one more feature": {**base, "features": base["features"] + ["avx512vnni"]},
             "another L2 size": {**base, "caches": {**base["caches"], "L2": 3 * MIB}},
             "another architecture": {**base, "arch": "riscv64" if base["arch"] != "riscv64"
                                      else "aarch64"}}
    for what, facts in same.items():
        if _call(target, [facts]) != key:
            raise AssertionError(f"{target.name} changed with {what}: a tuning result could "
                                 "not be reused on the same CPU.\n  hint: build the key from "
                                 "arch, model, the set of features and the caches only, in a "
                                 "fixed order (sorted)")
    for what, facts in other.items():
        if _call(target, [facts]) == key:
            raise AssertionError(f"{target.name} gave the same key for {what}: a result tuned "
                                 "on one CPU would be used on another")
    print(f"✓ {target.name}: stable under {len(same)} irrelevant changes, different for "
          f"{len(other)} relevant ones")


@dataclass(frozen=True)
class Tuner:
    """A tuning function for `tuned_block_size`: returns `value` (or, with value None, fails
    the test: the result was stored and must be reused)."""
    value: int | None = None

    def build(self):
        value = self.value

        def tune(m, k, n, dtype):
            if value is None:
                raise AssertionError("tune() was called although the store holds this result")
            return value
        return tune

    def describe(self) -> str:
        return "tune (must not be called)" if self.value is None else "tune"


@dataclass(frozen=True)
class Store:
    """A store file path in the worker's temporary folder, prepared when built: absent, with
    `content`, or a copy of another store with the values of `entries` (only those already
    in it) replaced – so that a value can only be found by reading this file."""
    name: str
    content: str | None = None
    copy_of: str | None = None
    entries: dict = field(default_factory=dict)

    @staticmethod
    def path_of(name: str) -> str:
        return os.path.join(tempfile.gettempdir(), f"accelkit-wisdom-{name}.json")

    def build(self) -> str:
        path = self.path_of(self.name)
        if self.copy_of is not None:
            try:
                with open(self.path_of(self.copy_of)) as f:
                    text = f.read()
                data = json.loads(text)
                for key, shapes in self.entries.items():
                    for shape, value in shapes.items():
                        if isinstance(data.get(key), dict) and shape in data[key]:
                            data[key][shape] = value
                text = json.dumps(data)
            except (OSError, ValueError, AttributeError):
                text = text if "text" in locals() else ""
            with open(path, "w") as f:
                f.write(text)
        elif self.content is not None:
            with open(path, "w") as f:
                f.write(self.content)
        return path

    def describe(self) -> str:
        return "a store file"


def check_tuned_store(fn, fingerprint, name: str, shape=(256, 256, 256), dtype="float32",
                      seed: int | None = None) -> None:
    """tuned_block_size(m, k, n, dtype, facts, path, tune): tunes once and stores the result
    as {fingerprint: {"MxKxN:dtype": block}}, reuses what the file holds without tuning,
    keeps other entries, and treats an unreadable file as empty."""
    if _deferred(fn):
        return
    target, key_of = as_target(fn), as_target(fingerprint)
    rng = random.Random(seed)
    values = rng.sample(range(24, 400, 8), 6)
    facts, other = machine(name), machine("graviton3" if name != "graviton3" else "epyc_zen3")
    key = _call(key_of, [facts])
    m, k, n = shape
    dt = np.dtype(dtype)
    here, shape_key = secrets.token_hex(4), f"{m}x{k}x{n}:{dt.name}"
    args = lambda facts_, store, tuner, s=shape: [*s, dt.type, facts_, store, tuner]

    def step(what: str, want: int, facts_, store, tuner, s=shape) -> None:
        try:
            got = _call(target, args(facts_, store, tuner, s))
        except AssertionError as err:
            if "tune() was called" in str(err):
                raise AssertionError(
                    f"{target.name} tuned again {what}.\n  hint: read the store first: "
                    f'{{fingerprint: {{"MxKxN:dtype": block_size}}}}, e.g. {{"{key}": '
                    f'{{"{shape_key}": 64}}}} – the file, not a variable in memory') from None
            raise
        if isinstance(got, bool) or not isinstance(got, (int, np.integer)) or got != want:
            stale = got in values and got != want
            raise AssertionError(
                f"{target.name} returned {got!r} {what}; expected {want}\n  hint: " +
                ("that is the answer of an earlier call: read the file at path on every call "
                 "(another program may have changed it) rather than remember results in memory"
                 if stale else "return the stored block size, or tune's result when nothing "
                 "is stored, as an int"))

    step("with no store file (tune returns the answer)", values[0], facts,
         Store(here + "a"), Tuner(values[0]))
    step("on a copy of the file it wrote, whose entry the grader changed",
         values[1], facts, Store(here + "b", copy_of=here + "a",
                                 entries={key: {shape_key: values[1]}}), Tuner())
    written = json.dumps({key: {shape_key: values[2]}, "0123abcd": {shape_key: 8}})
    step("on a store written by another program", values[2], facts,
         Store(here + "c", content=written), Tuner())
    step("for another machine, whose result is not stored", values[3], other,
         Store(here + "d", content=written), Tuner(values[3]))
    step("on an unreadable store file (treat it as empty)", values[4], facts,
         Store(here + "e", content='{"half a file'), Tuner(values[4]))
    bigger = (m, k, 2 * n)
    step("for another shape in the first file", values[5], facts, Store(here + "a"),
         Tuner(values[5]), bigger)
    both = {key: {shape_key: values[1], f"{m}x{k}x{2 * n}:{dt.name}": values[0]}}
    step("on a copy of that file (both entries must be kept)", values[1], facts,
         Store(here + "f", copy_of=here + "a", entries=both), Tuner())
    step("… and its other entry", values[0], facts,
         Store(here + "g", copy_of=here + "a", entries=both), Tuner(), bigger)
    print(f"✓ {target.name}: tunes once, stores per machine and shape, reuses the file, keeps "
          "other entries, survives a broken file")
