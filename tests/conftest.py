"""Shared fixtures: a real PostgreSQL server for the tests that need one, and the shared real log
samples.

PostgreSQL: `ICON_TEST_PG_URL` (a SQLAlchemy server URL without a database, e.g.
`postgresql+psycopg://postgres@127.0.0.1:5432`; `.ci/run` sets it to the machine's server) when
it is set; otherwise a throwaway server from the `pgserver` package (real PostgreSQL binaries
shipped in a wheel) is started once for the test session in a temporary folder and stopped at
its end. Each test gets a database of its own, dropped afterwards. Never a mock.

Samples: `../shared/samples` beside the checkout (the real public logs every release must parse);
the tests over them are skipped, with the reason shown, where that folder is not there.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT.parent / "shared" / "samples"
PG_URL_VARIABLE = "ICON_TEST_PG_URL"


class PgServer:
    """A PostgreSQL server the tests may create databases on (`url(name)`: a database's URL)."""

    def __init__(self, server_url: str):
        self.server_url = sa.engine.make_url(server_url)

    def url(self, database: str, driver: str = "psycopg") -> str:
        made = self.server_url.set(drivername=f"postgresql+{driver}", database=database)
        return made.render_as_string(hide_password=False)

    @contextmanager
    def database(self, prefix: str = "icon_test") -> Iterator[str]:
        """A new, empty database (its name), dropped afterwards."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        admin = sa.create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        except sa.exc.OperationalError as exc:
            pytest.fail(f"PostgreSQL at {self.server_url.render_as_string()} cannot be used "
                        f"({PG_URL_VARIABLE}): {exc.orig}")
        try:
            yield name
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory) -> Iterator[PgServer]:
    given = os.environ.get(PG_URL_VARIABLE)
    if given:
        yield PgServer(given)
        return
    import pgserver  # a real server from PyPI: no PostgreSQL on the machine is needed

    folder = tmp_path_factory.mktemp("pg")
    server = pgserver.get_server(folder, cleanup_mode="stop")
    try:
        socket_dir = sa.engine.make_url(server.get_uri()).query["host"]
        yield PgServer(f"postgresql+psycopg://postgres@/postgres?host={socket_dir}")
    finally:
        server.cleanup()


@pytest.fixture
def pg_url(pg_server) -> Iterator[str]:
    """A fresh, empty PostgreSQL database's URL (psycopg 3), dropped afterwards."""
    with pg_server.database() as name:
        yield pg_server.url(name)


@pytest.fixture(scope="session")
def samples() -> Path:
    """The shared real and synthetic sample logs (skipped where they are not beside the checkout)."""
    if not SAMPLES.is_dir():
        pytest.skip(f"the shared sample logs are not beside the checkout ({SAMPLES})")
    return SAMPLES
