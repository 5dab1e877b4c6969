"""Schemathesis walks the data server's OpenAPI document and throws generated requests at every
operation, as an administrator and as a terminal: none may answer with a server error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from osuite.dataserver import clients
from osuite.dataserver.app import build_app
from osuite.dataserver.settings import DataServerSettings
from tests.support.databases import fresh_database


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FastAPI, dict[str, str]]]:
    folder: Path = tmp_path_factory.mktemp("fuzz")
    with fresh_database(folder, "fuzz") as url:
        app = build_app(DataServerSettings(data_dir=folder, database_url=url))
        ds = app.state.ds
        with ds.db.write() as conn:
            admin = clients.create_api_key(conn, name="fuzz")["token"]
            store = clients.create_store(conn, ds, code="F1", name="Fuzz store")
            code = clients.issue_enrollment_code(conn, ds, store_id=store["id"], kind="pos", name="POS")[
                "code"
            ]
            terminal = clients.enroll(conn, code=code)["token"]
        yield app, {"admin": admin, "terminal": terminal}
        ds.db.dispose()


FUZZ = settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None)


def operations(app: FastAPI) -> list[Any]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


def fuzz(app: FastAPI, token: str) -> None:
    """Every operation, a dozen generated requests each (schemathesis' pytest plugin does not run on
    this pytest, so the operations are walked here)."""
    for operation in operations(app):

        @FUZZ
        @given(case=operation.as_strategy())
        def no_server_error(case: schemathesis.Case) -> None:
            if case.path == "/api/v1/sync/changes" and isinstance(case.query, dict):
                case.query["wait"] = 0  # a long-poll would only make the fuzzer wait
            case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=[not_a_server_error])

        no_server_error()


def test_no_server_error_for_an_administrator(fuzzed: tuple[FastAPI, dict[str, str]]) -> None:
    fuzz(fuzzed[0], fuzzed[1]["admin"])


def test_no_server_error_for_a_terminal(fuzzed: tuple[FastAPI, dict[str, str]]) -> None:
    fuzz(fuzzed[0], fuzzed[1]["terminal"])
