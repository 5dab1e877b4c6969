"""Reading an ESC/POS byte stream as a printer does: the text it would print, its cuts and drawer kicks,
the QR codes it was given, and the real-time status requests (DLE EOT n) it must answer at once.

The stream is read incrementally, command by command, so a status request is seen as soon as it arrives
and a command split across two TCP packets waits for its end; knowing each command's length also keeps
image and barcode data from being mistaken for text or for a status request. Text is decoded in the
code page the last ``ESC t n`` chose (17 is CP866, the Cyrillic one python-escpos picks); styles
(bold, alignment, sizes) are read past, since a test asks what was printed, not how it looked.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field

ESC, GS, FS, DLE = 0x1B, 0x1D, 0x1C, 0x10
LF, CR, HT, FF = 0x0A, 0x0D, 0x09, 0x0C

# ESC t n → the Python codec of code page n (python-escpos's default profile numbering).
CODE_PAGES: dict[int, str] = {
    0: "cp437",
    2: "cp850",
    3: "cp860",
    4: "cp863",
    5: "cp865",
    13: "cp857",
    14: "cp737",
    15: "iso8859_7",
    16: "cp1252",
    17: "cp866",
    18: "cp852",
    19: "cp858",
    33: "cp775",
    34: "cp855",
    35: "cp861",
    36: "cp862",
    37: "cp864",
    38: "cp869",
    39: "iso8859_2",
    40: "iso8859_15",
    44: "cp1125",
    45: "cp1250",
    46: "cp1251",
    47: "cp1253",
    48: "cp1254",
    49: "cp1255",
    50: "cp1256",
    51: "cp1257",
    52: "cp1258",
}

# Fixed total lengths (including ESC/GS and the command byte) of the commands with no variable part.
_ESC_LENGTHS: dict[int, int] = {
    **dict.fromkeys(b"@<26LSim", 2),  # init, line spacing default, page/standard mode, cuts …
    **dict.fromkeys(b"!%-3=EGJMRTUVadert{ ", 3),
    **dict.fromkeys(b"$\\c", 4),
    ord("p"): 5,  # drawer kick: ESC p m t1 t2
    ord("W"): 10,  # page mode print area
}
_GS_LENGTHS: dict[int, int] = {
    **dict.fromkeys(b"!BEHIfhwabr", 3),
    **dict.fromkeys(b"LWP\\", 4),
}
_FS_LENGTHS: dict[int, int] = {
    **dict.fromkeys(b".&", 2),
    **dict.fromkeys(b"!-CW", 3),
    **dict.fromkeys(b"pS", 4),
}


@dataclass
class Parsed:
    """What a stream has said so far."""

    text: str = ""
    cuts: int = 0
    drawer_kicks: int = 0
    qr_codes: list[str] = field(default_factory=list)
    printable: bool = False  # anything beyond status requests and resets arrived


class EscPosStream:
    """Feed it bytes as they arrive; it returns the status requests to answer, in order."""

    def __init__(self) -> None:
        self.parsed = Parsed()
        self._buffer = bytearray()
        self._codec = CODE_PAGES[0]
        self._pending: list[str] = []
        self._qr_data: bytes = b""

    def feed(self, data: bytes) -> list[int]:
        self._buffer += data
        requests: list[int] = []
        position = 0
        buffer = self._buffer
        while position < len(buffer):
            byte = buffer[position]
            if byte >= 0x20 and byte != 0x7F:
                end = position
                while end < len(buffer) and buffer[end] >= 0x20 and buffer[end] != 0x7F:
                    end += 1
                self._text(bytes(buffer[position:end]))
                position = end
                continue
            length = self._command(buffer, position, requests)
            if length == 0:  # incomplete: wait for the rest
                break
            position += length
        del buffer[:position]
        return requests

    @property
    def text(self) -> str:
        return self.parsed.text

    def _text(self, raw: bytes) -> None:
        self.parsed.printable = True
        self.parsed.text += codecs.decode(raw, self._codec, errors="replace")

    def _command(self, buffer: bytearray, at: int, requests: list[int]) -> int:
        """The length of the control sequence at ``at``, acted upon; 0 when it is not complete yet."""
        byte = buffer[at]
        available = len(buffer) - at
        if byte == LF:
            self._text_break("\n")
            return 1
        if byte == FF:
            self._text_break("\n")
            return 1
        if byte == HT:
            self.parsed.text += " "
            return 1
        if byte == DLE:
            if available < 3:
                return 0
            if buffer[at + 1] == 0x04:
                requests.append(buffer[at + 2])
                return 3
            if buffer[at + 1] == 0x14:  # DLE DC4 fn m t: real-time pulse / clear
                return 5 if available >= 5 else 0
            return 1
        if byte == ESC:
            return self._esc(buffer, at, available)
        if byte == GS:
            return self._gs(buffer, at, available)
        if byte == FS:
            if available < 2:
                return 0
            if buffer[at + 1] == ord("("):  # FS ( fn pL pH data…
                if available < 5:
                    return 0
                return _whole(5 + buffer[at + 3] + 256 * buffer[at + 4], available)
            return _whole(_FS_LENGTHS.get(buffer[at + 1], 2), available)
        return 1  # CR, NUL and other control bytes print nothing

    def _esc(self, buffer: bytearray, at: int, available: int) -> int:
        if available < 2:
            return 0
        command = buffer[at + 1]
        if command == ord("*"):  # bit image: ESC * m nL nH d…
            if available < 5:
                return 0
            m, width = buffer[at + 2], buffer[at + 3] + 256 * buffer[at + 4]
            return _whole(5 + width * (3 if m >= 32 else 1), available)
        if command == ord("D"):  # tab positions, NUL-terminated
            end = buffer.find(0, at + 2)
            return end - at + 1 if end >= 0 else 0
        length = _ESC_LENGTHS.get(command, 2)
        if available < length:
            return 0
        if command == ord("@"):
            self._codec = CODE_PAGES[0]
        elif command == ord("t"):
            self._codec = CODE_PAGES.get(buffer[at + 2], CODE_PAGES[0])
        elif command == ord("p"):
            self.parsed.drawer_kicks += 1
            self.parsed.printable = True  # a job of its own, though it prints nothing
        elif command == ord("d"):
            self._text_break("\n" * buffer[at + 2])
        elif command in (ord("i"), ord("m")):
            self.parsed.cuts += 1
            self.parsed.printable = True
        return length

    def _gs(self, buffer: bytearray, at: int, available: int) -> int:
        if available < 3:
            return 0
        command, arg = buffer[at + 1], buffer[at + 2]
        if command == ord("V"):
            length = 4 if arg in (65, 66, 97, 98, 103, 104) else 3
            if available < length:
                return 0
            self.parsed.cuts += 1
            self.parsed.printable = True
            return length
        if command == ord("("):  # GS ( fn pL pH data…
            if available < 5:
                return 0
            size = buffer[at + 3] + 256 * buffer[at + 4]
            length = _whole(5 + size, available)
            if length and arg == ord("k"):
                self._qr(bytes(buffer[at + 5 : at + 5 + size]))
            return length
        if command == ord("k"):  # barcode: GS k m d… NUL, or GS k m n d1…dn
            if arg <= 6:
                end = buffer.find(0, at + 3)
                return end - at + 1 if end >= 0 else 0
            if available < 4:
                return 0
            self.parsed.printable = True
            return _whole(4 + buffer[at + 3], available)
        if command == ord("v") and arg == ord("0"):  # raster image: GS v 0 m xL xH yL yH d…
            if available < 8:
                return 0
            width = buffer[at + 4] + 256 * buffer[at + 5]
            height = buffer[at + 6] + 256 * buffer[at + 7]
            self.parsed.printable = True
            return _whole(8 + width * height, available)
        if command == ord("8") and arg == ord("L"):  # GS 8 L p1 p2 p3 p4 m fn …
            if available < 7:
                return 0
            size = int.from_bytes(buffer[at + 3 : at + 7], "little")
            return _whole(7 + size, available)
        length = _GS_LENGTHS.get(command, 2)
        return length if available >= length else 0

    def _qr(self, body: bytes) -> None:
        """QR model 2 over GS ( k: cn 49 (0x31), fn 80 stores the data, fn 81 prints it."""
        if len(body) < 2 or body[0] != 0x31:
            return
        if body[1] == 0x50:  # store: cn fn m d…
            self._qr_data = body[3:]
        elif body[1] == 0x51 and self._qr_data:  # print
            self.parsed.qr_codes.append(self._qr_data.decode("utf-8", errors="replace"))
            self.parsed.printable = True

    def _text_break(self, breaks: str) -> None:
        self.parsed.text += breaks


def _whole(length: int, available: int) -> int:
    return length if available >= length else 0


def render(data: bytes) -> Parsed:
    """Everything a whole job says (status requests in it are dropped)."""
    stream = EscPosStream()
    stream.feed(data)
    return stream.parsed
