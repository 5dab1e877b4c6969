"""The fiscal registrar driver for ATOL devices behind ATOL's web server (JSON tasks over HTTP), and for the
suite's emulator of one (:mod:`osuite.devices.registrar_emulator`).

Every document is one task request whose ``uuid`` is the POS's key for it (the receipt's or cash
operation's id), so sending it again can never register it twice: the web server answers ``409`` to a
uuid it holds, and the driver then reads the result it holds. ``find(key)`` reads the result held under
the key. Requests the POS gives no key (shift open/close, reports, status) get a fresh UUIDv7.

The web server runs tasks asynchronously: the driver posts, then polls ``GET …/{uuid}`` until the task
is done or ``timeout`` runs out. No answer in time, a broken connection or a server failure raise
:class:`FiscalError` with ``UNREACHABLE``: the document may or may not be registered, and the POS must
``find`` it before trying again under the same key.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from osuite.core.ids import uuid7
from osuite.core.money import format_money
from osuite.devices.atol_wire import (
    ATOL_PAYMENT_TYPES,
    MEASUREMENT_UNITS,
    PAYMENT_TYPES,
    PENDING_STATUSES,
    REQUESTS_PATH,
    TAX_TYPES,
    TOTALS_METHODS,
    AtolError,
    WireError,
    dumps,
    kopecks,
    loads,
    quantity_number,
    rubles,
)
from osuite.devices.fiscal import (
    CashKind,
    FiscalError,
    FiscalErrorCode,
    FiscalItem,
    FiscalMark,
    FiscalReceipt,
    FiscalRegistrar,
    RegistrarStatus,
    ShiftReport,
    ShiftTotals,
)

_SHIFT_LIMIT = timedelta(hours=24)

_ERROR_CODES: Mapping[int, FiscalErrorCode] = {
    AtolError.CONNECTION_DISABLED: FiscalErrorCode.UNREACHABLE,
    AtolError.NO_CONNECTION: FiscalErrorCode.UNREACHABLE,
    AtolError.PORT_NOT_AVAILABLE: FiscalErrorCode.UNREACHABLE,
    AtolError.CONNECTION_LOST: FiscalErrorCode.UNREACHABLE,
    AtolError.PORT_BUSY: FiscalErrorCode.BUSY,
    AtolError.BUSY: FiscalErrorCode.BUSY,
    AtolError.JOURNAL_BUSY: FiscalErrorCode.BUSY,
    AtolError.INTERFACE_BUSY: FiscalErrorCode.BUSY,
    AtolError.NO_PAPER: FiscalErrorCode.PAPER_OUT,
    AtolError.COVER_OPENED: FiscalErrorCode.COVER_OPEN,
    AtolError.PRINTER_FAULT: FiscalErrorCode.PRINTER_ERROR,
    AtolError.MECHANICAL_FAULT: FiscalErrorCode.PRINTER_ERROR,
    AtolError.PRINTER_OVERHEAT: FiscalErrorCode.PRINTER_ERROR,
    AtolError.CUTTER_FAULT: FiscalErrorCode.PRINTER_ERROR,
    AtolError.DENIED_IN_CLOSED_SHIFT: FiscalErrorCode.SHIFT_NOT_OPEN,
    AtolError.DENIED_IN_OPENED_SHIFT: FiscalErrorCode.SHIFT_ALREADY_OPEN,
    AtolError.SHIFT_EXPIRED: FiscalErrorCode.SHIFT_EXPIRED,
    AtolError.FN_SHIFT_EXPIRED: FiscalErrorCode.SHIFT_EXPIRED,
    AtolError.NO_CASH: FiscalErrorCode.NOT_ENOUGH_CASH,
    AtolError.RETURN_DENIED: FiscalErrorCode.NOT_ENOUGH_CASH,
    AtolError.NO_REQUIRED_PARAM: FiscalErrorCode.INVALID_DOCUMENT,
    AtolError.INVALID_PARAM: FiscalErrorCode.INVALID_DOCUMENT,
    AtolError.INVALID_SUM: FiscalErrorCode.INVALID_DOCUMENT,
    AtolError.INVALID_QUANTITY: FiscalErrorCode.INVALID_DOCUMENT,
    AtolError.NONCASH_PAYMENTS_TOO_MUCH: FiscalErrorCode.INVALID_DOCUMENT,
    AtolError.INVALID_PAYMENT_TYPE: FiscalErrorCode.INVALID_DOCUMENT,
    AtolError.NOT_FULLY_PAID: FiscalErrorCode.INVALID_DOCUMENT,
    AtolError.INVALID_TAX_TYPE: FiscalErrorCode.INVALID_DOCUMENT,
    AtolError.INVALID_TOTAL: FiscalErrorCode.INVALID_DOCUMENT,
}

_ADVICE: Mapping[FiscalErrorCode, str] = {
    FiscalErrorCode.BUSY: "The fiscal registrar is busy with another document: wait a moment, press Retry.",
    FiscalErrorCode.PAPER_OUT: (
        "The receipt printer is out of paper: load a new roll, close the cover and press Retry."
    ),
    FiscalErrorCode.COVER_OPEN: "The receipt printer's cover is open: close it and press Retry.",
    FiscalErrorCode.PRINTER_ERROR: (
        "The receipt printer does not answer or reports a fault: check its power, cable and paper, "
        "then press Retry."
    ),
    FiscalErrorCode.SHIFT_NOT_OPEN: "The shift is not open on the fiscal registrar: open the shift first.",
    FiscalErrorCode.SHIFT_ALREADY_OPEN: "The shift is already open on the fiscal registrar.",
    FiscalErrorCode.SHIFT_EXPIRED: (
        "The shift has been open for more than 24 hours: close it (Z report), then open a new one."
    ),
    FiscalErrorCode.NOT_ENOUGH_CASH: (
        "The drawer does not hold that much cash by the registrar's count: pay out less, or refund by card."
    ),
    FiscalErrorCode.INVALID_DOCUMENT: "The fiscal registrar refused the document: check its items, payments.",
    FiscalErrorCode.DUPLICATE_KEY: (
        "The fiscal registrar already holds a different document under this key: this is a program error, "
        "call support."
    ),
    FiscalErrorCode.INTERNAL: (
        "The fiscal registrar reported an error: press Retry, and call support if it repeats."
    ),
}


class AtolRegistrar:
    """:class:`~osuite.devices.fiscal.FiscalRegistrar` over ATOL's web server at ``base_url``.

    ``timeout`` bounds how long one call waits for the registrar to finish a task (seconds).
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 30.0,
        connect_timeout: float = 3.0,
        poll_interval: float = 0.05,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.poll_interval = poll_interval
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            transport=transport,
            headers={"Content-Type": "application/json; charset=utf-8"},
        )

    # --- FiscalRegistrar

    def status(self) -> RegistrarStatus:
        tasks: list[dict[str, Any]] = [
            {"type": "getDeviceStatus"},
            {"type": "getShiftStatus"},
            {"type": "getShiftTotals"},
            {"type": "getLastFiscalParams"},
        ]
        device, shift, totals, last = (
            result["result"] or {} for result in self._execute(str(uuid7()), tasks)
        )
        device_status = device.get("deviceStatus") or {}
        shift_status = shift.get("shiftStatus") or {}
        state = shift_status.get("state", "closed")
        expires = _parse_time(shift_status.get("expiredTime"))
        last_params = last.get("fiscalParams") or {}
        return RegistrarStatus(
            shift_open=state in ("opened", "expired"),
            shift_number=int(shift_status.get("number", 0)),
            shift_opened_at=expires - _SHIFT_LIMIT if expires and state != "closed" else None,
            shift_expired=state == "expired",
            last_document_number=int(last_params.get("fiscalDocumentNumber", 0)),
            paper_out=not device_status.get("paperPresent", True),
            cover_open=bool(device_status.get("coverOpened", False)),
            cash_in_drawer=_totals(totals).cash_in_drawer,
            model=str(device_status.get("modelName", "")),
            serial=str(device_status.get("serialNumber", "")),
        )

    def open_shift(self, cashier: str) -> FiscalMark:
        key = str(uuid7())
        (result,) = self._execute(key, [{"type": "openShift", "operator": {"name": cashier}}])
        return _mark(key, result["result"], total=0)

    def register(self, receipt: FiscalReceipt) -> FiscalMark:
        task = receipt_task(receipt)
        (result,) = self._execute(receipt.key, [task])
        mark = _mark(receipt.key, result["result"], total=receipt.total)
        if mark.total != receipt.total:  # a device that does not say whether a repeated uuid matched
            raise _error(
                FiscalErrorCode.DUPLICATE_KEY,
                f"key {receipt.key} holds a receipt of {format_money(mark.total)}, "
                f"not {format_money(receipt.total)}",
            )
        return mark

    def cash(self, key: str, kind: CashKind, amount: int, cashier: str) -> FiscalMark:
        (result,) = self._execute(key, [cash_task(kind, amount, cashier)])
        return _mark(key, result["result"], total=amount)

    def find(self, key: str) -> FiscalMark | None:
        results = self._results(key)
        if results is None:
            return None
        for entry in results:
            result = entry.get("result")
            held = isinstance(result, dict) and ("fiscalParams" in result or "counters" in result)
            if entry.get("status") == "ready" and held:
                return _mark(key, result, total=0)
        return None

    def x_report(self, cashier: str) -> ShiftReport:
        tasks: list[dict[str, Any]] = [
            {"type": "getShiftTotals"},
            {"type": "reportX", "operator": {"name": cashier}},
        ]
        totals, _ = self._execute(str(uuid7()), tasks)
        return ShiftReport(totals=_totals(totals["result"] or {}), mark=None)

    def close_shift(self, cashier: str) -> ShiftReport:
        key = str(uuid7())
        tasks: list[dict[str, Any]] = [
            {"type": "getShiftTotals"},
            {"type": "closeShift", "operator": {"name": cashier}},
        ]
        totals, closing = self._execute(key, tasks)
        return ShiftReport(
            totals=_totals(totals["result"] or {}), mark=_mark(key, closing["result"], total=0)
        )

    def open_drawer(self) -> None:
        self._execute(str(uuid7()), [{"type": "openCashDrawer"}])

    def print_text(self, lines: list[str]) -> None:
        items = [{"type": "text", "text": line} for line in lines]
        self._execute(str(uuid7()), [{"type": "nonFiscal", "items": items}])

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> AtolRegistrar:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- the task protocol

    def _execute(self, key: str, tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Post the tasks under ``key`` (or find them already held) and wait for their results."""
        body = dumps({"uuid": key, "request": tasks})
        try:
            response = self._http.post(REQUESTS_PATH, content=body)
        except httpx.HTTPError as exc:
            raise self._unreachable(f"no answer ({exc.__class__.__name__})") from None
        if response.status_code == 409:
            if _json(response).get("sameRequest") is False:
                raise _error(FiscalErrorCode.DUPLICATE_KEY, f"key {key} is held for a different document")
        elif response.status_code >= 500:
            results = self._results(key)  # the answer was lost: the server may still hold the result
            if results is None:
                raise self._unreachable(f"the web server failed (HTTP {response.status_code})")
            return _checked(results)
        elif not response.is_success:
            detail = _json(response).get("error", {}).get("description", response.text)
            raise _error(FiscalErrorCode.INTERNAL, f"the web server refused the request: {detail}")
        results = self._results(key)
        if results is None:
            raise self._unreachable(f"the web server lost task {key}")
        return _checked(results)

    def _results(self, key: str) -> list[dict[str, Any]] | None:
        """The results held under ``key`` once no task is pending; None when it holds none."""
        deadline = time.monotonic() + self.timeout
        delay = self.poll_interval
        while True:
            try:
                response = self._http.get(f"{REQUESTS_PATH}/{key}")
            except httpx.HTTPError as exc:
                raise self._unreachable(f"no answer ({exc.__class__.__name__})") from None
            if response.status_code == 404:
                return None
            if not response.is_success:
                raise self._unreachable(f"the web server failed (HTTP {response.status_code})")
            results = _json(response).get("results")
            if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
                raise _error(FiscalErrorCode.INTERNAL, f"unexpected answer: {response.text[:200]}")
            if not any(result.get("status") in PENDING_STATUSES for result in results):
                return results
            if time.monotonic() + delay > deadline:
                raise self._unreachable(f"task {key} not done after {self.timeout:g} s")
            time.sleep(delay)
            delay = min(delay * 2, 0.5)

    def _unreachable(self, detail: str) -> FiscalError:
        return FiscalError(
            FiscalErrorCode.UNREACHABLE,
            f"The fiscal registrar at {self.base_url} does not answer ({detail}): check its power and "
            "network cable, then press Retry. A receipt being registered may have been registered: the "
            "POS checks before registering it again.",
        )


# --- building tasks (public so tests and tools can see exactly what is sent) ----------------------------


def receipt_task(receipt: FiscalReceipt) -> dict[str, Any]:
    """The ``sell`` / ``sellReturn`` task for a receipt; INVALID_DOCUMENT for what ATOL cannot carry."""
    task: dict[str, Any] = {
        "type": "sellReturn" if receipt.kind == "return" else "sell",
        "operator": {"name": receipt.cashier},
        "items": [_position(item, number) for number, item in enumerate(receipt.items, 1)],
        "payments": [
            {"type": _payment_type(payment.method), "sum": _rubles(payment.amount, "a payment")}
            for payment in receipt.payments
        ],
        "total": _rubles(receipt.total, "the total"),
    }
    if receipt.footer:
        task["postItems"] = [{"type": "text", "text": line} for line in receipt.footer]
    return task


def cash_task(kind: CashKind, amount: int, cashier: str) -> dict[str, Any]:
    return {
        "type": "cashIn" if kind == "in" else "cashOut",
        "cashSum": _rubles(amount, "the amount"),
        "operator": {"name": cashier},
    }


def _position(item: FiscalItem, number: int) -> dict[str, Any]:
    tax = TAX_TYPES.get(item.vat_rate)
    if tax is None:
        raise _error(
            FiscalErrorCode.INVALID_DOCUMENT,
            f"item {number} ({item.name}): unknown VAT rate {item.vat_rate!r}",
        )
    unit = MEASUREMENT_UNITS.get(item.unit)
    if unit is None:
        raise _error(
            FiscalErrorCode.INVALID_DOCUMENT, f"item {number} ({item.name}): unknown unit {item.unit!r}"
        )
    try:
        quantity = quantity_number(Decimal(item.quantity))
    except (WireError, ArithmeticError):
        raise _error(
            FiscalErrorCode.INVALID_DOCUMENT,
            f"item {number} ({item.name}): quantity {item.quantity} is not valid",
        ) from None
    return {
        "type": "position",
        "name": item.name,
        "price": _rubles(item.price, f"item {number}'s price"),
        "quantity": quantity,
        "amount": _rubles(item.amount, f"item {number}'s amount"),
        "tax": {"type": tax},
        "paymentMethod": "fullPayment",
        "paymentObject": "commodity",
        "measurementUnit": unit,
    }


def _payment_type(method: str) -> str:
    kind = PAYMENT_TYPES.get(method)
    if kind is None:
        raise _error(FiscalErrorCode.INVALID_DOCUMENT, f"unknown payment method {method!r}")
    return kind


def _rubles(amount: int, what: str) -> Decimal:
    try:
        return rubles(amount)
    except WireError:
        raise _error(FiscalErrorCode.INVALID_DOCUMENT, f"{what} is not whole kopecks: {amount!r}") from None


# --- reading answers -----------------------------------------------------------------------------------


def _checked(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The results when every task succeeded; otherwise the first failure as a FiscalError."""
    for result in results:
        status = result.get("status")
        if status == "ready":
            continue
        code = result.get("errorCode", 0)
        description = str(result.get("errorDescription", ""))
        if status == "error":
            mapped = _ERROR_CODES.get(code, FiscalErrorCode.INTERNAL) if isinstance(code, int) else None
            raise _error(mapped or FiscalErrorCode.INTERNAL, f"ATOL error {code}: {description}")
        if status == "blocked":
            raise _error(FiscalErrorCode.BUSY, f"the task queue is blocked: {description}")
        raise _error(FiscalErrorCode.INTERNAL, f"task {status}: {description}")
    return results


def _mark(key: str, result: Any, *, total: int) -> FiscalMark:
    params = (result or {}).get("fiscalParams") or {}
    registered_at = _parse_time(params.get("fiscalDocumentDateTime")) or datetime.now().astimezone()
    try:
        return FiscalMark(
            key=key,
            shift_number=int(params.get("shiftNumber", 0)),
            document_number=int(params.get("fiscalDocumentNumber", 0)),
            number_in_shift=int(params.get("fiscalReceiptNumber", 0)),
            fiscal_sign=str(params.get("fiscalDocumentSign", "")),
            registered_at=registered_at,
            total=kopecks(params["total"]) if "total" in params else total,
        )
    except (WireError, TypeError, ValueError) as exc:
        raise _error(FiscalErrorCode.INTERNAL, f"unexpected fiscal parameters {params!r}: {exc}") from None


def _totals(result: Mapping[str, Any]) -> ShiftTotals:
    totals = result.get("shiftTotals") or {}
    receipts = totals.get("receipts") or {}
    sell, refund = receipts.get("sell") or {}, receipts.get("sellReturn") or {}

    def money(block: Mapping[str, Any], key: str = "sum") -> int:
        return kopecks(block.get(key, 0))

    by_method: dict[str, tuple[int, int]] = {}
    for kind in ATOL_PAYMENT_TYPES:
        sold = money(sell.get("payments") or {}, kind)
        returned = money(refund.get("payments") or {}, kind)
        if sold or returned:
            by_method[TOTALS_METHODS[kind]] = (sold, returned)
    try:
        return ShiftTotals(
            shift_number=int(totals.get("shiftNumber", 0)),
            sales_count=int(sell.get("count", 0)),
            sales_sum=money(sell),
            returns_count=int(refund.get("count", 0)),
            returns_sum=money(refund),
            cash_in=money(totals.get("income") or {}),
            cash_out=money(totals.get("outcome") or {}),
            cash_in_drawer=money(totals.get("cashDrawer") or {}),
            by_method=by_method,
        )
    except (WireError, TypeError, ValueError) as exc:
        raise _error(FiscalErrorCode.INTERNAL, f"unexpected shift totals: {exc}") from None


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = loads(response.content)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _error(code: FiscalErrorCode, detail: str) -> FiscalError:
    return FiscalError(code, f"{_ADVICE[code]} ({detail})")


__all__ = ["AtolRegistrar", "cash_task", "receipt_task"]


def _is_a_fiscal_registrar(driver: AtolRegistrar) -> FiscalRegistrar:
    """Lets mypy check that the driver keeps the POS's interface."""
    return driver
