"""`osuite pos` as a store's IT person types it: help that explains, a clear word for a till that is not
enrolled yet, and a refused or unreachable enrollment named plainly (never a traceback)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.servers import free_port


def _pos(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "osuite", "pos", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_help_names_every_command() -> None:
    done = _pos("--help")
    assert done.returncode == 0
    for command in ("enroll", "serve", "status"):
        assert command in done.stdout


def test_status_of_a_till_never_enrolled(tmp_path: Path) -> None:
    missing = _pos("status", "--data-dir", str(tmp_path / "nothing"))
    assert missing.returncode == 1
    assert "enroll it first" in missing.stderr


def test_enrolling_against_nothing_says_the_server_is_unreachable(tmp_path: Path) -> None:
    done = _pos("enroll", f"http://127.0.0.1:{free_port()}", "AAAA-BBBB-CCCC", "--data-dir", str(tmp_path))
    assert done.returncode == 1
    assert "cannot reach the data server" in done.stderr
    assert "Traceback" not in done.stderr
