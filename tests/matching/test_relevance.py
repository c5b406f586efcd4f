from __future__ import annotations

import pytest

from bot.matching import is_relevant
from tests.matching.conftest import make_article

RELEVANT = [
    ("en", "Russia's Putin meets North Korea's top diplomat in Kremlin"),
    ("en", "Opening of North Korea-Russia road bridge delayed, think tank says"),
    ("en", "Lavrov arrives in Pyongyang for talks with Choe Son Hui"),
    ("en", "Seoul says 3,000 more North Korean soldiers sent to Kursk"),
    ("en", "Kim Jong Un congratulates Putin on Victory Day | The North Korean leader sent a message."),
    ("en", "Moscow and Pyongyang pledge deeper ties as Shoigu visits"),
    ("ko", "북러 정상회담 평양서 개최"),
    ("ko", "北·러, 군사협력 강화 합의"),
    ("ko", "김정은, 푸틴에게 축전…\"조러 친선 강화\""),
    ("ko", "러시아 외무장관, 평양 도착해 최선희와 회담"),
    ("ko", "국정원 \"북한군 쿠르스크서 사상자 발생\""),
    ("ru", "Путин провел переговоры с Ким Чен Ыном в Пхеньяне"),
    ("ru", "Лавров встретился с главой МИД КНДР Чхве Сон Хи"),
    ("ru", "Россия и КНДР открыли автомобильный мост через Туманную"),
    ("ru", "Северокорейские военные участвуют в боях в Курской области"),
    ("ru", "Российско-северокорейские отношения выходят на новый уровень"),
]

NEAR_MISSES = [
    ("en", "Russia and China veto US-drafted UN resolution on North Korea sanctions"),
    ("en", "China, Russia call for easing of North Korea sanctions to revive talks"),
    ("en", "Ukrainian forces push deeper into Russia's Kursk region"),
    ("en", "Philippines and US reaffirm mutual defence treaty"),
    ("en", "NATO allies invoke Article 5 commitments as Russia tests defences"),
    ("en", "US, South Korea sign defence treaty update | The allies cited threats from the region."),
    ("en", "Putin visits Vietnam to boost ties with Hanoi"),
    ("en", "North and South Korea exchange fire across the border"),
    ("en", "Russia strikes Kyiv with drones overnight"),
    ("en", "Kim Jong Un appears in public, North Korean state media report"),
    ("en", "US sanctions firms in China, Iran, North Korea, Russia over cyber attacks"),
    ("ko", "중러, 유엔 대북제재 결의안에 거부권 행사"),
    ("ko", "우크라이나군, 러시아 쿠르스크 진격"),
    ("ko", "한미 상호방위조약 70주년"),
    ("ko", "남북 군사회담 제안"),
    ("ko", "한러 관계 개선 모색…러시아 대사 외교부 방문"),
    ("ru", "Россия и Китай призвали смягчить санкции против КНДР"),
    ("ru", "ВСУ атаковали Курскую область"),
    ("ru", "Россия и Вьетнам подписали соглашения о сотрудничестве"),
    ("ru", "Южная Корея и Россия обсудили торговлю"),
    ("ru", "КНДР запустила баллистическую ракету, сообщает Сеул"),
]


@pytest.mark.parametrize(("lang", "text"), RELEVANT)
def test_relevant(lang: str, text: str) -> None:
    title, _, summary = text.partition(" | ")
    relevant, evidence = is_relevant(make_article(title, summary, lang))
    assert relevant
    assert evidence is not None and evidence.terms and evidence.highlights


@pytest.mark.parametrize(("lang", "text"), NEAR_MISSES)
def test_near_miss_is_not_relevant(lang: str, text: str) -> None:
    title, _, summary = text.partition(" | ")
    assert is_relevant(make_article(title, summary, lang)) == (False, None)


def test_relevance_evidence_quotes_original_text() -> None:
    _, evidence = is_relevant(make_article("NORTH KOREA-RUSSIA summit opens"))
    assert evidence is not None
    assert [evidence.snippet[s:e] for s, e in evidence.highlights] == ["NORTH KOREA-RUSSIA", "summit"]
