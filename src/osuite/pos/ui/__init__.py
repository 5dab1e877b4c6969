"""The cashier's screen: a web UI served by the POS on localhost, Jinja2 templates and htmx."""
