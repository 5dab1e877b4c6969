"""The scale server's use cases: the inventory of scales and their rules, and loading a scale with what
its rules pick — only what changed since it last accepted, or everything on a full reload — recording
per scale and per PLU what was sent, when, and what the scale answered."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, delete, insert, select, update

from osuite.core.barcodes import BarcodeTemplate
from osuite.core.db import Database, upsert_rows
from osuite.core.ids import new_id
from osuite.devices.labelscale import (
    Capability,
    LabelScale,
    LabelScaleError,
    Plu,
    PluResult,
    ScaleErrorCode,
)
from osuite.license.client import SeatKeeper
from osuite.scales import domain
from osuite.scales import tables as t
from osuite.scales.settings import ScalesSettings
from osuite.scales.tables import Record

log = logging.getLogger("osuite.scales")

PROTOCOLS = ("cas", "shtrih", "massak")

Opener = Callable[[Record, float], LabelScale]
"""Opens the driver of a scale (its inventory row) with a timeout in seconds."""


class ScalesError(Exception):
    """A request the scale server refuses; nothing was changed."""

    status = 422

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Scales:
    settings: ScalesSettings
    db: Database
    open_driver: Opener
    now: Callable[[], datetime] = _now
    changed: Callable[[], None] = field(default=lambda: None)
    """Called when something may need sending: the uploader wakes."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    cached: tuple[int, str, list[domain.Product]] | None = None
    """The catalog as last read: (catalog version, store, products)."""
    seat: SeatKeeper | None = None
    """The scale server's seat at the license server (None: none configured)."""


# --- the inventory ------------------------------------------------------------------------------------

SCALE_FIELDS = (
    "name",
    "department",
    "model",
    "protocol",
    "host",
    "port",
    "scale_number",
    "password",
    "enabled",
    "barcode_template",
    "label_format",
    "hotkeys",
)


def list_scales(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(select(t.scales).order_by(t.scales.c.name)).mappings()
    return [_scale_view(conn, row) for row in rows]


def scale_view(conn: Connection, scale_id: str) -> dict[str, Any]:
    return _scale_view(conn, get_scale(conn, scale_id))


def get_scale(conn: Connection, scale_id: str) -> Record:
    row = conn.execute(select(t.scales).where(t.scales.c.id == scale_id)).mappings().first()
    if row is None:
        raise ScalesError(f"no scale {scale_id}", 404)
    return row


def _scale_view(conn: Connection, row: Record) -> dict[str, Any]:
    state = conn.execute(select(t.states).where(t.states.c.scale_id == row["id"])).mappings().first()
    last = (
        conn.execute(
            select(t.uploads)
            .where(t.uploads.c.scale_id == row["id"])
            .order_by(t.uploads.c.started_at.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    loaded = conn.execute(
        select(t.sent.c.number).where(t.sent.c.scale_id == row["id"], t.sent.c.digest.is_not(None))
    ).all()
    return {
        **{k: row[k] for k in ("id", *SCALE_FIELDS)},
        "password": "***" if row["password"] else "",
        "rules": rules_of(conn, row["id"]),
        "state": _state_view(state),
        "last_upload": _upload_view(last) if last else None,
        "plus_loaded": len(loaded),
    }


def _state_view(state: Record | None) -> dict[str, Any]:
    if state is None:
        return {"online": False, "busy": False, "checked_at": None, "message": "", "pending": True}
    return {
        "online": bool(state["online"]),
        "busy": bool(state["busy"]),
        "checked_at": state["checked_at"].isoformat() if state["checked_at"] else None,
        "message": state["message"],
        "pending": bool(state["pending"] or state["full"]),
    }


def _upload_view(row: Record) -> dict[str, Any]:
    return {
        "id": row["id"],
        "kind": row["kind"],
        "started_at": row["started_at"].isoformat(),
        "finished_at": row["finished_at"].isoformat() if row["finished_at"] else None,
        "written": row["written"],
        "deleted": row["deleted"],
        "refused": row["refused"],
        "error": row["error"],
    }


def save_scale(s: Scales, values: dict[str, Any], scale_id: str | None = None) -> dict[str, Any]:
    """Add a scale (``scale_id`` None) or change one; it is loaded soon after."""
    if values.get("protocol") not in PROTOCOLS:
        raise ScalesError(f"protocol must be one of {', '.join(PROTOCOLS)}, not {values.get('protocol')!r}")
    now = s.now()
    with s.db.write() as conn:
        clash = conn.execute(
            select(t.scales.c.id).where(t.scales.c.name == values["name"], t.scales.c.id != (scale_id or ""))
        ).first()
        if clash is not None:
            raise ScalesError(f"a scale named {values['name']!r} exists already", 409)
        if scale_id is None:
            scale_id = new_id()
            conn.execute(insert(t.scales).values(id=scale_id, created_at=now, updated_at=now, **values))
            conn.execute(insert(t.states).values(scale_id=scale_id, pending=True, full=True))
        else:
            get_scale(conn, scale_id)
            conn.execute(update(t.scales).where(t.scales.c.id == scale_id).values(updated_at=now, **values))
            _mark(conn, [scale_id], full=True)
        view = _scale_view(conn, get_scale(conn, scale_id))
    s.changed()
    return view


def delete_scale(s: Scales, scale_id: str) -> None:
    with s.db.write() as conn:
        get_scale(conn, scale_id)
        for table in (t.rules, t.plu_numbers, t.sent, t.uploads, t.states):
            conn.execute(delete(table).where(table.c.scale_id == scale_id))
        conn.execute(delete(t.scales).where(t.scales.c.id == scale_id))


def rules_of(conn: Connection, scale_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(select(t.rules).where(t.rules.c.scale_id == scale_id).order_by(t.rules.c.id))
    return [{"id": r.id, "kind": r.kind, "values": orjson.loads(r.values)} for r in rows]


def set_rules(s: Scales, scale_id: str, rules: Sequence[tuple[str, Sequence[str]]]) -> dict[str, Any]:
    """Replace a scale's rules (what it holds); the changes are sent soon after."""
    for kind, values in rules:
        if kind not in ("category", "products"):
            raise ScalesError(f"a rule is by 'category' or 'products', not {kind!r}")
        if not values:
            raise ScalesError(f"a {kind} rule needs at least one id")
    with s.db.write() as conn:
        get_scale(conn, scale_id)
        conn.execute(delete(t.rules).where(t.rules.c.scale_id == scale_id))
        for kind, values in rules:
            conn.execute(
                insert(t.rules).values(
                    id=new_id(), scale_id=scale_id, kind=kind, values=orjson.dumps(list(values)).decode()
                )
            )
        _mark(conn, [scale_id])
        view = _scale_view(conn, get_scale(conn, scale_id))
    s.changed()
    return view


def _mark(conn: Connection, scale_ids: Sequence[str] | None, *, full: bool = False) -> None:
    """Something may be left to send to these scales (all of them when None): try now."""
    query = update(t.states)
    if scale_ids is not None:
        query = query.where(t.states.c.scale_id.in_(list(scale_ids)))
    values: dict[str, Any] = {"pending": True, "next_attempt_at": None, "attempts": 0}
    if full:
        values["full"] = True
    conn.execute(query.values(values))


def mark_all(conn: Connection) -> None:
    """In the transaction that applied catalog changes: every scale may have something to receive, and
    the catalog is read afresh."""
    _mark(conn, None)
    if not conn.execute(update(t.catalog_version).values(version=t.catalog_version.c.version + 1)).rowcount:
        conn.execute(insert(t.catalog_version).values(id=1, version=1))


def order_reload(s: Scales, scale_id: str | None = None) -> None:
    """A full reload of one scale, or of all of them (``None``)."""
    with s.db.write() as conn:
        if scale_id is not None:
            get_scale(conn, scale_id)
        _mark(conn, None if scale_id is None else [scale_id], full=True)
    s.changed()


def enabled_scales(s: Scales) -> list[str]:
    with s.db.read() as conn:
        return list(conn.execute(select(t.scales.c.id).where(t.scales.c.enabled.is_(True))).scalars())


def order_upload(s: Scales, scale_id: str, *, full: bool = False) -> None:
    """Upload now what changed (everything when ``full``), without waiting for a retry's time."""
    with s.db.write() as conn:
        get_scale(conn, scale_id)
        _mark(conn, [scale_id], full=full)
    s.changed()


# --- what a scale should hold -------------------------------------------------------------------------


def _template(conn: Connection, name: str) -> BarcodeTemplate:
    """The data server's barcode template by its id (``scales-weight``) or its name (``weight``)."""
    for template_id, raw in conn.execute(select(t.barcode_templates.c.id, t.barcode_templates.c.template)):
        template = BarcodeTemplate.model_validate(orjson.loads(raw))
        if name in (template_id, template.name):
            return template
    raise ScalesError(f"the data server has no barcode template {name!r}", 409)


def catalog(s: Scales, conn: Connection, store_id: str) -> list[domain.Product]:
    """The store's products as the rules read them; built once per catalog version (every scale loaded
    after a change reads the same list)."""
    version = conn.execute(select(t.catalog_version.c.version)).scalar() or 0
    with s.lock:
        if s.cached is not None and s.cached[:2] == (version, store_id):
            return s.cached[2]
    products = _products(conn, store_id)
    with s.lock:
        s.cached = (version, store_id, products)
    return products


def _products(conn: Connection, store_id: str) -> list[domain.Product]:
    parents = dict(conn.execute(select(t.categories.c.id, t.categories.c.parent_id)).all())
    price_of = dict(
        conn.execute(
            select(t.prices.c.product_id, t.prices.c.price).where(t.prices.c.store_id == store_id)
        ).all()
    )

    def path(category: str | None) -> tuple[str, ...]:
        found: list[str] = []
        while category is not None and category not in found:
            found.append(category)
            category = parents.get(category)
        return tuple(found)

    return [
        domain.Product(
            id=row.id,
            article=row.article,
            name=row.name,
            weighted=bool(row.weighted),
            category_path=path(row.category_id),
            price=price_of.get(row.id),
            active=bool(row.active),
        )
        for row in conn.execute(select(t.products))
    ]


@dataclass(frozen=True)
class Wanted:
    plus: dict[int, Plu]
    products: dict[int, str]  # PLU number → product id
    refused: list[domain.Refused]
    template: BarcodeTemplate


def wanted(s: Scales, conn: Connection, scale: Record) -> Wanted:
    """What ``scale`` should hold now, with PLU numbers given out (and kept) in this transaction."""
    template = _template(conn, scale["barcode_template"])
    rules = [domain.Rule(r["kind"], tuple(r["values"])) for r in rules_of(conn, scale["id"])]
    chosen, refused = domain.picked(rules, catalog(s, conn, store_id(conn)))
    codes: dict[str, int] = {}
    for product in chosen:
        try:
            codes[product.id] = domain.item_code(product.article, template)
        except ValueError as exc:
            refused.append(domain.Refused(product.id, f"{product.name}: {exc}"))
    fit = [p for p in chosen if p.id in codes]
    current = dict(
        conn.execute(
            select(t.plu_numbers.c.product_id, t.plu_numbers.c.number).where(
                t.plu_numbers.c.scale_id == scale["id"]
            )
        ).all()
    )
    numbers = domain.numbered([p.id for p in fit], current)
    refused += [domain.Refused(p.id, f"{p.name}: no PLU number left") for p in fit if p.id not in numbers]
    if numbers != current:
        conn.execute(delete(t.plu_numbers).where(t.plu_numbers.c.scale_id == scale["id"]))
        if numbers:
            conn.execute(
                insert(t.plu_numbers),
                [{"scale_id": scale["id"], "product_id": p, "number": n} for p, n in numbers.items()],
            )
    plus = {
        numbers[p.id]: domain.plu_of(
            p, numbers[p.id], codes[p.id], hotkeys=scale["hotkeys"], label_format=scale["label_format"]
        )
        for p in fit
        if p.id in numbers
    }
    return Wanted(plus, {n: p for p, n in numbers.items()}, refused, template)


# --- loading a scale ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class UploadResult:
    scale_id: str
    written: int = 0
    deleted: int = 0
    refused: int = 0
    error: str | None = None
    retry: bool = False


def store_id(conn: Connection) -> str:
    found = conn.execute(select(t.enrollment.c.store_id)).scalar()
    if found is None:
        raise ScalesError("the scale server is not enrolled with a data server yet", 409)
    return str(found)


def upload(s: Scales, scale_id: str) -> UploadResult:
    """Send ``scale_id`` what changed (everything when a full reload was ordered); each batch's answers
    are recorded as they come, so an upload cut short resumes where it stopped. A scale whose driver
    sets speed keys then gets its whole key table (:func:`domain.key_table`) every time: it is small, the
    driver leaves a table the scale already holds alone, and a table that failed is sent again."""
    with s.db.write() as conn:
        scale = get_scale(conn, scale_id)
        state = conn.execute(select(t.states).where(t.states.c.scale_id == scale_id)).mappings().one()
        want = wanted(s, conn, scale)
        last = dict(
            conn.execute(select(t.sent.c.number, t.sent.c.digest).where(t.sent.c.scale_id == scale_id)).all()
        )
        full = bool(state["full"])
        # pending=False now: a change arriving during the upload sets it again and is sent next round.
        conn.execute(update(t.states).where(t.states.c.scale_id == scale_id).values(pending=False))
    todo = domain.plan(want.plus, {n: d for n, d in last.items() if d is not None}, full=full)
    stale = sorted(set(todo.delete) | {n for n, d in last.items() if d is None and n not in want.plus})
    upload_id = new_id()
    with s.db.write() as conn:
        conn.execute(
            insert(t.uploads).values(
                id=upload_id, scale_id=scale_id, kind="full" if full else "changes", started_at=s.now()
            )
        )
    written = deleted = refused = 0
    error: str | None = None
    retry = busy = deleting = False
    try:
        with _driver(s, scale) as driver:
            if full and Capability.BARCODE_FORMAT in driver.capabilities:
                driver.set_barcode(want.template)
            if full and Capability.CLEAR in driver.capabilities:
                driver.clear()
                _forget(s, scale_id, None)
                todo = domain.plan(want.plus, {}, full=True)
                stale = []
            for start in range(0, len(todo.write), s.settings.batch_size):
                batch = todo.write[start : start + s.settings.batch_size]
                answers = driver.write(batch)
                ok, bad = _record(s, scale_id, batch, answers, want.products)
                written += ok
                refused += bad
            if stale and Capability.PLU_DELETE in driver.capabilities:
                deleting = True
                answers = driver.delete(stale)
                deleting = False
                _forget(s, scale_id, [a.number for a in answers if a.ok])
                deleted = sum(a.ok for a in answers)
            if Capability.HOTKEYS in driver.capabilities:
                driver.set_hotkeys(domain.key_table(want.plus, _accepted(s, scale_id)))
    except LabelScaleError as exc:
        error, retry, busy = exc.message, exc.retry, exc.code is ScaleErrorCode.BUSY
    finished = s.now()
    with s.db.write() as conn:
        conn.execute(
            update(t.uploads)
            .where(t.uploads.c.id == upload_id)
            .values(finished_at=finished, written=written, deleted=deleted, refused=refused, error=error)
        )
        values: dict[str, Any] = {"checked_at": finished}
        if error is None:
            values.update(online=True, busy=False, message="", full=False, attempts=0, next_attempt_at=None)
        else:
            attempts = int(state["attempts"]) + 1
            wait = min(s.settings.retry_max_seconds, 2.0 ** (attempts - 1))
            values.update(
                online=retry is False or busy,
                busy=busy,
                message=error,
                pending=True,
                # A delete cut short may have left the scale with less than we know of: reload it in full.
                full=bool(state["full"]) or deleting,
                attempts=attempts,
                next_attempt_at=finished + timedelta(seconds=wait),
            )
        conn.execute(update(t.states).where(t.states.c.scale_id == scale_id).values(values))
    log.info(
        "scale %s: %d written, %d deleted, %d refused%s",
        scale["name"],
        written,
        deleted,
        refused,
        f"; {error}" if error else "",
    )
    return UploadResult(scale_id, written, deleted, refused, error, retry)


@contextmanager
def _driver(s: Scales, scale: Record) -> Iterator[LabelScale]:
    driver = s.open_driver(scale, s.settings.device_timeout_seconds)
    try:
        yield driver
    finally:
        driver.close()


def _record(
    s: Scales, scale_id: str, batch: Sequence[Plu], answers: Sequence[PluResult], products: dict[int, str]
) -> tuple[int, int]:
    """Keep what the scale answered for each PLU of a batch."""
    by_number = {a.number: a for a in answers}
    now = s.now()
    rows = []
    for plu in batch:
        answer = by_number.get(plu.number, PluResult(plu.number, False, "the scale did not answer for it"))
        rows.append(
            {
                "scale_id": scale_id,
                "number": plu.number,
                "product_id": products.get(plu.number),
                "digest": domain.digest(plu) if answer.ok else None,
                "at": now,
                "answer": answer.message,
            }
        )
    with s.db.write() as conn:
        upsert_rows(conn, t.sent, rows, ("scale_id", "number"))
    ok = sum(1 for row in rows if row["digest"] is not None)
    return ok, len(rows) - ok


def _accepted(s: Scales, scale_id: str) -> dict[int, str]:
    """What the scale holds as far as we know: PLU number → the digest it accepted."""
    with s.db.read() as conn:
        rows = conn.execute(
            select(t.sent.c.number, t.sent.c.digest).where(
                t.sent.c.scale_id == scale_id, t.sent.c.digest.is_not(None)
            )
        ).all()
    return {number: digest for number, digest in rows}


def _forget(s: Scales, scale_id: str, numbers: Sequence[int] | None) -> None:
    with s.db.write() as conn:
        query = delete(t.sent).where(t.sent.c.scale_id == scale_id)
        if numbers is not None:
            query = query.where(t.sent.c.number.in_(list(numbers)))
        conn.execute(query)


def due(s: Scales) -> list[str]:
    """Enabled scales with something that may be left to send, whose retry time has come."""
    now = s.now()
    with s.db.read() as conn:
        rows = conn.execute(
            select(t.states.c.scale_id, t.states.c.next_attempt_at)
            .join(t.scales, t.scales.c.id == t.states.c.scale_id)
            .where(t.scales.c.enabled.is_(True), (t.states.c.pending.is_(True)) | (t.states.c.full.is_(True)))
        ).all()
    return [r.scale_id for r in rows if r.next_attempt_at is None or r.next_attempt_at <= now]


def poll(s: Scales, scale_id: str) -> dict[str, Any]:
    """Ask the scale how it is; a scale that answers again after failing gets its upload at once."""
    with s.db.read() as conn:
        scale = get_scale(conn, scale_id)
    try:
        with _driver(s, scale) as driver:
            status = driver.status()
        values: dict[str, Any] = {"online": status.online, "busy": status.busy, "message": status.message}
    except LabelScaleError as exc:
        values = {"online": False, "busy": False, "message": exc.message}
    values["checked_at"] = s.now()
    with s.db.write() as conn:
        before = conn.execute(select(t.states).where(t.states.c.scale_id == scale_id)).mappings().one()
        if values["online"] and not before["online"]:
            values.update(next_attempt_at=None, attempts=0)
        conn.execute(update(t.states).where(t.states.c.scale_id == scale_id).values(values))
    if values["online"] and not before["online"]:
        s.changed()
    return values


def plus_of(conn: Connection, scale_id: str) -> list[dict[str, Any]]:
    """Per PLU of a scale: the product, its price at the store (what the scale holds once its upload is
    done), when it was last sent, and the scale's answer."""
    get_scale(conn, scale_id)
    sent_rows = {r.number: r for r in conn.execute(select(t.sent).where(t.sent.c.scale_id == scale_id))}
    names = dict(conn.execute(select(t.products.c.id, t.products.c.name)).all())
    store = conn.execute(select(t.enrollment.c.store_id)).scalar()  # None before enrollment: no prices
    prices = dict(
        conn.execute(
            select(t.prices.c.product_id, t.prices.c.price).where(t.prices.c.store_id == store)
        ).all()
    )
    numbers = conn.execute(
        select(t.plu_numbers).where(t.plu_numbers.c.scale_id == scale_id).order_by(t.plu_numbers.c.number)
    ).mappings()
    result = []
    for row in numbers:
        sent_row = sent_rows.get(row["number"])
        result.append(
            {
                "number": row["number"],
                "product_id": row["product_id"],
                "name": names.get(row["product_id"], ""),
                "price": prices.get(row["product_id"]),
                "sent_at": sent_row.at.isoformat() if sent_row else None,
                "accepted": bool(sent_row and sent_row.digest),
                "answer": sent_row.answer if sent_row else "",
            }
        )
    return result


def uploads_of(conn: Connection, scale_id: str, limit: int = 20) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(t.uploads)
        .where(t.uploads.c.scale_id == scale_id)
        .order_by(t.uploads.c.started_at.desc())
        .limit(limit)
    ).mappings()
    return [_upload_view(r) for r in rows]
