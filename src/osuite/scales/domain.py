"""What each scale should hold, and what to send it: pure rules, no I/O.

- A scale holds the products its rules pick (a category and everything under it, or a list of products)
  that are on sale with a price at the store.
- Each gets a PLU number that stays the same across uploads: a product keeps its number as long as the
  scale holds it; a new one takes the lowest free number; a number let go is free again.
- What a PLU should look like is compared with what the scale last accepted (a digest of the record), so
  an upload sends only what changed, and a full reload sends everything.
- The label's barcode carries the product's article as the item code, so the article of a product sold
  on a scale must be digits that fit the barcode template's item field; others are refused by name.
- Speed keys follow PLU numbers: where a scale has N keys, key k calls PLU k for k up to N. A product
  keeps its key as long as it keeps its number, that is as long as the scale holds it; when it leaves, its
  key is cleared, until a product takes the number again and the key calls that one. A key calls only a
  PLU the scale holds as it should be, so a PLU the scale refused leaves its key empty.
- Every PLU prints with the label format set for its scale; the format is part of the record, so a
  change of format sends the PLUs again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from osuite.core.barcodes import BarcodeTemplate
from osuite.devices.labelscale import Plu

RuleKind = Literal["category", "products"]
MAX_PLU = 99_999
"""The highest PLU number given out; a driver refuses, PLU by PLU, numbers beyond its model's range."""


@dataclass(frozen=True)
class Product:
    id: str
    article: str
    name: str
    weighted: bool
    category_path: tuple[str, ...]  # its category, then the parents up to the top
    price: int | None
    active: bool = True
    shelf_life_days: int = 0


@dataclass(frozen=True)
class Rule:
    kind: RuleKind
    values: tuple[str, ...]

    def picks(self, product: Product) -> bool:
        if self.kind == "category":
            return any(category in self.values for category in product.category_path)
        return product.id in self.values


@dataclass(frozen=True)
class Refused:
    """A product the rules pick that cannot go on the scale, and why."""

    product_id: str
    reason: str


def picked(rules: Sequence[Rule], products: Iterable[Product]) -> tuple[list[Product], list[Refused]]:
    """The products a scale should hold, by id, and those its rules pick that cannot be sold there."""
    chosen: list[Product] = []
    refused: list[Refused] = []
    for product in products:
        if not any(rule.picks(product) for rule in rules):
            continue
        if not product.active:
            continue
        if product.price is None:
            refused.append(Refused(product.id, f"{product.name} has no price at this store"))
            continue
        chosen.append(product)
    chosen.sort(key=lambda p: p.id)
    return chosen, refused


def numbered(wanted: Sequence[str], current: Mapping[str, int], *, most: int = MAX_PLU) -> dict[str, int]:
    """PLU numbers for ``wanted`` products: those in ``current`` keep theirs, the others take the lowest
    free numbers in order. Products beyond ``most`` numbers get none (the caller reports them)."""
    kept = {product: number for product, number in current.items() if product in set(wanted)}
    taken = set(kept.values())
    free = (n for n in range(1, most + 1) if n not in taken)
    numbers = dict(kept)
    for product in wanted:
        if product in numbers:
            continue
        number = next(free, None)
        if number is None:
            break
        numbers[product] = number
    return numbers


def item_code(article: str, template: BarcodeTemplate) -> int:
    """The label's item code for a product's article: the POS finds the product by the digits the label
    carries, so the article must be exactly those digits. ValueError otherwise."""
    text = article.strip()
    if not text.isdigit() or len(text) != template.item_length:
        raise ValueError(
            f"article {article!r} is not {template.item_length} digits, which the label's barcode"
            f" (template {template.name!r}) carries as the item code"
        )
    return int(text)


def plu_of(product: Product, number: int, code: int, *, hotkeys: int = 0, label_format: int = 0) -> Plu:
    """The PLU record of ``product`` at ``number``, its label carrying ``code`` (see :func:`item_code`)
    and printed in ``label_format``; a scale with ``hotkeys`` keys has its first numbers on them."""
    assert product.price is not None
    return Plu(
        number=number,
        item_code=code,
        name=product.name,
        price=product.price,
        weighted=product.weighted,
        shelf_life_days=product.shelf_life_days,
        hotkey=number if number <= hotkeys else None,
        label_format=label_format,
    )


@lru_cache(maxsize=1 << 17)
def digest(plu: Plu) -> str:
    """What the scale was sent, in a few bytes: equal digests, nothing to send. (The record's repr names
    every field; the same record is digested for every scale that holds it, hence the cache.)"""
    return hashlib.blake2b(repr(plu).encode(), digest_size=12).hexdigest()


def key_table(desired: Mapping[int, Plu], accepted: Mapping[int, str]) -> dict[int, int]:
    """The speed keys of a scale that holds ``desired`` and last accepted ``accepted`` (PLU number →
    digest): each key calls the PLU that has it, when the scale holds that PLU as it should be."""
    return {
        plu.hotkey: number
        for number, plu in desired.items()
        if plu.hotkey is not None and accepted.get(number) == digest(plu)
    }


@dataclass(frozen=True)
class Plan:
    write: list[Plu]
    delete: list[int]

    @property
    def empty(self) -> bool:
        return not self.write and not self.delete


def plan(desired: Mapping[int, Plu], sent: Mapping[int, str], *, full: bool = False) -> Plan:
    """What to send a scale that last accepted ``sent`` (PLU number → digest) so that it holds
    ``desired``; a full reload writes everything."""
    write = [plu for number, plu in sorted(desired.items()) if full or sent.get(number) != digest(plu)]
    delete = sorted(number for number in sent if number not in desired)
    return Plan(write, delete)
