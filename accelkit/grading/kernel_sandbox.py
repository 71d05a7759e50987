"""Start a Jupyter kernel inside the sandbox.

``python -m accelkit.grading.kernel_sandbox <kernel argv...>``: reads the policy from the
environment variable ACCELKIT_KERNEL_SANDBOX (JSON: the policy and a private folder),
confines this process (`accelkit.grading.sandbox.apply`) and replaces itself with the kernel.
"""
from __future__ import annotations

import json
import os
import sys

from accelkit.grading import sandbox

ENV = "ACCELKIT_KERNEL_SANDBOX"


def main() -> None:
    settings = json.loads(os.environ.pop(ENV))
    private = settings["private"]
    os.environ.update(HOME=private, IPYTHONDIR=os.path.join(private, "ipython"),
                      MPLCONFIGDIR=os.path.join(private, "matplotlib"), TMPDIR=private)
    sandbox.apply(settings["policy"], private)
    os.execv(sys.argv[1], sys.argv[1:])


if __name__ == "__main__":
    main()
