"""Watch queries that would cost too much, and query text that hides characters, at the command layer."""

from __future__ import annotations

import pytest

from bot.app import Services
from bot.commands import Caller, Commands

ATTACK = (
    "((((((((the NEAR/100 a) NEAR/100 of) NEAR/100 and) NEAR/100 to) NEAR/100 in) NEAR/100 is)"
    " NEAR/100 for) NEAR/100 on)"
)


async def test_attack_query_is_refused_with_one_sentence(
    commands: Commands, admin: Caller, svc: Services
) -> None:
    assert len(ATTACK) < 140
    r = await commands.watch_add(admin, ATTACK)
    assert r.error and r.ephemeral and r.title == "Query too complex"
    [sentence] = r.body
    assert sentence.startswith("This query is too complex")
    assert "NEAR" in sentence and sentence.endswith(".") and ". " not in sentence
    assert await svc.store.list_watches() == []
    t = await commands.watch_test(admin, ATTACK)
    assert t.error and t.body == r.body


async def test_heavy_query_under_the_limit_is_accepted(
    commands: Commands, admin: Caller, svc: Services
) -> None:
    r = await commands.watch_add(admin, "((the NEAR/50 a) NEAR/50 of) NEAR/50 and")
    assert not r.error
    assert len(await svc.store.list_watches()) == 1


async def test_query_cost_limit_is_a_setting(commands: Commands, admin: Caller, svc: Services) -> None:
    svc.settings.query_max_cost = 100
    r = await commands.watch_add(admin, "(putin NEAR/10 kim) NEAR/10 summit")  # 11 × 11
    assert r.error and "too complex" in r.body[0]
    ok = await commands.watch_add(admin, "(putin NEAR/9 kim) NEAR/9 summit")  # 10 × 10
    assert not ok.error


@pytest.mark.parametrize("invisible", ["\u202e", "\u200b", "\u2067", "\ufeff"])
async def test_invisible_characters_are_stripped_from_the_stored_query(
    commands: Commands, admin: Caller, svc: Services, invisible: str
) -> None:
    r = await commands.watch_add(admin, f"{invisible}kur{invisible}sk OR troops{invisible}")
    assert not r.error
    [w] = await svc.store.list_watches()
    assert w.query == "kursk OR troops"


async def test_near_with_a_superscript_digit_is_a_query_error(
    commands: Commands, admin: Caller, svc: Services
) -> None:
    r = await commands.watch_add(admin, "putin NEAR/² kim")
    assert r.error and r.body[0].startswith("Bad NEAR at position 6")
    assert await svc.store.list_watches() == []
