"""The scale server: keeps a store's label scales loaded with its products and prices."""
