"""The emulated registrar's fiscal memory on disk: its identity (with the secret key that signs documents)
and its journal, an append-only file of JSON lines holding every request that registered a document.

A line is written and fsync'ed before the registrar answers, so a document a POS was told about survives
a crash. A crash in the middle of a write leaves a torn last line that was never answered: it is cut off
on start. A damaged or altered line anywhere else stops the registrar from starting, as a fiscal memory
that fails its check would: skipping it would forget a document someone holds a receipt for.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from osuite.devices.atol_wire import canonical, dumps, loads

JOURNAL_FILE = "fiscal-journal.jsonl"
IDENTITY_FILE = "registrar.json"


class JournalDamaged(Exception):
    """The journal cannot be trusted; the message says which line and why."""


@dataclass(frozen=True)
class Identity:
    """Who the registrar is: made once per data directory and kept."""

    secret: bytes
    fn_number: str  # the fiscal drive's number (FFD 1041)
    registration_number: str  # the register's number at the tax service (FFD 1037)
    serial_number: str

    def sign(self, document: dict[str, Any]) -> str:
        """A fiscal sign like a real FPD (FFD 1077): ten digits, here an HMAC of the document."""
        unsigned = {key: value for key, value in document.items() if key != "sign"}
        digest = hmac.new(self.secret, canonical(unsigned), hashlib.sha256).digest()
        return f"{int.from_bytes(digest[:4], 'big'):010d}"


def load_identity(data_dir: Path) -> Identity:
    """The identity kept in ``data_dir``, made (with a new secret key) the first time."""
    path = data_dir / IDENTITY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        digits = f"{secrets.randbelow(10**6):06d}"
        made = {
            "secret": secrets.token_hex(32),
            "fnNumber": "9999078900" + digits,
            "registrationNumber": "000000000100" + digits[:4],
            "serialNumber": "00106" + digits + "00",
        }
        temporary = path.with_suffix(".tmp")
        with temporary.open("wb") as file:
            file.write(dumps(made))
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
        _fsync_dir(data_dir)
    saved = loads(path.read_bytes())
    return Identity(
        secret=bytes.fromhex(saved["secret"]),
        fn_number=saved["fnNumber"],
        registration_number=saved["registrationNumber"],
        serial_number=saved["serialNumber"],
    )


class Journal:
    """One JSON object per line; :meth:`append` returns only once the line is on disk."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: BinaryIO | None = None

    def load(self, identity: Identity) -> list[dict[str, Any]]:
        """Every record, oldest first, each document's fiscal sign checked; cuts off a torn last line."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = self.path.read_bytes() if self.path.exists() else b""
        complete = data.rfind(b"\n") + 1
        if complete < len(data):
            with self.path.open("r+b") as file:
                file.truncate(complete)
                os.fsync(file.fileno())
        records: list[dict[str, Any]] = []
        for number, line in enumerate(data[:complete].splitlines(), start=1):
            try:
                record = loads(line)
            except ValueError:
                raise JournalDamaged(f"{self.path}, line {number}: not a journal record") from None
            if not isinstance(record, dict) or not isinstance(record.get("documents"), list):
                raise JournalDamaged(f"{self.path}, line {number}: not a journal record")
            for document in record["documents"]:
                if document.get("sign") and identity.sign(document) != document["sign"]:
                    raise JournalDamaged(
                        f"{self.path}, line {number}: the fiscal sign of document {document.get('number')} "
                        "does not match: the journal was altered"
                    )
            records.append(record)
        return records

    def append(self, record: dict[str, Any]) -> None:
        """Write one record and wait until it is on disk; on failure (a full disk) take back whatever
        part of it was written, so the next record does not land on a torn line."""
        if self._file is None:
            self._file = self.path.open("ab")
            _fsync_dir(self.path.parent)
        file = self._file
        end = file.seek(0, os.SEEK_END)
        try:
            file.write(dumps(record) + b"\n")
            file.flush()
            os.fsync(file.fileno())
        except BaseException:
            try:
                file.truncate(end)
                file.flush()
            except OSError:
                pass
            raise

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _fsync_dir(directory: Path) -> None:
    """Make a new or renamed file's name durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
