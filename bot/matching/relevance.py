"""Is this article North Korea–Russia coverage?

Naming both countries is not enough: lists of sanctioned states, Russia–China statements about North
Korea, US–ROK alliance news that mentions Russia in passing. An article counts when its title and summary
show the two sides *interacting*. Each signal is a function below; ``WEIGHTS`` is what each one scores:

- ``compound`` +3: both sides named as one unit ("North Korea-Russia", 북러, 북·러, 조러,
  российско-северокорейский), not inside a list of states ("중국·러시아·북한·이란");
- ``loose_pair`` +1: else "North Korea and Russia" / "КНДР и России", outside a list of states;
- ``troops`` +3: North Korean troops next to Russia, Kursk or Ukraine in one sentence, or North Korean
  weapons in a sentence about the war;
- ``leaders`` +3: Putin and Kim in one sentence, with no third leader there ("Trump could meet Putin and
  Kim");
- ``pair`` +1: both sides within ``PAIR_MAX_GAP`` words in one sentence, plus the best cue found near such a
  pair: ``strong_cue`` +2 (summit, treaty, troops, met, ties, 회담, договор…) or ``weak_cue`` +1 (military,
  sanctions, security). No cue counts in a sentence that lists or counts the states present ("20개국",
  "из 35 стран"), and a weak cue beside a third state ("Japan extends sanctions on North Korea and Russia")
  gives nothing; ``pair_repeated`` +1 when pairs are in two sentences and a cue was found;
- ``title`` +1: both sides in the title, with a cue or one of the strong signals (compound, troops, leaders);
- ``with_nk`` +3: a Russian headline with a relationship word just before "с КНДР" / "с Пхеньяном" and no
  other actor (only when no strong signal and no Russian name fired);
- ``act`` +3: without a pair in one sentence, a headline naming one side with a verb of shipping or a veto
  and the other side in the first sentences of the lead ("Pyongyang shipped a million shells" / "…unloaded
  at Vostochny in Russia's Far East");
- ``other_partner`` −2: without a strong signal, a headline about Russia and another state with no North
  Korean name in it ("Putin visits Vietnam"), or Russia paired with China ("Russia and China veto").

An article is relevant at ``THRESHOLD`` (3) points, and when the relationship is *prominent*: a signal in the
title or the lead (the first ``LEAD_SENTENCES`` sentences after it), or signals in at least
``REPEATED_SENTENCES`` sentences. A long article about something else (a carmaker's Russian plant, a NATO
summit, a drone raid on Kyiv) that gives the two sides' ties one sentence of background is not coverage of
them; nor is a headline about Russia and another partner (Putin in Hanoi) whose one sentence on North Korea
is in its lead. Feed items — a title and a summary of a sentence or two — are all lead, so for them only the
score counts.

Last, the subject model (``bot/matching/subject.py``): an article whose headline is about another pair
(Russia with Iran, Vietnam, Belarus, South Korea or China; China with North Korea) that outweighs North
Korea–Russia, with no North Korea–Russia passage of its own, is about that pair; such a passage also lifts
``other_partner``.

The word groups (``config/relevance.toml``, packaged as ``bot/defaults/relevance.toml``) cover English,
Korean and Russian, with inflections through the matcher's stems, Korean particles and prefixes.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

from bot.matching.evidence import build_evidence
from bot.matching.subject import Sides, SubjectModel
from bot.matching.view import Span, View
from bot.models import Evidence
from bot.settings import packaged_config_dir

# A word group's text → its positions in an article, and every atom (matcher word id) it can read.
SpanCompiler = Callable[[str], tuple[Callable[[View], list[Span]], frozenset[int]]]

WEIGHTS = {
    "compound": 3,
    "loose_pair": 1,
    "troops": 3,
    "leaders": 3,
    "pair": 1,
    "strong_cue": 2,
    "weak_cue": 1,
    "pair_repeated": 1,
    "title": 1,
    "with_nk": 3,
    "act": 3,
    "other_partner": -2,
}
THRESHOLD = 3
# "20개국", "30여개국": a count of states written as one Korean word (particles may follow).
_KO_COUNT_RE = re.compile(r"\d+여?개국\w*")
_COUNT_WORD_RE = re.compile(r"\d+여|dozens?|десятк\w*|нескольк\w*")
_COUNT_NOUNS = ("countries", "nations", "стран", "государств", "개국")
# Where a counted noun may start a word: the only places ``_counted_states`` has to look at.
_COUNTED_NOUN_RE = re.compile(r"(?<![^\W_])(?:countries|nations|стран|государств|\d*여?개국)", re.IGNORECASE)
LISTED_STATES = 3  # other states named in one sentence that make it a list of countries
PAIR_MAX_GAP = 20  # words between the two sides' names in one sentence
CUE_BEFORE = 4  # words before the first name in which a cue counts
CUE_AFTER = 8  # words after the second name (Korean puts the verb last: see CUE_AFTER_KO)
CUE_AFTER_KO = 12
TROOPS_GAP = 6  # words between a North Korean name and a later troop word ("North Korea sent 3,000 troops")
TROOPS_GAP_AFTER = 2  # words between a troop word and a later North Korean name ("troops sent by Pyongyang")
LEAD_SENTENCES = 3  # sentences after the title that make an article's lead
REPEATED_SENTENCES = 2  # sentences with a signal that make it coverage when none is in the title or lead
MAX_MENTIONS = 64  # names of North Korea considered per article
ACT_LEAD = 2  # sentences after the title in which the other side of a headline's act is looked for
_KIM_TITLES_KO = ("위원장", "총비서", "국무위원장", "제1위원장", "제1비서", "원수")

GROUP_NAMES = (
    "nk", "ru", "compound", "loose_pair", "troops", "nk_army", "nk_arms", "kim_bare", "third", "theatre",
    "war", "putin", "kim", "china", "states", "actors", "partners", "strong", "weak", "acts",
)  # fmt: skip


class RelevanceConfigError(ValueError):
    """A relevance word file that cannot be used."""


def load_groups(path: Path) -> dict[str, str]:
    """The word groups of ``path`` (a ``[groups]`` table of queries), in file order. Raises
    ``RelevanceConfigError`` with one sentence saying what is wrong."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        groups = data["groups"]
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, KeyError, TypeError) as err:
        reason = f"{type(err).__name__}: {err}"
        raise RelevanceConfigError(
            f"{path}: cannot read the relevance word groups ({reason}); it must be UTF-8 TOML with a "
            "[groups] table"
        ) from None
    if not isinstance(groups, dict) or set(groups) != set(GROUP_NAMES):
        keys = sorted(groups) if isinstance(groups, dict) else []
        raise RelevanceConfigError(
            f"{path}: [groups] must define exactly {', '.join(GROUP_NAMES)} (found {', '.join(keys)})"
        )
    bad = [name for name, text in groups.items() if not isinstance(text, str) or not text.strip()]
    if bad:
        raise RelevanceConfigError(f"{path}: [groups] {', '.join(bad)} must be non-empty query strings")
    return {name: " ".join(groups[name].split()) for name in groups}


@lru_cache(maxsize=1)
def default_groups() -> dict[str, str]:
    """The packaged word groups (``relevance.toml`` beside the packaged ``facts.toml``)."""
    return load_groups(packaged_config_dir() / "relevance.toml")


class _Groups(dict[str, list[Span]]):
    """The positions of each word group in one article, found on first use: most articles are decided
    before most groups are needed, and a group none of whose words is present has no positions."""

    def __init__(
        self,
        groups: dict[str, tuple[Callable[[View], list[Span]], frozenset[int]]],
        v: View,
        present: frozenset[int],
    ) -> None:
        super().__init__()
        self._compiled = groups
        self._view = v
        self._present = present

    def __missing__(self, name: str) -> list[Span]:
        spans_of, atoms = self._compiled[name]
        v = self._view
        spans = [] if atoms.isdisjoint(self._present) else spans_of(v)
        if name == "strong":
            spans = [c for c in spans if not _preposition(v, c[0])]
        self[name] = spans
        return spans


class _Article:
    """One article as the signals read it: its view, its word groups and its sentence numbers."""

    def __init__(self, v: View, g: _Groups) -> None:
        self.v = v
        self.g = g

    @cached_property
    def sentence(self) -> tuple[int, ...]:
        """Each word's sentence number, read on first use: an article naming neither side never needs it."""
        return self.v.tokens.sentence

    @cached_property
    def counted(self) -> set[int]:
        """The sentences that count the states taking part (``_counted_states``)."""
        return _counted_states(self.v)


@dataclass
class _Pair:
    """What ``pair`` found: the sentences with a pair, the best pair (and its cue), the cue's weight, and the
    sentences where a pair has a cue."""

    sentences: set[int] = field(default_factory=set)
    best: list[Span] = field(default_factory=list)
    cue: int = 0
    cue_sentences: set[int] = field(default_factory=set)


# The groups naming a side: ``judge`` needs one of them (the pair groups repeat their names) before it scores.
SIDE_GROUPS = ("nk", "ru", "compound", "nk_army", "kim", "putin")


class RelevanceModel:
    """The scoring above, with its word groups compiled by the matcher into its own atoms."""

    def __init__(self, compile_spans: SpanCompiler, groups: dict[str, str] | None = None) -> None:
        texts = default_groups() if groups is None else groups
        # In GROUP_NAMES order: the atoms are numbered as the groups are compiled.
        self._groups = {name: compile_spans(texts[name]) for name in GROUP_NAMES}
        self._atoms = frozenset().union(*(atoms for _, atoms in self._groups.values()))
        self._subject = SubjectModel(compile_spans)

    def side_atoms(self) -> frozenset[int]:
        """The atoms that name either side in any form (state, capital, leaders, demonyms, army; English,
        Korean, Russian): an article naming neither is judged not relevant before any rule runs."""
        return frozenset().union(*(self._groups[name][1] for name in SIDE_GROUPS))

    def judge(self, v: View) -> tuple[bool, Evidence | None]:
        g = _Groups(self._groups, v, self._atoms.intersection(v.pos))
        a = _Article(v, g)
        nk, kims = north_korea(a)
        ru = g["ru"]
        if not (nk or ru or g["compound"] or g["nk_army"] or g["nk_arms"]):
            return False, None
        score = 0
        fired: list[Span] = []
        g["compound"] = compound(a)
        if g["compound"]:
            score += WEIGHTS["compound"]
            fired.extend(g["compound"][:1])
        elif loose := loose_pair(a):
            score += WEIGHTS["loose_pair"]
            fired.extend(loose)
        troops = north_korean_troops(a, nk)
        if troops:
            score += WEIGHTS["troops"]
            fired.extend(troops)
        third = {a.sentence[t[0]] for t in g["third"]}
        bare = set(g["kim_bare"])
        kim_names = [k for k in g["kim"] if k not in bare] + kims
        leaders = putin_and_kim(a, kim_names, third)
        if leaders:
            score += WEIGHTS["leaders"]
            fired.extend(leaders)
        pair = both_sides(a, nk, ru)
        strong = bool(g["compound"] or troops or leaders)
        if pair.sentences:
            repeated = len(pair.sentences) > 1 and pair.cue
            score += WEIGHTS["pair"] + pair.cue + (WEIGHTS["pair_repeated"] if repeated else 0)
            fired.extend(pair.best)
        if _in_title(nk, v) and _in_title(ru, v) and (pair.cue or strong):
            score += WEIGHTS["title"]
        with_nk = [] if strong or ru else _ru_with_nk(v, nk, g["strong"], g["states"] + g["actors"])
        if with_nk:
            score += WEIGHTS["with_nk"]
            fired.extend(with_nk)
        act = [] if strong or pair.sentences or with_nk else one_side_act(a, nk, ru)
        if act:
            score += WEIGHTS["act"]
            fired.extend(act)
        sides: Sides | None = None
        if not strong and other_partner(a, nk, ru):
            sides = sides_of(a, nk, ru)
            if not self._subject.long_passage(v, sides):
                score += WEIGHTS["other_partner"]
        if score < THRESHOLD:
            return False, None
        signals = pair.cue_sentences | {a.sentence[s[0]] for s in fired}
        signals.update(a.sentence[c[0]] for c in g["compound"])
        signals.update(_troop_sentences(nk, g["troops"], g["nk_army"], g["theatre"], a.sentence))
        if leaders:
            kim_sentences = {a.sentence[k[0]] for k in kim_names} - third
            signals.update(a.sentence[p[0]] for p in g["putin"] if a.sentence[p[0]] in kim_sentences)
        if not prominent(a, signals, nk, ru):
            return False, None
        if self._subject.background(v, sides or sides_of(a, nk, ru), lead_end_of(v)):
            return False, None
        token_spans = v.tokens.spans
        char_spans = [(token_spans[s][0], token_spans[e][1]) for s, e in fired]
        terms = tuple(dict.fromkeys(v.text[s:e] for s, e in sorted(char_spans)))
        return True, build_evidence(v.text, v.title_len, char_spans, terms)


# ---------------------------------------------------------------------------------------------------
# The signals
# ---------------------------------------------------------------------------------------------------


def north_korea(a: _Article) -> tuple[list[Span], list[Span]]:
    """Every North Korean name, and among them the bare "Kim"s that name the leader: when North Korea is
    named in the article or Putin in the same sentence, and the name is not someone else's (Kim Hong-kyun)."""
    g = a.g
    kims: list[Span] = []
    if g["kim_bare"]:
        sentence = a.sentence
        putin_sentences = {sentence[p[0]] for p in g["putin"]}
        kims = [
            k
            for k in g["kim_bare"]
            if _leader_kim(a.v, k[0]) and (g["nk"] or g["compound"] or sentence[k[0]] in putin_sentences)
        ]
    return sorted(set(g["nk"]) | set(kims)), kims


def compound(a: _Article) -> list[Span]:
    """The compounds naming both sides as one unit that are not part of a list of states."""
    g = a.g
    if not g["compound"]:
        return g["compound"]
    soft = a.v.tokens.soft
    return [c for c in g["compound"] if not _listed(g["states"], *c, a.sentence, soft)]


def loose_pair(a: _Article) -> list[Span]:
    """The first "North Korea and Russia", unless in a list of states or a sentence counting states."""
    g, sentence = a.g, a.sentence
    pairs = g["loose_pair"]
    if pairs and not _listed(g["states"], *pairs[0], sentence) and sentence[pairs[0][0]] not in a.counted:
        return pairs[:1]
    return []


def north_korean_troops(a: _Article, nk: list[Span]) -> list[Span]:
    """North Korean troops in a sentence naming Russia, Kursk or Ukraine, else North Korean weapons in a
    sentence about the war."""
    g, sentence = a.g, a.sentence
    troops = (
        _troops(nk, g["troops"], g["nk_army"], g["theatre"], sentence) if g["troops"] or g["nk_army"] else []
    )
    return troops or (_same_sentence(g["nk_arms"], g["war"], sentence) if g["nk_arms"] else [])


def putin_and_kim(a: _Article, kim_names: list[Span], third: set[int]) -> list[Span]:
    """Putin and Kim in one sentence, with no third leader there ("Trump could meet Putin and Kim")."""
    leaders = _same_sentence(a.g["putin"], kim_names, a.sentence)
    if leaders and a.sentence[leaders[0][0]] in third:
        return []
    return leaders


def both_sides(a: _Article, nk: list[Span], ru: list[Span]) -> _Pair:
    """Both sides within a few words in one sentence, and the best relationship cue near such a pair."""
    v, g, sentence = a.v, a.g, a.sentence
    after = CUE_AFTER_KO if v.lang == "ko" else CUE_AFTER
    found = _Pair()
    cues: dict[str, list[Span]] = {}  # the cue groups in text order, sorted when first needed
    ru_by_sentence: dict[int, list[Span]] = {}
    for b in ru:
        ru_by_sentence.setdefault(sentence[b[0]], []).append(b)
    for n in nk[:MAX_MENTIONS]:
        same = ru_by_sentence.get(sentence[n[0]])
        if not same:
            continue
        # The nearest other-side name in the sentence that is not the same word (北러 is a compound).
        # A semicolon joins two separate reports ("North Korea fired a missile; Russia held drills").
        near = [b for b in same if not (n[0] <= b[1] and b[0] <= n[1]) and not _clauses_apart(v, n, b)]
        if not near:
            continue
        b = min(near, key=lambda b: max(b[0] - n[1], n[0] - b[1]))
        if max(b[0] - n[1], n[0] - b[1]) > PAIR_MAX_GAP:
            continue
        found.sentences.add(sentence[n[0]])
        lo, hi = min(n[0], b[0]), max(n[1], b[1])
        listed = (
            _listed(g["states"], lo, hi, sentence)
            or sentence[lo] in a.counted
            or _many_states(g["states"], sentence[lo], sentence)
            or any(c[0] <= b[0] <= c[1] for c in g["china"])  # "Chinese and Russian envoys": a joint actor
        )
        cue, cue_span = (0, None) if listed else _cue(g, cues, lo, hi, after, sentence)
        # A weak cue beside a third state ("Japan extends sanctions on North Korea and Russia") is that
        # state's action on both, not the two sides' relationship.
        weak = cue == WEIGHTS["weak_cue"]
        if weak and any(sentence[s[0]] == sentence[lo] and not lo <= s[0] <= hi for s in g["states"]):
            cue, cue_span = 0, None
        if cue:
            found.cue_sentences.add(sentence[lo])
        if not found.best or cue > found.cue:
            found.best = [n, b] + ([cue_span] if cue_span else [])
            found.cue = cue
    return found


def one_side_act(a: _Article, nk: list[Span], ru: list[Span]) -> list[Span]:
    """One side's act toward the other split across the headline and the lead: a headline naming one side
    with a verb of shipping or a veto ("Pyongyang shipped a million shells", "Moscow vetoes renewal of the
    sanctions panel") and no other state, and the other side named in the lead's first ``ACT_LEAD``
    sentences ("…unloaded at Vostochny in Russia's Far East", "…the sanctions on North Korea")."""
    v, g, sentence = a.v, a.g, a.sentence
    acts = [s for s in g["acts"] if s[0] < v.n_title] if g["acts"] else []
    if not acts or any(s[0] < v.n_title for s in g["states"] + g["china"]):
        return []
    title_end = sentence[v.n_title - 1] if v.n_title else -1
    for here, other in ((nk, ru), (ru, nk)):
        named = [s for s in here if s[0] < v.n_title]
        if not named or any(s[0] < v.n_title for s in other):
            continue
        lead = [s for s in other if title_end < sentence[s[0]] <= title_end + ACT_LEAD]
        if lead and sentence[lead[0][0]] not in a.counted:
            return [named[0], acts[0], lead[0]]
    return []


def other_partner(a: _Article, nk: list[Span], ru: list[Span]) -> bool:
    """A headline about Russia and another state ("Putin visits Vietnam") with no North Korean name in it
    (the North Korean mention in the summary is background), or Russia paired with China."""
    return _elsewhere(a.v, nk, ru, a.g) or bool(a.g["china"])


def sides_of(a: _Article, nk: list[Span], ru: list[Span]) -> Sides:
    """The sentences naming each side (a compound names both), for the subject model."""
    sentence, g = a.sentence, a.g
    both = {sentence[c[0]] for c in g["compound"]}
    nk_sentences = {sentence[n[0]] for n in nk + g["nk_army"]}
    return Sides(nk=nk_sentences | both, ru={sentence[r[0]] for r in ru} | both)


def prominent(a: _Article, signals: set[int], nk: list[Span], ru: list[Span]) -> bool:
    """Whether the sentences with a signal make the relationship prominent: one in the title or the lead, or
    ``REPEATED_SENTENCES`` of them. In a long article, one sentence of background past the lead ("ties have
    cooled over Moscow's military cooperation with Pyongyang") does not make it coverage."""
    if len(signals) >= REPEATED_SENTENCES:
        return True
    return not (min(signals) > lead_end_of(a.v) or _elsewhere(a.v, nk, ru, a.g))


def lead_end_of(v: View) -> int:
    """The number of the last sentence of the article's lead: its title and first ``LEAD_SENTENCES``."""
    return (v.tokens.sentence[v.n_title - 1] if v.n_title else -1) + LEAD_SENTENCES


def _many_states(states: list[Span], here: int, sentence: tuple[int, ...]) -> bool:
    """Whether the sentence ``here`` names at least ``LISTED_STATES`` other states: a list of countries
    ("athletes from Iran, Mongolia, Cuba and the DPRK"), not the two sides' relationship."""
    return sum(1 for s in states if sentence[s[0]] == here) >= LISTED_STATES


def _listed(
    states: list[Span], lo: int, hi: int, sentence: tuple[int, ...], soft: tuple[bool, ...] | None = None
) -> bool:
    """Whether a third state's name sits right beside the words at ``lo..hi`` ("China, North Korea and
    Russia"): a list of states, not a relationship. With ``soft``, only a name joined to them by a soft
    separator counts ("중국·러시아·북한·이란", not "미국, 북러 조약 규탄")."""
    return any(
        ((s[1] == lo - 1 and (soft is None or soft[lo])) or (s[0] == hi + 1 and (soft is None or soft[s[0]])))
        and sentence[s[0]] == sentence[lo]
        for s in states
    )


def _preposition(v: View, i: int) -> bool:
    """Whether the cue at token ``i`` is part of a Russian preposition ("в отношении", "по отношению к":
    "regarding"), not the word "relations"."""
    raw = v.tokens.raw
    word, prev = raw[i].casefold(), raw[i - 1].casefold() if i else ""
    return (word, prev) in (("отношении", "в"), ("отношению", "по"))


def _counted_states(v: View) -> set[int]:
    """Sentences that count the states taking part ("20 countries", "20여 개국", "из 35 стран"): the two
    sides are named there among many, as at an exhibition, a fair or a UN debate."""
    found: set[int] = set()
    lowered = v.text.lower()
    if not any(noun in lowered for noun in _COUNT_NOUNS):  # the usual case, and much faster than a regex
        return found
    nouns = list(_COUNTED_NOUN_RE.finditer(v.text))
    tokens = v.tokens
    raw, sentence = tokens.raw, tokens.sentence
    for m in nouns:
        i = tokens.words_before(m.start())  # the word that starts where the noun starts
        if i >= len(raw):
            continue
        w = raw[i].casefold()
        prev = raw[i - 1].casefold() if i else ""
        counted = prev.isdigit() or _COUNT_WORD_RE.fullmatch(prev) is not None
        if _KO_COUNT_RE.fullmatch(w) or (counted and (w.startswith(_COUNT_NOUNS) or w in ("개국", "개국이"))):
            found.add(sentence[i])
    return found


def _leader_kim(v: View, i: int) -> bool:
    """Whether the bare "Kim" at token ``i`` can be the North Korean leader rather than another Kim."""
    raw, soft = v.tokens.raw, v.tokens.soft
    nxt = raw[i + 1] if i + 1 < len(raw) and soft[i + 1] else ""
    word = raw[i].casefold()
    if word == "김":  # Korean press writes "김 위원장", "김 총비서"; "김 장관" is someone else
        return nxt.startswith(_KIM_TITLES_KO)
    if not nxt[:1].isupper():
        return True
    if word == "kim" and not _title_case(v, i):  # "Kim Kardashian mocks Putin": a capitalised surname follows
        return nxt.casefold() == "jong"
    if word == "ким":  # "Ким Ён Нам" is someone else; "Ким Чен Ын" is a full name matched elsewhere
        return nxt.casefold() in ("чен", "ё")
    # "Kim Hong-kyun": a hyphenated Korean given name follows. A capitalised word alone may be a headline's
    # title case ("Putin Thanks Kim For Troops").
    if not (i + 2 < len(raw) and soft[i + 2]):
        return True
    start, end = v.tokens.between(i + 1, i + 2)
    return "-" not in v.text[start:end]


def _title_case(v: View, i: int) -> bool:
    """Whether the sentence of token ``i`` is written in title case (most longer words capitalised)."""
    raw, sentence = v.tokens.raw, v.tokens.sentence
    words = [w for j, w in enumerate(raw) if sentence[j] == sentence[i] and len(w) >= 4 and w.isalpha()]
    return bool(words) and sum(w[:1].isupper() for w in words) >= 0.7 * len(words)


def _clauses_apart(v: View, a: Span, b: Span) -> bool:
    first, second = (a, b) if a[0] < b[0] else (b, a)
    start, end = v.tokens.between(first[1], second[0])
    return ";" in v.text[start:end]


def _ru_with_nk(v: View, nk: list[Span], strong: list[Span], others: list[Span]) -> list[Span]:
    """In a Russian headline, a relationship word shortly before "с КНДР" / "с Пхеньяном" (Moscow's own
    treaty, talks, cooperation), with no other actor named in the headline."""
    if v.lang != "ru" or any(o[0] < v.n_title for o in others):
        return []
    raw = v.tokens.raw
    for a in nk:
        if a[0] >= v.n_title or a[0] == 0 or raw[a[0] - 1].casefold() not in ("с", "со"):
            continue
        if not raw[a[0]].casefold().startswith(("кндр", "пхеньян", "северн")):
            continue
        for c in strong:
            if a[0] - 1 - CUE_BEFORE <= c[0] < a[0] - 1:
                return [c, a]
    return []


def _troops(
    nk: list[Span], words: list[Span], army: list[Span], theatre: list[Span], sentence: tuple[int, ...]
) -> list[Span]:
    """North Korean troops (a North Korean name within a few words of a troop word, or 북한군) in a
    sentence that names Russia, Kursk or Ukraine."""
    found = list(army)
    for w in words:
        for n in nk:
            if sentence[w[0]] != sentence[n[0]]:
                continue
            # The name before the troop word ("North Korea's Kim Yo Jong denies ... additional troops") or
            # just after it ("troops from North Korea", "войска КНДР"); "Ukrainian troops advance in Kursk
            # as North Korea tests a missile" is not about North Korean troops.
            if 0 <= w[0] - n[1] - 1 <= TROOPS_GAP or 0 <= n[0] - w[1] - 1 <= TROOPS_GAP_AFTER:
                found.append(w)
                break
    return _same_sentence(found, theatre, sentence)


def _troop_sentences(
    nk: list[Span], words: list[Span], army: list[Span], theatre: list[Span], sentence: tuple[int, ...]
) -> set[int]:
    """Every sentence in which ``_troops`` finds North Korean troops (it stops at the first)."""
    places = {sentence[t[0]] for t in theatre}
    found = {sentence[a[0]] for a in army} & places
    for w in words:
        here = sentence[w[0]]
        if here in places and here not in found and _troops(nk, [w], [], theatre, sentence):
            found.add(here)
    return found


def _same_sentence(xs: list[Span], ys: list[Span], sentence: tuple[int, ...]) -> list[Span]:
    for x in xs:
        for y in ys:
            if sentence[x[0]] == sentence[y[0]] and not (x[0] <= y[1] and y[0] <= x[1]):
                return [x, y]
    return []


def _elsewhere(v: View, nk: list[Span], ru: list[Span], g: dict[str, list[Span]]) -> bool:
    """A headline about Russia and another state ("Putin visits Vietnam") with no North Korean name in it."""
    return (
        not _in_title(nk + g["compound"], v)
        and _in_title(ru, v)
        and _in_title(g["states"] + g["partners"], v)
    )


def _cue(
    g: dict[str, list[Span]],
    cues: dict[str, list[Span]],
    lo: int,
    hi: int,
    after: int,
    sentence: tuple[int, ...],
) -> tuple[int, Span | None]:
    """The nearest relationship word around the pair at ``lo..hi``, with its weight (``strong_cue`` or
    ``weak_cue``)."""
    first, last = lo - CUE_BEFORE, hi + after
    for name, value in (("strong", WEIGHTS["strong_cue"]), ("weak", WEIGHTS["weak_cue"])):
        spans = cues.get(name)
        if spans is None:
            spans = cues[name] = sorted(g[name])
        for s in spans:
            if first <= s[0] <= last and sentence[s[0]] == sentence[lo]:
                return value, s
    return 0, None


def _in_title(spans: list[Span], v: View) -> bool:
    return any(s[0] < v.n_title for s in spans)
