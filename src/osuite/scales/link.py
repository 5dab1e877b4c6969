"""The scale server's link to its data server (:class:`~osuite.dataserver.client.ClientLink`): the
catalog comes down through the sync engine, a heartbeat reports every scale's state, and the
administrator's commands are run: ``reload`` (in full) and ``upload_scales`` (what changed, now), of
the scale named in ``args.scale`` or of every scale."""

from __future__ import annotations

from sqlalchemy import select

import osuite
from osuite.core.sync.outbox import Outbox
from osuite.dataserver.client import ClientLink
from osuite.dataserver.wire.clients import CommandRead, DeviceState, HeartbeatIn
from osuite.license.client import seat_json
from osuite.scales import service
from osuite.scales import tables as t
from osuite.scales.catalog import REPLICA
from osuite.scales.service import Scales, ScalesError


class Link(ClientLink):
    name = "scales"
    refusals = (ScalesError,)

    def __init__(self, scales: Scales, server_url: str, token: str) -> None:
        super().__init__(
            scales.db,
            t.edge,
            Outbox(scales.db, t.edge.outbox),
            REPLICA,
            t.commands,
            server_url=server_url,
            token=token,
            heartbeat_seconds=scales.settings.heartbeat_seconds,
            long_poll_seconds=scales.settings.long_poll_seconds,
            batch_size=100,
        )
        self.scales = scales

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

    def execute(self, command: CommandRead) -> str:
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
