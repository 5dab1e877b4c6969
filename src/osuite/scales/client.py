"""The scale server's published client: what another program (the Manager) may ask of it over HTTP.

Answers are the JSON the API documents at ``/docs`` (plain dicts: the scale server's records are shown
as they are, not reshaped)."""

from __future__ import annotations

from typing import Any

import httpx


class ScaleServerError(RuntimeError):
    """The scale server refused (its problem detail says why)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class ScaleServerUnreachable(ScaleServerError):
    def __init__(self, detail: str) -> None:
        super().__init__(503, detail)


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

    def scales(self) -> list[dict[str, Any]]:
        """Every scale with its state and last upload."""
        found: list[dict[str, Any]] = self.request("GET", "/api/v1/scales")
        return found

    def scale(self, scale_id: str) -> dict[str, Any]:
        found: dict[str, Any] = self.request("GET", f"/api/v1/scales/{scale_id}")
        return found

    def plus(self, scale_id: str) -> list[dict[str, Any]]:
        """What the scale holds: each PLU, when it was sent, what the scale answered."""
        found: list[dict[str, Any]] = self.request("GET", f"/api/v1/scales/{scale_id}/plus")
        return found

    def uploads(self, scale_id: str) -> list[dict[str, Any]]:
        """Its last uploads, newest first."""
        found: list[dict[str, Any]] = self.request("GET", f"/api/v1/scales/{scale_id}/uploads")
        return found

    def upload(self, scale_id: str, *, full: bool = False) -> None:
        """Upload now: what changed, or everything when ``full``."""
        self.request("POST", f"/api/v1/scales/{scale_id}/upload", params={"full": full})

    def reload_all(self) -> None:
        self.request("POST", "/api/v1/reload")
