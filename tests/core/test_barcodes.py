from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from osuite.core.barcodes import (
    DEFAULT_TEMPLATES,
    BarcodeError,
    BarcodeTemplate,
    Gtin,
    InStoreCode,
    complete_gtin,
    gtin_check_digit,
    is_valid_gtin,
    parse_scan,
)

WEIGHT, PRICE, COUNT = DEFAULT_TEMPLATES

# Codes printed on real packages and in the GS1 documentation.
KNOWN = [
    ("4006381333931", "EAN-13"),
    ("5901234123457", "EAN-13"),
    ("4600000000008", "EAN-13"),
    ("96385074", "EAN-8"),
    ("73513537", "EAN-8"),
    ("036000291452", "UPC-A"),
    ("012345678905", "UPC-A"),
]


def _template(**changes: Any) -> BarcodeTemplate:
    fields: dict[str, Any] = {
        "name": "t",
        "prefixes": ["20"],
        "kind": "weight",
        "item_start": 2,
        "item_length": 5,
        "value_start": 7,
        "value_length": 5,
        "value_decimals": 3,
    }
    fields.update(changes)
    return BarcodeTemplate(**fields)


# --- GTINs -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "kind"), KNOWN)
def test_known_codes_are_valid_and_parse_to_their_kind(code: str, kind: str) -> None:
    assert gtin_check_digit(code[:-1]) == int(code[-1])
    assert is_valid_gtin(code)
    assert complete_gtin(code[:-1]) == code
    assert parse_scan(code) == Gtin(code=code, kind=kind)  # type: ignore[arg-type]


@pytest.mark.parametrize(("code", "_kind"), KNOWN)
def test_every_wrong_check_digit_of_a_known_code_is_refused(code: str, _kind: str) -> None:
    for digit in "0123456789":
        if digit == code[-1]:
            continue
        bad = code[:-1] + digit
        assert not is_valid_gtin(bad)
        with pytest.raises(BarcodeError, match=f"check digit is {digit}, expected {code[-1]}"):
            parse_scan(bad)


def test_check_digit_of_zero_sum_is_zero() -> None:
    assert gtin_check_digit("000000000000") == 0
    assert complete_gtin("0000000") == "00000000"


@pytest.mark.parametrize("code", ["", "1", "1234567", "123456789", "12345678901", "40063813339310"])
def test_is_valid_gtin_refuses_other_lengths(code: str) -> None:
    assert not is_valid_gtin(code)


@pytest.mark.parametrize(
    "code", ["400638133393x", " 4006381333931", "4006381333931\n", "４００６３８１３３３９３１"]
)
def test_is_valid_gtin_is_strict_about_characters(code: str) -> None:
    assert not is_valid_gtin(code)


def test_check_digit_refuses_non_digits_and_nothing() -> None:
    with pytest.raises(BarcodeError, match="non-digit character 'a'"):
        gtin_check_digit("12a4")
    with pytest.raises(BarcodeError):
        gtin_check_digit("")


@pytest.mark.parametrize("body", ["", "123456", "12345678", "1234567890", "1234567890123"])
def test_complete_gtin_refuses_bodies_of_other_lengths(body: str) -> None:
    with pytest.raises(BarcodeError, match="7, 11 or 12"):
        complete_gtin(body)


@given(st.sampled_from([7, 11, 12]).flatmap(lambda n: st.text("0123456789", min_size=n, max_size=n)))
def test_completed_body_is_valid(body: str) -> None:
    code = complete_gtin(body)
    assert code.startswith(body)
    assert len(code) == len(body) + 1
    assert is_valid_gtin(code)


@given(
    body=st.text("0123456789", min_size=12, max_size=12),
    position=st.integers(0, 12),
    shift=st.integers(1, 9),
)
def test_any_single_digit_error_is_detected(body: str, position: int, shift: int) -> None:
    code = complete_gtin(body)
    wrong = str((int(code[position]) + shift) % 10)
    mistyped = code[:position] + wrong + code[position + 1 :]
    assert not is_valid_gtin(mistyped)
    with pytest.raises(BarcodeError, match="check digit"):
        parse_scan(mistyped)


# --- parse_scan ------------------------------------------------------------------------------------


def test_scan_drops_whitespace_around_and_inside() -> None:
    assert parse_scan(" 4006381333931\r\n") == Gtin("4006381333931", "EAN-13")
    assert parse_scan("4 006381 333931") == Gtin("4006381333931", "EAN-13")


@pytest.mark.parametrize("code", ["1234567", "123456789", "12345678901", "40063813339310", "1"])
def test_scan_of_a_wrong_length_says_how_many_digits(code: str) -> None:
    with pytest.raises(BarcodeError, match=f"has {len(code)} digits"):
        parse_scan(code)


@pytest.mark.parametrize(
    ("code", "bad"), [("400638133393x", "x"), ("4006-381333931", "-"), ("2112345O15002", "O")]
)
def test_scan_names_the_non_digit(code: str, bad: str) -> None:
    with pytest.raises(BarcodeError, match=f"non-digit character '{bad}'"):
        parse_scan(code, DEFAULT_TEMPLATES)


@pytest.mark.parametrize("code", ["", "   ", "\n"])
def test_empty_scan_is_refused(code: str) -> None:
    with pytest.raises(BarcodeError, match="empty"):
        parse_scan(code)


def test_in_store_code_is_read_by_its_template() -> None:
    assert parse_scan("2112345012346", DEFAULT_TEMPLATES) == InStoreCode(
        code="2112345012346", template="weight", item_code="12345", weight=Decimal("1.234")
    )
    assert parse_scan("2200042999999", DEFAULT_TEMPLATES) == InStoreCode(
        code="2200042999999", template="price", item_code="00042", price=99999
    )
    assert parse_scan("2300007000125", DEFAULT_TEMPLATES) == InStoreCode(
        code="2300007000125", template="count", item_code="00007", count=12
    )


def test_without_a_matching_template_an_in_store_code_is_a_plain_ean13() -> None:
    assert parse_scan("2112345012346") == Gtin("2112345012346", "EAN-13")
    assert parse_scan("2412345012347", DEFAULT_TEMPLATES) == Gtin("2412345012347", "EAN-13")


def test_in_store_code_with_a_bad_check_digit_is_refused_not_read_as_gtin() -> None:
    with pytest.raises(BarcodeError, match="check digit is 4, expected 6"):
        parse_scan("2112345012344", DEFAULT_TEMPLATES)


def test_first_matching_template_wins() -> None:
    by_weight = _template(name="by weight", prefixes=["21"])
    by_price = _template(name="by price", prefixes=["21"], kind="price", value_decimals=2)
    assert parse_scan("2112345012346", [by_weight, by_price]) == InStoreCode(
        "2112345012346", "by weight", "12345", weight=Decimal("1.234")
    )
    assert parse_scan("2112345012346", [by_price, by_weight]) == InStoreCode(
        "2112345012346", "by price", "12345", price=1234
    )


# --- templates -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("digits", "weight"),
    [("00000", "0.000"), ("00005", "0.005"), ("01500", "1.500"), ("12345", "12.345"), ("99999", "99.999")],
)
def test_weight_is_a_decimal_quantity_with_three_places(digits: str, weight: str) -> None:
    parsed = WEIGHT.parse(complete_gtin("2100001" + digits))
    assert parsed.weight == Decimal(weight)
    assert str(parsed.weight) == weight
    assert parsed.price is None
    assert parsed.count is None


def test_weight_with_fewer_decimals_is_scaled() -> None:
    tens_of_grams = _template(value_length=4, value_decimals=2)
    parsed = tens_of_grams.parse(complete_gtin("201234512340"))
    assert parsed.weight == Decimal("12.34")
    assert str(parsed.weight) == "12.340"


def test_price_in_whole_rubles_becomes_kopecks() -> None:
    rubles = _template(kind="price", value_decimals=0)
    assert rubles.parse(complete_gtin("200000100250")).price == 25000
    assert rubles.build("00001", 25000) == complete_gtin("200000100250")
    with pytest.raises(BarcodeError, match="0 decimal places"):
        rubles.build("00001", 25050)


def test_price_with_kopecks_is_read_as_is() -> None:
    assert PRICE.parse(complete_gtin("220000112345")).price == 12345


def test_build_uses_the_first_prefix_and_zero_fills_unused_digits() -> None:
    template = _template(prefixes=["28", "29"], item_start=3, item_length=4, value_start=8, value_length=3)
    code = template.build("1234", Decimal("0.5"))
    assert code == complete_gtin("280123405000")
    assert template.parse(code).weight == Decimal("0.500")


def test_parse_refuses_codes_that_are_not_its_own() -> None:
    with pytest.raises(BarcodeError, match="prefix"):
        WEIGHT.parse(complete_gtin("220000112345"))
    with pytest.raises(BarcodeError, match="13 digits expected for EAN-13, got 12"):
        WEIGHT.parse("211234501234")
    with pytest.raises(BarcodeError, match="non-digit"):
        WEIGHT.parse("21123450123a3")


def test_matches_looks_at_length_digits_and_prefix() -> None:
    assert WEIGHT.matches("2112345012346")
    assert WEIGHT.matches("2112345012344")  # the check digit is parse's business
    assert not WEIGHT.matches("2212345012343")
    assert not WEIGHT.matches("211234501234")
    assert not WEIGHT.matches("21123450123a3")


@pytest.mark.parametrize(
    ("template", "value"),
    [
        (WEIGHT, Decimal("100")),
        (WEIGHT, Decimal("1.2345")),
        (WEIGHT, Decimal("-0.001")),
        (WEIGHT, Decimal("NaN")),
        (WEIGHT, Decimal("9E+999999")),
        (PRICE, 100_000),
        (PRICE, -1),
        (COUNT, 100_000),
        (COUNT, Decimal("1.5")),
    ],
)
def test_build_refuses_values_that_do_not_fit(template: BarcodeTemplate, value: Decimal | int) -> None:
    with pytest.raises(BarcodeError):
        template.build("12345", value)


@pytest.mark.parametrize("item", ["1234", "123456", "12a45", ""])
def test_build_refuses_item_codes_of_the_wrong_shape(item: str) -> None:
    with pytest.raises(BarcodeError):
        WEIGHT.build(item, 1)


def test_build_accepts_the_largest_value_that_fits() -> None:
    assert WEIGHT.parse(WEIGHT.build("12345", Decimal("99.999"))).weight == Decimal("99.999")
    assert PRICE.parse(PRICE.build("12345", 99_999)).price == 99_999
    assert COUNT.parse(COUNT.build("12345", 99_999)).count == 99_999


@st.composite
def templates(draw: st.DrawFn) -> BarcodeTemplate:
    """Any valid layout: item and value in either order, anywhere in digits 2..11, gaps allowed."""
    first = draw(st.integers(1, 9))
    second = draw(st.integers(1, 10 - first))
    spare = 10 - first - second
    gap_before = draw(st.integers(0, spare))
    gap_between = draw(st.integers(0, spare - gap_before))
    first_start = 2 + gap_before
    second_start = first_start + first + gap_between
    item_first = draw(st.booleans())
    item, value = ((first_start, first), (second_start, second))[:: 1 if item_first else -1]
    kind = draw(st.sampled_from(["weight", "price", "count"]))
    most = {"weight": 3, "price": 2, "count": 0}[kind]
    decimals = draw(st.integers(0, min(most, value[1])))
    prefixes = draw(st.lists(st.sampled_from(["02", *map(str, range(20, 30))]), min_size=1, unique=True))
    return BarcodeTemplate(
        name="random",
        prefixes=prefixes,
        kind=kind,
        item_start=item[0],
        item_length=item[1],
        value_start=value[0],
        value_length=value[1],
        value_decimals=decimals,
    )


@given(data=st.data(), template=st.one_of(st.sampled_from(DEFAULT_TEMPLATES), templates()))
def test_build_then_parse_gives_back_item_and_value(data: st.DataObject, template: BarcodeTemplate) -> None:
    item = data.draw(st.text("0123456789", min_size=template.item_length, max_size=template.item_length))
    raw = data.draw(st.integers(0, 10**template.value_length - 1))
    code = template.build(item, _value(template, raw))

    assert is_valid_gtin(code)
    assert len(code) == 13
    assert code[:2] == template.prefixes[0]
    parsed = parse_scan(code, [template])
    assert isinstance(parsed, InStoreCode)
    assert parsed.item_code == item
    assert parsed.template == template.name
    got = {"weight": parsed.weight, "price": parsed.price, "count": parsed.count}
    assert got.pop(template.kind) == _value(template, raw)
    assert set(got.values()) == {None}


@given(data=st.data(), template=st.one_of(st.sampled_from(DEFAULT_TEMPLATES), templates()))
def test_build_refuses_the_first_value_that_does_not_fit(
    data: st.DataObject, template: BarcodeTemplate
) -> None:
    with pytest.raises(BarcodeError, match="does not fit"):
        template.build("1" * template.item_length, _value(template, 10**template.value_length))


def _value(template: BarcodeTemplate, raw: int) -> Decimal | int:
    """What ``raw`` in the value digits means, worked out independently of the template's own code."""
    if template.kind == "weight":
        return Decimal(raw) / 10**template.value_decimals
    if template.kind == "price":
        return raw * 10 ** (2 - template.value_decimals)
    return raw


@pytest.mark.parametrize(
    "changes",
    [
        {"item_start": 6},  # item 6..11 runs into value 7..12
        {"value_start": 5},  # value 5..10 runs into item 2..7
        {"item_start": 7, "value_start": 7},
        {"value_start": 2, "item_start": 6},  # value 2..7 and item 6..11 share digit 6
        {"value_start": 6, "value_length": 5},  # item 2..7 and value 6..11 share digit 6
        {"item_start": 1},  # into the prefix
        {"value_start": 0, "item_start": 5},
        {"value_start": 8},  # into the check digit
        {"value_length": 6},
        {"item_start": 13},
        {"item_length": 0},
        {"value_length": 0},
        {"value_length": -1},
        {"value_decimals": -1},
        {"value_length": 2, "value_decimals": 3},
        {"value_decimals": 4},  # finer than a gram
        {"kind": "price", "value_decimals": 3},  # fractions of a kopeck
        {"kind": "count", "value_decimals": 1},
        {"prefixes": []},
        {"prefixes": ["2"]},
        {"prefixes": ["211"]},
        {"prefixes": ["46"]},  # a real country prefix
        {"prefixes": ["21", "00"]},
        {"prefixes": ["2a"]},
        {"name": ""},
        {"kind": "volume"},
        {"colour": "red"},
    ],
)
def test_invalid_templates_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        _template(**changes)


def test_template_errors_say_what_is_wrong() -> None:
    with pytest.raises(ValidationError, match="overlap"):
        _template(item_start=6)
    with pytest.raises(ValidationError, match="check digit"):
        _template(value_start=8)
    with pytest.raises(ValidationError, match="in-store"):
        _template(prefixes=["46"])


def test_item_and_value_may_sit_in_any_order_with_gaps() -> None:
    template = _template(item_start=8, item_length=4, value_start=2, value_length=5, value_decimals=3)
    code = template.build("4321", Decimal("12.345"))
    assert code[:12] == "201234504321"
    assert template.parse(code) == InStoreCode(code, "t", "4321", weight=Decimal("12.345"))


def test_templates_are_frozen() -> None:
    with pytest.raises(ValidationError):
        WEIGHT.name = "other"  # type: ignore[misc]


def test_default_templates_are_the_demo_layouts() -> None:
    assert [(t.name, t.prefixes, t.kind, t.value_decimals) for t in DEFAULT_TEMPLATES] == [
        ("weight", ["21"], "weight", 3),
        ("price", ["22"], "price", 2),
        ("count", ["23"], "count", 0),
    ]
    for template in DEFAULT_TEMPLATES:
        assert (template.item_start, template.item_length) == (2, 5)
        assert (template.value_start, template.value_length) == (7, 5)


@given(st.one_of(st.sampled_from(DEFAULT_TEMPLATES), templates()))
def test_templates_survive_a_json_round_trip(template: BarcodeTemplate) -> None:
    assert BarcodeTemplate.model_validate_json(template.model_dump_json()) == template
