"""Keys and license files for the license tests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from osuite.license import document

ISSUED = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)


@cache
def vendor_key() -> Ed25519PrivateKey:
    return document.new_private_key()


def license_bytes(
    *,
    seats: dict[str, int] | None = None,
    valid_until: date = date(2099, 12, 31),
    key: Ed25519PrivateKey | None = None,
    customer: str = "ООО «Ромашка», магазин 12",
    grace_days: int = 7,
    license_id: str = "LIC-0001",
) -> bytes:
    return document.issue(
        key or vendor_key(),
        license_id=license_id,
        customer=customer,
        seats=seats if seats is not None else {"pos": 10, "scales": 1, "processing_subordinate": 2},
        valid_until=valid_until,
        issued_at=ISSUED,
        product_lines=["openstore"],
        features=["loyalty", "scales"],
        grace_days=grace_days,
    )


def write_license(folder: Path, **kwargs: object) -> tuple[Path, Path]:
    """A license file and the vendor's public key file in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    lic = folder / "license.txt"
    lic.write_bytes(license_bytes(**kwargs))  # type: ignore[arg-type]
    key = kwargs.get("key") or vendor_key()
    pub = folder / "vendor-public.pem"
    pub.write_bytes(document.public_key_pem(key.public_key()))  # type: ignore[attr-defined]
    return lic, pub
