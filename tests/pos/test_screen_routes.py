"""The cashier's screen seen from the server: what each page and action answers, without a browser
(the browser's view is in tests/ui). Sessions are a cookie; every action answers with the parts of
the screen it changed; a refusal becomes the dialog that asks for what is missing."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.pos.conftest import CASHIER_PIN, MILK, SUPERVISOR_PIN, UNKNOWN, WATER, Till

HTMX = {"HX-Request": "true"}


@pytest.fixture
def screen(open_till: Till) -> TestClient:
    """The till's screen with a cashier logged in (by the cookie the login page sets)."""
    client = open_till.http
    answer = client.post("/login", data={"pin": CASHIER_PIN}, follow_redirects=False)
    assert answer.status_code == 303
    return client


def lines_of(html: str) -> list[str]:
    return re.findall(r'<tr class="line[^"]*" data-line-no="(\d+)"', html)


def test_the_sale_screen_needs_a_login(till: Till) -> None:
    client = till.http
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    refused = client.post("/login", data={"pin": "0000"}, follow_redirects=False)
    assert refused.status_code == 401
    assert "Неверный PIN-код" in refused.text  # Russian unless asked otherwise
    assert "pos_session" not in client.cookies
    answer = client.post("/login", data={"pin": CASHIER_PIN}, follow_redirects=False)
    assert answer.status_code == 303
    assert "httponly" in answer.headers["set-cookie"].lower()
    page = client.get("/")
    assert page.status_code == 200
    assert 'id="scan"' in page.text


def test_an_action_without_a_session_sends_the_screen_back_to_the_pin(till: Till) -> None:
    answer = till.http.post("/ui/items", data={"code": MILK}, headers=HTMX)
    assert answer.status_code == 204
    assert answer.headers["hx-redirect"] == "/login"
    assert till.receipt() is None


def test_a_scan_answers_with_the_receipt_status_message_and_dialog(
    screen: TestClient, open_till: Till
) -> None:
    answer = screen.post("/ui/items", data={"code": MILK}, headers=HTMX)
    assert answer.status_code == 200
    for part in ('id="status"', 'id="receipt"', 'id="message"', 'id="dialog"'):
        assert part in answer.text
    assert answer.text.count('hx-swap-oob="true"') == 4
    assert lines_of(answer.text) == ["1"]
    assert 'class="line last"' in answer.text
    assert 'id="total">89,90<' in answer.text


def test_an_unknown_barcode_is_said_in_russian_and_changes_nothing(
    screen: TestClient, open_till: Till
) -> None:
    screen.post("/ui/items", data={"code": MILK}, headers=HTMX)
    before = open_till.receipt()
    answer = screen.post("/ui/items", data={"code": UNKNOWN}, headers=HTMX)
    message = re.search(r'<div id="message"[^>]*data-kind="([a-z_]+)"[^>]*>([^<]+)', answer.text)
    assert message is not None, answer.text
    assert message.group(1) == "not_found"
    assert UNKNOWN in message.group(2)
    assert re.search("[а-я]", message.group(2))
    assert open_till.receipt() == before


def test_english_when_asked(screen: TestClient) -> None:
    answer = screen.get("/lang/en", headers={"referer": "http://127.0.0.1:8710/"}, follow_redirects=False)
    assert answer.headers["location"] == "/"
    assert "Total" in screen.get("/").text


def test_the_language_switch_goes_back_only_to_a_page_of_the_till(screen: TestClient) -> None:
    answer = screen.get(
        "/lang/en", headers={"referer": "http://elsewhere.example/steal?x=1"}, follow_redirects=False
    )
    assert answer.headers["location"] == "/steal"
    unknown = screen.get("/lang/xx", follow_redirects=False)
    assert "set-cookie" not in unknown.headers


def test_a_missing_permission_asks_for_a_supervisor_and_repeats_the_same_action(
    screen: TestClient, open_till: Till
) -> None:
    screen.post("/ui/items", data={"code": MILK}, headers=HTMX)
    screen.post("/ui/items", data={"code": WATER}, headers=HTMX)
    asked = screen.post("/ui/void", data={"line_no": "1"}, headers=HTMX)
    assert 'data-dialog="approval"' in asked.text
    assert 'hx-post="/ui/void"' in asked.text
    assert '<input type="hidden" name="line_no" value="1">' in asked.text
    assert not any(line["voided"] for line in open_till.receipt()["lines"])

    wrong = screen.post("/ui/void", data={"line_no": "1", "supervisor_pin": "0000"}, headers=HTMX)
    assert 'data-dialog="approval"' in wrong.text
    assert 'class="dialog-message"' in wrong.text
    assert not any(line["voided"] for line in open_till.receipt()["lines"])

    done = screen.post("/ui/void", data={"line_no": "1", "supervisor_pin": SUPERVISOR_PIN}, headers=HTMX)
    assert "data-dialog=" not in done.text
    assert [line["voided"] for line in open_till.receipt()["lines"]] == [True, False]
    assert 'class="line voided"' in done.text


def test_a_weighted_item_without_a_weight_asks_for_it(screen: TestClient, open_till: Till) -> None:
    asked = screen.post("/ui/items", data={"article": "00042"}, headers=HTMX)
    assert 'data-dialog="weight"' in asked.text
    assert open_till.receipt() is None
    done = screen.post("/ui/items", data={"article": "00042", "weight": "1,250"}, headers=HTMX)
    assert "data-dialog=" not in done.text
    (line,) = open_till.receipt()["lines"]
    assert line["quantity"] == "1.250"
    assert line["amount"] == 16125  # 129.00 a kg


def test_a_closed_receipt_shows_the_change(screen: TestClient, open_till: Till) -> None:
    screen.post("/ui/items", data={"code": MILK}, headers=HTMX)
    paid = screen.post("/ui/pay", data={"payment_type": "CASH", "amount": "100"}, headers=HTMX)
    assert 'data-dialog="change"' in paid.text
    assert 'id="change" class="huge">10,10<' in paid.text
    assert open_till.receipt() is None


def test_the_screen_is_not_part_of_the_api_and_its_files_are_served(till: Till) -> None:
    paths = till.http.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if not p.startswith("/api/") and p not in ("/healthz", "/metrics")]
    for asset in ("/static/core/htmx.min.js", "/static/pos.js", "/static/pos.css"):
        assert till.http.get(asset).status_code == 200
    assert till.http.get("/static/../app.py").status_code == 404
