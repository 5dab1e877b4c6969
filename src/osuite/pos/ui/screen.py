"""Drawing the cashier's screen: who is logged in and in which language, what the till is doing, and
how each refusal of the engine turns into what the cashier sees (a dialog that asks for what is
missing, or a message that says what to do).

Every action answers with the same update: the receipt, the status bar, the message line and the
dialog, each swapped in place by htmx (out of band), so no action can leave part of the screen stale.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import FormData

from osuite.core.i18n import N_, language_of, render, translations
from osuite.core.web import templates
from osuite.pos import api, catalog, receipts, returns
from osuite.pos.auth import Cashier, session
from osuite.pos.context import Pos
from osuite.pos.errors import DeviceFailed, Invalid, NeedsApproval, NotLoggedIn, PosError, WrongSupervisorPin
from osuite.pos.receipts import NeedsAgeCheck, NeedsWeight

SESSION_COOKIE = "pos_session"
LANGUAGE_COOKIE = "pos_language"
PACKAGE = "osuite.pos"
CENTER_WORDS = "osuite.processing"
"""The processing center's refusals (a blocked card, too few points) reach the screen in its words: its
catalog is read as a resource (no code of it is imported)."""

# What to do about a device's trouble, in the cashier's words; keyed by device and the driver's code.
DEVICE_ADVICE = {
    ("registrar", "paper_out"): N_(
        "The receipt printer is out of paper: put in a new roll, then press Retry."
    ),
    ("registrar", "cover_open"): N_("The printer's cover is open: close it, then press Retry."),
    ("registrar", "unreachable"): N_(
        "The fiscal registrar does not answer: check that it is on and its "
        "cable is in, then press Retry. The receipt is kept."
    ),
    ("registrar", "busy"): N_("The fiscal registrar is busy: wait a moment and press Retry."),
    ("registrar", "shift_expired"): N_(
        "The shift has lasted 24 hours: close it with a Z report (F10), then open a new one."
    ),
    ("registrar", "shift_not_open"): N_("No shift is open on the fiscal registrar: open a shift (F10)."),
    ("registrar", "not_enough_cash"): N_("The drawer does not hold that much cash."),
    ("registrar", "printer_error"): N_("The receipt printer reports an error: check it, then press Retry."),
    ("card", "declined"): N_("The card was declined: ask for another card or another way to pay."),
    ("card", "timeout"): N_(
        "The card terminal did not answer in time: check it, then pay again; a payment "
        "that went through is found, never taken twice."
    ),
    ("card", "unreachable"): N_(
        "The card terminal does not answer: check that it is on and connected, or take another way to pay."
    ),
    ("card", "busy"): N_("The card terminal is busy: wait a moment and try again."),
    ("scale", "unreachable"): N_("The scale does not answer: type the weight instead."),
    ("scale", "unstable"): N_("The weight is still settling: wait a moment and read it again."),
    ("scale", "overload"): N_("Too much on the scale."),
    ("scale", "empty"): N_("Nothing on the scale: put the goods on it, or type the weight."),
}


@dataclass
class Update:
    """What an action shows besides the receipt: a dialog (template name and its values) and a message."""

    dialog: str | None = None
    values: dict[str, Any] = field(default_factory=dict)
    message: str | None = None
    message_kind: str = ""
    highlight: int | None = None  # the line just added or changed (else the last line stays marked)


def pos_of(request: Request) -> Pos:
    pos: Pos = request.app.state.pos
    return pos


def language(request: Request) -> str:
    return language_of(request.cookies.get(LANGUAGE_COOKIE))


def translate(request: Request, message: str, params: Mapping[str, object] | None = None) -> str:
    return render(translations(PACKAGE, language(request), CENTER_WORDS), message, params or {})


def cashier(request: Request) -> Cashier:
    """The cashier whose session cookie came with the request; :class:`NotLoggedIn` otherwise."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise NotLoggedIn(N_("Log in with your PIN"))
    with pos_of(request).db.read() as conn:
        return session(conn, token)


def page(request: Request, name: str, status_code: int = 200, **values: Any) -> HTMLResponse:
    env = templates("osuite.pos.ui", language(request))
    return HTMLResponse(env.get_template(name).render(request=request, **values), status_code=status_code)


def till_state(request: Request) -> dict[str, Any]:
    """Everything the screen shows around the dialogs: terminal, shift, link, the receipt and, for a
    return by receipt, what of the original sale can still be returned."""
    pos = pos_of(request)
    state = api.status(request, pos)
    receipt = state["receipt"]
    state["original"] = None
    live = [line["line_no"] for line in receipt["lines"] if not line["voided"]] if receipt else []
    state["highlight"] = live[-1] if live else None
    if receipt and receipt["kind"] == "return" and receipt["original_receipt_id"]:
        with pos.db.read() as conn:
            state["original"] = returns.sale_view(
                conn, returns.closed_sale(conn, receipt["original_receipt_id"])
            )
    return state


def update(request: Request, who: Cashier, change: Update | None = None, **state: Any) -> HTMLResponse:
    change = change or Update()
    state = state or till_state(request)
    if change.highlight is not None:
        state["highlight"] = change.highlight
    return page(
        request,
        "update.html",
        who=who,
        state=state,
        dialog=change.dialog,
        values=change.values,
        message=change.message,
        message_kind=change.message_kind,
    )


def refusal(
    request: Request, who: Cashier, exc: PosError, form: FormData, dialog: str | None
) -> HTMLResponse:
    """The engine said no: ask for what it needs (a supervisor's PIN, a weight, the customer's age) in a
    dialog that repeats the same request with it, or say what is wrong and what to do; inside a dialog
    the message shows in that dialog, which stays open."""
    asked = {k: str(v) for k, v in form.items() if k not in ("supervisor_pin", "age_confirmed")}
    repeat = {"action": request.url.path, "fields": asked}
    text = message_of(request, exc)
    if isinstance(exc, NeedsApproval | WrongSupervisorPin):
        tried = bool(form.get("supervisor_pin"))
        return update(
            request, who, Update("approval", {**repeat, "error": text if tried else "", "ask": text})
        )
    if isinstance(exc, NeedsWeight):
        return update(request, who, Update("weight", {**repeat, "ask": text}))
    if isinstance(exc, NeedsAgeCheck):
        return update(request, who, Update("age", {**repeat, "ask": text, "age": exc.age}))
    kind = exc.kind
    if dialog:
        values = {**dialog_values(request, dialog, form), "error": text}
        return update(request, who, Update(dialog, values, message_kind=kind))
    return update(request, who, Update(message=text, message_kind=kind))


def message_of(request: Request, exc: PosError) -> str:
    """The refusal in the cashier's language; a device's trouble with what to do about it."""
    if isinstance(exc, DeviceFailed):
        said = translate(request, exc.template, exc.params)
        advice = DEVICE_ADVICE.get((exc.device, exc.code))
        return f"{translate(request, advice)} ({said})" if advice else said
    return translate(request, exc.template, exc.params)


def dialog_values(request: Request, dialog: str, form: FormData | Mapping[str, Any]) -> dict[str, Any]:
    """What a dialog needs besides the till's state: when it opens, and when it is shown again after a
    refusal (with what the cashier had typed)."""
    pos = pos_of(request)
    values: dict[str, Any] = {k: v for k, v in form.items() if k != "supervisor_pin"}
    with pos.db.read() as conn:
        if dialog == "return":
            number = str(form.get("number") or "")
            values["sales"] = (
                returns.find_sales(conn, number=int(number), limit=10) if number.isdigit() else []
            )
        elif dialog == "held":
            values["held"] = receipts.held(conn)
        elif dialog == "payment":
            kinds = catalog.payment_types(conn)
            values["payment_types"] = kinds
            values["payment_names"] = {kind["code"]: kind["name"] for kind in kinds}
        elif dialog == "quantity":
            receipt = receipts.editable(conn)
            line_no = str(form.get("line_no") or "")
            line = next(
                (x for x in receipts.view(conn, receipt)["lines"] if str(x["line_no"]) == line_no), None
            )
            if line is None:
                raise Invalid(N_("Choose a line first"))
            shown = Decimal(line["quantity"])
            values.setdefault("quantity", f"{shown:.3f}" if line["weighted"] else f"{shown.normalize():f}")
            values["line"] = line
    return values
