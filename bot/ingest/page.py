"""An article page's bytes in, its main text out — the pure function the parser workers run for pages.

The charset comes from the HTTP header, else the page's ``<meta>``, else detection (charset-normalizer;
Korean sites still serve EUC-KR, Russian ones windows-1251). The main text is trafilatura's: navigation,
"most read" and "related" lists, cookie banners, comments and footers are left out, so a fact named only
in a sidebar headline never reaches the matcher. ``extract_page`` never raises: a page that gives no text
says why in ``PageText.error`` and the article keeps its feed text.
"""

from __future__ import annotations

import codecs
import dataclasses
import re

_META_CHARSET = re.compile(
    rb"""<meta[^>]+?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""",
    re.IGNORECASE,
)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_META_SCAN_BYTES = 4096  # the HTML standard's prescan looks at the first 1024 bytes; be generous
# Labels pages use for the encodings Python knows under another name, or that are subsets of a wider one.
_ALIASES = {"ks_c_5601-1987": "cp949", "euc-kr": "cp949", "x-windows-949": "cp949", "windows-1251": "cp1251"}
_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")


@dataclasses.dataclass(frozen=True, slots=True)
class PageText:
    text: str  # the main text, plain, at most ``max_chars``; "" when there is none
    charset: str | None  # the codec the page was read with
    error: str | None = None  # why there is no text (one sentence)


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    label = label.strip().lower()
    label = _ALIASES.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def page_charset(body: bytes, content_type: str | None) -> str:
    """The page's codec: the HTTP header's charset, else a ``<meta>`` declaration, else a BOM, else
    detection, else UTF-8."""
    header = _HEADER_CHARSET.search(content_type or "")
    found = _codec(header.group(1)) if header else None
    if found:
        return found
    if body.startswith(codecs.BOM_UTF8):
        return "utf-8"
    meta = _META_CHARSET.search(body[:_META_SCAN_BYTES])
    found = _codec(meta.group(1).decode("ascii", "ignore")) if meta else None
    if found:
        return found
    try:
        body.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(body[:200_000]).best()
    return _codec(best.encoding if best else None) or "utf-8"


def _tidy(text: str) -> str:
    lines = [_SPACES.sub(" ", line).strip() for line in text.splitlines()]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def extract_page(body: bytes, *, content_type: str | None, url: str, max_chars: int) -> PageText:
    """The main text of an HTML article page, at most ``max_chars`` characters. Never raises."""
    if not body.strip():
        return PageText("", None, "The page is empty.")
    head = body[:512].lstrip().lower()
    if b"\x00" in body[:1024] and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return PageText("", None, "The page is binary, not HTML.")
    charset = page_charset(body, content_type)
    html = body.decode(charset, errors="replace")
    try:
        import trafilatura

        text = trafilatura.extract(
            html,
            url=url or None,
            output_format="txt",
            include_comments=False,
            include_tables=False,
            include_links=False,
            include_images=False,
            favor_precision=True,
            deduplicate=True,
            with_metadata=False,
        )
    except MemoryError:
        raise  # the worker's memory ceiling: the pool reports it
    except Exception as exc:  # lxml and trafilatura raise arbitrary errors on hostile markup
        return PageText("", charset, f"The page could not be read ({type(exc).__name__}).")
    if not text:
        return PageText("", charset, "The page has no article text (a paywall, or a page built by scripts).")
    return PageText(_tidy(text)[:max_chars], charset)
