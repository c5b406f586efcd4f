"""One article as the compiled queries and the relevance rules read it: its words and where each atom is."""

from __future__ import annotations

import sys
from typing import Any

from bot.matching.evidence import build_evidence
from bot.matching.text import Tokens, tokenize
from bot.models import Evidence

Span = tuple[int, int]  # first and last word of a match
Fired = tuple[tuple[Span, str], ...]  # the words that made a query true, with the terms as written
UNLIMITED = sys.maxsize  # the work limit of a view outside a budgeted evaluation (facts, relevance, evidence)


class OverBudget(Exception):
    """A query's evaluation on one view did more work than its budget allowed (raised by ``View.charge``)."""


class View:
    """An article's text, language and title size, and the word positions of every atom (ids of the matcher
    that made it). It is the shared context of the lazy evidence of its hits, and pickles as plain data: it
    re-splits the text on first use after unpickling.

    ``work`` counts the span work (spans read, compared and produced) of the positional nodes evaluated on it;
    ``charge`` raises ``OverBudget`` once it passes ``limit``. The matcher sets both around each watch it
    tests, so one watch's work is bounded; otherwise ``limit`` is ``UNLIMITED``."""

    __slots__ = ("_evidence", "_tokens", "lang", "limit", "n_title", "pos", "text", "title_len", "work")

    def __init__(
        self,
        text: str,
        title_len: int,
        lang: str,
        n_title: int,
        pos: dict[int, list[int]],
        tokens: Tokens | None = None,
    ) -> None:
        self.text = text
        self.title_len = title_len
        self.lang = lang
        self.n_title = n_title
        self.pos = pos
        self._tokens = tokens
        self._evidence: dict[Fired, Evidence] = {}
        self.work = 0
        self.limit = UNLIMITED

    def charge(self, units: int) -> None:
        """Count ``units`` of span work; raise ``OverBudget`` when the total passes ``limit``."""
        work = self.work = self.work + units
        if work > self.limit:
            raise OverBudget(work)

    @property
    def tokens(self) -> Tokens:
        tokens = self._tokens
        if tokens is None:
            tokens = self._tokens = tokenize(self.text)
        return tokens

    def evidence(self, witness: list[tuple[Span, str]]) -> Evidence:
        """The evidence quoting ``witness``: the words that made a query true (cached: queries that fired on
        the same words share it)."""
        fired = tuple(dict.fromkeys(witness))
        found = self._evidence.get(fired)
        if found is not None:
            return found
        token_spans = self.tokens.spans
        char_spans = [(token_spans[s][0], token_spans[e][1]) for (s, e), _ in fired]
        terms = tuple(dict.fromkeys(term for _, term in fired))
        evidence = self._evidence[fired] = build_evidence(self.text, self.title_len, char_spans, terms)
        return evidence

    def __reduce__(self) -> tuple[Any, ...]:
        return (View, (self.text, self.title_len, self.lang, self.n_title, self.pos))
