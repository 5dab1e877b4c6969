"""The license server's JSON API: seat leases for the programs (no token: being on the store's network is
enough), what is licensed and who holds the seats (open, read-only), and freeing a dead machine's seat
(an API key)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from osuite.core.http import Principal, requires
from osuite.license import wire
from osuite.license.service import Seats

router = APIRouter(prefix="/api/v1")
Admin = Annotated[Principal, Depends(requires("manage"))]
LeaseId = Annotated[str, Path(pattern=r"^[A-Za-z0-9-]{1,36}$")]


async def _seats(request: Request) -> Seats:
    seats: Seats = request.app.state.seats
    return seats


SeatsDep = Annotated[Seats, Depends(_seats)]


@router.post(
    "/leases",
    tags=["leases"],
    summary="Take a seat (the same machine gets its own lease back, renewed); 409 when none is free",
    responses={409: {"description": "Every seat is taken: the problem names the limit and the holders"}},
)
def acquire(body: wire.LeaseRequest, request: Request, seats: SeatsDep) -> wire.LeaseRead:
    address = request.client.host if request.client else ""
    lease = seats.acquire(
        program=body.program, machine_id=body.machine_id, name=body.name, address=address[:64]
    )
    return wire.LeaseRead.model_validate(lease)


@router.post("/leases/{lease_id}/renew", tags=["leases"], summary="The heartbeat: keep the seat")
def renew(lease_id: LeaseId, seats: SeatsDep) -> wire.LeaseRead:
    return wire.LeaseRead.model_validate(seats.renew(lease_id))


@router.delete("/leases/{lease_id}", status_code=204, tags=["leases"], summary="Give the seat back")
def release(lease_id: LeaseId, seats: SeatsDep) -> Response:
    seats.release(lease_id)
    return Response(status_code=204)


@router.get("/leases", tags=["leases"], summary="Who holds a seat (no lease ids)")
def leases(seats: SeatsDep) -> wire.LeaseList:
    return wire.LeaseList(
        leases=[
            wire.SeatHolder(
                program=h.program,
                machine_id=h.machine_id,
                name=h.name,
                address=h.address,
                since=h.since,
                renewed_at=h.renewed_at,
                expires_at=h.expires_at,
            )
            for h in seats.holders()
        ]
    )


@router.get("/license", tags=["license"], summary="What is licensed; seats used and free per program")
def license_(seats: SeatsDep) -> wire.LicenseRead:
    return wire.LicenseRead.model_validate(seats.summary())


@router.get(
    "/license/file",
    tags=["license"],
    summary="The signed license file, for a program to check with the vendor's public key",
    response_class=Response,
)
def license_file(seats: SeatsDep) -> Response:
    return Response(seats.license_text, media_type="text/plain; charset=utf-8")


@router.delete(
    "/machines/{program}/{machine_id}",
    status_code=204,
    tags=["leases"],
    summary="Free the seat of a machine that is gone (an API key)",
)
def free_machine(
    program: Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,39}$")],
    machine_id: Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")],
    seats: SeatsDep,
    who: Admin,
) -> Response:
    seats.release_machine(program=program, machine_id=machine_id, by=who.name)
    return Response(status_code=204)
