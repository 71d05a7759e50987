"""The release notebook submitted untouched: every function still raises NotImplementedError,
and the written answer is the unchanged placeholder (autograde scores that 0)."""

CELLS = None  # None: submit the student version as released

EXPECTED = {
    "test_measure_bandwidth_gbs_correctness": 0, "test_measure_peak_gflops_correctness": 0,
    "test_arithmetic_intensity_correctness": 0, "test_arithmetic_intensity_errors": 0,
    "test_attainable_gflops_correctness": 0, "test_attainable_gflops_errors": 0,
    "test_bottleneck_correctness": 0, "test_bottleneck_errors": 0,
    "test_kernel_intensity_correctness": 0, "test_kernel_intensity_errors": 0,
    "test_systems_answers_roofline": 0, "test_systems_answers_amdahl": 0,
    "test_systems_answers_blocking": 0, "blocking_explanation": 0,
}
