"""The command layer's shape: one module per feature over one gate, typed by its port, never the root."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import bot.commands
from bot.commands import Commands
from bot.commands.gate import Gate

PACKAGE = Path(bot.commands.__file__).parent
FEATURES = ("watches", "subscriptions", "feeds", "articles", "digests", "status")


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, including under ``if TYPE_CHECKING:`` and inside functions."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
    return out


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_no_command_module_imports_the_root_or_grows_past_600_lines(path: Path) -> None:
    assert not {m for m in imported_modules(path) if m == "bot.app" or m.startswith("bot.app.")}
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 600


def test_schedule_module_is_pure() -> None:
    import bot.schedule

    bot_imports = {m for m in imported_modules(Path(bot.schedule.__file__)) if m.split(".")[0] == "bot"}
    assert bot_imports == set()


def test_commands_combines_every_feature_over_one_gate() -> None:
    features = [c for c in Commands.__mro__ if c.__module__.startswith("bot.commands.")]
    modules = {c.__module__.rsplit(".", 1)[1] for c in features}
    assert set(FEATURES) <= modules
    assert Gate in Commands.__mro__
    assert sum("__init__" in vars(c) for c in Commands.__mro__ if c is not object) == 1, "one gate state"
