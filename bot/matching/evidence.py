"""Evidence snippets: a short window of the original text with the fired words marked."""

from __future__ import annotations

from typing import Literal

from bot.models import Evidence

SNIPPET_CHARS = 200  # characters of original text in a snippet (ellipses not counted)
LEAD_CHARS = 60  # context kept before the first fired word when the text must be cut
ELLIPSIS = "…"
MAX_SPANS = 16  # fired words considered when placing the snippet


def build_evidence(
    text: str, title_len: int, char_spans: list[tuple[int, int]], terms: tuple[str, ...]
) -> Evidence:
    """Evidence for ``text`` (title, newline, summary) with ``char_spans`` of fired words marked.

    The snippet is the window of the title or the summary that holds the most fired words. With no
    spans, the start of the title is quoted.
    """
    spans = _merge(sorted(set(char_spans)))[:MAX_SPANS]
    field: Literal["title", "text"] = "title"
    anchor = 0
    if spans:
        # The window (two pointers over the sorted spans) that holds the most fired words.
        best, j = -1, 0
        for i, (s0, _) in enumerate(spans):
            j = max(j, i)
            limit = s0 + SNIPPET_CHARS - LEAD_CHARS
            segment_end = title_len if s0 < title_len else len(text) + 1
            while j + 1 < len(spans) and spans[j + 1][0] < min(limit, segment_end):
                j += 1
            if j - i > best:
                best, anchor = j - i, s0
        field = "title" if anchor < title_len else "text"
    if field == "title":
        seg_start, seg_end = 0, title_len
        spans = [s for s in spans if s[0] < title_len]
    else:
        seg_start, seg_end = min(title_len + 1, len(text)), len(text)
        spans = [s for s in spans if s[0] > title_len]
    start, end = seg_start, seg_end
    if seg_end - seg_start > SNIPPET_CHARS:
        start = max(seg_start, anchor - LEAD_CHARS)
        if start > seg_start:
            space = text.find(" ", start, anchor)
            start = space + 1 if space != -1 else start
        end = min(seg_end, start + SNIPPET_CHARS)
        if end < seg_end:
            last_fired_end = max((e for s, e in spans if s < end), default=start)
            space = text.rfind(" ", last_fired_end, end)
            end = space if space > start else end
    body = text[start:end].strip()
    lead = len(text[start:end]) - len(text[start:end].lstrip())
    start += lead
    prefix = ELLIPSIS if start > seg_start else ""
    suffix = ELLIPSIS if start + len(body) < seg_end else ""
    shift = len(prefix) - start
    highlights = tuple((s + shift, e + shift) for s, e in spans if s >= start and e <= start + len(body))
    return trusted_evidence(terms, prefix + body + suffix, highlights, field)


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping spans as one ("North Korea" inside "North Korea-Russia")."""
    out: list[tuple[int, int]] = []
    for start, end in spans:
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


# A query with no positive words (``NOT x``, ``lang:ko``) matches because of what is absent: there is
# nothing in the text to quote, so its evidence is empty and the chat layer shows the query instead.
NO_TEXT_EVIDENCE = Evidence(terms=(), snippet="", highlights=(), field="title")


# The matcher builds thousands of Evidence values per second from data it has already checked;
# pydantic's validation would cost more than the matching (about 2–4 µs each). This builds the same
# frozen value without re-validating; tests compare it with validated construction.
def trusted_evidence(
    terms: tuple[str, ...],
    snippet: str,
    highlights: tuple[tuple[int, int], ...],
    field: Literal["title", "text"],
) -> Evidence:
    ev = object.__new__(Evidence)
    ev.__dict__.update(terms=terms, snippet=snippet, highlights=highlights, field=field)
    return ev
