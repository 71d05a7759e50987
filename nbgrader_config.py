"""nbgrader configuration of the Acceleration course module."""
import os

from accelkit.grading.preprocessors import (ClearGraderMetadata, ResilientExecute, RobustOverwriteCells,
                                    TrustedGrade)
from nbgrader.converters import GenerateAssignment
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, ClearOutput,
                                    DeduplicateIds, IgnorePattern, LimitOutput,
                                    OverwriteKernelspec, SaveAutoGrades)

c = get_config()  # noqa: F821 - provided by nbgrader

here = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.root = here
c.CourseDirectory.course_id = "acceleration"
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(here, "gradebook.db")

# The student version: a stub that says what to do instead of a bare NotImplementedError.
c.ClearSolutions.code_stub = {
    "python": '# YOUR CODE HERE\nraise NotImplementedError("Replace this line with your '
              'implementation, then run the tests below.")'
}

# The student version carries no grader metadata (the margins name hidden tiers).
c.GenerateAssignment.preprocessors = [
    *GenerateAssignment.class_traits()["preprocessors"].make_dynamic_default(), ClearGraderMetadata]

# Test cells a student deleted come back from the gradebook (and score what they score).
c.Autograde.sanitize_preprocessors = [ClearOutput, DeduplicateIds, OverwriteKernelspec,
                                      RobustOverwriteCells, CheckCellMetadata]
c.RobustOverwriteCells.add_missing_cells = True

# Autograde: run the notebook in its kernel (a dead kernel stops only the kernel run), then
# let the trusted grader re-run every test cell outside the student's process. Order
# matters: TrustedGrade must run after Execute and before SaveAutoGrades reads the outputs.
c.Autograde.autograde_preprocessors = [
    ResilientExecute,
    TrustedGrade,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]
# The kernel run executes the setup and solution cells only; cells that grade nothing (the
# teaching text's sweeps and plots) keep a note instead ("run" executes them too: ~55 s more
# per complete submission here).
c.ResilientExecute.teaching_cells = "skip"
c.Execute.timeout = 30           # seconds per cell in the student's kernel (nbgrader's default)
c.TrustedGrade.call_timeout = 30  # seconds per call into student code in the grader
c.TrustedGrade.memory_mb = 4096   # address-space limit of a grading worker
# Bounded grading time, whatever a submission does: at most 1 + 3 minutes per notebook
c.ResilientExecute.run_budget = 60     # s for the kernel run of one notebook (grades nothing)
c.TrustedGrade.cell_budget = 90        # s for one test cell, all its calls together
c.TrustedGrade.notebook_budget = 180   # s for the trusted grading of one notebook
# Speed thresholds fit the machine they were calibrated on (`accelkit calibrate` writes
# calibration.json here). Without a fitting calibration of this machine: "warn" in the log,
# "required" refuses to grade (set it on the course's grading server), "off" says nothing.
c.TrustedGrade.calibration = "warn"

# Student code (kernel and grading workers) runs as an unprivileged uid with the course
# directory hidden and no network, when the grader runs as root on Linux (see README).
c.Sandbox.course_root = here
c.Sandbox.mode = "auto"  # "required": refuse to grade without the sandbox; "off": limits only

# Feedback shows the test cells as graded, minus their hidden part: students see what the
# hidden tests printed (shapes, speedups, thresholds), not their source.
from nbgrader.preprocessors import ClearHiddenTests, GetGrades  # noqa: E402
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor  # noqa: E402

c.GenerateFeedback.preprocessors = [ClearHiddenTests, GetGrades, CSSHTMLHeaderPreprocessor]
