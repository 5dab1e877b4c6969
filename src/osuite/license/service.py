"""Seat leases, one transaction each: take a seat, renew it, give it back, list who holds what.

Locking rule: every change to the leases of a program first locks that program's ``seat_pools`` row
(``SELECT … FOR UPDATE`` on PostgreSQL; on SQLite ``db.write()`` begins ``IMMEDIATE``, one writer at a
time). Counting the live leases and adding one therefore happens for one request of a program at a
time, on every database and with any number of server processes, and never gives out more seats than
the license has. Only one pool row is ever locked per transaction, so there is no lock order to keep.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from osuite.core.db import Database
from osuite.core.ids import new_id
from osuite.license import domain
from osuite.license import tables as t
from osuite.license.document import License
from osuite.license.domain import Holder

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


class SeatsError(Exception):
    """A refusal for the caller: HTTP status, problem type, message, and extra problem fields."""

    def __init__(self, status: int, kind: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message
        self.extra = extra


@dataclass
class Seats:
    """The license server's state: its database, the verified license, and the clock."""

    db: Database
    license: License
    license_text: bytes
    lease_minutes: float = 10.0
    clock: Clock = system_clock
    _writer: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A write transaction. On SQLite the threads of this process queue on a lock first: SQLite
        lets one writer in at a time anyway, and a lock hands over at once where SQLite's busy wait
        sleeps and polls (other processes on the same file still queue inside SQLite)."""
        if self.db.is_sqlite:
            with self._writer, self.db.write() as conn:
                yield conn
        else:
            with self.db.write() as conn:
                yield conn

    @property
    def lease_length(self) -> timedelta:
        return timedelta(minutes=self.lease_minutes)

    # --- at start --------------------------------------------------------------------------------------

    def load_license(self) -> list[Holder]:
        """Make the seat rows say what the license says. Leases of programs the license no longer
        names, or over a smaller number of seats, are taken back (the newest first); returns those."""
        now = self.clock()
        revoked: list[Holder] = []
        for program in sorted(
            set(self.license.seats) | set(self._pool_programs()) | set(self._leased_programs())
        ):
            seats = self.license.seats_for(program)
            with self._write() as conn:
                pool = conn.execute(
                    select(t.seat_pools).where(t.seat_pools.c.program == program).with_for_update()
                ).first()
                values = {"seats": seats, "license_id": self.license.license_id, "updated_at": now}
                if pool is None:
                    conn.execute(insert(t.seat_pools).values(program=program, **values))
                else:
                    conn.execute(
                        update(t.seat_pools).where(t.seat_pools.c.program == program).values(**values)
                    )
                self._expire(conn, program, now)
                for holder in domain.to_revoke(self._holders(conn, program), seats):
                    conn.execute(delete(t.leases).where(t.leases.c.id == holder.lease_id))
                    _event(
                        conn,
                        now,
                        "revoked",
                        holder,
                        f"license {self.license.license_id} gives {program} {seats} seats",
                    )
                    revoked.append(holder)
        return revoked

    def _pool_programs(self) -> list[str]:
        with self.db.read() as conn:
            return list(conn.execute(select(t.seat_pools.c.program)).scalars())

    def _leased_programs(self) -> list[str]:
        with self.db.read() as conn:
            return list(conn.execute(select(t.leases.c.program).distinct()).scalars())

    # --- the use cases ---------------------------------------------------------------------------------

    def acquire(self, *, program: str, machine_id: str, name: str, address: str) -> dict[str, Any]:
        """A seat for ``machine_id``: its own lease renewed if it holds one, else a new one if a seat is
        free, else ``no_free_seat`` naming the limit and the holders."""
        now = self.clock()
        seats = self._licensed_seats(program, now)
        refusal: SeatsError | None = None
        with self._write() as conn:
            self._lock(conn, program)
            self._expire(conn, program, now)
            own = conn.execute(
                select(t.leases).where(t.leases.c.program == program, t.leases.c.machine_id == machine_id)
            ).first()
            if own is not None:
                conn.execute(
                    update(t.leases)
                    .where(t.leases.c.id == own.id)
                    .values(name=name, address=address, renewed_at=now, expires_at=now + self.lease_length)
                )
                lease_id = own.id
            else:
                holders = self._holders(conn, program)
                if len(holders) >= seats:
                    refusal = SeatsError(
                        409,
                        "no_free_seat",
                        domain.no_seat_message(program, seats, holders, self.lease_minutes),
                        program=program,
                        limit=seats,
                        holders=[_holder_wire(h) for h in holders],
                    )
                    _event(conn, now, "refused", _asking(program, machine_id, name, address, now), "")
                else:
                    lease_id = new_id()
                    conn.execute(
                        insert(t.leases).values(
                            id=lease_id,
                            program=program,
                            machine_id=machine_id,
                            name=name,
                            address=address,
                            acquired_at=now,
                            renewed_at=now,
                            expires_at=now + self.lease_length,
                        )
                    )
                    _event(
                        conn, now, "acquired", _asking(program, machine_id, name, address, now, lease_id), ""
                    )
            if refusal is None:
                lease = self._lease(conn, lease_id)
        if refusal is not None:
            raise refusal
        return lease

    def renew(self, lease_id: str) -> dict[str, Any]:
        """The heartbeat: the lease lasts another ``lease_minutes`` from now. A lease that expired (its
        seat may be someone else's by now) or was given back is ``lease_gone``."""
        now = self.clock()
        program = self._program_of(lease_id)
        self._licensed_seats(program, now)
        with self._write() as conn:
            self._lock(conn, program)
            self._expire(conn, program, now)
            done = conn.execute(
                update(t.leases)
                .where(t.leases.c.id == lease_id)
                .values(renewed_at=now, expires_at=now + self.lease_length)
            )
            if done.rowcount == 1:
                return self._lease(conn, lease_id)
        raise _gone(lease_id)

    def release(self, lease_id: str) -> None:
        """Give a seat back; a lease already gone is fine (a retry of a release changes nothing)."""
        now = self.clock()
        with self._write() as conn:
            row = conn.execute(select(t.leases).where(t.leases.c.id == lease_id)).first()
            if row is None:
                return
            self._lock(conn, row.program)
            if conn.execute(delete(t.leases).where(t.leases.c.id == lease_id)).rowcount:
                _event(conn, now, "released", _holder(row), "")

    def release_machine(self, *, program: str, machine_id: str, by: str) -> bool:
        """An administrator frees the seat of a machine (a till that died); ``False`` if it held none."""
        now = self.clock()
        with self._write() as conn:
            self._lock(conn, program)
            row = conn.execute(
                select(t.leases).where(t.leases.c.program == program, t.leases.c.machine_id == machine_id)
            ).first()
            if row is None:
                return False
            conn.execute(delete(t.leases).where(t.leases.c.id == row.id))
            _event(conn, now, "released", _holder(row), f"by {by}")
            return True

    def holders(self) -> list[Holder]:
        """Every live lease, by program and age."""
        now = self.clock()
        with self.db.read() as conn:
            rows = conn.execute(
                select(t.leases)
                .where(t.leases.c.expires_at > now)
                .order_by(t.leases.c.program, t.leases.c.acquired_at, t.leases.c.id)
            ).all()
        return [_holder(row) for row in rows]

    def summary(self) -> dict[str, Any]:
        """What is licensed, and per program the seats used and free with their holders."""
        holders = self.holders()
        programs = []
        for program, seats in sorted(self.license.seats.items()):
            held = [h for h in holders if h.program == program]
            programs.append(
                {
                    "program": program,
                    "seats": seats,
                    "used": len(held),
                    "free": max(seats - len(held), 0),
                    "holders": [_holder_wire(h) for h in held],
                }
            )
        return {
            "license": self.license_summary(),
            "programs": programs,
            "lease_minutes": self.lease_minutes,
        }

    def license_summary(self) -> dict[str, Any]:
        lic = self.license
        return {
            "license_id": lic.license_id,
            "customer": lic.customer,
            "product_lines": list(lic.product_lines),
            "features": list(lic.features),
            "issued_at": lic.issued_at,
            "valid_until": lic.valid_until,
            "grace_days": lic.grace_days,
            "key_id": lic.key_id,
            "expired": lic.expired(self.clock().date()),
        }

    # --- pieces ----------------------------------------------------------------------------------------

    def _licensed_seats(self, program: str, now: datetime) -> int:
        lic = self.license
        if lic.expired(now.date()):
            raise SeatsError(
                403,
                "license_expired",
                f"the license {lic.license_id} of {lic.customer} expired on {lic.valid_until.isoformat()} "
                "(it was valid through that day); the vendor issues a new license file",
                valid_until=lic.valid_until.isoformat(),
            )
        seats = lic.seats_for(program)
        if seats <= 0:
            licensed = ", ".join(f"{p} {n}" for p, n in sorted(lic.seats.items()) if n > 0)
            raise SeatsError(
                403,
                "not_licensed",
                f"the license {lic.license_id} of {lic.customer} gives no seat to {program} "
                f"(it licenses: {licensed or 'nothing'})",
                program=program,
            )
        return seats

    def _lock(self, conn: Connection, program: str) -> None:
        locked = conn.execute(
            select(t.seat_pools.c.program).where(t.seat_pools.c.program == program).with_for_update()
        ).first()
        if locked is None:  # a program the license names but load_license has not seen: never at serve
            conn.execute(
                insert(t.seat_pools).values(
                    program=program,
                    seats=self.license.seats_for(program),
                    license_id=self.license.license_id,
                    updated_at=self.clock(),
                )
            )

    def _expire(self, conn: Connection, program: str, now: datetime) -> None:
        """Free the seats of this program's leases that were not renewed in time (under its lock)."""
        stale = conn.execute(
            select(t.leases).where(t.leases.c.program == program, t.leases.c.expires_at <= now)
        ).all()
        for row in stale:
            conn.execute(delete(t.leases).where(t.leases.c.id == row.id))
            _event(conn, now, "expired", _holder(row), f"not renewed since {domain.moment(row.renewed_at)}")

    def _holders(self, conn: Connection, program: str) -> list[Holder]:
        rows = conn.execute(
            select(t.leases)
            .where(t.leases.c.program == program)
            .order_by(t.leases.c.acquired_at, t.leases.c.id)
        ).all()
        return [_holder(row) for row in rows]

    def _program_of(self, lease_id: str) -> str:
        with self.db.read() as conn:
            program = conn.execute(select(t.leases.c.program).where(t.leases.c.id == lease_id)).scalar()
        if program is None:
            raise _gone(lease_id)
        return str(program)

    def _lease(self, conn: Connection, lease_id: str) -> dict[str, Any]:
        row = conn.execute(select(t.leases).where(t.leases.c.id == lease_id)).one()
        return {
            "id": row.id,
            "program": row.program,
            "machine_id": row.machine_id,
            "name": row.name,
            "acquired_at": row.acquired_at,
            "renewed_at": row.renewed_at,
            "expires_at": row.expires_at,
            "lease_seconds": self.lease_length.total_seconds(),
            "license": self.license_summary(),
        }

    def count_leases(self, program: str) -> int:
        with self.db.read() as conn:
            return int(
                conn.execute(
                    select(func.count()).select_from(t.leases).where(t.leases.c.program == program)
                ).scalar_one()
            )


def _gone(lease_id: str) -> SeatsError:
    return SeatsError(
        404,
        "lease_gone",
        f"lease {lease_id} is not held: it expired or was given back; ask for a seat again",
    )


def _holder(row: Any) -> Holder:
    return Holder(
        lease_id=row.id,
        program=row.program,
        machine_id=row.machine_id,
        name=row.name,
        address=row.address,
        since=row.acquired_at,
        renewed_at=row.renewed_at,
        expires_at=row.expires_at,
    )


def _asking(
    program: str, machine_id: str, name: str, address: str, now: datetime, lease_id: str = ""
) -> Holder:
    return Holder(lease_id, program, machine_id, name, address, now, now, now)


def _holder_wire(holder: Holder) -> dict[str, Any]:
    return {
        "program": holder.program,
        "machine_id": holder.machine_id,
        "name": holder.name,
        "address": holder.address,
        "since": holder.since.isoformat(),
        "renewed_at": holder.renewed_at.isoformat(),
        "expires_at": holder.expires_at.isoformat(),
    }


def _event(conn: Connection, now: datetime, event: str, holder: Holder, detail: str) -> None:
    conn.execute(
        insert(t.seat_events).values(
            id=new_id(),
            at=now,
            event=event,
            program=holder.program,
            machine_id=holder.machine_id,
            name=holder.name,
            lease_id=holder.lease_id or None,
            detail=detail,
        )
    )
