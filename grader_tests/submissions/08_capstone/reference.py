"""The instructor's solution, submitted as it is, with the written analysis filled in.

The analysis is a manually graded cell: autograde leaves it ungraded, which the gradebook
reports as 0.0 until a person grades it."""

CELLS = {}

ANSWER = ("The naive products were 93% of block_reference (30 of 31 ms); Amdahl with 40x faster "
          "products predicted about 11x. I measured 16x end to end; matmul_blocked is still 83% "
          "of my block, so a faster small-matrix micro-kernel comes next, and two cores could "
          "give at most 1 / (0.17 + 0.83 / 2) = 1.7x more.")


def EDIT(nb):
    for cell in nb.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "profile_analysis":
            cell.source = ANSWER
    return nb


EXPECTED = {"test_accelerated_block_correctness": 4, "test_accelerated_block_speed": 3,
            "profile_analysis": 0}  # ungraded until graded by hand
