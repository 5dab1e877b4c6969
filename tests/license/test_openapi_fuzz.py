"""Schemathesis throws generated requests at every operation of the license server: none may answer
with a server error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from osuite.license.app import build_app, create_key
from osuite.license.settings import LicenseSettings
from tests.license.support import write_license

FUZZ = settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)


def test_no_operation_answers_with_a_server_error(tmp_path: Path, db_url: str) -> None:
    lic, pub = write_license(tmp_path / "vendor")
    app = build_app(
        LicenseSettings(
            data_dir=tmp_path / "license", database_url=db_url, license_file=lic, public_key_file=pub
        )
    )
    seats = app.state.seats
    token = create_key(seats.db, "fuzz")
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    try:
        for result in schema.get_all_operations():
            operation: Any = result.ok()

            @FUZZ
            @given(case=operation.as_strategy())
            def no_server_error(case: schemathesis.Case) -> None:
                case.call_and_validate(
                    headers={"Authorization": f"Bearer {token}"}, checks=[not_a_server_error]
                )

            no_server_error()
    finally:
        seats.db.dispose()
