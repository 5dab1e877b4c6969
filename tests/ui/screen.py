"""The cashier's screen as the UI tests see it: its selectors, what the sample store sells (chosen so no
promotion changes a price), money and quantities written the way the screen writes them, and the few
steps every test takes (log in, scan, pay)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from osuite.core.barcodes import DEFAULT_TEMPLATES, complete_gtin
from osuite.core.money import line_amount
from osuite.dataserver.sample_catalog import SampleProduct
from tests.support.store import CASHIER_PIN, Catalog

UI_PRODUCTS = 300
SCREENSHOTS = Path(__file__).parent / "screenshots"
WEIGHT_LABEL = next(t for t in DEFAULT_TEMPLATES if t.kind == "weight")
PLAIN_CODE_OF_WEIGHED = complete_gtin("290000000001")
"""A plain EAN-13 the tests give a weighted product (the sample's weighed goods only have scale labels)."""

CASHIER_NAME = "Иванова Анна"
SUPERVISOR_NAME = "Сидорова Мария"

PERSON_MS = 40

SCAN = "#scan"
LINES = "#lines tbody tr.line"

# Promotions of the sample store (sample_catalog.PROMOTIONS) change the amounts of these categories, and a
# receipt from 3 000 ₽ gets 5 % off: the tests sell other goods, a few cheap ones per receipt.
_PROMOTED = ("dairy-cheese", "dairy-kefir", "drinks-juice", "bakery")
_AT_MOST = 500_00


def _plain(product: SampleProduct) -> bool:
    return not product.category_id.startswith(_PROMOTED) and product.price <= _AT_MOST


class Goods:
    """What the tests sell: piece goods with their own EAN-13 and weighed goods, each name once."""

    def __init__(self) -> None:
        catalog = Catalog(UI_PRODUCTS)
        names: set[str] = set()
        self.pieces: list[SampleProduct] = []
        for p in catalog.pieces:
            if _plain(p) and p.name not in names and p.barcodes[0][1] == 1:
                names.add(p.name)
                self.pieces.append(p)
        self.weighed = [p for p in catalog.weighted if _plain(p)]
        self.age_restricted = next(
            p for p in catalog.all if p.age_limit and p.barcodes and p.price <= 2000_00
        )

    def piece(self, n: int) -> SampleProduct:
        return self.pieces[n % len(self.pieces)]

    @staticmethod
    def code(product: SampleProduct) -> str:
        return product.barcodes[0][0]

    @property
    def weighed_by_label(self) -> SampleProduct:
        return self.weighed[0]

    @property
    def weighed_by_code(self) -> SampleProduct:
        """The weighted product the store fixture gives :data:`PLAIN_CODE_OF_WEIGHED`."""
        return self.weighed[1]


GOODS = Goods()


# --- how the screen writes numbers ------------------------------------------------------------------


def money(kopecks: int, language: str = "ru") -> str:
    """``1 234,50`` in Russian, ``1,234.50`` in English."""
    rubles, rest = divmod(abs(kopecks), 100)
    group, point = (" ", ",") if language == "ru" else (",", ".")
    return ("-" if kopecks < 0 else "") + f"{rubles:,}".replace(",", group) + f"{point}{rest:02d}"


def money_text(kopecks: int, language: str = "ru") -> re.Pattern[str]:
    """The whole text of a cell showing the amount (a currency sign after it is allowed)."""
    digits = money(kopecks, language).replace(" ", r"\s").replace(".", r"\.")
    return re.compile(rf"^\s*{digits}\s*₽?\s*$")


def weight_text(kg: Decimal, language: str = "ru") -> re.Pattern[str]:
    """``1,234 кг`` in Russian, ``1.234 kg`` in English."""
    number = f"{kg:.3f}"
    if language == "ru":
        return re.compile(rf"^\s*{number.replace('.', ',')}\s*кг\s*$")
    return re.compile(rf"^\s*{re.escape(number)}\s*kg\s*$")


def money_in(kopecks: int, language: str = "ru") -> re.Pattern[str]:
    """The amount somewhere in a text (not the tail of a bigger number)."""
    digits = money(kopecks, language).replace(" ", r"\s").replace(".", r"\.")
    return re.compile(rf"(?<!\d)(?<!\d\s){digits}(?!\d)")


def named(product: SampleProduct) -> re.Pattern[str]:
    """A line's name cell: the product's name (the promotions applied may follow it)."""
    return re.compile(rf"^\s*{re.escape(product.name)}(?!\w)")


def has_class(name: str) -> re.Pattern[str]:
    return re.compile(rf"(^|\s){re.escape(name)}(\s|$)")


PIECE = re.compile(r"^\s*1\s*$")


def amount(product: SampleProduct, quantity: Decimal = Decimal(1)) -> int:
    return line_amount(product.price, quantity)


# --- steps ----------------------------------------------------------------------------------------


def login(page: Page, url: str, pin: str = CASHIER_PIN) -> None:
    """Log in at the till's login page; the sale screen is shown with the focus in the scan field."""
    page.goto(f"{url}/login")
    page.locator("#pin").fill(pin)
    page.locator("#pin").press("Enter")
    expect(page.locator(SCAN)).to_be_focused()


def lines(page: Page) -> Locator:
    return page.locator(LINES)


def dialog(page: Page, name: str) -> Locator:
    return page.locator(f'#dialog .dialog[data-dialog="{name}"]')


def action(page: Page, name: str) -> Locator:
    return page.locator(f'button[data-action="{name}"]')


def scan(page: Page, code: str) -> None:
    """What a scanner does: the digits typed into whatever has the focus, then Enter."""
    page.keyboard.type(code + "\n")


def keys(page: Page, text: str) -> None:
    """What a person types into the focused field, a key every few dozen milliseconds (a scanner, which
    does not wait, is :func:`scan`)."""
    page.keyboard.type(text, delay=PERSON_MS)


def sell(page: Page, *products: SampleProduct) -> int:
    """Scan each product once and wait for its line; the receipt's expected total."""
    for product in products:
        before = lines(page).count()
        scan(page, GOODS.code(product))
        expect(lines(page)).to_have_count(before + 1)
        expect(lines(page).last.locator(".name")).to_have_text(named(product))
    return sum(amount(p) for p in products)


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


@dataclass(frozen=True)
class Paid:
    total: int
    tendered: int

    @property
    def change(self) -> int:
        return self.tendered - self.total


def pay_cash(page: Page, total: int, tendered: int | None = None) -> Paid:
    """F12, the amount handed over (rubles; none: exactly what is due), cash; the change dialog is up."""
    page.keyboard.press("F12")
    payment = dialog(page, "payment")
    expect(payment).to_be_visible()
    expect(payment.locator("#pay-due")).to_have_text(money_text(total))
    if tendered is not None:
        payment.locator('input[name="amount"]').fill(str(tendered // 100))
    payment.locator('button[data-action="pay-cash"]').click()
    expect(dialog(page, "change")).to_be_visible()
    return Paid(total, total if tendered is None else tendered)


def next_customer(page: Page) -> None:
    dialog(page, "change").locator('button[data-action="next"]').click()
    expect(dialog(page, "change")).to_have_count(0)
    expect(lines(page)).to_have_count(0)
    expect(page.locator("#total")).to_have_text(money_text(0))
    expect(page.locator(SCAN)).to_be_focused()
