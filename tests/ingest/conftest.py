"""Fixtures for the ingest tests (helpers live in ``ingest_support``)."""

from tests.ingest.ingest_support import feed_server, peak_memory

__all__ = ["feed_server", "peak_memory"]
