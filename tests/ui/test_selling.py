"""Building a receipt on the sale screen: scans (one, the same again, twenty in a row as fast as a
scanner types), weighed goods by scale label or by their own code with the weight typed in, the search
by name, the customer's display following along, and the screen on a big touch monitor."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.store import Store
from tests.ui.conftest import new_context
from tests.ui.screen import (
    GOODS,
    PIECE,
    PLAIN_CODE_OF_WEIGHED,
    SCAN,
    WEIGHT_LABEL,
    Goods,
    action,
    amount,
    dialog,
    has_class,
    keys,
    lines,
    login,
    money_in,
    money_text,
    named,
    scan,
    sell,
    shot,
    weight_text,
)

pytestmark = pytest.mark.ui


def test_a_scan_adds_a_line_and_the_same_code_again_another(page: Page, url: str) -> None:
    tea, pastila = GOODS.piece(0), GOODS.piece(1)
    login(page, url)
    expect(page.locator(SCAN)).to_be_focused()  # the scanner types straight away

    scan(page, Goods.code(tea))
    expect(lines(page)).to_have_count(1)
    line = lines(page).first
    expect(line).to_have_attribute("data-line-no", "1")
    expect(line.locator(".name")).to_have_text(named(tea))
    expect(line.locator(".qty")).to_have_text(PIECE)
    expect(line.locator(".price")).to_have_text(money_text(tea.price))
    expect(line.locator(".amount")).to_have_text(money_text(tea.price))
    expect(line).to_have_class(has_class("last"))
    expect(page.locator("#total")).to_have_text(money_text(tea.price))
    expect(page.locator(SCAN)).to_be_focused()
    expect(page.locator(SCAN)).to_have_value("")

    scan(page, Goods.code(tea))
    expect(lines(page)).to_have_count(2)
    expect(lines(page).locator(".name")).to_have_text([named(tea), named(tea)])
    expect(page.locator("#total")).to_have_text(money_text(2 * tea.price))
    expect(lines(page).nth(1)).to_have_attribute("data-line-no", "2")
    expect(lines(page).nth(1)).to_have_class(has_class("last"))
    expect(lines(page).nth(0)).not_to_have_class(has_class("last"))

    scan(page, Goods.code(pastila))
    expect(lines(page)).to_have_count(3)
    expect(lines(page).last.locator(".name")).to_have_text(named(pastila))
    expect(page.locator("#total")).to_have_text(money_text(2 * tea.price + pastila.price))
    expect(page.locator("#message")).to_be_hidden()
    shot(page, "sale")


def test_an_unknown_code_shows_a_message_and_adds_nothing(page: Page, url: str) -> None:
    login(page, url)
    sell(page, GOODS.piece(2))
    scan(page, "4600000000008")  # a valid EAN-13 the catalog does not have
    expect(page.locator("#message")).to_be_visible()
    expect(page.locator("#message")).to_contain_text("4600000000008")
    expect(page.locator("#message")).to_have_attribute("data-kind", "not_found")
    expect(lines(page)).to_have_count(1)
    expect(page.locator("#total")).to_have_text(money_text(GOODS.piece(2).price))
    expect(page.locator(SCAN)).to_be_focused()
    sell(page, GOODS.piece(3))  # the next scan works, and the message goes
    expect(page.locator("#message")).to_be_hidden()


def test_a_scale_label_sells_the_weight_printed_on_it(page: Page, url: str) -> None:
    lemons = GOODS.weighed_by_label
    weight = Decimal("1.234")
    login(page, url)
    scan(page, WEIGHT_LABEL.build(lemons.article, weight))
    expect(lines(page)).to_have_count(1)
    line = lines(page).first
    expect(line.locator(".name")).to_have_text(named(lemons))
    expect(line.locator(".qty")).to_have_text(weight_text(weight))
    expect(line.locator(".price")).to_have_text(money_text(lemons.price))
    expect(line.locator(".amount")).to_have_text(money_text(amount(lemons, weight)))
    expect(page.locator("#total")).to_have_text(money_text(amount(lemons, weight)))
    expect(dialog(page, "weight")).to_have_count(0)  # the label said how much


def test_a_weighed_product_by_its_own_code_asks_for_the_weight(page: Page, url: str) -> None:
    product = GOODS.weighed_by_code
    login(page, url)
    scan(page, PLAIN_CODE_OF_WEIGHED)
    asking = dialog(page, "weight")
    expect(asking).to_be_visible()
    expect(asking).to_contain_text(product.name)
    field = asking.locator('input[name="weight"]')
    expect(field).to_be_focused()
    expect(asking.locator('button[data-action="read-scale"]')).to_be_visible()
    expect(lines(page)).to_have_count(0)
    shot(page, "weight")

    keys(page, "0,755\n")
    expect(dialog(page, "weight")).to_have_count(0)
    expect(lines(page)).to_have_count(1)
    line = lines(page).first
    expect(line.locator(".name")).to_have_text(named(product))
    expect(line.locator(".qty")).to_have_text(weight_text(Decimal("0.755")))
    expect(line.locator(".amount")).to_have_text(money_text(amount(product, Decimal("0.755"))))
    expect(page.locator(SCAN)).to_be_focused()

    scan(page, PLAIN_CODE_OF_WEIGHED)  # Esc: the cashier changed their mind, nothing is added
    expect(dialog(page, "weight")).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog(page, "weight")).to_have_count(0)
    expect(lines(page)).to_have_count(1)
    expect(page.locator(SCAN)).to_be_focused()


def test_the_quantity_of_the_last_line_is_changed_with_f2(page: Page, url: str) -> None:
    tea = GOODS.piece(6)
    login(page, url)
    sell(page, tea)
    page.keyboard.press("F2")
    asking = dialog(page, "quantity")
    expect(asking).to_contain_text(tea.name)
    field = asking.locator('input[name="quantity"]')
    expect(field).to_be_focused()
    expect(field).to_have_value("1")
    keys(page, "3\n")
    expect(dialog(page, "quantity")).to_have_count(0)
    expect(lines(page)).to_have_count(1)
    expect(lines(page).first.locator(".qty")).to_have_text(re.compile(r"^\s*3\s*$"))
    expect(lines(page).first.locator(".amount")).to_have_text(money_text(3 * tea.price))
    expect(page.locator("#total")).to_have_text(money_text(3 * tea.price))


def test_an_age_restricted_product_asks_to_check_the_age(page: Page, url: str) -> None:
    wine = GOODS.age_restricted
    login(page, url)
    scan(page, Goods.code(wine))
    asking = dialog(page, "age")
    expect(asking).to_be_visible()
    expect(asking).to_contain_text(f"{wine.age_limit}+")
    expect(lines(page)).to_have_count(0)
    shot(page, "age")
    asking.locator('button[data-action="confirm-age"]').click()
    expect(dialog(page, "age")).to_have_count(0)
    expect(lines(page)).to_have_count(1)
    expect(lines(page).first.locator(".name")).to_have_text(named(wine))
    expect(page.locator("#total")).to_have_text(money_text(wine.price))


def test_a_product_found_by_part_of_its_name(page: Page, url: str) -> None:
    wanted = GOODS.piece(1)  # "Пастила яблочная Коломенское 300 г"
    query = " ".join(wanted.name.split()[:2]).lower()
    login(page, url)
    page.keyboard.press("F3")
    search = dialog(page, "search")
    expect(search).to_be_visible()
    expect(search.locator('input[name="q"]')).to_be_focused()
    keys(page, query)
    results = search.locator("li.result")
    match = results.filter(has_text=wanted.name)
    expect(match).to_have_count(1)
    for word in query.split():  # only what was asked for
        expect(results.filter(has_not_text=re.compile(re.escape(word), re.IGNORECASE))).to_have_count(0)
    shot(page, "search")

    match.click()
    expect(dialog(page, "search")).to_have_count(0)
    expect(lines(page)).to_have_count(1)
    expect(lines(page).first.locator(".name")).to_have_text(named(wanted))
    expect(lines(page).first.locator(".amount")).to_have_text(money_text(wanted.price))
    expect(page.locator(SCAN)).to_be_focused()

    other = GOODS.piece(4)  # by keyboard alone: the search button, the whole name, arrow and Enter
    action(page, "search").click()
    expect(dialog(page, "search").locator('input[name="q"]')).to_be_focused()
    keys(page, other.name)
    expect(dialog(page, "search").locator("li.result")).to_have_count(1)
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(dialog(page, "search")).to_have_count(0)
    expect(lines(page)).to_have_count(2)
    expect(lines(page).last.locator(".name")).to_have_text(named(other))
    expect(page.locator("#total")).to_have_text(money_text(wanted.price + other.price))


def test_twenty_scans_in_a_row_make_twenty_lines_in_that_order(page: Page, url: str, store: Store) -> None:
    products = [GOODS.piece(n) for n in range(10, 30)]
    login(page, url)
    page.keyboard.type("".join(Goods.code(p) + "\n" for p in products))  # a scanner does not wait

    expect(lines(page)).to_have_count(20)
    expect(lines(page).locator(".name")).to_have_text([named(p) for p in products])
    numbers = [lines(page).nth(i).get_attribute("data-line-no") for i in range(20)]
    assert numbers == [str(n) for n in range(1, 21)]
    expect(lines(page).last).to_have_class(has_class("last"))
    till = store.till()
    try:
        receipt = till.get("/receipt")
    finally:
        till.close()
    assert [line["name"] for line in receipt["lines"]] == [p.name for p in products]
    expect(page.locator("#total")).to_have_text(money_text(receipt["total"]))
    shot(page, "sale-twenty")


def test_the_customer_display_follows_the_scans(page: Page, url: str, browser: Browser) -> None:
    tea, butter = GOODS.piece(0), GOODS.piece(2)
    customer_context = new_context(browser)
    try:
        customer = customer_context.new_page()
        customer.goto(f"{url}/customer")  # no login: it is the screen that faces the customer
        expect(customer.locator("#customer")).to_be_visible()
        expect(customer.locator("#customer-line")).to_have_count(0)  # nothing sold yet

        login(page, url)
        sell(page, tea)
        expect(customer.locator("#customer-line")).to_contain_text(tea.name)
        expect(customer.locator("#customer-total")).to_have_text(money_text(tea.price))
        sell(page, butter)
        expect(customer.locator("#customer-line")).to_contain_text(butter.name)
        expect(customer.locator("#customer-line")).not_to_contain_text(tea.name)
        expect(customer.locator("#customer-line")).to_contain_text(money_in(butter.price))
        expect(customer.locator("#customer-total")).to_have_text(money_text(tea.price + butter.price))
        shot(customer, "customer-display")
    finally:
        customer_context.close()


def test_a_sale_on_a_big_touch_screen(browser: Browser, url: str) -> None:
    tea, pastila = GOODS.piece(0), GOODS.piece(1)
    context = new_context(browser, viewport={"width": 1920, "height": 1080}, has_touch=True)
    try:
        page = context.new_page()
        login(page, url)
        sell(page, tea)
        action(page, "search").tap()
        search = dialog(page, "search")
        expect(search.locator('input[name="q"]')).to_be_focused()
        keys(page, pastila.name)
        search.locator("li.result").filter(has_text=pastila.name).tap()
        expect(lines(page)).to_have_count(2)
        expect(page.locator("#total")).to_have_text(money_text(tea.price + pastila.price))
        for name in (
            "quantity",
            "search",
            "void",
            "discount",
            "hold",
            "held",
            "return",
            "cancel",
            "shift",
            "pay",
        ):
            button = action(page, name)
            expect(button).to_be_in_viewport(ratio=1)
            box = button.bounding_box()
            assert box and box["height"] >= 40 and box["width"] >= 40, (name, box)  # a finger's size
        shot(page, "sale-touch-1920")

        action(page, "pay").tap()
        payment = dialog(page, "payment")
        expect(payment.locator("#pay-due")).to_have_text(money_text(tea.price + pastila.price))
        payment.locator('button[data-action="pay-cash"]').tap()
        expect(dialog(page, "change")).to_be_visible()
        dialog(page, "change").locator('button[data-action="next"]').tap()
        expect(lines(page)).to_have_count(0)
    finally:
        context.close()
