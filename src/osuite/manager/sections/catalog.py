"""Catalog: the data server's categories, products with their barcodes and prices per store, barcode
templates, promotions and CSV import; after a change, which terminals have it already.

Everything is read from and written to the data server through its published client; a refusal of it
is shown next to the form that was sent, and nothing changed."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar, get_args

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.datastructures import FormData, UploadFile

from osuite.core.barcodes import BarcodeTemplate, TemplateKind
from osuite.core.i18n import N_
from osuite.core.money import MoneyError, format_money, parse_money
from osuite.dataserver.client import DataServerClient, DataServerError
from osuite.dataserver.wire.catalog import (
    BarcodeRead,
    BarcodeTemplateRead,
    CategoryRead,
    ImportKind,
    ImportReport,
    Page,
    PriceRead,
    PriceUpdate,
    ProductRead,
    ProductUpdate,
    PromotionKind,
    PromotionRead,
    PromotionUpdate,
    Unit,
    VatRate,
)
from osuite.dataserver.wire.clients import ClientRead, StoreRead
from osuite.manager.roles import Action
from osuite.manager.sessions import User
from osuite.manager.web import CurrentUser, Section, allowed, backends, page, remember

SECTION = Section("catalog", N_("Catalog"), "/catalog", lambda _backends: True)
router = APIRouter(include_in_schema=False)

Editor = Annotated[User, Depends(allowed(Action.EDIT_CATALOG))]
PAGE_SIZE = 50
SEARCHES = ("name", "article", "barcode")
UNITS = get_args(Unit)
VAT_RATES = get_args(VatRate)
TEMPLATE_KINDS = get_args(TemplateKind)
IMPORT_KINDS = get_args(ImportKind)
PROMOTION_KINDS = get_args(PromotionKind)
REACH_REFRESH_SECONDS = 2

M = TypeVar("M", bound=BaseModel)
_products = TypeAdapter(Page[ProductRead])
_categories = TypeAdapter(Page[CategoryRead])
_barcodes = TypeAdapter(Page[BarcodeRead])
_templates = TypeAdapter(Page[BarcodeTemplateRead])


class FormProblem(ValueError):
    """What a person typed cannot be sent: said next to the form, in English (the data server's own
    refusals are in English too)."""


# --- pure pieces: what a form means, how lists are shown --------------------------------------------


def search_params(by: str, text: str, category_id: str = "") -> dict[str, str]:
    """The data server's product filters for a search box: a name part, an exact article or barcode."""
    params: dict[str, str] = {}
    words = text.strip()
    if words:
        params[{"name": "q", "article": "article", "barcode": "barcode"}.get(by, "q")] = words
    if category_id:
        params["category_id"] = category_id
    return params


def category_tree(categories: Sequence[CategoryRead]) -> list[tuple[int, CategoryRead]]:
    """Categories in the order of the tree with their depth; one whose parent is missing (or which is
    caught in a loop) is shown at the top rather than lost."""
    children: dict[str | None, list[CategoryRead]] = {}
    ids = {c.id for c in categories}
    for c in categories:
        children.setdefault(c.parent_id if c.parent_id in ids else None, []).append(c)
    for siblings in children.values():
        siblings.sort(key=lambda c: (c.sort, c.name.casefold()))
    shown: list[tuple[int, CategoryRead]] = []
    seen: set[str] = set()

    def walk(parent: str | None, depth: int) -> None:
        for c in children.get(parent, []):
            if c.id not in seen:
                seen.add(c.id)
                shown.append((depth, c))
                walk(c.id, depth + 1)

    walk(None, 0)
    for c in categories:
        if c.id not in seen:
            seen.add(c.id)
            shown.append((0, c))
            walk(c.id, 1)
    return shown


def _text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _validated(model: type[M], values: Mapping[str, Any]) -> M:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise FormProblem(
            "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'form'}: {e['msg']}"
                for e in exc.errors(include_url=False)
            )
        ) from None


def product_update(form: Mapping[str, Any]) -> ProductUpdate:
    """A product's edit form as the data server's full replacement (an unticked box is false)."""
    return _validated(
        ProductUpdate,
        {
            "article": _text(form, "article"),
            "name": _text(form, "name"),
            "unit": _text(form, "unit"),
            "weighted": bool(form.get("weighted")),
            "vat_rate": _text(form, "vat_rate"),
            "category_id": _text(form, "category_id") or None,
            "age_limit": _text(form, "age_limit") or "0",
            "active": bool(form.get("active")),
        },
    )


def price_update(text: str) -> PriceUpdate:
    """A price as people type it in rubles (``129,90``) in kopecks."""
    try:
        kopecks = parse_money(text)
    except MoneyError:
        raise FormProblem(f"{text.strip() or 'an empty price'!r} is not a price in rubles") from None
    return _validated(PriceUpdate, {"price": kopecks})


def template_update(form: Mapping[str, Any]) -> BarcodeTemplate:
    return _validated(
        BarcodeTemplate,
        {
            "name": _text(form, "name"),
            "prefixes": [p for p in _text(form, "prefixes").replace(",", " ").split() if p],
            "kind": _text(form, "kind"),
            **{
                field: _text(form, field) or "0"
                for field in ("item_start", "item_length", "value_start", "value_length", "value_decimals")
            },
        },
    )


def _rubles(text: str) -> int | None:
    if not text:
        return None
    try:
        return parse_money(text)
    except MoneyError:
        raise FormProblem(f"{text!r} is not an amount in rubles") from None


def promotion_update(form: FormData, product_of_article: Callable[[str], str]) -> PromotionUpdate:
    """A promotion's form as the data server's full replacement: goods by article (as staff know
    them), categories and stores chosen from lists, money in rubles, days ticked."""
    articles = [a for a in _text(form, "articles").replace(",", " ").split() if a]
    return _validated(
        PromotionUpdate,
        {
            "name": _text(form, "name"),
            "kind": _text(form, "kind"),
            "product_ids": [product_of_article(a) for a in articles],
            "category_ids": [c for c in form.getlist("category_ids") if isinstance(c, str) and c],
            "store_ids": [s for s in form.getlist("store_ids") if isinstance(s, str) and s],
            "percent": _text(form, "percent") or None,
            "amount": _rubles(_text(form, "amount")),
            "buy": _text(form, "buy") or None,
            "pay": _text(form, "pay") or None,
            "threshold": _rubles(_text(form, "threshold")),
            "starts_on": _text(form, "starts_on") or None,
            "ends_on": _text(form, "ends_on") or None,
            "time_from": _text(form, "time_from") or None,
            "time_to": _text(form, "time_to") or None,
            "weekdays": [int(d) for d in form.getlist("weekdays") if isinstance(d, str) and d.isdigit()],
            "stackable": bool(form.get("stackable")),
            "active": bool(form.get("active")),
        },
    )


@dataclass(frozen=True)
class Reach:
    """Whether one terminal has pulled a change."""

    client: ClientRead
    reached: bool


def reach(seq: int | None, terminals: Sequence[ClientRead]) -> list[Reach]:
    """Each terminal (a revoked one never pulls again: left out) against a change-log position: it has
    the change once its sync cursor is there; with no change recorded there is nothing to wait for."""
    return [
        Reach(c, seq is None or (c.sync_cursor is not None and c.sync_cursor >= seq))
        for c in terminals
        if not c.revoked
    ]


# --- reading the data server ------------------------------------------------------------------------


async def form_data(request: Request) -> FormData:
    return await request.form()


Form = Annotated[FormData, Depends(form_data)]


def _dataserver(request: Request) -> DataServerClient:
    return backends(request).dataserver


def _all(ds: DataServerClient, path: str, adapter: TypeAdapter[Page[M]], **params: str) -> Iterator[M]:
    after: str | None = None
    while True:
        query: dict[str, Any] = {**params, "limit": 1000}
        if after is not None:
            query["after"] = after
        found = adapter.validate_python(ds.request("GET", path, params=query))
        yield from found.items
        if found.next is None:
            return
        after = found.next


def _categories_of(ds: DataServerClient) -> list[tuple[int, CategoryRead]]:
    return category_tree(list(_all(ds, "/api/v1/categories", _categories)))


def _price(ds: DataServerClient, store_id: str, product_id: str) -> PriceRead | None:
    try:
        return PriceRead.model_validate(ds.request("GET", f"/api/v1/stores/{store_id}/prices/{product_id}"))
    except DataServerError as exc:
        if exc.status == 404:
            return None
        raise


def _refusal(exc: DataServerError | FormProblem) -> str:
    """A refusal to show next to a form; the data server not answering is not one (the app shows it)."""
    if isinstance(exc, DataServerError) and not 400 <= exc.status < 500:
        raise exc
    return exc.detail if isinstance(exc, DataServerError) else str(exc)


# --- products ---------------------------------------------------------------------------------------


@router.get("/catalog")
def index(
    request: Request,
    user: CurrentUser,
    q: str = "",
    by: str = "name",
    category: str = "",
    after: str = "",
) -> Response:
    ds = _dataserver(request)
    params = search_params(by, q, category)
    found = None
    if params:
        query: dict[str, Any] = {**params, "limit": PAGE_SIZE}
        if after:
            query["after"] = after
        found = _products.validate_python(ds.request("GET", "/api/v1/products", params=query))
    categories = _categories_of(ds)
    names = {c.id: c.name for _depth, c in categories}
    return page(
        request,
        user,
        "catalog.html",
        section="catalog",
        q=q,
        by=by if by in SEARCHES else "name",
        category=category,
        categories=categories,
        category_names=names,
        found=found,
        searches=SEARCHES,
    )


def _product_page(
    request: Request, user: User, product_id: str, *, problem: tuple[str, str] | None = None
) -> Response:
    ds = _dataserver(request)
    product = ProductRead.model_validate(ds.request("GET", f"/api/v1/products/{product_id}"))
    barcodes = list(_all(ds, "/api/v1/barcodes", _barcodes, product_id=product_id))
    stores = [s for s in ds.stores() if s.active]
    prices = {s.id: _price(ds, s.id, product_id) for s in stores}
    return page(
        request,
        user,
        "catalog/product.html",
        status_code=422 if problem else 200,
        section="catalog",
        product=product,
        barcodes=barcodes,
        stores=stores,
        prices=prices,
        categories=_categories_of(ds),
        units=UNITS,
        vat_rates=VAT_RATES,
        problem=problem,
        rubles=format_money,
    )


@router.get("/catalog/products/{product_id}")
def product(request: Request, user: CurrentUser, product_id: str) -> Response:
    return _product_page(request, user, product_id)


def _back_to(product_id: str, anchor: str = "") -> Response:
    return RedirectResponse(f"/catalog/products/{product_id}{anchor}", status_code=303)


@router.post("/catalog/products/{product_id}")
def edit_product(request: Request, user: Editor, form: Form, product_id: str) -> Response:
    try:
        body = product_update(form)
        saved = ProductRead.model_validate(
            _dataserver(request).request(
                "PUT", f"/api/v1/products/{product_id}", json=body.model_dump(mode="json")
            )
        )
    except (DataServerError, FormProblem) as exc:
        return _product_page(request, user, product_id, problem=("fields", _refusal(exc)))
    remember(request, user, "catalog", "edit product", saved.article, saved.name)
    return _back_to(product_id, "#reach")


@router.post("/catalog/products/{product_id}/barcodes")
def add_barcode(request: Request, user: Editor, form: Form, product_id: str) -> Response:
    code = _text(form, "code")
    try:
        _dataserver(request).request(
            "POST",
            "/api/v1/barcodes",
            json={"code": code, "product_id": product_id, "multiplier": _text(form, "multiplier") or "1"},
        )
    except DataServerError as exc:
        return _product_page(request, user, product_id, problem=("barcodes", _refusal(exc)))
    remember(request, user, "catalog", "add barcode", code, product_id)
    return _back_to(product_id, "#reach")


@router.post("/catalog/products/{product_id}/barcodes/{code}/delete")
def remove_barcode(request: Request, user: Editor, product_id: str, code: str) -> Response:
    try:
        _dataserver(request).request("DELETE", f"/api/v1/barcodes/{code}")
    except DataServerError as exc:
        return _product_page(request, user, product_id, problem=("barcodes", _refusal(exc)))
    remember(request, user, "catalog", "remove barcode", code, product_id)
    return _back_to(product_id)


@router.post("/catalog/products/{product_id}/prices/{store_id}")
def set_price(request: Request, user: Editor, form: Form, product_id: str, store_id: str) -> Response:
    try:
        body = price_update(_text(form, "price"))
        _dataserver(request).request(
            "PUT", f"/api/v1/stores/{store_id}/prices/{product_id}", json=body.model_dump()
        )
    except (DataServerError, FormProblem) as exc:
        return _product_page(request, user, product_id, problem=(f"price:{store_id}", _refusal(exc)))
    remember(request, user, "catalog", "set price", product_id, f"{store_id}: {format_money(body.price)}")
    return _back_to(product_id, "#reach")


@router.get("/catalog/products/{product_id}/reach")
def product_reach(request: Request, user: CurrentUser, product_id: str) -> Response:
    """Which terminals of each store have the product as it is now; refreshes itself until all do."""
    ds = _dataserver(request)
    stores = {s.id: s for s in ds.stores()}
    by_store: dict[str, list[ClientRead]] = {}
    for c in ds.clients():
        by_store.setdefault(c.store_id, []).append(c)
    rows: list[tuple[StoreRead | None, Reach]] = []
    for store_id, terminals in sorted(by_store.items(), key=lambda kv: kv[0]):
        if store_id not in stores:
            continue
        seq = ds.product_position(product_id, store_id=store_id).seq
        rows += [(stores[store_id], r) for r in reach(seq, terminals)]
    return page(
        request,
        user,
        "catalog/reach.html",
        product_id=product_id,
        rows=rows,
        waiting=any(not r.reached for _s, r in rows),
        refresh=REACH_REFRESH_SECONDS,
    )


# --- barcode templates ------------------------------------------------------------------------------


def _templates_page(request: Request, user: User, *, problem: tuple[str, str] | None = None) -> Response:
    found = list(_all(_dataserver(request), "/api/v1/barcode-templates", _templates))
    return page(
        request,
        user,
        "catalog/templates.html",
        status_code=422 if problem else 200,
        section="catalog",
        templates=found,
        kinds=TEMPLATE_KINDS,
        problem=problem,
    )


@router.get("/catalog/templates")
def templates(request: Request, user: CurrentUser) -> Response:
    return _templates_page(request, user)


@router.post("/catalog/templates/{template_id}")
def edit_template(request: Request, user: Editor, form: Form, template_id: str) -> Response:
    try:
        template = template_update(form)
        _dataserver(request).request(
            "PUT",
            f"/api/v1/barcode-templates/{template_id}",
            json={"template": template.model_dump(mode="json")},
        )
    except (DataServerError, FormProblem) as exc:
        return _templates_page(request, user, problem=(template_id, _refusal(exc)))
    remember(request, user, "catalog", "edit barcode template", template_id, template.name)
    return RedirectResponse("/catalog/templates", status_code=303)


# --- promotions -------------------------------------------------------------------------------------


@router.get("/catalog/promotions")
def promotions(request: Request, user: CurrentUser) -> Response:
    found = _dataserver(request).promotions()
    return page(request, user, "catalog/promotions.html", section="catalog", promotions=found)


def _promotion_page(
    request: Request,
    user: User,
    promotion: PromotionRead | None,
    *,
    form: FormData | None = None,
    problem: str | None = None,
) -> Response:
    ds = _dataserver(request)
    articles = ""
    if promotion is not None and form is None:
        articles = " ".join(
            ProductRead.model_validate(ds.request("GET", f"/api/v1/products/{p}")).article
            for p in promotion.product_ids
        )
    return page(
        request,
        user,
        "catalog/promotion.html",
        status_code=422 if problem else 200,
        section="catalog",
        promotion=promotion,
        form=form,
        articles=articles,
        categories=_categories_of(ds),
        stores=ds.stores(),
        kinds=PROMOTION_KINDS,
        problem=problem,
        rubles=format_money,
    )


def _product_of_article(ds: DataServerClient) -> Callable[[str], str]:
    def find(article: str) -> str:
        found = _products.validate_python(ds.request("GET", "/api/v1/products", params={"article": article}))
        if not found.items:
            raise FormProblem(f"no product has the article {article!r}")
        return found.items[0].id

    return find


@router.get("/catalog/promotions/new")
def new_promotion(request: Request, user: Editor) -> Response:
    return _promotion_page(request, user, None)


@router.get("/catalog/promotions/{promotion_id}")
def promotion(request: Request, user: CurrentUser, promotion_id: str) -> Response:
    return _promotion_page(request, user, _dataserver(request).get_promotion(promotion_id))


@router.post("/catalog/promotions")
def create_promotion(request: Request, user: Editor, form: Form) -> Response:
    ds = _dataserver(request)
    try:
        body = promotion_update(form, _product_of_article(ds))
        saved = PromotionRead.model_validate(
            ds.request("POST", "/api/v1/promotions", json=body.model_dump(mode="json"))
        )
    except (DataServerError, FormProblem) as exc:
        return _promotion_page(request, user, None, form=form, problem=_refusal(exc))
    remember(request, user, "catalog", "add promotion", saved.id, saved.name)
    return RedirectResponse("/catalog/promotions", status_code=303)


@router.post("/catalog/promotions/{promotion_id}")
def edit_promotion(request: Request, user: Editor, form: Form, promotion_id: str) -> Response:
    ds = _dataserver(request)
    current = ds.get_promotion(promotion_id)
    try:
        saved = ds.update_promotion(promotion_id, promotion_update(form, _product_of_article(ds)))
    except (DataServerError, FormProblem) as exc:
        return _promotion_page(request, user, current, form=form, problem=_refusal(exc))
    remember(request, user, "catalog", "edit promotion", saved.id, saved.name)
    return RedirectResponse("/catalog/promotions", status_code=303)


@router.post("/catalog/promotions/{promotion_id}/delete")
def delete_promotion(request: Request, user: Editor, promotion_id: str) -> Response:
    ds = _dataserver(request)
    current = ds.get_promotion(promotion_id)
    ds.delete_promotion(promotion_id)
    remember(request, user, "catalog", "delete promotion", promotion_id, current.name)
    return RedirectResponse("/catalog/promotions", status_code=303)


# --- CSV import -------------------------------------------------------------------------------------


def _import_page(
    request: Request,
    user: User,
    *,
    report: ImportReport | None = None,
    problem: str | None = None,
    kind: str = "products",
) -> Response:
    return page(
        request,
        user,
        "catalog/import.html",
        status_code=422 if problem else 200,
        section="catalog",
        stores=_dataserver(request).stores(),
        report=report,
        problem=problem,
        kind=kind,
        kinds=IMPORT_KINDS,
    )


@router.get("/catalog/import")
def import_form(request: Request, user: CurrentUser) -> Response:
    return _import_page(request, user)


@router.post("/catalog/import")
def import_file(request: Request, user: Editor, form: Form) -> Response:
    kind = _text(form, "kind")
    if kind not in IMPORT_KINDS:
        return _import_page(request, user, problem=f"{kind!r} is not something to import")
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _import_page(request, user, problem="choose a CSV file to import", kind=kind)
    data = upload.file.read()
    store = _text(form, "store")
    try:
        body = _dataserver(request).request(
            "POST",
            f"/api/v1/import/{kind}",
            files={"file": (upload.filename, data, "text/csv")},
            params={"store": store} if store else {},
        )
    except DataServerError as exc:
        return _import_page(request, user, problem=_refusal(exc), kind=kind)
    report = ImportReport.model_validate(body)
    detail = f"{upload.filename}: {report.accepted} accepted, {len(report.rejected)} rejected"
    remember(request, user, "catalog", f"import {kind}", upload.filename, detail)
    return _import_page(request, user, report=report, kind=kind)
