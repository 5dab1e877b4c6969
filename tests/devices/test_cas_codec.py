"""CAS CL-series frames and records (osuite.devices.cas_codec): byte-exact frames worked out by hand from
the firmware's definitions, and properties of records, names and checksums."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from osuite.core.barcodes import DEFAULT_TEMPLATES, BarcodeTemplate
from osuite.devices import cas_codec as codec
from osuite.devices.labelscale import Plu


def reference_checksum(frame: bytes) -> int:
    """The firmware's loop, written out: every byte from the address (index 2) up to and including
    the ':' after the data, summed into one byte."""
    total = 0
    for byte in frame[2:-2]:
        total = (total + byte) & 0xFF
    return total


def hexes(*parts: str) -> bytes:
    return bytes.fromhex(" ".join(parts))


# --- frames worked out by hand ----------------------------------------------------------------------


def test_delete_all_frame_by_hand() -> None:
    frame = hexes(
        "57 4C",  # W L: write a PLU record
        "01 00 00 00",  # address: scale number 1, uint32 LE
        "2C",  # ","
        "06 00",  # length 6: a delete
        "3A",  # ":"
        "00 00 00 00 00 00",  # department 0, PLU 0: delete them all
        "3A",  # ":"
        "A7",  # 0x01 + 0x2C + 0x06 + 0x3A + 0x3A = 0xA7
        "0D",  # CR
    )
    assert codec.delete_all(1) == frame
    assert reference_checksum(frame) == 0xA7


def test_delete_one_plu_frame_by_hand() -> None:
    frame = hexes(
        "57 4C 01 00 00 00 2C 06 00 3A",  # W L, address 1, length 6
        "01 00",  # department 1
        "7B 00 00 00",  # PLU 123
        "3A",
        "23",  # 0x01 + 0x2C + 0x06 + 0x3A + 0x01 + 0x7B + 0x3A = 0x123 → 0x23
        "0D",
    )
    assert codec.delete_plu(1, 1, 123) == frame


def test_answers_by_hand() -> None:
    # PLU 123 of department 1 is answered with number 1 000 123 = 0x0F42BB.
    good = hexes(
        "47 4C",  # G L
        "01 00 00 00",  # the scale's id in the first address byte
        "2C 04 00 3A",  # ",", length 4, ":"
        "BB 42 0F 00",  # 1 000 123, uint32 LE
        "3A",
        "B1",  # 0x01+0x2C+0x04+0x3A+0xBB+0x42+0x0F+0x3A = 0x1B1 → 0xB1
        "0D",
    )
    assert codec.good(codec.PLU, 1, 1_000_123) == good
    assert codec.answer_of(good) == codec.Answer(True, codec.PLU, 1_000_123, 0, 1)

    refused = hexes(
        "4E 4C 01 00 00 00",  # N L from scale 1
        "2C 05 00 3A",  # length 5
        "40 42 0F 00",  # 1 000 000: department 1, PLU 0
        "52",  # 82: number out of range
        "3A",
        "89",  # 0x01+0x2C+0x05+0x3A+0x40+0x42+0x0F+0x52+0x3A = 0x189 → 0x89
        "0D",
    )
    assert codec.refusal(codec.PLU, 1, 1_000_000, 82) == refused
    assert codec.answer_of(refused) == codec.Answer(False, codec.PLU, 1_000_000, 82, 1)


def test_status_request_by_hand() -> None:
    frame = hexes(
        "52 4E",  # R N: read the scale's status
        "01 00 00 00 2C 04 00 3A",  # address 1, length 4
        "00 00 00 00",  # the number every request starts with
        "3A A5 0D",  # 0x01 + 0x2C + 0x04 + 0x3A + 0x3A = 0xA5
    )
    assert codec.read_status(1) == frame


def test_plu_record_by_hand() -> None:
    plu = Plu(number=42, item_code=4201, name="Сыр", price=45990, shelf_life_days=10, tare_grams=15)
    record = hexes(
        "01 00",  # department 1
        "2A 00 00 00",  # PLU 42
        "01",  # type 1: by weight
        "D1 FB F0" + " 00" * 37,  # name 1: "Сыр" in Windows-1251 (С D1, ы FB, р F0), NUL-padded to 40
        "00" * 40,  # name 2: empty
        "00" * 5,  # name 3: empty
        "00 00 00 00 00 00 00 00",  # group, label, aux label, origin: 0
        "01",  # unit weight 1: price per kg
        "00 00 00 00",  # fixed weight
        "69 10 00 00",  # item code 4201 = 0x1069
        "00 00",  # pieces: 0 for a weighed PLU
        "00 00",  # quantity symbol, fixed price
        "A6 B3 00 00",  # unit price 459.90 ₽ = 45990 = 0xB3A6 kopecks
        "00 00 00 00",  # special price
        "0F 00 00 00",  # tare 15 g
        "00",  # tare number
        "01 00",  # barcode format 1
        "00 00",  # aux barcode
        "00 00 00 00 00",  # produced date, packed date (today), packed time (now)
        "0B 00 00 00",  # sell-by date 11: 1 is today, so ten days is 11
        "00",  # sell-by time
        "00 00 00 00 00 00 00",  # ingredient, traceability, nutrition numbers, label message
    )
    assert len(record) == 147
    frame = hexes("57 4C 01 00 00 00 2C", "93 00", "3A") + record + hexes("3A 0A 0D")
    # checksum: header 0x01+0x2C+0x93+0x3A = 250; record 0x01+0x2A+0x01+(0xD1+0xFB+0xF0)+0x01+(0x69+0x10)
    # +(0xA6+0xB3)+0x0F+0x01+0x0B = 1238; tail ':' 58; 250 + 1238 + 58 = 1546 = 6·256 + 0x0A
    assert codec.plu_frame(plu, address=1) == (frame, "")
    rec, note = codec.record_for(plu)
    assert codec.write_plu(1, codec.plu_data(rec)) == frame
    assert note == ""
    assert reference_checksum(frame) == 0x0A


def test_ingredients_follow_the_record() -> None:
    plu = Plu(number=7, item_code=7, name="Хлеб", price=5000, weighted=False, ingredients="мука, вода")
    frame, _ = codec.plu_frame(plu, address=1)
    data = codec.decode(frame).data
    assert len(data) == 147 + len("мука, вода") + 1
    assert data[147:] == "мука, вода".encode("cp1251") + b"\0"
    record = codec.decode_record(data)
    assert record.type == codec.PluType.BY_COUNT and record.pieces == 1
    assert codec.plu_from(record, codec.decode_ingredients(data[147:])) == plu


def test_barcode_format_frame_by_hand() -> None:
    template = DEFAULT_TEMPLATES[0]  # 21 IIIII WWWWW C, the weight to the gram
    assert codec.barcode_format(template) == "21IIIIIWWWWWC"
    frame = codec.write_barcode(1, codec.BarcodeRecord(1, codec.BARCODE_EAN13, "21IIIIIWWWWWC"))
    assert frame == hexes(
        "57 42 01 00 00 00 2C",  # W B, address 1
        "24 00 3A",  # length 36
        "01 00 00 00",  # barcode format number 1
        "01",  # type 1: EAN-13
        "32 31 49 49 49 49 49 57 57 57 57 57 43" + " 00" * 18,  # "21IIIIIWWWWWC", NUL-padded to 31
        "3A",
        "8D",  # header 139 + data 968 + ':' 58 = 1165 = 4·256 + 0x8D
        "0D",
    )


def test_speed_key_frames_by_hand() -> None:
    assert codec.read_keys(1, 1) == hexes(
        "52 4B",  # R K: read a key set
        "01 00 00 00 2C 04 00 3A",  # address 1, length 4
        "01 00 00 00",  # set 1, keyboard type 0 (the scale fills in its own)
        "3A A6 0D",  # 0x01 + 0x2C + 0x04 + 0x3A + 0x01 + 0x3A = 0xA6
    )
    table = codec.KeyTable(1, 1, codec.keys_of({1: 42, 2: 7, 144: 999_999}))
    frame = hexes(
        "57 4B 01 00 00 00 2C",  # W K, address 1
        "44 02 3A",  # length 580 = 0x0244
        "01 00",  # set 1
        "01 00",  # keyboard type 1: a bench scale's
        "2A 00 00 00",  # key 1 calls PLU 42
        "07 00 00 00",  # key 2 calls PLU 7
        "00 00 00 00" * 141,  # keys 3 … 143: none
        "3F 42 0F 00",  # key 144 calls PLU 999999 = 0x0F423F
        "3A",
        "AA",  # header 0x01+0x2C+0x44+0x02+0x3A = 173; data 1+1+0x2A+0x07+0x3F+0x42+0x0F = 195; ':' 58
        "0D",  # 173 + 195 + 58 = 426 = 256 + 0xAA
    )
    assert codec.write_keys(1, table) == frame
    assert reference_checksum(frame) == 0xAA
    assert codec.parse_keys(codec.decode(frame)) == table
    # The answer carries the data's first four bytes: set 1 + keyboard 1 × 65536 = 0x00010001.
    good = hexes("47 4B 01 00 00 00 2C 04 00 3A", "01 00 01 00", "3A A7 0D")
    assert codec.good(codec.SPEED_KEYS, 1, codec.keys_number(1, 1)) == good
    assert codec.answer_of(good) == codec.Answer(True, codec.SPEED_KEYS, 0x0001_0001, 0, 1)


@pytest.mark.parametrize(
    ("keys", "why"),
    [({0: 1}, "клавиша 0 вне 1…144"), ({145: 1}, "клавиша 145 вне 1…144"), ({3: 0}, "номер PLU 0")],
)
def test_a_key_table_the_scale_cannot_hold_is_refused(keys: dict[int, int], why: str) -> None:
    with pytest.raises(codec.RecordError, match=why):
        codec.keys_of(keys)


def test_the_label_format_goes_into_the_record() -> None:
    plu = Plu(number=42, item_code=4201, name="Сыр", price=45990, label_format=7)
    frame, _ = codec.plu_frame(plu, address=1)
    data = codec.decode(frame).data
    assert data[94:96] == hexes("07 00")  # label format 7, uint16 LE at offset 94
    assert codec.plu_from(codec.decode_record(data)) == plu
    with pytest.raises(codec.RecordError, match="формат этикетки 100 вне 0…99"):
        codec.plu_frame(Plu(number=1, item_code=1, name="x", price=1, label_format=100), address=1)


def test_barcode_formats_and_templates() -> None:
    price, count = DEFAULT_TEMPLATES[1], DEFAULT_TEMPLATES[2]
    assert codec.barcode_format(price) == "22IIIIIPPPPPC"
    assert codec.barcode_format(count) == "23IIIIIQQQQQC"
    for template in DEFAULT_TEMPLATES:
        back = codec.template_from_format(codec.barcode_format(template), name=template.name)
        assert back == template
    for unreadable in ("DDIIIIIPPPPPC", "21IIIIIWWWWW0", "21IIWIIWWWWWC", "21IIIIIIIIIIC", "21WWWWWPPPPPC"):
        assert codec.template_from_format(unreadable) is None
    tens = BarcodeTemplate(
        name="w10",
        prefixes=["20"],
        kind="weight",
        item_start=2,
        item_length=5,
        value_start=7,
        value_length=5,
        value_decimals=2,
    )
    with pytest.raises(codec.RecordError, match="scale prints it with 3"):
        codec.barcode_format(tens)


def test_status_round_trip() -> None:
    state = codec.Status(load=1, weight=1234, unit_price=45990, total_price=56752, plu=42, department=1)
    frame = codec.decode(codec.status_answer(1, state))
    assert (frame.command, frame.data_type, len(frame.data)) == (b"W", codec.STATUS, 30)
    assert codec.parse_status(frame) == state


def test_malformed_frames_are_refused() -> None:
    good = codec.delete_all(1)
    with pytest.raises(codec.FrameError, match="command byte"):
        codec.decode(b"X" + good[1:])
    with pytest.raises(codec.FrameError, match="separators"):
        codec.decode(good[:6] + b";" + good[7:])
    with pytest.raises(codec.FrameError, match="announces a frame of 19 bytes"):
        codec.decode(good[:-1])
    with pytest.raises(codec.FrameError, match="announces a frame of 19 bytes"):
        codec.decode(good + b"\r")
    with pytest.raises(codec.FrameError, match="tail"):
        codec.decode(good[:-1] + b"\n")
    with pytest.raises(codec.FrameError, match="checksum"):
        codec.decode(good[:-2] + b"\x00\r")
    with pytest.raises(codec.FrameError, match="checksum"):
        codec.answer_of(codec.good(codec.PLU, 1, 5)[:-2] + b"\x00\r")


def test_firmware_spellings_of_error_codes() -> None:
    assert codec.error_code(0x82) == codec.ErrorCode.NUMBER_OVER
    assert codec.error_code(0x88) == codec.ErrorCode.DMSG_FULL
    assert codec.error_text(0x82) == "номер вне допустимого диапазона (код 82)"
    assert codec.error_text(200) == "неизвестная ошибка (код 200)"


def test_record_fields_must_fit_their_bytes() -> None:
    base = codec.PluRecord(department=1, number=1, type=1, name1="a")
    with pytest.raises(codec.RecordError, match="does not fit"):
        codec.encode_record(codec.PluRecord(department=1, number=2**32, type=1, name1="a"))
    with pytest.raises(codec.RecordError, match="takes 41 bytes"):
        codec.encode_record(codec.PluRecord(department=1, number=1, type=1, name1="я" * 41))
    with pytest.raises(codec.RecordError, match="lacks"):
        codec.encode_record(codec.PluRecord(department=1, number=1, type=1, name1="日本"))
    assert codec.out_of_range(base) == []
    assert codec.out_of_range(
        codec.PluRecord(department=100, number=0, type=1, name1="a", unit_weight=0)
    ) == [
        "отдел 100 вне 1…99",
        "номер PLU 0 вне 1…999999",
        "единица веса 0 вне 1…3",
    ]


def test_plu_outside_the_scales_ranges_is_refused_saying_what() -> None:
    with pytest.raises(codec.RecordError, match=r"цена 10000000 вне 0…9999999"):
        codec.plu_frame(Plu(number=1, item_code=1, name="a", price=10_000_000), address=1)
    with pytest.raises(codec.RecordError, match=r"код товара 1000000 вне 0…999999"):
        codec.plu_frame(Plu(number=1, item_code=1_000_000, name="a", price=1), address=1)
    with pytest.raises(codec.RecordError, match="отрицательный"):
        codec.plu_frame(Plu(number=1, item_code=1, name="a", price=1, shelf_life_days=-1), address=1)
    with pytest.raises(codec.RecordError, match=r"срок годности 10000 вне 0…9999"):
        codec.plu_frame(Plu(number=1, item_code=1, name="a", price=1, shelf_life_days=9999), address=1)


def test_long_names_wrap_to_the_second_line_at_a_space() -> None:
    name = "Колбаса докторская варёная высшего сорта ГОСТ, весовая"
    first, second, changed = codec.split_name(name)
    assert changed
    assert first == "Колбаса докторская варёная высшего сорта"  # 40 characters, cut before a space
    assert second == "ГОСТ, весовая"
    assert codec.join_name(first, second) == name
    long_word = "Ж" * 50
    assert codec.split_name(long_word) == ("Ж" * 40, "Ж" * 10, True)
    assert codec.split_name("Tab\there\x00") == ("Tab here ", "", True)
    assert codec.split_name("Кофе ☕") == ("Кофе ?", "", True)


# --- properties ---------------------------------------------------------------------------------------

CP1251_TEXT = st.characters(
    codec="cp1251", exclude_characters="\0", exclude_categories=("Cc", "Cs")
)  # a character a 1251 name field can hold


def names(size: int) -> st.SearchStrategy[str]:
    return st.text(CP1251_TEXT, max_size=size)


def uint(bits: int) -> st.SearchStrategy[int]:
    return st.integers(0, 2**bits - 1)


records = st.builds(
    codec.PluRecord,
    department=uint(16),
    number=uint(32),
    type=uint(8),
    name1=names(40),
    name2=names(40),
    name3=names(5),
    group=uint(16),
    label=uint(16),
    item_code=uint(32),
    unit_price=uint(32),
    tare=uint(32),
    barcode=uint(16),
    sell_by_date=uint(32),
    label_message=uint(8),
)


@given(records)
def test_any_record_the_codec_accepts_round_trips(record: codec.PluRecord) -> None:
    raw = codec.encode_record(record)
    assert len(raw) == 147
    assert codec.decode_record(raw) == record
    frame = codec.decode(codec.write_plu(3, raw))
    assert (frame.command, frame.data_type, frame.address, frame.data) == (b"W", codec.PLU, 3, raw)


plus = st.builds(
    Plu,
    number=st.integers(1, 999_999),
    item_code=st.integers(0, 999_999),
    name=names(40),
    price=st.integers(0, 9_999_999),
    weighted=st.booleans(),
    shelf_life_days=st.integers(0, 9998),
    tare_grams=st.integers(0, 99_999),
    ingredients=st.text(CP1251_TEXT, max_size=1049),
    label_format=st.integers(0, 99),
)


@given(plus)
def test_any_plu_the_codec_accepts_round_trips(plu: Plu) -> None:
    frame, note = codec.plu_frame(plu, address=1)
    assert note == ""
    data = codec.decode(frame).data
    back = codec.plu_from(codec.decode_record(data), codec.decode_ingredients(data[147:]))
    assert back == plu


key_tables = st.builds(
    codec.KeyTable,
    set=uint(16),
    keyboard=uint(16),
    plus=st.lists(uint(32), min_size=codec.KEYS_PER_SET, max_size=codec.KEYS_PER_SET).map(tuple),
)


@given(key_tables)
def test_any_key_table_round_trips(table: codec.KeyTable) -> None:
    raw = codec.encode_keys(table)
    assert len(raw) == 580
    assert codec.decode_keys(raw) == table
    frame = codec.decode(codec.write_keys(2, table))
    assert (frame.command, frame.data_type, frame.address) == (b"W", codec.SPEED_KEYS, 2)
    assert codec.parse_keys(frame) == table


@given(st.dictionaries(st.integers(1, codec.KEYS_PER_SET), st.integers(1, codec.MAX_PLU_NUMBER)))
def test_the_keys_a_scale_is_given_are_the_keys_it_holds(keys: dict[int, int]) -> None:
    plus = codec.keys_of(keys)
    assert len(plus) == codec.KEYS_PER_SET
    assert {key: number for key, number in enumerate(plus, start=1) if number} == keys
    assert codec.key_problems(codec.KeyTable(1, 1, plus)) == []


@given(st.text(max_size=120), st.text(max_size=1200))
def test_names_are_cut_at_character_boundaries(name: str, ingredients: str) -> None:
    plu = Plu(number=1, item_code=1, name=name, price=1, ingredients=ingredients)
    frame, note = codec.plu_frame(plu, address=1)
    assert (frame, note) == codec._plu_frame_slowly(plu, address=1, department=1, barcode=1)
    data = codec.decode(frame).data
    for field in (data[7:47], data[47:87]):
        text = field.rstrip(b"\0").decode("cp1251")  # strict: no half character, no undefined byte
        assert len(text.encode("cp1251")) <= 40
    record = codec.decode_record(data)
    assert len(data) <= 147 + 1050
    if not note:
        assert codec.join_name(record.name1, record.name2) == name


FRAMES = st.one_of(
    st.builds(codec.delete_all, st.integers(0, 255)),
    st.builds(codec.delete_plu, st.integers(0, 255), st.integers(1, 99), st.integers(1, 999_999)),
    plus.map(lambda plu: codec.plu_frame(plu, address=1)[0]),
    st.builds(codec.good, st.just(codec.PLU), st.integers(0, 255), uint(32)),
    st.builds(codec.write_keys, st.integers(0, 255), key_tables),
)


@given(FRAMES, st.data())
def test_a_corrupted_byte_is_caught(frame: bytes, data: st.DataObject) -> None:
    # Every byte from the address on is guarded: by the checksum, the separators, the length or the tail.
    at = data.draw(st.integers(2, len(frame) - 1), label="at")
    flip = data.draw(st.integers(1, 255), label="flip")
    broken = bytearray(frame)
    broken[at] ^= flip
    with pytest.raises(codec.FrameError):
        codec.decode(bytes(broken))
