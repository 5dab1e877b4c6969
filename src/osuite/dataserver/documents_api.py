"""Receipts, shifts, cash operations and Z reports as the terminals handed them in; exports and the
daily sales report. Read-only: documents arrive only through ``POST /api/v1/sync/documents``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import PlainTextResponse, StreamingResponse
from pydantic import AfterValidator

from osuite.core.http import Problem
from osuite.dataserver import documents
from osuite.dataserver.context import DS, Reader
from osuite.dataserver.documents import Period
from osuite.dataserver.wire import documents as wire

router = APIRouter(prefix="/api/v1", tags=["documents"])

_MOMENT_OR_DAY = (
    "A date (YYYY-MM-DD) filters by business day, the document's date in its store's timezone, and "
    "includes that day; a moment (ISO 8601 with an offset, e.g. 2025-03-01T09:00:00+03:00 or …Z) "
    "filters by the document's time"
)


def _when(value: str | None, name: str, *, dates_only: bool = False) -> date | datetime | None:
    if not value:
        return None
    text = value.strip()
    found: date | datetime
    if len(text) == 10:
        try:
            found = date.fromisoformat(text)
        except ValueError:
            raise Problem(
                422, "Invalid request", f"{name}: {value!r} is not a date; write YYYY-MM-DD"
            ) from None
    elif dates_only:
        raise Problem(
            422,
            "Invalid request",
            f"{name}: {value!r} is not a date; reports count whole business days, write YYYY-MM-DD",
        )
    else:
        found = _moment(value, text, name)
    if not 1900 <= found.year <= 2999:
        raise Problem(422, "Invalid request", f"{name}: {value!r} is not between the years 1900 and 2999")
    return found


def _moment(value: str, text: str, name: str) -> datetime:
    # A '+' typed into a URL unescaped arrives as a space: "…T09:00:00 03:00" means "+03:00".
    if " " in text[10:]:
        text = text[:10] + text[10:].replace(" ", "+")
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise Problem(
            422,
            "Invalid request",
            f"{name}: {value!r} is neither a date (YYYY-MM-DD) nor a moment (2025-03-01T09:00:00+03:00)",
        ) from None
    if moment.tzinfo is None:
        raise Problem(
            422, "Invalid request", f"{name}: {value!r} has no UTC offset; add one, e.g. +03:00 or Z"
        )
    return moment


def period(
    from_: Annotated[str | None, Query(alias="from", description=f"Start. {_MOMENT_OR_DAY}.")] = None,
    to: Annotated[
        str | None, Query(description=f"End: a date is included, a moment is not. {_MOMENT_OR_DAY}.")
    ] = None,
) -> Period:
    return Period.between(_when(from_, "from"), _when(to, "to"))


def days(
    from_: Annotated[
        str | None, Query(alias="from", description="First business day (YYYY-MM-DD), included")
    ] = None,
    to: Annotated[str | None, Query(description="Last business day (YYYY-MM-DD), included")] = None,
) -> Period:
    return Period.between(_when(from_, "from", dates_only=True), _when(to, "to", dates_only=True))


def _no_nul(value: str | None) -> str | None:
    """PostgreSQL refuses a NUL in any text it is asked to compare with: say so instead of failing."""
    if value is not None and "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


NoNul = AfterValidator(_no_nul)
Moments = Annotated[Period, Depends(period)]
Days = Annotated[Period, Depends(days)]
StoreId = Annotated[str | None, NoNul, Query(max_length=36, description="Only this store's documents")]
TerminalId = Annotated[str | None, NoNul, Query(max_length=36, description="Only this terminal's documents")]
ShiftId = Annotated[str | None, NoNul, Query(max_length=36, description="Only this shift's documents")]
After = Annotated[
    str | None, Query(max_length=200, description="The `next` of the previous page; omit for the first")
]
Limit = Annotated[int, Query(ge=1, le=1000, description="Items per page")]
ReceiptKindFilter = Annotated[Literal["sale", "return"] | None, Query(description="Only sales or returns")]
CashKindFilter = Annotated[Literal["in", "out"] | None, Query(description="Only cash in or cash out")]
ClosedFilter = Annotated[
    bool | None, Query(description="true: only shifts a Z report closed; false: only open ones")
]
ReceiptPath = Annotated[str, NoNul, Path(max_length=36, description="The receipt's id")]
ShiftPath = Annotated[str, NoNul, Path(max_length=36, description="The shift's id")]
ExportFormat = Annotated[
    Literal["csv", "json"], Query(description="csv: a row per line; json: full receipts")
]
ReportFormat = Annotated[Literal["json", "csv"], Query(description="json (kopecks) or csv (rubles)")]

_PAGED = "Ordered by time, then id. Pass the answer's `next` as `after` to read the following page."


@router.get(
    "/receipts", response_model=wire.ReceiptsPage, summary="Receipts, a page at a time", description=_PAGED
)
def list_receipts(
    ds: DS,
    _reader: Reader,
    period: Moments,
    store_id: StoreId = None,
    terminal_id: TerminalId = None,
    shift_id: ShiftId = None,
    kind: ReceiptKindFilter = None,
    after: After = None,
    limit: Limit = 100,
) -> wire.ReceiptsPage:
    with ds.db.read() as conn:
        return documents.list_receipts(
            conn,
            store_id=store_id,
            terminal_id=terminal_id,
            shift_id=shift_id,
            kind=kind,
            period=period,
            after=after,
            limit=limit,
        )


@router.get(
    "/receipts/{receipt_id}", response_model=wire.ReceiptRead, summary="A receipt with its lines and payments"
)
def get_receipt(ds: DS, _reader: Reader, receipt_id: ReceiptPath) -> wire.ReceiptRead:
    with ds.db.read() as conn:
        return documents.get_receipt(conn, receipt_id=receipt_id)


@router.get("/shifts", response_model=wire.ShiftsPage, summary="Shifts, a page at a time", description=_PAGED)
def list_shifts(
    ds: DS,
    _reader: Reader,
    period: Moments,
    store_id: StoreId = None,
    terminal_id: TerminalId = None,
    closed: ClosedFilter = None,
    after: After = None,
    limit: Limit = 100,
) -> wire.ShiftsPage:
    with ds.db.read() as conn:
        return documents.list_shifts(
            conn,
            store_id=store_id,
            terminal_id=terminal_id,
            closed=closed,
            period=period,
            after=after,
            limit=limit,
        )


@router.get(
    "/shifts/{shift_id}",
    response_model=wire.ShiftDetail,
    summary="A shift with its cash operations and its Z report",
)
def get_shift(ds: DS, _reader: Reader, shift_id: ShiftPath) -> wire.ShiftDetail:
    with ds.db.read() as conn:
        return documents.get_shift(conn, shift_id=shift_id)


@router.get(
    "/z-reports", response_model=wire.ZReportsPage, summary="Z reports, a page at a time", description=_PAGED
)
def list_z_reports(
    ds: DS,
    _reader: Reader,
    period: Moments,
    store_id: StoreId = None,
    terminal_id: TerminalId = None,
    shift_id: ShiftId = None,
    after: After = None,
    limit: Limit = 100,
) -> wire.ZReportsPage:
    with ds.db.read() as conn:
        return documents.list_z_reports(
            conn,
            store_id=store_id,
            terminal_id=terminal_id,
            shift_id=shift_id,
            period=period,
            after=after,
            limit=limit,
        )


@router.get(
    "/cash-operations",
    response_model=wire.CashOperationsPage,
    summary="Cash put into and taken out of drawers, a page at a time",
    description=_PAGED,
)
def list_cash_operations(
    ds: DS,
    _reader: Reader,
    period: Moments,
    store_id: StoreId = None,
    terminal_id: TerminalId = None,
    shift_id: ShiftId = None,
    kind: CashKindFilter = None,
    after: After = None,
    limit: Limit = 100,
) -> wire.CashOperationsPage:
    with ds.db.read() as conn:
        return documents.list_cash_operations(
            conn,
            store_id=store_id,
            terminal_id=terminal_id,
            shift_id=shift_id,
            kind=kind,
            period=period,
            after=after,
            limit=limit,
        )


@router.get(
    "/export/receipts",
    summary="All receipts of a period, streamed as CSV or JSON",
    description=(
        "CSV: one row per receipt line with the receipt's fields repeated, money in rubles (123.45), "
        "moments in UTC. JSON: an array of full receipts as `GET /api/v1/receipts/{id}` answers them, "
        "money in kopecks. Ordered by closing time."
    ),
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}, "application/json": {}}}},
)
def export_receipts(
    ds: DS, _reader: Reader, period: Moments, format: ExportFormat = "csv", store_id: StoreId = None
) -> StreamingResponse:
    pages = documents.iter_receipts(ds.db, store_id=store_id, period=period)
    if format == "json":
        return StreamingResponse(documents.receipts_json(pages), media_type="application/json")
    return StreamingResponse(
        documents.receipts_csv(pages),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="receipts.csv"'},
    )


@router.get(
    "/reports/daily-sales",
    response_model=wire.DailySales,
    summary="Sales per business day and store",
    description=(
        "Per business day (the date in the store's timezone) and store: receipts, sales and returns "
        "(counts and sums), net, discounts, and the amount per payment type with returns subtracted. "
        "JSON money is in kopecks; CSV money in rubles with a `payment:<type>` column per payment type."
    ),
    responses={200: {"content": {"text/csv": {}}}},
)
def daily_sales(
    ds: DS, _reader: Reader, period: Days, store_id: StoreId = None, format: ReportFormat = "json"
) -> wire.DailySales | PlainTextResponse:
    with ds.db.read() as conn:
        report = documents.daily_sales(conn, store_id=store_id, period=period)
    if format == "csv":
        return PlainTextResponse(
            documents.daily_sales_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="daily-sales.csv"'},
        )
    return report
