"""HTTP routes of the processing center, thin: parse, call the service, answer. Refusals are raised as
domain errors and become problem details in :mod:`.app`."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from osuite.core.http import Principal, Problem
from osuite.processing import access, accounts, importer, programs, service
from osuite.processing.context import POS, Admin, Center, Reader, Subordinate
from osuite.processing.wire import (
    AccountRead,
    AccrueAnswer,
    AccrueRequest,
    AdjustmentAnswer,
    AdjustmentCreate,
    AllowanceAnswer,
    AllowanceRequest,
    CancelAnswer,
    CancelRequest,
    CardAction,
    CardIssue,
    CardLost,
    CardRead,
    CommitAnswer,
    CommitRequest,
    CustomerCreate,
    CustomerJournal,
    CustomerRead,
    CustomerUpdate,
    Enrolled,
    EnrollRequest,
    HoldAnswer,
    HoldRequest,
    ImportKind,
    ImportReport,
    JournalRead,
    KeyCreate,
    KeyCreated,
    LookupAnswer,
    LookupRequest,
    ProgramCreate,
    ProgramRead,
    ProgramUpdate,
    ReturnAnswer,
    ReturnRequest,
)

router = APIRouter(prefix="/api/v1")

REPLAY_HEADER = "Idempotent-Replay"

_POS_REFUSALS: dict[int | str, dict[str, Any]] = {
    404: {
        "description": "No such card, hold or sale (`type`: card_not_found, hold_not_found, sale_not_found)"
    },
    409: {
        "description": (
            "Refused, nothing changed; `type` says why: card_blocked, card_lost, insufficient_balance,"
            " over_cap, over_allowance, hold_closed, hold_expired, commit_over_hold, return_too_large,"
            " already_accrued, conflicting_retry (this transaction id was used for another request)"
        )
    },
    422: {"description": "The request cannot be what it says (`type`: invalid_input)"},
}


def _answer(answer: dict[str, Any], replayed: bool = False, status: int = 200) -> Response:
    headers = {REPLAY_HEADER: "true"} if replayed else None
    return Response(orjson.dumps(answer), status_code=status, media_type="application/json", headers=headers)


def _actor(who: Principal, given: str = "") -> str:
    return given.strip() or who.name or who.id


_bearer = HTTPBearer(auto_error=False)


async def _till(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    """The POS's token, checked in the event loop: the authenticator keeps what it found for a few
    seconds, so this costs a dictionary look-up on all but one call in a while, and the transaction
    itself is the only trip to the thread pool."""
    if credentials is None or not credentials.credentials:
        raise Problem(401, "Unauthorized", "send a bearer token in the Authorization header")
    principal = request.app.state.authenticate(credentials.credentials)
    if principal is None:
        raise Problem(401, "Unauthorized", "the token is unknown or was revoked")
    principal.require(POS)
    return principal  # type: ignore[no-any-return]


PosTill = Annotated[Principal, Depends(_till)]


# --- the POS ------------------------------------------------------------------------------------------


@router.post(
    "/transactions/lookup",
    response_model=LookupAnswer,
    tags=["pos"],
    summary="A card: its customer, balance, what points can pay of this receipt, the discount level",
    responses=_POS_REFUSALS,
)
async def lookup(body: LookupRequest, _who: PosTill, p: Center) -> Response:
    return _answer(await run_in_threadpool(service.lookup, p, body))


@router.post(
    "/transactions/hold",
    response_model=HoldAnswer,
    tags=["pos"],
    summary="Reserve points for an open receipt (they count against the balance until the hold ends)",
    responses=_POS_REFUSALS,
)
async def hold(body: HoldRequest, _who: PosTill, p: Center) -> Response:
    return _answer(*await run_in_threadpool(service.hold, p, body))


@router.post(
    "/transactions/commit",
    response_model=CommitAnswer,
    tags=["pos"],
    summary="Spend at most what a hold reserved, and close it",
    responses=_POS_REFUSALS,
)
async def commit(body: CommitRequest, _who: PosTill, p: Center) -> Response:
    return _answer(*await run_in_threadpool(service.commit, p, body))


@router.post(
    "/transactions/cancel",
    response_model=CancelAnswer,
    tags=["pos"],
    summary="Let a hold go",
    responses=_POS_REFUSALS,
)
async def cancel(body: CancelRequest, _who: PosTill, p: Center) -> Response:
    return _answer(*await run_in_threadpool(service.cancel, p, body))


@router.post(
    "/transactions/accrue",
    response_model=AccrueAnswer,
    tags=["pos"],
    summary="Points a closed receipt earns (once per receipt)",
    responses=_POS_REFUSALS,
)
async def accrue(body: AccrueRequest, _who: PosTill, p: Center) -> Response:
    return _answer(*await run_in_threadpool(service.accrue_receipt, p, body))


@router.post(
    "/transactions/return",
    response_model=ReturnAnswer,
    tags=["pos"],
    summary="Goods come back: take back their share of the accrual, give back the points that paid",
    responses=_POS_REFUSALS,
)
async def return_goods(body: ReturnRequest, _who: PosTill, p: Center) -> Response:
    return _answer(*await run_in_threadpool(service.return_goods, p, body))


# --- customers ----------------------------------------------------------------------------------------

Limit = Annotated[int, Query(ge=1, le=1000, description="Page size")]
After = Annotated[str | None, Query(description="The last id of the previous page")]


@router.get("/customers", response_model=list[CustomerRead], tags=["customers"], summary="Customers, by id")
def list_customers(
    _who: Reader,
    p: Center,
    phone: Annotated[str | None, Query(description="Only the customer(s) with this phone")] = None,
    after: After = None,
    limit: Limit = 500,
) -> list[dict[str, Any]]:
    with p.db.read() as conn:
        return accounts.list_customers(conn, phone=phone, after=after, limit=limit)


@router.post(
    "/customers", response_model=CustomerRead, status_code=201, tags=["customers"], summary="Add a customer"
)
def create_customer(body: CustomerCreate, _who: Admin, p: Center) -> dict[str, Any]:
    with p.write() as conn:
        return accounts.create_customer(conn, p, body)


@router.get("/customers/{customer_id}", response_model=CustomerRead, tags=["customers"], summary="A customer")
def get_customer(customer_id: str, _who: Reader, p: Center) -> dict[str, Any]:
    with p.db.read() as conn:
        return accounts.get_customer(conn, customer_id)


@router.put(
    "/customers/{customer_id}", response_model=CustomerRead, tags=["customers"], summary="Change a customer"
)
def update_customer(customer_id: str, body: CustomerUpdate, _who: Admin, p: Center) -> dict[str, Any]:
    with p.write() as conn:
        return accounts.update_customer(conn, p, customer_id, body)


@router.get(
    "/customers/{customer_id}/journal",
    response_model=CustomerJournal,
    tags=["customers"],
    summary="Every account of a customer with its balance and movements",
)
def customer_journal(customer_id: str, _who: Reader, p: Center) -> dict[str, Any]:
    with p.db.read() as conn:
        return accounts.customer_journal(conn, p, customer_id)


# --- cards --------------------------------------------------------------------------------------------


@router.post(
    "/cards",
    response_model=CardRead,
    status_code=201,
    tags=["cards"],
    summary="Issue a card: on a new account (bonus, discount, gift with its nominal) or on an existing one",
)
def issue_card(body: CardIssue, who: Admin, p: Center) -> dict[str, Any]:
    with p.write() as conn:
        return accounts.issue_card(conn, p, body, actor=_actor(who))


@router.get("/cards/{number}", response_model=CardRead, tags=["cards"], summary="A card")
def get_card(number: str, _who: Reader, p: Center) -> dict[str, Any]:
    from osuite.processing import ledger

    with p.db.read() as conn:
        return accounts.card_read(ledger.card(conn, number))


@router.post("/cards/{number}/block", response_model=CardRead, tags=["cards"], summary="Block a card")
def block_card(number: str, who: Admin, p: Center, body: CardAction | None = None) -> dict[str, Any]:
    with p.write() as conn:
        return accounts.block_card(conn, p, number, actor=_actor(who, body.actor if body else ""))


@router.post("/cards/{number}/unblock", response_model=CardRead, tags=["cards"], summary="Unblock a card")
def unblock_card(number: str, who: Admin, p: Center, body: CardAction | None = None) -> dict[str, Any]:
    with p.write() as conn:
        return accounts.unblock_card(conn, p, number, actor=_actor(who, body.actor if body else ""))


@router.post(
    "/cards/{number}/lost",
    response_model=CardRead,
    tags=["cards"],
    summary="Mark a card lost for good; with a replacement, a new card keeps the account",
)
def card_lost(number: str, body: CardLost, who: Admin, p: Center) -> dict[str, Any]:
    with p.write() as conn:
        return accounts.card_lost(conn, p, number, replacement=body.replacement, actor=_actor(who))


# --- accounts -----------------------------------------------------------------------------------------


@router.get("/accounts/{account_id}", response_model=AccountRead, tags=["accounts"], summary="An account")
def get_account(account_id: str, _who: Reader, p: Center) -> dict[str, Any]:
    with p.db.read() as conn:
        return accounts.account_view(conn, p, account_id)


@router.get(
    "/accounts/{account_id}/journal",
    response_model=JournalRead,
    tags=["accounts"],
    summary="An account's balance and every movement, oldest first",
)
def account_journal(account_id: str, _who: Reader, p: Center) -> dict[str, Any]:
    with p.db.read() as conn:
        return accounts.journal_view(conn, p, account_id)


@router.post(
    "/accounts/{account_id}/adjustments",
    response_model=AdjustmentAnswer,
    status_code=201,
    tags=["accounts"],
    summary="Add or take points by hand, with the reason and who does it",
    responses=_POS_REFUSALS,
)
def adjust(account_id: str, body: AdjustmentCreate, who: Admin, p: Center) -> Response:
    answer, replayed = accounts.adjust_balance(p, account_id, body, actor=_actor(who))
    return _answer(answer, replayed, status=200 if replayed else 201)


# --- programs -----------------------------------------------------------------------------------------


def _program(row: programs.ProgramRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "version": row.version,
        "settings": row.settings,
        "updated_at": row.updated_at,
    }


@router.get("/programs", response_model=list[ProgramRead], tags=["programs"], summary="Loyalty programs")
def list_programs(_who: Reader, p: Center) -> list[dict[str, Any]]:
    with p.db.read() as conn:
        return [_program(row) for row in programs.all_programs(conn)]


@router.get("/programs/{program_id}", response_model=ProgramRead, tags=["programs"], summary="A program")
def get_program(program_id: str, _who: Reader, p: Center) -> dict[str, Any]:
    with p.db.read() as conn:
        return _program(programs.get(conn, program_id))


@router.post(
    "/programs",
    response_model=ProgramRead,
    status_code=201,
    tags=["programs"],
    summary="Add a program (root)",
)
def create_program(body: ProgramCreate, _who: Admin, p: Center) -> dict[str, Any]:
    settings = body.model_dump(mode="json", exclude={"id", "name"})
    with p.write() as conn:
        row = programs.save(conn, p, program_id=body.id, name=body.name, settings=settings, create=True)
    return _program(row)


@router.put(
    "/programs/{program_id}",
    response_model=ProgramRead,
    tags=["programs"],
    summary="Change a program: a new version; sales already made keep what they earned (root)",
)
def update_program(program_id: str, body: ProgramUpdate, _who: Admin, p: Center) -> dict[str, Any]:
    settings = body.model_dump(mode="json", exclude={"name"})
    with p.write() as conn:
        row = programs.save(conn, p, program_id=program_id, name=body.name, settings=settings, create=False)
    return _program(row)


# --- import and keys ----------------------------------------------------------------------------------


@router.post(
    "/import/{kind}",
    response_model=ImportReport,
    tags=["import"],
    summary="Import customers or cards from a CSV file (the request body); every rejected row is reported",
    openapi_extra={
        "requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}
    },
)
async def import_csv(kind: ImportKind, request: Request, who: Admin, p: Center) -> dict[str, Any]:
    data = await request.body()
    try:
        return await run_in_threadpool(importer.import_csv, p, kind=kind, data=data, actor=_actor(who))
    except importer.Unreadable as exc:
        raise Problem(422, "Unreadable file", str(exc), type_="unreadable_file") from None


@router.post(
    "/keys", response_model=KeyCreated, status_code=201, tags=["keys"], summary="Make an API key (shown once)"
)
def create_key(body: KeyCreate, _who: Admin, p: Center) -> dict[str, Any]:
    with p.write() as conn:
        return access.create_key(conn, p, name=body.name, scope=body.scope)


# --- subordinates -------------------------------------------------------------------------------------


@router.post(
    "/enroll",
    response_model=Enrolled,
    tags=["subordinates"],
    summary="A subordinate trades a one-time code from the root for its token (no bearer token needed)",
    responses={
        403: {"description": "The code is unknown, used or expired (`type`: enrollment_refused)"},
        409: {"description": "The enrolling center says it is a root (`type`: second_root)"},
    },
)
def enroll(body: EnrollRequest, p: Center) -> dict[str, Any]:
    # The one-time code is the credential here, so this route takes no principal.
    with p.write() as conn:
        return access.enroll(
            conn, p, code=body.code, role=body.role, center_id=body.center_id, name=body.name
        )


@router.post(
    "/allowances",
    response_model=AllowanceAnswer,
    tags=["subordinates"],
    summary="A subordinate asks the root to lend it points of an account to spend (perhaps less, or none)",
    responses=_POS_REFUSALS,
)
def allowances(body: AllowanceRequest, who: Subordinate, p: Center) -> Response:
    return _answer(*service.lend(p, body, subordinate=who.id))
