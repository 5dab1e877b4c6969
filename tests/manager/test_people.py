"""The People section's pure parts: a posted form as the data server's user or role, and words for
every permission a role can give."""

from __future__ import annotations

from typing import get_args

from hypothesis import given
from hypothesis import strategies as st

from osuite.dataserver.wire.catalog import Permission, RoleCreate, UserCreate, UserUpdate
from osuite.manager.sections.people import PERMISSIONS, RoleForm, UserForm


def test_every_permission_has_words_in_the_data_servers_order() -> None:
    assert tuple(PERMISSIONS) == get_args(Permission)


def test_an_empty_pin_or_password_is_left_out_so_it_stays_as_it_is() -> None:
    body = UserForm(login=" kassa2 ", name=" Орлова Ольга ", roles=["cashier"], active=True).body()
    assert body == {"login": "kassa2", "name": "Орлова Ольга", "roles": ["cashier"], "active": True}
    UserUpdate.model_validate(body)
    UserCreate.model_validate(body)


def test_a_pin_and_password_given_are_sent_and_an_unticked_box_is_inactive() -> None:
    body = UserForm(login="a", name="A", pin=" 1234 ", password=" secret pw ").body()
    assert (body["pin"], body["password"], body["active"], body["roles"]) == (
        "1234",
        " secret pw ",
        False,
        [],
    )
    UserUpdate.model_validate(body)


@given(st.lists(st.sampled_from(get_args(Permission))))
def test_a_roles_permissions_go_in_catalogue_order_once(chosen: list[str]) -> None:
    body = RoleForm(name=" Кассир ", permissions=chosen).body()
    assert body["name"] == "Кассир"
    assert body["permissions"] == [p for p in get_args(Permission) if p in set(chosen)]
    RoleCreate.model_validate(body)
