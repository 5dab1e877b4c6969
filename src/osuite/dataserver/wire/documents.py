"""Documents on the wire: what a terminal hands in through the sync intake, and what the data server
answers about them (receipts, shifts, cash operations, Z reports, daily sales).

Money is an ``int`` of kopecks and a JSON float is refused for it; a quantity is a decimal with at most
three places, sent as a string ("1.500") or a number; a moment carries its UTC offset. The ``payload`` of
a sync document is one of the ``…Document`` models; its identity is the sync envelope's ``id``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, Field, PlainSerializer, StrictInt

SHIFT = "shift"
RECEIPT = "receipt"
CASH_OPERATION = "cash_operation"
Z_REPORT = "z_report"

MAX_MONEY = 10**13  # a hundred billion rubles: more is a typo, and it would overflow nothing downstream
MAX_NUMBER = 2**31 - 1


EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)


def _utc(moment: datetime) -> datetime:
    """The moment in UTC, within years any timezone can convert (a terminal whose clock battery died
    says 1970, which is kept; the year 9999 is a bug, and would overflow a business day)."""
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:
        utc = LATEST if moment.year > 2000 else EARLIEST - timedelta(days=1)
    if not EARLIEST <= utc < LATEST:
        raise ValueError(f"{moment.isoformat()} is not between the years 1900 and 2999")
    return utc


def _quantity_text(value: Decimal) -> str:
    return f"{value:.3f}"


Money = Annotated[StrictInt, Field(ge=0, le=MAX_MONEY, description="Kopecks (an integer, never a float)")]
PositiveMoney = Annotated[
    StrictInt, Field(gt=0, le=MAX_MONEY, description="Kopecks (an integer, never a float)")
]
Count = Annotated[StrictInt, Field(ge=0, le=MAX_NUMBER)]
Number = Annotated[StrictInt, Field(ge=1, le=MAX_NUMBER)]
Quantity = Annotated[
    Decimal,
    # At most 3 places and at most 99999.999 are rules (documents_rules), not constraints here: a
    # field constraint costs a receipt of 5 lines more than all its money rules together.
    Field(
        gt=0,
        description="Units or kg, at most 3 decimal places, at most 99999.999; "
        'written as a string such as "1.500"',
    ),
    PlainSerializer(_quantity_text, return_type=str, when_used="json"),
]
Moment = Annotated[
    AwareDatetime,
    AfterValidator(_utc),
    Field(description="ISO 8601 with a UTC offset, e.g. 2025-03-01T12:30:00+03:00; answered in UTC"),
]
DocId = Annotated[str, Field(min_length=1, max_length=36)]
Code = Annotated[str, Field(min_length=1, max_length=32)]
ReceiptKindName = Literal["sale", "return"]
CashKind = Literal["in", "out"]


# --- documents handed in through POST /api/v1/sync/documents ------------------------------------------


class ShiftDocument(BaseModel):
    """A shift opened at a terminal (kind ``shift``). Its Z report closes it."""

    id: DocId | None = Field(default=None, description="Optional: the sync envelope's id is the identity")
    store_id: DocId
    terminal_id: DocId
    number: Number
    cashier_id: DocId | None = None
    opened_at: Moment


class LineDiscount(BaseModel):
    source: Literal["promotion", "manual", "loyalty"]
    promotion_id: DocId | None = None
    amount: Money


class ReceiptLine(BaseModel):
    line_no: Number
    product_id: DocId | None = None
    article: str | None = Field(default=None, max_length=64)
    name: str = Field(min_length=1, max_length=300)
    barcode: str | None = Field(default=None, max_length=64)
    quantity: Quantity
    price: Money = Field(description="Kopecks per unit (per kg for weighted goods)")
    discount: Money = 0
    amount: Money = Field(description="line_amount(price, quantity) - discount, in kopecks")
    vat_rate: str = Field(min_length=1, max_length=8, description="none, 0, 5, 7, 10, 20, 10/110, 20/120 …")
    discounts: list[LineDiscount] | None = Field(
        default=None, max_length=50, description="Where the discount came from; adds up to `discount`"
    )


class Payment(BaseModel):
    payment_type: Code
    amount: PositiveMoney
    extra: dict[str, Any] | None = Field(
        default=None, description="Free details: card rrn, cash tendered and change …"
    )


class FiscalMark(BaseModel):
    """The fiscal registrar's record of a document: where it stands in the registrar's numbering and
    the fiscal sign that proves it was registered."""

    shift_number: Number = Field(description="The registrar's shift number")
    document_number: Number = Field(description="The fiscal document number, across shifts")
    number_in_shift: Count = Field(description="The receipt's number within the registrar's shift")
    fiscal_sign: str = Field(min_length=1, max_length=32, description="ФП / ФПД as the registrar printed it")
    registered_at: Moment


class Approval(BaseModel):
    """A supervisor allowing a cashier's restricted action, by PIN at the till."""

    action: str = Field(
        min_length=1,
        max_length=64,
        description="What was allowed: void_line, discount, return_without_receipt, cancel_receipt …",
    )
    permission: str = Field(min_length=1, max_length=64, description="The permission the supervisor has")
    approved_by: DocId = Field(description="The supervisor's user id")
    at: Moment
    line_no: Number | None = Field(default=None, description="The line it concerned, if one")


class ReceiptDocument(BaseModel):
    """A closed receipt (kind ``receipt``): a sale, or a return of goods with positive quantities."""

    id: DocId | None = Field(default=None, description="Optional: the sync envelope's id is the identity")
    store_id: DocId
    terminal_id: DocId
    shift_id: DocId
    number: Number
    kind: ReceiptKindName
    original_receipt_id: DocId | None = Field(
        default=None, description="For a return: the sale it returns (null for a return without a receipt)"
    )
    cashier_id: DocId | None = None
    opened_at: Moment
    closed_at: Moment
    lines: list[ReceiptLine] = Field(min_length=1, max_length=1000)
    payments: list[Payment] = Field(default_factory=list, max_length=50)
    discount_total: Money = 0
    total: Money
    fiscal: FiscalMark | None = Field(
        default=None, description="How the fiscal registrar recorded it; null if it was not registered"
    )
    approvals: list[Approval] = Field(
        default_factory=list, max_length=100, description="Restricted actions a supervisor allowed"
    )


class CashOperationDocument(BaseModel):
    """Cash put into (``in``) or taken out of (``out``) a terminal's drawer (kind ``cash_operation``)."""

    id: DocId | None = Field(default=None, description="Optional: the sync envelope's id is the identity")
    store_id: DocId
    terminal_id: DocId
    shift_id: DocId
    kind: CashKind
    amount: PositiveMoney
    cashier_id: DocId | None = None
    reason: str = Field(default="", max_length=400)
    at: Moment
    fiscal: FiscalMark | None = Field(default=None, description="How the fiscal registrar recorded it")
    approved_by: DocId | None = Field(default=None, description="The supervisor who allowed it, if one did")


class PaymentTypeTotals(BaseModel):
    payment_type: Code
    sales: Money = 0
    returns: Money = 0


class ZTotals(BaseModel):
    sales_count: Count
    sales_sum: Money
    returns_count: Count
    returns_sum: Money
    cash_in: Money = 0
    cash_out: Money = 0
    by_payment_type: list[PaymentTypeTotals] = Field(
        default_factory=list, max_length=50, description="When listed, adds up to sales_sum and returns_sum"
    )


class ZReportDocument(BaseModel):
    """The Z report that closes a shift (kind ``z_report``); it may arrive before the shift does."""

    id: DocId | None = Field(default=None, description="Optional: the sync envelope's id is the identity")
    store_id: DocId
    terminal_id: DocId
    shift_id: DocId
    number: Number
    closed_at: Moment
    totals: ZTotals


# --- answers ----------------------------------------------------------------------------------------------


class ReceiptSummary(BaseModel):
    id: str
    store_id: str
    terminal_id: str
    shift_id: str
    number: int
    kind: ReceiptKindName
    original_receipt_id: str | None
    cashier_id: str | None
    opened_at: datetime
    closed_at: datetime
    business_day: date = Field(description="The date of closed_at in the store's timezone")
    total: int = Field(description="Kopecks")
    discount_total: int = Field(description="Kopecks")


class ReceiptRead(ReceiptDocument):
    """A receipt as it was handed in, with its business day."""

    id: str
    business_day: date = Field(description="The date of closed_at in the store's timezone")


class ReceiptsPage(BaseModel):
    items: list[ReceiptSummary]
    next: str | None = Field(description="Send as `after` for the next page; null on the last page")


class ShiftRead(BaseModel):
    id: str
    store_id: str
    terminal_id: str
    number: int
    cashier_id: str | None
    opened_at: datetime
    closed_at: datetime | None = Field(description="Set by the shift's Z report; null while it is open")
    business_day: date = Field(description="The date of opened_at in the store's timezone")


class ShiftsPage(BaseModel):
    items: list[ShiftRead]
    next: str | None = Field(description="Send as `after` for the next page; null on the last page")


class CashOperationRead(BaseModel):
    id: str
    store_id: str
    terminal_id: str
    shift_id: str
    kind: CashKind
    amount: int = Field(description="Kopecks")
    cashier_id: str | None
    reason: str
    at: datetime
    business_day: date
    fiscal: FiscalMark | None = None
    approved_by: str | None = None


class CashOperationsPage(BaseModel):
    items: list[CashOperationRead]
    next: str | None = Field(description="Send as `after` for the next page; null on the last page")


class ZReportRead(BaseModel):
    id: str
    store_id: str
    terminal_id: str
    shift_id: str
    number: int
    closed_at: datetime
    business_day: date = Field(description="The date of closed_at in the store's timezone")
    totals: ZTotals


class ZReportsPage(BaseModel):
    items: list[ZReportRead]
    next: str | None = Field(description="Send as `after` for the next page; null on the last page")


class ShiftDetail(ShiftRead):
    cash_operations: list[CashOperationRead]
    z_report: ZReportRead | None = Field(description="The Z report that closed the shift, once it arrived")


class DailySalesRow(BaseModel):
    """One store's business day. Sums are kopecks; returns count as positive amounts."""

    business_day: date
    store_id: str
    receipts: int = Field(description="Sales and returns")
    sales_count: int
    returns_count: int
    sales: int = Field(description="Sum of sale totals")
    returns: int = Field(description="Sum of return totals")
    net: int = Field(description="sales - returns")
    discounts: int = Field(description="Discounts given on sales less those taken back by returns")
    payments: dict[str, int] = Field(description="Per payment type: paid on sales less paid back on returns")


class DailySalesTotals(BaseModel):
    """The rows added up."""

    receipts: int
    sales_count: int
    returns_count: int
    sales: int
    returns: int
    net: int
    discounts: int
    payments: dict[str, int]


class DailySales(BaseModel):
    rows: list[DailySalesRow]
    totals: DailySalesTotals
