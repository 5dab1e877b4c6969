"""Shared CLI pieces: the leader lock that picks the one worker running background work, and settings
errors as one line instead of a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from osuite.core.cli import LeaderLock, settings_or_exit
from osuite.dataserver.settings import DataServerSettings


def test_one_worker_of_several_leads_and_another_takes_over_when_it_stops(tmp_path: Path) -> None:
    first, second = LeaderLock(tmp_path), LeaderLock(tmp_path)
    assert (first.held, second.held) == (True, False)
    first.release()
    second.release()
    third = LeaderLock(tmp_path)
    assert third.held
    third.release()


def test_bad_settings_exit_with_a_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "dataserver.toml"
    config.write_text('port = "eighty"\n')
    with pytest.raises(typer.Exit) as stopped:
        settings_or_exit(DataServerSettings, config)
    assert stopped.value.exit_code == 2
    assert "port: Input should be a valid integer" in capsys.readouterr().err
