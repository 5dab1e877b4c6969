"""Words in the user's language. Messages are written in English in the code (and in templates) and
translated from gettext catalogs that people edit: ``<package>/locale/<language>/LC_MESSAGES/*.po``.
The catalogs are compiled in memory the first time a language is needed, so there is no build step
and no stale ``.mo`` file to forget. Russian is the default language of every screen.

A message with values names them, ``"No product with the barcode {code}"``, so a translation can put
them where its grammar wants them; :func:`render` fills them in after translating.
"""

from __future__ import annotations

import gettext
from collections.abc import Iterator, Mapping
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from io import BytesIO

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LANGUAGES = ("ru", "en")
DEFAULT_LANGUAGE = "ru"
LANGUAGE_NAMES = {"ru": "Русский", "en": "English"}


def N_(message: str) -> str:
    """Marks ``message`` for the catalogs without translating it here: it is translated where it is
    shown, in the language of whoever looks at it."""
    return message


def language_of(value: str | None) -> str:
    """The language asked for when we have it, else the default."""
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


def catalog_files(package: str, language: str) -> Iterator[Traversable]:
    folder = files(package) / "locale" / language / "LC_MESSAGES"
    if folder.is_dir():
        yield from sorted((f for f in folder.iterdir() if f.name.endswith(".po")), key=lambda f: f.name)


def read_catalog(package: str, language: str) -> Catalog:
    """All of a package's catalogs for ``language`` as one (a program may split its messages in files)."""
    merged = Catalog(locale=language)
    for po in catalog_files(package, language):
        with po.open("rb") as stream:
            for message in read_po(stream, locale=language):
                if message.id:
                    merged[message.id] = message
    return merged


@cache
def translations(package: str, language: str, *others: str) -> gettext.NullTranslations:
    """``package``'s words for ``language``; ``others`` add theirs where it has none (a till's screen
    shows the refusals of the processing center it asks, in the center's words)."""
    catalog = read_catalog(package, language)
    for other in others:
        for message in read_catalog(other, language):
            if message.id and message.id not in catalog:
                catalog[message.id] = message
    if not len(catalog):
        return gettext.NullTranslations()
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def render(translation: gettext.NullTranslations, message: str, params: Mapping[str, object]) -> str:
    """``message`` translated, with its named values filled in; a value that is itself a phrase (it has
    a ``template`` and ``params``, like "Line 3: the price") is translated the same way."""
    translated = translation.gettext(message)
    if not params:
        return translated
    return translated.format(**{name: _word(translation, value) for name, value in params.items()})


def _word(translation: gettext.NullTranslations, value: object) -> object:
    template, params = getattr(value, "template", None), getattr(value, "params", None)
    if isinstance(template, str) and isinstance(params, Mapping):
        return render(translation, template, params)
    return value
