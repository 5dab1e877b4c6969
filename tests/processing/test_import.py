"""CSV import of customers and cards, through the API and the command line: valid rows are applied,
every rejected row is reported with its line and the reason, and importing the same file again
changes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from osuite.processing import tables
from tests.processing.support import Center, ok, refused

CUSTOMERS = """id;name;phone;email
c-1;Анна Петрова;+7 (900) 123-45-67;anna@example.ru
c-2;Борис Иванов;;
;Вера;8 900 765 43 21;
c-3;;+79000000003;
;Без телефона;;
c-4;Галина;+7 900 123 45 67;
c-5;Дмитрий;12ab;
c-6;Елена;;elena-at-example
c-1;Анна снова;;
c-7;Жанна;+79000000007
"""

CARDS = """number,customer,phone,type,nominal,status,account
1001,c-1,,,,,
1002,,89007654321,bonus,,blocked,
1003,c-9,,,,,
1004,,,gift,"3000,00",,
1005,,,gift,,,
1006,c-2,,bonus,100,,
1007,c-2,,platinum,,,
1001,c-2,,,,,
1008,,,,,,
"""


def import_csv(center: Center, kind: str, text: str) -> Any:
    return ok(
        center.admin(
            "POST", f"/api/v1/import/{kind}", content=text.encode(), headers={"Content-Type": "text/csv"}
        )
    )


def reasons(report: dict[str, Any]) -> dict[int, str]:
    return {r["line"]: r["reason"] for r in report["rejected"]}


def count(center: Center, table: Any) -> int:
    with center.p.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_customers_are_imported_and_each_rejected_row_is_reported(center: Center) -> None:
    report = import_csv(center, "customers", CUSTOMERS)
    assert report["accepted"] == 3
    assert reasons(report) == {
        5: "name is empty",
        6: "a customer needs an id or a phone, so that importing the file again finds it",
        7: "phone +79001234567 belongs to customer c-1",
        8: "phone '12ab' is not a phone number",
        9: "email 'elena-at-example' is not an e-mail address",
        10: "customer c-1 is also on line 2",
        11: "expected 4 fields as in the header, found 3",
    }
    assert report["rejected"][0]["row"] == {"id": "c-3", "name": "", "phone": "+79000000003", "email": ""}
    anna = ok(center.admin("GET", "/api/v1/customers/c-1"))
    assert (anna["phone"], anna["email"]) == ("+79001234567", "anna@example.ru")
    [vera] = ok(center.admin("GET", "/api/v1/customers", params={"phone": "89007654321"}))
    assert vera["name"] == "Вера"
    before = count(center, tables.customers), count(center, tables.center.changes)
    assert import_csv(center, "customers", CUSTOMERS)["accepted"] == 3
    assert (count(center, tables.customers), count(center, tables.center.changes)) == before


def test_cards_are_imported_for_the_customers_and_as_gift_cards(center: Center) -> None:
    import_csv(center, "customers", CUSTOMERS)
    report = import_csv(center, "cards", CARDS)
    assert report["accepted"] == 3
    assert reasons(report) == {
        4: "there is no customer c-9; import the customers first",
        6: "a gift card needs its nominal",
        7: "only a gift card has a nominal",
        8: "type 'platinum' is not one of bonus, discount, gift",
        9: "card 1001 is also on line 2",
        10: "a card needs its customer (customer or phone) or an account",
    }
    assert ok(center.admin("GET", "/api/v1/cards/1002"))["status"] == "blocked"
    gift = ok(center.admin("GET", "/api/v1/cards/1004"))
    assert center.balance(gift["account_id"])["available"] == 300_000
    card = ok(center.admin("GET", "/api/v1/cards/1001"))
    assert center.account(card["account_id"])["customer_id"] == "c-1"
    before = (
        count(center, tables.cards),
        count(center, tables.movements),
        count(center, tables.center.changes),
    )
    assert import_csv(center, "cards", CARDS)["accepted"] == 3
    after = count(center, tables.cards), count(center, tables.movements), count(center, tables.center.changes)
    assert after == before


def test_a_file_that_cannot_be_read_changes_nothing(center: Center) -> None:
    answer = center.admin(
        "POST", "/api/v1/import/customers", content=b"name;city\nX;Y\n", headers={"Content-Type": "text/csv"}
    )
    problem = refused(answer, 422, "unreadable_file")
    assert problem["detail"] == "unknown column 'city'; the columns for customers are: name, id, phone, email"
    assert count(center, tables.customers) == 0


def test_the_command_line_imports_and_lists_the_rejected_rows(tmp_path: Path, db_url: str) -> None:
    from typer.testing import CliRunner

    from osuite.processing.cli import app

    customers = tmp_path / "customers.csv"
    customers.write_bytes(CUSTOMERS.encode("cp1251"))
    where = ["--data-dir", str(tmp_path / "processing"), "--database-url", db_url]
    runner = CliRunner()
    done = runner.invoke(app, ["import-customers", str(customers), *where])
    assert done.exit_code == 1
    assert "3 rows accepted, 7 rejected" in done.stdout
    assert "line 5: name is empty" in done.stderr
    cards = tmp_path / "cards.csv"
    cards.write_text("number;customer\n5001;c-1\n", encoding="utf-8")
    done = runner.invoke(app, ["import-cards", str(cards), *where])
    assert (done.exit_code, done.stdout.strip()) == (0, "1 rows accepted, 0 rejected")
