"""The published face of the license server for every program: :class:`LicenseClient` (httpx) and
:class:`SeatKeeper`, which takes the program's seat at start, renews it in the background and says
whether the program may work.

A program with a license server configured does::

    keeper = SeatKeeper(url, program="pos", machine_id=machine_id(data_dir), name="Касса 1",
                        state_file=data_dir / "license-seat.json", public_key=vendor_key_pem)
    keeper.acquire()          # LicenseRefused: refuse to start, showing its message
    keeper.start()            # renews in a background thread
    ... keeper.state() ...    # ok / grace / stopped, with a message for the screen
    keeper.stop()             # gives the seat back

A program with no license server configured makes no keeper at all.

**Grace.** A program that held a seat keeps working while the license server cannot be reached, for the
license's ``grace_days`` (7 by default), counted from the last answer of the server. The time spent
is kept in the state file, so a restart does not give it back, and it only ever grows:

- at each check (every renewal, every retry) the keeper adds the time since the previous check: the
  larger of what the monotonic clock and the wall clock say, and never less than zero. Winding the
  wall clock back therefore adds nothing and gives nothing back (the monotonic clock still counts);
  moving it forward spends grace, as real time would;
- across a restart (the monotonic clock starts again) it adds the wall-clock time since the last check
  the state file records, if that is positive: time switched off counts; a clock wound back while the
  program was off adds nothing, and from then on every check counts again.

A successful renewal sets the grace spent back to zero. Refusals (no free seat, not licensed, an
expired or tampered license) are not grace: the program stops at once. A stopped keeper keeps asking,
so the program works again when a seat is freed or the server answers. The state file guards against
clocks, not against someone editing it.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from osuite.core.ids import new_id
from osuite.core.settings import ProgramSettings
from osuite.license import document
from osuite.license.wire import LeaseRead, LicenseRead, SeatHolder, holders_from_problem

log = logging.getLogger("osuite.license.client")

DEFAULT_TIMEOUT = httpx.Timeout(5.0, connect=2.0)
MACHINE_ID_FILE = "machine-id"


# --- the HTTP client ----------------------------------------------------------------------------------


class LicenseServerError(RuntimeError):
    """The server refused: ``kind`` is the problem's ``type`` (``no_free_seat``, ``not_licensed``,
    ``license_expired``, ``lease_gone`` …) and ``detail`` its words."""

    def __init__(self, status: int, kind: str, detail: str, body: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {kind}: {detail}")
        self.status = status
        self.kind = kind
        self.detail = detail
        self.body: dict[str, Any] = body or {}

    @property
    def holders(self) -> list[SeatHolder]:
        return holders_from_problem(self.body)


class LicenseServerUnreachable(LicenseServerError):
    """No answer (refused connection, timeout) or a server failing (5xx)."""

    def __init__(self, detail: str) -> None:
        super().__init__(0, "unreachable", detail)


class LicenseClient:
    def __init__(self, base_url: str, *, timeout: float | httpx.Timeout = DEFAULT_TIMEOUT) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(base_url=self.base_url, timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> LicenseClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise LicenseServerUnreachable(
                f"the license server at {self.base_url} does not answer: {exc}"
            ) from exc
        if response.status_code >= 500:
            raise LicenseServerUnreachable(
                f"the license server at {self.base_url} failed ({response.status_code})"
            )
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {}
            if not isinstance(body, dict):
                body = {}
            raise LicenseServerError(
                response.status_code,
                str(body.get("type") or "error"),
                str(body.get("detail") or body.get("title") or response.text[:300]),
                body,
            )
        return response

    def acquire(self, *, program: str, machine_id: str, name: str) -> LeaseRead:
        body = {"program": program, "machine_id": machine_id, "name": name}
        return LeaseRead.model_validate(self.request("POST", "/api/v1/leases", json=body).json())

    def renew(self, lease_id: str) -> LeaseRead:
        return LeaseRead.model_validate(self.request("POST", f"/api/v1/leases/{lease_id}/renew").json())

    def release(self, lease_id: str) -> None:
        self.request("DELETE", f"/api/v1/leases/{lease_id}")

    def license(self) -> LicenseRead:
        return LicenseRead.model_validate(self.request("GET", "/api/v1/license").json())

    def leases(self) -> list[SeatHolder]:
        body = self.request("GET", "/api/v1/leases").json()
        return [SeatHolder.model_validate(h) for h in body["leases"]]

    def license_file(self) -> bytes:
        """The signed license file the server serves, to check with the vendor's public key."""
        return self.request("GET", "/api/v1/license/file").content


# --- the machine's identity ---------------------------------------------------------------------------


def machine_id(data_dir: Path) -> str:
    """This installation's stable id: made once (a UUID) and kept in ``data_dir/machine-id``.

    A copy of the data directory on another machine carries the id along: give the copy a new one by
    deleting the file there."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / MACHINE_ID_FILE
    try:
        existing = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        existing = ""
    if existing:
        return existing
    made = new_id()
    temporary = path.with_name(f"{MACHINE_ID_FILE}.{os.getpid()}.{made[-8:]}")
    temporary.write_text(made + "\n", encoding="ascii")
    try:
        os.link(temporary, path)  # fails if another process made it first: theirs stands
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
    return path.read_text(encoding="ascii").strip()


# --- the seat keeper ----------------------------------------------------------------------------------


class KeeperClock(Protocol):
    def wall(self) -> datetime:
        """Now, aware, as the machine's clock says (it may be wrong, or moved)."""
        ...

    def monotonic(self) -> float:
        """Seconds that never go back within one process."""
        ...


class SystemClock:
    def wall(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


Status = Literal["ok", "grace", "stopped"]


@dataclass(frozen=True)
class SeatState:
    """What the keeper says: ``ok`` (seat held), ``grace`` (server unreachable, a seat was held: keep
    working), ``stopped`` (refused, or grace over: take no new work); ``message`` for the screen."""

    status: Status
    message: str
    kind: str = ""
    """Why: ``seat``, ``unreachable``, ``grace_over``, ``no_free_seat``, ``not_licensed``,
    ``license_expired``, ``tampered`` …"""
    lease_id: str | None = None
    lease_expires_at: datetime | None = None
    grace_left: timedelta | None = None
    license_id: str | None = None
    customer: str | None = None
    valid_until: date | None = None

    @property
    def working(self) -> bool:
        return self.status != "stopped"


class _LicenseFileRefused(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


class LicenseRefused(RuntimeError):
    """The program may not start: no seat, an expired or tampered license, or no server and no seat
    held before. The message says which, for the person who starts the program."""

    def __init__(self, state: SeatState) -> None:
        super().__init__(state.message)
        self.state = state
        self.kind = state.kind


STATE_VERSION = 1


@dataclass
class _Persisted:
    """What the state file keeps between runs."""

    program: str
    machine_id: str
    lease_id: str | None = None
    lease_expires_at: str | None = None
    held_seat: bool = False
    """A seat was held and not refused since: grace applies when the server is unreachable."""
    grace_used_seconds: float = 0.0
    last_seen: str | None = None
    """The wall-clock moment of the last check."""
    last_contact: str | None = None
    license_id: str | None = None
    customer: str | None = None
    valid_until: str | None = None
    grace_days: int = document.DEFAULT_GRACE_DAYS


class SeatKeeper:
    """Takes and keeps this program's seat at the license server (see the module's text for grace)."""

    def __init__(
        self,
        url: str,
        *,
        program: str,
        machine_id: str,
        name: str,
        state_file: Path,
        public_key: bytes | str | Ed25519PublicKey | None = None,
        clock: KeeperClock | None = None,
        renew_seconds: float | None = None,
        retry_seconds: float = 30.0,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        on_change: Callable[[SeatState], None] | None = None,
    ) -> None:
        """``public_key`` (the vendor's, PEM or raw base64): when given, the license file the server
        serves is checked with it once the server answers (at :meth:`acquire` when it is up).
        ``renew_seconds``: how often to renew [a third of the lease's length]; ``retry_seconds``: how
        often to try again while in grace or stopped."""
        self.url = url.rstrip("/")
        self.program = program
        self.machine_id = machine_id
        self.name = name
        self.state_file = state_file
        self.public_key = (
            public_key
            if public_key is None or isinstance(public_key, Ed25519PublicKey)
            else document.load_public_key(public_key)
        )
        self.clock = clock or SystemClock()
        self.renew_seconds = renew_seconds
        self.retry_seconds = retry_seconds
        self.on_change = on_change
        self._timeout = timeout
        self.client = LicenseClient(self.url, timeout=timeout)
        self._lock = threading.RLock()  # one check at a time (it may wait on the network)
        self._state_lock = threading.Lock()  # the state, read at any moment without waiting
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lease_seconds = 600.0
        self._last_monotonic: float | None = None
        self._saved = self._load()
        self._license_checked = False
        self._state = SeatState("stopped", "no seat asked for yet", kind="not_started")

    # --- what a program calls ---------------------------------------------------------------------------

    def acquire(self) -> SeatState:
        """Take the seat (or, with the server unreachable, carry on in grace with the seat held before);
        :class:`LicenseRefused` with the reason when the program may not work."""
        state = self.check()
        if not state.working:
            raise LicenseRefused(state)
        return state

    def start(self) -> None:
        """Renew the seat in a background thread until :meth:`stop`."""
        with self._lock:
            if self._thread is not None:
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=f"seat-{self.program}", daemon=True)
            self._thread.start()

    def stop(self, *, release: bool = True) -> None:
        """Stop renewing and (by default) give the seat back; the state file still says a seat was held,
        so a restart with the server down works in grace."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=30)
        with self._lock:
            lease_id = self._saved.lease_id
            if release and lease_id:
                try:
                    self.client.release(lease_id)
                    self._saved.lease_id = None
                    self._saved.lease_expires_at = None
                    self._advance(offline=False)
                except LicenseServerError as exc:
                    log.info("seat not given back (it frees itself when the lease runs out): %s", exc)
                self._save()
            self.client.close()
            self.client = LicenseClient(self.url, timeout=self._timeout)  # a check after stop still works

    def state(self) -> SeatState:
        """The latest state, at once (never waits for the network)."""
        with self._state_lock:
            return self._state

    def check(self) -> SeatState:
        """One heartbeat, now: renew (or take) the seat and work out the state. The background thread
        calls this; tests call it directly."""
        with self._lock:
            try:
                self._check_license_file()
                lease = self._renew_or_acquire()
            except LicenseServerUnreachable as exc:
                state = self._offline(str(exc))
            except LicenseServerError as exc:
                state = self._refused(exc.kind, exc.detail)
            except _LicenseFileRefused as exc:
                state = self._refused(exc.kind, exc.message, prefix="")
            else:
                state = self._held(lease)
            self._save()
            return self._set(state)

    # --- the steps --------------------------------------------------------------------------------------

    def _renew_or_acquire(self) -> LeaseRead:
        if self._saved.lease_id:
            try:
                return self.client.renew(self._saved.lease_id)
            except LicenseServerError as exc:
                if exc.kind != "lease_gone":
                    raise
        return self.client.acquire(program=self.program, machine_id=self.machine_id, name=self.name)

    def _held(self, lease: LeaseRead) -> SeatState:
        self._advance(offline=False)
        now = self.clock.wall()
        saved = self._saved
        saved.lease_id = lease.id
        saved.lease_expires_at = lease.expires_at.isoformat()
        saved.held_seat = True
        saved.grace_used_seconds = 0.0
        saved.last_contact = now.isoformat()
        saved.license_id = lease.license.license_id
        saved.customer = lease.license.customer
        saved.valid_until = lease.license.valid_until.isoformat()
        saved.grace_days = lease.license.grace_days
        self._lease_seconds = lease.lease_seconds
        return self._describe(
            "ok",
            "seat",
            f"seat held for {self.program} until {lease.expires_at:%Y-%m-%d %H:%M} UTC (license "
            f"{lease.license.license_id}, valid through {lease.license.valid_until})",
        )

    def _offline(self, reason: str) -> SeatState:
        self._advance(offline=True)
        saved = self._saved
        if not saved.held_seat:
            return self._describe(
                "stopped",
                "unreachable",
                f"cannot take a seat for {self.program}: {reason}; this machine has held no seat before, "
                "so it cannot work without the license server",
            )
        today = self.clock.wall().date()
        if saved.valid_until and today > date.fromisoformat(saved.valid_until):
            return self._describe(
                "stopped",
                "license_expired",
                f"the license {saved.license_id} expired on {saved.valid_until}, and the license server "
                f"does not answer: {reason}",
            )
        allowed = timedelta(days=saved.grace_days).total_seconds()
        since = f" since {saved.last_contact[:16].replace('T', ' ')} UTC" if saved.last_contact else ""
        if saved.grace_used_seconds >= allowed:
            return self._describe(
                "stopped",
                "grace_over",
                f"the license server has not answered{since}: the {saved.grace_days}-day grace period is "
                f"over, so no new work is taken until it answers ({reason})",
            )
        left = timedelta(seconds=allowed - saved.grace_used_seconds)
        return self._describe(
            "grace",
            "unreachable",
            f"the license server does not answer{since}; working on the grace period, "
            f"{_duration(left)} left ({reason})",
        )

    def _refused(self, kind: str, detail: str, *, prefix: str | None = None) -> SeatState:
        self._advance(offline=False)
        saved = self._saved
        saved.lease_id = None
        saved.lease_expires_at = None
        saved.held_seat = False
        saved.grace_used_seconds = 0.0
        saved.last_contact = self.clock.wall().isoformat()
        return self._describe(
            "stopped", kind, f"the license server refuses a seat for {self.program}: {detail}"
        )

    def _check_license_file(self) -> None:
        """With a vendor key given, check the license file the server serves, once per run (at the
        first check the server answers)."""
        if self.public_key is None or self._license_checked:
            return
        data = self.client.license_file()
        try:
            document.verify(data, self.public_key).check_valid(self.clock.wall().date())
        except document.LicenseExpired as exc:
            raise _LicenseFileRefused("license_expired", str(exc)) from None
        except document.LicenseError as exc:
            raise _LicenseFileRefused("tampered", f"the license server's license is refused: {exc}") from None
        self._license_checked = True

    # --- time -------------------------------------------------------------------------------------------

    def _advance(self, *, offline: bool) -> None:
        """Count the time since the last check; while offline it is grace spent (see the module)."""
        now_wall = self.clock.wall()
        now_mono = self.clock.monotonic()
        saved = self._saved
        wall_elapsed = (
            (now_wall - datetime.fromisoformat(saved.last_seen)).total_seconds() if saved.last_seen else 0.0
        )
        if self._last_monotonic is None:
            elapsed = max(wall_elapsed, 0.0)
        else:
            elapsed = max(now_mono - self._last_monotonic, wall_elapsed, 0.0)
        if offline and saved.held_seat:
            saved.grace_used_seconds += elapsed
        self._last_monotonic = now_mono
        saved.last_seen = now_wall.isoformat()

    # --- state ------------------------------------------------------------------------------------------

    def _describe(self, status: Status, kind: str, message: str) -> SeatState:
        saved = self._saved
        grace_left = None
        if saved.held_seat:
            allowed = timedelta(days=saved.grace_days)
            grace_left = max(allowed - timedelta(seconds=saved.grace_used_seconds), timedelta(0))
        return SeatState(
            status=status,
            message=message,
            kind=kind,
            lease_id=saved.lease_id,
            lease_expires_at=datetime.fromisoformat(saved.lease_expires_at)
            if saved.lease_expires_at
            else None,
            grace_left=grace_left,
            license_id=saved.license_id,
            customer=saved.customer,
            valid_until=date.fromisoformat(saved.valid_until) if saved.valid_until else None,
        )

    def _set(self, state: SeatState) -> SeatState:
        with self._state_lock:
            previous, self._state = self._state, state
        if (previous.status, previous.kind) != (state.status, state.kind):
            level = logging.INFO if state.status == "ok" else logging.WARNING
            log.log(level, "license seat %s: %s", state.status, state.message)
            if self.on_change is not None:
                try:
                    self.on_change(state)
                except Exception:
                    log.exception("the license state callback failed")
        return state

    def _run(self) -> None:
        while True:
            state = self.state()
            interval = (
                (self.renew_seconds or max(self._lease_seconds / 3, 1.0))
                if state.status == "ok"
                else self.retry_seconds
            )
            if self._stop.wait(interval):
                return
            try:
                self.check()
            except Exception:  # never let the keeper die: the program would lose its seat silently
                log.exception("license seat check failed")

    # --- the state file ---------------------------------------------------------------------------------

    def _load(self) -> _Persisted:
        fresh = _Persisted(program=self.program, machine_id=self.machine_id)
        try:
            raw = json.loads(self.state_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return fresh
        except (OSError, ValueError) as exc:
            log.warning("license state file %s unreadable (%s): starting afresh", self.state_file, exc)
            return fresh
        if (
            not isinstance(raw, dict)
            or raw.get("version") != STATE_VERSION
            or raw.get("program") != self.program
            or raw.get("machine_id") != self.machine_id
        ):
            return fresh
        fields = {k: v for k, v in raw.items() if k in _Persisted.__dataclass_fields__}
        try:
            loaded = replace(fresh, **fields)
            if loaded.last_seen:
                datetime.fromisoformat(loaded.last_seen)
            loaded.grace_used_seconds = max(float(loaded.grace_used_seconds), 0.0)
            loaded.grace_days = int(loaded.grace_days)
            if loaded.valid_until:
                date.fromisoformat(loaded.valid_until)
        except (TypeError, ValueError):
            return fresh
        return loaded

    def _save(self) -> None:
        body = {"version": STATE_VERSION, **self._saved.__dict__}
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.state_file.with_name(self.state_file.name + ".tmp")
        with temporary.open("w", encoding="utf-8") as f:
            json.dump(body, f, ensure_ascii=False, indent=2)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, self.state_file)


def _duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {rest // 60} min"
    return f"{rest // 60} min"


# --- what every program does with its seat ---------------------------------------------------------------


def open_seat(settings: ProgramSettings, program: str, name: str) -> SeatKeeper | None:
    """The program's seat, taken and renewed in the background, when a license server is configured
    (``license_url``); None otherwise. :class:`LicenseRefused` (logged with its reason) when the
    program may not start."""
    if not settings.license_url:
        return None
    key: bytes | None = None
    if settings.license_public_key:
        given = settings.license_public_key.strip()
        key = Path(given).read_bytes() if Path(given).is_file() else given.encode()
    keeper = SeatKeeper(
        settings.license_url,
        program=program,
        machine_id=machine_id(settings.data_dir),
        name=name,
        state_file=settings.data_dir / "license-seat.json",
        public_key=key,
    )
    try:
        keeper.acquire()
    except LicenseRefused as exc:
        log.error("the license does not let %s start: %s", program, exc)
        raise
    keeper.start()
    return keeper


def seat_json(keeper: SeatKeeper | None) -> dict[str, Any] | None:
    """The seat's state as a heartbeat and ``/healthz`` carry it (None: no license server)."""
    if keeper is None:
        return None
    state = keeper.state()
    return {
        "status": state.status,
        "message": state.message,
        "kind": state.kind,
        "license_id": state.license_id,
        "customer": state.customer,
        "valid_until": state.valid_until.isoformat() if state.valid_until else None,
        "lease_expires_at": state.lease_expires_at.isoformat() if state.lease_expires_at else None,
        "grace_left_seconds": int(state.grace_left.total_seconds()) if state.grace_left else None,
    }


def refuse_work(
    keeper: SeatKeeper | None, allowed: tuple[str, ...] = ()
) -> Callable[[str], str | None] | None:
    """For ``app.state.refuse_work`` (see :func:`osuite.core.http.create_app`): once the license stops
    the program, every change but those under the ``allowed`` paths (finishing what was accepted
    before) is refused with the license's reason."""
    if keeper is None:
        return None
    seat = keeper

    def refuse(path: str) -> str | None:
        if allowed and path.startswith(allowed):
            return None
        state = seat.state()
        if state.working:
            return None
        return f"the license does not let this program take new work: {state.message}"

    return refuse
