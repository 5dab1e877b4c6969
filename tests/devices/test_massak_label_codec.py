"""Massa-K label scales' records and file-exchange frames, byte for byte and as properties."""

from __future__ import annotations

import binascii

import pytest
from hypothesis import given
from hypothesis import strategies as st

from osuite.core.barcodes import DEFAULT_TEMPLATES, BarcodeTemplate
from osuite.devices import massak_codec as frames
from osuite.devices import massak_label_codec as codec
from osuite.devices.labelscale import Plu
from osuite.devices.massak_label_codec import FileType, PluRecord, RecordError


def reference_crc(data: bytes) -> int:
    """Massa-K's CRC the textbook way, bit by bit: every message bit shifted into a 16-bit register,
    the polynomial 0x1021 subtracted whenever a one falls off the top."""
    register = 0
    for byte in data:
        for bit in range(7, -1, -1):
            carry = register >> 15
            register = ((register << 1) | ((byte >> bit) & 1)) & 0xFFFF
            if carry:
                register ^= 0x1021
    return register


def framed(body: bytes) -> bytes:
    return (
        b"\xf8\x55\xce" + len(body).to_bytes(2, "little") + body + reference_crc(body).to_bytes(2, "little")
    )


def encoded(frame: frames.Frame) -> bytes:
    return frames.encode_body(frame.body)


# --- frames worked out by hand -----------------------------------------------------------------------


def test_status_request_by_hand() -> None:
    # A body of the one byte 0x80 (CMD_TCP_GET_STATUS) leaves that byte in the register: CRC 0x0080.
    assert encoded(codec.get_status()) == bytes.fromhex("F8 55 CE 01 00 80 80 00")


def test_error_answers_by_hand() -> None:
    # Two body bytes: the first shifted up by the second, nothing falls off the top: CRC 0x280F, 0x280A.
    assert encoded(frames.error(frames.ErrorCode.BUSY)) == bytes.fromhex("F8 55 CE 02 00 28 0F 0F 28")
    assert encoded(frames.error(frames.ErrorCode.BAD_INPUT)) == bytes.fromhex("F8 55 CE 02 00 28 0A 0A 28")


def test_reset_plu_file_by_hand() -> None:
    body = bytes.fromhex(
        "81"  # CMD_TCP_RESET_FILES
        "01 00 00 00"  # MaskFile: bit 0, the PLU file (type 1)
    )
    assert encoded(codec.reset_files(codec.file_mask(FileType.PLU))) == framed(body)
    assert framed(body) == bytes.fromhex("F8 55 CE 05 00 81 01 00 00 00 5B 3F")


# Сыр at 450.00 a kg, code 123, 10 days, 5 g of tare, barcode prefix 21, label and barcode format 1.
CHEESE = Plu(
    number=1, item_code=123, name="Сыр", price=45_000, shelf_life_days=10, tare_grams=5, label_format=1
)
CHEESE_RECORD = bytes.fromhex(
    "01 00 00 00"  # Number 1
    "32 00"  # Length: 37 fixed bytes + 12 of strings + the checksum = 50
    "00"  # Status: weighed, name not centred
    "00"  # Country: Russia
    "01"  # label format 1
    "01"  # barcode format 1
    "15"  # prefix 21
    "C8 AF 00 00"  # price 45000 kopecks
    "05 00 00 00"  # tare 5 g
    "7B 00 00 00"  # code 123
    "00 00 00 00 00 00"  # sell-by date: none
    "40 38 00 00 00 00"  # shelf life 10 days = 14400 = 0x3840 minutes, then two zero bytes
    "20 20 20 20"  # certification body: none
    "00 00"  # group
    "00 00"  # reserved
    "00 03 D1 FB F0 0D"  # name: font 0, 3 bytes, С ы р in CP1251, last line
    "00 00 0D"  # ingredients: one empty line
    "00 00 0D"  # message: one empty line
    "1F"  # 01+32+01+01+15+C8+AF+05+7B+40+38+4×20+03+D1+FB+F0+3×0D = 0x61F, its low byte
)


def test_plu_record_by_hand() -> None:
    record = codec.record_of(CHEESE, prefix=21)
    assert codec.encode_plu(record) == CHEESE_RECORD
    assert codec.quick_record(CHEESE, prefix=21) == CHEESE_RECORD
    assert codec.decode_plu(CHEESE_RECORD) == record
    assert codec.plu_of(codec.decode_plu(CHEESE_RECORD)) == CHEESE


def test_plu_frame_by_hand() -> None:
    body = (
        bytes.fromhex(
            "82"  # CMD_TCP_DFILE
            "01"  # FileType: PLU
            "01 00"  # Nums: one record in this transfer
            "01 00"  # Num: the first
            "38 00"  # Len: the record's 56 bytes
        )
        + CHEESE_RECORD
    )
    assert codec.dfile(FileType.PLU, 1, 1, CHEESE_RECORD) == framed(body)
    assert framed(body)[:5] == bytes.fromhex("F8 55 CE 40 00")  # Len 64: 8 bytes of command and header
    assert framed(body)[-2:] == bytes.fromhex("30 75")


def test_acknowledgement_by_hand() -> None:
    body = bytes.fromhex("42 01 01 00 01 00")  # CMD_TCP_ACK_DFILE, FileType 1, Nums 1, Num 1
    assert codec.ack_dfile_frame(FileType.PLU, 1, 1) == framed(body)
    assert encoded(codec.ack_dfile(FileType.PLU, 1, 1)) == bytes.fromhex(
        "F8 55 CE 06 00 42 01 01 00 01 00 F5 86"
    )
    assert codec.parse_dfile_answer(frames.decode_fast(framed(body))) == (1, 1, 1)


def test_file_status_and_read_request_by_hand() -> None:
    # The scale has no PLU (bit 0) and no barcode format (bit 2): MaskFile 5.
    assert encoded(codec.file_status(5)) == framed(bytes.fromhex("40 05 00 00 00"))
    # CMD_TCP_REQ_UFILES for the first record of the PLU file.
    assert encoded(codec.req_ufile(FileType.PLU, 1)) == framed(bytes.fromhex("85 01 01 00"))


def test_barcode_record_by_hand() -> None:
    weight = DEFAULT_TEMPLATES[0]  # 21 PPPPP WWWWW C, weight to the gram
    fmt = codec.barcode_format_of(weight)
    assert fmt == codec.BarcodeFormat(number=1, prefix=21, decimals=3, mask="PPTTTTTWWWWWK")
    assert codec.encode_barcode(fmt) == bytes.fromhex(
        "01 00 00 00"  # record 1 of the barcode-format file
        "10 00"  # Length 16
        "15"  # prefix 21
        "03"  # three decimals: grams
        "50 50 54 54 54 54 54 57 57 57 57 57 4B"  # PPTTTTTWWWWWK
        "6B"  # 01+10+15+03+2×50+5×54+5×57+4B = 0x46B
    )


# --- the CRC, fast -----------------------------------------------------------------------------------


@given(st.binary(max_size=300))
def test_fast_crc_is_massa_ks_crc(data: bytes) -> None:
    assert frames.crc16_fast(data) == frames.crc16(data) == reference_crc(data)
    assert frames.crc16_fast(data + b"\0\0") == binascii.crc_hqx(data, 0)


@given(command=st.integers(0, 255), data=st.binary(max_size=300))
def test_fast_frames_are_the_frames(command: int, data: bytes) -> None:
    frame = frames.Frame(command, data)
    raw = frames.encode(frame)
    assert frames.encode_body(frame.body) == raw
    assert frames.decode_fast(raw) == frames.decode(raw) == frame


@given(data=st.binary(max_size=60), position=st.integers(0, 1000), flip=st.integers(1, 255))
def test_any_corrupted_byte_is_caught_by_the_crc(data: bytes, position: int, flip: int) -> None:
    raw = bytearray(codec.dfile(FileType.PLU, 1, 1, data))
    at = 5 + position % (len(raw) - 5)  # anywhere in the body or the CRC
    raw[at] ^= flip
    with pytest.raises(frames.CrcMismatch):
        frames.decode_fast(bytes(raw))


# --- records as properties ---------------------------------------------------------------------------

texts = st.text(st.characters(codec="utf-8"), max_size=400)
accepted_plus = st.builds(
    Plu,
    number=st.integers(1, codec.PLU_MAX),
    item_code=st.integers(0, codec.CODE_MAX),
    name=texts,
    price=st.integers(0, codec.PRICE_MAX),
    weighted=st.booleans(),
    shelf_life_days=st.integers(0, 999),
    tare_grams=st.integers(0, codec.TARE_MAX),
    ingredients=st.text(st.characters(codec="utf-8"), max_size=1500),
)


@given(accepted_plus, st.integers(0, 99))
def test_any_accepted_plu_round_trips(plu: Plu, prefix: int) -> None:
    record = codec.record_of(plu, prefix=prefix)
    raw = codec.encode_plu(record)
    assert codec.decode_plu(raw) == record
    assert codec.problems(record) == []
    assert codec.plu_of(codec.decode_plu(raw)) == codec.fit(plu)
    assert codec.fit(codec.fit(plu)) == codec.fit(plu)
    quick = codec.quick_record(plu, prefix=prefix)
    assert quick is None or quick == raw


@given(texts)
def test_names_are_cut_at_a_character_boundary(name: str) -> None:
    fitted = codec.fit_name(name)
    raw = fitted.encode("cp1251")  # strict: every character whole
    assert len(raw) <= codec.NAME_LIMIT
    assert name.encode("cp1251", errors="replace").decode("cp1251").startswith(fitted)
    assert raw.decode("cp1251") == fitted


@given(st.binary(min_size=1, max_size=120), st.integers(0, 10_000), st.integers(1, 255))
def test_any_corrupted_record_byte_is_refused(tail: bytes, position: int, flip: int) -> None:
    raw = bytearray(codec.encode_plu(codec.record_of(Plu(7, 7, tail.hex(), 100))))
    raw[position % len(raw)] ^= flip
    with pytest.raises(RecordError):
        codec.decode_plu(bytes(raw))


def test_malformed_records_say_what_is_wrong() -> None:
    with pytest.raises(RecordError, match="checksum"):
        codec.decode_plu(CHEESE_RECORD[:-1] + b"\x00")
    with pytest.raises(RecordError, match="Length says 50 bytes follow, 49 do"):
        codec.decode_plu(CHEESE_RECORD[:-2] + CHEESE_RECORD[-1:])
    no_terminator = bytearray(CHEESE_RECORD)
    no_terminator[48] = 0x0E  # the name's terminator
    no_terminator[-1] = codec.checksum(bytes(no_terminator[:-1]))
    with pytest.raises(RecordError, match="name's line ends with 0x0e"):
        codec.decode_plu(bytes(no_terminator))
    with pytest.raises(RecordError, match="at least"):
        codec.decode_plu(CHEESE_RECORD[:20])


def test_out_of_range_fields_are_named() -> None:
    record = codec.record_of(CHEESE)._replace(
        number=20_001, price=-1, tare_grams=15_001, sell_by=bytes([24, 13, 1, 0, 0, 0]), barcode_format=20
    )
    found = codec.problems(record)
    assert found == [
        "номер PLU 20001 вне 1…20000",
        "цена -1 вне 0…9999999",
        "тара 15001 вне 0…15000",
        "формат штрихкода 20 вне 0…19",
        "дата реализации 18 0d 01 00 00 00 — не ГГ ММ ДД ЧЧ ММ СС",
    ]
    assert not any(
        "дата" in problem
        for problem in codec.problems(record._replace(sell_by=bytes([24, 12, 31, 23, 59, 59])))
    )
    with pytest.raises(RecordError, match="does not fit its field"):
        codec.encode_plu(record._replace(number=2**32))


def test_long_text_is_fitted() -> None:
    long_name = "Колбаса " * 40
    plu = Plu(1, 1, long_name, 100, ingredients=("мука пшеничная " * 100).strip() + "\nсоль")
    record = codec.record_of(plu)
    assert record.name == long_name[: codec.NAME_LIMIT]
    lines = record.ingredients.split("\n")
    assert all(len(line) <= codec.LINE_LIMIT for line in lines)
    assert len(record.ingredients) <= codec.INGREDIENTS_LIMIT
    assert lines[0] == ("мука пшеничная " * 17).strip()  # wrapped at the last space that fits
    assert codec.cuts(plu, record) == (
        f"наименование обрезано до {codec.NAME_LIMIT} знаков; "
        "состав уложен в строки по 255 байт, всего не больше 998"
    )
    assert codec.quick_record(plu) is None
    assert codec.cuts(CHEESE, codec.record_of(CHEESE)) == ""
    assert codec.record_of(Plu(1, 1, "Чай 🍵", 1)).name == "Чай ?"


def test_multi_line_strings_travel_as_lines() -> None:
    plu = Plu(2, 2, "Торт\nНаполеон", 100, ingredients="мука\nмасло\n")
    raw = codec.encode_plu(codec.record_of(plu))
    assert bytes.fromhex("00 04") + "Торт".encode("cp1251") + b"\x0c" in raw
    assert codec.plu_of(codec.decode_plu(raw)) == plu


# --- barcode formats ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "template", [*DEFAULT_TEMPLATES, DEFAULT_TEMPLATES[0].model_copy(update={"prefixes": ["02"]})]
)
def test_a_template_travels_as_a_barcode_format(template: BarcodeTemplate) -> None:
    fmt = codec.decode_barcode(codec.encode_barcode(codec.barcode_format_of(template)))
    back = codec.template_of(fmt)
    assert back.prefixes == template.prefixes[:1]
    assert back.model_dump(exclude={"name", "prefixes"}) == template.model_dump(exclude={"name", "prefixes"})


@pytest.mark.parametrize(
    ("mask", "why"),
    [
        ("PPTTTTTWWWWW0", "is not PP"),
        ("PPTTWTTWWWWWK", "unbroken run"),
        ("PPTTTTTWWWSSK", "unbroken run of one letter"),
        ("PP0000000000K", "no item code"),
    ],
)
def test_a_barcode_format_that_describes_no_template_is_refused(mask: str, why: str) -> None:
    with pytest.raises(RecordError, match=why):
        codec.template_of(codec.BarcodeFormat(1, 21, 3, mask))


def test_a_barcode_format_with_a_foreign_prefix_is_refused() -> None:
    with pytest.raises(RecordError, match="not for in-store use"):
        codec.template_of(codec.BarcodeFormat(1, 46, 3, "PPTTTTTWWWWWK"))


def test_record_numbers_of_a_record() -> None:
    assert codec.number_of(CHEESE_RECORD) == 1
    assert isinstance(codec.decode_plu(CHEESE_RECORD), PluRecord)
