"""The till's link to its data server, in background threads: reference data comes down (applied only
between receipts), documents go up through the outbox, and a heartbeat reports the till's state and
brings the administrator's commands. With the data server down, all three wait and retry; the till
sells on."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import insert, select, update

import osuite
from osuite.core.i18n import N_
from osuite.core.sync.outbox import OutboxSender
from osuite.core.sync.puller import Puller
from osuite.dataserver.client import DataServerClient, DataServerError, command_result
from osuite.dataserver.wire.clients import COMMAND_RESULT, CommandRead, DeviceState, HeartbeatIn, ShiftState
from osuite.devices.fiscal import FiscalError
from osuite.license.client import seat_json
from osuite.pos import catalog, loyalty, receipts, shifts
from osuite.pos import tables as t
from osuite.pos.context import Pos, Terminal
from osuite.pos.errors import PosError

log = logging.getLogger("osuite.pos")

LINK = "dataserver"
OFFLINE_HEARTBEAT_SECONDS = 3.0


class Link:
    def __init__(self, pos: Pos, terminal: Terminal) -> None:
        self.pos = pos
        self.client = DataServerClient(terminal.server_url, terminal.token, timeout=10.0)
        self.transport = self.client.sync()
        self.puller = Puller(
            pos.db,
            t.edge,
            self.transport.changes,
            catalog.REPLICA,
            link=LINK,
            page_size=2000,
            gate=self.between_receipts,
        )
        self.sender = OutboxSender(pos.outbox, self.transport.send, batch_size=200, max_backoff=30.0)
        self.last_heartbeat: datetime | None = None
        self.heartbeat_error: str | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for name, target in (
            ("pull", lambda: self.puller.run(self._stop, wait=self.pos.settings.long_poll_seconds)),
            ("send", lambda: self.sender.run(self._stop, idle=1.0)),
            ("heartbeat", self._heartbeats),
        ):
            thread = threading.Thread(target=target, name=f"pos-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        self.sender.wake()
        for thread in self._threads:
            thread.join(timeout=5)
        self.transport.close()
        self.client.close()

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
            if self._stop.wait(0.2):
                raise RuntimeError("the link is stopping")

    def online(self, waiting: int) -> bool:
        """The data server answered the last pull and heartbeat (and the last send, while documents
        wait to go up)."""
        errors = [self.puller.last_error, self.heartbeat_error]
        if waiting:
            errors.append(self.sender.last_error)
        contacted = self.last_heartbeat is not None or self.puller.last_success is not None
        return contacted and not any(errors)

    def status(self) -> dict[str, Any]:
        with self.pos.db.read() as conn:
            waiting = self.pos.outbox.pending(conn)
        return {
            "online": self.online(waiting),
            "server_url": self.client.base_url,
            "documents_waiting": waiting,
            "last_pull_at": _iso(self.puller.last_success),
            "last_send_at": _iso(self.sender.last_success),
            "last_heartbeat_at": _iso(self.last_heartbeat),
            "errors": [
                e for e in (self.puller.last_error, self.sender.last_error, self.heartbeat_error) if e
            ],
        }

    # --- heartbeat and commands -----------------------------------------------------------------

    def _heartbeats(self) -> None:
        """Every ``heartbeat_seconds``; every few seconds while the data server does not answer, so the
        till notices it is back (and wakes the pull and the outbox) soon after it returns."""
        while not self._stop.is_set():
            self.heartbeat_once()
            pause = self.pos.settings.heartbeat_seconds
            self._stop.wait(min(pause, OFFLINE_HEARTBEAT_SECONDS) if self.heartbeat_error else pause)

    def heartbeat_once(self) -> None:
        try:
            answer = self.client.heartbeat(self.state())
            if self.puller.last_error is not None:
                self.puller.wake()  # the data server answers again: pull, and show online, now
            if self.sender.last_error is not None:
                self.sender.wake()  # … and send what waited, now
            self.last_heartbeat = datetime.now(UTC)
            self.heartbeat_error = None
            if answer.commands_pending:
                for command in self.client.fetch_commands():
                    self.run_command(command)
        except DataServerError as exc:
            self.heartbeat_error = str(exc.detail)
        except Exception:
            log.exception("heartbeat failed")
            self.heartbeat_error = "heartbeat failed"

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

    def run_command(self, command: CommandRead) -> None:
        """Run a command once (the data server repeats it until the result arrives) and queue its result."""
        with self.pos.db.read() as conn:
            if conn.execute(select(t.commands.c.id).where(t.commands.c.id == command.id)).first():
                return
        try:
            output = self._execute(command)
            status = "done"
        except PosError as exc:
            status, output = "failed", exc.message
        except Exception as exc:
            log.exception("command %s failed", command.command)
            status, output = "failed", f"{type(exc).__name__}: {exc}"
        result = command_result(command.id, status, output)  # type: ignore[arg-type]
        with self.pos.write() as conn:
            conn.execute(
                insert(t.commands).values(
                    id=command.id, command=command.command, status=status, output=output, at=datetime.now(UTC)
                )
            )
            self.pos.outbox.add(conn, id=result.id, kind=COMMAND_RESULT, payload=result.payload)
        self.sender.wake()

    def _execute(self, command: CommandRead) -> str:
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


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
