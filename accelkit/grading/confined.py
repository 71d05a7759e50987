"""``python -I -m accelkit.grading.confined POLICY MODULE ARGS...``: confine this process as the
JSON policy says (`sandbox.apply`), then run MODULE as the main module with ARGS.

A process must still have a single thread to enter a new user namespace, so it is confined
here, before anything that starts threads (numpy's BLAS) is imported.
"""
from __future__ import annotations

import json
import os
import runpy
import sys

from accelkit.grading import sandbox


def main() -> None:
    policy, module = json.loads(sys.argv[1]), sys.argv[2]
    sandbox.apply(policy, os.getcwd())
    sys.argv = [module, *sys.argv[3:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
