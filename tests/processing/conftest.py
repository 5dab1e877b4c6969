"""Fixtures of the processing center's tests: a root center in-process (TestClient) on a fresh
database, with a clock the test moves, an administrator's key and a POS's key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from osuite.processing.app import build_app
from osuite.processing.settings import ProcessingSettings
from tests.processing.support import Center, Clock


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def center(tmp_path: Path, db_url: str, clock: Clock) -> Iterator[Center]:
    settings = ProcessingSettings(data_dir=tmp_path / "processing", database_url=db_url, role="root")
    with TestClient(build_app(settings, clock=clock)) as client:
        yield Center.of(client)
