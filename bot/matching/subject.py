"""Which pair of states an article is about: the subject model of the relevance rules.

Naming North Korea and Russia together is not enough when the article is about another pair: Putin's visit
to Vietnam that recalls the Pyongyang summit in a sentence, a preview of the Russia–Iran treaty that compares
it with the North Korea pact, South Korea–Russia ties, China and North Korea marking their own treaty. The
model weighs, for each pair, the sentences that name both of its sides (or name it as one unit: 북중, 한러,
"Russia and China" as one actor): ``title`` in the headline, ``lead`` in the lead, ``body`` further on.

An article is *about another pair* (``background`` names it) when that pair is named in the headline and
outweighs North Korea–Russia there and in the text, unless North Korea–Russia has a passage of its own:
sentences in a row from one naming the pact's other side, none naming the partner (an article on Putin in
Hanoi that ends on three sentences explaining the Pyongyang treaty) — ``long_passage`` of them, or
``passage`` of them with at least ``passage_share`` of the other pair's weight. A pair named in the headline
also owns the sentences that name only its own side ("In Hanoi, he met To Lam"). A sentence naming Russia
and China as one actor ("Russia and China urge") counts for Russia–China, not for North Korea–Russia.

The partners, the pairs, the units and the weights (one table) are data: ``[subject]`` in
``config/relevance.toml``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from bot.matching.view import Span, View
from bot.settings import packaged_config_dir

SpanCompiler = Callable[[str], tuple[Callable[[View], list[Span]], frozenset[int]]]
WEIGHT_NAMES = ("title", "lead", "body", "passage", "passage_share", "long_passage")
SIDES = ("ru", "nk")


class SubjectConfigError(ValueError):
    """A ``[subject]`` table that cannot be used."""


@dataclass(frozen=True)
class SubjectConfig:
    """The subject model's data: its ``weights``, the ``partners`` (queries), the ``pairs`` (name → the side
    shared with North Korea–Russia and the partner) and the ``units`` (pair name → query)."""

    weights: dict[str, float]
    partners: dict[str, str]
    pairs: dict[str, tuple[str, str]]
    units: dict[str, str]
    observers: frozenset[str] = frozenset()


def load_subject(path: Path) -> SubjectConfig:
    """The ``[subject]`` table of ``path``. Raises ``SubjectConfigError`` saying what is wrong."""
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))["subject"]
        weights = {name: float(table["weights"][name]) for name in WEIGHT_NAMES}
        partners = {name: " ".join(str(q).split()) for name, q in table["partners"].items()}
        pairs = {name: (str(side), str(partner)) for name, (side, partner) in table["pairs"].items()}
        units = {name: " ".join(str(q).split()) for name, q in table.get("units", {}).items()}
        observers = frozenset(str(o) for o in table.get("observers", ()))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as err:
        raise SubjectConfigError(
            f"{path}: cannot read the [subject] table ({type(err).__name__}: {err}); it needs weights "
            f"({', '.join(WEIGHT_NAMES)}), pairs and partners"
        ) from None
    bad = [n for n, (side, partner) in pairs.items() if side not in SIDES or partner not in partners]
    bad += [n for n in units if n not in pairs] + sorted(observers - set(partners))
    if bad:
        raise SubjectConfigError(f"{path}: [subject] pairs or units with an unknown side or partner: {bad}")
    return SubjectConfig(weights, partners, pairs, units, observers)


@lru_cache(maxsize=1)
def default_subject() -> SubjectConfig:
    return load_subject(packaged_config_dir() / "relevance.toml")


@dataclass
class Sides:
    """The sentences of one article that name each side of North Korea–Russia, and those naming Russia and
    China as one actor (they are Russia–China's, not North Korea–Russia's)."""

    nk: set[int]
    ru: set[int]
    joint: set[int] = field(default_factory=set)
    # The other pairs named in the article (``SubjectModel._pairs_named``), found on first use.
    pairs: list[tuple[str, str, set[int], set[int]]] | None = None


class SubjectModel:
    """The model above, with its partner and unit queries compiled by the matcher."""

    def __init__(self, compile_spans: SpanCompiler, config: SubjectConfig | None = None) -> None:
        cfg = config or default_subject()
        self.weights = cfg.weights
        self.pairs = cfg.pairs
        self.observers = cfg.observers
        self._partners = {name: compile_spans(q) for name, q in cfg.partners.items()}
        self._units = {name: compile_spans(q) for name, q in cfg.units.items()}
        compiled = [*self._partners.values(), *self._units.values()]
        self._atoms = frozenset().union(*(atoms for _, atoms in compiled))

    def _sentences(self, compiled: tuple[Callable[[View], list[Span]], frozenset[int]], v: View) -> set[int]:
        spans_of, atoms = compiled
        if atoms.isdisjoint(v.pos):
            return set()
        sentence = v.tokens.sentence
        return {sentence[s[0]] for s in spans_of(v)}

    def weight(self, sentences: set[int], title_end: int, lead_end: int) -> float:
        """The weight of ``sentences``: headline ones (up to ``title_end``) weigh most, then the lead's (up to
        ``lead_end``)."""
        w = self.weights
        return sum(
            w["title"] if s <= title_end else w["lead"] if s <= lead_end else w["body"] for s in sentences
        )

    def background(self, v: View, sides: Sides, lead_end: int) -> str | None:
        """The other pair this article is about, when North Korea–Russia is only its background; else None.
        ``lead_end``: the number of the lead's last sentence."""
        sentence = v.tokens.sentence
        title_end = sentence[v.n_title - 1] if v.n_title else -1
        pairs = self._pairs_named(v, sides)
        ours = (sides.nk & sides.ru) - sides.joint
        ours_in_title = bool(ours) and min(ours) <= title_end
        w = self.weights
        for name, shared, named, theirs in pairs:
            if min(theirs) > title_end:
                continue  # not the headline's pair
            # A pair in the headline also owns the sentences that name only its own side ("In Hanoi, he met
            # To Lam"; "Kim thanked him"): they go on with the headline's story.
            own_side = sides.nk if shared == "ru" else sides.ru
            theirs = theirs | named
            mine = self.weight(ours | (own_side if ours_in_title else set()), title_end, lead_end)
            other = self.weight(theirs, title_end, lead_end)
            if other <= mine:
                continue
            run = _longest_passage(own_side - theirs, theirs, max(sentence, default=0))
            if run >= w["long_passage"] or (run >= w["passage"] and mine >= w["passage_share"] * other):
                continue
            return name
        return None

    def long_passage(self, v: View, sides: Sides) -> bool:
        """Whether North Korea–Russia has a passage of ``long_passage`` sentences of its own in an article
        whose headline names another pair: the relevance rules then keep it as coverage."""
        sentence = v.tokens.sentence
        title_end = sentence[v.n_title - 1] if v.n_title else -1
        for _, shared, named, theirs in self._pairs_named(v, sides):
            if min(theirs) <= title_end:
                own_side = sides.nk if shared == "ru" else sides.ru
                stops = theirs | named
                if (
                    _longest_passage(own_side - stops, stops, max(sentence, default=0))
                    >= self.weights["long_passage"]
                ):
                    return True
        return False

    def _pairs_named(self, v: View, sides: Sides) -> list[tuple[str, str, set[int], set[int]]]:
        """Each other pair named in ``v`` whose partner (or unit) has a word in the headline: its name, the
        side it shares, the sentences naming its partner and those naming the pair (both sides, or the pair
        as one unit). Kept in ``sides`` (with ``joint``)."""
        if sides.pairs is not None:
            return sides.pairs
        found: list[tuple[str, str, set[int], set[int]]] = []
        sides.pairs = found
        if self._atoms.isdisjoint(v.pos):
            return found
        pos, n_title = v.pos, v.n_title
        in_title = {a for a in self._atoms.intersection(pos) if pos[a][0] < n_title}
        headline = [
            (name, shared, partner)
            for name, (shared, partner) in self.pairs.items()
            if not in_title.isdisjoint(self._partners[partner][1])
            or (name in self._units and not in_title.isdisjoint(self._units[name][1]))
        ]
        if not headline:
            return found  # only a pair named in the headline can be the article's subject
        if "russia_china" in self._units:
            sides.joint |= self._sentences(self._units["russia_china"], v)
        ours = (sides.nk & sides.ru) - sides.joint
        partner_sentences: dict[str, set[int]] = {}
        for name, shared, partner in headline:
            if partner not in partner_sentences:
                partner_sentences[partner] = self._sentences(self._partners[partner], v)
            named = partner_sentences[partner]
            unit = self._sentences(self._units[name], v) if name in self._units else set()
            theirs = (named & (sides.ru if shared == "ru" else sides.nk)) | unit
            if partner in self.observers:
                theirs -= ours
                named = named - ours
            if theirs:
                found.append((name, shared, named, theirs))
        return found


def _longest_passage(starts: set[int], stops: set[int], last: int) -> int:
    """The longest run of sentences that starts at one of ``starts`` and goes on through sentences not in
    ``stops``."""
    best = 0
    for s in starts:
        n = s
        while n + 1 <= last and n + 1 not in stops:
            n += 1
        best = max(best, n - s + 1)
    return best
