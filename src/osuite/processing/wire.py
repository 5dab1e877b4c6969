"""The processing center's HTTP API on the wire: what a POS, a back office and a subordinate send and
get back. Points are ``int`` minor units like money (100 points are worth 1.00); quantities are
``Decimal`` with up to 3 places. Refusals are problem details whose ``type`` names the refusal
(``card_blocked``, ``insufficient_balance``, ``conflicting_retry`` …), with the English ``detail`` and
the message's ``template`` and ``params`` for a screen that speaks another language.

Every call of a POS that changes an account carries a ``transaction_id`` made at the POS (a UUIDv7):
the same id with the same contents gets the stored answer again and changes nothing; the same id with
other contents is refused (409, ``conflicting_retry``)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

MAX_POINTS = 100_000_000_000_000

AccountType = Literal["bonus", "discount", "gift"]
CardStatus = Literal["active", "blocked", "lost"]

Id = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,35}$")]
TransactionId = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"),
    Field(description="Made at the POS for this call (a UUIDv7); a retry repeats it"),
]
ReceiptId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")]
CardNumber = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$"),
    Field(description="As printed on the card or read by the scanner"),
]
Points = Annotated[int, Field(ge=0, le=MAX_POINTS)]
PositivePoints = Annotated[int, Field(gt=0, le=MAX_POINTS)]
Quantity = Annotated[Decimal, Field(gt=0, le=Decimal("99999.999"), decimal_places=3)]
Percent = Annotated[Decimal, Field(ge=0, le=100, decimal_places=2)]
Text = Annotated[str, StringConstraints(max_length=200)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        """PostgreSQL cannot store a NUL in text: refuse it here rather than fail there."""
        if _has_nul(value):
            raise ValueError("must not contain NUL characters")
        return value


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, BaseModel):
        return _has_nul(value.model_dump())
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


# --- the POS's transactions -----------------------------------------------------------------------


class ReceiptLineIn(_Input):
    line_no: int = Field(ge=1, le=100_000)
    product_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    amount: Points = Field(description="What the line costs after every discount, in kopecks")
    category_path: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = Field(
        default=[], max_length=20, description="The product's category, then its parent, … up to the top"
    )
    quantity: Quantity = Decimal(1)


class PaymentIn(_Input):
    method: Annotated[str, StringConstraints(min_length=1, max_length=32)] = Field(
        description="cash, card, bonus (points), gift (a gift card) or the store's own payment type"
    )
    amount: Points = Field(description="Net of change")


class Balance(BaseModel):
    active: int = Field(description="Points that may be spent, before holds")
    pending: int = Field(description="Points earned that are not active yet")
    held: int = Field(description="Points reserved by open holds")
    available: int = Field(description="active − held")
    spendable: int | None = Field(
        default=None, description="What this center may spend of it now (a subordinate: within its allowance)"
    )


class LookupRequest(_Input):
    card: CardNumber
    lines: list[ReceiptLineIn] = Field(default=[], max_length=1000, description="The open receipt, if any")
    total: Points | None = Field(
        default=None, description="A gift card: the receipt's total to pay (the lines' sum when left out)"
    )


class CustomerBrief(BaseModel):
    id: str
    name: str
    phone: str | None = None


class LookupAnswer(BaseModel):
    card: str
    status: CardStatus
    account_id: str
    account_type: AccountType
    program_id: str
    customer: CustomerBrief | None
    balance: Balance
    spendable: int = Field(description="What points can pay of this receipt now: min(available, cap)")
    cap: int = Field(description="The most points may pay of this receipt")
    discount_percent: Decimal = Field(description="The customer's discount level")
    turnover: int = Field(description="The customer's purchases so far, which choose the level")


class HoldRequest(_Input):
    transaction_id: TransactionId
    card: CardNumber
    receipt_id: ReceiptId
    amount: PositivePoints
    lines: list[ReceiptLineIn] | None = Field(
        default=None, max_length=1000, description="The receipt, to check the share points may pay"
    )
    minutes: int | None = Field(default=None, ge=1, le=7 * 24 * 60, description="How long the hold lasts")


class HoldAnswer(BaseModel):
    transaction_id: str
    hold_id: str
    amount: int
    expires_at: datetime
    balance: Balance


class CommitRequest(_Input):
    transaction_id: TransactionId
    card: CardNumber
    hold_id: Id
    amount: PositivePoints = Field(description="Points spent: at most what the hold reserved")
    receipt_id: ReceiptId | None = None


class CommitAnswer(BaseModel):
    transaction_id: str
    redemption_id: str
    amount: int
    balance: Balance


class CancelRequest(_Input):
    transaction_id: TransactionId
    card: CardNumber
    hold_id: Id


class CancelAnswer(BaseModel):
    transaction_id: str
    release_id: str
    balance: Balance


class AccrueRequest(_Input):
    transaction_id: TransactionId
    card: CardNumber
    receipt_id: ReceiptId
    lines: list[ReceiptLineIn] = Field(min_length=1, max_length=1000)
    payments: list[PaymentIn] = Field(max_length=50, description="Adding up to the lines' total")


class AccrualLine(BaseModel):
    line_no: int
    base: int = Field(description="The part of the line paid by means that earn")
    percent: Decimal
    points: int


class AccrueAnswer(BaseModel):
    transaction_id: str
    receipt_id: str
    accrual_id: str | None
    points: int
    lines: list[AccrualLine]
    activates_at: datetime | None
    expires_at: datetime | None
    turnover: int
    balance: Balance


class ReturnLineIn(_Input):
    line_no: int = Field(ge=1, le=100_000)
    quantity: Quantity


class ReturnRequest(_Input):
    transaction_id: TransactionId
    card: CardNumber
    receipt_id: ReceiptId = Field(description="The sale the goods come back from")
    lines: list[ReturnLineIn] = Field(min_length=1, max_length=1000)


class ReturnLine(BaseModel):
    line_no: int
    reverse: int = Field(description="Points of the accrual taken back")
    give_back: int = Field(description="Points that paid for it, given back")


class ReturnAnswer(BaseModel):
    transaction_id: str
    receipt_id: str
    reversed: int = Field(description="Points taken back")
    unrecovered: int = Field(description="Points due back that were spent or expired already")
    given_back: int
    lines: list[ReturnLine]
    turnover: int
    balance: Balance


# --- customers, cards, accounts -------------------------------------------------------------------


class CustomerUpdate(_Input):
    name: Name
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)] | None = None
    email: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None


class CustomerCreate(CustomerUpdate):
    id: Id | None = Field(default=None, description="Leave out to have one made; give your own to keep it")


class CustomerRead(BaseModel):
    id: str
    name: str
    phone: str | None
    email: str | None
    created_at: datetime
    updated_at: datetime


class CardIssue(_Input):
    number: CardNumber
    customer_id: Id | None = Field(
        default=None, description="Whose card; none for a gift card sold over the counter"
    )
    account_id: Id | None = Field(
        default=None, description="Another card on an existing account (a family card); else a new account"
    )
    type: AccountType = "bonus"
    program_id: Id = "default"
    nominal: PositivePoints | None = Field(default=None, description="A gift card's nominal, loaded at once")


class CardRead(BaseModel):
    number: str
    account_id: str
    status: CardStatus
    replaced_by: str | None = None


class CardLost(_Input):
    replacement: CardNumber | None = Field(default=None, description="A new card on the same account")


class CardAction(_Input):
    actor: Text = Field(default="", description="Who does it (defaults to the API key's name)")


class AccountRead(BaseModel):
    id: str
    customer_id: str | None
    type: AccountType
    program_id: str
    nominal: int | None
    turnover: int
    cards: list[CardRead]
    balance: Balance


class AdjustmentCreate(_Input):
    amount: int = Field(ge=-MAX_POINTS, le=MAX_POINTS, description="Points to add (> 0) or take (< 0)")
    reason: Text = Field(default="", description="Why: required")
    actor: Text = Field(default="", description="Who: defaults to the API key's name")
    transaction_id: TransactionId | None = Field(default=None, description="Give one to make retries safe")
    expires_at: datetime | None = Field(
        default=None, description="Points added expire then (never if left out)"
    )


class AdjustmentAnswer(BaseModel):
    transaction_id: str
    movement_id: str
    amount: int
    balance: Balance


class MovementRead(BaseModel):
    id: str
    account_id: str
    kind: str
    amount: int
    occurred_at: datetime
    origin: str
    activates_at: datetime | None = None
    expires_at: datetime | None = None
    refers_to: str | None = None
    receipt_id: str | None = None
    transaction_id: str | None = None
    holder: str | None = None
    reason: str | None = None
    actor: str | None = None


class JournalRead(BaseModel):
    account_id: str
    balance: Balance
    movements: list[MovementRead] = Field(description="Oldest first; expiries are derived")


class CustomerJournal(BaseModel):
    customer: CustomerRead
    accounts: list[JournalRead]


# --- programs -------------------------------------------------------------------------------------


class LevelIn(_Input):
    turnover: Points
    percent: Percent


class ProgramSettings(_Input):
    accrual_percent: Percent = Decimal(0)
    category_percents: dict[str, Percent] = {}
    product_percents: dict[str, Percent] = {}
    excluded_products: list[str] = []
    excluded_categories: list[str] = []
    excluded_payment_methods: list[str] = []
    gift_card_earns: bool = False
    activation_days: int = Field(default=0, ge=0, le=36_500)
    expiry_days: int | None = Field(default=None, ge=1, le=36_500)
    points_share: Percent = Decimal(100)
    levels: list[LevelIn] = []
    gift_valid_days: int | None = Field(default=None, ge=1, le=36_500)


class ProgramUpdate(ProgramSettings):
    name: Name


class ProgramCreate(ProgramUpdate):
    id: Id | None = None


class ProgramRead(BaseModel):
    id: str
    name: str
    version: int
    settings: dict[str, Any]
    updated_at: datetime


# --- import ---------------------------------------------------------------------------------------

ImportKind = Literal["customers", "cards"]


class ImportRejection(BaseModel):
    line: int = Field(description="Line number in the file; the header is line 1")
    reason: str
    row: dict[str, str] = Field(description="The row as read, by column")


class ImportReport(BaseModel):
    """Valid rows are applied even when others are rejected: fix the rejected ones and import again."""

    accepted: int = Field(description="Rows applied (or already as the file says)")
    rejected: list[ImportRejection]


# --- keys, subordinates, allowances ---------------------------------------------------------------


class KeyCreate(_Input):
    name: Name
    scope: Literal["manage", "read", "pos"] = "manage"


class KeyCreated(BaseModel):
    id: str
    name: str
    scopes: list[str]
    token: str = Field(description="Shown once; stored only as a hash")


class EnrollRequest(_Input):
    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=4, max_length=64)]
    name: Text = ""
    role: Literal["root", "subordinate"] = Field(description="What the enrolling center says it is")
    center_id: Id = Field(description="The enrolling center's own id: the origin of its movements")


class Enrolled(BaseModel):
    center_id: str
    root_id: str
    token: str


class AllowanceRequest(_Input):
    transaction_id: TransactionId
    card: CardNumber | None = None
    account_id: Id | None = None
    amount: PositivePoints
    hours: int | None = Field(default=None, ge=1, le=24 * 31)


class AllowanceAnswer(BaseModel):
    transaction_id: str
    account_id: str
    grant_id: str | None = Field(description="None when nothing could be lent")
    amount: int = Field(description="What was lent: perhaps less than asked, perhaps 0")
    expires_at: datetime | None
    movement: dict[str, Any] | None = Field(
        description="The grant as a movement, for the subordinate's journal"
    )
