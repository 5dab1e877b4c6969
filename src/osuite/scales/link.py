"""The scale server's link to its data server, in background threads: the catalog comes down through
the sync engine, a heartbeat reports every scale's state, and the administrator's commands (reload a
scale, reload them all) are run once each and answered as documents through the outbox."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select

import osuite
from osuite.core.sync.outbox import Outbox, OutboxSender
from osuite.core.sync.puller import Puller
from osuite.dataserver.client import DataServerClient, DataServerError, command_result
from osuite.dataserver.wire.clients import COMMAND_RESULT, CommandRead, DeviceState, HeartbeatIn
from osuite.license.client import seat_json
from osuite.scales import service
from osuite.scales import tables as t
from osuite.scales.catalog import REPLICA
from osuite.scales.service import Scales, ScalesError

log = logging.getLogger("osuite.scales")

LINK = "dataserver"


class Link:
    def __init__(self, scales: Scales, server_url: str, token: str) -> None:
        self.scales = scales
        self.client = DataServerClient(server_url, token, timeout=10.0)
        self.transport = self.client.sync()
        self.puller = Puller(scales.db, t.edge, self.transport.changes, REPLICA, link=LINK, page_size=2000)
        self.outbox = Outbox(scales.db, t.edge.outbox)
        self.sender = OutboxSender(self.outbox, self.transport.send, batch_size=100, max_backoff=30.0)
        self.last_heartbeat: datetime | None = None
        self.heartbeat_error: str | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for name, target in (
            ("pull", lambda: self.puller.run(self._stop, wait=self.scales.settings.long_poll_seconds)),
            ("send", lambda: self.sender.run(self._stop, idle=1.0)),
            ("heartbeat", self._heartbeats),
        ):
            thread = threading.Thread(target=target, name=f"scales-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        self.sender.wake()
        for thread in self._threads:
            thread.join(timeout=5)
        self.transport.close()
        self.client.close()

    def status(self) -> dict[str, Any]:
        return {
            "server_url": self.client.base_url,
            "last_pull_at": _iso(self.puller.last_success),
            "last_heartbeat_at": _iso(self.last_heartbeat),
            "errors": [e for e in (self.puller.last_error, self.heartbeat_error) if e],
        }

    def _heartbeats(self) -> None:
        while not self._stop.is_set():
            self.heartbeat_once()
            pause = self.scales.settings.heartbeat_seconds
            self._stop.wait(min(pause, 3.0) if self.heartbeat_error else pause)

    def heartbeat_once(self) -> None:
        try:
            answer = self.client.heartbeat(self.state())
            if self.puller.last_error is not None:
                self.puller.wake()
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
        with self.scales.db.read() as conn:
            scales = service.list_scales(conn)
            waiting = self.outbox.pending(conn)
        devices = {}
        for scale in scales[:100]:
            state = scale["state"]
            if not scale["enabled"]:
                status = "absent"
            elif state["online"] and not (scale["last_upload"] or {}).get("error"):
                status = "ok"
            else:
                status = "error"
            devices[scale["name"][:100]] = DeviceState(status=status, message=state["message"][:1000])
        return HeartbeatIn(
            version=osuite.__version__,
            queue_length=waiting,
            last_sync_at=self.puller.last_success,
            sync_cursor=self.puller.cursor(),
            devices=devices,
            license=seat_json(self.scales.seat),
            extra={"scales": len(scales), "pending": sum(1 for s in scales if s["state"]["pending"])},
        )

    def run_command(self, command: CommandRead) -> None:
        """Run a command once (the data server repeats it until its result arrives) and queue the result."""
        with self.scales.db.read() as conn:
            if conn.execute(select(t.commands.c.id).where(t.commands.c.id == command.id)).first():
                return
        try:
            output = self._execute(command)
            status = "done"
        except ScalesError as exc:
            status, output = "failed", exc.message
        except Exception as exc:
            log.exception("command %s failed", command.command)
            status, output = "failed", f"{type(exc).__name__}: {exc}"
        result = command_result(command.id, status, output)  # type: ignore[arg-type]
        with self.scales.db.write() as conn:
            conn.execute(
                insert(t.commands).values(
                    id=command.id, command=command.command, status=status, output=output, at=datetime.now(UTC)
                )
            )
            self.outbox.add(conn, id=result.id, kind=COMMAND_RESULT, payload=result.payload)
        self.sender.wake()

    def _execute(self, command: CommandRead) -> str:
        """``reload`` (a full reload) and ``upload_scales`` (send what changed, now): of the scale named
        in ``args.scale``, or of every scale."""
        scale = command.args.get("scale")
        scale_id = self._scale_id(str(scale)) if scale else None
        if command.command in ("reload", "reload_catalog"):
            service.order_reload(self.scales, scale_id)
            return f"scale {scale} will be reloaded" if scale else "every scale will be reloaded"
        if command.command == "upload_scales":
            for each in [scale_id] if scale_id else service.enabled_scales(self.scales):
                service.order_upload(self.scales, each)
            return f"scale {scale} will be loaded now" if scale else "every scale will be loaded now"
        if command.command == "apply_settings":
            return "nothing to apply"
        raise ScalesError(f"the scale server does not know the command {command.command!r}")

    def _scale_id(self, name_or_id: str) -> str:
        with self.scales.db.read() as conn:
            found = conn.execute(
                select(t.scales.c.id).where((t.scales.c.id == name_or_id) | (t.scales.c.name == name_or_id))
            ).scalar()
        if found is None:
            raise ScalesError(f"no scale {name_or_id!r}")
        return str(found)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
