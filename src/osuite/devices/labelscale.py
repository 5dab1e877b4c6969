"""Label scales, whatever their protocol: what the scale server asks of a driver.

A label scale holds a table of PLUs (price look-ups): the scale operator presses a PLU's number (or its
hotkey), puts the goods on, and the scale prints a label with the name, the weight or count, the price
and an in-store EAN-13 barcode built by the store's barcode template (prefix, item code, weight or price,
check digit) — the same template the POS reads, so the label sells at the right weight and price.

Each protocol (CAS CL, Shtrih-Print, Massa-K) has a driver that speaks it over its socket and declares
what it can do (:class:`Capability`); the scale server asks only for what a driver declares. Every
driver answers per PLU (:class:`PluResult`), so a scale that refuses one PLU (a name it cannot take, a
number out of its range) does not stop the others. A driver cuts a name that is too long for its field
at a character boundary of the field's encoding, never in the middle of a character.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from osuite.core.barcodes import BarcodeTemplate
from osuite.core.money import line_amount


class Capability(StrEnum):
    PLU_WRITE = "plu_write"
    PLU_DELETE = "plu_delete"
    CLEAR = "clear"  # delete every PLU at once
    MESSAGES = "messages"  # ingredients / composition text printed on the label
    BARCODE_FORMAT = "barcode_format"  # the scale is told the barcode template to print
    HOTKEYS = "hotkeys"  # the scale's speed keys can be set (LabelScale.set_hotkeys)
    STATUS = "status"


@dataclass(frozen=True)
class Plu:
    """One PLU as the scale server wants it on a scale. Money is kopecks; ``price`` is per kg for
    weighted goods, per piece otherwise."""

    number: int  # the PLU number on the scale: stable across uploads
    item_code: int  # the code that goes into the label's barcode (the template's item field)
    name: str
    price: int
    weighted: bool = True
    shelf_life_days: int = 0  # 0: none printed
    tare_grams: int = 0
    ingredients: str = ""  # printed when the driver has Capability.MESSAGES
    hotkey: int | None = None  # the speed key that calls it, when the driver has Capability.HOTKEYS
    label_format: int = 0  # the label layout kept on the scale it prints with; 0: the scale's own choice


@dataclass(frozen=True)
class PluResult:
    number: int
    ok: bool
    message: str = ""  # the scale's answer, in words: why it refused, or what it cut


@dataclass(frozen=True)
class ScaleStatus:
    online: bool
    busy: bool = False
    plu_count: int | None = None
    message: str = ""


class ScaleErrorCode(StrEnum):
    UNREACHABLE = "unreachable"  # no connection, or no answer in time
    BUSY = "busy"  # the scale is in use (printing, in its menu): try again later
    REFUSED = "refused"  # the scale answered with an error
    BAD_FRAME = "bad_frame"  # an answer that breaks the protocol (checksum, length)
    UNSUPPORTED = "unsupported"  # the driver or the model cannot do that


class LabelScaleError(Exception):
    """A scale did not do what was asked; ``code`` says whether trying again may help."""

    def __init__(self, code: ScaleErrorCode, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    @property
    def retry(self) -> bool:
        return self.code in (ScaleErrorCode.UNREACHABLE, ScaleErrorCode.BUSY, ScaleErrorCode.BAD_FRAME)


class LabelScale(Protocol):
    """A driver for one scale at one address. Calls may raise :class:`LabelScaleError` for the whole
    call (unreachable, busy); a refusal of one PLU is in its :class:`PluResult`."""

    capabilities: frozenset[Capability]

    def write(self, plus: Sequence[Plu]) -> list[PluResult]: ...

    def delete(self, numbers: Sequence[int]) -> list[PluResult]: ...

    def clear(self) -> None: ...

    def set_barcode(self, template: BarcodeTemplate) -> None: ...

    def set_hotkeys(self, keys: Mapping[int, int]) -> None:
        """The scale's speed keys, whole (key → the PLU number it calls): a key not named is left empty,
        so no key is left calling a PLU the scale no longer holds."""
        ...

    def status(self) -> ScaleStatus: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class ScaleAddress:
    """Where a scale is and how to talk to it, as the scale server's inventory keeps it."""

    protocol: str  # "cas", "shtrih", "massak"
    host: str
    port: int
    scale_number: int = 1
    password: str = ""
    timeout: float = 3.0
    options: dict[str, str] = field(default_factory=dict)


def cut(text: str, limit: int, encoding: str) -> str:
    """``text`` cut to at most ``limit`` bytes in ``encoding``, at a character boundary; characters
    the encoding cannot write become "?"."""
    encoded = text.encode(encoding, errors="replace")
    if len(encoded) <= limit:
        return encoded.decode(encoding)
    return encoded[:limit].decode(encoding, errors="ignore")


class PluMemory:
    """What an emulated scale keeps, as a real one does across power cuts: its PLU table, the barcode
    format it was given and its speed keys (a table per key set: the PLU number each key calls, 0 for
    none). With a folder, every change is appended to ``plus.jsonl`` as it happens (one
    line each, flushed: a kill loses nothing written before it) and replayed on start; the journal is
    rewritten whole only when it has grown well past the table. The label it would print for a PLU is
    built from them, so a test can sell it at the POS."""

    def __init__(self, folder: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._file = folder / "plus.jsonl" if folder is not None else None
        self._plus: dict[int, Plu] = {}
        self._keys: dict[int, tuple[int, ...]] = {}
        self._lines = 0
        self.template: BarcodeTemplate | None = None
        if self._file is not None and self._file.exists():
            for line in self._file.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    self._replay(json.loads(line))
                    self._lines += 1
        self._journal = None
        if self._file is not None:
            self._file.parent.mkdir(parents=True, exist_ok=True)
            self._journal = self._file.open("a", encoding="utf-8")

    def _replay(self, entry: dict[str, Any]) -> None:
        if "put" in entry:
            self._plus[int(entry["put"]["number"])] = Plu(**entry["put"])
        elif "remove" in entry:
            self._plus.pop(int(entry["remove"]), None)
        elif "clear" in entry:
            self._plus.clear()
        elif "template" in entry:
            self.template = BarcodeTemplate.model_validate(entry["template"])
        elif "keys" in entry:
            self._keys[int(entry["keys"])] = tuple(entry["plus"])

    def table(self) -> dict[int, Plu]:
        with self._lock:
            return dict(self._plus)

    def put(self, plu: Plu) -> None:
        self.put_many([plu])

    def put_many(self, plus: Sequence[Plu]) -> None:
        with self._lock:
            for plu in plus:
                self._plus[plu.number] = plu
            self._write([{"put": asdict(plu)} for plu in plus])

    def remove(self, number: int) -> bool:
        with self._lock:
            found = self._plus.pop(number, None) is not None
            self._write([{"remove": number}])
            return found

    def clear(self) -> None:
        with self._lock:
            self._plus.clear()
            self._write([{"clear": True}])

    def set_template(self, template: BarcodeTemplate) -> None:
        with self._lock:
            self.template = template
            self._write([{"template": template.model_dump()}])

    def key_table(self, number: int) -> tuple[int, ...]:
        """Key set ``number``: the PLU number each of its keys calls (empty when it was never set)."""
        with self._lock:
            return self._keys.get(number, ())

    def set_key_table(self, number: int, plus: Sequence[int]) -> None:
        with self._lock:
            self._keys[number] = tuple(plus)
            self._write([{"keys": number, "plus": list(plus)}])

    def close(self) -> None:
        with self._lock:
            if self._journal is not None:
                self._journal.close()
                self._journal = None

    def label(self, number: int, *, grams: int | None = None, count: int = 1) -> str:
        """The EAN-13 on the label the scale prints for PLU ``number``: a weighted PLU's weight (or its
        price for that weight, with a price template), a piece PLU's count."""
        with self._lock:
            plu = self._plus.get(number)
            template = self.template
        if plu is None:
            raise KeyError(f"no PLU {number} on this scale")
        if template is None:
            raise LookupError("the scale has no barcode format")
        item = str(plu.item_code).zfill(template.item_length)
        if template.kind == "weight":
            if grams is None:
                raise ValueError("a weight label needs the weight")
            return template.build(item, Decimal(grams) / 1000)
        if template.kind == "price":
            sold = Decimal(grams) / 1000 if plu.weighted and grams else Decimal(count)
            return template.build(item, line_amount(plu.price, sold))
        return template.build(item, count)

    def _write(self, entries: list[dict[str, Any]]) -> None:
        if self._journal is None or self._file is None:
            return
        self._journal.write("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries))
        self._journal.flush()
        self._lines += len(entries)
        if self._lines > 4 * len(self._plus) + 1000:  # mostly history: keep only what is there now
            self._journal.close()
            temporary = self._file.with_suffix(".tmp")
            now: list[dict[str, Any]] = [{"put": asdict(p)} for p in self._plus.values()]
            if self.template is not None:
                now.append({"template": self.template.model_dump()})
            now += [{"keys": number, "plus": list(plus)} for number, plus in self._keys.items()]
            temporary.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in now), "utf-8")
            os.replace(temporary, self._file)
            self._lines = len(now)
            self._journal = self._file.open("a", encoding="utf-8")
