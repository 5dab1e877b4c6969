"""The HTTP app factory every program uses: problem details, health, metrics, token authentication.

Errors are RFC 9457 problem details (``application/problem+json``) and never a stack trace. Every
endpoint but ``/healthz`` needs a bearer token; what a token means is the program's business, told to
the factory as an :class:`Authenticator`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol

from fastapi import Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Lifespan

log = logging.getLogger("osuite.http")

PROBLEM_JSON = "application/problem+json"


class Problem(Exception):
    """An error to show the caller as problem details; raise it from any layer below the routes."""

    def __init__(
        self, status: int, title: str, detail: str = "", *, type_: str = "about:blank", **extra: Any
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type_
        self.extra = extra


def not_found(what: str, key: object) -> Problem:
    return Problem(404, "Not found", f"{what} {key} does not exist")


def conflict(detail: str) -> Problem:
    return Problem(409, "Conflict", detail)


def problem_response(problem: Problem) -> JSONResponse:
    body = {"type": problem.type, "title": problem.title, "status": problem.status}
    if problem.detail:
        body["detail"] = problem.detail
    body.update(problem.extra)
    return JSONResponse(body, status_code=problem.status, media_type=PROBLEM_JSON)


@dataclass(frozen=True)
class Principal:
    """Who is calling: a client program (terminal, store data server …) or an administrator's key."""

    kind: str
    id: str
    name: str = ""
    scopes: frozenset[str] = field(default_factory=frozenset)
    store_id: str | None = None

    def require(self, scope: str) -> None:
        if scope not in self.scopes:
            raise Problem(403, "Forbidden", f"this token may not {scope}")


class Authenticator(Protocol):
    def __call__(self, token: str) -> Principal | None: ...


_bearer = HTTPBearer(auto_error=False)


def current_principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None or not credentials.credentials:
        raise Problem(401, "Unauthorized", "send a bearer token in the Authorization header")
    authenticate: Authenticator = request.app.state.authenticate
    principal = authenticate(credentials.credentials)
    if principal is None:
        raise Problem(401, "Unauthorized", "the token is unknown or was revoked")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def requires(scope: str) -> Callable[[Principal], Principal]:
    """A dependency that lets through only principals holding ``scope``."""

    def check(principal: CurrentPrincipal) -> Principal:
        principal.require(scope)
        return principal

    return check


def create_app(
    *,
    program: str,
    version: str,
    authenticate: Authenticator,
    health: Callable[[], dict[str, Any]] | None = None,
    lifespan: Lifespan[FastAPI] | None = None,
    description: str = "",
    tags: Sequence[dict[str, str]] = (),
) -> FastAPI:
    """A FastAPI app with the suite's conventions; the program adds its routers to it."""
    app = FastAPI(
        title=f"O·S {program}",
        version=version,
        description=description,
        lifespan=lifespan,
        openapi_tags=list(tags) or None,
    )
    app.state.authenticate = authenticate
    registry = CollectorRegistry()
    app.state.metrics = registry
    requests = Counter(
        "osuite_http_requests", "HTTP requests served", ["method", "route", "status"], registry=registry
    )
    latency = Histogram(
        "osuite_http_request_seconds", "Time to answer an HTTP request", ["route"], registry=registry
    )

    @app.middleware("http")
    async def _measure(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        requests.labels(request.method, path, str(response.status_code)).inc()
        latency.labels(path).observe(time.perf_counter() - started)
        return response

    @app.middleware("http")
    async def _license(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        # A program whose license stopped it takes no new work; reading, and finishing what was
        # accepted before (the paths the program lists), go on. See ``app.state.refuse_work``.
        refuse: Callable[[str], str | None] | None = getattr(request.app.state, "refuse_work", None)
        if refuse is not None and request.method not in ("GET", "HEAD", "OPTIONS"):
            reason = refuse(request.url.path)
            if reason:
                return problem_response(Problem(503, "License", reason, type_="license"))
        return await call_next(request)

    @app.exception_handler(Problem)
    async def _problem(_request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem_response(Problem(exc.status_code, _title(exc.status_code), str(exc.detail or "")))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"where": ".".join(str(p) for p in err.get("loc", ())), "message": err.get("msg", "")}
            for err in exc.errors()
        ]
        detail = "; ".join(f"{e['where']}: {e['message']}" for e in errors)
        return problem_response(Problem(422, "Invalid request", detail, errors=errors))

    @app.exception_handler(DataError)
    async def _unstorable(request: Request, exc: DataError) -> JSONResponse:
        # The database refused a value the validation let through (a NUL byte in text for
        # PostgreSQL, a number out of a column's range): bad input, and the transaction rolled back.
        log.warning("database refused a value on %s %s: %s", request.method, request.url.path, exc.orig)
        return problem_response(
            Problem(422, "Invalid value", f"a value cannot be stored: {_first_line(exc.orig)}")
        )

    @app.exception_handler(IntegrityError)
    async def _clash(request: Request, exc: IntegrityError) -> JSONResponse:
        # Two requests creating the same thing at once: the loser's transaction rolled back.
        log.info("integrity conflict on %s %s: %s", request.method, request.url.path, exc.orig)
        return problem_response(
            Problem(409, "Conflict", "it conflicts with something that exists already or was just made")
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem_response(
            Problem(500, "Internal error", "the server failed; the error is in its log, nothing was changed")
        )

    @app.get("/healthz", tags=["monitoring"], summary="Liveness and readiness, without a token")
    def healthz() -> dict[str, Any]:
        body: dict[str, Any] = {"status": "ok", "program": program, "version": version}
        if health is not None:
            body.update(health())
        return body

    @app.get(
        "/metrics",
        tags=["monitoring"],
        summary="Prometheus metrics",
        response_class=Response,
        dependencies=[Depends(current_principal)],
    )
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return app


def _first_line(error: object) -> str:
    return str(error).strip().splitlines()[0][:300] if str(error).strip() else "refused by the database"


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
