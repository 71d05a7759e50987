"""autotune_block_size measures nothing: "bigger tiles mean fewer loop iterations", so it
returns the largest candidate. The graded candidate sets include one where the largest tile
covers whole matrices of a product that leaves the cache (32 x 1024 @ 1024 x 4096 float64:
B is 32 MiB). The student's matmul_blocked here is a 4x2 tile of dot products along k (the
layout the notebook's hint describes, and the reference until 2026-12-07), whose untiled run
of that product is 3.2x slower than block 32 (Zen 5 VM): no autotune points. The check
grades the pick on the student's own kernel: the reference's outer-product kernel is nearly
indifferent to the block there (1.4x), so this tuner would pass on it. Everything else is the
instructor's solution."""

BASE = "reference"

CELLS = {
    "matmul_blocked": '''
def matmul_blocked(A, B, block_size=64):
    """C = A @ B tiled into block_size x block_size blocks (numba, one thread).

    Same contract as matmul_reordered; block_size (a positive int) sets the tile size of
    the outer blocking, ValueError otherwise.
    """
    if isinstance(block_size, bool) or not isinstance(block_size, (int, np.integer)):
        raise ValueError(f"block_size must be a positive integer, got {block_size!r}")
    if block_size < 1:
        raise ValueError(f"block_size must be >= 1, got {block_size}")
    A, B, dtype = _blocked_operands(A, B)
    return _matmul_blocked_kernel(A, B, int(block_size))


_MR = 4        # rows of the micro-tile    (the kernel below is written out for 4x2)
_NR = 2        # columns of the micro-tile
_KC_MIN = 256  # the shortest k-block


def _blocked_operands(A, B):
    """Check shapes, pick the result dtype and return C-contiguous copies/views."""
    A = np.asarray(A)
    B = np.asarray(B)
    if A.ndim != 2 or B.ndim != 2:
        raise ValueError(
            f"expected two 2-D arrays, got A.ndim={A.ndim} and B.ndim={B.ndim}")
    if A.shape[1] != B.shape[0]:
        raise ValueError(
            f"inner dimensions do not match: A has shape {A.shape}, B has shape {B.shape}")
    dtype = np.result_type(A, B)
    if dtype.kind in "biu":          # bool / integer input: compute in float64
        dtype = np.dtype(np.float64)
    elif dtype == np.float16:        # no half-precision kernel: compute in float32
        dtype = np.dtype(np.float32)
    elif dtype not in (np.float32, np.float64):
        raise TypeError(f"unsupported dtype {dtype}; use float32 or float64 arrays")
    A = np.ascontiguousarray(A, dtype=dtype)
    B = np.ascontiguousarray(B, dtype=dtype)
    return A, B, dtype


@njit(cache=False)
def _pack_B_transposed(B, k0, kb, j0, nb, Bt):
    """Bt[jj, kk] = B[k0 + kk, j0 + jj]; columns past the end of B are packed as 0."""
    n = B.shape[1]
    for kk in range(kb):
        b_row = B[k0 + kk]
        for jj in range(nb):
            if j0 + jj < n:
                Bt[jj, kk] = b_row[j0 + jj]
            else:
                Bt[jj, kk] = 0


# inline="always": numba pastes this function into the caller (no call overhead per
# 4x2 tile, which matters for small block sizes); the caller must then carry the same
# fastmath flags, because after inlining the caller's flags are the ones that apply.
@njit(fastmath={"reassoc", "contract"}, inline="always", cache=False)
def _micro_kernel_4x2(Ap, i, k0, kb, Bt, j, Cp, jc):
    """Cp[i:i+4, jc:jc+2] += (4x2 matrix of dot products of the rows
    Ap[i:i+4, k0:k0+kb] with the rows Bt[j:j+2, :kb])"""
    # contiguous 1-D views of the 4 rows of A and the 2 packed columns of B
    a0 = Ap[i, k0:k0 + kb]
    a1 = Ap[i + 1, k0:k0 + kb]
    a2 = Ap[i + 2, k0:k0 + kb]
    a3 = Ap[i + 3, k0:k0 + kb]
    b0 = Bt[j, :kb]
    b1 = Bt[j + 1, :kb]

    zero = Cp.dtype.type(0)
    c00 = c01 = c10 = c11 = zero     # 8 accumulators -> 8 vector registers
    c20 = c21 = c30 = c31 = zero
    for k in range(kb):
        y0 = b0[k]
        y1 = b1[k]
        x = a0[k]
        c00 += x * y0; c01 += x * y1
        x = a1[k]
        c10 += x * y0; c11 += x * y1
        x = a2[k]
        c20 += x * y0; c21 += x * y1
        x = a3[k]
        c30 += x * y0; c31 += x * y1

    Cp[i, jc] += c00; Cp[i, jc + 1] += c01        # the 4x2 tile of C, once per k-block
    Cp[i + 1, jc] += c10; Cp[i + 1, jc + 1] += c11
    Cp[i + 2, jc] += c20; Cp[i + 2, jc + 1] += c21
    Cp[i + 3, jc] += c30; Cp[i + 3, jc + 1] += c31


@njit(fastmath={"reassoc", "contract"}, cache=False)
def _matmul_blocked_kernel(A, B, block_size):
    m, K = A.shape
    n = B.shape[1]
    # padded sizes (multiples of the 4x2 micro-tile)
    mp = (m + _MR - 1) // _MR * _MR
    np_ = (n + _NR - 1) // _NR * _NR
    # block sizes: i/j blocks = block_size rounded up to the micro-tile, k-block deeper
    kc = max(block_size, _KC_MIN)
    mc = (block_size + _MR - 1) // _MR * _MR
    nc = (block_size + _NR - 1) // _NR * _NR

    Ap = np.zeros((mp, K), dtype=A.dtype)            # A with zero rows appended
    Ap[:m, :] = A
    Cp = np.zeros((mp, np_), dtype=A.dtype)          # padded result
    Bt = np.zeros((min(nc, np_), min(kc, K)), dtype=A.dtype)   # packed B panel

    for j0 in range(0, np_, nc):                     # column panel of B and C
        nb = min(nc, np_ - j0)
        for k0 in range(0, K, kc):                   # k-block
            kb = min(kc, K - k0)
            _pack_B_transposed(B, k0, kb, j0, nb, Bt)
            for i0 in range(0, mp, mc):              # row block of A and C
                i_end = min(i0 + mc, mp)
                for i in range(i0, i_end, _MR):      # 4x2 tiles of C inside the block
                    for j in range(0, nb, _NR):
                        _micro_kernel_4x2(Ap, i, k0, kb, Bt, j, Cp, j0 + j)
    return Cp[:m, :n].copy()
''',
    "autotune_block_size": '''
def autotune_block_size(m, k, n, candidates=(16, 32, 64, 128, 256), dtype=np.float32):
    if not candidates:
        raise ValueError("candidates must not be empty")
    if min(m, k, n) < 1:
        raise ValueError("m, k, n must be positive")
    return int(max(candidates))   # bigger tiles: fewer loop iterations
''',
}

EXPECTED = {
    "test_matmul_reordered_correctness": 2, "test_matmul_reordered_errors": 1,
    "test_matmul_reordered_speed": 1,
    "test_matmul_blocked_correctness": 3, "test_matmul_blocked_errors": 1,
    "test_matmul_blocked_speed": 2, "test_matmul_blocked_tiling": 1,
    "test_autotune_block_size": 0, "test_conv2d_im2col_correctness": 3,
    "test_conv2d_im2col_speed": 1,
    "test_kernel_plan": 2, "test_machine_fingerprint": 1, "test_tuned_block_size": 2,
}
