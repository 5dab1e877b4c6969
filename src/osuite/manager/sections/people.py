"""People: the data server's users and roles (what each role permits), and the Manager's own log of who
changed what through it. Only an administrator changes people; the data server's refusals (a login taken,
a short password) are shown next to the form, and then nothing has changed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Final, TypeVar

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, TypeAdapter
from sqlalchemy import select

from osuite.core.i18n import N_
from osuite.dataserver.client import DataServerClient, DataServerError
from osuite.dataserver.wire.catalog import Page, RoleRead, UserRead
from osuite.manager import tables as t
from osuite.manager.roles import Action
from osuite.manager.sessions import User
from osuite.manager.web import CurrentUser, Section, allowed, backends, manager, page, remember

SECTION = Section("people", N_("People"), "/people", lambda _backends: True)
router = APIRouter(include_in_schema=False)

Keeper = Annotated[User, Depends(allowed(Action.MANAGE_PEOPLE))]

PERMISSIONS: Final[dict[str, str]] = {
    "sell": N_("Sell"),
    "return": N_("Return goods by receipt"),
    "return_without_receipt": N_("Return goods without a receipt"),
    "void_line": N_("Remove a line from a receipt"),
    "discount": N_("Give a manual discount"),
    "cancel_receipt": N_("Cancel a receipt"),
    "cash_in": N_("Put cash in"),
    "cash_out": N_("Take cash out"),
    "open_drawer": N_("Open the cash drawer"),
    "open_shift": N_("Open a shift"),
    "close_shift": N_("Close a shift (Z report)"),
    "x_report": N_("Print an X report"),
    "manage_catalog": N_("Manage the catalog and prices (store manager)"),
    "manage_users": N_("Manage people and terminals (administrator)"),
    "view_reports": N_("View sales and reports"),
}
"""Each permission a role can give, as a person reads it, in the data server's order."""

LOG_ROWS = 200
_PAGE = 1000
M = TypeVar("M", bound=BaseModel)


class UserForm(BaseModel):
    """The user form as the browser posts it (an unticked box is simply absent)."""

    login: str = ""
    name: str = ""
    roles: list[str] = []
    active: bool = False
    pin: str = ""
    password: str = ""

    def body(self) -> dict[str, Any]:
        """The user as the data server takes it (to add, or to replace with PUT): an empty PIN or
        password is left out, so a new person has none and an existing one keeps theirs."""
        body: dict[str, Any] = {
            "login": self.login.strip(),
            "name": self.name.strip(),
            "roles": self.roles,
            "active": self.active,
        }
        if self.pin.strip():
            body["pin"] = self.pin.strip()
        if self.password:
            body["password"] = self.password
        return body


class RoleForm(BaseModel):
    name: str = ""
    permissions: list[str] = []

    def body(self) -> dict[str, Any]:
        """The role as the data server takes it, its permissions in the catalogue's order."""
        chosen = set(self.permissions)
        return {"name": self.name.strip(), "permissions": [p for p in PERMISSIONS if p in chosen]}


def _all(dataserver: DataServerClient, path: str, model: type[M]) -> Iterator[M]:
    adapter = TypeAdapter(Page[model])  # type: ignore[valid-type]
    after: str | None = None
    while True:
        params: dict[str, Any] = {"limit": _PAGE, **({"after": after} if after else {})}
        found = adapter.validate_python(dataserver.request("GET", path, params=params))
        yield from found.items
        if found.next is None:
            return
        after = found.next


def _roles(request: Request) -> list[RoleRead]:
    return sorted(_all(backends(request).dataserver, "/api/v1/roles", RoleRead), key=lambda r: r.name)


def _log(request: Request) -> list[dict[str, Any]]:
    with manager(request).db.read() as conn:
        rows = conn.execute(select(t.actions).order_by(t.actions.c.at.desc()).limit(LOG_ROWS)).mappings()
        return [dict(r) for r in rows]


@router.get("/people")
def index(request: Request, user: CurrentUser) -> Response:
    roles = _roles(request)
    users = sorted(_all(backends(request).dataserver, "/api/v1/users", UserRead), key=lambda u: u.login)
    return page(
        request,
        user,
        "people.html",
        section="people",
        users=users,
        roles=roles,
        role_names={r.id: r.name for r in roles},
        permissions=PERMISSIONS,
        log=_log(request) if user.may(Action.MANAGE_PEOPLE) else [],
        section_titles={s.key: s.title for s in manager(request).sections},
    )


# --- users ------------------------------------------------------------------------------------------


def _user_form(
    request: Request, user: User, *, person: UserRead | None, status_code: int = 200, **values: Any
) -> Response:
    return page(
        request,
        user,
        "people/user.html",
        section="people",
        status_code=status_code,
        person=person,
        roles=_roles(request),
        **values,
    )


@router.get("/people/users/new")
def new_user(request: Request, user: Keeper) -> Response:
    return _user_form(request, user, person=None, form={"active": True, "roles": []})


@router.get("/people/users/{user_id}")
def edit_user(request: Request, user: Keeper, user_id: str) -> Response:
    person = UserRead.model_validate(backends(request).dataserver.request("GET", f"/api/v1/users/{user_id}"))
    return _user_form(request, user, person=person, form=person.model_dump())


@router.post("/people/users")
def add_user(request: Request, user: Keeper, form: Annotated[UserForm, Form()]) -> Response:
    return _save_user(request, user, form, user_id=None)


@router.post("/people/users/{user_id}")
def change_user(request: Request, user: Keeper, user_id: str, form: Annotated[UserForm, Form()]) -> Response:
    return _save_user(request, user, form, user_id=user_id)


@dataclass(frozen=True)
class Refusal:
    """A change the Manager itself refuses, shown like the data server's refusals."""

    detail: str


def _save_user(request: Request, user: User, form: UserForm, *, user_id: str | None) -> Response:
    dataserver = backends(request).dataserver
    body = form.body()
    if user_id == user.user_id and not form.active:  # nobody would be left to switch them back on
        myself = UserRead.model_validate(dataserver.request("GET", f"/api/v1/users/{user_id}"))
        refusal = Refusal("you cannot deactivate yourself: another administrator can")
        return _user_form(request, user, person=myself, status_code=422, form=body, error=refusal)
    try:
        if user_id is None:
            saved = UserRead.model_validate(dataserver.request("POST", "/api/v1/users", json=body))
        else:
            saved = UserRead.model_validate(dataserver.request("PUT", f"/api/v1/users/{user_id}", json=body))
    except DataServerError as exc:
        if not 400 <= exc.status < 500:
            raise
        person = (
            None
            if user_id is None
            else UserRead.model_validate(dataserver.request("GET", f"/api/v1/users/{user_id}"))
        )
        return _user_form(request, user, person=person, status_code=422, form=body, error=exc)
    changed = [word for word, given in (("PIN", "pin" in body), ("password", "password" in body)) if given]
    detail = f"roles {','.join(saved.roles) or '-'}; active {saved.active}" + "".join(
        f"; {word} set" for word in changed
    )
    remember(request, user, "people", "add user" if user_id is None else "edit user", saved.login, detail)
    return RedirectResponse("/people", status_code=303)


@router.post("/people/users/{user_id}/deactivate")
def deactivate_user(request: Request, user: Keeper, user_id: str) -> Response:
    body = backends(request).dataserver.request("PATCH", f"/api/v1/users/{user_id}", json={"active": False})
    saved = UserRead.model_validate(body)
    remember(request, user, "people", "deactivate user", saved.login)
    return RedirectResponse("/people", status_code=303)


# --- roles ------------------------------------------------------------------------------------------


def _role_form(
    request: Request, user: User, *, role: RoleRead | None, status_code: int = 200, **values: Any
) -> Response:
    return page(
        request,
        user,
        "people/role.html",
        section="people",
        status_code=status_code,
        role=role,
        permissions=PERMISSIONS,
        **values,
    )


@router.get("/people/roles/new")
def new_role(request: Request, user: Keeper) -> Response:
    return _role_form(request, user, role=None, form={"name": "", "permissions": []})


@router.get("/people/roles/{role_id}")
def edit_role(request: Request, user: Keeper, role_id: str) -> Response:
    role = RoleRead.model_validate(backends(request).dataserver.request("GET", f"/api/v1/roles/{role_id}"))
    return _role_form(request, user, role=role, form=role.model_dump())


@router.post("/people/roles")
def add_role(request: Request, user: Keeper, form: Annotated[RoleForm, Form()]) -> Response:
    return _save_role(request, user, form, role_id=None)


@router.post("/people/roles/{role_id}")
def change_role(request: Request, user: Keeper, role_id: str, form: Annotated[RoleForm, Form()]) -> Response:
    return _save_role(request, user, form, role_id=role_id)


def _save_role(request: Request, user: User, form: RoleForm, *, role_id: str | None) -> Response:
    dataserver = backends(request).dataserver
    body = form.body()
    try:
        if role_id is None:
            saved = RoleRead.model_validate(dataserver.request("POST", "/api/v1/roles", json=body))
        else:
            saved = RoleRead.model_validate(dataserver.request("PUT", f"/api/v1/roles/{role_id}", json=body))
    except DataServerError as exc:
        if not 400 <= exc.status < 500:
            raise
        role = (
            None
            if role_id is None
            else RoleRead.model_validate(dataserver.request("GET", f"/api/v1/roles/{role_id}"))
        )
        return _role_form(request, user, role=role, status_code=422, form=body, error=exc)
    action = "add role" if role_id is None else "edit role"
    remember(request, user, "people", action, saved.name, ",".join(saved.permissions))
    return RedirectResponse("/people", status_code=303)
