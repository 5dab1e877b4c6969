"""Logging in at the till by PIN, the sale screen a cashier lands on, logging out, and the screen's
language (Russian unless the cashier switches to English)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from tests.ui.screen import (
    CASHIER_NAME,
    GOODS,
    LINES,
    SCAN,
    WEIGHT_LABEL,
    action,
    amount,
    login,
    money_text,
    named,
    scan,
    shot,
    weight_text,
)

pytestmark = pytest.mark.ui

HOTKEYS = {
    "quantity": "F2",
    "search": "F3",
    "void": "F4",
    "discount": "F5",
    "hold": "F6",
    "held": "F7",
    "return": "F8",
    "cancel": "F9",
    "shift": "F10",
    "pay": "F12",
}
CYRILLIC = re.compile(r"[А-Яа-яЁё]")


def test_the_sale_screen_asks_for_a_login_and_a_wrong_pin_is_refused(page: Page, url: str) -> None:
    page.goto(url)
    expect(page).to_have_url(re.compile(r"/login\b"))
    pin = page.locator("#pin")
    expect(pin).to_be_visible()
    expect(page.locator("#message")).to_be_hidden()
    shot(page, "login")

    pin.fill("4321")
    pin.press("Enter")
    expect(page.locator("#message")).to_be_visible()
    expect(page.locator("#message")).not_to_have_text(re.compile(r"^\s*$"))
    expect(page).to_have_url(re.compile(r"/login\b"))
    shot(page, "login-refused")

    page.goto(url)  # still not logged in
    expect(page).to_have_url(re.compile(r"/login\b"))


def test_the_right_pin_opens_the_sale_screen_with_the_cashiers_name(page: Page, url: str) -> None:
    page.goto(f"{url}/login")
    page.locator("#pin").fill("1111")
    page.locator('button[data-action="login"]').click()

    expect(page).to_have_url(f"{url}/")
    expect(page.locator("#cashier")).to_contain_text(CASHIER_NAME)
    expect(page.locator(SCAN)).to_be_focused()
    expect(page.locator(LINES)).to_have_count(0)
    expect(page.locator("#total")).to_have_text(money_text(0))
    expect(page.locator("#shift")).to_have_attribute("data-shift", "open")
    expect(page.locator("#link-state")).to_have_attribute("data-online", "yes")
    expect(page.locator("#message")).to_be_hidden()
    for name, key in HOTKEYS.items():  # every action at hand, with its key, without scrolling
        button = action(page, name)
        expect(button).to_be_visible()
        expect(button).to_be_in_viewport(ratio=1)
        expect(button.locator("kbd")).to_have_text(key)
    shot(page, "sale-empty")


def test_logging_out_goes_back_to_the_login_page(page: Page, url: str) -> None:
    login(page, url)
    action(page, "logout").click()
    expect(page).to_have_url(re.compile(r"/login\b"))
    page.goto(url)
    expect(page).to_have_url(re.compile(r"/login\b"))


def test_the_screen_is_russian_until_the_cashier_switches_to_english(page: Page, url: str) -> None:
    lemons = GOODS.weighed_by_label
    weight = Decimal("2.500")
    due = amount(lemons, weight)  # over 1 000 ₽: the thousands are grouped
    assert due >= 1000_00
    login(page, url)
    expect(page.locator("#link-state")).to_contain_text("В сети")
    for name in HOTKEYS:
        expect(action(page, name)).to_have_text(CYRILLIC)
    scan(page, WEIGHT_LABEL.build(lemons.article, weight))
    line = page.locator(LINES).last
    expect(line.locator(".qty")).to_have_text(weight_text(weight))
    expect(line.locator(".amount")).to_have_text(money_text(due))

    page.goto(f"{url}/lang/en", referer=page.url)
    expect(page).to_have_url(f"{url}/")
    expect(page.locator("#link-state")).not_to_contain_text("В сети")
    for name in HOTKEYS:
        expect(action(page, name)).not_to_have_text(CYRILLIC)
    expect(action(page, "pay")).to_contain_text("Pay")
    line = page.locator(LINES).last
    expect(line.locator(".name")).to_have_text(named(lemons))  # product names are the catalog's
    expect(line.locator(".qty")).to_have_text(weight_text(weight, "en"))
    expect(line.locator(".amount")).to_have_text(money_text(due, "en"))
    expect(page.locator("#total")).to_have_text(money_text(due, "en"))
    expect(page.locator(SCAN)).to_be_focused()
    shot(page, "sale-english")

    page.goto(f"{url}/lang/ru", referer=page.url)
    expect(page.locator("#link-state")).to_contain_text("В сети")
    expect(page.locator("#total")).to_have_text(money_text(due))


def test_the_login_page_speaks_english_too(page: Page, url: str) -> None:
    page.goto(f"{url}/login")
    expect(page.locator('button[data-action="login"]')).to_have_text(CYRILLIC)
    page.goto(f"{url}/lang/en", referer=page.url)
    expect(page).to_have_url(re.compile(r"/login\b"))
    expect(page.locator('button[data-action="login"]')).not_to_have_text(CYRILLIC)
    page.locator("#pin").fill("4321")
    page.locator("#pin").press("Enter")
    expect(page.locator("#message")).to_be_visible()
    expect(page.locator("#message")).not_to_have_text(CYRILLIC)
