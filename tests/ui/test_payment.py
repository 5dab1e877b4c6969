"""Paying on the sale screen: cash with the change shown large, part in cash and the rest by card, and a
card the bank declines paid in cash instead; then the next customer starts on an empty receipt."""

from __future__ import annotations

import math

import pytest
from playwright.sync_api import Page, expect

from tests.support.store import Store
from tests.ui.screen import (
    GOODS,
    SCAN,
    action,
    dialog,
    lines,
    login,
    money_text,
    next_customer,
    pay_cash,
    sell,
    shot,
)

pytestmark = pytest.mark.ui

DECLINED = "Отказ банка: карта заблокирована"


def _closed_receipts(store: Store) -> dict[str, dict[str, object]]:
    return store.files.receipts("closed")


def test_cash_over_the_total_shows_the_change_then_the_next_customer(
    page: Page, url: str, store: Store
) -> None:
    before = _closed_receipts(store)
    login(page, url)
    total = sell(page, GOODS.piece(5), GOODS.piece(6))
    tendered = math.ceil((total + 1) / 100_00) * 100_00  # the next round hundred rubles
    expect(page.locator("#total")).to_have_text(money_text(total))

    action(page, "pay").click()
    payment = dialog(page, "payment")
    expect(payment.locator("#pay-due")).to_have_text(money_text(total))
    expect(payment.locator('input[name="amount"]')).to_be_focused()
    shot(page, "payment")
    page.keyboard.press("Escape")  # not yet: back to the receipt, nothing paid
    expect(dialog(page, "payment")).to_have_count(0)
    expect(lines(page)).to_have_count(2)

    paid = pay_cash(page, total, tendered)
    change = dialog(page, "change").locator("#change")
    expect(change).to_have_text(money_text(paid.change))
    size = float(change.evaluate("e => parseFloat(getComputedStyle(e).fontSize)"))
    body = float(page.evaluate("() => parseFloat(getComputedStyle(document.body).fontSize)"))
    assert size >= 2 * body, f"the change is not large: {size}px against {body}px"
    shot(page, "change")

    (closed,) = [r for i, r in _closed_receipts(store).items() if i not in before]
    assert closed["total"] == total

    page.keyboard.press("Enter")  # any key: the next customer
    expect(dialog(page, "change")).to_have_count(0)
    expect(lines(page)).to_have_count(0)
    expect(page.locator("#total")).to_have_text(money_text(0))
    expect(page.locator(SCAN)).to_be_focused()
    sell(page, GOODS.piece(7))  # and selling goes on
    expect(page.locator("#total")).to_have_text(money_text(GOODS.piece(7).price))


def test_part_in_cash_and_the_rest_by_card(page: Page, url: str, store: Store) -> None:
    login(page, url)
    total = sell(page, GOODS.piece(8), GOODS.piece(9))
    part = total // 200 * 100  # about half, in whole rubles

    page.keyboard.press("F12")
    payment = dialog(page, "payment")
    payment.locator('input[name="amount"]').fill(str(part // 100))
    payment.locator('button[data-action="pay-cash"]').click()
    expect(payment.locator(".payment")).to_have_count(1)
    expect(payment.locator("#pay-due")).to_have_text(money_text(total - part))
    expect(dialog(page, "change")).to_have_count(0)

    payment.locator('button[data-action="pay-card"]').click()  # the amount left empty: what is due
    expect(dialog(page, "change")).to_be_visible()
    expect(dialog(page, "change").locator("#change")).to_have_text(money_text(0))
    operations = store.card_operations()
    assert operations and operations[-1]["amount"] == total - part, operations[-1:]
    next_customer(page)


def test_a_declined_card_says_so_and_the_customer_pays_cash(page: Page, url: str, store: Store) -> None:
    store.card_mode(mode="decline", count=1, decline_message=DECLINED)
    before = _closed_receipts(store)
    login(page, url)
    total = sell(page, GOODS.piece(11))

    page.keyboard.press("F12")
    payment = dialog(page, "payment")
    payment.locator('button[data-action="pay-card"]').click()
    declined = page.get_by_text(DECLINED).first
    expect(declined).to_be_visible()
    expect(dialog(page, "change")).to_have_count(0)
    expect(payment.locator("#pay-due")).to_have_text(money_text(total))  # still all to pay
    expect(lines(page)).to_have_count(1)
    shot(page, "card-declined")
    assert [r for i, r in _closed_receipts(store).items() if i not in before] == []

    payment.locator('button[data-action="pay-cash"]').click()
    expect(dialog(page, "change")).to_be_visible()
    (closed,) = [i for i in _closed_receipts(store) if i not in before]
    approved = [p["method"] for p in store.files.payments(closed) if p["status"] == "approved"]
    assert approved == ["cash"]
    next_customer(page)
