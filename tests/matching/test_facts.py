"""Every fact: three articles per language that report it, three near misses that must not match it.

Near misses are either relevant articles about a different fact, or articles off the topic that use the
fact's words (another country's treaty, a different ratification); facts apply only to relevant articles.
"""

from __future__ import annotations

import pytest

from bot.matching.engine import CompiledMatcher
from bot.models import Fact
from tests.matching.conftest import make_article

# fact id -> language -> (positives, negatives); each article is "title | summary"
EXAMPLES: dict[str, dict[str, tuple[list[str], list[str]]]] = {
    "treaty_signed": {
        "en": (
            ["Putin and Kim sign strategic partnership treaty in Pyongyang",
             "North Korea and Russia ink mutual defence pact | Kim Jong Un and Vladimir Putin signed the "
             "agreement at the Kumsusan guesthouse.",
             "Russia, North Korea conclude comprehensive strategic partnership treaty at summit"],
            ["Russia's Duma ratifies partnership treaty with North Korea | Lawmakers approved the pact "
             "signed in June.",
             "US and South Korea sign new defence cost-sharing agreement",
             "North Korean troops spotted in Kursk, Ukraine says Russia is using them"],
        ),
        "ko": (
            ["푸틴·김정은, 포괄적 전략적 동반자 관계 조약 서명",
             "북러 정상회담서 새 조약 체결…상호 지원 조항 포함",
             "러시아와 북한이 평양에서 포괄적 전략 동반자 협정을 체결했다"],
            ["러시아 하원, 북한과의 포괄적 전략 동반자 조약 비준",
             "한미, 방위비 분담 협정 서명",
             "북한군, 러시아 쿠르스크 전선에 배치"],
        ),
        "ru": (
            ["Путин и Ким Чен Ын подписали договор о всеобъемлющем стратегическом партнерстве",
             "Россия и КНДР заключили договор о стратегическом партнерстве в Пхеньяне",
             "В Пхеньяне подписан российско-северокорейский договор"],
            ["Госдума ратифицировала договор с КНДР о всеобъемлющем стратегическом партнерстве",
             "Вьетнам и Франция подписали соглашение о партнерстве",
             "Северокорейские военные замечены в Курской области России"],
        ),
    },
    "mutual_defense": {
        "en": (
            ["Russia-North Korea pact obliges mutual assistance if either is attacked",
             "Putin says treaty with Pyongyang provides for mutual defence | Kim Jong Un and Putin agreed to "
             "help each other in case of aggression.",
             "North Korea says troops sent to Russia under Article 4, which obliges each side to help the "
             "other if attacked"],
            # Issue 18: naming Article 4 as the basis of a dispatch does not state the clause.
            ["NATO allies reaffirm Article 5 commitment to defend Poland against Russian attack",
             "North Korea says troops in Russia sent under Article 4 of treaty with Moscow",
             "Russia and North Korea agree to open road bridge over Tumen river",
             "Putin meets Kim Jong Un, praises growing trade between Russia and North Korea"],
        ),
        "ko": (
            ["북러 조약, 한쪽이 침략당하면 지체없이 군사 원조 제공",
             "푸틴 \"북러 조약에 상호 지원 조항\"…김정은과 정상회담",
             "북한 \"러시아 파병은 한쪽이 무력 침공을 받으면 지체없이 원조하는 조약 제4조 이행\""],
            ["한미 상호방위조약 70주년 기념식 열려",
             "북한, 러시아 파병은 북러 조약 제4조 이행이라고 주장",
             "북러, 두만강 자동차 다리 착공식 개최",
             "김정은, 푸틴에게 생일 축전 보내 북러 친선 강조"],
        ),
        "ru": (
            ["Договор России и КНДР предусматривает взаимную помощь в случае нападения",
             "Путин: договор с Пхеньяном предполагает оказание помощи при агрессии против одной из сторон",
             "КНДР направила войска в Россию согласно статье 4, обязывающей помогать при нападении"],
            ["США и Филиппины обсудили договор о взаимной обороне",
             "КНДР направила войска в Россию согласно статье 4 договора с Москвой",
             "Россия и КНДР открыли новый авиарейс Москва — Пхеньян",
             "Лавров провел переговоры с главой МИД КНДР Чхве Сон Хи о торговле"],
        ),
    },
    "defensive_nature": {
        "en": (
            ["Putin says pact with North Korea is purely defensive",
             "Kremlin: Russia-North Korea treaty not aimed at third countries",
             "Russia, North Korea insist their alliance is defensive and not provocative"],
            ["Japan calls its new defence budget defensive as it eyes North Korea",
             "Putin and Kim sign partnership treaty in Pyongyang",
             "North Korean troops suffer heavy losses in Kursk, Kyiv says Russia hides them"],
        ),
        "ko": (
            ["푸틴 \"북러 조약은 방어적 성격\"",
             "크렘린 \"러시아와 북한의 조약은 제3국을 겨냥하지 않아\"",
             "북러 동맹 방어적이라는 주장…러시아 외무부 발표"],
            ["일본, 방위비 증액은 방어적 조치라고 주장",
             "북러, 평양서 포괄적 전략 동반자 조약 서명",
             "러시아, 북한산 포탄 수백만 발 공급받아"],
        ),
        "ru": (
            ["Путин: договор с КНДР носит оборонительный характер",
             "Песков: договор России и КНДР не направлен против третьих стран",
             "Ушаков: соглашение Москвы и Пхеньяна не имеет провокационного характера"],
            ["Япония назвала свой военный бюджет оборонительным",
             "Россия и КНДР подписали договор о всеобъемлющем стратегическом партнерстве",
             "КНДР поставила России артиллерийские снаряды, сообщает разведка"],
        ),
    },
    "military_cooperation": {
        "en": (
            ["Russia does not rule out military-technical cooperation with North Korea, Putin says",
             "Russian defence minister Belousov visits Pyongyang for talks with Kim Jong Un",
             "North Korea and Russia agree to expand military cooperation | Officials of the two countries "
             "discussed satellite technology."],
            ["Russia and North Korea agree to expand tourism and flights",
             "US and Japan deepen military cooperation amid China tensions",
             "Putin thanks Kim for letter marking Russia Day"],
        ),
        "ko": (
            ["러시아 국방장관, 평양 방문해 김정은과 군사협력 논의",
             "북러, 군사 기술 협력 확대 합의",
             "쇼이구 러시아 안보회의 서기, 방북해 북러 협력 논의"],
            ["북러, 관광 교류 확대 합의…평양-모스크바 직항 재개",
             "한미일, 군사 협력 강화 합의",
             "김정은, 러시아 대사 접견하고 친선 강조"],
        ),
        "ru": (
            ["Россия и КНДР договорились о военно-техническом сотрудничестве",
             "Министр обороны России Белоусов прибыл в Пхеньян для переговоров с Ким Чен Ыном",
             "Шойгу обсудил с Ким Чен Ыном военное сотрудничество России и КНДР"],
            ["Россия и КНДР обсудили развитие туризма и авиасообщения",
             "США и Япония расширяют военное сотрудничество",
             "Ким Чен Ын поздравил Путина с Днем России"],
        ),
    },
    "sanctions_resistance": {
        "en": (
            ["Russia and North Korea vow to resist Western sanctions",
             "Putin says Russia, North Korea will counter politically motivated sanctions",
             "Russia vetoes UN panel monitoring North Korea sanctions as ties with Pyongyang deepen"],
            ["EU adopts new sanctions package against Russia over Ukraine",
             "North Korea and Russia sign treaty at Pyongyang summit",
             "Russian ambassador meets North Korean officials on tourism"],
        ),
        "ko": (
            ["북러 정상 \"서방 제재에 공동 대응\"",
             "러시아, 대북제재 전문가패널 연장에 거부권…북한과 밀착",
             "푸틴 \"북한과 함께 정치적 동기의 제재에 맞설 것\""],
            ["EU, 러시아에 대한 신규 제재 채택",
             "북러 정상회담서 포괄적 동반자 조약 서명",
             "북한, 러시아에 노동자 파견 확대"],
        ),
        "ru": (
            ["Россия и КНДР будут противостоять западным санкциям",
             "Путин: Москва и Пхеньян не признают политически мотивированные санкции",
             "Россия заблокировала продление мандата группы экспертов по санкциям против КНДР, "
             "применив вето"],
            ["ЕС утвердил новый пакет санкций против России",
             "Путин и Ким Чен Ын подписали договор в Пхеньяне",
             "Посол России в КНДР обсудил туризм с представителями Пхеньяна"],
        ),
    },
    "replaces_old_treaties": {
        "en": (
            ["New Russia-North Korea treaty to replace 1961 and 2000 agreements",
             "Putin-Kim pact supersedes Soviet-era treaty between Moscow and Pyongyang",
             "North Korea-Russia treaty replaces 2000 friendship treaty and the 2001 Moscow declaration"],
            ["Putin and Kim sign partnership treaty in Pyongyang",
             "Japan and South Korea mark 1965 treaty anniversary",
             "North Korean troops in Kursk region, Ukraine says"],
        ),
        "ko": (
            ["북러 새 조약, 1961년 조약과 2000년 조약 대체",
             "북러 포괄적 전략 동반자 조약, 기존 조약 대신해",
             "러시아와 북한의 새 조약이 소련 시절 동맹조약을 대체한다"],
            ["북러 정상, 평양서 조약 서명",
             "한일, 1965년 기본조약 기념행사",
             "러시아, 북한에 방공 무기 공급"],
        ),
        "ru": (
            ["Новый договор России и КНДР заменит договоры 1961 и 2000 годов",
             "Договор Москвы и Пхеньяна придет на смену прежнему советскому договору",
             "Договор России и КНДР заменяет декларации 2000 и 2001 годов"],
            ["Путин и Ким Чен Ын подписали договор в Пхеньяне",
             "Япония и Южная Корея отметили годовщину договора 1965 года",
             "КНДР передала России ракеты KN-23"],
        ),
    },
    "other_partnerships": {
        "en": (
            ["Russia's comprehensive strategic partnerships: North Korea joins Vietnam, Egypt and Mongolia",
             "North Korea-Russia pact | Russia has comprehensive strategic partnership with Vietnam; "
             "with China it has a partnership for a new era.",
             "After Pyongyang summit, Putin heads to Vietnam, another comprehensive strategic partner of "
             "Russia | The North Korea-Russia treaty was signed a day earlier."],
            ["Russia and North Korea open road bridge",
             "Vietnam and US upgrade to comprehensive strategic partnership",
             "Kim Jong Un receives Russian delegation"],
        ),
        "ko": (
            ["러시아, 북한 외에 베트남·이집트·몽골과도 포괄적 전략 동반자 관계",
             "북러 조약…러시아는 중국과 '새로운 시대의 포괄적 전략적 협력 동반자 관계'",
             "푸틴 방북 후 베트남행…베트남도 러시아의 포괄적 전략 동반자"],
            ["북러, 철도 협력 확대",
             "한국·베트남, 포괄적 전략 동반자 관계 격상",
             "김정은, 러시아 대표단 접견"],
        ),
        "ru": (
            ["Россия поддерживает всеобъемлющее стратегическое партнерство с КНДР, Вьетнамом и Египтом",
             "Договор с КНДР: с Китаем у России всеобъемлющее партнерство и стратегическое "
             "взаимодействие, вступающее в новую эпоху",
             "После визита в Пхеньян Путин отправится во Вьетнам, с которым у России всеобъемлющее "
             "стратегическое партнерство"],
            ["Россия и КНДР открыли мост через Туманную",
             "Вьетнам и США повысили уровень всеобъемлющего стратегического партнерства",
             "Ким Чен Ын принял российскую делегацию"],
        ),
    },
    "ushakov_statement": {
        "en": (
            ["Kremlin aide Ushakov says Russia-North Korea treaty will reflect the geopolitical situation",
             "Putin's visit to North Korea: Ushakov told reporters the pact is not aimed at anyone",
             "Russia-North Korea treaty will follow international law, Kremlin aide Yuri Ushakov said"],
            ["Kremlin spokesman Peskov says Putin has no plans to visit North Korea this year",
             "Ushakov says Putin and Trump could meet in Saudi Arabia",
             "Russia and North Korea open air route"],
        ),
        "ko": (
            ["우샤코프 크렘린궁 보좌관 \"북러 조약은 국제법 원칙 따를 것\"",
             "크렘린궁 우샤코프 보좌관은 푸틴의 방북 기간 북러 조약이 체결될 수 있다고 밝혔다",
             "우샤코프 \"북러 협정은 제3국 겨냥 안해\"…푸틴 방북 앞두고 발언"],
            ["페스코프 대변인 \"푸틴 방북 계획 없어\"",
             "우샤코프 \"푸틴·트럼프 회담 사우디서 가능\"",
             "북러, 평양-모스크바 항공편 개설"],
        ),
        "ru": (
            ["Ушаков: договор с КНДР будет соответствовать нормам международного права",
             "Помощник президента Юрий Ушаков сообщил, что Путин и Ким Чен Ын подпишут договор",
             "По словам Ушакова, соглашение России и КНДР не направлено против третьих стран"],
            ["Песков: Путин не планирует визит в КНДР",
             "Ушаков заявил о возможной встрече Путина и Трампа в Саудовской Аравии",
             "Россия и КНДР открыли авиасообщение"],
        ),
    },
    "ratification": {
        "en": (
            ["Russia's State Duma ratifies strategic partnership treaty with North Korea",
             "North Korea-Russia treaty enters into force after exchange of ratification instruments",
             "Kim Jong Un signs decree ratifying pact with Russia | The treaty with Moscow took effect on "
             "December 4."],
            ["US Senate ratifies Finland and Sweden NATO accession",
             "Putin and Kim sign strategic partnership treaty in Pyongyang",
             "Russia's Lavrov meets North Korean foreign minister Choe Son Hui"],
        ),
        "ko": (
            ["러시아 하원, 북러 포괄적 전략 동반자 조약 비준",
             "북러 조약 발효…비준서 교환",
             "김정은, 러시아와의 조약 비준 정령 발표"],
            ["미 상원, 핀란드·스웨덴 나토 가입 비준",
             "푸틴·김정은, 평양서 조약 서명",
             "최선희 외무상, 라브로프 러시아 외무장관과 회담"],
        ),
        "ru": (
            ["Госдума ратифицировала договор о стратегическом партнерстве с КНДР",
             "Договор России и КНДР вступил в силу после обмена ратификационными грамотами",
             "Совет Федерации одобрил договор с КНДР о всеобъемлющем стратегическом партнерстве"],
            ["Сенат США ратифицировал вступление Финляндии в НАТО",
             "Путин и Ким Чен Ын подписали договор в Пхеньяне",
             "Лавров встретился с главой МИД КНДР Чхве Сон Хи"],
        ),
    },
    "troops_kursk": {
        "en": (
            ["North Korean troops join Russian forces in Kursk region, Kyiv says",
             "Ukraine says it captured two North Korean soldiers fighting for Russia",
             "Pyongyang sent 11,000 troops to help Russia retake Kursk, Seoul says"],
            ["Ukraine's forces push deeper into Russia's Kursk region",
             "North Korean soldiers cross demarcation line, South Korea fires warning shots",
             "Russia and North Korea sign deal on tourism"],
        ),
        "ko": (
            ["북한군, 러시아 쿠르스크 전선 투입",
             "국정원 \"북한, 러시아에 1만1천명 파병\"",
             "우크라이나, 쿠르스크에서 북한군 포로 2명 생포"],
            ["우크라이나군, 러시아 쿠르스크 진격",
             "북한 병사 군사분계선 침범…합참 경고사격",
             "북러, 관광 협력 확대 합의"],
        ),
        "ru": (
            ["Северокорейские военные воюют на стороне России в Курской области",
             "Украина заявила о пленении двух солдат КНДР в Курской области",
             "Пхеньян направил в Россию около 11 тысяч военнослужащих"],
            ["ВСУ продвинулись в Курской области России",
             "Солдаты КНДР пересекли демаркационную линию, Южная Корея открыла предупредительный огонь",
             "Россия и КНДР договорились о развитии туризма"],
        ),
    },
    "arms_transfers": {
        "en": (
            ["North Korea has shipped millions of artillery shells to Russia, Seoul says",
             "Ukraine says Russia fired North Korean-made ballistic missiles at Kyiv | Debris shows the "
             "KN-23 missiles came from North Korea.",
             "Russia supplied air defence systems to North Korea in exchange for troops"],
            ["North Korea fires ballistic missile into the sea, Japan says | Russia called for restraint.",
             "US approves new weapons package for Ukraine as Russia advances",
             "Putin and Kim sign strategic partnership treaty"],
        ),
        "ko": (
            ["국정원 \"북한, 러시아에 포탄 수백만 발 공급\"",
             "우크라이나 \"러시아가 북한제 미사일로 키이우 공격\"",
             "러시아, 북한에 방공 무기 제공…북러 군사 거래 확대"],
            ["북한, 동해상으로 탄도미사일 발사…러시아는 침묵",
             "미국, 우크라이나에 신규 무기 지원 승인…러시아 반발",
             "북러 정상, 포괄적 전략 동반자 조약 서명"],
        ),
        "ru": (
            ["Разведка: КНДР поставила России миллионы артиллерийских снарядов",
             "Украина заявила, что Россия использует ракеты KN-23 производства КНДР",
             "Россия передала КНДР системы ПВО и оружие в обмен на помощь"],
            ["КНДР провела запуск баллистической ракеты в сторону Японского моря, Россия призвала "
             "к сдержанности",
             "США утвердили новый пакет военной помощи Украине",
             "Путин и Ким Чен Ын подписали договор о стратегическом партнерстве"],
        ),
    },
}

# Kinds of error found on full-length articles (tests/matching/data/eval4_*): a word that only names the
# subject, parts of a fact far apart in the text, ambiguous words and stems, and phrasings of the fact
# that headlines do not use. Added to EXAMPLES: fact id -> language -> (positives, negatives).
FULL_LENGTH_KINDS: dict[str, dict[str, tuple[list[str], list[str]]]] = {
    "treaty_signed": {
        "en": (
            # The signing restated with place and date counts in a ratification story; a preview does not.
            ["Russia-North Korea treaty enters into force | The treaty, signed by Putin and Kim in Pyongyang "
             "on June 19, took effect after the exchange of instruments of ratification.",
             "Putin and Kim sign partnership treaty in Pyongyang | It replaces the friendship treaty signed "
             "in 2000."],
            ["Putin to sign strategic partnership treaty with Kim in Pyongyang, Kremlin says",
             "North Korean workers flock to Russia | Since the two countries signed their treaty last year, "
             "thousands of workers have arrived in the Far East.",
             "Russia and North Korea sign agreement on Tumen road bridge in Pyongyang"],
        ),
        "ko": (
            ["북러 조약 발효…비준서 교환 | 이 조약은 지난해 6월 19일 평양에서 푸틴 대통령과 김정은 위원장이 "
             "서명했다.",
             "푸틴·김정은, 평양서 새 조약 서명 | 새 조약은 2000년 체결된 조약을 대체한다."],
            ["푸틴, 내일 방북…김정은과 포괄적 전략적 동반자 조약 서명할 예정",
             "북러 조약 체결 이후 北 노동자 러시아행 급증",
             "북러, 평양에서 두만강 자동차다리 건설 협정 체결"],
        ),
        "ru": (
            ["Договор России и КНДР вступил в силу | Договор был подписан Путиным и Ким Чен Ыном 19 июня "
             "в Пхеньяне.",
             "Путин и Ким Чен Ын подписали в Пхеньяне договор | Декларации, подписанные в 2000 и 2001 годах, "
             "утратят силу."],
            ["Путин и Ким Чен Ын подпишут в Пхеньяне договор о всеобъемлющем стратегическом партнерстве",
             "После подписания договора с КНДР в Россию приехали тысячи рабочих",
             "В Пхеньяне Россия и КНДР подписали соглашение о строительстве моста через Туманную"],
        ),
    },
    "mutual_defense": {
        # "Mutual assistance" in the name of the 1961 treaty is not the new clause.
        "en": ([], ["New Russia-North Korea treaty to replace 1961 Treaty of Friendship, Cooperation and "
                    "Mutual Assistance"]),
        "ko": ([], ["북러 새 조약, 1961년 '우호협조 및 상호원조 조약' 대체"]),
        "ru": ([], ["Новый договор России и КНДР заменит Договор о дружбе, сотрудничестве и взаимной "
                    "помощи 1961 года"]),
    },
    "defensive_nature": {
        # "The document" for the treaty; 방위적 beside 방어적.
        "en": (["Putin says the new document with North Korea is defensive in nature"], []),
        "ko": (['김정은 "북러 조약은 철저히 평화적이고 방위적인 성격"'], []),
        "ru": (["Руденко: документ о партнерстве России и КНДР носит оборонительный характер"], []),
    },
    "military_cooperation": {
        "en": (
            ["Putin says Russia will cooperate with North Korea in the military field under the new pact",
             "North Korea, Russia vow to deepen military cooperation as defence ministers meet"],
            # Cooperation as a background phrase, a general in another role, the UN Security Council.
            ["Amid deepening military cooperation, Russia and North Korea open Moscow-Pyongyang air route",
             "Russia's chief of the general staff Gerasimov praises North Korean soldiers in Kursk",
             "Russia shipped oil to North Korea above the cap set by UN Security Council, monitors say"],
        ),
        "ko": (
            ['푸틴 "새 협정 따라 북한과 군사 분야 협력 발전시킬 것"',
             "북러, 군사 분야 협력 협정 체결"],
            ["북러 군사협력 심화 속 평양-모스크바 직항 노선 개설",
             '러 총참모장 "쿠르스크서 북한군 활약"',
             "열병식에 잠수함발사탄도미사일 공개…푸틴·김정은 나란히 참관"],
        ),
        "ru": (
            ["Путин: Россия будет развивать сотрудничество с КНДР в военной сфере",
             "Россия и КНДР подписали соглашение о военном сотрудничестве"],
            ["На фоне углубления военного сотрудничества Россия и КНДР открыли прямой рейс Москва — Пхеньян",
             "Начальник Генштаба Герасимов отметил профессионализм бойцов КНДР в Курской области",
             "Россия поставила в КНДР нефть в нарушение ограничений Совбеза ООН"],
        ),
    },
    "sanctions_resistance": {
        # The sanctions by other names; the sanctions and a violation of something else far apart.
        "en": (
            ["Russia and North Korea vow to jointly counter unilateral coercive measures",
             "North Korean workers enter Russia on student visas to sidestep UN Security Council resolution"],
            ["Russia and North Korea open road bridge over the Tumen | The project went ahead although "
             "Western sanctions hit Russian banks two years ago. At the ceremony in Khasan, officials of "
             "both countries praised the builders; Ukraine meanwhile accused Moscow of violating a truce."],
        ),
        "ko": (
            ['북러 "일방적 강제 조치에 공동 대응"',
             "北 노동자, 학생 비자로 안보리 결의 우회해 러시아행"],
            ["북러 두만강 다리 개통 | 서방 제재로 러시아 은행들이 타격을 입은 지 2년 만에 "
             "공사가 끝났다. 하산에서 열린 개통식에는 두 나라 관리들이 참석해 건설 노동자들을 "
             "격려했고 우크라이나는 러시아가 휴전을 위반했다고 주장했다."],
        ),
        "ru": (
            ["Россия и КНДР договорились вместе противодействовать односторонним принудительным мерам",
             "Рабочие из КНДР едут в Россию по студенческим визам в обход резолюции Совбеза ООН"],
            ["Россия и КНДР открыли мост через Туманную | Стройка продолжалась, хотя западные санкции "
             "ударили по российским банкам еще два года назад. На церемонии в Хасане чиновники двух "
             "стран поблагодарили строителей, а Украина тем временем обвинила Москву в нарушении "
             "перемирия."],
        ),
    },
    "replaces_old_treaties": {
        # The treaty's own wording: the old ones "cease to have effect".
        "en": (["Russia-North Korea treaty takes effect; the 2000 treaty ceases to have effect"], []),
        "ko": (["북러 새 조약 발효로 2000년 우호선린협조 조약 효력 상실"], []),
        "ru": (["С вступлением договора с КНДР в силу прекращает действие договор 2000 года"], []),
    },
    "troops_kursk": {
        # "North Korean" qualifying another noun; "военные" as the adjective or with no deployment said;
        # "направленных против" (aimed at) is not a dispatch.
        "en": ([], ["Ukrainian soldiers on the ground describe the North Korean shells Russia fires"]),
        "ko": ([], ['우크라이나 병사들 "러시아가 쏘는 북한산 포탄 불발 많아"']),
        "ru": ([], ["Лавров предостерег от военных союзов, направленных против КНДР и России",
                    "Руденко отказался комментировать публикации о северокорейских военных | Договор "
                    "России и КНДР ратифицирован."]),
    },
    "arms_transfers": {
        # "armed attack" stems like "arms"; an idiom is not a shipment.
        "en": ([], ["Treaty obliges Russia to provide assistance if North Korea comes under armed attack",
                    "Choe calls Russians 'comrades in arms', then Lavrov is received by Kim"]),
        "ko": ([], ["북러 조약 제4조, 무력 침공 받으면 군사적 원조 제공"]),
        "ru": ([], ["Договор обязывает Россию оказать КНДР помощь при вооруженном нападении"]),
    },
}
for _fact, _by_lang in FULL_LENGTH_KINDS.items():
    for _lang, (_positives, _negatives) in _by_lang.items():
        EXAMPLES[_fact][_lang][0].extend(_positives)
        EXAMPLES[_fact][_lang][1].extend(_negatives)

CASES = [
    pytest.param(fact, lang, text, positive, id=f"{fact}-{lang}-{'pos' if positive else 'neg'}{i}")
    for fact, by_lang in EXAMPLES.items()
    for lang, (positives, negatives) in by_lang.items()
    for positive, texts in ((True, positives), (False, negatives))
    for i, text in enumerate(texts)
]


def test_every_fact_has_three_positives_and_three_negatives_per_language(catalog: tuple[Fact, ...]) -> None:
    assert set(EXAMPLES) == {f.id for f in catalog}
    for by_lang in EXAMPLES.values():
        assert set(by_lang) == {"en", "ko", "ru"}
        assert all(len(p) >= 3 and len(n) >= 3 for p, n in by_lang.values())


@pytest.mark.parametrize(("fact", "lang", "text", "positive"), CASES)
def test_fact(catalog_matcher: CompiledMatcher, fact: str, lang: str, text: str, positive: bool) -> None:
    title, _, summary = text.partition(" | ")
    result = catalog_matcher.match(make_article(title, summary, lang))
    if positive:
        assert result.relevant, "a fact's example must be North Korea–Russia coverage"
        assert fact in result.fact_ids
        hit = next(h for h in result.facts if h.ref == fact)
        assert hit.evidence.terms
    else:
        assert fact not in result.fact_ids
