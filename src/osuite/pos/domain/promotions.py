"""Promotions as the till keeps them, read from the data server's ``PromotionRead`` JSON, and when they run.

The domain has its own frozen :class:`Promotion` so that it needs no pydantic, and reads the payload
forgivingly: a newer server may send kinds or fields this till does not know, and a rule the till cannot
use must be skipped, never stop a sale. :meth:`Promotion.from_payload` answers ``None`` for those.

When a promotion runs (:meth:`Promotion.runs_at`), at the store's local moment:

- it is ``active``, and ``store_ids`` is empty or names the store;
- the day is within ``starts_on`` … ``ends_on`` (both inclusive, either may be missing);
- ``weekdays`` is empty or holds the day's ISO weekday (1 Monday … 7 Sunday);
- the time of day is within ``time_from`` (inclusive) … ``time_to`` (exclusive); a missing bound is
  open; equal bounds mean the whole day. When ``time_to`` is before ``time_from`` the window spans
  midnight, and its part after midnight belongs to the day it began: a Friday 22:00–02:00 happy hour
  runs on Saturday at 01:00, and its ``ends_on`` day's night still counts up to 02:00 the next morning.

What each kind needs (otherwise the promotion is skipped): ``percent_off`` a ``percent`` in (0, 100];
``amount_off`` an ``amount`` ≥ 0 (kopecks per unit or per kg); ``n_for_m`` whole ``buy`` ≥ 2 and
``pay`` with 1 ≤ ``pay`` < ``buy``; ``receipt_threshold`` a ``percent`` or an ``amount`` (the percent
when both are given) and a ``threshold`` ≥ 0 (missing: 0, every receipt).

The goods a line promotion covers: ``product_ids`` and ``category_ids`` (a line's categories include
every ancestor, so a category covers its subcategories); both empty covers every product. A
``receipt_threshold`` covers the whole receipt; its product and category lists are not consulted.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Literal

PERCENT_OFF: Final = "percent_off"
AMOUNT_OFF: Final = "amount_off"
N_FOR_M: Final = "n_for_m"
RECEIPT_THRESHOLD: Final = "receipt_threshold"
LINE_KINDS: Final = frozenset({PERCENT_OFF, AMOUNT_OFF, N_FOR_M})

PromotionKind = Literal["percent_off", "amount_off", "n_for_m", "receipt_threshold"]


class _Unusable(Exception):
    """A field this till cannot read; the promotion is skipped."""


@dataclass(frozen=True)
class Promotion:
    id: str
    name: str
    kind: PromotionKind
    product_ids: frozenset[str] = frozenset()
    category_ids: frozenset[str] = frozenset()
    store_ids: frozenset[str] = frozenset()
    percent: Decimal | None = None
    amount: int | None = None
    buy: int | None = None
    pay: int | None = None
    threshold: int | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    time_from: time | None = None
    time_to: time | None = None
    weekdays: frozenset[int] = frozenset()
    stackable: bool = False
    active: bool = True

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Promotion | None:
        """The promotion in a ``PromotionRead`` (as JSON or as a ``model_dump()``), or ``None`` when this
        till cannot apply it: an unknown kind, or a field missing or unreadable for its kind."""
        try:
            return _parse(payload)
        except _Unusable:
            return None

    def covers(self, product_id: str, category_ids: Set[str]) -> bool:
        """Whether a line promotion applies to this product (given with all its categories' ancestors)."""
        if not self.product_ids and not self.category_ids:
            return True
        return product_id in self.product_ids or not self.category_ids.isdisjoint(category_ids)

    def runs_at(self, store_id: str, moment: datetime) -> bool:
        """Whether it runs in this store at this local moment (naive, the store's wall clock)."""
        if not self.active or (self.store_ids and store_id not in self.store_ids):
            return False
        day = moment.date()
        now = moment.time()
        start, end = self.time_from, self.time_to
        if start is not None and end is not None and start != end:
            if start < end:
                if not start <= now < end:
                    return False
            elif now < end:
                day -= timedelta(days=1)  # after midnight: the night that began yesterday
            elif now < start:
                return False
        elif start != end:  # exactly one bound given
            if start is not None and now < start:
                return False
            if end is not None and now >= end:
                return False
        if self.starts_on is not None and day < self.starts_on:
            return False
        if self.ends_on is not None and day > self.ends_on:
            return False
        return not self.weekdays or day.isoweekday() in self.weekdays


def promotions_from_payloads(payloads: Any) -> list[Promotion]:
    """Every promotion the till can use from a list of payloads; the rest are skipped quietly."""
    if not isinstance(payloads, list | tuple):
        return []
    found = (Promotion.from_payload(p) for p in payloads if isinstance(p, Mapping))
    return [p for p in found if p is not None]


# --- reading a payload ------------------------------------------------------------------------------


def _parse(payload: Mapping[str, Any]) -> Promotion:
    kind = payload.get("kind")
    if kind not in (PERCENT_OFF, AMOUNT_OFF, N_FOR_M, RECEIPT_THRESHOLD):
        raise _Unusable
    percent = _percent(payload.get("percent"))
    amount = _whole(payload.get("amount"))
    buy = _whole(payload.get("buy"))
    pay = _whole(payload.get("pay"))
    threshold = _whole(payload.get("threshold"))
    if kind == PERCENT_OFF and percent is None:
        raise _Unusable
    if kind == AMOUNT_OFF and amount is None:
        raise _Unusable
    if kind == N_FOR_M and (buy is None or pay is None or buy < 2 or not 1 <= pay < buy):
        raise _Unusable
    if kind == RECEIPT_THRESHOLD and percent is None and amount is None:
        raise _Unusable
    return Promotion(
        id=_text(payload.get("id")),
        name=_text(payload.get("name")),
        kind=kind,
        product_ids=_ids(payload.get("product_ids")),
        category_ids=_ids(payload.get("category_ids")),
        store_ids=_ids(payload.get("store_ids")),
        percent=percent,
        amount=amount,
        buy=buy,
        pay=pay,
        threshold=threshold,
        starts_on=_date(payload.get("starts_on")),
        ends_on=_date(payload.get("ends_on")),
        time_from=_time(payload.get("time_from")),
        time_to=_time(payload.get("time_to")),
        weekdays=_weekdays(payload.get("weekdays")),
        stackable=_flag(payload.get("stackable"), default=False),
        active=_flag(payload.get("active"), default=True),
    )


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise _Unusable
    return value


def _ids(value: Any) -> frozenset[str]:
    if value is None:
        return frozenset()
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise _Unusable
    return frozenset(value)


def _weekdays(value: Any) -> frozenset[int]:
    if value is None:
        return frozenset()
    if not isinstance(value, list | tuple) or not all(type(v) is int and 1 <= v <= 7 for v in value):
        raise _Unusable
    return frozenset(value)


def _whole(value: Any) -> int | None:
    if value is None:
        return None
    if type(value) is not int or value < 0:
        raise _Unusable
    return value


def _percent(value: Any) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, float):
        value = str(value)  # a JSON number: its shortest decimal text, never its binary fraction
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise _Unusable
    try:
        percent = Decimal(value)
    except InvalidOperation:
        raise _Unusable from None
    if not percent.is_finite() or not 0 < percent <= 100:
        raise _Unusable
    return percent


def _date(value: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise _Unusable
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _Unusable from None


def _time(value: Any) -> time | None:
    if value is None:
        return None
    if isinstance(value, time):
        return value.replace(tzinfo=None)
    if not isinstance(value, str):
        raise _Unusable
    try:
        return time.fromisoformat(value).replace(tzinfo=None)
    except ValueError:
        raise _Unusable from None


def _flag(value: Any, *, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise _Unusable
    return value
