"""The license server's HTTP API on the wire: what a program sends to take, renew and give back a seat,
and what it and an administrator read about the license.

Refusals are problem details whose ``type`` names them: ``no_free_seat`` (409: every seat of the
program is taken; ``limit`` and ``holders`` say by whom), ``not_licensed`` (403: the license gives the
program no seat), ``license_expired`` (403, ``valid_until``), ``lease_gone`` (404: the lease expired or
was given back; ask for a seat again)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

ProgramKind = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$"),
    Field(description="The kind of program: pos, scales, dataserver, processing_subordinate …"),
]
MachineId = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$"),
    Field(description="The machine's stable id (a UUID the program keeps in its data directory)"),
]
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    Field(description="How people know the machine: 'Касса 1'"),
]


class LeaseRequest(BaseModel):
    """A program asks for a seat; the same machine asking again gets its own lease back, renewed."""

    model_config = ConfigDict(extra="forbid")

    program: ProgramKind
    machine_id: MachineId
    name: Name

    @field_validator("name")
    @classmethod
    def _printable(cls, value: str) -> str:
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise ValueError("must not contain control characters")
        return value


class LicenseSummary(BaseModel):
    license_id: str
    customer: str
    product_lines: list[str]
    features: list[str]
    issued_at: datetime
    valid_until: date = Field(description="The last day the license is valid (inclusive, UTC)")
    grace_days: int = Field(description="How long a program that held a seat works without the server")
    key_id: str = Field(description="Fingerprint of the vendor key that signed it")
    expired: bool


class LeaseRead(BaseModel):
    """A seat held: only its holder gets the id, which renews and gives it back."""

    id: str
    program: str
    machine_id: str
    name: str
    acquired_at: datetime
    renewed_at: datetime
    expires_at: datetime
    lease_seconds: float = Field(description="How long a lease lasts without renewal")
    license: LicenseSummary


class SeatHolder(BaseModel):
    program: str
    machine_id: str
    name: str
    address: str = Field(description="The address the program called from")
    since: datetime
    renewed_at: datetime
    expires_at: datetime


class ProgramSeats(BaseModel):
    program: str
    seats: int
    used: int
    free: int
    holders: list[SeatHolder]


class LicenseRead(BaseModel):
    license: LicenseSummary
    programs: list[ProgramSeats]
    lease_minutes: float


class LeaseList(BaseModel):
    leases: list[SeatHolder]


def holders_from_problem(body: dict[str, Any]) -> list[SeatHolder]:
    """The seat holders a ``no_free_seat`` refusal names."""
    return [SeatHolder.model_validate(h) for h in body.get("holders") or []]
