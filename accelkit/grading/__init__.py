"""The trusted grading engine: only the grader runs it (never a student's worker)."""
