"""Logins as rows of the Manager's database: alive while used, gone when idle too long or logged out;
and the log of what people did."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from osuite.core.db import Database
from osuite.core.migrations import upgrade
from osuite.manager import tables as t
from osuite.manager.roles import Role
from osuite.manager.sessions import User, close_session, open_session, record, session_user

ELENA = User(user_id="u1", login="elena", name="Козлова Елена", role=Role.MANAGER)
T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'manager.db'}")
    upgrade(database, "osuite.manager")
    yield database
    database.dispose()


def test_a_session_lives_while_used_and_ends_when_idle_for_its_hours(db: Database) -> None:
    token = open_session(db, ELENA, hours=2, now=T0)
    assert session_user(db, token, hours=2, now=T0 + timedelta(hours=1, minutes=59)) == ELENA
    # used at 1:59, so it now lasts until 3:59
    assert session_user(db, token, hours=2, now=T0 + timedelta(hours=3, minutes=58)) == ELENA
    assert session_user(db, token, hours=2, now=T0 + timedelta(hours=6)) is None


def test_logging_out_ends_only_that_session(db: Database) -> None:
    here, there = open_session(db, ELENA, hours=8, now=T0), open_session(db, ELENA, hours=8, now=T0)
    close_session(db, here)
    assert session_user(db, here, hours=8, now=T0) is None
    assert session_user(db, there, hours=8, now=T0) == ELENA


def test_an_unknown_token_is_nobody_and_only_the_digest_is_stored(db: Database) -> None:
    token = open_session(db, ELENA, hours=8, now=T0)
    assert session_user(db, "not-a-token", hours=8, now=T0) is None
    with db.read() as conn:
        stored = conn.execute(select(t.sessions.c.token_digest)).scalars().all()
    assert token not in stored and len(stored) == 1


def test_what_a_person_did_is_recorded_with_their_login(db: Database) -> None:
    record(db, ELENA, "catalog", "price", "S001:milk", "89.90 → 92.50")
    with db.read() as conn:
        row = conn.execute(select(t.actions)).mappings().one()
    assert (row["login"], row["section"], row["action"], row["target"], row["detail"]) == (
        "elena",
        "catalog",
        "price",
        "S001:milk",
        "89.90 → 92.50",
    )
