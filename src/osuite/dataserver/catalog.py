"""Placeholder until the catalog lands: the interface the upstream link relies on."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from osuite.core.sync.transport import ChangeRow
from osuite.dataserver.context import DataServer

REPLICATED_ENTITIES: Sequence[str] = ()


def apply_replicated(conn: Connection, ds: DataServer, changes: Sequence[ChangeRow]) -> None:
    raise NotImplementedError


def retain_replicated(conn: Connection, ds: DataServer, entity: str, keys: set[str]) -> None:
    raise NotImplementedError
