"""The Massa-K label scale driver against its emulator on a real TCP socket, and the emulator on the wire."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from osuite.core.barcodes import DEFAULT_TEMPLATES, BarcodeTemplate, InStoreCode, parse_scan
from osuite.devices import massak_codec as frames
from osuite.devices import massak_label_codec as codec
from osuite.devices.labelscale import Capability, LabelScaleError, Plu, ScaleErrorCode
from osuite.devices.massak_label import MassaKLabelScale
from osuite.devices.massak_label_codec import FileType
from osuite.devices.massak_label_emulator import RunningMassaKLabelScale, start_massak_label_emulator

WEIGHT, PRICE, COUNT = DEFAULT_TEMPLATES
NAMES = ["Сыр российский", "Колбаса докторская высшего сорта " * 10, "Яблоки Гала", "Чай 🍵 зелёный", "Хлеб"]


def assortment(count: int, start: int = 1) -> list[Plu]:
    return [
        Plu(
            number=n,
            item_code=10_000 + n,
            name=f"{NAMES[n % len(NAMES)]} №{n}",
            price=1_000 + 37 * n,
            weighted=n % 3 != 0,
            shelf_life_days=n % 30,
            tare_grams=n % 50,
            ingredients="" if n % 4 else f"состав {n}: мука, вода, соль\nхранить при +4 °C",
        )
        for n in range(start, start + count)
    ]


@pytest.fixture
def running() -> Iterator[RunningMassaKLabelScale]:
    with start_massak_label_emulator(frame_timeout=0.3) as scale:
        yield scale


@pytest.fixture
def scale(running: RunningMassaKLabelScale) -> Iterator[MassaKLabelScale]:
    with MassaKLabelScale(running.host, running.port, timeout=2.0) as driver:
        yield driver


# --- the driver against the emulator -----------------------------------------------------------------


def test_five_hundred_plus_written_and_kept(
    running: RunningMassaKLabelScale, scale: MassaKLabelScale
) -> None:
    plus = assortment(500)
    results = scale.write(plus)
    assert [r.number for r in results] == [p.number for p in plus]
    assert all(r.ok for r in results)
    assert running.memory.table() == {p.number: codec.fit(p) for p in plus}
    cut = next(r for r in results if r.number == 1)  # the long sausage
    assert cut.message == f"наименование обрезано до {codec.NAME_LIMIT} знаков"
    assert (
        next(r for r in results if r.number == 3).message
        == "в наименовании знаки не из CP1251 заменены на «?»"
    )
    status = scale.status()
    assert (status.online, status.busy, status.plu_count) == (True, False, 500)
    assert "формат штрихкода не загружен" in status.message


def test_the_label_format_reaches_the_scale_and_stays_when_others_go(
    running: RunningMassaKLabelScale, scale: MassaKLabelScale
) -> None:
    results = scale.write(
        [
            Plu(1, 101, "Сыр", 45_000, label_format=4),
            Plu(2, 102, "Хлеб", 5_000, label_format=2),
            Plu(3, 103, "Чай", 9_000, label_format=11),
        ]
    )
    assert [r.ok for r in results] == [True, True, False]
    assert "формат этикетки 11 вне 0…10" in results[2].message
    scale.delete([2])  # the file is read back, erased and loaded again without PLU 2
    assert {n: p.label_format for n, p in running.memory.table().items()} == {1: 4}


def test_writing_again_replaces_only_those_plus(
    running: RunningMassaKLabelScale, scale: MassaKLabelScale
) -> None:
    scale.write(assortment(20))
    dearer = Plu(7, 10_007, "Сыр российский", 99_900)
    assert scale.write([dearer])[0].ok
    table = running.memory.table()
    assert len(table) == 20
    assert table[7] == dearer
    assert table[8] == codec.fit(assortment(1, start=8)[0])


def test_delete_reads_back_erases_and_reloads(
    running: RunningMassaKLabelScale, scale: MassaKLabelScale
) -> None:
    plus = assortment(300)
    scale.write(plus)
    results = scale.delete([5, 150, 299, 4_000])
    assert [(r.number, r.ok, r.message) for r in results] == [
        (5, True, ""),
        (150, True, ""),
        (299, True, ""),
        (4_000, True, "такого PLU на весах не было"),
    ]
    assert running.memory.table() == {p.number: codec.fit(p) for p in plus if p.number not in {5, 150, 299}}
    assert scale.delete([]) == []


def test_deleting_what_is_not_there_erases_nothing(
    running: RunningMassaKLabelScale, scale: MassaKLabelScale
) -> None:
    scale.write(assortment(3))
    assert scale.delete([9])[0].message == "такого PLU на весах не было"
    assert len(running.memory.table()) == 3


def test_clear(running: RunningMassaKLabelScale, scale: MassaKLabelScale) -> None:
    scale.write(assortment(10))
    scale.clear()
    assert running.memory.table() == {}
    assert scale.status().plu_count == 0


def test_capabilities() -> None:
    assert MassaKLabelScale.capabilities == {
        Capability.PLU_WRITE,
        Capability.PLU_DELETE,
        Capability.CLEAR,
        Capability.MESSAGES,
        Capability.BARCODE_FORMAT,
        Capability.STATUS,
    }


@pytest.mark.parametrize("template", [WEIGHT, PRICE], ids=["weight", "price"])
def test_a_label_sells_the_right_item_and_weight(
    running: RunningMassaKLabelScale, scale: MassaKLabelScale, template: BarcodeTemplate
) -> None:
    scale.set_barcode(template)
    assert scale.write([Plu(42, 321, "Сыр", 45_000)])[0].ok
    read = parse_scan(running.memory.label(42, grams=1_234), DEFAULT_TEMPLATES)
    assert isinstance(read, InStoreCode)
    assert (read.template, read.item_code) == (template.name, "00321")
    if template is WEIGHT:
        assert read.weight == Decimal("1.234")
    else:
        assert read.price == 55_530  # 450.00 a kg × 1.234 kg
    assert "формат штрихкода" not in scale.status().message


def test_plus_the_scale_refuses_are_reported_one_by_one(
    running: RunningMassaKLabelScale, scale: MassaKLabelScale
) -> None:
    plus = [
        Plu(1, 1, "Хлеб", 5_000),
        Plu(25_000, 2, "Батон", 6_000),
        Plu(3, 3, "Булка", 10_000_000),
        Plu(4, 4, "Сушки", 100),
    ]
    results = scale.write(plus)
    assert [r.ok for r in results] == [True, False, False, True]
    assert (
        results[1].message == "весы не приняли PLU 25000: ошибка входных данных (номер PLU 25000 вне 1…20000)"
    )
    assert results[2].message == "весы не приняли PLU 3: ошибка входных данных (цена 10000000 вне 0…9999999)"
    assert sorted(running.memory.table()) == [1, 4]
    assert running.emulator.refusals[-2:] == [
        "PLU 25000: номер PLU 25000 вне 1…20000",
        "PLU 3: цена 10000000 вне 0…9999999",
    ]


def test_a_plu_that_fits_no_record_is_refused_before_sending(
    running: RunningMassaKLabelScale, scale: MassaKLabelScale
) -> None:
    results = scale.write([Plu(2**40, 1, "Хлеб", 1), Plu(2, 2, "Соль", 1)])
    assert not results[0].ok and results[0].message.startswith("не помещается в запись Масса-К")
    assert results[1].ok
    assert sorted(running.memory.table()) == [2]


def test_busy_scale(running: RunningMassaKLabelScale, scale: MassaKLabelScale) -> None:
    running.busy = True
    with pytest.raises(LabelScaleError) as caught:
        scale.write(assortment(5))
    assert caught.value.code is ScaleErrorCode.BUSY and caught.value.retry
    assert "весы заняты (CMD_ERROR 0x0f)" in caught.value.message
    status = scale.status()
    assert status.online and status.busy
    for call in (scale.clear, lambda: scale.delete([1]), lambda: scale.set_barcode(WEIGHT)):
        with pytest.raises(LabelScaleError) as caught:
            call()
        assert caught.value.code is ScaleErrorCode.BUSY
    running.busy = False
    assert all(r.ok for r in scale.write(assortment(5)))


def test_unreachable_scale() -> None:
    with start_massak_label_emulator() as stopped:
        host, port = stopped.host, stopped.port
    with MassaKLabelScale(host, port, timeout=0.5) as driver:
        for call in (lambda: driver.write(assortment(1)), driver.status, driver.clear):
            with pytest.raises(LabelScaleError) as caught:
                call()
            assert caught.value.code is ScaleErrorCode.UNREACHABLE
            assert f"{host}:{port}" in caught.value.message


def test_silent_scale_is_unreachable_within_the_timeout() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        host, port = listener.getsockname()
        with MassaKLabelScale(host, port, timeout=0.3) as driver:
            started = time.monotonic()
            with pytest.raises(LabelScaleError) as caught:
                driver.write(assortment(3))
    assert caught.value.code is ScaleErrorCode.UNREACHABLE
    assert "не ответили за 0.3 с" in caught.value.message
    assert time.monotonic() - started < 2


def test_scale_switched_off_between_calls() -> None:
    running = start_massak_label_emulator()
    with MassaKLabelScale(running.host, running.port, timeout=0.5) as driver:
        assert driver.write(assortment(2))[0].ok
        running.stop()
        with pytest.raises(LabelScaleError) as caught:
            driver.write(assortment(2))
        assert caught.value.code is ScaleErrorCode.UNREACHABLE


def test_driver_reconnects_when_the_scale_dropped_an_idle_connection(
    running: RunningMassaKLabelScale, scale: MassaKLabelScale
) -> None:
    assert scale.write(assortment(1))[0].ok
    assert scale._sock is not None
    scale._sock.shutdown(socket.SHUT_WR)  # the far end sees a close, as after an idle timeout
    time.sleep(0.05)
    assert all(r.ok for r in scale.write(assortment(3)))
    assert len(running.memory.table()) == 3


class _Corrupting:
    """A socket whose next sends get one byte flipped, as a noisy line would."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def sendall(self, data: bytes) -> None:
        self._sock.sendall(data[:-1] + bytes((data[-1] ^ 0x55,)))

    def __getattr__(self, name: str) -> object:
        return getattr(self._sock, name)


def test_a_frame_with_a_bad_crc_is_refused_and_reported(
    running: RunningMassaKLabelScale, scale: MassaKLabelScale
) -> None:
    scale.status()
    assert scale._sock is not None
    scale._sock = _Corrupting(scale._sock)  # type: ignore[assignment]
    with pytest.raises(LabelScaleError) as caught:
        scale.clear()
    assert caught.value.code is ScaleErrorCode.BAD_FRAME
    assert "CMD_NACK" in caught.value.message and "CRC" in caught.value.message
    assert running.emulator.refusals[-1].startswith("CRC: CRC mismatch")
    assert scale.status().online  # the next call starts clean on a new connection


@pytest.mark.parametrize(
    ("fault", "said"), [("bad_crc", "ответ не сошёлся: CRC mismatch"), ("truncate", "ответ оборвался")]
)
def test_a_spoilt_answer_is_reported(running: RunningMassaKLabelScale, fault: str, said: str) -> None:
    running.emulator.fault = fault  # type: ignore[assignment]
    with MassaKLabelScale(running.host, running.port, timeout=0.3) as driver:
        with pytest.raises(LabelScaleError) as caught:
            driver.clear()
        assert caught.value.code is ScaleErrorCode.BAD_FRAME and caught.value.retry
        assert said in caught.value.message
        running.emulator.fault = None
        driver.clear()


def test_table_survives_a_restart(tmp_path: Path) -> None:
    plus = assortment(50)
    with (
        start_massak_label_emulator(folder=tmp_path) as first,
        MassaKLabelScale(first.host, first.port) as driver,
    ):
        driver.set_barcode(WEIGHT)
        assert all(r.ok for r in driver.write(plus))
    with start_massak_label_emulator(folder=tmp_path) as second:
        assert second.memory.table() == {p.number: codec.fit(p) for p in plus}
        with MassaKLabelScale(second.host, second.port) as driver:
            status = driver.status()
            assert status.plu_count == 50 and "формат штрихкода" not in status.message
            driver.delete([1])
        read = parse_scan(second.memory.label(2, grams=500), [WEIGHT])
        assert isinstance(read, InStoreCode) and read.weight == Decimal("0.500")
    with start_massak_label_emulator(folder=tmp_path) as third:
        assert sorted(third.memory.table()) == list(range(2, 51))


def test_emulator_address(running: RunningMassaKLabelScale) -> None:
    assert running.address == f"127.0.0.1:{running.port}"


# --- the emulator on the wire, byte for byte -----------------------------------------------------------


def exchange(running: RunningMassaKLabelScale, raw: bytes, timeout: float = 1.0) -> bytes:
    with socket.create_connection((running.host, running.port), timeout=timeout) as sock:
        sock.sendall(raw)
        return read_frame(sock)


def read_frame(sock: socket.socket) -> bytes:
    head = sock.recv(5, socket.MSG_WAITALL)
    return head + sock.recv(frames.frame_size(frames.body_length(head)) - 5, socket.MSG_WAITALL)


CHEESE = Plu(number=1, item_code=123, name="Сыр", price=45_000, shelf_life_days=10, tare_grams=5)
NACK = bytes.fromhex("F8 55 CE 01 00 F0 F0 00")
BAD_INPUT = bytes.fromhex("F8 55 CE 02 00 28 0A 0A 28")


def test_emulator_takes_a_plu_frame_and_acknowledges_it(running: RunningMassaKLabelScale) -> None:
    frame = codec.dfile(FileType.PLU, 1, 1, codec.encode_plu(codec.record_of(CHEESE, prefix=21)))
    assert exchange(running, frame) == bytes.fromhex("F8 55 CE 06 00 42 01 01 00 01 00 F5 86")
    assert running.memory.table() == {1: CHEESE}
    assert exchange(running, bytes.fromhex("F8 55 CE 01 00 80 80 00")) == bytes.fromhex(
        "F8 55 CE 05 00 40 04 00 00 00"
        + frames.crc16(bytes.fromhex("40 04 00 00 00")).to_bytes(2, "little").hex()
    )  # PLUs there, the barcode format (bit 2) missing


def test_emulator_refuses_bad_frames(running: RunningMassaKLabelScale) -> None:
    good = codec.dfile(FileType.PLU, 1, 1, codec.encode_plu(codec.record_of(CHEESE)))
    assert exchange(running, good[:-1] + bytes((good[-1] ^ 1,))) == NACK  # a wrong CRC
    assert exchange(running, frames.encode_body(bytes((0x99, 1, 2)))) == NACK  # a command it does not know
    wrong_checksum = codec.encode_plu(codec.record_of(CHEESE))[:-1] + b"\x00"
    assert exchange(running, codec.dfile(FileType.PLU, 1, 1, wrong_checksum)) == BAD_INPUT
    out_of_range = codec.encode_plu(codec.record_of(CHEESE)._replace(tare_grams=20_000))
    assert exchange(running, codec.dfile(FileType.PLU, 1, 1, out_of_range)) == BAD_INPUT
    lying_len = bytearray(good)
    lying_len[11] += 1  # Len of the record one more than it has
    assert exchange(running, frames.encode_body(bytes(lying_len[5:-2]))) == BAD_INPUT
    assert exchange(running, frames.encode_body(bytes((0x82, 1, 1)))) == BAD_INPUT  # no room for its header
    assert running.memory.table() == {}
    assert running.emulator.refusals[-3:] == [
        "PLU 1: тара 20000 вне 0…15000",
        "Len записи 57, а пришло 56 байт",
        "a file record frame starts with 7 bytes, got 2",
    ]


def test_emulator_waits_for_records_in_order(running: RunningMassaKLabelScale) -> None:
    record = codec.encode_plu(codec.record_of(CHEESE))
    with socket.create_connection((running.host, running.port), timeout=1) as sock:
        sock.sendall(codec.dfile(FileType.PLU, 3, 2, record))  # a transfer cannot start at record 2
        assert read_frame(sock) == frames.encode_body(codec.bad_dfile(1, 3, 2).body)
        sock.sendall(codec.dfile(FileType.PLU, 3, 1, record))
        assert read_frame(sock) == codec.ack_dfile_frame(1, 3, 1)
        sock.sendall(codec.dfile(FileType.PLU, 3, 3, record))  # record 2 skipped
        assert read_frame(sock) == frames.encode_body(codec.bad_dfile(1, 3, 3).body)
        sock.sendall(codec.dfile(0x63, 1, 1, record))  # no such file type
        assert read_frame(sock) == frames.encode_body(codec.bad_dfile(0x63, 1, 1).body)


def test_emulator_drops_a_frame_cut_short(running: RunningMassaKLabelScale) -> None:
    frame = codec.dfile(FileType.PLU, 1, 1, codec.encode_plu(codec.record_of(CHEESE)))
    with socket.create_connection((running.host, running.port), timeout=2) as sock:
        sock.sendall(frame[: len(frame) // 2])
        started = time.monotonic()
        assert read_frame(sock) == NACK  # after frame_timeout (0.3 s) with no more bytes
        assert time.monotonic() - started >= 0.25
        sock.sendall(b"\x00\x17" + frame)  # noise before a header is skipped
        assert read_frame(sock) == codec.ack_dfile_frame(1, 1, 1)
    assert running.emulator.refusals[-1] == f"кадр оборван: {len(frame) // 2} байт"


def test_emulator_answers_busy(running: RunningMassaKLabelScale) -> None:
    running.busy = True
    assert exchange(running, bytes.fromhex("F8 55 CE 01 00 80 80 00")) == bytes.fromhex(
        "F8 55 CE 02 00 28 0F 0F 28"
    )


def test_emulator_sends_its_table_back(running: RunningMassaKLabelScale) -> None:
    plus = assortment(3)
    with MassaKLabelScale(running.host, running.port) as driver:
        driver.write(plus)
    with socket.create_connection((running.host, running.port), timeout=1) as sock:
        for num, plu in enumerate(plus, 1):
            sock.sendall(frames.encode_body(codec.req_ufile(FileType.PLU, num).body))
            got = codec.parse_file_record(frames.decode(read_frame(sock)))
            assert (got.file_type, got.nums, got.num, got.length) == (1, 3, num, len(got.record))
            assert codec.plu_of(codec.decode_plu(got.record)) == codec.fit(plu)
        sock.sendall(frames.encode_body(codec.req_ufile(FileType.PLU, 4).body))
        assert read_frame(sock) == frames.encode_body(codec.err_ufile(1, 4).body)
