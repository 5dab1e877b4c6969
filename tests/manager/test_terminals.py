"""The Terminals section's pure parts: the enrollment command a person copies to the new machine, the
arguments typed for a command, how long ago a terminal was heard from, and words for every kind."""

from __future__ import annotations

import shlex
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from osuite.dataserver.wire.clients import CLIENT_KINDS, COMMANDS
from osuite.manager.sections.terminals import COMMAND_TITLES, KINDS, ago, command_args, enroll_command

text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=30
)


def test_every_kind_and_command_has_words() -> None:
    assert tuple(KINDS) == CLIENT_KINDS
    assert tuple(COMMAND_TITLES) == COMMANDS


@given(url=text, code=text, name=text)
def test_the_enroll_command_reaches_the_program_with_exactly_what_was_given(
    url: str, code: str, name: str
) -> None:
    command = enroll_command("pos", url, code, name)
    assert command is not None
    assert shlex.split(command) == ["osuite", "pos", "enroll", url, code, "--name", name]


def test_each_program_has_its_own_enroll_command_and_others_use_the_api() -> None:
    assert enroll_command("scales", "http://ds:8701", "AB12-CD34", "Весы 2") == (
        "osuite scales enroll http://ds:8701 AB12-CD34 --name 'Весы 2'"
    )
    assert enroll_command("dataserver", "http://hq", "X1Y2", "S002") == (
        "osuite dataserver join --url http://hq --code X1Y2 --name S002"
    )
    assert enroll_command("printing", "http://ds", "X1Y2", "P") is None


@pytest.mark.parametrize(
    ("typed", "args"),
    [
        ("", {}),
        ("reason=inventory", {"reason": "inventory"}),
        (" reason = back at 12 ; note=a=b ;", {"reason": "back at 12", "note": "a=b"}),
        ("reason=\nnote=x", {"reason": "", "note": "x"}),
    ],
)
def test_command_arguments_are_name_value_pairs(typed: str, args: dict[str, str]) -> None:
    assert command_args(typed) == args


@pytest.mark.parametrize("typed", ["inventory", "=x", "reason=a; oops"])
def test_a_part_without_a_name_is_refused(typed: str) -> None:
    with pytest.raises(ValueError):
        command_args(typed)


@given(
    st.dictionaries(
        st.from_regex(r"[a-z_]{1,10}", fullmatch=True), st.from_regex(r"[^;=\n]{0,20}", fullmatch=True)
    )
)
def test_arguments_written_out_come_back(args: dict[str, str]) -> None:
    typed = "; ".join(f"{k}={v}" for k, v in args.items())
    assert command_args(typed) == {k: v.strip() for k, v in args.items()}


def test_ago_is_said_in_the_largest_whole_unit() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert ago(None, now) is None
    assert ago(now - timedelta(seconds=4), now) == ("{n} s ago", 4)
    assert ago(now - timedelta(seconds=125), now) == ("{n} min ago", 2)
    assert ago(now - timedelta(hours=5, minutes=59), now) == ("{n} h ago", 5)
    assert ago(now - timedelta(days=3), now) == ("{n} d ago", 3)
    assert ago(now + timedelta(seconds=2), now) == ("{n} s ago", 0)  # a clock a little ahead
    assert ago(datetime(2025, 12, 31, 23, 59), now) == ("{n} min ago", 1)  # naive means UTC
