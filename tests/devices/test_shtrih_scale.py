"""The Shtrih-Print driver against its emulator on a real UDP socket (and against a scripted scale where
the order of datagrams must be exact): uploads by blocks, per-PLU refusals, deleting, clearing, the
barcode settings, errors, lost and late datagrams, persistence, and the label a written PLU prints."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from osuite.core.barcodes import DEFAULT_TEMPLATES
from osuite.core.money import line_amount
from osuite.devices import shtrih_codec as codec
from osuite.devices.labelscale import Capability, LabelScale, LabelScaleError, Plu, ScaleErrorCode
from osuite.devices.shtrih import ShtrihScale
from osuite.devices.shtrih_emulator import RunningShtrihScale, ShtrihEmulator, start_shtrih_emulator
from tests.devices.test_shtrih_codec import accepted_plus

WEIGHT, PRICE, COUNT = DEFAULT_TEMPLATES


def catalog(count: int, start: int = 1) -> list[Plu]:
    kinds = ("Колбаса докторская вареная", "Сыр «Российский» 50%", "Батон нарезной", "Яблоки Голден")
    return [
        Plu(
            number=n,
            item_code=10_000 + n,
            name=f"{kinds[n % 4]} №{n}",
            price=100 + 37 * n,
            weighted=n % 4 != 2,
            shelf_life_days=n % 30,
            tare_grams=n % 7,
        )
        for n in range(start, start + count)
    ]


@pytest.fixture
def scale() -> Iterator[RunningShtrihScale]:
    with start_shtrih_emulator() as running:
        yield running


@pytest.fixture
def driver(scale: RunningShtrihScale) -> Iterator[ShtrihScale]:
    with ShtrihScale("127.0.0.1", scale.port, timeout=1.0) as opened:
        yield opened


def test_the_driver_is_a_label_scale(driver: ShtrihScale) -> None:
    speaking: LabelScale = driver
    assert speaking.capabilities == {
        Capability.PLU_WRITE,
        Capability.PLU_DELETE,
        Capability.CLEAR,
        Capability.BARCODE_FORMAT,
        Capability.STATUS,
    }


def test_500_plus_go_by_blocks_and_read_back(scale: RunningShtrihScale, driver: ShtrihScale) -> None:
    plus = catalog(500)
    results = driver.write(plus)
    assert [(r.number, r.ok, r.message) for r in results] == [(p.number, True, "") for p in plus]
    assert scale.memory.table() == {p.number: p for p in plus}
    assert codec.Command.WRITE_PLU not in scale.emulator.received
    assert scale.emulator.received[codec.Command.WRITE_BLOCK] >= 84  # 83 blocks of 6 and one of 2
    assert driver.read(1) == plus[0]
    assert driver.read(500) == plus[-1]
    assert driver.read(501) is None


def test_delete_and_clear(scale: RunningShtrihScale, driver: ShtrihScale) -> None:
    driver.write(catalog(20))
    results = driver.delete([3, 4, 4, 99, 20_000, 70_000])
    assert [(r.number, r.ok) for r in results] == [
        (3, True),
        (4, True),
        (4, True),  # already empty: the cell is empty as asked
        (99, True),
        (20_000, False),  # beyond the table
        (70_000, False),  # beyond the field
    ]
    assert "неверный номер ПЛУ (код 128)" in results[4].message
    assert sorted(scale.memory.table()) == [n for n in range(1, 21) if n not in (3, 4)]
    driver.clear()
    assert scale.memory.table() == {}


def test_clear_waits_until_the_scale_has_finished() -> None:
    with start_shtrih_emulator(clear_seconds=0.2) as scale, ShtrihScale("127.0.0.1", scale.port) as driver:
        driver.write(catalog(10))
        started = time.monotonic()
        driver.clear()
        assert time.monotonic() - started >= 0.2
        assert scale.emulator.received[codec.Command.MODE] >= 2  # asked how far it got
        assert scale.memory.table() == {}
        assert driver.write(catalog(1))[0].ok


def test_refusals_are_per_plu(driver: ShtrihScale, scale: RunningShtrihScale) -> None:
    scale.emulator.table_size = 100
    plus = catalog(8, start=95)  # 101 and 102 are beyond the table
    plus[1] = Plu(96, 1, "Дорогой товар", 1_000_000)  # a price the field cannot hold: never sent
    results = driver.write(plus)
    assert [r.ok for r in results] == [True, False, True, True, True, True, False, False]
    assert results[1].message == "цена 1000000 коп. вне 0…999999"
    assert results[6].message == "неверный номер ПЛУ (код 128)"
    assert sorted(scale.memory.table()) == [95, 97, 98, 99, 100]
    # 95, 97–101 and then 102 went as two blocks, both refused whole; then their records one by one
    # (a copy more when the machine is so slow that the driver sends one again)
    assert scale.emulator.received[codec.Command.WRITE_BLOCK] >= 2
    assert scale.emulator.received[codec.Command.WRITE_PLU] >= 7


def test_a_long_name_is_cut_and_said(driver: ShtrihScale, scale: RunningShtrihScale) -> None:
    name = "Колбаса сырокопчёная «Московская» высшего сорта в натуральной оболочке"
    plu = Plu(7, 7007, name, 99_900)
    (result,) = driver.write([plu])
    assert result.ok
    assert result.message == f"название записано как «{name[:56]}»"  # one byte a letter in CP1251
    assert scale.memory.table()[7].name == name[:56]


def test_the_label_format_reaches_the_scale(driver: ShtrihScale, scale: RunningShtrihScale) -> None:
    results = driver.write(
        [Plu(1, 1001, "Сыр", 45_990, label_format=3), Plu(2, 1002, "Хлеб", 5_000, label_format=16)]
    )
    assert [r.ok for r in results] == [True, False]
    assert results[1].message == "формат этикетки 16 вне 0…15"
    assert scale.memory.table()[1].label_format == 3
    assert driver.read(1) == Plu(1, 1001, "Сыр", 45_990, label_format=3)


def test_what_the_driver_does_not_write_is_said(driver: ShtrihScale, scale: RunningShtrihScale) -> None:
    (result,) = driver.write([Plu(8, 808, "Салат", 15_000, ingredients="капуста, морковь", hotkey=3)])
    assert result.ok
    assert result.message == (
        "состав не записан: этот драйвер не пишет сообщения (52h); "
        "клавиша не назначена: этот драйвер не пишет быстрые клавиши"
    )
    assert scale.memory.table()[8] == Plu(8, 808, "Салат", 15_000)


def test_a_scale_without_the_block_command_gets_single_records() -> None:
    class OldScale(ShtrihEmulator):
        def _run(self, command: int, data: bytes) -> tuple[int, bytes]:
            if command == codec.Command.WRITE_BLOCK:
                return codec.Error.UNKNOWN_COMMAND, b""
            return super()._run(command, data)

    old = OldScale()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.05)
    with RunningShtrihScale(old, sock) as scale, ShtrihScale("127.0.0.1", scale.port) as driver:
        plus = catalog(13)
        assert all(r.ok for r in driver.write(plus))
        assert all(r.ok for r in driver.write(plus))
        assert scale.memory.table() == {p.number: p for p in plus}
        assert old.received[codec.Command.WRITE_PLU] >= 26
        assert old.received[codec.Command.WRITE_BLOCK] < 3  # not asked again once it said it does not know it


def test_wrong_password_is_refused_clearly(scale: RunningShtrihScale) -> None:
    with (
        ShtrihScale("127.0.0.1", scale.port, password="1234") as driver,
        pytest.raises(LabelScaleError) as caught,
    ):
        driver.write(catalog(3))
    assert caught.value.code is ScaleErrorCode.REFUSED
    assert not caught.value.retry
    assert "неверный пароль (код 122)" in caught.value.message
    assert "пароль администратора" in caught.value.message
    assert scale.memory.table() == {}
    with pytest.raises(ValueError, match="four digits"):
        ShtrihScale("127.0.0.1", scale.port, password="12345")


def test_another_password() -> None:
    with (
        start_shtrih_emulator(password="4321") as scale,
        ShtrihScale("127.0.0.1", scale.port, password="4321") as driver,
    ):
        assert driver.write(catalog(2))[1].ok


def test_busy_scale(scale: RunningShtrihScale, driver: ShtrihScale) -> None:
    scale.busy = True
    with pytest.raises(LabelScaleError) as caught:
        driver.write(catalog(3))
    assert caught.value.code is ScaleErrorCode.BUSY
    assert caught.value.retry
    assert "код 123" in caught.value.message
    for call in (lambda: driver.delete([1]), driver.clear, lambda: driver.set_barcode(WEIGHT)):
        with pytest.raises(LabelScaleError) as caught:
            call()
        assert caught.value.code is ScaleErrorCode.BUSY
    status = driver.status()
    assert status.online
    assert status.busy
    assert "открыто системное меню" in status.message
    scale.busy = False
    assert all(r.ok for r in driver.write(catalog(3)))
    assert not driver.status().busy


def test_status(driver: ShtrihScale) -> None:
    status = driver.status()
    assert status.online
    assert not status.busy
    assert status.message == "ШТРИХ-ПРИНТ М, ПО 1.6, таблица на 10000 ПЛУ"


def test_emulator_down_is_unreachable_at_once() -> None:
    with start_shtrih_emulator() as scale:
        port = scale.port
    with ShtrihScale("127.0.0.1", port, timeout=2.0) as driver:
        started = time.monotonic()
        with pytest.raises(LabelScaleError) as caught:
            driver.write(catalog(1))
        assert caught.value.code is ScaleErrorCode.UNREACHABLE
        assert caught.value.retry
        assert time.monotonic() - started < 2.0


def test_a_silent_host_is_unreachable_within_the_timeout() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        with ShtrihScale("127.0.0.1", silent.getsockname()[1], timeout=0.4) as driver:
            started = time.monotonic()
            with pytest.raises(LabelScaleError) as caught:
                driver.status()
            took = time.monotonic() - started
        heard = 0
        silent.settimeout(0.1)
        with pytest.raises(TimeoutError):
            while True:
                silent.recv(100)
                heard += 1
    assert caught.value.code is ScaleErrorCode.UNREACHABLE
    assert "не ответили за 0.4 с" in caught.value.message
    assert 0.4 <= took < 0.6
    assert heard >= 2  # sent again before giving up


def test_the_scale_coming_back(scale: RunningShtrihScale) -> None:
    port = scale.port
    scale.stop()
    with ShtrihScale("127.0.0.1", port, timeout=0.5) as driver:
        with pytest.raises(LabelScaleError):
            driver.status()
        with start_shtrih_emulator(port=port) as back:
            assert driver.write(catalog(2))[0].ok
            assert len(back.memory.table()) == 2


@pytest.mark.parametrize(("drop_every", "delay_every"), [(7, 0), (5, 0), (9, 4)])
def test_lost_and_late_datagrams_still_write_every_plu_exactly(drop_every: int, delay_every: int) -> None:
    with start_shtrih_emulator() as scale, ShtrihScale("127.0.0.1", scale.port, timeout=2.0) as driver:
        driver.status()  # the round trip is measured
        scale.emulator.drop_every = drop_every
        scale.emulator.delay_every = delay_every
        scale.emulator.delay = 0.05
        plus = catalog(500)
        results = driver.write(plus)
        assert all(r.ok for r in results)
        assert scale.memory.table() == {p.number: p for p in plus}
        changed = [Plu(p.number, p.item_code, p.name.upper(), p.price + 1) for p in plus[::10]]
        assert all(r.ok for r in driver.write(changed))
        gone = [p.number for p in plus[5::25]]
        assert all(r.ok for r in driver.delete(gone))
        expected = {p.number: p for p in plus} | {p.number: p for p in changed}
        for number in gone:
            del expected[number]
        assert scale.memory.table() == expected
        lost = scale.emulator.datagrams // drop_every
        assert lost > 20
        assert scale.emulator.received[codec.Command.WRITE_BLOCK] > 84 + 9  # some blocks went twice


# --- a scripted scale: the order of datagrams exactly -----------------------------------------------


class ScriptedScale:
    """A UDP peer that answers the n-th datagram as ``script(n, raw)`` says: a list of (delay, reply)."""

    def __init__(self, script: Callable[[int, bytes], list[tuple[float, bytes]]]) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port: int = self.sock.getsockname()[1]
        self.heard: list[bytes] = []
        self._script = script
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                raw, peer = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            self.heard.append(raw)
            for delay, reply in self._script(len(self.heard), raw):
                timer = threading.Timer(delay, self.sock.sendto, (reply, peer))
                timer.daemon = True
                timer.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        time.sleep(0.2)  # the late replies still pending
        self.sock.close()


def test_a_late_answer_is_not_taken_for_the_next_commands() -> None:
    ok = codec.answer(codec.Command.WRITE_BLOCK, 0)

    def script(n: int, raw: bytes) -> list[tuple[float, bytes]]:
        if n == 1:
            return [(0.12, ok)]  # block A, first copy: answered late, after the driver sent A again
        if n == 3:
            return []  # block B, first copy: lost on its way, never run
        return [(0.0, ok)]

    scripted = ScriptedScale(script)
    try:
        with ShtrihScale("127.0.0.1", scripted.port, timeout=0.4) as driver:  # resends after 0.1 s
            results = driver.write(catalog(12))
        assert all(r.ok for r in results)
        blocks = [codec.block_records(codec.decode(raw).data[4:]) for raw in scripted.heard]
        firsts = [records[0].number if records else None for records in blocks]
        # A, A again, B (lost), B again: the late answer to A's first copy came while the driver
        # waited for B, and it did not pass for B's.
        assert firsts == [1, 1, 7, 7]
    finally:
        scripted.close()


@pytest.mark.parametrize(
    ("reply", "code", "words"),
    [
        (bytes((codec.BUSY,)), ScaleErrorCode.BUSY, "другой компьютер"),
        (bytes((codec.NAK,)), ScaleErrorCode.BAD_FRAME, "NAK"),
        (bytes.fromhex("02 09 11 00"), ScaleErrorCode.BAD_FRAME, "Len 9"),
        (codec.answer(codec.Command.STATUS, 0, b"\x00" * 10), ScaleErrorCode.BAD_FRAME, "72 bytes"),
        (codec.answer(codec.Command.STATUS, 126), ScaleErrorCode.REFUSED, "только для чтения (код 126)"),
    ],
)
def test_answers_that_break_the_protocol(reply: bytes, code: ScaleErrorCode, words: str) -> None:
    scripted = ScriptedScale(lambda _n, _raw: [(0.0, reply)])
    try:
        with (
            ShtrihScale("127.0.0.1", scripted.port, timeout=0.3) as driver,
            pytest.raises(LabelScaleError) as caught,
        ):
            driver.status()
        assert caught.value.code is code
        assert words in caught.value.message
    finally:
        scripted.close()


def test_answers_of_other_commands_are_passed_over() -> None:
    def script(n: int, raw: bytes) -> list[tuple[float, bytes]]:
        command = codec.decode(raw).command
        return [(0.0, codec.answer(codec.Command.STATUS, 0, b"\x00" * 72)), (0.0, codec.answer(command, 0))]

    scripted = ScriptedScale(script)
    try:
        with ShtrihScale("127.0.0.1", scripted.port, timeout=0.5) as driver:
            results = driver.delete([5, 6])
        assert [(r.number, r.ok) for r in results] == [(5, True), (6, True)]
        assert len(scripted.heard) == 2  # each sent once: the state answers before them were passed over
    finally:
        scripted.close()


# --- the emulator on the wire ---------------------------------------------------------------------


def exchange(scale: RunningShtrihScale, raw: bytes) -> bytes:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(1.0)
        sock.sendto(raw, ("127.0.0.1", scale.port))
        return sock.recv(65535)


PASSWORD = "30 30 33 30"


@pytest.mark.parametrize(
    ("request_hex", "answer_hex"),
    [
        ("05", "15"),  # ENQ: nothing to send, waiting for a command (NAK)
        ("04 01 11", "15"),  # not STX: no frame
        ("02 05 11", "15"),  # Len 5, one byte follows
        ("02 01 99", "02 02 99 78"),  # unknown command: 120
        ("02 02 11 00", "02 02 11 79"),  # 11h takes no data: 121
        ("02 05 18 30 30 30 30", "02 02 18 7A"),  # wrong password: 122
        (f"02 07 54 {PASSWORD} 00 00", "02 02 54 80"),  # PLU 0: 128
        (f"02 07 54 {PASSWORD} 11 27", "02 02 54 80"),  # PLU 10001 = 2711h, beyond the table: 128
        (f"02 07 58 {PASSWORD} 01 00", "02 02 58 8C"),  # reading an empty PLU: 140
        (f"02 06 75 {PASSWORD} 0F", "02 02 75 72"),  # structure 15: 114
        (f"02 06 73 {PASSWORD} 04", "02 02 73 6A"),  # prefix type 4: 106
        (f"02 07 77 {PASSWORD} 15 15", "02 02 77 64"),  # the same prefix twice: 100
        (f"02 07 77 {PASSWORD} 64 15", "02 02 77 6F"),  # weight prefix 100: 111
        (f"02 FF 55 {PASSWORD} 02", "02 02 55 79"),  # two records announced, none carried: 121
        (f"02 05 76 {PASSWORD}", "02 04 76 00 14 15"),  # prefixes 20 and 21
        (f"02 05 74 {PASSWORD}", "02 03 74 00 07"),  # structure 7
        ("02 01 12", "02 05 12 00 00 00 00"),  # mode 0, sub-mode 0
    ],
)
def test_emulator_answers_exact_bytes(scale: RunningShtrihScale, request_hex: str, answer_hex: str) -> None:
    assert exchange(scale, bytes.fromhex(request_hex)) == bytes.fromhex(answer_hex)


def test_emulator_refuses_out_of_range_fields(scale: RunningShtrihScale) -> None:
    good = bytearray.fromhex(CHEESE_FRAME)
    assert exchange(scale, bytes(good)) == bytes.fromhex("02 02 57 00")
    price = bytearray(good)
    price[7 + 62 : 7 + 65] = (1_000_000).to_bytes(3, "little")  # the price field, 62 bytes into the record
    assert exchange(scale, bytes(price)) == bytes.fromhex("02 02 57 83")  # 131
    shelf = bytearray(good)
    shelf[7 + 66 : 7 + 68] = (10_000).to_bytes(2, "little")
    assert exchange(scale, bytes(shelf)) == bytes.fromhex("02 02 57 84")  # 132
    item = bytearray(good)
    item[7 + 2 : 7 + 6] = bytes(4)
    assert exchange(scale, bytes(item)) == bytes.fromhex("02 02 57 82")  # 130
    date = bytearray(good)
    date[7 + 79 : 7 + 82] = bytes((30, 2, 24))
    assert exchange(scale, bytes(date)) == bytes.fromhex("02 02 57 8E")  # 142
    short = bytes(good[:-1])
    short = short[:1] + bytes((short[1] - 1,)) + short[2:]
    assert exchange(scale, short) == bytes.fromhex("02 02 57 79")  # a record a byte short: 121
    assert list(scale.memory.table()) == [1]
    assert exchange(scale, bytes.fromhex(f"02 07 58 {PASSWORD} 01 00"))[:4] == bytes.fromhex("02 52 58 00")


def test_a_block_with_a_bad_record_writes_nothing(scale: RunningShtrihScale) -> None:
    good = codec.pack_record(codec.record_of(Plu(1, 1, "a", 1)))
    bad = codec.pack_record(codec.record_of(Plu(2, 1, "b", 1, tare_grams=10_000)))
    assert exchange(scale, codec.write_block(b"0030", [good, bad])) == bytes.fromhex("02 02 55 85")  # 133
    assert scale.memory.table() == {}


CHEESE_FRAME = (
    f"02 57 57 {PASSWORD} 01 00 E9 03 00 00 D1 FB F0 20 D0 EE F1 F1 E8 E9 F1 EA E8 E9"
    + " 00" * 42
    + " A6 B3 00 00 1E 00 05 00 00 00 00 00 00 20 20 20 20 00 00 00"
)


def test_emulator_keeps_what_a_frame_says(scale: RunningShtrihScale) -> None:
    assert exchange(scale, bytes.fromhex(CHEESE_FRAME)) == bytes.fromhex("02 02 57 00")
    assert scale.memory.table() == {
        1: Plu(number=1, item_code=1001, name="Сыр Российский", price=45990, shelf_life_days=30, tare_grams=5)
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plu=accepted_plus)
def test_any_accepted_plu_is_kept_as_sent(plu: Plu) -> None:
    with start_shtrih_emulator(table_size=0xFFFF) as scale, ShtrihScale("127.0.0.1", scale.port) as driver:
        (result,) = driver.write([plu])
        assert result.ok
        assert scale.memory.table() == {plu.number: plu}
        assert driver.read(plu.number) == plu


# --- the barcode, persistence ---------------------------------------------------------------------


def test_the_label_of_a_written_plu_sells_at_its_weight(
    scale: RunningShtrihScale, driver: ShtrihScale
) -> None:
    driver.set_barcode(WEIGHT)
    assert (scale.emulator.structure, scale.emulator.prefix_type, scale.emulator.weight_prefix) == (7, 2, 21)
    assert scale.emulator.piece_prefix != 21
    driver.write([Plu(12, 4321, "Сыр Гауда", 79_900)])
    code = scale.memory.label(12, grams=1234)
    # 21 | item 04321 | 01234 g | check: digits 2 1 0 4 3 2 1 0 1 2 3 4 weighted 1 3 1 3 … from the left
    # give 2+3+0+12+3+6+1+0+1+6+3+12 = 49, so 1
    assert code == "2104321012341"
    read = WEIGHT.parse(code)
    assert (read.item_code, read.weight) == ("04321", Decimal("1.234"))


def test_the_label_of_a_written_plu_sells_at_its_price(
    scale: RunningShtrihScale, driver: ShtrihScale
) -> None:
    driver.set_barcode(PRICE)
    assert (scale.emulator.structure, scale.emulator.weight_prefix) == (4, 22)
    driver.write([Plu(3, 555, "Колбаса", 54_990)])
    read = PRICE.parse(scale.memory.label(3, grams=450))
    assert (read.item_code, read.price) == ("00555", line_amount(54_990, Decimal("0.45")))


def test_a_count_template_is_not_for_this_scale(driver: ShtrihScale, scale: RunningShtrihScale) -> None:
    with pytest.raises(LabelScaleError) as caught:
        driver.set_barcode(COUNT)
    assert caught.value.code is ScaleErrorCode.UNSUPPORTED
    assert "'count'" in caught.value.message
    assert scale.emulator.received == {}


def test_the_scale_keeps_its_plus_and_settings_across_a_restart(tmp_path: Path) -> None:
    plus = catalog(30)
    with start_shtrih_emulator(folder=tmp_path) as scale, ShtrihScale("127.0.0.1", scale.port) as driver:
        driver.set_barcode(WEIGHT)
        driver.write(plus)
        driver.delete([30])
        port = scale.port
    with start_shtrih_emulator(port=port, folder=tmp_path) as again, ShtrihScale("127.0.0.1", port) as driver:
        assert again.memory.table() == {p.number: p for p in plus[:-1]}
        assert again.memory.template == codec.template_for(7, 21)
        assert (again.emulator.structure, again.emulator.weight_prefix) == (7, 21)
        assert driver.read(29) == plus[28]
        assert WEIGHT.parse(again.memory.label(5, grams=500)).item_code == "10005"


def test_running_emulator_face(scale: RunningShtrihScale) -> None:
    assert scale.address == f"127.0.0.1:{scale.port}"
    assert not scale.busy
    scale.busy = True
    assert scale.emulator.busy
