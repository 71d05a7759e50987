"""A detector that counts any ...ps/...pd instruction anywhere, moves and zeroing included:
it calls every kernel vectorized, also the scalar ones (vmovups copies a struct, vxorps zeroes
a register). Everything else is the instructor's solution."""

CELLS = {
    "is_simd_vectorized": '''
def is_simd_vectorized(kernel, *args):
    signature = tuple(numba.typeof(a) for a in args)
    kernel.compile(signature)
    asm = kernel.inspect_asm(signature)
    return any(line.split()[0].endswith(("ps", "pd")) for line in asm.splitlines() if line.split())
''',
}

EXPECTED = {
    "test_relu_correctness": 2, "test_relu_speed": 2,
    "test_axpy_correctness": 2, "test_axpy_errors": 1, "test_axpy_speed": 2,
    "test_dot_correctness": 2, "test_dot_errors": 1, "test_dot_speed": 2,
    "test_is_simd_vectorized_correctness": 0,
}
