"""Loyalty: the processing center's customers, cards, balances and journals, and its programs (read
only). A store manager or an administrator blocks and unblocks cards, reports them lost, issues new
ones and corrects balances in their own name; a refusal of the center is shown next to the form, and
nothing has changed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from types import SimpleNamespace
from typing import Annotated, Any

from babel.numbers import format_decimal
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from osuite.core.i18n import N_, render, translations
from osuite.core.money import MoneyError, parse_money
from osuite.manager.roles import Action
from osuite.manager.sessions import User
from osuite.manager.web import CurrentUser, Section, allowed, backends, language, page, remember
from osuite.processing.client import ProcessingClient, ProcessingError, new_transaction_id
from osuite.processing.wire import AccountRead, CardRead, CustomerRead, MovementRead

SECTION = Section("loyalty", N_("Loyalty"), "/loyalty", lambda b: b.processing is not None)
router = APIRouter(include_in_schema=False)
Manages = Annotated[User, Depends(allowed(Action.MANAGE_LOYALTY))]

PAGE = 50
"""Customers on a page of the list."""
REASON_LENGTH = 200
"""The longest reason the center keeps."""

KINDS: dict[str, str] = {
    "accrual": N_("Accrued"),
    "gift_load": N_("Gift card loaded"),
    "refund": N_("Given back on a return"),
    "adjustment": N_("Adjusted"),
    "redemption": N_("Spent"),
    "reversal": N_("Taken back on a return"),
    "expiry": N_("Expired"),
    "hold": N_("Held for a receipt"),
    "hold_release": N_("Hold let go"),
    "grant": N_("Lent to a store's center"),
    "grant_release": N_("Given back by a store's center"),
}
"""The journal's kinds of movement as people call them."""
STATUSES: dict[str, str] = {
    "active": N_("Card active"),
    "blocked": N_("Card blocked"),
    "lost": N_("Card lost"),
}
TYPES: dict[str, str] = {"bonus": N_("Bonus points"), "discount": N_("Discount"), "gift": N_("Gift card")}
CENTER_WORDS = "osuite.processing"


class FormProblem(ValueError):
    """What a person typed cannot be sent: ``message`` (English, marked) with its ``params``."""

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message.format(**params))
        self.message = message
        self.params = params


@dataclass(frozen=True)
class Adjustment:
    points: int
    """Hundredths of a point, as the center keeps them: ``-2050`` takes 20.50 points."""
    reason: str


def parse_adjustment(amount: str, reason: str) -> Adjustment:
    """The adjustment form as the center takes it: points as people write them (``150``, ``-20,50``,
    ``1 000``) and a reason, which the center requires."""
    try:
        points = parse_money(amount)
    except MoneyError:
        raise FormProblem(
            N_("Write the points as a number, with a minus to take them: 150 or -20.50")
        ) from None
    if points == 0:
        raise FormProblem(N_("Write how many points to add, or to take with a minus"))
    said = " ".join(reason.split())
    if not said:
        raise FormProblem(N_("Say why the balance is corrected"))
    if len(said) > REASON_LENGTH:
        raise FormProblem(N_("The reason is longer than {limit} characters"), limit=REASON_LENGTH)
    return Adjustment(points, said)


def parse_nominal(text: str) -> int | None:
    """A gift card's nominal from the issue form: money as people write it; empty for other cards."""
    if not text.strip():
        return None
    try:
        nominal = parse_money(text)
    except MoneyError:
        raise FormProblem(N_("Write the nominal as an amount: 1000 or 500.50")) from None
    if nominal <= 0:
        raise FormProblem(N_("A gift card's nominal is more than zero"))
    return nominal


def newest_first(movements: list[MovementRead]) -> list[MovementRead]:
    """The journal as a person reads it: the latest movement on top (the center answers oldest first)."""
    return sorted(movements, key=lambda m: (m.occurred_at, m.id), reverse=True)


def who(movement: MovementRead) -> str:
    """Who made a movement: the person of an adjustment, else the center where it happened."""
    return movement.actor or movement.holder or movement.origin


def percent(value: object, language: str) -> str:
    """A program's percent as the center keeps it (``"5.00"``) the way the person's language writes it."""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    return f"{format_decimal(number, format='#,##0.##', locale=language)} %"


def refusal(error: ProcessingError, language: str) -> str:
    """The center's refusal in the person's language (its own words for it when the Manager has none)."""
    if not error.template:
        return error.detail
    words = translations("osuite.manager", language, CENTER_WORDS)
    return render(words, error.template, {k: _phrase(v) for k, v in error.params.items()})


def _phrase(value: Any) -> Any:
    """A phrase inside a refusal comes as ``{"template", "params"}``: made something :func:`render` reads."""
    if isinstance(value, dict) and isinstance(value.get("template"), str):
        params = {k: _phrase(v) for k, v in (value.get("params") or {}).items()}
        return SimpleNamespace(template=value["template"], params=params)
    return value


def _said(problem: FormProblem, language: str) -> str:
    return render(translations("osuite.manager", language), problem.message, problem.params)


def _center(request: Request) -> ProcessingClient:
    client = backends(request).processing
    assert client is not None  # the section is only shown when there is one
    return client


def _not_found(error: ProcessingError) -> bool:
    return error.status == 404


def _values(request: Request) -> dict[str, Any]:
    lang = language(request)
    return {
        "section": "loyalty",
        "kinds": KINDS,
        "statuses": STATUSES,
        "types": TYPES,
        "who": who,
        "percent": lambda value: percent(value, lang),
    }


# --- customers ------------------------------------------------------------------------------------


@router.get("/loyalty")
def index(
    request: Request,
    user: CurrentUser,
    q: Annotated[str, Query(max_length=200)] = "",
    after: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    """The customers a page at a time; a search by card number, phone or customer id goes straight to
    what it finds."""
    center = _center(request)
    sought = q.strip()
    customers: list[CustomerRead]
    if sought:
        found = _find(center, sought)
        if isinstance(found, str):
            return RedirectResponse(found, status_code=303)
        customers = found
    else:
        customers = center.customers(after=after or None, limit=PAGE + 1)
    more = not sought and len(customers) > PAGE
    return page(
        request,
        user,
        "loyalty.html",
        **_values(request),
        q=sought,
        customers=customers[:PAGE],
        next_after=customers[PAGE - 1].id if more else None,
        after=after,
    )


def _find(center: ProcessingClient, sought: str) -> str | list[CustomerRead]:
    """Where a search leads: a card's page, the page of the one customer found, or those found."""
    try:
        return f"/loyalty/cards/{center.card(sought).number}"
    except ProcessingError as exc:
        if not _not_found(exc):
            raise
    by_phone = center.customers(phone=sought)
    if len(by_phone) == 1:
        return f"/loyalty/customers/{by_phone[0].id}"
    if by_phone:
        return by_phone
    try:
        return f"/loyalty/customers/{center.customer(sought).id}"
    except ProcessingError as exc:
        if not _not_found(exc):
            raise
    return []


@router.post("/loyalty/customers")
def add_customer(
    request: Request,
    user: Manages,
    name: Annotated[str, Form()] = "",
    phone: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
) -> Response:
    center = _center(request)
    try:
        if not name.strip():
            raise FormProblem(N_("Write the customer's name"))
        customer = center.create_customer(
            name.strip(), phone=phone.strip() or None, email=email.strip() or None
        )
    except (FormProblem, ProcessingError) as exc:
        form = {"name": name, "phone": phone, "email": email}
        customers = center.customers(limit=PAGE + 1)
        return page(
            request,
            user,
            "loyalty.html",
            status_code=_status(exc),
            **_values(request),
            q="",
            customers=customers[:PAGE],
            next_after=customers[PAGE - 1].id if len(customers) > PAGE else None,
            after="",
            problem=_problem_text(exc, request),
            form=form,
        )
    remember(request, user, "loyalty", "customer_added", customer.id, customer.name)
    return RedirectResponse(f"/loyalty/customers/{customer.id}", status_code=303)


@router.get("/loyalty/customers/{customer_id}")
def customer_page(request: Request, user: CurrentUser, customer_id: str) -> Response:
    return _customer_page(request, user, customer_id)


def _customer_page(
    request: Request,
    user: User,
    customer_id: str,
    *,
    status_code: int = 200,
    problems: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    center = _center(request)
    journal = center.customer_journal(customer_id)
    accounts = [center.account(a.account_id) for a in journal.accounts]
    return page(
        request,
        user,
        "loyalty/customer.html",
        status_code=status_code,
        **_values(request),
        customer=journal.customer,
        accounts=accounts,
        programs=center.programs(),
        problems=problems or {},
        form=form or {},
    )


@router.post("/loyalty/customers/{customer_id}")
def change_customer(
    request: Request,
    user: Manages,
    customer_id: str,
    name: Annotated[str, Form()] = "",
    phone: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
) -> Response:
    center = _center(request)
    try:
        if not name.strip():
            raise FormProblem(N_("Write the customer's name"))
        changed = center.update_customer(
            customer_id, name.strip(), phone=phone.strip() or None, email=email.strip() or None
        )
    except (FormProblem, ProcessingError) as exc:
        return _customer_page(
            request,
            user,
            customer_id,
            status_code=_status(exc),
            problems={"change": _problem_text(exc, request)},
            form={"name": name, "phone": phone, "email": email},
        )
    remember(
        request,
        user,
        "loyalty",
        "customer_changed",
        customer_id,
        f"{changed.name} {changed.phone or ''}".strip(),
    )
    return RedirectResponse(f"/loyalty/customers/{customer_id}", status_code=303)


@router.post("/loyalty/customers/{customer_id}/cards")
def issue_card(
    request: Request,
    user: Manages,
    customer_id: str,
    number: Annotated[str, Form()] = "",
    account_id: Annotated[str, Form()] = "",
    type: Annotated[str, Form()] = "bonus",
    program_id: Annotated[str, Form()] = "default",
    nominal: Annotated[str, Form()] = "",
) -> Response:
    """A new card for the customer: on a new account of a type and program, or on one of theirs."""
    center = _center(request)
    try:
        if not number.strip():
            raise FormProblem(N_("Write the number of the new card"))
        fields: dict[str, Any]
        if account_id:
            fields = {"account_id": account_id}
        else:
            fields = {"customer_id": customer_id, "type": type, "program_id": program_id}
            gift = parse_nominal(nominal)
            if gift is not None:
                fields["nominal"] = gift
        card = center.issue_card(number.strip(), **fields)
    except (FormProblem, ProcessingError) as exc:
        return _customer_page(
            request,
            user,
            customer_id,
            status_code=_status(exc),
            problems={"issue": _problem_text(exc, request)},
            form={"number": number, "account_id": account_id, "type": type, "nominal": nominal},
        )
    remember(request, user, "loyalty", "card_issued", card.number, f"customer {customer_id}")
    return RedirectResponse(f"/loyalty/cards/{card.number}", status_code=303)


# --- cards ----------------------------------------------------------------------------------------


@router.get("/loyalty/cards/{number}")
def card_page(request: Request, user: CurrentUser, number: str) -> Response:
    return _card_page(request, user, number)


def _card_page(
    request: Request,
    user: User,
    number: str,
    *,
    status_code: int = 200,
    problems: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    center = _center(request)
    card = center.card(number)
    account: AccountRead = center.account(card.account_id)
    journal = center.journal(card.account_id)
    customer = center.customer(account.customer_id) if account.customer_id else None
    return page(
        request,
        user,
        "loyalty/card.html",
        status_code=status_code,
        **_values(request),
        card=card,
        account=account,
        balance=journal.balance,
        movements=newest_first(journal.movements),
        customer=customer,
        transaction_id=new_transaction_id(),
        problems=problems or {},
        form=form or {},
    )


@router.post("/loyalty/cards/{number}/block")
def block(request: Request, user: Manages, number: str) -> Response:
    return _card_change(request, user, number, "block", lambda c: c.block_card(number, actor=user.login))


@router.post("/loyalty/cards/{number}/unblock")
def unblock(request: Request, user: Manages, number: str) -> Response:
    return _card_change(request, user, number, "unblock", lambda c: c.unblock_card(number, actor=user.login))


@router.post("/loyalty/cards/{number}/lost")
def lost(request: Request, user: Manages, number: str, replacement: Annotated[str, Form()] = "") -> Response:
    """Lost for good; a replacement card keeps the account and its points."""
    new = replacement.strip() or None
    answer = _card_change(
        request, user, number, "lost", lambda c: c.card_lost(number, new), {"replacement": replacement}
    )
    if new and isinstance(answer, RedirectResponse):
        return RedirectResponse(f"/loyalty/cards/{new}", status_code=303)
    return answer


def _card_change(
    request: Request,
    user: User,
    number: str,
    action: str,
    change: Callable[[ProcessingClient], CardRead],
    form: dict[str, str] | None = None,
) -> Response:
    try:
        card = change(_center(request))
    except ProcessingError as exc:
        return _card_page(
            request,
            user,
            number,
            status_code=_status(exc),
            problems={action: _problem_text(exc, request)},
            form=form,
        )
    detail = f"→ {card.replaced_by}" if card.replaced_by else card.status
    remember(request, user, "loyalty", f"card_{action}", number, detail)
    return RedirectResponse(f"/loyalty/cards/{number}", status_code=303)


@router.post("/loyalty/cards/{number}/adjust")
def adjust(
    request: Request,
    user: Manages,
    number: str,
    amount: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    transaction_id: Annotated[str, Form()] = "",
) -> Response:
    """Points added or taken by hand in the person's name; the form's transaction id makes a second
    click of the same form harmless."""
    center = _center(request)
    try:
        wanted = parse_adjustment(amount, reason)
        card = center.card(number)
        center.adjust(
            card.account_id,
            wanted.points,
            wanted.reason,
            actor=user.login,
            transaction_id=transaction_id or None,
        )
    except (FormProblem, ProcessingError) as exc:
        return _card_page(
            request,
            user,
            number,
            status_code=_status(exc),
            problems={"adjust": _problem_text(exc, request)},
            form={"amount": amount, "reason": reason},
        )
    remember(request, user, "loyalty", "balance_adjusted", number, f"{amount.strip()} · {wanted.reason}")
    return RedirectResponse(f"/loyalty/cards/{number}", status_code=303)


def _status(error: FormProblem | ProcessingError) -> int:
    if isinstance(error, FormProblem):
        return 422
    return error.status if 400 <= error.status < 500 else 502


def _problem_text(error: FormProblem | ProcessingError, request: Request) -> str:
    """The words shown next to the form; a center that did not answer is not a refusal of the form,
    and goes on to the page every section shows for it."""
    if isinstance(error, FormProblem):
        return _said(error, language(request))
    if not 400 <= error.status < 500:
        raise error
    return refusal(error, language(request))


# --- programs -------------------------------------------------------------------------------------


@router.get("/loyalty/programs")
def programs(request: Request, user: CurrentUser) -> Response:
    return page(
        request, user, "loyalty/programs.html", **_values(request), programs=_center(request).programs()
    )


@router.get("/loyalty/programs/{program_id}")
def program(request: Request, user: CurrentUser, program_id: str) -> Response:
    found = _center(request).program(program_id)
    return page(
        request, user, "loyalty/program.html", **_values(request), program=found, rules=found.settings
    )
