"""What every program's web UI shares: Jinja2 templates that speak the user's language, numbers written
the way that language writes them, and the vendored htmx served from the package (a store may have no
internet, so nothing comes from a CDN)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import cache
from pathlib import Path

from babel.dates import format_datetime
from babel.numbers import format_decimal
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, select_autoescape

from osuite.core.i18n import LANGUAGE_NAMES, LANGUAGES, translations

CORE_STATIC = Path(__file__).with_name("static")
UNITS = {"ru": {"kg": "кг", "pcs": "шт"}, "en": {"kg": "kg", "pcs": "pcs"}}


def money(minor: int, language: str) -> str:
    """``123450`` → ``"1 234,50"`` in Russian, ``"1,234.50"`` in English."""
    return format_decimal(Decimal(minor) / 100, format="#,##0.00", locale=language)


def quantity(value: str | Decimal, weighted: bool, language: str) -> str:
    """A weight with its three places and unit (``"1,234 кг"``); a count of pieces as a whole number."""
    amount = Decimal(value)
    if weighted:
        return f"{format_decimal(amount, format='0.000', locale=language)} {UNITS[language]['kg']}"
    return format_decimal(amount, format="#,##0.###", locale=language)


def moment(value: str | datetime, language: str) -> str:
    """A moment as a person reads it, in the computer's time zone: ``25 нояб. 2026 г., 04:19:38`` in
    Russian, ``Nov 25, 2026, 4:19:38 AM`` in English."""
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return format_datetime(when.astimezone(), format="medium", locale=language)


@cache
def templates(package: str, language: str) -> Environment:
    """The templates of ``package``/templates for one language (an environment per language, since
    Jinja's gettext functions belong to the environment and requests in both languages run at once)."""
    env = Environment(
        loader=PackageLoader(package, "templates"),
        autoescape=select_autoescape(default=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    program = package.rpartition(".ui")[0] or package
    env.install_gettext_translations(translations(program, language), newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(language=language, languages=LANGUAGES, language_names=LANGUAGE_NAMES)
    env.filters["money"] = lambda minor: money(int(minor), language)
    env.filters["quantity"] = lambda value, weighted=False: quantity(value, weighted, language)
    env.filters["moment"] = lambda value: moment(value, language)
    return env


def mount_static(app: FastAPI, folder: Path) -> None:
    """The program's own files at ``/static``, the shared ones (htmx) at ``/static/core``."""
    app.mount("/static/core", StaticFiles(directory=CORE_STATIC), name="core-static")
    app.mount("/static", StaticFiles(directory=folder), name="static")
