"""Reading ESC/POS as a printer does: the text python-escpos sends comes back out, whatever the packet
boundaries, and data inside images or QR codes is never taken for text or for a status request."""

from __future__ import annotations

from escpos.printer import Dummy
from hypothesis import given
from hypothesis import strategies as st

from osuite.devices.escpos_parse import EscPosStream, render
from osuite.devices.receipt_layout import render_text

CYRILLIC = "".join(chr(c) for c in range(ord("А"), ord("я") + 1)) + "Ёё№"
PRINTABLE = CYRILLIC + "".join(chr(c) for c in range(0x20, 0x7F))


def test_cyrillic_text_in_cp866() -> None:
    printer = Dummy()
    printer.set(align="center", bold=True, double_height=True)
    printer.textln("КАССОВЫЙ ЧЕК № 5")
    printer.set(align="left", bold=False, normal_textsize=True)
    printer.textln("ИТОГ =123.45")
    printer.cut()
    parsed = render(printer.output)
    assert parsed.text.startswith("КАССОВЫЙ ЧЕК № 5\nИТОГ =123.45\n")
    assert parsed.cuts == 1
    assert b"\x1bt\x11" in printer.output  # ESC t 17: CP866


def test_other_code_pages_python_escpos_switches_to() -> None:
    printer = Dummy()
    printer.textln("Цена × 2 – «скидка»")
    assert render(printer.output).text == "Цена × 2 – «скидка»\n"


def test_qr_codes_drawer_kicks_and_status_requests() -> None:
    printer = Dummy()
    printer.qr("t=20261124T0900&s=45.00&fn=1&i=2&fp=3&n=1", native=True)
    printer.cashdraw(2)
    stream = EscPosStream()
    assert stream.feed(printer.output + b"\x10\x04\x01\x10\x04\x04") == [1, 4]
    assert stream.parsed.qr_codes == ["t=20261124T0900&s=45.00&fn=1&i=2&fp=3&n=1"]
    assert stream.parsed.drawer_kicks == 1
    assert stream.text == ""


def test_status_bytes_inside_an_image_are_image_data() -> None:
    image = b"\x1dv0\x00\x03\x00\x01\x00" + b"\x10\x04\x01"  # GS v 0: 3 bytes wide, 1 dot high
    stream = EscPosStream()
    assert stream.feed(image[:5]) == []
    assert stream.feed(image[5:] + b"\x10\x04") == []
    assert stream.feed(b"\x02ok\n") == [2]
    assert stream.text == "ok\n"


@given(st.lists(st.text(PRINTABLE, max_size=40), min_size=1, max_size=6), st.data())
def test_what_was_sent_is_what_is_read_whatever_the_packets(lines: list[str], data: st.DataObject) -> None:
    job = render_text(lines)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(job)), max_size=8)))
    stream = EscPosStream()
    for start, end in zip([0, *cuts], [*cuts, len(job)], strict=True):
        assert stream.feed(job[start:end]) == []
    assert stream.text.startswith("".join(line + "\n" for line in lines))
    assert stream.text.strip("\n") == "\n".join(lines).strip("\n")
    assert stream.parsed.cuts == 1
