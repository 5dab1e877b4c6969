"""An emulated Massa-K checkout scale on a real TCP socket, for tests, the demo and a store's IT person
checking a POS without the scale at hand.

It reads frames byte for byte as the scale does and answers:

- CMD_GET_MASSA → CMD_ACK_MASSA with the weight it was told (1 g division, with the tare field), or
  CMD_ERROR 0x08 while it is set to overload;
- any other command → CMD_NACK;
- a frame whose CRC does not match → ``bad_crc="nack"`` (the default) answers CMD_NACK and keeps the
  connection; ``bad_crc="silence"`` drops the frame without a word, the other way a device may treat
  it, so a driver's timeout can be tried against both;
- a wrong header → the byte is skipped, as a scale hunting for the next frame on a serial line does.

The weight is set from Python (:meth:`ScaleEmulator.set_weight`) or, when started with a control port,
over HTTP::

    POST /emulator/weight {"kg": "1.234", "stable": true}      → {"kg": "1.234", "stable": true, ...}
    POST /emulator/weight {"overload": true}                   → the scale reports overload
    GET  /emulator/weight                                      → the current state
    GET  /healthz

``kg`` is a decimal string or number, at most 3 places; ``stable`` defaults to true.
"""

from __future__ import annotations

import logging
import socket
import threading
from dataclasses import asdict, dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from fastapi import FastAPI
from pydantic import BaseModel, Field

from osuite.devices import massak_codec as codec
from osuite.devices.emulator_server import (
    DeviceConnection,
    RunningEmulator,
    ServerThread,
    TrackingTcpServer,
    bind,
)

log = logging.getLogger("osuite.devices.massak_emulator")

BadCrc = Literal["nack", "silence"]


@dataclass(frozen=True)
class ScaleState:
    grams: int = 0
    stable: bool = True
    overload: bool = False
    tare_grams: int = 0

    @property
    def kg(self) -> Decimal:
        return (Decimal(self.grams) / 1000).quantize(Decimal("0.001"))


def grams_of(kg: Decimal | str | int) -> int:
    """Whole grams from kilograms, refusing what a checkout scale with 1 g division cannot show."""
    try:
        value = Decimal(str(kg).strip().replace(",", "."))
    except InvalidOperation:
        raise ValueError(f"{kg!r} is not a weight in kg") from None
    if not value.is_finite():
        raise ValueError(f"{kg!r} is not a weight in kg")
    grams = value * 1000
    if grams != grams.to_integral_value():
        raise ValueError(f"{kg!r} has more than 3 decimal places (the scale weighs to the gram)")
    if abs(grams) >= 2**31:
        raise ValueError(f"{kg!r} is beyond what the scale can report")
    return int(grams)


class ScaleEmulator:
    """The scale's state and its answers to frames; thread-safe, shared by every connection."""

    def __init__(self, *, kg: Decimal | str = "0.000", bad_crc: BadCrc = "nack") -> None:
        self._lock = threading.Lock()
        self._state = ScaleState(grams=grams_of(kg))
        self.bad_crc: BadCrc = bad_crc
        self.requests = 0  # frames answered, for tests that check the driver asked

    @property
    def state(self) -> ScaleState:
        with self._lock:
            return self._state

    def set_weight(
        self, kg: Decimal | str | int, *, stable: bool = True, tare_kg: Decimal | str | int = 0
    ) -> ScaleState:
        state = ScaleState(grams=grams_of(kg), stable=stable, tare_grams=grams_of(tare_kg))
        with self._lock:
            self._state = state
        return state

    def set_overload(self, overload: bool = True) -> ScaleState:
        with self._lock:
            self._state = replace(self._state, overload=overload)
            return self._state

    def answer(self, raw: bytes) -> bytes | None:
        """The bytes to send back for one whole frame, or None for silence."""
        try:
            frame = codec.decode(raw)
        except codec.CrcMismatch as exc:
            log.info("frame with a bad CRC (%s): %s", exc, raw.hex(" "))
            return codec.encode(codec.nack()) if self.bad_crc == "nack" else None
        with self._lock:
            self.requests += 1
            state = self._state
        if frame.command != codec.Command.GET_MASSA or frame.data:
            return codec.encode(codec.nack())
        if state.overload:
            return codec.encode(codec.error(codec.ErrorCode.OVERLOAD))
        massa = codec.Massa(
            weight=state.grams,
            division=1,
            stable=state.stable,
            net=state.tare_grams != 0,
            zero=state.grams == 0,
            tare=state.tare_grams,
        )
        return codec.encode(codec.ack_massa(massa))


class _Connection(DeviceConnection):
    server: TrackingTcpServer[ScaleEmulator]

    def serve(self, sock: socket.socket) -> None:
        buffer = bytearray()
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                return
            buffer += chunk
            for raw in _take_frames(buffer):
                reply = self.server.emulator.answer(raw)
                if reply is not None:
                    sock.sendall(reply)


def _take_frames(buffer: bytearray) -> list[bytes]:
    """Whole frames cut from the front of ``buffer``; bytes before a header are dropped one by one."""
    frames: list[bytes] = []
    while len(buffer) >= 5:
        try:
            length = codec.body_length(bytes(buffer[:5]))
        except codec.FrameError:
            del buffer[0]
            continue
        size = codec.frame_size(length)
        if len(buffer) < size:
            break
        frames.append(bytes(buffer[:size]))
        del buffer[:size]
    return frames


class WeightIn(BaseModel):
    kg: Decimal | None = Field(None, description="Weight on the platform in kg, up to 3 decimal places")
    stable: bool = True
    overload: bool = False
    tare_kg: Decimal = Decimal(0)


def control_app(emulator: ScaleEmulator) -> FastAPI:
    from osuite.core.http import Problem, problem_response

    app = FastAPI(title="O·S Massa-K scale emulator", docs_url="/docs")
    app.add_exception_handler(Problem, lambda _r, exc: problem_response(exc))

    def show(state: ScaleState) -> dict[str, Any]:
        return {**asdict(state), "kg": str(state.kg)}

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok", "device": "massa-k scale emulator"}

    @app.get("/emulator/weight")
    def current() -> dict[str, Any]:
        return show(emulator.state)

    @app.post("/emulator/weight")
    def set_weight(body: WeightIn) -> dict[str, Any]:
        try:
            if body.kg is not None:
                emulator.set_weight(body.kg, stable=body.stable, tare_kg=body.tare_kg)
            return show(emulator.set_overload(body.overload))
        except ValueError as exc:
            raise Problem(422, "Invalid weight", str(exc)) from None

    return app


class RunningScale(RunningEmulator[ScaleEmulator]):
    """A started scale emulator: ``port`` for the driver, ``control_url`` when asked for one."""

    def __init__(
        self, emulator: ScaleEmulator, tcp: TrackingTcpServer[ScaleEmulator], control: ServerThread | None
    ) -> None:
        super().__init__(emulator, tcp.socket)
        self._tcp = tcp.start()
        self._control = control

    @property
    def control_url(self) -> str | None:
        return self._control.url if self._control else None

    def stop(self) -> None:
        if self._control is not None:
            self._control.stop()
        self._tcp.stop()


def start_scale_emulator(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    kg: Decimal | str = "0.000",
    control_port: int | None = None,
    bad_crc: BadCrc = "nack",
) -> RunningScale:
    """Start the emulated scale on ``host:port`` (0: a free port) in background threads; with
    ``control_port`` (0: a free one) also the HTTP control channel. ``stop()`` ends both."""
    emulator = ScaleEmulator(kg=kg, bad_crc=bad_crc)
    tcp = TrackingTcpServer(bind(host, port, listen=True), _Connection, emulator, name="massak-emulator")
    control = None
    if control_port is not None:
        try:
            control = ServerThread(control_app(emulator), bind(host, control_port)).start()
        except BaseException:
            tcp.server_close()
            raise
    return RunningScale(emulator, tcp, control)
