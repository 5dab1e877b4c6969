"""The command queue: an administrator asks a client to do something, the client fetches it, runs it,
and reports the outcome as a ``command_result`` document through the sync intake.

Delivery is at least once. A command stays in what a client fetches until its result arrives, so a
client that crashed after fetching gets it again; the client must run each command id at most once
(remember the ids it ran, or make the action idempotent). The first result for a command settles it;
results that arrive later are kept in ``command_results`` but change nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, func, insert, select, update

from osuite.core.http import Principal, Problem, conflict
from osuite.core.ids import new_id
from osuite.core.sync.intake import Accepted
from osuite.dataserver import clients, tables
from osuite.dataserver.context import RELAY
from osuite.dataserver.wire.clients import COMMAND_RESULT, COMMANDS, CommandResultBody

log = logging.getLogger("osuite.dataserver.commands")

QUEUED, SENT, DONE, FAILED = "queued", "sent", "done", "failed"
OUTSTANDING = (QUEUED, SENT)
MAX_ARGS_BYTES = 64 * 1024


def queue_command(
    conn: Connection, *, client_id: str, command: str, args: dict[str, Any], by: str = ""
) -> dict[str, Any]:
    """Queue ``command`` for a live client; unknown commands and revoked clients are refused."""
    if command not in COMMANDS:
        raise Problem(
            422,
            "Unknown command",
            f"{command!r} is not a command; use one of: {', '.join(COMMANDS)}",
            allowed=list(COMMANDS),
        )
    encoded = orjson.dumps(args).decode()
    if len(encoded) > MAX_ARGS_BYTES:
        raise Problem(422, "Arguments too large", f"a command's args must stay under {MAX_ARGS_BYTES} bytes")
    client = clients.get_client_row(conn, client_id)
    if client["revoked_at"] is not None:
        raise conflict(f"client {client_id} is revoked: it can no longer receive commands")
    row = {
        "id": new_id(),
        "client_id": client_id,
        "command": command,
        "args": encoded,
        "status": QUEUED,
        "created_at": datetime.now(UTC),
    }
    conn.execute(insert(tables.commands).values(**row))
    log.info("queued %s %s for client %s (%s) by %s", command, row["id"], client_id, client["name"], by)
    return _read(row)


def list_commands(
    conn: Connection, *, client_id: str, before: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """A client's commands, newest first; pass the last id seen as ``before`` for older ones."""
    clients.get_client_row(conn, client_id)
    c = tables.commands.c
    query = select(tables.commands).where(c.client_id == client_id).order_by(c.id.desc()).limit(limit)
    if before:
        query = query.where(c.id < before)
    return [_read(dict(r)) for r in conn.execute(query).mappings()]


def fetch_for_client(conn: Connection, *, client_id: str) -> list[dict[str, Any]]:
    """Every command the client has not reported on, oldest first; the queued ones are now sent."""
    c = tables.commands.c
    rows = [
        dict(r)
        for r in conn.execute(
            select(tables.commands)
            .where(c.client_id == client_id, c.status.in_(OUTSTANDING))
            .order_by(c.id)
            .limit(1000)
        ).mappings()
    ]
    fresh = [r["id"] for r in rows if r["status"] == QUEUED]
    if fresh:
        now = datetime.now(UTC)
        conn.execute(
            update(tables.commands)
            .where(c.id.in_(fresh), c.status == QUEUED)
            .values(status=SENT, sent_at=now)
        )
        for r in rows:
            if r["status"] == QUEUED:
                r.update(status=SENT, sent_at=now)
    return [_read(r) for r in rows]


def pending_count(conn: Connection, *, client_id: str) -> int:
    c = tables.commands.c
    query = select(func.count()).where(c.client_id == client_id, c.status.in_(OUTSTANDING))
    return int(conn.execute(query).scalar_one())


class CommandResultKind:
    """The ``command_result`` document: a client's report of how a command went.

    ``parse`` has no database, so it refuses only what is malformed. Whether the command exists and
    belongs to the sender is decided in ``store``: the intake has already claimed the document's id
    there, and refusing one document would fail the whole batch, so a result that does not match a
    command of the sender is kept in ``command_results`` (nothing accepted is lost) and logged, and
    settles nothing. A relay (a store data server forwarding its terminals' documents) may settle the
    commands of clients of its own store; the results it forwards for commands this server never
    issued are expected and logged quietly.
    """

    kind = COMMAND_RESULT

    def parse(self, payload: dict[str, Any], source: Principal) -> CommandResultBody:
        return CommandResultBody.model_validate(payload)

    def store(
        self, conn: Connection, documents: Sequence[Accepted[CommandResultBody]], source: Principal
    ) -> None:
        cmd, cl = tables.commands.c, tables.clients.c
        for doc in documents:
            body = doc.body
            command = conn.execute(
                select(cmd.id, cmd.client_id, cmd.status, cl.store_id)
                .join(tables.clients, cl.id == cmd.client_id)
                .where(cmd.id == body.command_id)
            ).first()
            relayed = RELAY in source.scopes and source.id != (command.client_id if command else None)
            conn.execute(
                insert(tables.command_results).values(
                    id=doc.id,
                    command_id=body.command_id,
                    client_id=command.client_id if command else source.id,
                    status=body.status,
                    output=body.output,
                    at=body.at,
                )
            )
            if command is None:
                (log.debug if relayed else log.warning)(
                    "result %s from %s for unknown command %s kept, settles nothing",
                    doc.id,
                    source.id,
                    body.command_id,
                )
                continue
            own = command.client_id == source.id or (
                RELAY in source.scopes and source.store_id is not None and command.store_id == source.store_id
            )
            if not own:
                log.warning(
                    "result %s from %s for command %s of client %s kept, settles nothing: not the sender's",
                    doc.id,
                    source.id,
                    body.command_id,
                    command.client_id,
                )
                continue
            conn.execute(
                update(tables.commands)
                .where(cmd.id == body.command_id, cmd.status.in_(OUTSTANDING))
                .values(status=body.status, finished_at=body.at, result=body.output)
            )


def _read(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "client_id": row["client_id"],
        "command": row["command"],
        "args": orjson.loads(row["args"] or "{}"),
        "status": row["status"],
        "created_at": _aware(row["created_at"]),
        "sent_at": _aware(row.get("sent_at")),
        "finished_at": _aware(row.get("finished_at")),
        "result": row.get("result"),
    }


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
