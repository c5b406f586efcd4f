from __future__ import annotations

import io
import json

from bot.matching.jsonl import parse_published, run_match
from bot.models import Fact

Records = list[dict[str, object]]


def run(lines: list[str], watches: list[str], facts: tuple[Fact, ...] = ()) -> tuple[int, Records]:
    out = io.StringIO()
    code = run_match(lines, out, facts=facts, watch_queries=watches)
    return code, [json.loads(line) for line in out.getvalue().splitlines()]


def test_one_line_out_per_line_in_in_order(catalog: tuple[Fact, ...]) -> None:
    lines = [
        json.dumps({"id": "1", "title": "Putin and Kim sign treaty in Pyongyang", "text": "", "lang": "en",
                    "published": "2024-06"}),
        "{not json",
        json.dumps({"id": "3", "title": "Football results", "text": "Scores", "published": "garbage"}),
        json.dumps([1, 2]),
        json.dumps({"id": "5", "title": "러시아 소식", "text": "", "lang": "ko", "published": None}),
    ]
    code, records = run(lines, ["lang:ko", "football"], catalog)
    assert code == 1
    assert len(records) == 5
    assert records[0]["id"] == "1" and records[0]["relevant"] is True
    assert "treaty_signed" in records[0]["facts"]  # type: ignore[operator]
    assert records[1] == {"line": 2, "error": records[1]["error"]}
    assert "not valid JSON" in str(records[1]["error"])
    assert records[2]["watches"] == ["football"] and records[2]["relevant"] is False
    assert records[3]["line"] == 4
    assert records[4]["watches"] == ["lang:ko"]


def test_bad_watch_query_is_reported_not_raised() -> None:
    code, records = run([], ["(russia"])
    assert code == 2
    assert records[0]["position"] == 0


def test_published_parsing_never_raises() -> None:
    assert parse_published("2025")[0].year == 2025
    assert parse_published("2024-06")[0].month == 6
    assert parse_published("2024-06-19T10:00:00+09:00")[0].hour == 1
    assert parse_published("garbage")[1] is False
    assert parse_published(12345)[1] is False
    assert parse_published("9999-99")[1] is False
