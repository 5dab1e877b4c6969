"""The till's link to its data server, in background threads: reference data comes down (applied only
between receipts), documents go up through the outbox, and a heartbeat reports the till's state and
brings the administrator's commands. With the data server down, all three wait and retry; the till
sells on."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import orjson
from sqlalchemy import Connection, select, update

import osuite
from osuite.core.i18n import N_
from osuite.dataserver.client import LINK, ClientLink
from osuite.dataserver.wire.clients import CommandRead, DeviceState, HeartbeatIn, ShiftState
from osuite.devices.fiscal import FiscalError
from osuite.license.client import seat_json
from osuite.pos import catalog, loyalty, receipts, shifts
from osuite.pos import tables as t
from osuite.pos.context import Pos, Terminal
from osuite.pos.errors import PosError

log = logging.getLogger("osuite.pos")


class Link(ClientLink):
    name = "pos"
    refusals = (PosError,)

    def __init__(self, pos: Pos, terminal: Terminal) -> None:
        super().__init__(
            pos.db,
            t.edge,
            pos.outbox,
            catalog.REPLICA,
            t.commands,
            server_url=terminal.server_url,
            token=terminal.token,
            heartbeat_seconds=pos.settings.heartbeat_seconds,
            long_poll_seconds=pos.settings.long_poll_seconds,
            gate=self.between_receipts,
        )
        self.pos = pos

    @contextmanager
    def between_receipts(self) -> Iterator[None]:
        """Hold the till while a page of reference data is applied, waiting for the open receipt to be
        closed, held or cancelled: prices and promotions never change under a receipt."""
        while True:
            self.pos.lock.acquire()
            try:
                with self.pos.db.read() as conn:
                    busy = receipts.active(conn) is not None
                if not busy:
                    yield
                    return
            finally:
                self.pos.lock.release()
            if self.stopping(0.2):
                raise RuntimeError("the link is stopping")

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self.pos.write() as conn:  # the till's lock: a command's result is saved between use cases
            yield conn

    def state(self) -> HeartbeatIn:
        with self.pos.db.read() as conn:
            shift = shifts.current(conn)
            waiting = self.pos.outbox.pending(conn)
        return HeartbeatIn(
            version=osuite.__version__,
            shift=ShiftState(
                open=shift is not None,
                number=shift["number"] if shift else None,
                opened_at=shift["opened_at"] if shift else None,
            ),
            queue_length=waiting,
            last_sync_at=self.puller.last_success,
            sync_cursor=self.puller.cursor(),
            devices=self.devices(),
            license=seat_json(self.pos.seat),
        )

    def devices(self) -> dict[str, DeviceState]:
        states: dict[str, DeviceState] = {}
        try:
            status = self.pos.registrar.status()
            problems = [
                p for p, on in (("paper out", status.paper_out), ("cover open", status.cover_open)) if on
            ]
            if status.shift_expired:
                problems.append("shift open for more than 24 hours")
            states["registrar"] = DeviceState(
                status="error" if problems else "ok", message=", ".join(problems)
            )
        except FiscalError as exc:
            states["registrar"] = DeviceState(status="error", message=exc.message[:1000])
        states["card_terminal"] = DeviceState(status="ok" if self.pos.card else "absent")
        states["scale"] = DeviceState(status="ok" if self.pos.scale else "absent")
        center = loyalty.status(self.pos)
        if center is None:
            states["loyalty"] = DeviceState(status="absent")
        else:
            trouble = [center["error"] or ""]
            if center["documents_waiting"]:
                trouble.append(f"{center['documents_waiting']} waiting for the processing center")
            if center["refused"]:
                trouble.append(f"{center['refused']} refused by the processing center")
            message = "; ".join(word for word in trouble if word)
            states["loyalty"] = DeviceState(status="error" if message else "ok", message=message[:1000])
        return states

    def execute(self, command: CommandRead) -> str:
        name = command.command
        if name in ("reload", "reload_catalog"):
            with self.between_receipts(), self.pos.db.write() as conn:
                conn.execute(
                    update(t.edge.cursors)
                    .where(t.edge.cursors.c.link == LINK)
                    .values(seq=0, snapshot=True, resetting=True)
                )
            return "the catalog will be reloaded from a snapshot"
        if name == "apply_settings":
            return "settings arrive with the reference data; nothing else to apply"
        if name == "close_shift":
            with self.pos.db.read() as conn:
                if shifts.current(conn) is None:  # closed already (perhaps by this command, before a crash)
                    return "no shift is open"
            report = shifts.close_shift(self.pos, None)
            return orjson.dumps(report).decode()
        if name in ("lock", "unlock"):
            reason = str(command.args.get("reason", "")) if name == "lock" else ""
            with self.pos.write() as conn:
                conn.execute(
                    update(t.terminal)
                    .where(t.terminal.c.id == 1)
                    .values(locked=name == "lock", lock_reason=reason)
                )
            self.pos.forget_terminal()  # after the commit: a read meanwhile cannot cache the old row
            return f"till {name}ed"
        if name == "send_logs":
            with self.pos.db.read() as conn:
                rows = conn.execute(select(t.audit).order_by(t.audit.c.id.desc()).limit(200)).mappings().all()
            return "\n".join(f"{r['at']} {r['action']} {r['user_id'] or ''} {r['detail']}" for r in rows)
        raise PosError(N_("the POS does not know the command {name}"), name=repr(name))
