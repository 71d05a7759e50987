"""The instructor's solution, submitted as it is."""

CELLS = {}

EXPECTED = {
    "test_matmul_fp16_acc32_correctness": 3, "test_matmul_fp16_acc32_errors": 1,
    "test_matmul_fp16_acc32_speed": 2,
    "test_loss_scale_update_correctness": 2, "test_loss_scale_update_errors": 1,
    "test_has_overflow_correctness": 2,
}
