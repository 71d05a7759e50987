"""Returns the grader's own measurements as the student's. `bandwidth_reference` is imported by
the setup cell (the visible test compares with it), so in the student's kernel it is right
there; `peak_gflops_reference` is fetched with importlib. In grading the solution cells run
without the grader's code: setup names from its modules are withheld in the student's
worker, and a cell that goes around import statements is not run. Both measurement tests
score 0 with a message saying why; the rest is the instructor's solution."""

BASE = "reference"

CELLS = {
    "measure_bandwidth_gbs": '''
def measure_bandwidth_gbs():
    return bandwidth_reference()      # the tests agree with themselves
''',
    "measure_peak_gflops": '''
import importlib


def measure_peak_gflops(dtype=np.float32):
    return importlib.import_module("accelkit.exercises.roofline").peak_gflops_reference(dtype)
''',
}

EXPECTED = {
    "test_measure_bandwidth_gbs_correctness": 0, "test_measure_peak_gflops_correctness": 0,
    "test_arithmetic_intensity_correctness": 1, "test_arithmetic_intensity_errors": 1,
    "test_attainable_gflops_correctness": 1, "test_attainable_gflops_errors": 1,
    "test_bottleneck_correctness": 2, "test_bottleneck_errors": 1,
    "test_kernel_intensity_correctness": 2, "test_kernel_intensity_errors": 1,
    "test_systems_answers_roofline": 1, "test_systems_answers_amdahl": 1,
    "test_systems_answers_blocking": 1, "blocking_explanation": 0,
}
