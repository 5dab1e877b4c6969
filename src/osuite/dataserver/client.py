"""The published httpx client of the data server, for terminals, other programs and the Manager."""

from __future__ import annotations

from typing import Any

import httpx

from osuite.core.sync.transport import SyncTransport
from osuite.dataserver.wire.clients import Enrolled, EnrollRequest


class DataServerError(RuntimeError):
    """The data server refused a request; ``status`` and ``detail`` are its problem details."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail


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
        """Trade a one-time enrollment code for this client's id and token."""
        body = EnrollRequest(code=code, name=name, version=version).model_dump()
        response = httpx.post(f"{base_url.rstrip('/')}/api/v1/enroll", json=body, timeout=30.0)
        return Enrolled.model_validate(_checked(response))

    def sync(self) -> SyncTransport:
        """The sync engine's transport to this server, with this client's token."""
        return SyncTransport(self.base_url, self.token)

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        return _checked(self.http.request(method, path, **kwargs))


def _checked(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        try:
            detail = response.json().get("detail") or response.text
        except ValueError:
            detail = response.text
        raise DataServerError(response.status_code, str(detail))
    if not response.content:
        return None
    return response.json()
