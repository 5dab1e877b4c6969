"""Loyalty programs: their settings as stored (JSON of :class:`~osuite.processing.domain.rules.Program`
plus a gift card's validity), versioned — every change is a new version, the old ones are kept — and
managed at the root only (subordinates receive them through the sync)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson
from sqlalchemy import Connection, insert, select, update

from osuite.core.i18n import N_
from osuite.core.ids import new_id
from osuite.processing import tables
from osuite.processing.context import Processing
from osuite.processing.domain.errors import InvalidInput
from osuite.processing.domain.rules import Level, Program
from osuite.processing.errors import AlreadyExists, NotHere, ProgramNotFound
from osuite.processing.publish import publish

DEFAULT_PROGRAM = "default"
DEFAULT_SETTINGS: dict[str, Any] = {
    "accrual_percent": "5",
    "points_share": "50",
    "activation_days": 0,
    "expiry_days": None,
}
"""The program a new root starts with: 5 % back in points, which may pay up to half a receipt."""


@dataclass(frozen=True)
class ProgramRow:
    id: str
    name: str
    version: int
    rules: Program
    gift_valid_days: int | None
    settings: dict[str, Any]
    updated_at: datetime


_FIELDS = (
    "accrual_percent",
    "category_percents",
    "product_percents",
    "excluded_products",
    "excluded_categories",
    "excluded_payment_methods",
    "gift_card_earns",
    "activation_days",
    "expiry_days",
    "points_share",
    "levels",
    "gift_valid_days",
)


def _percent(value: Any, what: str) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise InvalidInput(N_("{what} {value} is not a percent"), what=what, value=repr(value)) from None


def rules_of(settings: dict[str, Any]) -> tuple[Program, int | None]:
    """The program's rules from its stored settings; refuses what the rules refuse."""
    unknown = sorted(set(settings) - set(_FIELDS))
    if unknown:
        raise InvalidInput(N_("A program has no setting {name}"), name=unknown[0])
    gift_days = settings.get("gift_valid_days")
    if gift_days is not None and (
        isinstance(gift_days, bool) or not isinstance(gift_days, int) or not 1 <= gift_days <= 36_500
    ):
        raise InvalidInput(N_("A gift card's validity must be 1 to 36500 days, or none"))
    program = Program(
        accrual_percent=_percent(settings.get("accrual_percent", 0), "accrual_percent"),
        category_percents={
            str(k): _percent(v, k) for k, v in (settings.get("category_percents") or {}).items()
        },
        product_percents={
            str(k): _percent(v, k) for k, v in (settings.get("product_percents") or {}).items()
        },
        excluded_products=frozenset(settings.get("excluded_products") or ()),
        excluded_categories=frozenset(settings.get("excluded_categories") or ()),
        excluded_payment_methods=frozenset(settings.get("excluded_payment_methods") or ()),
        gift_card_earns=bool(settings.get("gift_card_earns", False)),
        activation_days=settings.get("activation_days", 0),
        expiry_days=settings.get("expiry_days"),
        points_share=_percent(settings.get("points_share", 100), "points_share"),
        levels=tuple(
            Level(turnover=level["turnover"], percent=_percent(level["percent"], "level"))
            for level in settings.get("levels") or ()
        ),
    )
    return program, gift_days


def settings_of(program: Program, gift_valid_days: int | None) -> dict[str, Any]:
    """The stored form of a program's rules: plain JSON, percents as text, sets sorted."""
    return {
        "accrual_percent": str(program.accrual_percent),
        "category_percents": {k: str(v) for k, v in sorted(program.category_percents.items())},
        "product_percents": {k: str(v) for k, v in sorted(program.product_percents.items())},
        "excluded_products": sorted(program.excluded_products),
        "excluded_categories": sorted(program.excluded_categories),
        "excluded_payment_methods": sorted(program.excluded_payment_methods),
        "gift_card_earns": program.gift_card_earns,
        "activation_days": program.activation_days,
        "expiry_days": program.expiry_days,
        "points_share": str(program.points_share),
        "levels": [{"turnover": level.turnover, "percent": str(level.percent)} for level in program.levels],
        "gift_valid_days": gift_valid_days,
    }


@functools.lru_cache(maxsize=1024)
def _parsed(text: str) -> tuple[Program, int | None, str]:
    settings = orjson.loads(text)
    program, gift_days = rules_of(settings)
    return program, gift_days, text


def _row(row: Any) -> ProgramRow:
    program, gift_days, text = _parsed(row.settings)
    return ProgramRow(
        id=row.id,
        name=row.name,
        version=row.version,
        rules=program,
        gift_valid_days=gift_days,
        settings=orjson.loads(text),
        updated_at=row.updated_at,
    )


def get(conn: Connection, program_id: str) -> ProgramRow:
    row = conn.execute(select(tables.programs).where(tables.programs.c.id == program_id)).first()
    if row is None:
        raise ProgramNotFound(program_id=program_id)
    return _row(row)


def all_programs(conn: Connection) -> list[ProgramRow]:
    return [_row(r) for r in conn.execute(select(tables.programs).order_by(tables.programs.c.id))]


def payload(program: ProgramRow) -> dict[str, Any]:
    """What the root publishes of a program."""
    return {
        "id": program.id,
        "name": program.name,
        "version": program.version,
        "settings": program.settings,
        "updated_at": program.updated_at.isoformat(),
    }


def save(
    conn: Connection,
    p: Processing,
    *,
    program_id: str | None,
    name: str,
    settings: dict[str, Any],
    create: bool,
) -> ProgramRow:
    """Create a program (``create``) or make a new version of it; the rules are checked first."""
    if not p.is_root:
        raise NotHere(N_("Loyalty programs are managed at the root center"))
    if not name.strip():
        raise InvalidInput(N_("A program needs a name"))
    program, gift_days = rules_of(settings)
    stored = settings_of(program, gift_days)
    text = orjson.dumps(stored).decode()
    now = p.now()
    t = tables.programs.c
    program_id = program_id or new_id()
    current = conn.execute(select(t.version).where(t.id == program_id)).scalar()
    if create and current is not None:
        raise AlreadyExists(N_("A program with id {program_id} exists already"), program_id=program_id)
    if not create and current is None:
        raise ProgramNotFound(program_id=program_id)
    version = (current or 0) + 1
    values: dict[str, Any] = {"name": name.strip(), "version": version, "settings": text, "updated_at": now}
    if current is None:
        conn.execute(insert(tables.programs).values(id=program_id, **values))
    else:
        conn.execute(update(tables.programs).where(t.id == program_id).values(**values))
    conn.execute(
        insert(tables.program_versions).values(
            program_id=program_id, version=version, name=values["name"], settings=text, created_at=now
        )
    )
    row = ProgramRow(program_id, values["name"], version, program, gift_days, stored, now)
    publish(conn, p, "program", program_id, payload(row))
    return row


def ensure_default(p: Processing) -> None:
    """A root starts with one program, so cards can be issued at once."""
    if not p.is_root:
        return
    with p.write() as conn:
        if conn.execute(select(tables.programs.c.id).limit(1)).first() is None:
            save(
                conn,
                p,
                program_id=DEFAULT_PROGRAM,
                name="Bonus points",
                settings=DEFAULT_SETTINGS,
                create=True,
            )
