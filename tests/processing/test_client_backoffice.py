"""The published client's back-office calls against a real center (in-process): customers found and
changed, a card read, blocked and unblocked in someone's name, a customer's accounts, the programs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from osuite.processing import tables
from osuite.processing.client import ProcessingClient, ProcessingError
from tests.processing.support import Center


@pytest.fixture
def client(center: Center) -> Iterator[ProcessingClient]:
    """The published client, its requests sent to the in-process center."""
    found = ProcessingClient("http://testserver", center.admin_token)
    center.client.headers["Authorization"] = f"Bearer {center.admin_token}"
    found.http = center.client
    yield found


def test_customers_are_listed_a_page_at_a_time_found_by_phone_and_changed(
    center: Center, client: ProcessingClient
) -> None:
    ids = sorted(center.customer(f"Покупатель {n}", f"+7900000000{n}")["id"] for n in range(3))
    first = client.customers(limit=2)
    assert [c.id for c in first] == ids[:2]
    assert [c.id for c in client.customers(after=first[-1].id)] == ids[2:]
    (second,) = client.customers(phone="+79000000001")
    assert second.name == "Покупатель 1"
    changed = client.update_customer(ids[0], "Анна", phone="+79001112233", email="anna@example.com")
    assert (changed.name, changed.phone, changed.email) == ("Анна", "+79001112233", "anna@example.com")
    assert client.customer(ids[0]) == changed
    with pytest.raises(ProcessingError) as refused:
        client.customer("nobody")
    assert (refused.value.status, refused.value.kind) == (404, "customer_not_found")


def test_a_card_is_read_blocked_and_unblocked_in_someones_name(
    center: Center, client: ProcessingClient
) -> None:
    account = center.bonus_card("2000001", points=1_000)
    assert client.card("2000001").account_id == account
    assert client.block_card("2000001", actor="ivanova").status == "blocked"
    assert client.card("2000001").status == "blocked"
    assert client.unblock_card("2000001", actor="ivanova").status == "active"
    with center.p.db.read() as conn:
        audit = conn.execute(
            select(tables.audit.c.actor, tables.audit.c.action).where(tables.audit.c.subject == "2000001")
        ).all()
    assert ("ivanova", "card_blocked") in audit and ("ivanova", "card_unblocked") in audit
    with pytest.raises(ProcessingError) as refused:
        client.card("0000000")
    assert refused.value.kind == "card_not_found"


def test_a_customers_accounts_and_the_programs(center: Center, client: ProcessingClient) -> None:
    customer = center.customer("Анна", None)
    card = center.card("3000001", customer_id=customer["id"])
    client.adjust(card["account_id"], 500, "welcome", actor="ivanova")
    journal = client.customer_journal(customer["id"])
    assert journal.customer.id == customer["id"]
    (account,) = journal.accounts
    assert account.account_id == card["account_id"] and account.balance.active == 500
    assert account.movements[-1].actor == "ivanova"
    programs = client.programs()
    assert "default" in [p.id for p in programs]
    assert client.program("default").version >= 1
