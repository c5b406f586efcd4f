"""Matching quality on a hand-labelled evaluation set (``data/eval_{en,ko,ru}.jsonl``).

Each line is a realistic headline with a one- or two-sentence summary in the style of the wire services
and Korea-watching outlets, labelled by reading it as a careful human would: ``relevant`` (is this
North Korea–Russia coverage?) and ``facts`` (which catalog facts it reports, judged from the facts'
statements). About half are relevant; the other half are the near misses the matcher must reject
(Russia–China statements on DPRK sanctions, Kursk fighting without North Korean troops, other countries'
defence treaties, Russia–Vietnam ties, inter-Korean news, South Korea–Russia relations, Ukraine-war news
without North Korea, North Korean launches with no Russia angle).

``split`` is ``tune`` or ``held``: the relevance signals and fact queries were adjusted while looking
only at the ``tune`` half; the ``held`` half measures how well that generalised. Run with ``-s`` to see
the table; the floors below sit a little under the measured held-out figures so regressions fail.

``eval2_{ko,ru,en}.jsonl`` is a second, independently written set (53 Korean, 52 Russian, 30 English items)
aimed at the first round's weak spots: exchanges of every kind (flights, rail, bridge, students, culture,
sport, health, workers), Russian verbs of transfer and supply, implied Russia ("договор с Пхеньяном"), and
near misses such as a launch and a Russian drill joined by a semicolon, Kim Kardashian joking about Putin, a
North Korean missile flying toward Primorye, Putin's Vietnam visit after Pyongyang, and agreements that are
not the treaty (a health accord, "Министры договорились"). Its ``held`` half was scored once, untouched.

``eval3_{ko,ru}.jsonl`` is a third set (40 Korean, 40 Russian items, relevance only: ``facts`` is left empty)
weighted to hard negatives: Russian domestic news naming North Korea in passing (an exhibition or book fair
of many countries, foreign students, weather in Primorye), South Korea–Russia trade and consular news,
Russia–China statements, a UN debate, a launch beside unrelated Russian news, Japan's sanctions on both, and
other states' treaties; plus 15 positives each (Rason, tankers at a Russian port, children's camps, "на
учёбу" arrivals). Scored once before any tuning: ko P 0.933 R 0.933, ru P 0.923 R 0.800; after: 1.00 / 1.00.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.matching.engine import CompiledMatcher
from tests.matching.conftest import make_article

DATA = Path(__file__).parent / "data"
LANGS = ("en", "ko", "ru")

# Floors per language, checked on the whole set (both halves) and on the held-out half alone.
RELEVANCE_PRECISION_FLOOR = 0.90
RELEVANCE_RECALL_FLOOR = 0.85
RELEVANCE_F1_FLOOR = 0.88
FACT_MICRO_F1_FLOOR = 0.83
# The second set's held-out half measured P 0.93 / R 1.00 (ko, ru), 1.00 / 1.00 (en); facts F1 ≥ 0.87.
EVAL2_FLOORS = {"precision": 0.90, "recall": 0.95, "f1": 0.93, "facts_f1": 0.85}
EVAL2_MIN_ITEMS = {"en": 30, "ko": 50, "ru": 50}


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, predicted: set[str], gold: set[str], label: str) -> None:
        self.tp += len(predicted & gold)
        self.fp += len(predicted - gold)
        self.fn += len(gold - predicted)
        if predicted != gold:
            extra, missing = sorted(predicted - gold), sorted(gold - predicted)
            self.errors.append(f"{label}: +{extra} -{missing}")

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def load(lang: str, name: str = "eval") -> list[dict[str, object]]:
    lines = (DATA / f"{name}_{lang}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def evaluate(matcher: CompiledMatcher, items: list[dict[str, object]]) -> tuple[Counts, Counts]:
    relevance, facts = Counts(), Counts()
    for item in items:
        article = make_article(str(item["title"]), str(item["text"]), str(item["lang"]))
        result = matcher.match(article)
        label = f"{item['id']} {item['title']}"
        relevance.add(
            {"relevant"} if result.relevant else set(), {"relevant"} if item["relevant"] else set(), label
        )
        facts.add(set(result.fact_ids), {str(f) for f in item["facts"]}, label)  # type: ignore[attr-defined]
    return relevance, facts


def check_items(items: list[dict[str, object]], lang: str, ids: set[str]) -> None:
    """Each item is in ``lang``, names only catalog facts, and has facts only when relevant."""
    for item in items:
        assert item["lang"] == lang
        assert set(item["facts"]) <= ids  # type: ignore[call-overload]
        assert item["relevant"] or not item["facts"], "facts apply only to relevant articles"


def score(
    matcher: CompiledMatcher,
    items: list[dict[str, object]],
    label: str,
    floors: dict[str, float],
    errors: bool = True,
) -> list[str]:
    """The report lines for ``items`` (with each disagreement when ``errors``), after asserting each floor
    given: relevance ``precision``, ``recall``, ``f1``; ``facts_f1``."""
    rel, facts = evaluate(matcher, items)
    report = [
        f"{label} n={len(items):3}  relevance P={rel.precision:.3f} R={rel.recall:.3f} F1={rel.f1:.3f}  "
        f"facts micro P={facts.precision:.3f} R={facts.recall:.3f} F1={facts.f1:.3f}"
    ]
    if errors:
        report.extend("    " + e for e in rel.errors + facts.errors)
    measured = {"precision": rel.precision, "recall": rel.recall, "f1": rel.f1, "facts_f1": facts.f1}
    for name, floor in floors.items():
        assert measured[name] >= floor, report
    return report


def test_eval_set_is_well_formed(catalog: tuple[object, ...]) -> None:
    ids = {f.id for f in catalog}  # type: ignore[attr-defined]
    for lang in LANGS:
        items = load(lang)
        assert len(items) >= 60
        relevant = [i for i in items if i["relevant"]]
        assert 0.4 <= len(relevant) / len(items) <= 0.6
        assert {i["split"] for i in items} == {"tune", "held"}
        check_items(items, lang, ids)
        labelled = {f for i in items for f in i["facts"]}  # type: ignore[attr-defined]
        assert labelled == ids, f"{lang}: facts without an example: {sorted(ids - labelled)}"


@pytest.mark.parametrize("lang", LANGS)
def test_quality_per_language(catalog_matcher: CompiledMatcher, lang: str) -> None:
    items = load(lang)
    floors = {
        "precision": RELEVANCE_PRECISION_FLOOR,
        "recall": RELEVANCE_RECALL_FLOOR,
        "f1": RELEVANCE_F1_FLOOR,
        "facts_f1": FACT_MICRO_F1_FLOOR,
    }
    report = []
    for split in ("tune", "held", "all"):
        part = [i for i in items if split == "all" or i["split"] == split]
        tune = split == "tune"
        report += score(catalog_matcher, part, f"{lang} {split:4}", {} if tune else floors, errors=tune)
    print("\n" + "\n".join(report))


@pytest.mark.parametrize("lang", LANGS)
def test_eval2_set_is_well_formed(catalog: tuple[object, ...], lang: str) -> None:
    ids = {f.id for f in catalog}  # type: ignore[attr-defined]
    items = load(lang, "eval2")
    assert len(items) >= EVAL2_MIN_ITEMS[lang]
    assert len({i["id"] for i in items}) == len(items)
    assert 0.4 <= sum(1 for i in items if i["relevant"]) / len(items) <= 0.6
    for split in ("tune", "held"):
        part = [i for i in items if i["split"] == split]
        assert 0.4 <= sum(1 for i in part if i["relevant"]) / len(part) <= 0.6, split
    check_items(items, lang, ids)
    labelled = {f for i in items for f in i["facts"]}  # type: ignore[attr-defined]
    assert labelled == ids, f"{lang}: facts without an example: {sorted(ids - labelled)}"


@pytest.mark.parametrize("lang", LANGS)
def test_eval2_quality_per_language(catalog_matcher: CompiledMatcher, lang: str) -> None:
    items = load(lang, "eval2")
    report = []
    for split in ("tune", "held", "all"):
        part = [i for i in items if split == "all" or i["split"] == split]
        tune = split == "tune"
        report += score(
            catalog_matcher, part, f"eval2 {lang} {split:4}", {} if tune else EVAL2_FLOORS, errors=tune
        )
    print("\n" + "\n".join(report))


EVAL3_LANGS = ("ko", "ru")
EVAL3_FLOORS = {"precision": 0.93, "recall": 0.93}  # measured 1.00 / 1.00 on both; one error each is allowed


@pytest.mark.parametrize("lang", EVAL3_LANGS)
def test_eval3_set_is_well_formed(lang: str) -> None:
    items = load(lang, "eval3")
    assert len(items) >= 40
    assert len({i["id"] for i in items}) == len(items)
    assert 0.3 <= sum(1 for i in items if i["relevant"]) / len(items) <= 0.5, "weighted to hard negatives"
    for item in items:
        assert item["lang"] == lang
        assert item["facts"] == [], "eval3 labels relevance only"


@pytest.mark.parametrize("lang", EVAL3_LANGS)
def test_eval3_relevance_per_language(catalog_matcher: CompiledMatcher, lang: str) -> None:
    items = load(lang, "eval3")
    rel, _ = evaluate(catalog_matcher, items)
    report = [f"eval3 {lang} n={len(items):3}  relevance P={rel.precision:.3f} R={rel.recall:.3f}"]
    report.extend("    " + e for e in rel.errors)
    assert rel.precision >= EVAL3_FLOORS["precision"], report
    assert rel.recall >= EVAL3_FLOORS["recall"], report
    print("\n" + "\n".join(report))


# ``eval4_{en,ko,ru}.jsonl``: 36 full-length articles per language (headline and 5–9 paragraphs, 115–450
# words), written and labelled blind (the writers saw neither the matcher nor its rules). Each item's
# ``note`` gives the reason for its label. About 60% are hard negatives that name both sides in one clause
# or sentence of background (a carmaker's Russian plant, a NATO summit, a drone raid on Kyiv, Putin in Hanoi);
# several positives carry the relationship only in paragraphs 3–6. Scored once before tuning: relevance
# P 0.625 / 0.682 / 0.727 (en / ko / ru), R 1.00, facts micro-F1 0.695 / 0.800 / 0.756 — the matcher had
# only ever seen headlines with a sentence of summary. Then the prominence rule (relevance.py) was added.
EVAL4_FLOORS = {"precision": 0.94, "recall": 0.94, "facts_f1": FACT_MICRO_F1_FLOOR}


@pytest.mark.parametrize("lang", LANGS)
def test_eval4_set_is_well_formed(catalog: tuple[object, ...], lang: str) -> None:
    ids = {f.id for f in catalog}  # type: ignore[attr-defined]
    items = load(lang, "eval4")
    assert len(items) >= 36
    assert len({i["id"] for i in items}) == len(items)
    assert 0.35 <= sum(1 for i in items if i["relevant"]) / len(items) <= 0.5, "weighted to hard negatives"
    assert all(len(str(item["text"])) >= 400 for item in items), "full-length articles"
    check_items(items, lang, ids)


@pytest.mark.parametrize("lang", LANGS)
def test_eval4_quality_per_language(catalog_matcher: CompiledMatcher, lang: str) -> None:
    report = score(catalog_matcher, load(lang, "eval4"), f"eval4 {lang}", EVAL4_FLOORS)
    print("\n" + "\n".join(report))


# ``eval5_{en,ko,ru}.jsonl``: a fifth set, written blind after the prominence rule: 28 full-length articles
# and 8 feed-style items per language, new stories only (flights and trains, the intergovernmental
# commission, a CSTO summit, Putin in Mongolia, a wrestling tournament listing 14 countries, China and
# Russia at the UN…). Scored once before any change: relevance P 0.938 / 0.938 / 0.867 (en / ko / ru),
# R 1.00 / 1.00 / 0.929; facts micro-F1 0.842 / 0.824 / 0.889 with the catalog of the time, 0.902 / 0.894 /
# 0.923 with the one tightened on eval4 (never tuned on eval5). Three general fixes followed (lists of three
# or more states, Russia acting jointly with China, compounds inside a list of states, train cues); after
# them: relevance 1.00 / 1.00 (en, ko), 0.933 / 1.00 (ru: a one-clause Pyongyang flight in a feed item).
EVAL5_FLOORS = {"precision": 0.90, "recall": 0.90, "facts_f1": FACT_MICRO_F1_FLOOR}


@pytest.mark.parametrize("lang", LANGS)
def test_eval5_quality_per_language(
    catalog: tuple[object, ...], catalog_matcher: CompiledMatcher, lang: str
) -> None:
    ids = {f.id for f in catalog}  # type: ignore[attr-defined]
    items = load(lang, "eval5")
    assert len(items) >= 36 and len({i["id"] for i in items}) == len(items)
    check_items(items, lang, ids)
    report = score(catalog_matcher, items, f"eval5 {lang}", EVAL5_FLOORS)
    print("\n" + "\n".join(report))
