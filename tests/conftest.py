"""Shared fixtures: a real PostgreSQL database per test (the server on 127.0.0.1:5432)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

PG_SERVER = os.environ.get("ICON_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")


@contextmanager
def fresh_database(prefix: str = "icon_test") -> Iterator[str]:
    """A new, empty PostgreSQL database (its name), dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        pytest.fail(f"PostgreSQL at {PG_SERVER} is needed by this test (set ICON_TEST_PG to "
                    f"another server URL): {exc.orig}")
    try:
        yield name
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def pg_url():
    """A fresh, empty PostgreSQL database's URL (psycopg 3), dropped afterwards."""
    with fresh_database() as name:
        yield f"{PG_SERVER}/{name}"
