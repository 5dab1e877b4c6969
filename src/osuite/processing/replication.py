"""Root ↔ subordinate replication through the sync engine.

Down: the root's change log holds customers, cards, accounts, programs, movements, sales and returns
(audience everyone); each subordinate's puller applies pages of it with :class:`RootReplica`. Up: what
a subordinate records goes into its outbox (see :mod:`.publish`) and reaches the root's intake, whose
document kinds (:func:`document_kinds`) store it once and record it in the root's change log, so the
other subordinates get it too.

Movements, sales and returns have set semantics: stored by id if new, never changed, so they can
arrive in any order, twice, or come back to the center that made them. Customers, cards and programs
are replaced by a newer state (the later ``updated_at``, a program's higher version); an account's
descriptive fields by the latest word. A snapshot never deletes anything here: a movement a
subordinate made and the root has not seen yet must not vanish because the root's snapshot lacks it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, insert, select, update

from osuite.core.http import Principal
from osuite.core.sync.intake import Accepted, DocumentRejected
from osuite.core.sync.transport import ChangeRow
from osuite.core.sync.wire import DELETE
from osuite.processing import accounts, ledger, tables
from osuite.processing.context import Processing
from osuite.processing.domain.errors import DomainError
from osuite.processing.domain.journal import Kind, Movement
from osuite.processing.publish import MOVEMENT, publish, publish_movements
from osuite.processing.service import store_return, store_sale

ENTITIES = ("program", "customer", "account", "card", MOVEMENT, "sale", "return")
_ORDER = {entity: n for n, entity in enumerate(ENTITIES)}

_m = tables.movements.c
_a = tables.accounts.c
_BUMP = (
    update(tables.accounts)
    .where(_a.id == bindparam("account_id"))
    .values(version=_a.version + bindparam("n"))
)


def _moment(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


# --- applying one entity ------------------------------------------------------------------------------


def apply_movements(conn: Connection, p: Processing, movements: Sequence[Movement]) -> list[Movement]:
    """Store the movements not stored yet (by id); the ones that were new."""
    if not movements:
        return []
    ids = [m.id for m in movements]
    known: set[str] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        known.update(conn.execute(select(_m.id).where(_m.id.in_(chunk))).scalars())
    new: dict[str, Movement] = {}
    for m in movements:
        if m.id not in known and m.id not in new and m.kind != Kind.EXPIRY:
            new[m.id] = m
    if not new:
        return []
    conn.execute(insert(tables.movements), ledger.movement_rows(list(new.values()), p.now()))
    for account_id, n in Counter(m.account_id for m in new.values()).items():
        conn.execute(_BUMP, {"account_id": account_id, "n": n})
    return list(new.values())


def apply_customer(conn: Connection, payload: dict[str, Any]) -> bool:
    c = tables.customers.c
    row = {
        "id": payload["id"],
        "name": payload["name"],
        "phone": payload.get("phone"),
        "email": payload.get("email"),
        "created_at": _moment(payload["created_at"]),
        "updated_at": _moment(payload["updated_at"]),
    }
    current = conn.execute(select(c.updated_at).where(c.id == row["id"])).scalar()
    if current is None:
        conn.execute(insert(tables.customers).values(**row))
        return True
    if row["updated_at"] <= current:
        return False
    conn.execute(update(tables.customers).where(c.id == row["id"]).values(**row))
    return True


def apply_account(conn: Connection, payload: dict[str, Any]) -> bool:
    row = {
        "id": payload["id"],
        "customer_id": payload.get("customer_id"),
        "type": payload["type"],
        "program_id": payload["program_id"],
        "nominal": payload.get("nominal"),
        "created_at": _moment(payload["created_at"]),
    }
    if accounts.store_account(conn, row):
        return True
    described = conn.execute(
        select(_a.customer_id, _a.type, _a.program_id, _a.nominal).where(_a.id == row["id"])
    ).one()
    wanted = (row["customer_id"], row["type"], row["program_id"], row["nominal"])
    if tuple(described) == wanted:
        return False
    conn.execute(
        update(tables.accounts)
        .where(_a.id == row["id"])
        .values(customer_id=wanted[0], type=wanted[1], program_id=wanted[2], nominal=wanted[3])
    )
    return True


def apply_card(conn: Connection, payload: dict[str, Any]) -> bool:
    c = tables.cards.c
    row = {
        "number": payload["number"],
        "account_id": payload["account_id"],
        "status": payload["status"],
        "replaced_by": payload.get("replaced_by"),
        "created_at": _moment(payload["created_at"]),
        "updated_at": _moment(payload["updated_at"]),
    }
    current = conn.execute(select(c.updated_at).where(c.number == row["number"])).scalar()
    if current is None:
        conn.execute(insert(tables.cards).values(**row))
        return True
    if row["updated_at"] <= current:
        return False
    conn.execute(update(tables.cards).where(c.number == row["number"]).values(**row))
    return True


def apply_program(conn: Connection, payload: dict[str, Any]) -> bool:
    t = tables.programs.c
    row = {
        "id": payload["id"],
        "name": payload["name"],
        "version": int(payload["version"]),
        "settings": orjson.dumps(payload["settings"]).decode(),
        "updated_at": _moment(payload["updated_at"]),
    }
    current = conn.execute(select(t.version).where(t.id == row["id"])).scalar()
    if current is None:
        conn.execute(insert(tables.programs).values(**row))
    elif row["version"] > current:
        conn.execute(update(tables.programs).where(t.id == row["id"]).values(**row))
    else:
        return False
    return True


def _columns(table: Any, payload: dict[str, Any]) -> dict[str, Any]:
    return {column.name: payload.get(column.name) for column in table.c}


def apply_sale(conn: Connection, p: Processing, payload: dict[str, Any]) -> bool:
    row = _columns(tables.sales, payload)
    return store_sale(conn, p, {**row, "sold_at": _moment(payload["sold_at"])})


def apply_return(conn: Connection, p: Processing, payload: dict[str, Any]) -> bool:
    row = _columns(tables.returns, payload)
    return store_return(conn, p, {**row, "returned_at": _moment(payload["returned_at"])})


def apply(conn: Connection, p: Processing, entity: str, payload: dict[str, Any]) -> bool:
    """Apply one entity's payload; whether anything changed."""
    if entity == "customer":
        return apply_customer(conn, payload)
    if entity == "account":
        return apply_account(conn, payload)
    if entity == "card":
        return apply_card(conn, payload)
    if entity == "program":
        return apply_program(conn, payload)
    if entity == "sale":
        return apply_sale(conn, p, payload)
    if entity == "return":
        return apply_return(conn, p, payload)
    raise ValueError(f"unknown entity {entity!r}")


# --- down: the subordinate's replica of the root ------------------------------------------------------


class RootReplica:
    """The root's change log applied to a subordinate's tables (in the puller's transaction). Nothing
    applied here is published again: it came from the root."""

    entities: Sequence[str] = ENTITIES

    def __init__(self, p: Processing) -> None:
        self.p = p

    def apply(self, conn: Connection, changes: Sequence[ChangeRow]) -> None:
        ordered = sorted(
            (c for c in changes if c.entity in _ORDER and c.op != DELETE and c.payload is not None),
            key=lambda c: _ORDER[c.entity],
        )
        movements = [Movement.from_json(c.payload) for c in ordered if c.entity == MOVEMENT and c.payload]
        for change in ordered:
            if change.entity != MOVEMENT and change.payload is not None:
                apply(conn, self.p, change.entity, change.payload)
        apply_movements(conn, self.p, movements)

    def retain(self, conn: Connection, entity: str, keys: set[str]) -> None:
        """Never deletes: see the module's docstring."""


# --- up: the root's intake of its subordinates' documents ---------------------------------------------


class _Kind:
    """One kind of document the root takes (a :class:`~osuite.core.sync.intake.DocumentKind`)."""

    def __init__(
        self,
        kind: str,
        read: Callable[[dict[str, Any], Principal], Any],
        keep: Callable[[Connection, Sequence[Accepted[Any]], Principal], None],
    ) -> None:
        self.kind = kind
        self.read = read
        self.keep = keep

    def parse(self, payload: dict[str, Any], source: Principal) -> Any:
        try:
            return self.read(payload, source)
        except DomainError as exc:
            raise DocumentRejected(exc.message) from None
        except (KeyError, TypeError) as exc:
            raise DocumentRejected(f"the {self.kind} lacks or mistypes {exc}") from None

    def store(self, conn: Connection, documents: Sequence[Accepted[Any]], source: Principal) -> None:
        self.keep(conn, documents, source)


def document_kinds(p: Processing) -> list[_Kind]:
    """What the root takes from its subordinates, each stored once and published again."""

    def read_movement(payload: dict[str, Any], source: Principal) -> Movement:
        movement = Movement.from_json(payload)
        if movement.origin != source.id:
            raise DocumentRejected(f"a subordinate sends its own movements, not those of {movement.origin}")
        if movement.kind in (Kind.GRANT, Kind.EXPIRY):
            raise DocumentRejected(f"a subordinate does not make {movement.kind.value} movements")
        return movement

    def keep_movements(conn: Connection, documents: Sequence[Accepted[Any]], _source: Principal) -> None:
        new = apply_movements(conn, p, [d.body for d in documents])
        if new:
            publish_movements(conn, p, new)

    def read_payload(payload: dict[str, Any], _source: Principal) -> dict[str, Any]:
        return payload

    def keeper(entity: str, key: str) -> Callable[[Connection, Sequence[Accepted[Any]], Principal], None]:
        def keep(conn: Connection, documents: Sequence[Accepted[Any]], _source: Principal) -> None:
            for document in documents:
                if apply(conn, p, entity, document.body):
                    publish(conn, p, entity, str(document.body[key]), document.body)

        return keep

    def check(entity: str, required: tuple[str, ...]) -> Callable[[dict[str, Any], Principal], Any]:
        def read(payload: dict[str, Any], source: Principal) -> dict[str, Any]:
            missing = [name for name in required if name not in payload]
            if missing:
                raise DocumentRejected(f"the {entity} lacks {', '.join(missing)}")
            return read_payload(payload, source)

        return read

    return [
        _Kind(MOVEMENT, read_movement, keep_movements),
        _Kind(
            "customer",
            check("customer", ("id", "name", "created_at", "updated_at")),
            keeper("customer", "id"),
        ),
        _Kind(
            "account", check("account", ("id", "type", "program_id", "created_at")), keeper("account", "id")
        ),
        _Kind(
            "card", check("card", ("number", "account_id", "status", "updated_at")), keeper("card", "number")
        ),
        _Kind(
            "sale",
            check("sale", ("receipt_id", "account_id", "total", "lines", "sold_at")),
            keeper("sale", "receipt_id"),
        ),
        _Kind(
            "return",
            check("return", ("id", "receipt_id", "account_id", "amount", "lines")),
            keeper("return", "id"),
        ),
    ]
