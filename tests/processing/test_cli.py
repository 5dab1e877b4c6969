"""`osuite processing` as a store's IT person types it: help that explains each command, keys, cards,
blocks and adjustments from the command line, and plain words (never a traceback) when refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from osuite.processing.cli import app

COMMANDS = ("serve", "import-customers", "import-cards", "issue-card", "block-card", "adjust", "key")


@pytest.fixture
def run(tmp_path: Path, db_url: str) -> object:
    runner = CliRunner()
    where = ["--data-dir", str(tmp_path / "processing"), "--database-url", db_url]

    def invoke(*args: str) -> Result:
        return runner.invoke(app, [*args, *where])

    return invoke


def test_help_explains_every_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "osuite", "processing", "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0
    for command in COMMANDS:
        assert command in done.stdout
    runner = CliRunner()
    for command in COMMANDS:
        helped = runner.invoke(app, [command, "--help"])
        assert helped.exit_code == 0, command
        assert len(helped.stdout) > 300, command


def test_a_card_is_issued_blocked_and_adjusted_from_the_command_line(run) -> None:  # type: ignore[no-untyped-def]
    key = run("key", "Store 12 POS", "--scope", "pos")
    assert key.exit_code == 0
    assert len(key.stdout.strip()) >= 40
    assert "pos" in key.stderr
    gift = run("issue-card", "G-1", "--type", "gift", "--nominal", "3000")
    assert gift.exit_code == 0, gift.output
    assert gift.stdout.startswith("card G-1 issued on account ")
    bonus = run("issue-card", "100")
    assert bonus.exit_code == 0, bonus.output
    no_reason = run("adjust", "100", "150")
    assert no_reason.exit_code == 1
    assert "The reason for the adjustment must be given" in no_reason.stderr
    added = run("adjust", "100", "150", "--reason", "opening balance", "--by", "admin Ivanova")
    assert added.exit_code == 0, added.output
    assert "150.00 points, now 150.00 available" in added.stdout
    too_much = run("adjust", "100", "-150.01", "--reason", "error")
    assert too_much.exit_code == 1
    assert "150.01 points were asked for, but only 150.00 are available" in too_much.stderr
    blocked = run("block-card", "100")
    assert (blocked.exit_code, blocked.stdout.strip()) == (0, "card 100 is blocked")
    replaced = run("block-card", "100", "--lost", "--replace-with", "101")
    assert (replaced.exit_code, replaced.stdout.strip()) == (0, "card 100 is lost, replaced by 101")
    unknown = run("block-card", "999")
    assert (unknown.exit_code, unknown.stderr.strip()) == (1, "error: There is no card 999")


def test_a_database_keeps_its_role(tmp_path: Path, db_url: str) -> None:
    from osuite.processing.context import Processing, RoleMismatch
    from osuite.processing.settings import ProcessingSettings

    root = ProcessingSettings(data_dir=tmp_path, database_url=db_url, role="root")
    Processing.open(root).db.dispose()
    with pytest.raises(RoleMismatch, match="belongs to a root center, not a subordinate"):
        Processing.open(root.model_copy(update={"role": "subordinate"}))
