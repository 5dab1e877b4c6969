"""ATOL's JSON task format, as the driver (:mod:`osuite.devices.atol`) and the emulator
(:mod:`osuite.devices.registrar_emulator`) both speak it: paths, names, error codes and exact money.

The format is the one ATOL's web server (the fptr10 "ATOL Web Server", port 16732) exposes:
``POST /api/v2/requests`` with ``{"uuid": U, "request": [task, …]}`` queues the tasks and answers
``201``; ``GET /api/v2/requests/U`` answers ``{"results": [{"status", "errorCode", "errorDescription",
"result"}, …]}``, one entry per task, ``status`` being ``wait``/``inProgress`` until the device has done
it, then ``ready`` or ``error`` (a task after a failed one is ``interrupted``). A second POST with a uuid
the server holds answers ``409``. An unknown uuid answers ``404``.

Tasks and results as used here (ATOL's public field names where we found them; marked "decided" where we
did not and chose ourselves):

- ``sell`` / ``sellReturn``: ``operator: {name}``, ``items: [{type: "position", name, price, quantity,
  amount, tax: {type}, paymentMethod: "fullPayment", paymentObject: "commodity", measurementUnit}]``
  (``{type: "text", text}`` items print a line), ``payments: [{type, sum}]`` with type ``cash``,
  ``electronically``, ``prepaid``, ``credit`` or ``other``, ``total``, ``postItems`` (text under the
  receipt). Result: ``{fiscalParams: {fiscalDocumentNumber, fiscalDocumentSign, fiscalDocumentDateTime,
  fiscalReceiptNumber, shiftNumber, total, fnNumber, registrationNumber, fnsUrl}, warnings}``.
- ``openShift`` / ``closeShift`` (``operator``): result ``fiscalParams`` without ``total`` and
  ``fiscalReceiptNumber``.
- ``cashIn`` / ``cashOut``: ``cashSum``, ``operator``; result ``{counters: {cashSum}}``. A real device
  prints these as non-fiscal documents; the emulator also numbers and signs them and adds
  ``fiscalParams`` (decided), so a driver must accept a result without them.
- ``reportX`` (``operator``): a printed report, no fiscal document.
- ``nonFiscal``: ``items: [{type: "text", text}]``, printed as is.
- ``openCashDrawer``: pulses the drawer connected to the printer; no document, no paper needed.
- ``getShiftStatus``: ``{shiftStatus: {state: opened|closed|expired, number, expiredTime}}``.
- ``getDeviceStatus``: ``{deviceStatus: {paperPresent, coverOpened, currentDateTime, modelName,
  serialNumber, blocked}}``.
- ``getShiftTotals`` (decided layout): ``{shiftTotals: {shiftNumber, receipts: {sell|sellReturn:
  {count, sum, payments: {cash, electronically, prepaid, credit, other}}}, income: {count, sum},
  outcome: {count, sum}, cashDrawer: {sum}}}``; the shift is the open one or the last one closed.
- ``getLastFiscalParams``: ``{fiscalParams: …}`` of the last fiscal document (decided).

Money is rubles as JSON numbers with two decimals (``123.45``). It is converted exactly, digit by digit:
never through a float. Request bodies are written by :func:`dumps` and read by :func:`loads`, which keep
such numbers as :class:`~decimal.Decimal`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from enum import IntEnum
from typing import Any

DEFAULT_PORT = 16732
REQUESTS_PATH = "/api/v2/requests"

FISCAL_TASKS = frozenset({"sell", "sellReturn", "openShift", "closeShift", "cashIn", "cashOut"})
PRINTING_TASKS = FISCAL_TASKS | {"reportX", "nonFiscal"}
QUERY_TASKS = frozenset({"getShiftStatus", "getDeviceStatus", "getShiftTotals", "getLastFiscalParams"})

# A task's status in a GET answer.
PENDING_STATUSES = frozenset({"wait", "inProgress"})

# The POS's VAT rates (FiscalItem.vat_rate) → ATOL's tax types.
TAX_TYPES: Mapping[str, str] = {
    "none": "none",
    "0": "vat0",
    "5": "vat5",
    "7": "vat7",
    "10": "vat10",
    "20": "vat20",
    "22": "vat22",
    "5/105": "vat105",
    "7/107": "vat107",
    "10/110": "vat110",
    "20/120": "vat120",
    "22/122": "vat122",
}
ATOL_TAX_TYPES = frozenset(TAX_TYPES.values())

# The POS's payment methods → ATOL's payment types (FFD: 1031 cash, 1081 electronic, 1215 prepaid …).
PAYMENT_TYPES: Mapping[str, str] = {
    "cash": "cash",
    "card": "electronically",
    "bonus": "prepaid",
    "gift": "prepaid",
    "other": "other",
}
ATOL_PAYMENT_TYPES = ("cash", "electronically", "prepaid", "credit", "other")
# How shift totals name ATOL's payment types for the POS (ShiftTotals.by_method keys).
TOTALS_METHODS: Mapping[str, str] = {
    "cash": "cash",
    "electronically": "card",
    "prepaid": "prepaid",
    "credit": "credit",
    "other": "other",
}

# The POS's units → ATOL's measurementUnit (FFD 1.2 tag 2108).
MEASUREMENT_UNITS: Mapping[str, str] = {
    "pcs": "piece",
    "piece": "piece",
    "шт": "piece",
    "kg": "kilogram",
    "кг": "kilogram",
    "g": "gram",
    "г": "gram",
    "l": "liter",
    "л": "liter",
    "ml": "milliliter",
    "m": "meter",
    "м": "meter",
}
ATOL_MEASUREMENT_UNITS = frozenset(MEASUREMENT_UNITS.values())


class AtolError(IntEnum):
    """The device error codes (libfptr10's LIBFPTR_ERROR_*) this suite produces or understands."""

    OK = 0
    CONNECTION_DISABLED = 1
    NO_CONNECTION = 2
    PORT_BUSY = 3
    PORT_NOT_AVAILABLE = 4
    INCORRECT_DATA = 5
    INTERNAL = 6
    NO_REQUIRED_PARAM = 8
    INVALID_PARAM = 13
    INVALID_SUM = 16
    INVALID_QUANTITY = 17
    NO_PAPER = 44
    COVER_OPENED = 45
    PRINTER_FAULT = 46
    MECHANICAL_FAULT = 47
    NONCASH_PAYMENTS_TOO_MUCH = 52
    RETURN_DENIED = 53
    BUSY = 55
    INVALID_PAYMENT_TYPE = 60
    NOT_FULLY_PAID = 66
    SHIFT_EXPIRED = 68
    JOURNAL_BUSY = 72
    DENIED_IN_CLOSED_SHIFT = 73
    NO_CASH = 80
    DENIED_IN_OPENED_SHIFT = 83
    PRINTER_OVERHEAT = 114
    FN_SHIFT_EXPIRED = 141
    INVALID_TAX_TYPE = 144
    CUTTER_FAULT = 150
    INTERFACE_BUSY = 221
    INVALID_TOTAL = 227
    CONNECTION_LOST = 241


# What the device says, in its own words (errorDescription).
DESCRIPTIONS: Mapping[AtolError, str] = {
    AtolError.OK: "Ошибок нет",
    AtolError.CONNECTION_DISABLED: "Соединение не установлено",
    AtolError.NO_CONNECTION: "Нет связи",
    AtolError.INCORRECT_DATA: "Некорректные данные от устройства",
    AtolError.INTERNAL: "Внутренняя ошибка",
    AtolError.NO_REQUIRED_PARAM: "Не найден обязательный параметр",
    AtolError.INVALID_PARAM: "Неверное значение параметра",
    AtolError.INVALID_SUM: "Неверная сумма",
    AtolError.INVALID_QUANTITY: "Неверное количество",
    AtolError.NO_PAPER: "Нет бумаги",
    AtolError.COVER_OPENED: "Открыта крышка",
    AtolError.PRINTER_FAULT: "Нет связи с принтером чеков",
    AtolError.NONCASH_PAYMENTS_TOO_MUCH: "Сумма не наличных платежей превышает сумму чека",
    AtolError.BUSY: "Предыдущая операция не завершена",
    AtolError.INVALID_PAYMENT_TYPE: "Неверный тип оплаты",
    AtolError.NOT_FULLY_PAID: "Чек оплачен не полностью",
    AtolError.SHIFT_EXPIRED: "Смена превысила 24 часа",
    AtolError.DENIED_IN_CLOSED_SHIFT: "Смена закрыта - операция невозможна",
    AtolError.NO_CASH: "Не хватает наличности в кассе",
    AtolError.DENIED_IN_OPENED_SHIFT: "Смена открыта - операция невозможна",
    AtolError.INVALID_TAX_TYPE: "Неверный тип налога",
    AtolError.INVALID_TOTAL: "Неверная сумма чека",
}


def describe(code: AtolError) -> str:
    return DESCRIPTIONS.get(code, code.name.replace("_", " ").capitalize())


class WireError(ValueError):
    """A value that is not what the format allows (a float for money, three decimals …)."""


# --- money ---------------------------------------------------------------------------------------------

_MAX_EXPONENT = 30  # rubles never need more digits than this; refuse "1e999999" before it costs memory


def rubles(kopecks: int) -> Decimal:
    """``12345`` → ``Decimal("123.45")``: exact, always two places."""
    if isinstance(kopecks, bool) or not isinstance(kopecks, int):
        raise WireError(f"money must be whole kopecks, not {kopecks!r}")
    return Decimal(f"{kopecks}E-2")


def kopecks(value: object) -> int:
    """An amount of rubles as :func:`loads` reads it (``int`` or ``Decimal``) → kopecks, exactly.

    Refuses floats (the value was read without :func:`loads`), more than two decimal places, and
    anything that is not a number.
    """
    if isinstance(value, bool):
        raise WireError(f"{value!r} is not an amount of money")
    if isinstance(value, int):
        return value * 100
    if not isinstance(value, Decimal) or not value.is_finite():
        raise WireError(f"{value!r} is not an amount of money")
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite
    if exponent > _MAX_EXPONENT:
        raise WireError(f"{value} is larger than any amount of money can be")
    text = "".join(map(str, digits)).lstrip("0")
    stripped = text.rstrip("0")
    exponent += len(text) - len(stripped)  # 1.50000 is 1.5: trailing zeros are not precision
    if stripped and exponent < -2:
        raise WireError(f"{value} has more than two decimal places")
    minor: int = int(stripped or "0") * 10 ** max(exponent + 2, 0)
    return -minor if sign else minor


def quantity_number(value: Decimal) -> Decimal:
    """A quantity as sent: exactly three places (``1.000``, ``0.250``); refuses more precision."""
    q = value.quantize(Decimal("0.001"))
    if q != value:
        raise WireError(f"quantity {value} has more than three decimal places")
    return q


# --- JSON ----------------------------------------------------------------------------------------------


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON in which a Decimal is written as its exact digits (``123.45``), never a float."""
    return _encode(value).encode("utf-8")


def _encode(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise WireError(f"{value} cannot be sent")
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{_encode(str(k))}:{_encode(v)}" for k, v in value.items()) + "}"
    if isinstance(value, Sequence):
        return "[" + ",".join(_encode(v) for v in value) + "]"
    raise WireError(f"{type(value).__name__} cannot be sent as JSON")


def _refuse_constant(name: str) -> Any:
    raise WireError(f"{name} is not a number JSON allows")


def loads(data: bytes | str) -> Any:
    """JSON with every non-integer number read as an exact Decimal."""
    return json.loads(data, parse_float=Decimal, parse_constant=_refuse_constant)


def canonical(value: Any) -> bytes:
    """One spelling for equal values (keys sorted, ``100.0`` and ``100`` alike): what digests and fiscal
    signs are computed over."""
    return _canonical(value).encode("utf-8")


def _canonical(value: Any) -> str:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return _encode(value)
    if isinstance(value, int | Decimal):
        number = Decimal(value)
        if not number.is_finite():
            raise WireError(f"{value} cannot be signed")
        if not number:
            return "0"
        number = number.normalize()
        exponent = number.as_tuple().exponent
        assert isinstance(exponent, int)
        return format(number, "f") if abs(exponent) <= _MAX_EXPONENT else str(number)
    if isinstance(value, Mapping):
        items = sorted(((str(k), v) for k, v in value.items()), key=lambda kv: kv[0])
        return "{" + ",".join(f"{_encode(k)}:{_canonical(v)}" for k, v in items) + "}"
    if isinstance(value, Sequence):
        return "[" + ",".join(_canonical(v) for v in value) + "]"
    raise WireError(f"{type(value).__name__} cannot be signed")
