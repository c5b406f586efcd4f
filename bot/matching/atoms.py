"""Atoms: what a single word of a query asks of a word of the article.

An atom is a query word's key (stem, Korean base form) or a prefix (``sanction*``, and the stems of Russian
words, which Snowball does not keep identical across all endings). Each distinct word form of an article
is resolved to the atoms it satisfies: exact keys by a hash lookup, prefixes in one pass of a pyahocorasick
automaton. Resolutions are cached per word form, so a word seen before costs one dict lookup, and new forms
are resolved in one batch per article.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import ahocorasick

from bot.matching.query import Word
from bot.matching.text import normalize_many, positions, ru_ending_ok, script_of, token_keys_many, word_key

WORD_CACHE_MAX = 200_000  # resolved word forms kept per matcher before the cache starts over


class Atoms:
    """The atoms of one matcher, numbered in the order ``atom`` first meets them."""

    def __init__(self) -> None:
        self.ids: dict[tuple[str, str], int] = {}
        self.exact: dict[str, list[int]] = defaultdict(list)
        self.prefix: dict[str, list[tuple[int, bool]]] = defaultdict(list)  # (atom, is_russian_stem)
        self.automaton: Any = None
        self.heads: frozenset[str] = frozenset()
        self.cache: dict[str, tuple[int, ...]] = {}  # word as written -> atoms
        self.by_word: dict[str, tuple[int, ...]] = {}  # normalised word -> atoms

    def atom(self, word: Word) -> int:
        ident = ("prefix", word.text) if word.wildcard else ("word", word_key(word.text))
        found = self.ids.get(ident)
        if found is not None:
            return found
        atom = self.ids[ident] = len(self.ids)
        if word.wildcard:
            self.prefix[word.text].append((atom, False))
        else:
            key = ident[1]
            self.exact[key].append(atom)
            if script_of(key) == "ru":
                self.prefix[key].append((atom, True))
        return atom

    def finish(self) -> None:
        """Build the prefix automaton, once every atom is known."""
        self.exact = dict(self.exact)
        self.prefix = dict(self.prefix)
        if self.prefix:
            automaton = ahocorasick.Automaton()
            for prefix, items in self.prefix.items():
                automaton.add_word("\x02" + prefix, (prefix, tuple(items)))
            automaton.make_automaton()
            self.automaton = automaton
            # A word can start with a prefix only if it starts with the prefix's first two characters (or
            # its only one): a set lookup that spares most words the automaton.
            self.heads = frozenset(p[:2] for p in self.prefix)

    def positions(self, raw: tuple[str, ...]) -> dict[int, list[int]]:
        """``{atom: indices of the words of raw it is in}``, atoms in order of first appearance."""
        cache = self.cache
        resolved: list[tuple[int, ...] | None] = list(map(cache.get, raw))
        if None in resolved:
            new = [i for i, found in enumerate(resolved) if found is None]
            forms = list(dict.fromkeys(raw[i] for i in new))
            got = dict(zip(forms, self._resolve_many(forms), strict=True))
            for i in new:
                resolved[i] = got[raw[i]]
        return positions(resolved)

    def _resolve_many(self, raws: list[str]) -> list[tuple[int, ...]]:
        """The atoms of each word form in ``raws`` (as written), cached by form and by normalised word; the
        words not seen before are resolved in one batch."""
        by_word = self.by_word
        words = normalize_many(raws)
        found: list[tuple[int, ...] | None] = list(map(by_word.get, words))
        if None in found:
            new = [i for i, f in enumerate(found) if f is None]
            fresh = list(dict.fromkeys(words[i] for i in new))
            resolved = dict(zip(fresh, map(self._atoms_of, fresh, token_keys_many(fresh)), strict=True))
            for i in new:
                found[i] = resolved[words[i]]
            if len(by_word) + len(resolved) > WORD_CACHE_MAX:
                by_word.clear()
            by_word.update(resolved)
        atoms = [f for f in found if f is not None]
        cache = self.cache
        if len(cache) + len(raws) > WORD_CACHE_MAX:
            cache.clear()
        cache.update(zip(raws, atoms, strict=True))
        return atoms

    def _atoms_of(self, word: str, keys: tuple[str, ...]) -> tuple[int, ...]:
        exact = self.exact
        atoms = [a for key in keys for a in exact.get(key, ())]
        if self.automaton is not None and (word[:2] in self.heads or word[:1] in self.heads):
            for _end, (prefix, items) in self.automaton.iter("\x02" + word):
                ending = word[len(prefix) :]
                for atom, russian in items:
                    if not russian or ru_ending_ok(prefix, ending):
                        atoms.append(atom)
        return tuple(atoms) if len(atoms) < 2 else tuple(sorted(set(atoms)))
