"""Fixtures of the UI tests: Debian's Chromium driven by Playwright (never a downloaded browser), one store
of real processes per test module (tests/support/store.py), and before each test a till with its shift
open and no receipt open or held."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright

from tests.support.store import SUPERVISOR_PIN, Problem, Store, Till, running_store
from tests.support.terminal import eventually
from tests.ui.screen import GOODS, PLAIN_CODE_OF_WEIGHED, SCREENSHOTS, UI_PRODUCTS

TIMEOUT_MS = 10_000
VIEWPORT = {"width": 1024, "height": 768}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "ui: the cashier's screen in a real Chromium (Playwright)")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


_FAILED = pytest.StashKey[bool]()


def chromium_path() -> str:
    """``OSUITE_CHROMIUM``, else Debian's ``chromium`` (``make chromium`` installs it)."""
    found = os.environ.get("OSUITE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found or not Path(found).exists():
        pytest.fail("Chromium is not installed: run `make chromium` (apt-get install chromium)")
    return found


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=chromium_path())
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    return SCREENSHOTS


def new_context(browser: Browser, **options: Any) -> BrowserContext:
    context = browser.new_context(**{"viewport": VIEWPORT, **options})
    context.set_default_timeout(TIMEOUT_MS)
    return context


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = new_context(browser)
    yield context
    context.close()


@pytest.fixture
def page(request: pytest.FixtureRequest, context: BrowserContext, screenshots: Path) -> Iterator[Page]:
    """A tab of the till's screen; a failed test leaves its last picture as ``failed-<test>.png``, and
    a JavaScript error on the page fails the test."""
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    if request.node.stash.get(_FAILED, False) and not page.is_closed():
        page.screenshot(path=str(screenshots / f"failed-{request.node.name}.png"))
    assert not errors, f"JavaScript errors on the page: {errors}"


# --- the store -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """The store of the module's tests, its catalog at the till; a weighted product also has a plain
    EAN-13 (the sample's weighed goods only have scale labels), so scanning it asks for the weight."""
    with running_store(tmp_path_factory.mktemp("ui-store"), products=UI_PRODUCTS) as store:
        (product,) = store.admin.request(
            "GET", "/api/v1/products", params={"article": GOODS.weighed_by_code.article}
        )["items"]
        store.admin.request(
            "POST", "/api/v1/barcodes", json={"code": PLAIN_CODE_OF_WEIGHED, "product_id": product["id"]}
        )
        store.wait_for_catalog(UI_PRODUCTS)
        till = store.till(SUPERVISOR_PIN)
        try:
            eventually(lambda: _asks_for_weight(till), timeout=60, what="the new barcode to reach the till")
        finally:
            till.close()
        yield store


def _asks_for_weight(till: Till) -> bool:
    try:
        till.scan(PLAIN_CODE_OF_WEIGHED)
    except Problem as refused:
        return bool(refused.body["type"] == "needs_weight")
    raise AssertionError("a weighted product's own code was sold without a weight")


@pytest.fixture
def url(store: Store) -> str:
    return store.pos.url


@pytest.fixture(autouse=True)
def clean_till(request: pytest.FixtureRequest) -> Iterator[None]:
    """Before each test that uses the store: the card terminal approves, the shift is open (a new one
    if it expired), and no receipt is open or held."""
    if "store" not in request.fixturenames:
        yield
        return
    store: Store = request.getfixturevalue("store")
    store.card_mode(mode="approve")
    till = store.till(SUPERVISOR_PIN)
    try:
        tidy(till)
    finally:
        till.close()
    yield


def tidy(till: Till) -> None:
    status = till.status()
    receipt = status["receipt"]
    if receipt is not None:
        if receipt["status"] == "fiscalizing":
            till.post("/receipt/close")
        else:
            till.post("/receipt/cancel", supervisor_pin=SUPERVISOR_PIN)
    for held in till.get("/receipts/held"):
        till.post(f"/receipts/{held['id']}/cancel", supervisor_pin=SUPERVISOR_PIN)
    shift = till.get("/shift")
    if shift is not None and shift["expired"]:
        till.post("/shift/close", supervisor_pin=SUPERVISOR_PIN)
        shift = None
    if shift is None:
        till.post("/shift/open", supervisor_pin=SUPERVISOR_PIN)
    status = till.status()
    assert status["receipt"] is None and status["held"] == 0 and status["shift"], status
