# ruff: noqa: E501 (the cases are short articles, quoted whole)
"""The hard cases of issue 18, one small hand-written example per category and language, through the public
matcher interface (``CompiledMatcher.match``): is the article North Korea–Russia coverage, and which facts
does it report?

Categories: an article about another pair that gives the North Korea–Russia pact a sentence of background
(Russia with Vietnam, Iran, South Korea or Belarus; China with North Korea); one side's act toward the other
without both names in one sentence (a veto, shipments); a substantial North Korea–Russia passage late in an
article that opens on something else; facts hedged, denied, hypothetical or still to come; "Article 4"
named without its content, assistance "under the treaty"; another partnership not set beside the pact; and
the recall cases: the pact "not targeted at" anyone, sanctions "ineffective", shipments claimed by an
intelligence service. The scores on the hard sets themselves are checked at the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.matching.engine import CompiledMatcher
from tests.matching import scores
from tests.matching.conftest import make_article


@dataclass(frozen=True)
class Case:
    category: str
    lang: str
    title: str
    text: str
    relevant: bool
    facts: frozenset[str] = frozenset()  # reported: must be among the matched facts
    not_facts: frozenset[str] = frozenset()  # not reported: must not be among them

    def __str__(self) -> str:
        return f"{self.category}-{self.lang}"


def case(
    category: str,
    lang: str,
    title: str,
    text: str,
    relevant: bool,
    facts: tuple[str, ...] = (),
    not_facts: tuple[str, ...] = (),
) -> Case:
    return Case(category, lang, title, text, relevant, frozenset(facts), frozenset(not_facts))


CASES = [
    # --- another pair, the pact in the background: not coverage ---------------------------------------
    case(
        "background-vietnam", "en", "Putin arrives in Hanoi for talks with Vietnam's leaders",
        "Russian President Vladimir Putin landed in Hanoi on Thursday for a state visit to Vietnam, a day after "
        "he signed a partnership treaty with Kim Jong Un in Pyongyang. He will meet To Lam to discuss energy, "
        "trade and education. Vietnam has long bought most of its weapons from Russia.", False,
    ),
    case(
        "background-vietnam", "ko", "푸틴, 북한 이어 베트남 하노이 도착",
        "블라디미르 푸틴 러시아 대통령이 북한 방문을 마치고 20일 베트남 하노이에 도착했다. 푸틴 대통령은 또 럼 베트남 "
        "국가주석과 회담한다. 러시아와 베트남은 에너지와 교육 분야 협력 문서에 서명할 예정이다.", False,
    ),
    case(
        "background-vietnam", "ru", "Путин после Пхеньяна прилетел во Вьетнам",
        "Президент России Владимир Путин прибыл в Ханой с государственным визитом. Во Вьетнаме он проведет "
        "переговоры с То Ламом. Накануне в Пхеньяне Путин и Ким Чен Ын подписали договор о стратегическом "
        "партнерстве России и КНДР.", False,
    ),
    case(
        "background-iran", "en", "Russia and Iran to sign strategic partnership treaty on Friday",
        "Iranian President Masoud Pezeshkian will visit Moscow to sign the 20-year treaty with Vladimir Putin. "
        "Unlike the pact Russia signed with North Korea last June, the Russia-Iran treaty has no mutual defence "
        "clause. Tehran says the deal is not aimed at third countries.", False,
    ),
    case(
        "background-iran", "ko", "러·이란, 포괄적 전략적 동반자 조약 체결",
        "블라디미르 푸틴 러시아 대통령과 마수드 페제시키안 이란 대통령이 모스크바에서 조약에 서명했다. 지난해 6월 "
        "러시아와 북한이 체결한 조약과 달리 이번 조약에는 상호 방위 조항이 없다. 이란은 조약이 제3국을 겨냥하지 "
        "않는다고 밝혔다.", False,
    ),
    case(
        "background-iran", "ru", "Россия и Иран подписали договор о стратегическом партнерстве",
        "Путин и Пезешкиан подписали договор в Москве. В отличие от договора с КНДР, документ с Ираном не "
        "предусматривает военной помощи в случае нападения. Тегеран заявил, что договор не направлен против "
        "третьих стран.", False,
    ),
    case(
        "background-south-korea", "en", "Seoul and Moscow hold consular talks amid strained ties",
        "South Korean and Russian diplomats met in Moscow to discuss visas and direct flights, the foreign "
        "ministry in Seoul said. Relations between Seoul and Moscow have cooled since Russia's military "
        "cooperation with North Korea deepened.", False,
    ),
    case(
        "background-south-korea", "ko", "한러 외교차관 회담…영사 협력 논의",
        "한국과 러시아 외교차관이 서울에서 만나 영사 협력과 직항 노선 재개를 논의했다. 한러 관계는 러시아와 북한의 "
        "군사협력 이후 냉각됐다.", False,
    ),
    case(
        "background-south-korea", "ru", "Москва и Сеул провели консультации по консульским вопросам",
        "Дипломаты России и Южной Кореи обсудили в Сеуле визовые вопросы и прямые рейсы. Отношения Москвы и "
        "Сеула ухудшились после сближения России с КНДР.", False,
    ),
    case(
        "background-belarus", "en", "Putin and Lukashenko sign security guarantees treaty in Minsk",
        "The treaty commits Russia to defend Belarus with all means at its disposal. Russia signed a similar "
        "mutual defence pact with North Korea last year. Lukashenko called the document historic.", False,
    ),
    case(
        "background-belarus", "ru", "Путин и Лукашенко подписали договор о гарантиях безопасности",
        "Договор обязывает Россию защищать Белоруссию всеми средствами. Ранее Россия подписала договор о "
        "взаимной помощи с КНДР. Лукашенко назвал документ историческим.", False,
    ),
    case(
        "background-china", "ko", "시진핑-김정은, 북중 우호조약 64주년 축전 교환",
        "시진핑 중국 국가주석과 김정은 국무위원장이 북중 우호조약 체결 64주년을 맞아 축전을 교환했다. 중국은 북한과 "
        "러시아의 밀착에 거리를 두고 있다.", False,
    ),
    case(
        "background-china", "en", "China and North Korea mark 64 years of friendship treaty",
        "Chinese and North Korean officials attended a banquet in Pyongyang to mark the anniversary of the 1961 "
        "treaty. Beijing has kept its distance as North Korea deepened its ties with Russia.", False,
    ),
    # --- one side's act toward the other: coverage ------------------------------------------------------
    case(
        "one-side-veto", "en", "Russia vetoes UN panel that monitored sanctions on North Korea",
        "Moscow blocked the renewal of the expert panel's mandate at the Security Council on Thursday. Its "
        "ambassador said the sanctions had become ineffective and detached from reality.", True,
        facts=("sanctions_resistance",),
    ),
    case(
        "one-side-veto", "ko", "러시아 거부권에 대북제재 전문가 패널 활동 종료",
        "유엔 안보리 대북제재위원회 전문가 패널의 임기 연장 결의안이 러시아의 거부권 행사로 부결됐다.", True,
        facts=("sanctions_resistance",),
    ),
    case(
        "one-side-veto", "ru", "Россия заблокировала продление мандата экспертов по санкциям против КНДР",
        "Постпред России при ООН Василий Небензя заявил, что санкции утратили актуальность.", True,
        facts=("sanctions_resistance",),
    ),
    case(
        "one-side-shipments", "en", "North Korea sent over a million shells to Russia, spy agency says",
        "South Korea's National Intelligence Service said the shells were shipped from the port of Rajin since "
        "August.", True, facts=("arms_transfers",),
    ),
    case(
        "one-side-shipments", "ko", "국정원 \"북, 러시아에 포탄 100만발 이상 보내\"",
        "국가정보원은 북한이 8월부터 선박과 수송기로 포탄 등 무기를 10여 차례 수송한 것으로 파악했다고 밝혔다.",
        True, facts=("arms_transfers",),
    ),
    case(
        "one-side-shipments", "ru", "КНДР отправила в Россию семь тысяч контейнеров с боеприпасами",
        "Об этом заявил министр обороны Южной Кореи, сославшись на данные разведки.", True,
        facts=("arms_transfers",),
    ),
    case(
        "one-side-split", "en", "Spy agency: Pyongyang shipped a million artillery shells since August",
        "The shells were unloaded at the port of Vostochny in Russia's Far East and sent by train toward Ukraine.",
        True, facts=("arms_transfers",),
    ),
    case(
        "one-side-split", "en", "Moscow vetoes renewal of UN sanctions panel",
        "The panel monitored the sanctions on North Korea's nuclear programme. Russia's envoy said the measures "
        "had lost relevance.", True, facts=("sanctions_resistance",),
    ),
    case(
        "one-side-split", "ko", "국정원 \"북, 8월 이후 포탄 100만발 반출\"",
        "반출된 포탄은 러시아 두나이항과 보스토치니항에 하역돼 열차로 우크라이나 인근 탄약고로 옮겨졌다.", True,
        facts=("arms_transfers",),
    ),
    case(
        "one-side-split", "ru", "Москва наложила вето на продление мандата экспертов ООН",
        "Эксперты следили за соблюдением санкций против КНДР.", True, facts=("sanctions_resistance",),
    ),
    case(
        "one-side-split", "ru", "Пхеньян отправил миллион снарядов, сообщила разведка Южной Кореи",
        "Снаряды выгрузили в российском порту Восточный и отправили по железной дороге к фронту.", True,
        facts=("arms_transfers",),
    ),
    case(
        "one-side-split-miss", "en", "Pyongyang sends condolences after earthquake",
        "Russia and Turkey also sent messages.", False,
    ),
    case(
        "one-side-split-miss", "en", "Russia vetoes UN resolution on Syria ceasefire",
        "The vote came a day after North Korea tested a missile.", False,
    ),
    # --- a substantial passage late in an article about something else: coverage ------------------------
    case(
        "late-passage", "en", "Putin wraps up Asia tour in Hanoi",
        "The Russian president held talks with Vietnam's leaders on energy and trade. The two sides signed "
        "eleven documents. Students who studied in Russia greeted him at the hotel. At a news conference, Putin "
        "explained the treaty he had signed with Kim Jong Un in Pyongyang. He said Russia would give North "
        "Korea military assistance if it were attacked. The clause, he added, mirrors the 1961 treaty between "
        "Moscow and Pyongyang.", True, facts=("mutual_defense",),
    ),
    case(
        "late-passage", "ko", "푸틴, 베트남 방문 마무리",
        "푸틴 대통령은 베트남 지도부와 에너지와 무역 협력을 논의했다. 양측은 문서 11건에 서명했다. 러시아 유학생들이 "
        "호텔 앞에서 푸틴 대통령을 맞았다. 푸틴 대통령은 기자회견에서 북한과 맺은 조약을 설명했다. 그는 북한이 "
        "침략을 받으면 러시아가 군사 원조를 제공한다고 말했다. 이 조항은 1961년 북소 조약과 같다고 덧붙였다.",
        True,
    ),
    case(
        "late-passage", "ru", "Путин завершил визит во Вьетнам",
        "Президент обсудил с руководством Вьетнама энергетику и торговлю. Стороны подписали 11 документов. В "
        "Ханое Путина встретили выпускники российских вузов. На пресс-конференции Путин разъяснил договор с "
        "КНДР, подписанный в Пхеньяне. Он заявил, что Россия окажет КНДР военную помощь в случае нападения. По "
        "его словам, эта статья повторяет договор 1961 года.", True, facts=("mutual_defense",),
    ),
    # --- facts hedged, denied, hypothetical or still to come: not reported ------------------------------
    case(
        "denied", "en", "Kremlin denies North Korean troops are fighting for Russia",
        "Peskov dismissed reports that North Korean soldiers had been deployed to Russia as nonsense.", True,
        not_facts=("troops_kursk",),
    ),
    case(
        "denied", "ko", "러 외무차관 \"北 러시아 파병설은 사실무근\"",
        "안드레이 루덴코 차관은 북한군이 러시아에 파병됐다는 보도는 사실무근이라고 밝혔다.", True,
        not_facts=("troops_kursk",),
    ),
    case(
        "denied", "ru", "В Кремле отрицают поставки снарядов из КНДР",
        "Песков заявил, что сообщения о поставках северокорейских снарядов в Россию беспочвенны.", True,
        not_facts=("arms_transfers",),
    ),
    case(
        "hedged", "en", "North Korea could send troops to Russia, Seoul warns",
        "South Korea's defence minister said Pyongyang might dispatch combat units to the Kursk front if the "
        "war drags on.", True, not_facts=("troops_kursk",),
    ),
    case(
        "hedged", "ko", "국방부 \"북한, 러시아에 추가 무기 지원 가능성\"",
        "국방부는 북한이 러시아에 탄도미사일을 추가로 공급할 가능성이 있다고 밝혔다.", True,
        not_facts=("arms_transfers",),
    ),
    case(
        "hedged", "ru", "Россия может возобновить поставки оружия из КНДР",
        "Россия может возобновить закупки северокорейских снарядов после перерыва, считают аналитики.", True,
        not_facts=("arms_transfers",),
    ),
    case(
        "negated-modal", "ru", "Лавров в Пхеньяне: урегулирование невозможно без отмены санкций",
        "Лавров заявил, что решение ядерной проблемы не может быть полным, пока санкции против КНДР не будут "
        "отменены.", True, facts=("sanctions_resistance",),
    ),
    case(
        "hypothetical", "en", "What Russian fighter jets would mean for North Korea",
        "If Russia transferred fighter jets to North Korea, Pyongyang's air force would be transformed, "
        "analysts say.", True, not_facts=("military_cooperation", "arms_transfers"),
    ),
    case(
        "future", "ko", "러시아, 북한에 방공망 공급 예정",
        "러시아가 북한에 방공 미사일을 공급할 예정이라고 소식통이 전했다.", True,
        not_facts=("arms_transfers",),
    ),
    case(
        "future", "ru", "Россия будет поставлять КНДР системы ПВО",
        "Как сообщил источник, Россия будет поставлять КНДР зенитные ракеты.", True,
        not_facts=("arms_transfers",),
    ),
    case(
        "future", "en", "Russia will deliver air defence missiles to North Korea, source says",
        "Moscow will send anti-aircraft missiles to Pyongyang next year, a source said.", True,
        not_facts=("arms_transfers",),
    ),
    # --- claims made by a government or an intelligence service: reported -------------------------------
    case(
        "claim", "en", "North Korea shipped 13,000 containers of munitions to Russia, NIS says",
        "The South Korean intelligence agency said the containers carried artillery shells and missiles.", True,
        facts=("arms_transfers",),
    ),
    case(
        "claim", "ko", "국정원 \"북한, 러시아에 미사일·포탄 지원\"",
        "국가정보원은 북한이 러시아에 미사일과 포탄을 지원했다고 판단했다.", True, facts=("arms_transfers",),
    ),
    case(
        "claim", "ru", "Разведка Южной Кореи: КНДР передала России баллистические ракеты",
        "По данным разведки, КНДР передала России баллистические ракеты и снаряды.", True,
        facts=("arms_transfers",),
    ),
    # --- "Article 4" named only, assistance "under the treaty": not the mutual-defence clause ----------
    case(
        "article-4-only", "en", "Seoul studies Article 4 of the Russia-North Korea treaty",
        "Officials in Seoul are studying Article 4 of the pact between Moscow and Pyongyang, a ministry "
        "spokesman said.", True, not_facts=("mutual_defense",),
    ),
    case(
        "article-4-only", "ko", "정부, 북러 조약 제4조 분석 중",
        "외교부는 북러 조약 제4조의 의미를 분석하고 있다고 밝혔다.", True, not_facts=("mutual_defense",),
    ),
    case(
        "article-4-only", "ru", "В Сеуле изучают статью 4 договора России и КНДР",
        "Южнокорейские эксперты изучают статью 4 договора между Москвой и Пхеньяном.", True,
        not_facts=("mutual_defense",),
    ),
    case(
        "under-the-treaty", "en", "North Korea says its troops helped Russia under the treaty",
        "KCNA said the North Korean units were sent to the Kursk region to help Russia in line with the treaty "
        "between the two countries.", True, facts=("troops_kursk",), not_facts=("mutual_defense",),
    ),
    # --- another partnership not set beside the pact ------------------------------------------------------
    case(
        "other-partnership", "en", "Putin and Kim sign partnership treaty in Pyongyang",
        "Vladimir Putin and Kim Jong Un signed the comprehensive strategic partnership treaty in Pyongyang on "
        "Wednesday. The two leaders then watched a concert and toured a new hospital. Putin left late at night. "
        "Officials said the trip had been planned for months and that the Kremlin was pleased. Ukraine said the "
        "visit was a provocation. In Hanoi on Thursday, Putin and To Lam reaffirmed the comprehensive strategic "
        "partnership between Russia and Vietnam.", True, facts=("treaty_signed",),
        not_facts=("other_partnerships",),
    ),
    # --- recall: defensive paraphrases, sanctions ineffective ---------------------------------------------
    case(
        "defensive", "en", "Kremlin says pact with North Korea is not targeted at anyone",
        "The treaty Putin and Kim signed is not targeted at any third country, Peskov told reporters.", True,
        facts=("defensive_nature",),
    ),
    case(
        "defensive", "ko", "러 \"북러 조약, 제3국 겨냥하지 않아\"",
        "러시아 외무부는 북러 조약이 한국이나 제3국을 겨냥하지 않는다고 밝혔다.", True,
        facts=("defensive_nature",),
    ),
    case(
        "defensive", "ru", "Руденко: договор с КНДР ни против кого не направлен",
        "Замглавы МИД России заявил, что договор с КНДР не нацелен против третьих стран.", True,
        facts=("defensive_nature",),
    ),
    case(
        "sanctions-ineffective", "en", "Russia calls UN sanctions on North Korea ineffective",
        "Russia's UN envoy said the sanctions against Pyongyang were ineffective and illegitimate.", True,
        facts=("sanctions_resistance",),
    ),
    case(
        "sanctions-ineffective", "ko", "러 \"대북제재 실효성 없어\"",
        "러시아 외무부는 유엔 대북제재가 실효성을 잃었다고 주장했다.", True, facts=("sanctions_resistance",),
    ),
    case(
        "sanctions-ineffective", "ru", "Россия назвала санкции против КНДР неэффективными",
        "Постпред России заявил, что санкции против Пхеньяна неэффективны и потеряли актуальность.", True,
        facts=("sanctions_resistance",),
    ),
]  # fmt: skip


@pytest.mark.parametrize("c", CASES, ids=str)
def test_hard_case(catalog_matcher: CompiledMatcher, c: Case) -> None:
    result = catalog_matcher.match(make_article(c.title, c.text, c.lang))
    assert result.relevant == c.relevant, f"{c}: relevant={result.relevant}"
    found = set(result.fact_ids)
    assert c.facts <= found, f"{c}: missing {sorted(c.facts - found)} (found {sorted(found)})"
    assert not (c.not_facts & found), f"{c}: reported {sorted(c.not_facts & found)}"


def test_every_category_in_every_language() -> None:
    """The issue's categories, each with an example in English, Korean and Russian."""
    by_category: dict[str, set[str]] = {}
    for c in CASES:
        by_category.setdefault(c.category.split("-")[0], set()).add(c.lang)
    categories = ("background", "one", "late", "denied", "hedged", "claim", "article", "defensive", "sanctions")
    for category in categories:
        assert by_category[category] == {"en", "ko", "ru"}, category


# --- the hard sets ------------------------------------------------------------------------------------------

# Measured on the held halves (python -m tests.matching.scores): relevance P 1.000 R 1.000, F1 1.000 in each
# language; facts micro-F1 0.974 (P 0.950 R 1.000). The floors sit a little below (one more error in a
# language, or about two more fact errors), so a regression fails. The fresh parts, labelled after the rules
# were tuned, measured relevance 1.000 / 1.000 and facts 0.969 (fresh), 0.889 (fresh2).
HELD_FLOORS = {"precision": 0.97, "recall": 0.97, "f1": 0.95, "facts_f1": 0.95}
FRESH_FLOORS = {"precision": 0.97, "recall": 0.97, "facts_f1": 0.85}


def test_hard_sets_are_well_formed(catalog: tuple[object, ...]) -> None:
    ids = {f.id for f in catalog}  # type: ignore[attr-defined]
    seen: set[str] = set()
    for lang in scores.LANGS:
        items = [i for half in scores.HALVES for i in scores.hard_items(lang, half)]
        assert len(items) >= 40, lang
        for item in items:
            assert item["lang"] == lang and item["id"] not in seen
            seen.add(str(item["id"]))
            assert set(item["facts"]) <= ids  # type: ignore[call-overload]
            assert item["relevant"] or not item["facts"]
            assert str(item["source"]).startswith("http"), "each excerpt names the page it comes from"
        negatives = sum(1 for i in items if not i["relevant"])
        assert negatives >= 15, f"{lang}: the hard sets are weighted to negatives that look like the beat"


def test_held_halves_meet_their_floors(catalog_matcher: CompiledMatcher) -> None:
    measured = scores.hard_report(catalog_matcher, errors=False)["held"]
    for lang in scores.LANGS:
        assert measured[f"f1_{lang}"] >= HELD_FLOORS["f1"], (lang, measured)
    for name in ("precision", "recall", "facts_f1"):
        assert measured[name] >= HELD_FLOORS[name], (name, measured)


def test_fresh_parts_meet_their_floors(catalog_matcher: CompiledMatcher) -> None:
    report = scores.hard_report(catalog_matcher, errors=False)
    for part in scores.FRESH:
        for name, floor in FRESH_FLOORS.items():
            assert report[part][name] >= floor, (part, name, report[part])


def test_subject_and_statement_tables_give_one_clear_error(tmp_path: Path) -> None:
    from bot.matching.statement import StatementConfigError, load_statement
    from bot.matching.subject import SubjectConfigError, load_subject

    broken = tmp_path / "relevance.toml"
    broken.write_text("[groups]\nnk = 'x'\n", encoding="utf-8")
    with pytest.raises(SubjectConfigError, match=r"\[subject\]"):
        load_subject(broken)
    with pytest.raises(StatementConfigError, match=r"\[statement\]"):
        load_statement(broken)
    config = scores.REPO / "config" / "relevance.toml"
    assert load_subject(config).pairs and load_statement(config).markers


def test_a_stated_fact_quotes_the_sentence_that_states_it(catalog_matcher: CompiledMatcher) -> None:
    """A denial and a claim of the same shipment: the fact stands, and its evidence is the claim."""
    result = catalog_matcher.match(
        make_article(
            "North Korea and Russia deepen ties",
            "Peskov denied that Russia had received North Korean shells. South Korea's spy agency said North "
            "Korea shipped a million artillery shells to Russia.",
        )
    )
    (hit,) = [h for h in result.facts if h.ref == "arms_transfers"]
    assert "[shipped]" in hit.evidence.marked()
