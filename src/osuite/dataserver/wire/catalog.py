"""The catalog, prices, people and terminal settings on the wire.

``…Create`` and ``…Update`` (full replacement, PUT) and ``…Patch`` (partial, PATCH) are what the Manager and
external systems send; ``…Read`` is what they get back and, as JSON, the payload terminals receive
through sync. Input models are strict (closed sets are ``Literal``); read models take any string where a
set may grow in a later version (a new VAT rate), so an older terminal still reads a newer server.
Money is an ``int`` of kopecks; quantities are ``Decimal``.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from osuite.core.barcodes import BarcodeTemplate

Unit = Literal["pcs", "kg", "l"]
# Russian VAT rates as the fiscal data format names them; 5 and 7 (and their calculated 5/105, 7/107)
# are the simplified-tax rates from 2025, 22 and 22/122 the general rate from 2026.
VatRate = Literal["none", "0", "5", "7", "10", "20", "22", "5/105", "7/107", "10/110", "20/120", "22/122"]
PaymentMethod = Literal["cash", "card", "bonus", "gift", "other"]
Permission = Literal[
    "sell",
    "return",
    "return_without_receipt",
    "void_line",
    "discount",
    "cancel_receipt",
    "cash_in",
    "cash_out",
    "open_drawer",
    "open_shift",
    "close_shift",
    "x_report",
    "manage_catalog",
    "manage_users",
    "view_reports",
]
ImportKind = Literal["products", "barcodes", "prices"]

# Ids travel in URL paths and in change-log keys (``store:product``), so they are URL-safe and colon-free.
Id = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,35}$")]
Code = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ProductName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Article = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Login = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\S{1,64}$")]
Pin = Annotated[str, StringConstraints(pattern=r"^[0-9]{4,8}$")]
Password = Annotated[str, StringConstraints(min_length=8, max_length=200)]
Multiplier = Annotated[Decimal, Field(gt=0, le=Decimal("99999.999"), decimal_places=3)]
Kopecks = Annotated[int, Field(ge=0, le=100_000_000_000)]
Sort = Annotated[int, Field(ge=-1_000_000, le=1_000_000)]
AgeLimit = Annotated[int, Field(ge=0, le=21)]

_ID_HELP = "Leave out to have one made (a UUIDv7); give your own, e.g. an external system's, to keep it"
_UPDATED = "When it last changed, UTC"

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list; pass ``next`` as ``after`` to get the following one."""

    items: list[T]
    next: str | None = Field(description="The cursor for the next page, or null when this is the last")


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


# --- categories -------------------------------------------------------------------------------------


class CategoryUpdate(_Input):
    name: Name = Field(description="As shown to staff, e.g. 'Сыры'")
    parent_id: Id | None = Field(default=None, description="The category it sits in; null at the top")
    sort: Sort = Field(default=0, description="Order among its siblings, smaller first")


class CategoryCreate(CategoryUpdate):
    id: Id | None = Field(default=None, description=_ID_HELP)


class CategoryPatch(_Input):
    name: Name | None = None
    parent_id: Id | None = Field(default=None, description="null moves the category to the top")
    sort: Sort | None = None


class CategoryRead(BaseModel):
    id: str
    name: str
    parent_id: str | None
    sort: int
    updated_at: datetime = Field(description=_UPDATED)


# --- products ---------------------------------------------------------------------------------------


class ProductUpdate(_Input):
    article: Article = Field(description="The shop's own product code, unique")
    name: ProductName = Field(description="As printed on the receipt")
    unit: Unit = Field(default="pcs", description="pcs, kg or l")
    weighted: bool = Field(default=False, description="Sold by weight from scales; needs unit kg or l")
    vat_rate: VatRate = Field(description="VAT rate as the fiscal registrar takes it; 'none' without VAT")
    category_id: Id | None = Field(default=None, description="Its category; null for none")
    age_limit: AgeLimit = Field(default=0, description="Minimum buyer's age (18 for alcohol); 0 for none")
    active: bool = Field(default=True, description="Inactive products cannot be sold")


class ProductCreate(ProductUpdate):
    id: Id | None = Field(default=None, description=_ID_HELP)


class ProductPatch(_Input):
    article: Article | None = None
    name: ProductName | None = None
    unit: Unit | None = None
    weighted: bool | None = None
    vat_rate: VatRate | None = None
    category_id: Id | None = Field(default=None, description="null takes the product out of its category")
    age_limit: AgeLimit | None = None
    active: bool | None = None


class ProductRead(BaseModel):
    id: str
    article: str
    name: str
    unit: str = Field(description="pcs, kg or l")
    weighted: bool
    vat_rate: str = Field(description="none, 0, 5, 7, 10, 20, 22, 5/105, 7/107, 10/110, 20/120 or 22/122")
    category_id: str | None
    age_limit: int
    active: bool
    updated_at: datetime = Field(description=_UPDATED)


# --- barcodes ---------------------------------------------------------------------------------------


class BarcodeUpdate(_Input):
    product_id: Id = Field(description="The product this code sells")
    multiplier: Multiplier = Field(
        default=Decimal(1), description="Units sold per scan: 6 for a six-pack's code; up to 3 decimals"
    )


class BarcodeCreate(BarcodeUpdate):
    code: str = Field(
        min_length=1,
        max_length=64,
        description="EAN-13, EAN-8 or UPC-A with a valid check digit, or an internal code (letters, digits)",
    )


class BarcodeRead(BaseModel):
    code: str
    product_id: str
    multiplier: Decimal = Field(description="Units sold per scan, as a decimal string")
    updated_at: datetime = Field(description=_UPDATED)


# --- prices -----------------------------------------------------------------------------------------


class PriceUpdate(_Input):
    price: Kopecks = Field(description="Price in kopecks per unit (per kg or l for weighted goods)")


class PriceRead(BaseModel):
    store_id: str
    product_id: str
    price: int = Field(description="Kopecks per unit")
    updated_at: datetime = Field(description=_UPDATED)


# --- barcode templates ------------------------------------------------------------------------------


class BarcodeTemplateUpdate(_Input):
    template: BarcodeTemplate = Field(description="Where the scales put the item code and the value")


class BarcodeTemplateCreate(BarcodeTemplateUpdate):
    id: Id | None = Field(default=None, description=_ID_HELP)


class BarcodeTemplateRead(BaseModel):
    id: str
    template: BarcodeTemplate
    updated_at: datetime = Field(description=_UPDATED)


# --- payment types ----------------------------------------------------------------------------------


class PaymentTypeUpdate(_Input):
    name: Name = Field(description="As shown on the till's pay screen, e.g. 'Наличные'")
    method: PaymentMethod = Field(description="How the fiscal receipt records it")
    active: bool = True
    sort: Sort = Field(default=0, description="Order on the pay screen, smaller first")


class PaymentTypeCreate(PaymentTypeUpdate):
    code: Code = Field(description="Short unique code, e.g. CASH; documents refer to it")


class PaymentTypePatch(_Input):
    name: Name | None = None
    method: PaymentMethod | None = None
    active: bool | None = None
    sort: Sort | None = None


class PaymentTypeRead(BaseModel):
    code: str
    name: str
    method: str = Field(description="cash, card, bonus, gift or other")
    active: bool
    sort: int
    updated_at: datetime = Field(description=_UPDATED)


# --- roles and users --------------------------------------------------------------------------------


class RoleUpdate(_Input):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] = Field(
        description="Unique, e.g. 'Кассир'"
    )
    permissions: list[Permission] = Field(default_factory=list, description="What people with it may do")


class RoleCreate(RoleUpdate):
    id: Id | None = Field(default=None, description=_ID_HELP)


class RolePatch(_Input):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] | None = None
    permissions: list[Permission] | None = None


class RoleRead(BaseModel):
    id: str
    name: str
    permissions: list[str]
    updated_at: datetime = Field(description=_UPDATED)


class UserUpdate(_Input):
    login: Login = Field(description="Unique, no spaces")
    name: Name = Field(description="Full name as printed on receipts, e.g. 'Иванова А.'")
    roles: list[Id] = Field(default_factory=list, description="Ids of existing roles")
    active: bool = True
    pin: Pin | None = Field(
        default=None, description="4 to 8 digits for the till; left out keeps the current"
    )
    password: Password | None = Field(
        default=None, description="At least 8 characters; left out keeps the current one"
    )
    remove_pin: bool = Field(default=False, description="Take the PIN away (the password must remain)")
    remove_password: bool = Field(default=False, description="Take the password away (the PIN must remain)")


class UserCreate(_Input):
    id: Id | None = Field(default=None, description=_ID_HELP)
    login: Login = Field(description="Unique, no spaces")
    name: Name = Field(description="Full name as printed on receipts, e.g. 'Иванова А.'")
    roles: list[Id] = Field(default_factory=list, description="Ids of existing roles")
    active: bool = True
    pin: Pin | None = Field(default=None, description="4 to 8 digits, to log in at the till")
    password: Password | None = Field(default=None, description="At least 8 characters, for the Manager")


class UserPatch(_Input):
    login: Login | None = None
    name: Name | None = None
    roles: list[Id] | None = None
    active: bool | None = None
    pin: Pin | None = None
    password: Password | None = None
    remove_pin: bool = False
    remove_password: bool = False


class UserRead(BaseModel):
    """A person as the API shows them: never the PIN or password, not even hashed."""

    id: str
    login: str
    name: str
    roles: list[str]
    active: bool
    has_pin: bool
    has_password: bool
    updated_at: datetime = Field(description=_UPDATED)


class Credentials(_Input):
    """A person's login and password, checked for a program where people sign in (the Manager)."""

    login: Login
    password: str = Field(min_length=1, max_length=200)


class SignedIn(BaseModel):
    """Who the credentials belong to and everything their roles allow."""

    user: UserRead
    permissions: list[str] = Field(description="Every permission of the user's roles, in catalogue order")


class UserReplica(UserRead):
    """A person as terminals receive them through sync: with the hashes, so a PIN is checked offline."""

    pin_hash: str | None
    password_hash: str | None


class PermissionRead(BaseModel):
    name: str


# --- terminal settings ------------------------------------------------------------------------------


class TerminalSettingsUpdate(_Input):
    values: dict[str, Any] = Field(description="Settings by name; the terminal program defines them")


class TerminalSettingsRead(BaseModel):
    scope: str = Field(description="'store:<id>' for a store's terminals, 'client:<id>' for one client")
    values: dict[str, Any]
    updated_at: datetime = Field(description=_UPDATED)


# --- promotions -------------------------------------------------------------------------------------

PromotionKind = Literal["percent_off", "amount_off", "n_for_m", "receipt_threshold"]
Percent = Annotated[Decimal, Field(gt=0, le=100, decimal_places=2)]
Weekday = Annotated[int, Field(ge=1, le=7)]


class PromotionUpdate(_Input):
    """A rule the tills apply by themselves. ``kind`` says which fields matter:

    - ``percent_off``: ``percent`` off the goods it covers;
    - ``amount_off``: ``amount`` kopecks off each unit (each kg) of the goods it covers;
    - ``n_for_m``: of every ``buy`` units of one product it covers, the customer pays for ``pay``;
    - ``receipt_threshold``: when the receipt (after line promotions) reaches ``threshold`` kopecks,
      ``percent`` or ``amount`` off the whole receipt, spread over its lines.

    The goods covered are ``product_ids`` and ``category_ids`` (a category covers its subcategories);
    both empty covers every product. Among the rules that apply to a line, the one giving the most wins;
    rules marked ``stackable`` apply on top of it.
    """

    name: Name = Field(description="As printed on the receipt, e.g. 'Сыры −10%'")
    kind: PromotionKind
    product_ids: list[Id] = Field(default_factory=list, max_length=10_000)
    category_ids: list[Id] = Field(default_factory=list, max_length=1_000)
    store_ids: list[Id] = Field(
        default_factory=list, max_length=10_000, description="The stores it runs in; empty: all"
    )
    percent: Percent | None = Field(default=None, description="For percent_off, receipt_threshold")
    amount: Kopecks | None = Field(default=None, description="For amount_off (per unit), receipt_threshold")
    buy: int | None = Field(default=None, ge=2, le=1000, description="For n_for_m: units taken (N)")
    pay: int | None = Field(default=None, ge=1, le=999, description="For n_for_m: units paid for (M < N)")
    threshold: Kopecks | None = Field(default=None, description="For receipt_threshold: minimum total")
    starts_on: date | None = Field(default=None, description="First day it runs (store's local date)")
    ends_on: date | None = Field(default=None, description="Last day it runs, inclusive")
    time_from: time | None = Field(default=None, description="Daily from this local time (happy hours)")
    time_to: time | None = Field(
        default=None, description="Daily until this local time, exclusive; before time_from spans midnight"
    )
    weekdays: list[Weekday] = Field(default_factory=list, description="1 Monday … 7 Sunday; empty: every day")
    stackable: bool = Field(default=False, description="Applies on top of the best other rule")
    active: bool = True

    @field_validator("time_from", "time_to")
    @classmethod
    def _local_time(cls, value: time | None) -> time | None:
        """A daily time is the store's clock: an offset would mean a different hour in each store."""
        if value is not None and value.tzinfo is not None:
            raise ValueError("is the store's local time: give it without a UTC offset, e.g. 20:00")
        return value


class PromotionCreate(PromotionUpdate):
    id: Id | None = Field(default=None, description=_ID_HELP)


class PromotionRead(BaseModel):
    id: str
    name: str
    kind: str = Field(description="percent_off, amount_off, n_for_m or receipt_threshold")
    product_ids: list[str]
    category_ids: list[str]
    store_ids: list[str]
    percent: Decimal | None
    amount: int | None
    buy: int | None
    pay: int | None
    threshold: int | None
    starts_on: date | None
    ends_on: date | None
    time_from: time | None
    time_to: time | None
    weekdays: list[int]
    stackable: bool
    active: bool
    updated_at: datetime = Field(description=_UPDATED)


# --- import -----------------------------------------------------------------------------------------


class ImportRejection(BaseModel):
    line: int = Field(description="Line number in the file; the header is line 1")
    reason: str
    row: dict[str, str] = Field(description="The row as read, by column")


class ImportReport(BaseModel):
    """Valid rows are applied even when others are rejected: fix the rejected ones and import again."""

    accepted: int = Field(description="Rows applied (or already as the file says)")
    rejected: list[ImportRejection]


# --- change positions -------------------------------------------------------------------------------


class ChangePosition(BaseModel):
    """Where a change stands in the change log terminals follow, to tell which of them have it: a
    client has it once its ``sync_cursor`` (from its heartbeat) is at least ``seq``."""

    seq: int | None = Field(description="The newest change's sequence number; null when none is recorded")
    last_seq: int = Field(description="The newest sequence number of the whole log, for comparison")


# --- the keys of price changes in the sync change log ---------------------------------------------


def price_key(store_id: str, product_id: str) -> str:
    """A price change's key: ``STORE:PRODUCT`` (a price belongs to a store and a product)."""
    return f"{store_id}:{product_id}"


def split_price_key(key: str) -> tuple[str, str]:
    store_id, _, product_id = key.partition(":")
    return store_id, product_id


def price_row_key(key: str) -> dict[str, str]:
    """A price change's key as the columns of a replica's price row."""
    store_id, product_id = split_price_key(key)
    return {"store_id": store_id, "product_id": product_id}
