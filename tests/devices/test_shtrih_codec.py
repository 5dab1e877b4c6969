"""Shtrih-Print frames and PLU records byte for byte, worked out by hand from «Протокол обмена весов
ШТРИХ-ПРИНТ», and their properties: records round-trip, names are cut at character boundaries, a
corrupted byte never passes for a frame."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from osuite.core.barcodes import DEFAULT_TEMPLATES, BarcodeTemplate
from osuite.devices import shtrih_codec as codec
from osuite.devices.labelscale import Plu

PASSWORD = codec.password_bytes("0030")  # 30 30 33 30


# --- frames worked out by hand --------------------------------------------------------------------


def test_state_request_takes_no_password() -> None:
    # STX 02 | Len 01 (the command byte alone) | 11h
    assert codec.request(codec.Command.STATUS, PASSWORD) == bytes.fromhex("02 01 11")
    assert codec.request(codec.Command.MODE, PASSWORD) == bytes.fromhex("02 01 12")


def test_clear_all_request() -> None:
    # STX 02 | Len 05 = command + 4 password bytes | 18h | "0030" = 30 30 33 30
    assert codec.request(codec.Command.CLEAR_ALL, PASSWORD) == bytes.fromhex("02 05 18 30 30 33 30")


def test_clear_one_plu_request() -> None:
    # STX | Len 07 = 1 + 4 + 2 | 54h | password | PLU 300 = 012Ch, low byte first
    raw = codec.request(codec.Command.CLEAR_PLU, PASSWORD, codec.plu_number(300))
    assert raw == bytes.fromhex("02 07 54 30 30 33 30 2C 01")


def test_the_rs232_frame_ends_with_the_xor_of_len_through_data() -> None:
    # 05 ^ 18 = 1D; ^ 30 = 2D; ^ 30 = 1D; ^ 33 = 2E; ^ 30 = 1E
    frame = codec.Frame(codec.Command.CLEAR_ALL, PASSWORD)
    assert codec.encode(frame, lrc_byte=True) == bytes.fromhex("02 05 18 30 30 33 30 1E")
    assert codec.decode(bytes.fromhex("02 05 18 30 30 33 30 1E"), lrc_byte=True) == frame
    with pytest.raises(codec.LrcMismatch, match="gives 0x1e, it carries 0x1f"):
        codec.decode(bytes.fromhex("02 05 18 30 30 33 30 1F"), lrc_byte=True)


CHEESE = (
    "01 00"  # PLU number 1
    " E9 03 00 00"  # item code 1001 = 3E9h
    " D1 FB F0 20 D0 EE F1 F1 E8 E9 F1 EA E8 E9"
    + " 00" * 14  # "Сыр Российский" in CP1251, NUL-padded to 28
    + " 00" * 28  # name line 2: empty
    + " A6 B3 00"  # price 459.90 = 45990 kopecks = 00B3A6h, three bytes low first
    " 00"  # formats: the scale's own label format and barcode structure
    " 1E 00"  # shelf life 30 days
    " 05 00"  # tare 5 g
    " 00 00"  # group code 0
    " 00 00"  # message 0: none
    " 00"  # bit 7 clear: weighted goods; no preferred prefix, no pictures
    " 20 20 20 20"  # ROSTEST code: blank
    " 00 00 00"  # sale date: none
)


def test_write_one_plu_frame() -> None:
    plu = Plu(number=1, item_code=1001, name="Сыр Российский", price=45990, shelf_life_days=30, tare_grams=5)
    record = codec.pack_record(codec.record_of(plu))
    assert record == bytes.fromhex(CHEESE)
    assert len(record) == 82
    # STX | Len 57h = 87 = 1 command + 4 password + 82 record | 57h | password | record
    assert codec.write_plu(PASSWORD, record) == bytes.fromhex("02 57 57 30 30 33 30" + CHEESE)


def test_write_block_frame_has_dynamic_length() -> None:
    cheese = bytes.fromhex(CHEESE)
    bread = codec.pack_record(codec.record_of(Plu(2, 2002, "Батон", 5500, weighted=False)))
    # bread: PLU 2 | item 2002 = 7D2h | "Батон" C1 E0 F2 EE ED | price 5500 = 157Ch | kind 80h: piece goods
    assert bread == bytes.fromhex(
        "02 00 D2 07 00 00 C1 E0 F2 EE ED"
        + " 00" * 23
        + " 00" * 28
        + " 7C 15 00 00 00 00 00 00 00 00 00 00 80 20 20 20 20 00 00 00"
    )
    # STX | Len FFh (55h is "dynamic") | 55h | password | 2 records | the records
    assert codec.write_block(PASSWORD, [cheese, bread]) == (
        bytes.fromhex("02 FF 55 30 30 33 30 02") + cheese + bread
    )
    frame = codec.decode(codec.write_block(PASSWORD, [cheese, bread]))
    records = codec.block_records(frame.data[4:])
    assert records is not None
    assert [r.name for r in records] == ["Сыр Российский", "Батон"]
    assert [r.piece for r in records] == [False, True]


def test_block_holds_one_to_six_records() -> None:
    record = bytes.fromhex(CHEESE)
    assert len(codec.write_block(PASSWORD, [record] * 6)) == 3 + 4 + 1 + 6 * 82
    with pytest.raises(ValueError, match="1…6"):
        codec.write_block(PASSWORD, [record] * 7)
    assert codec.block_records(bytes((2,)) + record) is None  # says 2, carries 1
    assert codec.block_records(bytes((7,)) + record * 7) is None
    assert codec.block_records(b"") is None


def test_answers() -> None:
    # STX | Len 02 = command + error code | 57h | 00: done
    assert codec.answer(codec.Command.WRITE_PLU, 0) == bytes.fromhex("02 02 57 00")
    # a refusal (122 = 7Ah, wrong password) carries the codes only, whatever data was offered
    assert codec.answer(codec.Command.WRITE_PLU, 122, b"\x01") == bytes.fromhex("02 02 57 7A")
    assert codec.parse_answer(bytes.fromhex("02 02 55 80")) == codec.Answer(0x55, 128)
    assert codec.error_text(128) == "неверный номер ПЛУ"
    assert codec.error_text(250) == "ошибка весов 250"


def test_state_answer() -> None:
    status = codec.Status(table_size=4000, mode=codec.MODE_MENU)
    raw = codec.answer(codec.Command.STATUS, 0, codec.pack_status(status))
    # STX | Len 4Ah = 74 = command + error + 72 bytes of state | 11h | 00
    assert raw[:4] == bytes.fromhex("02 4A 11 00")
    data = raw[4:]
    assert data[0:2] == b"16"  # software version 1.6: two ASCII digits
    assert data[2:4] == bytes.fromhex("02 00")  # model 2: ШТРИХ-ПРИНТ М
    assert data[7:9] == bytes.fromhex("A0 0F")  # table of 4000 = FA0h PLUs
    assert data[17:19] == bytes.fromhex("00 10")  # mode 1000h: the system menu is open
    assert data[30] == 2  # prices with two decimals: kopecks
    decoded = codec.unpack_status(data)
    assert decoded == status
    assert decoded.busy


def test_mode_answer() -> None:
    assert codec.pack_mode(0, codec.SUBMODE_CLEARING_PLUS) == bytes.fromhex("00 00 01")
    assert codec.unpack_mode(bytes.fromhex("00 10 00")) == (0x1000, 0)
    with pytest.raises(codec.FrameError):
        codec.unpack_mode(b"\x00")


def test_malformed_frames_are_refused() -> None:
    with pytest.raises(codec.FrameError, match="STX"):
        codec.decode(bytes.fromhex("04 01 11"))
    with pytest.raises(codec.FrameError, match="Len 1 makes a frame of 3 bytes, got 4"):
        codec.decode(bytes.fromhex("02 01 11 00"))
    with pytest.raises(codec.FrameError, match="Len 5 makes a frame of 7 bytes, got 6"):
        codec.decode(bytes.fromhex("02 05 18 30 30 33"))
    with pytest.raises(codec.FrameError, match="FFh is for the block write"):
        codec.decode(bytes.fromhex("02 FF 57 30 30 33 30"))
    with pytest.raises(codec.FrameError, match="is 0"):
        codec.decode(bytes.fromhex("02 00 11"))
    with pytest.raises(codec.FrameError, match="at least 3"):
        codec.decode(b"\x02")
    with pytest.raises(codec.FrameError, match="no error code"):
        codec.parse_answer(bytes.fromhex("02 01 57"))
    assert codec.decode(bytes.fromhex("03 01 11")) == codec.Frame(0x11, b"", sync=True)


def test_password_is_four_digits() -> None:
    assert codec.password_bytes("0000") == b"0000"
    for bad in ("030", "00300", "00a0", "٠٠٣٠"):
        with pytest.raises(ValueError, match="four digits"):
            codec.password_bytes(bad)


# --- names ----------------------------------------------------------------------------------------


def test_a_long_name_breaks_after_a_space() -> None:
    name = "Колбаса докторская вареная высший сорт"  # 38 characters, one byte each in CP1251
    line1, line2 = codec.name_lines(name)
    assert line1.decode("cp1251") == "Колбаса докторская вареная "  # 27 bytes, the space kept at its end
    assert line2.decode("cp1251") == "высший сорт"
    record = codec.record_of(Plu(1, 1, name, 100))
    assert codec.unpack_record(codec.pack_record(record)).name == name


def test_a_name_without_spaces_breaks_at_the_field() -> None:
    name = "Б" * 40
    assert codec.name_lines(name) == (("Б" * 28).encode("cp1251"), ("Б" * 12).encode("cp1251"))


def test_a_name_longer_than_both_lines_is_cut() -> None:
    name = "Сыр «Российский» 50% жирности, весовой, фасованный в вакуумной упаковке"
    fitted = codec.fit_name(name)
    assert fitted == name[:56]
    line1, line2 = codec.name_lines(name)
    assert len(line1) <= 28
    assert len(line2) <= 28
    assert (line1 + line2).decode("cp1251") == fitted


def test_characters_cp1251_lacks_become_question_marks() -> None:
    assert codec.fit_name("Чай 茶 \x00 café") == "Чай ? ? caf?"  # é is not in CP1251; NUL would end the line


@given(st.text(max_size=120))
def test_names_are_cut_at_character_boundaries(name: str) -> None:
    fitted = codec.fit_name(name)
    whole = name.replace("\0", "?").encode("cp1251", errors="replace").decode("cp1251")
    assert whole.startswith(fitted)  # a prefix of the name, character for character
    assert len(fitted.encode("cp1251")) <= codec.NAME_BYTES
    line1, line2 = codec.name_lines(name)
    assert len(line1) <= codec.NAME_LINE
    assert len(line2) <= codec.NAME_LINE
    assert (line1.decode("cp1251") + line2.decode("cp1251")) == fitted  # each line decodes on its own
    assert b"\0" not in line1 + line2


# --- records --------------------------------------------------------------------------------------

accepted_plus = st.builds(
    Plu,
    number=st.integers(1, 0xFFFF),
    item_code=st.integers(1, codec.MAX_ITEM_CODE),
    name=st.text(max_size=80).map(codec.fit_name),
    price=st.integers(0, codec.MAX_PRICE),
    weighted=st.booleans(),
    shelf_life_days=st.integers(0, codec.MAX_SHELF_LIFE),
    tare_grams=st.integers(0, codec.MAX_TARE),
    label_format=st.integers(0, codec.MAX_LABEL_FORMAT),
)


@given(accepted_plus)
def test_any_accepted_plu_round_trips(plu: Plu) -> None:
    assert codec.plu_problem(plu) is None
    raw = codec.pack_record(codec.record_of(plu))
    assert len(raw) == codec.RECORD_SIZE
    record = codec.unpack_record(raw)
    assert codec.record_error(record, table_size=0xFFFF, messages=0) == 0
    assert codec.plu_of(record) == plu


@given(st.lists(accepted_plus, min_size=1, max_size=6))
def test_any_block_round_trips(plus: list[Plu]) -> None:
    raw = codec.write_block(PASSWORD, [codec.pack_record(codec.record_of(p)) for p in plus])
    frame = codec.decode(raw)
    assert frame.command == codec.Command.WRITE_BLOCK
    assert frame.data[:4] == PASSWORD
    records = codec.block_records(frame.data[4:])
    assert records is not None
    assert [codec.plu_of(r) for r in records] == plus


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"number": 0}, codec.Error.BAD_PLU_NUMBER),
        ({"number": 101}, codec.Error.BAD_PLU_NUMBER),
        ({"item_code": 0}, codec.Error.BAD_ITEM_CODE),
        ({"item_code": 1_000_000}, codec.Error.BAD_ITEM_CODE),
        ({"price": 1_000_000}, codec.Error.BAD_PRICE),
        ({"shelf_life_days": 10_000}, codec.Error.BAD_SHELF_LIFE),
        ({"tare_grams": 10_000}, codec.Error.BAD_TARE),
        ({"group": 10_000}, codec.Error.BAD_GROUP),
        ({"message": 11}, codec.Error.BAD_MESSAGE),
        ({"formats": 0xF0}, codec.Error.BAD_PREFERRED_STRUCTURE),
        ({"flags": 0x50}, codec.Error.BAD_PREFERRED_PREFIX),
        ({"sale_date": bytes((31, 2, 25))}, codec.Error.BAD_SALE_DATE),
    ],
)
def test_out_of_range_fields(change: dict[str, object], code: int) -> None:
    good = codec.unpack_record(bytes.fromhex(CHEESE))
    assert codec.record_error(good, table_size=100, messages=10) == 0
    assert (
        codec.record_error(good.__class__(**{**good.__dict__, **change}), table_size=100, messages=10) == code
    )


def test_fitting_a_plu_names_the_field_out_of_range() -> None:
    assert codec.plu_problem(Plu(1, 1, "x", 1_000_000)) == (
        codec.Error.BAD_PRICE,
        "цена 1000000 коп. вне 0…999999",
    )
    assert codec.plu_problem(Plu(70_000, 1, "x", 1)) is not None
    assert codec.plu_problem(Plu(1, 0, "x", 1)) is not None
    assert codec.plu_problem(Plu(1, 1, "x", 1, tare_grams=-1)) is not None
    assert codec.plu_problem(Plu(1, 1, "x", 1, label_format=16)) == (
        codec.Error.BAD_LABEL_FORMAT,
        "формат этикетки 16 вне 0…15",
    )


def test_the_label_format_is_the_low_nibble_of_the_formats_byte() -> None:
    plu = Plu(number=1, item_code=1001, name="Сыр Российский", price=45990, label_format=3)
    raw = codec.pack_record(codec.record_of(plu))
    assert raw[65] == 0x03  # after number 2, item code 4, two name lines 56 and price 3 bytes
    assert codec.plu_of(codec.unpack_record(raw)) == plu


# --- corruption -----------------------------------------------------------------------------------

frames = st.builds(
    codec.Frame,
    command=st.sampled_from(sorted(codec.REQUEST_DATA)),
    data=st.binary(max_size=120),
)


@given(frames, st.integers(0, 10_000), st.integers(1, 255))
def test_a_corrupted_byte_never_passes_the_rs232_lrc(frame: codec.Frame, position: int, flip: int) -> None:
    raw = bytearray(codec.encode(frame, lrc_byte=True))
    at = position % len(raw)
    raw[at] ^= flip
    if at == 0 and raw[0] == codec.STE:  # STX turned STE: the same frame in synchronisation mode
        assert codec.decode(bytes(raw), lrc_byte=True) == codec.Frame(frame.command, frame.data, sync=True)
        return
    with pytest.raises(codec.FrameError):
        codec.decode(bytes(raw), lrc_byte=True)


@given(frames.filter(lambda f: f.command != codec.Command.WRITE_BLOCK), st.integers(1, 255), st.booleans())
def test_a_corrupted_udp_header_is_refused(frame: codec.Frame, flip: int, length_byte: bool) -> None:
    # Over UDP the datagram's own checksum guards the data; the frame checks its start byte and Len.
    raw = bytearray(codec.encode(frame))
    at = 1 if length_byte else 0
    raw[at] ^= flip
    if not length_byte and raw[0] == codec.STE:
        return
    with pytest.raises(codec.FrameError):
        codec.decode(bytes(raw))


@given(frames, st.integers(1, 30))
def test_a_truncated_frame_is_refused(frame: codec.Frame, cut: int) -> None:
    raw = codec.encode(frame, lrc_byte=True)
    with pytest.raises(codec.FrameError):
        codec.decode(raw[: max(0, len(raw) - cut)], lrc_byte=True)


# --- the barcode ----------------------------------------------------------------------------------


def test_templates_map_onto_the_scales_structures() -> None:
    weight, price, count = DEFAULT_TEMPLATES
    assert codec.structure_for(weight) == codec.STRUCTURES[7]  # ПП ТТТТТ ВВВВВ К
    assert codec.structure_for(price) == codec.STRUCTURES[4]  # ПП ТТТТТ ССССС К
    assert codec.structure_for(count) is None  # the scale prints no count
    six = BarcodeTemplate(
        name="w6",
        prefixes=["27"],
        kind="weight",
        item_start=2,
        item_length=6,
        value_start=8,
        value_length=4,
        value_decimals=3,
    )
    assert codec.structure_for(six) == codec.STRUCTURES[6]  # ПП ТТТТТТ ВВВВ К
    kg = six.model_copy(update={"value_decimals": 2})
    assert codec.structure_for(kg) is None  # the scale writes grams
    gap = six.model_copy(update={"value_start": 9, "value_length": 3})
    assert codec.structure_for(gap) is None


def test_structures_read_back_as_templates() -> None:
    template = codec.template_for(7, 21)
    assert template is not None
    assert template.model_dump(exclude={"name"}) == DEFAULT_TEMPLATES[0].model_dump(exclude={"name"})
    assert codec.template_for(1, 21) is None  # a check digit of its own
    assert codec.template_for(7, 45) is None  # not an in-store prefix
    for number, structure in codec.STRUCTURES.items():
        back = codec.template_for(number, 22)
        assert back is not None
        assert codec.structure_for(back) == structure
