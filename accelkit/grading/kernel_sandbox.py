"""Start a Jupyter kernel inside the sandbox.

``python -m accelkit.grading.kernel_sandbox <kernel argv...>``: reads the policy from the
environment variable ACCELKIT_KERNEL_SANDBOX (JSON: the policy and a private folder),
confines this process (`accelkit.grading.sandbox.apply`) and replaces itself with the kernel,
which then works in a private copy of the submission's folder.
"""
from __future__ import annotations

import json
import os
import sys

from accelkit.grading import sandbox

ENV = "ACCELKIT_KERNEL_SANDBOX"


def main() -> None:
    settings = json.loads(os.environ.pop(ENV))
    sandbox.apply(settings["policy"], os.getcwd())  # the working folder: a private copy
    home = "/tmp/home"  # the sandbox's own /tmp; the private folder keeps only the sockets
    os.makedirs(home, exist_ok=True)
    os.environ.update(HOME=home, IPYTHONDIR=os.path.join(home, "ipython"),
                      MPLCONFIGDIR=os.path.join(home, "matplotlib"), TMPDIR="/tmp")
    os.execv(sys.argv[1], sys.argv[1:])


if __name__ == "__main__":
    main()
