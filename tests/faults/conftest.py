"""The fault suite's PostgreSQL databases come from the history tests' factory (the machine's server)."""

from tests.history.conftest import pg_database_factory

__all__ = ["pg_database_factory"]
