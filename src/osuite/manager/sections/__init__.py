"""The Manager's sections, in the order the menu shows them. Each module has its ``SECTION`` and its
``router``; a section whose program is not configured is neither shown nor served."""

from __future__ import annotations

from fastapi import APIRouter

from osuite.manager.sections import catalog, licenses, loyalty, people, sales, scales, terminals
from osuite.manager.web import Section

_MODULES = (terminals, catalog, sales, loyalty, scales, people, licenses)
ALL: tuple[Section, ...] = tuple(m.SECTION for m in _MODULES)
ROUTERS: tuple[APIRouter, ...] = tuple(m.router for m in _MODULES)
