"""What a cashier does to a receipt besides selling: put it aside and bring it back, void a line with a
supervisor's approval, cancel it, and take goods back by the sale's receipt number."""

from __future__ import annotations

import math

import pytest
from playwright.sync_api import Page, expect

from tests.support.store import Store
from tests.support.terminal import eventually
from tests.ui.screen import (
    GOODS,
    SCAN,
    SUPERVISOR_NAME,
    Goods,
    action,
    dialog,
    has_class,
    keys,
    lines,
    login,
    money_in,
    money_text,
    named,
    sell,
    shot,
)

pytestmark = pytest.mark.ui


def test_a_held_receipt_comes_back_with_its_lines(page: Page, url: str) -> None:
    first, second, meanwhile = GOODS.piece(12), GOODS.piece(13), GOODS.piece(14)
    login(page, url)
    total = sell(page, first, second)

    page.keyboard.press("F6")
    expect(lines(page)).to_have_count(0)
    expect(page.locator("#total")).to_have_text(money_text(0))
    expect(page.locator(SCAN)).to_be_focused()
    sell(page, meanwhile)  # the next customer is served meanwhile, and pays
    page.keyboard.press("F12")
    dialog(page, "payment").locator('button[data-action="pay-cash"]').click()
    expect(dialog(page, "change")).to_be_visible()
    page.keyboard.press("Enter")
    expect(lines(page)).to_have_count(0)

    page.keyboard.press("F7")
    held = dialog(page, "held").locator("li.held")
    expect(held).to_have_count(1)
    expect(held).to_contain_text(money_in(total))
    shot(page, "held")
    held.locator('button[data-action="resume"]').click()
    expect(dialog(page, "held")).to_have_count(0)
    expect(lines(page).locator(".name")).to_have_text([named(first), named(second)])
    expect(page.locator("#total")).to_have_text(money_text(total))
    expect(page.locator(SCAN)).to_be_focused()

    page.keyboard.press("F7")  # nothing is held any more
    expect(dialog(page, "held")).to_be_visible()
    expect(dialog(page, "held").locator("li.held")).to_have_count(0)


def test_voiding_a_line_needs_a_supervisors_pin(page: Page, url: str, store: Store) -> None:
    kept, voided = GOODS.piece(15), GOODS.piece(16)
    login(page, url)  # the cashier may not void lines
    sell(page, kept, voided)

    page.keyboard.press("F4")  # the last line, unless another is selected
    approval = dialog(page, "approval")
    expect(approval).to_be_visible()
    pin = approval.locator('input[name="supervisor_pin"]')
    expect(pin).to_be_focused()
    shot(page, "approval")

    keys(page, "4321\n")
    expect(approval.locator(".dialog-message")).to_be_visible()
    expect(approval.locator(".dialog-message")).not_to_have_text("")
    expect(dialog(page, "approval")).to_be_visible()
    expect(lines(page).last).not_to_have_class(has_class("voided"))
    shot(page, "approval-refused")

    pin.fill("9999")
    pin.press("Enter")
    expect(dialog(page, "approval")).to_have_count(0)
    expect(lines(page)).to_have_count(2)  # still shown, struck through
    expect(lines(page).last).to_have_class(has_class("voided"))
    expect(lines(page).first).not_to_have_class(has_class("voided"))
    expect(page.locator("#total")).to_have_text(money_text(kept.price))
    expect(page.locator(SCAN)).to_be_focused()

    till = store.till()
    try:
        receipt = till.get("/receipt")
    finally:
        till.close()
    assert [(line["name"], line["voided"]) for line in receipt["lines"]] == [
        (kept.name, False),
        (voided.name, True),
    ]
    assert any(SUPERVISOR_NAME in str(a) or "sidorova" in str(a) for a in receipt["approvals"]), receipt


def test_the_selected_line_is_the_one_voided(page: Page, url: str) -> None:
    first, second, third = GOODS.piece(17), GOODS.piece(18), GOODS.piece(19)
    login(page, url)
    total = sell(page, first, second, third)
    lines(page).nth(0).click()  # the cashier picks the first line...
    page.keyboard.press("ArrowDown")  # ...and moves to the second
    page.keyboard.press("F4")
    dialog(page, "approval").locator('input[name="supervisor_pin"]').fill("9999")
    dialog(page, "approval").locator('input[name="supervisor_pin"]').press("Enter")
    expect(lines(page).nth(1)).to_have_class(has_class("voided"))
    expect(lines(page).nth(0)).not_to_have_class(has_class("voided"))
    expect(lines(page).nth(2)).not_to_have_class(has_class("voided"))
    expect(page.locator("#total")).to_have_text(money_text(total - second.price))


def test_a_pin_typed_at_once_by_a_card_reader_is_taken_and_never_put_in_the_address(
    page: Page, url: str
) -> None:
    """A supervisor's card reader types the PIN and Enter the instant the dialog appears."""
    login(page, url)
    products = [GOODS.piece(20 + n) for n in range(3)]
    sell(page, *products)
    for n in (2, 1, 0):
        page.keyboard.press("F4")
        expect(dialog(page, "approval").locator('input[name="supervisor_pin"]')).to_be_focused()
        page.keyboard.type("9999\n")  # no pause: as fast as a reader
        expect(lines(page).nth(n)).to_have_class(has_class("voided"))
        expect(dialog(page, "approval")).to_have_count(0)
        assert "9999" not in page.url, page.url


def test_cancelling_the_receipt_asks_a_supervisor_and_empties_it(page: Page, url: str) -> None:
    login(page, url)
    sell(page, GOODS.piece(20))
    action(page, "cancel").click()
    asking = dialog(page, "cancel")  # are you sure?
    expect(asking).to_be_visible()
    asking.locator('button[data-action="confirm-cancel"]').click()
    approval = dialog(page, "approval")
    expect(approval).to_be_visible()
    expect(lines(page)).to_have_count(1)  # not without a supervisor
    approval.locator('input[name="supervisor_pin"]').fill("9999")
    approval.locator('input[name="supervisor_pin"]').press("Enter")
    expect(lines(page)).to_have_count(0)
    expect(page.locator("#total")).to_have_text(money_text(0))


def test_a_return_by_the_sales_receipt_number(page: Page, url: str, store: Store) -> None:
    sold, kept = GOODS.piece(21), GOODS.piece(22)
    till = store.till()
    try:  # the customer bought two things earlier today
        till.scan(Goods.code(sold))
        receipt = till.scan(Goods.code(kept))
        sale = till.pay("cash", amount=math.ceil(receipt["due"] / 100_00) * 100_00)
    finally:
        till.close()
    assert sale["status"] == "closed", sale
    returns_before = _returns(store)

    login(page, url)
    page.keyboard.press("F8")
    returning = dialog(page, "return")
    number = returning.locator('input[name="number"]')
    expect(number).to_be_focused()
    keys(page, f"{sale['number']}\n")
    found = returning.locator("li.sale")
    expect(found).to_have_count(1)
    found.locator('button[data-action="start-return"]').click()

    originals = page.locator("#dialog tr.sale-line")
    expect(originals).to_have_count(2)
    line = originals.filter(has_text=sold.name)
    shot(page, "return")
    line.locator('button[data-action="return-line"]').click()
    expect(lines(page)).to_have_count(1)
    expect(lines(page).first.locator(".name")).to_have_text(named(sold))
    expect(page.locator("#total")).to_have_text(money_text(sold.price))

    dialog(page, "return_lines").locator('button[data-action="refund"]').click()
    given_back = dialog(page, "change")  # the cash to hand back, shown like change
    expect(given_back.locator("#change")).to_have_text(money_text(sold.price))
    shot(page, "return-done")

    def registered() -> list[dict[str, object]] | None:
        new = {i: r for i, r in _returns(store).items() if i not in returns_before}
        return list(new.values()) or None

    (refund,) = eventually(registered, timeout=10, what="the return to be closed")
    assert refund["total"] == sold.price
    documents = store.registrar.receipts()[str(refund["id"])]
    assert [(d["type"], d["total"]) for d in documents] == [("sellReturn", sold.price)]
    page.keyboard.press("Enter")
    expect(dialog(page, "change")).to_have_count(0)
    expect(lines(page)).to_have_count(0)
    expect(page.locator("#total")).to_have_text(money_text(0))


def _returns(store: Store) -> dict[str, dict[str, object]]:
    return {i: {**r, "id": i} for i, r in store.files.receipts("closed").items() if r["kind"] == "return"}
