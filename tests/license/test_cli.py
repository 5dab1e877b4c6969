"""The vendor's tools as typed: keygen (the private key readable by its owner only), issue, show; and
plain words, never a traceback, when something is refused."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from osuite.license.cli import app


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_keygen_issue_show(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    code, out = _run("keygen", "--out", str(keys))
    assert code == 0, out
    private, public = keys / "license-private.pem", keys / "license-public.pem"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert b"PRIVATE KEY" in private.read_bytes()
    assert b"PUBLIC KEY" in public.read_bytes()
    code, out = _run("keygen", "--out", str(keys))
    assert code == 1
    assert "exists already" in out

    lic = tmp_path / "store12.lic"
    code, out = _run(
        "issue",
        "--key", str(private),
        "--customer", "ООО Ромашка",
        "--seats", "pos=10",
        "--seats", "scales=1",
        "--line", "openstore",
        "--feature", "loyalty",
        "--valid-until", "2099-12-31",
        "--out", str(lic),
    )  # fmt: skip
    assert code == 0, out
    assert "ООО Ромашка" in lic.read_text(encoding="utf-8")

    code, out = _run("show", str(lic), "--public-key", str(public))
    assert code == 0, out
    assert "pos 10, scales 1" in out
    assert "through 2099-12-31" in out
    assert "signature OK" in out

    lic.write_bytes(lic.read_bytes().replace(b'"pos": 10', b'"pos": 11'))
    code, out = _run("show", str(lic), "--public-key", str(public))
    assert code == 1
    assert "REFUSED" in out
    assert "changed or damaged" in out


def test_issue_explains_bad_input(tmp_path: Path) -> None:
    _run("keygen", "--out", str(tmp_path))
    key = str(tmp_path / "license-private.pem")
    base = ["issue", "--key", key, "--customer", "X", "--out", str(tmp_path / "l.lic")]
    code, out = _run(*base, "--seats", "pos=10", "--valid-until", "31.12.2027")
    assert code == 1
    assert "must be a date like 2027-12-31" in out
    code, out = _run(*base, "--seats", "pos:10", "--valid-until", "2027-12-31")
    assert code == 1
    assert "PROGRAM=N" in out
    code, out = _run(*base, "--seats", "kasse=10", "--valid-until", "2027-12-31")
    assert code == 1
    assert "unknown program kind(s) kasse" in out
    code, out = _run(*base, "--seats", "pos=1", "--valid-until", "2027-12-31", "--line", "retail")
    assert code == 1
    assert "unknown product line(s) retail" in out
    code, out = _run(
        "issue", "--key", str(tmp_path / "license-public.pem"), "--customer", "X",
        "--seats", "pos=1", "--valid-until", "2027-12-31", "--out", str(tmp_path / "l.lic"),
    )  # fmt: skip
    assert code == 1
    assert "private key" in out


def test_an_expired_license_is_shown_and_refused(tmp_path: Path) -> None:
    from datetime import date

    from tests.license.support import write_license

    lic, pub = write_license(tmp_path, valid_until=date(2026, 1, 31))
    code, out = _run("show", str(lic), "--public-key", str(pub))
    assert code == 1
    assert "customer  ООО «Ромашка», магазин 12" in out
    assert "expired on 2026-01-31" in out


def test_show_without_a_key_refuses(tmp_path: Path) -> None:
    from tests.license.support import write_license

    lic, _pub = write_license(tmp_path)
    code, out = _run("show", str(lic))
    assert code == 2
    assert "give --public-key" in out


def test_serve_refuses_without_a_key_or_with_a_tampered_license(tmp_path: Path, db_url: str) -> None:
    from tests.license.support import write_license

    lic, pub = write_license(tmp_path)
    common = ["--data-dir", str(tmp_path / "license"), "--database-url", db_url]
    code, out = _run("serve", "--license", str(lic), *common)
    assert code == 2
    assert "no public key is configured" in out
    lic.write_bytes(lic.read_bytes().replace(b'"scales": 1', b'"scales": 9'))
    code, out = _run("serve", "--license", str(lic), "--public-key", str(pub), *common)
    assert code == 2
    assert "changed or damaged" in out


def test_help_explains_every_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "osuite", "license", "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0
    for command in ("keygen", "issue", "show", "serve", "key"):
        assert command in done.stdout
