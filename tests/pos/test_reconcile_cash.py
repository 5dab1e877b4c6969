"""A cash operation the registrar registered just before the till died is saved on start with the mark
the registrar holds, and goes up to the data server; it is not sent to the registrar a second time."""

from __future__ import annotations

from sqlalchemy import insert, select

from osuite.core.ids import new_id
from osuite.pos import shifts
from osuite.pos import tables as t
from tests.pos.conftest import Devices, Till


def test_a_cash_in_registered_before_a_crash_is_saved_with_the_registrars_mark(
    open_till: Till, devices: Devices
) -> None:
    pos = open_till.pos
    op_id = new_id()
    with pos.write() as conn:
        shift = shifts.current(conn)
        assert shift is not None
        conn.execute(
            insert(t.cash_operations).values(
                id=op_id,
                shift_id=shift["id"],
                kind="in",
                amount=500_00,
                cashier_id="anna",
                reason="размен",
                at=pos.now(),
                status="fiscalizing",
            )
        )
    mark = pos.registrar.cash(op_id, "in", 500_00, "Анна К.")  # then the till died
    documents = devices.registrar.emulator.snapshot()["documents"]

    shifts.reconcile(pos)

    with pos.db.read() as conn:
        op = conn.execute(select(t.cash_operations).where(t.cash_operations.c.id == op_id)).mappings().one()
    assert op["status"] == "done" and mark.fiscal_sign in op["fiscal"]
    assert devices.registrar.emulator.snapshot()["documents"] == documents
    assert open_till.document(op_id)["amount"] == 500_00
    assert open_till.get("/shift")["drawer"] == 500_00
