"""Types of the compiled accelerator built from ``_speedups.c`` (see ``bot.matching.text``)."""

from collections.abc import Callable, Iterable
from typing import Any

def tokenize(text: str, /) -> tuple[tuple[str, ...], tuple[bool, ...], tuple[int, ...], list[int]]: ...
def positions(resolved: list[tuple[int, ...] | None], /) -> dict[int, list[int]]: ...
def splice(
    base: tuple[Any, ...],
    changes: list[int],
    slot: list[int],
    sources: list[Any],
    constants: dict[int, Any],
    context: object,
    hit_type: type,
    source_field: object,
    context_field: object,
    /,
) -> tuple[Any, ...]: ...
def section_hits(
    entry_at: bytes,
    entries: bytes,
    always: tuple[int, ...],
    base: tuple[Any, ...],
    slot: list[int],
    constants: dict[int, Any],
    pos: dict[int, list[int]],
    view: Any,
    tests: list[Callable[[Any], bool]],
    sources: list[Any],
    hit_type: type,
    source_field: object,
    context_field: object,
    /,
) -> tuple[Any, ...]: ...
def korean_keys(
    word: str, stripped: str, by_last: dict[str, tuple[tuple[str, int], ...]], /
) -> tuple[str, ...]: ...
def token_keys_many(
    words: list[str],
    by_last: dict[str, tuple[tuple[str, int], ...]],
    stem_english: Callable[[list[str]], list[str]],
    stem_russian: Callable[[list[str]], list[str]],
    /,
) -> list[tuple[str, ...]]: ...
def atoms_of_many(
    words: list[str],
    keys: list[tuple[str, ...]],
    exact: dict[str, list[int]],
    trie: dict[str, tuple[tuple[int, bool], ...]],
    max_ending: int,
    /,
) -> list[tuple[int, ...]]: ...
def lookup_positions(
    raw: tuple[str, ...],
    cache: dict[str, tuple[int, ...]],
    resolve: Callable[[list[str]], list[tuple[int, ...]]],
    /,
) -> dict[int, list[int]]: ...
def phrase_spans(
    pos: dict[int, list[int]],
    first: int,
    rest: tuple[int, ...],
    soft: tuple[bool, ...],
    limit: int,
    max_spans: int,
    /,
) -> list[tuple[int, int]]: ...
def point_spans(
    pos: dict[int, list[int]], atoms: Iterable[int], max_spans: int, /
) -> list[tuple[int, int]]: ...
def normalize_many(words: list[str], unicode_normalize: Callable[[Any, str], str], /) -> list[str]: ...
