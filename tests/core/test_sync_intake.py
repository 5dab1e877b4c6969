"""Idempotent document intake: stored once however often sent; conflicts and bad documents refused."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from osuite.core.ids import new_id
from osuite.core.sync.wire import DocumentIn
from tests.core.sync_harness import TERMINAL, Center
from tests.support.databases import fresh_database


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Center]:
    with fresh_database(tmp_path, "center") as url:
        c = Center.create(url)
        yield c
        c.db.dispose()


def note(text: str, doc_id: str | None = None) -> DocumentIn:
    return DocumentIn(id=doc_id or new_id(), kind="note", payload={"text": text})


def test_a_batch_sent_twice_is_stored_once(hub: Center) -> None:
    batch = [note("a"), note("b")]
    first = hub.intake.accept(TERMINAL, batch)
    second = hub.intake.accept(TERMINAL, batch)
    assert first.held == second.held == [d.id for d in batch]
    assert hub.note_count() == 2


def test_a_different_document_under_a_held_id_is_refused(hub: Center) -> None:
    original = note("a")
    hub.intake.accept(TERMINAL, [original])
    answer = hub.intake.accept(TERMINAL, [note("changed", original.id)])
    assert answer.held == []
    assert answer.rejected[0].reason == "a different document with this id is already held"
    assert hub.note_count() == 1


def test_bad_documents_are_refused_with_reasons_and_the_rest_stored(hub: Center) -> None:
    good, empty = note("fine"), note("")
    unknown = DocumentIn(id=new_id(), kind="poem", payload={})
    malformed = DocumentIn(id=new_id(), kind="note", payload={"text": 5})
    answer = hub.intake.accept(TERMINAL, [good, empty, unknown, malformed])
    assert answer.held == [good.id]
    reasons = {r.id: r.reason for r in answer.rejected}
    assert reasons[empty.id] == "a note needs text"
    assert reasons[unknown.id] == "unknown document kind 'poem'"
    assert reasons[malformed.id].startswith("text: ")
    assert hub.note_count() == 1


def test_two_documents_with_one_id_in_a_batch(hub: Center) -> None:
    doc_id = new_id()
    answer = hub.intake.accept(TERMINAL, [note("a", doc_id), note("a", doc_id), note("b", doc_id)])
    assert answer.held == [doc_id]
    assert [r.id for r in answer.rejected] == [doc_id]
    assert hub.note_count() == 1


def test_the_same_batch_from_concurrent_retries_is_stored_once(hub: Center) -> None:
    batch = [note(f"n{i}") for i in range(50)]
    answers = []

    def send() -> None:
        answers.append(hub.intake.accept(TERMINAL, batch))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert all(sorted(a.held) == sorted(d.id for d in batch) for a in answers)
    assert hub.note_count() == 50


def test_a_number_too_large_for_any_database_is_refused_not_a_crash(hub: Center) -> None:
    huge = DocumentIn(id=new_id(), kind="note", payload={"text": "x", "n": 2**70})
    answer = hub.intake.accept(TERMINAL, [huge, note("fine")])
    assert [r.id for r in answer.rejected] == [huge.id]
    assert "Integer exceeds 64-bit range" in answer.rejected[0].reason
    assert hub.note_count() == 1


def test_a_document_the_database_refuses_does_not_hold_back_its_batch(hub: Center) -> None:
    good, too_long, also_good = note("a"), note("x" * 60), note("b")
    answer = hub.intake.accept(TERMINAL, [good, too_long, also_good])
    assert answer.held == [good.id, also_good.id]
    assert [r.id for r in answer.rejected] == [too_long.id]
    assert answer.rejected[0].reason.startswith("the database cannot store it: ")
    assert hub.note_count() == 2
    again = hub.intake.accept(TERMINAL, [good, too_long, also_good])  # the resend is answered alike
    assert again.held == [good.id, also_good.id] and hub.note_count() == 2
