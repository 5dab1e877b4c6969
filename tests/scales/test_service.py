"""Loading scales, against emulated scales on real sockets: a scale gets what its rules pick, then only
what changes; a scale that is off waits and is tried again, and gets what it missed; what the scale
refused, and products that cannot go on a scale, are told per PLU; speed keys follow the PLU numbers and
never call a PLU that is gone; the scale's label format reaches every PLU."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import insert, update

from osuite.core.barcodes import DEFAULT_TEMPLATES, BarcodeTemplate
from osuite.devices import cas_codec as codec
from osuite.devices.cas_emulator import RunningCasScale, start_cas_emulator
from osuite.devices.labelscale import Capability, Plu, PluResult, ScaleStatus
from osuite.scales import service
from osuite.scales import tables as t
from osuite.scales.app import enroll, open_scales
from osuite.scales.service import Scales
from osuite.scales.settings import ScalesSettings

STORE = "S1"
MEAT, CHEESE = "meat", "cheese"


@pytest.fixture
def scales(tmp_path: Path, db_url: str) -> Iterator[Scales]:
    settings = ScalesSettings(data_dir=tmp_path / "scales", database_url=db_url, device_timeout_seconds=1.0)
    running = open_scales(settings)
    enroll(running, client_id="c1", store_id=STORE, name="Весы", server_url="http://127.0.0.1:9", token="x")
    with running.db.write() as conn:
        for template in DEFAULT_TEMPLATES:
            conn.execute(
                insert(t.barcode_templates).values(
                    id=template.name, template=orjson.dumps(template.model_dump()).decode()
                )
            )
        conn.execute(
            insert(t.categories),
            [
                {"id": MEAT, "name": "Мясо", "parent_id": None},
                {"id": "beef", "name": "Говядина", "parent_id": MEAT},
                {"id": CHEESE, "name": "Сыры", "parent_id": None},
            ],
        )
        rows = [
            ("p1", "00001", "Говядина вырезка", "beef", 89_900),
            ("p2", "00002", "Свинина шея", MEAT, 49_900),
            ("p3", "00003", "Фарш домашний очень вкусный и свежий на развес", MEAT, 39_900),
            ("p4", "123", "Баранина (короткий артикул)", MEAT, 99_900),
            ("p5", "00005", "Сыр Российский", CHEESE, 69_900),
        ]
        conn.execute(
            insert(t.products),
            [
                {
                    "id": p,
                    "article": a,
                    "name": n,
                    "unit": "kg",
                    "weighted": True,
                    "category_id": c,
                    "active": True,
                }
                for p, a, n, c, _ in rows
            ],
        )
        conn.execute(
            insert(t.prices), [{"store_id": STORE, "product_id": p, "price": price} for p, *_, price in rows]
        )
    yield running
    running.db.dispose()


@pytest.fixture
def scale(tmp_path: Path) -> Iterator[RunningCasScale]:
    running = start_cas_emulator("127.0.0.1", 0, folder=tmp_path / "cas")
    yield running
    running.stop()


def inventory(scale: RunningCasScale, **changes: object) -> dict[str, object]:
    """A CAS scale's inventory row, as the API takes it."""
    return {
        "name": "Мясо 1",
        "department": "Мясо",
        "model": "CL5000",
        "protocol": "cas",
        "host": "127.0.0.1",
        "port": scale.port,
        "scale_number": 1,
        "password": "",
        "enabled": True,
        "barcode_template": "weight",
        "label_format": 1,
        "hotkeys": 0,
        **changes,
    }


def add(scales: Scales, scale: RunningCasScale, *categories: str, **changes: object) -> str:
    view = service.save_scale(scales, inventory(scale, **changes))
    service.set_rules(scales, view["id"], [("category", list(categories))])
    return str(view["id"])


def by_item(scale: RunningCasScale) -> dict[int, Any]:
    return {plu.item_code: plu for plu in scale.memory.table().values()}


def price(scales: Scales, product: str, kopecks: int) -> None:
    with scales.db.write() as conn:
        conn.execute(update(t.prices).where(t.prices.c.product_id == product).values(price=kopecks))
        service.mark_all(conn)


def test_a_scale_gets_what_its_rules_pick_then_only_what_changes(
    scales: Scales, scale: RunningCasScale
) -> None:
    scale_id = add(scales, scale, MEAT)
    first = service.upload(scales, scale_id)
    assert (first.written, first.refused, first.error) == (3, 0, None)
    assert sorted(by_item(scale)) == [1, 2, 3]  # the cheese is not picked, the short article not sent
    assert by_item(scale)[1].price == 89_900 and by_item(scale)[1].weighted
    with scales.db.read() as conn:
        plus = service.plus_of(conn, scale_id)
    assert [p["product_id"] for p in plus] == ["p1", "p2", "p3"]
    assert plus[0]["price"] == 89_900 and all(p["accepted"] for p in plus)
    numbers = {p["product_id"]: p["number"] for p in plus}

    price(scales, "p2", 52_900)
    again = service.upload(scales, scale_id)
    assert (again.written, again.deleted) == (1, 0)
    assert by_item(scale)[2].price == 52_900
    assert service.upload(scales, scale_id).written == 0  # nothing changed, nothing sent

    withdraw(scales, "p2")  # the pork is withdrawn: it leaves the scale, the others keep numbers
    gone = service.upload(scales, scale_id)
    assert gone.deleted == 1 and sorted(by_item(scale)) == [1, 3]
    with scales.db.read() as conn:
        assert {p["product_id"]: p["number"] for p in service.plus_of(conn, scale_id)} == {
            "p1": numbers["p1"],
            "p3": numbers["p3"],
        }


def test_a_product_that_cannot_go_on_a_scale_is_told_not_sent(scales: Scales, scale: RunningCasScale) -> None:
    scale_id = add(scales, scale, MEAT)
    with scales.db.read() as conn:
        want = service.wanted(scales, conn, service.get_scale(conn, scale_id))
    (refused,) = want.refused
    assert refused.product_id == "p4" and "5 digits" in refused.reason


def test_a_scale_that_is_off_waits_and_gets_what_it_missed(
    scales: Scales, scale: RunningCasScale, tmp_path: Path
) -> None:
    scale_id = add(scales, scale, MEAT)
    service.upload(scales, scale_id)
    port = scale.port
    scale.stop()
    price(scales, "p1", 95_000)
    failed = service.upload(scales, scale_id)
    assert failed.error and failed.retry
    assert service.due(scales) == []  # it waits before trying again
    with scales.db.read() as conn:
        view = service.scale_view(conn, scale_id)
    assert view["state"]["online"] is False and view["state"]["pending"] is True
    assert view["last_upload"]["error"]

    back = start_cas_emulator("127.0.0.1", port, folder=tmp_path / "cas")
    try:
        service.poll(scales, scale_id)  # it answers again: its turn comes at once
        assert service.due(scales) == [scale_id]
        done = service.upload(scales, scale_id)
        assert done.error is None and done.written == 1
        assert by_item(back)[1].price == 95_000
    finally:
        back.stop()


def test_a_full_reload_sends_everything_again(scales: Scales, scale: RunningCasScale) -> None:
    scale_id = add(scales, scale, MEAT)
    service.upload(scales, scale_id)
    scale.memory.clear()  # someone cleared the scale by hand
    assert service.upload(scales, scale_id).written == 0  # as far as we know it holds them
    service.order_reload(scales, scale_id)
    assert service.upload(scales, scale_id).written == 3
    assert sorted(by_item(scale)) == [1, 2, 3]
    with scales.db.read() as conn:
        uploads = service.uploads_of(conn, scale_id)
    assert [u["kind"] for u in uploads][:2] == ["full", "changes"]
    assert datetime.fromisoformat(uploads[0]["finished_at"]) <= datetime.now(UTC)


def withdraw(scales: Scales, product: str) -> None:
    with scales.db.write() as conn:
        conn.execute(update(t.products).where(t.products.c.id == product).values(active=False))
        service.mark_all(conn)


def test_speed_keys_call_the_plus_at_their_numbers_and_never_a_plu_that_is_gone(
    scales: Scales, scale: RunningCasScale
) -> None:
    scale_id = add(scales, scale, MEAT, hotkeys=2)
    service.upload(scales, scale_id)  # p1, p2, p3 at 1, 2, 3: the first two on keys 1 and 2
    assert scale.memory.key_table(1)[:3] == (1, 2, 0)

    withdraw(scales, "p1")  # PLU 1 leaves the scale, and its key is cleared
    assert service.upload(scales, scale_id).deleted == 1
    assert scale.memory.key_table(1)[:3] == (0, 2, 0)

    service.set_rules(scales, scale_id, [("category", [MEAT, CHEESE])])  # the cheese takes number 1
    service.upload(scales, scale_id)
    assert scale.memory.table()[1].item_code == 5 and scale.memory.key_table(1)[:3] == (1, 2, 0)

    service.save_scale(scales, inventory(scale, hotkeys=1), scale_id)  # one key now: PLU 2 loses its
    service.upload(scales, scale_id)
    assert scale.memory.key_table(1)[:3] == (1, 0, 0)

    price(scales, "p5", 10_000_000)  # more than the scale's price field holds: refused, its key cleared
    done = service.upload(scales, scale_id)
    assert (done.refused, done.error) == (1, None)
    assert scale.memory.key_table(1) == codec.NO_KEYS


class Recording:
    """A scale that takes every PLU and keeps what it was asked, with the capabilities it is given."""

    def __init__(self, capabilities: set[Capability]) -> None:
        self.capabilities = frozenset(capabilities)
        self.plus: dict[int, Plu] = {}
        self.keys: list[dict[int, int]] = []

    def write(self, plus: Sequence[Plu]) -> list[PluResult]:
        self.plus.update((plu.number, plu) for plu in plus)
        return [PluResult(plu.number, True) for plu in plus]

    def delete(self, numbers: Sequence[int]) -> list[PluResult]:
        return [PluResult(number, self.plus.pop(number, None) is not None) for number in numbers]

    def clear(self) -> None:
        self.plus.clear()

    def set_barcode(self, template: BarcodeTemplate) -> None:
        pass

    def set_hotkeys(self, keys: Mapping[int, int]) -> None:
        self.keys.append(dict(keys))

    def status(self) -> ScaleStatus:
        return ScaleStatus(online=True)

    def close(self) -> None:
        pass


@pytest.mark.parametrize("keys", [True, False])
def test_the_keys_are_sent_when_the_driver_sets_keys(
    scales: Scales, scale: RunningCasScale, keys: bool
) -> None:
    recording = Recording(
        {Capability.PLU_WRITE, Capability.PLU_DELETE} | ({Capability.HOTKEYS} if keys else set())
    )
    scales.open_driver = lambda _scale, _timeout: recording
    scale_id = add(scales, scale, MEAT, hotkeys=2)
    service.upload(scales, scale_id)
    withdraw(scales, "p2")
    service.upload(scales, scale_id)
    assert [recording.plus[n].hotkey for n in (1, 3)] == [1, None]
    assert recording.keys == ([{1: 1, 2: 2}, {1: 1}] if keys else [])


def test_the_scales_label_format_reaches_its_plus_and_a_change_sends_them_again(
    scales: Scales, scale: RunningCasScale
) -> None:
    scale_id = add(scales, scale, MEAT, label_format=3)
    service.upload(scales, scale_id)
    assert {plu.label_format for plu in scale.memory.table().values()} == {3}
    with scales.db.write() as conn:  # the format changed (not through the API, which reloads in full)
        conn.execute(update(t.scales).where(t.scales.c.id == scale_id).values(label_format=5))
    service.order_upload(scales, scale_id)
    assert service.upload(scales, scale_id).written == 3
    assert {plu.label_format for plu in scale.memory.table().values()} == {5}
