"""The app factory's conventions: problem details for every error, health without a token, metrics and
everything else with one."""

from __future__ import annotations

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy.exc import DataError, IntegrityError

from osuite.core.http import CurrentPrincipal, Principal, Problem, create_app

KEYS = {"good": Principal(kind="admin", id="k1", scopes=frozenset({"manage"}))}


class Thing(BaseModel):
    n: int


router = APIRouter()


@router.post("/things")
def make(thing: Thing, principal: CurrentPrincipal) -> dict[str, int]:
    if thing.n == 1:
        raise Problem(409, "Conflict", "thing 1 exists", type_="https://osuite.dev/problems/exists")
    if thing.n == 2:
        raise DataError("INSERT …", {}, Exception("invalid byte sequence for encoding UTF8: 0x00"))
    if thing.n == 3:
        raise IntegrityError("INSERT …", {}, Exception("duplicate key"))
    if thing.n == 4:
        raise RuntimeError("secret internals")
    return {"n": thing.n}


@pytest.fixture
def client() -> TestClient:
    app = create_app(program="example", version="1", authenticate=KEYS.get)
    app.include_router(router)
    return TestClient(app, raise_server_exceptions=False)


AUTH = {"Authorization": "Bearer good"}


def test_health_needs_no_token_but_metrics_do(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "program": "example", "version": "1"}
    assert client.get("/metrics").status_code == 401
    client.post("/things", json={"n": 5}, headers=AUTH)
    metrics = client.get("/metrics", headers=AUTH).text
    assert 'osuite_http_requests_total{method="POST",route="/things",status="200"} 1.0' in metrics


@pytest.mark.parametrize(
    ("body", "headers", "status", "detail"),
    [
        ({"n": 5}, {}, 401, "send a bearer token in the Authorization header"),
        ({"n": 5}, {"Authorization": "Bearer bad"}, 401, "the token is unknown or was revoked"),
        (
            {"n": "x"},
            AUTH,
            422,
            "body.n: Input should be a valid integer, unable to parse string as an integer",
        ),
        ({"n": 1}, AUTH, 409, "thing 1 exists"),
        ({"n": 2}, AUTH, 422, "a value cannot be stored: invalid byte sequence for encoding UTF8: 0x00"),
        ({"n": 3}, AUTH, 409, "it conflicts with something that exists already or was just made"),
        ({"n": 4}, AUTH, 500, "the server failed; the error is in its log, nothing was changed"),
    ],
)
def test_every_error_is_problem_details(
    client: TestClient, body: dict[str, object], headers: dict[str, str], status: int, detail: str
) -> None:
    response = client.post("/things", json=body, headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert (problem["status"], problem["detail"]) == (status, detail)
    assert "secret internals" not in response.text


def test_a_missing_route_is_a_problem_too(client: TestClient) -> None:
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert response.json()["title"] == "Not Found"


def test_a_program_its_license_stopped_refuses_changes_but_reads_and_finishes(client: TestClient) -> None:
    stopped: list[str] = []
    client.app.state.refuse_work = lambda path: (  # type: ignore[attr-defined]
        None if not stopped or path.startswith("/finish") else stopped[0]
    )
    assert client.post("/things", json={"n": 5}, headers=AUTH).status_code == 200
    stopped.append("the license server has not answered for 7 days")
    refused = client.post("/things", json={"n": 5}, headers=AUTH)
    assert refused.status_code == 503
    assert refused.json()["type"] == "license" and "7 days" in refused.json()["detail"]
    assert client.get("/healthz").status_code == 200  # reading goes on
    assert client.post("/finish", headers=AUTH).status_code == 404  # allowed through (to no route)
