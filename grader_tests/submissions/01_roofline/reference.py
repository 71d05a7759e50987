"""The instructor's solution, submitted as it is, with the written answer filled in.

The written answer is a manually graded cell: autograde leaves it ungraded (auto_score None,
needs_manual_grade True), which the gradebook reports as score 0.0 until a person grades it."""

CELLS = {}

ANSWER = ("A naive product reloads both operands for every multiply-add: 2 FLOPs per 8 bytes, "
          "0.25 FLOP/byte, far left of my ridge point, so it is memory-bound. With b x b tiles "
          "in cache each loaded value is reused b times: about b/4 FLOP/byte, right of the "
          "ridge point for b = 64. Each level is 10x slower, so tiles are chosen per level.")


def EDIT(nb):
    for cell in nb.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "blocking_explanation":
            cell.source = ANSWER
    return nb


EXPECTED = {
    "test_measure_bandwidth_gbs_correctness": 2, "test_measure_peak_gflops_correctness": 2,
    "test_arithmetic_intensity_correctness": 1, "test_arithmetic_intensity_errors": 1,
    "test_attainable_gflops_correctness": 1, "test_attainable_gflops_errors": 1,
    "test_bottleneck_correctness": 2, "test_bottleneck_errors": 1,
    "test_kernel_intensity_correctness": 2, "test_kernel_intensity_errors": 1,
    "test_systems_answers_roofline": 1, "test_systems_answers_amdahl": 1,
    "test_systems_answers_blocking": 1, "blocking_explanation": 0,  # ungraded until graded by hand
}
