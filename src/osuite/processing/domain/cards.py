"""Cards: the numbers customers carry, each pointing at an account. A card is ``active``, ``blocked``
(by its holder or the store; it may be unblocked) or ``lost`` (for good). A lost card may be replaced by
a new card on the same account, so the points stay with the customer, not with the plastic."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from osuite.core.i18n import N_
from osuite.processing.domain.checks import check_text
from osuite.processing.domain.errors import CardBlocked, CardLost, InvalidInput, Phrase


class CardStatus(StrEnum):
    ACTIVE = "active"
    BLOCKED = "blocked"
    LOST = "lost"


@dataclass(frozen=True)
class Card:
    number: str
    account_id: str
    status: CardStatus = CardStatus.ACTIVE
    replaced_by: str | None = None

    def __post_init__(self) -> None:
        check_text(self.number, Phrase(N_("A card's number")))
        check_text(self.account_id, Phrase(N_("The account of card {number}"), number=self.number))
        try:
            object.__setattr__(self, "status", CardStatus(self.status))
        except ValueError:
            raise InvalidInput(N_("{status} is not a card's status"), status=repr(self.status)) from None
        if self.replaced_by is not None and self.status != CardStatus.LOST:
            raise InvalidInput(N_("Only a lost card is replaced by another"))


def account_of(card: Card) -> str:
    """The account a card pays and earns with; refuses a blocked or lost card, naming its replacement."""
    if card.status == CardStatus.BLOCKED:
        raise CardBlocked(number=card.number)
    if card.status == CardStatus.LOST:
        raise CardLost(number=card.number, replaced_by=card.replaced_by)
    return card.account_id


def block(card: Card) -> Card:
    if card.status == CardStatus.LOST:
        raise CardLost(number=card.number, replaced_by=card.replaced_by)
    return replace(card, status=CardStatus.BLOCKED)


def unblock(card: Card) -> Card:
    if card.status == CardStatus.LOST:
        raise CardLost(number=card.number, replaced_by=card.replaced_by)
    return replace(card, status=CardStatus.ACTIVE)


def replace_card(card: Card, new_number: str) -> tuple[Card, Card]:
    """The old card, now lost and pointing at the new one, and the new card on the same account."""
    if new_number == card.number:
        raise InvalidInput(N_("Card {number} cannot replace itself"), number=card.number)
    if card.replaced_by is not None:
        raise InvalidInput(
            N_("Card {number} was replaced by card {replaced_by} already"),
            number=card.number,
            replaced_by=card.replaced_by,
        )
    new = Card(number=new_number, account_id=card.account_id)
    return replace(card, status=CardStatus.LOST, replaced_by=new.number), new
