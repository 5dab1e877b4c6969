"""The POS's pure money rules: pricing with promotions and manual discounts, returns and refunds,
payments and change, the shift's cash drawer. No I/O: the service layer feeds them what it read and
stores what they answer."""
