"""What ships: a pure-Python package (no compiled source), a Dockerfile without a compiler, and a Docker
build context that leaves local state and secrets behind."""

from __future__ import annotations

import fnmatch
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule, for the plain patterns this project uses: the last matching pattern wins."""
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pat = pattern[1:] if negate else pattern
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(fnmatch.fnmatch(p, pat) or fnmatch.fnmatch(p, pat.removeprefix("**/")) for p in prefixes):
            ignored = not negate
    return ignored


def test_the_build_context_leaves_state_and_secrets_behind() -> None:
    lines = (REPO / ".dockerignore").read_text().splitlines()
    patterns = [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]
    for path in (".venv/bin/python", "data/pactwatch.db", ".env", ".git/HEAD", "bot/__pycache__/app.pyc"):
        assert _ignored(path, patterns), path
    for path in ("pyproject.toml", "README.md", "requirements.lock", "bot/app.py", "config/facts.toml"):
        assert not _ignored(path, patterns), path


def test_no_compiled_source_and_no_compiler_in_the_image() -> None:
    native = {".c", ".h", ".pyx", ".pxd", ".so", ".cpp"}
    compiled = [p for p in (REPO / "bot").rglob("*") if p.suffix in native]
    assert compiled == []
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "build-essential" not in dockerfile and "gcc" not in dockerfile
    pyproject = (REPO / "pyproject.toml").read_text()
    assert "hooks.custom" not in pyproject and "setuptools" not in pyproject
