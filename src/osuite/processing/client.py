"""The published httpx client of the processing center, for a POS (look a card up, hold, commit, cancel,
accrue, return) and for a back office (customers, cards, adjustments).

Every call that changes an account carries a transaction id: give the one the POS made and stored
with the receipt, so that after a timeout the very same call can be sent again — the center answers
it once, and a retry gets the same answer. :func:`new_transaction_id` makes one. A refusal raises
:class:`ProcessingError` with the problem's ``type`` (``card_blocked``, ``insufficient_balance`` …);
no answer at all raises :class:`ProcessingUnreachable` — then the sale goes on without points, and
the accrual is queued to be sent later with its transaction id.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx

from osuite.core.ids import new_id
from osuite.processing.wire import (
    AccountRead,
    AccrueAnswer,
    AdjustmentAnswer,
    CancelAnswer,
    CardRead,
    CommitAnswer,
    CustomerJournal,
    CustomerRead,
    HoldAnswer,
    ImportReport,
    JournalRead,
    LookupAnswer,
    ProgramRead,
    ReturnAnswer,
)

DEFAULT_TIMEOUT = httpx.Timeout(5.0, connect=2.0)
"""A till cannot keep a customer waiting: a center that does not answer in a few seconds is down."""


def new_transaction_id() -> str:
    """An id for one call, made where the call is born (a UUIDv7)."""
    return new_id()


def _segment(text: str) -> str:
    """A number or id typed by a person, as one segment of a path (a ``/`` or ``?`` stays in it)."""
    return quote(text, safe="")


class ProcessingError(RuntimeError):
    """The center refused; ``kind`` is the problem's ``type``, ``detail`` its words (English), and
    ``template``/``params`` let a screen say them in its user's language."""

    def __init__(self, status: int, kind: str, detail: str, body: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {kind}: {detail}")
        self.status = status
        self.kind = kind
        self.detail = detail
        self.template: str | None = (body or {}).get("template")
        self.params: dict[str, Any] = (body or {}).get("params") or {}


class ProcessingUnreachable(ProcessingError):
    """No answer (refused connection, timeout). ``delivered`` is ``False`` when the request never left
    (no connection was made): nothing was carried out. Otherwise whether a changing call was carried out
    is unknown — send it again later with the same transaction id."""

    def __init__(self, detail: str, *, delivered: bool = True) -> None:
        super().__init__(0, "unreachable", detail)
        self.delivered = delivered


def line(
    line_no: int,
    product_id: str,
    amount: int,
    *,
    quantity: Decimal | str | int = 1,
    category_path: list[str] | None = None,
) -> dict[str, Any]:
    """A receipt line as the center takes it: ``amount`` in kopecks after every discount."""
    return {
        "line_no": line_no,
        "product_id": product_id,
        "amount": amount,
        "quantity": str(quantity),
        "category_path": category_path or [],
    }


class ProcessingClient:
    def __init__(
        self, base_url: str, token: str, *, timeout: float | httpx.Timeout = DEFAULT_TIMEOUT
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(
            base_url=self.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> ProcessingClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            delivered = not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
            raise ProcessingUnreachable(f"{self.base_url} unreachable: {exc}", delivered=delivered) from exc
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {}
            if not isinstance(body, dict):
                body = {}
            raise ProcessingError(
                response.status_code,
                str(body.get("type") or "error"),
                str(body.get("detail") or body.get("title") or response.text[:300]),
                body,
            )
        return response.json() if response.content else None

    # --- the POS ------------------------------------------------------------------------------------

    def lookup(
        self, card: str, lines: list[dict[str, Any]] | None = None, *, total: int | None = None
    ) -> LookupAnswer:
        body: dict[str, Any] = {"card": card, "lines": lines or []}
        if total is not None:
            body["total"] = total
        return LookupAnswer.model_validate(self.request("POST", "/api/v1/transactions/lookup", json=body))

    def hold(
        self,
        transaction_id: str,
        card: str,
        receipt_id: str,
        amount: int,
        *,
        lines: list[dict[str, Any]] | None = None,
        minutes: int | None = None,
    ) -> HoldAnswer:
        body: dict[str, Any] = {
            "transaction_id": transaction_id,
            "card": card,
            "receipt_id": receipt_id,
            "amount": amount,
        }
        if lines is not None:
            body["lines"] = lines
        if minutes is not None:
            body["minutes"] = minutes
        return HoldAnswer.model_validate(self.request("POST", "/api/v1/transactions/hold", json=body))

    def commit(
        self, transaction_id: str, card: str, hold_id: str, amount: int, *, receipt_id: str | None = None
    ) -> CommitAnswer:
        body = {
            "transaction_id": transaction_id,
            "card": card,
            "hold_id": hold_id,
            "amount": amount,
            "receipt_id": receipt_id,
        }
        return CommitAnswer.model_validate(self.request("POST", "/api/v1/transactions/commit", json=body))

    def cancel(self, transaction_id: str, card: str, hold_id: str) -> CancelAnswer:
        body = {"transaction_id": transaction_id, "card": card, "hold_id": hold_id}
        return CancelAnswer.model_validate(self.request("POST", "/api/v1/transactions/cancel", json=body))

    def accrue(
        self,
        transaction_id: str,
        card: str,
        receipt_id: str,
        lines: list[dict[str, Any]],
        payments: list[dict[str, Any]],
    ) -> AccrueAnswer:
        """``payments``: ``{"method": "cash"|"card"|"bonus"|"gift"|…, "amount": kopecks}`` net of change."""
        body = {
            "transaction_id": transaction_id,
            "card": card,
            "receipt_id": receipt_id,
            "lines": lines,
            "payments": payments,
        }
        return AccrueAnswer.model_validate(self.request("POST", "/api/v1/transactions/accrue", json=body))

    def return_goods(
        self, transaction_id: str, card: str, receipt_id: str, lines: list[dict[str, Any]]
    ) -> ReturnAnswer:
        """``lines``: ``{"line_no": n, "quantity": "1"}`` of the sale ``receipt_id``."""
        body = {"transaction_id": transaction_id, "card": card, "receipt_id": receipt_id, "lines": lines}
        return ReturnAnswer.model_validate(self.request("POST", "/api/v1/transactions/return", json=body))

    # --- the back office ----------------------------------------------------------------------------

    def create_customer(
        self, name: str, *, phone: str | None = None, email: str | None = None, id: str | None = None
    ) -> CustomerRead:
        body = {"name": name, "phone": phone, "email": email, "id": id}
        return CustomerRead.model_validate(self.request("POST", "/api/v1/customers", json=body))

    def issue_card(self, number: str, **fields: Any) -> CardRead:
        """``customer_id``, ``account_id``, ``type`` (bonus, discount, gift), ``program_id``, ``nominal``."""
        body = {"number": number, **fields}
        return CardRead.model_validate(self.request("POST", "/api/v1/cards", json=body))

    def customers(
        self, *, phone: str | None = None, after: str | None = None, limit: int = 500
    ) -> list[CustomerRead]:
        """Customers by id, a page at a time: pass the last id seen as ``after``."""
        params: dict[str, Any] = {"limit": limit}
        if phone:
            params["phone"] = phone
        if after:
            params["after"] = after
        found = self.request("GET", "/api/v1/customers", params=params)
        return [CustomerRead.model_validate(c) for c in found]

    def customer(self, customer_id: str) -> CustomerRead:
        return CustomerRead.model_validate(self.request("GET", f"/api/v1/customers/{_segment(customer_id)}"))

    def update_customer(
        self, customer_id: str, name: str, *, phone: str | None = None, email: str | None = None
    ) -> CustomerRead:
        body = {"name": name, "phone": phone, "email": email}
        path = f"/api/v1/customers/{_segment(customer_id)}"
        return CustomerRead.model_validate(self.request("PUT", path, json=body))

    def customer_journal(self, customer_id: str) -> CustomerJournal:
        path = f"/api/v1/customers/{_segment(customer_id)}/journal"
        return CustomerJournal.model_validate(self.request("GET", path))

    def card(self, number: str) -> CardRead:
        return CardRead.model_validate(self.request("GET", f"/api/v1/cards/{_segment(number)}"))

    def block_card(self, number: str, *, actor: str = "") -> CardRead:
        """``actor``: who blocks it, kept in the center's audit (the key's name when left out)."""
        path = f"/api/v1/cards/{_segment(number)}/block"
        return CardRead.model_validate(self.request("POST", path, json={"actor": actor}))

    def unblock_card(self, number: str, *, actor: str = "") -> CardRead:
        path = f"/api/v1/cards/{_segment(number)}/unblock"
        return CardRead.model_validate(self.request("POST", path, json={"actor": actor}))

    def card_lost(self, number: str, replacement: str | None = None) -> CardRead:
        body = {"replacement": replacement}
        return CardRead.model_validate(
            self.request("POST", f"/api/v1/cards/{_segment(number)}/lost", json=body)
        )

    def account(self, account_id: str) -> AccountRead:
        return AccountRead.model_validate(self.request("GET", f"/api/v1/accounts/{_segment(account_id)}"))

    def journal(self, account_id: str) -> JournalRead:
        return JournalRead.model_validate(
            self.request("GET", f"/api/v1/accounts/{_segment(account_id)}/journal")
        )

    def adjust(
        self, account_id: str, amount: int, reason: str, *, actor: str = "", transaction_id: str | None = None
    ) -> AdjustmentAnswer:
        body = {"amount": amount, "reason": reason, "actor": actor, "transaction_id": transaction_id}
        return AdjustmentAnswer.model_validate(
            self.request("POST", f"/api/v1/accounts/{_segment(account_id)}/adjustments", json=body)
        )

    def programs(self) -> list[ProgramRead]:
        return [ProgramRead.model_validate(p) for p in self.request("GET", "/api/v1/programs")]

    def program(self, program_id: str) -> ProgramRead:
        return ProgramRead.model_validate(self.request("GET", f"/api/v1/programs/{_segment(program_id)}"))

    def import_csv(self, kind: str, data: bytes) -> ImportReport:
        """``kind``: customers or cards."""
        body = self.request(
            "POST", f"/api/v1/import/{kind}", content=data, headers={"Content-Type": "text/csv"}
        )
        return ImportReport.model_validate(body)
