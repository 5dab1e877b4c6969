"""Frames of Massa-K's "Протокол 100", the binary exchange its scales speak over TCP and RS-232.

Kept apart from any one device so the checkout scale (:mod:`osuite.devices.massak`) and the label
scales share it. Every message, either way, is one frame::

    F8 55 CE | Len (uint16 LE) | Command (1 byte) | data (Len - 1 bytes) | CRC (uint16 LE)

``Len`` counts the body, the command byte and its data, not the header nor the CRC. The CRC covers
the body only. It is the CRC of Massa-K's document (its appendix prints the C function): polynomial
0x1021, register starting at 0, each byte shifted *into* the register rather than XORed onto its top.
That is the textbook CRC-16/XMODEM without its 16 appended zero bits, so no catalogued CRC-16 variant
matches it; ``binascii.crc_hqx(body, 0) == crc16(body + b"\\0\\0")`` is how the tests tie it to a known
one. A body of the one byte 0x23 has CRC 0x0023, so the weight request is ``F8 55 CE 01 00 23 23 00``.

The weight answer (CMD_ACK_MASSA) carries::

    Weight int32 LE, signed, in units of Division | Division: 0 = 0.1 g, 1 = 1 g, 2 = 10 g, 3 = 100 g,
    4 = 1 kg | Stable 0/1 | Net 0/1 (the <NET> sign: a tare is set) | Zero 0/1 (the >0< sign)
    [| Tare int32 LE, in the same units — newer models add it; older ones stop after Zero]

A refusal is CMD_ERROR with one byte of error code (0x08: the load is above the scale's maximum),
and a command the scale does not know is answered with a bare CMD_NACK.
"""

from __future__ import annotations

import binascii
import struct
from dataclasses import dataclass
from decimal import Decimal
from enum import IntEnum

HEADER = b"\xf8\x55\xce"
_PREFIX = struct.Struct("<3sH")  # header, Len
_CRC = struct.Struct("<H")
MAX_BODY = 0xFFFF


class Command(IntEnum):
    GET_MASSA = 0x23
    ACK_MASSA = 0x24
    ERROR = 0x28
    GET_SCALE_PAR = 0x75
    ACK_SCALE_PAR = 0x76
    NACK = 0xF0
    # Label scales' file exchange (CMD_TCP_…), see :mod:`osuite.devices.massak_label_codec`.
    TCP_FILE_STATUS = 0x40  # which files the scale has not got
    TCP_ACK_RESET_FILES = 0x41
    TCP_ACK_DFILE = 0x42  # a record of a file is loaded
    TCP_BAD_DFILE = 0x43  # a record with an unexpected number or file type
    TCP_UFILE = 0x45  # a record of a file, sent back by the scale
    TCP_ERR_UFILE = 0x46  # the scale cannot send that record
    TCP_GET_STATUS = 0x80
    TCP_RESET_FILES = 0x81
    TCP_DFILE = 0x82  # load a record of a file into the scale
    TCP_REQ_UFILES = 0x85  # ask the scale for a record of a file


class ErrorCode(IntEnum):
    """CMD_ERROR codes, as the document lists them."""

    UNSUPPORTED = 0x07  # команда не поддерживается
    OVERLOAD = 0x08  # нагрузка на весовом устройстве превышает НПВ
    NOT_WEIGHING = 0x09  # весовое устройство не в режиме взвешивания
    BAD_INPUT = 0x0A  # ошибка входных данных
    SAVE_FAILED = 0x0B  # ошибка сохранения данных
    WIFI_UNSUPPORTED = 0x10
    ETHERNET_UNSUPPORTED = 0x11
    ZERO_IMPOSSIBLE = 0x15  # установка >0< невозможна
    NO_WEIGHING_MODULE = 0x17  # нет связи с модулем взвешивающим
    LOADED_AT_START = 0x18  # на платформе был груз при включении
    FAULTY = 0x19  # весовое устройство неисправно
    # The TCP module's own codes (TCP_ERROR_… in Massa-K's firmware header); 0x0B is SAVE_FAILED.
    MODULE_STARTING = 0x0E  # модуль связи запускается
    BUSY = 0x0F  # модуль связи занят


ERROR_TEXT: dict[int, str] = {
    ErrorCode.UNSUPPORTED: "команда не поддерживается",
    ErrorCode.OVERLOAD: "нагрузка превышает наибольший предел взвешивания",
    ErrorCode.NOT_WEIGHING: "весы не в режиме взвешивания",
    ErrorCode.BAD_INPUT: "ошибка входных данных",
    ErrorCode.SAVE_FAILED: "ошибка сохранения данных",
    ErrorCode.WIFI_UNSUPPORTED: "интерфейс Wi-Fi не поддерживается",
    ErrorCode.ETHERNET_UNSUPPORTED: "интерфейс Ethernet не поддерживается",
    ErrorCode.ZERO_IMPOSSIBLE: "установка нуля невозможна",
    ErrorCode.NO_WEIGHING_MODULE: "нет связи с взвешивающим модулем",
    ErrorCode.LOADED_AT_START: "на платформе был груз при включении весов",
    ErrorCode.FAULTY: "весы неисправны",
    ErrorCode.MODULE_STARTING: "модуль связи весов запускается",
    ErrorCode.BUSY: "весы заняты",
}

# Grams per unit of the Weight field, by the Division code.
DIVISION_GRAMS: dict[int, Decimal] = {
    0: Decimal("0.1"),
    1: Decimal(1),
    2: Decimal(10),
    3: Decimal(100),
    4: Decimal(1000),
}


class FrameError(ValueError):
    """Bytes that are not a well-formed frame: wrong header, impossible length, CRC mismatch."""


class CrcMismatch(FrameError):
    def __init__(self, expected: int, received: int) -> None:
        super().__init__(f"CRC mismatch: the body gives {expected:#06x}, the frame carries {received:#06x}")
        self.expected = expected
        self.received = received


def crc16(data: bytes) -> int:
    """The CRC of Massa-K's document over ``data`` (see the module docstring)."""
    crc = 0
    for byte in data:
        top = crc & 0xFF00
        acc = 0
        for _ in range(8):
            acc = ((acc << 1) ^ 0x1021) if (top ^ acc) & 0x8000 else acc << 1
            top <<= 1
        crc = (acc ^ (crc << 8) ^ byte) & 0xFFFF
    return crc


@dataclass(frozen=True)
class Frame:
    command: int
    data: bytes = b""

    @property
    def body(self) -> bytes:
        return bytes((self.command,)) + self.data


def encode(frame: Frame) -> bytes:
    body = frame.body
    if len(body) > MAX_BODY:
        raise FrameError(f"a body of {len(body)} bytes does not fit a frame")
    return _PREFIX.pack(HEADER, len(body)) + body + _CRC.pack(crc16(body))


def body_length(prefix: bytes) -> int:
    """``Len`` from the first five bytes of a frame, checking the header; lets a reader know how much
    more to read."""
    if len(prefix) != _PREFIX.size:
        raise FrameError(f"a frame starts with {_PREFIX.size} bytes, got {len(prefix)}")
    header, length = _PREFIX.unpack(prefix)
    if header != HEADER:
        raise FrameError(f"a frame starts with {HEADER.hex(' ')}, not {header.hex(' ')}")
    if length == 0:
        raise FrameError("a frame's body holds at least its command byte; Len is 0")
    return int(length)


def frame_size(length: int) -> int:
    """The whole frame's size for a body of ``length`` bytes."""
    return _PREFIX.size + length + _CRC.size


def decode(raw: bytes) -> Frame:
    """The frame ``raw`` holds, exactly: trailing bytes, a short frame or a bad CRC are refused."""
    length = body_length(raw[: _PREFIX.size])
    if len(raw) != frame_size(length):
        raise FrameError(f"Len {length} makes a frame of {frame_size(length)} bytes, got {len(raw)}")
    body = raw[_PREFIX.size : _PREFIX.size + length]
    (received,) = _CRC.unpack(raw[-_CRC.size :])
    expected = crc16(body)
    if received != expected:
        raise CrcMismatch(expected, received)
    return Frame(body[0], body[1:])


# --- CMD_GET_MASSA / CMD_ACK_MASSA --------------------------------------------------------------

_MASSA = struct.Struct("<iBBBB")
_TARE = struct.Struct("<i")


@dataclass(frozen=True)
class Massa:
    """What CMD_ACK_MASSA reports; ``weight`` and ``tare`` in units of ``division``."""

    weight: int
    division: int = 1
    stable: bool = True
    net: bool = False
    zero: bool = False
    tare: int | None = 0  # None: the older answer without the tare field

    @property
    def weight_grams(self) -> Decimal:
        return self.weight * _grams_per_unit(self.division)


def _grams_per_unit(division: int) -> Decimal:
    try:
        return DIVISION_GRAMS[division]
    except KeyError:
        raise FrameError(f"division code {division} is not one of {sorted(DIVISION_GRAMS)}") from None


def get_massa() -> Frame:
    return Frame(Command.GET_MASSA)


def ack_massa(massa: Massa) -> Frame:
    _grams_per_unit(massa.division)
    data = _MASSA.pack(massa.weight, massa.division, int(massa.stable), int(massa.net), int(massa.zero))
    if massa.tare is not None:
        data += _TARE.pack(massa.tare)
    return Frame(Command.ACK_MASSA, data)


def parse_massa(frame: Frame) -> Massa:
    if frame.command != Command.ACK_MASSA:
        raise FrameError(f"expected CMD_ACK_MASSA (0x24), got command {frame.command:#04x}")
    if len(frame.data) not in (_MASSA.size, _MASSA.size + _TARE.size):
        raise FrameError(f"CMD_ACK_MASSA carries 8 or 12 bytes of data, got {len(frame.data)}")
    weight, division, stable, net, zero = _MASSA.unpack_from(frame.data)
    _grams_per_unit(division)
    tare = _TARE.unpack_from(frame.data, _MASSA.size)[0] if len(frame.data) > _MASSA.size else None
    return Massa(weight, division, bool(stable), bool(net), bool(zero), tare)


# --- CMD_ERROR / CMD_NACK ------------------------------------------------------------------------


def error(code: int) -> Frame:
    return Frame(Command.ERROR, bytes((code,)))


def nack() -> Frame:
    return Frame(Command.NACK)


def error_code(frame: Frame) -> int:
    if frame.command != Command.ERROR or len(frame.data) != 1:
        raise FrameError(f"expected CMD_ERROR (0x28) with one byte of code, got {frame}")
    return frame.data[0]


def error_text(code: int) -> str:
    return ERROR_TEXT.get(code, f"ошибка весов {code:#04x}")


# --- a table-driven CRC, for label scales' files ---------------------------------------------------


def crc16_fast(data: bytes) -> int:
    """:func:`crc16`, computed with binascii's CRC-16/XMODEM: ``crc16`` is the remainder of the message
    itself (no zero bits appended), so it is XMODEM's CRC of all but the last two bytes with those two
    bytes XORed in. The same value, some hundred times faster: a PLU file is hundreds of kilobytes."""
    if len(data) < 2:
        return data[0] if data else 0
    return binascii.crc_hqx(data[:-2], 0) ^ int.from_bytes(data[-2:], "big")


def encode_body(body: bytes) -> bytes:
    """The frame around ``body`` (the command byte and its data): ``encode(Frame(body[0], body[1:]))``,
    with :func:`crc16_fast`."""
    if not 0 < len(body) <= MAX_BODY:
        raise FrameError(f"a body of {len(body)} bytes does not fit a frame")
    return _PREFIX.pack(HEADER, len(body)) + body + _CRC.pack(crc16_fast(body))


def decode_fast(raw: bytes) -> Frame:
    """:func:`decode` with :func:`crc16_fast`: the same frames accepted, the same errors."""
    length = body_length(raw[: _PREFIX.size])
    if len(raw) != frame_size(length):
        raise FrameError(f"Len {length} makes a frame of {frame_size(length)} bytes, got {len(raw)}")
    body = raw[_PREFIX.size : _PREFIX.size + length]
    (received,) = _CRC.unpack_from(raw, _PREFIX.size + length)
    expected = crc16_fast(body)
    if received != expected:
        raise CrcMismatch(expected, received)
    return Frame(body[0], body[1:])
