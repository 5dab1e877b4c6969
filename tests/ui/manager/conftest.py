"""Fixtures of the Manager's browser tests: one whole store of real processes for the session
(tests/support/office.py), a person logged in, and a screenshot of each section for a person to look at
(``tests/ui/screenshots/manager-*.png``, git-ignored)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.support.office import PEOPLE, Office, running_office


@pytest.fixture(scope="session")
def office(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Office]:
    with running_office(tmp_path_factory.mktemp("office")) as office:
        yield office


def log_in(page: Page, office: Office, login: str = "admin", *, language: str = "ru") -> Page:
    """``login`` logged in (with the sample's password), on the Manager's first section."""
    page.goto(f"{office.url}/lang/{language}")
    page.goto(f"{office.url}/login")
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill(PEOPLE[login])
    page.locator("section.login button[type=submit]").click()
    expect(page.locator("nav.sections")).to_be_visible()
    return page


@pytest.fixture
def admin(page: Page, office: Office) -> Page:
    return log_in(page, office, "admin")


def screenshot(page: Page, screenshots: Path, name: str) -> None:
    page.screenshot(path=str(screenshots / f"manager-{name}.png"), full_page=True)
