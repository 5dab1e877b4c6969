"""Accounts' journals kept in memory, so that a hold or a commit does not read and parse an account's
whole history on every call.

Each entry is tagged with the account's ``version`` (the number of movements stored for it, raised in
the transaction that stores them). A caller reads the version in its transaction, with the account's
row locked for a write, and gets the movements only if the entry has that very version; otherwise
they are read from the database. An entry is updated after the commit that stored new movements, so a
rolled-back transaction never leaves its movements behind; if another process (a second worker, the
sync) stored movements meanwhile, the version differs and the journal is read again. A stale entry can
cost a read, never a wrong balance.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import orjson
from sqlalchemy import Connection, select

from osuite.processing import tables
from osuite.processing.domain.journal import Movement

Journal = tuple[Movement, ...]


class Journals:
    def __init__(self, capacity: int = 200_000) -> None:
        self.capacity = max(1, capacity)
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[int, Journal]] = OrderedDict()

    def of(self, conn: Connection, account_id: str, version: int) -> Journal:
        """The account's movements as stored at ``version`` (read in ``conn``'s transaction)."""
        with self._lock:
            entry = self._entries.get(account_id)
            if entry is not None and entry[0] == version:
                self._entries.move_to_end(account_id)
                self.hits += 1
                return entry[1]
            self.misses += 1
        m = tables.movements.c
        bodies = conn.execute(select(m.body).where(m.account_id == account_id)).scalars()
        journal = tuple(Movement.from_json(orjson.loads(body)) for body in bodies)
        self.remember(account_id, version, journal)
        return journal

    def remember(self, account_id: str, version: int, journal: Journal) -> None:
        """Keep ``journal`` as the account's at ``version``, unless a newer one is kept already."""
        with self._lock:
            entry = self._entries.get(account_id)
            if entry is not None and entry[0] > version:
                return
            self._entries[account_id] = (version, journal)
            self._entries.move_to_end(account_id)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    def forget(self) -> None:
        with self._lock:
            self._entries.clear()
