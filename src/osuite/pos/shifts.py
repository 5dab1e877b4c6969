"""The shift: opened on the registrar and here, cash put in and taken out, X reports, and the Z report
that closes it. The registrar goes first each time; what it did is then saved here with its document
in the outbox, and :func:`reconcile` mends a till that died between the two."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Connection, func, insert, select, update

from osuite.core.i18n import N_
from osuite.core.ids import new_id
from osuite.dataserver.wire import documents as wire
from osuite.devices.fiscal import FiscalError, FiscalErrorCode, FiscalMark, ShiftTotals
from osuite.pos import documents, registrar
from osuite.pos import tables as t
from osuite.pos.auth import Cashier, audit, authorize
from osuite.pos.context import Pos
from osuite.pos.domain.errors import DomainError
from osuite.pos.domain.shift import DrawerMovement, cash_in_drawer, check_cash_out, must_close
from osuite.pos.errors import Invalid, PosError
from osuite.pos.tables import Record


def current(conn: Connection) -> Record | None:
    return conn.execute(select(t.shifts).where(t.shifts.c.closed_at.is_(None))).mappings().first()


def require_open(pos: Pos, conn: Connection, *, for_sale: bool) -> Record:
    shift = current(conn)
    if shift is None:
        raise PosError(N_("The shift is closed: open a shift first"))
    if for_sale and expired(pos, shift):
        raise PosError(
            N_("The shift has been open for 24 hours: close it with a Z report, then open a new one")
        )
    return shift


def expired(pos: Pos, shift: Record) -> bool:
    return must_close(shift["opened_at"], pos.now())


def open_shift(pos: Pos, who: Cashier, supervisor_pin: str | None = None) -> Record:
    with pos.write() as conn:
        terminal = pos.terminal(conn)
        if current(conn) is not None:
            raise PosError(N_("A shift is already open"))
        approval = authorize(
            conn,
            who,
            "open_shift",
            N_("Opening a shift needs the permission '{permission}': ask a supervisor to enter their PIN"),
            supervisor_pin,
            pos.now(),
        )
        try:
            mark = pos.registrar.open_shift(who.name)
            fiscal_number = mark.shift_number
        except FiscalError as exc:
            if exc.code is not FiscalErrorCode.SHIFT_ALREADY_OPEN:
                raise registrar.failed(exc) from exc
            fiscal_number = registrar.call(pos.registrar.status).shift_number  # opened before a crash
        number = int(conn.execute(select(func.coalesce(func.max(t.shifts.c.number), 0))).scalar_one()) + 1
        shift_id = new_id()
        shift = {
            "id": shift_id,
            "number": number,
            "cashier_id": who.id,
            "opened_at": pos.now(),
            "fiscal_shift_number": fiscal_number,
        }
        conn.execute(insert(t.shifts).values(shift))
        documents.queue(pos, conn, wire.SHIFT, documents.shift_document(terminal, shift), shift_id)
        audit(conn, pos.now(), "open_shift", who.id, approval=approval, detail={"number": number})
        return shift


def cash_operation(
    pos: Pos, who: Cashier, kind: str, amount: int, reason: str = "", supervisor_pin: str | None = None
) -> Record:
    if kind not in ("in", "out"):
        raise Invalid(N_("kind must be 'in' or 'out'"))
    if amount <= 0:
        raise Invalid(N_("The amount must be more than zero"))
    with pos.write() as conn:
        shift = require_open(pos, conn, for_sale=False)
        if kind == "in":
            action = N_(
                "Putting cash in needs the permission '{permission}': ask a supervisor to enter their PIN"
            )
        else:
            action = N_(
                "Taking cash out needs the permission '{permission}': ask a supervisor to enter their PIN"
            )
        approval = authorize(conn, who, f"cash_{kind}", action, supervisor_pin, pos.now())
        if kind == "out":
            try:
                check_cash_out(in_drawer=drawer_cash(conn, shift["id"]), amount=amount)
            except DomainError as exc:
                raise PosError(exc.template, **exc.params) from None
        op = {
            "id": new_id(),
            "shift_id": shift["id"],
            "kind": kind,
            "amount": amount,
            "cashier_id": who.id,
            "approved_by": approval.approved_by if approval else None,
            "reason": reason,
            "at": pos.now(),
            "status": "fiscalizing",
        }
        conn.execute(insert(t.cash_operations).values(op))
    # Committed as "fiscalizing" before the registrar is asked: a crash now is mended by reconcile.
    return _register_cash(pos, op, who.name)


def _register_cash(pos: Pos, op: Record, cashier_name: str) -> Record:
    try:
        mark = pos.registrar.cash(op["id"], op["kind"], op["amount"], cashier_name)
    except FiscalError as exc:
        if exc.registered_nothing:
            with pos.write() as conn:
                conn.execute(
                    update(t.cash_operations)
                    .where(t.cash_operations.c.id == op["id"])
                    .values(status="failed")
                )
        raise registrar.failed(exc) from exc
    return _cash_done(pos, op, mark)


def _cash_done(pos: Pos, op: Record, mark: FiscalMark) -> Record:
    with pos.write() as conn:
        terminal = pos.terminal(conn)
        fiscal = orjson.dumps(registrar.mark_json(mark)).decode()
        conn.execute(
            update(t.cash_operations)
            .where(t.cash_operations.c.id == op["id"])
            .values(status="done", fiscal=fiscal)
        )
        saved = (
            conn.execute(select(t.cash_operations).where(t.cash_operations.c.id == op["id"])).mappings().one()
        )
        documents.queue(pos, conn, wire.CASH_OPERATION, documents.cash_document(terminal, saved), op["id"])
        audit(conn, pos.now(), f"cash_{op['kind']}", op["cashier_id"], detail={"amount": op["amount"]})
        return saved


def open_drawer(pos: Pos, who: Cashier, supervisor_pin: str | None = None) -> None:
    """Open the cash drawer without a sale (change for a customer, a note checked): it needs the
    permission or a supervisor, and it is recorded."""
    with pos.write() as conn:
        approval = authorize(
            conn,
            who,
            "open_drawer",
            N_("Opening the drawer needs the permission '{permission}': ask a supervisor to enter their PIN"),
            supervisor_pin,
            pos.now(),
        )
        registrar.call(pos.registrar.open_drawer)
        audit(conn, pos.now(), "open_drawer", who.id, approval=approval)


def drawer_cash(conn: Connection, shift_id: str) -> int:
    return shift_totals(conn, shift_id).drawer()


class Totals:
    """The shift's sums as this till's own documents tell them, for X and Z reports."""

    def __init__(self) -> None:
        self.sales_count = self.sales_sum = self.returns_count = self.returns_sum = 0
        self.cash_in = self.cash_out = 0
        self.opening = 0  # what the drawer held when the shift opened: what the last Z report left in it
        self.by_payment_type: dict[str, list[int]] = {}
        self.by_payment_method: dict[str, tuple[int, int]] = {}

    def z_totals(self) -> wire.ZTotals:
        return wire.ZTotals(
            sales_count=self.sales_count,
            sales_sum=self.sales_sum,
            returns_count=self.returns_count,
            returns_sum=self.returns_sum,
            cash_in=self.cash_in,
            cash_out=self.cash_out,
            by_payment_type=[
                wire.PaymentTypeTotals(payment_type=code, sales=s, returns=r)
                for code, (s, r) in sorted(self.by_payment_type.items())
            ],
        )

    def as_json(self) -> dict[str, Any]:
        return {
            **self.z_totals().model_dump(mode="json"),
            "opening_cash": self.opening,
            "cash_in_drawer": self.drawer(),
        }

    def drawer(self) -> int:
        """Cash the drawer should hold: what it held at the opening, cash taken less cash paid back, plus
        cash put in less taken out (a Z report does not empty the drawer, nor the registrar's count)."""
        taken, paid_back = self.by_payment_method.get("cash", (0, 0))  # cash payments net of change
        return cash_in_drawer(
            [
                DrawerMovement("float", self.opening),
                DrawerMovement("sale", taken),
                DrawerMovement("refund", paid_back),
                DrawerMovement("cash_in", self.cash_in),
                DrawerMovement("cash_out", self.cash_out),
            ]
        )


def shift_totals(conn: Connection, shift_id: str) -> Totals:
    totals = Totals()
    totals.opening = _opening_cash(conn, shift_id)
    r = t.receipts.c
    for kind, receipts, total in conn.execute(
        select(r.kind, func.count(func.distinct(r.id)), func.coalesce(func.sum(t.receipt_lines.c.amount), 0))
        .select_from(t.receipts.join(t.receipt_lines, t.receipt_lines.c.receipt_id == r.id))
        .where(r.shift_id == shift_id, r.status == "closed", t.receipt_lines.c.voided.is_(False))
        .group_by(r.kind)
    ):
        if kind == "sale":
            totals.sales_count, totals.sales_sum = int(receipts), int(total)
        else:
            totals.returns_count, totals.returns_sum = int(receipts), int(total)
    p = t.payments.c
    methods: dict[str, list[int]] = {}
    for kind, code, method, amount in conn.execute(
        select(r.kind, p.payment_type, p.method, func.sum(p.amount))
        .select_from(t.payments.join(t.receipts, r.id == p.receipt_id))
        .where(r.shift_id == shift_id, r.status == "closed", p.status == "approved")
        .group_by(r.kind, p.payment_type, p.method)
    ):
        slot = 0 if kind == "sale" else 1
        totals.by_payment_type.setdefault(code, [0, 0])[slot] += int(amount)
        methods.setdefault(method, [0, 0])[slot] += int(amount)
    totals.by_payment_method = {m: (s, rt) for m, (s, rt) in methods.items()}
    c = t.cash_operations.c
    for kind, amount in conn.execute(
        select(c.kind, func.coalesce(func.sum(c.amount), 0))
        .where(c.shift_id == shift_id, c.status == "done")
        .group_by(c.kind)
    ):
        if kind == "in":
            totals.cash_in = int(amount)
        else:
            totals.cash_out = int(amount)
    return totals


def _opening_cash(conn: Connection, shift_id: str) -> int:
    """The cash the previous shift's Z report left in the drawer (0 for the till's first shift)."""
    number = conn.execute(select(t.shifts.c.number).where(t.shifts.c.id == shift_id)).scalar()
    if number is None:
        return 0
    before = conn.execute(
        select(t.shifts.c.z_totals)
        .where(t.shifts.c.number < number, t.shifts.c.z_totals.is_not(None))
        .order_by(t.shifts.c.number.desc())
        .limit(1)
    ).scalar()
    return int(orjson.loads(before).get("cash_in_drawer", 0)) if before else 0


def x_report(pos: Pos, who: Cashier, supervisor_pin: str | None = None) -> dict[str, Any]:
    with pos.write() as conn:
        shift = require_open(pos, conn, for_sale=False)
        approval = authorize(
            conn,
            who,
            "x_report",
            N_("An X report needs the permission '{permission}': ask a supervisor to enter their PIN"),
            supervisor_pin,
            pos.now(),
        )
        report = registrar.call(lambda: pos.registrar.x_report(who.name))
        audit(conn, pos.now(), "x_report", who.id, approval=approval)
        return {
            "shift": _shift_json(shift),
            "till": shift_totals(conn, shift["id"]).as_json(),
            "registrar": registrar_totals(report.totals),
        }


def registrar_totals(totals: ShiftTotals) -> dict[str, Any]:
    return {
        "shift_number": totals.shift_number,
        "sales_count": totals.sales_count,
        "sales_sum": totals.sales_sum,
        "returns_count": totals.returns_count,
        "returns_sum": totals.returns_sum,
        "cash_in": totals.cash_in,
        "cash_out": totals.cash_out,
        "cash_in_drawer": totals.cash_in_drawer,
    }


def close_shift(pos: Pos, who: Cashier | None, supervisor_pin: str | None = None) -> dict[str, Any]:
    """The Z report. ``who`` is None when the data server ordered it (a remote command)."""
    with pos.write() as conn:
        shift = require_open(pos, conn, for_sale=False)
        busy = conn.execute(
            select(func.count()).where(t.receipts.c.status.in_(("open", "fiscalizing")))
        ).scalar_one()
        if busy:
            raise PosError(N_("A receipt is open: finish, hold or cancel it before the Z report"))
        approval = None
        if who is not None:
            approval = authorize(
                conn,
                who,
                "close_shift",
                N_(
                    "Closing the shift needs the permission '{permission}': ask a supervisor to enter their"
                    " PIN"
                ),
                supervisor_pin,
                pos.now(),
            )
        try:
            report = pos.registrar.close_shift(who.name if who else "")
            registrar_part = registrar_totals(report.totals)
        except FiscalError as exc:
            if exc.code is not FiscalErrorCode.SHIFT_NOT_OPEN:
                raise registrar.failed(exc) from exc
            registrar_part = {}  # the registrar closed it before a crash: finish here
        result = _finish_close(pos, conn, shift, who.id if who else None)
        audit(conn, pos.now(), "close_shift", who.id if who else None, approval=approval)
        return {**result, "registrar": registrar_part}


def _finish_close(pos: Pos, conn: Connection, shift: Record, user_id: str | None) -> dict[str, Any]:
    terminal = pos.terminal(conn)
    totals = shift_totals(conn, shift["id"])
    closed_at = pos.now()
    z_totals = totals.z_totals()
    conn.execute(
        update(t.shifts)
        .where(t.shifts.c.id == shift["id"])
        .values(closed_at=closed_at, z_totals=orjson.dumps(totals.as_json()).decode())
    )
    z_id = new_id()
    documents.queue(
        pos, conn, wire.Z_REPORT, documents.z_document(terminal, shift, closed_at, z_totals, z_id), z_id
    )
    del user_id
    return {"shift": {**_shift_json(shift), "closed_at": closed_at.isoformat()}, "till": totals.as_json()}


def _shift_json(shift: Record) -> dict[str, Any]:
    return {
        "id": shift["id"],
        "number": shift["number"],
        "cashier_id": shift["cashier_id"],
        "opened_at": shift["opened_at"].isoformat(),
        "fiscal_shift_number": shift["fiscal_shift_number"],
    }


def state(pos: Pos, conn: Connection) -> dict[str, Any] | None:
    shift = current(conn)
    if shift is None:
        return None
    return {**_shift_json(shift), "expired": expired(pos, shift), "drawer": drawer_cash(conn, shift["id"])}


def reconcile(pos: Pos) -> None:
    """After a crash: cash operations the registrar may hold, and a shift closed on the registrar only."""
    with pos.write() as conn:
        pending = (
            conn.execute(select(t.cash_operations).where(t.cash_operations.c.status == "fiscalizing"))
            .mappings()
            .all()
        )
    for op in pending:
        mark = registrar.find(pos.registrar, op["id"])
        if mark is None:
            with pos.write() as conn:
                conn.execute(
                    update(t.cash_operations)
                    .where(t.cash_operations.c.id == op["id"])
                    .values(status="failed")
                )
        else:  # registered before the crash: saved with the mark the registrar holds, not sent again
            _cash_done(pos, op, mark)
    status = registrar.call(pos.registrar.status)
    with pos.write() as conn:
        shift = current(conn)
        if (
            shift is not None
            and not status.shift_open
            and status.shift_number >= (shift["fiscal_shift_number"] or 0)
        ):
            _finish_close(pos, conn, shift, None)
