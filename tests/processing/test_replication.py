"""The root's side of replication in-process: enrollment (one root only), the intake of a subordinate's
documents (its own movements only, each stored once and published again), allowances lent on demand;
and a subordinate giving back an allowance that has expired."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from fastapi.testclient import TestClient
from sqlalchemy import select

from osuite.core.ids import new_id
from osuite.processing import access, tables
from osuite.processing.context import Processing
from osuite.processing.domain.journal import Kind, Movement
from osuite.processing.link import settle_expired
from osuite.processing.replication import apply_movements
from osuite.processing.settings import ProcessingSettings
from tests.processing.support import Center, Clock, ok, published, refused
from tests.support.databases import fresh_database


def enroll(center: Center, center_id: str, role: str = "subordinate") -> Any:
    with center.p.write() as conn:
        code = access.issue_code(conn, center.p, name="store A")["code"]
    return center.client.post(
        "/api/v1/enroll", json={"code": code, "role": role, "center_id": center_id, "name": "store A"}
    )


def test_one_root_enrolls_subordinates_and_refuses_another_root(center: Center) -> None:
    second_root = refused(enroll(center, new_id(), role="root"), 409, "second_root")
    assert second_root["detail"].startswith("This network already has its root")
    enrolled = ok(enroll(center, "sub-a"))
    assert (enrolled["center_id"], enrolled["root_id"]) == ("sub-a", center.p.center_id)
    headers = {"Authorization": f"Bearer {enrolled['token']}"}
    page = ok(center.client.get("/api/v1/sync/changes", params={"since": 0}, headers=headers))
    assert [c["entity"] for c in page["changes"]] == ["program"]
    with center.p.write() as conn:
        code = access.issue_code(conn, center.p)["code"]
    used = {"code": code, "role": "subordinate", "center_id": "sub-b"}
    ok(center.client.post("/api/v1/enroll", json=used))
    again = center.client.post("/api/v1/enroll", json={**used, "center_id": "sub-c"})
    assert refused(again, 403, "enrollment_refused")["detail"].startswith(
        "This enrollment code was already used"
    )


def _spend(account: str, origin: str, amount: int, when: str = "2026-03-01T12:05:00+00:00") -> dict[str, Any]:
    movement = Movement.from_json(
        {
            "id": new_id(),
            "account_id": account,
            "kind": "redemption",
            "amount": -amount,
            "occurred_at": when,
            "origin": origin,
        }
    )
    return {"id": movement.id, "kind": "movement", "payload": movement.to_json()}


def test_the_root_takes_a_subordinates_own_movements_once_and_publishes_them(center: Center) -> None:
    account = center.bonus_card("100", points=10_000)
    token = ok(enroll(center, "sub-a"))["token"]
    headers = {"Authorization": f"Bearer {token}"}
    lent = ok(
        center.client.post(
            "/api/v1/allowances",
            json={"transaction_id": new_id(), "card": "100", "amount": 4_000},
            headers=headers,
        )
    )
    assert (lent["amount"], lent["movement"]["kind"], lent["movement"]["holder"]) == (4_000, "grant", "sub-a")
    assert center.balance(account)["spendable"] == 6_000  # kept for sub-a
    own, foreign = _spend(account, "sub-a", 1_500), _spend(account, "sub-b", 100)
    answer = ok(
        center.client.post("/api/v1/sync/documents", json={"documents": [own, foreign]}, headers=headers)
    )
    assert answer["held"] == [own["id"]]
    assert answer["rejected"][0]["reason"] == "a subordinate sends its own movements, not those of sub-b"
    again = ok(center.client.post("/api/v1/sync/documents", json={"documents": [own]}, headers=headers))
    assert again["held"] == [own["id"]]
    balance = center.balance(account)
    assert (balance["active"], balance["spendable"]) == (8_500, 6_000)  # sub-a spent 15.00 of its 40.00
    published(center.p)
    with center.p.db.read() as conn:
        keys = set(conn.execute(select(tables.center.changes.c.key)).scalars())
    assert {own["id"], lent["grant_id"]} <= keys
    pos = {"Authorization": f"Bearer {center.pos_token}"}
    assert (
        center.client.post(
            "/api/v1/allowances", json={"transaction_id": new_id(), "card": "100", "amount": 1}, headers=pos
        ).status_code
        == 403
    )


def test_a_subordinate_gives_back_an_expired_allowance_with_what_it_spent(tmp_path: Path) -> None:
    clock = Clock()
    with fresh_database(tmp_path, "sub") as url:
        settings = ProcessingSettings(data_dir=tmp_path, database_url=url, role="subordinate")
        p = Processing.open(settings)
        p.clock = clock
        now = clock.now
        account = {
            "id": "acc-1",
            "customer_id": None,
            "type": "bonus",
            "program_id": "default",
            "nominal": None,
        }
        from osuite.processing.accounts import store_account

        lot = Movement(
            id=new_id(), account_id="acc-1", kind=Kind.ACCRUAL, amount=10_000, occurred_at=now, origin="root"
        )
        grant = Movement(
            id=new_id(),
            account_id="acc-1",
            kind=Kind.GRANT,
            amount=3_000,
            occurred_at=now,
            origin="root",
            holder=p.center_id,
            expires_at=clock.now.replace(hour=13),
        )
        spend = Movement(
            id=new_id(),
            account_id="acc-1",
            kind=Kind.REDEMPTION,
            amount=-1_200,
            occurred_at=now,
            origin=p.center_id,
        )
        with p.write() as conn:
            store_account(conn, {**account, "created_at": now})
            assert len(apply_movements(conn, p, [lot, grant, spend, lot])) == 3
        assert settle_expired(p) == 0  # not expired yet
        clock.advance(hours=2)
        assert settle_expired(p) == 1
        assert settle_expired(p) == 0
        with p.db.read() as conn:
            outbox = conn.execute(select(tables.edge.outbox.c.payload)).scalars().all()
        release = orjson.loads(outbox[-1])
        assert (release["kind"], release["amount"], release["refers_to"]) == (
            "grant_release",
            1_200,
            grant.id,
        )
        p.db.dispose()


def test_a_subordinate_has_no_programs_of_its_own(tmp_path: Path, db_url: str) -> None:
    settings = ProcessingSettings(data_dir=tmp_path, database_url=db_url, role="subordinate")
    from osuite.processing.app import build_app

    with TestClient(build_app(settings)) as client:
        sub = Center.of(client)
        assert ok(client.get("/healthz"))["root"].startswith("not enrolled")
        made = sub.admin("POST", "/api/v1/programs", json={"name": "Local"})
        assert (
            refused(made, 409, "wrong_center")["detail"] == "Loyalty programs are managed at the root center"
        )
