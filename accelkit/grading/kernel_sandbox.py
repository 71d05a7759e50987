"""Start a Jupyter kernel inside the sandbox.

``python -m accelkit.grading.kernel_sandbox <kernel argv...>``: reads the policy from the
environment variable ACCELKIT_KERNEL_SANDBOX (JSON: the policy and a private folder),
confines this process (`accelkit.grading.sandbox.apply`) and replaces itself with the kernel,
which then works in a private copy of the submission's folder.
"""
from __future__ import annotations

import glob
import json
import os
import shutil
import sys
import tempfile

from accelkit.grading import sandbox

ENV = "ACCELKIT_KERNEL_SANDBOX"
PRIVATE_PREFIX = "accelkit-kernel-"


def private_folder() -> str:
    """A new folder for a sandboxed kernel's connection file and sockets, named after this
    process: if this grader is killed before it removes the folder, a later one can."""
    return tempfile.mkdtemp(prefix=f"{PRIVATE_PREFIX}{os.getpid()}-")


def remove_stale_private_folders() -> list:
    """Remove the private folders of graders that are gone (killed before they cleaned up:
    a timed-out submission, a killed lane or batch); returns the ones removed."""
    removed = []
    for folder in glob.glob(os.path.join(tempfile.gettempdir(), PRIVATE_PREFIX + "*-*")):
        pid = os.path.basename(folder).removeprefix(PRIVATE_PREFIX).split("-", 1)[0]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        if not os.path.exists(folder):
            removed.append(folder)
    return removed


def _alive(pid: int) -> bool:
    import psutil
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:  # another user's
        return True


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
