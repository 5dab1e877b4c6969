"""The Manager's frame in Chromium against the real store: people log in with their data server
password, a wrong one or a cashier is refused, each role sees what it may, Russian by default and
English on demand, and logging out ends the session."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.support.office import Office
from tests.ui.manager.conftest import log_in, screenshot

pytestmark = pytest.mark.ui


def test_a_wrong_password_is_refused_and_the_right_one_lets_in(
    page: Page, office: Office, screenshots: Path
) -> None:
    page.goto(office.url)
    expect(page).to_have_url(f"{office.url}/login?next=/")
    page.locator("input[name=login]").fill("admin")
    page.locator("input[name=password]").fill("not-the-password")
    page.get_by_role("button", name="Войти").click()
    expect(page.get_by_role("alert")).to_have_text("Неверный логин или пароль, или пользователь отключён.")
    screenshot(page, screenshots, "login")
    log_in(page, office, "admin")
    nav = page.locator("nav.sections a")
    expect(nav).to_have_text(["Терминалы", "Каталог", "Продажи", "Лояльность", "Весы", "Люди", "Лицензии"])
    expect(page.locator(".who .role")).to_have_text("Администратор")


def test_the_licenses_section_shows_the_seats_and_the_managers_own(
    admin: Page, office: Office, screenshots: Path
) -> None:
    admin.locator("nav.sections a[data-section=licenses]").click()
    expect(admin.locator("h1")).to_have_text("Лицензии")
    expect(admin.locator('#seats tr[data-program="manager"] td.used')).to_have_text("1")
    expect(admin.locator('#seats tr[data-program="pos"]')).to_be_visible()
    screenshot(admin, screenshots, "licenses")


def test_english_on_demand_and_logging_out_ends_the_session(page: Page, office: Office) -> None:
    log_in(page, office, "auditor", language="en")
    expect(page.locator(".who .role")).to_have_text("Read-only")
    expect(page.locator("nav.sections a[data-section=licenses]")).to_have_text("Licenses")
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{office.url}/login")
    page.goto(f"{office.url}/licenses")
    expect(page).to_have_url(f"{office.url}/login?next=/licenses")


def test_a_cashier_may_not_use_the_manager(page: Page, office: Office) -> None:
    office.store.admin.request(
        "POST",
        "/api/v1/users",
        json={"login": "cashier-pw", "name": "Кассир", "password": "cashier-demo", "roles": ["cashier"]},
    )
    page.goto(f"{office.url}/login")
    page.locator("input[name=login]").fill("cashier-pw")
    page.locator("input[name=password]").fill("cashier-demo")
    page.get_by_role("button", name="Войти").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Ваша роль не даёт доступа к Менеджеру: обратитесь к администратору."
    )
