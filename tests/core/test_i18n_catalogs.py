"""Every message a program marks for translation (``N_``/``_`` in its code, ``{% trans %}``/``_()`` in
its templates) has Russian words in the program's catalogs, naming the same values as the English."""

from __future__ import annotations

import pkgutil
import re
from collections import defaultdict
from collections.abc import Iterable
from functools import cache
from gettext import GNUTranslations, NullTranslations
from importlib.resources import files
from io import BytesIO
from pathlib import Path
from string import Formatter

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

import osuite
from osuite.core.i18n import (
    DEFAULT_LANGUAGE,
    catalog_files,
    language_of,
    read_catalog,
    render,
    translations,
)

KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None, "_": None, "gettext": None, "ngettext": (1, 2)}
TEMPLATES = "**/templates/**.html"
SOURCES = {
    "python": ([("**.py", "python")], {}),
    "templates": ([(TEMPLATES, "jinja2.ext:babel_extract")], {TEMPLATES: {"extensions": "jinja2.ext.i18n"}}),
}
"""What is read for messages: the code, and the Jinja2 templates (none yet is fine)."""

PROGRAMS = sorted(
    module.name
    for module in pkgutil.iter_modules(osuite.__path__, "osuite.")
    if module.ispkg and (files(module.name) / "locale").is_dir()
)

Found = tuple[str, int]  # file (relative to the package) and line


@cache
def extracted(program: str, source: str) -> dict[str | tuple[str, ...], list[Found]]:
    """Each message marked in ``program``'s code or templates, with where it is marked."""
    method_map, options_map = SOURCES[source]
    folder = Path(str(files(program)))
    found: dict[str | tuple[str, ...], list[Found]] = defaultdict(list)
    for filename, lineno, message, _comments, _context in extract_from_dir(
        folder, method_map=method_map, options_map=options_map, keywords=KEYWORDS
    ):
        found[message].append((filename, lineno))
    return dict(found)


def placeholders(text: str) -> set[str]:
    """The values a message names: ``{name}`` for code, ``%(name)s`` for templates' gettext."""
    named = {f"%({name})" for name in re.findall(r"%\((\w+)\)", text)}
    return named | {field for _, field, _, _ in Formatter().parse(text) if field is not None}


def forms(text: str | Iterable[str] | None) -> list[str]:
    if text is None:
        return [""]
    return [text] if isinstance(text, str) else list(text)


def test_the_programs_and_their_messages_are_found() -> None:
    assert "osuite.pos" in PROGRAMS
    assert {"osuite.processing", "osuite.scales"} <= set(PROGRAMS)
    for program in PROGRAMS:
        folder = Path(str(files(program)))
        if any(folder.glob("**/templates/**/*.html")):  # the extractor is there and reads them
            assert extracted(program, "templates"), program
        else:  # a program without a web page has its words in its code
            assert extracted(program, "python"), program


@pytest.mark.parametrize("source", sorted(SOURCES))
@pytest.mark.parametrize("program", PROGRAMS)
def test_every_marked_message_has_a_russian_translation(program: str, source: str) -> None:
    catalog = read_catalog(program, "ru")
    missing: dict[str, list[str]] = defaultdict(list)
    for message, places in extracted(program, source).items():
        entry = catalog.get(message)
        untranslated = entry is None or not all(forms(entry.string)) or entry.fuzzy
        if untranslated:
            msgid = message if isinstance(message, str) else message[0]
            why = "fuzzy" if entry is not None and entry.fuzzy else "no translation"
            filename, lineno = places[0]
            missing[filename].append(f"    line {lineno}: {msgid!r} ({why})")
    root = program.replace(".", "/")
    assert not missing, (
        f"{program}: messages of its {'code' if source == 'python' else source} with no Russian words in"
        f" {root}/locale/ru/LC_MESSAGES/*.po:\n"
        + "\n".join(f"  {root}/{name}:\n" + "\n".join(lines) for name, lines in sorted(missing.items()))
    )


@pytest.mark.parametrize("program", PROGRAMS)
def test_every_translation_names_the_values_of_its_message(program: str) -> None:
    wrong = []
    for entry in read_catalog(program, "ru"):
        if not entry.id:
            continue
        ids = forms(entry.id)
        expected = placeholders(ids[-1])  # of a plural, the general form: a Russian one covers 21 too
        for translated in forms(entry.string):
            try:
                used = placeholders(translated)
            except ValueError as exc:  # a lone brace
                wrong.append(f"  {ids[0]!r}: {translated!r} cannot be filled in ({exc})")
                continue
            if translated and used != expected:
                wrong.append(f"  {ids[0]!r}: {translated!r} names {sorted(used)}, not {sorted(expected)}")
    listing = "\n".join(wrong)
    assert not wrong, f"{program}: translations whose values differ from their message's:\n{listing}"


@pytest.mark.parametrize("program", PROGRAMS)
def test_a_message_in_two_catalogs_reads_the_same_in_both(program: str) -> None:
    said: dict[str, dict[str, object]] = defaultdict(dict)
    for po in catalog_files(program, "ru"):
        with po.open("rb") as stream:
            for entry in read_po(stream, locale="ru"):
                if entry.id:
                    said[forms(entry.id)[0]][po.name] = entry.string
    differing = {msgid: where for msgid, where in said.items() if len(set(map(str, where.values()))) > 1}
    assert not differing, f"{program}: messages translated differently in two catalogs: {differing}"


# --- rendering ---------------------------------------------------------------------------------------


def compiled(pairs: dict[str, str]) -> NullTranslations:
    catalog = Catalog(locale="ru")
    for message, translated in pairs.items():
        catalog.add(message, translated)
    stream = BytesIO()
    write_mo(stream, catalog)
    stream.seek(0)
    return GNUTranslations(stream)


def test_render_translates_first_then_fills_in_the_values() -> None:
    russian = compiled({"{count} items on receipt {number}": "В чеке {number} позиций: {count}"})
    values = {"count": 3, "number": "{not a field}"}
    assert render(russian, "{count} items on receipt {number}", values) == "В чеке {not a field} позиций: 3"
    assert render(NullTranslations(), "{count} items on receipt {number}", values) == (
        "3 items on receipt {not a field}"
    )
    assert render(russian, "Not in the catalog: {what}", {"what": "kept"}) == "Not in the catalog: kept"
    assert render(russian, "No values {here}", {}) == "No values {here}"


def test_a_phrase_inside_a_message_is_translated_with_it() -> None:
    from osuite.pos.domain.errors import Phrase

    russian = compiled(
        {"{what} is negative": "{what}: отрицательное значение", "Line {n}: the price": "Строка {n}: цена"}
    )
    shown = render(russian, "{what} is negative", {"what": Phrase("Line {n}: the price", n=3)})
    assert shown == "Строка 3: цена: отрицательное значение"
    assert render(NullTranslations(), "{what} is negative", {"what": Phrase("Line {n}: the price", n=3)}) == (
        "Line 3: the price is negative"
    )


def test_a_refusal_of_the_pos_reads_in_russian() -> None:
    from osuite.pos.receipts import NeedsAgeCheck

    refusal = NeedsAgeCheck(18, "Вино красное")
    assert refusal.message == "Вино красное is sold from the age of 18: check the customer's ID and confirm"
    shown = render(translations("osuite.pos", "ru"), refusal.template, refusal.params)
    assert shown == "«Вино красное» продаётся с ограничением 18+: проверьте документ покупателя и подтвердите"


def test_an_unknown_language_falls_back_to_the_default() -> None:
    assert DEFAULT_LANGUAGE == "ru"
    assert language_of("en") == "en"
    assert language_of("ru") == "ru"
    for unknown in ("de", "", "RU", "en-GB", None):
        assert language_of(unknown) == DEFAULT_LANGUAGE
