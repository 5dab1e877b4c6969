"""The CAS CL-series driver (osuite.devices.cas) against its emulator on a real TCP socket: PLUs written,
deleted and cleared, the barcode format and the labels it prints, speed keys and label formats, a busy or
absent scale, broken frames refused and reported, and a table that survives the emulator's restart."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from osuite.core.barcodes import DEFAULT_TEMPLATES, BarcodeTemplate
from osuite.core.money import line_amount
from osuite.devices import cas_codec as codec
from osuite.devices.cas import CasScale
from osuite.devices.cas_emulator import RunningCasScale, start_cas_emulator
from osuite.devices.labelscale import Capability, LabelScale, LabelScaleError, Plu, ScaleErrorCode

WEIGHT, PRICE, COUNT = DEFAULT_TEMPLATES


@pytest.fixture
def emulator() -> Iterator[RunningCasScale]:
    with start_cas_emulator() as running:
        yield running


@pytest.fixture
def scale(emulator: RunningCasScale) -> Iterator[CasScale]:
    with CasScale("127.0.0.1", emulator.port, timeout=2.0) as driver:
        yield driver


def catalog(count: int, seed: int = 6) -> list[Plu]:
    """PLUs as a store has them: Cyrillic names, some long, weighed and by the piece, with tare,
    shelf life and ingredients."""
    rng = random.Random(seed)
    words = ["Колбаса", "докторская", "Сыр", "российский", "Хлеб", "бородинский", "Яблоки", "Гала", "ёмкость"]
    plus = []
    for number in range(1, count + 1):
        name = " ".join(rng.choice(words) for _ in range(rng.randint(1, 7)))
        plus.append(
            Plu(
                number=number,
                item_code=rng.randint(0, 99_999),
                name=name,
                price=rng.randint(0, 9_999_999),
                weighted=rng.random() < 0.7,
                shelf_life_days=rng.choice([0, 1, 5, 30]),
                tare_grams=rng.choice([0, 0, 15, 120]),
                ingredients=rng.choice(["", "мука, вода, соль", "молоко нормализованное, закваска"]),
            )
        )
    return plus


def as_printed(plu: Plu) -> Plu:
    """The PLU the scale holds: its name as the two name lines print it."""
    first, second, _ = codec.split_name(plu.name)
    return Plu(
        number=plu.number,
        item_code=plu.item_code,
        name=codec.join_name(first, second),
        price=plu.price,
        weighted=plu.weighted,
        shelf_life_days=plu.shelf_life_days,
        tare_grams=plu.tare_grams,
        ingredients=plu.ingredients,
    )


def test_it_is_a_label_scale(scale: CasScale) -> None:
    driver: LabelScale = scale
    assert {Capability.PLU_WRITE, Capability.CLEAR, Capability.BARCODE_FORMAT} <= driver.capabilities
    assert Capability.HOTKEYS in driver.capabilities


def test_write_500_plus_and_read_the_table_back(emulator: RunningCasScale, scale: CasScale) -> None:
    plus = catalog(500)
    results = scale.write(plus)
    assert [r.number for r in results] == [p.number for p in plus]
    assert all(r.ok for r in results), [r for r in results if not r.ok][:3]
    table = emulator.memory.table()
    assert table == {p.number: as_printed(p) for p in plus}
    wrapped = [r for r, p in zip(results, plus, strict=True) if len(p.name) > 40]
    assert wrapped and all("две строки" in r.message for r in wrapped)
    assert all(r.message == "" for r, p in zip(results, plus, strict=True) if len(p.name) <= 40)


def test_writes_go_one_at_a_time_too(emulator: RunningCasScale) -> None:
    with CasScale("127.0.0.1", emulator.port, window_bytes=0) as driver:
        assert all(r.ok for r in driver.write(catalog(30)))
    assert len(emulator.memory.table()) == 30


def test_delete_and_clear(emulator: RunningCasScale, scale: CasScale) -> None:
    scale.write(catalog(20))
    results = scale.delete([3, 5, 999_999, 0])
    assert [(r.number, r.ok) for r in results] == [(3, True), (5, True), (999_999, True), (0, False)]
    assert results[2].message == "его и так не было на весах"
    assert "номер PLU 0 вне 1…999999" in results[3].message
    assert sorted(emulator.memory.table()) == [n for n in range(1, 21) if n not in (3, 5)]
    scale.clear()
    assert emulator.memory.table() == {}
    assert scale.write([]) == [] and scale.delete([]) == []


def test_a_plu_the_scale_cannot_take_is_refused_and_the_rest_written(
    emulator: RunningCasScale, scale: CasScale
) -> None:
    good = Plu(number=1, item_code=1, name="Сыр", price=45990)
    expensive = Plu(number=2, item_code=2, name="Икра", price=10_000_000)
    unnumbered = Plu(number=1_000_000, item_code=3, name="Соль", price=100)
    results = scale.write([good, expensive, unnumbered])
    assert [r.ok for r in results] == [True, False, False]
    assert results[1].message == "не отправлен: цена 10000000 вне 0…9999999"
    assert results[2].message == "не отправлен: номер PLU 1000000 вне 1…999999"
    assert emulator.memory.table() == {1: good}


def test_the_scale_refusing_is_reported_per_plu(scale: CasScale) -> None:
    with start_cas_emulator(capacity=2) as small, CasScale("127.0.0.1", small.port) as driver:
        results = driver.write(catalog(3))
        assert [r.ok for r in results] == [True, True, False]
        assert results[2].message == "весы отказали: память PLU заполнена (код 89)"


def test_the_barcode_a_label_carries_sells_at_the_right_weight(
    emulator: RunningCasScale, scale: CasScale
) -> None:
    scale.set_barcode(WEIGHT)
    assert emulator.emulator.barcodes[1].format == "21IIIIIWWWWWC"
    scale.write([Plu(number=12, item_code=4201, name="Колбаса", price=45990)])
    code = emulator.memory.label(12, grams=1234)
    read = WEIGHT.parse(code)
    assert (read.item_code, read.weight) == ("04201", Decimal("1.234"))


def test_the_barcode_a_label_carries_sells_at_the_right_price_or_count(
    emulator: RunningCasScale, scale: CasScale
) -> None:
    scale.set_barcode(PRICE)
    scale.write([Plu(number=12, item_code=77, name="Колбаса", price=45990)])
    read = PRICE.parse(emulator.memory.label(12, grams=1234))
    assert (read.item_code, read.price) == ("00077", line_amount(45990, Decimal("1.234")))
    scale.set_barcode(COUNT)
    scale.write([Plu(number=13, item_code=78, name="Булка", price=3500, weighted=False)])
    read = COUNT.parse(emulator.memory.label(13, count=3))
    assert (read.item_code, read.count) == ("00078", 3)


def test_a_template_the_scale_cannot_print_is_unsupported(scale: CasScale) -> None:
    tens = BarcodeTemplate(
        name="tens",
        prefixes=["20"],
        kind="weight",
        item_start=2,
        item_length=5,
        value_start=7,
        value_length=5,
        value_decimals=2,
    )
    with pytest.raises(LabelScaleError) as caught:
        scale.set_barcode(tens)
    assert caught.value.code == ScaleErrorCode.UNSUPPORTED
    assert "3" in caught.value.message


def test_an_item_code_longer_than_the_barcodes_digits_is_refused(scale: CasScale) -> None:
    scale.set_barcode(WEIGHT)
    (result,) = scale.write([Plu(number=1, item_code=123_456, name="a", price=1)])
    assert not result.ok
    assert result.message == "не отправлен: код товара 123456 не помещается в 5 цифр штрихкода «weight»"


def test_speed_keys_are_set_whole_and_only_when_they_change(
    emulator: RunningCasScale, scale: CasScale
) -> None:
    scale.write(catalog(3))
    scale.set_hotkeys({1: 1, 2: 2, 7: 3})
    assert emulator.memory.key_table(1)[:8] == (1, 2, 0, 0, 0, 0, 3, 0)
    answered = emulator.emulator.frames
    scale.set_hotkeys({1: 1, 2: 2, 7: 3})  # the scale holds them already: read, not written again
    assert emulator.emulator.frames == answered + 1
    scale.set_hotkeys({2: 2})  # keys not named are emptied
    assert emulator.memory.key_table(1) == (0, 2, *codec.NO_KEYS[2:])
    scale.set_hotkeys({})
    assert emulator.memory.key_table(1) == codec.NO_KEYS


def test_a_key_beyond_the_scales_is_said_on_its_plu_and_left_out(
    emulator: RunningCasScale, scale: CasScale
) -> None:
    (result,) = scale.write([Plu(number=200, item_code=1, name="Сыр", price=45990, hotkey=200)])
    assert result.ok and result.message == "клавиша 200 не назначена: у весов CAS клавиши 1…144"
    scale.set_hotkeys({200: 200, 1: 200})
    assert emulator.memory.key_table(1) == (200, *codec.NO_KEYS[1:])
    with pytest.raises(LabelScaleError) as caught:
        scale.set_hotkeys({1: 0})
    assert caught.value.code == ScaleErrorCode.UNSUPPORTED and "номер PLU 0" in caught.value.message


def test_a_firmware_without_speed_keys_is_left_alone_unless_keys_are_wanted(
    emulator: RunningCasScale, scale: CasScale, monkeypatch: pytest.MonkeyPatch
) -> None:
    unknown = codec.refusal(codec.SPEED_KEYS, 0, 1, codec.ErrorCode.INTERPRETER)
    monkeypatch.setattr(emulator.emulator, "_read_keys", lambda _data: unknown)
    scale.set_hotkeys({})
    with pytest.raises(LabelScaleError) as caught:
        scale.set_hotkeys({1: 1})
    assert (
        caught.value.code == ScaleErrorCode.UNSUPPORTED and "не знают быстрых клавиш" in caught.value.message
    )


def test_the_label_format_reaches_the_scale(emulator: RunningCasScale, scale: CasScale) -> None:
    results = scale.write(
        [
            Plu(number=1, item_code=1, name="Сыр", price=45990, label_format=7),
            Plu(number=2, item_code=2, name="Хлеб", price=5000, label_format=100),
        ]
    )
    assert [r.ok for r in results] == [True, False]
    assert results[1].message == "не отправлен: формат этикетки 100 вне 0…99"
    assert emulator.memory.table()[1].label_format == 7


def test_status(scale: CasScale) -> None:
    status = scale.status()
    assert status.online and not status.busy
    assert status.message == "0.000 кг, пусто, стабильно; знаков веса 3, цены 2; PLU не вызван"


def test_busy_scale_raises_busy_and_a_retry_succeeds(emulator: RunningCasScale) -> None:
    with CasScale("127.0.0.1", emulator.port, timeout=0.3) as driver:
        driver.write(catalog(2))
        emulator.busy = True
        with pytest.raises(LabelScaleError) as caught:
            driver.write(catalog(5))
        assert caught.value.code == ScaleErrorCode.BUSY and caught.value.retry
        assert "заняты" in caught.value.message
        status = driver.status()
        assert status.online and status.busy
        emulator.busy = False
        assert all(r.ok for r in driver.write(catalog(5)))
    assert len(emulator.memory.table()) == 5


def test_an_absent_scale_is_unreachable() -> None:
    with start_cas_emulator() as running:
        port = running.port
    with CasScale("127.0.0.1", port, timeout=0.5) as driver:
        with pytest.raises(LabelScaleError) as caught:
            driver.write(catalog(1))
        assert caught.value.code == ScaleErrorCode.UNREACHABLE and caught.value.retry
        assert f"127.0.0.1:{port}" in caught.value.message
        status = driver.status()
        assert not status.online


def test_a_scale_that_restarted_is_reconnected_to(tmp_path: Path) -> None:
    with start_cas_emulator(folder=tmp_path) as first:
        port = first.port
        driver = CasScale("127.0.0.1", port)
        assert driver.write(catalog(1))[0].ok
    with start_cas_emulator(port=port, folder=tmp_path) as second:
        assert all(r.ok for r in driver.write(catalog(2)))  # the dropped connection is opened again
        assert sorted(second.memory.table()) == [1, 2]
    driver.close()


def test_the_table_and_barcode_survive_a_restart(tmp_path: Path) -> None:
    plus = catalog(25)
    with start_cas_emulator(folder=tmp_path) as running, CasScale("127.0.0.1", running.port) as driver:
        driver.set_barcode(WEIGHT)
        driver.write(plus)
        driver.delete([1])
        driver.set_hotkeys({1: 2})
    with start_cas_emulator(folder=tmp_path) as again, CasScale("127.0.0.1", again.port) as driver:
        assert again.memory.table() == {p.number: as_printed(p) for p in plus[1:]}
        assert again.memory.key_table(1)[:2] == (2, 0)
        assert again.memory.template is not None
        assert WEIGHT.parse(again.memory.label(2, grams=500)).weight == Decimal("0.500")
        # The restarted scale still counts what it holds: deleting works, and so does clearing.
        assert driver.delete([2])[0].message == ""
        driver.clear()
        assert again.memory.table() == {}


# --- broken frames: refused by the scale, reported by the driver ----------------------------------------


def test_a_bad_checksum_is_refused_and_reported(scale: CasScale) -> None:
    frame = bytearray(codec.plu_frame(Plu(7, 7, "Сыр", 100), address=1)[0])
    frame[-2] ^= 0xFF
    (answer,) = scale.exchange([bytes(frame)])
    refusal = codec.parse_answer(answer)
    assert (refusal.ok, refusal.code, refusal.number) == (False, 84, 1_000_007)
    assert scale.describe(refusal) == (
        "весы отказали: кадр принят с ошибкой (заголовок, хвост или контрольная сумма) (код 84)"
    )


def test_a_truncated_frame_is_refused_and_reported(scale: CasScale) -> None:
    frame = codec.plu_frame(Plu(7, 7, "Сыр", 100), address=1)[0]
    (answer,) = scale.exchange([frame[:-20]])
    assert scale.describe(codec.parse_answer(answer)).endswith("(код 84)")


def test_an_out_of_range_field_is_refused_and_reported(emulator: RunningCasScale, scale: CasScale) -> None:
    record = codec.PluRecord(department=1, number=9, type=1, name1="Соль", unit_weight=0, barcode=1)
    (answer,) = scale.exchange([codec.write_plu(1, codec.encode_record(record))])
    refusal = codec.parse_answer(answer)
    assert scale.describe(refusal) == "весы отказали: данные неверного размера или вида (код 97)"
    record = codec.PluRecord(department=0, number=9, type=1, name1="Соль", barcode=1)
    (answer,) = scale.exchange([codec.write_plu(1, codec.encode_record(record))])
    assert scale.describe(codec.parse_answer(answer)) == (
        "весы отказали: номер вне допустимого диапазона (код 82); PLU 1…999999, отдел 1…99"
    )
    assert emulator.memory.table() == {}


def break_plu(monkeypatch: pytest.MonkeyPatch, number: int, damage: Callable[[bytes], bytes]) -> None:
    """Make the driver send PLU ``number``'s frame damaged, as a bad line would."""
    real = codec.plu_frame

    def damaged(plu: Plu, **kwargs: int) -> tuple[bytes, str]:
        frame, note = real(plu, **kwargs)
        return (damage(frame) if plu.number == number else frame), note

    monkeypatch.setattr(codec, "plu_frame", damaged)  # the module the driver reads it from


def test_a_frame_damaged_on_the_way_fails_the_write_as_bad_frame(
    monkeypatch: pytest.MonkeyPatch, emulator: RunningCasScale, scale: CasScale
) -> None:
    break_plu(monkeypatch, 3, lambda frame: frame[:-2] + bytes([frame[-2] ^ 1]) + frame[-1:])
    with pytest.raises(LabelScaleError) as caught:
        scale.write(catalog(5))
    assert caught.value.code == ScaleErrorCode.BAD_FRAME and caught.value.retry
    assert "получили PLU 3 искажённым" in caught.value.message
    assert "контрольная сумма" in caught.value.message
    monkeypatch.undo()
    assert all(r.ok for r in scale.write(catalog(5)))  # the next call starts on a fresh connection
    assert sorted(emulator.memory.table()) == [1, 2, 3, 4, 5]


def test_a_truncated_frame_fails_the_write_as_bad_frame(
    monkeypatch: pytest.MonkeyPatch, scale: CasScale
) -> None:
    break_plu(monkeypatch, 1, lambda frame: frame[:-30])
    with pytest.raises(LabelScaleError) as caught:
        scale.write(catalog(1))
    assert caught.value.code == ScaleErrorCode.BAD_FRAME
    assert "получили PLU 1 искажённым" in caught.value.message


def test_an_answer_that_breaks_the_protocol_is_a_bad_frame(
    monkeypatch: pytest.MonkeyPatch, emulator: RunningCasScale, scale: CasScale
) -> None:
    real = emulator.emulator.answer
    monkeypatch.setattr(emulator.emulator, "answer", lambda raw: b"X" + real(raw)[1:])
    with pytest.raises(LabelScaleError) as caught:
        scale.write(catalog(1))
    assert caught.value.code == ScaleErrorCode.BAD_FRAME
    assert "ответили невнятно" in caught.value.message


def test_an_answer_for_another_plu_is_a_bad_frame(
    monkeypatch: pytest.MonkeyPatch, emulator: RunningCasScale, scale: CasScale
) -> None:
    monkeypatch.setattr(emulator.emulator, "answer", lambda raw: codec.good(codec.PLU, 1, 5))
    with pytest.raises(LabelScaleError) as caught:
        scale.write(catalog(1))
    assert caught.value.code == ScaleErrorCode.BAD_FRAME
    assert "ждали L 1000001, пришёл L 5" in caught.value.message
