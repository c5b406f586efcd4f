"""Reading ``/pactwatch`` text: free text verbatim, smart quotes straightened, options as flags."""

from __future__ import annotations

import pytest

from bot.slack.command_text import SUBCOMMANDS, CommandTextError, parse_command_text, unwrap_link
from bot.slack.slash import DISPATCH


def test_every_subcommand_is_dispatched() -> None:
    assert {s.name for s in SUBCOMMANDS} == set(DISPATCH)


def test_query_is_kept_verbatim_with_quotes_and_flags_after_it() -> None:
    t = parse_command_text('watch add "mutual defense" NEAR/5 treaty --label pact --alert')
    assert t.subcommand.name == "watch add"
    assert t.arg == '"mutual defense" NEAR/5 treaty'
    assert t.value("label") == "pact" and t.flag("alert")


def test_smart_quotes_and_slack_escaping_are_undone() -> None:
    t = parse_command_text("WATCH add “mutual defense” &amp; ‘Kursk’ AND x&lt;y --label “two words”")
    assert t.arg == "\"mutual defense\" & 'Kursk' AND x<y"
    assert t.value("label") == "two words"
    assert not t.flag("alert")


def test_subscribe_options() -> None:
    t = parse_command_text(
        'subscribe --alerts all --digest "weekdays 08:00" --timezone=Asia/Seoul --facts a,b'
    )
    assert t.arg == ""
    assert dict(t.options) == {
        "alerts": "all",
        "digest": "weekdays 08:00",
        "timezone": "Asia/Seoul",
        "facts": "a,b",
    }


def test_empty_text_is_help() -> None:
    assert parse_command_text("   ").subcommand.name == "help"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nope", "no subcommand `nope`"),
        ("feeds", "needs one of: list, add, remove"),
        ("feeds delete 3", "needs one of"),
        ("watch add", "needs <query>"),
        ("watch add treaty --colour red", "no option `--colour`"),
        ("watch add treaty --label", "`--label` needs a value"),
        ("watch add treaty --alert yes", "Unexpected `yes`"),
        ("status now", "takes no text"),
        ("fact", "needs <id>"),
    ],
)
def test_bad_text_gets_one_sentence_saying_what_to_type(text: str, expected: str) -> None:
    with pytest.raises(CommandTextError) as err:
        parse_command_text(text)
    message = str(err.value)
    assert expected in message
    assert message.endswith(".") and "\n" not in message


def test_unwrap_link() -> None:
    assert unwrap_link("<https://a.example/x|a.example/x>") == "https://a.example/x"
    assert unwrap_link("<https://a.example/x>") == "https://a.example/x"
    assert unwrap_link(" https://a.example/x ") == "https://a.example/x"
