"""A till stopped while a receipt was at the registrar: on start it asks the registrar about the
receipt's key, closes it with the registrar's mark when the registrar has it (once), and opens it
again, with its payments, when the registrar does not."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from osuite.devices.atol import AtolRegistrar
from osuite.devices.fiscal import FiscalItem, FiscalPayment, FiscalReceipt
from osuite.pos import app as pos_app
from osuite.pos.app import build_app
from osuite.pos.settings import PosSettings
from tests.pos.conftest import MILK, WATER, Devices, Till


@pytest.fixture(autouse=True)
def no_mending(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Only the reconciliation on start runs, not the background retries."""
    monkeypatch.setattr(pos_app, "MEND_SECONDS", 3600.0)
    yield


def _left_fiscalizing(settings: PosSettings, devices: Devices) -> dict[str, Any]:
    """A paid receipt the till sent while the registrar was off; then the till is stopped."""
    with TestClient(build_app(settings)) as client:
        till = Till(client).login()
        till.post("/shift/open")
        till.scan(MILK, quantity="2")
        till.scan(WATER)
        devices.stop_registrar()
        till.refused("POST", "/receipt/payments", 503, "device", payment_type="CASH", amount=30000)
        receipt: dict[str, Any] = till.receipt()
        assert receipt["status"] == "fiscalizing"
    devices.start_registrar()
    return receipt


def _register_directly(devices: Devices, receipt: dict[str, Any]) -> Any:
    """The registrar registers it under the receipt's id, as it would have had the answer been lost."""
    with AtolRegistrar(devices.registrar_url) as registrar:
        return registrar.register(
            FiscalReceipt(
                key=receipt["id"],
                kind="sale",
                cashier="Анна К.",
                items=tuple(
                    FiscalItem(
                        name=line["name"],
                        price=line["price"],
                        quantity=Decimal(line["quantity"]),
                        amount=line["amount"],
                        vat_rate=line["vat_rate"],
                        unit=line["unit"],
                    )
                    for line in receipt["lines"]
                ),
                payments=(FiscalPayment(method="cash", amount=30000),),
                total=receipt["total"],
            )
        )


def test_a_receipt_the_registrar_registered_is_closed_on_start_with_its_mark_once(
    pos_settings: PosSettings, devices: Devices
) -> None:
    receipt = _left_fiscalizing(pos_settings, devices)
    mark = _register_directly(devices, receipt)
    assert len(devices.sells()) == 1

    with TestClient(build_app(pos_settings)) as client:
        till = Till(client).login()
        assert till.receipt() is None  # settled before the first request
        (sale,) = till.get("/sales")
        assert (sale["id"], sale["status"], sale["total"]) == (receipt["id"], "closed", 2 * 8990 + 4500)
        assert sale["fiscal"]["fiscal_sign"] == mark.fiscal_sign
        assert sale["fiscal"]["document_number"] == mark.document_number
        assert sale["number"] == mark.number_in_shift
        assert [(p["amount"], p["change"]) for p in sale["payments"]] == [(22480, 7520)]
        (document,) = till.outbox("receipt")
        assert document["id"] == receipt["id"]
        assert document["payload"]["fiscal"]["fiscal_sign"] == mark.fiscal_sign
        assert len(till.audit("close_receipt")) == 1
        report = till.post("/shift/x-report")
        assert report["till"]["sales_sum"] == report["registrar"]["sales_sum"] == 22480

    with TestClient(build_app(pos_settings)) as client:  # and a second start changes nothing
        till = Till(client).login()
        assert len(till.outbox("receipt")) == 1
        assert len(till.audit("close_receipt")) == 1
    assert len(devices.sells()) == 1


def test_a_receipt_the_registrar_does_not_know_is_opened_again_with_its_payments(
    pos_settings: PosSettings, devices: Devices
) -> None:
    receipt = _left_fiscalizing(pos_settings, devices)
    assert devices.sells() == []

    with TestClient(build_app(pos_settings)) as client:
        till = Till(client).login()
        reopened = till.receipt()
        assert (reopened["id"], reopened["status"]) == (receipt["id"], "open")
        assert reopened["last_error"] and "Retry" in reopened["last_error"]
        assert [(p["payment_type"], p["status"], p["tendered"]) for p in reopened["payments"]] == [
            ("CASH", "approved", 30000)
        ]
        assert till.outbox("receipt") == []
        closed = till.post("/receipt/close")
        assert (closed["status"], closed["change"]) == ("closed", 7520)
        assert len(devices.sells()) == 1
        assert [doc["id"] for doc in till.outbox("receipt")] == [receipt["id"]]


def test_with_the_registrar_still_off_the_receipt_waits_and_the_till_still_starts(
    pos_settings: PosSettings, devices: Devices
) -> None:
    receipt = _left_fiscalizing(pos_settings, devices)
    devices.stop_registrar()
    with TestClient(build_app(pos_settings)) as client:
        till = Till(client).login()
        assert till.receipt()["status"] == "fiscalizing"
        devices.start_registrar()
        closed = till.post("/receipt/close")
        assert (closed["id"], closed["status"]) == (receipt["id"], "closed")
    assert len(devices.sells()) == 1
