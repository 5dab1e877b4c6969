"""Placeholder until document intake lands."""

from __future__ import annotations

from typing import Any

from osuite.core.sync.intake import DocumentKind
from osuite.dataserver.context import DataServer


def document_kinds(ds: DataServer) -> list[DocumentKind[Any]]:
    return []
