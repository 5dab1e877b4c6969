"""What the two ends of a link say to each other over HTTP."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

UPSERT: Literal["upsert"] = "upsert"
DELETE: Literal["delete"] = "delete"

EVERYONE = "*"


def store_audience(store_id: str) -> str:
    return f"store:{store_id}"


def client_audience(client_id: str) -> str:
    return f"client:{client_id}"


class ChangeRead(BaseModel):
    seq: int
    entity: str
    key: str
    op: Literal["upsert", "delete"]
    payload: dict[str, Any] | None = None


class ChangesPage(BaseModel):
    """One page of the change log for the caller's audiences.

    ``reset`` means the caller's cursor points into history that was compacted away: it must reload
    from ``since=0`` (a snapshot) and then drop what the snapshot did not mention.
    """

    changes: list[ChangeRead]
    next: int = Field(description="The cursor to send as `since` next time")
    has_more: bool
    reset: bool = False
    horizon: int = Field(
        default=0,
        description="Tombstones up to this seq were purged; a snapshot seeing it move is redone as a reset",
    )


class DocumentIn(BaseModel):
    id: str = Field(min_length=36, max_length=36, description="The UUIDv7 made where the document was born")
    kind: str = Field(min_length=1, max_length=64)
    payload: dict[str, Any]


MAX_BATCH = 5000


class DocumentsBatch(BaseModel):
    documents: list[DocumentIn] = Field(max_length=MAX_BATCH)


class Rejection(BaseModel):
    id: str
    reason: str


class IntakeAnswer(BaseModel):
    """Which documents the center now holds (new or already held) and which it refuses, and why."""

    held: list[str]
    rejected: list[Rejection] = []
