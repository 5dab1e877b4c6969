"""The POS's JSON API on the wire: what the cashier's screen (and tests, and other programs) send and
get back. Money is an ``int`` of kopecks; quantities are decimal strings such as "1.500"."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

Pin = Field(
    default=None,
    pattern=r"^[0-9]{4,8}$",
    description="A supervisor's PIN, when the cashier lacks the permission",
)
Kopecks = Field(gt=0, le=10**13, description="Kopecks (an integer)")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginIn(_In):
    pin: str = Field(pattern=r"^[0-9]{4,8}$", description="The cashier's PIN")


class CashierRead(BaseModel):
    id: str
    name: str
    permissions: list[str]


class LoggedIn(BaseModel):
    token: str = Field(description="Send as `Authorization: Bearer …` until logging out")
    cashier: CashierRead


class Approvable(_In):
    supervisor_pin: str | None = Pin


class ItemIn(_In):
    code: str | None = Field(default=None, min_length=1, max_length=64, description="What the scanner read")
    article: str | None = Field(default=None, min_length=1, max_length=64)
    product_id: str | None = Field(default=None, min_length=1, max_length=36)
    quantity: Decimal | None = Field(
        default=None, gt=0, le=Decimal("99999.999"), description="Pieces, or kg for weighted goods"
    )
    weigh: bool = Field(default=False, description="Read the weight from the connected scale")
    age_confirmed: bool = Field(default=False, description="The cashier checked the buyer's age")


class QuantityIn(Approvable):
    quantity: Decimal = Field(gt=0, le=Decimal("99999.999"))


class DiscountIn(Approvable):
    percent: Decimal | None = Field(default=None, gt=0, le=100)
    amount: StrictInt | None = Field(default=None, gt=0, le=10**13)
    line_no: int | None = Field(default=None, ge=1, description="A line; leave out for the whole receipt")


class PaymentIn(_In):
    payment_type: str = Field(min_length=1, max_length=32, description="A payment type's code, e.g. CASH")
    amount: StrictInt | None = Field(
        default=None,
        gt=0,
        le=10**13,
        description="Kopecks; cash may exceed what is due. Leave out: all that is due",
    )


class CardIn(_In):
    number: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^\s*[A-Za-z0-9][A-Za-z0-9-]*\s*$",
        description="The loyalty card as scanned or typed",
    )


class CashIn(Approvable):
    kind: Literal["in", "out"]
    amount: StrictInt = Kopecks
    reason: str = Field(default="", max_length=400)


class ReturnIn(Approvable):
    original_receipt_id: str | None = Field(
        default=None,
        max_length=36,
        description="The sale being returned; leave out for a return without a receipt",
    )


class ReturnLineIn(_In):
    original_line_no: int = Field(ge=1)
    quantity: Decimal = Field(gt=0, le=Decimal("99999.999"))


class LineRead(BaseModel):
    line_no: int
    product_id: str | None
    article: str | None
    name: str
    barcode: str | None
    unit: str
    weighted: bool
    vat_rate: str
    quantity: str
    price: int
    discount: int
    amount: int
    discounts: list[dict[str, Any]]
    manual_discount: dict[str, Any] | None
    age_limit: int
    original_line_no: int | None
    voided: bool


class PaymentRead(BaseModel):
    id: str
    payment_type: str
    method: str
    amount: int = Field(description="What it pays of the receipt")
    tendered: int = Field(description="What was handed over (cash: with the change)")
    change: int
    status: str = Field(description="authorizing, approved, declined or cancelled")
    rrn: str | None
    card_mask: str | None
    message: str | None


class ReceiptRead(BaseModel):
    id: str
    kind: Literal["sale", "return"]
    status: str = Field(description="open, fiscalizing, held, closed or cancelled")
    number: int | None
    shift_id: str | None
    original_receipt_id: str | None
    cashier_id: str | None
    opened_at: str
    closed_at: str | None
    lines: list[LineRead]
    gross: int
    discount: int
    total: int
    paid: int
    due: int
    change: int
    payments: list[PaymentRead]
    manual_discount: dict[str, Any] | None
    age_confirmed: bool
    approvals: list[dict[str, Any]]
    fiscal: dict[str, Any] | None
    last_error: str | None
    card: str | None = Field(default=None, description="The customer's loyalty card")
    loyalty: dict[str, Any] | None = Field(
        default=None,
        description=(
            "What the processing center said: `online` (false: it did not answer), `customer`,"
            " `available` and `spendable` points, `discount_percent`, and once closing, `settlement`"
            " (`points` earned and `available` after, or `queued` when the center was silent)"
        ),
    )
    added_line_no: int | None = None
    returnable: dict[str, str] | None = Field(
        default=None, description="A closed sale: quantity still returnable per line number"
    )


class ProductRead(BaseModel):
    id: str
    article: str
    name: str
    unit: str
    weighted: bool
    vat_rate: str
    age_limit: int
    active: bool
    price: int | None


class PaymentTypeRead(BaseModel):
    code: str
    name: str
    method: str


class StatusRead(BaseModel):
    terminal: dict[str, Any] | None
    shift: dict[str, Any] | None
    link: dict[str, Any] | None
    receipt: ReceiptRead | None
    held: int
