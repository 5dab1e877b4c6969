"""The loyalty processing center: customer accounts, cards, bonus points, discounts and gift cards;
one root and many subordinates."""
