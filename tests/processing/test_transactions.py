"""The POS's transactions through the HTTP API of a real app: lookups, holds, commits, cancels,
accruals and returns; retries that never apply twice and conflicting retries refused; cards that are
blocked or lost refused with words a cashier understands."""

from __future__ import annotations

from decimal import Decimal

from tests.processing.support import Center, Clock, line, ok, refused, tx

CARD = "2000001"


def test_a_lookup_shows_the_customer_the_balance_and_what_points_can_pay(center: Center) -> None:
    account = center.bonus_card(CARD, points=10_000)
    answer = ok(center.pos("lookup", {"card": CARD, "lines": [line(1, 6_000), line(2, 2_000, "bread")]}))
    assert answer["customer"]["name"] == "Анна Петрова"
    assert (answer["account_id"], answer["account_type"], answer["status"]) == (account, "bonus", "active")
    assert answer["balance"] == {
        "active": 10_000,
        "pending": 0,
        "held": 0,
        "available": 10_000,
        "spendable": 10_000,
    }
    assert (answer["cap"], answer["spendable"]) == (4_000, 4_000)  # the default program: half a receipt
    assert Decimal(answer["discount_percent"]) == 0


def test_a_hold_counts_against_the_balance_until_it_expires(center: Center, clock: Clock) -> None:
    account = center.bonus_card(CARD, points=10_000)
    hold = ok(
        center.pos("hold", {"transaction_id": tx(), "card": CARD, "receipt_id": "r-1", "amount": 7_000})
    )
    assert hold["balance"]["available"] == 3_000
    assert center.balance(account)["held"] == 7_000
    too_much = refused(
        center.pos("hold", {"transaction_id": tx(), "card": CARD, "receipt_id": "r-2", "amount": 3_001}),
        409,
        "insufficient_balance",
    )
    assert too_much["detail"] == "30.01 points were asked for, but only 30.00 are available"
    clock.advance(minutes=16)  # the default hold lasts 15 minutes
    assert center.balance(account)["available"] == 10_000
    late = center.pos(
        "commit", {"transaction_id": tx(), "card": CARD, "hold_id": hold["hold_id"], "amount": 7_000}
    )
    assert "expired at 2026-03-01T12:15:00" in refused(late, 409, "hold_expired")["detail"]
    assert center.balance(account)["available"] == 10_000


def test_a_commit_spends_at_most_its_hold_and_closes_it(center: Center) -> None:
    account = center.bonus_card(CARD, points=10_000)
    hold = ok(
        center.pos("hold", {"transaction_id": tx(), "card": CARD, "receipt_id": "r-1", "amount": 3_000})
    )
    commit = {"card": CARD, "hold_id": hold["hold_id"]}
    over = refused(
        center.pos("commit", {**commit, "transaction_id": tx(), "amount": 3_001}), 409, "commit_over_hold"
    )
    assert over["detail"] == "30.01 points cannot be spent from a hold of 30.00"
    spent = ok(center.pos("commit", {**commit, "transaction_id": tx(), "amount": 2_500}))
    assert spent["amount"] == 2_500
    assert spent["balance"] == {
        "active": 7_500,
        "pending": 0,
        "held": 0,
        "available": 7_500,
        "spendable": 7_500,
    }
    refused(center.pos("commit", {**commit, "transaction_id": tx(), "amount": 1}), 409, "hold_closed")
    refused(center.pos("cancel", {**commit, "transaction_id": tx()}), 409, "hold_closed")
    [redemption] = [m for m in center.journal(account) if m["kind"] == "redemption"]
    assert (redemption["refers_to"], redemption["receipt_id"]) == (hold["hold_id"], "r-1")


def test_a_cancelled_hold_lets_its_points_go(center: Center) -> None:
    account = center.bonus_card(CARD, points=10_000)
    hold = ok(
        center.pos("hold", {"transaction_id": tx(), "card": CARD, "receipt_id": "r-1", "amount": 3_000})
    )
    cancelled = ok(center.pos("cancel", {"transaction_id": tx(), "card": CARD, "hold_id": hold["hold_id"]}))
    assert cancelled["balance"]["available"] == 10_000
    assert center.balance(account)["held"] == 0
    refused(
        center.pos("cancel", {"transaction_id": tx(), "card": CARD, "hold_id": "0000-nope"}),
        404,
        "hold_not_found",
    )


def test_points_pay_at_most_the_programs_share_of_a_receipt(center: Center) -> None:
    center.bonus_card(CARD, points=10_000)
    body = {
        "transaction_id": tx(),
        "card": CARD,
        "receipt_id": "r-1",
        "amount": 2_001,
        "lines": [line(1, 4_000)],
    }
    assert refused(center.pos("hold", body), 409, "over_cap")["detail"] == (
        "Points can pay at most 20.00 of this receipt, not 20.01"
    )


def test_a_retry_gets_the_same_answer_and_changes_nothing(center: Center) -> None:
    account = center.bonus_card(CARD, points=10_000)
    hold_body = {"transaction_id": tx(), "card": CARD, "receipt_id": "r-1", "amount": 3_000}
    first = center.pos("hold", hold_body)
    again = center.pos("hold", {**hold_body, "card": f" {CARD} "})  # the same request, typed differently
    assert ok(again) == ok(first)
    assert again.headers["Idempotent-Replay"] == "true"
    assert "Idempotent-Replay" not in first.headers
    commit_body = {"transaction_id": tx(), "card": CARD, "hold_id": first.json()["hold_id"], "amount": 3_000}
    assert ok(center.pos("commit", commit_body)) == ok(center.pos("commit", commit_body))
    sale = {
        "transaction_id": tx(),
        "card": CARD,
        "receipt_id": "r-1",
        "lines": [line(1, 10_000)],
        "payments": [{"method": "bonus", "amount": 3_000}, {"method": "cash", "amount": 7_000}],
    }
    assert ok(center.pos("accrue", sale)) == ok(center.pos("accrue", sale))
    kinds = [m["kind"] for m in center.journal(account)]
    assert kinds == ["adjustment", "hold", "redemption", "accrual"]
    assert center.balance(account)["active"] == 10_000 - 3_000 + 350


def test_a_retry_with_other_contents_is_refused_and_changes_nothing(center: Center) -> None:
    account = center.bonus_card(CARD, points=10_000)
    transaction_id = tx()
    ok(
        center.pos(
            "hold", {"transaction_id": transaction_id, "card": CARD, "receipt_id": "r-1", "amount": 3_000}
        )
    )
    before = center.journal(account)
    for other in (
        {"transaction_id": transaction_id, "card": CARD, "receipt_id": "r-1", "amount": 3_001},
        {"transaction_id": transaction_id, "card": CARD, "receipt_id": "r-2", "amount": 3_000},
    ):
        problem = refused(center.pos("hold", other), 409, "conflicting_retry")
        assert problem["detail"].startswith(f"The transaction {transaction_id} was already carried out")
        assert problem["params"] == {"transaction_id": transaction_id}
    same_id_other_call = {"transaction_id": transaction_id, "card": CARD, "hold_id": "x", "amount": 1}
    refused(center.pos("commit", same_id_other_call), 409, "conflicting_retry")
    assert center.journal(account) == before


def test_a_closed_receipt_earns_once_by_the_program(center: Center) -> None:
    account = center.bonus_card(CARD)
    sale = {
        "transaction_id": tx(),
        "card": CARD,
        "receipt_id": "r-1",
        "lines": [line(1, 6_000), line(2, 4_000, "bread")],
        "payments": [{"method": "card", "amount": 10_000}],
    }
    earned = ok(center.pos("accrue", sale))
    assert earned["points"] == 500
    assert [(x["line_no"], x["points"]) for x in earned["lines"]] == [(1, 300), (2, 200)]
    assert (earned["turnover"], earned["balance"]["active"]) == (10_000, 500)
    twice = refused(center.pos("accrue", {**sale, "transaction_id": tx()}), 409, "already_accrued")
    assert twice["detail"] == f"Receipt r-1 was already accrued by transaction {sale['transaction_id']}"
    unpaid = {
        **sale,
        "transaction_id": tx(),
        "receipt_id": "r-2",
        "payments": [{"method": "cash", "amount": 1}],
    }
    assert refused(center.pos("accrue", unpaid), 422, "invalid_input")["detail"] == (
        "The payments of 0.01 do not add up to the receipt's 100.00"
    )
    assert center.balance(account)["active"] == 500


def test_points_activate_and_expire_as_the_program_says(center: Center, clock: Clock) -> None:
    program = {
        "name": "Slow",
        "id": "slow",
        "accrual_percent": "10",
        "activation_days": 14,
        "expiry_days": 30,
    }
    ok(center.admin("POST", "/api/v1/programs", json=program))
    customer = center.customer()
    account = center.card(CARD, customer_id=customer["id"], program_id="slow")["account_id"]
    sale = {
        "transaction_id": tx(),
        "card": CARD,
        "receipt_id": "r-1",
        "lines": [line(1, 10_000)],
        "payments": [{"method": "cash", "amount": 10_000}],
    }
    earned = ok(center.pos("accrue", sale))
    assert (earned["activates_at"], earned["expires_at"]) == (
        "2026-03-15T12:00:00+00:00",
        "2026-04-14T12:00:00+00:00",
    )
    assert center.balance(account) == {
        "active": 0,
        "pending": 1_000,
        "held": 0,
        "available": 0,
        "spendable": 0,
    }
    clock.advance(days=14)
    assert center.balance(account)["available"] == 1_000
    clock.advance(days=30)
    assert center.balance(account)["available"] == 0
    assert [m["kind"] for m in center.journal(account)] == ["accrual", "expiry"]


def test_a_return_takes_back_and_gives_back_in_proportion_to_what_comes_back(center: Center) -> None:
    account = center.bonus_card(CARD, points=10_000)
    hold = ok(
        center.pos("hold", {"transaction_id": tx(), "card": CARD, "receipt_id": "r-1", "amount": 3_000})
    )
    ok(
        center.pos(
            "commit", {"transaction_id": tx(), "card": CARD, "hold_id": hold["hold_id"], "amount": 3_000}
        )
    )
    sale = {
        "transaction_id": tx(),
        "card": CARD,
        "receipt_id": "r-1",
        "lines": [line(1, 9_000, "cheese", quantity="3"), line(2, 3_000, "bread")],
        "payments": [{"method": "bonus", "amount": 3_000}, {"method": "card", "amount": 9_000}],
    }
    earned = ok(center.pos("accrue", sale))
    assert [x["points"] for x in earned["lines"]] == [338, 112]  # 5 % of what was not paid by points
    balance = center.balance(account)["active"]
    assert balance == 10_000 - 3_000 + 450

    def back(quantity: str) -> dict[str, object]:
        body = {
            "transaction_id": tx(),
            "card": CARD,
            "receipt_id": "r-1",
            "lines": [{"line_no": 1, "quantity": quantity}],
        }
        return ok(center.pos("return", body))  # type: ignore[no-any-return]

    first = back("1")
    assert (first["reversed"], first["given_back"], first["unrecovered"]) == (
        113,
        750,
        0,
    )  # ⅓ of 338, of 2250
    second = back("2")
    assert (second["reversed"], second["given_back"]) == (225, 1_500)  # exactly what was left
    assert second["turnover"] == 3_000
    refused(
        center.pos(
            "return",
            {
                "transaction_id": tx(),
                "card": CARD,
                "receipt_id": "r-1",
                "lines": [{"line_no": 1, "quantity": "1"}],
            },
        ),
        409,
        "return_too_large",
    )
    assert center.balance(account)["active"] == balance - 338 + 2_250
    missing = {
        "transaction_id": tx(),
        "card": CARD,
        "receipt_id": "r-9",
        "lines": [{"line_no": 1, "quantity": "1"}],
    }
    assert refused(center.pos("return", missing), 404, "sale_not_found")["detail"] == (
        "No sale with receipt r-9 was accrued to this card's account"
    )


def test_a_blocked_or_lost_card_is_refused_with_a_clear_message(center: Center) -> None:
    account = center.bonus_card(CARD, points=10_000)
    ok(center.admin("POST", f"/api/v1/cards/{CARD}/block"))
    blocked = refused(center.pos("lookup", {"card": CARD}), 409, "card_blocked")
    assert (blocked["detail"], blocked["template"]) == (f"Card {CARD} is blocked", "Card {number} is blocked")
    refused(
        center.pos("hold", {"transaction_id": tx(), "card": CARD, "receipt_id": "r", "amount": 1}),
        409,
        "card_blocked",
    )
    ok(center.admin("POST", f"/api/v1/cards/{CARD}/unblock"))
    ok(center.pos("lookup", {"card": CARD}))
    ok(center.admin("POST", f"/api/v1/cards/{CARD}/lost", json={"replacement": "2000002"}))
    lost = refused(center.pos("lookup", {"card": CARD}), 409, "card_lost")
    assert lost["detail"] == f"Card {CARD} was reported lost and replaced by card 2000002"
    replacement = ok(center.pos("lookup", {"card": "2000002"}))
    assert (replacement["account_id"], replacement["balance"]["active"]) == (account, 10_000)
    unknown = refused(center.pos("lookup", {"card": "999"}), 404, "card_not_found")
    assert unknown["detail"] == "There is no card 999"


def test_a_gift_card_pays_any_part_until_it_is_empty(center: Center) -> None:
    card = center.card("GIFT-1", type="gift", nominal=300_000)
    assert center.balance(card["account_id"])["available"] == 300_000
    answer = ok(center.pos("lookup", {"card": "GIFT-1", "total": 120_000}))
    assert (answer["cap"], answer["spendable"], answer["customer"]) == (120_000, 120_000, None)
    hold = ok(
        center.pos("hold", {"transaction_id": tx(), "card": "GIFT-1", "receipt_id": "r", "amount": 120_000})
    )
    ok(
        center.pos(
            "commit",
            {"transaction_id": tx(), "card": "GIFT-1", "hold_id": hold["hold_id"], "amount": 120_000},
        )
    )
    assert center.balance(card["account_id"])["available"] == 180_000
    refused(
        center.pos(
            "accrue",
            {
                "transaction_id": tx(),
                "card": "GIFT-1",
                "receipt_id": "r",
                "lines": [line(1, 100)],
                "payments": [{"method": "cash", "amount": 100}],
            },
        ),
        409,
        "wrong_account_type",
    )


def test_a_discount_card_gives_the_level_of_the_customers_turnover(center: Center) -> None:
    program = {
        "id": "levels",
        "name": "Discount levels",
        "levels": [{"turnover": 0, "percent": "3"}, {"turnover": 1_000_000, "percent": "5"}],
    }
    ok(center.admin("POST", "/api/v1/programs", json=program))
    customer = center.customer()
    center.card("D-1", customer_id=customer["id"], type="discount", program_id="levels")
    assert ok(center.pos("lookup", {"card": "D-1"}))["discount_percent"] == "3"
    sale = {
        "transaction_id": tx(),
        "card": "D-1",
        "receipt_id": "r-1",
        "lines": [line(1, 1_000_000)],
        "payments": [{"method": "cash", "amount": 1_000_000}],
    }
    earned = ok(center.pos("accrue", sale))
    assert (earned["points"], earned["turnover"]) == (0, 1_000_000)
    looked = ok(center.pos("lookup", {"card": "D-1"}))
    assert (looked["discount_percent"], looked["spendable"]) == ("5", 0)
    refused(
        center.pos("hold", {"transaction_id": tx(), "card": "D-1", "receipt_id": "r-2", "amount": 1}),
        409,
        "wrong_account_type",
    )


def test_the_pos_needs_its_token_and_may_not_manage(center: Center) -> None:
    assert center.client.post("/api/v1/transactions/lookup", json={"card": CARD}).status_code == 401
    as_pos = {"Authorization": f"Bearer {center.pos_token}"}
    forbidden = center.client.post("/api/v1/customers", json={"name": "X"}, headers=as_pos)
    assert forbidden.status_code == 403
    assert center.client.get("/healthz").json()["role"] == "root"
