"""What makes a promotion valid, in plain Python (no I/O): each kind takes its own fields and refuses
the others', dates and hours make sense, and the goods and stores it names exist.

The tills apply promotions by themselves (see :class:`~osuite.dataserver.wire.catalog.PromotionUpdate`);
these rules keep out what a till could only guess at.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from osuite.dataserver.catalog_rules import RuleError, distinct
from osuite.dataserver.wire.catalog import PromotionUpdate

KIND_FIELDS: Final = {
    "percent_off": ("percent",),
    "amount_off": ("amount",),
    "n_for_m": ("buy", "pay"),
    "receipt_threshold": ("threshold", "percent", "amount"),
}
"""The fields each kind may have; every other kind-specific field must be left out (null)."""
SPECIFIC: Final = ("percent", "amount", "buy", "pay", "threshold")
LIST_FIELDS: Final = ("product_ids", "category_ids", "store_ids", "weekdays")
"""Stored as JSON text."""
CENTS: Final = Decimal("0.01")
_A: Final = {"percent_off": "a", "amount_off": "an", "n_for_m": "an", "receipt_threshold": "a"}
_SHOWN_IDS: Final = 10


def promotion_problems(data: PromotionUpdate) -> list[str]:
    """Everything wrong with the promotion, each in words the person who typed it understands."""
    problems = _kind_problems(data)
    if data.starts_on is not None and data.ends_on is not None and data.ends_on < data.starts_on:
        problems.append(
            f"ends_on {data.ends_on.isoformat()} is before starts_on {data.starts_on.isoformat()}"
        )
    if (data.time_from is None) != (data.time_to is None):
        given = "time_from" if data.time_from is not None else "time_to"
        other = "time_to" if given == "time_from" else "time_from"
        problems.append(f"{given} is given without {other}: daily hours need both, or neither")
    elif data.time_from is not None and data.time_from == data.time_to:
        problems.append(
            f"time_from and time_to are both {data.time_from.isoformat('minutes')}: "
            "leave both out for the whole day"
        )
    repeated = sorted({day for day in data.weekdays if data.weekdays.count(day) > 1})
    if repeated:
        problems.append(f"weekdays lists {', '.join(map(str, repeated))} more than once")
    return problems


def _kind_problems(data: PromotionUpdate) -> list[str]:
    kind = data.kind
    allowed = KIND_FIELDS[kind]
    stray = [name for name in SPECIFIC if name not in allowed and getattr(data, name) is not None]
    problems = [f"{_A[kind]} {kind} promotion takes no {name}" for name in stray]
    if kind == "percent_off" and data.percent is None:
        problems.append("a percent_off promotion needs percent (more than 0, at most 100)")
    elif kind == "amount_off":
        if data.amount is None or data.amount == 0:
            problems.append("an amount_off promotion needs amount: kopecks off each unit, more than 0")
    elif kind == "n_for_m":
        if data.buy is None or data.pay is None:
            problems.append("an n_for_m promotion needs buy (units taken) and pay (units paid for)")
        elif data.pay >= data.buy:
            problems.append(
                f"pay ({data.pay}) must be less than buy ({data.buy}): take {data.buy}, pay for fewer"
            )
    elif kind == "receipt_threshold":
        problems += _threshold_problems(data)
    return problems


def _threshold_problems(data: PromotionUpdate) -> list[str]:
    problems: list[str] = []
    if data.threshold is None or data.threshold == 0:
        problems.append(
            "a receipt_threshold promotion needs threshold: the receipt total, more than 0 kopecks"
        )
    if (data.percent is None) == (data.amount is None):
        problems.append(
            "a receipt_threshold promotion needs exactly one of percent and amount (off the whole receipt)"
        )
    elif data.amount is not None:
        if data.amount == 0:
            problems.append("amount must be more than 0")
        elif data.threshold and data.amount > data.threshold:
            problems.append(
                f"amount ({data.amount}) is more than threshold ({data.threshold}): "
                "a receipt at the threshold would go below zero"
            )
    if data.product_ids or data.category_ids:
        problems.append(
            "a receipt_threshold promotion applies to the whole receipt: leave product_ids and "
            "category_ids empty"
        )
    return problems


def check_promotion(data: PromotionUpdate) -> None:
    problems = promotion_problems(data)
    if problems:
        raise RuleError("; ".join(problems))


def promotion_row(data: PromotionUpdate) -> dict[str, Any]:
    """The promotion's stored fields (lists still as lists): ids each once, the percent to the
    hundredth, so a payload reads the same before and after a round trip through the database."""
    row = data.model_dump(exclude={"id"})
    for name in ("product_ids", "category_ids", "store_ids"):
        row[name] = distinct(row[name])
    if row["percent"] is not None:
        row["percent"] = row["percent"].quantize(CENTS)
    return row


@dataclass(frozen=True)
class Reference:
    """Ids a promotion names and which of them exist."""

    what: str
    """Singular, e.g. "product"."""
    wanted: Sequence[str]
    known: Collection[str]

    @property
    def missing(self) -> list[str]:
        return [key for key in self.wanted if key not in self.known]


def missing_message(references: Iterable[Reference]) -> str | None:
    """``"products p1, p2 do not exist; store s9 does not exist"``; None when all exist."""
    parts: list[str] = []
    for ref in references:
        missing = ref.missing
        if not missing:
            continue
        shown = ", ".join(missing[:_SHOWN_IDS])
        more = f" and {len(missing) - _SHOWN_IDS} more" if len(missing) > _SHOWN_IDS else ""
        if len(missing) == 1:
            parts.append(f"{ref.what} {shown} does not exist")
        else:
            parts.append(f"{_plural(ref.what)} {shown}{more} do not exist")
    return "; ".join(parts) or None


def _plural(what: str) -> str:
    return what[:-1] + "ies" if what.endswith("y") else what + "s"
