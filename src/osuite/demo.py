"""``osuite demo``: a whole demo store on this machine (placeholder until the demo lands)."""

from __future__ import annotations


def demo() -> None:
    """Run a whole demo store on this machine with sample data; Ctrl-C stops it."""
    raise SystemExit("not yet")
