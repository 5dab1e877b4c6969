"""A root and two subordinates as real `osuite processing serve` processes: subordinates enroll with a
one-time code (a second root is refused), accounts come down, spends go up and reach the other
subordinate through the root, allowances are lent on demand, and while the root is down a subordinate
keeps serving within what it was lent — and not a point more. After the heal every center shows the
same balance and the same movements."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TypeVar

import pytest

from osuite.processing.client import ProcessingClient, ProcessingError, line, new_transaction_id
from tests.support.databases import fresh_database
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.e2e

T = TypeVar("T")
CARD = "3000001"


def eventually(check: Callable[[], T], *, timeout: float = 45.0, what: str = "") -> T:
    """``check()`` once it stops raising and returns something truthy."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
            last = value
        except (ProcessingError, AssertionError) as exc:
            last = exc
        time.sleep(0.2)
    raise AssertionError(f"{what or 'the condition'} did not come true: {last!r}")


class Center:
    def __init__(self, server: ServerProcess, admin: str, pos: str) -> None:
        self.server = server
        self.admin = ProcessingClient(server.url, admin)
        self.pos = ProcessingClient(server.url, pos)

    def close(self) -> None:
        self.admin.close()
        self.pos.close()

    def active(self, account_id: str) -> int:
        return self.admin.account(account_id).balance.active

    def movement_ids(self, account_id: str) -> set[str]:
        return {m.id for m in self.admin.journal(account_id).movements}

    def spend(self, amount: int, receipt: str, *, hold: int | None = None) -> None:
        held = self.pos.hold(new_transaction_id(), CARD, receipt, hold or amount)
        self.pos.commit(new_transaction_id(), CARD, held.hold_id, amount, receipt_id=receipt)


@contextmanager
def network(tmp_path: Path) -> Iterator[tuple[ServerProcess, Center, Center, Center]]:
    with ExitStack() as stack:
        urls = [stack.enter_context(fresh_database(tmp_path, name)) for name in ("root", "suba", "subb")]
        root = ServerProcess("processing", tmp_path / "root", urls[0], extra=["--role", "root"])
        stack.callback(root.stop)
        admin = root.cli("key", "back office")
        root_pos = root.cli("key", "root POS", "--scope", "pos")
        root.cli("issue-card", CARD)
        root.cli("adjust", CARD, "100", "--reason", "welcome points")
        codes = [root.cli("code", "--name", name) for name in ("store A", "store B")]
        root.start()
        centers = [Center(root, admin, root_pos)]
        for name, url, code in zip(("suba", "subb"), urls[1:], codes, strict=True):
            sub = ServerProcess("processing", tmp_path / name, url, extra=["--role", "subordinate"])
            stack.callback(sub.stop)
            sub.cli("enroll", root.url, code, "--name", name)
            centers.append(Center(sub, sub.cli("key", "admin"), sub.cli("key", "POS", "--scope", "pos")))
            sub.start()
        for center in centers:
            stack.callback(center.close)
        yield root, centers[0], centers[1], centers[2]


def test_subordinates_replicate_through_the_root_and_spend_only_what_it_lent(tmp_path: Path) -> None:
    with network(tmp_path) as (root_process, root, a, b):
        account = eventually(lambda: a.pos.lookup(CARD).account_id, what="the card reaching A")
        assert eventually(lambda: b.active(account) == 10_000, what="the points reaching B")
        # B holds no grant yet, but the root lends on demand: the till is told what points may pay.
        assert b.pos.lookup(CARD).balance.spendable == 0
        assert b.pos.lookup(CARD, [line(1, "milk", 20_000)]).spendable == 10_000

        # Online: A asks the root for what a hold needs; its spend goes up and reaches B through the root.
        a.spend(3_000, "A-1", hold=5_000)
        eventually(lambda: root.active(account) == 7_000, what="A's spend reaching the root")
        eventually(lambda: b.active(account) == 7_000, what="A's spend reaching B")
        assert a.pos.lookup(CARD).balance.spendable == 2_000  # what is left of its grant
        assert root.pos.lookup(CARD).balance.spendable == 5_000  # the root keeps A's 20.00 for A
        b_before = b.active(account)
        root_process.stop()

        # Cut off: A spends what it was lent and not a point more; B, lent nothing, spends nothing, but
        # still earns.
        a.spend(2_000, "A-2")
        with pytest.raises(ProcessingError) as refused:
            a.spend(1, "A-3")
        assert refused.value.kind == "over_allowance"
        with pytest.raises(ProcessingError) as refused:
            b.spend(500, "B-1")
        assert refused.value.kind == "over_allowance"
        assert "until the root center allows more" in refused.value.detail
        earned = b.pos.accrue(
            new_transaction_id(),
            CARD,
            "B-2",
            [line(1, "milk", 20_000)],
            [{"method": "cash", "amount": 20_000}],
        )
        assert earned.points == 1_000
        assert b.active(account) == b_before + 1_000

        # Healed: everything meets everywhere.
        root_process.start()
        expected = 10_000 - 3_000 - 2_000 + 1_000
        for center in (root, a, b):
            eventually(lambda c=center: c.active(account) == expected, what=f"{center.server.url} converging")  # type: ignore[misc]
        ids = eventually(lambda: _same_movements([root, a, b], account), what="the same movements everywhere")
        kinds = [m.kind for m in root.admin.journal(account).movements]
        assert (kinds.count("grant"), kinds.count("redemption"), kinds.count("accrual")) == (1, 2, 1)
        assert len(ids) == len(kinds)
        assert root.pos.lookup(CARD).balance.spendable == expected  # A's grant is spent: nothing kept


def _same_movements(centers: list[Center], account: str) -> set[str] | None:
    seen = [c.movement_ids(account) for c in centers]
    return seen[0] if all(s == seen[0] for s in seen) else None


def test_a_second_root_is_refused_at_enrollment(tmp_path: Path) -> None:
    with fresh_database(tmp_path, "root") as root_url, fresh_database(tmp_path, "other") as other_url:
        root = ServerProcess("processing", tmp_path / "root", root_url, extra=["--role", "root"])
        code = root.cli("code")
        root.start()
        try:
            other = ServerProcess("processing", tmp_path / "other", other_url)
            other.cli("migrate")  # a new center is a root unless told otherwise
            with pytest.raises(RuntimeError, match="This network already has its root"):
                other.cli("enroll", root.url, code)
            with fresh_database(tmp_path, "sub") as sub_url:
                sub = ServerProcess("processing", tmp_path / "sub", sub_url)
                enrolled = sub.cli("enroll", root.url, code)  # the refusal did not spend the code
            assert enrolled.startswith("enrolled with root ")
        finally:
            root.stop()
