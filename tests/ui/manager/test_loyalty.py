"""The Loyalty section in Chromium against the office's processing center: a card found with its
balance and journal; blocked from the Manager and then refused at the center, and unblocked; points
adjusted in the person's name, and a refusal of the center shown by the form with nothing changed; a
customer added, given a card, which is then reported lost and replaced; a read-only person sees no
button and is refused the change itself."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from osuite.processing.client import ProcessingClient, ProcessingError
from tests.support.office import Office
from tests.ui.manager.conftest import log_in, screenshot

pytestmark = pytest.mark.ui

WELCOMED = "7770000000036"
"""Issued at the office's center with 120 welcome points; only looked at here."""
_serial = itertools.count()


def new_number() -> str:
    """A card number of this test's own, so that other tests' cards keep their state."""
    return f"7779{time.time_ns() % 10**7:07d}{next(_serial):02d}"


def own_card(office: Office) -> str:
    """A bonus card of a new customer at the center, with no points yet."""
    customer = office.center.admin.create_customer("Ольга Смирнова")
    return office.center.admin.issue_card(new_number(), customer_id=customer.id).number


def test_a_card_is_found_with_its_balance_and_journal(admin: Page, office: Office, screenshots: Path) -> None:
    own_card(office)  # a customer in the list
    admin.locator("nav.sections a[data-section=loyalty]").click()
    expect(admin.locator("h1")).to_have_text("Лояльность")
    screenshot(admin, screenshots, "loyalty")
    admin.get_by_label("Номер карты, телефон или код покупателя").fill(WELCOMED)
    admin.get_by_role("button", name="Найти").click()
    expect(admin).to_have_url(f"{office.url}/loyalty/cards/{WELCOMED}")
    expect(admin.locator("h1")).to_contain_text(f"Карта {WELCOMED}")
    expect(admin.locator("#card-status")).to_have_text("Карта активна")
    expect(admin.locator("[data-balance=available]")).to_have_text("120,00")
    welcome = admin.locator("#journal tbody tr[data-kind=adjustment]").last
    expect(welcome.locator("td.points")).to_have_text("+120,00")
    expect(welcome.locator("td.reason")).to_have_text("welcome points")
    expect(welcome.locator("td.who")).to_have_text("e2e")
    screenshot(admin, screenshots, "card")


def test_nothing_found_is_said(admin: Page, office: Office) -> None:
    admin.goto(f"{office.url}/loyalty?q=0000000000000")
    expect(admin.locator("#nothing-found")).to_contain_text("«0000000000000»")


def test_a_blocked_card_is_refused_at_the_center_until_it_is_unblocked(page: Page, office: Office) -> None:
    number = own_card(office)
    log_in(page, office, "manager")
    page.goto(f"{office.url}/loyalty/cards/{number}")
    page.get_by_role("button", name="Заблокировать карту").click()
    expect(page.locator("#card-status")).to_have_text("Карта заблокирована")
    with ProcessingClient(office.center.url, office.center.pos_key) as till:
        with pytest.raises(ProcessingError) as refused:
            till.lookup(number)
        assert refused.value.kind == "card_blocked"
        page.get_by_role("button", name="Разблокировать карту").click()
        expect(page.locator("#card-status")).to_have_text("Карта активна")
        assert till.lookup(number).status == "active"


def test_points_are_adjusted_in_the_persons_name_and_a_refusal_changes_nothing(
    admin: Page, office: Office
) -> None:
    number = own_card(office)
    admin.goto(f"{office.url}/loyalty/cards/{number}")
    adjust = admin.locator("form#adjust")
    adjust.get_by_label("Баллы (минус — списать)").fill("25,50")
    adjust.get_by_label("Причина").fill("жалоба покупателя")
    adjust.get_by_role("button", name="Провести").click()
    expect(admin.locator("[data-balance=available]")).to_have_text("25,50")
    latest = admin.locator("#journal tbody tr").first
    expect(latest.locator("td.points")).to_have_text("+25,50")
    expect(latest.locator("td.reason")).to_have_text("жалоба покупателя")
    expect(latest.locator("td.who")).to_have_text("admin")

    adjust.get_by_label("Баллы (минус — списать)").fill("-100")
    adjust.get_by_label("Причина").fill("ошибка")
    adjust.get_by_role("button", name="Провести").click()
    expect(admin.locator("[data-problem=adjust]")).to_have_text(
        "Запрошено баллов: 100.00, а доступно только 25.50"
    )
    expect(admin.locator("[data-balance=available]")).to_have_text("25,50")
    expect(admin.locator("#journal tbody tr")).to_have_count(1)
    expect(adjust.get_by_label("Баллы (минус — списать)")).to_have_value("-100")


def test_a_customer_is_added_given_a_card_that_is_lost_and_replaced(admin: Page, office: Office) -> None:
    first, second = new_number(), new_number()
    admin.goto(f"{office.url}/loyalty")
    form = admin.locator("form#new-customer")
    form.get_by_label("ФИО").fill("Пётр Иванов")
    form.get_by_label("Телефон").fill(f"+7{first[-10:]}")
    form.get_by_role("button", name="Добавить покупателя").click()
    expect(admin.locator("h1")).to_have_text("Пётр Иванов")
    issue = admin.locator("form#issue")
    issue.get_by_label("Номер карты").fill(first)
    issue.get_by_role("button", name="Выдать").click()
    expect(admin.locator("h1")).to_contain_text(f"Карта {first}")
    expect(admin.locator("#card-facts")).to_contain_text("Пётр Иванов")

    admin.locator("form#adjust").get_by_label("Баллы (минус — списать)").fill("10")
    admin.locator("form#adjust").get_by_label("Причина").fill("подарок")
    admin.locator("form#adjust").get_by_role("button", name="Провести").click()
    expect(admin.locator("[data-balance=available]")).to_have_text("10,00")

    lost = admin.locator("form#lost")
    lost.get_by_label("Карта на замену (баллы сохранятся)").fill(WELCOMED)
    lost.get_by_role("button", name="Отметить утерянной").click()
    expect(admin.locator("[data-problem=lost]")).to_contain_text(WELCOMED)
    expect(admin.locator("#card-status")).to_have_text("Карта активна")

    lost.get_by_label("Карта на замену (баллы сохранятся)").fill(second)
    lost.get_by_role("button", name="Отметить утерянной").click()
    expect(admin).to_have_url(f"{office.url}/loyalty/cards/{second}")
    expect(admin.locator("[data-balance=available]")).to_have_text("10,00")
    admin.goto(f"{office.url}/loyalty?q=%2B7{first[-10:]}")
    expect(admin.locator("h1")).to_have_text("Пётр Иванов")
    expect(admin.locator("#accounts")).to_contain_text("Карта утеряна")


def test_a_viewer_sees_the_card_but_may_not_block_it(page: Page, office: Office) -> None:
    number = own_card(office)
    log_in(page, office, "auditor", language="en")
    page.goto(f"{office.url}/loyalty/cards/{number}")
    expect(page.locator("#card-status")).to_have_text("Card active")
    expect(page.locator("#journal")).to_be_visible()
    expect(page.get_by_role("button", name="Block the card")).to_have_count(0)
    expect(page.locator("form#adjust")).to_have_count(0)
    answer = page.request.post(f"{office.url}/loyalty/cards/{number}/block")
    assert answer.status == 403
    assert office.center.card(number)["status"] == "active"


def test_the_programs_are_shown_read_only(admin: Page, office: Office) -> None:
    admin.goto(f"{office.url}/loyalty")
    admin.locator("nav.loyalty-tabs").get_by_role("link", name="Программы").click()
    expect(admin.locator("#programs tr[data-program=default]")).to_be_visible()
    admin.locator("#programs tr[data-program=default] a").click()
    expect(admin.locator("#rules [data-rule=accrual_percent]")).to_be_visible()
    expect(admin.locator("form")).to_have_count(1)  # logging out, nothing else
