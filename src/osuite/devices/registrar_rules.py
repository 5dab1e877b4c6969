"""The rules of the emulated fiscal registrar: what a real one refuses, and how each document it registers
moves its counters.

Pure Python (no clock, no files, no sockets) so the emulator can replay its journal through exactly the
code that wrote it. :func:`plan` checks an ATOL task against the state and returns the document it would
register, or raises :class:`Refusal`; :func:`apply` moves the counters by a planned (or replayed)
document. Documents are plain JSON-ready dicts, money in kopecks:

``type`` (the task type), ``number`` (fiscal document number, 0 for an X report), ``shift``,
``receiptNumber`` (within the shift, 0 for non-receipts), ``at`` (ISO time), ``operator``, ``total``,
``cash`` (what the drawer gains, negative when it loses), ``payments`` ({ATOL payment type: amount},
cash net of change), ``change``, ``items`` and ``text`` (what to print); the emulator adds ``sign``.

Decisions where the real device's behaviour was not found: a return follows the same payment rules as a
sale (cash may exceed, the excess is change; the drawer pays out cash net of change); an X report is
allowed in any shift state, including an expired shift; the cash in the drawer is carried from one
shift to the next (a Z report does not empty it).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from osuite.core.money import format_money, line_amount
from osuite.devices.atol_wire import (
    ATOL_MEASUREMENT_UNITS,
    ATOL_PAYMENT_TYPES,
    ATOL_TAX_TYPES,
    AtolError,
    WireError,
    describe,
    kopecks,
)

SHIFT_LIMIT = timedelta(hours=24)
MAX_NAME = 128  # FFD tag 1030
MAX_QUANTITY = Decimal("99999.999")

Document = dict[str, Any]


class Refusal(Exception):
    """What the device answers instead of registering: an ATOL error code and its description."""

    def __init__(self, code: AtolError, detail: str = "") -> None:
        self.code = code
        self.description = f"{describe(code)}: {detail}" if detail else describe(code)
        super().__init__(self.description)


@dataclass
class ShiftCounters:
    """The open shift's counters, or the last closed shift's until the next one opens."""

    number: int = 0
    is_open: bool = False
    opened_at: datetime | None = None
    receipts: int = 0  # the last receipt number given in this shift
    sell_count: int = 0
    sell_sum: int = 0
    return_count: int = 0
    return_sum: int = 0
    sell_payments: dict[str, int] = field(default_factory=dict)
    return_payments: dict[str, int] = field(default_factory=dict)
    income_count: int = 0
    income_sum: int = 0
    outcome_count: int = 0
    outcome_sum: int = 0


@dataclass
class RegistrarState:
    shift: ShiftCounters = field(default_factory=ShiftCounters)
    last_document: int = 0
    cash_in_drawer: int = 0
    last_fiscal: Document | None = None  # the last document that has a fiscal number

    def expired(self, now: datetime) -> bool:
        opened = self.shift.opened_at
        return self.shift.is_open and opened is not None and now - opened > SHIFT_LIMIT

    def copy(self) -> RegistrarState:
        return copy.deepcopy(self)


def plan(state: RegistrarState, task: Mapping[str, Any], now: datetime) -> Document:
    """The document ``task`` would register now; raises :class:`Refusal` when a real registrar would
    refuse it. Only for the tasks that make a document (fiscal ones and the X report)."""
    kind = task.get("type")
    operator = _operator(task)
    base: Document = {"type": kind, "at": now.isoformat(), "operator": operator, "receiptNumber": 0}
    if kind == "openShift":
        if state.shift.is_open:
            if state.expired(now):
                raise Refusal(AtolError.SHIFT_EXPIRED, "закройте смену (Z-отчёт)")
            raise Refusal(AtolError.DENIED_IN_OPENED_SHIFT, f"смена {state.shift.number} уже открыта")
        return base | _numbered(state, state.shift.number + 1, total=0, cash=0)
    if kind == "closeShift":
        if not state.shift.is_open:
            raise Refusal(AtolError.DENIED_IN_CLOSED_SHIFT)
        closing = _numbered(state, state.shift.number, total=0, cash=0)
        return base | closing | {"counters": counters(state)}
    if kind == "reportX":
        return base | {
            "number": 0,
            "shift": state.shift.number,
            "total": 0,
            "cash": 0,
            "counters": counters(state),
        }
    if kind in ("cashIn", "cashOut"):
        _require_open(state, now)
        amount = _money(task, "cashSum")
        if amount <= 0:
            raise Refusal(AtolError.INVALID_SUM, "сумма должна быть больше нуля")
        if kind == "cashOut" and amount > state.cash_in_drawer:
            raise Refusal(
                AtolError.NO_CASH,
                f"в кассе {format_money(state.cash_in_drawer)}, выплата {format_money(amount)}",
            )
        cash = amount if kind == "cashIn" else -amount
        return base | _numbered(state, state.shift.number, total=amount, cash=cash)
    if kind in ("sell", "sellReturn"):
        _require_open(state, now)
        return base | _receipt(state, task, returning=kind == "sellReturn")
    raise Refusal(AtolError.INVALID_PARAM, f"задание {kind!r} не делает документа")


def apply(state: RegistrarState, doc: Document) -> None:
    """Move the counters by a registered document (live, or replayed from the journal)."""
    kind = doc["type"]
    if doc["number"]:
        state.last_document = doc["number"]
        state.last_fiscal = doc
    state.cash_in_drawer += doc["cash"]
    shift = state.shift
    if kind == "openShift":
        state.shift = ShiftCounters(
            number=doc["shift"], is_open=True, opened_at=datetime.fromisoformat(doc["at"])
        )
    elif kind == "closeShift":
        shift.is_open = False
    elif kind == "cashIn":
        shift.income_count += 1
        shift.income_sum += doc["total"]
    elif kind == "cashOut":
        shift.outcome_count += 1
        shift.outcome_sum += doc["total"]
    elif kind in ("sell", "sellReturn"):
        shift.receipts = doc["receiptNumber"]
        selling = kind == "sell"
        if selling:
            shift.sell_count += 1
            shift.sell_sum += doc["total"]
        else:
            shift.return_count += 1
            shift.return_sum += doc["total"]
        by_type = shift.sell_payments if selling else shift.return_payments
        for method, amount in doc["payments"].items():
            by_type[method] = by_type.get(method, 0) + amount


def counters(state: RegistrarState) -> dict[str, Any]:
    """The shift's counters as JSON (kopecks): what X and Z reports print and what getShiftTotals tells."""
    shift = state.shift
    return {
        "shiftNumber": shift.number,
        "receipts": shift.receipts,
        "sell": {"count": shift.sell_count, "sum": shift.sell_sum, "payments": dict(shift.sell_payments)},
        "sellReturn": {
            "count": shift.return_count,
            "sum": shift.return_sum,
            "payments": dict(shift.return_payments),
        },
        "income": {"count": shift.income_count, "sum": shift.income_sum},
        "outcome": {"count": shift.outcome_count, "sum": shift.outcome_sum},
        "cashDrawer": state.cash_in_drawer,
    }


def _numbered(state: RegistrarState, shift: int, *, total: int, cash: int) -> Document:
    return {"number": state.last_document + 1, "shift": shift, "total": total, "cash": cash}


def _require_open(state: RegistrarState, now: datetime) -> None:
    if not state.shift.is_open:
        raise Refusal(AtolError.DENIED_IN_CLOSED_SHIFT, "откройте смену")
    if state.expired(now):
        raise Refusal(AtolError.SHIFT_EXPIRED, "закройте смену (Z-отчёт)")


def _receipt(state: RegistrarState, task: Mapping[str, Any], *, returning: bool) -> Document:
    raw_items = task.get("items")
    if not isinstance(raw_items, list):
        raise Refusal(AtolError.NO_REQUIRED_PARAM, "items")
    items: list[dict[str, Any]] = []
    for index, raw in enumerate(raw_items, 1):
        if not isinstance(raw, Mapping):
            raise Refusal(AtolError.INVALID_PARAM, f"позиция {index} не объект")
        if raw.get("type") == "text":
            items.append({"type": "text", "text": _text(raw)})
        elif raw.get("type") == "position":
            items.append(_position(raw, index))
        else:
            raise Refusal(AtolError.INVALID_PARAM, f"позиция {index}: неизвестный тип {raw.get('type')!r}")
    positions = [item for item in items if item["type"] == "position"]
    if not positions:
        raise Refusal(AtolError.INVALID_PARAM, "в чеке нет ни одной позиции")
    total = sum(item["amount"] for item in positions)
    if "total" in task and _money(task, "total") != total:
        raise Refusal(
            AtolError.INVALID_TOTAL,
            f"итог {format_money(_money(task, 'total'))} не равен сумме позиций {format_money(total)}",
        )
    payments = _payments(task)
    paid = sum(payments.values())
    non_cash = paid - payments.get("cash", 0)
    if non_cash > total:
        raise Refusal(
            AtolError.NONCASH_PAYMENTS_TOO_MUCH,
            f"безналичными {format_money(non_cash)} из {format_money(total)}",
        )
    if paid < total:
        raise Refusal(AtolError.NOT_FULLY_PAID, f"оплачено {format_money(paid)} из {format_money(total)}")
    change = paid - total
    net = dict(payments)
    if "cash" in net:
        net["cash"] -= change
    cash = net.get("cash", 0)
    if returning and cash > state.cash_in_drawer:
        raise Refusal(
            AtolError.NO_CASH, f"в кассе {format_money(state.cash_in_drawer)}, к выдаче {format_money(cash)}"
        )
    post = task.get("postItems", [])
    if not isinstance(post, list) or not all(isinstance(p, Mapping) for p in post):
        raise Refusal(AtolError.INVALID_PARAM, "postItems")
    return {
        "number": state.last_document + 1,
        "shift": state.shift.number,
        "receiptNumber": state.shift.receipts + 1,
        "total": total,
        "cash": -cash if returning else cash,
        "payments": net,
        "tendered": payments,
        "change": change,
        "items": items,
        "text": [_text(p) for p in post],
    }


def _position(raw: Mapping[str, Any], index: int) -> dict[str, Any]:
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise Refusal(AtolError.INVALID_PARAM, f"позиция {index}: нет названия")
    if len(name) > MAX_NAME:
        raise Refusal(AtolError.INVALID_PARAM, f"позиция {index}: название длиннее {MAX_NAME} символов")
    price = _money(raw, "price", f"позиция {index}: цена")
    amount = _money(raw, "amount", f"позиция {index}: сумма")
    qty = raw.get("quantity")
    if isinstance(qty, bool) or not isinstance(qty, int | Decimal):
        raise Refusal(AtolError.INVALID_QUANTITY, f"позиция {index}")
    qty = Decimal(qty)
    if not qty.is_finite() or qty <= 0 or qty > MAX_QUANTITY or qty != qty.quantize(Decimal("0.001")):
        raise Refusal(AtolError.INVALID_QUANTITY, f"позиция {index}: {qty}")
    if price < 0 or amount < 0:
        raise Refusal(AtolError.INVALID_SUM, f"позиция {index}: отрицательная сумма")
    full = line_amount(price, qty)
    if amount > full:
        raise Refusal(
            AtolError.INVALID_SUM,
            f"позиция {index}: сумма {format_money(amount)} больше цены × количество {format_money(full)}",
        )
    tax = raw.get("tax")
    tax_type = tax.get("type") if isinstance(tax, Mapping) else None
    if tax_type not in ATOL_TAX_TYPES:
        raise Refusal(AtolError.INVALID_TAX_TYPE, f"позиция {index}: {tax_type!r}")
    unit = raw.get("measurementUnit", "piece")
    if unit not in ATOL_MEASUREMENT_UNITS:
        raise Refusal(AtolError.INVALID_PARAM, f"позиция {index}: единица {unit!r}")
    return {
        "type": "position",
        "name": name,
        "price": price,
        "quantity": str(qty.quantize(Decimal("0.001"))),
        "amount": amount,
        "tax": tax_type,
        "unit": unit,
    }


def _payments(task: Mapping[str, Any]) -> dict[str, int]:
    raw = task.get("payments")
    if not isinstance(raw, list):
        raise Refusal(AtolError.NO_REQUIRED_PARAM, "payments")
    payments: dict[str, int] = {}
    for index, payment in enumerate(raw, 1):
        if not isinstance(payment, Mapping) or payment.get("type") not in ATOL_PAYMENT_TYPES:
            kind = payment.get("type") if isinstance(payment, Mapping) else payment
            raise Refusal(AtolError.INVALID_PAYMENT_TYPE, f"оплата {index}: {kind!r}")
        amount = _money(payment, "sum", f"оплата {index}")
        if amount < 0:
            raise Refusal(AtolError.INVALID_SUM, f"оплата {index}: отрицательная сумма")
        payments[payment["type"]] = payments.get(payment["type"], 0) + amount
    return payments


def _money(source: Mapping[str, Any], key: str, what: str | None = None) -> int:
    if key not in source:
        raise Refusal(AtolError.NO_REQUIRED_PARAM, what or key)
    try:
        return kopecks(source[key])
    except WireError as exc:
        raise Refusal(AtolError.INVALID_SUM, f"{what or key}: {exc}") from None


def _operator(task: Mapping[str, Any]) -> str:
    operator = task.get("operator")
    if operator is None:
        return ""
    name = operator.get("name") if isinstance(operator, Mapping) else None
    if not isinstance(name, str):
        raise Refusal(AtolError.INVALID_PARAM, "operator.name")
    return name


def _text(item: Mapping[str, Any]) -> str:
    text = item.get("text", "")
    if not isinstance(text, str):
        raise Refusal(AtolError.INVALID_PARAM, "text")
    return text
