"""Looks for the grader's measurement up the call stack: measure_bandwidth_gbs walks the frames
of whoever called it and returns the first `bandwidth_reference` it finds in their globals
(in the student's own kernel the test cell's namespace has one). A cell that reads frames
(`sys._getframe`, `f_back`, `f_globals`) is not run in grading and is flagged for review: the
bandwidth test scores 0 with a message saying why; the rest is the instructor's solution."""

BASE = "reference"

CELLS = {
    "measure_bandwidth_gbs": '''
import sys


def measure_bandwidth_gbs():
    frame = sys._getframe(1)
    while frame is not None:          # whoever calls me may know the answer
        found = frame.f_globals.get("bandwidth_reference")
        if callable(found):
            return float(found())
        frame = frame.f_back
    return 20.0
''',
}

EXPECTED = {
    "test_measure_bandwidth_gbs_correctness": 0, "test_measure_peak_gflops_correctness": 2,
    "test_arithmetic_intensity_correctness": 1, "test_arithmetic_intensity_errors": 1,
    "test_attainable_gflops_correctness": 1, "test_attainable_gflops_errors": 1,
    "test_bottleneck_correctness": 2, "test_bottleneck_errors": 1,
    "test_kernel_intensity_correctness": 2, "test_kernel_intensity_errors": 1,
    "test_systems_answers_roofline": 1, "test_systems_answers_amdahl": 1,
    "test_systems_answers_blocking": 1, "blocking_explanation": 0,
}
