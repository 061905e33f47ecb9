"""Project plumbing: the README's commands, CI, and the two dependency lists agree."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _requirement_parts(spec: str) -> tuple[str, str]:
    """(name, bounds); pip's extras (``psycopg[binary]``) are left out: conda's package has them built in."""
    name = re.match(r"[A-Za-z0-9_.-]+", spec).group(0)
    rest = re.sub(r"^\[[^\]]*\]", "", spec[len(name) :])
    return name.lower(), rest.replace(" ", "")


def test_environment_yml_and_pyproject_list_the_same_packages_and_bounds():
    pip = dict(
        _requirement_parts(s.split("#")[0].strip()) for s in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    )
    conda = {}
    in_deps = False
    for line in (ROOT / "environment.yml").read_text().splitlines():
        if line.startswith("dependencies:"):
            in_deps = True
            continue
        if in_deps and line.strip().startswith("- "):
            spec = line.strip()[2:].split("#")[0].strip()
            if spec in ("pip", "pip:"):  # conda's own pip, and the packages it installs from PyPI (listed below it)
                continue
            name, bound = _requirement_parts(spec)
            if name != "python":
                conda[name] = bound
    assert pip == conda


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make demo" in readme
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.M)
