"""Is this article North Korea–Russia coverage?

Naming both countries is not enough: lists of sanctioned states, Russia–China statements about North
Korea, US–ROK alliance news that mentions Russia in passing. An article counts when its title and
summary show the two sides *interacting*. The signals, each written in the query language and scored:

- a compound naming both sides as one unit ("North Korea-Russia", 북러, 북·러, 조러,
  российско-северокорейский, "КНДР и России") .................................................. +3
- North Korean troops next to Russia, Kursk or Ukraine in one sentence ................................ +3
- Putin and Kim in one sentence ....................................................................... +2
- both sides within a few words in one sentence ....................................................... +1
  - with a relationship cue (summit, treaty, troops, met, ties, 회담, договор…) close by ........... +2
    (a weaker cue — military, sanctions, security — gives +1)
    (no cue in a sentence that counts the states present, "20개국", "из 35 стран"; a weak cue beside a
    third state, "Japan extends sanctions on North Korea and Russia", gives nothing)
- both sides in the title, or in two sentences .................................................. +1 each
- Russia paired with China ("Russia and China", 중러, Китай и Россия) without any of the strong signals
  above — the joint statements on sanctions that are about North Korea, not about the relationship ..... −2

An article is relevant at 3 points, and when the relationship is *prominent*: a signal in the title or the
lead (the first ``LEAD_SENTENCES`` sentences after it), or signals in at least ``REPEATED_SENTENCES``
sentences. A long article about something else (a carmaker's Russian plant, a NATO summit, a drone raid on
Kyiv) that gives the two sides' ties one sentence of background is not coverage of them; nor is a headline
about Russia and another partner (Putin in Hanoi) whose one sentence on North Korea is in its lead. Feed
items — a title and a summary of a sentence or two — are all lead, so for them only the score counts. The
word lists cover English, Korean and Russian, with inflections through the engine's stems, Korean
particles and prefixes.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from bot.matching.evidence import build_evidence
from bot.matching.view import View
from bot.models import Evidence

Span = tuple[int, int]
# A word group's text → its positions in an article, and every atom (engine word id) it can read.
SpanCompiler = Callable[[str], tuple[Callable[[View], list[Span]], frozenset[int]]]

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

_NK_WORDS = """
"north korea" OR "north korean" OR "north koreans" OR (n NEAR/1 (korea OR korean OR koreans)) OR nk OR dprk
OR pyongyang* OR "kim jong un" OR "kim yo jong"
OR "choe son hui" OR kcna OR "democratic people's republic of korea"
OR 북한* OR 북 OR 北 OR 北韓* OR 조선 OR 평양* OR 김정은* OR 김여정* OR 최선희* OR 조선중앙통신*
OR 노동신문* OR 나선 OR 나선경제* OR 나선특구* OR 나선시* OR 라선* OR rason OR расон*
OR 조선노동당* OR 북측 OR 대북* OR 방북*
OR кндр* OR "северн* коре*" OR северокорейск* OR пхеньян* OR "ким чен ын*" OR "чхве сон хи" OR цтак
OR "корейск* народно демократическ*"
"""
_RU_WORDS = """
russia* OR moscow* OR kremlin* OR putin* OR lavrov* OR shoigu* OR belousov* OR peskov* OR ushakov* OR kursk*
OR vladivostok* OR primorye OR primorsky OR duma OR "state duma" OR "federation council"
OR 러시아* OR 러 OR 露 OR 모스크바* OR 크렘린* OR 푸틴* OR 라브로프* OR 쇼이구* OR 벨로우소프* OR 페스코프*
OR 우샤코프* OR 쿠르스크* OR 블라디보스토크* OR 연해주* OR 러측 OR 로씨야* OR 로시아* OR 방러*
OR 두마* OR 연방평의회*
OR росси* OR рф OR москв* OR кремл* OR путин* OR лавров* OR шойгу OR белоусов* OR песков* OR ушаков*
OR курск* OR владивосток* OR приморь* OR "приморск* кра*" OR госдум* OR "совет* федерации" OR совфед*
"""
_COMPOUND = """
"north korea russia" OR "russia north korea" OR "north korean russian" OR "russian north korean"
OR "russia dprk" OR "dprk russia" OR "pyongyang moscow" OR "moscow pyongyang" OR "russo north korean"
OR "north korea russian"
OR 북러* OR 러북* OR 조러* OR 北러* OR 北露* OR 朝露* OR 露朝* OR 러北* OR "북 러" OR "러 북"
OR "北 러" OR "러 北"
OR "조 러" OR "북한 러시아" OR "러시아 북한"
OR "российско северокорейск*" OR "северокорейско российск*" OR "кндр росси*" OR "росси* кндр" OR "кндр рф"
OR "рф кндр" OR "пхеньян* москв*" OR "москв* пхеньян*" OR "n korea russia" OR "russia n korea"
OR "nk russia" OR "russia nk" OR 조로* OR "평양 모스크바" OR "모스크바 평양"
"""
_LOOSE_PAIR = """
"north korea and russia" OR "russia and north korea" OR "pyongyang and moscow" OR "moscow and pyongyang"
OR "кндр и росси*" OR "росси* и кндр" OR "рф и кндр" OR "кндр и рф" OR "росси* и северн* коре*"
OR "северн* коре* и росси*" OR "москв* и пхеньян*" OR "пхеньян* и москв*"
"""
_TROOPS = """
troop* OR soldier* OR forces OR servicem* OR personnel OR conscript* OR fighters OR battalion*
OR brigade* OR 군인* OR 병사* OR 병력* OR 장병* OR 특수부대* OR 부대* OR 파병* OR 전투병* OR 군대*
OR военн* OR солдат* OR войск* OR бойц* OR военнослужащ* OR контингент* OR спецназ*
"""
_NK_ARMY = """
북한군* OR 北軍* OR 조선인민군* OR 인민군*
"""
# North Korean weapons ("North Korean rocket launchers spotted in Kursk", 北 방사포, северокорейские РСЗО).
_NK_ARMS = """
(("north korean" OR 북한제* OR 북한산* OR северокорейск*)
  NEAR/2 (shell OR shells OR artillery OR munition* OR ammunition OR missile* OR "rocket launchers" OR weapon*
  OR arms OR howitzer* OR mlrs OR "kn 23" OR 포탄* OR 탄약* OR 미사일* OR 탄도미사일* OR 무기* OR 방사포*
  OR 자주포* OR снаряд* OR боеприпас* OR ракет* OR оружи* OR гаубиц* OR рсзо OR артиллери*))
OR ((북한 OR 北 OR кндр)
    NEAR/1 (포탄* OR 탄약* OR 방사포* OR 자주포* OR снаряд* OR боеприпас* OR рсзо OR гаубиц*))
OR "made in north korea" OR "north korean made" OR "производств* кндр" OR "северокорейск* производств*"
"""
# Where North Korean weapons are news about the two sides: the war, not any sentence naming Russia.
_WAR = """
kursk* OR ukrain* OR kyiv* OR kiev* OR kharkiv* OR zaporizh* OR donetsk* OR donbas* OR front OR frontline*
OR battlefield* OR "russian forces" OR "russian army" OR "russian troops"
OR 쿠르스크* OR 우크라이나* OR 우크라* OR 키이우* OR 하르키우* OR 전선* OR 전장* OR 러시아군*
OR курск* OR украин* OR киев* OR харьков* OR запорож* OR донецк* OR донбасс* OR фронт* OR "российск* арми*"
OR всу OR сво
"""
_THEATRE = """
russia* OR kursk* OR ukrain* OR kyiv* OR kiev* OR zelensk* OR moscow* OR kremlin* OR putin*
OR 러시아* OR 러 OR 쿠르스크* OR 우크라이나* OR 우크라* OR 젤렌스키* OR 키이우* OR 푸틴*
OR росси* OR рф OR курск* OR украин* OR киев* OR зеленск* OR путин* OR москв*
"""
_PUTIN = "putin* OR 푸틴* OR путин*"
# The North Korean leader by name; a bare "Kim" is checked further in _leader_kim.
_KIM = """
"kim jong un" OR kim OR 김정은* OR 김 OR ким OR "north korean leader" OR "북한 지도자" OR "лидер* кндр"
"""
_KIM_BARE = "kim OR 김 OR ким"
_KIM_TITLES_KO = ("위원장", "총비서", "국무위원장", "제1위원장", "제1비서", "원수")
# Other leaders: "Trump says he could meet Putin and Kim" is about Trump, not about the two sides' ties.
_THIRD_LEADERS = """
trump* OR biden* OR xi OR zelensk* OR yoon* OR 트럼프* OR 바이든* OR 시진핑* OR 젤렌스키* OR 윤석열*
OR 이재명* OR трамп* OR байден* OR "си цзиньпин*" OR зеленск*
"""
# Russia coordinated with China as one actor ("Russia and China veto", "China, Russia urge", 중러): joint
# positions on North Korea, not the two sides' own relations. "С Китаем у России" is not coordination.
_CHINA = """
((china OR chinese OR beijing* OR xi OR 중국* OR 중 OR 中 OR 시진핑* OR 베이징*)
  NEAR/1 (russia* OR moscow* OR putin* OR 러시아* OR 러 OR 露 OR 푸틴*))
OR 중러* OR 러중* OR 中러* OR 中露* OR 中俄* OR "российско китайск*" OR "китайско российск*"
OR "중 러" OR "러 중" OR "росси* и китай" OR "китай и росси*" OR "росси* и кнр" OR "кнр и росси*"
OR "рф и кнр" OR "кнр и рф" OR "москв* и пекин*" OR "пекин* и москв*" OR "путин* и си"
OR "си цзиньпин* и путин*" OR "китай и рф" OR "рф и китай"
"""
# Other states named beside the two: "China, Iran, North Korea and Russia" is a list, not a relationship.
_OTHER_STATES = """
china OR iran* OR japan* OR "united states" OR us OR usa OR america OR syria* OR belarus* OR cuba*
OR venezuela* OR 중국* OR 중 OR 中 OR 이란* OR 일본* OR 미국* OR 미 OR 시리아* OR 벨라루스* OR 쿠바*
OR 베네수엘라* OR китай OR кнр OR иран* OR япони* OR сша OR сири* OR белорусси* OR беларус* OR куб*
OR венесуэл*
"""
# Russia's other partners: a headline about one of them and Russia is not about North Korea. (Not "listed"
# states: "partnership with the DPRK, Vietnam and Egypt" sets this pact beside the others.)
_PARTNERS = """
vietnam* OR mongolia* OR egypt* OR india OR 베트남* OR 몽골* OR 이집트* OR 인도
OR вьетнам* OR монголи* OR египт* OR индия OR индии OR индией
OR "to lam" OR modi OR sisi OR khurelsukh OR ramaphosa OR "또 럼" OR "토 럼" OR 모디* OR 시시* OR 후렐수흐*
OR 라마포사* OR "то лам*" OR моди OR сиси OR хурэлсух* OR рамафос*
"""
# A Russian headline's "с КНДР" / "с Пхеньяном" after a relationship word ("Договор с Пхеньяном заменит…",
# "Сотрудничество с КНДР") is Moscow's own relationship unless another actor is named in that sentence.
_OTHER_ACTORS = """
сеул* OR "южн* коре*" OR вашингтон* OR токио OR пекин* OR минск* OR тегеран* OR ханой* OR трамп* OR байден*
OR "си цзиньпин*" OR лукашенк* OR зеленск* OR киев* OR украин* OR оон
"""
_STRONG_CUES = """
summit* OR treaty OR treaties OR pact* OR alliance* OR allied OR ally OR allies OR ties OR relations
OR relationship* OR partnership* OR partner OR partners OR cooperat* OR collaborat* OR visit* OR met OR meet
OR meets OR meeting* OR talks OR hosts OR hosted OR delegation* OR ambassador* OR envoy* OR embassy
OR troop*
OR soldier* OR deploy* OR dispatch* OR arms OR weapon* OR munition* OR shells OR ammunition OR artillery
OR supplie* OR supply OR supplying OR friendship OR comrade* OR strategic OR bilateral OR mutual
OR fighting OR fight OR fights OR fought OR coordinat* OR strengthen* OR deepen* OR bolster* OR agreement*
OR accord OR deal OR exchange* OR congratulat* OR thank* OR sent OR send OR sends OR sending OR aid
OR assist* OR help OR helped OR helping OR backing OR backs OR support* OR pledge* OR vow*
OR reaffirm* OR sign
OR ratif* OR bridge OR railway OR rail OR flights OR tourism OR tourists OR workers OR trade OR receives
OR received OR welcomes OR welcomed OR arrives OR arrived OR invitation OR invite* OR letter OR message
OR flight OR route OR routes OR "freight" OR students OR exchange* OR resort* OR visa*
OR train OR trains OR passenger*
OR open OR opens OR opened OR thanks OR praise* OR greetings
OR handed OR hands OR gave OR gives OR transfer* OR shipped OR shipment* OR deliver* OR provid*
OR perform* OR concert* OR ballet OR theatre OR theater OR cultural OR culture OR festival* OR exhibition*
OR student OR university OR universities OR study OR studying OR education* OR scholarship* OR athletes
OR tournament* OR doctors OR medical OR hospital* OR health OR oil OR petroleum OR tanker* OR schoolchildren
OR pupils OR camp
OR 정상회담* OR 회담* OR 조약* OR 협정* OR 동반자* OR 동맹* OR 관계 OR 협력* OR 방문* OR 방북*
OR 방러* OR 만나*
OR 만남* OR 만난* OR 회동* OR 접견* OR 대표단* OR 대사* OR 특사* OR 파병* OR 병력* OR 무기* OR 탄약*
OR 포탄*
OR 지원* OR 공급* OR 친선* OR 우호* OR 전략* OR 밀착* OR 연대* OR 결속* OR 강화* OR 교류*
OR 축전*
OR 서한* OR 감사* OR 서명* OR 체결* OR 비준* OR 교량* OR 두만강* OR 철도* OR 관광* OR 노동자* OR 무역*
OR 교역* OR 참전* OR 전투* OR 협의* OR 논의* OR 공조* OR 거래* OR 밀월* OR 혈맹* OR 파견*
OR 직항* OR 노선* OR 운항* OR 항공편* OR 개설* OR 개통* OR 유학생* OR 도착* OR 친서* OR 축하* OR 대표단*
OR 열차* OR 여객*
OR 넘겨* OR 넘긴* OR 보낸* OR 보냈* OR 전달* OR 제공* OR 이전* OR 수출* OR 수입* OR 반입*
OR 공연* OR 예술* OR 문화* OR 발레* OR 전시* OR 축제* OR 유학* OR 학생* OR 대학* OR 교육* OR 선수단* OR 선수*
OR 대회* OR 의료* OR 병원* OR 보건* OR 석유* OR 정제유* OR 유조선* OR 어린이* OR 캠프*
OR саммит* OR встреч* OR переговор* OR договор* OR пакт* OR соглашени* OR союз* OR отношени* OR партнерств*
OR партнёрств* OR сотрудничеств* OR визит* OR посети* OR посещ* OR делегаци* OR посол OR посла OR послом
OR послу OR войск* OR военнослужащ* OR солдат* OR развертыван* OR развёртыван* OR отправ* OR направ*
OR оружи* OR боеприпас* OR снаряд* OR поставк* OR постав* OR дружб* OR товарищ* OR стратегическ*
OR двусторонн* OR взаимн* OR координ* OR укрепл* OR углубл* OR расшир* OR обмен* OR поздрав* OR благодар*
OR помощ* OR помога* OR поддерж* OR подписа* OR подпис* OR ратифи* OR мост* OR рейс* OR туризм* OR турист*
OR рабоч* OR торгов* OR сражал* OR воюю* OR воева* OR боев* OR принял OR приня* OR прибыл* OR союзник*
OR авиарейс* OR авиасообщени* OR маршрут* OR откры* OR студент* OR курорт* OR обучени*
OR железнодорож* OR поезд* OR вагон* OR пассажир*
OR переда* OR передач* OR переброс* OR получ* OR присла* OR экспорт* OR импорт* OR продал* OR закуп*
OR гастрол* OR концерт* OR культур* OR выставк* OR фестивал* OR балет* OR театр* OR артист* OR вуз*
OR университет* OR учеб* OR образовани* OR сборн* OR матч* OR спортсмен* OR врач* OR медицин* OR больниц*
OR здравоохранени* OR нефт* OR танкер* OR заход* OR школьник* OR лагер* OR учёб* OR въезд* OR въеха*
"""
_WEAK_CUES = """
military OR defence OR defense OR security OR sanction* OR veto* OR nuclear OR minister* OR space
OR satellite* OR technolog* OR cooperation
OR 군사* OR 안보* OR 제재* OR 거부권* OR 핵* OR 장관* OR 외무상* OR 위성* OR 기술*
OR военн* OR оборон* OR безопасност* OR санкци* OR вето OR ядерн* OR министр* OR мид OR спутник*
OR технолог*
"""

_GROUPS = {
    "nk": _NK_WORDS,
    "ru": _RU_WORDS,
    "compound": _COMPOUND,
    "loose_pair": _LOOSE_PAIR,
    "troops": _TROOPS,
    "nk_army": _NK_ARMY,
    "nk_arms": _NK_ARMS,
    "kim_bare": _KIM_BARE,
    "third": _THIRD_LEADERS,
    "theatre": _THEATRE,
    "war": _WAR,
    "putin": _PUTIN,
    "kim": _KIM,
    "china": _CHINA,
    "states": _OTHER_STATES,
    "actors": _OTHER_ACTORS,
    "partners": _PARTNERS,
    "strong": _STRONG_CUES,
    "weak": _WEAK_CUES,
}


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


class RelevanceModel:
    """The scoring above, with its word groups compiled by the engine into its own atoms."""

    def __init__(self, compile_spans: SpanCompiler) -> None:
        self._groups = {name: compile_spans(" ".join(text.split())) for name, text in _GROUPS.items()}
        self._atoms = frozenset().union(*(atoms for _, atoms in self._groups.values()))

    def judge(self, v: View) -> tuple[bool, Evidence | None]:
        g = _Groups(self._groups, v, self._atoms.intersection(v.pos))
        sentence = v.tokens.sentence
        ru = g["ru"]
        # A bare "Kim" ("Putin thanks Kim", 김 위원장) names the North Korean leader when North Korea is named
        # in the article or Putin in the same sentence, and the name is not someone else's (Kim Hong-kyun).
        putin_sentences = {sentence[p[0]] for p in g["putin"]}
        bare = set(g["kim_bare"])
        kims = [
            k
            for k in g["kim_bare"]
            if _leader_kim(v, k[0]) and (g["nk"] or g["compound"] or sentence[k[0]] in putin_sentences)
        ]
        nk = sorted(set(g["nk"]) | set(kims))
        if not (nk or ru or g["compound"] or g["nk_army"] or g["nk_arms"]):
            return False, None
        score = 0
        fired: list[Span] = []
        soft = v.tokens.soft
        if g["compound"]:
            g["compound"] = [c for c in g["compound"] if not _listed(g["states"], *c, sentence, soft)]
        compound = bool(g["compound"])
        many: set[int] | None = None  # sentences that count states, found when first needed
        if compound:
            score += 3
            fired.extend(g["compound"][:1])
        elif (
            g["loose_pair"]
            and not _listed(g["states"], *g["loose_pair"][0], sentence)
            and sentence[g["loose_pair"][0][0]] not in (many := _counted_states(v))
        ):
            score += 1
            fired.extend(g["loose_pair"][:1])
        troops = (
            _troops(nk, g["troops"], g["nk_army"], g["theatre"], sentence)
            if g["troops"] or g["nk_army"]
            else []
        ) or (_same_sentence(g["nk_arms"], g["war"], sentence) if g["nk_arms"] else [])
        if troops:
            score += 3
            fired.extend(troops)
        # Putin and Kim in one sentence, with no third leader there ("Trump could meet Putin and Kim").
        third = {sentence[t[0]] for t in g["third"]}
        kim_names = [k for k in g["kim"] if k not in bare] + kims
        leaders = _same_sentence(g["putin"], kim_names, sentence)
        if leaders and sentence[leaders[0][0]] in third:
            leaders = []
        if leaders:
            score += 3
            fired.extend(leaders)
        after = CUE_AFTER_KO if v.lang == "ko" else CUE_AFTER
        best_pair: list[Span] = []
        best_cue = 0
        pair_sentences: set[int] = set()
        cues: dict[str, list[Span]] = {}  # the cue groups in text order, sorted when first needed
        cue_sentences: set[int] = set()  # sentences where the two sides meet near a relationship word
        ru_by_sentence: dict[int, list[Span]] = {}
        for b in ru:
            ru_by_sentence.setdefault(sentence[b[0]], []).append(b)
        for a in nk[:MAX_MENTIONS]:
            same = ru_by_sentence.get(sentence[a[0]])
            if not same:
                continue
            # The nearest other-side name in the sentence that is not the same word (北러 is a compound).
            # A semicolon joins two separate reports ("North Korea fired a missile; Russia held drills").
            near = [b for b in same if not (a[0] <= b[1] and b[0] <= a[1]) and not _clauses_apart(v, a, b)]
            if not near:
                continue
            b = min(near, key=lambda b: max(b[0] - a[1], a[0] - b[1]))
            if max(b[0] - a[1], a[0] - b[1]) > PAIR_MAX_GAP:
                continue
            pair_sentences.add(sentence[a[0]])
            lo, hi = min(a[0], b[0]), max(a[1], b[1])
            if many is None:
                many = _counted_states(v)
            listed = (
                _listed(g["states"], lo, hi, sentence)
                or sentence[lo] in many
                or _many_states(g["states"], sentence[lo], sentence)
                or any(
                    c[0] <= b[0] <= c[1] for c in g["china"]
                )  # "Chinese and Russian envoys": a joint actor
            )
            cue, cue_span = (0, None) if listed else _cue(g, cues, lo, hi, after, sentence)
            # A weak cue beside a third state ("Japan extends sanctions on North Korea and Russia") is that
            # state's action on both, not the two sides' relationship.
            if cue == 1 and any(sentence[s[0]] == sentence[lo] and not lo <= s[0] <= hi for s in g["states"]):
                cue, cue_span = 0, None
            if cue:
                cue_sentences.add(sentence[lo])
            if not best_pair or cue > best_cue:
                best_pair = [a, b] + ([cue_span] if cue_span else [])
                best_cue = cue
        strong = bool(compound or troops or leaders)
        # Names side by side with no word of a relationship anywhere near them ("a North Korean missile
        # flew toward Russia's Primorye") earn the pair point only: repeating them does not make a relation.
        if pair_sentences:
            score += 1 + best_cue + (1 if len(pair_sentences) > 1 and best_cue else 0)
            fired.extend(best_pair)
        if _in_title(nk, v) and _in_title(ru, v) and (best_cue or strong):
            score += 1
        with_nk = [] if strong or ru else _ru_with_nk(v, nk, g["strong"], g["states"] + g["actors"])
        if with_nk:
            score += 3
            fired.extend(with_nk)
        # A headline about Russia and another state ("Putin visits Vietnam") with no North Korean name in it:
        # the North Korean mention in the summary is background.
        if not strong and (_elsewhere(v, nk, ru, g) or g["china"]):
            score -= 2
        if score < THRESHOLD:
            return False, None
        # In a long article, one sentence of background past the lead ("ties have cooled over Moscow's
        # military cooperation with Pyongyang") does not make it coverage of the relationship.
        lead_end = lead_end_of(v)
        signals = cue_sentences | {sentence[s[0]] for s in fired}
        signals.update(sentence[c[0]] for c in g["compound"])
        signals.update(_troop_sentences(nk, g["troops"], g["nk_army"], g["theatre"], sentence))
        if leaders:
            kim_sentences = {sentence[k[0]] for k in kim_names} - third
            signals.update(sentence[p[0]] for p in g["putin"] if sentence[p[0]] in kim_sentences)
        if len(signals) < REPEATED_SENTENCES and (min(signals) > lead_end or _elsewhere(v, nk, ru, g)):
            return False, None
        token_spans = v.tokens.spans
        char_spans = [(token_spans[s][0], token_spans[e][1]) for s, e in fired]
        terms = tuple(dict.fromkeys(v.text[s:e] for s, e in sorted(char_spans)))
        return True, build_evidence(v.text, v.title_len, char_spans, terms)


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
    """The nearest relationship word around the pair at ``lo..hi``: 2 for a strong cue, 1 for a weak one."""
    first, last = lo - CUE_BEFORE, hi + after
    for name, value in (("strong", 2), ("weak", 1)):
        spans = cues.get(name)
        if spans is None:
            spans = cues[name] = sorted(g[name])
        for s in spans:
            if first <= s[0] <= last and sentence[s[0]] == sentence[lo]:
                return value, s
    return 0, None


def _in_title(spans: list[Span], v: View) -> bool:
    return any(s[0] < v.n_title for s in spans)
