"""Terminals: every client enrolled with the data server and how it is right now (online, shift, queue,
devices, license), the commands sent to it and their results, and enrolling or revoking one."""

from __future__ import annotations

import shlex
from datetime import UTC, datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from osuite.core.i18n import N_
from osuite.dataserver.client import DataServerError
from osuite.dataserver.wire.clients import COMMANDS, ClientRead, StoreRead
from osuite.manager.roles import Action
from osuite.manager.sessions import User
from osuite.manager.web import CurrentUser, Section, allowed, backends, page, remember

SECTION = Section("terminals", N_("Terminals"), "/terminals", lambda _backends: True)
router = APIRouter(include_in_schema=False)

Commander = Annotated[User, Depends(allowed(Action.COMMAND_TERMINALS))]
Keeper = Annotated[User, Depends(allowed(Action.MANAGE_TERMINALS))]

KINDS: Final[dict[str, str]] = {
    "pos": N_("POS"),
    "scales": N_("Scale server"),
    "dataserver": N_("Store data server"),
    "processing": N_("Processing center"),
    "printing": N_("Printing"),
    "restaurant": N_("Restaurant"),
    "tickets": N_("Tickets"),
    "manager": N_("Manager"),
    "other": N_("Other"),
}
"""Each kind of client as a person calls it."""

COMMAND_TITLES: Final[dict[str, str]] = {
    "reload": N_("Reload"),
    "apply_settings": N_("Apply settings"),
    "close_shift": N_("Close the shift"),
    "lock": N_("Lock"),
    "unlock": N_("Unlock"),
    "send_logs": N_("Send logs"),
    "reload_catalog": N_("Reload the catalog"),
    "upload_scales": N_("Upload to the scales"),
}

STATES: Final[dict[str, str]] = {
    "online": N_("Online"),
    "offline": N_("Offline"),
    "revoked": N_("Revoked"),
    "queued": N_("Queued"),
    "sent": N_("Sent"),
    "done": N_("Done"),
    "failed": N_("Failed"),
    "ok": N_("OK"),
    "error": N_("Error"),
    "absent": N_("Absent"),
    "grace": N_("Grace"),
    "stopped": N_("Stopped"),
}
"""The words for a client's, a command's, a device's and a license seat's state."""

_ENROLL: Final[dict[str, str]] = {
    "pos": "osuite pos enroll {url} {code} --name {name}",
    "scales": "osuite scales enroll {url} {code} --name {name}",
    "dataserver": "osuite dataserver join --url {url} --code {code} --name {name}",
}


def enroll_command(kind: str, url: str, code: str, name: str) -> str | None:
    """What to type on the new machine to enroll it, quoted for its shell; None when the kind's program
    has no such command (it enrolls through the API with the code)."""
    pattern = _ENROLL.get(kind)
    if pattern is None:
        return None
    return pattern.format(url=shlex.quote(url), code=shlex.quote(code), name=shlex.quote(name or kind))


_UNITS: Final = ((86400, N_("{n} d ago")), (3600, N_("{n} h ago")), (60, N_("{n} min ago")))


def ago(then: datetime | None, now: datetime | None = None) -> tuple[str, int] | None:
    """How long ago, in the largest whole unit: a message (``{n}`` in it) and its number."""
    if then is None:
        return None
    aware = then if then.tzinfo else then.replace(tzinfo=UTC)
    seconds = max(0, int(((now or datetime.now(UTC)) - aware).total_seconds()))
    for size, message in _UNITS:
        if seconds >= size:
            return message, seconds // size
    return N_("{n} s ago"), seconds


def command_args(text: str) -> dict[str, str]:
    """``reason=inventory; note=back at 12`` as a command's arguments; a part without ``=`` is refused
    (ValueError), since a command silently missing an argument would do the wrong thing."""
    args: dict[str, str] = {}
    for part in text.replace("\n", ";").split(";"):
        if not part.strip():
            continue
        key, equals, value = part.partition("=")
        if not equals or not key.strip():
            raise ValueError(part.strip())
        args[key.strip()] = value.strip()
    return args


def _stores(request: Request) -> list[StoreRead]:
    return backends(request).dataserver.stores()


def _list_values(request: Request, store: str, stores: list[StoreRead]) -> dict[str, Any]:
    clients = backends(request).dataserver.clients(store_id=store or None)
    return {
        "clients": sorted(clients, key=lambda c: (c.revoked, c.store_id, c.kind, c.name)),
        "store_names": {s.id: s.code for s in stores},
        "store": store,
        "kinds": KINDS,
        "states": STATES,
        "ago": ago,
    }


@router.get("/terminals")
def index(request: Request, user: CurrentUser, store: str = "") -> Response:
    stores = _stores(request)
    return page(
        request,
        user,
        "terminals.html",
        section="terminals",
        stores=stores,
        **_list_values(request, store, stores),
    )


@router.get("/terminals/list")
def live_list(request: Request, user: CurrentUser, store: str = "") -> Response:
    """The table alone, which the page fetches again every few seconds."""
    return page(request, user, "terminals/list.html", **_list_values(request, store, _stores(request)))


@router.get("/terminals/enroll")
def enroll_form(request: Request, user: Keeper) -> Response:
    return page(
        request, user, "terminals/enroll.html", section="terminals", stores=_stores(request), kinds=KINDS
    )


@router.post("/terminals/enroll")
def enroll(
    request: Request,
    user: Keeper,
    store: Annotated[str, Form()],
    kind: Annotated[str, Form()] = "pos",
    name: Annotated[str, Form()] = "",
) -> Response:
    dataserver = backends(request).dataserver
    stores = _stores(request)
    values: dict[str, Any] = {
        "stores": stores,
        "kinds": KINDS,
        "store": store,
        "kind": kind,
        "terminal_name": name,
    }
    try:
        issued = dataserver.issue_enrollment_code(store, kind=kind, name=name.strip())
    except DataServerError as exc:
        if not 400 <= exc.status < 500:
            raise
        return page(
            request, user, "terminals/enroll.html", section="terminals", status_code=422, error=exc, **values
        )
    store_code = next((s.code for s in stores if s.id == issued.store_id), issued.store_id)
    remember(request, user, "terminals", "enroll", f"{store_code} {issued.kind} {issued.name}")
    return page(
        request,
        user,
        "terminals/enroll.html",
        section="terminals",
        issued=issued,
        store_code=store_code,
        command=enroll_command(issued.kind, dataserver.base_url, issued.code, issued.name),
        api=f"{dataserver.base_url}/api/v1/enroll",
        **values,
    )


def _terminal_values(request: Request, client: ClientRead) -> dict[str, Any]:
    store = next((s for s in _stores(request) if s.id == client.store_id), None)
    return {
        "client": client,
        "client_id": client.id,
        "store_code": store.code if store else client.store_id,
        "kinds": KINDS,
        "states": STATES,
        "commands": COMMANDS,
        "titles": COMMAND_TITLES,
        "ago": ago,
    }


@router.get("/terminals/{client_id}")
def terminal(request: Request, user: CurrentUser, client_id: str) -> Response:
    dataserver = backends(request).dataserver
    client = dataserver.get_client(client_id)
    return page(
        request,
        user,
        "terminals/terminal.html",
        section="terminals",
        history=dataserver.command_history(client_id, limit=50),
        **_terminal_values(request, client),
    )


@router.get("/terminals/{client_id}/commands")
def history(request: Request, user: CurrentUser, client_id: str) -> Response:
    """The command history alone, fetched again every few seconds while a command waits."""
    found = backends(request).dataserver.command_history(client_id, limit=50)
    return page(
        request,
        user,
        "terminals/history.html",
        client_id=client_id,
        history=found,
        states=STATES,
        titles=COMMAND_TITLES,
    )


@router.post("/terminals/{client_id}/commands")
def send(
    request: Request,
    user: Commander,
    client_id: str,
    command: Annotated[str, Form()],
    args: Annotated[str, Form()] = "",
) -> Response:
    dataserver = backends(request).dataserver
    problem = ""
    try:
        parsed = command_args(args)
    except ValueError as exc:
        problem = str(exc)
    else:
        sent = dataserver.send_command(client_id, command, parsed)
        remember(request, user, "terminals", f"command {sent.command}", client_id, args.strip())
    if not request.headers.get("hx-request"):
        return RedirectResponse(f"/terminals/{client_id}", status_code=303)
    found = dataserver.command_history(client_id, limit=50)
    return page(
        request,
        user,
        "terminals/history.html",
        client_id=client_id,
        history=found,
        states=STATES,
        titles=COMMAND_TITLES,
        problem=problem,
    )


@router.get("/terminals/{client_id}/revoke")
def revoke_form(request: Request, user: Keeper, client_id: str) -> Response:
    client = backends(request).dataserver.get_client(client_id)
    return page(
        request, user, "terminals/revoke.html", section="terminals", **_terminal_values(request, client)
    )


@router.post("/terminals/{client_id}/revoke")
def revoke(request: Request, user: Keeper, client_id: str) -> Response:
    client = backends(request).dataserver.revoke_client(client_id)
    remember(request, user, "terminals", "revoke", client_id, client.name)
    return RedirectResponse(f"/terminals/{client_id}", status_code=303)
