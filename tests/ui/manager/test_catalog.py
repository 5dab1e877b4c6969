"""The Manager's catalog in Chromium against the real store: a product is found by name and by
barcode, a store manager changes its price at the running till's store and sees the till marked as
having it, and the till then sells it at the new price; a read-only person sees no edit controls and
is refused a change; a CSV import shows the row it rejected and why."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from osuite.core.barcodes import complete_gtin
from tests.support.office import Office
from tests.support.store import STORE_CODE, SUPERVISOR_PIN
from tests.ui.conftest import tidy
from tests.ui.manager.conftest import log_in, screenshot

pytestmark = pytest.mark.ui

NAME = "Сорбет манговый «Каталог»"
BARCODE = complete_gtin("469990001234")
REACHED = 30_000  # ms: the till pulls the change, then says so in its next heartbeat


@pytest.fixture(scope="module")
def sorbet(office: Office) -> Iterator[dict[str, Any]]:
    """A product of this test's own (the sample's are sold by other tests at their sample prices),
    with a barcode and a price at the till's store."""
    admin = office.store.admin
    product = admin.request(
        "POST", "/api/v1/products", json={"article": "CAT-SORBET", "name": NAME, "vat_rate": "20"}
    )
    admin.request("POST", "/api/v1/barcodes", json={"code": BARCODE, "product_id": product["id"]})
    admin.request(
        "PUT", f"/api/v1/stores/{office.store.store_id}/prices/{product['id']}", json={"price": 9900}
    )
    yield product


def test_a_price_changed_in_the_manager_reaches_the_running_till(
    page: Page, office: Office, sorbet: dict[str, Any], screenshots: Path
) -> None:
    log_in(page, office, "manager")
    page.locator("nav.sections a[data-section=catalog]").click()
    expect(page.locator("h1")).to_have_text("Каталог")

    search = page.locator("form#search")
    search.locator("input[name=q]").fill("сорбет МАНГОВЫЙ")
    search.get_by_role("button", name="Найти").click()
    rows = page.locator("#products tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(NAME)
    screenshot(page, screenshots, "catalog")

    search.locator("input[name=q]").fill(BARCODE)
    search.locator("select[name=by]").select_option("barcode")
    search.get_by_role("button", name="Найти").click()
    expect(rows).to_have_count(1)
    rows.first.get_by_role("link", name=NAME).click()

    expect(page.locator("h1")).to_contain_text(NAME)
    expect(page.locator(f'#barcodes tr[data-barcode="{BARCODE}"]')).to_be_visible()
    price_row = page.locator(f'#prices tr[data-store="{STORE_CODE}"]')
    expect(price_row.locator("input[name=price]")).to_have_value("99.00")
    price_row.locator("input[name=price]").fill("123,45")
    price_row.get_by_role("button", name="Установить").click()

    expect(price_row.locator("input[name=price]")).to_have_value("123.45")
    till_row = page.locator(f'#reach tr[data-terminal="{office.store.client_id}"]')
    expect(till_row.locator("td.reach")).to_contain_text("дошло", timeout=REACHED)
    screenshot(page, screenshots, "product")

    till = office.store.till(SUPERVISOR_PIN)
    try:
        tidy(till)
        receipt = till.scan(BARCODE)
        assert [(line["name"], line["price"]) for line in receipt["lines"]] == [(NAME, 12345)]
    finally:
        till.post("/receipt/cancel", supervisor_pin=SUPERVISOR_PIN)
        till.close()


def test_a_read_only_person_sees_no_edit_controls_and_is_refused_a_change(
    page: Page, office: Office, sorbet: dict[str, Any]
) -> None:
    log_in(page, office, "auditor")
    page.goto(f"{office.url}/catalog/products/{sorbet['id']}")
    expect(page.locator("h1")).to_contain_text(NAME)
    expect(page.locator(f'#prices tr[data-store="{STORE_CODE}"] .price')).to_be_visible()
    expect(page.locator("#prices input[name=price]")).to_have_count(0)
    expect(page.locator("form#fields")).to_have_count(0)
    expect(page.get_by_role("button", name="Удалить")).to_have_count(0)
    answer = page.request.post(
        f"{office.url}/catalog/products/{sorbet['id']}/prices/{office.store.store_id}",
        form={"price": "1.00"},
    )
    assert answer.status == 403
    price = office.store.admin.request("GET", f"/api/v1/stores/{office.store.store_id}/prices/{sorbet['id']}")
    assert price["price"] != 100


def test_a_csv_import_shows_the_rejected_row_and_why(page: Page, office: Office, tmp_path: Path) -> None:
    csv = tmp_path / "products.csv"
    csv.write_text(
        "article;name;vat_rate\nCAT-CSV-1;Лимонад из файла;20\nCAT-CSV-2;Квас из файла;99\n", encoding="utf-8"
    )
    log_in(page, office, "manager", language="en")
    page.goto(f"{office.url}/catalog/import")
    form = page.locator("form#import")
    form.locator("select[name=kind]").select_option("products")
    form.locator("input[name=file]").set_input_files(str(csv))
    form.get_by_role("button", name="Import").click()

    expect(page.locator("#report")).to_contain_text("1 rows applied, 1 rejected.")
    rejected = page.locator("#rejected tbody tr")
    expect(rejected).to_have_count(1)
    expect(rejected.first.locator("td").first).to_have_text("3")
    expect(rejected.first.locator("td.reason")).to_contain_text("vat_rate")
    expect(rejected.first).to_contain_text("CAT-CSV-2")
    found = office.store.admin.request("GET", "/api/v1/products", params={"article": "CAT-CSV-1"})
    assert [p["name"] for p in found["items"]] == ["Лимонад из файла"]


def test_promotions_are_added_and_deleted_and_templates_are_shown(
    page: Page, office: Office, sorbet: dict[str, Any]
) -> None:
    log_in(page, office, "manager")
    page.goto(f"{office.url}/catalog/templates")
    expect(page.locator("#templates tbody tr").first.locator("input[name=name]")).not_to_have_value("")

    page.goto(f"{office.url}/catalog/promotions")
    page.locator("#new-promotion").click()
    form = page.locator("form#promotion")
    form.locator("input[name=name]").fill("Сорбет −10% (тест)")
    form.locator("select[name=kind]").select_option("percent_off")
    form.locator("input[name=articles]").fill("NO-SUCH-ARTICLE")
    form.locator("input[name=active]").uncheck()  # never applied at the till the other tests use
    form.get_by_role("button", name="Сохранить").click()
    expect(page.get_by_role("alert")).to_contain_text("NO-SUCH-ARTICLE")  # refused; the form is kept
    expect(form.locator("input[name=name]")).to_have_value("Сорбет −10% (тест)")

    form.locator("input[name=articles]").fill(sorbet["article"])
    form.locator("input[name=percent]").fill("10")
    form.get_by_role("button", name="Сохранить").click()
    row = page.locator("#promotions tr", has_text="Сорбет −10% (тест)")
    expect(row).to_contain_text("скидка 10%")
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Удалить").click()
    expect(row).to_have_count(0)
