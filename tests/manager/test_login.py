"""Logging into the Manager against a real data server (its own process, the sample's people): the
password is checked there, the role decides what is seen, a link after login stays on this site, and
only the sections of installed programs are shown."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from osuite.dataserver.client import DataServerClient
from osuite.manager.app import _local, build_app
from osuite.manager.settings import ManagerSettings
from tests.support.databases import fresh_database
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def dataserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    root = tmp_path_factory.mktemp("login")
    with fresh_database(root, "dataserver") as database_url:
        server = ServerProcess("dataserver", root / "dataserver", database_url)
        server.cli("load-sample", "--products", "20")
        key = server.cli("apikey", "manager")
        server.start()
        try:
            yield server, key
        finally:
            server.stop()


@pytest.fixture
def manager(tmp_path: Path, dataserver: tuple[ServerProcess, str]) -> Iterator[TestClient]:
    server, key = dataserver
    settings = ManagerSettings(data_dir=tmp_path, dataserver_url=server.url, dataserver_key=key)
    with TestClient(build_app(settings), follow_redirects=False) as client:
        yield client


def _log_in(client: TestClient, login: str, password: str, next_: str = "/") -> int:
    return client.post("/login", data={"login": login, "password": password, "next": next_}).status_code


def test_the_right_password_opens_a_session_and_the_menu_shows_only_installed_programs(
    manager: TestClient,
) -> None:
    assert manager.get("/terminals").headers["location"] == "/login?next=/terminals"
    answer = manager.post("/login", data={"login": "manager", "password": "manager-demo", "next": "/sales"})
    assert answer.status_code == 303 and answer.headers["location"] == "/sales"
    me = manager.get("/api/v1/me").json()
    assert (me["login"], me["role"]) == ("manager", "manager")
    assert me["sections"] == ["terminals", "catalog", "sales", "people"]  # no processing, scales, license
    assert manager.get("/loyalty").status_code == 404
    token = manager.cookies["manager_session"]
    manager.post("/logout")
    assert manager.get("/api/v1/me").status_code == 303
    gone = manager.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert gone.status_code == 303, gone.text


def test_a_wrong_password_a_cashier_and_an_empty_form_are_refused(manager: TestClient) -> None:
    assert _log_in(manager, "admin", "wrong-password") == 401
    assert _log_in(manager, "nobody", "admin-demo") == 401
    assert _log_in(manager, "", "") == 422
    assert "manager_session" not in manager.cookies


def test_a_cashier_with_a_password_is_known_but_may_not_use_the_manager(
    manager: TestClient, dataserver: tuple[ServerProcess, str]
) -> None:
    server, key = dataserver
    with DataServerClient(server.url, key) as admin:
        admin.request(
            "POST",
            "/api/v1/users",
            json={"login": "anna", "name": "Анна", "password": "cashier-pass", "roles": ["cashier"]},
        )
    answer = manager.post("/login", data={"login": "anna", "password": "cashier-pass"})
    assert answer.status_code == 403 and "manager_session" not in manager.cookies


def test_a_script_uses_the_session_token_as_a_bearer_token(manager: TestClient) -> None:
    assert _log_in(manager, "auditor", "auditor-demo") == 303
    token = manager.cookies["manager_session"]
    manager.cookies.clear()
    me = manager.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["role"] == "viewer"


@given(st.text(max_size=60))
def test_after_login_a_person_stays_on_this_site(target: str) -> None:
    path = _local(target)
    assert path.startswith("/") and not path.startswith("//")
    assert "://" not in path.split("?", 1)[0] or path.startswith("/")


def _check(tmp_path: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "manager.toml"
    config.write_text("".join(f'{name} = "{value}"\n' for name, value in settings.items()), encoding="utf-8")
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "osuite",
            "manager",
            "check",
            "--config",
            str(config),
            "--data-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_check_says_which_programs_answer_and_which_are_not_set_up(
    tmp_path: Path, dataserver: tuple[ServerProcess, str]
) -> None:
    server, key = dataserver
    good = _check(tmp_path, dataserver_url=server.url, dataserver_key=key)
    assert good.returncode == 0, good.stderr
    assert f"data server at {server.url}: ok" in good.stdout
    assert "processing center: not set up (its section is not shown)" in good.stdout
    bad = _check(
        tmp_path, dataserver_url=server.url, dataserver_key="not-a-key", scales_url="http://127.0.0.1:9"
    )
    assert bad.returncode == 1
    assert f"data server at {server.url}: " in bad.stdout and ": ok" not in bad.stdout
    assert (
        "scale server at http://127.0.0.1:9: the scale server at http://127.0.0.1:9 does not answer"
        in bad.stdout
    )
    assert "some programs cannot be used" in bad.stderr


def test_help_explains_how_to_set_it_up() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "osuite", "manager", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0
    for word in ("serve", "check", "dataserver_key", "osuite dataserver apikey manager"):
        assert word in " ".join(done.stdout.split()), done.stdout
