"""The cashier's screen, served by the POS itself: pages (login, the sale screen, the customer display)
and the htmx actions behind every key and button. Actions call the same use cases as the JSON API and
answer with :func:`screen.update`; a refusal becomes a dialog or a message (:func:`screen.refusal`)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from osuite.core.i18n import LANGUAGES, N_
from osuite.core.money import MoneyError, parse_money
from osuite.pos import catalog, checkout, loyalty, receipts, returns, shifts
from osuite.pos.auth import Cashier, login, logout
from osuite.pos.context import Pos
from osuite.pos.errors import Invalid, NotLoggedIn, PosError
from osuite.pos.ui import screen
from osuite.pos.ui.screen import LANGUAGE_COOKIE, SESSION_COOKIE, Update

router = APIRouter(include_in_schema=False)

Work = Callable[[Pos, Cashier, FormData], Update | None]
YEAR = 365 * 24 * 3600


# --- pages ----------------------------------------------------------------------------------------------


@router.get("/login")
def login_page(request: Request) -> HTMLResponse:
    return screen.page(request, "login.html")


@router.post("/login")
def post_login(request: Request, pin: Annotated[str, Form()] = "") -> Response:
    pos = screen.pos_of(request)
    try:
        with pos.write() as conn:
            token, _who = login(conn, pin.strip(), pos.now())
    except PosError as exc:
        return screen.page(request, "login.html", 401, error=screen.message_of(request, exc))
    answer = RedirectResponse("/", status_code=303)
    answer.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict")
    return answer


@router.post("/logout")
def post_logout(request: Request) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        with screen.pos_of(request).write() as conn:
            logout(conn, token)
    answer = _to_login(request)
    answer.delete_cookie(SESSION_COOKIE)
    return answer


@router.get("/lang/{code}")
def choose_language(request: Request, code: str) -> RedirectResponse:
    back = urlsplit(request.headers.get("referer", "/"))
    answer = RedirectResponse(back.path or "/", status_code=303)  # only our own path: no open redirect
    if code in LANGUAGES:
        answer.set_cookie(LANGUAGE_COOKIE, code, max_age=YEAR, samesite="strict")
    return answer


@router.get("/")
def sale_page(request: Request) -> Response:
    try:
        who = screen.cashier(request)
    except NotLoggedIn:
        return RedirectResponse("/login", status_code=303)
    return screen.page(request, "sale.html", who=who, state=screen.till_state(request))


@router.get("/customer")
def customer_page(request: Request) -> HTMLResponse:
    return screen.page(request, "customer.html", receipt=_customer_receipt(request))


@router.get("/ui/customer")
def customer_part(request: Request) -> HTMLResponse:
    return screen.page(request, "customer_part.html", receipt=_customer_receipt(request))


def _customer_receipt(request: Request) -> dict[str, Any] | None:
    with screen.pos_of(request).db.read() as conn:
        receipt = receipts.active(conn)
        return receipts.view(conn, receipt) if receipt else None


@router.get("/ui/status")
def status_part(request: Request) -> Response:
    try:
        who = screen.cashier(request)
    except NotLoggedIn:
        return _to_login(request)
    return screen.page(request, "status.html", who=who, state=screen.till_state(request))


# --- how every action runs --------------------------------------------------------------------------------


async def act(request: Request, work: Work) -> Response:
    """Run ``work`` for the logged-in cashier (in the thread pool: it waits on the database and on
    devices) and answer with the whole screen updated, or with what the refusal asks for."""
    form = await request.form()

    def run() -> Response:
        try:
            who = screen.cashier(request)
        except NotLoggedIn:
            return _to_login(request)
        try:
            change = work(screen.pos_of(request), who, form)
        except PosError as exc:
            return screen.refusal(request, who, exc, form, _text(form, "_dialog") or None)
        return screen.update(request, who, change)

    return await run_in_threadpool(run)


def _to_login(request: Request) -> Response:
    """Back to the PIN: htmx follows the header, a browser the redirect."""
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": "/login"})
    return RedirectResponse("/login", status_code=303)


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _pin(form: FormData) -> str | None:
    return _text(form, "supervisor_pin") or None


def _line_no(form: FormData) -> int:
    text = _text(form, "line_no")
    if not text.isdigit():
        raise Invalid(N_("Choose a line first"))
    return int(text)


def _quantity(text: str) -> Decimal:
    try:
        value = Decimal(text.replace(",", ".").replace(" ", ""))
    except ArithmeticError:
        raise Invalid(N_("{text} is not a quantity: type a number such as 2 or 0.455"), text=text) from None
    if not value.is_finite():
        raise Invalid(N_("{text} is not a quantity: type a number such as 2 or 0.455"), text=text)
    return value


def _money(text: str) -> int:
    try:
        return parse_money(text)
    except MoneyError:
        raise Invalid(N_("{text} is not an amount of money: type it like 500 or 120.50"), text=text) from None


# --- dialogs ----------------------------------------------------------------------------------------------

DIALOGS = ("search", "quantity", "discount", "payment", "held", "return", "shift", "cancel", "card")


@router.get("/ui/dialog/{name}")
async def open_dialog(request: Request, name: str) -> Response:
    def show(pos: Pos, who: Cashier, form: FormData) -> Update:
        if name not in DIALOGS:
            raise Invalid(N_("There is no such screen"))
        return Update(name, screen.dialog_values(request, name, request.query_params))

    return await act(request, show)


# --- the receipt ------------------------------------------------------------------------------------------


@router.post("/ui/items")
async def add_item(request: Request) -> Response:
    def add(pos: Pos, who: Cashier, form: FormData) -> Update:
        weight = _text(form, "weight") or _text(form, "quantity")
        receipt = receipts.add_item(
            pos,
            who,
            code=_text(form, "code") or None,
            article=_text(form, "article") or None,
            product_id=_text(form, "product_id") or None,
            quantity=_quantity(weight) if weight else None,
            age_confirmed=bool(_text(form, "age_confirmed")),
        )
        return Update(highlight=receipt["added_line_no"])

    return await act(request, add)


@router.get("/ui/search")
def search(request: Request, q: str = "") -> Response:
    try:
        screen.cashier(request)
    except NotLoggedIn:
        return _to_login(request)
    pos = screen.pos_of(request)
    found: list[Any] = []
    if q.strip():
        with pos.db.read() as conn:
            found = catalog.search(conn, pos.terminal(conn).store_id, q.strip(), limit=30)
    return screen.page(request, "results.html", found=found, q=q)


@router.get("/ui/scale")
def read_scale(request: Request) -> Response:
    error, weight = "", ""
    try:
        screen.cashier(request)
        weight = f"{receipts.weigh_on_scale(screen.pos_of(request)):.3f}"
    except NotLoggedIn:
        return _to_login(request)
    except PosError as exc:
        error = screen.message_of(request, exc)
    return screen.page(request, "weight_field.html", weight=weight, error=error)


@router.post("/ui/quantity")
async def set_quantity(request: Request) -> Response:
    def change(pos: Pos, who: Cashier, form: FormData) -> None:
        receipts.set_quantity(pos, who, _line_no(form), _quantity(_text(form, "quantity")), _pin(form))

    return await act(request, change)


@router.post("/ui/void")
async def void_line(request: Request) -> Response:
    def void(pos: Pos, who: Cashier, form: FormData) -> None:
        receipts.void_line(pos, who, _line_no(form), _pin(form))

    return await act(request, void)


@router.post("/ui/discount")
async def discount(request: Request) -> Response:
    def give(pos: Pos, who: Cashier, form: FormData) -> None:
        value = _text(form, "value")
        if not value:
            raise Invalid(N_("Type the discount: a percent or an amount"))
        percent = _quantity(value) if _text(form, "kind") == "percent" else None
        receipts.manual_discount(
            pos,
            who,
            percent=percent,
            amount=None if percent is not None else _money(value),
            line_no=_line_no(form) if _text(form, "scope") == "line" else None,
            supervisor_pin=_pin(form),
        )

    return await act(request, give)


@router.post("/ui/card")
async def attach_card(request: Request) -> Response:
    def attach(pos: Pos, who: Cashier, form: FormData) -> Update:
        receipt = loyalty.attach_card(pos, who, _text(form, "number"))
        if receipt["loyalty"]["online"]:
            return Update()
        return Update(
            message=screen.translate(
                request,
                N_(
                    "The processing center does not answer: the sale goes on without spending points; its"
                    " points will be added later"
                ),
            ),
            message_kind="warn",
        )

    return await act(request, attach)


@router.post("/ui/card/remove")
async def detach_card(request: Request) -> Response:
    def detach(pos: Pos, who: Cashier, form: FormData) -> None:
        loyalty.detach_card(pos, who)

    return await act(request, detach)


@router.post("/ui/pay")
async def pay(request: Request) -> Response:
    def take(pos: Pos, who: Cashier, form: FormData) -> Update:
        amount = _text(form, "amount")
        receipt = checkout.pay(pos, who, _text(form, "payment_type"), _money(amount) if amount else None)
        return _after_payment(request, receipt)

    return await act(request, take)


@router.post("/ui/payments/{payment_id}/remove")
async def remove_payment(request: Request, payment_id: str) -> Response:
    def remove(pos: Pos, who: Cashier, form: FormData) -> Update:
        checkout.remove_payment(pos, who, payment_id)
        return _payment_dialog(request)

    return await act(request, remove)


@router.post("/ui/close")
async def retry_close(request: Request) -> Response:
    def close(pos: Pos, who: Cashier, form: FormData) -> Update:
        return _after_payment(request, checkout.close(pos))

    return await act(request, close)


def _after_payment(request: Request, receipt: dict[str, Any]) -> Update:
    """A closed receipt shows the change to hand over; one still due keeps the payment dialog open."""
    if receipt["status"] == "closed":
        return Update("change", {"receipt": receipt})
    return _payment_dialog(request)


def _payment_dialog(request: Request) -> Update:
    return Update("payment", screen.dialog_values(request, "payment", {}))


@router.post("/ui/hold")
async def hold(request: Request) -> Response:
    def put_aside(pos: Pos, who: Cashier, form: FormData) -> None:
        receipts.hold(pos, who)

    return await act(request, put_aside)


@router.post("/ui/held/{receipt_id}/resume")
async def resume(request: Request, receipt_id: str) -> Response:
    def bring_back(pos: Pos, who: Cashier, form: FormData) -> None:
        receipts.resume(pos, who, receipt_id)

    return await act(request, bring_back)


@router.post("/ui/cancel")
async def cancel(request: Request) -> Response:
    def drop(pos: Pos, who: Cashier, form: FormData) -> None:
        checkout.cancel(pos, who, _pin(form), _text(form, "receipt_id") or None)

    return await act(request, drop)


# --- returns ----------------------------------------------------------------------------------------------


@router.post("/ui/return/find")
async def find_sale(request: Request) -> Response:
    def find(pos: Pos, who: Cashier, form: FormData) -> Update:
        number = _text(form, "number")
        if not number.isdigit():
            raise Invalid(N_("Type the number of the sale's receipt"))
        values = screen.dialog_values(request, "return", form)
        if not values["sales"]:
            raise Invalid(N_("No sale with the number {number} at this till"), number=number)
        return Update("return", values)

    return await act(request, find)


@router.post("/ui/returns")
async def start_return(request: Request) -> Response:
    def start(pos: Pos, who: Cashier, form: FormData) -> Update | None:
        original = _text(form, "original_receipt_id") or None
        returns.start(pos, who, original, _pin(form))
        return Update("return_lines") if original else None

    return await act(request, start)


@router.post("/ui/return-lines")
async def return_line(request: Request) -> Response:
    def take_back(pos: Pos, who: Cashier, form: FormData) -> Update:
        receipt = returns.add_line(pos, who, _line_no(form), _quantity(_text(form, "quantity")))
        return Update("return_lines", highlight=receipt["added_line_no"])

    return await act(request, take_back)


@router.post("/ui/refund")
async def refund(request: Request) -> Response:
    def pay_back(pos: Pos, who: Cashier, form: FormData) -> Update:
        return _after_payment(request, returns.refund(pos, who))

    return await act(request, pay_back)


# --- shift ------------------------------------------------------------------------------------------------


@router.post("/ui/shift/{operation}")
async def shift_operation(request: Request, operation: str) -> Response:
    def run(pos: Pos, who: Cashier, form: FormData) -> Update:
        pin = _pin(form)
        report: dict[str, Any] | None = None
        if operation == "open":
            shifts.open_shift(pos, who, pin)
        elif operation == "x-report":
            report = shifts.x_report(pos, who, pin)
        elif operation == "z-report":
            report = shifts.close_shift(pos, who, pin)
        elif operation in ("cash-in", "cash-out"):
            shifts.cash_operation(
                pos,
                who,
                operation.removeprefix("cash-"),
                _money(_text(form, "amount")),
                _text(form, "reason"),
                pin,
            )
        elif operation == "open-drawer":
            shifts.open_drawer(pos, who, pin)
        else:
            raise Invalid(N_("There is no such shift operation"))
        return Update("shift", {"report": report, "done": operation})

    return await act(request, run)
