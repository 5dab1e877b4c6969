"""Who may do what in the Manager: the data server's permissions seen as three roles."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from osuite.dataserver.wire.catalog import Permission
from osuite.manager.roles import ALLOWED, Action, Role, may, role_of

PERMISSIONS = list(Permission.__args__)  # type: ignore[attr-defined]
RANK = {None: 0, Role.VIEWER: 1, Role.MANAGER: 2, Role.ADMINISTRATOR: 3}


def test_the_permissions_that_make_each_role() -> None:
    assert role_of(["sell", "return", "open_shift"]) is None  # a cashier
    assert role_of(["view_reports"]) is Role.VIEWER
    assert role_of(["manage_catalog"]) is Role.MANAGER
    assert role_of(["manage_users"]) is Role.ADMINISTRATOR
    assert role_of(PERMISSIONS) is Role.ADMINISTRATOR


def test_each_role_does_what_it_is_for() -> None:
    assert ALLOWED[Role.VIEWER] == {Action.VIEW}
    assert may(Role.MANAGER, Action.EDIT_CATALOG) and may(Role.MANAGER, Action.MANAGE_LOYALTY)
    assert not may(Role.MANAGER, Action.MANAGE_PEOPLE) and not may(Role.MANAGER, Action.MANAGE_TERMINALS)
    assert all(may(Role.ADMINISTRATOR, action) for action in Action)


@given(st.sets(st.sampled_from(PERMISSIONS)), st.sets(st.sampled_from(PERMISSIONS)))
def test_more_permissions_never_make_a_lesser_role(some: set[str], more: set[str]) -> None:
    assert RANK[role_of(some | more)] >= RANK[role_of(some)]


@given(st.sampled_from(list(Role)), st.sampled_from(list(Role)))
def test_a_higher_role_may_do_everything_a_lower_one_may(one: Role, other: Role) -> None:
    if RANK[one] >= RANK[other]:
        assert ALLOWED[one] >= ALLOWED[other]
