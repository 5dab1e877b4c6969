"""The POS: the cashier's till, which keeps selling with every server down."""
