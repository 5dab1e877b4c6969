"""The scale server's published client: what another program (the Manager) may ask of it over HTTP.

Answers are checked against the models below, which say what the API documents at ``/docs``; a field
the scale server adds later is ignored until a model names it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError


class ScaleServerError(RuntimeError):
    """The scale server refused (its problem detail says why)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class ScaleServerUnreachable(ScaleServerError):
    def __init__(self, detail: str) -> None:
        super().__init__(503, detail)


class ScaleState(BaseModel):
    online: bool
    busy: bool
    """It answered that it is busy (a person is weighing or editing on it)."""
    checked_at: datetime | None
    """When the scale server last spoke to it (a poll or an upload); None: not yet."""
    message: str
    """The scale's own words when it last failed."""
    pending: bool
    """Something is left to send to it."""


class UploadRead(BaseModel):
    id: str
    kind: Literal["changes", "full"]
    started_at: datetime
    finished_at: datetime | None
    """None: still running."""
    written: int
    deleted: int
    refused: int
    error: str | None


class RuleRead(BaseModel):
    id: str
    kind: Literal["category", "products"]
    values: list[str]


class ScaleRead(BaseModel):
    id: str
    name: str
    department: str
    model: str
    protocol: str
    host: str
    port: int
    scale_number: int
    enabled: bool
    barcode_template: str
    label_format: int
    hotkeys: int
    rules: list[RuleRead]
    state: ScaleState
    last_upload: UploadRead | None
    plus_loaded: int
    """PLUs the scale accepted and holds as far as the scale server knows."""


class PluRead(BaseModel):
    number: int
    product_id: str
    name: str
    price: int | None = None
    """Kopecks sent to the scale, where the scale server says it."""
    sent_at: datetime | None
    """When it was last sent; None: not sent yet."""
    accepted: bool
    answer: str
    """What the scale answered when it refused it."""


T = TypeVar("T")

_SCALES = TypeAdapter(list[ScaleRead])
_SCALE = TypeAdapter(ScaleRead)
_PLUS = TypeAdapter(list[PluRead])
_UPLOADS = TypeAdapter(list[UploadRead])


def _read(adapter: TypeAdapter[T], answer: Any) -> T:
    """An answer as its model says, or a refusal: a scale server of another version answered."""
    try:
        return adapter.validate_python(answer)
    except ValidationError as exc:
        raise ScaleServerError(
            502, f"the scale server answered what this client does not read: {exc}"
        ) from exc


class ScalesClient:
    def __init__(self, base_url: str, token: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(
            base_url=self.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> ScalesClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ScaleServerUnreachable(
                f"the scale server at {self.base_url} does not answer: {exc}"
            ) from exc
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {}
            detail = body.get("detail") or body.get("title") if isinstance(body, dict) else None
            raise ScaleServerError(response.status_code, str(detail or response.text[:300]))
        return response.json() if response.content else None

    def scales(self) -> list[ScaleRead]:
        """Every scale with its state and last upload, by name."""
        return _read(_SCALES, self.request("GET", "/api/v1/scales"))

    def scale(self, scale_id: str) -> ScaleRead:
        return _read(_SCALE, self.request("GET", f"/api/v1/scales/{scale_id}"))

    def plus(self, scale_id: str) -> list[PluRead]:
        """What the scale holds: each PLU by number, when it was sent, what the scale answered."""
        return _read(_PLUS, self.request("GET", f"/api/v1/scales/{scale_id}/plus"))

    def uploads(self, scale_id: str) -> list[UploadRead]:
        """Its last uploads, newest first."""
        return _read(_UPLOADS, self.request("GET", f"/api/v1/scales/{scale_id}/uploads"))

    def upload(self, scale_id: str, *, full: bool = False) -> None:
        """Upload now: what changed, or everything when ``full``; done in the background."""
        self.request("POST", f"/api/v1/scales/{scale_id}/upload", params={"full": full})

    def reload_all(self) -> None:
        """Every scale in full, in the background."""
        self.request("POST", "/api/v1/reload")
