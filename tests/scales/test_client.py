"""The scale server's published client against its real API (in process): every answer reads as the
client's models say, with what a scale holds and its uploads as the scale server records them; a
refusal, a scale server that does not answer, and an answer of another version are each a
:class:`ScaleServerError`, never a crash of the program asking."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert

from osuite.scales import tables as t
from osuite.scales.app import build_app, create_key
from osuite.scales.client import ScalesClient, ScaleServerError, ScaleServerUnreachable
from osuite.scales.settings import ScalesSettings

SENT = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
INVENTORY = {
    "name": "Мясо",
    "department": "Мясной отдел",
    "protocol": "cas",
    "host": "127.0.0.1",
    "port": 20304,
}


@pytest.fixture
def served(tmp_path: Path, db_url: str) -> Iterator[tuple[ScalesClient, TestClient]]:
    """A client of a scale server with a key, and the scale server itself."""
    app = build_app(ScalesSettings(data_dir=tmp_path / "scales", database_url=db_url))
    key = create_key(app.state.scales, "manager")
    client = ScalesClient("http://scales.test", key)
    client.http.close()
    client.http = TestClient(app, base_url="http://scales.test", headers={"Authorization": f"Bearer {key}"})
    yield client, client.http
    client.close()
    app.state.scales.db.dispose()


def test_a_scale_reads_with_its_state_plus_and_uploads(served: tuple[ScalesClient, TestClient]) -> None:
    client, server = served
    assert client.scales() == []
    added = client.request("POST", "/api/v1/scales", json=INVENTORY)
    scale_id = added["id"]
    with server.app.state.scales.db.write() as conn:  # type: ignore[attr-defined]
        conn.execute(
            insert(t.products).values(
                id="p1",
                article="00001",
                name="Свинина шея",
                unit="kg",
                weighted=True,
                category_id=None,
                active=True,
            )
        )
        conn.execute(
            insert(t.plu_numbers),
            [{"scale_id": scale_id, "product_id": p, "number": n} for p, n in (("p1", 1), ("p2", 2))],
        )
        conn.execute(
            insert(t.sent),
            [
                {
                    "scale_id": scale_id,
                    "number": 1,
                    "product_id": "p1",
                    "digest": "d1",
                    "at": SENT,
                    "answer": "",
                },
                {
                    "scale_id": scale_id,
                    "number": 2,
                    "product_id": "p2",
                    "digest": None,
                    "at": SENT,
                    "answer": "the name is too long",
                },
            ],
        )
        conn.execute(
            insert(t.uploads),
            [
                {
                    "id": "u1",
                    "scale_id": scale_id,
                    "kind": "full",
                    "started_at": SENT,
                    "finished_at": SENT + timedelta(seconds=2),
                    "written": 1,
                    "deleted": 0,
                    "refused": 1,
                    "error": None,
                },
                {
                    "id": "u2",
                    "scale_id": scale_id,
                    "kind": "changes",
                    "started_at": SENT + timedelta(minutes=5),
                    "finished_at": None,
                    "written": 0,
                    "deleted": 0,
                    "refused": 0,
                    "error": None,
                },
            ],
        )

    [listed] = client.scales()
    assert listed == client.scale(scale_id)
    assert (listed.name, listed.department, listed.protocol, listed.port) == (
        "Мясо",
        "Мясной отдел",
        "cas",
        20304,
    )
    assert listed.plus_loaded == 1  # the refused one is not on the scale
    assert listed.state.pending and listed.state.checked_at is None
    assert listed.last_upload is not None and listed.last_upload.id == "u2"
    assert listed.last_upload.finished_at is None

    first, second = client.plus(scale_id)
    assert (first.number, first.name, first.accepted, first.sent_at) == (1, "Свинина шея", True, SENT)
    assert (second.number, second.accepted, second.answer) == (2, False, "the name is too long")
    assert [u.id for u in client.uploads(scale_id)] == ["u2", "u1"]
    assert client.uploads(scale_id)[1].kind == "full"

    client.upload(scale_id)
    client.upload(scale_id, full=True)
    client.reload_all()


def test_a_refusal_is_a_scale_server_error(served: tuple[ScalesClient, TestClient]) -> None:
    client, server = served
    with pytest.raises(ScaleServerError) as unknown:
        client.scale("no-such-scale")
    assert unknown.value.status == 404 and "no-such-scale" in unknown.value.detail
    server.headers["Authorization"] = "Bearer not-a-key"
    with pytest.raises(ScaleServerError) as refused:
        client.scales()
    assert refused.value.status == 401


def test_a_scale_server_that_does_not_answer_or_answers_otherwise() -> None:
    with (
        ScalesClient("http://127.0.0.1:9", "key", timeout=2.0) as silent,
        pytest.raises(ScaleServerUnreachable) as down,
    ):
        silent.scales()
    assert down.value.status == 503 and "127.0.0.1:9" in down.value.detail

    other = ScalesClient("http://scales.test", "key")
    other.http = httpx.Client(
        base_url="http://scales.test",
        transport=httpx.MockTransport(lambda _r: httpx.Response(200, json=[{"id": 1}])),
    )
    with other, pytest.raises(ScaleServerError) as unreadable:
        other.scales()
    assert unreadable.value.status == 502
