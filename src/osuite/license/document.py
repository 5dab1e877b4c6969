"""License files: what a customer may run, signed by the vendor with Ed25519, readable by people.

A license file is UTF-8 text: a comment header, the license as JSON (sorted keys, two-space indent),
and a last line ``signature: ed25519 BASE64`` — the Ed25519 signature of every byte above that line,
the comment included. So any change anywhere in the file (a seat count, a date, a space, the comment,
the signature itself) makes it fail, and the license is refused. Only two harmless accidents of
copying are forgiven: Windows line endings (CRLF is read as LF) and a byte-order mark at the start.

A license is valid through its ``valid_until`` day inclusive (UTC). Programs carry only the vendor's
public key, which is configurable, so a license of another vendor key verifies against that key.

Pure functions only (no files, no clock): the callers read the bytes and say what day it is.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

FORMAT = "osuite-license/1"
SIGNATURE_PREFIX = b"signature: ed25519 "
DEFAULT_GRACE_DAYS = 7
MAX_SEATS = 100_000
MAX_GRACE_DAYS = 365

PRODUCT_LINES = ("openstore", "openservice", "openshow", "backoffice")
"""OpenStore (retail), OpenService (food service), OpenShow (venues), OpenStore BackOffice."""

PROGRAMS = (
    "pos",
    "dataserver",
    "processing",
    "processing_subordinate",
    "scales",
    "manager",
    "restaurant",
    "printing",
    "tickets",
    "backoffice",
)
"""The kinds of program a license counts seats for; the vendor tool issues seats for these only (a
license naming a kind this version does not know still verifies, for the version that knows it)."""

PROGRAM_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
FEATURE_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")

HEADER = """\
# O·S suite license file.
#
# The JSON below says what is licensed: the customer, the product lines, how many seats each program
# may take (pos = 10: ten POS terminals at once), the features, and the last day it is valid (UTC).
# The last line is the vendor's Ed25519 signature of every byte above it, this comment included: change
# anything in this file and every program refuses it. Check it with
#     osuite license show FILE --public-key VENDOR-PUBLIC-KEY.pem
"""


class LicenseError(ValueError):
    """A license that cannot be used; the message says why in words for the store's IT person."""


class LicenseTampered(LicenseError):
    """The file is not the one the vendor signed (changed, damaged, or signed with another key)."""


class LicenseExpired(LicenseError):
    """A genuine license whose last valid day has passed."""

    def __init__(self, message: str, license_: License) -> None:
        super().__init__(message)
        self.license = license_


@dataclass(frozen=True)
class License:
    """A verified license."""

    license_id: str
    customer: str
    product_lines: tuple[str, ...]
    seats: Mapping[str, int]
    features: tuple[str, ...]
    issued_at: datetime
    valid_until: date
    grace_days: int
    key_id: str = field(default="")
    """The fingerprint of the key it was signed with (see :func:`key_id`)."""

    def seats_for(self, program: str) -> int:
        return self.seats.get(program, 0)

    def expired(self, today: date) -> bool:
        return today > self.valid_until

    def check_valid(self, today: date) -> None:
        """Raise :class:`LicenseExpired` naming the date when ``today`` is past the last valid day."""
        if self.expired(today):
            raise LicenseExpired(
                f"the license {self.license_id} of {self.customer} expired on "
                f"{self.valid_until.isoformat()} (it was valid through that day); ask the vendor for a new "
                "license file",
                self,
            )

    def body(self) -> dict[str, Any]:
        """The license's JSON body, as signed."""
        return {
            "format": FORMAT,
            "license_id": self.license_id,
            "customer": self.customer,
            "product_lines": list(self.product_lines),
            "seats": dict(sorted(self.seats.items())),
            "features": list(self.features),
            "issued_at": self.issued_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "valid_until": self.valid_until.isoformat(),
            "grace_days": self.grace_days,
            "key_id": self.key_id,
        }


# --- keys ---------------------------------------------------------------------------------------------


def new_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def private_key_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def public_key_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_private_key(data: bytes) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise LicenseError(f"not an unencrypted PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise LicenseError("the private key is not an Ed25519 key")
    return key


def load_public_key(data: bytes | str) -> Ed25519PublicKey:
    """A public key from a PEM file's bytes, or from the 32 raw key bytes in base64 (one line)."""
    raw = data.encode() if isinstance(data, str) else data
    text = raw.strip()
    if text.startswith(b"-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(text)
        except (ValueError, TypeError) as exc:
            raise LicenseError(f"not a PEM public key: {exc}") from None
        if not isinstance(key, Ed25519PublicKey):
            raise LicenseError("the public key is not an Ed25519 key")
        return key
    try:
        decoded = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise LicenseError("the public key is neither PEM nor the base64 of 32 key bytes") from None
    if len(decoded) != 32:
        raise LicenseError(f"a raw Ed25519 public key has 32 bytes, this one has {len(decoded)}")
    return Ed25519PublicKey.from_public_bytes(decoded)


def key_id(key: Ed25519PublicKey) -> str:
    """A short fingerprint to tell keys apart in messages: hex SHA-256 of the raw key, 16 digits."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


# --- issuing ------------------------------------------------------------------------------------------


def issue(
    private_key: Ed25519PrivateKey,
    *,
    license_id: str,
    customer: str,
    seats: Mapping[str, int],
    valid_until: date,
    issued_at: datetime,
    product_lines: Iterable[str] = (),
    features: Iterable[str] = (),
    grace_days: int = DEFAULT_GRACE_DAYS,
    known_only: bool = True,
) -> bytes:
    """A signed license file. ``known_only`` refuses program kinds and product lines this version does
    not know (a typo in the vendor's command line must not reach a customer)."""
    lines = tuple(product_lines)
    licensed = dict(seats)
    if known_only:
        unknown = sorted(set(licensed) - set(PROGRAMS))
        if unknown:
            raise LicenseError(f"unknown program kind(s) {', '.join(unknown)}; known: {', '.join(PROGRAMS)}")
        unknown = sorted(set(lines) - set(PRODUCT_LINES))
        if unknown:
            raise LicenseError(
                f"unknown product line(s) {', '.join(unknown)}; known: {', '.join(PRODUCT_LINES)}"
            )
    if valid_until < issued_at.astimezone(UTC).date():
        raise LicenseError(f"valid until {valid_until.isoformat()} is before the day it is issued")
    license_ = License(
        license_id=license_id,
        customer=customer,
        product_lines=lines,
        seats=licensed,
        features=tuple(features),
        issued_at=issued_at,
        valid_until=valid_until,
        grace_days=grace_days,
        key_id=key_id(private_key.public_key()),
    )
    _check_body(license_.body())
    signed = (HEADER + json.dumps(license_.body(), ensure_ascii=False, indent=2) + "\n").encode()
    signature = base64.b64encode(private_key.sign(signed))
    return signed + SIGNATURE_PREFIX + signature + b"\n"


# --- verifying ----------------------------------------------------------------------------------------


def verify(data: bytes, public_key: Ed25519PublicKey) -> License:
    """The license in ``data`` if ``public_key`` signed exactly these bytes; :class:`LicenseTampered`
    or :class:`LicenseError` with the reason otherwise. Does not look at the date: see
    :meth:`License.check_valid`."""
    text = data.removeprefix(b"\xef\xbb\xbf").replace(b"\r\n", b"\n")
    text = text.removesuffix(b"\n")
    signed, newline, last = text.rpartition(b"\n")
    if not newline or not last.startswith(SIGNATURE_PREFIX):
        raise LicenseTampered(
            "this is not an O·S license file, or it was cut short: its last line must be "
            "'signature: ed25519 …'"
        )
    signed += b"\n"
    encoded = last.removeprefix(SIGNATURE_PREFIX)
    try:
        signature = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        signature = b""
    if len(signature) != 64 or base64.b64encode(signature) != encoded:
        raise LicenseTampered("the license file's signature line is damaged; ask the vendor for the file")
    try:
        public_key.verify(signature, signed)
    except InvalidSignature:
        raise LicenseTampered(_mismatch(signed, public_key)) from None
    body = _parse(signed)
    return _license(body)


def _mismatch(signed: bytes, public_key: Ed25519PublicKey) -> str:
    expected = key_id(public_key)
    try:
        claimed = _parse(signed).get("key_id")
    except LicenseError:
        claimed = None
    if isinstance(claimed, str) and claimed and claimed != expected:
        return (
            f"the license file was signed with key {claimed}, but the public key configured here is "
            f"{expected}: configure the public key of the vendor that issued it"
        )
    return (
        "the license file has been changed or damaged since the vendor signed it (the signature does "
        f"not match, key {expected}); it is refused — ask the vendor for the original file"
    )


def _parse(signed: bytes) -> dict[str, Any]:
    try:
        text = signed.decode("utf-8")
    except UnicodeDecodeError:
        raise LicenseError("the license file is not UTF-8 text") from None
    body_text = "\n".join(line for line in text.split("\n") if not line.startswith("#"))
    try:
        body = json.loads(body_text, object_pairs_hook=_no_duplicates)
    except ValueError as exc:
        raise LicenseError(f"the license's JSON cannot be read: {exc}") from None
    if not isinstance(body, dict):
        raise LicenseError("the license's JSON is not an object")
    return body


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            raise ValueError(f"{name!r} is given twice")
        result[name] = value
    return result


def _license(body: Mapping[str, Any]) -> License:
    _check_body(body)
    return License(
        license_id=body["license_id"],
        customer=body["customer"],
        product_lines=tuple(body["product_lines"]),
        seats=dict(body["seats"]),
        features=tuple(body["features"]),
        issued_at=datetime.fromisoformat(body["issued_at"].replace("Z", "+00:00")).astimezone(UTC),
        valid_until=date.fromisoformat(body["valid_until"]),
        grace_days=body["grace_days"],
        key_id=body["key_id"],
    )


_FIELDS = (
    "format",
    "license_id",
    "customer",
    "product_lines",
    "seats",
    "features",
    "issued_at",
    "valid_until",
    "grace_days",
    "key_id",
)


def _check_body(body: Mapping[str, Any]) -> None:
    """Every field present, of its type and in its range; the message names the first that is not."""
    missing = [name for name in _FIELDS if name not in body]
    if missing:
        raise LicenseError(f"the license lacks {', '.join(missing)}")
    extra = sorted(set(body) - set(_FIELDS))
    if extra:
        raise LicenseError(f"the license has unknown fields {', '.join(extra)}")
    if body["format"] != FORMAT:
        raise LicenseError(f"the license format is {body['format']!r}; this version reads {FORMAT!r}")
    for name in ("license_id", "customer", "key_id", "issued_at", "valid_until"):
        if not isinstance(body[name], str):
            raise LicenseError(f"{name} must be text")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}", body["license_id"]):
        raise LicenseError("license_id must be 1–64 letters, digits, '-', '_', '.', ':'")
    customer = body["customer"]
    if not customer.strip() or len(customer) > 200 or any(ord(c) < 32 for c in customer):
        raise LicenseError("customer must be 1–200 characters without control characters")
    for name in ("product_lines", "features"):
        values = body[name]
        if not isinstance(values, list) or not all(
            isinstance(v, str) and FEATURE_NAME.match(v) for v in values
        ):
            raise LicenseError(f"{name} must be a list of names (a-z, 0-9, '_', '.', '-')")
        if len(set(values)) != len(values):
            raise LicenseError(f"{name} names a value twice")
    seats = body["seats"]
    if not isinstance(seats, dict) or not seats:
        raise LicenseError("seats must name at least one program and its number of seats")
    for program, count in seats.items():
        if not PROGRAM_NAME.match(program):
            raise LicenseError(f"seats: {program!r} is not a program kind (a-z, 0-9, '_')")
        if type(count) is not int or not 0 <= count <= MAX_SEATS:
            raise LicenseError(f"seats: {program} must be a whole number from 0 to {MAX_SEATS}")
    grace = body["grace_days"]
    if type(grace) is not int or not 0 <= grace <= MAX_GRACE_DAYS:
        raise LicenseError(f"grace_days must be a whole number of days from 0 to {MAX_GRACE_DAYS}")
    try:
        issued = datetime.fromisoformat(body["issued_at"].replace("Z", "+00:00"))
        date.fromisoformat(body["valid_until"])
    except ValueError:
        raise LicenseError("issued_at must be an ISO moment and valid_until an ISO date") from None
    if issued.tzinfo is None:
        raise LicenseError("issued_at must carry its UTC offset")


def describe(license_: License, *, today: date | None = None) -> str:
    """The license in a few lines for a person."""
    seats = ", ".join(f"{program} {count}" for program, count in sorted(license_.seats.items()))
    lines = [
        f"license   {license_.license_id}",
        f"customer  {license_.customer}",
        f"lines     {', '.join(license_.product_lines) or '—'}",
        f"seats     {seats}",
        f"features  {', '.join(license_.features) or '—'}",
        f"issued    {license_.issued_at.isoformat()}",
        f"valid     through {license_.valid_until.isoformat()} (UTC)",
        f"grace     {license_.grace_days} days without the license server",
        f"key       {license_.key_id}",
    ]
    if today is not None and license_.expired(today):
        lines.append(f"EXPIRED   on {license_.valid_until.isoformat()}")
    return "\n".join(lines)
