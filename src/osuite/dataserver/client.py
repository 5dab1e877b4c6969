"""The published httpx client of the data server, for terminals, other programs and the Manager, and
:class:`ClientLink`, the background link every client program keeps with it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from typing import Any, Literal

import httpx
from pydantic import TypeAdapter
from sqlalchemy import Column, Connection, MetaData, String, Table, Text, insert, select

from osuite.core.db import Database, UtcDateTime
from osuite.core.ids import new_id
from osuite.core.sync.outbox import Outbox, OutboxSender
from osuite.core.sync.puller import Gate, Puller, Replica
from osuite.core.sync.tables import EdgeTables
from osuite.core.sync.transport import SyncTransport
from osuite.core.sync.wire import DocumentIn, IntakeAnswer
from osuite.dataserver.wire.catalog import (
    ChangePosition,
    Page,
    PromotionCreate,
    PromotionRead,
    PromotionUpdate,
    SignedIn,
)
from osuite.dataserver.wire.clients import (
    COMMAND_RESULT,
    ApiKeyCreated,
    ApiKeyRead,
    ClientRead,
    CommandRead,
    CommandResultBody,
    Enrolled,
    EnrollmentCodeIssued,
    EnrollRequest,
    HeartbeatAnswer,
    HeartbeatIn,
    StoreCreate,
    StoreRead,
    StoreUpdate,
)

log = logging.getLogger("osuite.sync")

LINK = "dataserver"
"""The name of a client's cursor for the data server's changes."""

_PAGE = 500
_stores = TypeAdapter(list[StoreRead])
_clients = TypeAdapter(list[ClientRead])
_commands = TypeAdapter(list[CommandRead])
_keys = TypeAdapter(list[ApiKeyRead])
_promotions = TypeAdapter(Page[PromotionRead])


class DataServerError(RuntimeError):
    """The data server refused a request; ``status`` and ``detail`` are its problem details."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail


class DataServerUnreachable(DataServerError):
    """No answer at all (connection refused, timeout): ``status`` is 0; try again later."""


class EnrollmentFailed(Exception):
    """``osuite <program> enroll`` could not enroll; the message says why, for the IT person."""


def enroll_with(server: str, code: str, name: str) -> Enrolled:
    """What every program's ``enroll`` command does: trade the one-time code at ``server`` for this
    program's identity (its ``name`` filled in when the server kept none)."""
    import osuite

    try:
        enrolled = DataServerClient.enroll(server, code=code, name=name, version=osuite.__version__)
    except DataServerError as exc:
        raise EnrollmentFailed(f"the data server refused the code: {exc.detail}") from None
    except Exception as exc:
        raise EnrollmentFailed(f"cannot reach the data server at {server}: {exc}") from None
    return enrolled.model_copy(update={"name": enrolled.name or name})


def command_result(
    command_id: str,
    status: Literal["done", "failed"],
    output: str = "",
    *,
    at: datetime | None = None,
    document_id: str | None = None,
) -> DocumentIn:
    """The document that reports a command's outcome, to put in the client's outbox (or send at once
    with :meth:`DataServerClient.report_command_result`). Its id is made here, where it is born."""
    body = CommandResultBody(command_id=command_id, status=status, output=output, at=at or datetime.now(UTC))
    return DocumentIn(id=document_id or new_id(), kind=COMMAND_RESULT, payload=body.model_dump(mode="json"))


class DataServerClient:
    def __init__(self, base_url: str, token: str, *, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.http = httpx.Client(
            base_url=self.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> DataServerClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @staticmethod
    def enroll(base_url: str, *, code: str, name: str | None = None, version: str | None = None) -> Enrolled:
        """Trade a one-time enrollment code for this client's id and token.

        A refused code raises :class:`DataServerError` (403); an unreachable server raises
        ``httpx.HTTPError`` as it always has, which callers such as ``upstream.join`` rely on.
        """
        body = EnrollRequest(code=code, name=name, version=version).model_dump()
        response = httpx.post(f"{base_url.rstrip('/')}/api/v1/enroll", json=body, timeout=30.0)
        return Enrolled.model_validate(_checked(response))

    def sync(self) -> SyncTransport:
        """The sync engine's transport to this server, with this client's token."""
        return SyncTransport(self.base_url, self.token)

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Any call; problem details become :class:`DataServerError`, no answer
        :class:`DataServerUnreachable`."""
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise DataServerUnreachable(0, f"{self.base_url} unreachable: {exc}") from exc
        return _checked(response)

    # --- as a client: heartbeat and commands ------------------------------------------------------

    def heartbeat(self, state: HeartbeatIn) -> HeartbeatAnswer:
        body = self.request("POST", "/api/v1/clients/me/heartbeat", json=state.model_dump(mode="json"))
        return HeartbeatAnswer.model_validate(body)

    def fetch_commands(self) -> list[CommandRead]:
        """Commands to run; the same id comes back until its result arrives, so run each once."""
        return _commands.validate_python(self.request("GET", "/api/v1/clients/me/commands"))

    def report_command_result(
        self, command_id: str, status: Literal["done", "failed"], output: str = ""
    ) -> IntakeAnswer:
        """Send a command's result at once; a client with an outbox queues :func:`command_result`."""
        transport = self.sync()
        try:
            return transport.send([command_result(command_id, status, output)])
        finally:
            transport.close()

    def me(self) -> ClientRead:
        return ClientRead.model_validate(self.request("GET", "/api/v1/clients/me"))

    # --- management (an API key): stores, enrollment, clients, commands, keys -------------------------

    def stores(self) -> list[StoreRead]:
        """Every store, by code (all pages)."""
        return list(self._pages("/api/v1/stores", _stores, lambda s: s.code))

    def create_store(
        self, code: str, name: str, *, address: str = "", timezone: str = "Europe/Moscow"
    ) -> StoreRead:
        body = StoreCreate(code=code, name=name, address=address, timezone=timezone)
        return StoreRead.model_validate(self.request("POST", "/api/v1/stores", json=body.model_dump()))

    def get_store(self, id_or_code: str) -> StoreRead:
        return StoreRead.model_validate(self.request("GET", f"/api/v1/stores/{id_or_code}"))

    def update_store(self, store_id: str, store: StoreUpdate) -> StoreRead:
        body = self.request("PUT", f"/api/v1/stores/{store_id}", json=store.model_dump())
        return StoreRead.model_validate(body)

    def issue_enrollment_code(self, store_id: str, kind: str = "pos", name: str = "") -> EnrollmentCodeIssued:
        body = self.request(
            "POST", f"/api/v1/stores/{store_id}/enrollment-codes", json={"kind": kind, "name": name}
        )
        return EnrollmentCodeIssued.model_validate(body)

    def clients(self, *, store_id: str | None = None, kind: str | None = None) -> list[ClientRead]:
        """Every client (all pages) with its live state, optionally of one store or kind."""
        filters = {k: v for k, v in {"store_id": store_id, "kind": kind}.items() if v}
        return list(self._pages("/api/v1/clients", _clients, lambda c: c.id, filters))

    def get_client(self, client_id: str) -> ClientRead:
        return ClientRead.model_validate(self.request("GET", f"/api/v1/clients/{client_id}"))

    def revoke_client(self, client_id: str) -> ClientRead:
        return ClientRead.model_validate(self.request("POST", f"/api/v1/clients/{client_id}/revoke"))

    def send_command(self, client_id: str, command: str, args: dict[str, Any] | None = None) -> CommandRead:
        body = self.request(
            "POST", f"/api/v1/clients/{client_id}/commands", json={"command": command, "args": args or {}}
        )
        return CommandRead.model_validate(body)

    def command_history(self, client_id: str, *, limit: int = 100) -> list[CommandRead]:
        """The newest ``limit`` commands of a client, newest first."""
        body = self.request("GET", f"/api/v1/clients/{client_id}/commands", params={"limit": limit})
        return _commands.validate_python(body)

    def api_keys(self) -> list[ApiKeyRead]:
        return _keys.validate_python(self.request("GET", "/api/v1/api-keys"))

    def create_api_key(self, name: str, scopes: list[str] | None = None) -> ApiKeyCreated:
        body = self.request(
            "POST", "/api/v1/api-keys", json={"name": name, "scopes": scopes or ["manage", "read"]}
        )
        return ApiKeyCreated.model_validate(body)

    def revoke_api_key(self, key_id: str) -> ApiKeyRead:
        return ApiKeyRead.model_validate(self.request("POST", f"/api/v1/api-keys/{key_id}/revoke"))

    # --- management: promotions -------------------------------------------------------------------

    def sign_in(self, login: str, password: str) -> SignedIn:
        """The person these credentials belong to; :class:`DataServerError` 403 when they are wrong."""
        return SignedIn.model_validate(
            self.request("POST", "/api/v1/users/sign-in", json={"login": login, "password": password})
        )

    def promotions(self, *, active: bool | None = None) -> list[PromotionRead]:
        """Every promotion by id (all pages); ``active`` keeps only the active or only the inactive."""
        params: dict[str, Any] = {} if active is None else {"active": active}
        return list(self._catalog_pages("/api/v1/promotions", _promotions, params))

    def get_promotion(self, promotion_id: str) -> PromotionRead:
        return PromotionRead.model_validate(self.request("GET", f"/api/v1/promotions/{promotion_id}"))

    def create_promotion(self, promotion: PromotionCreate) -> PromotionRead:
        """A promotion naming goods or stores that do not exist, or breaking a rule of its kind, raises
        :class:`DataServerError` (422) with the reason."""
        body = self.request("POST", "/api/v1/promotions", json=promotion.model_dump(mode="json"))
        return PromotionRead.model_validate(body)

    def update_promotion(self, promotion_id: str, promotion: PromotionUpdate) -> PromotionRead:
        """Replace every field of the promotion."""
        body = self.request(
            "PUT", f"/api/v1/promotions/{promotion_id}", json=promotion.model_dump(mode="json")
        )
        return PromotionRead.model_validate(body)

    def delete_promotion(self, promotion_id: str) -> None:
        self.request("DELETE", f"/api/v1/promotions/{promotion_id}")

    # --- management: where a change stands in the change log --------------------------------------

    def change_position(self, entity: str, key: str) -> ChangePosition:
        """Where the newest change of ``entity`` ``key`` stands: a client whose ``sync_cursor`` is at
        least its ``seq`` has it."""
        body = self.request("GET", "/api/v1/changes/position", params={"entity": entity, "key": key})
        return ChangePosition.model_validate(body)

    def product_position(self, product_id: str, *, store_id: str | None = None) -> ChangePosition:
        """The same for a product with its barcodes and its prices (in ``store_id`` only, when given)."""
        params = {} if store_id is None else {"store_id": store_id}
        body = self.request("GET", f"/api/v1/products/{product_id}/position", params=params)
        return ChangePosition.model_validate(body)

    def _catalog_pages(
        self, path: str, adapter: TypeAdapter[Page[Any]], params: dict[str, Any] | None = None
    ) -> Iterator[Any]:
        """The items of a catalog list, following each page's ``next``."""
        after: str | None = None
        while True:
            query: dict[str, Any] = {**(params or {}), "limit": _PAGE}
            if after is not None:
                query["after"] = after
            page = adapter.validate_python(self.request("GET", path, params=query))
            yield from page.items
            if page.next is None:
                return
            after = page.next

    def _pages(
        self,
        path: str,
        adapter: TypeAdapter[list[Any]],
        cursor: Any,
        params: dict[str, str] | None = None,
    ) -> Iterator[Any]:
        after: str | None = None
        while True:
            query: dict[str, Any] = {**(params or {}), "limit": _PAGE}
            if after is not None:
                query["after"] = after
            page = adapter.validate_python(self.request("GET", path, params=query))
            yield from page
            if len(page) < _PAGE:
                return
            after = cursor(page[-1])


def _checked(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        try:
            body = response.json()
        except ValueError:
            body = None
        detail = (body.get("detail") if isinstance(body, dict) else None) or response.text
        raise DataServerError(response.status_code, str(detail))
    if not response.content:
        return None
    return response.json()


# --- a client program's link ---------------------------------------------------------------------------

OFFLINE_HEARTBEAT_SECONDS = 3.0
"""While the data server does not answer, a client tries again this often, to notice soon it is back."""


def commands_table(metadata: MetaData) -> Table:
    """The commands a client has run, by the data server's command id, so each runs once."""
    return Table(
        "commands",
        metadata,
        Column("id", String(36), primary_key=True),
        Column("command", String(32), nullable=False),
        Column("status", String(8), nullable=False),  # done | failed
        Column("output", Text, nullable=False),
        Column("at", UtcDateTime(), nullable=False),
    )


class ClientLink:
    """A client program's link to its data server, in background threads: reference data comes down
    through the sync engine (``replica``, applied through ``gate``), documents go up through the
    outbox, and a heartbeat reports the program's :meth:`state` and brings the administrator's
    commands, each run once (:meth:`execute`) and answered as a document. With the data server down,
    all three wait and retry; the program works on.

    A program subclasses it with its :meth:`state` and :meth:`execute`; a refusal it raises as one of
    ``refusals`` (with a ``message``) is reported as the command's failure in its words."""

    name = "client"
    refusals: tuple[type[Exception], ...] = ()

    def __init__(
        self,
        db: Database,
        edge: EdgeTables,
        outbox: Outbox,
        replica: Replica,
        commands: Table,
        *,
        server_url: str,
        token: str,
        heartbeat_seconds: float,
        long_poll_seconds: float,
        gate: Gate = nullcontext,
        batch_size: int = 200,
    ) -> None:
        self.db = db
        self.outbox = outbox
        self.commands = commands
        self.heartbeat_seconds = heartbeat_seconds
        self.long_poll_seconds = long_poll_seconds
        self.client = DataServerClient(server_url, token, timeout=10.0)
        self.transport = self.client.sync()
        self.puller = Puller(db, edge, self.transport.changes, replica, link=LINK, page_size=2000, gate=gate)
        self.sender = OutboxSender(outbox, self.transport.send, batch_size=batch_size, max_backoff=30.0)
        self.last_heartbeat: datetime | None = None
        self.heartbeat_error: str | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def state(self) -> HeartbeatIn:
        raise NotImplementedError

    def execute(self, command: CommandRead) -> str:
        raise NotImplementedError

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """Where a command's result is saved (a program may take its own lock around it)."""
        with self.db.write() as conn:
            yield conn

    def start(self) -> None:
        for name, target in (
            ("pull", lambda: self.puller.run(self._stop, wait=self.long_poll_seconds)),
            ("send", lambda: self.sender.run(self._stop, idle=1.0)),
            ("heartbeat", self._heartbeats),
        ):
            thread = threading.Thread(target=target, name=f"{self.name}-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        self.sender.wake()
        for thread in self._threads:
            thread.join(timeout=5)
        self.transport.close()
        self.client.close()

    def stopping(self, seconds: float) -> bool:
        """Wait ``seconds``; True when the link is stopping."""
        return self._stop.wait(seconds)

    def online(self, waiting: int) -> bool:
        """The data server answered the last pull and heartbeat (and the last send, while documents
        wait to go up)."""
        errors = [self.puller.last_error, self.heartbeat_error]
        if waiting:
            errors.append(self.sender.last_error)
        contacted = self.last_heartbeat is not None or self.puller.last_success is not None
        return contacted and not any(errors)

    def status(self) -> dict[str, Any]:
        with self.db.read() as conn:
            waiting = self.outbox.pending(conn)
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

    def _heartbeats(self) -> None:
        """Every ``heartbeat_seconds``; every few seconds while the data server does not answer, so the
        program notices it is back (and wakes the pull and the outbox) soon after it returns."""
        while not self._stop.is_set():
            self.heartbeat_once()
            pause = self.heartbeat_seconds
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
                for command in self.fetch_commands():
                    self.run_command(command)
        except DataServerError as exc:
            self.heartbeat_error = str(exc.detail)
        except Exception:
            log.exception("heartbeat failed")
            self.heartbeat_error = "heartbeat failed"

    def fetch_commands(self) -> list[CommandRead]:
        return self.client.fetch_commands()

    def run_command(self, command: CommandRead) -> None:
        """Run a command once (the data server repeats it until its result arrives) and queue its result."""
        with self.db.read() as conn:
            if conn.execute(select(self.commands.c.id).where(self.commands.c.id == command.id)).first():
                return
        status: Literal["done", "failed"]
        try:
            output = self.execute(command)
            status = "done"
        except self.refusals as exc:
            status, output = "failed", str(getattr(exc, "message", exc))
        except Exception as exc:
            log.exception("command %s failed", command.command)
            status, output = "failed", f"{type(exc).__name__}: {exc}"
        result = command_result(command.id, status, output)
        with self.transaction() as conn:
            conn.execute(
                insert(self.commands).values(
                    id=command.id, command=command.command, status=status, output=output, at=datetime.now(UTC)
                )
            )
            self.outbox.add(conn, id=result.id, kind=COMMAND_RESULT, payload=result.payload)
        self.sender.wake()


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
