"""The conda environment and the pip install ask for the same packages and versions."""
import re
import tomllib

from conftest import REPO


def _normalise(spec: str) -> tuple:
    name, ranges = re.match(r"([A-Za-z0-9_.\-]+)\s*(.*)", spec.strip()).groups()
    return name.lower().replace("_", "-"), ranges.replace(" ", "")


def test_environment_yml_matches_pyproject():
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    pip_deps = dict(_normalise(d) for d in pyproject["project"]["dependencies"])
    conda = {}
    for line in (REPO / "environment.yml").read_text().splitlines():
        m = re.match(r"\s+- ([A-Za-z][^:#]*)$", line)
        if m and not m.group(1).startswith("-e") and m.group(1).strip() not in ("pip",):
            name, ranges = _normalise(m.group(1))
            if name != "python":
                conda[name] = ranges
    assert conda == pip_deps
