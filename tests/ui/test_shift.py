"""The shift screen (F10): an X report leaves the shift open, the Z report closes it, and a new shift is
opened from the same screen."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.support.store import Store
from tests.support.terminal import eventually
from tests.ui.screen import GOODS, SCAN, dialog, login, next_customer, pay_cash, sell, shot

pytestmark = pytest.mark.ui


def _registered(store: Store, kind: str) -> int:
    return sum(d["type"] == kind for record in store.registrar.journal() for d in record["documents"])


def _shift(store: Store) -> dict[str, object] | None:
    till = store.till()
    try:
        shift: dict[str, object] | None = till.get("/shift")
        return shift
    finally:
        till.close()


def test_x_then_z_report_then_a_new_shift(page: Page, url: str, store: Store) -> None:
    login(page, url)
    pay_cash(page, sell(page, GOODS.piece(23)))
    next_customer(page)
    before = _shift(store)
    assert before is not None
    x_reports, z_reports = _registered(store, "reportX"), _registered(store, "closeShift")

    page.keyboard.press("F10")
    shift = dialog(page, "shift")
    expect(shift).to_be_visible()
    expect(shift.locator("#shift-state")).to_contain_text(str(before["number"]))
    shot(page, "shift")

    shift.locator('button[data-action="x-report"]').click()
    eventually(lambda: _registered(store, "reportX") == x_reports + 1, timeout=10, what="the X report")
    expect(dialog(page, "shift").locator("#report")).to_be_visible()
    expect(page.locator("#shift")).to_have_attribute("data-shift", "open")
    expect(dialog(page, "shift").locator('button[data-action="z-report"]')).to_be_visible()
    still = _shift(store)
    assert still is not None and still["id"] == before["id"]  # the same shift, still open
    shot(page, "shift-x-report")

    dialog(page, "shift").locator('button[data-action="z-report"]').click()
    expect(page.locator("#shift")).to_have_attribute("data-shift", "closed")
    expect(dialog(page, "shift").locator("#shift-state")).not_to_contain_text(str(before["number"]))
    expect(dialog(page, "shift").locator('button[data-action="x-report"]')).to_have_count(0)
    assert _registered(store, "closeShift") == z_reports + 1
    assert _shift(store) is None
    shot(page, "shift-closed")

    dialog(page, "shift").locator('button[data-action="open-shift"]').click()
    expect(page.locator("#shift")).to_have_attribute("data-shift", "open")
    after = _shift(store)
    assert after is not None and after["id"] != before["id"]
    expect(page.locator("#shift")).to_contain_text(str(after["number"]))
    page.keyboard.press("Escape")
    expect(dialog(page, "shift")).to_have_count(0)
    expect(page.locator(SCAN)).to_be_focused()
    sell(page, GOODS.piece(24))  # selling goes on in the new shift


def test_a_sale_with_the_shift_closed_says_to_open_one(page: Page, url: str, store: Store) -> None:
    till = store.till()
    try:
        till.post("/shift/close")
    finally:
        till.close()
    login(page, url)
    expect(page.locator("#shift")).to_have_attribute("data-shift", "closed")
    page.keyboard.type(GOODS.code(GOODS.piece(25)) + "\n")
    expect(page.locator("#message")).to_be_visible()
    expect(page.locator("#lines tbody tr.line")).to_have_count(0)
