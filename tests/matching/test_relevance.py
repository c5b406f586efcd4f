from __future__ import annotations

from pathlib import Path

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
    ("ru", "Между Москвой и Пхеньяном вновь пошли прямые пассажирские вагоны"),
    ("en", "Passenger trains between Moscow and Pyongyang resume after five years"),
    ("ko", "러시아와 북한, 여객 열차 운행 재개"),
]

NEAR_MISSES = [
    # Lists of countries, and Russia acting jointly with China.
    ("en", "Besides Russian wrestlers, athletes from Iran, China, Cuba and North Korea will compete"),
    ("ko", "러시아 선수들 외에 이란, 중국, 쿠바, 북한 선수들이 출전한다"),
    ("ru", "Помимо российских борцов, выступят спортсмены из Ирана, Китая, Кубы и КНДР"),
    ("en", "Chinese and Russian envoys met after North Korea's launches, blaming US drills"),
    ("ko", "인태사령관 \"중국·러시아·북한·이란 협력은 전례 없는 도전\""),
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


# Long articles: one sentence of background past the lead is not coverage; the same sentence in the lead, or
# the relationship in two sentences of the body, is.
FILLER = {
    "en": "Analysts said the market would stay volatile for the rest of the year.",
    "ko": "업계에서는 연말까지 시장 변동성이 이어질 것으로 내다봤다.",
    "ru": "Аналитики ожидают, что рынок останется волатильным до конца года.",
}
BACKGROUND = {
    "en": ("Carmaker weighs return to its plant near St Petersburg",
           "Relations have cooled over Russia's military cooperation with North Korea."),
    "ko": ("현대차, 러시아 공장 재매입 여부 검토",
           "한러 관계는 북한과 러시아의 군사 협력으로 냉각된 상태다."),
    "ru": ("Автопроизводитель решает, возвращаться ли на завод под Петербургом",
           "Отношения ухудшились из-за военного сотрудничества России с КНДР."),
}
SECOND = {
    "en": "Seoul says Pyongyang has sent shells to Moscow in exchange for oil and air-defence systems.",
    "ko": "정부는 북한이 러시아에 포탄을 보내고 원유와 방공 체계를 받았다고 밝혔다.",
    "ru": "В Сеуле считают, что Пхеньян передал Москве снаряды в обмен на нефть и ПВО.",
}


@pytest.mark.parametrize("lang", ["en", "ko", "ru"])
def test_background_sentence_past_the_lead_is_not_coverage(lang: str) -> None:
    title, aside = BACKGROUND[lang]
    filler = FILLER[lang]
    buried = " ".join([filler] * 4 + [aside] + [filler] * 2)
    assert not is_relevant(make_article(title, buried, lang))[0]
    # The same sentence leading the article is news about the relationship.
    assert is_relevant(make_article(title, " ".join([aside] + [filler] * 6), lang))[0]
    # So is the relationship in two sentences of the body.
    twice = " ".join([filler] * 4 + [aside, SECOND[lang]] + [filler] * 2)
    assert is_relevant(make_article(title, twice, lang))[0]


@pytest.mark.parametrize(
    ("lang", "title", "lead"),
    [
        ("en", "Putin, in Hanoi, says Russia and Vietnam to deepen ties",
         "Putin, who arrived from Pyongyang after signing a pact with Kim Jong Un, met To Lam."),
        ("ru", "Путин и То Лам договорились углублять партнерство",
         "Путин, прилетевший из Пхеньяна, провел переговоры с То Ламом."),
    ],
)
def test_headline_about_another_partner_with_one_nk_sentence(lang: str, title: str, lead: str) -> None:
    assert not is_relevant(make_article(title, " ".join([lead] + [FILLER[lang]] * 3), lang))[0]


def test_relevance_words_come_from_the_packaged_toml() -> None:
    from bot.matching.relevance import GROUP_NAMES, default_groups
    from bot.settings import packaged_config_dir

    assert (packaged_config_dir() / "relevance.toml").is_file()
    assert tuple(default_groups()) == GROUP_NAMES


def test_malformed_relevance_toml_gives_one_clear_error(tmp_path: Path) -> None:
    from bot.matching.relevance import RelevanceConfigError, load_groups

    broken = tmp_path / "relevance.toml"
    broken.write_text("[groups\nnk = 'x'\n", encoding="utf-8")
    with pytest.raises(RelevanceConfigError, match="relevance word groups"):
        load_groups(broken)
    broken.write_text("[groups]\nnk = 'north korea'\n", encoding="utf-8")
    with pytest.raises(RelevanceConfigError, match="must define exactly"):
        load_groups(broken)
