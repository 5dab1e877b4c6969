"""Barcodes a till scans: GS1 product codes (GTINs) and in-store EAN-13 codes printed by scales.

A scale prints the weight (or the price, or a count) inside an EAN-13 from the GS1 restricted
circulation range (prefixes 20–29 and 02), which no manufacturer may use; each store says where the
item code and the value sit with a :class:`BarcodeTemplate`. Everything here is pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from osuite.core.money import QUANTITY_PLACES

GtinKind = Literal["EAN-13", "EAN-8", "UPC-A"]
TemplateKind = Literal["weight", "price", "count"]

_GTIN_KINDS: dict[int, GtinKind] = {8: "EAN-8", 12: "UPC-A", 13: "EAN-13"}
_DIGITS = frozenset("0123456789")
_EAN13 = 13
_PAYLOAD = 12  # digits 0..11; the 13th is the check digit
_PREFIX = 2  # digits 0..1
# How many decimal places the value of each kind may carry: weight is a quantity (at most grams),
# a price cannot hold fractions of a kopeck, a count is whole.
_MAX_DECIMALS: dict[TemplateKind, int] = {"weight": 3, "price": 2, "count": 0}


class BarcodeError(ValueError):
    """A scanned or built code that cannot be what it claims; the message says what is wrong."""


@dataclass(frozen=True)
class Gtin:
    """A manufacturer's product code, looked up in the catalogue as is."""

    code: str
    kind: GtinKind


@dataclass(frozen=True)
class InStoreCode:
    """A store's own code: the item and, depending on the template, its weight, price or count."""

    code: str
    template: str
    item_code: str
    weight: Decimal | None = None
    price: int | None = None  # kopecks
    count: int | None = None


def _require_digits(code: str) -> None:
    for ch in code:
        if ch not in _DIGITS:
            raise BarcodeError(f"{code!r} contains a non-digit character {ch!r}")


def gtin_check_digit(body: str) -> int:
    """GS1 mod-10 check digit of ``body`` (the code without its check digit).

    Weights 3 and 1 alternate from the rightmost digit of the body, so the same function serves
    EAN-8, UPC-A and EAN-13 whatever their length.
    """
    if not body:
        raise BarcodeError("no digits to compute a check digit for")
    _require_digits(body)
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return -total % 10


def _verify_check_digit(code: str) -> None:
    expected = gtin_check_digit(code[:-1])
    if int(code[-1]) != expected:
        raise BarcodeError(f"{code!r}: check digit is {code[-1]}, expected {expected}")


def _verify_gtin(code: str) -> GtinKind:
    _require_digits(code)
    kind = _GTIN_KINDS.get(len(code))
    if kind is None:
        raise BarcodeError(
            f"{code!r} has {len(code)} digits; a barcode has 8 (EAN-8), 12 (UPC-A) or 13 (EAN-13)"
        )
    _verify_check_digit(code)
    return kind


def is_valid_gtin(code: str) -> bool:
    """True for an EAN-8, UPC-A or EAN-13 with the right check digit; strict, no whitespace allowed."""
    try:
        _verify_gtin(code)
    except BarcodeError:
        return False
    return True


def complete_gtin(body: str) -> str:
    """``body`` with its check digit appended; the body is 7, 11 or 12 digits long."""
    _require_digits(body)
    if len(body) + 1 not in _GTIN_KINDS:
        raise BarcodeError(f"{body!r} has {len(body)} digits; a GTIN body has 7, 11 or 12")
    return body + str(gtin_check_digit(body))


class BarcodeTemplate(BaseModel):
    """Where a store's scales put the item code and the value inside an in-store EAN-13.

    Positions are 0-based indexes into the 13 digits; ``"21 PPPPP WWWWW C"`` is item 2..7 and
    value 7..12. The value is a weight in kg, a price (read as rubles with ``value_decimals`` places,
    kept in kopecks) or a count. Digits covered by neither field are written as zeros.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    prefixes: list[str] = Field(min_length=1)
    kind: TemplateKind
    item_start: int
    item_length: int
    value_start: int
    value_length: int
    value_decimals: int = 0

    @field_validator("prefixes")
    @classmethod
    def _restricted_circulation(cls, prefixes: list[str]) -> list[str]:
        # Any other prefix belongs to real products, whose codes a template would then misread.
        for prefix in prefixes:
            if len(prefix) != _PREFIX or not set(prefix) <= _DIGITS:
                raise ValueError(f"prefix {prefix!r} is not two digits")
            if not (prefix == "02" or prefix.startswith("2")):
                raise ValueError(f"prefix {prefix!r} is not for in-store use (20–29 or 02)")
        return prefixes

    @model_validator(mode="after")
    def _fields_fit(self) -> BarcodeTemplate:
        for field, start, length in (
            ("item", self.item_start, self.item_length),
            ("value", self.value_start, self.value_length),
        ):
            if length < 1:
                raise ValueError(f"{field}_length must be at least 1, got {length}")
            if start < _PREFIX or start + length > _PAYLOAD:
                raise ValueError(
                    f"{field} digits {start}..{start + length} must lie within digits 2..12 "
                    "(0-1 are the prefix, 12 is the check digit)"
                )
        if (
            self.item_start < self.value_start + self.value_length
            and self.value_start < self.item_start + self.item_length
        ):
            raise ValueError("item and value digits overlap")
        if not 0 <= self.value_decimals <= self.value_length:
            raise ValueError(f"value_decimals must be between 0 and value_length ({self.value_length})")
        most = _MAX_DECIMALS[self.kind]
        if self.value_decimals > most:
            raise ValueError(f"a {self.kind} template can have at most {most} value_decimals")
        return self

    def matches(self, code: str) -> bool:
        """Whether this template is the one to read ``code`` with (its check digit is not looked at)."""
        return len(code) == _EAN13 and set(code) <= _DIGITS and code[:_PREFIX] in self.prefixes

    def parse(self, code: str) -> InStoreCode:
        """The item and value in ``code``; the check digit must be right."""
        _require_digits(code)
        if len(code) != _EAN13:
            raise BarcodeError(f"13 digits expected for EAN-13, got {len(code)}")
        _verify_check_digit(code)
        if code[:_PREFIX] not in self.prefixes:
            raise BarcodeError(f"{code!r} does not start with a prefix of template {self.name!r}")
        item = code[self.item_start : self.item_start + self.item_length]
        raw = int(code[self.value_start : self.value_start + self.value_length])
        if self.kind == "weight":
            weight = Decimal(raw).scaleb(-self.value_decimals).quantize(QUANTITY_PLACES)
            return InStoreCode(code=code, template=self.name, item_code=item, weight=weight)
        if self.kind == "price":
            price = raw * 10 ** (2 - self.value_decimals)
            return InStoreCode(code=code, template=self.name, item_code=item, price=price)
        return InStoreCode(code=code, template=self.name, item_code=item, count=raw)

    def build(self, item_code: str, value: Decimal | int) -> str:
        """A valid EAN-13 for ``item_code`` carrying ``value`` (kg, kopecks or a count).

        The item code must have exactly ``item_length`` digits: padding it here would make the
        code read back differently from what was given.
        """
        _require_digits(item_code)
        if len(item_code) != self.item_length:
            raise BarcodeError(
                f"item code {item_code!r} must have {self.item_length} digits for template {self.name!r}"
            )
        raw = self._raw_value(value)
        digits = ["0"] * _PAYLOAD
        digits[:_PREFIX] = self.prefixes[0]
        digits[self.item_start : self.item_start + self.item_length] = item_code
        digits[self.value_start : self.value_start + self.value_length] = str(raw).zfill(self.value_length)
        return complete_gtin("".join(digits))

    def _raw_value(self, value: Decimal | int) -> int:
        """The integer written into the value digits, refusing what they cannot hold exactly."""
        if isinstance(value, bool) or not isinstance(value, int | Decimal) or not Decimal(value).is_finite():
            raise BarcodeError(f"{value!r} is not a {self.kind}")
        places = {"weight": self.value_decimals, "price": self.value_decimals - 2, "count": 0}[self.kind]
        try:
            scaled = Decimal(value).scaleb(places)
        except ArithmeticError:  # beyond the decimal context: certainly too large for a few digits
            raise BarcodeError(f"{self.kind} {value} does not fit in template {self.name!r}") from None
        if scaled != scaled.to_integral_value():
            raise BarcodeError(
                f"{self.kind} {value} cannot be written with {self.value_decimals} decimal places"
                + (" of rubles" if self.kind == "price" else "")
                + f" (template {self.name!r})"
            )
        raw = int(scaled)
        if raw < 0:
            raise BarcodeError(f"{self.kind} {value} is negative")
        if raw >= 10**self.value_length:
            raise BarcodeError(
                f"{self.kind} {value} does not fit in {self.value_length} digits of template {self.name!r}"
            )
        return raw


def parse_scan(code: str, templates: Sequence[BarcodeTemplate] = ()) -> Gtin | InStoreCode:
    """What a scanner (or a person typing the digits under the bars) gave.

    Whitespace anywhere is dropped, since the digits printed under the bars are grouped with spaces.
    A 13-digit code is read with the first template whose prefix it has, else as a plain EAN-13.
    """
    cleaned = "".join(code.split())
    if not cleaned:
        raise BarcodeError("the scan is empty")
    _require_digits(cleaned)
    for template in templates:
        if template.matches(cleaned):
            return template.parse(cleaned)
    return Gtin(code=cleaned, kind=_verify_gtin(cleaned))


DEFAULT_TEMPLATES: tuple[BarcodeTemplate, ...] = (
    BarcodeTemplate(
        name="weight",
        prefixes=["21"],
        kind="weight",
        item_start=2,
        item_length=5,
        value_start=7,
        value_length=5,
        value_decimals=3,
    ),
    BarcodeTemplate(
        name="price",
        prefixes=["22"],
        kind="price",
        item_start=2,
        item_length=5,
        value_start=7,
        value_length=5,
        value_decimals=2,
    ),
    BarcodeTemplate(
        name="count",
        prefixes=["23"],
        kind="count",
        item_start=2,
        item_length=5,
        value_start=7,
        value_length=5,
        value_decimals=0,
    ),
)
"""Demo stores' scales: 21 = weight in kg (to the gram), 22 = price to the kopeck, 23 = piece count."""
