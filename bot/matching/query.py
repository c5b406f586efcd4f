"""The query language of watches and facts: parser, syntax tree and the one error users see.

Grammar (lowest precedence first)::

    query    := or_expr
    or_expr  := and_expr ("OR" and_expr)*
    and_expr := unary (["AND"] unary)*            -- a space between two parts is AND
    unary    := ("NOT" | "-") unary | near
    near     := primary ("NEAR" | "NEAR/n") primary ...  -- at most n words between, either order
    primary  := "(" or_expr ")" | "title:" primary | "lang:" code | '"phrase words"' | word | word*

Operators are upper case; lower-case ``and``/``or``/``not`` are ordinary words. A word that the tokenizer
splits (``North-Korea``, ``북·러``) is a phrase. ``word*`` matches every word starting with ``word``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.invisible import strip_invisible
from bot.matching.text import script_of, split_words

if TYPE_CHECKING:
    from bot.settings import Settings

DEFAULT_MAX_CHARS = 500
DEFAULT_MAX_DEPTH = 20
DEFAULT_MAX_COST = 10_000_000_000  # query_cost of a watch; the catalog's facts are at most ~1.5e9
DEFAULT_WORK_BUDGET = 50_000  # span work one watch may do on one article (View.charge units; ~4 ms)
DEFAULT_NEAR = 10
MAX_NEAR = 100
MIN_WILDCARD_CHARS = 2  # letters before "*"; one Hangul or Han character is enough

_QUOTES = {'"': '"', "“": "”", "”": "”", "«": "»", "„": "“"}
_SPECIAL = set("()") | set(_QUOTES)
_FIELD_RE = re.compile(r"(title|lang):", re.IGNORECASE)
_NEAR_RE = re.compile(r"NEAR(?:/(\S*))?\Z")
_LANG_RE = re.compile(r"[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*\Z")


class QueryError(ValueError):
    """A query that cannot be parsed. ``position`` is a 0-based offset into the query text."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.position = position


@dataclass(frozen=True, slots=True)
class WatchLimits:
    """The limits on a watch query, set by the operator (``query_max_*`` and ``watch_work_budget``): how
    long, deep and costly its text may be, and how much span work it may do on one article."""

    max_chars: int = DEFAULT_MAX_CHARS
    max_depth: int = DEFAULT_MAX_DEPTH
    max_cost: int = DEFAULT_MAX_COST
    work_budget: int = DEFAULT_WORK_BUDGET

    @classmethod
    def of(cls, settings: Settings) -> WatchLimits:
        return cls(
            max_chars=settings.query_max_chars,
            max_depth=settings.query_max_depth,
            max_cost=settings.query_max_cost,
            work_budget=settings.watch_work_budget,
        )


class QueryTooComplex(QueryError):
    """A query whose estimated evaluation work (``query_cost``) is over the limit."""

    def __init__(self, cost: int, max_cost: int, prefix: str = "") -> None:
        super().__init__(
            f"{prefix}This query is too complex to match quickly: use fewer nested NEARs, smaller "
            "NEAR/n distances, fewer OR alternatives inside a NEAR, or whole words instead of short "
            "prefixes like ab*.",
            0,
        )
        self.cost = cost
        self.max_cost = max_cost


# ---------------------------------------------------------------------------------------------------
# Syntax tree
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Word:
    text: str  # normalised (NFKC, casefold); without the "*"
    wildcard: bool = False


@dataclass(frozen=True, slots=True)
class Terms:
    """One word, or a phrase of words that must follow each other."""

    words: tuple[Word, ...]
    display: str  # as the user wrote it, for evidence
    title_only: bool = False


@dataclass(frozen=True, slots=True)
class Lang:
    lang: str  # primary tag, lower case


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Near:
    left: Node
    right: Node
    distance: int


Node = Terms | Lang | Not | And | Or | Near


@dataclass(frozen=True, slots=True)
class Query:
    text: str
    root: Node = field(repr=False)


def is_positional(node: Node) -> bool:
    """Whether ``node`` finds word positions (a word, phrase, NEAR, or an OR of those)."""
    if isinstance(node, Terms | Near):
        return True
    if isinstance(node, Or):
        return all(is_positional(c) for c in node.children)
    return False


# ---------------------------------------------------------------------------------------------------
# Lexer
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # WORD PHRASE LPAREN RPAREN AND OR NOT MINUS NEAR FIELD END
    text: str
    pos: int
    value: int = 0


def _lex(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch == "(":
            toks.append(_Tok("LPAREN", ch, i))
            i += 1
        elif ch == ")":
            toks.append(_Tok("RPAREN", ch, i))
            i += 1
        elif ch in _QUOTES:
            close = _QUOTES[ch]
            j = i + 1
            while j < n and text[j] != close and not (close != '"' and text[j] == '"'):
                j += 1
            if j >= n:
                raise QueryError(
                    f"Unterminated phrase at position {i}: expected a closing quote ({close}) "
                    "before the end of the query.",
                    i,
                )
            toks.append(_Tok("PHRASE", text[i + 1 : j], i + 1))
            i = j + 1
        elif ch == "-" and i + 1 < n and not text[i + 1].isspace() and (not toks or _starts_operand(text, i)):
            toks.append(_Tok("MINUS", ch, i))
            i += 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in _SPECIAL:
                j += 1
            word = text[i:j]
            m = _FIELD_RE.match(word)
            if m:
                toks.append(_Tok("FIELD", m.group(1).lower(), i))
                i += m.end()
                if m.group(1).lower() == "lang":
                    i = _lex_lang(text, i, toks)
                continue
            if word in ("AND", "OR", "NOT"):
                toks.append(_Tok(word, word, i))
            elif word.startswith("NEAR") and _NEAR_RE.match(word):
                toks.append(_Tok("NEAR", word, i, _near_distance(word, i)))
            else:
                toks.append(_Tok("WORD", word, i))
            i = j
    toks.append(_Tok("END", "", n))
    return toks


def _starts_operand(text: str, i: int) -> bool:
    # "-" negates only at the start of a word ("a -b", "(-b"), not inside one ("a-b" is lexed as a word).
    return i == 0 or text[i - 1].isspace() or text[i - 1] in "("


def _lex_lang(text: str, i: int, toks: list[_Tok]) -> int:
    j = i
    while j < len(text) and not text[j].isspace() and text[j] not in _SPECIAL:
        j += 1
    code = text[i:j]
    if not _LANG_RE.match(code):
        raise QueryError(
            f"Bad language at position {i}: expected a language code such as lang:ko, lang:ru or lang:en "
            'right after "lang:".',
            i,
        )
    toks.append(_Tok("LANGCODE", code.split("-")[0].lower(), i))
    return j


def _near_distance(word: str, pos: int) -> int:
    m = _NEAR_RE.match(word)
    arg = m.group(1) if m else None
    if arg is None:
        return DEFAULT_NEAR
    if not (arg.isascii() and arg.isdigit()) or not 1 <= int(arg) <= MAX_NEAR:  # not "²" or "５"
        raise QueryError(
            f"Bad NEAR at position {pos}: expected NEAR/n with n a whole number from 1 to {MAX_NEAR}.", pos
        )
    return int(arg)


# ---------------------------------------------------------------------------------------------------
# Parser
# ---------------------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str, toks: list[_Tok], max_depth: int) -> None:
        self.text = text
        self.toks = toks
        self.i = 0
        self.max_depth = max_depth

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def deeper(self, depth: int, tok: _Tok) -> int:
        if depth + 1 > self.max_depth:
            raise QueryError(
                f"Query nested too deeply at position {tok.pos}: at most {self.max_depth} levels of "
                "parentheses, NOT and title: are allowed.",
                tok.pos,
            )
        return depth + 1

    def parse(self) -> Node:
        if self.peek().kind == "END":
            raise QueryError('Empty query at position 0: expected a word, a "phrase", or lang:xx.', 0)
        node = self.or_expr(0)
        tok = self.peek()
        if tok.kind == "RPAREN":
            raise QueryError(
                f'Unbalanced parenthesis at position {tok.pos}: this ")" has no "(" to close.', tok.pos
            )
        if tok.kind != "END":  # pragma: no cover - or_expr consumes everything else
            raise QueryError(f"Unexpected {tok.text!r} at position {tok.pos}.", tok.pos)
        return node

    def or_expr(self, depth: int) -> Node:
        children = [self.and_expr(depth)]
        while self.peek().kind == "OR":
            op = self.take()
            self.expect_operand(op)
            children.append(self.and_expr(depth))
        return children[0] if len(children) == 1 else Or(tuple(children))

    def and_expr(self, depth: int) -> Node:
        children = [self.unary(depth)]
        while True:
            tok = self.peek()
            if tok.kind == "AND":
                self.take()
                self.expect_operand(tok)
            elif tok.kind not in ("WORD", "PHRASE", "LPAREN", "NOT", "MINUS", "FIELD"):
                break
            children.append(self.unary(depth))
        return children[0] if len(children) == 1 else And(tuple(children))

    def unary(self, depth: int) -> Node:
        tok = self.peek()
        if tok.kind in ("NOT", "MINUS"):
            self.take()
            self.expect_operand(tok)
            return Not(self.unary(self.deeper(depth, tok)))
        return self.near(depth)

    def near(self, depth: int) -> Node:
        node = self.primary(depth)
        while self.peek().kind == "NEAR":
            op = self.take()
            self.expect_operand(op)
            right = self.primary(depth)
            if not (is_positional(node) and is_positional(right)):
                raise QueryError(
                    f"Bad NEAR at position {op.pos}: both sides must be words, phrases, or OR-groups of "
                    "them (not AND, NOT or lang:).",
                    op.pos,
                )
            node = Near(node, right, op.value)
        return node

    def expect_operand(self, op: _Tok) -> None:
        tok = self.peek()
        if tok.kind in ("END", "RPAREN", "AND", "OR", "NEAR"):
            what = "the end of the query" if tok.kind == "END" else f'"{tok.text}"'
            raise QueryError(
                f'Missing term at position {tok.pos}: expected a word, a "phrase" or "(" after '
                f'"{op.text}", found {what}.',
                tok.pos,
            )

    def primary(self, depth: int) -> Node:
        tok = self.take()
        if tok.kind == "LPAREN":
            inner_depth = self.deeper(depth, tok)
            if self.peek().kind == "RPAREN":
                raise QueryError(
                    f'Empty parentheses at position {tok.pos}: expected a word, a "phrase" or lang:xx '
                    'between "(" and ")".',
                    tok.pos,
                )
            self.expect_operand(tok)
            node = self.or_expr(inner_depth)
            close = self.peek()
            if close.kind != "RPAREN":
                raise QueryError(
                    f'Unbalanced parenthesis at position {tok.pos}: expected ")" before the end of the '
                    "query.",
                    tok.pos,
                )
            self.take()
            return node
        if tok.kind == "FIELD":
            if tok.text == "lang":
                code = self.take()  # the lexer guarantees a LANGCODE follows
                return Lang(code.text)
            nxt = self.peek()
            start = nxt.pos - 1 if nxt.kind == "PHRASE" else nxt.pos
            if nxt.kind not in ("WORD", "PHRASE", "LPAREN") or start != tok.pos + len("title:"):
                raise QueryError(
                    f'Missing term at position {tok.pos + 6}: expected a word, a "phrase" or "(" right '
                    'after "title:".',
                    tok.pos + 6,
                )
            return _title_only(self.primary(self.deeper(depth, tok)))
        if tok.kind == "WORD":
            return _terms(tok.text, tok.pos, phrase=False)
        if tok.kind == "PHRASE":
            return _terms(tok.text, tok.pos, phrase=True)
        if tok.kind == "RPAREN":
            raise QueryError(
                f'Unbalanced parenthesis at position {tok.pos}: this ")" has no "(" to close.', tok.pos
            )
        if tok.kind == "END":
            raise QueryError(
                f'Missing term at position {tok.pos}: expected a word, a "phrase" or "(" before the end '
                "of the query.",
                tok.pos,
            )
        raise QueryError(
            f'Unexpected "{tok.text}" at position {tok.pos}: expected a word, a "phrase" or "(".', tok.pos
        )


def _title_only(node: Node) -> Node:
    if isinstance(node, Terms):
        return Terms(node.words, f"title:{node.display}", title_only=True)
    if isinstance(node, Not):
        return Not(_title_only(node.child))
    if isinstance(node, And):
        return And(tuple(_title_only(c) for c in node.children))
    if isinstance(node, Or):
        return Or(tuple(_title_only(c) for c in node.children))
    if isinstance(node, Near):
        return Near(_title_only(node.left), _title_only(node.right), node.distance)
    return node


def _terms(text: str, pos: int, *, phrase: bool) -> Terms:
    words: list[Word] = []
    for word, _start, end in split_words(text):
        star = end < len(text) and text[end] == "*"
        if star:
            minimum = 1 if script_of(word) == "ko" else MIN_WILDCARD_CHARS
            if len(word) < minimum:
                raise QueryError(
                    f'Bad wildcard at position {pos + end}: "*" needs at least {minimum} letters before it.',
                    pos + end,
                )
        words.append(Word(word, wildcard=star))
    for k, ch in enumerate(text):
        if ch == "*" and (k == 0 or not (text[k - 1].isalnum())):
            raise QueryError(
                f'Bad wildcard at position {pos + k}: "*" may only end a word, as in sanction*.', pos + k
            )
        if ch == "*" and k + 1 < len(text) and text[k + 1].isalnum():
            raise QueryError(
                f'Bad wildcard at position {pos + k}: "*" may only end a word, as in sanction*.', pos + k
            )
    if not words:
        what = "inside the quotes" if phrase else f'in "{text}"'
        raise QueryError(f"Missing term at position {pos}: expected a word {what}.", pos)
    display = f'"{text.strip()}"' if phrase else text
    return Terms(tuple(words), display)


def parse_query(
    text: str,
    *,
    max_chars: int = DEFAULT_MAX_CHARS,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_cost: int | None = None,
) -> Query:
    """Parse a watch or fact query. Raises ``QueryError`` (and nothing else) for any bad input, and
    ``QueryTooComplex`` (a ``QueryError``) when ``max_cost`` is given and ``query_cost`` is over it.
    Bidirectional controls and zero-width characters are removed first (``strip_invisible``): the query's
    ``text`` is without them."""
    if not isinstance(text, str):
        raise QueryError("Bad query at position 0: expected text.", 0)
    text = strip_invisible(text)
    if len(text) > max_chars:
        raise QueryError(
            f"Query too long at position {max_chars}: queries are limited to {max_chars} characters.",
            max_chars,
        )
    try:
        toks = _lex(text)
        root = _Parser(text, toks, max_depth).parse()
    except QueryError:
        raise
    except RecursionError:  # pragma: no cover - depth is limited well below Python's recursion limit
        raise QueryError(f"Query nested too deeply at position 0: at most {max_depth} levels.", 0) from None
    if max_cost is not None:
        cost = query_cost(root)
        if cost > max_cost:
            raise QueryTooComplex(cost, max_cost)
    return Query(text, root)


# ---------------------------------------------------------------------------------------------------
# Cost
# ---------------------------------------------------------------------------------------------------

WILDCARD_COST = 4  # a prefix matches many word forms: more positions
SHORT_WILDCARD_COST = 16  # … and a prefix of at most SHORT_WILDCARD_CHARS letters, very many
SHORT_WILDCARD_CHARS = 3


def query_cost(node: Node) -> int:
    """An estimate of the work of evaluating ``node`` on one article, in word positions compared.

    A word costs 1 (a prefix ``word*`` 4, a prefix of up to 3 letters 16), a phrase the sum of its words;
    AND and OR add their parts, NOT is its part, ``lang:`` is free. ``a NEAR/n b`` multiplies: each place
    of ``a`` is compared with the places of ``b`` in a window of ``n + 1`` words, so it costs
    ``cost(a) × cost(b) × (n + 1)`` — nesting NEARs multiplies their costs, and OR alternatives under a NEAR
    add before they are multiplied. Pure: it reads only the syntax tree."""
    if isinstance(node, Terms):
        return sum(_word_cost(w) for w in node.words)
    if isinstance(node, Lang):
        return 0
    if isinstance(node, Not):
        return query_cost(node.child)
    if isinstance(node, And | Or):
        return sum(query_cost(c) for c in node.children)
    return query_cost(node.left) * query_cost(node.right) * (node.distance + 1)


def _word_cost(word: Word) -> int:
    if not word.wildcard:
        return 1
    return SHORT_WILDCARD_COST if len(word.text) <= SHORT_WILDCARD_CHARS else WILDCARD_COST
