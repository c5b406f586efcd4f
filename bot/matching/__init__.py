"""Matching: which articles are North Korea–Russia coverage, which facts they report, which watches they hit.

Public API: ``load_catalog``, ``parse_query``, ``compile_matcher`` (a ``MatcherFactory``) with its
``WatchLimits``, ``is_relevant``,
and the errors ``CatalogError`` and ``QueryError``. ``bot.matching.jsonl.run_match`` implements
``pactwatch match``.
"""

from bot.matching.catalog import CatalogError, load_catalog
from bot.matching.engine import CompiledMatcher, compile_matcher, is_relevant
from bot.matching.query import Query, QueryError, WatchLimits, parse_query

__all__ = [
    "CatalogError",
    "CompiledMatcher",
    "Query",
    "QueryError",
    "WatchLimits",
    "compile_matcher",
    "is_relevant",
    "load_catalog",
    "parse_query",
]
