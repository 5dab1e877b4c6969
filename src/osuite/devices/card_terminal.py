"""A bank card terminal reached over JSON/HTTP: our own small protocol and its httpx driver.

The terminals Russian banks install speak their bank's closed protocol (Sberbank's pilot_nt, UPOS …),
so the suite defines a small open one instead: a bridge program next to a real terminal, or our
emulator (:mod:`osuite.devices.card_emulator`), answers it. Money is int kopecks everywhere.

Operations (each carries the POS's ``key``, the payment's id; repeating a key answers the first
outcome, a key repeated with other values is refused as ``invalid``)::

    POST /api/v1/pay     {"key": "…", "amount": 12345}
    POST /api/v1/refund  {"key": "…", "amount": 500, "original_rrn": "612117000001"}
    POST /api/v1/cancel  {"key": "…", "amount": 12345, "original_rrn": "612117000001"}

    200 → the operation, approved or declined (a decline is an answer, not an error):
          {"key", "operation": "pay"|"refund"|"cancel", "approved": bool, "amount",
           "message": "ОДОБРЕНО" | "ОТКАЗ: …", "rrn": 12 digits, "auth_code": 6 digits or "",
           "card_mask": "**** 1234", "slip": [lines to print], "original_rrn": "" | rrn,
           "at": ISO 8601 time}

    GET /api/v1/operations/{key}  → 200 the operation | 404: the terminal holds no operation with it
    GET /healthz                  → 200 {"status": "ok", …}

Refusals are RFC 9457 problem details with a ``code`` and a ``detail`` the cashier can read:
``422 invalid`` (bad amount, unknown original, more refunded than paid — nothing happened),
``409 busy`` (another operation is in progress), ``504 timeout`` (the terminal gave up waiting for
the card; nothing happened). Rules: a refund names an approved payment's rrn and never takes back
more than it minus earlier refunds; a cancel voids a payment of the same day in full.

The driver cannot tell "no answer" from "the answer was lost": a pay that times out raises
``TIMEOUT`` and only :meth:`HttpCardTerminal.find` says afterwards whether the money moved. The
error is ``UNREACHABLE`` only when the request certainly never reached the terminal.
"""

from __future__ import annotations

from typing import Any, get_args
from urllib.parse import quote

import httpx

from osuite.devices.payment import CardErrorCode, CardOperation, CardResult, CardTerminalError

DEFAULT_PORT = 8790
# Paying waits for the cardholder (card, PIN, the bank): real terminals give up after about a minute.
DEFAULT_TIMEOUT = 90.0
_FIND_TIMEOUT = 10.0
_OPERATIONS: tuple[str, ...] = get_args(CardOperation)


def result_to_json(result: CardResult) -> dict[str, Any]:
    return {
        "key": result.key,
        "operation": result.operation,
        "approved": result.approved,
        "amount": result.amount,
        "message": result.message,
        "rrn": result.rrn,
        "auth_code": result.auth_code,
        "card_mask": result.card_mask,
        "slip": list(result.slip),
    }


def result_from_json(body: Any) -> CardResult:
    """A :class:`CardResult` from an operation's JSON, checking every field's type."""
    if not isinstance(body, dict):
        raise ValueError("an operation is a JSON object")
    operation = body.get("operation")
    if operation not in _OPERATIONS:
        raise ValueError(f"unknown operation {operation!r}")
    text = {name: body.get(name, "") for name in ("key", "message", "rrn", "auth_code", "card_mask")}
    if not all(isinstance(value, str) for value in text.values()):
        raise ValueError("key, message, rrn, auth_code and card_mask are strings")
    amount, approved, slip = body.get("amount"), body.get("approved"), body.get("slip", [])
    if type(amount) is not int or type(approved) is not bool:
        raise ValueError("amount is an integer of kopecks and approved a boolean")
    if not isinstance(slip, list) or not all(isinstance(line, str) for line in slip):
        raise ValueError("slip is a list of lines")
    return CardResult(
        key=text["key"],
        operation=operation,
        approved=approved,
        amount=amount,
        message=text["message"],
        rrn=text["rrn"],
        auth_code=text["auth_code"],
        card_mask=text["card_mask"],
        slip=tuple(slip),
    )


class HttpCardTerminal:
    """The :class:`~osuite.devices.payment.CardTerminal` driver for this protocol.

    ``timeout`` is how long an operation may take, the cardholder included; connecting gets
    ``connect_timeout`` and a ``find`` at most 10 s.
    """

    def __init__(
        self,
        base_url: str,
        timeout: float = DEFAULT_TIMEOUT,
        *,
        connect_timeout: float = 3.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._find_timeout = httpx.Timeout(min(timeout, _FIND_TIMEOUT), connect=connect_timeout)
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            transport=transport,
            headers={"Accept": "application/json"},
        )

    def pay(self, key: str, amount: int) -> CardResult:
        return self._operate("pay", {"key": key, "amount": amount})

    def refund(self, key: str, amount: int, original_rrn: str) -> CardResult:
        return self._operate("refund", {"key": key, "amount": amount, "original_rrn": original_rrn})

    def cancel(self, key: str, original_rrn: str, amount: int) -> CardResult:
        return self._operate("cancel", {"key": key, "amount": amount, "original_rrn": original_rrn})

    def find(self, key: str) -> CardResult | None:
        if not key:
            raise CardTerminalError(CardErrorCode.INVALID, "пустой ключ операции")
        response = self._send("GET", f"/api/v1/operations/{quote(key, safe='')}", timeout=self._find_timeout)
        if response.status_code == 404 and _problem_code(response) == "not_found":
            return None
        return self._result(response, key, None)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HttpCardTerminal:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _operate(self, operation: CardOperation, body: dict[str, Any]) -> CardResult:
        response = self._send("POST", f"/api/v1/{operation}", json=body)
        return self._result(response, body["key"], operation)

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, path, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise CardTerminalError(
                CardErrorCode.UNREACHABLE, f"терминал {self.base_url} недоступен: {exc}"
            ) from None
        except httpx.TimeoutException:
            raise CardTerminalError(
                CardErrorCode.TIMEOUT,
                f"терминал не ответил за {self.timeout:g} с; исход неизвестен — проверьте операцию",
            ) from None
        except httpx.TransportError as exc:
            raise CardTerminalError(
                CardErrorCode.TIMEOUT, f"связь с терминалом прервалась ({exc}); исход неизвестен"
            ) from None

    def _result(self, response: httpx.Response, key: str, operation: str | None) -> CardResult:
        status = response.status_code
        if status == 200:
            try:
                result = result_from_json(response.json())
            except ValueError as exc:
                raise self._unknown(f"непонятный ответ терминала: {exc}") from None
            if result.key != key or (operation is not None and result.operation != operation):
                raise self._unknown("терминал ответил про другую операцию")
            return result
        detail = _problem_detail(response)
        code = _problem_code(response)
        if status == 409 or code == "busy":
            raise CardTerminalError(CardErrorCode.BUSY, detail or "терминал занят другой операцией")
        if status in (400, 422) or code == "invalid":
            raise CardTerminalError(CardErrorCode.INVALID, detail or "терминал отказал в операции")
        if status in (404, 405) and code is None:
            raise CardTerminalError(
                CardErrorCode.UNREACHABLE, f"по адресу {self.base_url} отвечает не платёжный терминал"
            )
        raise self._unknown(detail or f"терминал ответил HTTP {status}")

    def _unknown(self, why: str) -> CardTerminalError:
        return CardTerminalError(CardErrorCode.TIMEOUT, f"{why}; исход неизвестен — проверьте операцию")


def _problem(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _problem_code(response: httpx.Response) -> str | None:
    code = _problem(response).get("code")
    return code if isinstance(code, str) else None


def _problem_detail(response: httpx.Response) -> str:
    detail = _problem(response).get("detail")
    return detail if isinstance(detail, str) else ""
