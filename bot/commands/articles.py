"""Fact and article commands: the catalog with recent counts, a fact's latest stories, and why an
article matched. Reads are scoped to the feeds the caller's tenant may see."""

from __future__ import annotations

from datetime import timedelta

from bot.commands.gate import ID, ArgumentError, Gate, choices
from bot.commands.model import Caller, Choice, Reply, ReplyItem, error_reply
from bot.models import Article, Evidence, Matcher, WatchSpec


class ArticleCommands(Gate):
    """``facts``, ``fact``, ``why``: open to everyone."""

    async def facts(self, caller: Caller) -> Reply:
        async def body() -> Reply:
            days = self._cfg.command_recent_days
            counts = await self.svc.store.fact_match_counts(
                since=self._now() - timedelta(days=days), tenant=caller.tenant
            )
            items = tuple(
                ReplyItem(
                    title=f.title,
                    ref=f.id,
                    lines=(f.statement, f"{counts.get(f.id, 0)} matches in {days} days · {f.priority}"),
                )
                for f in self.svc.facts
            )
            return Reply(
                title=f"Key facts ({len(items)})",
                items=items,
                footer="Run fact <id> for a fact's latest stories.",
            )

        return await self._run(caller, body)

    async def fact(self, caller: Caller, fact_id: str) -> Reply:
        async def body() -> Reply:
            fid = self._text(fact_id, "fact id", limit=64)
            fact = next((f for f in self.svc.facts if f.id == fid), None)
            if fact is None:
                return error_reply(
                    f"There is no fact '{fid[:40]}'; run facts to see the ids.", title="Unknown fact"
                )
            found = await self.svc.store.fact_latest_matches(
                ref=fact.id,
                tenant=caller.tenant,
                limit=self._cfg.command_list_max,
            )
            items = []
            matcher: Matcher | None = None
            for m in found:
                evidence = m.evidence
                if evidence is None:  # not kept (a first poll's hit): matching the article finds it
                    stored = await self.svc.store.get_article(m.article_id)
                    if stored is not None:
                        if matcher is None:
                            matcher, _ = await self.svc.matchers.current()
                        evidence = _fact_evidence(matcher, stored.article).get(fact.id)
                items.append(
                    ReplyItem(
                        title=m.title, url=m.url, lines=(m.source,), evidence=evidence, time=m.published
                    )
                )
            lines = (fact.statement,) if found else (fact.statement, "No stored story reports this fact yet.")
            return Reply(
                title=fact.title, body=lines, items=tuple(items), footer=f"fact {fact.id} · {fact.priority}"
            )

        return await self._run(caller, body)

    async def why(self, caller: Caller, ref: str) -> Reply:
        async def body() -> Reply:
            raw = self._text(ref, "article link or id", limit=self._cfg.feed_url_max_chars)
            if ID.match(raw):
                stored = await self.svc.store.get_article(self._id(raw, "article", "fact <id>"))
            elif raw.lower().startswith(("http://", "https://")):
                stored = await self.svc.store.find_article_by_url(raw)
            else:
                raise ArgumentError("Give an article's link (https://…) or its id number.")
            visible = await self.svc.store.visible_feed_ids(caller.tenant)
            if stored is None or stored.feed_id not in visible:
                return error_reply(
                    "pactwatch has not stored that article; it only knows articles from its feeds, "
                    "by link or id.",
                    title="Unknown article",
                )
            a = stored.article
            facts = {f.id: f for f in self.svc.facts}
            own = (
                {str(w.id): w for w in await self.svc.store.list_watches(tenant=caller.tenant)}
                if caller.tenant
                else {}
            )
            items = [
                ReplyItem(
                    title=a.title, url=a.url, lines=(f"{a.source} · article {stored.id}",), time=a.published
                )
            ]
            relevance: Evidence | None = None
            rebuilt: dict[str, Evidence] | None = None  # the facts' evidence, when the store kept none
            sources = await self.svc.store.match_sources(stored.id)

            def found_in(kind: str, hit_ref: str) -> tuple[str]:
                page = sources.get((kind, hit_ref)) == "page"
                return ("Found in the article's page." if page else "Found in the feed's text.",)

            for kind, hit_ref, ev in await self.svc.store.article_matches(stored.id):
                if kind == "fact" and hit_ref in facts:
                    if ev is None:  # not kept (a first poll's hit): matching the article finds it
                        if rebuilt is None:
                            rebuilt = _fact_evidence((await self.svc.matchers.current())[0], a)
                        ev = rebuilt.get(hit_ref)
                    title = f"Fact: {facts[hit_ref].title}"
                    items.append(
                        ReplyItem(title=title, ref=hit_ref, evidence=ev, lines=found_in(kind, hit_ref))
                    )
                elif kind == "watch" and hit_ref in own:
                    w = own[hit_ref]
                    if ev is None:  # not kept (a first poll's hit): the watch's query finds it again
                        ev = self._watch_evidence(a, hit_ref, w.query)
                    title = f"Watch #{w.id}: {w.label or w.query}"
                    items.append(ReplyItem(title=title, evidence=ev, lines=found_in(kind, hit_ref)))
                elif kind == "relevance":
                    relevance = ev
            matched = len(items) - 1
            lines = [
                f"Matched {matched} fact{'s' if matched != 1 else ''} or watches."
                if matched
                else "It matched no fact or watch of this server."
            ]
            lines.append(
                "It is North Korea–Russia coverage."
                if stored.relevant
                else "It was not judged North Korea–Russia coverage."
            )
            lines.append(
                "Matched on the article page's text (fetched), not only the feed's."
                if a.text_source == "page"
                else "Matched on the feed's text (the article page was not used)."
            )
            if relevance is not None:
                items.insert(
                    1, ReplyItem(title="Relevance", evidence=relevance, lines=found_in("relevance", ""))
                )
            return Reply(title="Why this article matched", body=tuple(lines), items=tuple(items))

        return await self._run(caller, body)

    def _watch_evidence(self, article: Article, ref: str, query: str) -> Evidence | None:
        """The evidence of one watch on one article, matched again (one query: a moment's work)."""
        m = self.svc.matchers.factory((), (WatchSpec(ref, query),)).match(article)
        return m.watches[0].evidence if m.watches else None

    async def complete_facts(self, caller: Caller, prefix: str) -> list[Choice]:
        return choices(prefix, ((f.id, f"{f.id} — {f.title}") for f in self.svc.facts))


def _fact_evidence(matcher: Matcher, article: Article) -> dict[str, Evidence]:
    """Each fact's evidence on one article, matched again (a fact the catalog no longer finds there is
    missing)."""
    return {h.ref: h.evidence for h in matcher.match(article).facts}
