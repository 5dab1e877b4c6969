"""Scales: every label scale the scale server loads, with its state and last upload, refreshed as it
goes; a scale's page with what it holds (each PLU and the scale's answer) and its last uploads; and, for
those whose role allows it, an upload now, a full reload of one scale, or of all of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import ceil
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from osuite.core.i18n import N_
from osuite.manager.roles import Action
from osuite.manager.sessions import User
from osuite.manager.web import CurrentUser, Section, allowed, backends, page, remember
from osuite.scales.client import PluRead, ScaleRead, ScalesClient, ScaleServerError

SECTION = Section("scales", N_("Scales"), "/scales", lambda b: b.scales is not None)
router = APIRouter(include_in_schema=False)
Uploader = Annotated[User, Depends(allowed(Action.UPLOAD_SCALES))]

PER_PAGE = 50
Condition = Literal["off", "unknown", "busy", "online", "offline"]
CONDITION_WORDS: dict[Condition, str] = {
    "off": N_("switched off"),
    "unknown": N_("not polled yet"),
    "busy": N_("busy"),
    "online": N_("online"),
    "offline": N_("not answering"),
}
BADGES: dict[Condition, str] = {
    "off": "revoked",
    "unknown": "",
    "busy": "error",
    "online": "online",
    "offline": "offline",
}


def condition(scale: ScaleRead) -> Condition:
    """How a scale is, in one word: a scale switched off in the inventory is not asked at all, so its
    last state says nothing; one never asked yet is neither online nor offline."""
    if not scale.enabled:
        return "off"
    if scale.state.checked_at is None:
        return "unknown"
    if scale.state.busy:
        return "busy"
    return "online" if scale.state.online else "offline"


@dataclass(frozen=True)
class PluPage:
    items: list[PluRead]
    page: int
    pages: int
    matched: int
    total: int


def plu_page(
    plus: Sequence[PluRead],
    *,
    query: str = "",
    refused: bool = False,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> PluPage:
    """One page of a scale's PLUs: ``query`` is a PLU number or words of the product's name (each word
    anywhere in it, in any case), ``refused`` keeps those the scale did not accept; a page past the last
    shows the last."""
    words = query.casefold().split()
    number = int(query) if query.strip().isdigit() else None

    def wanted(plu: PluRead) -> bool:
        if refused and plu.accepted:
            return False
        name = plu.name.casefold()
        return plu.number == number or all(word in name for word in words)

    found = [plu for plu in plus if wanted(plu)]
    pages = max(1, ceil(len(found) / per_page))
    shown = min(max(1, page), pages)
    start = (shown - 1) * per_page
    return PluPage(found[start : start + per_page], shown, pages, len(found), len(plus))


def plu_query(query: str, refused: bool, page: int) -> str:
    """The query string of a page of PLUs, naming only what is asked (an unchecked box is not sent)."""
    asked: dict[str, str | int] = {"q": query} if query else {}
    if refused:
        asked["refused"] = "true"
    asked["page"] = page
    return urlencode(asked)


def _client(request: Request) -> ScalesClient:
    client = backends(request).scales
    assert client is not None  # the section is only shown when there is one
    return client


def _table(request: Request, notice: str = "") -> dict[str, Any]:
    """The scales, or the scale server's refusal in their place: the list keeps refreshing and shows
    the scales again as soon as it answers."""
    try:
        scales, error = _client(request).scales(), None
    except ScaleServerError as exc:
        scales, error = [], exc
    return {
        "scales": scales,
        "error": error,
        "notice": notice,
        "condition": condition,
        "words": CONDITION_WORDS,
        "badges": BADGES,
    }


@router.get("/scales")
def index(request: Request, user: CurrentUser) -> Response:
    return page(request, user, "scales.html", section="scales", **_table(request))


@router.get("/scales/table")
def table(request: Request, user: CurrentUser) -> Response:
    return page(request, user, "scales/table.html", **_table(request))


@router.post("/scales/reload")
def reload_all(request: Request, user: Uploader) -> Response:
    _client(request).reload_all()
    remember(request, user, "scales", "reload all", "*")
    if not request.headers.get("hx-request"):
        return RedirectResponse("/scales", status_code=303)
    notice = N_("Every scale will be reloaded in full.")
    return page(request, user, "scales/table.html", **_table(request, notice))


def _live(client: ScalesClient, scale: ScaleRead, notice: str = "") -> dict[str, Any]:
    """What the live part of a scale's page shows: its state and its last uploads."""
    return {
        "scale": scale,
        "uploads": client.uploads(scale.id),
        "notice": notice,
        "condition": condition(scale),
        "words": CONDITION_WORDS,
        "badges": BADGES,
    }


def _plus(client: ScalesClient, scale_id: str, query: str, refused: bool, number: int) -> dict[str, Any]:
    plus = client.plus(scale_id)
    return {
        "scale_id": scale_id,
        "shown": plu_page(plus, query=query, refused=refused, page=number),
        "query": query,
        "refused": refused,
        "priced": any(plu.price is not None for plu in plus),
        "plu_query": plu_query,
    }


Query_ = Annotated[str, Query(max_length=200)]
PageNo = Annotated[int, Query(alias="page", ge=1)]


@router.get("/scales/{scale_id}")
def scale_page(
    request: Request,
    user: CurrentUser,
    scale_id: str,
    q: Query_ = "",
    refused: bool = False,
    number: PageNo = 1,
) -> Response:
    client = _client(request)
    scale = client.scale(scale_id)
    return page(
        request,
        user,
        "scales/scale.html",
        section="scales",
        **_live(client, scale),
        **_plus(client, scale_id, q, refused, number),
    )


@router.get("/scales/{scale_id}/live")
def live(request: Request, user: CurrentUser, scale_id: str) -> Response:
    client = _client(request)
    return page(request, user, "scales/live.html", **_live(client, client.scale(scale_id)))


@router.get("/scales/{scale_id}/plus")
def plus(
    request: Request,
    user: CurrentUser,
    scale_id: str,
    q: Query_ = "",
    refused: bool = False,
    number: PageNo = 1,
) -> Response:
    return page(request, user, "scales/plus.html", **_plus(_client(request), scale_id, q, refused, number))


@router.post("/scales/{scale_id}/upload")
def upload(
    request: Request, user: Uploader, scale_id: str, full: Annotated[bool, Form()] = False
) -> Response:
    client = _client(request)
    scale = client.scale(scale_id)
    client.upload(scale_id, full=full)
    remember(request, user, "scales", "full reload" if full else "upload", scale.name)
    if not request.headers.get("hx-request"):
        return RedirectResponse(f"/scales/{scale_id}", status_code=303)
    ordered = N_("A full reload is ordered.") if full else N_("An upload is ordered.")
    return page(request, user, "scales/live.html", **_live(client, client.scale(scale_id), ordered))
