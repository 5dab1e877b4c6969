"""A believable store's reference data, and catalogs of any size generated from the same parts.

``osuite demo`` and ``osuite dataserver load-sample`` load it so a store's staff see something that
looks like their own shop: a category tree, a few thousand products with Russian names, real-looking
EAN-13 codes and shelf prices, goods sold by weight that the scales can label, cashiers with PINs,
and a few promotions of every kind the tills apply.
Benchmarks draw a million rows from :func:`generate_products`, so generation is a stream, not a list.

Everything is loaded through the same code paths as the management API and the CSV import, so the
change log is filled exactly as if a person had typed it in, and terminals receive it through sync.
Loading again changes nothing (and publishes nothing) unless the sample itself changed.
"""

from __future__ import annotations

import csv
import io
import random
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import time as clock
from decimal import Decimal
from typing import Any, Final

import orjson
from sqlalchemy import Connection, func, select

from osuite.core.barcodes import DEFAULT_TEMPLATES, BarcodeTemplate, complete_gtin
from osuite.core.http import Problem
from osuite.core.security import verify_secret
from osuite.dataserver import catalog, clients, importer, promotion_rules, tables
from osuite.dataserver import catalog_rules as rules
from osuite.dataserver.context import DataServer
from osuite.dataserver.wire.catalog import (
    BarcodeTemplateCreate,
    CategoryCreate,
    CategoryUpdate,
    ImportKind,
    PaymentTypeCreate,
    PaymentTypeUpdate,
    PromotionCreate,
    PromotionUpdate,
    RoleCreate,
    RoleUpdate,
    TerminalSettingsUpdate,
    UserCreate,
    UserUpdate,
)

STORE_CODE: Final = "S001"
STORE_NAME: Final = "Демо-магазин «У дома»"
STORE_ADDRESS: Final = "г. Москва, ул. Ленина, д. 1"
DEFAULT_PRODUCTS: Final = 3000

MAX_WEIGHTED: Final = 99_999
"""Scales print a 5-digit item code (:data:`DEFAULT_TEMPLATES`), so no more weighted products than that."""
CHUNK: Final = 50_000
"""Rows per import round in :func:`load_sample`: bounds the memory a large sample needs."""


# --- the fixed part: categories, people, payment types, settings -----------------------------------


@dataclass(frozen=True)
class SampleCategory:
    id: str
    name: str
    parent_id: str | None
    sort: int


CATEGORIES: Final[tuple[SampleCategory, ...]] = (
    SampleCategory("dairy", "Молочные продукты", None, 10),
    SampleCategory("dairy-milk", "Молоко", "dairy", 1),
    SampleCategory("dairy-kefir", "Кефир и йогурты", "dairy", 2),
    SampleCategory("dairy-curd", "Творог, сметана, масло", "dairy", 3),
    SampleCategory("dairy-cheese", "Сыры", "dairy", 4),
    SampleCategory("bakery", "Хлеб и выпечка", None, 20),
    SampleCategory("meat", "Мясо и птица", None, 30),
    SampleCategory("meat-meat", "Мясо", "meat", 1),
    SampleCategory("meat-poultry", "Птица", "meat", 2),
    SampleCategory("meat-sausage", "Колбасы и сосиски", "meat", 3),
    SampleCategory("produce", "Овощи и фрукты", None, 40),
    SampleCategory("produce-veg", "Овощи", "produce", 1),
    SampleCategory("produce-fruit", "Фрукты", "produce", 2),
    SampleCategory("grocery", "Бакалея", None, 50),
    SampleCategory("grocery-groats", "Крупы", "grocery", 1),
    SampleCategory("grocery-pasta", "Макароны", "grocery", 2),
    SampleCategory("grocery-tea", "Чай и кофе", "grocery", 3),
    SampleCategory("drinks", "Напитки", None, 60),
    SampleCategory("drinks-water", "Вода", "drinks", 1),
    SampleCategory("drinks-juice", "Соки", "drinks", 2),
    SampleCategory("alcohol", "Алкоголь", None, 70),
    SampleCategory("alcohol-beer", "Пиво", "alcohol", 1),
    SampleCategory("alcohol-wine", "Вино", "alcohol", 2),
    SampleCategory("household", "Бытовая химия", None, 80),
    SampleCategory("sweets", "Кондитерские изделия", None, 90),
)

_CATEGORY: Final[Mapping[str, SampleCategory]] = {c.id: c for c in CATEGORIES}


def category_path(category_id: str) -> str:
    """``Молочные продукты/Сыры``: the form the CSV import takes for a category."""
    names: list[str] = []
    current: str | None = category_id
    while current is not None:
        names.append(_CATEGORY[current].name)
        current = _CATEGORY[current].parent_id
    return "/".join(reversed(names))


@dataclass(frozen=True)
class SampleRole:
    id: str
    name: str
    permissions: tuple[str, ...]


_CASHIER = ("sell", "return", "x_report", "open_shift", "close_shift", "cash_in")
_SENIOR = (
    *_CASHIER,
    "void_line",
    "discount",
    "cancel_receipt",
    "return_without_receipt",
    "cash_out",
    "open_drawer",
)
ROLES: Final[tuple[SampleRole, ...]] = (
    SampleRole("cashier", "Кассир", tuple(rules.permissions(_CASHIER))),
    SampleRole("senior-cashier", "Старший кассир", tuple(rules.permissions(_SENIOR))),
    SampleRole(
        "store-manager", "Управляющий", tuple(rules.permissions((*_SENIOR, "manage_catalog", "view_reports")))
    ),
    SampleRole("auditor", "Ревизор", ("view_reports",)),
    SampleRole("administrator", "Администратор", rules.PERMISSIONS),
)


@dataclass(frozen=True)
class SampleUser:
    id: str
    login: str
    name: str
    role: str
    pin: str | None = None
    password: str | None = None


USERS: Final[tuple[SampleUser, ...]] = (
    SampleUser("ivanova", "ivanova", "Иванова Анна", "cashier", pin="1111"),
    SampleUser("petrov", "petrov", "Петров Сергей", "cashier", pin="2222"),
    SampleUser("sidorova", "sidorova", "Сидорова Мария", "senior-cashier", pin="9999"),
    SampleUser("manager", "manager", "Козлова Елена", "store-manager", password="manager-demo"),
    SampleUser("auditor", "auditor", "Волков Игорь", "auditor", password="auditor-demo"),
    SampleUser("admin", "admin", "Администратор", "administrator", password="admin-demo"),
)
"""The demo prints these PINs and the password; they are for a demo store, never a real one."""


@dataclass(frozen=True)
class SamplePaymentType:
    code: str
    name: str
    method: str
    sort: int


PAYMENT_TYPES: Final[tuple[SamplePaymentType, ...]] = (
    # The codes terminals write into receipts (osuite.dataserver.sample_sales uses the same).
    SamplePaymentType("cash", "Наличные", "cash", 1),
    SamplePaymentType("card", "Банковская карта", "card", 2),
)

LOYALTY_PAYMENT_TYPES: Final[tuple[SamplePaymentType, ...]] = (
    # Paid through the loyalty processing center, whose methods these are (osuite.processing).
    SamplePaymentType("bonus", "Баллы", "bonus", 3),
    SamplePaymentType("gift", "Подарочная карта", "gift", 4),
)
"""Not in :func:`load_sample`: a till should offer points and gift cards only in a store that has a
processing center to pay them with. ``osuite demo`` has one and adds these with
:func:`ensure_loyalty_payment_types`."""


@dataclass(frozen=True)
class SamplePromotion:
    """A promotion of the sample. ``category`` is a sample category id; ``product_of`` a sample category
    whose first piece-sold product the promotion is on (skipped when the sample has none there yet)."""

    id: str
    name: str
    fields: Mapping[str, Any]
    category: str | None = None
    product_of: str | None = None


PROMOTIONS: Final[tuple[SamplePromotion, ...]] = (
    SamplePromotion(
        "sample-cheese-10", "Сыры −10%", {"kind": "percent_off", "percent": 10}, category="dairy-cheese"
    ),
    SamplePromotion(
        "sample-yogurt-3for2",
        "3 по цене 2",
        {"kind": "n_for_m", "buy": 3, "pay": 2},
        product_of="dairy-kefir",
    ),
    SamplePromotion(
        "sample-juice-20rub", "Сок −20 ₽", {"kind": "amount_off", "amount": 2000}, product_of="drinks-juice"
    ),
    SamplePromotion(
        "sample-bakery-evening",
        "Вечерняя выпечка −5%",
        {
            "kind": "percent_off",
            "percent": 5,
            "time_from": clock(20),
            "time_to": clock(23),
            "stackable": True,
        },
        category="bakery",
    ),
    SamplePromotion(
        "sample-receipt-3000",
        "Чек от 3 000 ₽ −5%",
        {"kind": "receipt_threshold", "threshold": 300_000, "percent": 5, "stackable": False},
    ),
)


def terminal_settings(store_name: str, address: str) -> dict[str, Any]:
    """What a store's tills are told; keys the POS defines, values a small shop would choose."""
    return {
        "receipt_header": f"{store_name}\n{address}",
        "receipt_footer": "Спасибо за покупку!",
        "max_shift_hours": 24,
        "language": "ru",
        "currency": "RUB",
    }


# --- the generated part: products --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SampleProduct:
    """One generated product, as the benchmark and :func:`load_sample` take it.

    ``article`` is unique; for a weighted product it is the 5-digit item code its scale labels carry.
    ``category`` is the ``Родитель/Лист`` path of names (what the CSV import takes) and ``category_id``
    the sample's id for that category. ``price`` is kopecks per unit (per kg when weighted).
    ``barcodes`` are ``(EAN-13, units per scan)``: the unit's own code first, then (for some drinks and
    yogurts) the pack's code; weighted products have none, the scales label them.
    """

    article: str
    name: str
    category: str
    category_id: str
    unit: str
    weighted: bool
    vat_rate: str
    age_limit: int
    price: int
    barcodes: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class _Family:
    """Products of one kind, named ``{noun} {brand} {variant} {pack}`` (or as ``pattern`` says)."""

    category: str
    nouns: tuple[str, ...]
    brands: tuple[str, ...]
    variants: tuple[str, ...]
    packs: tuple[tuple[str, float], ...]
    """Pack label and its price relative to the family's base price range."""
    rubles: tuple[int, int]
    vat: str
    share: int
    """Relative frequency in the assortment."""
    weighted: bool = False
    age_limit: int = 0
    multipack: int = 0
    """Units in the pack some of these products also have a code for (0: none)."""
    pattern: str = "{noun} {brand} {variant} {pack}"


def _family(
    category: str,
    nouns: str,
    brands: str,
    variants: str,
    packs: str,
    rubles: tuple[int, int],
    vat: str,
    share: int,
    **options: Any,
) -> _Family:
    """A family written compactly: lists are ``|``-separated, a pack is ``label:price factor``."""
    return _Family(
        category,
        _split(nouns),
        _split(brands),
        _split(variants),
        tuple(
            (label.strip(), float(factor))
            for label, _, factor in (p.rpartition(":") for p in packs.split("|"))
        ),
        rubles,
        vat,
        share,
        **options,
    )


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split("|"))


_DAIRY = (
    "Простоквашино | Домик в деревне | Весёлый молочник | Савушкин продукт | Вкуснотеево | "
    "Братья Чебурашкины | Ясный луг | Село Зелёное | Белый город | Экомилк | Пискарёвский | Останкинское"
)
_CHEESE = (
    "Киприно | Белебеевский | Брест-Литовск | Радость вкуса | Сыробогатов | Староминский | "
    "Кезский сырзавод | Умалат | Hochland | Viola"
)
_SAUSAGE = (
    "Черкизово | Останкино | Микоян | Клинский | Велком | Дымов | Папа может | Вязанка | Мираторг | "
    "Ремит | Егорьевская"
)
_ORIGINS = (
    "Россия | Краснодарский край | Астраханская обл. | Беларусь | Узбекистан | Азербайджан | Армения | "
    "Турция | Египет | Марокко | Эквадор | Китай"
)
_CHEMICALS = (
    "Fairy | AOS | Sarma | Frosch | Synergetic | Лоск | Ariel | Tide | Persil | Mr.Proper | Domestos | "
    "Comet | Пемолюкс | Белизна | Finish"
)
_BY_WEIGHT = ":1"  # one "pack": the product is weighed

FAMILIES: Final[tuple[_Family, ...]] = (
    _family(
        "dairy-milk",
        "Молоко пастеризованное | Молоко ультрапастеризованное | Молоко отборное | Молоко топлёное",
        _DAIRY,
        "1,5% | 2,5% | 3,2% | 3,5% | 4%",
        "930 мл:1 | 1,4 л:1.45 | 1 л:1.05 | 450 мл:0.55",
        (69, 119),
        "10",
        4,
    ),
    _family(
        "dairy-kefir",
        "Кефир | Ряженка | Простокваша | Варенец | Бифидок",
        _DAIRY,
        "1% | 2,5% | 3,2% | 4%",
        "900 г:1 | 450 г:0.55 | 500 г:0.6",
        (69, 119),
        "10",
        3,
    ),
    _family(
        "dairy-kefir",
        "Йогурт питьевой | Йогурт | Биойогурт | Десерт творожный",
        "Danone | Активиа | Эрмигурт | Чудо | Савушкин продукт | Teos | Epica | Exponenta",
        "клубника | персик | черника | вишня | малина | манго | злаки | натуральный",
        "110 г:0.45 | 130 г:0.55 | 270 г:1 | 290 г:1.05",
        (69, 129),
        "10",
        4,
        multipack=4,
    ),
    _family(
        "dairy-curd",
        "Творог | Творог рассыпчатый",
        _DAIRY,
        "0% | 2% | 5% | 9%",
        "180 г:0.6 | 200 г:0.65 | 300 г:1 | 400 г:1.3",
        (119, 189),
        "10",
        1,
    ),
    _family(
        "dairy-curd",
        "Сметана",
        _DAIRY,
        "10% | 15% | 20% | 25%",
        "180 г:0.6 | 300 г:1 | 315 г:1.05 | 540 г:1.7",
        (99, 159),
        "10",
        1,
    ),
    _family(
        "dairy-curd",
        "Сливки питьевые | Сливки для взбивания",
        _DAIRY,
        "10% | 20% | 33%",
        "200 мл:0.6 | 500 мл:1 | 1 л:1.9",
        (159, 259),
        "10",
        1,
    ),
    _family(
        "dairy-curd",
        "Масло сливочное | Масло сливочное Крестьянское | Масло сливочное Традиционное",
        _DAIRY,
        "72,5% | 82,5%",
        "180 г:1 | 200 г:1.1 | 400 г:2",
        (169, 259),
        "10",
        2,
    ),
    _family(
        "dairy-cheese",
        "Сыр Российский | Сыр Голландский | Сыр Пошехонский | Сыр Гауда | Сыр Маасдам | Сыр Тильзитер | "
        "Сыр Эдам | Сыр Моцарелла | Сыр Сулугуни | Сыр Брынза",
        _CHEESE,
        "45% | 50% | нарезка",
        "150 г:0.75 | 180 г:0.9 | 200 г:1 | 250 г:1.25",
        (189, 299),
        "10",
        3,
    ),
    _family(
        "dairy-cheese",
        "Сыр Российский 50% | Сыр Голландский 45% | Сыр Пошехонский 45% | Сыр Гауда 48% | "
        "Сыр Маасдам 45% | Сыр Тильзитер 50% | Сыр Костромской 45% | Сыр Сливочный 50% | "
        "Сыр Ламбер 50% | Сыр Сулугуни 40%",
        _CHEESE,
        "",
        "весовой" + _BY_WEIGHT,
        (599, 1299),
        "10",
        1,
        weighted=True,
    ),
    _family(
        "bakery",
        "Хлеб Бородинский | Хлеб Дарницкий | Батон Нарезной | Батон Подмосковный | Хлеб пшеничный | "
        "Хлеб ржаной | Хлеб цельнозерновой | Багет французский | Лаваш армянский | Булочка с маком | "
        "Булочка сдобная | Сушки ванильные | Баранки горчичные | Хлебцы ржаные",
        "Коломенский | Хлебозавод №22 | Черёмушки | Каравай | Fazer | Harry's | Дарница | Щёлковохлеб | "
        "Аладушкин",
        "",
        "300 г:0.8 | 350 г:0.9 | 400 г:1 | нарезка 400 г:1.1 | 500 г:1.2",
        (39, 99),
        "10",
        5,
    ),
    _family(
        "meat-meat",
        "Свинина шейка | Свинина лопатка | Свинина карбонад | Говядина вырезка | Говядина лопатка | "
        "Фарш домашний | Фарш говяжий | Рёбра свиные | Котлеты домашние | Баранина корейка",
        "Мираторг | Черкизово | Агро-Белогорье | Великолукский МК | Заречное | Сибагро",
        "охл. | зам.",
        _BY_WEIGHT,
        (399, 1199),
        "10",
        2,
        weighted=True,
    ),
    _family(
        "meat-poultry",
        "Филе куриное | Бедро куриное | Голень куриная | Крылья куриные | Тушка цыплёнка-бройлера | "
        "Филе индейки | Фарш куриный | Окорочка куриные",
        "Петелинка | Приосколье | Ясные зори | Индилайт | Белая птица | Пеструшка",
        "охл. | зам. | в маринаде",
        _BY_WEIGHT,
        (219, 649),
        "10",
        2,
        weighted=True,
    ),
    _family(
        "meat-sausage",
        "Колбаса Докторская варёная | Колбаса Молочная варёная | Колбаса Любительская | "
        "Сервелат варёно-копчёный | Колбаса Краковская полукопчёная | Сосиски Молочные | "
        "Сардельки Говяжьи | Ветчина Классическая | Буженина запечённая | Грудинка копчёная",
        _SAUSAGE,
        " | ГОСТ",
        "весовая" + _BY_WEIGHT,
        (399, 1199),
        "10",
        2,
        weighted=True,
    ),
    _family(
        "meat-sausage",
        "Колбаса Докторская | Сервелат Финский | Сосиски Молочные | Сосиски Сливочные | Сардельки Свиные | "
        "Салями Милано | Колбаски охотничьи",
        _SAUSAGE,
        "",
        "300 г:0.75 | 350 г:0.85 | 400 г:1 | 450 г:1.1 | 500 г:1.2",
        (169, 449),
        "10",
        3,
    ),
    _family(
        "produce-veg",
        "Картофель мытый | Картофель молодой | Морковь мытая | Лук репчатый | Лук красный | "
        "Капуста белокочанная | Капуста пекинская | Огурцы короткоплодные | Огурцы длинноплодные | "
        "Помидоры розовые | Помидоры черри | Перец сладкий красный | Перец сладкий жёлтый | Кабачки | "
        "Свёкла | Баклажаны | Чеснок | Редис | Цветная капуста | Брокколи | Тыква | Имбирь",
        _ORIGINS,
        "",
        _BY_WEIGHT,
        (39, 399),
        "10",
        2,
        weighted=True,
        pattern="{noun}, {brand}",
    ),
    _family(
        "produce-fruit",
        "Яблоки Гренни Смит | Яблоки Голден | Яблоки Ред Делишес | Яблоки Гала | Яблоки Фуджи | "
        "Груши Конференция | Бананы | Апельсины | Мандарины | Лимоны | Грейпфруты | Киви | "
        "Виноград Кишмиш | Виноград Ред Глоуб | Хурма | Гранаты | Персики | Нектарины | Сливы | Абрикосы",
        _ORIGINS,
        "",
        _BY_WEIGHT,
        (89, 499),
        "10",
        2,
        weighted=True,
        pattern="{noun}, {brand}",
    ),
    _family(
        "grocery-groats",
        "Крупа гречневая ядрица | Рис круглозёрный | Рис длиннозёрный | Рис басмати | Пшено шлифованное | "
        "Хлопья овсяные Геркулес | Крупа манная | Крупа перловая | Булгур | Киноа | Горох колотый | "
        "Чечевица красная | Кускус",
        "Увелка | Мистраль | Националь | Агро-Альянс | Макфа | Ярмарка | Русский продукт | Prosto",
        "",
        "450 г:0.6 | 800 г:0.9 | 900 г:1 | 5×80 г:0.7 | 1 кг:1.1",
        (79, 219),
        "10",
        4,
    ),
    _family(
        "grocery-pasta",
        "Спагетти | Перья | Рожки | Фузилли | Вермишель | Лапша яичная | Ракушки | Фарфалле | Тальятелле | "
        "Пенне ригате",
        "Макфа | Barilla | Шебекинские | Pasta Zara | De Cecco | Гранмулино | Знатные | Корона Италии",
        "",
        "400 г:0.85 | 450 г:0.9 | 500 г:1 | 1 кг:1.8",
        (59, 199),
        "10",
        3,
    ),
    _family(
        "grocery-tea",
        "Чай чёрный | Чай зелёный | Чай чёрный с бергамотом | Чай травяной",
        "Greenfield | Принцесса Нури | Ahmad Tea | Майский | Lipton | Tess | Беседа",
        "листовой | в пакетиках | гранулированный",
        "25 пак.:0.5 | 100 пак.:1.4 | 100 г:0.7 | 200 г:1.2",
        (99, 399),
        "20",
        2,
    ),
    _family(
        "grocery-tea",
        "Кофе молотый | Кофе в зёрнах | Кофе растворимый | Какао-порошок",
        "Jacobs | Lavazza | Жокей | Nescafé | Egoiste | Черная карта | Movenpick | Бушидо",
        "",
        "95 г:0.45 | 190 г:0.8 | 250 г:1 | 1 кг:3.2",
        (249, 699),
        "20",
        2,
    ),
    _family(
        "drinks-water",
        "Вода питьевая негазированная | Вода питьевая газированная | Вода минеральная | "
        "Вода питьевая детская",
        "Святой Источник | Шишкин лес | BonAqua | Aqua Minerale | Ессентуки №17 | Ессентуки №4 | Нарзан | "
        "Архыз | Новотерская | Липецкий бювет | Черноголовка",
        "",
        "0,33 л:0.8 | 0,5 л:0.85 | 1 л:1.3 | 1,5 л:1 | 5 л:2.4",
        (39, 89),
        "20",
        3,
        multipack=6,
    ),
    _family(
        "drinks-juice",
        "Сок яблочный | Сок апельсиновый | Сок томатный | Сок мультифрукт | Сок вишнёвый | "
        "Нектар персиковый | Нектар манговый | Морс клюквенный | Сок виноградный | Сок ананасовый",
        "Добрый | Rich | J7 | Я | Любимый | Фруктовый сад | Сады Придонья | Моя семья",
        "",
        "0,2 л:0.3 | 0,97 л:1 | 1 л:1 | 1,93 л:1.8",
        (109, 219),
        "20",
        3,
        multipack=6,
    ),
    _family(
        "alcohol-beer",
        "Пиво светлое | Пиво тёмное | Пиво нефильтрованное | Пиво пшеничное | Сидр яблочный",
        "Балтика | Жигулёвское | Zatecky Gus | Велкопоповицкий Козел | Heineken | Old Bobby | Хамовники | "
        "Охота | Efes | Клинское | Трёхсосенское",
        "4,5% | 4,7% | 5% | 5,4%",
        "0,45 л ж/б:1 | 0,5 л ст.:1.05 | 0,33 л ст.:0.8 | 1,35 л ПЭТ:2.3",
        (69, 149),
        "20",
        3,
        age_limit=18,
        multipack=6,
    ),
    _family(
        "alcohol-wine",
        "Вино красное сухое | Вино красное полусладкое | Вино белое сухое | Вино белое полусладкое | "
        "Вино розовое сухое | Вино игристое брют",
        "Фанагория | Абрау-Дюрсо | Кубань-Вино | Инкерман | Шато Тамань | Лефкадия | Мысхако | Золотая Балка",
        "Каберне | Мерло | Шардоне | Совиньон Блан | Рислинг | Саперави | Пино Нуар | Алиготе",
        "0,75 л:1 | 0,375 л:0.55 | 1,5 л:1.9",
        (399, 1499),
        "20",
        3,
        age_limit=18,
    ),
    _family(
        "household",
        "Средство для мытья посуды | Гель для стирки | Кондиционер для белья | Средство для мытья стёкол | "
        "Чистящее средство для ванной | Средство для чистки унитаза | Мыло жидкое",
        _CHEMICALS,
        "лимон | яблоко | алоэ вера | горная свежесть | лаванда | без запаха",
        "450 мл:0.55 | 500 мл:0.6 | 900 мл:1 | 1 л:1.1 | 1,5 л:1.5",
        (129, 449),
        "20",
        3,
    ),
    _family(
        "household",
        "Стиральный порошок автомат | Стиральный порошок для цветного | Таблетки для посудомоечной машины",
        _CHEMICALS,
        " | лаванда | горная свежесть",
        "400 г:0.4 | 1,5 кг:1 | 3 кг:1.8 | 30 шт.:1.3 | 60 шт.:2.3",
        (299, 799),
        "20",
        2,
    ),
    _family(
        "sweets",
        "Шоколад молочный | Шоколад горький 70% | Шоколад молочный с фундуком | Шоколад белый | "
        "Шоколад тёмный с миндалём | Конфеты шоколадные ассорти",
        "Alpen Gold | Милка | Бабаевский | Красный Октябрь | Россия — щедрая душа | Ritter Sport | "
        "Коркунов | Победа вкуса | Алёнка | Merci",
        "",
        "85 г:0.8 | 90 г:0.85 | 100 г:1 | 200 г:1.9",
        (79, 199),
        "20",
        3,
    ),
    _family(
        "sweets",
        "Печенье сахарное | Печенье овсяное | Печенье затяжное | Вафли | Пряники | Зефир ванильный | "
        "Пастила яблочная | Мармелад жевательный | Рулет бисквитный | Торт Медовик",
        "Яшкино | Юбилейное | Любятово | Сладонеж | Коломенское | Акконд | Рот Фронт | КДВ | Шарлиз",
        "",
        "150 г:0.6 | 200 г:0.75 | 250 г:0.9 | 300 г:1 | 400 г:1.3",
        (69, 249),
        "20",
        3,
    ),
    _family(
        "sweets",
        "Конфеты Ромашка | Конфеты Красный мак | Конфеты Белочка | Конфеты Мишка косолапый | "
        "Конфеты Ласточка | Конфеты Коровка | Ирис Кис-Кис | Конфеты Грильяж | Мармелад в сахаре | "
        "Зефир в шоколаде",
        "Рот Фронт | Красный Октябрь | Бабаевский | Акконд | Ударница | Славянка | Яшкино",
        "",
        "весовые" + _BY_WEIGHT,
        (399, 1199),
        "20",
        1,
        weighted=True,
    ),
)


def _names(family: _Family) -> list[tuple[str, float]]:
    """Every name the family can make, with its pack's price factor."""
    names: list[tuple[str, float]] = []
    for noun in family.nouns:
        for brand in family.brands:
            for variant in family.variants:
                for pack, factor in family.packs:
                    text = family.pattern.format(noun=noun, brand=brand, variant=variant, pack=pack)
                    names.append((" ".join(text.split()).replace(" ,", ","), factor))
    return names


class _Barcodes:
    """Unique EAN-13 codes with Russian GS1 prefixes (460–469), spread over the range as real
    manufacturers' are: an affine map of a counter modulo 10¹⁰ is a permutation, so codes never repeat
    and a seed moves them all."""

    _STEP = 3_141_592_653  # coprime with 10, so the map is a bijection of 0 … 10¹⁰-1
    _SPACE = 10**10

    def __init__(self, rnd: random.Random) -> None:
        self.offset = rnd.randrange(self._SPACE)

    def code(self, k: int) -> str:
        return complete_gtin(f"46{(self._STEP * k + self.offset) % self._SPACE:010d}")


def generate_products(n: int, seed: int = 1) -> Iterator[SampleProduct]:
    """``n`` products, one at a time, the same for the same seed.

    Row ``i`` does not depend on ``n``, so a larger sample extends a smaller one and loading a larger
    sample over a smaller one only adds. Names are unique until a kind of product has used up its
    combinations (a hundred to a few thousand per kind; the default sample of 3000 repeats none);
    beyond that, as in big real catalogs, names repeat while articles and barcodes stay unique. At most
    :data:`MAX_WEIGHTED` products are weighted; the rest of a huge sample is sold by the piece.
    """
    rnd = random.Random(seed)
    draw = rnd.random
    code = _Barcodes(rnd).code
    names = [_names(family) for family in FAMILIES]
    for family_names in names:
        rnd.shuffle(family_names)
    paths = [category_path(family.category) for family in FAMILIES]
    # A family appears in a pool as many times as its share, so one draw picks it with that weight.
    everything = [i for i, family in enumerate(FAMILIES) for _ in range(family.share)]
    by_count = [i for i in everything if not FAMILIES[i].weighted]
    used = [0] * len(FAMILIES)
    weighted = 0
    for i in range(n):
        pool = everything if weighted < MAX_WEIGHTED else by_count
        index = pool[int(draw() * len(pool))]
        family = FAMILIES[index]
        family_names = names[index]
        name, factor = family_names[used[index] % len(family_names)]
        used[index] += 1
        low, high = family.rubles
        rubles = max(int((low + (high - low) * draw()) * factor), 9)
        price = rubles * 100 + (90 if draw() < 0.6 else 99)  # price tags mostly end in ,90 or ,99
        codes: tuple[tuple[str, int], ...] = ()
        if family.weighted:
            weighted += 1
            article = f"{weighted:05d}"
        else:
            article = str(100_001 + i)
            codes = ((code(2 * i), 1),)
            if family.multipack and draw() < 0.5:
                codes = (codes[0], (code(2 * i + 1), family.multipack))
        yield SampleProduct(
            article,
            name,
            paths[index],
            family.category,
            "kg" if family.weighted else "pcs",
            family.weighted,
            family.vat,
            family.age_limit,
            price,
            codes,
        )


def generate_chunks(n: int, seed: int = 1, size: int = 10_000) -> Iterator[list[SampleProduct]]:
    """:func:`generate_products` in lists of ``size`` rows, for loaders that write in batches."""
    chunk: list[SampleProduct] = []
    for row in generate_products(n, seed):
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# --- CSV in the import's format ----------------------------------------------------------------------


def _csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def products_csv(rows: Iterable[SampleProduct], *, category_ids: Mapping[str, str] | None = None) -> bytes:
    """The products file ``osuite dataserver import products`` takes; categories as paths of names,
    or as ids when ``category_ids`` maps the sample's category ids to the server's."""
    return _csv(
        ("article", "name", "vat_rate", "unit", "weighted", "category", "age_limit", "active"),
        (
            (
                r.article,
                r.name,
                r.vat_rate,
                r.unit,
                int(r.weighted),
                category_ids[r.category_id] if category_ids else r.category,
                r.age_limit,
                1,
            )
            for r in rows
        ),
    )


def barcodes_csv(rows: Iterable[SampleProduct]) -> bytes:
    """The barcodes file ``osuite dataserver import barcodes`` takes."""
    return _csv(
        ("barcode", "article", "multiplier"),
        ((code, r.article, factor) for r in rows for code, factor in r.barcodes),
    )


def prices_csv(rows: Iterable[SampleProduct], *, store: str | None = None) -> bytes:
    """The prices file ``osuite dataserver import prices`` takes (rubles with kopecks); with
    ``store`` (a code or id) every row names it, else the import's store applies."""
    header = ("article", "price") if store is None else ("article", "price", "store")
    extra = () if store is None else (store,)
    return _csv(header, ((r.article, f"{r.price // 100}.{r.price % 100:02d}", *extra) for r in rows))


# --- loading ---------------------------------------------------------------------------------------


def load_sample(
    ds: DataServer,
    *,
    store_code: str = STORE_CODE,
    products: int = DEFAULT_PRODUCTS,
    seed: int = 1,
    store_name: str = STORE_NAME,
    store_address: str = STORE_ADDRESS,
) -> dict[str, Any]:
    """Load the sample store into ``ds``, creating the store when it is missing; a summary.

    Reference data goes through :mod:`osuite.dataserver.catalog` (what the management API calls) and
    products, barcodes and prices through the CSV import, so both publish to the change log as people's
    edits do. What already matches the sample is left alone: loading twice adds nothing and publishes
    nothing. Nothing is ever deleted, so a store's own additions survive a reload.
    """
    if products < 0:
        raise ValueError("products must be 0 or more")
    started = time.perf_counter()
    with ds.db.read() as conn:
        before = ds.changelog.last_seq(conn)
    skipped: list[str] = []
    with ds.db.write() as conn:
        store, created = _ensure_store(conn, ds, store_code, store_name, store_address)
        category_ids = _ensure_categories(conn, ds)
        skipped += _ensure_templates(conn, ds)
        _ensure_payment_types(conn, ds)
        role_ids = _ensure_roles(conn, ds)
        _ensure_users(conn, ds, role_ids)
        _ensure_terminal_settings(conn, ds, store["id"], terminal_settings(store_name, store_address))
    counts = {"products": 0, "weighted": 0, "barcodes": 0, "prices": 0}
    promoted: dict[str, str] = {}  # sample category id → the article of its first piece-sold product
    for chunk in generate_chunks(products, seed, CHUNK):
        for row in chunk:
            if not row.weighted:
                promoted.setdefault(row.category_id, row.article)
        _import(ds, "products", products_csv(chunk, category_ids=category_ids))
        _import(ds, "barcodes", barcodes_csv(chunk))
        _import(ds, "prices", prices_csv(chunk), store=store["id"])
        counts["products"] += len(chunk)
        counts["weighted"] += sum(r.weighted for r in chunk)
        counts["barcodes"] += sum(len(r.barcodes) for r in chunk)
        counts["prices"] += len(chunk)
    with ds.db.write() as conn:
        promotions = _ensure_promotions(conn, ds, category_ids, promoted)
    with ds.db.read() as conn:
        c = ds.changelog.tables.changes.c
        published = conn.execute(select(func.count()).where(c.seq > before)).scalar_one()
    return {
        "store": {"id": store["id"], "code": store["code"], "name": store["name"], "created": created},
        "categories": len(CATEGORIES),
        **counts,
        "barcode_templates": len(DEFAULT_TEMPLATES),
        "payment_types": len(PAYMENT_TYPES),
        "promotions": promotions,
        "roles": len(ROLES),
        "users": len(USERS),
        "published": int(published),
        "skipped": skipped,
        "seconds": round(time.perf_counter() - started, 3),
    }


def _import(ds: DataServer, kind: ImportKind, data: bytes, store: str | None = None) -> None:
    report = importer.import_csv(ds, kind=kind, data=data, store=store)
    if report.rejected:
        first = report.rejected[0]
        raise RuntimeError(
            f"the sample's {kind} were refused ({len(report.rejected)} rows), "
            f"line {first.line}: {first.reason}"
        )


def _ensure_store(
    conn: Connection, ds: DataServer, code: str, name: str, address: str
) -> tuple[dict[str, Any], bool]:
    try:
        return clients.find_store(conn, code), False
    except Problem as exc:
        if exc.status != 404:
            raise
    return clients.create_store(conn, ds, code=code, name=name, address=address), True


def _ensure_categories(conn: Connection, ds: DataServer) -> dict[str, str]:
    """The sample's category ids mapped to the server's: a category the store already has under the
    same name and parent is taken as it is rather than duplicated."""
    c = tables.categories.c
    rows = {r.id: r for r in conn.execute(select(c.id, c.name, c.parent_id, c.sort))}
    by_name = {(r.parent_id, rules.search_key(r.name)): r.id for r in rows.values()}
    actual: dict[str, str] = {}
    for sample in CATEGORIES:  # parents come first
        parent = actual[sample.parent_id] if sample.parent_id else None
        wanted = CategoryUpdate(name=sample.name, parent_id=parent, sort=sample.sort)
        existing = rows.get(sample.id)
        if existing is None:
            same_name = by_name.get((parent, rules.search_key(sample.name)))
            if same_name is not None:
                actual[sample.id] = same_name
                continue
            catalog.create_category(conn, ds, data=CategoryCreate(id=sample.id, **wanted.model_dump()))
        elif (existing.name, existing.parent_id, existing.sort) != (sample.name, parent, sample.sort):
            catalog.update_category(conn, ds, category_id=sample.id, data=wanted)
        actual[sample.id] = sample.id
    return actual


def _ensure_templates(conn: Connection, ds: DataServer) -> list[str]:
    """The demo scales' templates, unless the store reads those prefixes its own way already (then its
    templates stand, and the skip is reported)."""
    t = tables.barcode_templates.c
    have = [BarcodeTemplate.model_validate_json(d) for (d,) in conn.execute(select(t.definition))]
    skipped: list[str] = []
    for template in DEFAULT_TEMPLATES:
        if template in have:
            continue
        clash = rules.prefix_clash(template, have)
        if clash:
            skipped.append(f"barcode template {template.name!r}: {clash}")
            continue
        created = catalog.create_barcode_template(
            conn, ds, data=BarcodeTemplateCreate(id=f"scales-{template.name}", template=template)
        )
        have.append(created.template)
    return skipped


def _ensure_payment_types(conn: Connection, ds: DataServer) -> None:
    pt = tables.payment_types.c
    rows = {r.code: r for r in conn.execute(select(pt.code, pt.name, pt.method, pt.active, pt.sort))}
    for sample in PAYMENT_TYPES:
        wanted = PaymentTypeUpdate.model_validate(
            {"name": sample.name, "method": sample.method, "active": True, "sort": sample.sort}
        )
        existing = rows.get(sample.code)
        if existing is None:
            catalog.create_payment_type(
                conn, ds, data=PaymentTypeCreate(code=sample.code, **wanted.model_dump())
            )
        elif (existing.name, existing.method, existing.active, existing.sort) != (
            sample.name,
            sample.method,
            True,
            sample.sort,
        ):
            catalog.update_payment_type(conn, ds, code=sample.code, data=wanted)


def ensure_loyalty_payment_types(ds: DataServer) -> list[str]:
    """Add :data:`LOYALTY_PAYMENT_TYPES` that the store does not have yet (a type it has stays as the
    store made it); the codes added. Published like any edit, so the tills receive them."""
    pt = tables.payment_types.c
    added: list[str] = []
    with ds.db.write() as conn:
        have = set(conn.execute(select(pt.code)).scalars())
        for sample in LOYALTY_PAYMENT_TYPES:
            if sample.code in have:
                continue
            data = PaymentTypeCreate.model_validate(
                {"code": sample.code, "name": sample.name, "method": sample.method, "sort": sample.sort}
            )
            catalog.create_payment_type(conn, ds, data=data)
            added.append(sample.code)
    return added


def _ensure_promotions(
    conn: Connection, ds: DataServer, category_ids: Mapping[str, str], promoted: Mapping[str, str]
) -> list[str]:
    """The sample's promotions, each set back to the sample's terms if changed; one on a product the
    sample does not have (too few products loaded) is left out. The ids of those in place."""
    pr = tables.promotions.c
    existing = {row.id for row in conn.execute(select(pr.id))}
    articles = [promoted[c] for c in (s.product_of for s in PROMOTIONS) if c is not None and c in promoted]
    p = tables.products.c
    found = conn.execute(select(p.article, p.id).where(p.article.in_(articles)))
    product_ids: dict[str, str] = {article: product_id for article, product_id in found}
    placed: list[str] = []
    for sample in PROMOTIONS:
        fields: dict[str, Any] = {"name": sample.name, **sample.fields}
        if sample.category is not None:
            fields["category_ids"] = [category_ids[sample.category]]
        if sample.product_of is not None:
            product_id = product_ids.get(promoted.get(sample.product_of, ""))
            if product_id is None:
                continue
            fields["product_ids"] = [product_id]
        wanted = PromotionUpdate.model_validate(fields)
        if sample.id not in existing:
            catalog.create_promotion(conn, ds, data=PromotionCreate(id=sample.id, **wanted.model_dump()))
        else:
            current = catalog.get_promotion(conn, promotion_id=sample.id)
            stored = current.model_dump(include=set(PromotionUpdate.model_fields))
            if stored != promotion_rules.promotion_row(wanted):
                catalog.update_promotion(conn, ds, promotion_id=sample.id, data=wanted)
        placed.append(sample.id)
    return placed


def _ensure_roles(conn: Connection, ds: DataServer) -> dict[str, str]:
    """The sample's role ids mapped to the server's (a role of the same name is taken as it is)."""
    r = tables.roles.c
    rows = {row.id: row for row in conn.execute(select(r.id, r.name, r.permissions))}
    by_name = {rules.search_key(row.name): row.id for row in rows.values()}
    actual: dict[str, str] = {}
    for sample in ROLES:
        wanted = RoleUpdate.model_validate({"name": sample.name, "permissions": sample.permissions})
        existing = rows.get(sample.id)
        if existing is None:
            same_name = by_name.get(rules.search_key(sample.name))
            if same_name is not None:
                actual[sample.id] = same_name
                continue
            catalog.create_role(conn, ds, data=RoleCreate(id=sample.id, **wanted.model_dump()))
        elif (existing.name, orjson.loads(existing.permissions)) != (sample.name, list(sample.permissions)):
            catalog.update_role(conn, ds, role_id=sample.id, data=wanted)
        actual[sample.id] = sample.id
    return actual


def _ensure_users(conn: Connection, ds: DataServer, role_ids: Mapping[str, str]) -> None:
    """Each sample person with their PIN or password; a secret that still verifies is not hashed
    again, so a reload publishes nothing for them."""
    rows = {row.id: row for row in conn.execute(select(tables.users))}
    by_login = {row.login.lower(): row.id for row in rows.values()}
    for sample in USERS:
        roles = [role_ids[sample.role]]
        user_id = sample.id if sample.id in rows else by_login.get(sample.login.lower())
        if user_id is None:
            catalog.create_user(
                conn,
                ds,
                data=UserCreate(
                    id=sample.id,
                    login=sample.login,
                    name=sample.name,
                    roles=roles,
                    pin=sample.pin,
                    password=sample.password,
                ),
            )
            continue
        row = rows[user_id]
        pin_ok = _secret_holds(sample.pin, row.pin_hash)
        password_ok = _secret_holds(sample.password, row.password_hash)
        same = (row.login, row.name, orjson.loads(row.roles), row.active) == (
            sample.login,
            sample.name,
            roles,
            True,
        )
        if same and pin_ok and password_ok:
            continue
        catalog.update_user(
            conn,
            ds,
            user_id=user_id,
            data=UserUpdate(
                login=sample.login,
                name=sample.name,
                roles=roles,
                active=True,
                pin=None if pin_ok else sample.pin,
                password=None if password_ok else sample.password,
            ),
        )


def _secret_holds(secret: str | None, stored: str | None) -> bool:
    """Whether the stored hash already is the sample's secret (or the sample has none to set)."""
    return secret is None or (stored is not None and verify_secret(secret, stored))


def _ensure_terminal_settings(
    conn: Connection, ds: DataServer, store_id: str, values: Mapping[str, Any]
) -> None:
    """The sample's settings over whatever else the store's terminals are already told."""
    scope = f"store:{store_id}"
    ts = tables.terminal_settings.c
    stored = conn.execute(select(ts["values"]).where(ts.scope == scope)).scalar()
    current: dict[str, Any] = orjson.loads(stored) if stored else {}
    merged = {**current, **values}
    if stored is None or merged != current:
        catalog.set_terminal_settings(conn, ds, scope=scope, data=TerminalSettingsUpdate(values=merged))


def in_store_barcode(product: SampleProduct, value: Decimal | int, template: str = "weight") -> str:
    """The label a demo scale prints for a weighted product: ``value`` is kg for the ``weight``
    template, kopecks for ``price``, pieces for ``count``."""
    for candidate in DEFAULT_TEMPLATES:
        if candidate.name == template:
            return candidate.build(product.article, value)
    raise ValueError(f"no demo template named {template!r}")
