"""The running POS: its settings, database, devices and the one lock every use case takes.

A till serves one cashier at a time, so its use cases run one after another under :attr:`Pos.lock`;
the sync link takes the same lock to apply reference data, and only between receipts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from sqlalchemy import Connection, delete, insert, select

from osuite.core.db import Database
from osuite.core.i18n import N_
from osuite.core.sync.outbox import Outbox, OutboxSender
from osuite.devices.fiscal import FiscalRegistrar
from osuite.devices.payment import CardTerminal
from osuite.devices.scale import WeightScale
from osuite.license.client import SeatKeeper
from osuite.pos import tables as t
from osuite.pos.errors import PosError
from osuite.pos.settings import PosSettings
from osuite.processing.client import ProcessingClient


class NotEnrolled(PosError):
    status = 503
    kind = "not_enrolled"

    def __init__(self) -> None:
        super().__init__(N_("This till is not enrolled with a data server yet: run `osuite pos enroll`"))


@dataclass(frozen=True)
class Terminal:
    client_id: str
    store_id: str
    name: str
    server_url: str
    token: str
    locked: bool
    lock_reason: str


def record_enrollment(
    conn: Connection, *, client_id: str, store_id: str, name: str, server_url: str, token: str
) -> None:
    """What `osuite pos enroll` got from the data server: this database now belongs to that till."""
    conn.execute(delete(t.terminal))
    conn.execute(
        insert(t.terminal).values(
            id=1,
            client_id=client_id,
            store_id=store_id,
            name=name,
            server_url=server_url.rstrip("/"),
            token=token,
            enrolled_at=datetime.now(UTC),
            locked=False,
            lock_reason="",
        )
    )


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Pos:
    settings: PosSettings
    db: Database
    registrar: FiscalRegistrar
    card: CardTerminal | None = None
    scale: WeightScale | None = None
    now: Callable[[], datetime] = _utc_now
    lock: threading.RLock = field(default_factory=threading.RLock)
    scale_lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.outbox = Outbox(self.db, t.edge.outbox)
        self.loyalty_outbox = Outbox(self.db, t.loyalty_outbox)
        self.processing: ProcessingClient | None = None
        if self.settings.processing_url:
            self.processing = ProcessingClient(
                self.settings.processing_url,
                self.settings.processing_key,
                timeout=httpx.Timeout(self.settings.processing_timeout_seconds, connect=2.0),
            )
        self.loyalty_sender: OutboxSender | None = None
        """Delivers the loyalty outbox (started with the app); woken when something is queued."""
        self.seat: SeatKeeper | None = None
        """This till's seat at the license server (None: no license server configured)."""
        self._terminal: Terminal | None = None

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One use case's transaction, under the till's lock."""
        with self.lock, self.db.write() as conn:
            yield conn

    def terminal(self, conn: Connection) -> Terminal:
        """Who this till is; read once (it changes only when enrolled, or locked by a command, and
        :meth:`forget_terminal` is called then)."""
        if self._terminal is not None:
            return self._terminal
        row = conn.execute(select(t.terminal).where(t.terminal.c.id == 1)).mappings().first()
        if row is None:
            raise NotEnrolled()
        self._terminal = Terminal(
            client_id=row["client_id"],
            store_id=row["store_id"],
            name=row["name"],
            server_url=row["server_url"],
            token=row["token"],
            locked=bool(row["locked"]),
            lock_reason=row["lock_reason"],
        )
        return self._terminal

    def may_take_new_work(self) -> None:
        """Refuse a new receipt once the license stopped this till (it finishes the open receipt, and
        the shift can still be closed)."""
        if self.seat is None:
            return
        state = self.seat.state()
        if not state.working:
            raise PosError(
                N_(
                    "The license does not let this till take new receipts: {reason}. Finish the open"
                    " receipt; the shift can still be closed"
                ),
                reason=state.message,
            )

    def forget_terminal(self) -> None:
        self._terminal = None

    def close(self) -> None:
        if self.processing is not None:
            self.processing.close()
        for device in (self.registrar, self.card, self.scale):
            if device is not None:
                device.close()
        self.db.dispose()
