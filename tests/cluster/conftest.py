"""Fixtures for the cluster tests: a throwaway PostgreSQL database (the tests skip, with the reason, where
no server answers), and several pactwatch "processes" (services, each with its own store and engine) on
it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.conftest import throwaway_pg_database
from tests.digest.conftest import services

__all__ = ["pg_url", "services"]


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    db = await throwaway_pg_database()
    try:
        yield db.url
    finally:
        await db.drop()
