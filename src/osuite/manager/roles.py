"""Who may do what in the Manager. People and their roles live at the data server; the Manager reads
a person's permissions there and sees them as one of three roles. Pure rules, no I/O."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Final

from osuite.core.i18n import N_


class Role(StrEnum):
    ADMINISTRATOR = "administrator"
    """Everything, including people and which terminals belong to the store."""
    MANAGER = "manager"
    """Runs the store: catalog and prices, commands to terminals, loyalty cards, scale uploads."""
    VIEWER = "viewer"
    """Looks at everything, changes nothing (an auditor, an accountant)."""


TITLES: Final[dict[Role, str]] = {
    Role.ADMINISTRATOR: N_("Administrator"),
    Role.MANAGER: N_("Store manager"),
    Role.VIEWER: N_("Read-only"),
}


class Action(StrEnum):
    VIEW = "view"
    EDIT_CATALOG = "edit_catalog"
    COMMAND_TERMINALS = "command_terminals"
    MANAGE_TERMINALS = "manage_terminals"  # enroll, revoke
    MANAGE_PEOPLE = "manage_people"
    MANAGE_LOYALTY = "manage_loyalty"
    UPLOAD_SCALES = "upload_scales"


ALLOWED: Final[dict[Role, frozenset[Action]]] = {
    Role.VIEWER: frozenset({Action.VIEW}),
    Role.MANAGER: frozenset(
        {
            Action.VIEW,
            Action.EDIT_CATALOG,
            Action.COMMAND_TERMINALS,
            Action.MANAGE_LOYALTY,
            Action.UPLOAD_SCALES,
        }
    ),
    Role.ADMINISTRATOR: frozenset(Action),
}


def role_of(permissions: Iterable[str]) -> Role | None:
    """The data server's permissions as a Manager role: ``manage_users`` makes an administrator,
    ``manage_catalog`` a store manager, ``view_reports`` a viewer; without any of them (a cashier) the
    person may not use the Manager."""
    held = set(permissions)
    if "manage_users" in held:
        return Role.ADMINISTRATOR
    if "manage_catalog" in held:
        return Role.MANAGER
    if "view_reports" in held:
        return Role.VIEWER
    return None


def may(role: Role, action: Action) -> bool:
    return action in ALLOWED[role]
