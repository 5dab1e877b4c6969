"""Talking to the fiscal registrar from use cases: its refusals become :class:`DeviceFailed` with the
registrar's own words, and its marks become the JSON kept with receipts and sent up with them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from osuite.devices.fiscal import FiscalError, FiscalMark, FiscalRegistrar
from osuite.pos.errors import DeviceFailed

R = TypeVar("R")


def call(action: Callable[[], R]) -> R:
    try:
        return action()
    except FiscalError as exc:
        raise failed(exc) from exc


def find(device: FiscalRegistrar, key: str) -> FiscalMark | None:
    try:
        return device.find(key)
    except FiscalError as exc:
        raise failed(exc) from exc


def failed(exc: FiscalError) -> DeviceFailed:
    return DeviceFailed("registrar", str(exc.code), exc.message)


def mark_json(mark: FiscalMark) -> dict[str, Any]:
    return {
        "shift_number": mark.shift_number,
        "document_number": mark.document_number,
        "number_in_shift": mark.number_in_shift,
        "fiscal_sign": mark.fiscal_sign,
        "registered_at": mark.registered_at.isoformat(),
    }
