"""`osuite processing serve` as a real process on a loopback port, driven as a store's IT person and a
POS would: keys and cards from the command line, then a sale with points through the published client
— a retry after a lost answer, the accrual, a return — and a restart that loses nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from osuite.processing.client import ProcessingClient, ProcessingError, line, new_transaction_id
from tests.support.databases import fresh_database
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.e2e


def test_a_sale_with_points_and_a_return_against_a_served_root(tmp_path: Path) -> None:
    with fresh_database(tmp_path, "serve") as url:
        server = ServerProcess("processing", tmp_path / "root", url, extra=["--role", "root"])
        admin_key = server.cli("key", "back office")
        pos_key = server.cli("key", "store 1 POS", "--scope", "pos")
        server.cli("issue-card", "7000001")
        server.cli("adjust", "7000001", "200", "--reason", "welcome points", "--by", "admin")
        server.start()
        pos = ProcessingClient(server.url, pos_key)
        admin = ProcessingClient(server.url, admin_key)
        try:
            receipt = [line(1, "milk", 6_000), line(2, "bread", 4_000)]
            found = pos.lookup("7000001", receipt)
            assert (found.balance.available, found.spendable) == (20_000, 5_000)
            hold_id = new_transaction_id()
            held = pos.hold(hold_id, "7000001", "R-1", 5_000, lines=receipt)
            assert pos.hold(hold_id, "7000001", "R-1", 5_000, lines=receipt) == held  # the answer was lost
            spent = pos.commit(new_transaction_id(), "7000001", held.hold_id, 5_000, receipt_id="R-1")
            assert spent.balance.available == 15_000
            earned = pos.accrue(
                new_transaction_id(),
                "7000001",
                "R-1",
                receipt,
                [{"method": "bonus", "amount": 5_000}, {"method": "card", "amount": 5_000}],
            )
            assert earned.points == 250
            back = pos.return_goods(new_transaction_id(), "7000001", "R-1", [{"line_no": 2, "quantity": "1"}])
            assert (back.reversed, back.given_back) == (100, 2_000)
            with pytest.raises(ProcessingError) as refused:
                pos.hold(new_transaction_id(), "7000001", "R-2", 1_000_000)
            assert refused.value.kind == "insufficient_balance"
            with pytest.raises(ProcessingError) as forbidden:
                pos.adjust(found.account_id, 1, "not for a POS")
            assert forbidden.value.status == 403
            server.stop()
            server.start()
            account = admin.account(found.account_id)
            assert account.balance.active == 20_000 - 5_000 + 250 - 100 + 2_000
            assert [m.kind for m in admin.journal(found.account_id).movements] == [
                "adjustment",
                "hold",
                "redemption",
                "accrual",
                "reversal",
                "refund",
            ]
        finally:
            pos.close()
            admin.close()
            server.stop()


def test_serve_refuses_to_change_a_databases_role(tmp_path: Path) -> None:
    with fresh_database(tmp_path, "role") as url:
        ServerProcess("processing", tmp_path / "p", url).cli("migrate")
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "osuite",
                "processing",
                "serve",
                "--role",
                "subordinate",
                "--database-url",
                url,
                "--data-dir",
                str(tmp_path / "p"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 2
    assert "this database belongs to a root center, not a subordinate" in done.stderr
    assert "Traceback" not in done.stderr
