"""The People section in Chromium against the real store: an administrator adds a person with a role,
who then logs into the Manager with the role's rights, and is deactivated; adds a role with readable
permissions; sees a refusal of the data server next to the form with nothing changed, and the log of who
changed what. A read-only person sees the people but no way to change them."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.office import Office
from tests.ui.conftest import new_context
from tests.ui.manager.conftest import log_in, screenshot

pytestmark = pytest.mark.ui


def add_user(page: Page, office: Office, login: str, name: str, role_id: str, password: str) -> None:
    page.goto(f"{office.url}/people")
    page.locator("#add-user").click()
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=name]").fill(name)
    page.locator(f'input[name=roles][value="{role_id}"]').check()
    page.locator("input[name=password]").fill(password)
    page.get_by_role("button", name="Сохранить").click()


def test_a_new_person_with_a_role_logs_in_and_is_deactivated(
    admin: Page, office: Office, browser: Browser, screenshots: Path
) -> None:
    add_user(admin, office, "orlova", "Орлова Ольга", "store-manager", "orlova-pass-1")
    expect(admin).to_have_url(f"{office.url}/people")
    person = admin.locator('#users tr[data-login="orlova"]')
    expect(person.locator(".roles")).to_have_text("Управляющий")
    expect(person.locator(".active")).to_have_text("Да")
    expect(admin.locator("#log tbody tr").first).to_contain_text("add user")
    expect(admin.locator("#log tbody tr").first).to_contain_text("orlova")
    screenshot(admin, screenshots, "people")

    other = new_context(browser)
    try:
        newcomer = other.new_page()
        newcomer.goto(f"{office.url}/login")
        newcomer.locator("input[name=login]").fill("orlova")
        newcomer.locator("input[name=password]").fill("orlova-pass-1")
        newcomer.get_by_role("button", name="Войти").click()
        expect(newcomer.locator(".who .role")).to_have_text("Управляющий")
        newcomer.goto(f"{office.url}/people")
        expect(newcomer.locator('#users tr[data-login="orlova"]')).to_be_visible()
        expect(newcomer.locator("#add-user")).to_have_count(0)
    finally:
        other.close()

    admin.once("dialog", lambda dialog: dialog.accept())
    person.locator("button.deactivate").click()
    expect(person.locator(".active")).to_have_text("Отключён")
    expect(person.locator("button.deactivate")).to_have_count(0)


def test_a_refusal_is_shown_next_to_the_form_and_nothing_changes(admin: Page, office: Office) -> None:
    add_user(admin, office, "admin", "Двойник", "cashier", "long-enough-1")
    expect(admin.locator("#user-form p.bad")).to_contain_text("admin")
    expect(admin.locator("input[name=name]")).to_have_value("Двойник")  # what was typed stays
    admin.locator("input[name=login]").fill("short-pw")
    admin.locator("input[name=password]").fill("short")
    admin.get_by_role("button", name="Сохранить").click()
    expect(admin.locator("#user-form p.bad")).to_contain_text("password")
    admin.goto(f"{office.url}/people")
    expect(admin.locator("#users tr").filter(has_text="Двойник")).to_have_count(0)


def test_edit_a_person_leaving_the_password_as_it_is(admin: Page, office: Office) -> None:
    add_user(admin, office, "belov", "Белов Пётр", "cashier", "belov-pass-1")
    admin.locator('#users tr[data-login="belov"] a.edit').click()
    expect(admin.locator("#user-form")).to_contain_text("Пароль задан")
    admin.locator("input[name=name]").fill("Белов Пётр Ильич")
    admin.locator("input[name=pin]").fill("4321")
    admin.get_by_role("button", name="Сохранить").click()
    person = admin.locator('#users tr[data-login="belov"]')
    expect(person.locator(".name")).to_have_text("Белов Пётр Ильич")
    expect(person.locator("td").nth(4)).to_have_text("Да")  # the PIN
    expect(person.locator("td").nth(5)).to_have_text("Да")  # the password, kept


def test_a_role_with_readable_permissions(admin: Page, office: Office) -> None:
    admin.goto(f"{office.url}/people")
    admin.locator("#add-role").click()
    admin.locator("input[name=name]").fill("Контролёр зала")
    admin.locator("input[name=permissions][value=x_report]").check()
    admin.locator("input[name=permissions][value=sell]").check()
    admin.get_by_role("button", name="Сохранить").click()
    role = admin.locator("#roles tr").filter(has_text="Контролёр зала")
    expect(role.locator(".permissions .badge")).to_have_text(["Продавать", "Печатать X-отчёт"])
    role.locator("a.edit").click()
    admin.locator("input[name=permissions][value=sell]").uncheck()
    admin.get_by_role("button", name="Сохранить").click()
    expect(role.locator(".permissions .badge")).to_have_text(["Печатать X-отчёт"])


def test_a_read_only_person_sees_no_way_to_change_people(page: Page, office: Office) -> None:
    log_in(page, office, "auditor", language="en")
    page.goto(f"{office.url}/people")
    expect(page.locator('#users tr[data-login="admin"] .roles')).to_have_text("Администратор")
    expect(page.locator("#roles tr").filter(has_text="Ревизор")).to_contain_text("View sales and reports")
    expect(page.locator("#add-user")).to_have_count(0)
    expect(page.locator("#add-role")).to_have_count(0)
    expect(page.locator("a.edit")).to_have_count(0)
    expect(page.locator("#log")).to_have_count(0)
    answer = page.request.post(
        f"{office.url}/people/users", form={"login": "sneaky", "name": "Sneaky", "password": "sneaky-pass"}
    )
    assert answer.status == 403


def test_an_administrator_cannot_deactivate_themselves(admin: Page, office: Office) -> None:
    admin.goto(f"{office.url}/people/users/admin")
    admin.locator("input[name=active]").uncheck()
    admin.get_by_role("button", name="Сохранить").click()
    expect(admin.locator("#user-form p.bad")).to_contain_text("you cannot deactivate yourself")
    assert office.store.admin.request("GET", "/api/v1/users/admin")["active"] is True
    admin.goto(f"{office.url}/people")
    expect(admin.locator("h1")).to_be_visible()  # still logged in and allowed
