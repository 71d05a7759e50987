"""A student on the core path only: writes the float16-storage matmul, and leaves loss scaling.

The optional-depth solution cells stay as released (they raise NotImplementedError, and the
teaching cells that call them fail): every core point is earned all the same, none of the
optional ones."""

CELLS = {}
CORE_ONLY = True

EXPECTED = {
    "test_matmul_fp16_acc32_correctness": 3, "test_matmul_fp16_acc32_errors": 1,
    "test_matmul_fp16_acc32_speed": 2, "test_loss_scale_update_correctness": 0,
    "test_loss_scale_update_errors": 0, "test_has_overflow_correctness": 0,
}
