"""What the emulated registrar prints: each document laid out as a Russian cash register prints it, turned
into ESC/POS bytes by python-escpos (Cyrillic goes out in code page CP866, ``ESC t 17``).

A receipt carries the shop's header, "КАССОВЫЙ ЧЕК" and its kind (ПРИХОД / ВОЗВРАТ ПРИХОДА), each
position with quantity × price = amount and its VAT, ИТОГ, the payments and СДАЧА, the VAT sums, the
fiscal requisites (РН ККТ, ФН, ФД, ФП, смена, чек) and the QR code a buyer checks the receipt with
(``t=…&s=…&fn=…&i=…&fp=…&n=…``, as the tax service defines it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from escpos.printer import Dummy

from osuite.core.money import format_money
from osuite.devices.registrar_journal import Identity

WIDTH = 42  # characters per line in font A on 80 mm paper with margins

PAYMENT_LABELS: Mapping[str, str] = {
    "cash": "НАЛИЧНЫМИ",
    "electronically": "БЕЗНАЛИЧНЫМИ",
    "prepaid": "ПРЕДВАРИТЕЛЬНАЯ ОПЛАТА (АВАНС)",
    "credit": "ПОСЛЕДУЮЩАЯ ОПЛАТА (КРЕДИТ)",
    "other": "ИНОЙ ФОРМОЙ ОПЛАТЫ",
}
UNIT_LABELS: Mapping[str, str] = {
    "piece": "шт",
    "kilogram": "кг",
    "gram": "г",
    "liter": "л",
    "milliliter": "мл",
    "meter": "м",
}
# ATOL tax type → (label, rate numerator, rate denominator): the VAT inside an amount is amount × n / d.
TAXES: Mapping[str, tuple[str, int, int]] = {
    "none": ("БЕЗ НДС", 0, 1),
    "vat0": ("НДС 0%", 0, 1),
    "vat5": ("НДС 5%", 5, 105),
    "vat7": ("НДС 7%", 7, 107),
    "vat10": ("НДС 10%", 10, 110),
    "vat20": ("НДС 20%", 20, 120),
    "vat22": ("НДС 22%", 22, 122),
    "vat105": ("НДС 5/105", 5, 105),
    "vat107": ("НДС 7/107", 7, 107),
    "vat110": ("НДС 10/110", 10, 110),
    "vat120": ("НДС 20/120", 20, 120),
    "vat122": ("НДС 22/122", 22, 122),
}
TITLES: Mapping[str, str] = {
    "openShift": "ОТЧЁТ ОБ ОТКРЫТИИ СМЕНЫ",
    "closeShift": "ОТЧЁТ О ЗАКРЫТИИ СМЕНЫ",
    "reportX": "X-ОТЧЁТ",
    "cashIn": "ВНЕСЕНИЕ",
    "cashOut": "ВЫПЛАТА",
}


@dataclass(frozen=True)
class ShopHeader:
    """The seller as the receipt's header names it."""

    name: str = 'ООО "Демо-магазин"'
    address: str = "г. Москва, ул. Примерная, д. 1"
    inn: str = "7700000000"
    fns_site: str = "www.nalog.gov.ru"


def vat_of(amount: int, tax: str) -> int:
    """The VAT inside ``amount`` (kopecks) at ATOL tax type ``tax``, rounded half-up to the kopeck."""
    _, numerator, denominator = TAXES[tax]
    return int((Decimal(amount) * numerator / denominator).to_integral_value(rounding=ROUND_HALF_UP))


def render(document: Mapping[str, Any], identity: Identity, header: ShopHeader) -> bytes:
    """The ESC/POS bytes of a registered document (a receipt, a shift report, a cash slip)."""
    slip = _Slip()
    slip.header(header)
    if document["type"] in ("sell", "sellReturn"):
        _receipt(slip, document)
    else:
        _report(slip, document)
    slip.line(_pair("КАССИР", document.get("operator") or "—"))
    slip.line(_pair("ДАТА ВРЕМЯ", _when(document["at"])))
    if document["number"]:
        _requisites(slip, document, identity, header)
    if document["type"] in ("sell", "sellReturn"):
        slip.qr(_qr_text(document, identity))
        for text in document.get("text", ()):
            slip.line(text)
    return slip.finish()


def drawer_kick() -> bytes:
    """The pulse that opens the cash drawer hanging on the printer's drawer port."""
    printer = Dummy()
    printer.cashdraw(2)
    return bytes(printer.output)


def render_text(lines: list[str], header: ShopHeader | None = None) -> bytes:
    """A non-fiscal slip: the lines as they are, then a cut."""
    slip = _Slip()
    if header is not None:
        slip.header(header)
    for line in lines:
        slip.line(line)
    return slip.finish()


def _receipt(slip: _Slip, doc: Mapping[str, Any]) -> None:
    slip.title("КАССОВЫЙ ЧЕК")
    slip.centered("ВОЗВРАТ ПРИХОДА" if doc["type"] == "sellReturn" else "ПРИХОД", bold=True)
    slip.line(_pair(f"ЧЕК № {doc['receiptNumber']}", f"СМЕНА № {doc['shift']}"))
    slip.rule()
    vat_sums: dict[str, int] = {}
    number = 0
    for item in doc["items"]:
        if item["type"] == "text":
            slip.line(item["text"])
            continue
        number += 1
        unit = UNIT_LABELS.get(item["unit"], "")
        slip.line(f"{number}. {item['name']}")
        slip.line(_pair(f"   {item['quantity']} {unit} x {format_money(item['price'])}", _eq(item["amount"])))
        label = TAXES[item["tax"]][0]
        if item["tax"] == "none":
            slip.line(f"   {label}")
        else:
            slip.line(_pair(f"   {label}", _eq(vat_of(item["amount"], item["tax"]))))
        vat_sums[item["tax"]] = vat_sums.get(item["tax"], 0) + item["amount"]
    slip.rule()
    slip.line(_pair("ИТОГ", _eq(doc["total"])), big=True)
    for method, amount in doc["tendered"].items():
        slip.line(_pair(PAYMENT_LABELS[method], _eq(amount)))
    if doc["change"]:
        slip.line(_pair("СДАЧА", _eq(doc["change"])))
    for tax, amount in vat_sums.items():
        label = TAXES[tax][0]
        if tax == "none":
            slip.line(_pair("СУММА БЕЗ НДС", _eq(amount)))
        else:
            slip.line(_pair(f"СУММА {label}", _eq(vat_of(amount, tax))))
    slip.rule()


def _report(slip: _Slip, doc: Mapping[str, Any]) -> None:
    slip.title(TITLES[doc["type"]])
    slip.line(_pair("СМЕНА №", str(doc["shift"])))
    if doc["type"] in ("cashIn", "cashOut"):
        slip.line(_pair("СУММА", _eq(doc["total"])), big=True)
    counters = doc.get("counters")
    if counters:
        slip.rule()
        slip.line(_pair("ЧЕКОВ ЗА СМЕНУ", str(counters["receipts"])))
        for kind, title in (("sell", "ПРИХОД"), ("sellReturn", "ВОЗВРАТ ПРИХОДА")):
            block = counters[kind]
            slip.line(_pair(f"{title} ({block['count']})", _eq(block["sum"])))
            for method, amount in block["payments"].items():
                slip.line(_pair(f"  {PAYMENT_LABELS[method]}", _eq(amount)))
        slip.line(_pair(f"ВНЕСЕНИЙ ({counters['income']['count']})", _eq(counters["income"]["sum"])))
        slip.line(_pair(f"ВЫПЛАТ ({counters['outcome']['count']})", _eq(counters["outcome"]["sum"])))
        slip.line(_pair("НАЛИЧНЫХ В КАССЕ", _eq(counters["cashDrawer"])))
    slip.rule()


def _requisites(slip: _Slip, doc: Mapping[str, Any], identity: Identity, header: ShopHeader) -> None:
    slip.line(_pair("РН ККТ", identity.registration_number))
    slip.line(_pair("ФН", identity.fn_number))
    slip.line(_pair(f"ФД {doc['number']}", f"ФП {doc['sign']}"))
    slip.line(_pair("САЙТ ФНС", header.fns_site))


def _qr_text(doc: Mapping[str, Any], identity: Identity) -> str:
    at = datetime.fromisoformat(doc["at"]).strftime("%Y%m%dT%H%M")
    kind = 2 if doc["type"] == "sellReturn" else 1
    return (
        f"t={at}&s={format_money(doc['total'])}&fn={identity.fn_number}"
        f"&i={doc['number']}&fp={doc['sign']}&n={kind}"
    )


def _when(iso: str) -> str:
    return datetime.fromisoformat(iso).strftime("%d.%m.%Y %H:%M")


def _eq(amount: int) -> str:
    return "=" + format_money(amount)


def _pair(left: str, right: str, width: int = WIDTH) -> str:
    """``left`` and ``right`` on one line, right-aligned; on two lines when they do not fit."""
    gap = width - len(left) - len(right)
    if gap >= 1:
        return left + " " * gap + right
    return left + "\n" + right.rjust(width)


class _Slip:
    """A python-escpos Dummy printer with the few moves a receipt needs."""

    def __init__(self) -> None:
        self._p = Dummy()
        self._p.hw("INIT")

    def header(self, header: ShopHeader) -> None:
        self.centered(header.name, bold=True)
        self.centered(header.address)
        self.centered(f"ИНН {header.inn}")

    def title(self, text: str) -> None:
        self._p.set(align="center", bold=True, double_height=True)
        self._p.textln(text)
        self._normal()

    def centered(self, text: str, *, bold: bool = False) -> None:
        self._p.set(align="center", bold=bold)
        self._p.textln(text)
        self._normal()

    def line(self, text: str, *, big: bool = False) -> None:
        if big:
            self._p.set(bold=True, double_height=True)
        self._p.textln(text)
        if big:
            self._normal()

    def rule(self) -> None:
        self._p.textln("-" * WIDTH)

    def qr(self, text: str) -> None:
        self._p.set(align="center")
        self._p.qr(text, native=True, size=4)
        self._normal()

    def finish(self) -> bytes:
        self._p.cut()
        return bytes(self._p.output)

    def _normal(self) -> None:
        self._p.set(align="left", bold=False, normal_textsize=True)
