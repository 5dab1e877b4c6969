"""The Sales section in Chromium against the real store: a sale and its return made at the running POS
are found by terminal and today's period, their detail shows lines, total, payment and each other; the
shift shows its cash and Z report; the daily chart shows today's total; a read-only person exports the
period as a CSV download that holds the sale."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from osuite.core.web import money
from tests.support.office import PRODUCTS, Office
from tests.support.store import SUPERVISOR_PIN, Catalog
from tests.support.terminal import eventually
from tests.ui.conftest import tidy
from tests.ui.manager.conftest import log_in, screenshot

pytestmark = pytest.mark.ui


@dataclass(frozen=True)
class Sold:
    sale: dict[str, Any]
    """The sale as the data server has it."""
    refund: dict[str, Any]
    """The return of the sale's first line."""
    day: str
    """Their business day."""


@pytest.fixture(scope="module")
def sold(office: Office) -> Sold:
    """A cash sale of two products, the return of its first line, 50 rubles taken out and the shift
    closed with its Z report, as the data server received them; the till is left with a new shift."""
    store = office.store
    store.wait_for_catalog(PRODUCTS)
    catalog = Catalog(PRODUCTS)
    till = store.till(SUPERVISOR_PIN)
    try:
        tidy(till)
        till.post("/shift/cash", kind="in", amount=1_000_00, reason="размен")
        till.scan(catalog.barcode(11))
        till.scan(catalog.barcode(12))
        sale = till.pay("cash")
        assert sale["status"] == "closed", sale
        till.post("/returns", original_receipt_id=sale["id"])
        line = sale["lines"][0]
        till.post("/receipt/return-lines", original_line_no=line["line_no"], quantity=line["quantity"])
        refund = till.post("/receipt/refund")
        assert refund["status"] == "closed", refund
        till.post("/shift/close", supervisor_pin=SUPERVISOR_PIN)
        tidy(till)
    finally:
        till.close()
    admin = store.admin

    def received() -> Sold | None:
        shift = admin.request("GET", f"/api/v1/shifts/{sale['shift_id']}")
        if shift["z_report"] is None:
            return None
        found = admin.request("GET", f"/api/v1/receipts/{sale['id']}")
        back = admin.request("GET", f"/api/v1/receipts/{refund['id']}")
        return Sold(found, back, found["business_day"])

    result: Sold = eventually(
        received, timeout=60, what="the sale, return and Z report to reach the data server"
    )
    return result


def test_a_receipt_sold_at_the_till_is_found_by_terminal_and_today_with_its_lines_and_payment(
    admin: Page, office: Office, sold: Sold, screenshots: Path
) -> None:
    sale = sold.sale
    admin.locator("nav.sections a[data-section=sales]").click()
    expect(admin.locator("h1")).to_have_text("Продажи")
    toolbar = admin.locator("#receipt-filters")
    toolbar.locator("select[name=terminal_id]").select_option(label="Касса 1")
    toolbar.locator("input[name=from]").fill(sold.day)
    toolbar.locator("input[name=to]").fill(sold.day)
    toolbar.get_by_role("button", name="Показать").click()
    row = admin.locator(f'#receipts tr[data-receipt="{sale["id"]}"]')
    expect(row.locator("td.total")).to_have_text(money(sale["total"], "ru"))
    expect(admin.locator(f'#receipts tr.return[data-receipt="{sold.refund["id"]}"]')).to_contain_text(
        "Возврат"
    )
    screenshot(admin, screenshots, "sales")

    row.get_by_role("link", name=str(sale["number"]), exact=True).click()
    expect(admin.locator("h1")).to_contain_text(f"Чек № {sale['number']}")
    lines = admin.locator("#lines tbody tr")
    expect(lines).to_have_count(2)
    expect(lines.locator("td.name")).to_contain_text([line["name"] for line in sale["lines"]])
    expect(lines.locator("td.amount")).to_have_text([money(line["amount"], "ru") for line in sale["lines"]])
    expect(admin.get_by_test_id("total")).to_have_text(money(sale["total"], "ru"))
    (paid,) = sale["payments"]
    expect(admin.locator('#payments tr[data-payment="cash"]')).to_contain_text(money(paid["amount"], "ru"))
    expect(admin.locator("#payments")).to_contain_text("Наличные")
    expect(admin.locator("#fiscal")).to_contain_text(sale["fiscal"]["fiscal_sign"])
    expect(admin.get_by_test_id("cashier")).not_to_have_text("—")
    screenshot(admin, screenshots, "receipt")

    admin.goto(f"{office.url}/sales/receipts/{sold.refund['id']}")
    original = admin.get_by_test_id("original")
    expect(original).to_contain_text(f"Чек № {sale['number']}")
    original.get_by_role("link").click()
    expect(admin).to_have_url(f"{office.url}/sales/receipts/{sale['id']}")


def test_the_shift_shows_its_cash_its_z_report_and_its_receipts(
    admin: Page, office: Office, sold: Sold
) -> None:
    admin.goto(f"{office.url}/sales/z-reports?from={sold.day}&to={sold.day}")
    z_reports = admin.locator("#z-reports tbody tr")
    expect(z_reports.first).to_be_visible()
    admin.goto(f"{office.url}/sales/shifts/{sold.sale['shift_id']}")
    expect(admin.locator('#cash-operations tr[data-kind="in"]')).to_contain_text(money(1_000_00, "ru"))
    net = sold.sale["total"] - sold.refund["total"]
    expect(admin.locator("dl.z-totals")).to_contain_text(money(net, "ru"))
    admin.get_by_test_id("shift-receipts").click()
    expect(admin.get_by_test_id("chosen-shift")).to_be_visible()
    expect(admin.locator("#receipts tbody tr")).to_have_count(2)


def test_the_daily_chart_shows_today_with_its_total(
    admin: Page, office: Office, sold: Sold, screenshots: Path
) -> None:
    admin.goto(f"{office.url}/sales")
    admin.locator("nav.sales-tabs a[data-tab=daily]").click()
    (today,) = office.store.admin.request(
        "GET", "/api/v1/reports/daily-sales", params={"from": sold.day, "to": sold.day}
    )["rows"]
    assert today["net"] >= sold.sale["total"] - sold.refund["total"] > 0
    bar = admin.locator(f'#daily-chart g.day[data-day="{sold.day}"]')
    expect(bar).to_have_attribute("data-net", str(today["net"]))
    expect(bar.locator("title")).to_have_text(f"{sold.day}: {money(today['net'], 'ru')}")
    assert float(bar.locator("rect").get_attribute("height") or 0) > 0
    expect(admin.locator("#daily-chart g.day")).to_have_count(14)  # two weeks, days without sales too
    expect(admin.locator(f'#daily tr[data-day="{sold.day}"] td.net')).to_have_text(money(today["net"], "ru"))
    screenshot(admin, screenshots, "daily")


def test_a_read_only_person_exports_the_period_as_a_csv_download(
    page: Page, office: Office, sold: Sold
) -> None:
    log_in(page, office, "auditor", language="en")
    page.locator("nav.sections a[data-section=sales]").click()
    toolbar = page.locator("#receipt-filters")
    toolbar.locator("select[name=store_id]").select_option(value=sold.sale["store_id"])
    toolbar.locator("input[name=from]").fill(sold.day)
    toolbar.locator("input[name=to]").fill(sold.day)
    with page.expect_download() as downloading:
        toolbar.get_by_role("button", name="Export CSV").click()
    download = downloading.value
    assert download.suggested_filename == f"receipts-S001-{sold.day}-{sold.day}.csv"
    text = Path(download.path()).read_text(encoding="utf-8")
    rows = [row for row in text.splitlines()[1:] if row.startswith(sold.sale["id"])]
    assert len(rows) == len(sold.sale["lines"])
    assert sold.sale["lines"][1]["name"] in text
