"""What the POS asks of a fiscal registrar, whatever its make: the driver interface and its data.

A registrar is the law's witness of a sale: a receipt is sold only once the registrar has registered it
and given it a fiscal sign. Every document the POS sends carries a ``key`` made by the POS (the receipt's
or cash operation's id); a driver must make ``register`` with a key the registrar already holds answer the
mark it holds instead of registering twice, and ``find`` answer whether a key was registered, so a POS
that died between "sent" and "saved" can reconcile on start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Literal, Protocol

ReceiptKind = Literal["sale", "return"]
CashKind = Literal["in", "out"]
# How the fiscal receipt records a payment (FFD tags 1031 cash, 1081 electronic, 1215 prepaid, 1216
# credit, 1217 other); the data server's payment types name one of these as their ``method``.
PaymentMethod = Literal["cash", "card", "bonus", "gift", "other"]


class FiscalErrorCode(StrEnum):
    UNREACHABLE = "unreachable"  # no answer: cable, power, wrong address
    BUSY = "busy"  # another task is running; retry
    PAPER_OUT = "paper_out"
    COVER_OPEN = "cover_open"
    PRINTER_ERROR = "printer_error"
    SHIFT_NOT_OPEN = "shift_not_open"
    SHIFT_ALREADY_OPEN = "shift_already_open"
    SHIFT_EXPIRED = "shift_expired"  # open for more than 24 hours: a Z report first
    NOT_ENOUGH_CASH = "not_enough_cash"  # cash out or a cash refund above what the drawer holds
    INVALID_DOCUMENT = "invalid_document"  # sums do not add up, bad VAT, empty receipt …
    DUPLICATE_KEY = "duplicate_key"  # the key is held for a different document
    INTERNAL = "internal"


class FiscalError(Exception):
    """A registrar's refusal or failure; ``message`` says what happened and what to do, for the cashier."""

    def __init__(self, code: FiscalErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def registered_nothing(self) -> bool:
        """True when the registrar certainly did not register the document (everything but no answer)."""
        return self.code is not FiscalErrorCode.UNREACHABLE


@dataclass(frozen=True)
class FiscalItem:
    name: str
    price: int  # kopecks per unit (per kg)
    quantity: Decimal
    amount: int  # kopecks, after discounts
    vat_rate: str  # none, 0, 5, 7, 10, 20, 22, 5/105, 7/107, 10/110, 20/120, 22/122
    unit: str = "pcs"


@dataclass(frozen=True)
class FiscalPayment:
    method: PaymentMethod
    amount: int  # kopecks; cash may exceed what is due, the change is given back


@dataclass(frozen=True)
class FiscalReceipt:
    key: str
    kind: ReceiptKind
    cashier: str
    items: tuple[FiscalItem, ...]
    payments: tuple[FiscalPayment, ...]
    total: int  # kopecks: the sum of the items' amounts
    footer: tuple[str, ...] = ()  # extra lines printed under the receipt (card slip, loyalty)


@dataclass(frozen=True)
class FiscalMark:
    """The registrar's record of one document: what makes a receipt fiscal."""

    key: str
    shift_number: int
    document_number: int  # fiscal document number, across shifts (FFD 1040)
    number_in_shift: int  # receipt number within the shift (FFD 1042); 0 for non-receipts
    fiscal_sign: str  # FFD 1077
    registered_at: datetime
    total: int  # kopecks


@dataclass(frozen=True)
class ShiftTotals:
    """Counters of the registrar's current (or just closed) shift; money in kopecks."""

    shift_number: int
    sales_count: int = 0
    sales_sum: int = 0
    returns_count: int = 0
    returns_sum: int = 0
    cash_in: int = 0
    cash_out: int = 0
    cash_in_drawer: int = 0
    by_method: dict[str, tuple[int, int]] = field(default_factory=dict)  # method → (sales, returns)


@dataclass(frozen=True)
class ShiftReport:
    """A printed X report (``mark`` is None) or a Z report that closed the shift."""

    totals: ShiftTotals
    mark: FiscalMark | None


@dataclass(frozen=True)
class RegistrarStatus:
    shift_open: bool
    shift_number: int  # the open shift, or the last closed one (0 before the first)
    shift_opened_at: datetime | None
    shift_expired: bool  # open for more than 24 hours
    last_document_number: int
    paper_out: bool
    cover_open: bool
    cash_in_drawer: int
    model: str = ""
    serial: str = ""


class FiscalRegistrar(Protocol):
    """A registrar driver. Every method raises :class:`FiscalError` on a refusal or failure."""

    def status(self) -> RegistrarStatus: ...

    def open_shift(self, cashier: str) -> FiscalMark: ...

    def register(self, receipt: FiscalReceipt) -> FiscalMark: ...

    def cash(self, key: str, kind: CashKind, amount: int, cashier: str) -> FiscalMark: ...

    def find(self, key: str) -> FiscalMark | None:
        """The mark of the document registered under ``key``, or None when there is none."""
        ...

    def x_report(self, cashier: str) -> ShiftReport: ...

    def close_shift(self, cashier: str) -> ShiftReport: ...

    def open_drawer(self) -> None:
        """Kick the cash drawer open (it hangs on the registrar's printer)."""
        ...

    def print_text(self, lines: list[str]) -> None:
        """A non-fiscal slip (a card terminal's slip, a report for the cashier)."""
        ...

    def close(self) -> None: ...
