"""The center's idempotent document intake: a document is stored once, however often it is sent.

Each document carries the id made where it was born. The intake remembers every id it holds with a
digest of the content: a resend is answered "held" and changes nothing; a different document under a
held id is refused. What each kind of document means is told by the program as a
:class:`DocumentKind`; a document that does not parse is refused with the reason, and the rest of
the batch is stored in one transaction.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, Protocol, TypeVar

import orjson
from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DataError, IntegrityError

from osuite.core.db import Database
from osuite.core.http import Principal
from osuite.core.sync.tables import CenterTables
from osuite.core.sync.wire import DocumentIn, IntakeAnswer, Rejection

log = logging.getLogger("osuite.sync")

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class DocumentRejected(ValueError):
    """Raised by a kind's ``parse`` or ``check`` when a document can never be stored as sent."""


@dataclass(frozen=True)
class Accepted(Generic[T]):
    id: str
    body: T


class DocumentKind(Protocol[T]):
    """One kind of document a center takes: how to read it and how to store a batch of it."""

    kind: str

    def parse(self, payload: dict[str, Any], source: Principal) -> T:
        """The document's body, or :class:`DocumentRejected` / a validation error saying why not."""
        ...

    def store(self, conn: Connection, documents: Sequence[Accepted[T]], source: Principal) -> None:
        """Store new documents (never seen before) in the intake's transaction."""
        ...


def digest(kind: str, payload: dict[str, Any]) -> str:
    return hashlib.sha256(
        kind.encode() + b"\0" + orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
    ).hexdigest()


OnNew = Callable[[Connection, list[DocumentIn]], None]


class Intake:
    """Stores documents once. ``on_new`` runs in the same transaction for the documents stored for the
    first time, exactly as they were sent: a relay (a store data server) queues them for its own center
    there, so forwarding is as exactly-once as storing."""

    def __init__(
        self,
        db: Database,
        tables: CenterTables,
        kinds: Iterable[DocumentKind[Any]],
        *,
        on_new: OnNew | None = None,
    ) -> None:
        self.db = db
        self.tables = tables
        self.kinds = {k.kind: k for k in kinds}
        self.on_new = on_new

    def accept(self, source: Principal, documents: Sequence[DocumentIn]) -> IntakeAnswer:
        rejected: list[Rejection] = []
        parsed: dict[str, tuple[str, str, Any]] = {}  # id -> (kind, digest, body)
        for doc in documents:
            try:
                doc_digest = digest(doc.kind, doc.payload)
            except TypeError as exc:  # e.g. an integer beyond 64 bits: no kind could store it anyway
                rejected.append(Rejection(id=doc.id, reason=f"the document cannot be read: {exc}"))
                continue
            if doc.id in parsed:
                if parsed[doc.id][1] != doc_digest:
                    rejected.append(
                        Rejection(id=doc.id, reason="the batch holds two different documents with this id")
                    )
                continue
            kind = self.kinds.get(doc.kind)
            if kind is None:
                rejected.append(Rejection(id=doc.id, reason=f"unknown document kind {doc.kind!r}"))
                continue
            try:
                body = kind.parse(doc.payload, source)
            except (ValueError, TypeError) as exc:  # pydantic's ValidationError is a ValueError
                rejected.append(Rejection(id=doc.id, reason=_reason(exc)))
                continue
            parsed[doc.id] = (doc.kind, doc_digest, body)
        held: list[str] = []
        if parsed:
            try:
                with self.db.write() as conn:
                    self._store(conn, source, parsed, documents, held, rejected)
            except (DataError, IntegrityError) as exc:
                # The database refused something in the batch (a NUL byte for PostgreSQL, a value out of
                # a column's range): store the documents one by one so that only the bad one is refused
                # and the rest of the batch is not held back for ever.
                log.warning("database refused a batch from %s (%s); storing one by one", source.id, exc.orig)
                held.clear()
                with self.db.write() as conn:
                    for doc_id, item in parsed.items():
                        try:
                            with conn.begin_nested():
                                self._store(conn, source, {doc_id: item}, documents, held, rejected)
                        except (DataError, IntegrityError) as single:
                            reason = str(single.orig).strip().splitlines()[0][:300]
                            rejected.append(
                                Rejection(id=doc_id, reason=f"the database cannot store it: {reason}")
                            )
        if rejected:
            log.warning("refused %d documents from %s: %s", len(rejected), source.id, rejected[:3])
        held_set = set(held)
        return IntakeAnswer(
            held=[d.id for d in _first_of_each(documents) if d.id in held_set],
            rejected=rejected,
        )

    def _store(
        self,
        conn: Connection,
        source: Principal,
        parsed: dict[str, tuple[str, str, Any]],
        documents: Sequence[DocumentIn],
        held: list[str],
        rejected: list[Rejection],
    ) -> None:
        """Claim the ids, store what is new, and sort the rest into held (same content) or refused."""
        new_ids = self._claim(conn, source, parsed)
        held_before = [i for i in parsed if i not in new_ids]
        known = self._digests(conn, held_before)
        for doc_id in held_before:
            if known.get(doc_id) == parsed[doc_id][1]:
                held.append(doc_id)
            else:
                rejected.append(
                    Rejection(id=doc_id, reason="a different document with this id is already held")
                )
        by_kind: dict[str, list[Accepted[Any]]] = defaultdict(list)
        for doc_id in new_ids:
            by_kind[parsed[doc_id][0]].append(Accepted(id=doc_id, body=parsed[doc_id][2]))
        for kind_name, accepted in by_kind.items():
            self.kinds[kind_name].store(conn, accepted, source)
        if self.on_new is not None and new_ids:
            fresh = set(new_ids)
            self.on_new(conn, [d for d in _first_of_each(documents) if d.id in fresh])
        held.extend(new_ids)

    def _claim(
        self, conn: Connection, source: Principal, parsed: dict[str, tuple[str, str, Any]]
    ) -> list[str]:
        """Insert inbox rows for ids not held yet; return those ids (the concurrent-safe way)."""
        now = datetime.now(UTC)
        rows = [
            {"id": i, "kind": k, "digest": d, "source": source.id, "received_at": now}
            for i, (k, d, _b) in parsed.items()
        ]
        dialect = sqlite if self.db.is_sqlite else postgresql
        table = self.tables.inbox
        # One executemany statement (compiled once, cached); ON CONFLICT makes concurrent retries of the
        # same batch safe, and RETURNING names exactly the ids this transaction claimed.
        statement = dialect.insert(table).on_conflict_do_nothing(index_elements=["id"]).returning(table.c.id)
        claimed = list(conn.execute(statement, rows).scalars())
        order = {i: n for n, i in enumerate(parsed)}
        return sorted(claimed, key=order.__getitem__)

    def _digests(self, conn: Connection, ids: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        inbox = self.tables.inbox
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = conn.execute(select(inbox.c.id, inbox.c.digest).where(inbox.c.id.in_(chunk)))
            found.update((doc_id, doc_digest) for doc_id, doc_digest in rows)
        return found


def _first_of_each(documents: Sequence[DocumentIn]) -> list[DocumentIn]:
    seen: set[str] = set()
    first = []
    for doc in documents:
        if doc.id not in seen:
            seen.add(doc.id)
            first.append(doc)
    return first


def _reason(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        parts = [
            f"{'.'.join(str(p) for p in e.get('loc', ())) or 'document'}: {e.get('msg', '')}"
            for e in errors()
        ]
        return "; ".join(parts)[:1000]
    return str(exc)[:1000]


__all__ = ["Accepted", "DocumentKind", "DocumentRejected", "Intake", "digest"]
