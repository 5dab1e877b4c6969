"""The CAS emulator (osuite.devices.cas_emulator) fed raw frames, as a scale's firmware reads them: in
memory through ``feed``, and on its real socket."""

from __future__ import annotations

import socket
import time
from dataclasses import asdict

import pytest
from hypothesis import given
from hypothesis import strategies as st

from osuite.core.barcodes import DEFAULT_TEMPLATES
from osuite.devices import cas_codec as codec
from osuite.devices.cas_emulator import PARTIAL_FRAME_TIMEOUT, CasEmulator, start_cas_emulator
from osuite.devices.labelscale import Plu, PluMemory

SAUSAGE = Plu(number=42, item_code=4201, name="Колбаса", price=45990, tare_grams=15)


def emulator(**kwargs: int) -> CasEmulator:
    return CasEmulator(PluMemory(), **kwargs)


def answers(raw: bytes) -> list[codec.Answer]:
    """The G/N answers in a run of answer bytes."""
    found = []
    while raw:
        size = codec.frame_size(raw[:10])
        found.append(codec.answer_of(raw[:size]))
        raw = raw[size:]
    return found


def feed(scale: CasEmulator, raw: bytes) -> list[codec.Answer]:
    return answers(scale.feed(bytearray(raw)))


def plu_frame(plu: Plu) -> bytes:
    return codec.plu_frame(plu, address=1)[0]


def record_frame(**fields: int) -> bytes:
    """A PLU frame with any field set, whether or not the scale's table allows it."""
    base = codec.PluRecord(department=1, number=5, type=1, name1="x", barcode=1)
    return codec.write_plu(1, codec.encode_record(codec.PluRecord(**{**asdict(base), **fields})))


def test_a_plu_is_stored_and_answered_with_its_number() -> None:
    scale = emulator()
    assert feed(scale, plu_frame(SAUSAGE)) == [codec.Answer(True, codec.PLU, 1_000_042, 0, 1)]
    assert scale.memory.table() == {42: SAUSAGE}


def test_several_frames_at_once_and_split_anywhere_are_answered_in_order() -> None:
    scale = emulator()
    stream = b"".join(plu_frame(Plu(n, n, f"№{n}", n)) for n in range(1, 6))
    buffer = bytearray()
    replies = b""
    for byte in stream:  # one byte at a time, as a slow line delivers them
        buffer.append(byte)
        replies += scale.feed(buffer)
    assert [a.number for a in answers(replies)] == [1_000_001, 1_000_002, 1_000_003, 1_000_004, 1_000_005]
    assert sorted(scale.memory.table()) == [1, 2, 3, 4, 5]
    assert not buffer


def test_bytes_that_cannot_start_a_frame_are_skipped() -> None:
    scale = emulator()
    noise = b"\r\n\x00garbage W, :" + b"R" * 3
    assert [a.ok for a in feed(scale, noise + plu_frame(SAUSAGE))] == [True]
    assert 42 in scale.memory.table()


def test_delete_one_and_all() -> None:
    scale = emulator()
    feed(scale, plu_frame(SAUSAGE) + plu_frame(Plu(7, 7, "Хлеб", 5000)))
    assert feed(scale, codec.delete_plu(1, 1, 42)) == [codec.Answer(True, codec.PLU, 1_000_042, 0, 1)]
    assert feed(scale, codec.delete_plu(1, 1, 42)) == [codec.Answer(False, codec.PLU, 1_000_042, 98, 1)]
    # The firmware's delete refuses a bad number with 0x82 rather than 82.
    assert feed(scale, codec.delete_plu(1, 0, 42)) == [codec.Answer(False, codec.PLU, 42, 0x82, 1)]
    assert feed(scale, codec.delete_all(1)) == [codec.Answer(True, codec.PLU, 0, 0, 1)]
    assert scale.memory.table() == {}


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"number": 0}, 82),
        ({"number": 1_000_000}, 82),
        ({"department": 0}, 82),
        ({"department": 100}, 82),
        ({"type": 0}, 97),
        ({"unit_weight": 0}, 97),
        ({"unit_price": 10_000_000}, 97),
        ({"tare": 100_000}, 97),
        ({"sell_by_date": 10_000}, 97),
        ({"barcode": 100}, 97),
    ],
)
def test_out_of_range_fields_are_refused(fields: dict[str, int], code: int) -> None:
    scale = emulator()
    (answer,) = feed(scale, record_frame(**fields))
    assert (answer.ok, answer.code) == (False, code)
    assert scale.memory.table() == {}
    assert scale.refused[code] == 1


def test_data_of_a_wrong_size_is_refused() -> None:
    scale = emulator()
    short = codec.write_plu(1, codec.encode_record(codec.PluRecord(1, 5, 1, "x"))[:100])
    (answer,) = feed(scale, short)
    assert (answer.ok, answer.code, answer.number) == (False, 97, 1_000_005)


def test_a_bad_checksum_or_tail_is_refused_with_84() -> None:
    scale = emulator()
    frame = bytearray(plu_frame(SAUSAGE))
    frame[-2] ^= 0x01
    assert feed(scale, bytes(frame)) == [codec.Answer(False, codec.PLU, 1_000_042, 84, 1)]
    frame = bytearray(plu_frame(SAUSAGE))
    frame[-1] = 0x0A
    assert [a.code for a in feed(scale, bytes(frame))] == [84]
    assert scale.memory.table() == {}


def test_a_length_beyond_any_frame_is_refused_at_once() -> None:
    scale = emulator()
    header = codec.HEADER.pack(b"W", b"L", 1, b",", codec.MAX_DATA + 1, b":")
    assert [a.code for a in feed(scale, header)] == [84]


def test_unknown_data_types_and_reads_are_refused_with_95() -> None:
    scale = emulator()
    (answer,) = feed(scale, codec.frame_bytes(codec.WRITE, ord("X"), 1, b"\x05\x00\x00\x00"))
    assert (answer.ok, answer.code, answer.number, answer.scale_id) == (False, 95, 5, 0)
    (answer,) = feed(scale, codec.frame_bytes(codec.READ, codec.PLU, 1, b"\x01\x00\x00\x00"))
    assert answer.code == 95


def test_status() -> None:
    scale = emulator(scale_id=7)
    reply = scale.feed(bytearray(codec.read_status(1)))
    frame = codec.decode(reply)
    assert (frame.command, frame.address) == (b"W", 7)
    assert codec.parse_status(frame) == codec.Status()


def test_barcode_format_one_becomes_the_label_template() -> None:
    scale = emulator()
    for number, template in ((2, DEFAULT_TEMPLATES[1]), (1, DEFAULT_TEMPLATES[0])):
        record = codec.BarcodeRecord(number, codec.BARCODE_EAN13, codec.barcode_format(template))
        assert feed(scale, codec.write_barcode(1, record)) == [
            codec.Answer(True, codec.BARCODE, number, 0, 1)
        ]
    assert scale.memory.template is not None
    assert scale.memory.template.model_copy(update={"name": "weight"}) == DEFAULT_TEMPLATES[0]
    assert set(scale.barcodes) == {1, 2}
    (answer,) = feed(scale, codec.write_barcode(1, codec.BarcodeRecord(21, 1, "21IIIIIWWWWWC")))
    assert (answer.ok, answer.code) == (False, 82)
    (answer,) = feed(scale, codec.frame_bytes(codec.WRITE, codec.BARCODE, 1, b"\x01\x00\x00\x00\x01"))
    assert (answer.ok, answer.code) == (False, 97)


def read_keys(scale: CasEmulator, key_set: int) -> codec.KeyTable:
    return codec.parse_keys(codec.decode(scale.feed(bytearray(codec.read_keys(1, key_set)))))


def test_a_key_set_is_kept_and_read_back() -> None:
    scale = emulator()
    assert read_keys(scale, 1) == codec.KeyTable(1, 1)  # never written: every key empty, a B keyboard
    table = codec.KeyTable(1, 1, codec.keys_of({1: 42, 3: 7}))
    assert feed(scale, codec.write_keys(1, table)) == [
        codec.Answer(True, codec.SPEED_KEYS, 0x0001_0001, 0, 1)
    ]
    assert scale.memory.key_table(1)[:4] == (42, 0, 7, 0)
    assert read_keys(scale, 1) == table
    # Set 5 holds a self-service keyboard's extra keys: any keyboard type is taken, and 5 is read back.
    extra = codec.KeyTable(5, 4, codec.keys_of({100: 9}))
    assert feed(scale, codec.write_keys(1, extra))[0].ok
    assert read_keys(scale, 5) == codec.KeyTable(5, 5, extra.plus)


KEYLESS = codec.encode_keys(codec.KeyTable(1, 1))


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (codec.write_keys(1, codec.KeyTable(0, 1)), 82),  # no set 0
        (codec.write_keys(1, codec.KeyTable(6, 1)), 82),  # nor 6
        (codec.write_keys(1, codec.KeyTable(1, 2)), 82),  # a pole keyboard's set, on a bench scale
        (codec.frame_bytes(codec.WRITE, codec.SPEED_KEYS, 1, KEYLESS[:-4]), 97),  # not a whole set
        (codec.write_keys(1, codec.KeyTable(1, 1, (1_000_000, *codec.NO_KEYS[1:]))), 97),  # no such PLU
        (codec.read_keys(1, 9), 82),
    ],
)
def test_a_key_set_the_scale_cannot_take_is_refused(frame: bytes, code: int) -> None:
    scale = emulator()
    (answer,) = feed(scale, frame)
    assert (answer.ok, answer.code, answer.data_type) == (False, code, codec.SPEED_KEYS)
    assert answer.number == int.from_bytes(frame[10:14], "little")
    assert scale.memory.key_table(1) == () and scale.refused[code] == 1


def test_a_full_memory_refuses_new_plus_but_takes_changes() -> None:
    scale = emulator(capacity=2)
    feed(scale, plu_frame(Plu(1, 1, "a", 1)) + plu_frame(Plu(2, 2, "b", 1)))
    (answer,) = feed(scale, plu_frame(Plu(3, 3, "c", 1)))
    assert (answer.ok, answer.code) == (False, 89)
    (answer,) = feed(scale, plu_frame(Plu(2, 2, "b2", 1)))
    assert answer.ok
    assert scale.memory.table()[2].name == "b2"


GUARDED = st.sampled_from(["address", "data", "colon", "checksum"])


@given(
    plu=st.builds(
        Plu,
        number=st.integers(1, 999_999),
        item_code=st.integers(0, 999_999),
        name=st.text(max_size=60),
        price=st.integers(0, 9_999_999),
    ),
    where=GUARDED,
    data=st.data(),
)
def test_any_corrupted_byte_is_refused_and_nothing_stored(plu: Plu, where: str, data: st.DataObject) -> None:
    frame = bytearray(plu_frame(plu))
    at = {
        "address": data.draw(st.integers(2, 5)),
        "data": data.draw(st.integers(10, len(frame) - 4)),
        "colon": len(frame) - 3,
        "checksum": len(frame) - 2,
    }[where]
    frame[at] ^= data.draw(st.integers(1, 255))
    scale = emulator()
    replies = answers(scale.feed(bytearray(frame)))
    assert [(a.ok, a.code) for a in replies] == [(False, 84)]
    assert scale.memory.table() == {}


# --- on its socket ------------------------------------------------------------------------------------


def read_answer(sock: socket.socket) -> codec.Frame:
    raw = b""
    while len(raw) < 10 or len(raw) < codec.frame_size(raw[:10]):
        chunk = sock.recv(4096)
        assert chunk, "the emulator closed the connection"
        raw += chunk
    return codec.decode(raw)


def test_a_frame_that_stops_half_way_is_refused_after_half_a_second() -> None:
    with start_cas_emulator() as running, socket.create_connection(("127.0.0.1", running.port)) as sock:
        sock.settimeout(3)
        frame = plu_frame(SAUSAGE)
        started = time.monotonic()
        sock.sendall(frame[:60])
        answer = codec.parse_answer(read_answer(sock))
        assert time.monotonic() - started >= PARTIAL_FRAME_TIMEOUT * 0.9
        assert (answer.ok, answer.code, answer.number) == (False, 84, 1_000_042)
        sock.sendall(frame)  # the scale forgot the broken one and reads the next afresh
        assert codec.parse_answer(read_answer(sock)).ok
        assert running.memory.table() == {42: SAUSAGE}


def test_busy_holds_frames_unanswered_until_idle() -> None:
    with start_cas_emulator() as running, socket.create_connection(("127.0.0.1", running.port)) as sock:
        running.busy = True
        sock.settimeout(0.3)
        sock.sendall(plu_frame(SAUSAGE))
        with pytest.raises(TimeoutError):
            sock.recv(100)
        assert running.memory.table() == {}
        running.busy = False
        sock.settimeout(3)
        assert codec.parse_answer(read_answer(sock)).ok
        assert running.address == f"127.0.0.1:{running.port}"
