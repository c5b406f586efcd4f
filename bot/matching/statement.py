"""Facts at sentence level, with modality: is the fact stated, or only hedged, denied, hypothetical or still
to come?

An event fact (shipments, troops, military cooperation, sanctions undermined) counts when a sentence
states it — also as a claim made by a government or an intelligence service, which is how most of them are
reported. It does not count where the words that state it are *unasserted*: within the scope of a marker
of modality in their sentence —

- ``hedged`` (not for military cooperation, reported as feared or suspected): "could", "might", 가능성,
  "может", "не исключили" — but not a negated modal ("не может быть полным, пока санкции не отменены" is an
  assertion);
- ``denied``: "denied", "nonsense", 부인, 정보가 없다, "отрицают", "беспочвенные";
- ``hypothetical``: "if", "whether", 만약, "если"; "would" also covers the few words before it ("what
  Russian fighter jets would mean");
- ``future`` (shipments and troops only: pledges of cooperation are reports in themselves): "will",
  예정, "будет".

A marker covers up to ``scope`` words of its sentence: after it (English and Russian put the marker first:
"could violate sanctions") or before it (Korean puts it last: "무기 지원 가능성"). Words of attribution end
a forward scope, so "Moscow denied it after Washington said Pyongyang shipped shells" still reports the
claim. The fact's query is then asked again without the unasserted words: it stands when another sentence
(or another part of the same one) states it. The markers are data: ``[statement]`` in
``config/relevance.toml``; the facts' own queries stay the explanation ``why`` shows.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from bot.matching.view import Span, View
from bot.settings import packaged_config_dir

SpanCompiler = Callable[[str], tuple[Callable[[View], list[Span]], frozenset[int]]]
Covers = Literal["after", "before"]


class StatementConfigError(ValueError):
    """A ``[statement]`` table that cannot be used."""


@dataclass(frozen=True)
class Marker:
    """Words of one modality (``name``) that leave the words they cover (``covers``: "after" or "before"
    them) unasserted for ``facts``."""

    name: str
    covers: Covers
    facts: frozenset[str]
    words: str
    scope: int | None = None  # words covered, when not the table's ``scope``
    unless_after: str | None = None  # words that, right before the marker, cancel it ("не может": cannot)


@dataclass(frozen=True)
class StatementConfig:
    scope: int
    stops: str
    markers: tuple[Marker, ...]


def load_statement(path: Path) -> StatementConfig:
    """The ``[statement]`` table of ``path``. Raises ``StatementConfigError`` saying what is wrong."""
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))["statement"]
        markers = tuple(
            Marker(
                str(m["name"]),
                m["covers"],
                frozenset(map(str, m["facts"])),
                " ".join(m["words"].split()),
                int(m["scope"]) if "scope" in m else None,
                " ".join(m["unless_after"].split()) if "unless_after" in m else None,
            )
            for m in table["marker"]
        )
        config = StatementConfig(int(table["scope"]), " ".join(table["stops"].split()), markers)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as err:
        raise StatementConfigError(
            f"{path}: cannot read the [statement] table ({type(err).__name__}: {err}); it needs scope, stops "
            "and [[statement.marker]] entries with name, covers, facts and words"
        ) from None
    bad = [m.name for m in markers if m.covers not in ("after", "before")]
    if bad:
        raise StatementConfigError(f"{path}: [[statement.marker]] covers must be 'after' or 'before': {bad}")
    return config


@lru_cache(maxsize=1)
def default_statement() -> StatementConfig:
    return load_statement(packaged_config_dir() / "relevance.toml")


class StatementModel:
    """The markers above, compiled by the matcher into its own atoms."""

    def __init__(self, compile_spans: SpanCompiler, config: StatementConfig | None = None) -> None:
        cfg = config or default_statement()
        self.scope = cfg.scope
        self._stops = compile_spans(cfg.stops)
        self._markers = [(m, compile_spans(m.words)) for m in cfg.markers]
        self._cancel = {i: compile_spans(m.unless_after) for i, m in enumerate(cfg.markers) if m.unless_after}
        self.facts = frozenset().union(*(m.facts for m in cfg.markers))

    def unasserted(self, v: View) -> dict[str, set[int]]:
        """For each fact guarded here, the word positions of ``v`` that do not state it (empty when the
        article has no marker)."""
        found: dict[str, set[int]] = {}
        sentence = v.tokens.sentence
        last = len(sentence) - 1
        stops: set[int] | None = None
        for n, (marker, (spans_of, atoms)) in enumerate(self._markers):
            if atoms.isdisjoint(v.pos):
                continue
            scope = marker.scope or self.scope
            cancel = self._cancel.get(n)
            cancelled = {e for _, e in cancel[0](v)} if cancel and not cancel[1].isdisjoint(v.pos) else set()
            for start, end in spans_of(v):
                if start - 1 in cancelled:
                    continue
                here = sentence[start]
                covered: set[int] = set()
                if marker.covers == "after":
                    if stops is None:
                        stops = self._stop_positions(v)
                    i = end + 1
                    while i <= min(end + scope, last) and sentence[i] == here and i not in stops:
                        covered.add(i)
                        i += 1
                else:
                    i = start - 1
                    while i >= max(start - scope, 0) and sentence[i] == here:
                        covered.add(i)
                        i -= 1
                for fact in marker.facts:
                    found.setdefault(fact, set()).update(covered)
        return found

    def _stop_positions(self, v: View) -> set[int]:
        spans_of, atoms = self._stops
        if atoms.isdisjoint(v.pos):
            return set()
        return {i for s, e in spans_of(v) for i in range(s, e + 1)}


def without(v: View, positions: set[int]) -> View:
    """``v`` with the words at ``positions`` taken out (the text and the sentences are unchanged)."""
    pos = {atom: kept for atom, at in v.pos.items() if (kept := [p for p in at if p not in positions])}
    return View(v.text, v.title_len, v.lang, v.n_title, pos, v.tokens)
