"""Reference data waits for the receipt on the screen: the link applies a page only between receipts,
so a price or promotion never changes under a cashier mid-sale."""

from __future__ import annotations

import threading

from osuite.pos.link import Link
from tests.pos.conftest import MILK, SUPERVISOR_PIN, Till


def _apply_in_background(link: Link) -> tuple[threading.Thread, threading.Event]:
    applied = threading.Event()

    def apply() -> None:
        with link.between_receipts():
            applied.set()

    thread = threading.Thread(target=apply, daemon=True)
    thread.start()
    return thread, applied


def test_a_page_waits_while_a_receipt_is_open_and_goes_in_once_it_is_done(open_till: Till) -> None:
    link: Link = open_till.http.app.state.link  # type: ignore[attr-defined]
    open_till.scan(MILK)
    thread, applied = _apply_in_background(link)
    assert not applied.wait(0.8), "reference data was applied in the middle of a receipt"
    open_till.post("/receipt/cancel", supervisor_pin=SUPERVISOR_PIN)
    assert applied.wait(5), "reference data never went in after the receipt was cancelled"
    thread.join(5)


def test_a_held_receipt_does_not_hold_up_the_catalog(open_till: Till) -> None:
    link: Link = open_till.http.app.state.link  # type: ignore[attr-defined]
    open_till.scan(MILK)
    open_till.post("/receipt/hold")
    thread, applied = _apply_in_background(link)
    assert applied.wait(5)
    thread.join(5)
