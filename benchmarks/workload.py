"""The benchmark's watches: 1,000 generated watch queries, each with the regexes the naive baseline uses.

A watch is an AND of groups; a group is an OR of terms, possibly negated. The same structure is written
once in pactwatch's query language (for the bot) and once as compiled regexes (for the naive baseline).
"""

from __future__ import annotations

import dataclasses
import random
import re

from feedserver import VOCABULARY

# A trailing * is a prefix in both the query and the regex. Each watch is in one language.
TOPIC_TERMS = {
    "en": [
        "treaty",
        "troops",
        "Kursk",
        "missile*",
        "shells",
        "artillery",
        "Pyongyang",
        "Moscow",
        "Putin",
        "Kim",
        "sanction*",
        "satellite",
        "arms",
        "pact",
        "deploy*",
        "ratif*",
        '"North Korea"',
        '"mutual assistance"',
    ],
    "ko": [
        "조약*",
        "파병*",
        "쿠르스크*",
        "미사일*",
        "포탄*",
        "북한*",
        "러시아*",
        "김정은*",
        "푸틴*",
        "위성*",
    ],
    "ru": [
        "договор*",
        "войск*",
        "Курск*",
        "ракет*",
        "снаряд*",
        "Пхеньян*",
        "КНДР",
        "оружи*",
        "Путин*",
        "спутник*",
    ],
}
# Rarer words: each is in a few percent of the articles of its language at most.
FILLER_TERMS = {lang: VOCABULARY[lang][0][1000:3000] for lang in ("en", "ko", "ru")}


@dataclasses.dataclass(frozen=True)
class WatchDef:
    query: str
    groups: tuple[tuple[bool, str], ...]  # (negated, regex source) per AND group


def _regex(term: str) -> str:
    text = term.strip('"')
    if text.endswith("*"):
        return r"\b" + re.escape(text[:-1]) + r"\w*"
    return r"\b" + re.escape(text) + r"\b"


def make_watches(n: int = 1000, seed: int = 1000) -> list[WatchDef]:
    rng = random.Random(seed)
    out: list[WatchDef] = []
    for _ in range(n):
        ngroups = rng.choice((1, 2, 2, 2, 3, 3))
        lang = rng.choice(("en", "ko", "ru"))
        parts: list[str] = []
        groups: list[tuple[bool, str]] = []
        for g in range(ngroups):
            source = TOPIC_TERMS[lang] if g == 0 else FILLER_TERMS[lang]
            terms = rng.sample(source, rng.choice((1, 1, 2, 3)))
            negated = g > 0 and rng.random() < 0.15
            text = terms[0] if len(terms) == 1 else "(" + " OR ".join(terms) + ")"
            parts.append(("NOT " if negated else "") + text)
            groups.append((negated, "|".join(_regex(t) for t in terms)))
        out.append(WatchDef(query=" AND ".join(parts), groups=tuple(groups)))
    return out
