"""A subordinate's link to its root: enrollment once, then in background threads the root's changes
pulled down, this center's documents sent up, allowances asked for when a till wants to spend more than
this center may, and expired allowances given back. With the root unreachable all of it waits and
retries; the subordinate keeps serving its stores within the allowances it holds."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import Connection, delete, insert, select

from osuite.core.i18n import N_
from osuite.core.ids import new_id
from osuite.core.sync.outbox import OutboxSender
from osuite.core.sync.puller import Puller
from osuite.core.sync.transport import SyncTransport
from osuite.processing import ledger, tables
from osuite.processing.context import Processing
from osuite.processing.domain.allowance import settle, subordinate_spendable
from osuite.processing.domain.cards import account_of
from osuite.processing.domain.journal import Kind, Movement
from osuite.processing.domain.transactions import Made
from osuite.processing.errors import Refused
from osuite.processing.replication import RootReplica, apply_movements

log = logging.getLogger("osuite.processing.link")

LINK = "root"
ALLOWANCE_TIMEOUT = httpx.Timeout(3.0, connect=1.0)
"""A till is waiting while the allowance is asked for: a root that does not answer at once is down."""


class RootRefused(Refused):
    status = 502
    kind = "root_refused"


def joined(conn: Connection) -> dict[str, Any] | None:
    row = conn.execute(select(tables.upstream)).mappings().first()
    return dict(row) if row else None


def enroll(p: Processing, *, url: str, code: str, name: str = "") -> dict[str, Any]:
    """Enroll this center with the root at ``url`` using a one-time code the root printed. The root
    refuses a center that says it is a root."""
    import osuite

    with p.db.read() as conn:
        if joined(conn) is not None:
            raise Refused(N_("This center is enrolled with a root already"))
    body = {
        "code": code,
        "name": name or f"subordinate {p.center_id[:8]}",
        "role": p.role,
        "center_id": p.center_id,
    }
    try:
        answer = httpx.post(
            f"{url.rstrip('/')}/api/v1/enroll",
            json=body,
            headers={"User-Agent": f"osuite-processing/{osuite.__version__}"},
            timeout=30.0,
        )
    except httpx.HTTPError as exc:
        raise RootRefused(N_("Cannot reach the root at {url}: {error}"), url=url, error=str(exc)) from None
    if answer.status_code >= 400:
        try:
            detail = answer.json().get("detail") or answer.text
        except ValueError:
            detail = answer.text
        raise RootRefused(N_("The root refused: {detail}"), detail=str(detail)[:500])
    enrolled = answer.json()
    with p.write() as conn:
        conn.execute(delete(tables.upstream))
        conn.execute(
            insert(tables.upstream).values(
                id=1,
                url=url.rstrip("/"),
                token=enrolled["token"],
                root_id=enrolled["root_id"],
                joined_at=p.now(),
            )
        )
    return {"center_id": p.center_id, "root_id": enrolled["root_id"], "url": url.rstrip("/")}


class Link:
    """The threads that keep an enrolled subordinate in step with its root."""

    def __init__(self, p: Processing, url: str, token: str) -> None:
        self.p = p
        self.url = url
        self.transport = SyncTransport(url, token)
        self.puller = Puller(p.db, tables.edge, self.transport.changes, RootReplica(p), link=LINK)
        self.sender = OutboxSender(p.outbox, self.transport.send, batch_size=500, max_backoff=30.0)
        self.http = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=ALLOWANCE_TIMEOUT
        )
        self.allowance_error: str | None = None
        self._threads: list[threading.Thread] = []

    @classmethod
    def start_if_enrolled(cls, p: Processing, stop: threading.Event) -> Link | None:
        if p.is_root or not p.settings.upstream_sync:
            return None
        with p.db.read() as conn:
            row = joined(conn)
        if row is None:
            log.warning("not enrolled with a root: run `osuite processing enroll ROOT_URL CODE`")
            return None
        link = cls(p, row["url"], row["token"])
        p.allowances = link.ensure_allowance
        for name, target in (
            ("pull", lambda: link.puller.run(stop, wait=25.0)),
            ("send", lambda: link.sender.run(stop, idle=0.5)),
            ("settle", lambda: link.settle_expired_every(stop, 30.0)),
            ("watch", lambda: link.watch(stop, 3.0)),
        ):
            thread = threading.Thread(target=target, name=f"root-{name}", daemon=True)
            thread.start()
            link._threads.append(thread)
        log.info("following the root at %s", row["url"])
        return link

    def stop(self) -> None:
        self.sender.wake()
        for thread in self._threads:
            thread.join(timeout=2)
        self.transport.close()
        self.http.close()

    def status(self) -> dict[str, Any]:
        with self.p.db.read() as conn:
            waiting = self.p.outbox.pending(conn)
        return {
            "url": self.url,
            "documents_waiting": waiting,
            "pull_error": self.puller.last_error,
            "send_error": self.sender.last_error,
            "allowance_error": self.allowance_error,
            "last_pull": self.puller.last_success,
            "last_send": self.sender.last_success,
        }

    # --- allowances -------------------------------------------------------------------------------

    def ensure_allowance(self, card: str, amount: int, until: datetime) -> None:
        """Before a hold: see :func:`ensure_allowance`; the root is asked over HTTP."""
        ensure_allowance(self.p, card, amount, until, self._ask_root)

    def _ask_root(self, body: dict[str, Any]) -> dict[str, Any] | None:
        try:
            answer = self.http.post("/api/v1/allowances", json=body)
        except httpx.HTTPError as exc:
            self.allowance_error = f"the root did not answer: {exc}"
            return None
        if answer.status_code != 200:
            self.allowance_error = f"the root answered {answer.status_code}: {answer.text[:300]}"
            return None
        self.allowance_error = None
        result: dict[str, Any] = answer.json()
        return result

    def watch(self, stop: threading.Event, seconds: float) -> None:
        """While the root does not answer, ask every few seconds whether it is back, and when it is,
        pull and send at once rather than at the end of a back-off of up to a minute."""
        while not stop.wait(seconds):
            if self.puller.last_error is None and self.sender.last_error is None:
                continue
            try:
                if self.http.get("/healthz").status_code != 200:
                    continue
            except httpx.HTTPError:
                continue
            self.puller.wake()
            self.sender.wake()

    def settle_expired_every(self, stop: threading.Event, seconds: float) -> None:
        while not stop.wait(seconds):
            try:
                settle_expired(self.p)
            except Exception:
                log.exception("giving expired allowances back failed; will try again")


AskRoot = Callable[[dict[str, Any]], "dict[str, Any] | None"]
"""Sends an allowance request (the body of ``POST /api/v1/allowances``) to the root; its answer, or
``None`` when the root could not be asked."""


def ensure_allowance(p: Processing, card: str, amount: int, until: datetime, ask: AskRoot) -> None:
    """Before a hold at a subordinate: when it may spend less than ``amount`` of the card's account
    until ``until``, ask the root to lend the rest, and keep the grant it answers with. Any failure
    leaves things as they were: the hold is then refused with what this center may spend."""
    now = p.now()
    with p.db.read() as conn:
        found = ledger.card(conn, card)
        account_of(found)  # a blocked or lost card is refused here, before the root is asked
        acc = ledger.account(conn, found.account_id)
        if acc.type == ledger.DISCOUNT:
            return
        st = ledger.state(ledger.journal(conn, p, acc), acc, now)
    missing = amount - subordinate_spendable(st, p.center_id, now, until=until)
    if missing <= 0:
        return
    hours = max(1, int((until - now).total_seconds() // 3600) + 1, p.settings.grant_hours)
    answer = ask({"transaction_id": new_id(), "account_id": acc.id, "amount": missing, "hours": hours})
    movement = answer.get("movement") if answer is not None else None
    if movement is not None:
        with p.write() as conn:
            apply_movements(conn, p, [Movement.from_json(movement)])


def settle_expired(p: Processing) -> int:
    """Give back every grant this subordinate holds that has expired (saying how much of it it spent),
    so the root can lend the rest again; the number given back. The releases go up with the outbox."""
    now = p.now()
    m = tables.movements.c
    with p.db.read() as conn:
        account_ids = sorted(
            set(conn.execute(select(m.account_id).where(m.kind == Kind.GRANT.value)).scalars())
        )
    released = 0
    for account_id in account_ids:
        with p.write() as conn:
            acc = ledger.account(conn, account_id, lock=True)
            journal = ledger.journal(conn, p, acc)
            st = ledger.state(journal, acc, now)
            due = [
                g
                for g in st.grants
                if g.holder == p.center_id and g.released_at is None and now >= g.expires_at
            ]
            new = []
            for g in due:
                made = Made(id=new_id(), origin=p.center_id, now=now)
                new.append(settle(st, g.id, made=made))
                st = ledger.state([*journal, *new], acc, now)
            ledger.record(conn, p, acc, journal, new)
            released += len(new)
    return released
