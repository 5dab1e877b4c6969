"""The Manager's Scales section in Chromium against the office's scale server and its emulated CAS scale
"Мясо": the scale is listed online with the meat it holds, and an administrator reloads all scales; a
store manager orders an upload and a full reload and sees each arrive as the newest upload, without an
error, and the PLUs sent again; the scale's page lists its PLUs with what the scale answered and finds
one by name; a read-only person sees no button to upload, and an upload they post anyway is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.support.office import PRODUCTS, SCALE, Office
from tests.support.store import Catalog
from tests.ui.manager.conftest import log_in, screenshot

pytestmark = pytest.mark.ui

MEAT = [p for p in Catalog(PRODUCTS).weighted if p.category_id.startswith("meat")]
"""What the office's scale holds: the sample's meat sold by weight."""
BACKGROUND = 30_000
"""How long (ms) the page may take to show what the scale server does in the background."""


def open_scale(page: Page, office: Office) -> str:
    """The scale's page, from the list; its id."""
    page.goto(f"{office.url}/scales")
    link = page.locator(f'tr[data-scale="{SCALE}"] a')
    href = link.get_attribute("href")
    assert href is not None
    link.click()
    expect(page.locator("h1")).to_have_text(SCALE)
    return href.rpartition("/")[2]


def test_the_scale_is_listed_online_with_the_plus_it_holds(
    admin: Page, office: Office, screenshots: Path
) -> None:
    admin.locator("nav.sections a[data-section=scales]").click()
    expect(admin.locator("h1")).to_have_text("Весы")
    row = admin.locator(f'tr[data-scale="{SCALE}"]')
    expect(row.locator(".state .badge[data-state]")).to_have_text("на связи", timeout=BACKGROUND)
    expect(row.locator("td.loaded")).to_have_text(str(len(MEAT)), timeout=BACKGROUND)
    expect(row).to_contain_text("CAS")
    # what the last upload sent depends on what changed before (other tests change the catalog)
    expect(row.locator(".last-upload")).to_contain_text("отправлено")
    expect(row.locator(".last-upload .error")).to_have_count(0)
    screenshot(admin, screenshots, "scales")

    last = row.locator(".last-upload [data-started]")
    before = last.get_attribute("data-started")
    admin.once("dialog", lambda dialog: dialog.accept())  # "Reload every scale in full?"
    admin.get_by_role("button", name="Перезагрузить все весы").click()
    expect(admin.get_by_role("status")).to_have_text("Все весы будут перезагружены полностью.")
    expect(last).not_to_have_attribute("data-started", before or "", timeout=BACKGROUND)
    expect(row.locator(".last-upload")).to_contain_text("полная перезагрузка")
    expect(row.locator(".last-upload .error")).to_have_count(0)


def newest_upload_after(page: Page, before: str | None, kind: str) -> None:
    """The newest upload is a new one of ``kind``, finished without an error."""
    newest = page.locator("#scale-live table.uploads tbody tr").first
    if before is not None:
        expect(newest).not_to_have_attribute("data-started", before, timeout=BACKGROUND)
    expect(newest).to_have_attribute("data-kind", kind, timeout=BACKGROUND)
    expect(newest.locator(".badge")).to_have_count(0, timeout=BACKGROUND)  # finished, no longer "running"
    expect(newest.locator("td.error")).to_have_text("")
    started = newest.get_attribute("data-started")
    assert started is not None and (before is None or started > before)


def test_a_store_manager_uploads_now_and_reloads_in_full(
    page: Page, office: Office, screenshots: Path
) -> None:
    log_in(page, office, "manager")
    open_scale(page, office)
    live = page.locator("#scale-live")
    expect(live.locator(".loaded")).to_have_text(str(len(MEAT)), timeout=BACKGROUND)
    uploads = live.locator("table.uploads tbody tr")
    expect(uploads.first).to_be_visible(timeout=BACKGROUND)
    before = uploads.first.get_attribute("data-started")

    page.get_by_role("button", name="Загрузить сейчас").click()
    expect(live.get_by_role("status")).to_have_text("Загрузка заказана.")
    newest_upload_after(page, before, "changes")

    before = uploads.first.get_attribute("data-started")
    plus = page.locator("#plus table.plus tbody tr")
    sent = plus.first.get_attribute("data-sent")
    page.get_by_role("button", name="Полная перезагрузка").click()
    expect(live.get_by_role("status")).to_have_text("Полная перезагрузка заказана.")
    newest_upload_after(page, before, "full")
    expect(uploads.first.locator("td.written")).to_have_text(str(len(MEAT)))
    expect(live.locator(".loaded")).to_have_text(str(len(MEAT)), timeout=BACKGROUND)

    expect(plus.first).not_to_have_attribute("data-sent", sent or "", timeout=BACKGROUND)  # sent again
    expect(plus).to_have_count(min(len(MEAT), 50))
    expect(plus.first.locator("td.answer")).to_have_text("принят")
    screenshot(page, screenshots, "scale")

    product = MEAT[0].name
    page.get_by_label("Номер PLU или товар").fill(product)
    expect(plus).to_have_count(1)
    expect(plus.first).to_contain_text(product)
    expect(plus.first.locator("td.answer")).to_have_text("принят")


def test_a_read_only_person_sees_no_upload_and_may_not_post_one(page: Page, office: Office) -> None:
    log_in(page, office, "auditor", language="en")
    scale_id = open_scale(page, office)
    expect(page.locator("#scale-live .card.state")).to_contain_text("State")
    expect(page.locator("#plus table.plus")).to_be_visible()
    expect(page.get_by_role("button", name="Upload now")).to_have_count(0)
    expect(page.get_by_role("button", name="Full reload")).to_have_count(0)
    page.goto(f"{office.url}/scales")
    expect(page.locator(f'tr[data-scale="{SCALE}"]')).to_be_visible()
    expect(page.get_by_role("button", name="Reload all scales")).to_have_count(0)

    refused = page.request.post(f"{office.url}/scales/{scale_id}/upload", form={"full": "true"})
    assert refused.status == 403
    assert page.request.post(f"{office.url}/scales/reload").status == 403
