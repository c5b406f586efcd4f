from __future__ import annotations

from pathlib import Path

import pytest

from bot.matching import CatalogError, load_catalog
from tests.matching.conftest import REPO

IDS = [
    "treaty_signed", "mutual_defense", "defensive_nature", "military_cooperation", "sanctions_resistance",
    "replaces_old_treaties", "other_partnerships", "ushakov_statement", "ratification", "troops_kursk",
    "arms_transfers",
]
GOOD = 'id = "{id}"\ntitle = "T"\nstatement = "S"\npriority = "{priority}"\nquery = \'{query}\'\n'


def write(tmp_path: Path, *facts: str) -> Path:
    path = tmp_path / "facts.toml"
    path.write_text("".join(f"[[fact]]\n{f}\n" for f in facts), encoding="utf-8")
    return path


def test_shipped_catalog_has_exactly_the_issue_ids() -> None:
    facts = load_catalog(REPO / "config" / "facts.toml")
    assert [f.id for f in facts] == IDS
    assert all(f.priority in ("alert", "digest") and f.statement and f.title for f in facts)


def test_problems_are_one_line_each_and_all_reported(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        GOOD.format(id="a", priority="alert", query="russia"),
        GOOD.format(id="a", priority="alert", query="korea"),
        GOOD.format(id="b", priority="soon", query="x"),
        GOOD.format(id="c", priority="digest", query="(russia OR korea"),
        'id = "d"\ntitle = "T"\npriority = "alert"\nquery = "x"\n',
    )
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    problems = info.value.problems
    assert len(problems) == 4
    assert all("\n" not in p and p.startswith(f"{path}: ") for p in problems)
    assert problems[0] == f"{path}: a: duplicate id; every fact needs its own id"
    assert "b: priority 'soon'" in problems[1]
    assert "c: query: Unbalanced parenthesis at position 0" in problems[2]
    assert "d: missing or empty 'statement'" in problems[3]


def test_bad_toml(tmp_path: Path) -> None:
    path = tmp_path / "facts.toml"
    path.write_text("[[fact]\nid = ", encoding="utf-8")
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    assert info.value.problems[0].startswith(f"{path}: (file): is not valid TOML")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CatalogError) as info:
        load_catalog(tmp_path / "nope.toml")
    assert "cannot be read" in info.value.problems[0]
