"""The scale server's web page: the scales, their state, last upload and errors, and "upload now"."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from osuite.core.i18n import LANGUAGES, language_of
from osuite.core.web import templates
from osuite.scales import service
from osuite.scales.service import Scales

router = APIRouter(include_in_schema=False)
KEY_COOKIE, LANGUAGE_COOKIE = "scales_key", "scales_language"


def _language(request: Request) -> str:
    return language_of(request.cookies.get(LANGUAGE_COOKIE))


def _page(request: Request, name: str, status_code: int = 200, **values: Any) -> HTMLResponse:
    env = templates("osuite.scales.ui", _language(request))
    return HTMLResponse(env.get_template(name).render(request=request, **values), status_code=status_code)


def _scales(request: Request) -> Scales:
    scales: Scales = request.app.state.scales
    return scales


def _signed_in(request: Request) -> bool:
    token = request.cookies.get(KEY_COOKIE)
    return bool(token) and request.app.state.authenticate(token) is not None


def _to_login(request: Request) -> Response:
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": "/login"})
    return RedirectResponse("/login", status_code=303)


@router.get("/login")
def login_page(request: Request) -> Response:
    return _page(request, "login.html")


@router.post("/login")
def login(request: Request, key: Annotated[str, Form()] = "") -> Response:
    if not key.strip() or request.app.state.authenticate(key.strip()) is None:
        return _page(request, "login.html", status_code=401, refused=True)
    answer = RedirectResponse("/", status_code=303)
    answer.set_cookie(KEY_COOKIE, key.strip(), httponly=True, samesite="strict")
    return answer


@router.post("/logout")
def logout() -> Response:
    answer = RedirectResponse("/login", status_code=303)
    answer.delete_cookie(KEY_COOKIE)
    return answer


@router.get("/lang/{code}")
def choose_language(request: Request, code: str) -> Response:
    answer = RedirectResponse(request.headers.get("referer") or "/", status_code=303)
    if code in LANGUAGES:
        answer.set_cookie(LANGUAGE_COOKIE, code, samesite="strict", max_age=365 * 24 * 3600)
    return answer


@router.get("/")
async def home(request: Request) -> Response:
    if not _signed_in(request):
        return _to_login(request)
    return await run_in_threadpool(lambda: _page(request, "scales.html", scales=_list(request)))


@router.get("/ui/scales")
async def table(request: Request) -> Response:
    if not _signed_in(request):
        return _to_login(request)
    return await run_in_threadpool(lambda: _page(request, "table.html", scales=_list(request)))


@router.post("/ui/scales/{scale_id}/upload")
async def upload_now(request: Request, scale_id: str, full: bool = False) -> Response:
    if not _signed_in(request):
        return _to_login(request)

    def order() -> Response:
        service.order_upload(_scales(request), scale_id, full=full)
        return _page(request, "table.html", scales=_list(request))

    return await run_in_threadpool(order)


def _list(request: Request) -> list[dict[str, Any]]:
    with _scales(request).db.read() as conn:
        return service.list_scales(conn)
