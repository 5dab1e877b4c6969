"""The published httpx client of the data server, for terminals, other programs and the Manager."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, Literal

import httpx
from pydantic import TypeAdapter

from osuite.core.ids import new_id
from osuite.core.sync.transport import SyncTransport
from osuite.core.sync.wire import DocumentIn, IntakeAnswer
from osuite.dataserver.wire.catalog import Page, PromotionCreate, PromotionRead, PromotionUpdate
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
