"""Logging in at the till: by PIN, only people who may sell, and no route answers without a session."""

from __future__ import annotations

import re

import pytest

from tests.pos.conftest import CASHIER_PIN, MILK, STOCK_PIN, SUPERVISOR_PIN, Till


def test_a_cashier_logs_in_with_a_pin_and_sees_their_permissions(till: Till) -> None:
    answer = till.http.post("/api/v1/session", json={"pin": SUPERVISOR_PIN})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["cashier"]["id"] == "olga"
    assert "void_line" in body["cashier"]["permissions"]
    till.http.headers["Authorization"] = f"Bearer {body['token']}"
    assert till.get("/session") == body["cashier"]


def test_a_wrong_pin_is_refused_and_gives_no_token(till: Till) -> None:
    del till.http.headers["Authorization"]
    answer = till.http.post("/api/v1/session", json={"pin": "0000"})
    assert answer.status_code == 401
    assert answer.json()["type"] == "not_logged_in"
    assert "Wrong PIN" in answer.json()["detail"]
    assert "token" not in answer.json()
    assert [row["user_id"] for row in till.audit("login")] == ["anna"]  # the fixture's own login


def test_a_pin_that_is_not_digits_is_refused(till: Till) -> None:
    answer = till.http.post("/api/v1/session", json={"pin": "12ab"})
    assert answer.status_code == 422


def test_a_person_without_the_sell_permission_may_not_log_in(till: Till) -> None:
    answer = till.http.post("/api/v1/session", json={"pin": STOCK_PIN})
    assert answer.status_code == 401
    problem = answer.json()
    assert problem["type"] == "not_logged_in"
    assert "Пётр Н." in problem["detail"] and "sell" in problem["detail"]
    assert [row["user_id"] for row in till.audit("login")] == ["anna"]


def test_a_shift_manager_without_sell_may_not_log_in(till: Till) -> None:
    """Opening shifts is not selling: a person who may only open and close shifts approves by PIN."""
    from tests.pos.conftest import _change

    till.publish(
        [_change("role", "stock", {"id": "stock", "name": "Кладовщик", "permissions": ["open_shift"]})]
    )
    answer = till.http.post("/api/v1/session", json={"pin": STOCK_PIN})
    assert answer.status_code == 401, answer.text
    assert "sell" in answer.json()["detail"]


def _every_route(till: Till) -> list[tuple[str, str]]:
    paths = till.http.get("/openapi.json").json()["paths"]
    return [
        (method.upper(), re.sub(r"\{[^}]+\}", "x", path))
        for path, operations in paths.items()
        if path.startswith("/api/v1")
        for method in operations
    ]


def test_every_route_but_logging_in_needs_the_session_token(till: Till) -> None:
    del till.http.headers["Authorization"]
    routes = _every_route(till)
    assert len(routes) > 25
    for method, path in routes:
        if (method, path) == ("POST", "/api/v1/session"):
            continue
        answer = till.http.request(method, path, json={} if method != "GET" else None)
        assert answer.status_code == 401, (method, path, answer.text)
        till.http.headers["Authorization"] = "Bearer not-a-token"
        answer = till.http.request(method, path, json={} if method != "GET" else None)
        assert answer.status_code == 401, (method, path, answer.text)
        del till.http.headers["Authorization"]


def test_after_logging_out_the_token_is_refused(open_till: Till) -> None:
    token = open_till.http.headers["Authorization"]
    open_till.call("DELETE", "/session", 204)
    answer = open_till.http.post(
        "/api/v1/receipt/items", json={"code": MILK}, headers={"Authorization": token}
    )
    assert answer.status_code == 401
    open_till.login(CASHIER_PIN)
    assert open_till.receipt() is None  # nothing was sold with the dead token


def test_a_pin_is_checked_against_one_hash_once_it_has_worked(
    till: Till, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PIN hashes are slow on purpose: a store with dozens of people must not check them all each time."""
    from osuite.pos import auth

    checked: list[str] = []
    real = auth.verify_secret

    def counting(secret: str, stored: str) -> bool:
        checked.append(stored)
        return real(secret, stored)

    monkeypatch.setattr(auth, "verify_secret", counting)
    till.login(SUPERVISOR_PIN)
    checked.clear()
    till.login(SUPERVISOR_PIN)
    assert len(checked) == 1
    checked.clear()
    answer = till.http.post("/api/v1/session", json={"pin": "0000"})
    assert answer.status_code == 401
    assert len(checked) == 4  # a wrong PIN is checked against everyone's
