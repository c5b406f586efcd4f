"""Scores of the matcher on the hard sets (issue 18) and on the older evaluation sets.

Run ``.venv/bin/python -m tests.matching.scores [--errors] [--only hard|old]``. For the hard sets
(``data/hard_{en,ko,ru}.{tuned,held,fresh,fresh2}.jsonl``) it prints relevance precision / recall / F1 per
language and facts micro precision / recall / F1, for each part and all together; for the older sets
(``data/eval*_{lang}.jsonl``) the same per set and in total. ``--errors`` lists every disagreement.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path

from bot.matching import compile_matcher, load_catalog
from bot.matching.engine import CompiledMatcher
from tests.matching.conftest import make_article

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).resolve().parents[2]
LANGS = ("en", "ko", "ru")
HALVES = ("tuned", "held")
FRESH = ("fresh", "fresh2")  # labelled after the rules were tuned, each scored once, never tuned on
OLD_SETS = ("eval", "eval2", "eval3", "eval4", "eval5")

Item = dict[str, object]


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
            self.errors.append(f"{label}: +{sorted(predicted - gold)} -{sorted(gold - predicted)}")

    def merge(self, other: Counts) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn
        self.errors.extend(other.errors)

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

    def line(self) -> str:
        return f"P={self.precision:.3f} R={self.recall:.3f} F1={self.f1:.3f}"


def read(path: Path) -> list[Item]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def hard_items(lang: str, half: str) -> list[Item]:
    return read(DATA / f"hard_{lang}.{half}.jsonl")


def evaluate(matcher: CompiledMatcher, items: list[Item], with_facts: bool = True) -> tuple[Counts, Counts]:
    """Relevance and facts counts of ``matcher`` on ``items`` (facts skipped when ``with_facts`` is off)."""
    relevance, facts = Counts(), Counts()
    for item in items:
        result = matcher.match(make_article(str(item["title"]), str(item["text"]), str(item["lang"])))
        label = f"{item['id']} {str(item['title'])[:90]}"
        gold = {"relevant"} if item["relevant"] else set()
        relevance.add({"relevant"} if result.relevant else set(), gold, label)
        if with_facts:
            facts.add(set(result.fact_ids), {str(f) for f in item["facts"]}, label)  # type: ignore[attr-defined]
    return relevance, facts


def hard_report(matcher: CompiledMatcher, errors: bool) -> dict[str, dict[str, float]]:
    """Print the hard sets' scores; return them by half ("tuned", "held", "all") and measure."""
    measured: dict[str, dict[str, float]] = {}
    print("== hard sets ==")
    for half in (*HALVES, *FRESH, "all"):
        total_rel, total_facts = Counts(), Counts()
        scores: dict[str, float] = {}
        for lang in LANGS:
            items = [i for h in (*HALVES, *FRESH) if half in (h, "all") for i in hard_items(lang, h)]
            rel, facts = evaluate(matcher, items)
            neg = sum(1 for i in items if not i["relevant"])
            head = f"{half:5} {lang} n={len(items):3} neg={neg:2}"
            print(f"{head}  relevance {rel.line()}  facts {facts.line()}")
            scores[f"f1_{lang}"] = rel.f1
            total_rel.merge(rel)
            total_facts.merge(facts)
        print(f"{half:5} ** relevance {total_rel.line()}  facts micro {total_facts.line()}")
        scores.update(precision=total_rel.precision, recall=total_rel.recall, facts_f1=total_facts.f1)
        measured[half] = scores
        if errors and half != "all":
            for e in total_rel.errors + total_facts.errors:
                print("    " + e)
    return measured


def old_report(matcher: CompiledMatcher, errors: bool) -> dict[str, float]:
    print("== old evaluation sets ==")
    total_rel, total_facts = Counts(), Counts()
    for name in OLD_SETS:
        for lang in LANGS:
            items = read(DATA / f"{name}_{lang}.jsonl")
            if not items:
                continue
            with_facts = name != "eval3"  # eval3 labels relevance only
            rel, facts = evaluate(matcher, items, with_facts)
            facts_line = f"  facts {facts.line()}" if with_facts else ""
            print(f"{name:5} {lang} n={len(items):3}  relevance {rel.line()}{facts_line}")
            total_rel.merge(rel)
            total_facts.merge(facts)
    print(f"old   ** relevance {total_rel.line()}  facts micro {total_facts.line()}")
    if errors:
        for e in total_rel.errors + total_facts.errors:
            print("    " + e)
    return {"precision": total_rel.precision, "recall": total_rel.recall, "facts_f1": total_facts.f1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--errors", action="store_true", help="list every disagreement")
    parser.add_argument("--only", choices=("hard", "old"))
    args = parser.parse_args()
    matcher = compile_matcher(load_catalog(REPO / "config" / "facts.toml"), ())
    if args.only != "old":
        hard_report(matcher, args.errors)
    if args.only != "hard":
        old_report(matcher, args.errors)


if __name__ == "__main__":
    main()
