"""Documents handed in through the sync intake and read back through the documents API."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from osuite.core.http import Principal
from osuite.core.ids import new_id
from osuite.core.sync.intake import Intake
from osuite.core.sync.wire import DocumentIn
from osuite.dataserver import documents, tables
from tests.dataserver.test_documents_fixtures import (
    Terminal,
    cash_operation,
    doc,
    ds_of,
    line,
    new_store,
    new_terminal,
    receipt,
    send,
    shift,
    z_report,
)


@pytest.fixture
def terminal(admin: TestClient) -> Terminal:
    return new_terminal(admin, new_store(admin))


def _count(admin: TestClient, table: Any) -> int:
    with ds_of(admin).db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _get(admin: TestClient, url: str, **params: Any) -> Any:
    answer = admin.get(url, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


# --- intake ---------------------------------------------------------------------------------------------


def test_a_sale_and_a_return_are_stored_and_found_by_store_terminal_shift_and_period(
    admin: TestClient, terminal: Terminal
) -> None:
    shift_id = new_id()
    other = new_terminal(admin, terminal.store_id)
    other_shift = new_id()
    sale_id, return_id, elsewhere_id = new_id(), new_id(), new_id()
    sale = receipt(terminal, shift_id, number=1)
    refund = receipt(
        terminal,
        shift_id,
        number=2,
        kind="return",
        original_receipt_id=sale_id,
        lines=[line(1, 5000, "1.000")],
        opened_at="2025-03-02T11:00:00+03:00",
        closed_at="2025-03-02T11:00:30+03:00",
    )
    answer = send(
        admin,
        terminal,
        doc("shift", shift(terminal), shift_id),
        doc("receipt", sale, sale_id),
        doc("receipt", refund, return_id),
    )
    assert answer == {"held": [shift_id, sale_id, return_id], "rejected": []}
    send(admin, other, doc("receipt", receipt(other, other_shift), elsewhere_id))

    everything = _get(admin, "/api/v1/receipts")
    assert [r["id"] for r in everything["items"]] == [sale_id, elsewhere_id, return_id]
    assert everything["next"] is None
    by_terminal = _get(admin, "/api/v1/receipts", terminal_id=terminal.id)
    assert [r["id"] for r in by_terminal["items"]] == [sale_id, return_id]
    by_shift = _get(admin, "/api/v1/receipts", shift_id=other_shift)
    assert [r["id"] for r in by_shift["items"]] == [elsewhere_id]
    by_store = _get(admin, "/api/v1/receipts", store_id=terminal.store_id, kind="return")
    assert [r["id"] for r in by_store["items"]] == [return_id]
    assert _get(admin, "/api/v1/receipts", store_id=new_id())["items"] == []
    by_day = _get(admin, "/api/v1/receipts", **{"from": "2025-03-02", "to": "2025-03-02"})
    assert [r["id"] for r in by_day["items"]] == [return_id]
    by_moment = _get(
        admin, "/api/v1/receipts", **{"from": "2025-03-01T07:00:30Z", "to": "2025-03-01T10:01:00+03:00"}
    )
    assert [r["id"] for r in by_moment["items"]] == []
    by_moment = _get(admin, "/api/v1/receipts", **{"from": "2025-03-01T07:01:00Z", "to": "2025-03-02"})
    assert [r["id"] for r in by_moment["items"]] == [sale_id, elsewhere_id, return_id]

    summary = by_terminal["items"][1]
    assert summary == {
        "id": return_id,
        "store_id": terminal.store_id,
        "terminal_id": terminal.id,
        "shift_id": shift_id,
        "number": 2,
        "kind": "return",
        "original_receipt_id": sale_id,
        "cashier_id": "cashier-1",
        "opened_at": "2025-03-02T08:00:00Z",
        "closed_at": "2025-03-02T08:00:30Z",
        "business_day": "2025-03-02",
        "total": 5000,
        "discount_total": 0,
    }


def test_a_receipt_reads_back_with_its_lines_payments_and_discount_sources(
    admin: TestClient, terminal: Terminal
) -> None:
    receipt_id = new_id()
    lines = [
        line(
            1,
            5000,
            "2",
            discount=300,
            discounts=[
                {"source": "promotion", "promotion_id": "promo-1", "amount": 200},
                {"source": "loyalty", "amount": 100},
            ],
        ),
        line(2, 12990, 0.455),
    ]
    sale = receipt(
        terminal,
        new_id(),
        lines=lines,
        payments=[
            {"payment_type": "card", "amount": 10000, "extra": {"rrn": "123456789012"}},
            {"payment_type": "cash", "amount": 5610, "extra": {"tendered": 6000, "change": 390}},
        ],
    )
    send(admin, terminal, doc("receipt", sale, receipt_id))

    detail = _get(admin, f"/api/v1/receipts/{receipt_id}")

    assert detail["id"] == receipt_id
    assert detail["business_day"] == "2025-03-01"
    assert detail["closed_at"] == "2025-03-01T07:01:00Z"
    assert [li["quantity"] for li in detail["lines"]] == ["2.000", "0.455"]
    assert [li["amount"] for li in detail["lines"]] == [9700, 5910]
    assert detail["lines"][0]["discounts"] == [
        {"source": "promotion", "promotion_id": "promo-1", "amount": 200},
        {"source": "loyalty", "promotion_id": None, "amount": 100},
    ]
    assert detail["payments"] == sale["payments"]
    assert (detail["total"], detail["discount_total"]) == (15610, 300)
    with ds_of(admin).db.read() as conn:
        stored = conn.execute(
            select(
                tables.receipt_lines.c.line_no, tables.receipt_lines.c.quantity, tables.receipt_lines.c.amount
            )
            .where(tables.receipt_lines.c.receipt_id == receipt_id)
            .order_by(tables.receipt_lines.c.line_no)
        ).all()
    assert [(n, str(q), a) for n, q, a in stored] == [(1, "2.000", 9700), (2, "0.455", 5910)]

    assert admin.get("/api/v1/receipts/a%00b").status_code == 422
    missing = admin.get(f"/api/v1/receipts/{new_id()}")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")


def test_the_same_batch_sent_twice_is_stored_once(admin: TestClient, terminal: Terminal) -> None:
    shift_id = new_id()
    batch = [
        doc("shift", shift(terminal), shift_id),
        doc("receipt", receipt(terminal, shift_id, number=1)),
        doc("receipt", receipt(terminal, shift_id, number=2)),
        doc("cash_operation", cash_operation(terminal, shift_id)),
    ]
    ids = [d["id"] for d in batch]

    first = send(admin, terminal, *batch)
    second = send(admin, terminal, *batch)

    assert first == second == {"held": ids, "rejected": []}
    assert _count(admin, tables.receipts) == 2
    assert _count(admin, tables.receipt_lines) == 4
    assert _count(admin, tables.receipt_payments) == 2
    assert _count(admin, tables.shifts) == 1
    assert _count(admin, tables.cash_operations) == 1


def test_a_different_document_under_a_held_id_is_refused(admin: TestClient, terminal: Terminal) -> None:
    receipt_id = new_id()
    send(admin, terminal, doc("receipt", receipt(terminal, new_id(), number=1), receipt_id))

    answer = send(admin, terminal, doc("receipt", receipt(terminal, new_id(), number=2), receipt_id))

    assert answer["held"] == []
    assert answer["rejected"] == [
        {"id": receipt_id, "reason": "a different document with this id is already held"}
    ]
    assert _get(admin, f"/api/v1/receipts/{receipt_id}")["number"] == 1


@pytest.mark.parametrize(
    ("breakage", "reason"),
    [
        (
            lambda r: r["lines"][1].update(amount=r["lines"][1]["amount"] + 1),
            "line 2: amount 5811 but price 12990 × 0.455 - discount 100 = 5810",
        ),
        (lambda r: r.update(total=r["total"] - 1), "total 15809 but the lines add up to 15810"),
        (lambda r: r.update(discount_total=0), "discount_total 0 but the lines' discounts add up to 100"),
        (lambda r: r["payments"][0].update(amount=15000), "payments add up to 15000 but total is 15810"),
        (
            lambda r: r["lines"][0].update(discounts=[{"source": "manual", "amount": 5}]),
            "line 1: its discounts add up to 5 but its discount is 0",
        ),
        (
            lambda r: r.update(closed_at="2025-03-01T09:00:00+03:00"),
            "closed_at 2025-03-01T06:00:00+00:00 is before opened_at 2025-03-01T07:00:00+00:00",
        ),
        (lambda r: r["lines"][1].update(line_no=1), "line numbers repeat: 1"),
        (lambda r: r.update(original_receipt_id=new_id()), "a sale cannot have an original_receipt_id"),
        (lambda r: r.update(total=15810.0), "total: Input should be a valid integer"),
        (lambda r: r["lines"][0].update(price="50.00"), "lines.0.price: Input should be a valid integer"),
        (
            lambda r: r["lines"][0].update(quantity="1.0005"),
            "line 1: quantity 1.0005 has more than 3 decimal places",
        ),
        (lambda r: r["lines"][0].update(quantity=100000), "line 1: quantity 100000 is more than 99999.999"),
        (lambda r: r["lines"][0].update(quantity="-1"), "lines.0.quantity: Input should be greater than 0"),
        (lambda r: r.update(closed_at="2025-03-01T10:01:00"), "closed_at: Input should have timezone info"),
        (lambda r: r.update(closed_at="9999-12-31T23:00:00-05:00"), "is not between the years 1900 and 2999"),
        (lambda r: r["lines"][0].update(name="Мол\x00око"), "NUL"),
        (lambda r: r.update(kind="storno"), "kind: Input should be 'sale' or 'return'"),
    ],
)
def test_a_receipt_that_does_not_add_up_is_refused_with_the_reason(
    admin: TestClient, terminal: Terminal, breakage: Any, reason: str
) -> None:
    broken = receipt(terminal, new_id())
    breakage(broken)
    receipt_id = new_id()

    answer = send(admin, terminal, doc("receipt", broken, receipt_id))

    assert answer["held"] == []
    assert [r["id"] for r in answer["rejected"]] == [receipt_id]
    assert reason in answer["rejected"][0]["reason"]
    assert _count(admin, tables.receipts) == 0


def test_a_backslash_typed_before_u0000_is_text_not_a_nul(admin: TestClient, terminal: Terminal) -> None:
    sale = receipt(terminal, new_id())
    sale["lines"][0]["name"] = "Кабель \\u0000 (артикул)"
    receipt_id = new_id()

    assert send(admin, terminal, doc("receipt", sale, receipt_id))["held"] == [receipt_id]
    assert _get(admin, f"/api/v1/receipts/{receipt_id}")["lines"][0]["name"] == "Кабель \\u0000 (артикул)"


def test_a_mixed_batch_stores_the_good_and_refuses_the_bad(admin: TestClient, terminal: Terminal) -> None:
    shift_id = new_id()
    good = [doc("receipt", receipt(terminal, shift_id, number=n)) for n in (1, 2, 3)]
    bad = receipt(terminal, shift_id, number=4)
    bad["lines"][0]["amount"] = 1000
    bad_doc = doc("receipt", bad)
    unknown = doc("recipe", {"what": "borscht"})

    answer = send(admin, terminal, good[0], bad_doc, good[1], unknown, good[2])

    assert answer["held"] == [d["id"] for d in good]
    reasons = {r["id"]: r["reason"] for r in answer["rejected"]}
    assert reasons == {
        bad_doc["id"]: "line 1: amount 1000 but price 5000 × 2.000 - discount 0 = 10000; "
        "total 15810 but the lines add up to 6810",
        unknown["id"]: "unknown document kind 'recipe'",
    }
    assert [r["number"] for r in _get(admin, "/api/v1/receipts")["items"]] == [1, 2, 3]


def test_a_terminal_speaks_only_for_itself_and_its_store(admin: TestClient, terminal: Terminal) -> None:
    elsewhere = new_terminal(admin, new_store(admin))
    neighbour = new_terminal(admin, terminal.store_id)
    other_store = receipt(elsewhere, new_id())
    other_terminal = receipt(neighbour, new_id())
    ids = [new_id(), new_id()]

    answer = send(
        admin, terminal, doc("receipt", other_store, ids[0]), doc("receipt", other_terminal, ids[1])
    )

    assert answer["held"] == []
    reasons = {r["id"]: r["reason"] for r in answer["rejected"]}
    assert reasons[ids[0]] == (
        f"store_id {elsewhere.store_id} is not the sender's store {terminal.store_id}; "
        f"terminal_id {elsewhere.id} is not the sending terminal {terminal.id}"
    )
    assert reasons[ids[1]] == f"terminal_id {neighbour.id} is not the sending terminal {terminal.id}"
    assert _count(admin, tables.receipts) == 0


def test_a_relay_forwards_any_terminal_of_its_store_but_no_other_store(admin: TestClient) -> None:
    store_id = new_store(admin)
    relay = new_terminal(admin, store_id, kind="dataserver")
    terminal = Terminal(id=new_id(), store_id=store_id, token="")  # a terminal known only to the store server
    stranger = Terminal(id=new_id(), store_id=new_id(), token="")
    shift_id, mine, foreign = new_id(), new_id(), new_id()

    answer = send(
        admin,
        relay,
        doc("shift", shift(terminal), shift_id),
        doc("receipt", receipt(terminal, shift_id), mine),
        doc("receipt", receipt(stranger, new_id()), foreign),
    )

    assert answer["held"] == [shift_id, mine]
    assert answer["rejected"] == [
        {"id": foreign, "reason": f"store_id {stranger.store_id} is not the sender's store {store_id}"}
    ]
    assert _get(admin, f"/api/v1/receipts/{mine}")["terminal_id"] == terminal.id


def test_a_z_report_before_its_shift_closes_the_shift_when_it_arrives(
    admin: TestClient, terminal: Terminal
) -> None:
    shift_id, z_id = new_id(), new_id()

    send(admin, terminal, doc("z_report", z_report(terminal, shift_id), z_id))
    assert _get(admin, "/api/v1/z-reports")["items"][0]["shift_id"] == shift_id
    send(admin, terminal, doc("shift", shift(terminal), shift_id))

    detail = _get(admin, f"/api/v1/shifts/{shift_id}")
    assert detail["closed_at"] == "2025-03-01T19:00:00Z"
    assert detail["z_report"]["id"] == z_id
    assert detail["z_report"]["totals"]["sales_sum"] == 15810
    assert [s["id"] for s in _get(admin, "/api/v1/shifts", closed="true")["items"]] == [shift_id]


def test_a_z_report_after_its_shift_closes_it_and_a_shift_without_one_stays_open(
    admin: TestClient, terminal: Terminal
) -> None:
    closing, still_open = new_id(), new_id()
    send(
        admin,
        terminal,
        doc("shift", shift(terminal, number=1), closing),
        doc("shift", shift(terminal, number=2, opened_at="2025-03-02T09:00:00+03:00"), still_open),
    )
    assert _get(admin, f"/api/v1/shifts/{closing}")["closed_at"] is None

    send(admin, terminal, doc("z_report", z_report(terminal, closing)))

    assert _get(admin, f"/api/v1/shifts/{closing}")["closed_at"] == "2025-03-01T19:00:00Z"
    assert [s["id"] for s in _get(admin, "/api/v1/shifts", closed="false")["items"]] == [still_open]
    assert [s["id"] for s in _get(admin, "/api/v1/shifts", **{"from": "2025-03-02"})["items"]] == [still_open]


def test_a_z_report_whose_payment_types_do_not_add_up_is_refused(
    admin: TestClient, terminal: Terminal
) -> None:
    report = z_report(terminal, new_id())
    report["totals"]["by_payment_type"][0]["sales"] = 100

    answer = send(admin, terminal, doc("z_report", report))

    assert answer["rejected"][0]["reason"] == "by_payment_type sales add up to 100 but sales_sum is 15810"


def test_a_shift_reads_back_with_its_cash_operations(admin: TestClient, terminal: Terminal) -> None:
    shift_id, cash_in, cash_out = new_id(), new_id(), new_id()
    send(
        admin,
        terminal,
        doc("shift", shift(terminal), shift_id),
        doc(
            "cash_operation",
            cash_operation(terminal, shift_id, kind="out", amount=5000, at="2025-03-01T18:00:00Z"),
            cash_out,
        ),
        doc("cash_operation", cash_operation(terminal, shift_id), cash_in),
        doc("cash_operation", cash_operation(terminal, new_id(), at="2025-03-02T18:00:00Z")),
    )

    detail = _get(admin, f"/api/v1/shifts/{shift_id}")

    assert detail["number"] == 1
    assert detail["opened_at"] == "2025-03-01T06:00:00Z"
    assert detail["business_day"] == "2025-03-01"
    assert detail["z_report"] is None
    assert [(op["id"], op["kind"], op["amount"]) for op in detail["cash_operations"]] == [
        (cash_in, "in", 100000),
        (cash_out, "out", 5000),
    ]
    assert detail["cash_operations"][0]["reason"] == "размен"
    outs = _get(admin, "/api/v1/cash-operations", kind="out")["items"]
    assert [op["id"] for op in outs] == [cash_out]
    assert len(_get(admin, "/api/v1/cash-operations", shift_id=shift_id)["items"]) == 2
    assert len(_get(admin, "/api/v1/cash-operations", **{"to": "2025-03-01"})["items"]) == 2
    assert admin.get(f"/api/v1/shifts/{new_id()}").status_code == 404


FISCAL = {
    "shift_number": 12,
    "document_number": 4321,
    "number_in_shift": 7,
    "fiscal_sign": "2818493172",
    "registered_at": "2025-03-01T10:01:05+03:00",
}


APPROVAL = {
    "action": "cancel_receipt",
    "permission": "cancel_receipt",
    "approved_by": "sidorova",
    "at": "2025-03-01T10:00:30+03:00",
}


def test_a_receipts_fiscal_mark_and_approvals_are_kept_and_shown(
    admin: TestClient, terminal: Terminal
) -> None:
    receipt_id, old_id = new_id(), new_id()
    sale = {
        **receipt(terminal, new_id()),
        "fiscal": FISCAL,
        "approvals": [
            {
                "action": "void_line",
                "permission": "void_line",
                "approved_by": "sidorova",
                "at": "2025-03-01T10:00:30+03:00",
                "line_no": 3,
            },
            {
                "action": "discount",
                "permission": "discount",
                "approved_by": "sidorova",
                "at": "2025-03-01T10:00:40+03:00",
            },
        ],
    }
    answer = send(
        admin, terminal, doc("receipt", sale, receipt_id), doc("receipt", receipt(terminal, new_id()), old_id)
    )
    assert answer == {"held": [receipt_id, old_id], "rejected": []}

    detail = _get(admin, f"/api/v1/receipts/{receipt_id}")
    assert detail["fiscal"] == {**FISCAL, "registered_at": "2025-03-01T07:01:05Z"}
    assert detail["approvals"] == [
        {
            "action": "void_line",
            "permission": "void_line",
            "approved_by": "sidorova",
            "at": "2025-03-01T07:00:30Z",
            "line_no": 3,
        },
        {
            "action": "discount",
            "permission": "discount",
            "approved_by": "sidorova",
            "at": "2025-03-01T07:00:40Z",
            "line_no": None,
        },
    ]
    old = _get(admin, f"/api/v1/receipts/{old_id}")  # a terminal that sends neither
    assert (old["fiscal"], old["approvals"]) == (None, [])


@pytest.mark.parametrize(
    ("breakage", "reason"),
    [
        (lambda r: r["fiscal"].update(shift_number=0), "fiscal.shift_number: Input should be greater than"),
        (lambda r: r["fiscal"].update(number_in_shift=-1), "fiscal.number_in_shift: Input should be greater"),
        (lambda r: r["fiscal"].update(fiscal_sign=""), "fiscal.fiscal_sign: String should have at least 1"),
        (
            lambda r: r["fiscal"].update(fiscal_sign="1" * 33),
            "fiscal.fiscal_sign: String should have at most",
        ),
        (lambda r: r["fiscal"].update(registered_at="2025-03-01T10:01:05"), "Input should have timezone"),
        (lambda r: r["fiscal"].pop("document_number"), "fiscal.document_number: Field required"),
        (lambda r: r.update(approvals=[{"action": "discount"}]), "approvals.0.permission: Field required"),
        (
            lambda r: r.update(approvals=[{**APPROVAL, "action": ""}]),
            "approvals.0.action: String should have at least 1",
        ),
        (lambda r: r.update(approvals=[APPROVAL] * 101), "approvals: List should have at most 100 items"),
    ],
)
def test_a_bad_fiscal_mark_or_approval_refuses_the_receipt(
    admin: TestClient, terminal: Terminal, breakage: Any, reason: str
) -> None:
    sale: dict[str, Any] = {**receipt(terminal, new_id()), "fiscal": dict(FISCAL), "approvals": [APPROVAL]}
    breakage(sale)
    receipt_id = new_id()
    answer = send(admin, terminal, doc("receipt", sale, receipt_id))
    assert answer["held"] == []
    assert reason in answer["rejected"][0]["reason"], answer["rejected"][0]["reason"]
    assert admin.get(f"/api/v1/receipts/{receipt_id}").status_code == 404


def test_a_cash_operations_fiscal_mark_and_supervisor_are_kept_and_shown(
    admin: TestClient, terminal: Terminal
) -> None:
    shift_id, approved, plain = new_id(), new_id(), new_id()
    out = {
        **cash_operation(terminal, shift_id, kind="out", amount=5000),
        "fiscal": FISCAL,
        "approved_by": "sidorova",
    }
    send(
        admin,
        terminal,
        doc("cash_operation", out, approved),
        doc("cash_operation", cash_operation(terminal, shift_id, at="2025-03-01T09:06:00+03:00"), plain),
    )
    shown = {op["id"]: op for op in _get(admin, "/api/v1/cash-operations", shift_id=shift_id)["items"]}
    assert shown[approved]["fiscal"] == {**FISCAL, "registered_at": "2025-03-01T07:01:05Z"}
    assert shown[approved]["approved_by"] == "sidorova"
    assert (shown[plain]["fiscal"], shown[plain]["approved_by"]) == (None, None)


def test_cash_operation_amount_must_be_positive_kopecks(admin: TestClient, terminal: Terminal) -> None:
    answer = send(admin, terminal, doc("cash_operation", cash_operation(terminal, new_id(), amount=0)))

    assert "amount: Input should be greater than 0" in answer["rejected"][0]["reason"]


# --- queries ----------------------------------------------------------------------------------------------


def test_receipts_page_by_cursor_in_closing_order(admin: TestClient, terminal: Terminal) -> None:
    shift_id = new_id()
    ids = [new_id() for _ in range(5)]
    send(
        admin,
        terminal,
        *(
            doc("receipt", receipt(terminal, shift_id, number=n, closed_at="2025-03-01T12:00:00+03:00"), i)
            for n, i in enumerate(ids, start=1)
        ),
    )
    seen: list[str] = []
    after = None
    for _ in range(4):
        page = _get(admin, "/api/v1/receipts", limit=2, **({"after": after} if after else {}))
        seen += [r["id"] for r in page["items"]]
        after = page["next"]
        if after is None:
            break
    assert seen == sorted(ids)


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"from": "2025-13-01"}, "from: '2025-13-01' is not a date; write YYYY-MM-DD"),
        ({"from": "yesterday"}, "from: 'yesterday' is neither a date (YYYY-MM-DD) nor a moment"),
        ({"to": "2025-03-01T10:00:00"}, "to: '2025-03-01T10:00:00' has no UTC offset; add one"),
        ({"from": "2025-03-02", "to": "2025-03-01"}, "from 2025-03-02 is after to 2025-03-01"),
        ({"to": "9999-12-31"}, "to: '9999-12-31' is not between the years 1900 and 2999"),
        ({"from": "0001-01-01T00:00:00+01:00"}, "is not between the years 1900 and 2999"),
        ({"after": "not-a-cursor"}, "after: not a cursor this server gave out"),
        ({"kind": "storno"}, "query.kind: Input should be 'sale' or 'return'"),
        ({"limit": "0"}, "query.limit: Input should be greater than or equal to 1"),
        ({"store_id": "a\x00b"}, "query.store_id: Value error, must not contain NUL characters"),
    ],
)
def test_bad_filters_are_refused_with_a_clear_message(
    admin: TestClient, params: dict[str, str], detail: str
) -> None:
    answer = admin.get("/api/v1/receipts", params=params)

    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert detail in answer.json()["detail"]


def test_a_moment_with_an_unescaped_plus_still_means_its_offset(
    admin: TestClient, terminal: Terminal
) -> None:
    send(admin, terminal, doc("receipt", receipt(terminal, new_id())))

    answer = admin.get("/api/v1/receipts?from=2025-03-01T10:01:00+03:00")

    assert answer.status_code == 200, answer.text
    assert len(answer.json()["items"]) == 1


def test_documents_are_for_readers_not_terminals(admin: TestClient, terminal: Terminal) -> None:
    for url in ("/api/v1/receipts", "/api/v1/shifts", "/api/v1/z-reports", "/api/v1/cash-operations"):
        assert admin.get(url, headers=terminal.headers).status_code == 403
        assert admin.get(url, headers={"Authorization": "Bearer nonsense"}).status_code == 401


def test_shifts_and_z_reports_racing_in_concurrent_batches_always_end_closed(
    admin: TestClient, terminal: Terminal
) -> None:
    ds = ds_of(admin)
    intake = Intake(ds.db, tables.center, documents.document_kinds(ds))
    source = Principal(kind="pos", id=terminal.id, scopes=frozenset({"sync"}), store_id=terminal.store_id)
    shift_ids = [new_id() for _ in range(12)]

    def race(shift_id: str) -> None:
        start = threading.Barrier(2)

        def hand_in(kind: str, payload: dict[str, Any], doc_id: str) -> None:
            start.wait()
            answer = intake.accept(source, [DocumentIn(id=doc_id, kind=kind, payload=payload)])
            assert answer.held == [doc_id], answer

        with ThreadPoolExecutor(2) as pool:
            done = [
                pool.submit(hand_in, "shift", shift(terminal), shift_id),
                pool.submit(hand_in, "z_report", z_report(terminal, shift_id), new_id()),
            ]
            for future in done:
                future.result()

    for shift_id in shift_ids:
        race(shift_id)

    still_open = _get(admin, "/api/v1/shifts", closed="false", limit=100)["items"]
    assert still_open == []
    assert len(_get(admin, "/api/v1/shifts", closed="true", limit=100)["items"]) == len(shift_ids)
