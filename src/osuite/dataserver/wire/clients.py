"""Stores, enrollment, clients, heartbeats and commands on the wire."""

from __future__ import annotations

from pydantic import BaseModel, Field


class EnrollRequest(BaseModel):
    code: str = Field(min_length=4, max_length=40, description="The one-time code an administrator issued")
    name: str | None = Field(default=None, max_length=200, description="How this client is shown")
    version: str | None = Field(default=None, max_length=64)


class Enrolled(BaseModel):
    client_id: str
    token: str = Field(description="Keep it: it is shown once and stored at the server only as a hash")
    store_id: str
    kind: str
    name: str
