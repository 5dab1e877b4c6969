"""Sales: the receipts, shifts and Z reports the terminals handed in to the data server, the totals of
each business day with a chart, and an export of a period's receipts. Read-only: everyone who may log
in sees it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import TypeAdapter
from starlette.background import BackgroundTask

from osuite.core.i18n import N_
from osuite.dataserver.client import DataServerClient, DataServerError, DataServerUnreachable
from osuite.dataserver.wire import documents as wire
from osuite.dataserver.wire.catalog import Page, PaymentTypeRead, UserRead
from osuite.dataserver.wire.clients import ClientRead, StoreRead
from osuite.manager.charts import bar_chart, every_day
from osuite.manager.web import CurrentUser, Section, backends, page

SECTION = Section("sales", N_("Sales"), "/sales", lambda _backends: True)
router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
DAILY_DAYS = 14
"""The daily totals show the last two weeks unless asked for another period."""
CHART_WIDTH, CHART_HEIGHT = 960, 240
KINDS = {"sale": N_("Sale"), "return": N_("Return")}
DISCOUNT_SOURCES = {"promotion": N_("Promotion"), "manual": N_("Manual discount"), "loyalty": N_("Loyalty")}
_payment_types = TypeAdapter(Page[PaymentTypeRead])


def parse_day(text: str | None) -> date | None:
    """A day typed into the toolbar, or None for an empty or unreadable one (the field then shows
    empty, which says the period is not bounded there)."""
    try:
        return date.fromisoformat(text.strip()) if text else None
    except ValueError:
        return None


@dataclass(frozen=True)
class Filters:
    """What the toolbar asks for, read from the page's query and written back into its links."""

    store_id: str = ""
    terminal_id: str = ""
    shift_id: str = ""
    kind: str = ""
    first: date | None = None
    last: date | None = None
    closed: str = ""
    """Shifts only: "true" closed ones, "false" open ones, "" both."""

    @classmethod
    def of(cls, query: Mapping[str, str], *, today: date, default_days: int = 1) -> Filters:
        """The query's filters; a first visit (no period in the query and no shift asked for) shows
        the last ``default_days`` days up to ``today``; fields sent empty mean "not bounded"."""
        found = cls(
            store_id=query.get("store_id", "").strip(),
            terminal_id=query.get("terminal_id", "").strip(),
            shift_id=query.get("shift_id", "").strip(),
            kind=query.get("kind", "") if query.get("kind") in KINDS else "",
            first=parse_day(query.get("from")),
            last=parse_day(query.get("to")),
            closed=query.get("closed", "") if query.get("closed") in ("true", "false") else "",
        )
        if "from" in query or "to" in query or found.shift_id:
            return found
        return replace(found, first=today - timedelta(days=default_days - 1), last=today)

    def params(self, *names: str) -> dict[str, str]:
        """The filters named (all of them by default) as the data server's and this page's query."""
        every = {
            "store_id": self.store_id,
            "terminal_id": self.terminal_id,
            "shift_id": self.shift_id,
            "kind": self.kind,
            "from": self.first.isoformat() if self.first else "",
            "to": self.last.isoformat() if self.last else "",
            "closed": self.closed,
        }
        return {k: v for k, v in every.items() if v and (not names or k in names)}

    def link(self, path: str, *names: str, **more: str) -> str:
        """``path`` with these filters, so that a link keeps what the person chose; an empty period
        is kept as such (sent empty) rather than falling back to today's."""
        query = {"from": "", "to": "", **self.params(*names), **more}
        return f"{path}?{urlencode(query)}"


def export_name(store_code: str, first: date | None, last: date | None, extension: str) -> str:
    """The downloaded file's name: what it holds, so that several exports side by side are told apart."""
    period = "-".join(d.isoformat() for d in (first, last) if d) or "all"
    return f"receipts-{store_code or 'all-stores'}-{period}.{extension}"


@dataclass
class Places:
    """What a page needs to name the stores and terminals it shows."""

    stores: list[StoreRead]
    terminals: list[ClientRead]

    @classmethod
    def read(cls, client: DataServerClient) -> Places:
        return cls(client.stores(), client.clients())

    def today(self, store_id: str) -> date:
        """Today in the store's timezone (the first store's when none is chosen): business days are
        counted there, not where the Manager runs."""
        chosen = [s for s in self.stores if s.id == store_id] or self.stores
        return datetime.now(ZoneInfo(chosen[0].timezone) if chosen else None).date()

    def store_names(self) -> dict[str, str]:
        return {s.id: s.name for s in self.stores}

    def terminal_names(self) -> dict[str, str]:
        return {t.id: t.name for t in self.terminals}

    def tills(self, store_id: str) -> list[ClientRead]:
        return [t for t in self.terminals if t.kind == "pos" and (not store_id or t.store_id == store_id)]


def _filters(request: Request, known: Places, default_days: int = 1) -> Filters:
    query = dict(request.query_params)
    return Filters.of(query, today=known.today(query.get("store_id", "")), default_days=default_days)


def _page_query(filters: Filters, after: str, *names: str) -> dict[str, Any]:
    query: dict[str, Any] = {**filters.params(*names), "limit": PAGE_SIZE}
    if after:
        query["after"] = after
    return query


def _common(known: Places, filters: Filters) -> dict[str, Any]:
    return {
        "filters": filters,
        "stores": known.stores,
        "tills": known.tills(filters.store_id),
        "store_names": known.store_names(),
        "terminal_names": known.terminal_names(),
        "kinds": KINDS,
    }


@router.get("/sales")
def receipts(request: Request, user: CurrentUser, after: str = "") -> Response:
    client = backends(request).dataserver
    known = Places.read(client)
    filters = _filters(request, known)
    query = _page_query(filters, after, "store_id", "terminal_id", "shift_id", "kind", "from", "to")
    found = wire.ReceiptsPage.model_validate(client.request("GET", "/api/v1/receipts", params=query))
    shift = (
        wire.ShiftDetail.model_validate(client.request("GET", f"/api/v1/shifts/{filters.shift_id}"))
        if filters.shift_id
        else None
    )
    return page(
        request,
        user,
        "sales.html",
        section="sales",
        tab="receipts",
        found=found,
        shift=shift,
        after=after,
        **_common(known, filters),
    )


@router.get("/sales/receipts/{receipt_id}")
def receipt(request: Request, user: CurrentUser, receipt_id: str) -> Response:
    client = backends(request).dataserver
    known = Places.read(client)
    read = wire.ReceiptRead.model_validate(client.request("GET", f"/api/v1/receipts/{receipt_id}"))
    shift = wire.ShiftDetail.model_validate(client.request("GET", f"/api/v1/shifts/{read.shift_id}"))
    original = (
        wire.ReceiptRead.model_validate(client.request("GET", f"/api/v1/receipts/{read.original_receipt_id}"))
        if read.original_receipt_id
        else None
    )
    people = _names(client, {read.cashier_id, shift.cashier_id, *(a.approved_by for a in read.approvals)})
    return page(
        request,
        user,
        "sales/receipt.html",
        section="sales",
        tab="receipts",
        receipt=read,
        shift=shift,
        original=original,
        people=people,
        payment_names=_payment_names(client),
        store_names=known.store_names(),
        terminal_names=known.terminal_names(),
        kinds=KINDS,
        discount_sources=DISCOUNT_SOURCES,
    )


@router.get("/sales/shifts")
def shifts(request: Request, user: CurrentUser, after: str = "") -> Response:
    client = backends(request).dataserver
    known = Places.read(client)
    filters = _filters(request, known, default_days=7)
    found = wire.ShiftsPage.model_validate(
        client.request(
            "GET",
            "/api/v1/shifts",
            params=_page_query(filters, after, "store_id", "terminal_id", "closed", "from", "to"),
        )
    )
    people = _names(client, {s.cashier_id for s in found.items})
    return page(
        request,
        user,
        "sales/shifts.html",
        section="sales",
        tab="shifts",
        found=found,
        after=after,
        people=people,
        **_common(known, filters),
    )


@router.get("/sales/shifts/{shift_id}")
def shift(request: Request, user: CurrentUser, shift_id: str) -> Response:
    client = backends(request).dataserver
    known = Places.read(client)
    read = wire.ShiftDetail.model_validate(client.request("GET", f"/api/v1/shifts/{shift_id}"))
    people = _names(client, {read.cashier_id, *(o.cashier_id for o in read.cash_operations)})
    return page(
        request,
        user,
        "sales/shift.html",
        section="sales",
        tab="shifts",
        shift=read,
        people=people,
        payment_names=_payment_names(client),
        store_names=known.store_names(),
        terminal_names=known.terminal_names(),
    )


@router.get("/sales/z-reports")
def z_reports(request: Request, user: CurrentUser, after: str = "") -> Response:
    client = backends(request).dataserver
    known = Places.read(client)
    filters = _filters(request, known, default_days=7)
    found = wire.ZReportsPage.model_validate(
        client.request(
            "GET",
            "/api/v1/z-reports",
            params=_page_query(filters, after, "store_id", "terminal_id", "from", "to"),
        )
    )
    return page(
        request,
        user,
        "sales/z_reports.html",
        section="sales",
        tab="z-reports",
        found=found,
        after=after,
        **_common(known, filters),
    )


@router.get("/sales/daily")
def daily(request: Request, user: CurrentUser) -> Response:
    client = backends(request).dataserver
    known = Places.read(client)
    filters = _filters(request, known, default_days=DAILY_DAYS)
    report = wire.DailySales.model_validate(
        client.request("GET", "/api/v1/reports/daily-sales", params=filters.params("store_id", "from", "to"))
    )
    days = [r.business_day for r in report.rows]
    first = filters.first or min(days, default=known.today(filters.store_id))
    last = filters.last or max(days, default=known.today(filters.store_id))
    series = every_day(((r.business_day, r.net) for r in report.rows), first, last)
    chart = bar_chart(series, width=CHART_WIDTH, height=CHART_HEIGHT)
    return page(
        request,
        user,
        "sales/daily.html",
        section="sales",
        tab="daily",
        report=report,
        chart=chart,
        payment_types=sorted(report.totals.payments),
        payment_names=_payment_names(client),
        **_common(known, filters),
    )


@router.get("/sales/export")
def export(request: Request, _user: CurrentUser, format: str = "csv") -> Response:
    """The data server's export of the period, passed through to the browser as it streams (a month of
    a big store does not fit in the Manager's memory)."""
    client = backends(request).dataserver
    known = Places.read(client)
    filters = _filters(request, known)
    extension = "json" if format == "json" else "csv"
    codes = {s.id: s.code for s in known.stores}
    name = export_name(codes.get(filters.store_id, ""), filters.first, filters.last, extension)
    params = {**filters.params("store_id", "from", "to"), "format": extension}
    answer = _stream(client, "/api/v1/export/receipts", params)
    return StreamingResponse(
        answer.iter_bytes(),
        media_type=answer.headers.get("content-type", "application/octet-stream"),
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
        background=BackgroundTask(answer.close),
    )


def _stream(client: DataServerClient, path: str, params: dict[str, str]) -> httpx.Response:
    """An answer of the data server whose body is still to be read; a refusal raised as the client's
    other calls raise it."""
    try:
        answer = client.http.send(client.http.build_request("GET", path, params=params), stream=True)
    except httpx.HTTPError as exc:
        raise DataServerUnreachable(0, f"{client.base_url} unreachable: {exc}") from exc
    if answer.status_code >= 400:
        answer.read()
        answer.close()
        try:
            detail = answer.json().get("detail") or answer.text
        except ValueError:
            detail = answer.text
        raise DataServerError(answer.status_code, str(detail))
    return answer


def _names(client: DataServerClient, ids: set[str | None]) -> dict[str, str]:
    """People's names by id; someone deleted since is shown by id."""
    names = {}
    for user_id in sorted(i for i in ids if i):
        try:
            names[user_id] = UserRead.model_validate(client.request("GET", f"/api/v1/users/{user_id}")).name
        except DataServerError as refused:
            if refused.status != 404:
                raise
    return names


def _payment_names(client: DataServerClient) -> dict[str, str]:
    return {t.code: t.name for t in _all_payment_types(client)}


def _all_payment_types(client: DataServerClient) -> Iterator[PaymentTypeRead]:
    after: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 100, **({"after": after} if after else {})}
        found = _payment_types.validate_python(client.request("GET", "/api/v1/payment-types", params=params))
        yield from found.items
        if found.next is None:
            return
        after = found.next
