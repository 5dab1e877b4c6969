"""The scale server's web page in a real Chromium, against real programs: a data server with the sample
store, ``osuite scales serve`` enrolled with it, and two emulated label scales on real sockets (CAS CL
and Massa-K). The page asks for an API key and refuses a wrong one; signed in, it shows each scale with
its state and the PLUs it holds, a scale that stops answering as such, a new last upload after *Upload
now* and *Full reload*; it speaks Russian unless switched to English."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from osuite.dataserver.client import DataServerClient
from osuite.devices.cas_emulator import RunningCasScale, start_cas_emulator
from osuite.devices.massak_label_emulator import RunningMassaKLabelScale, start_massak_label_emulator
from tests.support.databases import fresh_database
from tests.support.servers import ServerProcess
from tests.support.store import STORE_CODE, Catalog
from tests.support.terminal import eventually

pytestmark = pytest.mark.ui

PRODUCTS = 300
MEAT, PRODUCE = "Мясо и птица", "Овощи и фрукты"
SETTINGS = {
    "poll_seconds": 1.0,  # a scale that stops answering shows within a second or two
    "retry_max_seconds": 2.0,
    "device_timeout_seconds": 1.0,
    "heartbeat_seconds": 1.0,
    "long_poll_seconds": 2.0,  # and the server stops at once
}
"""``scales.toml`` of the test's scale server."""
UPLOAD_SECONDS = 30_000
"""How long (ms) a page may take to show what the scale server did in the background."""


def _held(category: str) -> int:
    """How many PLUs a scale holding a sample category gets: its goods sold by weight."""
    return sum(1 for p in Catalog(PRODUCTS).weighted if p.category_id.startswith(category))


@dataclass
class ScaleStore:
    dataserver: ServerProcess
    server: ServerProcess
    key: str
    cas: RunningCasScale
    massak: RunningMassaKLabelScale
    folder: Path

    @property
    def url(self) -> str:
        return self.server.url

    def scales(self) -> dict[str, dict[str, Any]]:
        answer = httpx.get(
            f"{self.url}/api/v1/scales", headers={"Authorization": f"Bearer {self.key}"}, timeout=10
        )
        answer.raise_for_status()
        return {scale["name"]: scale for scale in answer.json()}

    def restart_massak(self) -> None:
        """The Massa-K scale back on its port, with the PLUs it kept."""
        self.massak = start_massak_label_emulator(
            "127.0.0.1", self.massak.port, folder=self.folder / "massak"
        )


def _loaded(scale: dict[str, Any]) -> bool:
    last = scale["last_upload"]
    return bool(scale["plus_loaded"] and last and last["finished_at"] and not last["error"])


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScaleStore]:
    """The data server with the sample, the scale server enrolled with it and holding two scales (meat
    on the CAS, vegetables and fruit on the Massa-K), both loaded."""
    root = tmp_path_factory.mktemp("ui-scales")
    cas = start_cas_emulator("127.0.0.1", 0, folder=root / "cas")
    massak = start_massak_label_emulator("127.0.0.1", 0, folder=root / "massak")
    config = root / "scales" / "scales.toml"
    config.parent.mkdir(parents=True)
    config.write_text("".join(f"{name} = {value}\n" for name, value in SETTINGS.items()), encoding="utf-8")
    server = ServerProcess(
        "scales",
        root / "scales",
        f"sqlite:///{root / 'scales' / 'scales.db'}",
        extra=["--config", str(config)],
    )
    with fresh_database(root, "dataserver") as database_url:
        dataserver = ServerProcess("dataserver", root / "dataserver", database_url)
        shop: ScaleStore | None = None
        try:
            dataserver.cli("load-sample", "--products", str(PRODUCTS))
            dataserver.start()
            with DataServerClient(dataserver.url, dataserver.cli("apikey", "ui")) as admin:
                store = admin.request("GET", f"/api/v1/stores/{STORE_CODE}")
                code = admin.issue_enrollment_code(store["id"], kind="scales", name="Весы").code
            server.cli("enroll", dataserver.url, code)
            key = server.cli("key", "ui")
            server.cli("add", MEAT, "--protocol", "cas", "--address", cas.address, "--category", "meat")
            server.cli(
                "add", PRODUCE, "--protocol", "massak", "--address", massak.address, "--category", "produce"
            )
            server.start()
            shop = ScaleStore(dataserver, server, key, cas, massak, root)
            eventually(
                lambda: all(_loaded(scale) for scale in shop.scales().values()), timeout=90, what="uploads"
            )
            yield shop
        finally:
            server.stop()
            dataserver.stop()
            for running in (cas, shop.massak if shop else massak):
                running.stop()


@pytest.fixture
def signed_in(page: Page, shop: ScaleStore) -> Page:
    page.goto(f"{shop.url}/login")
    page.locator("input[name=key]").fill(shop.key)
    page.get_by_role("button", name="Войти").click()
    expect(page.locator("#scales")).to_be_visible()
    return page


def row(page: Page, name: str) -> Locator:
    return page.locator(f'#scales tr[data-scale="{name}"]')


def expect_state(scale: Locator, word: str, *, good: bool, timeout: float | None = None) -> None:
    """The state cell starts with ``word`` (then the scale's own message, as its driver reads it)."""
    state = scale.locator("td.state")
    expect(state).to_have_text(re.compile(rf"^\s*{word}"), timeout=timeout)
    expect(state).to_have_class("state good" if good else "state bad")


def last_upload(page: Page, name: str) -> Locator:
    return row(page, name).locator("td").nth(5)


def shot(page: Page, screenshots: Path, name: str) -> None:
    page.screenshot(path=str(screenshots / f"scales-{name}.png"), full_page=True)


def test_the_page_asks_for_the_key_and_refuses_a_wrong_one(
    page: Page, shop: ScaleStore, screenshots: Path
) -> None:
    page.goto(f"{shop.url}/")
    expect(page).to_have_url(f"{shop.url}/login")  # not signed in: the key first
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.get_by_role("heading", name="Сервер весов")).to_be_visible()
    key = page.get_by_label("Ключ API")
    expect(key).to_have_attribute("type", "password")
    shot(page, screenshots, "login")

    key.fill("not-a-key")
    page.get_by_role("button", name="Войти").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Этот ключ здесь неизвестен: создайте его командой `osuite scales key ИМЯ`"
    )
    expect(page.locator("#scales")).to_have_count(0)
    shot(page, screenshots, "wrong-key")

    page.goto(f"{shop.url}/")  # refused means not signed in
    expect(page).to_have_url(f"{shop.url}/login")
    page.get_by_label("Ключ API").fill(shop.key)
    page.get_by_role("button", name="Войти").click()
    expect(page).to_have_url(f"{shop.url}/")
    expect(row(page, MEAT)).to_be_visible()

    page.get_by_role("button", name="Выйти").click()
    expect(page).to_have_url(f"{shop.url}/login")
    page.goto(f"{shop.url}/")
    expect(page).to_have_url(f"{shop.url}/login")


def test_both_scales_with_their_state_and_plus_and_one_that_stops_answering(
    signed_in: Page, shop: ScaleStore, screenshots: Path
) -> None:
    page = signed_in
    meat, produce = row(page, MEAT), row(page, PRODUCE)
    expect(meat.locator("td").nth(2)).to_have_text(f"cas · {shop.cas.address}")
    expect(produce.locator("td").nth(2)).to_have_text(f"massak · {shop.massak.address}")
    for scale, category in ((meat, "meat"), (produce, "produce")):
        expect_state(scale, "на связи", good=True)
        expect(scale.locator("td.count")).to_have_text(str(_held(category)))
        expect(scale.locator("td").nth(5)).to_contain_text(f"отправлено {_held(category)}")
    assert _held("meat") > 0 and _held("produce") > 0
    shot(page, screenshots, "online")

    shop.massak.stop()
    try:
        # The table refreshes by itself: the Massa-K shows as not answering, the CAS stays as it was.
        expect_state(produce, "не отвечают", good=False, timeout=UPLOAD_SECONDS)
        expect(produce.locator("td.state small")).not_to_be_empty()  # the driver's words
        expect(produce.locator("td.count")).to_have_text(str(_held("produce")))  # it keeps what it has
        expect_state(meat, "на связи", good=True)
        shot(page, screenshots, "not-answering")
    finally:
        shop.restart_massak()
    expect_state(produce, "на связи", good=True, timeout=UPLOAD_SECONDS)


def test_upload_now_and_full_reload_show_a_new_last_upload(
    signed_in: Page, shop: ScaleStore, screenshots: Path
) -> None:
    page = signed_in
    meat = row(page, MEAT)
    held = _held("meat")
    before = last_upload(page, MEAT).inner_text()
    assert len(shop.cas.memory.table()) == held  # what the scale holds

    meat.get_by_role("button", name="Загрузить сейчас").click()
    # Nothing changed since the last upload: a new one that sends nothing.
    expect(last_upload(page, MEAT)).not_to_have_text(before, timeout=UPLOAD_SECONDS)
    expect(last_upload(page, MEAT)).to_contain_text("отправлено 0")
    expect(meat.locator("td.count")).to_have_text(str(held))
    shot(page, screenshots, "upload-now")

    before = last_upload(page, MEAT).inner_text()
    meat.get_by_role("button", name="Полная перезагрузка").click()
    # Everything again.
    expect(last_upload(page, MEAT)).not_to_have_text(before, timeout=UPLOAD_SECONDS)
    expect(last_upload(page, MEAT)).to_contain_text(f"отправлено {held}")
    expect_state(meat, "на связи", good=True)
    expect(meat.locator("td.count")).to_have_text(str(held))
    shot(page, screenshots, "full-reload")
    uploads_of = shop.scales()[MEAT]
    assert uploads_of["last_upload"]["kind"] == "full" and uploads_of["last_upload"]["written"] == held


def test_the_page_switches_to_english(signed_in: Page, shop: ScaleStore, screenshots: Path) -> None:
    page = signed_in
    expect(page.get_by_role("columnheader", name="Загружено PLU")).to_be_visible()
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="Scale server")).to_be_visible()
    expect(page.get_by_role("columnheader", name="PLUs loaded")).to_be_visible()
    meat = row(page, MEAT)
    expect_state(meat, "online", good=True)
    expect(meat.get_by_role("button", name="Upload now")).to_be_visible()
    expect(meat.get_by_role("button", name="Full reload")).to_be_visible()
    expect(last_upload(page, MEAT)).to_contain_text("sent")
    shot(page, screenshots, "english")

    page.get_by_role("link", name="Русский").click()  # and back
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect_state(meat, "на связи", good=True)
