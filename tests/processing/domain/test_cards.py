"""Cards: which account a card reaches, and cards blocked, lost and replaced."""

from __future__ import annotations

import pytest

from osuite.processing.domain.cards import Card, CardStatus, account_of, block, replace_card, unblock
from osuite.processing.domain.errors import CardBlocked, CardLost, InvalidInput


def test_an_active_card_reaches_its_account() -> None:
    assert account_of(Card("2000000000015", "acc-1")) == "acc-1"


def test_a_blocked_card_is_refused_until_unblocked() -> None:
    blocked = block(Card("2000000000015", "acc-1"))
    with pytest.raises(CardBlocked, match="Card 2000000000015 is blocked"):
        account_of(blocked)
    assert account_of(unblock(blocked)) == "acc-1"


def test_a_lost_card_is_replaced_and_the_account_stays() -> None:
    old, new = replace_card(Card("2000000000015", "acc-1"), "2000000000022")
    assert (old.status, old.replaced_by, new.account_id) == (CardStatus.LOST, "2000000000022", "acc-1")
    with pytest.raises(
        CardLost, match="Card 2000000000015 was reported lost and replaced by card 2000000000022"
    ):
        account_of(old)
    assert account_of(new) == "acc-1"
    with pytest.raises(CardLost):
        unblock(old)
    with pytest.raises(InvalidInput, match="replaced by card 2000000000022 already"):
        replace_card(old, "2000000000039")


def test_impossible_cards_are_refused() -> None:
    with pytest.raises(InvalidInput, match="'stolen' is not a card's status"):
        Card("1", "acc-1", status="stolen")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="Only a lost card is replaced"):
        Card("1", "acc-1", replaced_by="2")
    with pytest.raises(InvalidInput, match="cannot replace itself"):
        replace_card(Card("1", "acc-1"), "1")
