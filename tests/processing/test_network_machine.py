"""A root and two subordinates as services on databases of their own, linked by the real sync engine
(the root's change log pulled by each subordinate's puller, each subordinate's outbox sent to the
root's intake) with random spends, accruals, partitions, heals, allowances, expiries and settlements.
Nothing any center allows ever leaves an account below zero, and after the final sync every center
shows the same balance and the same movements: none lost, none doubled.

The centers use SQLite files of their own (copies of one migrated template) whatever database the rest
of the suite uses: what is tested here is the replication, not the database."""

from __future__ import annotations

import shutil
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import orjson
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from sqlalchemy import select

from osuite.core.db import Database
from osuite.core.http import Principal
from osuite.core.ids import new_id
from osuite.core.migrations import upgrade
from osuite.core.sync.intake import Intake
from osuite.core.sync.outbox import OutboxSender
from osuite.core.sync.puller import Puller
from osuite.core.sync.transport import ChangeRow, FetchedPage
from osuite.core.sync.wire import EVERYONE, DocumentIn, IntakeAnswer
from osuite.processing import accounts, ledger, replication, service, tables
from osuite.processing.context import Processing
from osuite.processing.domain.errors import DomainError
from osuite.processing.domain.journal import Kind, Movement, derive
from osuite.processing.link import ensure_allowance, settle_expired
from osuite.processing.programs import ensure_default
from osuite.processing.settings import ProcessingSettings
from osuite.processing.wire import (
    AccrueRequest,
    AdjustmentCreate,
    AllowanceRequest,
    CardIssue,
    CommitRequest,
    HoldRequest,
    PaymentIn,
    ReceiptLineIn,
)
from tests.processing.support import Clock

CARD = "C1"
SUBS = ("sub-1", "sub-2")
CENTERS = ("root", *SUBS)


@cache
def template() -> Path:
    """One migrated, empty database, copied for every center of every example."""
    folder = Path(tempfile.mkdtemp(prefix="osuite-network-"))
    db = Database(f"sqlite:///{folder / 'template.db'}")
    upgrade(db, "osuite.processing")
    db.dispose()
    return folder / "template.db"


class Network(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="osuite-network-"))
        self.clock = Clock()
        self.centers: dict[str, Processing] = {}
        self.connected = dict.fromkeys(SUBS, True)
        self.account = ""

    # --- set-up -----------------------------------------------------------------------------------

    def open(self, name: str, role: str) -> Processing:
        file = self.folder / f"{name}.db"
        shutil.copy(template(), file)
        settings = ProcessingSettings(data_dir=self.folder, database_url=f"sqlite:///{file}", role=role)
        p = Processing.open(settings, migrate=False)
        p.clock = self.clock
        return p

    @initialize(opening=st.integers(1, 20_000))
    def start(self, opening: int) -> None:
        root = self.centers["root"] = self.open("root", "root")
        ensure_default(root)
        with root.write() as conn:
            self.account = accounts.issue_card(conn, root, CardIssue(number=CARD), actor="test")["account_id"]
        accounts.adjust_balance(
            root, self.account, AdjustmentCreate(amount=opening, reason="opening"), actor="t"
        )
        self.intake = Intake(root.db, tables.center, replication.document_kinds(root))
        self.pullers: dict[str, Puller] = {}
        self.senders: dict[str, OutboxSender] = {}
        for name in SUBS:
            sub = self.centers[name] = self.open(name, "subordinate")
            self.pullers[name] = Puller(
                sub.db, tables.edge, self.fetch, replication.RootReplica(sub), link="root"
            )
            self.senders[name] = OutboxSender(sub.outbox, self.sender(sub))
            sub.allowances = self.allowances(name)
            self.sync(name)

    def fetch(self, since: int, limit: int, _wait: float, snapshot: bool) -> FetchedPage:
        root = self.centers["root"]
        with root.db.read() as conn:
            page = root.changelog.read(
                conn, since=since, audiences=[EVERYONE], limit=limit, snapshot=snapshot
            )
        rows = [
            ChangeRow(seq, entity, key, op, orjson.loads(body) if body else None)
            for seq, entity, key, op, body in page.rows
        ]
        return FetchedPage(
            changes=rows, next=page.next, has_more=page.has_more, reset=page.reset, horizon=page.horizon
        )

    def sender(self, sub: Processing) -> Any:
        who = Principal(kind="subordinate", id=sub.center_id, scopes=frozenset({"sync", "subordinate"}))

        def send(documents: list[DocumentIn]) -> IntakeAnswer:
            return self.intake.accept(who, documents)

        return send

    def allowances(self, name: str) -> Any:
        sub = self.centers[name]

        def ask(body: dict[str, Any]) -> dict[str, Any] | None:
            if not self.connected[name]:
                return None
            try:
                answer, _ = service.lend(
                    self.centers["root"], AllowanceRequest(**body), subordinate=sub.center_id
                )
            except DomainError:
                return None
            return answer

        return lambda card, amount, until: ensure_allowance(sub, card, amount, until, ask)

    # --- operations -------------------------------------------------------------------------------

    def attempt(self, center: str, what: str, call: Any) -> None:
        try:
            call()
        except DomainError as refusal:
            event(f"{what} at {'root' if center == 'root' else 'sub'}: {type(refusal).__name__}")
            return
        event(f"{what} at {'root' if center == 'root' else 'sub'}: done")

    @rule(center=st.sampled_from(CENTERS), amount=st.integers(1, 8_000), share=st.integers(1, 100))
    def spend(self, center: str, amount: int, share: int) -> None:
        p = self.centers[center]
        receipt = new_id()

        def pay() -> None:
            held, _ = service.hold(
                p, HoldRequest(transaction_id=new_id(), card=CARD, receipt_id=receipt, amount=amount)
            )
            spent = max(1, amount * share // 100)
            service.commit(
                p,
                CommitRequest(
                    transaction_id=new_id(),
                    card=CARD,
                    hold_id=held["hold_id"],
                    amount=spent,
                    receipt_id=receipt,
                ),
            )

        self.attempt(center, "spend", pay)

    @rule(center=st.sampled_from(CENTERS), amount=st.integers(100, 100_000))
    def earn(self, center: str, amount: int) -> None:
        request = AccrueRequest(
            transaction_id=new_id(),
            card=CARD,
            receipt_id=new_id(),
            lines=[ReceiptLineIn(line_no=1, product_id="goods", amount=amount)],
            payments=[PaymentIn(method="cash", amount=amount)],
        )
        self.attempt(center, "earn", lambda: service.accrue_receipt(self.centers[center], request))

    @rule(sub=st.sampled_from(SUBS), up=st.booleans())
    def link(self, sub: str, up: bool) -> None:
        self.connected[sub] = up

    @rule(sub=st.sampled_from(SUBS))
    def sync_one(self, sub: str) -> None:
        if self.connected[sub]:
            self.sync(sub)

    def sync(self, sub: str) -> None:
        root = self.centers["root"]
        while self.senders[sub].send_once().sent:
            pass
        root.publisher.drain(root)
        self.pullers[sub].catch_up()

    @rule(hours=st.integers(1, 30))
    def wait(self, hours: int) -> None:
        self.clock.advance(hours=hours)

    @rule(sub=st.sampled_from(SUBS))
    def give_back(self, sub: str) -> None:
        event(f"allowances given back: {settle_expired(self.centers[sub]) > 0}")

    # --- what must hold ---------------------------------------------------------------------------

    def journal(self, center: str) -> dict[str, Movement]:
        with self.centers[center].db.read() as conn:
            bodies = conn.execute(select(tables.movements.c.body)).scalars()
            return {m.id: m for m in (Movement.from_json(orjson.loads(b)) for b in bodies)}

    @invariant()
    def nobody_spends_what_the_account_does_not_have(self) -> None:
        if not self.account:
            return
        everything: dict[str, Movement] = {}
        for center in CENTERS:
            journal = self.journal(center)
            state = derive(journal.values(), as_of=self.clock.now, account_id=self.account)
            assert state.overdrawn == 0, f"{center} let the account go below zero"
            everything.update(journal)
        truth = derive(everything.values(), as_of=self.clock.now, account_id=self.account)
        assert truth.overdrawn == 0, "the centers together spent points the account did not have"

    def teardown(self) -> None:
        try:
            if self.account:
                for sub in SUBS:
                    self.connected[sub] = True
                for _ in range(2):
                    for sub in SUBS:
                        self.sync(sub)
                journals = {center: self.journal(center) for center in CENTERS}
                assert all(set(j) == set(journals["root"]) for j in journals.values()), (
                    "a movement is missing"
                )
                assert not any(m.kind == Kind.EXPIRY for m in journals["root"].values())
                balances = set()
                for center, p in self.centers.items():
                    with p.db.read() as conn:
                        acc = ledger.account(conn, self.account)
                        state = ledger.state(ledger.journal(conn, p, acc), acc, self.clock.now)
                    balances.add((state.active, state.pending, state.spent, state.credited))
                    assert state.overdrawn == 0, center
                assert len(balances) == 1, f"centers show different balances: {balances}"
        finally:
            for p in self.centers.values():
                p.db.dispose()
            shutil.rmtree(self.folder, ignore_errors=True)


Network.TestCase.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
test_a_root_and_two_subordinates_converge_and_never_overspend = Network.TestCase
