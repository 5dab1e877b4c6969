"""The Terminals section in Chromium against the real store: the till is listed online with its shift,
an administrator enrolls a second real POS with the code the page shows and sees it come online, sends
the running till a command and sees it done, and revokes the new one; a store manager may send
commands but neither enroll nor revoke, and a viewer only looks."""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.support.office import Office
from tests.support.servers import ServerProcess, free_port
from tests.support.store import STORE_CODE, write_pos_config
from tests.ui.manager.conftest import log_in, screenshot

pytestmark = pytest.mark.ui

NEW_TILL = "Касса 2 (Менеджер)"


@pytest.fixture
def second_till(tmp_path: Path) -> Iterator[ServerProcess]:
    """A second POS process, enrolled by the test with the Manager's code, stopped at the end; its
    registrar is a port where nothing answers, so it reports a device error."""
    folder = tmp_path / "pos2"
    config = write_pos_config(folder / "pos.toml", heartbeat_seconds=0.5, long_poll_seconds=5.0)
    nowhere = f"http://127.0.0.1:{free_port()}"
    pos = ServerProcess(
        "pos",
        folder,
        f"sqlite:///{folder / 'pos.db'}",
        extra=["--config", str(config), "--registrar", nowhere],
    )
    try:
        yield pos
    finally:
        pos.stop()


def test_the_list_shows_the_till_online_with_its_shift(
    admin: Page, office: Office, screenshots: Path
) -> None:
    admin.goto(f"{office.url}/terminals")
    till = admin.locator(f'table.terminals tr[data-client="{office.store.client_id}"]')
    expect(till.locator(".status")).to_have_text("На связи")
    expect(till.locator("td.queue")).to_have_text("0")
    expect(till.locator(".shift")).to_be_visible()
    expect(
        admin.locator("table.terminals tr").filter(has_text="Сервер весов").locator(".status")
    ).to_have_text("На связи")
    admin.locator("#store-filter select").select_option(label=f"{STORE_CODE} · " + _store_name(office))
    expect(admin).to_have_url(f"{office.url}/terminals?store={office.store.store_id}")
    expect(till.locator(".status")).to_have_text("На связи")
    screenshot(admin, screenshots, "terminals")


def _store_name(office: Office) -> str:
    return str(office.store.admin.request("GET", f"/api/v1/stores/{STORE_CODE}")["name"])


def test_enroll_a_till_see_it_come_online_and_revoke_it(
    admin: Page, office: Office, second_till: ServerProcess
) -> None:
    admin.goto(f"{office.url}/terminals")
    admin.locator("#enroll").click()
    admin.locator("select[name=store]").select_option(office.store.store_id)
    admin.locator("select[name=kind]").select_option("pos")
    admin.locator("input[name=name]").fill(NEW_TILL)
    admin.get_by_role("button", name="Выдать код").click()
    code = admin.locator("#enrollment-code").inner_text().strip()
    command = admin.locator("#enroll-command").inner_text().strip()
    url = office.store.dataserver.url
    assert shlex.split(command) == ["osuite", "pos", "enroll", url, code, "--name", NEW_TILL]

    second_till.cli(*shlex.split(command)[2:])  # exactly what the page says to run
    second_till.start()

    admin.goto(f"{office.url}/terminals")
    new = admin.locator(f'table.terminals tr[data-name="{NEW_TILL}"]')
    expect(new.locator(".status")).to_have_text("На связи", timeout=30_000)  # the list refreshes itself
    expect(new.locator("td.devices .bad")).to_contain_text("registrar")
    new.get_by_role("link", name=NEW_TILL).click()
    expect(admin.locator("#terminal-status")).to_have_text("На связи")
    expect(admin.locator('#devices tr[data-device="registrar"] .badge')).to_have_text("Ошибка")
    admin.locator("#revoke").click()
    expect(admin.locator("h1")).to_have_text(f"Отключить {NEW_TILL}?")
    admin.locator("#confirm-revoke").click()
    expect(admin.locator("#terminal-status")).to_have_text("Отключён")
    expect(admin.locator("#revoke")).to_have_count(0)
    expect(admin.locator("#send-command")).to_have_count(0)
    admin.goto(f"{office.url}/people")
    expect(admin.locator("#log tr").filter(has_text="revoke").first).to_contain_text(NEW_TILL)


def test_a_command_to_the_running_till_is_done_with_its_result(
    admin: Page, office: Office, screenshots: Path
) -> None:
    admin.goto(f"{office.url}/terminals/{office.store.client_id}")
    admin.locator("#send-command select[name=command]").select_option("apply_settings")
    admin.locator("#send-command").get_by_role("button", name="Отправить").click()
    newest = admin.locator("#command-history tbody tr").first
    expect(newest).to_have_attribute("data-name", "apply_settings")
    expect(newest.locator(".state")).to_have_text("Выполнена", timeout=20_000)
    expect(newest.locator(".result")).to_contain_text("settings arrive")
    screenshot(admin, screenshots, "terminal")


def test_arguments_without_a_name_are_refused_next_to_the_form(admin: Page, office: Office) -> None:
    admin.goto(f"{office.url}/terminals/{office.store.client_id}")
    before = admin.locator("#command-history tbody tr").count()
    admin.locator("#send-command select[name=command]").select_option("lock")
    admin.locator("#send-command input[name=args]").fill("inventory")
    admin.locator("#send-command").get_by_role("button", name="Отправить").click()
    expect(admin.get_by_role("alert")).to_contain_text("inventory")
    expect(admin.locator("#command-history tbody tr")).to_have_count(before)


def test_a_store_manager_commands_but_cannot_enroll_or_revoke(page: Page, office: Office) -> None:
    log_in(page, office, "manager")
    page.goto(f"{office.url}/terminals")
    expect(page.locator(f'table.terminals tr[data-client="{office.store.client_id}"]')).to_be_visible()
    expect(page.locator("#enroll")).to_have_count(0)
    page.goto(f"{office.url}/terminals/{office.store.client_id}")
    expect(page.locator("#send-command")).to_be_visible()
    expect(page.locator("#revoke")).to_have_count(0)
    assert page.request.post(f"{office.url}/terminals/{office.store.client_id}/revoke").status == 403
    enroll = page.request.post(
        f"{office.url}/terminals/enroll", form={"store": office.store.store_id, "kind": "pos", "name": "x"}
    )
    assert enroll.status == 403
    page.goto(f"{office.url}/terminals/enroll")
    expect(page.get_by_role("alert")).to_have_text(
        "Ваша роль этого не позволяет: обратитесь к администратору."
    )


def test_a_viewer_only_looks(page: Page, office: Office) -> None:
    log_in(page, office, "auditor")
    page.goto(f"{office.url}/terminals/{office.store.client_id}")
    expect(page.locator("#terminal-status")).to_have_text("На связи")
    expect(page.locator("#send-command")).to_have_count(0)
    answer = page.request.post(
        f"{office.url}/terminals/{office.store.client_id}/commands", form={"command": "unlock"}
    )
    assert answer.status == 403
