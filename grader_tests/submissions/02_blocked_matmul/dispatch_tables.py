"""An honest variant written differently from the instructor's: the plan from lookup tables and
a loop over the blocks from the largest down, the fingerprint from a sorted, joined string, and a
store that goes through pathlib and a NamedTemporaryFile renamed into place. Full marks on §7,
the one section it writes."""

CELLS = {
    "kernel_plan": '''
_X86, _ARM = ("x86_64", "amd64"), ("aarch64", "arm64")
_WIDTH = {"avx512": 64, "avx2": 32, "neon": 16, "generic": 8}


def kernel_plan(facts, dtype=np.float32):
    arch = facts.get("arch", "").lower()
    has = {f.lower() for f in facts.get("features", [])}.__contains__
    variant = "generic"
    if arch in _X86 and has("avx512f"):
        variant = "avx512"
    elif arch in _X86 and has("avx2") and has("fma"):
        variant = "avx2"
    elif arch in _ARM and (has("neon") or has("asimd")):
        variant = "neon"
    size = np.dtype(dtype).itemsize
    budget = (facts.get("caches") or {}).get("L2", 0) / 2
    block = 64
    if budget:
        block = 16
        for b in (256, 128, 64, 32, 16):
            if 3 * b * b * size <= budget:
                block = b
                break
    return dict(variant=variant, lanes=max(_WIDTH[variant] // size, 1), block_size=block)
''',
    "machine_fingerprint": '''
def machine_fingerprint(facts):
    caches = ",".join(f"{name}={size}" for name, size in sorted((facts.get("caches") or {}).items()))
    text = "|".join([facts.get("arch", "").lower(), facts.get("model", ""),
                     ",".join(sorted(set(f.lower() for f in facts.get("features", [])))), caches])
    return hashlib.blake2b(text.encode(), digest_size=10).hexdigest()
''',
    "tuned_block_size": '''
import pathlib


def tuned_block_size(m, k, n, dtype, facts, path, tune):
    path = pathlib.Path(path)
    name = f"{m}x{k}x{n}:{np.dtype(dtype).name}"
    me = machine_fingerprint(facts)
    try:
        wisdom = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        wisdom = {}
    if not isinstance(wisdom, dict):
        wisdom = {}
    mine = wisdom.get(me) if isinstance(wisdom.get(me), dict) else {}
    if name in mine:
        return int(mine[name])
    mine[name] = int(tune(m, k, n, dtype))
    wisdom[me] = mine
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as out:
        json.dump(wisdom, out, indent=1)
    os.replace(out.name, path)
    return mine[name]
''',
}

# Only §7 is written (it needs none of the other functions): the rest keeps the released stubs.
ONLY = ("kernel_plan", "machine_fingerprint", "tuned_block_size")

EXPECTED = {
    "test_matmul_reordered_correctness": 0, "test_matmul_reordered_errors": 0,
    "test_matmul_reordered_speed": 0,
    "test_matmul_blocked_correctness": 0, "test_matmul_blocked_errors": 0,
    "test_matmul_blocked_speed": 0, "test_matmul_blocked_tiling": 0,
    "test_autotune_block_size": 0, "test_conv2d_im2col_correctness": 0,
    "test_conv2d_im2col_speed": 0,
    "test_kernel_plan": 2, "test_machine_fingerprint": 1, "test_tuned_block_size": 2,
}
