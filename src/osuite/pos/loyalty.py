"""The customer's loyalty card on the receipt, through the store's processing center: the card is looked
up (customer, balance, what points may pay), a points payment reserves them (a hold), closing the
receipt spends them and adds what it earns, a return by receipt takes its share back.

The till never stops selling for the center, and nothing it asked is lost or done twice:

- Every call carries a transaction id made from the payment's or the receipt's id, so asking again
  after a lost answer gets the same answer and changes nothing.
- A card scanned while the center does not answer stays on the receipt: points cannot be spent, and the
  receipt's points are queued when it closes.
- Closing a sale first spends the held points (a commit without an answer leaves the payment
  ``authorizing``, asked again like a card payment whose answer was lost), then asks for the accrual,
  so the registrar prints it. With no answer the accrual goes into the loyalty outbox in the very
  transaction that closes the receipt, and the sender delivers it when the center is back.
- A receipt cancelled after its points were spent is given back by an accrual and a return of all its
  lines, queued: the center ends where it was, whichever of them it had already heard.
"""

from __future__ import annotations

import logging
from contextlib import suppress
from typing import Any

import orjson
from sqlalchemy import Connection, update

from osuite.core.i18n import DEFAULT_LANGUAGE, N_, render, translations
from osuite.core.ids import new_id
from osuite.core.money import format_money
from osuite.core.sync.outbox import OutboxSender
from osuite.core.sync.transport import LinkDown, LinkRefused
from osuite.core.sync.wire import DocumentIn, IntakeAnswer, Rejection
from osuite.pos import receipts
from osuite.pos import tables as t
from osuite.pos.auth import Cashier, audit
from osuite.pos.context import Pos
from osuite.pos.errors import Invalid, PosError
from osuite.pos.tables import Record
from osuite.processing.client import (
    ProcessingClient,
    ProcessingError,
    ProcessingUnreachable,
    line,
)

log = logging.getLogger("osuite.pos.loyalty")

POINTS_METHODS = ("bonus", "gift")
"""Payment methods that spend a card's account at the processing center."""

ACCRUE, RETURN, RELEASE = "loyalty_accrue", "loyalty_return", "loyalty_release"
"""The kinds of what the loyalty outbox carries."""

SETTLED_REFUSALS = {RELEASE: ("hold_closed", "hold_not_found"), ACCRUE: ("wrong_account_type",)}
"""Refusals that mean there is nothing left to do: the hold is gone already, a gift card earns nothing."""


class NoProcessing(PosError):
    status = 409
    kind = "no_processing"

    def __init__(self) -> None:
        super().__init__(N_("This till has no loyalty processing center: ask the administrator"))


class CenterRefused(PosError):
    """The processing center's own refusal (card blocked, not enough points …), in its words."""

    kind = "loyalty_refused"

    def __init__(self, exc: ProcessingError) -> None:
        super().__init__(exc.template or exc.detail, **_words(exc.params) if exc.template else {})
        self.status = exc.status if 400 <= exc.status < 500 else 409
        self.reason = exc.kind


class _Said:
    """A phrase inside the center's message (``{"template": …, "params": …}``), translatable like one
    of ours."""

    def __init__(self, template: str, params: dict[str, Any]) -> None:
        self.template = template
        self.params = _words(params)

    def __str__(self) -> str:
        return self.template.format(**self.params) if self.params else self.template


def _words(params: dict[str, Any]) -> dict[str, Any]:
    return {
        name: _Said(value["template"], value.get("params") or {})
        if isinstance(value, dict) and "template" in value
        else value
        for name, value in params.items()
    }


def client(pos: Pos) -> ProcessingClient:
    if pos.processing is None:
        raise NoProcessing()
    return pos.processing


# --- the receipt's card -------------------------------------------------------------------------------


def state_of(receipt: Record) -> dict[str, Any]:
    """What the receipt knows of its card: {} with no card."""
    return dict(orjson.loads(receipt["loyalty"])) if receipt["loyalty"] else {}


def _save(conn: Connection, receipt_id: str, state: dict[str, Any]) -> None:
    conn.execute(
        update(t.receipts)
        .where(t.receipts.c.id == receipt_id)
        .values(card=state.get("card"), loyalty=orjson.dumps(state).decode() if state else None)
    )


def center_lines(conn: Connection, receipt_id: str) -> list[dict[str, Any]]:
    """The receipt's live lines as the center reads them: numbered as here, amounts after discounts."""
    return [
        line(
            row["line_no"],
            row["product_id"] or row["article"] or f"line-{row['line_no']}",
            row["amount"],
            quantity=row["quantity"],
            category_path=orjson.loads(row["category_ids"]),
        )
        for row in receipts.lines_of(conn, receipt_id)
        if not row["voided"]
    ]


def attach_card(pos: Pos, who: Cashier, number: str) -> dict[str, Any]:
    """Put the customer's card on the sale (opening one if none is open). A card the center refuses
    (unknown, blocked, lost) is not put on; with the center silent it goes on, without points to spend."""
    center = client(pos)
    if "sell" not in who.permissions:
        raise PosError(N_("{name} may not sell"), name=who.name)
    number = number.strip()
    if not number:
        raise Invalid(N_("Scan or type the card's number"))
    with pos.lock:
        with pos.db.read() as conn:
            receipt = receipts.active(conn)
            if receipt is not None:
                _card_may_change(conn, receipt)
            lines = center_lines(conn, receipt["id"]) if receipt is not None else []
        try:
            answer = center.lookup(number, lines)
        except ProcessingUnreachable as exc:
            log.warning("card %s: the processing center does not answer: %s", number, exc.detail)
            state: dict[str, Any] = {"card": number, "online": False}
        except ProcessingError as exc:
            raise CenterRefused(exc) from None
        else:
            state = {"card": answer.card, "online": True, **_looked_up(answer.model_dump(mode="json"))}
        with pos.write() as conn:
            receipt = receipts.open_sale(pos, conn, who)
            _card_may_change(conn, receipt)
            _save(conn, receipt["id"], state)
            audit(conn, pos.now(), "loyalty_card", who.id, receipt_id=receipt["id"], detail=state["card"])
            return receipts.view(conn, receipts.get(conn, receipt["id"]))


def _looked_up(answer: dict[str, Any]) -> dict[str, Any]:
    customer = answer.get("customer") or {}
    return {
        "customer": customer.get("name"),
        "account_type": answer["account_type"],
        "available": answer["balance"]["available"],
        "spendable": answer["spendable"],
        "discount_percent": answer["discount_percent"],
    }


def _card_may_change(conn: Connection, receipt: Record) -> None:
    if receipt["status"] != "open":
        receipts.editable(conn)
    if receipt["kind"] != "sale":
        raise PosError(N_("A card goes on a sale; a return by receipt takes the sale's card by itself"))
    if any(p["method"] in POINTS_METHODS for p in receipts.taken(conn, receipt["id"])):
        raise PosError(N_("Points are paid from this card: remove that payment before changing the card"))


def detach_card(pos: Pos, who: Cashier) -> dict[str, Any]:
    with pos.write() as conn:
        receipt = receipts.editable(conn)
        _card_may_change(conn, receipt)
        _save(conn, receipt["id"], {})
        audit(conn, pos.now(), "loyalty_card", who.id, receipt_id=receipt["id"], detail=None)
        return receipts.view(conn, receipts.get(conn, receipt["id"]))


# --- paying with points -------------------------------------------------------------------------------


def _tid(payment_id: str, step: str) -> str:
    return f"{payment_id}:{step}"


def check_points_payment(conn: Connection, receipt: Record) -> None:
    """Before a sale is paid with points: the card is on it and the center answered for it."""
    state = state_of(receipt)
    if not state:
        raise PosError(N_("Scan the customer's card first: points are paid from a card"))
    if not state.get("online"):
        raise PosError(
            N_(
                "The processing center did not answer when the card was scanned: points cannot be spent;"
                " scan the card again, or take another payment"
            )
        )


def hold(pos: Pos, receipt: Record, payment: Record) -> None:
    """Reserve the payment's points at the center; the payment is taken once they are reserved. With no
    answer nothing is taken here: a hold the center made anyway expires by itself."""
    center = client(pos)
    state = state_of(receipt)
    with pos.db.read() as conn:
        lines = center_lines(conn, receipt["id"])
    try:
        answer = center.hold(
            _tid(payment["id"], "hold"),
            state["card"],
            receipt["id"],
            payment["amount"],
            lines=lines,
            minutes=pos.settings.points_hold_minutes,
        )
    except ProcessingUnreachable:
        _payment(pos, payment["id"], status="declined", message=N_("The processing center does not answer"))
        raise PosError(
            N_("The processing center does not answer: points cannot be spent now; take another payment")
        ) from None
    except ProcessingError as exc:
        _payment(pos, payment["id"], status="declined", message=exc.detail)
        raise CenterRefused(exc) from None
    with pos.write() as conn:
        _payment(pos, payment["id"], conn=conn, status="approved", hold_id=answer.hold_id, message=None)
        state["available"] = answer.balance.available
        _save(conn, receipt["id"], state)


def _payment(pos: Pos, payment_id: str, *, conn: Connection | None = None, **values: Any) -> None:
    if conn is None:
        with pos.write() as own:
            _payment(pos, payment_id, conn=own, **values)
        return
    conn.execute(update(t.payments).where(t.payments.c.id == payment_id).values(values))


def settle(pos: Pos, payment: Record) -> None:
    """A points payment whose answer was lost (``authorizing``): ask again with the same transaction id.
    Before its hold was known, silence means nothing was reserved for us; after, the commit's fate stays
    unknown until the center answers."""
    receipt = _receipt(pos, payment["receipt_id"])
    if payment["hold_id"] is None:
        with suppress(PosError):  # declined, with the reason on the payment
            hold(pos, receipt, payment)
        return
    _commit(pos, receipt, payment)


def _receipt(pos: Pos, receipt_id: str) -> Record:
    with pos.db.read() as conn:
        return receipts.get(conn, receipt_id)


def _commit(pos: Pos, receipt: Record, payment: Record) -> None:
    """Spend a held points payment. Refused (the hold expired, the card was blocked): the payment is
    declined and the receipt is due again. No answer: ``authorizing`` until the center says."""
    _payment(pos, payment["id"], status="authorizing")
    try:
        client(pos).commit(
            _tid(payment["id"], "commit"),
            state_of(receipt)["card"],
            payment["hold_id"],
            payment["amount"],
            receipt_id=receipt["id"],
        )
    except ProcessingUnreachable as exc:
        if not exc.delivered:  # it never reached the center: the hold is still only a hold
            _payment(pos, payment["id"], status="approved")
        raise PosError(
            N_(
                "The processing center does not answer: the points payment is not confirmed yet; press"
                " Retry when it answers"
            )
        ) from None
    except ProcessingError as exc:
        _payment(pos, payment["id"], status="declined", message=exc.detail)
        raise PosError(
            N_("The points payment was refused: {reason}; take another payment"), reason=exc.detail
        ) from None
    _payment(pos, payment["id"], status="approved", committed=True)


def release(pos: Pos, payment: Record) -> None:
    """Let the points of a removed payment go. A spent (committed) payment cannot be removed: the
    receipt is cancelled instead, which gives them back."""
    if payment["committed"]:
        raise PosError(
            N_(
                "These points are spent at the processing center for this receipt: press Retry to finish"
                " it, or cancel the receipt (the points come back)"
            )
        )
    if payment["status"] == "authorizing":
        raise PosError(
            N_("The processing center has not confirmed the points payment yet: press Retry when it answers")
        )
    if payment["hold_id"] is None:
        return
    receipt = _receipt(pos, payment["receipt_id"])
    request = {
        "transaction_id": _tid(payment["id"], "release"),
        "card": state_of(receipt)["card"],
        "hold_id": payment["hold_id"],
    }
    try:
        client(pos).cancel(**request)
    except ProcessingUnreachable:
        with pos.write() as conn:  # the center hears it later; meanwhile the hold would expire anyway
            queue(pos, conn, RELEASE, request)
    except ProcessingError as exc:
        log.info("hold %s was not let go: %s", payment["hold_id"], exc)


def release_held(pos: Pos, receipt_id: str) -> None:
    """Let go the points held for a receipt being cancelled (points already spent come back through
    :func:`cancelled`)."""
    with pos.db.read() as conn:
        payments = receipts.payments_of(conn, receipt_id)
    for payment in payments:
        if payment["method"] in POINTS_METHODS and payment["status"] == "authorizing":
            settle(pos, payment)
    with pos.db.read() as conn:
        payments = receipts.taken(conn, receipt_id)
    for payment in payments:
        if payment["method"] in POINTS_METHODS and not payment["committed"]:
            release(pos, payment)


def wake(pos: Pos) -> None:
    """Something may have been queued for the center: send it now."""
    if pos.loyalty_sender is not None:
        pos.loyalty_sender.wake()


# --- closing and returning ----------------------------------------------------------------------------


def settle_receipt(pos: Pos, receipt: Record) -> None:
    """Before the registrar prints a receipt with a card: spend its held points, then ask for what the
    sale earns (or a return takes back), so the receipt can print it. The center's silence on the
    accrual does not stop the sale: it is queued when the receipt closes (``settlement`` "queued")."""
    state = state_of(receipt)
    if not state or state.get("settlement"):
        return
    with pos.db.read() as conn:
        held = [
            p
            for p in receipts.taken(conn, receipt["id"])
            if p["method"] in POINTS_METHODS and not p["committed"]
        ]
    if receipt["kind"] == "sale":
        for payment in held:
            _commit(pos, receipt, payment)
    with pos.db.read() as conn:
        kind, request = settlement_request(conn, receipt)
        waiting = pos.loyalty_outbox.pending(conn)
    if waiting:  # what the center has yet to hear goes first, in order
        state["settlement"] = "queued"
    else:
        state["settlement"] = _ask(pos, kind, request)
    with pos.write() as conn:
        _save(conn, receipt["id"], state)


def _ask(pos: Pos, kind: str, request: dict[str, Any]) -> Any:
    center = client(pos)
    try:
        if kind == ACCRUE:
            accrued = center.accrue(**request)
            return {"points": accrued.points, "available": accrued.balance.available}
        returned = center.return_goods(**request)
        return {
            "reversed": returned.reversed,
            "given_back": returned.given_back,
            "available": returned.balance.available,
        }
    except ProcessingUnreachable:
        return "queued"
    except ProcessingError as exc:
        if exc.kind in SETTLED_REFUSALS.get(kind, ()):
            return {"points": 0}
        log.error("the processing center refused the %s of receipt %s: %s", kind, request["receipt_id"], exc)
        return {"refused": exc.detail}


def settlement_request(conn: Connection, receipt: Record) -> tuple[str, dict[str, Any]]:
    """What the center is told of a closing receipt: a sale's accrual (its lines and how it was paid), or
    a return of lines of the sale it gives back from."""
    card = state_of(receipt)["card"]
    if receipt["kind"] == "sale":
        payments = [
            {"method": p["method"], "amount": p["amount"]}
            for p in receipts.payments_of(conn, receipt["id"])
            if p["status"] == "approved"
        ]
        return ACCRUE, {
            "transaction_id": f"{receipt['id']}:accrue",
            "card": card,
            "receipt_id": receipt["id"],
            "lines": center_lines(conn, receipt["id"]),
            "payments": payments,
        }
    return RETURN, {
        "transaction_id": f"{receipt['id']}:return",
        "card": card,
        "receipt_id": receipt["original_receipt_id"],
        "lines": [
            {"line_no": row["original_line_no"], "quantity": row["quantity"]}
            for row in receipts.lines_of(conn, receipt["id"])
            if not row["voided"] and row["original_line_no"] is not None
        ],
    }


def closed(pos: Pos, conn: Connection, receipt: Record) -> None:
    """In the transaction that closes the receipt: queue what the center did not hear."""
    state = state_of(receipt)
    if state.get("settlement") == "queued" or (state and not state.get("settlement")):
        kind, request = settlement_request(conn, receipt)
        queue(pos, conn, kind, request)


def cancelled(pos: Pos, conn: Connection, receipt: Record) -> None:
    """In the transaction that cancels the receipt: points spent for it come back. The center is told
    of the sale and of a return of all of it, so it ends where it was whatever it had heard already."""
    state = state_of(receipt)
    if not state or receipt["kind"] != "sale":
        return
    spent = any(p["committed"] for p in receipts.payments_of(conn, receipt["id"]))
    if not spent and not isinstance(state.get("settlement"), dict):
        return
    kind, request = settlement_request(conn, receipt)
    queue(pos, conn, kind, request)
    queue(
        pos,
        conn,
        RETURN,
        {
            "transaction_id": f"{receipt['id']}:cancel",
            "card": request["card"],
            "receipt_id": receipt["id"],
            "lines": [{"line_no": row["line_no"], "quantity": row["quantity"]} for row in request["lines"]],
        },
    )


def start_return(conn: Connection, return_id: str, sale: Record) -> None:
    """A return by receipt takes the sale's card: the center takes back the points of what returns."""
    card = state_of(sale).get("card")
    if card:
        _save(conn, return_id, {"card": card, "online": True})


def queue(pos: Pos, conn: Connection, kind: str, request: dict[str, Any]) -> None:
    pos.loyalty_outbox.add(conn, id=new_id(), kind=kind, payload=request)


def receipt_footer(receipt: Record) -> list[str]:
    """The lines the registrar prints under the receipt about the card (in the store's language)."""
    state = state_of(receipt)
    if not state:
        return []
    words = translations("osuite.pos", DEFAULT_LANGUAGE)

    def say(template: str, **params: object) -> str:
        return render(words, template, params)

    lines = [say(N_("Loyalty card {card}"), card=_masked(state["card"]))]
    settlement = state.get("settlement")
    if isinstance(settlement, dict) and "points" in settlement:
        lines.append(say(N_("Points earned: {points}"), points=format_money(settlement["points"])))
    if isinstance(settlement, dict) and "reversed" in settlement:
        lines.append(say(N_("Points taken back: {points}"), points=format_money(settlement["reversed"])))
        if settlement["given_back"]:
            given = format_money(settlement["given_back"])
            lines.append(say(N_("Points given back: {points}"), points=given))
    if isinstance(settlement, dict) and "available" in settlement:
        lines.append(say(N_("Points balance: {points}"), points=format_money(settlement["available"])))
    if settlement == "queued":
        lines.append(say(N_("Points will be added to the card as soon as the processing center answers")))
    return lines


def _masked(card: str) -> str:
    return card if len(card) <= 4 else "*" * (len(card) - 4) + card[-4:]


# --- the outbox to the processing center --------------------------------------------------------------


def sender(pos: Pos, center: ProcessingClient) -> OutboxSender:
    """Delivers the loyalty outbox in order, stopping at the first document the center does not answer
    (a return must not overtake the accrual of its sale)."""

    def deliver(documents: list[DocumentIn]) -> IntakeAnswer:
        held: list[str] = []
        rejected: list[Rejection] = []
        for document in documents:
            try:
                _deliver(center, document.kind, document.payload)
            except ProcessingUnreachable as exc:
                if not held and not rejected:
                    raise LinkDown(exc.detail) from None
                break
            except ProcessingError as exc:
                if exc.status >= 500 or exc.status in (401, 403):  # down, or our key: not this document
                    if held or rejected:
                        break
                    raise (LinkDown if exc.status >= 500 else LinkRefused)(exc.detail) from None
                if exc.kind not in SETTLED_REFUSALS.get(document.kind, ()):
                    rejected.append(Rejection(id=document.id, reason=f"{exc.kind}: {exc.detail}"[:1000]))
                    continue
            held.append(document.id)
        return IntakeAnswer(held=held, rejected=rejected)

    return OutboxSender(pos.loyalty_outbox, deliver, batch_size=50, max_backoff=60.0)


def status(pos: Pos) -> dict[str, Any] | None:
    """The till's processing center as its health and heartbeat show it (None: it has none)."""
    if pos.processing is None:
        return None
    with pos.db.read() as conn:
        waiting = pos.loyalty_outbox.pending(conn)
        dead = len(pos.loyalty_outbox.dead_letters(conn))
    sender = pos.loyalty_sender
    return {
        "url": pos.processing.base_url,
        "documents_waiting": waiting,
        "refused": dead,
        "last_send_at": sender.last_success.isoformat() if sender and sender.last_success else None,
        "error": sender.last_error if sender else None,
    }


def _deliver(center: ProcessingClient, kind: str, request: dict[str, Any]) -> None:
    if kind == ACCRUE:
        center.accrue(**request)
    elif kind == RETURN:
        center.return_goods(**request)
    elif kind == RELEASE:
        center.cancel(**request)
    else:
        raise ProcessingError(422, "unknown_kind", f"the till does not know how to send {kind!r}")
