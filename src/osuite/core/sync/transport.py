"""The edge's HTTP client for a center's sync endpoints."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import httpx
import orjson

from osuite.core.sync.wire import DocumentIn, IntakeAnswer


class LinkDown(RuntimeError):
    """The center could not be reached or failed; the work is kept and retried later."""


class LinkRefused(RuntimeError):
    """The center refused our token (revoked or unknown): retrying will not help until re-enrolled."""


class ChangeRow(NamedTuple):
    """One change as received; a NamedTuple because a snapshot brings millions of them."""

    seq: int
    entity: str
    key: str
    op: str
    payload: dict[str, Any] | None


@dataclass(frozen=True)
class FetchedPage:
    changes: list[ChangeRow]
    next: int
    has_more: bool
    reset: bool
    horizon: int = 0


class SyncTransport:
    """Talks to ``{base_url}/api/v1/sync/…`` with a client token."""

    def __init__(self, base_url: str, token: str, *, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(timeout, connect=5.0),
        )

    def close(self) -> None:
        self._http.close()

    def changes(self, since: int, limit: int = 1000, wait: float = 0, snapshot: bool = False) -> FetchedPage:
        params: dict[str, int | float | str] = {"since": since, "limit": limit, "wait": wait}
        if snapshot:
            params["snapshot"] = "true"
        body = self._call("GET", "/api/v1/sync/changes", params=params, extra_timeout=wait)
        return FetchedPage(
            changes=[
                ChangeRow(c["seq"], c["entity"], c["key"], c["op"], c["payload"]) for c in body["changes"]
            ],
            next=body["next"],
            has_more=body["has_more"],
            reset=body.get("reset", False),
            horizon=body.get("horizon", 0),
        )

    def send(self, documents: list[DocumentIn]) -> IntakeAnswer:
        content = orjson.dumps({"documents": [d.model_dump() for d in documents]})
        body = self._call(
            "POST", "/api/v1/sync/documents", content=content, headers={"Content-Type": "application/json"}
        )
        return IntakeAnswer.model_validate(body)

    def _call(self, method: str, path: str, *, extra_timeout: float = 0, **kwargs: Any) -> Any:
        try:
            if extra_timeout:
                kwargs["timeout"] = httpx.Timeout(30.0 + extra_timeout, connect=5.0)
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise LinkDown(f"{self.base_url} unreachable: {exc}") from exc
        if response.status_code in (401, 403):
            raise LinkRefused(f"{self.base_url} refused this client: {_detail(response)}")
        if response.status_code >= 400:
            raise LinkDown(f"{self.base_url} answered {response.status_code}: {_detail(response)}")
        return orjson.loads(response.content)


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail") or response.text[:200])
    except ValueError:
        return response.text[:200]
