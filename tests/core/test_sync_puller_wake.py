"""A puller backing off after the center went away pulls again as soon as it is woken (another channel,
such as a till's heartbeat, found the center answering), not at the end of its back-off."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from osuite.core.sync.puller import Puller
from osuite.core.sync.transport import FetchedPage, LinkDown
from tests.core.sync_harness import Edge, ItemReplica, edge
from tests.support.databases import fresh_database


class Center:
    def __init__(self) -> None:
        self.up = False
        self.calls = 0

    def fetch(self, since: int, limit: int, wait: float, snapshot: bool = False) -> FetchedPage:
        self.calls += 1
        if not self.up:
            raise LinkDown("connection refused")
        time.sleep(min(wait, 0.05))
        return FetchedPage([], since, False, False)


@pytest.fixture
def end(tmp_path: Path) -> Iterator[Edge]:
    with fresh_database(tmp_path, "edge") as url:
        made = Edge.create(url)
        yield made
        made.db.dispose()


def test_a_woken_puller_pulls_at_once_instead_of_waiting_out_its_back_off(end: Edge) -> None:
    center = Center()
    puller = Puller(end.db, edge, center.fetch, ItemReplica())
    stop = threading.Event()
    thread = threading.Thread(target=puller.run, args=(stop,), kwargs={"wait": 0.05}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while center.calls < 3 and time.monotonic() < deadline:  # backing off: 1, 2, then 4 s or so
            time.sleep(0.05)
        assert puller.last_error == "connection refused"
        center.up = True
        woken = time.monotonic()
        puller.wake()
        while puller.last_error is not None and time.monotonic() - woken < 5:
            time.sleep(0.02)
        assert puller.last_error is None
        assert time.monotonic() - woken < 1.0
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()
