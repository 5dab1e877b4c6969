"""What a scale should hold and what to send it: PLU numbers stay put, only changes are sent, and a
product whose article cannot be a label's item code is refused by name."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from osuite.core.barcodes import DEFAULT_TEMPLATES, parse_scan
from osuite.scales import domain

WEIGHT = DEFAULT_TEMPLATES[0]
ids = st.lists(st.sampled_from([f"p{i}" for i in range(40)]), unique=True, max_size=30)


@given(first=ids, second=ids)
def test_plu_numbers_stay_with_their_products_and_are_never_shared(
    first: list[str], second: list[str]
) -> None:
    before = domain.numbered(first, {})
    after = domain.numbered(second, before)
    assert sorted(after) == sorted(second)
    assert len(set(after.values())) == len(after)
    for product in set(first) & set(second):
        assert after[product] == before[product]  # a product the scale keeps keeps its number
    newcomers = [after[p] for p in second if p not in before]
    free = sorted(set(range(1, len(second) + len(first) + 1)) - {before[p] for p in second if p in before})
    assert sorted(newcomers) == free[: len(newcomers)]  # the lowest free numbers


def test_numbers_run_out_at_the_scales_limit() -> None:
    assert domain.numbered(["a", "b", "c"], {}, most=2) == {"a": 1, "b": 2}


def product(pid: str, article: str = "00042", price: int | None = 12_900, **more: object) -> domain.Product:
    values: dict[str, object] = {"name": f"Товар {pid}", "weighted": True, "category_path": ("meat", "food")}
    values.update(more)
    return domain.Product(id=pid, article=article, price=price, **values)  # type: ignore[arg-type]


def test_rules_pick_by_category_or_by_list_and_refuse_what_has_no_price() -> None:
    rules = [domain.Rule("category", ("meat",)), domain.Rule("products", ("cheese",))]
    chosen, refused = domain.picked(
        rules,
        [
            product("beef"),
            product("cheese", category_path=("dairy",)),
            product("milk", category_path=("dairy",)),
            product("veal", price=None),
            product("old", active=False),
        ],
    )
    assert [p.id for p in chosen] == ["beef", "cheese"]
    assert [r.product_id for r in refused] == ["veal"] and "no price" in refused[0].reason


@pytest.mark.parametrize("article", ["42", "000042", "AB042", " "])
def test_an_article_that_cannot_be_the_labels_item_code_is_refused(article: str) -> None:
    with pytest.raises(ValueError, match="5 digits"):
        domain.item_code(article, WEIGHT)


def test_the_plu_carries_the_article_the_pos_finds_the_product_by() -> None:
    plu = domain.plu_of(product("beef"), 7, domain.item_code("00042", WEIGHT), hotkeys=10)
    assert (plu.number, plu.item_code, plu.price, plu.hotkey) == (7, 42, 12_900, 7)
    label = WEIGHT.build(str(plu.item_code).zfill(WEIGHT.item_length), 1)
    assert parse_scan(label, [WEIGHT]).item_code == "00042"  # type: ignore[union-attr]


def test_the_plu_prints_with_its_scales_label_format_and_a_new_format_sends_it_again() -> None:
    plain = domain.plu_of(product("beef"), 1, 42)
    framed = domain.plu_of(product("beef"), 1, 42, label_format=3)
    assert (plain.label_format, framed.label_format) == (0, 3)
    assert [p.number for p in domain.plan({1: framed}, {1: domain.digest(plain)}).write] == [1]


def test_a_key_calls_the_plu_at_its_number_while_the_scale_holds_it() -> None:
    plus = {n: domain.plu_of(product(f"p{n}"), n, 40 + n, hotkeys=2) for n in (1, 2, 3)}
    assert [plus[n].hotkey for n in (1, 2, 3)] == [1, 2, None]
    held = {n: domain.digest(plu) for n, plu in plus.items()}
    assert domain.key_table(plus, held) == {1: 1, 2: 2}
    # PLU 1 was refused as it is now (an older version, or none, is on the scale): its key stays empty.
    assert domain.key_table(plus, {**held, 1: "older"}) == {2: 2}
    # The product at 1 left the scale and another took the number: the key calls the newcomer.
    newcomer = domain.plu_of(product("veal"), 1, 77, hotkeys=2)
    assert domain.key_table({**plus, 1: newcomer}, {**held, 1: domain.digest(newcomer)}) == {1: 1, 2: 2}
    del plus[1]
    assert domain.key_table(plus, held) == {2: 2}


def test_only_what_changed_is_sent_and_a_full_reload_sends_everything() -> None:
    beef = domain.plu_of(product("beef"), 1, 42)
    veal = domain.plu_of(product("veal"), 2, 43)
    sent = {1: domain.digest(beef), 2: domain.digest(veal), 3: "gone"}
    dearer = domain.plu_of(product("veal", price=13_900), 2, 43)
    todo = domain.plan({1: beef, 2: dearer}, sent)
    assert [p.number for p in todo.write] == [2] and todo.delete == [3]
    assert domain.plan({1: beef, 2: veal}, {1: sent[1], 2: sent[2]}).empty
    assert [p.number for p in domain.plan({1: beef, 2: veal}, sent, full=True).write] == [1, 2]
