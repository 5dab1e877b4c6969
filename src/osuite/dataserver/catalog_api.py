"""HTTP routes for the catalog, prices, people and terminal settings, and the CSV import; thin: parse,
call :mod:`osuite.dataserver.catalog` in one transaction, answer.

Lists are paged by key: pass the ``next`` of a page as ``after`` to get the following one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import AfterValidator
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from osuite.core.http import Problem, conflict
from osuite.dataserver import catalog, catalog_rules, importer
from osuite.dataserver.context import DS, Admin, DataServer, Reader
from osuite.dataserver.wire.catalog import (
    BarcodeCreate,
    BarcodeRead,
    BarcodeTemplateCreate,
    BarcodeTemplateRead,
    BarcodeTemplateUpdate,
    BarcodeUpdate,
    CategoryCreate,
    CategoryPatch,
    CategoryRead,
    CategoryUpdate,
    ChangePosition,
    Credentials,
    ImportKind,
    ImportReport,
    Page,
    PaymentTypeCreate,
    PaymentTypePatch,
    PaymentTypeRead,
    PaymentTypeUpdate,
    PriceRead,
    PriceUpdate,
    ProductCreate,
    ProductPatch,
    ProductRead,
    ProductUpdate,
    PromotionCreate,
    PromotionRead,
    PromotionUpdate,
    RoleCreate,
    RolePatch,
    RoleRead,
    RoleUpdate,
    SignedIn,
    TerminalSettingsRead,
    TerminalSettingsUpdate,
    UserCreate,
    UserPatch,
    UserRead,
    UserUpdate,
)

router = APIRouter(prefix="/api/v1")

CATALOG: list[str | Enum] = ["catalog"]
PEOPLE: list[str | Enum] = ["people"]
SETTINGS: list[str | Enum] = ["settings"]


def _no_nul(value: str | None) -> str | None:
    """PostgreSQL refuses a NUL in any text it is asked to compare with: say so instead of failing."""
    if value is not None and "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


NoNul = AfterValidator(_no_nul)
After = Annotated[
    str | None,
    NoNul,
    Query(max_length=200, description="The `next` of the previous page; leave out for the first"),
]
Limit = Annotated[int, Query(ge=1, le=catalog.MAX_LIMIT, description="Items per page")]
Key = Annotated[str, NoNul, Path(max_length=200, description="The id (or code) as the lists show it")]
Scope = Annotated[str, NoNul, Path(max_length=80, description="'store:<store id>' or 'client:<client id>'")]
NameSearch = Annotated[
    str | None, NoNul, Query(max_length=300, description="Part of the name, any case (Cyrillic too; ё = е)")
]
ArticleFilter = Annotated[str | None, NoNul, Query(max_length=64, description="Exactly this article")]
BarcodeFilter = Annotated[
    str | None, NoNul, Query(max_length=80, description="The product this barcode sells")
]
CategoryFilter = Annotated[
    str | None, NoNul, Query(max_length=36, description="Only products in this category")
]
ProductFilter = Annotated[str | None, NoNul, Query(max_length=36, description="Only this product's barcodes")]
ActiveFilter = Annotated[
    bool | None,
    Query(description="Only the active (true) or only the inactive (false) ones; both if left out"),
]
StoreOption = Annotated[
    str | None,
    NoNul,
    Query(max_length=64, description="Prices: the store (code or id) for rows without a store column"),
]

_PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
_READ: dict[int | str, dict[str, Any]] = {404: {"description": "Not found", **_PROBLEM}}
_WRITE: dict[int | str, dict[str, Any]] = {
    **_READ,
    409: {"description": "Conflicts with what exists (a taken article, code or name)", **_PROBLEM},
    422: {"description": "Breaks a rule; the detail says which, and nothing was changed", **_PROBLEM},
}


@contextmanager
def _writing(ds: DataServer) -> Iterator[Connection]:
    """A write transaction whose constraint violations read as a conflict: on PostgreSQL two requests
    can both find an article free and the second insert then fails; nothing was changed by it."""
    try:
        with ds.db.write() as conn:
            yield conn
    except IntegrityError as exc:
        raise conflict(CONCURRENT) from exc


CONCURRENT = "another change to the same data was saved at the same moment: reload and try again"


def _done() -> Response:
    return Response(status_code=204)


# --- categories -------------------------------------------------------------------------------------


@router.get("/categories", tags=CATALOG, summary="Categories by id")
def list_categories(ds: DS, _: Reader, after: After = None, limit: Limit = 100) -> Page[CategoryRead]:
    with ds.db.read() as conn:
        return catalog.list_categories(conn, after=after, limit=limit)


@router.post("/categories", tags=CATALOG, status_code=201, responses=_WRITE, summary="Add a category")
def create_category(body: CategoryCreate, ds: DS, _: Admin) -> CategoryRead:
    with _writing(ds) as conn:
        return catalog.create_category(conn, ds, data=body)


@router.get("/categories/{category_id}", tags=CATALOG, responses=_READ, summary="One category")
def get_category(category_id: Key, ds: DS, _: Reader) -> CategoryRead:
    with ds.db.read() as conn:
        return catalog.get_category(conn, category_id=category_id)


@router.put(
    "/categories/{category_id}",
    tags=CATALOG,
    responses=_WRITE,
    summary="Replace a category (rename, move: a move under itself is refused)",
)
def update_category(category_id: Key, body: CategoryUpdate, ds: DS, _: Admin) -> CategoryRead:
    with _writing(ds) as conn:
        return catalog.update_category(conn, ds, category_id=category_id, data=body)


@router.patch("/categories/{category_id}", tags=CATALOG, responses=_WRITE, summary="Change some fields")
def patch_category(category_id: Key, body: CategoryPatch, ds: DS, _: Admin) -> CategoryRead:
    with _writing(ds) as conn:
        return catalog.patch_category(conn, ds, category_id=category_id, data=body)


@router.delete(
    "/categories/{category_id}",
    tags=CATALOG,
    status_code=204,
    responses=_WRITE,
    summary="Delete an empty category (one with subcategories or products, or named by a promotion, "
    "is refused)",
)
def delete_category(category_id: Key, ds: DS, _: Admin) -> Response:
    with _writing(ds) as conn:
        catalog.delete_category(conn, ds, category_id=category_id)
    return _done()


# --- products ---------------------------------------------------------------------------------------


@router.get(
    "/products",
    tags=CATALOG,
    summary="Products by id; search by name, or find by article or barcode",
)
def list_products(
    ds: DS,
    _: Reader,
    q: NameSearch = None,
    article: ArticleFilter = None,
    barcode: BarcodeFilter = None,
    category_id: CategoryFilter = None,
    after: After = None,
    limit: Limit = 100,
) -> Page[ProductRead]:
    with ds.db.read() as conn:
        return catalog.list_products(
            conn, after=after, limit=limit, q=q, article=article, barcode=barcode, category_id=category_id
        )


@router.post("/products", tags=CATALOG, status_code=201, responses=_WRITE, summary="Add a product")
def create_product(body: ProductCreate, ds: DS, _: Admin) -> ProductRead:
    with _writing(ds) as conn:
        return catalog.create_product(conn, ds, data=body)


@router.get("/products/{product_id}", tags=CATALOG, responses=_READ, summary="One product")
def get_product(product_id: Key, ds: DS, _: Reader) -> ProductRead:
    with ds.db.read() as conn:
        return catalog.get_product(conn, product_id=product_id)


@router.put("/products/{product_id}", tags=CATALOG, responses=_WRITE, summary="Replace a product")
def update_product(product_id: Key, body: ProductUpdate, ds: DS, _: Admin) -> ProductRead:
    with _writing(ds) as conn:
        return catalog.update_product(conn, ds, product_id=product_id, data=body)


@router.patch("/products/{product_id}", tags=CATALOG, responses=_WRITE, summary="Change some fields")
def patch_product(product_id: Key, body: ProductPatch, ds: DS, _: Admin) -> ProductRead:
    with _writing(ds) as conn:
        return catalog.patch_product(conn, ds, product_id=product_id, data=body)


@router.delete(
    "/products/{product_id}",
    tags=CATALOG,
    status_code=204,
    responses=_WRITE,
    summary="Delete a product with its barcodes and prices (deactivate it to keep it in reports); "
    "one a promotion names is refused",
)
def delete_product(product_id: Key, ds: DS, _: Admin) -> Response:
    with _writing(ds) as conn:
        catalog.delete_product(conn, ds, product_id=product_id)
    return _done()


# --- barcodes ---------------------------------------------------------------------------------------


@router.get("/barcodes", tags=CATALOG, summary="Barcodes by code")
def list_barcodes(
    ds: DS,
    _: Reader,
    product_id: ProductFilter = None,
    after: After = None,
    limit: Limit = 100,
) -> Page[BarcodeRead]:
    with ds.db.read() as conn:
        return catalog.list_barcodes(conn, after=after, limit=limit, product_id=product_id)


@router.post(
    "/barcodes",
    tags=CATALOG,
    status_code=201,
    responses=_WRITE,
    summary="Give a product a barcode (a code another product has is refused)",
)
def create_barcode(body: BarcodeCreate, ds: DS, _: Admin) -> BarcodeRead:
    with _writing(ds) as conn:
        return catalog.create_barcode(conn, ds, data=body)


@router.get("/barcodes/{code}", tags=CATALOG, responses=_READ, summary="One barcode")
def get_barcode(code: Key, ds: DS, _: Reader) -> BarcodeRead:
    with ds.db.read() as conn:
        return catalog.get_barcode(conn, code=code)


@router.put(
    "/barcodes/{code}",
    tags=CATALOG,
    responses=_WRITE,
    summary="Set a barcode: create it, or move it to another product, or change its multiplier",
)
def set_barcode(code: Key, body: BarcodeUpdate, ds: DS, _: Admin) -> BarcodeRead:
    with _writing(ds) as conn:
        return catalog.set_barcode(conn, ds, code=code, data=body)


@router.delete("/barcodes/{code}", tags=CATALOG, status_code=204, responses=_READ, summary="Delete a barcode")
def delete_barcode(code: Key, ds: DS, _: Admin) -> Response:
    with _writing(ds) as conn:
        catalog.delete_barcode(conn, ds, code=code)
    return _done()


# --- prices -----------------------------------------------------------------------------------------


@router.get("/stores/{store_id}/prices", tags=CATALOG, responses=_READ, summary="A store's prices")
def list_prices(store_id: Key, ds: DS, _: Reader, after: After = None, limit: Limit = 100) -> Page[PriceRead]:
    with ds.db.read() as conn:
        return catalog.list_prices(conn, store_id=store_id, after=after, limit=limit)


@router.get(
    "/stores/{store_id}/prices/{product_id}", tags=CATALOG, responses=_READ, summary="A product's price"
)
def get_price(store_id: Key, product_id: Key, ds: DS, _: Reader) -> PriceRead:
    with ds.db.read() as conn:
        return catalog.get_price(conn, store_id=store_id, product_id=product_id)


@router.put(
    "/stores/{store_id}/prices/{product_id}",
    tags=CATALOG,
    responses=_WRITE,
    summary="Set a product's price in a store (kopecks); only that store's terminals receive it",
)
def set_price(store_id: Key, product_id: Key, body: PriceUpdate, ds: DS, _: Admin) -> PriceRead:
    with _writing(ds) as conn:
        return catalog.set_price(conn, ds, store_id=store_id, product_id=product_id, data=body)


@router.delete(
    "/stores/{store_id}/prices/{product_id}",
    tags=CATALOG,
    status_code=204,
    responses=_READ,
    summary="Remove a product's price in a store (it cannot be sold there until priced again)",
)
def delete_price(store_id: Key, product_id: Key, ds: DS, _: Admin) -> Response:
    with _writing(ds) as conn:
        catalog.delete_price(conn, ds, store_id=store_id, product_id=product_id)
    return _done()


# --- change positions -------------------------------------------------------------------------------

EntityName = Annotated[
    str, NoNul, Query(max_length=64, description="What changed, as sync names it: product, barcode, price, …")
]
EntityKey = Annotated[
    str, NoNul, Query(max_length=200, description="Its key as sync names it; a price's is `STORE:PRODUCT`")
]
StoreFilter = Annotated[
    str | None, NoNul, Query(max_length=36, description="Only this store's price (its id); all if left out")
]


@router.get(
    "/changes/position",
    tags=CATALOG,
    summary="Where an entity's newest change stands in the change log",
    description="A client whose `sync_cursor` (see the clients list) is at least `seq` has that change.",
)
def change_position(ds: DS, _: Reader, entity: EntityName, key: EntityKey) -> ChangePosition:
    with ds.db.read() as conn:
        return catalog.change_position(conn, ds, entity=entity, key=key)


@router.get(
    "/products/{product_id}/position",
    tags=CATALOG,
    responses=_READ,
    summary="Where the newest change of a product, its barcodes and its prices stands in the change log",
    description="A client whose `sync_cursor` is at least `seq` sells the product as it is now.",
)
def product_position(product_id: Key, ds: DS, _: Reader, store_id: StoreFilter = None) -> ChangePosition:
    with ds.db.read() as conn:
        return catalog.product_position(conn, ds, product_id=product_id, store_id=store_id)


# --- barcode templates ------------------------------------------------------------------------------


@router.get("/barcode-templates", tags=CATALOG, summary="How scales' in-store barcodes are read")
def list_barcode_templates(
    ds: DS, _: Reader, after: After = None, limit: Limit = 100
) -> Page[BarcodeTemplateRead]:
    with ds.db.read() as conn:
        return catalog.list_barcode_templates(conn, after=after, limit=limit)


@router.post(
    "/barcode-templates",
    tags=CATALOG,
    status_code=201,
    responses=_WRITE,
    summary="Add a template (a prefix another template reads is refused)",
)
def create_barcode_template(body: BarcodeTemplateCreate, ds: DS, _: Admin) -> BarcodeTemplateRead:
    with _writing(ds) as conn:
        return catalog.create_barcode_template(conn, ds, data=body)


@router.get("/barcode-templates/{template_id}", tags=CATALOG, responses=_READ, summary="One template")
def get_barcode_template(template_id: Key, ds: DS, _: Reader) -> BarcodeTemplateRead:
    with ds.db.read() as conn:
        return catalog.get_barcode_template(conn, template_id=template_id)


@router.put("/barcode-templates/{template_id}", tags=CATALOG, responses=_WRITE, summary="Replace a template")
def update_barcode_template(
    template_id: Key, body: BarcodeTemplateUpdate, ds: DS, _: Admin
) -> BarcodeTemplateRead:
    with _writing(ds) as conn:
        return catalog.update_barcode_template(conn, ds, template_id=template_id, data=body)


@router.delete(
    "/barcode-templates/{template_id}", tags=CATALOG, status_code=204, responses=_READ, summary="Delete one"
)
def delete_barcode_template(template_id: Key, ds: DS, _: Admin) -> Response:
    with _writing(ds) as conn:
        catalog.delete_barcode_template(conn, ds, template_id=template_id)
    return _done()


# --- payment types ----------------------------------------------------------------------------------


@router.get("/payment-types", tags=CATALOG, summary="Payment types by code")
def list_payment_types(ds: DS, _: Reader, after: After = None, limit: Limit = 100) -> Page[PaymentTypeRead]:
    with ds.db.read() as conn:
        return catalog.list_payment_types(conn, after=after, limit=limit)


@router.post("/payment-types", tags=CATALOG, status_code=201, responses=_WRITE, summary="Add a payment type")
def create_payment_type(body: PaymentTypeCreate, ds: DS, _: Admin) -> PaymentTypeRead:
    with _writing(ds) as conn:
        return catalog.create_payment_type(conn, ds, data=body)


@router.get("/payment-types/{code}", tags=CATALOG, responses=_READ, summary="One payment type")
def get_payment_type(code: Key, ds: DS, _: Reader) -> PaymentTypeRead:
    with ds.db.read() as conn:
        return catalog.get_payment_type(conn, code=code)


@router.put("/payment-types/{code}", tags=CATALOG, responses=_WRITE, summary="Replace a payment type")
def update_payment_type(code: Key, body: PaymentTypeUpdate, ds: DS, _: Admin) -> PaymentTypeRead:
    with _writing(ds) as conn:
        return catalog.update_payment_type(conn, ds, code=code, data=body)


@router.patch("/payment-types/{code}", tags=CATALOG, responses=_WRITE, summary="Change some fields")
def patch_payment_type(code: Key, body: PaymentTypePatch, ds: DS, _: Admin) -> PaymentTypeRead:
    with _writing(ds) as conn:
        return catalog.patch_payment_type(conn, ds, code=code, data=body)


@router.delete(
    "/payment-types/{code}",
    tags=CATALOG,
    status_code=204,
    responses=_READ,
    summary="Delete a payment type (deactivate it instead to keep its name in reports)",
)
def delete_payment_type(code: Key, ds: DS, _: Admin) -> Response:
    with _writing(ds) as conn:
        catalog.delete_payment_type(conn, ds, code=code)
    return _done()


# --- promotions -------------------------------------------------------------------------------------


@router.get("/promotions", tags=CATALOG, summary="Promotions the tills apply, by id")
def list_promotions(
    ds: DS, _: Reader, active: ActiveFilter = None, after: After = None, limit: Limit = 100
) -> Page[PromotionRead]:
    with ds.db.read() as conn:
        return catalog.list_promotions(conn, after=after, limit=limit, active=active)


@router.post(
    "/promotions",
    tags=CATALOG,
    status_code=201,
    responses=_WRITE,
    summary="Add a promotion (the products, categories and stores it names must exist)",
)
def create_promotion(body: PromotionCreate, ds: DS, _: Admin) -> PromotionRead:
    with _writing(ds) as conn:
        return catalog.create_promotion(conn, ds, data=body)


@router.get("/promotions/{promotion_id}", tags=CATALOG, responses=_READ, summary="One promotion")
def get_promotion(promotion_id: Key, ds: DS, _: Reader) -> PromotionRead:
    with ds.db.read() as conn:
        return catalog.get_promotion(conn, promotion_id=promotion_id)


@router.put("/promotions/{promotion_id}", tags=CATALOG, responses=_WRITE, summary="Replace a promotion")
def update_promotion(promotion_id: Key, body: PromotionUpdate, ds: DS, _: Admin) -> PromotionRead:
    with _writing(ds) as conn:
        return catalog.update_promotion(conn, ds, promotion_id=promotion_id, data=body)


@router.delete(
    "/promotions/{promotion_id}",
    tags=CATALOG,
    status_code=204,
    responses=_READ,
    summary="Delete a promotion (or set it inactive to keep it for later)",
)
def delete_promotion(promotion_id: Key, ds: DS, _: Admin) -> Response:
    with _writing(ds) as conn:
        catalog.delete_promotion(conn, ds, promotion_id=promotion_id)
    return _done()


# --- roles and users --------------------------------------------------------------------------------


@router.get(
    "/permissions", tags=PEOPLE, summary="Every permission a role can give, by the names the POS uses"
)
def list_permissions(_: Reader) -> list[str]:
    return list(catalog_rules.PERMISSIONS)


@router.get("/roles", tags=PEOPLE, summary="Roles by id")
def list_roles(ds: DS, _: Reader, after: After = None, limit: Limit = 100) -> Page[RoleRead]:
    with ds.db.read() as conn:
        return catalog.list_roles(conn, after=after, limit=limit)


@router.post("/roles", tags=PEOPLE, status_code=201, responses=_WRITE, summary="Add a role")
def create_role(body: RoleCreate, ds: DS, _: Admin) -> RoleRead:
    with _writing(ds) as conn:
        return catalog.create_role(conn, ds, data=body)


@router.get("/roles/{role_id}", tags=PEOPLE, responses=_READ, summary="One role")
def get_role(role_id: Key, ds: DS, _: Reader) -> RoleRead:
    with ds.db.read() as conn:
        return catalog.get_role(conn, role_id=role_id)


@router.put("/roles/{role_id}", tags=PEOPLE, responses=_WRITE, summary="Replace a role")
def update_role(role_id: Key, body: RoleUpdate, ds: DS, _: Admin) -> RoleRead:
    with _writing(ds) as conn:
        return catalog.update_role(conn, ds, role_id=role_id, data=body)


@router.patch("/roles/{role_id}", tags=PEOPLE, responses=_WRITE, summary="Change some fields")
def patch_role(role_id: Key, body: RolePatch, ds: DS, _: Admin) -> RoleRead:
    with _writing(ds) as conn:
        return catalog.patch_role(conn, ds, role_id=role_id, data=body)


@router.delete(
    "/roles/{role_id}",
    tags=PEOPLE,
    status_code=204,
    responses=_WRITE,
    summary="Delete a role nobody has (a role given to users is refused)",
)
def delete_role(role_id: Key, ds: DS, _: Admin) -> Response:
    with _writing(ds) as conn:
        catalog.delete_role(conn, ds, role_id=role_id)
    return _done()


@router.get("/users", tags=PEOPLE, summary="Users by id (never their PIN or password)")
def list_users(ds: DS, _: Reader, after: After = None, limit: Limit = 100) -> Page[UserRead]:
    with ds.db.read() as conn:
        return catalog.list_users(conn, after=after, limit=limit)


@router.post(
    "/users",
    tags=PEOPLE,
    status_code=201,
    responses=_WRITE,
    summary="Add a user; the PIN and password are stored only as hashes",
)
def create_user(body: UserCreate, ds: DS, _: Admin) -> UserRead:
    with _writing(ds) as conn:
        return catalog.create_user(conn, ds, data=body)


@router.post(
    "/users/sign-in",
    tags=PEOPLE,
    responses={403: {"description": "Wrong login or password, or the user is not active"}},
    summary="Check a person's password; answers who they are and what their roles allow",
)
def sign_in(body: Credentials, ds: DS, _: Admin) -> SignedIn:
    with ds.db.read() as conn:
        return catalog.sign_in(conn, login=body.login, password=body.password)


@router.get("/users/{user_id}", tags=PEOPLE, responses=_READ, summary="One user")
def get_user(user_id: Key, ds: DS, _: Reader) -> UserRead:
    with ds.db.read() as conn:
        return catalog.get_user(conn, user_id=user_id)


@router.put(
    "/users/{user_id}",
    tags=PEOPLE,
    responses=_WRITE,
    summary="Replace a user (a PIN or password left out stays as it is)",
)
def update_user(user_id: Key, body: UserUpdate, ds: DS, _: Admin) -> UserRead:
    with _writing(ds) as conn:
        return catalog.update_user(conn, ds, user_id=user_id, data=body)


@router.patch("/users/{user_id}", tags=PEOPLE, responses=_WRITE, summary="Change some fields")
def patch_user(user_id: Key, body: UserPatch, ds: DS, _: Admin) -> UserRead:
    with _writing(ds) as conn:
        return catalog.patch_user(conn, ds, user_id=user_id, data=body)


@router.delete(
    "/users/{user_id}",
    tags=PEOPLE,
    status_code=204,
    responses=_READ,
    summary="Delete a user (deactivate instead to keep the name in reports)",
)
def delete_user(user_id: Key, ds: DS, _: Admin) -> Response:
    with _writing(ds) as conn:
        catalog.delete_user(conn, ds, user_id=user_id)
    return _done()


# --- terminal settings ------------------------------------------------------------------------------


@router.get("/terminal-settings", tags=SETTINGS, summary="Settings of stores' terminals and of clients")
def list_terminal_settings(
    ds: DS, _: Reader, after: After = None, limit: Limit = 100
) -> Page[TerminalSettingsRead]:
    with ds.db.read() as conn:
        return catalog.list_terminal_settings(conn, after=after, limit=limit)


@router.get("/terminal-settings/{scope}", tags=SETTINGS, responses=_READ, summary="Settings of one scope")
def get_terminal_settings(scope: Scope, ds: DS, _: Reader) -> TerminalSettingsRead:
    with ds.db.read() as conn:
        return catalog.get_terminal_settings(conn, scope=scope)


@router.put(
    "/terminal-settings/{scope}",
    tags=SETTINGS,
    responses=_WRITE,
    summary="Set the settings of a store's terminals or of one client; only they receive them",
)
def set_terminal_settings(
    scope: Scope, body: TerminalSettingsUpdate, ds: DS, _: Admin
) -> TerminalSettingsRead:
    with _writing(ds) as conn:
        return catalog.set_terminal_settings(conn, ds, scope=scope, data=body)


@router.delete(
    "/terminal-settings/{scope}", tags=SETTINGS, status_code=204, responses=_READ, summary="Remove them"
)
def delete_terminal_settings(scope: Scope, ds: DS, _: Admin) -> Response:
    with _writing(ds) as conn:
        catalog.delete_terminal_settings(conn, ds, scope=scope)
    return _done()


# --- import -----------------------------------------------------------------------------------------

_CSV_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}


@router.post(
    "/import/{kind}",
    tags=CATALOG,
    responses={
        422: {"description": "The file cannot be read (encoding, header); nothing applied", **_PROBLEM}
    },
    openapi_extra=_CSV_BODY,
    summary="Import products, barcodes or prices from CSV",
    description=(
        "Send the file as the body (`text/csv`) or as the `file` field of a form. A header row names the "
        "columns; `;` or `,` separate them; UTF-8 (with or without BOM) or Windows-1251.\n\n"
        "* products: article, name, vat_rate, and optionally unit, weighted, category (an id, or a path "
        "of names such as `Молочные продукты/Сыры`, created when absent), age_limit, active\n"
        "* barcodes: barcode, article, and optionally multiplier\n"
        "* prices: article, price (rubles, `123.45`), and optionally store (code or id; else `?store=`)\n\n"
        "Rows are matched by article, barcode, or store and article. Valid rows are applied even when "
        "others are rejected; the report lists each rejected row with its line and the reason, so fix "
        "those and import the file again: importing the same file twice changes nothing the second time. "
        "A column the file lacks is left as it is on existing products."
    ),
)
async def import_csv(
    kind: Annotated[ImportKind, Path(description="What the file holds")],
    request: Request,
    ds: DS,
    _: Admin,
    store: StoreOption = None,
) -> ImportReport:
    data = await _uploaded(request)
    return await run_in_threadpool(importer.import_csv, ds, kind=kind, data=data, store=store)


async def _uploaded(request: Request) -> bytes:
    """The file from a form's ``file`` field (or its only file), else the raw body."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        files = [v for v in form.values() if isinstance(v, UploadFile)]
        chosen = form.get("file")
        upload = chosen if isinstance(chosen, UploadFile) else (files[0] if len(files) == 1 else None)
        if upload is None:
            raise Problem(422, "No file", "send the CSV as the 'file' field of the form")
        return await upload.read()
    data = await request.body()
    if not data.strip():
        raise Problem(422, "No file", "the request has no CSV: send it as the body or as a form's 'file'")
    return data
