"""Loading scales, against emulated scales on real sockets: a scale gets what its rules pick, then only
what changes; a scale that is off waits and is tried again, and gets what it missed; what the scale
refused, and products that cannot go on a scale, are told per PLU."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import insert, update

from osuite.core.barcodes import DEFAULT_TEMPLATES
from osuite.devices.cas_emulator import RunningCasScale, start_cas_emulator
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


def add(scales: Scales, scale: RunningCasScale, *categories: str) -> str:
    view = service.save_scale(
        scales,
        {
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
        },
    )
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
    numbers = {p["product_id"]: p["number"] for p in plus}

    price(scales, "p2", 52_900)
    again = service.upload(scales, scale_id)
    assert (again.written, again.deleted) == (1, 0)
    assert by_item(scale)[2].price == 52_900
    assert service.upload(scales, scale_id).written == 0  # nothing changed, nothing sent

    with scales.db.write() as conn:  # the pork is withdrawn: it leaves the scale, the others keep numbers
        conn.execute(update(t.products).where(t.products.c.id == "p2").values(active=False))
        service.mark_all(conn)
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
