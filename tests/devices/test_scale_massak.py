"""Massa-K "Протокол 100": the frame codec byte for byte, the checkout-scale driver against the emulator
on a real TCP socket, and the emulator's control channel."""

from __future__ import annotations

import binascii
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from osuite.devices import massak_codec as codec
from osuite.devices.massak import MassaKScale
from osuite.devices.massak_emulator import RunningScale, start_scale_emulator
from osuite.devices.scale import ScaleError, ScaleErrorCode
from tests.support.servers import free_port, printed

OSUITE = (sys.executable, "-m", "osuite")


def reference_crc(data: bytes) -> int:
    """The same CRC written the textbook way, bit by bit: each message bit shifted into a 16-bit
    register, the polynomial 0x1021 subtracted whenever a one falls off the top."""
    register = 0
    for byte in data:
        for bit in range(7, -1, -1):
            carry = register >> 15
            register = ((register << 1) | ((byte >> bit) & 1)) & 0xFFFF
            if carry:
                register ^= 0x1021
    return register


# --- the codec ----------------------------------------------------------------------------------


def test_weight_request_frame_by_hand() -> None:
    # One body byte into an empty register leaves that byte as the CRC: 0x0023, low byte first.
    assert codec.encode(codec.get_massa()) == bytes.fromhex("F8 55 CE 01 00 23 23 00")


def test_error_and_nack_frames_by_hand() -> None:
    # Two body bytes: the first is shifted up by the second, nothing falls off the top yet.
    assert codec.encode(codec.error(codec.ErrorCode.OVERLOAD)) == bytes.fromhex("F8 55 CE 02 00 28 08 08 28")
    assert codec.encode(codec.nack()) == bytes.fromhex("F8 55 CE 01 00 F0 F0 00")


def test_weight_answer_frame() -> None:
    frame = codec.encode(codec.ack_massa(codec.Massa(weight=1234, division=1, stable=True, tare=0)))
    body = bytes.fromhex("24 D2 04 00 00 01 01 00 00 00 00 00 00")
    assert frame == bytes.fromhex("F8 55 CE 0D 00") + body + (reference_crc(body)).to_bytes(2, "little")
    assert frame.hex(" ").upper().endswith("11 54")


def test_answer_captured_from_a_real_scale_decodes() -> None:
    # An empty platform as a scale sends it (published in a test of a public Massa-K client).
    raw = bytes.fromhex("F8 55 CE 0D 00 24 00 00 00 00 01 01 00 01 00 00 00 00 FC 23")
    massa = codec.parse_massa(codec.decode(raw))
    assert massa == codec.Massa(weight=0, division=1, stable=True, net=False, zero=True, tare=0)


@given(st.binary(min_size=1, max_size=64))
def test_crc_is_the_bitwise_division_and_xmodem_without_its_zero_bits(data: bytes) -> None:
    assert codec.crc16(data) == reference_crc(data)
    assert codec.crc16(data + b"\0\0") == binascii.crc_hqx(data, 0)


@given(
    weight=st.integers(-(2**31), 2**31 - 1),
    division=st.sampled_from(sorted(codec.DIVISION_GRAMS)),
    stable=st.booleans(),
    net=st.booleans(),
    zero=st.booleans(),
    tare=st.none() | st.integers(-(2**31), 2**31 - 1),
)
def test_weight_answer_round_trips(
    weight: int, division: int, stable: bool, net: bool, zero: bool, tare: int | None
) -> None:
    massa = codec.Massa(weight, division, stable, net, zero, tare)
    raw = codec.encode(codec.ack_massa(massa))
    assert raw[:3] == codec.HEADER
    assert int.from_bytes(raw[3:5], "little") == len(raw) - 7
    assert codec.parse_massa(codec.decode(raw)) == massa


@given(command=st.integers(0, 255), data=st.binary(max_size=300))
def test_any_frame_round_trips(command: int, data: bytes) -> None:
    assert codec.decode(codec.encode(codec.Frame(command, data))) == codec.Frame(command, data)


@given(data=st.binary(max_size=40), position=st.integers(0, 1000), flip=st.integers(1, 255))
def test_a_corrupted_frame_is_refused(data: bytes, position: int, flip: int) -> None:
    raw = bytearray(codec.encode(codec.Frame(0x24, data)))
    at = 5 + position % (len(raw) - 5)  # anywhere in the body or the CRC
    raw[at] ^= flip
    with pytest.raises(codec.CrcMismatch):
        codec.decode(bytes(raw))


def test_malformed_frames_are_refused() -> None:
    good = codec.encode(codec.get_massa())
    with pytest.raises(codec.FrameError, match="starts with"):
        codec.decode(b"\xf8\x55\xcf" + good[3:])
    with pytest.raises(codec.FrameError, match="Len 1 makes a frame of 8 bytes"):
        codec.decode(good + b"\x00")
    with pytest.raises(codec.FrameError, match="Len 1 makes a frame of 8 bytes"):
        codec.decode(good[:-1])
    with pytest.raises(codec.FrameError, match="Len is 0"):
        codec.decode(bytes.fromhex("F8 55 CE 00 00 00 00"))
    with pytest.raises(codec.FrameError, match="division code 9"):
        codec.parse_massa(codec.Frame(0x24, bytes.fromhex("00000000 09 01 00 00")))


def test_old_answer_without_tare() -> None:
    massa = codec.parse_massa(codec.Frame(0x24, bytes.fromhex("E8030000 01 01 00 00")))
    assert massa.tare is None
    assert massa.weight_grams == Decimal(1000)


# --- the driver against the emulator ------------------------------------------------------------


@pytest.fixture
def scale_emulator() -> Iterator[RunningScale]:
    with start_scale_emulator(control_port=0) as running:
        yield running


@pytest.fixture
def scale(scale_emulator: RunningScale) -> Iterator[MassaKScale]:
    with MassaKScale(scale_emulator.host, scale_emulator.port, timeout=1.0) as driver:
        yield driver


def test_stable_weight_in_kg(scale_emulator: RunningScale, scale: MassaKScale) -> None:
    scale_emulator.emulator.set_weight("1.234")
    assert scale.weight() == Decimal("1.234")
    scale_emulator.emulator.set_weight("0.007")
    assert scale.weight() == Decimal("0.007")
    assert str(scale.weight()) == "0.007"
    assert scale_emulator.emulator.requests == 3


def test_unstable_weight(scale_emulator: RunningScale, scale: MassaKScale) -> None:
    scale_emulator.emulator.set_weight("0.512", stable=False)
    with pytest.raises(ScaleError) as caught:
        scale.weight()
    assert caught.value.code is ScaleErrorCode.UNSTABLE
    scale_emulator.emulator.set_weight("0.512")
    assert scale.weight() == Decimal("0.512")


def test_overload(scale_emulator: RunningScale, scale: MassaKScale) -> None:
    scale_emulator.emulator.set_overload()
    with pytest.raises(ScaleError) as caught:
        scale.weight()
    assert caught.value.code is ScaleErrorCode.OVERLOAD
    scale_emulator.emulator.set_overload(False)
    scale_emulator.emulator.set_weight("2")
    assert scale.weight() == Decimal("2.000")


@pytest.mark.parametrize("kg", ["0", "-0.015"])
def test_empty_platform(scale_emulator: RunningScale, scale: MassaKScale, kg: str) -> None:
    scale_emulator.emulator.set_weight(kg)
    with pytest.raises(ScaleError) as caught:
        scale.weight()
    assert caught.value.code is ScaleErrorCode.EMPTY


def test_net_weight_with_tare(scale_emulator: RunningScale, scale: MassaKScale) -> None:
    scale_emulator.emulator.set_weight("0.250", tare_kg="0.020")
    assert scale.weight() == Decimal("0.250")
    massa = scale.read()
    assert massa.net and massa.tare == 20


def test_unreachable_scale() -> None:
    with start_scale_emulator() as running:
        host, port = running.host, running.port
    with MassaKScale(host, port, timeout=0.5) as driver, pytest.raises(ScaleError) as caught:
        driver.weight()
    assert caught.value.code is ScaleErrorCode.UNREACHABLE


def test_silent_peer_is_unreachable_within_the_timeout() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        host, port = listener.getsockname()
        with MassaKScale(host, port, timeout=0.3) as driver:
            started = time.monotonic()
            with pytest.raises(ScaleError) as caught:
                driver.weight()
    assert caught.value.code is ScaleErrorCode.UNREACHABLE
    assert time.monotonic() - started < 2


def test_scale_switched_off_between_readings() -> None:
    running = start_scale_emulator(kg="1.000")
    with MassaKScale(running.host, running.port, timeout=0.5) as driver:
        assert driver.weight() == Decimal("1.000")
        running.stop()
        with pytest.raises(ScaleError) as caught:
            driver.weight()
        assert caught.value.code is ScaleErrorCode.UNREACHABLE


def test_driver_reconnects_when_the_scale_dropped_the_connection(scale_emulator: RunningScale) -> None:
    scale_emulator.emulator.set_weight("0.300")
    with MassaKScale(scale_emulator.host, scale_emulator.port) as driver:
        assert driver.weight() == Decimal("0.300")
        assert driver._sock is not None
        driver._sock.shutdown(socket.SHUT_WR)  # the far end sees a close, as after an idle timeout
        time.sleep(0.05)
        assert driver.weight() == Decimal("0.300")


# --- the emulator on the wire -------------------------------------------------------------------


def exchange(running: RunningScale, raw: bytes, timeout: float = 0.5) -> bytes:
    with socket.create_connection((running.host, running.port), timeout=timeout) as sock:
        sock.sendall(raw)
        head = sock.recv(5, socket.MSG_WAITALL)
        rest = sock.recv(codec.frame_size(codec.body_length(head)) - 5, socket.MSG_WAITALL)
        return head + rest


def test_emulator_answers_exact_bytes(scale_emulator: RunningScale) -> None:
    scale_emulator.emulator.set_weight("1.234")
    assert exchange(scale_emulator, bytes.fromhex("F8 55 CE 01 00 23 23 00")) == bytes.fromhex(
        "F8 55 CE 0D 00 24 D2 04 00 00 01 01 00 00 00 00 00 00 11 54"
    )
    scale_emulator.emulator.set_overload()
    assert exchange(scale_emulator, bytes.fromhex("F8 55 CE 01 00 23 23 00")) == bytes.fromhex(
        "F8 55 CE 02 00 28 08 08 28"
    )


def test_emulator_nacks_a_bad_crc_and_an_unknown_command(scale_emulator: RunningScale) -> None:
    nack = bytes.fromhex("F8 55 CE 01 00 F0 F0 00")
    assert exchange(scale_emulator, bytes.fromhex("F8 55 CE 01 00 23 24 00")) == nack
    assert exchange(scale_emulator, codec.encode(codec.Frame(0x20))) == nack


def test_emulator_can_stay_silent_on_a_bad_crc() -> None:
    with start_scale_emulator(bad_crc="silence") as running:
        with pytest.raises(TimeoutError):
            exchange(running, bytes.fromhex("F8 55 CE 01 00 23 24 00"), timeout=0.3)
        running.emulator.set_weight("0.1")
        with MassaKScale(running.host, running.port, timeout=0.5) as driver:
            assert driver.weight() == Decimal("0.100")


def test_emulator_finds_frames_among_noise_and_split_writes(scale_emulator: RunningScale) -> None:
    scale_emulator.emulator.set_weight("0.5")
    request = codec.encode(codec.get_massa())
    with socket.create_connection((scale_emulator.host, scale_emulator.port), timeout=1) as sock:
        sock.sendall(b"\x00\xf8\x55" + request[:4])
        time.sleep(0.05)
        sock.sendall(request[4:] + request)
        answers = [codec.decode(_read(sock)) for _ in range(2)]
    assert [codec.parse_massa(a).weight for a in answers] == [500, 500]


def _read(sock: socket.socket) -> bytes:
    head = sock.recv(5, socket.MSG_WAITALL)
    return head + sock.recv(codec.frame_size(codec.body_length(head)) - 5, socket.MSG_WAITALL)


def test_control_channel_sets_the_weight(scale_emulator: RunningScale, scale: MassaKScale) -> None:
    assert scale_emulator.control_url is not None
    with httpx.Client(base_url=scale_emulator.control_url) as http:
        assert http.post("/emulator/weight", json={"kg": "0.875"}).json()["kg"] == "0.875"
        assert scale.weight() == Decimal("0.875")
        http.post("/emulator/weight", json={"kg": 0.875, "stable": False})
        with pytest.raises(ScaleError, match="успокоился"):
            scale.weight()
        http.post("/emulator/weight", json={"overload": True})
        with pytest.raises(ScaleError) as caught:
            scale.weight()
        assert caught.value.code is ScaleErrorCode.OVERLOAD
        assert http.get("/emulator/weight").json()["overload"] is True
        refused = http.post("/emulator/weight", json={"kg": "0.0005"})
        assert refused.status_code == 422
        assert "3 decimal places" in refused.json()["detail"]
        assert http.get("/healthz").json()["status"] == "ok"


def test_cli_runs_the_emulator_until_terminated(tmp_path: Path) -> None:
    port, control = free_port(), free_port()
    control_option = ("--control-port", str(control))
    process = subprocess.Popen(
        [*OSUITE, "devices", "emulate", "scale", "--weight", "1.5", *("--port", str(port)), *control_option],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        printed(process, f"127.0.0.1:{port}, weighing 1.500 kg")
        with MassaKScale("127.0.0.1", port, timeout=0.5) as driver:
            assert driver.weight() == Decimal("1.500")
            httpx.post(f"http://127.0.0.1:{control}/emulator/weight", json={"kg": "0.2"})
            assert driver.weight() == Decimal("0.200")
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=10)
    assert process.returncode == 0, err


def test_cli_refuses_a_bad_weight() -> None:
    done = subprocess.run(
        [*OSUITE, "devices", "emulate", "scale", "--weight", "1.2345"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert "3 decimal places" in done.stderr
