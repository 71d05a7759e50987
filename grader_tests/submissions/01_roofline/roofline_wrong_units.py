"""Typical slips: bandwidth in MB/s instead of GB/s (1000x off), no "balanced" band in
bottleneck, relu counted without its write, Amdahl with the fractions swapped, and no input
validation in attainable_gflops. The written answer is left as the placeholder."""

CELLS = {
    "measure_bandwidth_gbs": '''
def measure_bandwidth_gbs():
    src = np.ones(8_000_000)
    dst = np.empty_like(src)
    np.copyto(dst, src)
    best = math.inf
    for _ in range(5):
        start = time.perf_counter()
        np.copyto(dst, src)
        best = min(best, time.perf_counter() - start)
    return 2 * src.nbytes / best / 1e6        # MB/s, not GB/s
''',
    "attainable_gflops": '''
def attainable_gflops(intensity, peak_gflops, bandwidth_gbs):
    return min(peak_gflops, intensity * bandwidth_gbs)
''',
    "bottleneck": '''
def bottleneck(flops, bytes_moved, peak_gflops, bandwidth_gbs):
    intensity = arithmetic_intensity(flops, bytes_moved)
    attainable_gflops(intensity, peak_gflops, bandwidth_gbs)
    if not (peak_gflops > 0 and bandwidth_gbs > 0):
        raise ValueError("bad ceilings")
    return "memory" if intensity < peak_gflops / bandwidth_gbs else "compute"
''',
    "kernel_intensity": '''
def kernel_intensity(name, n, dtype):
    s = np.dtype(dtype).itemsize
    counts = {"matmul": (2 * n ** 3, 3 * n * n * s), "axpy": (2 * n, 3 * n * s),
              "relu": (n, n * s), "softmax": (5 * n, 2 * n * s)}
    if name not in counts or n < 1:
        raise ValueError(name)
    return counts[name]
''',
    "systems_answers": '''
def systems_answers():
    return {"roofline_gflops": 100.0, "roofline_bound": "balanced",
            "amdahl_speedup": 1 / (0.9 + 0.1 / 8), "blocking_choice": "b"}
''',
}

EXPECTED = {
    "test_measure_bandwidth_gbs_correctness": 0, "test_measure_peak_gflops_correctness": 2,
    "test_arithmetic_intensity_correctness": 1, "test_arithmetic_intensity_errors": 1,
    "test_attainable_gflops_correctness": 1, "test_attainable_gflops_errors": 0,
    "test_bottleneck_correctness": 0, "test_bottleneck_errors": 1,
    "test_kernel_intensity_correctness": 0, "test_kernel_intensity_errors": 0,
    "test_systems_answers_roofline": 1, "test_systems_answers_amdahl": 0,
    "test_systems_answers_blocking": 1, "blocking_explanation": 0,
}
