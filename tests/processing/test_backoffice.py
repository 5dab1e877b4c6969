"""The back office's side of the processing center through its HTTP API: customers, cards (issue,
block, lose and replace), adjustments that need a reason and who made them, journals, programs."""

from __future__ import annotations

from sqlalchemy import select

from osuite.processing import tables
from tests.processing.support import Center, line, ok, published, refused, tx


def test_customers_are_added_changed_and_found_by_phone(center: Center) -> None:
    anna = center.customer("Анна Петрова", "+79001234567")
    center.customer("Борис", "+79007654321")
    changed = ok(
        center.admin(
            "PUT", f"/api/v1/customers/{anna['id']}", json={"name": "Анна Сидорова", "phone": "+79001234567"}
        )
    )
    assert changed["name"] == "Анна Сидорова"
    found = ok(center.admin("GET", "/api/v1/customers", params={"phone": "+79001234567"}))
    assert [c["id"] for c in found] == [anna["id"]]
    refused(center.admin("GET", "/api/v1/customers/nobody"), 404, "customer_not_found")
    twice = center.admin("POST", "/api/v1/customers", json={"id": anna["id"], "name": "X"})
    assert (
        refused(twice, 409, "already_exists")["detail"] == f"A customer with id {anna['id']} exists already"
    )


def test_cards_are_issued_on_new_or_existing_accounts(center: Center) -> None:
    customer = center.customer()
    first = center.card("100", customer_id=customer["id"])
    second = center.card("101", account_id=first["account_id"])
    assert second["account_id"] == first["account_id"]
    account = center.account(first["account_id"])
    assert [c["number"] for c in account["cards"]] == ["100", "101"]
    assert (account["type"], account["program_id"], account["customer_id"]) == (
        "bonus",
        "default",
        customer["id"],
    )
    refused(center.admin("POST", "/api/v1/cards", json={"number": "100"}), 409, "already_exists")
    no_nominal = center.admin("POST", "/api/v1/cards", json={"number": "G", "type": "gift"})
    assert refused(no_nominal, 422, "invalid_input")["detail"] == "A gift card needs its nominal"
    refused(
        center.admin("POST", "/api/v1/cards", json={"number": "X", "program_id": "nope"}),
        404,
        "program_not_found",
    )


def test_a_lost_card_is_replaced_and_the_account_stays(center: Center) -> None:
    account = center.bonus_card("100", points=5_000)
    lost = ok(center.admin("POST", "/api/v1/cards/100/lost", json={}))
    assert (lost["status"], lost["replaced_by"]) == ("lost", None)
    refused(center.admin("POST", "/api/v1/cards/100/unblock"), 409, "card_lost")
    replaced = ok(center.admin("POST", "/api/v1/cards/100/lost", json={"replacement": "200"}))
    assert (replaced["status"], replaced["replaced_by"]) == ("lost", "200")
    assert ok(center.admin("GET", "/api/v1/cards/200"))["account_id"] == account
    assert center.balance(account)["active"] == 5_000
    again = center.admin("POST", "/api/v1/cards/100/lost", json={"replacement": "300"})
    assert refused(again, 422, "invalid_input")["detail"] == "Card 100 was replaced by card 200 already"
    with center.p.db.read() as conn:
        actions = conn.execute(select(tables.audit.c.action).order_by(tables.audit.c.id)).scalars().all()
    assert actions[-2:] == ["card_lost", "card_replaced"]


def test_an_adjustment_needs_a_reason_and_says_who_made_it(center: Center) -> None:
    account = center.bonus_card("100")
    no_reason = refused(center.adjust(account, 500, reason=" "), 422, "invalid_input")
    assert no_reason["detail"] == "The reason for the adjustment must be given"
    assert center.journal(account) == []
    added = ok(center.adjust(account, 500, reason="complaint 17", actor="manager Petrova"))
    assert (added["amount"], added["balance"]["active"]) == (500, 500)
    by_key = ok(center.adjust(account, -200, reason="double accrual"))
    taken = refused(center.adjust(account, -301, reason="error"), 409, "insufficient_balance")
    assert taken["detail"] == "3.01 points were asked for, but only 3.00 are available"
    movements = center.journal(account)
    assert [(m["amount"], m["reason"], m["actor"]) for m in movements] == [
        (500, "complaint 17", "manager Petrova"),
        (-200, "double accrual", "back office"),
    ]
    assert by_key["balance"]["active"] == 300


def test_an_adjustment_with_a_transaction_id_is_applied_once(center: Center) -> None:
    account = center.bonus_card("100")
    transaction_id = tx()
    first = center.adjust(account, 500, reason="promo", transaction_id=transaction_id)
    again = center.adjust(account, 500, reason="promo", transaction_id=transaction_id)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    refused(
        center.adjust(account, 501, reason="promo", transaction_id=transaction_id), 409, "conflicting_retry"
    )
    assert center.balance(account)["active"] == 500


def test_a_customers_journal_shows_every_account_and_movement(center: Center) -> None:
    customer = center.customer()
    card = center.card("100", customer_id=customer["id"])
    sale = {
        "transaction_id": tx(),
        "card": "100",
        "receipt_id": "r-1",
        "lines": [line(1, 2_000)],
        "payments": [{"method": "cash", "amount": 2_000}],
    }
    ok(center.pos("accrue", sale))
    journal = ok(center.admin("GET", f"/api/v1/customers/{customer['id']}/journal"))
    [account] = journal["accounts"]
    assert account["account_id"] == card["account_id"]
    assert [(m["kind"], m["amount"], m["receipt_id"]) for m in account["movements"]] == [
        ("accrual", 100, "r-1")
    ]


def test_programs_are_versioned_and_checked_by_the_rules(center: Center) -> None:
    [default] = ok(center.admin("GET", "/api/v1/programs"))
    assert (default["id"], default["version"], default["settings"]["points_share"]) == ("default", 1, "50")
    body = {"name": "Gold", "accrual_percent": "7.5", "levels": [{"turnover": 0, "percent": "2"}]}
    made = ok(center.admin("POST", "/api/v1/programs", json={**body, "id": "gold"}))
    assert (made["version"], made["settings"]["accrual_percent"]) == (1, "7.5")
    changed = ok(center.admin("PUT", "/api/v1/programs/gold", json={**body, "accrual_percent": "8"}))
    assert (changed["version"], changed["settings"]["accrual_percent"]) == (2, "8")
    twins = {**body, "levels": [{"turnover": 0, "percent": "2"}, {"turnover": 0, "percent": "3"}]}
    same_level = center.admin("PUT", "/api/v1/programs/gold", json=twins)
    assert (
        refused(same_level, 422, "invalid_input")["detail"]
        == "Two discount levels start at the same turnover"
    )
    assert refused(center.admin("PUT", "/api/v1/programs/x", json=body), 404, "program_not_found")
    with center.p.db.read() as conn:
        versions = conn.execute(
            select(tables.program_versions.c.version).where(tables.program_versions.c.program_id == "gold")
        ).scalars()
        assert sorted(versions) == [1, 2]


def test_the_root_publishes_what_changes_in_its_change_log(center: Center) -> None:
    account = center.bonus_card("100", points=500)
    published(center.p)  # movements follow a moment later, in batches
    with center.p.db.read() as conn:
        c = tables.center.changes.c
        entities = conn.execute(select(c.entity, c.key).order_by(c.seq)).all()
    kinds = [entity for entity, _key in entities]
    assert kinds[0] == "program"
    assert {"customer", "account", "card", "movement"} <= set(kinds)
    assert ("account", account) in entities
