"""Not a notebook at all: the file is broken JSON. nbgrader must report this submission and
grade the others."""

CELLS = None
RAW = '{"cells": [ {"cell_type": "code", "source": "def matmul_blocked(A, B'
KERNEL_RUN = True  # its tests need what happens in the student's kernel (make test)

EXPECTED = None  # cannot be graded
