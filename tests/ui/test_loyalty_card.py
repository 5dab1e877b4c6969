"""The customer's loyalty card on the cashier's screen, against a real processing center: F11 takes the
card (the banner shows its points and what they may pay), part of the receipt is paid with points, the
rest in cash, and the change dialog shows the points earned and the balance the center now holds. A card
the center does not know is refused in the center's words, in Russian."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.support.processing import Center, processing_network
from tests.support.store import Store, running_store
from tests.support.terminal import eventually
from tests.ui.screen import GOODS, UI_PRODUCTS, dialog, lines, login, money_in, sell, shot

pytestmark = pytest.mark.ui

CARD, WELCOME = "7770000000012", 500_00
UNKNOWN_CARD = "7770000000999"


@pytest.fixture(scope="module")
def center(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Center]:
    root = tmp_path_factory.mktemp("ui-loyalty-center")
    with processing_network(root, subordinates=0, cards={CARD: str(WELCOME // 100)}) as network:
        yield network.root


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, center: Center) -> Iterator[Store]:
    """The UI tests' till (tests/ui/conftest.py tidies it before each test), asking ``center``."""
    root = tmp_path_factory.mktemp("ui-loyalty-store")
    with running_store(
        root, products=UI_PRODUCTS, processing_url=center.url, processing_key=center.pos_key
    ) as store:
        store.admin.request(  # a store offers points only when it has a center to pay them with
            "POST",
            "/api/v1/payment-types",
            json={"code": "bonus", "name": "Баллы", "method": "bonus", "sort": 3},
        )
        store.wait_for_catalog(UI_PRODUCTS)
        till = store.till()
        try:
            eventually(
                lambda: any(p["method"] == "bonus" for p in till.get("/payment-types")),
                timeout=60,
                what="the points payment type to reach the till",
            )
        finally:
            till.close()
        yield store


def five_percent(paid: int) -> int:
    """What the center's default program earns: 5 % of what was paid other than with points."""
    return (paid * 5 + 50) // 100


def test_a_card_pays_part_in_points_and_the_rest_earns_points(
    page: Page, url: str, store: Store, center: Center
) -> None:
    login(page, url)
    total = sell(page, GOODS.piece(5), GOODS.piece(6))
    page.keyboard.press("F11")
    card = dialog(page, "card")
    card.locator('input[name="number"]').fill(CARD)
    card.locator('input[name="number"]').press("Enter")
    banner = page.locator("#card-banner")
    expect(banner).to_contain_text("баллов")
    expect(banner).to_contain_text(money_in(WELCOME))
    shot(page, "loyalty-card")

    points = max(100, total // 4 // 100 * 100)  # whole rubles, well under the half points may pay
    assert points * 2 <= total
    page.keyboard.press("F12")
    payment = dialog(page, "payment")
    payment.locator('input[name="amount"]').fill(str(points // 100))
    payment.locator('button[data-action="pay-bonus"]').click()
    expect(payment.locator("li.payment")).to_have_count(1)
    payment.locator('button[data-action="pay-cash"]').click()

    earned = five_percent(total - points)
    balance = WELCOME - points + earned
    said = dialog(page, "change").locator("#points")
    expect(said).to_contain_text("Начислено баллов")
    expect(said).to_contain_text(money_in(earned))
    expect(said).to_contain_text(money_in(balance))
    shot(page, "loyalty-points-earned")
    account = center.card(CARD)["account_id"]
    assert center.balance(account)["available"] == balance
    page.keyboard.press("Enter")
    expect(lines(page)).to_have_count(0)
    expect(page.locator("#card-banner")).to_have_count(0)


def test_a_card_the_center_does_not_know_is_refused_in_its_words(page: Page, url: str) -> None:
    login(page, url)
    sell(page, GOODS.piece(7))
    page.keyboard.press("F11")
    card = dialog(page, "card")
    card.locator('input[name="number"]').fill(UNKNOWN_CARD)
    card.locator('input[name="number"]').press("Enter")
    expect(page.get_by_role("alert")).to_contain_text(UNKNOWN_CARD)
    expect(page.locator("#card-banner")).to_have_count(0)
