"""The link to the data server in the status bar: the data server stops, the till says it is offline
and counts the documents waiting to go up (a sale made meanwhile), and says online again once the data
server is back and they have gone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.support.store import Store
from tests.support.terminal import eventually
from tests.ui.screen import GOODS, login, next_customer, pay_cash, sell, shot

pytestmark = pytest.mark.ui

NOTICE_MS = 40_000


def _waiting(store: Store) -> int:
    till = store.till()
    try:
        return int(till.status()["link"]["documents_waiting"])
    finally:
        till.close()


@pytest.mark.timeout(240)
def test_the_link_indicator_goes_offline_counts_what_waits_and_comes_back(
    page: Page, url: str, store: Store
) -> None:
    eventually(lambda: _waiting(store) == 0, timeout=30, what="the till to send what it had")
    login(page, url)
    link = page.locator("#link-state")
    expect(link).to_have_attribute("data-online", "yes")
    expect(link).to_contain_text("В сети")

    store.dataserver.stop()
    try:
        expect(link).to_have_attribute("data-online", "no", timeout=NOTICE_MS)
        expect(link).to_contain_text("Нет связи")
        expect(link).not_to_contain_text("В сети")
        expect(page.locator("#documents-waiting")).to_have_text("0")

        pay_cash(page, sell(page, GOODS.piece(26)))  # the till sells on
        next_customer(page)
        expect(page.locator("#documents-waiting")).to_have_text("1", timeout=NOTICE_MS)
        expect(link).to_have_attribute("data-online", "no")
        shot(page, "offline")
    finally:
        store.dataserver.start()

    expect(link).to_have_attribute("data-online", "yes", timeout=NOTICE_MS)
    expect(link).to_contain_text("В сети")
    nothing_waits = page.locator("#documents-waiting").filter(has_not_text=re.compile(r"^\s*0\s*$"))
    expect(nothing_waits).to_have_count(0, timeout=NOTICE_MS)  # shown as 0, or not shown
    assert _waiting(store) == 0
    shot(page, "online-again")
