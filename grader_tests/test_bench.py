"""`accelkit bench` runs 02's reference kernels as grading builds them (setup cells, then the
instructor's solutions), and the reference matmul_blocked is correct on each micro-tile it
picks for the machine numba compiles for."""
import os
import subprocess
import sys

import pytest

from accelkit import student
from conftest import AVX2_CODEGEN, REPO

CHECK = """
import numpy as np
from pathlib import Path
from accelkit import bench
kernels = bench.reference_kernels(Path({root!r}))
rng = np.random.default_rng(0)
for dtype in ("float32", "float64"):
    for m, k, n in ((1, 1, 1), (7, 300, 3), (37, 53, 70), (130, 257, 33)):
        A = rng.standard_normal((m, k)).astype(dtype)
        B = rng.standard_normal((k, n)).astype(dtype)
        for block in (1, 5, 64):
            C = kernels["matmul_blocked"](A, B, block)
            want = A.astype(np.float64) @ B.astype(np.float64)
            assert C.dtype == dtype and np.allclose(C, want, rtol=1e-3, atol=1e-3), (dtype, m, k, n)
print(kernels["_tile_rows"](np.float32), kernels["_tile_rows"](np.float64))
"""


@pytest.mark.parametrize("env", [{}, AVX2_CODEGEN], ids=["this-machine", "avx2"])
def test_the_reference_blocked_matmul_is_right_with_each_micro_tile(env):
    proc = subprocess.run([sys.executable, "-c", CHECK.format(root=str(REPO))], cwd=REPO,
                          capture_output=True, text=True, env=dict(os.environ, **env), timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = tuple(map(int, proc.stdout.split()[-2:]))
    if env is AVX2_CODEGEN:
        assert rows == (4, 2)  # AVX2: the 8-row tile would spill its sums
    elif "avx512f" in student.simd_extensions():
        assert rows == (8, 8)
