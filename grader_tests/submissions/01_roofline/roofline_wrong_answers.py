"""Well-formed but wrong answers to the three systems questions: the visible tests (which check
only the form) pass in the student's kernel, the hidden tests give the three points nothing.
Everything else is the instructor's solution."""

BASE = "reference"

CELLS = {
    "systems_answers": '''
def systems_answers():
    return {"roofline_gflops": 10.0, "roofline_bound": "memory",
            "amdahl_speedup": 8.0, "blocking_choice": "a"}
''',
}

EXPECTED = {
    "test_measure_bandwidth_gbs_correctness": 2, "test_measure_peak_gflops_correctness": 2,
    "test_arithmetic_intensity_correctness": 1, "test_arithmetic_intensity_errors": 1,
    "test_attainable_gflops_correctness": 1, "test_attainable_gflops_errors": 1,
    "test_bottleneck_correctness": 2, "test_bottleneck_errors": 1,
    "test_kernel_intensity_correctness": 2, "test_kernel_intensity_errors": 1,
    "test_systems_answers_roofline": 0, "test_systems_answers_amdahl": 0,
    "test_systems_answers_blocking": 0, "blocking_explanation": 0,
}
