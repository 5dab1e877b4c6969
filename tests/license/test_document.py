"""License files: a genuine file verifies; any byte changed, any field changed, another vendor's key or a
passed date is refused with a message that says which."""

from __future__ import annotations

import base64
import json
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from osuite.license import document
from osuite.license.document import LicenseError, LicenseExpired, LicenseTampered
from tests.license.support import ISSUED, license_bytes, vendor_key

PUBLIC = vendor_key().public_key()
GENUINE = license_bytes()


def test_a_genuine_license_verifies_and_reads_back() -> None:
    lic = document.verify(GENUINE, PUBLIC)
    assert lic.license_id == "LIC-0001"
    assert lic.customer == "ООО «Ромашка», магазин 12"
    assert lic.seats == {"pos": 10, "processing_subordinate": 2, "scales": 1}
    assert lic.seats_for("pos") == 10
    assert lic.seats_for("manager") == 0
    assert lic.product_lines == ("openstore",)
    assert lic.features == ("loyalty", "scales")
    assert lic.issued_at == ISSUED
    assert lic.valid_until == date(2099, 12, 31)
    assert lic.grace_days == 7
    assert lic.key_id == document.key_id(PUBLIC)
    lic.check_valid(date(2099, 12, 31))


def test_the_file_is_readable_text_with_a_header_that_explains_it() -> None:
    text = GENUINE.decode()
    assert text.startswith("# O·S suite license file.")
    assert '"customer": "ООО «Ромашка», магазин 12"' in text
    assert '"pos": 10' in text
    assert text.splitlines()[-1].startswith("signature: ed25519 ")


@given(st.data())
def test_any_single_byte_changed_is_refused(data: st.DataObject) -> None:
    position = data.draw(st.integers(0, len(GENUINE) - 1), label="position")
    replacement = data.draw(st.integers(0, 255).filter(lambda b: b != GENUINE[position]), label="byte")
    tampered = bytearray(GENUINE)
    tampered[position] = replacement
    with pytest.raises(LicenseError):
        document.verify(bytes(tampered), PUBLIC)


FIELD_VALUES = {
    "license_id": st.text("ABCDEF0123456789-", min_size=1, max_size=20),
    "customer": st.text(min_size=1, max_size=30),
    "product_lines": st.lists(st.sampled_from(document.PRODUCT_LINES), unique=True),
    "seats": st.dictionaries(st.sampled_from(document.PROGRAMS), st.integers(0, 1000), min_size=1),
    "features": st.lists(st.sampled_from(["loyalty", "kitchen", "tickets", "x"]), unique=True),
    "issued_at": st.sampled_from(["2025-01-01T00:00:00Z", "2026-01-15T09:30:01Z"]),
    "valid_until": st.dates().map(date.isoformat),
    "grace_days": st.integers(0, 365),
    "key_id": st.text("0123456789abcdef", min_size=16, max_size=16),
}


@given(st.sampled_from(sorted(FIELD_VALUES)), st.data())
def test_any_field_changed_is_refused(field: str, data: st.DataObject) -> None:
    """Rewrite one field of the JSON (the file stays well-formed) and keep the old signature."""
    text = GENUINE.decode()
    head, _, signature = text.rstrip("\n").rpartition("\n")
    comment = "".join(line + "\n" for line in head.split("\n") if line.startswith("#"))
    body = json.loads("\n".join(line for line in head.split("\n") if not line.startswith("#")))
    value = data.draw(FIELD_VALUES[field].filter(lambda v: v != body[field]), label="value")
    body[field] = value
    forged = comment + json.dumps(body, ensure_ascii=False, indent=2) + "\n" + signature + "\n"
    with pytest.raises(LicenseTampered):
        document.verify(forged.encode(), PUBLIC)


def test_a_changed_seat_count_says_the_file_was_changed() -> None:
    forged = GENUINE.replace(b'"pos": 10', b'"pos": 99')
    with pytest.raises(LicenseTampered, match="changed or damaged since the vendor signed it"):
        document.verify(forged, PUBLIC)


def test_a_license_of_another_vendor_key_verifies_with_that_key_only() -> None:
    other = document.new_private_key()
    theirs = license_bytes(key=other)
    assert document.verify(theirs, other.public_key()).customer
    with pytest.raises(LicenseTampered, match=f"signed with key {document.key_id(other.public_key())}"):
        document.verify(theirs, PUBLIC)


def test_an_expired_license_is_refused_naming_the_date() -> None:
    lic = document.verify(license_bytes(valid_until=date(2026, 6, 30)), PUBLIC)
    lic.check_valid(date(2026, 6, 30))  # valid through its last day
    with pytest.raises(LicenseExpired, match="expired on 2026-06-30") as refused:
        lic.check_valid(date(2026, 7, 1))
    assert refused.value.license.license_id == "LIC-0001"


def test_windows_line_endings_and_a_byte_order_mark_are_forgiven() -> None:
    copied = b"\xef\xbb\xbf" + GENUINE.replace(b"\n", b"\r\n")
    assert document.verify(copied, PUBLIC).license_id == "LIC-0001"
    assert document.verify(GENUINE.rstrip(b"\n"), PUBLIC).license_id == "LIC-0001"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not an O·S license file"),
        (b"hello\nworld\n", "not an O·S license file"),
        (GENUINE + b"\n", "not an O·S license file"),
        (GENUINE.rsplit(b" ", 1)[0] + b" !!!!\n", "signature line is damaged"),
    ],
)
def test_what_is_not_a_license_says_so(data: bytes, message: str) -> None:
    with pytest.raises(LicenseTampered, match=message):
        document.verify(data, PUBLIC)


def test_a_signature_in_non_canonical_base64_is_refused() -> None:
    head, _, last = GENUINE.rstrip(b"\n").rpartition(b"\n")
    encoded = last.removeprefix(document.SIGNATURE_PREFIX)
    raw = base64.b64decode(encoded)
    # The last character before '==' carries 4 unused bits: another letter decodes to the same bytes.
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    sibling = encoded[:-3] + bytes([alphabet[alphabet.index(encoded[-3]) | 1]]) + b"=="
    assert base64.b64decode(sibling) == raw
    with pytest.raises(LicenseTampered, match="damaged"):
        document.verify(head + b"\n" + document.SIGNATURE_PREFIX + sibling + b"\n", PUBLIC)


def test_the_vendor_tool_refuses_unknown_programs_and_backwards_dates() -> None:
    with pytest.raises(LicenseError, match="unknown program kind"):
        license_bytes(seats={"poss": 10})
    with pytest.raises(LicenseError, match="before the day it is issued"):
        license_bytes(valid_until=date(2025, 1, 1))
    with pytest.raises(LicenseError, match="customer"):
        license_bytes(customer=" ")


def test_public_keys_read_as_pem_or_raw_base64() -> None:
    pem = document.public_key_pem(PUBLIC)
    raw = base64.b64encode(document.load_public_key(pem).public_bytes_raw())
    assert document.key_id(document.load_public_key(raw)) == document.key_id(PUBLIC)
    with pytest.raises(LicenseError, match="neither PEM"):
        document.load_public_key(b"not a key")
    with pytest.raises(LicenseError, match="32 bytes"):
        document.load_public_key(base64.b64encode(b"short"))
