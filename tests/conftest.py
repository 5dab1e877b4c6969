"""Fixtures every test may use: a fresh database (SQLite, or PostgreSQL when OSUITE_TEST_PG_URL is set)
and the data server, in-process (TestClient) or as real processes (tests/support/servers.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from osuite.dataserver.settings import DataServerSettings
from tests.support.databases import fresh_database

settings.register_profile("osuite", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("osuite")


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    with fresh_database(tmp_path) as url:
        yield url


@pytest.fixture
def ds_settings(tmp_path: Path, db_url: str) -> DataServerSettings:
    return DataServerSettings(data_dir=tmp_path / "dataserver", database_url=db_url)


@pytest.fixture
def ds_app(ds_settings: DataServerSettings) -> Iterator[TestClient]:
    """The data server in-process, lifespan running; no token set."""
    from osuite.dataserver.app import build_app

    with TestClient(build_app(ds_settings)) as client:
        yield client


@pytest.fixture
def admin(ds_app: TestClient) -> TestClient:
    """The in-process data server with an administrator's API key on every request."""
    from osuite.dataserver import clients

    ds = ds_app.app.state.ds  # type: ignore[attr-defined]
    with ds.db.write() as conn:
        key = clients.create_api_key(conn, name="test admin")
    ds_app.headers["Authorization"] = f"Bearer {key['token']}"
    return ds_app
