"""Many tills at once on one account: holds queue on the account's lock and never reserve more than
there is; copies of one call racing each other are carried out once; and the journal kept in memory
never answers for a version the database does not have."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from osuite.processing import service
from osuite.processing.domain.errors import DomainError, InsufficientBalance
from osuite.processing.wire import CommitRequest, HoldRequest
from tests.processing.support import Center, tx


def test_concurrent_holds_never_reserve_more_than_the_balance(center: Center) -> None:
    account = center.bonus_card("100", points=10_000)
    p = center.p

    def hold(n: int) -> str:
        request = HoldRequest(transaction_id=tx(), card="100", receipt_id=f"r-{n}", amount=700)
        try:
            service.hold(p, request)
        except InsufficientBalance:
            return "refused"
        return "held"

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(hold, range(40)))
    assert outcomes.count("held") == 14  # 14 × 7.00 ≤ 100.00 < 15 × 7.00
    balance = center.balance(account)
    assert (balance["held"], balance["available"]) == (9_800, 200)


def test_copies_of_one_call_racing_each_other_are_carried_out_once(center: Center) -> None:
    account = center.bonus_card("100", points=10_000)
    p = center.p
    hold_id = service.hold(p, HoldRequest(transaction_id=tx(), card="100", receipt_id="r", amount=5_000))[0]
    request = CommitRequest(transaction_id=tx(), card="100", hold_id=hold_id["hold_id"], amount=5_000)

    def commit(_: int) -> tuple[str, bool] | str:
        try:
            answer, replayed = service.commit(p, request)
        except DomainError as exc:
            return type(exc).__name__
        return answer["redemption_id"], replayed

    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(pool.map(commit, range(10)))
    assert len({outcome[0] for outcome in outcomes}) == 1, outcomes  # one redemption, answered ten times
    assert sum(1 for outcome in outcomes if outcome[1] is False) == 1
    assert [m["kind"] for m in center.journal(account)].count("redemption") == 1
    assert center.balance(account)["active"] == 5_000


def test_a_journal_kept_in_memory_is_read_again_when_another_process_wrote(center: Center) -> None:
    account = center.bonus_card("100", points=10_000)
    p = center.p
    service.hold(p, HoldRequest(transaction_id=tx(), card="100", receipt_id="r", amount=1_000))
    assert p.journals.hits >= 1
    p.journals.remember(account, 0, ())  # an older version: ignored
    misses = p.journals.misses
    p.journals.forget()  # as if a second worker had served the next call
    assert center.balance(account)["held"] == 1_000
    assert p.journals.misses == misses + 1
