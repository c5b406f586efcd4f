"""Phrasings the relevance signals and fact queries must handle, written while tuning (not in the
evaluation set): bare "Kim" beside Putin, North Korean troops or weapons in Kursk, "N. Korea", KCNA's
로씨야 and 조로, technology transfer as military cooperation, lists of states, Russia–China coordination."""

from __future__ import annotations

import pytest

from bot.matching.engine import CompiledMatcher
from tests.matching.conftest import make_article

# (lang, "title | summary", relevant, facts)
CASES: list[tuple[str, str, bool, tuple[str, ...]]] = [
    ("en", "Putin thanks Kim for sending troops to help liberate Kursk", True, ("troops_kursk",)),
    ("en", "Kim Jong Un inspects drone plant built with Russian technology", True, ("military_cooperation",)),
    ("en", "Putin praises Kim's soldiers for role in Kursk offensive", True, ("troops_kursk",)),
    ("en", "North Korean troops in Kursk suffer heavy losses, Kyiv says", True, ("troops_kursk",)),
    ("en", "Kim hosts Putin's envoy in Pyongyang", True, ()),
    ("en", "The Kremlin welcomes Pyongyang's foreign minister", True, ()),
    ("en", "Russia and China oppose new sanctions on North Korea", False, ()),
    ("en", "Russian Far East governor visits N. Korea to discuss trade", True, ()),
    ("en", "NK, Russia open new rail freight route", True, ()),
    ("ko", '조선중앙통신 "로씨야 정부대표단 평양 도착"', True, ()),
    ("ko", "평양-모스크바 직항 노선 개설", True, ()),
    ("ko", "푸틴, 북한군 쿠르스크 해방 기여에 감사", True, ("troops_kursk",)),
    ("ko", "김정은, 러시아 기술 도입한 무인기 공장 시찰", True, ("military_cooperation",)),
    ("ru", "Прямой авиарейс Москва — Пхеньян запустят в июле", True, ()),
    ("ru", "Япония и США укрепляют союз на фоне угроз со стороны Китая, КНДР и России", False, ()),
    (
        "ru",
        "Ким Чен Ын посетил завод беспилотников, построенный с российской помощью",
        True,
        ("military_cooperation",),
    ),
    ("ru", "Путин поблагодарил Ким Чен Ына за отправку войск в Курскую область", True, ("troops_kursk",)),
    ("en", "Trump says he gets along well with Putin and Kim", False, ()),
    ("en", "Putin, Kim exchange New Year greetings", True, ()),
    ("en", "South Korean FM Kim meets Russian envoy in Seoul", False, ()),
    (
        "en",
        "Kim vows to stand with Russia 'to the end' | The North Korean leader spoke at a rally.",
        True,
        (),
    ),
    ("ko", "김 위원장, 푸틴 대통령에 감사 서한", True, ()),
    ("ru", "Ким и Путин обменялись новогодними поздравлениями", True, ()),
    ("en", "Kim and Putin ink landmark partnership agreement in Pyongyang", True, ("treaty_signed",)),
    (
        "en",
        "Russia-North Korea defence pact alarms Seoul | South Korea summoned the Russian envoy over it.",
        True,
        (),
    ),
    ("en", "Putin: Russia would come to North Korea's aid if it were attacked", True, ("mutual_defense",)),
    (
        "en",
        "Treaty commits Moscow and Pyongyang to immediate military assistance in event of aggression",
        True,
        ("mutual_defense",),
    ),
    ("en", "Lavrov: Russia-DPRK treaty poses no threat to anyone", True, ("defensive_nature",)),
    ("en", "North Korea's defence minister visits Moscow, meets Belousov", True, ("military_cooperation",)),
    (
        "en",
        "Russia helping North Korea with spy satellite launches, Seoul says",
        True,
        ("military_cooperation",),
    ),
    ("en", "Russia says UN sanctions on North Korea have 'lost relevance'", True, ("sanctions_resistance",)),
    (
        "en",
        "Moscow ignores sanctions as it ships refined petroleum to Pyongyang",
        True,
        ("sanctions_resistance",),
    ),
    ("en", "North Korea ratifies treaty with Russia by decree of Kim Jong Un", True, ("ratification",)),
    ("en", "Pyongyang deploys soldiers to Russia's Kursk province, Seoul says", True, ("troops_kursk",)),
    ("en", "Kim Jong Un honours soldiers killed fighting for Russia", True, ("troops_kursk",)),
    ("en", "North Korean rocket launchers spotted in Russia's Kursk", True, ("arms_transfers",)),
    (
        "en",
        "Russia receiving North Korean artillery via Rajin port, satellite images show",
        True,
        ("arms_transfers",),
    ),
    ("en", "Kremlin aide Ushakov says Putin-Kim talks lasted five hours", True, ("ushakov_statement",)),
    (
        "en",
        "New Russia-North Korea treaty supersedes 1961 Soviet-era alliance pact",
        True,
        ("replaces_old_treaties",),
    ),
    ("ko", "김정은, 러시아 파견 부대 전사자 유가족 위로", True, ("troops_kursk",)),
    ("ko", '푸틴 "북한 공격받으면 러시아가 군사 지원"', True, ("mutual_defense",)),
    ("ko", '라브로프 "북러 조약, 누구도 위협하지 않아"', True, ("defensive_nature",)),
    ("ko", "김정은, 북러 조약 비준 정령 서명", True, ("ratification",)),
    ("ko", "러시아, 유엔 대북제재 위반하며 정제유 공급", True, ("sanctions_resistance",)),
    ("ko", "北 방사포, 러시아 쿠르스크서 포착", True, ("arms_transfers",)),
    ("ko", "北 국방상, 모스크바서 벨로우소프와 회담", True, ("military_cooperation",)),
    ("ko", "북러 방위조약에 한국 정부 우려 표명", True, ()),
    (
        "ru",
        "Ким Чен Ын почтил память северокорейских военных, погибших в Курской области",
        True,
        ("troops_kursk",),
    ),
    ("ru", "Путин: Россия окажет КНДР военную помощь в случае нападения", True, ("mutual_defense",)),
    ("ru", "Лавров: договор России и КНДР никому не угрожает", True, ("defensive_nature",)),
    ("ru", "Ким Чен Ын подписал указ о ратификации договора с Россией", True, ("ratification",)),
    ("ru", "Россия поставляет КНДР нефтепродукты в обход санкций ООН", True, ("sanctions_resistance",)),
    ("ru", "Северокорейские РСЗО замечены в Курской области", True, ("arms_transfers",)),
    (
        "ru",
        "Министр обороны КНДР прибыл в Москву для переговоров с Белоусовым",
        True,
        ("military_cooperation",),
    ),
    ("ru", "Сеул выразил обеспокоенность оборонным пактом России и КНДР", True, ()),
    ("ru", "Ким Чен Ын заявил о поддержке России в военной операции", True, ()),
    ("en", "North Korea test-fires cruise missiles as Russia and China hold drills", False, ()),
    ("en", "Ukraine launches drone attack on Russia's Kursk region", False, ()),
    ("en", "China and Russia open new bridge across Amur river", False, ()),
    ("en", "Seoul and Moscow agree to resume direct flights", False, ()),
    ("en", "Russian students protest university rules in Moscow", False, ()),
    ("en", "Putin praises Xi and Kim at Beijing parade", False, ()),
    ("en", "Russia's Lavrov visits Laos, Myanmar; Korean peninsula on agenda", False, ()),
    ("en", "North Korea launches missile after US, South Korea, Japan drills", False, ()),
    ("en", "US warns China, Russia against helping North Korea evade sanctions", False, ()),
    ("en", "North Korea opens new hospital in Pyongyang, KCNA says", False, ()),
    ("en", "South Korea says it will open a consulate in Vladivostok", False, ()),
    ("en", "Kim Jong Un praises new destroyer launch", False, ()),
    ("ko", "중러, 아무르강 신규 교량 개통", False, ()),
    ("ko", "한러 직항 노선 재개 합의", False, ()),
    ("ko", "북한, 신형 순항미사일 시험발사…러시아·중국은 침묵", False, ()),
    ("ko", "김정은, 평양종합병원 개원식 참석", False, ()),
    ("ko", '일본 "북한 미사일, EEZ 안쪽 낙하"', False, ()),
    ("ko", "러시아 대표단, 서울서 한러 경제협력 논의", False, ()),
    ("ko", "우크라이나, 러시아 쿠르스크에 드론 공격", False, ()),
    ("ru", "Россия и Китай открыли новый мост через Амур", False, ()),
    ("ru", "Южная Корея и Россия договорились возобновить авиарейсы", False, ()),
    ("ru", "КНДР испытала крылатые ракеты, Россия и Китай воздержались от комментариев", False, ()),
    ("ru", "Ким Чен Ын открыл новую больницу в Пхеньяне", False, ()),
    ("ru", "ВСУ атаковали беспилотниками Курскую область", False, ()),
    ("ru", "Российские студенты выступили на олимпиаде в Пекине", False, ()),
    ("en", "Soldiers from North Korea join Russian assault in Kursk", True, ("troops_kursk",)),
    ("ru", "Войска КНДР участвуют в боях в Курской области", True, ("troops_kursk",)),
    # Second round: transfer verbs, exchanges without a cue word, implied Russia, and the near misses.
    ("ru", "Москва передала Пхеньяну зенитные комплексы", True, ("arms_transfers",)),
    ("ru", "КНДР прислала в Россию еще 2 тысячи военных", True, ("troops_kursk",)),
    ("ru", "Российский балет выступит на сцене театра в Пхеньяне", True, ()),
    ("ru", "Соглашение с Пхеньяном о безвизовых поездках вступит в силу летом", True, ("ratification",)),
    ("ru", "Сеул прекратил сотрудничество с КНДР в Кэсоне", False, ()),
    ("ru", "КНДР испытала новый двигатель; Россия отчиталась о запуске спутника", False, ()),
    (
        "ru",
        "Россия и КНДР подписали меморандум о туризме | Стороны договорились об увеличении рейсов.",
        True,
        (),
    ),
    ("ko", "북한 의료진, 러시아 병원서 연수", True, ()),
    ("ko", "북러 조약, 러시아가 이집트와 맺은 동반자 협정과 달라", True, ()),
    ("ko", "러시아 교육부와 북한 교육성, 교원 교류 협정 서명", True, ()),
    ("ko", "푸틴, 몽골 방문 | 푸틴 대통령은 북한과의 조약 이후 처음으로 울란바토르를 찾았다.", False, ()),
    ("en", "Kim Kardashian says she would love to interview Putin", False, ()),
    ("en", "North Korean students begin courses at Russian universities", True, ()),
    ("en", "North Korea test-fires missile; Russia launches Soyuz", False, ()),
]


@pytest.mark.parametrize(("lang", "text", "relevant", "facts"), CASES)
def test_phrasing(
    catalog_matcher: CompiledMatcher, lang: str, text: str, relevant: bool, facts: tuple[str, ...]
) -> None:
    title, _, summary = text.partition(" | ")
    result = catalog_matcher.match(make_article(title, summary, lang))
    assert (result.relevant, result.fact_ids) == (relevant, facts)
