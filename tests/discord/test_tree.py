"""The command tree as Discord receives it: names, options, permissions, limits, no clashes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import discord
import pytest

from bot.commands import COMMANDS
from bot.discord.tree import build_tree

NAME = re.compile(r"^[-_\w]{1,32}$")
CONFIG = {"watch", "feeds", "digest", "subscribe", "unsubscribe", "resume"}
READ = {"settings", "facts", "fact", "why", "status", "trend", "help"}


@pytest.fixture
def tree_json() -> list[dict[str, Any]]:
    client = discord.Client(intents=discord.Intents.none())
    tree = build_tree(client, None)  # type: ignore[arg-type]  # callbacks are not run here
    return [c.to_dict(tree) for c in tree.get_commands()]


def walk(nodes: list[dict[str, Any]], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    for n in nodes:
        full = f"{path} {n['name']}".strip()
        yield full, n
        yield from walk(n.get("options", []), full)


def test_layout_and_permissions(tree_json: list[dict[str, Any]]) -> None:
    top = {c["name"]: c for c in tree_json}
    assert set(top) == CONFIG | READ
    for name in CONFIG:
        assert top[name]["default_member_permissions"] == 1 << 5, name  # Manage Server
        assert top[name]["dm_permission"] is False
    for name in READ:
        assert top[name]["default_member_permissions"] is None, name


def test_every_layer_command_is_in_the_tree(tree_json: list[dict[str, Any]]) -> None:
    paths = {p for p, _ in walk(tree_json)}
    for name, _, _ in COMMANDS:
        assert name in paths, name


def test_names_descriptions_and_options_within_discords_limits(tree_json: list[dict[str, Any]]) -> None:
    for path, node in walk(tree_json):
        assert NAME.match(node["name"]) and node["name"] == node["name"].lower(), path
        assert 1 <= len(node["description"]) <= 100, path
        options = node.get("options", [])
        assert len(options) <= 25, path
        names = [o["name"] for o in options]
        assert len(names) == len(set(names)), f"clash under {path}"
        for o in options:
            for choice in o.get("choices", []):
                assert 1 <= len(choice["name"]) <= 100
    assert len({c["name"] for c in tree_json}) == len(tree_json)


def test_options(tree_json: list[dict[str, Any]]) -> None:
    nodes = dict(walk(tree_json))
    add = {o["name"]: o for o in nodes["watch add"]["options"]}
    assert add["query"]["required"] is True and add["query"]["type"] == 3
    assert add["alert"]["type"] == 5 and not add.get("label", {}).get("required", False)
    assert {o["name"]: o.get("autocomplete", False) for o in nodes["watch remove"]["options"]} == {
        "watch_id": True
    }
    assert {o["name"]: o.get("autocomplete", False) for o in nodes["feeds remove"]["options"]} == {
        "feed_id": True
    }
    assert {o["name"]: o.get("autocomplete", False) for o in nodes["fact"]["options"]} == {"fact_id": True}
    sub = {o["name"]: o for o in nodes["subscribe"]["options"]}
    assert [c["value"] for c in sub["alerts"]["choices"]] == ["off", "facts", "watches", "all"]
    assert sub["mention"]["type"] == 8  # a role
    assert [c["value"] for c in nodes["trend"]["options"][0]["choices"]] == [7, 30]
