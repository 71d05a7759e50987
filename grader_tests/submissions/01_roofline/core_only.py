"""A student on the core path only: measures bandwidth and peak and does the roofline
arithmetic, and stops there.

The optional-depth solution cells stay as released (they raise NotImplementedError, and the
teaching cells that call them fail): every core point is earned all the same, none of the
optional ones."""

CELLS = {}
CORE_ONLY = True

EXPECTED = {
    "test_measure_bandwidth_gbs_correctness": 2, "test_measure_peak_gflops_correctness": 2,
    "test_arithmetic_intensity_correctness": 1, "test_arithmetic_intensity_errors": 1,
    "test_attainable_gflops_correctness": 1, "test_attainable_gflops_errors": 1,
    "test_bottleneck_correctness": 2, "test_bottleneck_errors": 1,
    "test_kernel_intensity_correctness": 0, "test_kernel_intensity_errors": 0,
    "test_systems_answers_roofline": 0, "test_systems_answers_amdahl": 0,
    "test_systems_answers_blocking": 0, "blocking_explanation": 0,
}
