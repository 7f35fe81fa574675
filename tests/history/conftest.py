"""Databases for the history tests: SQLite in tmp_path, and the machine's real PostgreSQL
(127.0.0.1:5432, user postgres, trust) with a uniquely named database per test session, dropped at the end.
Every test uses its own controller id, so tests sharing the PostgreSQL database never see each other's rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import create_engine, text

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _create_database(name: str) -> str:
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def _drop_database(name: str) -> None:
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def pg_database_factory() -> Iterator[Callable[[], str]]:
    """Creates fresh PostgreSQL databases on demand; drops every one at the end of the session."""
    created: list[str] = []

    def create() -> str:
        name = f"cleanroom_test_{uuid.uuid4().hex[:12]}"
        url = _create_database(name)
        created.append(name)
        return url

    yield create
    for name in created:
        _drop_database(name)


@pytest.fixture(scope="session")
def pg_url(pg_database_factory: Callable[[], str]) -> str:
    """One PostgreSQL database shared by this session's tests (isolated by controller id)."""
    return pg_database_factory()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: object) -> str:
    """Each test runs once on SQLite (WAL, in tmp_path) and once on the real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/history.sqlite3"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_db_url(request: pytest.FixtureRequest, tmp_path: object) -> str:
    """An empty database of each kind (for migration tests)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/fresh.sqlite3"
    factory: Callable[[], str] = request.getfixturevalue("pg_database_factory")
    return factory()


@pytest.fixture
def controller_id() -> str:
    """A controller id unique to the test."""
    return f"room-{uuid.uuid4().hex[:8]}"
