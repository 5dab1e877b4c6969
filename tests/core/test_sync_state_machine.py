"""Random histories of one edge and its center: changes, documents, crashes mid-page, network cuts,
lost answers and compaction. After the network heals and both sides catch up, the edge holds exactly
the center's current data and the center holds every queued document exactly once."""

from __future__ import annotations

import contextlib
import tempfile
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from sqlalchemy import select, update

from osuite.core.ids import new_id
from osuite.core.sync.changelog import Change
from osuite.core.sync.outbox import OutboxSender
from osuite.core.sync.puller import Puller
from osuite.core.sync.transport import LinkDown
from osuite.core.sync.wire import EVERYONE, DocumentIn, IntakeAnswer
from tests.core.sync_harness import Center, Edge, ItemReplica, center, edge, notes
from tests.core.test_sync_outbox_puller import Link
from tests.support.databases import fresh_database

KEYS = st.sampled_from(["a", "b", "c", "d", "e"])


class SyncHistory(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.stack = ExitStack()
        # Memory-backed files when the machine has them: hundreds of fsyncs per example add up.
        shm = "/dev/shm" if Path("/dev/shm").is_dir() else None
        folder = Path(self.stack.enter_context(tempfile.TemporaryDirectory(dir=shm)))
        self.hub = Center.create(self.stack.enter_context(fresh_database(folder, "center")))
        self.end = Edge.create(self.stack.enter_context(fresh_database(folder, "edge")))
        self.link = Link(self.hub)
        self.truth: dict[str, str] = {}
        self.queued: list[str] = []
        self.version = 0

    def teardown(self) -> None:
        self.hub.db.dispose()
        self.end.db.dispose()
        self.stack.close()

    @rule(key=KEYS, delete=st.booleans())
    def change_at_center(self, key: str, delete: bool) -> None:
        self.version += 1
        value = None if delete else f"v{self.version}"
        with self.hub.db.write() as conn:
            self.hub.changelog.record(
                conn, [Change("item", key, EVERYONE, None if value is None else {"value": value})]
            )
        if value is None:
            self.truth.pop(key, None)
        else:
            self.truth[key] = value

    @rule(
        text=st.text(
            st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=5
        )
    )
    def sell_at_edge(self, text: str) -> None:
        with self.end.db.write() as conn:
            self.end.outbox.add(conn, id=new_id(), kind="note", payload={"text": text})
        self.queued.append(text)

    @rule(page=st.integers(1, 4), crash_at=st.sampled_from([None, None, None, 0, 2]))
    def pull(self, page: int, crash_at: int | None) -> None:
        puller = Puller(self.end.db, edge, self.link.fetch, ItemReplica(fail_after=crash_at), page_size=page)
        with contextlib.suppress(RuntimeError, LinkDown):  # a crash or a cut: tried again later
            puller.pull_once()

    @rule(lose_answer=st.booleans(), batch=st.integers(1, 3))
    def send(self, lose_answer: bool, batch: int) -> None:
        def deliver(documents: list[DocumentIn]) -> IntakeAnswer:
            answer = self.link.send(documents)
            if lose_answer:
                raise LinkDown("answer lost")
            return answer

        OutboxSender(self.end.outbox, deliver, batch_size=batch).send_once()
        self._expire_backoff()

    @rule()
    def cut_or_heal(self) -> None:
        self.link.up = not self.link.up

    @rule()
    def compact(self) -> None:
        with self.hub.db.write() as conn:
            conn.execute(
                update(center.changes).values(changed_at=center.changes.c.changed_at - timedelta(days=1))
            )
            self.hub.changelog.purge_tombstones(conn, timedelta(0))

    @invariant()
    def nothing_stored_twice(self) -> None:
        with self.hub.db.read() as conn:
            texts = sorted(conn.execute(select(notes.c.text)).scalars())
        assert len(texts) <= len(self.queued)

    def _expire_backoff(self) -> None:
        with self.end.db.write() as conn:
            conn.execute(update(edge.outbox).values(next_attempt_at=edge.outbox.c.created_at))

    def check_converged(self) -> None:
        self.link.up = True
        sender = OutboxSender(self.end.outbox, self.link.send)
        while sender.send_once().sent:
            self._expire_backoff()
        Puller(self.end.db, edge, self.link.fetch, ItemReplica()).catch_up()
        assert {k: v for k, (v, _n) in self.end.items().items()} == self.truth
        with self.hub.db.read() as conn:
            texts = sorted(conn.execute(select(notes.c.text)).scalars())
        assert texts == sorted(self.queued)


class ConvergingHistory(SyncHistory):
    def teardown(self) -> None:
        try:
            self.check_converged()
        finally:
            super().teardown()


ConvergingHistory.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
TestSyncHistory = ConvergingHistory.TestCase
