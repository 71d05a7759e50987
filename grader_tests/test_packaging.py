"""The conda environment and the pip install ask for the same packages and versions, and the
lowest-versions job tests the lower end of every range."""
import re
import tomllib

from conftest import REPO


def _normalise(spec: str) -> tuple:
    """(name, version ranges) of a requirement; pip's extras ("[binary]") and comments drop."""
    spec = spec.split("#", 1)[0]
    name, ranges = re.match(r"([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*(.*)", spec.strip()).groups()
    return name.lower().replace("_", "-"), ranges.replace(" ", "")


def test_environment_yml_matches_pyproject():
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    pip_deps = dict(_normalise(d) for d in pyproject["project"]["dependencies"])
    dependencies = (REPO / "environment.yml").read_text().split("dependencies:", 1)[1]
    conda = dict(_normalise(m) for m in re.findall(r"^  - ([A-Za-z][^:#\n]*)$", dependencies, re.M))
    conda.pop("python")
    conda.pop("pip")
    assert conda == pip_deps


def test_the_lowest_versions_job_installs_every_range_at_its_lower_end():
    """.ci/lowest.txt (the constraints of the versions job in .github/workflows/students.yml)
    pins each dependency of pyproject.toml to the lowest version its range allows."""
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    lowest = {name: re.search(r">=([\w.]+)", ranges).group(1)
              for name, ranges in map(_normalise, pyproject["project"]["dependencies"])}
    pinned = dict(line.split("==") for line in (REPO / ".ci" / "lowest.txt").read_text().splitlines()
                  if line and not line.startswith("#"))
    assert pinned == lowest
