"""Returns the grader's float64 oracle as the "accelerated" block: `block_expected`, imported
from the grader's module in the solution cell itself, is exact and BLAS-fast behind a name the
no-BLAS check does not look into. In a grading worker the grader's modules are not loaded:
the import gives a withheld name, the call fails with a message, and the block earns
nothing."""

BASE = "reference"

CELLS = {
    "accelerated_block": '''
from accelkit.exercises.capstone import block_expected as exact_block


def accelerated_block(x, params):
    """The decoder block, as exact as it gets."""
    return np.asarray(exact_block(x, params), dtype=x.dtype)
''',
}

EXPECTED = {"test_accelerated_block_correctness": 0, "test_accelerated_block_speed": 0,
            "profile_analysis": 0}
